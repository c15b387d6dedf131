"""Two real browsers: the patient confirms where they are and waits; the clinician sees them
arrive on the home page and admits; both peer connections connect and decode video; a reload
rejoins by itself; the clinician ends the visit and the appointment is completed."""

import re
import time

import pytest

from scheduling.models import Appointment
from sessions.models import SessionEvent, VideoSession
from tests.e2e.conftest import sign_in, staff_sign_in, start_daphne, stop_daphne
from tests.factories import PASSWORD, make_clinician, make_patient, make_region
from tests.sessions.factories import make_appointment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONNECTED_AND_DECODING = """async () => {
  const call = window.telepsychCall;
  if (!call || !call.pc || call.pc.connectionState !== "connected") return false;
  const stats = await call.pc.getStats();
  let frames = 0;
  stats.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0; });
  const video = document.getElementById("remote-video");
  return frames > 0 && video.videoWidth > 0;
}"""


def wait_connected(page, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(CONNECTED_AND_DECODING):
            return
        page.wait_for_timeout(150)
    state = page.evaluate("() => window.telepsychCall?.pc?.connectionState ?? 'no pc'")
    raise AssertionError(f"{page.url}: not connected with decoded video (state {state})")


def admit_button(page, appointment: Appointment):
    """The one-click admit of this appointment's row in the clinician's waiting list."""
    return page.locator(f'#waiting-items form[action="/visits/{appointment.pk}/admit/"] button')


def pc_identity(page) -> str:
    return page.evaluate("() => window.telepsychCall.pcId")


def people():
    region = make_region("VN-SG")
    make_region("VN-HN")
    patient = make_patient(region=region, first_name="Lan")
    clinician = make_clinician(regions=[region], display_name="Dr Tran")
    appointment = make_appointment(patient=patient, clinician=clinician, region=region)
    return patient, clinician, appointment


def patient_confirms_location_and_waits(page, base_url: str, appointment: Appointment) -> None:
    page.goto(f"{base_url}/visits/{appointment.pk}/")
    page.wait_for_url(re.compile(rf"/visits/{appointment.pk}/check/$"))
    # Ids, not words: the patient's pages are in their preferred language (Vietnamese here).
    page.locator("#id_region").select_option(label="Ho Chi Minh City (VN-SG)")
    page.locator("#id_address").fill("12 Nguyen Hue, District 1")
    page.locator("#id_callback_phone").fill("+84 912 345 678")
    page.locator("#id_callback_phone").press("Enter")
    page.wait_for_url(f"{base_url}/visits/{appointment.pk}/")
    page.locator("#waiting-panel").wait_for()
    page.wait_for_function("() => window.telepsychCall?.ws?.readyState === 1")


def test_two_browsers_wait_admit_connect_reload_and_end(live_daphne, new_context):
    patient, clinician, appointment = people()
    doctor = new_context().new_page()
    staff_sign_in(doctor, live_daphne.url, clinician.email)
    doctor.locator("#waiting-empty").wait_for()

    lan = new_context().new_page()
    script_errors: list[str] = []
    for page in (doctor, lan):
        page.on("pageerror", lambda error: script_errors.append(str(error)))
    sign_in(lan, live_daphne.url, patient.email, PASSWORD)
    patient_confirms_location_and_waits(lan, live_daphne.url, appointment)

    # The clinician's home shows the waiting patient without a reload, with a one-click admit.
    admit = admit_button(doctor, appointment)
    admit.wait_for()
    assert admit.inner_text().endswith(patient.get_full_name())
    session = VideoSession.objects.get(appointment=appointment)
    assert session.state == VideoSession.State.WAITING
    assert session.location_region.code == "VN-SG"
    assert session.callback_phone == "+84 912 345 678"
    patient.patient_profile.refresh_from_db()
    assert patient.patient_profile.current_region.code == "VN-SG"

    patient_url_before = lan.url
    admit.click()
    doctor.wait_for_url(f"{live_daphne.url}/visits/{appointment.pk}/")
    # The clinician sees where the patient is, how to call back, and the local emergency number.
    assert doctor.locator("#safety-region").inner_text() == "Ho Chi Minh City"
    assert doctor.locator("#safety-callback").inner_text() == "+84 912 345 678"
    assert doctor.locator("#safety-emergency").inner_text() == "115"

    wait_connected(lan)
    wait_connected(doctor)
    assert lan.url == patient_url_before  # entered the call without a reload
    session.refresh_from_db()
    assert session.state == VideoSession.State.LIVE

    # The signaling socket drops: it reconnects by itself and the media never stopped.
    lan.evaluate("() => { window.droppedSocket = window.telepsychCall.ws; "
                 "window.droppedSocket.close(); }")
    lan.wait_for_function("() => window.telepsychCall.ws !== window.droppedSocket"
                          " && window.telepsychCall.ws.readyState === 1")
    wait_connected(lan)

    # The patient reloads: the call comes back with nobody clicking anything.
    old_doctor_pc = pc_identity(doctor)
    lan.reload()
    wait_connected(lan)
    wait_connected(doctor)
    assert pc_identity(doctor) != old_doctor_pc

    # The patient leaves, then comes back through "Rejoin".
    lan.locator("#hang-up").click()
    lan.locator("#left-panel").wait_for()
    lan.locator("#left-panel a").click()
    wait_connected(lan)
    wait_connected(doctor)

    doctor.locator("#end-visit").click()
    doctor.wait_for_url(f"{live_daphne.url}/")
    lan.locator("#ended-panel").wait_for()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.COMPLETED
    session.refresh_from_db()
    assert session.state == VideoSession.State.ENDED
    assert session.ended_by == clinician
    patient_events = list(SessionEvent.objects.filter(session=session, user=patient)
                          .values_list("kind", flat=True))
    assert patient_events[:1] == ["joined"]
    assert "reconnected" in patient_events
    assert script_errors == []


def test_two_waiting_patients_both_show_for_the_clinician(live_daphne, new_context):
    region = make_region("VN-SG")
    make_region("VN-HN")
    clinician = make_clinician(regions=[region])
    from datetime import timedelta

    from django.utils import timezone

    # Back to back, both rooms open now (no overlap: the database forbids it).
    first = make_appointment(clinician=clinician, region=region,
                             starts_at=timezone.now() - timedelta(minutes=5), minutes=10)
    second = make_appointment(clinician=clinician, region=region,
                              starts_at=first.ends_at, minutes=10)
    doctor = new_context().new_page()
    staff_sign_in(doctor, live_daphne.url, clinician.email)
    for appointment in (first, second):
        page = new_context().new_page()
        sign_in(page, live_daphne.url, appointment.patient.email, PASSWORD)
        patient_confirms_location_and_waits(page, live_daphne.url, appointment)
    for appointment in (first, second):
        admit_button(doctor, appointment).wait_for()
    assert doctor.locator("#waiting-items li").count() == 2


@pytest.mark.redis
def test_signaling_crosses_two_daphne_processes_sharing_redis(transactional_db, tmp_path,
                                                               new_context):
    patient, clinician, appointment = people()
    server_a = start_daphne(tmp_path, "a")
    server_b = start_daphne(tmp_path, "b")
    try:
        lan = new_context().new_page()
        sign_in(lan, server_a.url, patient.email, PASSWORD)
        patient_confirms_location_and_waits(lan, server_a.url, appointment)

        doctor = new_context().new_page()
        staff_sign_in(doctor, server_b.url, clinician.email)
        admit_button(doctor, appointment).click()
        doctor.wait_for_url(f"{server_b.url}/visits/{appointment.pk}/")
        wait_connected(lan)
        wait_connected(doctor)
    finally:
        stop_daphne(server_a)
        stop_daphne(server_b)


NO_CAMERA = """(() => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) => constraints && constraints.video
    ? Promise.reject(new DOMException("Requested device not found", "NotFoundError"))
    : original(constraints);
})();"""


def test_a_patient_without_a_camera_falls_back_to_audio_only(live_daphne, new_context):
    patient, clinician, appointment = people()
    doctor = new_context().new_page()
    staff_sign_in(doctor, live_daphne.url, clinician.email)
    context = new_context()
    context.add_init_script(NO_CAMERA)
    lan = context.new_page()
    sign_in(lan, live_daphne.url, patient.email, PASSWORD)
    lan.goto(f"{live_daphne.url}/visits/{appointment.pk}/")
    lan.locator("#media-help-missing").wait_for()  # told, and offered voice only
    assert lan.locator("#audio-only").is_checked()
    patient_confirms_location_and_waits(lan, live_daphne.url, appointment)
    admit_button(doctor, appointment).click()
    doctor.wait_for_url(f"{live_daphne.url}/visits/{appointment.pk}/")

    # The patient still sees and hears the clinician; the clinician is told video is off.
    wait_connected(lan)
    doctor.wait_for_function(
        "() => window.telepsychCall?.pc?.connectionState === 'connected'")
    assert lan.evaluate("() => window.telepsychCall.audioOnly") is True
    doctor.locator("#remote-caption").wait_for()
    session = VideoSession.objects.get(appointment=appointment)
    assert SessionEvent.objects.filter(session=session, user=patient, kind="audio_only").count() == 1
    assert lan.locator("#toggle-audio-only").get_attribute("aria-pressed") == "true"


ICE_UFRAGS = """() => {
  const pc = window.telepsychCall.pc;
  const ufrag = (sdp) => (sdp || "").match(/a=ice-ufrag:(\\S+)/)?.[1] ?? null;
  return [ufrag(pc.localDescription?.sdp), ufrag(pc.remoteDescription?.sdp)];
}"""


def test_an_ice_restart_renegotiates_over_signaling_and_the_call_stays_up(
    live_daphne, new_context
):
    patient, clinician, appointment = people()
    doctor = new_context().new_page()
    staff_sign_in(doctor, live_daphne.url, clinician.email)
    lan = new_context().new_page()
    sign_in(lan, live_daphne.url, patient.email, PASSWORD)
    patient_confirms_location_and_waits(lan, live_daphne.url, appointment)
    admit_button(doctor, appointment).click()
    wait_connected(doctor)
    wait_connected(lan)
    patient_local, doctor_sees = lan.evaluate(ICE_UFRAGS)[0], doctor.evaluate(ICE_UFRAGS)[1]
    assert patient_local and patient_local == doctor_sees

    # The client's own recovery path (used when the connection fails): new ICE credentials are
    # offered through the signaling socket and both sides apply them.
    lan.evaluate("() => window.telepsychCall.pc.restartIce()")
    lan.wait_for_function(f"() => ({ICE_UFRAGS})()[0] !== {patient_local!r}")
    restarted = lan.evaluate(ICE_UFRAGS)[0]
    doctor.wait_for_function(f"() => ({ICE_UFRAGS})()[1] === {restarted!r}")
    wait_connected(lan)
    wait_connected(doctor)
