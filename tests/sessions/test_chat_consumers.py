"""The messaging socket through Channels' WebsocketCommunicator: authorization matrix, delivery
with acks and sequence numbers, resend dedup, replay, receipts, typing, bad frames, limits."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from crisis.models import CrisisEvent
from records.models import AuditEvent
from sessions.chat_models import MESSAGE_MAX_CHARS, Message
from sessions.chat_services import message_send
from sessions.routing import websocket_urlpatterns
from tests.factories import make_staff
from tests.sessions.chat_factories import ensure_risk_rules, make_cast

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ROUTER = URLRouter(websocket_urlpatterns)


def path_of(thread) -> str:
    return f"/ws/messages/{thread.pk}/"


async def opened(thread, user) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(ROUTER, path_of(thread))
    comm.scope["user"] = user
    comm.scope["client"] = ("10.1.2.3", 5555)
    connected, _ = await comm.connect()
    assert connected
    ready = await comm.receive_json_from(timeout=3)
    assert ready["type"] == "chat.ready"
    return comm


async def closed_with(thread, user, code: int) -> None:
    comm = WebsocketCommunicator(ROUTER, path_of(thread))
    if user is not None:
        comm.scope["user"] = user
    connected, _ = await comm.connect()
    assert connected is True  # accepted, then closed at once so the browser learns why
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": code}
    await comm.wait()


async def next_of(comm, kind: str) -> dict:
    while True:
        frame = await comm.receive_json_from(timeout=3)
        if frame["type"] == kind:
            return frame


@pytest.fixture
def cast(db):
    return make_cast()


async def test_matrix_anonymous_outsiders_and_staff_without_mfa(cast):
    from django.contrib.auth.models import AnonymousUser

    await closed_with(cast.thread, None, 4401)
    await closed_with(cast.thread, AnonymousUser(), 4401)
    for outsider in (cast.other_patient, cast.other_clinician, cast.admin):
        await closed_with(cast.thread, outsider, 4403)
    no_mfa = await sync_to_async(make_staff)(role="clinician", mfa=False)
    await closed_with(cast.thread, no_mfa, 4403)
    # The thread's own clinician without MFA is refused too.
    from allauth.mfa.models import Authenticator

    await sync_to_async(Authenticator.objects.filter(user=cast.clinician).delete)()
    await closed_with(cast.thread, cast.clinician, 4403)
    assert await sync_to_async(Message.objects.count)() == 0
    assert not await sync_to_async(
        AuditEvent.objects.filter(object_type="message_thread").exists)()


async def test_send_ack_broadcast_and_audit(cast):
    patient = await opened(cast.thread, cast.patient)
    clinician = await opened(cast.thread, cast.clinician)
    await patient.send_json_to({"type": "chat.send", "client_id": "p-0000001",
                                "body": "Hello <b>doctor</b>"})
    ack = await next_of(patient, "chat.ack")
    assert ack == {"type": "chat.ack", "thread_id": cast.thread.pk, "client_id": "p-0000001",
                   "seq": 1, "duplicate": False}
    delivered = await next_of(clinician, "chat.message")
    message = delivered["message"]
    assert (message["seq"], message["client_id"], message["sender"], message["body"]) == (
        1, "p-0000001", "patient", "Hello <b>doctor</b>")
    await clinician.send_json_to({"type": "chat.send", "client_id": "c-0000001", "body": "Hi"})
    assert (await next_of(clinician, "chat.ack"))["seq"] == 2
    own = await next_of(patient, "chat.message")  # the sender sees its own message too
    assert own["message"]["seq"] == 1
    assert (await next_of(patient, "chat.message"))["message"]["body"] == "Hi"
    audits = await sync_to_async(list)(
        AuditEvent.objects.filter(object_type="message_thread").values_list("actor_id", "ip"))
    assert sorted(audits) == sorted([(cast.patient.pk, "10.1.2.3"), (cast.clinician.pk, "10.1.2.3")])
    await patient.disconnect()
    await clinician.disconnect()


async def test_resend_is_acked_without_a_second_message(cast):
    patient = await opened(cast.thread, cast.patient)
    frame = {"type": "chat.send", "client_id": "resend-0001", "body": "once"}
    await patient.send_json_to(frame)
    first = await next_of(patient, "chat.ack")
    await patient.disconnect()
    again = await opened(cast.thread, cast.patient)
    await again.send_json_to(frame)
    second = await next_of(again, "chat.ack")
    assert (first["seq"], first["duplicate"]) == (1, False)
    assert (second["seq"], second["duplicate"]) == (1, True)
    assert await sync_to_async(Message.objects.count)() == 1
    await again.disconnect()


async def test_sync_replays_everything_after_the_last_seen(cast):
    def seed():
        with override_settings(TELEPSYCH_CHAT_RATE_LIMIT=1000):
            for i in range(1, 206):
                user = cast.clinician if i % 2 else cast.patient
                message_send(thread=cast.thread, sender=user, client_id=f"seed-{i:05d}",
                             body=f"message {i}")

    await sync_to_async(seed)()
    patient = await opened(cast.thread, cast.patient)
    await patient.send_json_to({"type": "chat.sync", "after": 0})
    page = await next_of(patient, "chat.history")
    assert [m["seq"] for m in page["messages"]] == list(range(1, 201))
    assert (page["more"], page["last_seq"]) == (True, 205)
    await patient.send_json_to({"type": "chat.sync", "after": 200})
    rest = await next_of(patient, "chat.history")
    assert [(m["seq"], m["body"]) for m in rest["messages"]] == [
        (i, f"message {i}") for i in range(201, 206)]
    assert rest["more"] is False
    assert rest["read"] == {"patient": 204, "clinician": 205}
    await patient.disconnect()


async def test_read_receipt_and_typing_reach_the_other_side(cast):
    patient = await opened(cast.thread, cast.patient)
    clinician = await opened(cast.thread, cast.clinician)
    await clinician.send_json_to({"type": "chat.send", "client_id": "c-read-001", "body": "x"})
    await next_of(patient, "chat.message")
    await patient.send_json_to({"type": "chat.read", "seq": 1})
    receipt = await next_of(clinician, "chat.receipt")
    assert receipt == {"type": "chat.receipt", "thread_id": cast.thread.pk, "reader": "patient",
                       "seq": 1}
    await patient.send_json_to({"type": "chat.typing"})
    typing = await next_of(clinician, "chat.typing")
    assert typing == {"type": "chat.typing", "thread_id": cast.thread.pk, "who": "patient"}
    # The typist does not get their own hint back.
    seen = []
    while not await patient.receive_nothing(timeout=0.3):
        seen.append((await patient.receive_json_from())["type"])
    assert "chat.typing" not in seen
    await patient.disconnect()
    await clinician.disconnect()


BAD_FRAMES = [
    ("not json", "bad_json"),
    (json.dumps([1, 2]), "bad_shape"),
    (json.dumps({"type": "nope"}), "unknown_type"),
    (json.dumps({"type": "chat.send", "client_id": "short", "body": "x"}), "bad_client_id"),
    (json.dumps({"type": "chat.send", "client_id": "valid-id-1", "body": 5}), "bad_shape"),
    (json.dumps({"type": "chat.send", "client_id": "valid-id-1", "body": "x", "extra": 1}),
     "bad_shape"),
    (json.dumps({"type": "chat.sync", "after": -1}), "bad_shape"),
    (json.dumps({"type": "chat.sync", "after": True}), "bad_shape"),
    (json.dumps({"type": "chat.read", "seq": "3"}), "bad_shape"),
    (json.dumps({"type": "chat.send", "client_id": "valid-id-2",
                 "body": "z" * (MESSAGE_MAX_CHARS + 1)}), "too_long"),
    (json.dumps({"type": "chat.send", "client_id": "valid-id-3", "body": "  "}), "empty"),
    ("x" * (65 * 1024), "too_large"),
]


async def test_bad_frames_get_error_frames_and_store_nothing(cast):
    patient = await opened(cast.thread, cast.patient)
    for text, code in BAD_FRAMES:
        await patient.send_to(text_data=text)
        error = await next_of(patient, "error")
        assert error["code"] == code, text[:80]
    await patient.send_to(bytes_data=b"\x00\x01")
    assert (await next_of(patient, "error"))["code"] == "binary_not_supported"
    assert await sync_to_async(Message.objects.count)() == 0
    # Still open and working after all that.
    await patient.send_json_to({"type": "chat.send", "client_id": "after-bad", "body": "ok"})
    assert (await next_of(patient, "chat.ack"))["seq"] == 1
    await patient.disconnect()


async def test_rate_limit_error_frame(cast):
    with override_settings(TELEPSYCH_CHAT_RATE_LIMIT=3, TELEPSYCH_CHAT_RATE_WINDOW_SECONDS=60):
        patient = await opened(cast.thread, cast.patient)
        for i in range(3):
            await patient.send_json_to({"type": "chat.send", "client_id": f"rl-{i:06d}",
                                        "body": f"{i}"})
            assert (await next_of(patient, "chat.ack"))["seq"] == i + 1
        await patient.send_json_to({"type": "chat.send", "client_id": "rl-000003", "body": "3"})
        error = await next_of(patient, "error")
        assert (error["code"], error["client_id"]) == ("rate_limited", "rl-000003")
        await patient.disconnect()
    assert await sync_to_async(Message.objects.count)() == 3


async def test_patient_risk_message_raises_crisis_event(cast):
    await sync_to_async(ensure_risk_rules)()
    patient = await opened(cast.thread, cast.patient)
    await patient.send_json_to({"type": "chat.send", "client_id": "risk-00001",
                                "body": "I think about suicide every day"})
    assert (await next_of(patient, "chat.ack"))["seq"] == 1
    event = await sync_to_async(CrisisEvent.objects.get)(patient=cast.patient)
    assert event.source == "chat"
    await patient.disconnect()


async def test_unread_count_reaches_the_notify_socket(cast):
    notify = WebsocketCommunicator(ROUTER, "/ws/patient/")
    notify.scope["user"] = cast.patient
    assert (await notify.connect())[0]
    clinician = await opened(cast.thread, cast.clinician)
    for i in range(2):
        await clinician.send_json_to({"type": "chat.send", "client_id": f"unread-{i:04d}",
                                      "body": f"note {i}"})
        await next_of(clinician, "chat.ack")
    first = await notify.receive_json_from(timeout=3)
    second = await notify.receive_json_from(timeout=3)
    assert [first, second] == [
        {"kind": "chat.unread", "thread_id": cast.thread.pk, "unread": 1},
        {"kind": "chat.unread", "thread_id": cast.thread.pk, "unread": 2}]
    patient = await opened(cast.thread, cast.patient)
    await patient.send_json_to({"type": "chat.read", "seq": 2})
    assert await notify.receive_json_from(timeout=3) == {
        "kind": "chat.unread", "thread_id": cast.thread.pk, "unread": 0}
    for comm in (notify, clinician, patient):
        await comm.disconnect()


async def test_a_flood_of_frames_is_refused_then_closed(cast):
    with override_settings(TELEPSYCH_SIGNAL_RATE_PER_SECOND=1, TELEPSYCH_SIGNAL_BURST=3,
                           TELEPSYCH_SIGNAL_FLOOD_CLOSE_AFTER=5):
        patient = await opened(cast.thread, cast.patient)
        for _ in range(3):
            await patient.send_json_to({"type": "chat.sync", "after": 0})
            await next_of(patient, "chat.history")
        for _ in range(5):
            await patient.send_json_to({"type": "chat.sync", "after": 0})
        assert (await next_of(patient, "error"))["code"] == "rate_limited"
        assert await patient.receive_output(timeout=3) == {"type": "websocket.close",
                                                           "code": 4429}
