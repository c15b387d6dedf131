"""Pages: the authorization matrix, booking over HTTP (including a lost race), calendars,
and a fixed number of queries on the find page."""

from datetime import date, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from accounts.models import ClinicianProfile, PatientProfile, User
from scheduling.models import Appointment, SchedulingSettings
from scheduling.selectors import free_slots_for
from scheduling.services import appointment_book, calendar_feed_token_rotate
from tests.factories import make_patient, make_staff

from .factories import bookable_clinician, make_appointment

pytestmark = pytest.mark.django_db


def first_slots(clinician, region, count=2):
    now = timezone.now()
    return free_slots_for(clinician=clinician, region=region, start=now, end=now + timedelta(weeks=2), now=now)[:count]


@pytest.fixture
def doctor(region_sg):
    return bookable_clinician(regions=[region_sg], display_name="Dr Tran")


@pytest.fixture
def booked(patient, doctor, region_sg):
    slot = first_slots(doctor, region_sg, 1)[0]
    return appointment_book(patient=patient, clinician_id=doctor.pk, starts_at=slot.starts_at)


@pytest.fixture
def people(db, region_sg, consent_document):
    return {
        "other_patient": make_patient(region=region_sg),
        "unrelated_clinician": bookable_clinician(regions=[region_sg]),
        "clinic_admin": make_staff(role=User.Role.CLINIC_ADMIN),
    }


def as_user(client, user):
    client.force_login(user)
    return client


# --- Authorization matrix ------------------------------------------------------------------------------

APPOINTMENT_URLS = [
    ("get", "scheduling:appointment"),
    ("get", "scheduling:ics"),
    ("get", "scheduling:reschedule"),
    ("post", "scheduling:cancel"),
    ("post", "scheduling:reschedule"),
]


@pytest.mark.parametrize(("method", "name"), APPOINTMENT_URLS)
def test_anonymous_is_sent_to_sign_in_or_refused(client, booked, method, name):
    response = getattr(client, method)(reverse(name, args=[booked.pk]), {"reason": "x", "start": "1"})
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/")
    booked.refresh_from_db()
    assert booked.status == "booked"


@pytest.mark.parametrize("who", ["other_patient", "unrelated_clinician", "clinic_admin"])
@pytest.mark.parametrize(("method", "name"), APPOINTMENT_URLS)
def test_outsiders_get_404_and_nothing_changes(client, booked, people, who, method, name):
    before = booked.starts_at
    response = getattr(as_user(client, people[who]), method)(
        reverse(name, args=[booked.pk]), {"reason": "x", "start": "1"})
    assert response.status_code == 404
    assert booked.clinician.clinician_profile.display_name.encode() not in response.content
    booked.refresh_from_db()
    assert (booked.status, booked.starts_at, booked.changes.count()) == ("booked", before, 1)


def test_no_show_is_404_for_another_clinician(client, booked, people):
    response = as_user(client, people["unrelated_clinician"]).post(reverse("scheduling:no_show", args=[booked.pk]))
    assert response.status_code == 404
    assert Appointment.objects.get(pk=booked.pk).status == "booked"


def test_patient_and_treating_clinician_see_the_appointment(client, booked, patient, doctor):
    for user in (patient, doctor):
        response = as_user(client, user).get(reverse("scheduling:appointment", args=[booked.pk]))
        assert response.status_code == 200
        assert response.context["appointment"] == booked


