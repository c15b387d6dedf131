"""The free-slot selector: rules − exceptions − appointments (with buffers), notice, horizon,
licenses per date, DST."""

from datetime import date, time, timedelta

import pytest

from accounts.models import License
from scheduling.models import AvailabilityException
from scheduling.selectors import clinician_cards_for, free_slots_for
from tests.factories import make_patient

from .factories import (
    HCM,
    NEW_YORK,
    UTC,
    at,
    bookable_clinician,
    local_times,
    make_appointment,
)

pytestmark = pytest.mark.django_db
NOW = at(UTC, 2026, 3, 1, 0, 0)  # a Sunday, fixed


def slots(clinician, region, start, end, now=NOW, **kwargs):
    return free_slots_for(clinician=clinician, region=region, start=start, end=end, now=now, **kwargs)


def test_weekly_hours_give_slots_of_length_plus_buffer(region_sg):
    clinician = bookable_clinician(regions=[region_sg])
    found = slots(clinician, region_sg, at(HCM, 2026, 3, 10), at(HCM, 2026, 3, 11))
    assert local_times(found, HCM) == ["2026-03-10 09:00", "2026-03-10 10:00", "2026-03-10 11:00"]
    assert [(s.ends_at - s.starts_at) for s in found] == [timedelta(minutes=50)] * 3


def test_only_rule_weekdays_offer_slots(region_sg):
    clinician = bookable_clinician(regions=[region_sg], weekdays=[1])  # Tuesdays
    found = slots(clinician, region_sg, at(HCM, 2026, 3, 9), at(HCM, 2026, 3, 16))
    assert local_times(found, HCM) == ["2026-03-10 09:00", "2026-03-10 10:00", "2026-03-10 11:00"]


def test_settings_change_length_and_buffer(region_sg):
    clinician = bookable_clinician(regions=[region_sg], appointment_minutes=30, buffer_minutes=15)
    found = slots(clinician, region_sg, at(HCM, 2026, 3, 10), at(HCM, 2026, 3, 11))
    assert local_times(found, HCM) == [
        "2026-03-10 09:00", "2026-03-10 09:45", "2026-03-10 10:30", "2026-03-10 11:15",
    ]


def test_time_off_removes_days_and_extra_hours_add_them(region_sg):
    clinician = bookable_clinician(regions=[region_sg])
    AvailabilityException.objects.create(clinician=clinician, kind="time_off",
                                         start_date=date(2026, 3, 10), end_date=date(2026, 3, 11))
    AvailabilityException.objects.create(clinician=clinician, kind="extra_hours",
                                         start_date=date(2026, 3, 11), end_date=date(2026, 3, 11),
                                         start_time=time(18), end_time=time(19))
    found = slots(clinician, region_sg, at(HCM, 2026, 3, 10), at(HCM, 2026, 3, 13))
    assert local_times(found, HCM) == [
        "2026-03-11 18:00",
        "2026-03-12 09:00", "2026-03-12 10:00", "2026-03-12 11:00",
    ]


def test_existing_appointments_block_with_buffers_and_cancelled_ones_do_not(region_sg):
    clinician = bookable_clinician(regions=[region_sg])
    patient = make_patient(region=region_sg)
    # 09:30-10:20 overlaps 09:00 (and its buffer) and 10:00.
    make_appointment(patient=patient, clinician=clinician, region=region_sg,
                     starts_at=at(HCM, 2026, 3, 10, 9, 30))
    make_appointment(patient=patient, clinician=clinician, region=region_sg,
                     starts_at=at(HCM, 2026, 3, 11, 10, 0), status="cancelled")
    found = slots(clinician, region_sg, at(HCM, 2026, 3, 10), at(HCM, 2026, 3, 12))
    assert local_times(found, HCM) == [
        "2026-03-10 11:00",
        "2026-03-11 09:00", "2026-03-11 10:00", "2026-03-11 11:00",
    ]


