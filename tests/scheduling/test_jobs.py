"""Celery jobs: reminders exactly once, license-expiry flags, the beat schedule."""

import threading
from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connections

from scheduling import tasks
from scheduling.models import LicenseFlag, Reminder
from scheduling.services import (
    appointment_reschedule,
    license_expiry_check,
    reminder_send,
    reminders_due,
)
from tests.factories import make_patient

from .factories import HCM, UTC, at, bookable_clinician, make_appointment

NOW = at(UTC, 2026, 3, 1)


@pytest.fixture
def booked(db, region_sg, consent_document):
    doctor = bookable_clinician(regions=[region_sg])
    patient = make_patient(region=region_sg, first_name="Lan")
    return make_appointment(patient=patient, clinician=doctor, region=region_sg,
                            starts_at=at(HCM, 2026, 3, 10, 10))


def test_nothing_is_due_more_than_24_hours_ahead(booked):
    assert reminders_due(now=booked.starts_at - timedelta(hours=24, minutes=1)) == []


def test_24_hour_then_1_hour_reminders_each_sent_once(booked):
    day_before = booked.starts_at - timedelta(hours=23, minutes=58)
    (due,) = reminders_due(now=day_before)
    assert (due.appointment_id, due.kind) == (booked.pk, "24h")
    assert reminder_send(appointment_id=booked.pk, kind="24h", now=day_before) is True
    assert reminder_send(appointment_id=booked.pk, kind="24h", now=day_before) is False
    assert reminders_due(now=day_before + timedelta(minutes=5)) == []
    hour_before = booked.starts_at - timedelta(minutes=59)
    assert [d.kind for d in reminders_due(now=hour_before)] == ["1h"]
    assert reminder_send(appointment_id=booked.pk, kind="1h", now=hour_before) is True
    assert reminders_due(now=hour_before) == []
    assert len(mail.outbox) == 2
    assert sorted(Reminder.objects.values_list("kind", flat=True)) == ["1h", "24h"]


def test_reminder_email_holds_only_the_first_name_and_a_link(booked, settings):
    settings.TELEPSYCH_SITE_URL = "https://clinic.example"
    reminder_send(appointment_id=booked.pk, kind="24h", now=booked.starts_at - timedelta(hours=2))
    (message,) = mail.outbox
    assert message.to == [booked.patient.email]
    assert "Lan" in message.body
    assert f"https://clinic.example/scheduling/appointments/{booked.pk}/" in message.body
    for phi in (booked.patient.last_name, booked.clinician.clinician_profile.display_name,
                booked.clinician.last_name, booked.region.name, "10:00", "03:00"):
        assert phi not in message.body and phi not in message.subject


def test_beat_firing_twice_sends_each_reminder_once(booked, monkeypatch):
    from scheduling import services

    monkeypatch.setattr(services.timezone, "now", lambda: booked.starts_at - timedelta(minutes=30))
    assert tasks.send_due_reminders.delay().get() == 1
    assert tasks.send_due_reminders.delay().get() == 0
    tasks.send_reminder.delay(booked.pk, "1h")  # a duplicated task message
    assert len(mail.outbox) == 1
    assert Reminder.objects.filter(appointment=booked).count() == 1


def test_cancelled_appointment_gets_no_reminder(booked):
    booked.status = "cancelled"
    booked.save()
    assert reminders_due(now=booked.starts_at - timedelta(minutes=30)) == []
    assert reminder_send(appointment_id=booked.pk, kind="1h", now=booked.starts_at - timedelta(minutes=30)) is False
    assert mail.outbox == []


