"""Outbox end to end with a real Celery worker: with the broker and the worker down, raise an
event; bring them up; exactly one email arrives, delivered by the worker's beat-driven drain."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import ClinicianProfile
from crisis.models import CrisisEvent, Notification
from crisis.services import crisis_event_raise
from tests.crisis.factories import link_care
from tests.factories import make_clinician, make_patient, make_region

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def dedicated_redis_url() -> str:
    """The suite's Redis with the next DB index, so the worker's queue is its own."""
    parts = urlsplit(settings.REDIS_URL)
    index = int((parts.path or "/0").lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(index + 8) % 16}"))


@pytest.fixture
def broker_down():
    from telepsych.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url = DEAD_BROKER
    app.conf.task_always_eager = False
    app.pool.force_close_all()
    yield
    app.conf.broker_url, app.conf.task_always_eager = saved
    app.pool.force_close_all()


def emails_in(mail_dir: Path) -> list[str]:
    messages = []
    for path in sorted(mail_dir.glob("*.log")):
        messages += [chunk for chunk in path.read_text().split("-" * 79) if chunk.strip()]
    return messages


def start_worker(tmp_path: Path, mail_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "telepsych.settings.test",
        "TELEPSYCH_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "REDIS_URL": dedicated_redis_url(),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "TELEPSYCH_CRISIS_BEAT_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "telepsych", "worker", "-B",
         "-s", str(tmp_path / "beat-schedule"), "--concurrency", "2", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle", "-n", f"crisis-test-{os.getpid()}@%h"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def test_event_raised_while_broker_and_worker_are_down_is_emailed_exactly_once(
        tmp_path, broker_down, caplog):
    region = make_region("VN-SG")
    patient = make_patient(region=region)
    clinician = make_clinician(regions=[region])
    link_care(patient=patient, clinician=clinician)
    ClinicianProfile.objects.filter(user=clinician).update(languages=["en"])

    started = time.monotonic()
    event = crisis_event_raise(patient=patient, source="panic_button")
    print(f"\n[outbox] raise with the broker down took {time.monotonic() - started:.2f} s")
    assert time.monotonic() - started < 3  # a dead broker never blocks the patient for long
    assert CrisisEvent.objects.get().pk == event.pk
    email_row = Notification.objects.get(channel="email")
    assert email_row.sent_at is None  # nothing delivered it: no broker, no worker
    assert "could not queue the outbox drain" in caplog.text

    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    worker = start_worker(tmp_path, mail_dir)
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not emails_in(mail_dir):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.25)
        time.sleep(3)  # several more beat-driven drains run; none may send again
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    messages = emails_in(mail_dir)
    assert len(messages) == 1, (tmp_path / "worker.log").read_text()
    assert f"To: {clinician.email}" in messages[0]
    assert "Subject: A patient needs attention" in messages[0]
    assert patient.email not in messages[0] and patient.last_name not in messages[0]
    email_row.refresh_from_db()
    assert email_row.sent_at is not None
    assert email_row.attempts == 1
