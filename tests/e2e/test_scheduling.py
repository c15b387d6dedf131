"""A patient finds a licensed psychiatrist, books a slot, sees it in upcoming appointments and
downloads the .ics."""

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from accounts.models import PatientProfile
from scheduling.models import Appointment
from tests.factories import PASSWORD, make_patient, make_region
from tests.scheduling.factories import bookable_clinician

from .conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_patient_finds_books_sees_upcoming_and_downloads_ics(live_daphne, new_context):
    saigon, california = make_region("VN-SG"), make_region("US-CA")
    doctor = bookable_clinician(regions=[saigon], display_name="Dr Linh Tran")
    bookable_clinician(regions=[california], display_name="Dr Only California")
    patient = make_patient(region=saigon, first_name="Lan", time_zone="Asia/Ho_Chi_Minh")
    PatientProfile.objects.filter(user=patient).update(preferred_language="en")  # English page text

    context = new_context(accept_downloads=True, locale="en-US")
    page = context.new_page()
    sign_in(page, live_daphne.url, patient.email, PASSWORD)

    page.get_by_role("link", name="Find a psychiatrist").click()
    assert page.get_by_role("heading", name="Dr Linh Tran").is_visible()
    assert page.get_by_text("Dr Only California").count() == 0
    page.get_by_role("link", name="See times with Dr Linh Tran").click()
    assert page.get_by_role("heading", name="Before you book").is_visible()

    first_slot = page.locator(".slot-grid a").first
    slot_label = first_slot.get_attribute("aria-label")  # e.g. "Wednesday 25 November, 09:00"
    first_slot.click()
    assert page.get_by_role("heading", name="Cancellation policy").is_visible()
    page.get_by_role("button", name="Book this appointment").click()
    page.wait_for_url(re.compile(r"/scheduling/appointments/\d+/$"))
    assert page.get_by_text("Your appointment is booked.").is_visible()

    appointment = Appointment.objects.get(patient=patient)
    assert appointment.clinician == doctor
    assert appointment.status == "booked"

    page.get_by_role("link", name="Appointments", exact=True).click()
    upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming"))
    assert upcoming.get_by_text("Dr Linh Tran").is_visible()
    hours_minutes = slot_label.rsplit(" ", 1)[-1]
    assert upcoming.locator(".appt-when").first.inner_text().startswith(
        appointment.starts_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%a %-d %b, ")
        + hours_minutes
    )

    upcoming.locator(".appt-when a").first.click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    download = download_info.value
    assert download.suggested_filename == f"telepsych-appointment-{appointment.pk}.ics"
    (event,) = Calendar.from_ical(Path(download.path()).read_bytes()).walk("VEVENT")
    assert event.decoded("dtstart") == appointment.starts_at
    assert event.decoded("dtend") == appointment.ends_at
