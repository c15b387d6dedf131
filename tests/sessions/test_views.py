"""The visit pages: who sees what, the pre-call form, admit / message / end."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from scheduling.models import Appointment
from sessions.models import VideoSession
from tests.factories import make_clinician, make_patient, make_region, make_staff
from tests.sessions.factories import make_appointment, make_video_session

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def visit():
    region = make_region("VN-SG")
    patient = make_patient(region=region)
    profile = patient.patient_profile
    profile.emergency_contact_name = "Nguyen Thi Mai"
    profile.emergency_contact_phone = "+84 903 111 222"
    profile.save()
    clinician = make_clinician(regions=[region])
    session = make_video_session(
        appointment=make_appointment(patient=patient, clinician=clinician, region=region),
        state=VideoSession.State.WAITING)
    return session, patient, clinician


def room_url(session) -> str:
    return f"/visits/{session.appointment_id}/"


@pytest.mark.parametrize(("who", "status"), [
    ("anonymous", 302), ("other_patient", 404), ("unrelated_clinician", 404),
    ("clinic_admin", 403),
])
def test_room_is_closed_to_everyone_but_the_two_participants(visit, who, status):
    session, _, _ = visit
    user = {
        "anonymous": lambda: None,
        "other_patient": lambda: make_patient(),
        "unrelated_clinician": lambda: make_clinician(),
        "clinic_admin": lambda: make_staff(role=User.Role.CLINIC_ADMIN),
    }[who]()
    response = client_for(user).get(room_url(session))
    assert response.status_code == status
    assert b"+84 912 345 678" not in response.content
    assert b"Nguyen Thi Mai" not in response.content
    if who == "anonymous":
        assert response["Location"].startswith("/accounts/login/")
    for action in ("admit", "message", "end"):
        posted = client_for(user).post(f"{room_url(session)}{action}/", {"text": "hi"})
        assert posted.status_code in (302, 403, 404)
        if who == "anonymous":
            assert posted["Location"].startswith("/accounts/login/")
    session.refresh_from_db()
    assert session.state == VideoSession.State.WAITING
    assert session.waiting_message == ""


def test_treating_clinician_sees_where_the_patient_is_and_how_to_reach_them(visit):
    session, patient, clinician = visit
    response = client_for(clinician).get(room_url(session))
    assert response.status_code == 200
    safety = response.context["safety"]
    assert safety.region.code == "VN-SG"
    assert safety.address == "12 Nguyen Hue, District 1"
    assert safety.callback_phone == "+84 912 345 678"
    assert safety.emergency_number == "115"
    assert (safety.emergency_contact_name, safety.emergency_contact_phone) == (
        "Nguyen Thi Mai", "+84 903 111 222")
    assert safety.licensed_there is True
    assert response.context["license_warning"] is False
    config = response.context["config"]
    assert config == {
        "sessionId": str(session.pk), "wsPath": f"/ws/sessions/{session.pk}/",
        "role": "clinician", "polite": False, "state": "waiting", "iceServers": [],
        "homeUrl": "/",
    }
    assert b'id="call-config"' in response.content


def test_patient_page_has_the_polite_config_and_no_safety_panel(visit):
    session, patient, _ = visit
    response = client_for(patient).get(room_url(session))
    assert response.status_code == 200
    assert response.context["config"]["role"] == "patient"
    assert response.context["config"]["polite"] is True
    assert "safety" not in response.context
    assert b'id="safety-panel"' not in response.content


def test_patient_must_confirm_location_first_every_session():
    session = make_video_session(confirmed=False)
    patient = session.appointment.patient
    client = client_for(patient)
    response = client.get(room_url(session))
    assert response.status_code == 302
    assert response["Location"] == f"/visits/{session.appointment_id}/check/"

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["form"].initial["region"] == patient.patient_profile.home_region_id

    hanoi = make_region("VN-HN")
    bad = client.post(response["Location"], {"region": hanoi.pk, "address": "Hoan Kiem",
                                             "callback_phone": "not a phone"})
    assert bad.status_code == 200
    assert "callback_phone" in bad.context["form"].errors
    session.refresh_from_db()
    assert session.location_confirmed_at is None

    good = client.post(response["Location"], {"region": hanoi.pk, "address": "Hoan Kiem",
                                              "callback_phone": "+84 24 3825 1234"})
    assert good.status_code == 302 and good["Location"] == room_url(session)
    session.refresh_from_db()
    assert (session.location_region, session.location_address, session.callback_phone) == (
        hanoi, "Hoan Kiem", "+84 24 3825 1234")
    assert client.get(room_url(session)).status_code == 200


def test_clinicians_cannot_use_the_pre_call_form(visit):
    session, _, clinician = visit
    assert client_for(clinician).get(f"{room_url(session)}check/").status_code == 403


@pytest.mark.parametrize(("offset", "reason"), [
    (timedelta(minutes=20), "not_yet"), (timedelta(hours=-3), "closed")])
def test_outside_the_window_the_room_explains_and_creates_nothing(offset, reason):
    appointment = make_appointment(starts_at=timezone.now() + offset)
    response = client_for(appointment.patient).get(f"/visits/{appointment.pk}/")
    assert response.status_code == 200
    assert response.context["reason"] == reason
    assert VideoSession.objects.count() == 0


def test_cancelled_and_ended_visits(visit):
    session, patient, clinician = visit
    session.state = VideoSession.State.ENDED
    session.ended_at = timezone.now()
    session.save()
    assert client_for(patient).get(room_url(session)).context["reason"] == "ended"
    cancelled = make_appointment(status=Appointment.Status.CANCELLED)
    response = client_for(cancelled.patient).get(f"/visits/{cancelled.pk}/")
    assert response.context["reason"] == "cancelled"


def test_admit_and_end_by_the_treating_clinician(visit):
    session, patient, clinician = visit
    assert client_for(patient).post(f"{room_url(session)}admit/").status_code == 403
    response = client_for(clinician).post(f"{room_url(session)}admit/")
    assert response.status_code == 302 and response["Location"] == room_url(session)
    session.refresh_from_db()
    assert session.state == VideoSession.State.LIVE

    assert client_for(patient).post(f"{room_url(session)}end/").status_code == 403
    response = client_for(clinician).post(f"{room_url(session)}end/")
    assert response.status_code == 302 and response["Location"] == "/"
    session.refresh_from_db()
    assert session.state == VideoSession.State.ENDED
    assert Appointment.objects.get(pk=session.appointment_id).status == "completed"


def test_admitting_a_patient_where_the_clinician_is_not_licensed_needs_acknowledgement():
    saigon, hanoi = make_region("VN-SG"), make_region("VN-HN")
    clinician = make_clinician(regions=[saigon])
    session = make_video_session(appointment=make_appointment(clinician=clinician, region=saigon),
                                 state=VideoSession.State.WAITING, location_region=hanoi)
    page = client_for(clinician).get(room_url(session))
    assert page.context["license_warning"] is True
    assert b'id="license-warning"' in page.content

    client_for(clinician).post(f"{room_url(session)}admit/")
    session.refresh_from_db()
    assert session.state == VideoSession.State.WAITING

    client_for(clinician).post(f"{room_url(session)}admit/", {"acknowledge_license": "on"})
    session.refresh_from_db()
    assert session.state == VideoSession.State.LIVE


def test_short_message_to_the_waiting_patient(visit):
    session, patient, clinician = visit
    response = client_for(clinician).post(f"{room_url(session)}message/",
                                          {"text": "Running 5 minutes late"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.waiting_message == "Running 5 minutes late"
    page = client_for(patient).get(room_url(session))
    assert b"Running 5 minutes late" in page.content
    client_for(clinician).post(f"{room_url(session)}message/", {"text": "x" * 201})
    session.refresh_from_db()
    assert session.waiting_message == "Running 5 minutes late"


def test_turn_credentials_only_for_the_participants(visit, settings):
    settings.TELEPSYCH_TURN_URLS = ["turn:turn.example.org:3478"]
    settings.TELEPSYCH_TURN_SECRET = "s3cret"
    session, patient, clinician = visit
    for user in (patient, clinician):
        config = client_for(user).get(room_url(session)).context["config"]
        (turn,) = config["iceServers"]
        assert turn["username"].endswith(f":{user.pk}")
    outsider = client_for(make_patient()).get(room_url(session))
    assert outsider.status_code == 404
    assert b"turn:turn.example.org" not in outsider.content


def test_clinician_home_lists_every_waiting_patient_and_nobody_elses(visit):
    session, patient, clinician = visit
    second = make_video_session(
        appointment=make_appointment(
            clinician=clinician, region=session.appointment.region,
            starts_at=session.appointment.ends_at),
        state=VideoSession.State.WAITING)
    make_video_session(state=VideoSession.State.WAITING)  # another clinician's patient
    response = client_for(clinician).get("/")
    waiting = response.context["waiting_patients"]
    assert [w.session_id for w in waiting] == [session.pk, second.pk]
    assert b'id="waiting-items"' in response.content
    assert f'data-session="{session.pk}"'.encode() in response.content


def test_config_is_valid_json_in_the_page(visit):
    session, patient, _ = visit
    content = client_for(patient).get(room_url(session)).content.decode()
    start = content.index('<script id="call-config" type="application/json">') + len(
        '<script id="call-config" type="application/json">')
    config = json.loads(content[start:content.index("</script>", start)])
    assert config["sessionId"] == str(session.pk)
