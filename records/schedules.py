"""Beat schedule of records (merged by telepsych.celery)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "records-send-measure-requests": {
        "task": "records.send_measure_requests",
        # Every 10 minutes: a request goes out between 24 h and 23 h 50 min before the visit.
        "schedule": crontab(minute="*/10"),
    },
    "records-verify-audit-chain": {
        "task": "records.verify_audit_chain",
        "schedule": crontab(hour=2, minute=30),
    },
}
