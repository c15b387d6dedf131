"""Settings and URLs for bench/booking.py's daphne: the test settings (DEBUG off) with a
bounded PostgreSQL connection pool, plus one trivial view as the baseline on the same server."""

from django.http import HttpResponse
from django.urls import path

from telepsych.settings.test import *  # noqa: F403
from telepsych.settings.test import DATABASES

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every request runs its sync part in a thread of its own, so persistent
    # connections (CONN_MAX_AGE > 0) pile up and 200 concurrent requests exceed PostgreSQL's
    # max_connections. A bounded pool (psycopg_pool) makes them queue instead.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 4, "max_size": 20, "timeout": 60}
ROOT_URLCONF = "bench.support.booking_site"


def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


def _urlpatterns():
    from telepsych.urls import urlpatterns as project

    return [path("bench/trivial", trivial), *project]


def __getattr__(name):
    # Django imports this module as the URLconf after settings are loaded: build lazily, since
    # importing telepsych.urls while settings load would be too early.
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)
