"""Settings for the test suite: the embedded defaults, or PostgreSQL and Redis when
DATABASE_URL and REDIS_URL are set (as in CI). Tests run with DEBUG off."""

import os

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault(
    "TELEPSYCH_ENCRYPTION_KEYS", "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
)

from .base import *  # noqa: E402,F403
from .base import DATABASES, LOGGING, STORAGES, VAR_DIR  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so the daphne subprocess of the browser tests sees the same rows.
    DATABASES["default"]["NAME"] = VAR_DIR / "test-main.sqlite3"
    # One file per pytest process, so parallel runs on one machine never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    # No pool in tests: pooled connections would keep the test database open at teardown.
    DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
# A server process started by the browser tests opens the test database the suite created.
if os.environ.get("TELEPSYCH_TEST_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["TELEPSYCH_TEST_DATABASE_NAME"]

CELERY_TASK_ALWAYS_EAGER = True
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# A 500 inside a live server shows its traceback.
LOGGING["loggers"]["django.request"]["level"] = "ERROR"
