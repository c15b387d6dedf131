"""Settings for bench/signaling.py's daphne: the test settings, with database connections kept
open between requests as in production (the test settings close them after each one)."""

from telepsych.settings.test import *  # noqa: F403
from telepsych.settings.test import DATABASES

if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 60