def test_patient_downloads_the_ics_without_names(client, booked, patient):
    response = as_user(client, patient).get(reverse("scheduling:ics", args=[booked.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("dtstart") == booked.starts_at
    assert event.decoded("dtend") == booked.ends_at
    assert str(event["summary"]) == "telepsych appointment"
    assert patient.last_name.encode() not in response.content
    assert b"Dr Tran" not in response.content


def test_caseload_is_the_clinicians_own(client, booked, patient, doctor, people):
    response = as_user(client, doctor).get(reverse("scheduling:caseload"))
    assert response.status_code == 200
    (entry,) = response.context["entries"]
    assert (entry.patient, entry.last_at, entry.next_at) == (patient, None, booked.starts_at)
    # Another clinician cannot look at this caseload, nor see this patient in their own.
    other = as_user(client, people["unrelated_clinician"])
    assert other.get(reverse("scheduling:caseload_for", args=[doctor.pk])).status_code == 404
    assert other.get(reverse("scheduling:caseload")).context["entries"] == []
    # A patient is refused; a clinic admin may look.
    assert as_user(client, patient).get(reverse("scheduling:caseload_for", args=[doctor.pk])).status_code == 403
    admin_view = as_user(client, people["clinic_admin"]).get(reverse("scheduling:caseload_for", args=[doctor.pk]))
    assert [e.patient for e in admin_view.context["entries"]] == [patient]


def test_caseload_last_and_next(client, patient, doctor, region_sg):
    now = timezone.now()
    make_appointment(patient=patient, clinician=doctor, region=region_sg, starts_at=now - timedelta(days=14),
                     status="completed")
    last = make_appointment(patient=patient, clinician=doctor, region=region_sg, starts_at=now - timedelta(days=7),
                            status="completed")
    make_appointment(patient=patient, clinician=doctor, region=region_sg, starts_at=now + timedelta(days=3),
                     status="cancelled")
    upcoming = make_appointment(patient=patient, clinician=doctor, region=region_sg, starts_at=now + timedelta(days=5))
    (entry,) = as_user(client, doctor).get(reverse("scheduling:caseload")).context["entries"]
    assert (entry.last_at, entry.next_at) == (last.starts_at, upcoming.starts_at)


@pytest.mark.parametrize(("name", "allowed"), [
    ("scheduling:find", "patient"), ("scheduling:appointments", "patient"),
    ("scheduling:agenda", "clinician"), ("scheduling:caseload", "clinician"),
    ("scheduling:availability", "clinician"), ("scheduling:admin_appointments", "clinic_admin"),
])
def test_role_pages(client, patient, doctor, people, name, allowed):
    users = {"patient": patient, "clinician": doctor, "clinic_admin": people["clinic_admin"]}
    for role, user in users.items():
        response = as_user(client, user).get(reverse(name))
        assert response.status_code == (200 if role == allowed else 403), (role, name)
    client.logout()
    assert client.get(reverse(name)).status_code == 302


# --- Booking over HTTP ------------------------------------------------------------------------------

def test_find_page_lists_licensed_clinicians_with_next_slot(client, patient, doctor, region_ca):
    bookable_clinician(regions=[region_ca], display_name="Dr California")
    response = as_user(client, patient).get(reverse("scheduling:find"))
    assert response.status_code == 200
    assert [card.display_name for card in response.context["cards"]] == ["Dr Tran"]
    assert response.context["cards"][0].next_slot == first_slots(doctor, patient.patient_profile.home_region, 1)[0]
    assert b"Dr California" not in response.content


def test_find_page_query_count_does_not_grow_with_clinicians(client, patient, region_sg, django_assert_num_queries):
    as_user(client, patient)
    bookable_clinician(regions=[region_sg])
    client.get(reverse("scheduling:find"))  # warm the session and time-zone caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("scheduling:find"))
    for _ in range(12):
        other = bookable_clinician(regions=[region_sg])
        ClinicianProfile.objects.filter(user=other).update(languages=["en"])
        make_appointment(patient=make_patient(region=region_sg), clinician=other, region=region_sg,
                         starts_at=timezone.now() + timedelta(days=2))
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("scheduling:find"))
    assert len(response.context["cards"]) == 13
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("scheduling:find"), {"language": "en"})
    assert len(response.context["cards"]) == 13


def english(user):
    """Pages follow the patient's preferred language (VN-SG patients default to Vietnamese)."""
    PatientProfile.objects.filter(user=user).update(preferred_language="en")
    return user


def test_confirm_page_shows_the_policy_then_books(client, patient, doctor, region_sg):
    english(patient)
    slot = first_slots(doctor, region_sg, 1)[0]
    key = int(slot.starts_at.timestamp())
    as_user(client, patient)
    confirm = client.get(reverse("scheduling:book", args=[doctor.pk]), {"start": key})
    assert confirm.status_code == 200
    assert b"up to 24 hours before it starts" in confirm.content
    response = client.post(reverse("scheduling:book", args=[doctor.pk]), {"start": key})
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:appointment", args=[appointment.pk])
    assert (appointment.patient, appointment.starts_at) == (patient, slot.starts_at)


@pytest.mark.parametrize(("language", "message"), [
    ("en", "That time was just taken. Please choose another time."),
    ("vi", "Giờ này vừa có người đặt. Vui lòng chọn giờ khác."),
])
def test_lost_race_shows_taken_with_fresh_slots_not_a_500(client, patient, doctor, region_sg, language, message):
    PatientProfile.objects.filter(user=patient).update(preferred_language=language)
    taken, other = first_slots(doctor, region_sg, 2)
    appointment_book(patient=make_patient(region=region_sg), clinician_id=doctor.pk, starts_at=taken.starts_at)
    response = as_user(client, patient).post(reverse("scheduling:book", args=[doctor.pk]),
                                              {"start": int(taken.starts_at.timestamp())})
    assert response.status_code == 409
    assert message in response.content.decode()
    offered = [s["starts_at"] for day in response.context["days"] for s in day["slots"]]
    assert taken.starts_at not in offered
    assert other.starts_at in offered
    assert Appointment.objects.filter(patient=patient).count() == 0


@pytest.mark.parametrize("start", ["", "abc", "-5", "99999999999999"])
def test_bad_slot_input_is_a_400(client, patient, doctor, start):
    response = as_user(client, patient).post(reverse("scheduling:book", args=[doctor.pk]), {"start": start})
    assert response.status_code == 400
    assert Appointment.objects.count() == 0


def test_booking_without_consent_goes_to_consent(client, doctor, region_sg):
    unconsented = make_patient(region=region_sg, consented=False)
    slot = first_slots(doctor, region_sg, 1)[0]
    response = as_user(client, unconsented).post(reverse("scheduling:book", args=[doctor.pk]),
                                                 {"start": int(slot.starts_at.timestamp())})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("consent"))
    assert Appointment.objects.count() == 0


