"""Shared fixtures. Markers `postgres`, `redis` and `browser` skip a test when the service is
missing on a developer's machine, and fail it in CI (CI=true), where nothing may be skipped."""

import os
import shutil

import pytest
from django.conf import settings

from tests.factories import (  # noqa: F401 - fixtures re-exported for every test module
    admin_user,
    clinician,
    consent_document,
    make_clinician,
    make_patient,
    patient,
    region_ca,
    region_hn,
    region_ny,
    region_sg,
)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = "/usr/bin/chromium"


def _missing_service(marker_name: str) -> str | None:
    if marker_name == "postgres":
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            return "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/telepsych"
    elif marker_name == "redis":
        if not settings.REDIS_URL:
            return "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0"
    elif marker_name == "browser":
        if not (os.path.exists(CHROMIUM) and shutil.which("chromium")):
            return "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    return None


def pytest_runtest_setup(item):
    for marker_name in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker_name) is None:
            continue
        reason = _missing_service(marker_name)
        if reason is None:
            continue
        if IN_CI:
            pytest.fail(f"CI must not skip: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_cache_language_and_zone():
    """Start each test clean: rate limits live in the cache (Redis in CI), and a request that
    activated a patient's language or zone leaves it active on the test's thread."""
    from django.core.cache import cache
    from django.utils import timezone, translation

    cache.clear()
    translation.activate(settings.LANGUAGE_CODE)
    timezone.deactivate()
    yield
    translation.activate(settings.LANGUAGE_CODE)
    timezone.deactivate()
