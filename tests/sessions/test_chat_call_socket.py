"""In-call chat on the call socket (/ws/sessions/<uuid>/): the same thread as the messages page,
the same frames, store first, replay; the call socket's own checks keep outsiders out."""

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from sessions import consumers
from sessions.chat_models import Message, Thread
from sessions.chat_selectors import messages_after
from sessions.chat_services import message_send, thread_get_or_create
from sessions.models import VideoSession
from sessions.routing import websocket_urlpatterns
from tests.sessions.factories import make_video_session

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ROUTER = URLRouter(websocket_urlpatterns)


async def on_call(session: VideoSession, user, *, chat: bool = True) -> WebsocketCommunicator:
    """A call page's socket. Like chat.js, it opens the chat with a `chat.sync` (the call socket
    joins the thread's group on its first chat frame)."""
    comm = WebsocketCommunicator(ROUTER, f"/ws/sessions/{session.pk}/")
    comm.scope["user"] = user
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=3))["type"] == "session"
    if chat:
        await comm.send_json_to({"type": "chat.sync", "after": 0})
        assert (await next_of(comm, "chat.history"))["type"] == "chat.history"
    return comm


async def next_of(comm, kind: str) -> dict:
    while True:
        frame = await comm.receive_json_from(timeout=3)
        if frame["type"] == kind:
            return frame


@pytest.fixture
def call(db):
    session = make_video_session(state=VideoSession.State.LIVE)
    return session, session.appointment.patient, session.appointment.clinician


@pytest.fixture(autouse=True)
def no_sockets_left_behind():
    yield
    assert dict(consumers._LOCAL_ROOMS) == {}


async def test_chat_both_ways_during_a_call_lands_in_the_messages_thread(call):
    session, patient, clinician = call
    lan = await on_call(session, patient)
    doctor = await on_call(session, clinician)
    await lan.send_json_to({"type": "chat.send", "client_id": "call-p-0001",
                            "body": "Your sound cut out; here is the link https://example.test"})
    ack = await next_of(lan, "chat.ack")
    assert (ack["seq"], ack["duplicate"]) == (1, False)
    got = await next_of(doctor, "chat.message")
    assert (got["message"]["sender"], got["message"]["body"]) == (
        "patient", "Your sound cut out; here is the link https://example.test")
    await doctor.send_json_to({"type": "chat.send", "client_id": "call-c-0001", "body": "Got it"})
    assert (await next_of(doctor, "chat.ack"))["seq"] == 2
    reply = await next_of(lan, "chat.message")
    while reply["message"]["seq"] != 2:
        reply = await next_of(lan, "chat.message")
    assert reply["message"]["body"] == "Got it"
    # A resend after a dropped ack: acknowledged again, stored once.
    await lan.send_json_to({"type": "chat.send", "client_id": "call-p-0001",
                            "body": "Your sound cut out; here is the link https://example.test"})
    assert (await next_of(lan, "chat.ack"))["duplicate"] is True
    await lan.disconnect()
    await doctor.disconnect()

    def stored():
        thread = Thread.objects.get(patient=patient, clinician=clinician)
        return [(m.seq, m.sender_role, m.body) for m in messages_after(thread=thread, after_seq=0)]

    assert await sync_to_async(stored)() == [
        (1, "patient", "Your sound cut out; here is the link https://example.test"),
        (2, "clinician", "Got it")]


async def test_call_socket_replays_the_thread_history(call):
    session, patient, clinician = call

    def earlier():
        thread = thread_get_or_create(patient=patient, clinician=clinician)
        message_send(thread=thread, sender=clinician, client_id="before-001", body="See you at 9")

    await sync_to_async(earlier)()
    lan = await on_call(session, patient, chat=False)
    await lan.send_json_to({"type": "chat.sync", "after": 0})
    history = await next_of(lan, "chat.history")
    assert [(m["seq"], m["body"]) for m in history["messages"]] == [(1, "See you at 9")]
    await lan.send_json_to({"type": "chat.send", "client_id": "x", "body": "hi"})
    error = await next_of(lan, "error")
    assert error["code"] == "bad_client_id"
    await lan.disconnect()
    assert await sync_to_async(Message.objects.count)() == 1


async def test_an_outsider_on_another_call_never_sees_this_chat(call):
    session, patient, clinician = call
    other = await sync_to_async(make_video_session)(state=VideoSession.State.LIVE)
    other_patient = await sync_to_async(lambda: other.appointment.patient)()
    lan = await on_call(session, patient)
    stranger = await on_call(other, other_patient)
    await lan.send_json_to({"type": "chat.send", "client_id": "private-01", "body": "private"})
    await next_of(lan, "chat.ack")
    frames = []
    while not await stranger.receive_nothing(timeout=0.3):
        frames.append(await stranger.receive_json_from())
    assert [f for f in frames if f["type"].startswith("chat.")] == []
    await lan.disconnect()
    await stranger.disconnect()
