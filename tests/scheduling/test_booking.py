"""appointment_book and the lifecycle: re-checks, history, policy window, no-shows."""

from datetime import date, time, timedelta

import pytest

from accounts.models import ConsentAcceptance
from scheduling.models import Appointment, AppointmentChange
from scheduling.services import (
    BookingRejected,
    SlotTaken,
    appointment_book,
    appointment_cancel,
    appointment_mark_no_show,
    appointment_reschedule,
)
from tests.factories import make_patient

from .factories import HCM, UTC, at, bookable_clinician, make_appointment

pytestmark = pytest.mark.django_db
NOW = at(UTC, 2026, 3, 1, 0, 0)


@pytest.fixture
def doctor(region_sg):
    return bookable_clinician(regions=[region_sg])


def book(patient, clinician, starts_at, now=NOW):
    return appointment_book(patient=patient, clinician_id=clinician.pk, starts_at=starts_at, now=now)


def test_booking_writes_the_appointment_and_its_history(patient, doctor, region_sg):
    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    assert (appointment.patient, appointment.clinician, appointment.region) == (patient, doctor, region_sg)
    assert appointment.starts_at == at(HCM, 2026, 3, 10, 10)
    assert appointment.ends_at == at(HCM, 2026, 3, 10, 10, 50)
    assert appointment.status == Appointment.Status.BOOKED
    change = AppointmentChange.objects.get(appointment=appointment)
    assert (change.kind, change.by, change.at, change.to_starts_at) == ("booked", patient, NOW, appointment.starts_at)


def test_the_same_slot_cannot_be_booked_twice(patient, doctor, region_sg):
    book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    with pytest.raises(SlotTaken) as caught:
        book(make_patient(region=region_sg), doctor, at(HCM, 2026, 3, 10, 10))
    assert caught.value.message == "That time was just taken. Please choose another time."
    assert Appointment.objects.count() == 1


def test_a_time_that_is_not_a_slot_is_refused(patient, doctor):
    with pytest.raises(SlotTaken):
        book(patient, doctor, at(HCM, 2026, 3, 10, 10, 5))
    with pytest.raises(SlotTaken):
        book(patient, doctor, at(HCM, 2026, 3, 10, 13))
    assert Appointment.objects.count() == 0


def test_a_patient_cannot_hold_two_overlapping_appointments(patient, doctor, region_sg):
    other = bookable_clinician(regions=[region_sg])
    book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    with pytest.raises(BookingRejected) as caught:
        book(patient, other, at(HCM, 2026, 3, 10, 10))
    assert caught.value.code == "patient_busy"
    assert Appointment.objects.count() == 1


def test_booking_needs_current_consent(doctor, region_sg):
    patient = make_patient(region=region_sg, consented=False)
    with pytest.raises(BookingRejected) as caught:
        book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    assert caught.value.code == "consent"
    assert not ConsentAcceptance.objects.filter(patient=patient).exists()
    assert Appointment.objects.count() == 0


def test_notice_and_horizon_are_rechecked(patient, region_sg):
    doctor = bookable_clinician(regions=[region_sg], min_notice_hours=12, horizon_days=7)
    now = at(HCM, 2026, 3, 10, 0)
    with pytest.raises(BookingRejected) as notice:
        book(patient, doctor, at(HCM, 2026, 3, 10, 11), now=now)
    with pytest.raises(BookingRejected) as horizon:
        book(patient, doctor, at(HCM, 2026, 3, 18, 9), now=now)
    assert (notice.value.code, horizon.value.code) == ("notice", "horizon")
    assert Appointment.objects.count() == 0
    assert book(patient, doctor, at(HCM, 2026, 3, 16, 11), now=now).pk  # inside both


def test_last_valid_license_day_is_bookable_and_the_next_day_is_not(patient, region_sg):
    doctor = bookable_clinician(regions=[region_sg], valid_until=date(2026, 3, 12))
    assert book(patient, doctor, at(HCM, 2026, 3, 12, 11)).pk
    with pytest.raises(BookingRejected) as caught:
        book(make_patient(region=region_sg), doctor, at(HCM, 2026, 3, 13, 9))
    assert caught.value.code == "license"
    assert "is not licensed in Ho Chi Minh City on 13 Mar 2026" in caught.value.message


