"""The settings every process loads (manage.py, daphne, celery).

With no environment DJANGO_DEBUG is off and the process refuses to start (fail closed),
naming each missing secret. `make run` sets DJANGO_DEBUG=true, which selects the embedded
defaults: SQLite in var/, the in-memory channel layer, Celery tasks inline, console email.
"""

from .base import *  # noqa: F403
from .base import DEBUG
from .env import require_production_secrets

if not DEBUG:
    require_production_secrets()
