"""Writes of secure messaging: store first (encrypted, sequenced, deduplicated), then broadcast.

`message_send` is the one way a message is written, from the messaging socket, the call socket
and the plain form alike. In one transaction it locks the thread row, hands out the next
sequence number, stores the encrypted body under a unique (thread, sender, client id), and runs
the crisis hook; the broadcast and the unread notification go out after commit. A resend with
the same client id returns the stored message instead of writing a second one.
"""

import asyncio
import contextlib
import functools
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, Value
from django.db.models.functions import Greatest, Least
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import user_preferences
from crisis.detection import detect_risk
from crisis.services import crisis_event_raise
from records.services import audit_log
from scheduling.selectors import clinician_treats_patient
from telepsych.common.groups import clinician_group, patient_group, thread_group

from .chat_lock_objects import thread_lock
from .chat_models import MESSAGE_MAX_CHARS, Message, Thread
from .chat_selectors import (
    MessageView,
    ThreadNotFound,
    call_participants,
    message_view,
    person_name,
    thread_get_for_user,
)

logger = logging.getLogger(__name__)

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class ChatError(Exception):
    """A refused write, answered as an error frame or a form error; nothing was stored."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class SendResult:
    message: MessageView
    duplicate: bool  # True: this client id was already stored; nothing new was written


# --- Threads -------------------------------------------------------------------------------------

def thread_get_or_create(*, patient: User, clinician: User) -> Thread:
    """The pair's one thread, created on first use; only for a care relationship."""
    if patient.role != User.Role.PATIENT or clinician.role != User.Role.CLINICIAN:
        raise ThreadNotFound
    if not clinician_treats_patient(clinician=clinician, patient=patient):
        raise ThreadNotFound
    thread = Thread.objects.filter(patient=patient, clinician=clinician).first()
    if thread is not None:
        return thread
    try:
        with transaction.atomic():
            return Thread.objects.create(patient=patient, clinician=clinician)
    except IntegrityError:  # created meanwhile by the other person (unique pair)
        return Thread.objects.get(patient=patient, clinician=clinician)


def thread_open_with(*, user: User, other_id: int) -> Thread:
    """The thread between `user` and person `other_id`, if they have a care relationship."""
    other = User.objects.filter(pk=other_id, is_active=True).first()
    if other is None or not user.is_active:
        raise ThreadNotFound
    if user.role == User.Role.PATIENT:
        return thread_get_or_create(patient=user, clinician=other)
    if user.role == User.Role.CLINICIAN:
        return thread_get_or_create(patient=other, clinician=user)
    raise ThreadNotFound


def thread_for_call(*, user: User, session_id) -> Thread:
    """The in-call chat of a video session: the thread of its patient and clinician."""
    pair = call_participants(session_id=session_id)
    if pair is None or user.pk not in (pair[0].pk, pair[1].pk):
        raise ThreadNotFound
    thread = thread_get_or_create(patient=pair[0], clinician=pair[1])
    return thread_get_for_user(user=user, thread_id=thread.pk)


def thread_read_audit(*, thread: Thread, user: User, ip: str | None = None) -> None:
    """Reading a thread is reading patient data: one audit event per page view or socket."""
    audit_log(actor=user, action="view", object_type="message_thread", object_id=thread.pk,
              patient=thread.patient, ip=ip)


# --- Rate limit ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _rate_redis(url: str, max_connections: int):
    """One Redis client (and connection pool) per process for the rate limit. Django's cache
    gives each async context (each socket) its own client and pool, so in daphne every new
    socket would open a fresh Redis connection on its first message."""
    import redis

    return redis.Redis.from_url(url, max_connections=max_connections)


def _rate_take(*, user_id: int) -> bool:
    """A sliding-window estimate over two fixed windows, counted in Redis when configured (so
    every daphne process counts together), else in the local cache."""
    limit = settings.TELEPSYCH_CHAT_RATE_LIMIT
    window = settings.TELEPSYCH_CHAT_RATE_WINDOW_SECONDS
    now = time.time()
    bucket = int(now // window)
    key = f"chat:rate:{user_id}:{bucket}"
    previous_key = f"chat:rate:{user_id}:{bucket - 1}"
    ttl = window * 2 + 1
    if settings.REDIS_URL:
        client = _rate_redis(settings.REDIS_URL, settings.REDIS_MAX_CONNECTIONS)
        prefixed, prefixed_previous = f"telepsych:{key}", f"telepsych:{previous_key}"
        # One round trip: count, expire, and read the previous window together.
        pipe = client.pipeline(transaction=False)
        pipe.incr(prefixed)
        pipe.expire(prefixed, ttl, nx=True)
        pipe.get(prefixed_previous)
        current, _expiry, previous = pipe.execute()
        weight = 1 - (now % window) / window
        if int(previous or 0) * weight + current > limit:
            client.decr(prefixed)
            return False
        return True
    previous = cache.get(previous_key, 0)
    cache.add(key, 0, timeout=ttl)
    try:
        current = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=ttl)
        current = 1
    weight = 1 - (now % window) / window
    if previous * weight + current > limit:
        with contextlib.suppress(ValueError):
            cache.decr(key)
        return False
    return True


