"""Beat schedule for scheduling (merged by telepsych/celery.py)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "scheduling-send-due-reminders": {
        "task": "scheduling.tasks.send_due_reminders",
        "schedule": 300.0,  # every 5 minutes; reminders are recorded, so overlap is harmless
    },
    "scheduling-check-license-expiry": {
        "task": "scheduling.tasks.check_license_expiry",
        "schedule": crontab(hour=1, minute=15),  # daily, 01:15 UTC
    },
}
