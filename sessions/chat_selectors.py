"""Reads of secure messaging, each with its access check.

Only the thread's two people may read it: not another clinician, not a clinic admin. Anyone
else gets `ThreadNotFound` (404 over HTTP, 4403 over a socket), never a hint that it exists.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Count, F, Q, QuerySet

from accounts.models import User
from accounts.selectors import user_has_mfa
from scheduling.selectors import treating_clinicians_for

from .chat_models import Message, Thread
from .models import VideoSession

HISTORY_PAGE = 200


class ThreadNotFound(Exception):
    """No such thread for this user (it may exist, but they may not see it)."""


class ChatDenied(Exception):
    """A socket or page refused: 4401 not signed in, 4403 not allowed."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def chat_user_allowed(*, user: User | None) -> None:
    """Patients, and clinicians with MFA, may use messaging; raises ChatDenied otherwise."""
    if user is None or not user.is_authenticated:
        raise ChatDenied(4401, "not signed in")
    if not user.is_active or user.role not in (User.Role.PATIENT, User.Role.CLINICIAN):
        raise ChatDenied(4403, "messaging is for patients and their clinicians")
    if user.role == User.Role.CLINICIAN and not user_has_mfa(user=user):
        raise ChatDenied(4403, "staff without MFA")


def thread_get_for_user(*, user: User, thread_id: int) -> Thread:
    """The thread if `user` is its patient or clinician, else ThreadNotFound."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise ThreadNotFound
    thread = (
        Thread.objects.select_related("patient__patient_profile", "clinician__clinician_profile")
        .filter(pk=thread_id)
        .filter(Q(patient=user, patient__role=User.Role.PATIENT)
                | Q(clinician=user, clinician__role=User.Role.CLINICIAN))
        .first()
    )
    if thread is None:
        raise ThreadNotFound
    return thread


def call_participants(*, session_id: UUID | str) -> tuple[User, User] | None:
    """(patient, clinician) of a call, for its in-call chat (the caller has already checked
    the user is a participant of this session)."""
    session = (
        VideoSession.objects.select_related("appointment__patient",
                                            "appointment__clinician__clinician_profile")
        .filter(pk=session_id).first()
    )
    if session is None:
        return None
    return session.appointment.patient, session.appointment.clinician


def person_name(user: User) -> str:
    profile = getattr(user, "clinician_profile", None) if user.role == User.Role.CLINICIAN else None
    if profile is not None and profile.display_name:
        return profile.display_name
    return user.get_full_name() or user.email


@dataclass(frozen=True)
class MessageView:
    seq: int
    client_id: str
    sender_role: str  # "patient" or "clinician"
    sender_name: str
    body: str
    sent_at: datetime

    def as_frame(self) -> dict:
        return {"seq": self.seq, "client_id": self.client_id, "sender": self.sender_role,
                "sender_name": self.sender_name, "body": self.body,
                "sent_at": self.sent_at.isoformat()}


def message_view(message: Message, thread: Thread) -> MessageView:
    role = thread.role_of(message.sender_id) or "patient"
    sender = thread.patient if role == "patient" else thread.clinician
    return MessageView(seq=message.seq, client_id=message.client_id, sender_role=role,
                       sender_name=person_name(sender), body=message.decrypt_field("body"),
                       sent_at=message.created_at)


def messages_after(*, thread: Thread, after_seq: int, limit: int = HISTORY_PAGE) -> list[MessageView]:
    """Decrypted messages with a sequence above `after_seq`, oldest first (the caller holds a
    thread fetched with `thread_get_for_user`)."""
    rows = Message.objects.filter(thread=thread, seq__gt=after_seq).order_by("seq")[:limit]
    return [message_view(row, thread) for row in rows]


def messages_latest(*, thread: Thread, limit: int = HISTORY_PAGE) -> list[MessageView]:
    """The newest `limit` messages, oldest first (for the page)."""
    rows = list(Message.objects.filter(thread=thread).order_by("-seq")[:limit])
    rows.reverse()
    return [message_view(row, thread) for row in rows]


def unread_in_thread(*, thread: Thread, user: User) -> int:
    role = thread.role_of(user.pk)
    read_seq = thread.patient_read_seq if role == "patient" else thread.clinician_read_seq
    return Message.objects.filter(thread=thread, seq__gt=read_seq).exclude(sender=user).count()


def _unread_filter(user: User) -> Q:
    return (Q(thread__patient=user, seq__gt=F("thread__patient_read_seq"))
            | Q(thread__clinician=user, seq__gt=F("thread__clinician_read_seq")))


def unread_count_for(*, user: User) -> int:
    """Messages to `user`, in all their threads, that they have not read yet."""
    if not user.is_authenticated or user.role not in (User.Role.PATIENT, User.Role.CLINICIAN):
        return 0
    return Message.objects.filter(_unread_filter(user)).exclude(sender=user).count()


@dataclass(frozen=True)
class ThreadSummary:
    thread_id: int | None  # None: a care relationship without a thread yet
    other_id: int
    other_name: str
    unread: int
    last_message_at: datetime | None


def _threads_of(user: User) -> QuerySet[Thread]:
    if user.role == User.Role.PATIENT:
        return Thread.objects.filter(patient=user)
    return Thread.objects.filter(clinician=user)


def thread_summaries_for(*, user: User) -> list[ThreadSummary]:
    """Every thread of `user`, newest first, then the people they may start writing to."""
    threads = (
        _threads_of(user)
        .select_related("patient", "clinician__clinician_profile")
        .annotate(unread=Count("messages", filter=_unread_filter_for_thread(user)))
        .order_by(F("last_message_at").desc(nulls_last=True), "-pk")
    )
    summaries = []
    seen = set()
    for thread in threads:
        other = thread.clinician if user.role == User.Role.PATIENT else thread.patient
        seen.add(other.pk)
        summaries.append(ThreadSummary(thread_id=thread.pk, other_id=other.pk,
                                       other_name=person_name(other), unread=thread.unread,
                                       last_message_at=thread.last_message_at))
    for other in care_partners_for(user=user):
        if other.pk not in seen:
            summaries.append(ThreadSummary(thread_id=None, other_id=other.pk,
                                           other_name=person_name(other), unread=0,
                                           last_message_at=None))
    return summaries


def _unread_filter_for_thread(user: User) -> Q:
    if user.role == User.Role.PATIENT:
        return Q(messages__seq__gt=F("patient_read_seq"), messages__sender=F("clinician"))
    return Q(messages__seq__gt=F("clinician_read_seq"), messages__sender=F("patient"))


def care_partners_for(*, user: User) -> QuerySet[User]:
    """The people `user` may write to: a patient's clinicians, a clinician's patients (a care
    relationship is an appointment that was not cancelled)."""
    if user.role == User.Role.PATIENT:
        return treating_clinicians_for(patient=user).select_related("clinician_profile")
    if user.role == User.Role.CLINICIAN:
        patient_ids = treating_patient_ids_for(clinician=user)
        return User.objects.filter(pk__in=patient_ids, role=User.Role.PATIENT, is_active=True)
    return User.objects.none()


def treating_patient_ids_for(*, clinician: User) -> list[int]:
    # scheduling exposes the patient → clinicians direction; this is its mirror, by ids.
    from scheduling.models import Appointment

    return list(
        Appointment.objects.filter(clinician=clinician, status__in=Appointment.ACTIVE_STATUSES)
        .values_list("patient_id", flat=True).distinct()
    )