def test_clinician_not_licensed_in_patients_region_is_404(client, patient, region_ca):
    outsider = bookable_clinician(regions=[region_ca])
    as_user(client, patient)
    assert client.get(reverse("scheduling:clinician_slots", args=[outsider.pk])).status_code == 404
    assert client.post(reverse("scheduling:book", args=[outsider.pk]), {"start": "1"}).status_code == 404


def test_patient_cancels_from_the_page(client, booked, patient, settings):
    settings.TELEPSYCH_CANCEL_WINDOW_HOURS = 1
    response = as_user(client, patient).post(reverse("scheduling:cancel", args=[booked.pk]), {"reason": ""})
    assert response.status_code == 302
    assert Appointment.objects.get(pk=booked.pk).status == "cancelled"


def test_home_pages_show_upcoming_and_todays_appointments(client, patient, doctor, region_sg):
    soon = make_appointment(patient=patient, clinician=doctor, region=region_sg,
                            starts_at=timezone.now() + timedelta(minutes=10))
    assert as_user(client, patient).get("/").context["upcoming"] == [soon]
    assert as_user(client, doctor).get("/").context["todays_appointments"] == [soon]


# --- Clinician pages --------------------------------------------------------------------------------

def test_clinician_adds_hours_and_overlaps_are_refused(client, region_sg):
    doctor = bookable_clinician(regions=[region_sg], weekdays=[])
    as_user(client, doctor)
    url = reverse("scheduling:rule_add")
    assert client.post(url, {"rule-weekday": 0, "rule-start_time": "09:00", "rule-end_time": "12:00"}).status_code == 302
    overlap = client.post(url, {"rule-weekday": 0, "rule-start_time": "11:00", "rule-end_time": "13:00"})
    assert overlap.status_code == 400
    assert b"overlap" in overlap.content
    backwards = client.post(url, {"rule-weekday": 1, "rule-start_time": "12:00", "rule-end_time": "09:00"})
    assert backwards.status_code == 400
    assert list(doctor.availability_rules.values_list("weekday", "start_time")) == [(0, time(9))]


def test_clinician_cannot_delete_another_clinicians_hours(client, doctor, people):
    rule = doctor.availability_rules.first()
    response = as_user(client, people["unrelated_clinician"]).post(reverse("scheduling:rule_delete", args=[rule.pk]))
    assert response.status_code == 404
    assert doctor.availability_rules.filter(pk=rule.pk).exists()


