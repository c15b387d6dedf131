"""The call socket and the notify sockets, through Channels' WebsocketCommunicator."""

import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from accounts.models import User
from scheduling.models import Appointment
from sessions import consumers
from sessions.models import SessionEvent, VideoSession
from sessions.routing import websocket_urlpatterns
from tests.factories import make_clinician, make_patient, make_region, make_staff
from tests.sessions.factories import make_appointment, make_video_session

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ROUTER = URLRouter(websocket_urlpatterns)
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n", "pc": "pcA1"}


def communicator(path: str, user=None) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(ROUTER, path)
    if user is not None:
        comm.scope["user"] = user
    return comm


async def expect_closed_with(comm: WebsocketCommunicator, code: int) -> None:
    connected, _ = await comm.connect()
    assert connected is True  # accepted, then closed at once so the browser sees the code
    message = await comm.receive_output(timeout=3)
    assert message == {"type": "websocket.close", "code": code}
    await comm.wait()


async def joined(session: VideoSession, user) -> WebsocketCommunicator:
    comm = communicator(f"/ws/sessions/{session.pk}/", user)
    connected, _ = await comm.connect()
    assert connected
    hello = await comm.receive_json_from(timeout=3)
    assert hello["type"] == "session"
    return comm


async def next_signal(comm: WebsocketCommunicator) -> dict:
    """The next frame that is not a presence note ("peer" frames may arrive late through
    Redis pub/sub: a peer's own announcement published before the other subscribed)."""
    while True:
        frame = await comm.receive_json_from(timeout=3)
        if frame["type"] != "peer":
            return frame


async def drain(comm: WebsocketCommunicator) -> list[dict]:
    frames = []
    while not await comm.receive_nothing(timeout=0.2):
        frames.append(await comm.receive_json_from())
    return frames


@pytest.fixture(autouse=True)
def no_sockets_left_behind():
    yield
    assert dict(consumers._LOCAL_ROOMS) == {}


@pytest.fixture
def room(db):
    region = make_region("VN-SG")
    patient = make_patient(region=region)
    clinician = make_clinician(regions=[region])
    appointment = make_appointment(patient=patient, clinician=clinician, region=region)
    session = make_video_session(appointment=appointment, state=VideoSession.State.LIVE)
    return session, patient, clinician


# --- who may connect -------------------------------------------------------------------------

async def test_anonymous_is_closed_with_4401(room):
    session, _, _ = room
    from django.contrib.auth.models import AnonymousUser

    await expect_closed_with(communicator(f"/ws/sessions/{session.pk}/", AnonymousUser()), 4401)


@pytest.mark.parametrize("who", ["other_patient", "other_clinician", "clinic_admin"])
async def test_non_participants_are_closed_with_4403(room, who):
    session, _, _ = room
    region = await sync_to_async(make_region)("VN-SG")
    make = {
        "other_patient": lambda: make_patient(region=region),
        "other_clinician": lambda: make_clinician(regions=[region]),
        "clinic_admin": lambda: make_staff(role=User.Role.CLINIC_ADMIN),
    }[who]
    intruder = await sync_to_async(make)()
    await expect_closed_with(communicator(f"/ws/sessions/{session.pk}/", intruder), 4403)
    assert await SessionEvent.objects.filter(user=intruder).acount() == 0


@pytest.mark.parametrize(("start_offset", "label"), [
    (timedelta(minutes=16), "before the window"),
    (timedelta(minutes=-(45 + 31)), "after the window"),
])
async def test_right_patient_outside_the_window_is_closed_with_4403(start_offset, label):
    def build():
        appointment = make_appointment(starts_at=timezone.now() + start_offset)
        return make_video_session(appointment=appointment), appointment.patient

    session, patient = await sync_to_async(build)()
    await expect_closed_with(communicator(f"/ws/sessions/{session.pk}/", patient), 4403)
    assert await SessionEvent.objects.filter(session=session).acount() == 0, label


async def test_window_edges_are_inside():
    def build():
        appointment = make_appointment(starts_at=timezone.now() + timedelta(minutes=14, seconds=50))
        return make_video_session(appointment=appointment), appointment.patient

    session, patient = await sync_to_async(build)()
    comm = await joined(session, patient)
    await comm.disconnect()


async def test_patient_without_confirmed_location_is_closed_with_4403():
    def build():
        session = make_video_session(confirmed=False)
        return session, session.appointment.patient

    session, patient = await sync_to_async(build)()
    await expect_closed_with(communicator(f"/ws/sessions/{session.pk}/", patient), 4403)


async def test_clinician_without_mfa_is_closed_with_4403():
    def build():
        region = make_region("VN-SG")
        clinician = make_clinician(regions=[region], mfa=False)
        return make_video_session(appointment=make_appointment(clinician=clinician)), clinician

    session, clinician = await sync_to_async(build)()
    await expect_closed_with(communicator(f"/ws/sessions/{session.pk}/", clinician), 4403)