# --- Messages ------------------------------------------------------------------------------------

def _clean(*, client_id: str, body: str) -> str:
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise ChatError("bad_client_id", _("A message needs a client id of 8 to 64 letters, "
                                           "digits, - or _."))
    if not isinstance(body, str) or not body.strip():
        raise ChatError("empty", _("Write a message before sending."))
    body = body.replace("\r\n", "\n")
    if len(body) > MESSAGE_MAX_CHARS:
        raise ChatError("too_long", _("Messages are limited to %(max)d characters; this one has "
                                      "%(count)d. Split it into shorter messages.")
                        % {"max": MESSAGE_MAX_CHARS, "count": len(body)})
    return body


def _existing(*, thread: Thread, sender: User, client_id: str) -> SendResult | None:
    found = Message.objects.filter(thread=thread, sender=sender, client_id=client_id).first()
    if found is None:
        return None
    return SendResult(message=message_view(found, thread), duplicate=True)


def _risk_check(*, patient: User, body: str) -> None:
    """The crisis hook: a risk phrase in a patient's message raises a crisis event in the
    transaction that stores the message (both commit, or neither)."""
    profile = getattr(patient, "patient_profile", None)  # fetched with the thread
    language = profile.preferred_language if profile is not None else ""
    match = detect_risk(text=body, language=language or None)
    if match is not None:
        crisis_event_raise(patient=patient, source="chat", rule=match)


def message_send(*, thread: Thread, sender: User, client_id: str, body: str,
                 rate_limited: bool = True) -> SendResult:
    """Store `body` as the thread's next message (or return the one already stored under this
    client id), then broadcast it after commit. Raises ChatError. `rate_limited=False` only for
    trusted server-side writers (the demo seed), never for a person's input."""
    role = thread.role_of(sender.pk)
    if role is None:
        raise ChatError("not_allowed", _("You are not part of this conversation."))
    body = _clean(client_id=client_id, body=body)
    try:
        with transaction.atomic():
            locked = thread_lock(thread_id=thread.pk, sender_id=sender.pk, client_id=client_id)
            if locked.existing_message_id is not None:
                # A resend: no new message, and it does not count against the rate limit.
                stored = Message.objects.get(pk=locked.existing_message_id)
                return SendResult(message=message_view(stored, thread), duplicate=True)
            if not clinician_treats_patient(clinician=thread.clinician, patient=thread.patient):
                raise ChatError("not_allowed", _("This conversation is closed: there is no "
                                                 "appointment between you any more."))
            if rate_limited and not _rate_take(user_id=sender.pk):
                raise ChatError("rate_limited", _("You are sending messages too quickly. Wait "
                                                  "a few seconds and try again."))
            now = timezone.now()
            seq = locked.last_seq + 1
            message = Message(thread=thread, sender=sender, seq=seq, client_id=client_id,
                              created_at=now)
            message.encrypt_field("body", body)
            message.save(force_insert=True)
            read_field = f"{role}_read_seq"
            Thread.objects.filter(pk=thread.pk).update(
                last_seq=seq, last_message_at=now, **{read_field: seq}
            )
            if role == "patient":
                _risk_check(patient=thread.patient, body=body)
            view = MessageView(seq=seq, client_id=client_id, sender_role=role,
                               sender_name=message_view_name(thread, role), body=body,
                               sent_at=now)
            recipient = thread.clinician if role == "patient" else thread.patient
            recipient_read = getattr(locked, f"{thread.role_of(recipient.pk)}_read_seq")
            transaction.on_commit(lambda: _after_send(thread=thread, view=view,
                                                      recipient=recipient,
                                                      unread=seq - recipient_read))
    except IntegrityError:
        # The same client id won a race on another connection: answer with its message.
        existing = _existing(thread=thread, sender=sender, client_id=client_id)
        if existing is None:
            raise
        return existing
    thread.last_seq = seq
    thread.last_message_at = now
    setattr(thread, read_field, seq)
    return SendResult(message=view, duplicate=False)


def message_view_name(thread: Thread, role: str) -> str:
    return person_name(thread.patient if role == "patient" else thread.clinician)


def thread_mark_read(*, thread: Thread, user: User, seq: int) -> int | None:
    """Move `user`'s read marker up to `seq` (never down, never past the last message); the
    new marker, or None if it did not move. The receipt goes to the thread after commit."""
    role = thread.role_of(user.pk)
    if role is None:
        raise ChatError("not_allowed", _("You are not part of this conversation."))
    field = f"{role}_read_seq"
    with transaction.atomic():
        moved = Thread.objects.filter(pk=thread.pk, **{f"{field}__lt": seq}).filter(
            last_seq__gt=F(field)
        ).update(**{field: Least(Value(seq), F("last_seq"))})
        if not moved:
            return None
        new_seq, last_seq = Thread.objects.filter(pk=thread.pk).values_list(
            field, "last_seq").get()
        transaction.on_commit(lambda: _after_read(thread=thread, role=role, seq=new_seq,
                                                  last_seq=last_seq, reader=user))
    setattr(thread, field, new_seq)
    return new_seq