def test_settings_are_validated(client, doctor):
    as_user(client, doctor)
    bad = client.post(reverse("scheduling:settings"), {
        "appointment_minutes": 5, "buffer_minutes": 10, "min_notice_hours": 12, "horizon_days": 56})
    assert bad.status_code == 400
    good = client.post(reverse("scheduling:settings"), {
        "appointment_minutes": 45, "buffer_minutes": 15, "min_notice_hours": 24, "horizon_days": 28})
    assert good.status_code == 302
    saved = SchedulingSettings.objects.get(clinician=doctor)
    assert (saved.appointment_minutes, saved.buffer_minutes, saved.min_notice_hours, saved.horizon_days) == (45, 15, 24, 28)


def test_private_feed_shows_times_only_and_can_be_revoked(client, booked, doctor, patient):
    token = calendar_feed_token_rotate(clinician=doctor)
    url = reverse("scheduling:feed", args=[token])
    response = client.get(url)  # calendar apps fetch without signing in
    assert response.status_code == 200
    (event,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["summary"]) == "Appointment"
    assert event.decoded("dtstart") == booked.starts_at
    for phi in (patient.first_name, patient.last_name, patient.email, booked.region.name):
        assert phi.encode() not in response.content
    assert SchedulingSettings.objects.get(clinician=doctor).feed_token_hash != token
    new_token = calendar_feed_token_rotate(clinician=doctor)
    assert client.get(url).status_code == 404
    as_user(client, doctor).post(reverse("scheduling:feed_revoke"))
    assert client.get(reverse("scheduling:feed", args=[new_token])).status_code == 404


def test_admin_sees_appointments_by_region_and_status(client, booked, people, region_sg):
    response = as_user(client, people["clinic_admin"]).get(
        reverse("scheduling:admin_appointments"), {"region": "VN-SG", "status": "booked"})
    assert response.status_code == 200
    assert list(response.context["appointments"]) == [booked]
    row = next(r for r in response.context["table"] if r["region"] == region_sg)
    assert row["cells"] == [1, 0, 0, 0]
    assert booked.clinician in list(response.context["clinicians"])
    assert reverse("scheduling:caseload_for", args=[booked.clinician.pk]).encode() in response.content
    empty = client.get(reverse("scheduling:admin_appointments"), {"status": "cancelled"})
    assert list(empty.context["appointments"]) == []


@pytest.mark.parametrize(("week", "expected"), [("", 0), ("abc", 0), ("-3", 0), ("2", 2), ("99", 7)])
def test_slot_pages_are_one_week_each_and_bad_weeks_are_clamped(client, patient, doctor, week, expected):
    response = as_user(client, patient).get(reverse("scheduling:clinician_slots", args=[doctor.pk]), {"week": week})
    assert response.status_code == 200
    assert response.context["week"] == expected
    days = [day["day"] for day in response.context["days"]]
    assert all(response.context["week_first_day"] <= d <= response.context["week_last_day"] for d in days)


def test_patient_reschedules_from_the_page(client, booked, patient, doctor, region_sg, settings):
    """Also: the .ics keeps its UID and raises SEQUENCE, so calendars move the event."""
    settings.TELEPSYCH_CANCEL_WINDOW_HOURS = 1  # the first slot may start within 24 hours
    new = first_slots(doctor, region_sg, 3)[-1]
    response = as_user(client, patient).post(reverse("scheduling:reschedule", args=[booked.pk]),
                                              {"start": int(new.starts_at.timestamp())})
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.starts_at == new.starts_at
    page = client.get(reverse("scheduling:appointment", args=[booked.pk]))
    assert [c.kind for c in page.context["history"]] == ["booked", "rescheduled"]
    (event,) = Calendar.from_ical(client.get(reverse("scheduling:ics", args=[booked.pk])).content).walk("VEVENT")
    assert (str(event["uid"]).split("@")[0], event["sequence"], event.decoded("dtstart")) == (
        f"appointment-{booked.pk}", 1, new.starts_at)


