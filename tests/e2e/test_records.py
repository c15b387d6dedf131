"""A psychiatrist writes a note in a real browser: autosave (JavaScript) keeps the draft, signing
locks it; the patient answers a PHQ-9 and sees the trend chart; screenshots at phone size."""

import re
from pathlib import Path

import pytest

from records.models import ClinicalNote, QuestionnaireResponse
from tests.e2e.conftest import sign_in, staff_sign_in
from tests.factories import PASSWORD
from tests.records.factories import Cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_note_autosaves_then_signing_locks_it(live_daphne, new_context):
    cast = Cast()
    page = new_context(viewport={"width": 390, "height": 844}, locale="en-US").new_page()
    staff_sign_in(page, live_daphne.url, cast.treating.email)
    page.goto(f"{live_daphne.url}/records/patients/{cast.patient.pk}/")
    page.get_by_role("link", name="New note").click()
    page.get_by_label("Kind of note").select_option("progress_note")
    page.get_by_role("button", name="Start the note").click()
    page.wait_for_url(re.compile(r"/records/notes/\d+/edit/$"))
    page.get_by_label("Subjective").fill("Sleeping five hours; typed, never submitted.")
    status = page.locator("[data-autosave-status]")
    status.filter(has_text="Draft saved at").wait_for(timeout=15_000)
    note = ClinicalNote.objects.get()
    assert note.decrypt_field_json("body")["subjective"] == (
        "Sleeping five hours; typed, never submitted.")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "records-note-edit-phone.png"), full_page=True)
    page.reload()
    assert page.get_by_label("Subjective").input_value() == (
        "Sleeping five hours; typed, never submitted.")
    # Typed and signed at once: the last keystrokes are saved before signing.
    page.get_by_label("Plan").fill("Review in two weeks.")
    page.get_by_role("button", name="Sign the note").click()
    page.wait_for_url(f"{live_daphne.url}/records/notes/{note.pk}/")
    assert "Signed by" in page.content()
    note.refresh_from_db()
    assert note.status == "signed"
    assert note.decrypt_field_json("body")["plan"] == "Review in two weeks."
    # The edit page now sends the author back to the read-only note.
    page.goto(f"{live_daphne.url}/records/notes/{note.pk}/edit/")
    page.wait_for_url(f"{live_daphne.url}/records/notes/{note.pk}/")


def test_patient_answers_phq9_and_sees_the_trend(live_daphne, new_context):
    cast = Cast()
    page = new_context(viewport={"width": 390, "height": 844}, locale="en-US").new_page()
    sign_in(page, live_daphne.url, cast.patient.email, PASSWORD)
    page.goto(live_daphne.url + "/records/questionnaires/phq9/")
    for number in range(1, 10):
        page.locator(f"input[name=item_{number}][value='1']").check()
    page.locator("input[name=difficulty][value='1']").check()
    page.locator("#id_comment").fill("Better this week")
    page.locator("button[type=submit]", has_text=re.compile("Send|Gửi")).click()
    page.wait_for_url(live_daphne.url + "/records/questionnaires/")
    assert QuestionnaireResponse.objects.get().score == 9
    assert page.locator("svg.trend-chart").count() == 2
    assert page.locator("svg.trend-chart circle").count() == 1
    page.screenshot(path=str(SHOTS / "records-measures-phone.png"), full_page=True)