# --- After commit --------------------------------------------------------------------------------

def _group_send(group: str, message: dict) -> None:
    """Publish after commit. Inside daphne (a worker thread of the server's event loop) the
    publish is handed to that loop without waiting, so the worker is free for the next write;
    elsewhere (tests, Celery, commands) it is sent before returning. Either way the message is
    already stored: a lost publish is recovered by the client's replay."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running():
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
        future.add_done_callback(partial(_log_failed_publish, group))
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # noqa: BLE001 - the message is stored; clients replay what they missed
        logger.warning("chat: broadcast to %s failed", group, exc_info=True)


def _log_failed_publish(group: str, future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("chat: broadcast to %s failed: %r", group, future.exception())


def _notify_unread(*, user: User, thread_id: int, unread: int) -> None:
    """`chat.unread` on the person's notify socket: how many messages of this thread they
    have not read (known from the locked row, so no query)."""
    group = patient_group(user.pk) if user.role == User.Role.PATIENT else clinician_group(user.pk)
    _group_send(group, {"type": "notify.event", "event": {
        "kind": "chat.unread", "thread_id": thread_id, "unread": unread,
    }})


def _after_send(*, thread: Thread, view: MessageView, recipient: User, unread: int) -> None:
    _group_send(thread_group(thread.pk), {"type": "chat.event", "frame": {
        "type": "chat.message", "thread_id": thread.pk, "message": view.as_frame(),
    }})
    _notify_unread(user=recipient, thread_id=thread.pk, unread=unread)


def _after_read(*, thread: Thread, role: str, seq: int, last_seq: int, reader: User) -> None:
    _group_send(thread_group(thread.pk), {"type": "chat.event", "frame": {
        "type": "chat.receipt", "thread_id": thread.pk, "reader": role, "seq": seq,
    }})
    _notify_unread(user=reader, thread_id=thread.pk, unread=last_seq - seq)


def typing_event(*, thread: Thread, user: User, sender_channel: str) -> dict:
    """The group message for "the other person is typing": transient, never stored, may be
    lost. The consumer sends it to `thread_group(thread.pk)` itself (no database involved)."""
    role = thread.role_of(user.pk)
    if role is None:
        raise ChatError("not_allowed", _("You are not part of this conversation."))
    return {"type": "chat.event", "sender": sender_channel,
            "frame": {"type": "chat.typing", "thread_id": thread.pk, "who": role}}


# --- Unread-message emails -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Side:
    role: str          # the recipient's role
    sender_field: str  # the other side's FK on Thread


_SIDES = (_Side("patient", "clinician"), _Side("clinician", "patient"))


def unread_emails_send_due(*, now: datetime | None = None) -> int:
    """Email "You have a new secure message" (a link, no content) to everyone with a message
    unread for TELEPSYCH_CHAT_EMAIL_AFTER_SECONDS, at most once per thread per
    TELEPSYCH_CHAT_EMAIL_EVERY_SECONDS, and never twice for the same messages. Idempotent: the
    claim is a conditional UPDATE, so a duplicated or retried run sends nothing more."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TELEPSYCH_CHAT_EMAIL_AFTER_SECONDS)
    quiet_since = now - timedelta(seconds=settings.TELEPSYCH_CHAT_EMAIL_EVERY_SECONDS)
    sent = 0
    for side in _SIDES:
        read, emailed_seq, emailed_at = (f"{side.role}_read_seq", f"{side.role}_emailed_seq",
                                         f"{side.role}_emailed_at")
        not_recent = Q(**{f"{emailed_at}__isnull": True}) | Q(**{f"{emailed_at}__lte": quiet_since})
        due = (
            Thread.objects.filter(not_recent)
            # One filter() call: every condition applies to the same message.
            .filter(messages__sender=F(side.sender_field), messages__created_at__lte=cutoff,
                    messages__seq__gt=Greatest(F(read), F(emailed_seq)))
            .annotate(due_seq=Max("messages__seq"))
            .values_list("pk", "due_seq")
        )
        for thread_id, due_seq in list(due):
            with transaction.atomic():
                claimed = Thread.objects.filter(not_recent, pk=thread_id).filter(
                    **{f"{emailed_seq}__lt": due_seq, f"{read}__lt": due_seq}
                ).update(**{emailed_at: now, emailed_seq: due_seq})
                if claimed:
                    transaction.on_commit(
                        lambda tid=thread_id, role=side.role: _send_unread_email(
                            thread_id=tid, role=role)
                    )
                    sent += claimed
    return sent


def _send_unread_email(*, thread_id: int, role: str) -> None:
    thread = Thread.objects.select_related("patient", "clinician").get(pk=thread_id)
    recipient = thread.patient if role == "patient" else thread.clinician
    _zone, language = user_preferences(user=recipient)
    link = settings.TELEPSYCH_SITE_URL + reverse("sessions:thread", args=[thread.pk])
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = _("You have a new secure message")
        body = _("You have a new secure message on telepsych. Sign in to read it:\n\n%(link)s\n\n"
                 "For your privacy, this email does not include the message.") % {"link": link}
    send_mail(subject, body, None, [recipient.email])
