"""Beat schedule for crisis: the escalation check and the outbox drain, every few seconds.

Read when Celery finalises its app (after Django settings are loaded), not at Django import time.
"""

from django.conf import settings

_EVERY = float(settings.TELEPSYCH_CRISIS_BEAT_SECONDS)

BEAT_SCHEDULE = {
    "crisis-escalations": {
        "task": "crisis.escalations_run",
        "schedule": min(_EVERY, 30.0),
        "options": {"expires": _EVERY},
    },
    "crisis-outbox-drain": {
        "task": "crisis.outbox_drain",
        "schedule": _EVERY,
        "options": {"expires": _EVERY},
    },
}
