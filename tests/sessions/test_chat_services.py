"""Messaging services: sequence, dedup, encryption at rest, limits, crisis hook, read markers,
unread counts and the unread-message email."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from crisis.models import CrisisEvent
from records.models import AuditEvent
from sessions.chat_models import MESSAGE_MAX_CHARS, Message, Thread
from sessions.chat_selectors import (
    ThreadNotFound,
    messages_after,
    thread_get_for_user,
    thread_summaries_for,
    unread_count_for,
)
from sessions.chat_services import (
    ChatError,
    message_send,
    thread_get_or_create,
    thread_mark_read,
    thread_open_with,
    unread_emails_send_due,
)
from sessions.chat_tasks import chat_unread_emails
from tests.factories import make_clinician, make_patient, make_region
from tests.sessions.chat_factories import ensure_risk_rules, make_care, make_cast, make_thread

pytestmark = pytest.mark.django_db


def send(thread, user, body, client_id=None, n=[0]):  # noqa: B006 - a counter across calls
    n[0] += 1
    return message_send(thread=thread, sender=user, client_id=client_id or f"client-{n[0]:06d}",
                        body=body)


def test_messages_get_consecutive_sequences_and_decrypt():
    thread = make_thread()
    first = send(thread, thread.patient, "Hello doctor")
    second = send(thread, thread.clinician, "Hello, how are you?")
    third = send(thread, thread.patient, "Better, thanks")
    assert [first.message.seq, second.message.seq, third.message.seq] == [1, 2, 3]
    assert [r.duplicate for r in (first, second, third)] == [False, False, False]
    views = messages_after(thread=thread, after_seq=1)
    assert [(v.seq, v.sender_role, v.body) for v in views] == [
        (2, "clinician", "Hello, how are you?"), (3, "patient", "Better, thanks")]
    thread.refresh_from_db()
    assert thread.last_seq == 3
    # The sender has read their own message.
    assert thread.patient_read_seq == 3
    assert thread.clinician_read_seq == 2


def test_resend_with_same_client_id_returns_the_stored_message():
    thread = make_thread()
    first = message_send(thread=thread, sender=thread.patient, client_id="abc12345", body="Once")
    again = message_send(thread=thread, sender=thread.patient, client_id="abc12345", body="Once")
    assert again.duplicate is True
    assert again.message.seq == first.message.seq == 1
    assert Message.objects.filter(thread=thread).count() == 1
    # The other person may use the same client id: ids are per sender.
    theirs = message_send(thread=thread, sender=thread.clinician, client_id="abc12345", body="Hi")
    assert (theirs.duplicate, theirs.message.seq) == (False, 2)


def test_body_is_encrypted_at_rest():
    thread = make_thread()
    canary = "CANARY-7f3a9 my private words"
    send(thread, thread.patient, canary)
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - a model's own table name
        rows = cursor.fetchall()
    assert len(rows) == 1
    raw = repr(rows)
    assert "CANARY" not in raw and "private" not in raw
    message = Message.objects.get()
    assert set(message.body) == {"v", "kid", "wk", "n", "ct"}
    assert message.decrypt_field("body") == canary


def test_limits_and_bad_input_store_nothing():
    thread = make_thread()
    with pytest.raises(ChatError) as too_long:
        send(thread, thread.patient, "x" * (MESSAGE_MAX_CHARS + 1))
    assert too_long.value.code == "too_long"
    with pytest.raises(ChatError) as empty:
        send(thread, thread.patient, "   \n ")
    assert empty.value.code == "empty"
    with pytest.raises(ChatError) as bad_id:
        send(thread, thread.patient, "hi", client_id="<script>")
    assert bad_id.value.code == "bad_client_id"
    assert send(thread, thread.patient, "x" * MESSAGE_MAX_CHARS).message.seq == 1
    assert Message.objects.count() == 1


def test_outsiders_cannot_post_or_read():
    cast = make_cast()
    for outsider in (cast.other_patient, cast.other_clinician, cast.admin):
        with pytest.raises(ChatError) as denied:
            send(cast.thread, outsider, "let me in")
        assert denied.value.code == "not_allowed"
        with pytest.raises(ThreadNotFound):
            thread_get_for_user(user=outsider, thread_id=cast.thread.pk)
    assert Message.objects.count() == 0
    assert thread_get_for_user(user=cast.patient, thread_id=cast.thread.pk) == cast.thread
    assert thread_get_for_user(user=cast.clinician, thread_id=cast.thread.pk) == cast.thread


def test_thread_needs_a_care_relationship():
    region = make_region("VN-SG")
    patient = make_patient(region=region)
    stranger = make_clinician(regions=[region])
    with pytest.raises(ThreadNotFound):
        thread_get_or_create(patient=patient, clinician=stranger)
    with pytest.raises(ThreadNotFound):
        thread_open_with(user=patient, other_id=stranger.pk)
    cancelled = make_care(patient=patient, clinician=stranger, status="cancelled")
    assert cancelled.status == "cancelled"
    with pytest.raises(ThreadNotFound):
        thread_open_with(user=stranger, other_id=patient.pk)
    assert Thread.objects.count() == 0
    make_care(patient=patient, clinician=stranger)
    thread = thread_open_with(user=stranger, other_id=patient.pk)
    assert thread_open_with(user=patient, other_id=stranger.pk) == thread
    assert Thread.objects.count() == 1


@override_settings(TELEPSYCH_CHAT_RATE_LIMIT=5, TELEPSYCH_CHAT_RATE_WINDOW_SECONDS=60)
def test_rate_limit_per_user():
    thread = make_thread()
    for i in range(5):
        send(thread, thread.patient, f"m{i}", client_id=f"rate-{i:04d}")
    with pytest.raises(ChatError) as limited:
        send(thread, thread.patient, "one too many")
    assert limited.value.code == "rate_limited"
    # A resend of a stored message is not a new message: no limit, no duplicate.
    assert send(thread, thread.patient, "m0", client_id="rate-0000").duplicate is True
    # The other person has their own budget.
    assert send(thread, thread.clinician, "reply").message.seq == 6
    assert Message.objects.count() == 6


def test_patient_risk_phrase_raises_crisis_event_in_the_same_transaction():
    ensure_risk_rules()
    thread = make_thread()
    result = send(thread, thread.patient, "Sometimes I want to kill myself")
    event = CrisisEvent.objects.get(patient=thread.patient)
    assert event.source == "chat"
    assert event.rule is not None and event.rule.pattern == "kill* myself"
    assert "Sometimes" not in event.detail
    assert result.message.seq == 1
    # A clinician's words never raise an event for the patient.
    send(thread, thread.clinician, "Did you think about suicide?")
    assert CrisisEvent.objects.count() == 1


def test_crisis_failure_rolls_back_the_message(monkeypatch):
    """Both commit, or neither: a failing crisis hook leaves no message behind."""
    thread = make_thread()

    def broken(**kwargs):
        raise RuntimeError("crisis store down")

    ensure_risk_rules()
    monkeypatch.setattr("sessions.chat_services.crisis_event_raise", broken)
    with pytest.raises(RuntimeError):
        send(thread, thread.patient, "I want to end my life")
    assert Message.objects.count() == 0
    thread.refresh_from_db()
    assert thread.last_seq == 0


def test_read_markers_and_unread_counts():
    thread = make_thread()
    for text in ("one", "two", "three"):
        send(thread, thread.clinician, text)
    assert unread_count_for(user=thread.patient) == 3
    assert unread_count_for(user=thread.clinician) == 0
    [summary] = thread_summaries_for(user=thread.patient)
    assert (summary.thread_id, summary.unread) == (thread.pk, 3)
    assert thread_mark_read(thread=thread, user=thread.patient, seq=2) == 2
    assert unread_count_for(user=thread.patient) == 1
    # Never backwards, never past the last message.
    assert thread_mark_read(thread=thread, user=thread.patient, seq=1) is None
    assert thread_mark_read(thread=thread, user=thread.patient, seq=99) == 3
    assert unread_count_for(user=thread.patient) == 0
    thread.refresh_from_db()
    assert (thread.patient_read_seq, thread.last_seq) == (3, 3)


def test_summaries_list_care_partners_without_a_thread():
    region = make_region("VN-SG")
    patient = make_patient(region=region)
    clinician = make_clinician(regions=[region])
    make_care(patient=patient, clinician=clinician)
    [summary] = thread_summaries_for(user=patient)
    assert (summary.thread_id, summary.other_id, summary.unread) == (None, clinician.pk, 0)
    [theirs] = thread_summaries_for(user=clinician)
    assert (theirs.thread_id, theirs.other_id) == (None, patient.pk)


# --- Unread-message email ------------------------------------------------------------------------

@pytest.fixture
def due(django_capture_on_commit_callbacks):
    """unread_emails_send_due, with its after-commit emails run as a real commit would."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return unread_emails_send_due(**kwargs)

    return run


