"""crisis_event_raise: the contract other apps call inside their own transactions."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import patient_location_confirm
from crisis.detection import detect_risk
from crisis.models import CrisisEvent, CrisisSignal, Notification
from crisis.services import crisis_event_raise
from telepsych.common.groups import clinician_group, patient_group
from tests.crisis.factories import link_care, make_resource, set_on_call
from tests.factories import make_clinician, make_patient, make_region, make_staff


@pytest.fixture
def care(db, region_sg, consent_document):
    patient = make_patient(region=region_sg)
    clinician = make_clinician(regions=[region_sg])
    link_care(patient=patient, clinician=clinician)
    return patient, clinician


def test_raise_writes_event_signal_and_outbox_rows(care, django_capture_on_commit_callbacks):
    patient, clinician = care
    unrelated = make_clinician()
    with django_capture_on_commit_callbacks(execute=True):
        event = crisis_event_raise(patient=patient, source="panic_button", detail="panic button")
    event.refresh_from_db()
    assert (event.patient, event.source, event.status, event.detail) == (
        patient, "panic_button", "open", "panic button")
    assert event.region.code == "VN-SG"
    assert event.next_escalation_at == event.raised_at + timedelta(minutes=5)
    assert CrisisSignal.objects.filter(event=event).count() == 1
    rows = sorted(Notification.objects.values_list("recipient_id", "channel", "payload__kind"))
    assert rows == sorted([(clinician.pk, "email", "crisis.alert"),
                           (clinician.pk, "realtime", "crisis.alert"),
                           (patient.pk, "realtime", "crisis.panel")])
    assert not Notification.objects.filter(recipient=unrelated).exists()
    # Delivered after commit: the realtime rows at once, the email through the (eager) drain.
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [clinician.email]
    assert message.subject == "Một bệnh nhân cần được quan tâm"  # the clinician reads vi first
    assert f"/help/events/{event.pk}/" in message.body
    # No PHI in the email: neither the patient's name, email nor region.
    for secret in (patient.first_name, patient.last_name, patient.email, "Ho Chi Minh"):
        assert secret not in message.body and secret not in message.subject


def test_raise_is_part_of_the_callers_transaction(care, django_capture_on_commit_callbacks):
    patient, _clinician = care
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        crisis_event_raise(patient=patient, source="chat", detail="matched")
        raise RuntimeError("the chat message failed to save")
    assert CrisisEvent.objects.count() == 0
    assert Notification.objects.count() == 0
    assert callbacks == []
    assert mail.outbox == []


def test_region_at_the_time_is_the_confirmed_location(care, region_hn):
    patient, _clinician = care
    patient_location_confirm(patient=patient, region=region_hn)
    event = crisis_event_raise(patient=patient, source="chat")
    assert event.region == region_hn


def test_later_signals_join_the_unacknowledged_event(care, django_capture_on_commit_callbacks):
    patient, _clinician = care
    with django_capture_on_commit_callbacks(execute=True):
        first = crisis_event_raise(patient=patient, source="chat", detail="a")
        second = crisis_event_raise(patient=patient, source="questionnaire", detail="PHQ-9 item 9 = 2")
    assert second.pk == first.pk
    second.refresh_from_db()
    assert second.signal_count == 2
    assert list(second.signals.values_list("source", flat=True)) == ["chat", "questionnaire"]
    # The clinician is alerted once; the patient sees the panel again for each signal.
    assert Notification.objects.filter(payload__kind="crisis.alert", channel="email").count() == 1
    assert Notification.objects.filter(payload__kind="crisis.panel").count() == 2
    assert len(mail.outbox) == 1


def test_rule_match_is_recorded_without_the_patients_words(care):
    patient, _clinician = care
    text = "Tôi muốn tự tử vì chuyện riêng"
    match = detect_risk(text=text, language="vi")
    event = crisis_event_raise(patient=patient, source="chat", rule=match)
    assert event.rule_id == match.rule_id
    assert event.detail == f"matched rule {match.rule_id} (vi): {match.phrase}"
    assert "chuyện riêng" not in event.detail


def test_without_a_treating_clinician_on_call_staff_and_admins_are_alerted(
        db, region_sg, consent_document):
    patient = make_patient(region=region_sg)
    on_call = make_clinician()
    set_on_call(on_call)
    off_duty = make_clinician()
    admin = make_staff(role=User.Role.CLINIC_ADMIN)
    crisis_event_raise(patient=patient, source="intake", detail="intake answer")
    alerted = set(Notification.objects.filter(payload__kind="crisis.alert")
                  .values_list("recipient_id", flat=True))
    assert alerted == {on_call.pk, admin.pk}
    assert off_duty.pk not in alerted


def test_cancelled_care_does_not_count_as_treating(db, region_sg, consent_document):
    patient = make_patient(region=region_sg)
    former = make_clinician()
    link_care(patient=patient, clinician=former, status="cancelled")
    admin = make_staff(role=User.Role.CLINIC_ADMIN)
    crisis_event_raise(patient=patient, source="chat")
    alerted = set(Notification.objects.values_list("recipient_id", flat=True))
    assert alerted == {admin.pk, patient.pk}


@pytest.mark.parametrize("kwargs, message", [
    ({"source": "telepathy"}, "Unknown crisis source"),
])
def test_bad_source_is_refused(care, kwargs, message):
    patient, _clinician = care
    with pytest.raises(ValueError, match=message):
        crisis_event_raise(patient=patient, **kwargs)
    assert CrisisEvent.objects.count() == 0


def test_only_patients(care):
    _patient, clinician = care
    with pytest.raises(ValueError, match="patients only"):
        crisis_event_raise(patient=clinician, source="chat")


@pytest.mark.django_db(transaction=True)
def test_realtime_panel_and_alert_reach_the_notify_groups():
    region = make_region("US-NY")
    make_resource(region, name="988 Suicide & Crisis Lifeline", phone="988", sms="988")
    make_resource(region, name="Unchecked line", phone="555 0100", verified=False)
    patient = make_patient(region=region)
    clinician = make_clinician(regions=[region])
    link_care(patient=patient, clinician=clinician)

    async def scenario():
        layer = get_channel_layer()
        patient_channel = await layer.new_channel()
        clinician_channel = await layer.new_channel()
        await layer.group_add(patient_group(patient.pk), patient_channel)
        await layer.group_add(clinician_group(clinician.pk), clinician_channel)
        event = await sync_to_async(crisis_event_raise)(patient=patient, source="panic_button")
        to_patient = await asyncio.wait_for(layer.receive(patient_channel), 5)
        to_clinician = await asyncio.wait_for(layer.receive(clinician_channel), 5)
        return event, to_patient, to_clinician

    event, to_patient, to_clinician = async_to_sync(scenario)()
    assert to_patient["type"] == "notify.event"
    panel = to_patient["event"]
    assert (panel["kind"], panel["event_id"], panel["region"]) == ("crisis.panel", event.pk, "US-NY")
    assert 'href="tel:911"' in panel["html"]
    assert 'href="tel:988"' in panel["html"] and 'href="sms:988"' in panel["html"]
    assert "Unchecked line" not in panel["html"]
    assert to_clinician == {"type": "notify.event", "event": {
        "kind": "crisis.alert", "event_id": event.pk, "url": f"/help/events/{event.pk}/",
        "source": "panic_button", "escalation": 0}}


def test_panel_speaks_the_patients_language(db, region_hn, consent_document):
    from crisis.services import panel_html

    make_resource(region_hn, name="Medical emergency (115)", phone="115", kind="emergency")
    make_resource(region_hn, name="Police (113)", name_vi="Công an (113)", phone="113",
                  kind="emergency")
    patient = make_patient(region=region_hn)  # Hanoi's default language: Vietnamese
    html = panel_html(patient=patient)
    assert "Công an (113)" in html and 'href="tel:113"' in html
    # The region's emergency number is the big button, not repeated in the list.
    assert html.count('href="tel:115"') == 1
    assert "Medical emergency (115)" not in html


def test_event_time_fields_are_aware_utc(care):
    patient, _ = care
    event = crisis_event_raise(patient=patient, source="chat")
    assert timezone.is_aware(event.raised_at)


def test_email_in_the_clinicians_first_language(care, django_capture_on_commit_callbacks):
    from accounts.models import ClinicianProfile

    patient, clinician = care
    ClinicianProfile.objects.filter(user=clinician).update(languages=["en", "vi"])
    with django_capture_on_commit_callbacks(execute=True):
        crisis_event_raise(patient=patient, source="chat")
    (message,) = mail.outbox
    assert message.subject == "A patient needs attention"
    assert message.body.startswith("A patient needs attention now. Please sign in")