@pytest.mark.parametrize("case", ["ended", "cancelled", "unknown_session"])
async def test_ended_cancelled_or_unknown_sessions_are_closed_with_4403(case):
    def build():
        if case == "ended":
            session = make_video_session(state=VideoSession.State.ENDED)
            return f"/ws/sessions/{session.pk}/", session.appointment.patient
        if case == "cancelled":
            session = make_video_session(
                appointment=make_appointment(status=Appointment.Status.CANCELLED))
            return f"/ws/sessions/{session.pk}/", session.appointment.patient
        return "/ws/sessions/00000000-0000-0000-0000-000000000000/", make_patient()

    path, user = await sync_to_async(build)()
    await expect_closed_with(communicator(path, user), 4403)


# --- waiting room --------------------------------------------------------------------------

async def test_patient_arriving_waits_and_the_clinician_is_notified():
    def build():
        session = make_video_session(state=VideoSession.State.SCHEDULED)
        return session, session.appointment.patient, session.appointment.clinician

    session, patient, clinician = await sync_to_async(build)()
    notify = communicator("/ws/clinician/", clinician)
    assert (await notify.connect())[0]

    comm = communicator(f"/ws/sessions/{session.pk}/", patient)
    assert (await comm.connect())[0]
    assert await comm.receive_json_from(timeout=3) == {
        "type": "session", "state": "waiting", "role": "patient"}
    event = await notify.receive_json_from(timeout=3)
    assert event["kind"] == "waiting.patient_arrived"
    assert event["session_id"] == str(session.pk)
    assert event["appointment_id"] == session.appointment_id
    assert event["patient_name"] == patient.get_full_name()
    assert event["region_name"] == "Ho Chi Minh City"
    assert event["licensed_there"] is True
    assert event["admit_url"] == f"/visits/{session.appointment_id}/admit/"
    await session.arefresh_from_db()
    assert session.state == VideoSession.State.WAITING

    # Signaling before admission is refused, and the socket stays usable.
    await comm.send_json_to(OFFER)
    assert await comm.receive_json_from(timeout=3) == {
        "type": "error", "code": "not_live",
        "detail": "The call has not started: wait to be admitted."}

    await comm.disconnect()
    left = await notify.receive_json_from(timeout=3)
    assert left == {"kind": "waiting.patient_left", "session_id": str(session.pk),
                    "appointment_id": session.appointment_id, "reason": "left"}
    await session.arefresh_from_db()
    assert session.state == VideoSession.State.SCHEDULED
    kinds = [e.kind async for e in SessionEvent.objects.filter(session=session)]
    assert kinds == ["joined", "left"]
    await notify.disconnect()


async def test_admission_reaches_the_waiting_patient_without_a_reload():
    def build():
        session = make_video_session(state=VideoSession.State.SCHEDULED)
        return session, session.appointment.patient, session.appointment.clinician

    session, patient, clinician = await sync_to_async(build)()
    comm = await joined(session, patient)
    from sessions.services import video_session_admit

    await sync_to_async(video_session_admit)(session_id=session.pk, clinician=clinician)
    assert await comm.receive_json_from(timeout=3) == {
        "type": "session", "state": "live", "role": "patient"}
    await comm.send_json_to(OFFER)  # now allowed: nobody else is here, so nothing comes back
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


# --- relay ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fast_path", [True, False], ids=["same-process", "channel-layer"])
async def test_frames_are_relayed_between_the_two_participants(room, settings, fast_path):
    settings.TELEPSYCH_SIGNAL_FAST_PATH = fast_path
    session, patient, clinician = room
    clinician_comm = await joined(session, clinician)
    patient_comm = await joined(session, patient)
    assert await clinician_comm.receive_json_from(timeout=3) == {
        "type": "peer", "status": "joined", "role": "patient"}

    await patient_comm.send_json_to(OFFER)
    assert await next_signal(clinician_comm) == OFFER
    answer = {"type": "answer", "sdp": "v=0\r\nanswer\r\n", "pc": "pcB1"}
    await clinician_comm.send_json_to(answer)
    assert await next_signal(patient_comm) == answer
    ice = {"type": "ice", "pc": "pcA1", "candidate": {
        "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"}}
    await patient_comm.send_json_to(ice)
    assert await next_signal(clinician_comm) == ice
    await patient_comm.send_json_to({"type": "ice", "pc": "pcA1", "candidate": None})
    assert await next_signal(clinician_comm) == {
        "type": "ice", "pc": "pcA1", "candidate": None}
    await clinician_comm.send_json_to({"type": "state", "pc": "pcB1", "audio_only": True})
    assert await next_signal(patient_comm) == {
        "type": "state", "pc": "pcB1", "audio_only": True, "muted": False, "camera_off": False}
    await patient_comm.send_json_to({"type": "bye", "pc": "pcA1"})
    assert await next_signal(clinician_comm) == {"type": "bye", "pc": "pcA1"}
    # The sender never hears its own frames (the clinician's own "peer joined", published
    # before the patient arrived, may still come back through Redis pub/sub: that is fine).
    assert [f for f in await drain(patient_comm) if f["type"] != "peer"] == []
    audio_only = await SessionEvent.objects.filter(
        session=session, user=clinician, kind="audio_only").acount()
    assert audio_only == 1

    await patient_comm.disconnect()
    assert await clinician_comm.receive_json_from(timeout=3) == {
        "type": "peer", "status": "left", "role": "patient"}
    await clinician_comm.disconnect()


