"""The outbox drain: retries with exponential backoff, gives up after the limit, and delivers
each row exactly once even when drains run at the same time."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from crisis.models import Notification
from crisis.services import notifications_drain
from tests.factories import make_clinician

pytestmark = pytest.mark.django_db


def email_row(recipient, key="k1", **fields):
    return Notification.objects.create(
        recipient=recipient, channel="email", idempotency_key=key,
        payload={"kind": "crisis.alert", "event_id": 1, "url": "/help/events/1/", "escalation": 0},
        **fields,
    )


@override_settings(TELEPSYCH_OUTBOX_BACKOFF_SECONDS=10, TELEPSYCH_OUTBOX_MAX_ATTEMPTS=3)
def test_failures_back_off_exponentially_then_give_up(region_sg):
    clinician = make_clinician()
    now = timezone.now()
    row = email_row(clinician, next_attempt_at=now)
    with mock.patch("crisis.services.send_mail", side_effect=OSError("SMTP down")):
        assert notifications_drain(now=now) == 0
        row.refresh_from_db()
        assert (row.attempts, row.next_attempt_at, row.last_error, row.sent_at) == (
            1, now + timedelta(seconds=10), "OSError: SMTP down", None)
        # Not due yet: untouched.
        assert notifications_drain(now=now + timedelta(seconds=9)) == 0
        row.refresh_from_db()
        assert row.attempts == 1
        assert notifications_drain(now=now + timedelta(seconds=10)) == 0
        row.refresh_from_db()
        assert (row.attempts, row.next_attempt_at) == (2, now + timedelta(seconds=30))
        assert notifications_drain(now=now + timedelta(seconds=30)) == 0
        row.refresh_from_db()
        assert (row.attempts, row.failed_at) == (3, now + timedelta(seconds=30))
        # Given up: a later drain leaves it alone.
        assert notifications_drain(now=now + timedelta(days=1)) == 0
        row.refresh_from_db()
        assert row.attempts == 3


def test_a_retry_delivers_once_the_outage_is_over(region_sg):
    clinician = make_clinician()
    now = timezone.now()
    row = email_row(clinician, next_attempt_at=now)
    with mock.patch("crisis.services.send_mail", side_effect=OSError("down")):
        notifications_drain(now=now)
    assert notifications_drain(now=now + timedelta(seconds=10)) == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2
    assert len(mail.outbox) == 1
    assert notifications_drain(now=now + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1


def test_idempotency_key_is_unique(region_sg):
    from django.db import IntegrityError, transaction

    clinician = make_clinician()
    email_row(clinician, key="same")
    with pytest.raises(IntegrityError), transaction.atomic():
        email_row(clinician, key="same")


def test_drain_in_batches_delivers_everything(region_sg):
    clinician = make_clinician()
    for n in range(45):
        email_row(clinician, key=f"k{n}")
    assert notifications_drain(batch=20) == 45
    assert len(mail.outbox) == 45


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_deliver_each_row_exactly_once(region_sg):
    from django.db import connection

    clinician = make_clinician()
    for n in range(30):
        email_row(clinician, key=f"k{n}")
    sent_to = []
    lock = threading.Lock()

    def slow_send(subject, body, from_email, to, fail_silently=False):
        with lock:
            sent_to.append(body)
        threading.Event().wait(0.01)
        return 1

    barrier = threading.Barrier(3)
    counts = []

    def drain():
        barrier.wait()
        try:
            counts.append(notifications_drain(batch=5))
        finally:
            connection.close()

    with mock.patch("crisis.services.send_mail", side_effect=slow_send):
        threads = [threading.Thread(target=drain) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(counts) == 30
    assert len(sent_to) == 30
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