def _age(thread, minutes):
    Message.objects.filter(thread=thread).update(
        created_at=timezone.now() - timedelta(minutes=minutes))


def test_unread_email_after_ten_minutes_once_per_hour_without_content(due, django_capture_on_commit_callbacks):
    thread = make_thread()
    send(thread, thread.clinician, "SECRET-CONTENT about your dose")
    assert due() == 0  # not yet ten minutes
    _age(thread, 11)
    assert due() == 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [thread.patient.email]
    assert email.subject == "Bạn có một tin nhắn bảo mật mới"  # the patient reads Vietnamese
    assert f"/visits/messages/{thread.pk}/" in email.body
    assert "SECRET" not in email.body and "dose" not in email.body
    # Idempotent: the task again, and again later with a new unread message inside the hour.
    with django_capture_on_commit_callbacks(execute=True):
        assert chat_unread_emails() == 0
    send(thread, thread.clinician, "another")
    _age(thread, 15)
    assert due() == 0
    assert len(mail.outbox) == 1
    # After the hour, a newer unread message is emailed once more.
    assert due(now=timezone.now() + timedelta(minutes=61)) == 1
    assert len(mail.outbox) == 2


def test_no_email_when_read_or_for_own_messages(due):
    thread = make_thread()
    send(thread, thread.clinician, "read me")
    send(thread, thread.patient, "my own")  # the patient's reply marks up to its own seq read
    _age(thread, 30)
    # The patient replied (so read everything); the clinician has an unread patient message.
    assert due() == 1
    assert [m.to for m in mail.outbox] == [[thread.clinician.email]]
    assert mail.outbox[0].subject == "You have a new secure message"  # staff: English
    thread_mark_read(thread=thread, user=thread.clinician, seq=2)
    assert due(now=timezone.now() + timedelta(hours=2)) == 0