async def test_ending_the_visit_tells_both_and_closes_their_sockets(room):
    session, patient, clinician = room
    clinician_comm = await joined(session, clinician)
    patient_comm = await joined(session, patient)
    await drain(clinician_comm)
    from sessions.services import video_session_end

    await sync_to_async(video_session_end)(session_id=session.pk, clinician=clinician)
    for comm, role in ((patient_comm, "patient"), (clinician_comm, "clinician")):
        frames = []
        while True:
            output = await comm.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                assert output["code"] == 4000
                break
            frames.append(json.loads(output["text"]))
        assert {"type": "session", "state": "ended", "role": role} in frames
        await comm.disconnect()
    appointment = await Appointment.objects.aget(pk=session.appointment_id)
    assert appointment.status == Appointment.Status.COMPLETED


# --- bad frames ----------------------------------------------------------------------------

BAD_FRAMES = [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_shape"),
    ('{"sdp": "v=0"}', "bad_shape"),
    ('{"type": 5}', "bad_shape"),
    ('{"type": "launch_missiles"}', "unknown_type"),
    ('{"type": "offer", "pc": "pcA1"}', "bad_shape"),
    ('{"type": "offer", "sdp": "hello", "pc": "pcA1"}', "bad_shape"),
    ('{"type": "offer", "sdp": "v=0", "pc": "bad id with spaces"}', "bad_shape"),
    ('{"type": "offer", "sdp": "v=0", "pc": "pcA1", "extra": 1}', "bad_shape"),
    ('{"type": "ice", "pc": "pcA1"}', "bad_shape"),
    ('{"type": "ice", "pc": "pcA1", "candidate": "text"}', "bad_shape"),
    ('{"type": "ice", "pc": "pcA1", "candidate": {"candidate": 1}}', "bad_shape"),
    ('{"type": "ice", "pc": "pcA1", "candidate": {"candidate": "c", "sdpMLineIndex": true}}',
     "bad_shape"),
    ('{"type": "ice", "pc": "pcA1", "candidate": {"candidate": "c", "evil": 1}}', "bad_shape"),
    ('{"type": "state", "pc": "pcA1", "muted": "yes"}', "bad_shape"),
    ('{"type": "bye", "pc": 7}', "bad_shape"),
    (json.dumps({"type": "offer", "pc": "pcA1", "sdp": "v=0" + "a" * 70_000}), "too_large"),
]


async def test_every_kind_of_bad_frame_gets_an_error_and_the_socket_stays_usable(room):
    session, patient, clinician = room
    clinician_comm = await joined(session, clinician)
    patient_comm = await joined(session, patient)
    await drain(clinician_comm)
    for text, code in BAD_FRAMES:
        await patient_comm.send_to(text_data=text)
        error = await next_signal(patient_comm)
        assert error["type"] == "error"
        assert error["code"] == code, text[:80]
        assert isinstance(error["detail"], str) and error["detail"]
    await patient_comm.send_to(bytes_data=b"\x00\x01")
    assert (await next_signal(patient_comm))["code"] == "binary_not_supported"
    # Nothing bad reached the clinician; a good frame still goes through.
    assert await clinician_comm.receive_nothing(timeout=0.2)
    await patient_comm.send_json_to(OFFER)
    assert await next_signal(clinician_comm) == OFFER
    await patient_comm.disconnect()
    await clinician_comm.disconnect()


