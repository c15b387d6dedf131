"""Two real browsers on the messages page: the patient and the clinician write both ways live,
markup shows as text, read receipts arrive, the patient reloads and sees the history; and the
page works as a plain form with JavaScript off."""

import pytest

from sessions.chat_models import Message
from tests.e2e.conftest import sign_in, staff_sign_in
from tests.factories import PASSWORD, make_clinician, make_patient, make_region
from tests.sessions.chat_factories import make_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def people():
    region = make_region("VN-SG")
    patient = make_patient(region=region, first_name="Lan")
    # English pages, so the assertions can name the texts (Vietnamese is tested elsewhere).
    patient.patient_profile.preferred_language = "en"
    patient.patient_profile.save(update_fields=["preferred_language"])
    clinician = make_clinician(regions=[region], display_name="Dr Tran")
    return make_thread(patient=patient, clinician=clinician)


def write(page, text: str) -> None:
    page.locator("#id_body").fill(text)
    page.locator("#chat-send").click()


def bodies(page) -> list[str]:
    return page.locator("#chat-log .chat-body").all_inner_texts()


def test_patient_and_clinician_chat_live_and_history_survives_reload(live_daphne, new_context):
    thread = people()
    url = f"{live_daphne.url}/visits/messages/{thread.pk}/"
    lan = new_context().new_page()
    sign_in(lan, live_daphne.url, thread.patient.email, PASSWORD)
    doctor = new_context().new_page()
    staff_sign_in(doctor, live_daphne.url, thread.clinician.email)
    for page in (lan, doctor):
        page.goto(url)
        page.locator("#chat-status").filter(has_text="Connected").wait_for()

    markup = '<script>alert("x")</script><b>not bold</b>'
    write(lan, markup)
    doctor.locator("#chat-log .chat-theirs .chat-body").filter(has_text="not bold").wait_for()
    assert bodies(doctor) == [markup]  # shown as text, not run or rendered
    assert doctor.locator("#chat-log script, #chat-log b").count() == 0

    write(doctor, "Thanks, Lan. How did you sleep?")
    lan.locator("#chat-log .chat-theirs").filter(has_text="How did you sleep?").wait_for()
    # The clinician had the page open and visible: the patient sees the receipt.
    doctor.locator("#chat-receipt").filter(has_text="Seen by").wait_for()
    write(lan, "Better, thank you.")
    doctor.locator("#chat-log .chat-body").filter(has_text="Better, thank you.").wait_for()
    lan.locator("#chat-log .chat-mine[data-seq='3']").wait_for()
    assert lan.locator(".chat-pending").count() == 0

    lan.reload()
    lan.locator("#chat-status").filter(has_text="Connected").wait_for()
    assert bodies(lan) == [markup, "Thanks, Lan. How did you sleep?", "Better, thank you."]
    assert list(Message.objects.filter(thread=thread).order_by("seq").values_list(
        "seq", "sender_id")) == [(1, thread.patient_id), (2, thread.clinician_id),
                                 (3, thread.patient_id)]
    assert "Traceback" not in live_daphne.log()


def test_messages_page_works_without_javascript(live_daphne, new_context):
    thread = people()
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, live_daphne.url, thread.patient.email, PASSWORD)
    page.goto(f"{live_daphne.url}/visits/messages/")
    page.get_by_role("link", name="Dr Tran").click()
    page.wait_for_url(f"{live_daphne.url}/visits/messages/{thread.pk}/")
    write(page, "Sent as a plain form")
    page.wait_for_url(f"{live_daphne.url}/visits/messages/{thread.pk}/")
    assert bodies(page) == ["Sent as a plain form"]
    page.reload()  # a reload after the redirect does not post again
    assert Message.objects.filter(thread=thread).count() == 1


def test_chat_during_a_call_both_ways_and_after_the_patients_reload(live_daphne, new_context):
    """The video issue's call, with the chat beside the video on the call's own socket."""
    from tests.e2e.test_video_call import (
        patient_confirms_location_and_waits,
        wait_connected,
    )
    from tests.e2e.test_video_call import people as call_people

    patient, clinician, appointment = call_people()
    patient.patient_profile.preferred_language = "en"
    patient.patient_profile.save(update_fields=["preferred_language"])
    doctor = new_context().new_page()
    staff_sign_in(doctor, live_daphne.url, clinician.email)
    lan = new_context().new_page()
    sign_in(lan, live_daphne.url, patient.email, PASSWORD)
    patient_confirms_location_and_waits(lan, live_daphne.url, appointment)
    doctor.get_by_role("button", name=f"Admit {patient.get_full_name()}").click()
    doctor.wait_for_url(f"{live_daphne.url}/visits/{appointment.pk}/")
    wait_connected(lan)
    wait_connected(doctor)

    write(lan, "The sound keeps cutting out")
    doctor.locator("#chat-log .chat-theirs").filter(has_text="The sound keeps cutting out").wait_for()
    write(doctor, "Try audio only: press A")
    lan.locator("#chat-log .chat-theirs").filter(has_text="Try audio only").wait_for()
    lan.locator("#chat-log .chat-mine[data-seq='1']").wait_for()

    lan.reload()
    wait_connected(lan)
    lan.locator("#chat-log .chat-theirs").filter(has_text="Try audio only").wait_for()
    assert bodies(lan) == ["The sound keeps cutting out", "Try audio only: press A"]
    # The in-call chat is the messages thread: the same two messages, stored once each.
    assert list(Message.objects.order_by("seq").values_list("seq", "sender_id")) == [
        (1, patient.pk), (2, clinician.pk)]
    assert "Traceback" not in live_daphne.log()