def test_clinician_marks_a_started_appointment_as_no_show(client, patient, doctor, region_sg):
    started = make_appointment(patient=patient, clinician=doctor, region=region_sg,
                               starts_at=timezone.now() - timedelta(minutes=20))
    response = as_user(client, doctor).post(reverse("scheduling:no_show", args=[started.pk]))
    assert response.status_code == 302
    assert Appointment.objects.get(pk=started.pk).status == "no_show"
    # The patient cannot.
    other = make_appointment(patient=patient, clinician=doctor, region=region_sg,
                             starts_at=timezone.now() - timedelta(days=2))
    assert as_user(client, patient).post(reverse("scheduling:no_show", args=[other.pk])).status_code == 403
    assert Appointment.objects.get(pk=other.pk).status == "booked"


def test_clinician_adds_time_off_and_extra_hours(client, doctor):
    as_user(client, doctor)
    url = reverse("scheduling:exception_add")
    off = client.post(url, {"exception-kind": "time_off", "exception-start_date": "2026-12-24",
                            "exception-end_date": "2026-12-26"})
    extra = client.post(url, {"exception-kind": "extra_hours", "exception-start_date": "2026-12-27",
                              "exception-start_time": "18:00", "exception-end_time": "20:00"})
    incomplete = client.post(url, {"exception-kind": "extra_hours", "exception-start_date": "2026-12-28"})
    assert (off.status_code, extra.status_code, incomplete.status_code) == (302, 302, 400)
    assert list(doctor.availability_exceptions.values_list("kind", "start_date", "end_date", "start_time")) == [
        ("time_off", date(2026, 12, 24), date(2026, 12, 26), None),
        ("extra_hours", date(2026, 12, 27), date(2026, 12, 27), time(18)),
    ]


def test_feed_url_is_shown_once_after_creating_it(client, doctor):
    as_user(client, doctor)
    client.post(reverse("scheduling:feed_rotate"))
    first = client.get(reverse("scheduling:availability"))
    assert first.context["feed_url"].startswith("http://testserver/scheduling/feed/")
    assert client.get(first.context["feed_url"]).status_code == 200
    assert client.get(reverse("scheduling:availability")).context["feed_url"] == ""


def test_ho_chi_minh_city_patient_sees_new_york_hours_in_local_time_on_the_page(client, region_sg):
    from zoneinfo import ZoneInfo

    new_york, saigon = ZoneInfo("America/New_York"), ZoneInfo("Asia/Ho_Chi_Minh")
    doctor = bookable_clinician(regions=[region_sg], time_zone="America/New_York", start=time(9), end=time(10))
    patient = make_patient(region=region_sg, time_zone="Asia/Ho_Chi_Minh")
    response = as_user(client, patient).get(reverse("scheduling:clinician_slots", args=[doctor.pk]), {"week": 1})
    slots = [s for day in response.context["days"] for s in day["slots"]]
    assert len(slots) == 7
    html = response.content.decode()
    for slot in slots:
        assert slot["starts_at"].astimezone(new_york).strftime("%H:%M") == "09:00"
        local = slot["starts_at"].astimezone(saigon)
        assert local.strftime("%H:%M") in ("20:00", "21:00")  # EDT or EST
        assert f'>{local:%H:%M}</a>' in html


@pytest.mark.parametrize(("minutes_from_start", "shown"), [(-16, False), (-15, True), (0, True), (79, True), (80, False)])
def test_join_link_follows_the_video_rooms_window(patient, doctor, region_sg, settings, minutes_from_start, shown):
    """Open from 15 minutes before the start until 30 minutes after the 50-minute visit ends."""
    from scheduling.selectors import appointments_for_patient

    settings.TELEPSYCH_JOIN_OPENS_MINUTES_BEFORE, settings.TELEPSYCH_JOIN_CLOSES_MINUTES_AFTER = 15, 30
    appointment = make_appointment(patient=patient, clinician=doctor, region=region_sg,
                                   starts_at=timezone.now() + timedelta(days=1))
    upcoming, past = appointments_for_patient(
        patient=patient, now=appointment.starts_at + timedelta(minutes=minutes_from_start))
    assert [a.join_open for a in upcoming if a.pk == appointment.pk] == ([True] if shown else
                                                                          ([] if minutes_from_start > 0 else [False]))
    assert (appointment.pk in [a.pk for a in past]) == (minutes_from_start >= 80)