async def test_a_flood_is_rate_limited_then_closed_without_affecting_other_rooms(room, settings):
    settings.TELEPSYCH_SIGNAL_RATE_PER_SECOND = 5
    settings.TELEPSYCH_SIGNAL_BURST = 10
    settings.TELEPSYCH_SIGNAL_FLOOD_CLOSE_AFTER = 20
    session, patient, clinician = room
    other = await sync_to_async(make_video_session)(state=VideoSession.State.LIVE)
    other_patient = await sync_to_async(lambda: other.appointment.patient)()
    other_clinician = await sync_to_async(lambda: other.appointment.clinician)()
    other_p = await joined(other, other_patient)
    other_c = await joined(other, other_clinician)
    await drain(other_p)

    flooder = await joined(session, patient)
    for _ in range(60):
        await flooder.send_json_to({"type": "bye", "pc": "pcA1"})
    outputs = []
    while True:
        output = await flooder.receive_output(timeout=3)
        outputs.append(output)
        if output["type"] == "websocket.close":
            break
    assert outputs[-1] == {"type": "websocket.close", "code": 4429}
    sent = [json.loads(o["text"]) for o in outputs if o["type"] == "websocket.send"]
    errors = [frame for frame in sent if frame["type"] != "peer"]
    assert errors == [{"type": "error", "code": "rate_limited",
                       "detail": "Too many frames; slow down."}]
    await flooder.disconnect()

    await other_p.send_json_to(OFFER)
    assert await next_signal(other_c) == OFFER
    await other_p.disconnect()
    await other_c.disconnect()


# --- through the real ASGI stack: session cookie and origin check ------------------------------

async def test_full_stack_uses_the_session_cookie_and_checks_the_origin(room):
    from telepsych.asgi import application

    session, patient, _ = room
    client = Client()
    await sync_to_async(client.force_login)(patient)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    path = f"/ws/sessions/{session.pk}/"

    good = WebsocketCommunicator(application, path,
                                 headers=[(b"cookie", cookie), (b"origin", b"http://testserver")])
    assert (await good.connect())[0]
    assert (await good.receive_json_from(timeout=3))["role"] == "patient"
    await good.disconnect()

    evil = WebsocketCommunicator(application, path,
                                 headers=[(b"cookie", cookie), (b"origin", b"http://evil.test")])
    connected, _ = await evil.connect()
    assert connected is False

    anonymous = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://testserver")])
    await expect_closed_with(anonymous, 4401)


# --- the notify sockets ----------------------------------------------------------------------

async def test_notify_socket_authorization():
    from django.contrib.auth.models import AnonymousUser

    def build():
        return (make_patient(), make_clinician(), make_clinician(mfa=False),
                make_staff(role=User.Role.CLINIC_ADMIN))

    patient, clinician, no_mfa, admin = await sync_to_async(build)()
    await expect_closed_with(communicator("/ws/clinician/", AnonymousUser()), 4401)
    await expect_closed_with(communicator("/ws/patient/", AnonymousUser()), 4401)
    await expect_closed_with(communicator("/ws/clinician/", patient), 4403)
    await expect_closed_with(communicator("/ws/clinician/", no_mfa), 4403)
    await expect_closed_with(communicator("/ws/patient/", clinician), 4403)
    for path, user in (("/ws/clinician/", clinician), ("/ws/clinician/", admin),
                       ("/ws/patient/", patient)):
        comm = communicator(path, user)
        assert (await comm.connect())[0]
        assert await comm.receive_nothing(timeout=0.1)
        await comm.disconnect()


async def test_notify_socket_forwards_events_for_its_person_only():
    from channels.layers import get_channel_layer

    from telepsych.common.groups import patient_group

    patient, other = await sync_to_async(lambda: (make_patient(), make_patient()))()
    mine = communicator("/ws/patient/", patient)
    theirs = communicator("/ws/patient/", other)
    assert (await mine.connect())[0] and (await theirs.connect())[0]
    event = {"kind": "waiting.message", "text": "Running 5 minutes late", "session_id": "x"}
    await get_channel_layer().group_send(patient_group(patient.pk),
                                         {"type": "notify.event", "event": event})
    assert await mine.receive_json_from(timeout=3) == event
    assert await theirs.receive_nothing(timeout=0.2)
    await mine.send_to(text_data="hello")
    assert (await mine.receive_json_from(timeout=3))["code"] == "read_only"
    await mine.disconnect()
    await theirs.disconnect()




async def test_a_second_page_of_the_same_person_takes_over_the_call(room):
    session, patient, clinician = room
    clinician_comm = await joined(session, clinician)
    first_tab = await joined(session, patient)
    second_tab = await joined(session, patient)
    while True:
        output = await first_tab.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            assert output["code"] == 4409
            break
    await first_tab.disconnect()
    await second_tab.send_json_to(OFFER)
    assert await next_signal(clinician_comm) == OFFER
    answer = {"type": "answer", "sdp": "v=0\r\n", "pc": "pcB1"}
    await clinician_comm.send_json_to(answer)
    assert await next_signal(second_tab) == answer
    # The clinician was never told the patient left: the patient did not.
    frames = await drain(clinician_comm)
    assert {"type": "peer", "status": "left", "role": "patient"} not in frames
    await second_tab.disconnect()
    await clinician_comm.disconnect()