def test_buffer_blocks_a_slot_that_touches_an_appointment(region_sg):
    clinician = bookable_clinician(regions=[region_sg], buffer_minutes=10)
    patient = make_patient(region=region_sg)
    # Ends 09:55; the 10:00 slot starts within the 10-minute buffer.
    make_appointment(patient=patient, clinician=clinician, region=region_sg,
                     starts_at=at(HCM, 2026, 3, 10, 9, 5))
    found = slots(clinician, region_sg, at(HCM, 2026, 3, 10), at(HCM, 2026, 3, 11))
    assert local_times(found, HCM) == ["2026-03-10 11:00"]


def test_minimum_notice_and_horizon(region_sg):
    clinician = bookable_clinician(regions=[region_sg], min_notice_hours=12, horizon_days=3)
    now = at(HCM, 2026, 3, 10, 0, 0)
    found = slots(clinician, region_sg, now, now + timedelta(days=10), now=now)
    # Notice: nothing before 12:00 on the 10th; horizon: nothing after 00:00 on the 13th.
    assert local_times(found, HCM) == [
        "2026-03-11 09:00", "2026-03-11 10:00", "2026-03-11 11:00",
        "2026-03-12 09:00", "2026-03-12 10:00", "2026-03-12 11:00",
    ]


# --- Licenses ---------------------------------------------------------------------------------------

def test_last_valid_day_is_offered_and_the_day_after_is_not(region_sg):
    clinician = bookable_clinician(regions=[region_sg], valid_until=date(2026, 3, 12))
    found = slots(clinician, region_sg, at(HCM, 2026, 3, 11), at(HCM, 2026, 3, 15))
    assert local_times(found, HCM) == [
        "2026-03-11 09:00", "2026-03-11 10:00", "2026-03-11 11:00",
        "2026-03-12 09:00", "2026-03-12 10:00", "2026-03-12 11:00",
    ]


def test_first_valid_day_is_offered_and_the_day_before_is_not(region_sg):
    clinician = bookable_clinician(regions=[region_sg], valid_from=date(2026, 3, 12))
    found = slots(clinician, region_sg, at(HCM, 2026, 3, 11), at(HCM, 2026, 3, 13))
    assert local_times(found, HCM) == ["2026-03-12 09:00", "2026-03-12 10:00", "2026-03-12 11:00"]


def test_license_day_is_the_day_in_the_patients_region(region_ny):
    # A Ho Chi Minh City clinician seeing a New York patient: 09:00 in HCM on 13 March is
    # 22:00 on 12 March in New York, the last valid day there.
    clinician = bookable_clinician(regions=[region_ny], valid_until=date(2026, 3, 12), end=time(10))
    found = slots(clinician, region_ny, at(HCM, 2026, 3, 12), at(HCM, 2026, 3, 15))
    assert local_times(found, HCM) == ["2026-03-12 09:00", "2026-03-13 09:00"]


@pytest.mark.parametrize("status", [License.Status.PENDING, License.Status.REVOKED])
def test_pending_or_revoked_license_offers_nothing(region_sg, status):
    clinician = bookable_clinician(regions=[region_sg], status=status)
    assert slots(clinician, region_sg, at(HCM, 2026, 3, 10), at(HCM, 2026, 4, 10)) == []


def test_license_for_another_region_offers_nothing(region_sg, region_ca):
    clinician = bookable_clinician(regions=[region_ca])
    assert slots(clinician, region_sg, at(HCM, 2026, 3, 10), at(HCM, 2026, 4, 10)) == []


def test_vn_sg_patient_never_sees_a_clinician_licensed_only_in_us_ca(region_sg, region_ca):
    seen = bookable_clinician(regions=[region_sg], display_name="Dr Seen")
    bookable_clinician(regions=[region_ca], display_name="Dr California")
    bookable_clinician(regions=[region_sg], status=License.Status.REVOKED, display_name="Dr Revoked")
    cards = clinician_cards_for(region=region_sg, now=NOW)
    assert [card.display_name for card in cards] == ["Dr Seen"]
    assert cards[0].clinician == seen
    assert cards[0].next_slot.starts_at == at(HCM, 2026, 3, 2, 9, 0)