def test_a_clinician_not_licensed_in_the_patients_region_cannot_be_booked(patient, region_ca):
    doctor = bookable_clinician(regions=[region_ca])
    with pytest.raises(BookingRejected) as caught:
        book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    assert caught.value.code == "license"


def test_dst_booking_from_ho_chi_minh_city_with_a_new_york_clinician(patient):
    doctor = bookable_clinician(regions=[patient.patient_profile.home_region],
                                time_zone="America/New_York", end=time(10))
    appointment = book(patient, doctor, at(HCM, 2026, 3, 9, 20))  # 09:00 EDT
    assert appointment.starts_at == at(UTC, 2026, 3, 9, 13)


# --- Cancel, reschedule, no-show --------------------------------------------------------------------

def test_patient_cancels_outside_the_policy_window(patient, doctor):
    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    now = appointment.starts_at - timedelta(hours=24)
    appointment_cancel(appointment_id=appointment.pk, by=patient, reason="", now=now)
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancelled_by, appointment.cancelled_at) == ("cancelled", patient, now)
    assert list(appointment.changes.values_list("kind", flat=True)) == ["booked", "cancelled"]


def test_patient_cannot_cancel_inside_the_policy_window(patient, doctor):
    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    with pytest.raises(BookingRejected) as caught:
        appointment_cancel(appointment_id=appointment.pk, by=patient,
                           now=appointment.starts_at - timedelta(hours=23, minutes=59))
    assert caught.value.code == "policy"
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert appointment.changes.count() == 1


def test_policy_window_is_configurable(patient, doctor, settings):
    settings.TELEPSYCH_CANCEL_WINDOW_HOURS = 2
    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    appointment_cancel(appointment_id=appointment.pk, by=patient, now=appointment.starts_at - timedelta(hours=3))
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"


def test_clinician_cancels_any_time_but_must_give_a_reason(patient, doctor):
    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    late = appointment.starts_at - timedelta(minutes=30)
    with pytest.raises(BookingRejected) as caught:
        appointment_cancel(appointment_id=appointment.pk, by=doctor, reason="  ", now=late)
    assert caught.value.code == "reason"
    appointment_cancel(appointment_id=appointment.pk, by=doctor, reason="Unwell", now=late)
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancel_reason, appointment.cancelled_by) == ("cancelled", "Unwell", doctor)


def test_someone_else_cannot_cancel(patient, doctor, region_sg):
    from django.core.exceptions import PermissionDenied

    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    for outsider in (make_patient(region=region_sg), bookable_clinician(regions=[region_sg])):
        with pytest.raises(PermissionDenied):
            appointment_cancel(appointment_id=appointment.pk, by=outsider, reason="x", now=NOW)
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"


def test_cancelled_time_can_be_booked_again(patient, doctor, region_sg):
    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    appointment_cancel(appointment_id=appointment.pk, by=patient, now=NOW)
    again = book(make_patient(region=region_sg), doctor, at(HCM, 2026, 3, 10, 10))
    assert again.pk != appointment.pk


def test_reschedule_keeps_history_from_and_to(patient, doctor):
    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    moved_at = NOW + timedelta(hours=1)
    appointment_reschedule(appointment_id=appointment.pk, by=patient, starts_at=at(HCM, 2026, 3, 11, 9), now=moved_at)
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.ends_at) == (at(HCM, 2026, 3, 11, 9), at(HCM, 2026, 3, 11, 9, 50))
    change = appointment.changes.get(kind="rescheduled")
    assert (change.by, change.at, change.from_starts_at, change.to_starts_at) == (
        patient, moved_at, at(HCM, 2026, 3, 10, 10), at(HCM, 2026, 3, 11, 9))