def test_rescheduled_appointment_gets_fresh_reminders(booked):
    reminder_send(appointment_id=booked.pk, kind="24h", now=booked.starts_at - timedelta(hours=20))
    appointment_reschedule(appointment_id=booked.pk, by=booked.clinician, starts_at=at(HCM, 2026, 3, 11, 10),
                           now=booked.starts_at - timedelta(hours=20))
    mail.outbox.clear()
    booked.refresh_from_db()
    assert [d.kind for d in reminders_due(now=booked.starts_at - timedelta(hours=20))] == ["24h"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_reminder_tasks_send_once(region_sg, consent_document):
    doctor = bookable_clinician(regions=[region_sg])
    patient = make_patient(region=region_sg)
    appointment = make_appointment(patient=patient, clinician=doctor, region=region_sg,
                                   starts_at=at(HCM, 2026, 3, 10, 10))
    now = appointment.starts_at - timedelta(minutes=30)
    barrier = threading.Barrier(8)
    results = []

    def run():
        barrier.wait(timeout=30)
        try:
            results.append(reminder_send(appointment_id=appointment.pk, kind="1h", now=now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False] * 7 + [True]
    assert len(mail.outbox) == 1
    assert Reminder.objects.count() == 1


# --- License expiry -----------------------------------------------------------------------------------

def test_appointments_after_a_license_ends_are_flagged_once_and_the_clinician_told(
    db, region_sg, consent_document, django_capture_on_commit_callbacks
):
    doctor = bookable_clinician(regions=[region_sg], valid_until=date(2026, 3, 12))
    patient = make_patient(region=region_sg)
    inside = make_appointment(patient=patient, clinician=doctor, region=region_sg, starts_at=at(HCM, 2026, 3, 12, 9))
    beyond = make_appointment(patient=patient, clinician=doctor, region=region_sg, starts_at=at(HCM, 2026, 3, 13, 9))
    with django_capture_on_commit_callbacks(execute=True):
        flags = license_expiry_check(now=NOW)
    assert [f.appointment_id for f in flags] == [beyond.pk]
    assert not LicenseFlag.objects.filter(appointment=inside).exists()
    flag = LicenseFlag.objects.get(appointment=beyond)
    assert flag.clinician_notified_at is not None
    (message,) = mail.outbox
    assert message.to == [doctor.email]
    assert patient.last_name not in message.body and patient.first_name not in message.body
    with django_capture_on_commit_callbacks(execute=True):
        assert license_expiry_check(now=NOW) == []  # the next day's run changes nothing
    assert len(mail.outbox) == 1
    assert LicenseFlag.objects.count() == 1


def test_revoked_license_flags_future_appointments(db, region_sg, consent_document):
    from accounts.models import License

    doctor = bookable_clinician(regions=[region_sg])
    appointment = make_appointment(patient=make_patient(region=region_sg), clinician=doctor,
                                   region=region_sg, starts_at=at(HCM, 2026, 3, 13, 9))
    License.objects.filter(clinician=doctor).update(status=License.Status.REVOKED)
    assert [f.appointment_id for f in license_expiry_check(now=NOW)] == [appointment.pk]


def test_beat_schedule_is_defined_in_code():
    from scheduling.schedules import BEAT_SCHEDULE

    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == {
        "scheduling.tasks.send_due_reminders", "scheduling.tasks.check_license_expiry",
    }
    from telepsych.celery import app

    app.finalize()
    assert "scheduling-send-due-reminders" in app.conf.beat_schedule


def test_clinician_cancelling_emails_the_patient_without_phi(booked, django_capture_on_commit_callbacks):
    from scheduling.services import appointment_cancel

    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment_id=booked.pk, by=booked.clinician, reason="Family emergency",
                           now=booked.starts_at - timedelta(hours=2))
    (message,) = mail.outbox
    assert message.to == [booked.patient.email]
    assert "Lan" in message.body
    assert f"/scheduling/appointments/{booked.pk}/" in message.body
    for phi in ("Family emergency", booked.patient.last_name, booked.clinician.clinician_profile.display_name):
        assert phi not in message.body and phi not in message.subject


def test_renewed_license_resolves_the_flag_and_a_new_lapse_reopens_it(db, region_sg, consent_document):
    from accounts.models import License

    doctor = bookable_clinician(regions=[region_sg], valid_until=date(2026, 3, 12))
    appointment = make_appointment(patient=make_patient(region=region_sg), clinician=doctor,
                                   region=region_sg, starts_at=at(HCM, 2026, 3, 13, 9))
    assert len(license_expiry_check(now=NOW)) == 1
    License.objects.filter(clinician=doctor).update(valid_until=date(2026, 12, 31))
    assert license_expiry_check(now=NOW) == []
    assert LicenseFlag.objects.get(appointment=appointment).resolved_at == NOW
    License.objects.filter(clinician=doctor).update(status=License.Status.REVOKED)
    later = NOW + timedelta(days=1)
    (reopened,) = license_expiry_check(now=later)
    assert (reopened.appointment_id, reopened.flagged_at, reopened.resolved_at) == (appointment.pk, later, None)
    assert LicenseFlag.objects.count() == 1