def test_a_new_message_is_not_emailed_before_ten_minutes_even_after_an_old_one(due):
    """An old unread message was emailed over an hour ago; a fresh one must still wait."""
    thread = make_thread()
    send(thread, thread.clinician, "old")
    _age(thread, 120)
    assert due(now=timezone.now() - timedelta(minutes=90)) == 1
    send(thread, thread.clinician, "fresh")  # two minutes old, the first is two hours old
    Message.objects.filter(thread=thread, seq=2).update(
        created_at=timezone.now() - timedelta(minutes=2))
    assert due() == 0
    assert len(mail.outbox) == 1
    Message.objects.filter(thread=thread, seq=2).update(
        created_at=timezone.now() - timedelta(minutes=11))
    assert due() == 1
    assert len(mail.outbox) == 2


def test_email_in_the_patients_language(due):
    region = make_region("VN-SG")
    patient = make_patient(region=region)
    assert patient.patient_profile.preferred_language == "vi"
    thread = make_thread(patient=patient, clinician=make_clinician(regions=[region]))
    send(thread, thread.clinician, "xin chào")
    _age(thread, 11)
    assert due() == 1
    assert mail.outbox[0].subject == "Bạn có một tin nhắn bảo mật mới"
    assert "xin chào" not in mail.outbox[0].body


# --- Audit -----------------------------------------------------------------------------------------

def test_read_audit_names_the_thread_and_patient():
    from sessions.chat_services import thread_read_audit

    thread = make_thread()
    thread_read_audit(thread=thread, user=thread.clinician, ip="10.0.0.5")
    event = AuditEvent.objects.get(object_type="message_thread")
    assert (event.actor_id, event.action, event.object_id, event.patient_id, event.ip) == (
        thread.clinician.pk, "view", str(thread.pk), thread.patient.pk, "10.0.0.5")


# --- Concurrency (PostgreSQL: real row locks) --------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_get_unique_gapless_sequences():
    thread = make_thread()
    errors = []

    def worker(user, prefix):
        try:
            for i in range(10):
                message_send(thread=thread, sender=user, client_id=f"{prefix}-{i:05d}",
                             body=f"{prefix} {i}")
                # Every message is sent twice, as a client would after a lost ack.
                message_send(thread=thread, sender=user, client_id=f"{prefix}-{i:05d}",
                             body=f"{prefix} {i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    with override_settings(TELEPSYCH_CHAT_RATE_LIMIT=10_000):
        threads = [threading.Thread(target=worker, args=(user, f"w{n}"))
                   for n, user in enumerate([thread.patient, thread.clinician] * 4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    rows = list(Message.objects.filter(thread=thread).order_by("seq").values_list("seq", "client_id"))
    assert [seq for seq, _ in rows] == list(range(1, 81))
    assert len({client_id for _, client_id in rows}) == 80


def test_beat_runs_the_unread_email_task_every_minute():
    from sessions.schedules import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["sessions-chat-unread-emails"]
    assert (entry["task"], entry["schedule"]) == (chat_unread_emails.name, 60.0)
    assert chat_unread_emails.name == "sessions.chat_unread_emails"
