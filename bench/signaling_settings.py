"""Settings for bench/signaling.py's daphne: the test settings, with PostgreSQL reached through
psycopg's connection pool as in production (the test settings drop the pool)."""

from telepsych.settings.test import *  # noqa: F403
from telepsych.settings.test import DATABASES

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": 20, "timeout": 10,
    }
