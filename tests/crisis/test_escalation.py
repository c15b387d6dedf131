"""Escalation with a frozen clock: `now` is passed explicitly."""

from datetime import timedelta

import pytest
from django.test import override_settings

from accounts.models import User
from crisis.models import CrisisEvent, Notification
from crisis.services import (
    crisis_escalations_run,
    crisis_event_acknowledge,
    crisis_event_raise,
)
from tests.crisis.factories import link_care, set_on_call
from tests.factories import make_clinician, make_patient, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(region_sg, consent_document):
    patient = make_patient(region=region_sg)
    treating = make_clinician()
    link_care(patient=patient, clinician=treating)
    on_call = make_clinician()
    set_on_call(on_call)
    off_duty = make_clinician()
    admin = make_staff(role=User.Role.CLINIC_ADMIN)
    event = crisis_event_raise(patient=patient, source="chat")
    return event, treating, on_call, off_duty, admin


def alerted_in_round(event, round_name):
    return set(Notification.objects.filter(
        event=event, channel="email", idempotency_key__contains=f":{round_name}:"
    ).values_list("recipient_id", flat=True))


def test_nothing_before_five_minutes(setup):
    event, *_ = setup
    assert crisis_escalations_run(now=event.raised_at + timedelta(minutes=5, microseconds=-1)) == 0
    event.refresh_from_db()
    assert (event.status, event.escalation_count) == ("open", 0)


def test_escalates_at_five_minutes_to_on_call_and_admins(setup):
    event, treating, on_call, off_duty, admin = setup
    t5 = event.raised_at + timedelta(minutes=5)
    assert crisis_escalations_run(now=t5) == 1
    event.refresh_from_db()
    assert (event.status, event.escalation_count) == ("escalated", 1)
    assert event.next_escalation_at == t5 + timedelta(minutes=5)
    assert alerted_in_round(event, "escalation-1") == {treating.pk, on_call.pk, admin.pk}
    assert off_duty.pk not in alerted_in_round(event, "escalation-1")


def test_a_second_run_at_the_same_moment_changes_nothing(setup):
    event, *_ = setup
    t5 = event.raised_at + timedelta(minutes=5)
    crisis_escalations_run(now=t5)
    rows = Notification.objects.count()
    assert crisis_escalations_run(now=t5) == 0
    assert crisis_escalations_run(now=t5 + timedelta(minutes=4, seconds=59)) == 0
    event.refresh_from_db()
    assert event.escalation_count == 1
    assert Notification.objects.count() == rows


def test_repeats_until_acknowledged(setup):
    event, treating, *_ = setup
    start = event.raised_at
    assert crisis_escalations_run(now=start + timedelta(minutes=5)) == 1
    assert crisis_escalations_run(now=start + timedelta(minutes=10)) == 1
    assert crisis_escalations_run(now=start + timedelta(minutes=15)) == 1
    event.refresh_from_db()
    assert event.escalation_count == 3
    crisis_event_acknowledge(event_id=event.pk, by=treating,
                             now=start + timedelta(minutes=16))
    assert crisis_escalations_run(now=start + timedelta(hours=3)) == 0
    event.refresh_from_db()
    assert (event.status, event.escalation_count, event.next_escalation_at) == (
        "acknowledged", 3, None)


def test_acknowledged_before_five_minutes_never_escalates(setup):
    event, treating, *_ = setup
    crisis_event_acknowledge(event_id=event.pk, by=treating,
                             now=event.raised_at + timedelta(minutes=2))
    assert crisis_escalations_run(now=event.raised_at + timedelta(minutes=5)) == 0
    assert alerted_in_round(event, "escalation-1") == set()


@override_settings(TELEPSYCH_CRISIS_ESCALATE_AFTER_SECONDS=60,
                   TELEPSYCH_CRISIS_ESCALATE_REPEAT_SECONDS=120)
def test_delays_are_configurable(region_sg, consent_document):
    patient = make_patient(region=region_sg)
    make_staff(role=User.Role.CLINIC_ADMIN)
    event = crisis_event_raise(patient=patient, source="panic_button")
    assert event.next_escalation_at == event.raised_at + timedelta(seconds=60)
    t1 = event.raised_at + timedelta(seconds=60)
    assert crisis_escalations_run(now=t1) == 1
    assert crisis_escalations_run(now=t1 + timedelta(seconds=119)) == 0
    assert crisis_escalations_run(now=t1 + timedelta(seconds=120)) == 1


def test_escalation_pushes_a_realtime_alert_marked_escalated(setup):
    event, _treating, on_call, *_ = setup
    crisis_escalations_run(now=event.raised_at + timedelta(minutes=5))
    row = Notification.objects.get(event=event, recipient=on_call, channel="realtime",
                                   payload__kind="crisis.alert")
    assert row.payload == {"kind": "crisis.alert", "event_id": event.pk,
                           "url": f"/help/events/{event.pk}/", "source": "chat", "escalation": 1}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_escalate_once(region_sg, consent_document):
    import threading

    from django.db import connection

    patient = make_patient(region=region_sg)
    make_staff(role=User.Role.CLINIC_ADMIN)
    event = crisis_event_raise(patient=patient, source="chat")
    t5 = event.raised_at + timedelta(minutes=5)
    results, barrier = [], threading.Barrier(4)

    def run():
        barrier.wait()
        try:
            results.append(crisis_escalations_run(now=t5))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert CrisisEvent.objects.get(pk=event.pk).escalation_count == 1