def test_reschedule_to_an_adjacent_slot_of_its_own_time_works(patient, doctor):
    # Its own current time does not block the new one (the row is excluded from busy times).
    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    appointment_reschedule(appointment_id=appointment.pk, by=patient, starts_at=at(HCM, 2026, 3, 10, 11), now=NOW)
    assert Appointment.objects.get(pk=appointment.pk).starts_at == at(HCM, 2026, 3, 10, 11)


def test_reschedule_inside_the_window_is_refused_for_patients_not_clinicians(patient, doctor):
    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    late = appointment.starts_at - timedelta(hours=2)
    with pytest.raises(BookingRejected) as caught:
        appointment_reschedule(appointment_id=appointment.pk, by=patient, starts_at=at(HCM, 2026, 3, 11, 9), now=late)
    assert caught.value.code == "policy"
    appointment_reschedule(appointment_id=appointment.pk, by=doctor, starts_at=at(HCM, 2026, 3, 11, 9), now=late)
    assert Appointment.objects.get(pk=appointment.pk).starts_at == at(HCM, 2026, 3, 11, 9)


def test_reschedule_onto_a_taken_slot_fails_cleanly(patient, doctor, region_sg):
    appointment = book(patient, doctor, at(HCM, 2026, 3, 10, 10))
    book(make_patient(region=region_sg), doctor, at(HCM, 2026, 3, 11, 9))
    with pytest.raises(SlotTaken):
        appointment_reschedule(appointment_id=appointment.pk, by=patient, starts_at=at(HCM, 2026, 3, 11, 9), now=NOW)
    assert Appointment.objects.get(pk=appointment.pk).starts_at == at(HCM, 2026, 3, 10, 10)


def test_clinician_marks_no_show_after_the_start_only(patient, doctor, region_sg):
    appointment = make_appointment(patient=patient, clinician=doctor, region=region_sg,
                                   starts_at=at(HCM, 2026, 3, 10, 10))
    with pytest.raises(BookingRejected):
        appointment_mark_no_show(appointment_id=appointment.pk, by=doctor, now=appointment.starts_at - timedelta(minutes=1))
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        appointment_mark_no_show(appointment_id=appointment.pk, by=patient, now=appointment.starts_at)
    appointment_mark_no_show(appointment_id=appointment.pk, by=doctor, now=appointment.starts_at + timedelta(minutes=10))
    appointment.refresh_from_db()
    assert appointment.status == "no_show"
    assert list(appointment.changes.values_list("kind", "by")) == [("no_show", doctor.pk)]


@pytest.mark.postgres
def test_database_refuses_an_overlap_even_without_the_service(patient, doctor, region_sg):
    """On PostgreSQL the exclusion constraint itself refuses an overlapping active row."""
    from django.db import IntegrityError, transaction

    make_appointment(patient=patient, clinician=doctor, region=region_sg, starts_at=at(HCM, 2026, 3, 10, 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        make_appointment(patient=make_patient(region=region_sg), clinician=doctor, region=region_sg,
                         starts_at=at(HCM, 2026, 3, 10, 10, 30))


def test_database_errors_from_racing_inserts_mean_slot_taken():
    """A deadlock between racing inserts (SQLSTATE 40P01) or an exclusion violation is "taken";
    anything else is not swallowed."""
    from django.db import IntegrityError, OperationalError

    from scheduling.services import _rejection_from_database_error

    class Cause(Exception):
        sqlstate = "40P01"

    deadlock = OperationalError("deadlock detected")
    deadlock.__cause__ = Cause()
    assert isinstance(_rejection_from_database_error(deadlock), SlotTaken)
    clinician_clash = IntegrityError('violates exclusion constraint "appointment_no_clinician_overlap"')
    assert isinstance(_rejection_from_database_error(clinician_clash), SlotTaken)
    patient_clash = IntegrityError('violates exclusion constraint "appointment_no_patient_overlap"')
    assert _rejection_from_database_error(patient_clash).code == "patient_busy"
    assert _rejection_from_database_error(OperationalError("database is locked")).code == "busy"
    assert _rejection_from_database_error(OperationalError("server closed the connection")) is None
    assert _rejection_from_database_error(IntegrityError("null value in column")) is None
