"""The Celery app: JSON only, time limits, tasks discovered in each app's tasks.py.

Each app may define `BEAT_SCHEDULE` (a dict) in its `schedules.py`; they are merged here so the
whole beat schedule is defined in code, in one place per app.
"""

import importlib
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telepsych.settings.default")

app = Celery("telepsych")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

SCHEDULE_MODULES = ("scheduling.schedules", "records.schedules", "sessions.schedules",
                    "crisis.schedules")


@app.on_after_finalize.connect
def _merge_beat_schedules(sender: Celery, **_kwargs) -> None:
    schedule = dict(sender.conf.beat_schedule or {})
    for module_name in SCHEDULE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        schedule.update(module.BEAT_SCHEDULE)
    sender.conf.beat_schedule = schedule