def test_language_filter(region_sg):
    from accounts.models import ClinicianProfile

    vi_only = bookable_clinician(regions=[region_sg], display_name="Dr Vi")
    ClinicianProfile.objects.filter(user=vi_only).update(languages=["vi"])
    both = bookable_clinician(regions=[region_sg], display_name="Dr Both")
    ClinicianProfile.objects.filter(user=both).update(languages=["vi", "en"])
    assert [c.display_name for c in clinician_cards_for(region=region_sg, language="en", now=NOW)] == ["Dr Both"]
    assert sorted(c.display_name for c in clinician_cards_for(region=region_sg, language="vi", now=NOW)) == [
        "Dr Both", "Dr Vi",
    ]


# --- DST ----------------------------------------------------------------------------------------------

def test_nine_oclock_in_new_york_stays_nine_across_the_march_change(region_ny):
    clinician = bookable_clinician(regions=[region_ny], time_zone="America/New_York", end=time(10))
    found = slots(clinician, region_ny, at(NEW_YORK, 2026, 3, 6), at(NEW_YORK, 2026, 3, 11))
    assert local_times(found, NEW_YORK) == [
        "2026-03-06 09:00", "2026-03-07 09:00", "2026-03-08 09:00", "2026-03-09 09:00", "2026-03-10 09:00",
    ]
    # EST (UTC-5) before 8 March, EDT (UTC-4) from it.
    assert local_times(found, UTC) == [
        "2026-03-06 14:00", "2026-03-07 14:00", "2026-03-08 13:00", "2026-03-09 13:00", "2026-03-10 13:00",
    ]


def test_nine_oclock_in_new_york_stays_nine_across_the_november_change(region_ny):
    clinician = bookable_clinician(regions=[region_ny], time_zone="America/New_York", end=time(10))
    found = slots(clinician, region_ny, at(NEW_YORK, 2026, 10, 30), at(NEW_YORK, 2026, 11, 3), now=at(UTC, 2026, 10, 1))
    assert local_times(found, NEW_YORK) == [
        "2026-10-30 09:00", "2026-10-31 09:00", "2026-11-01 09:00", "2026-11-02 09:00",
    ]
    assert local_times(found, UTC) == [
        "2026-10-30 13:00", "2026-10-31 13:00", "2026-11-01 14:00", "2026-11-02 14:00",
    ]


def test_night_hours_across_the_spring_gap_have_real_lengths(region_ny):
    # 01:00-04:00 on 8 March 2026 in New York is two real hours (02:00-03:00 does not exist).
    clinician = bookable_clinician(regions=[region_ny], time_zone="America/New_York",
                                   weekdays=[6], start=time(1), end=time(4))
    found = slots(clinician, region_ny, at(NEW_YORK, 2026, 3, 8), at(NEW_YORK, 2026, 3, 9))
    assert local_times(found, UTC) == ["2026-03-08 06:00", "2026-03-08 07:00"]
    assert local_times(found, NEW_YORK) == ["2026-03-08 01:00", "2026-03-08 03:00"]


def test_patient_in_ho_chi_minh_city_sees_new_york_hours_in_local_time(region_sg):
    # Asia/Ho_Chi_Minh is UTC+7 all year: 09:00 New York is 21:00 before 8 March, 20:00 after.
    clinician = bookable_clinician(regions=[region_sg], time_zone="America/New_York", end=time(10))
    found = slots(clinician, region_sg, at(NEW_YORK, 2026, 3, 6), at(NEW_YORK, 2026, 3, 10))
    assert local_times(found, HCM) == [
        "2026-03-06 21:00", "2026-03-07 21:00", "2026-03-08 20:00", "2026-03-09 20:00",
    ]
