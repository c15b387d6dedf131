"""Racing bookings, each thread with its own database connection, released by one barrier."""

import threading
from datetime import date, time, timedelta

import pytest
from django.db import connection, connections

from scheduling.models import Appointment, AvailabilityException
from scheduling.selectors import free_slots_for
from scheduling.services import BookingRejected, SlotTaken, appointment_book
from tests.factories import make_patient

from .factories import HCM, UTC, at, bookable_clinician

NOW = at(UTC, 2026, 3, 1)

OVERLAP_SQL = """
    SELECT count(*) FROM scheduling_appointment a JOIN scheduling_appointment b
      ON a.id < b.id AND a.{col} = b.{col}
     AND a.status <> 'cancelled' AND b.status <> 'cancelled'
     AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
"""


def overlaps(column: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(OVERLAP_SQL.format(col=column))
        return cursor.fetchone()[0]


def race(attempts: list[tuple]) -> tuple[list, list]:
    """Run appointment_book(patient, clinician_id, starts_at) for each attempt in its own thread,
    all released at once. Returns (successes, rejections); any other exception fails the test."""
    barrier = threading.Barrier(len(attempts))
    successes, rejections, errors = [], [], []
    lock = threading.Lock()

    def run(patient, clinician_id, starts_at):
        try:
            barrier.wait(timeout=30)
            appointment = appointment_book(patient=patient, clinician_id=clinician_id,
                                           starts_at=starts_at, now=NOW)
            with lock:
                successes.append(appointment.pk)
        except BookingRejected as rejection:
            with lock:
                rejections.append(rejection)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            with lock:
                errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=attempt) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return successes, rejections


@pytest.fixture
def doctor(region_sg, consent_document):
    return bookable_clinician(regions=[region_sg])


def _thread_count() -> int:
    return 50 if connection.vendor == "postgresql" else 8


@pytest.mark.django_db(transaction=True)
def test_many_patients_race_for_one_slot_exactly_one_wins(doctor, region_sg):
    n = _thread_count()
    patients = [make_patient(region=region_sg) for _ in range(n)]
    starts_at = at(HCM, 2026, 3, 10, 10)
    successes, rejections = race([(p, doctor.pk, starts_at) for p in patients])
    assert len(successes) == 1
    assert len(rejections) == n - 1
    assert all(isinstance(r, SlotTaken) for r in rejections)
    assert {r.message for r in rejections} == {"That time was just taken. Please choose another time."}
    assert Appointment.objects.filter(clinician=doctor).count() == 1
    assert overlaps("clinician_id") == 0


@pytest.mark.django_db(transaction=True)
def test_overlapping_but_different_slots_one_wins(region_sg, consent_document):
    # Weekly hours 10:00-10:30 plus extra hours 10:15-10:45 on 10 March: two offered slots,
    # 10:00 and 10:15, that overlap each other. Half the threads take each.
    doctor = bookable_clinician(regions=[region_sg], appointment_minutes=30, buffer_minutes=0,
                                start=time(10), end=time(10, 30))
    AvailabilityException.objects.create(clinician=doctor, kind="extra_hours", start_date=date(2026, 3, 10),
                                         end_date=date(2026, 3, 10), start_time=time(10, 15),
                                         end_time=time(10, 45))
    offered = [s.starts_at for s in free_slots_for(clinician=doctor, region=region_sg,
                                                   start=at(HCM, 2026, 3, 10), end=at(HCM, 2026, 3, 11), now=NOW)]
    assert offered == [at(HCM, 2026, 3, 10, 10), at(HCM, 2026, 3, 10, 10, 15)]
    n = _thread_count()
    patients = [make_patient(region=region_sg) for _ in range(n)]
    successes, rejections = race([(p, doctor.pk, offered[i % 2]) for i, p in enumerate(patients)])
    assert len(successes) == 1
    assert len(rejections) == n - 1
    assert {r.code for r in rejections} == {"taken"}
    assert Appointment.objects.filter(clinician=doctor).count() == 1
    assert overlaps("clinician_id") == 0


@pytest.mark.django_db(transaction=True)
def test_one_patient_booking_many_clinicians_at_once_gets_one(region_sg, consent_document):
    n = _thread_count()
    doctors = [bookable_clinician(regions=[region_sg]) for _ in range(n)]
    patient = make_patient(region=region_sg)
    starts_at = at(HCM, 2026, 3, 10, 10)
    successes, rejections = race([(patient, d.pk, starts_at) for d in doctors])
    assert len(successes) == 1
    assert len(rejections) == n - 1
    assert {r.code for r in rejections} == {"patient_busy"}
    assert Appointment.objects.filter(patient=patient).count() == 1
    assert overlaps("patient_id") == 0
    assert Appointment.objects.get(patient=patient).ends_at - starts_at == timedelta(minutes=50)
