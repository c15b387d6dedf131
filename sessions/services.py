"""Writes for video sessions. Pushes (channel layer) happen after commit."""

from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Region, User
from accounts.services import patient_location_confirm
from scheduling.models import Appointment
from scheduling.services import appointment_complete
from telepsych.common.groups import clinician_group, patient_group, session_group

from .models import SessionEvent, VideoSession
from .selectors import waiting_patient_for

State = VideoSession.State


def _push_on_commit(group: str, message: dict) -> None:
    """Send to a channel-layer group once the transaction commits (at most once, may be lost:
    pages also render the current state from the database)."""

    def push() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)

    transaction.on_commit(push)


def _notify(group: str, kind: str, **fields) -> None:
    _push_on_commit(group, {"type": "notify.event", "event": {"kind": kind, **fields}})


def _locked(session_id: UUID | str) -> VideoSession:
    return (
        VideoSession.objects.select_for_update(of=("self",))
        .select_related("appointment", "location_region")
        .get(pk=session_id)
    )


def video_session_open(*, appointment: Appointment) -> VideoSession:
    """The room of this appointment, created the first time someone opens it."""
    session = VideoSession.objects.filter(appointment=appointment).first()
    if session is not None:
        return session
    try:
        with transaction.atomic():
            return VideoSession.objects.create(appointment=appointment)
    except IntegrityError:  # the other participant opened it at the same moment
        return VideoSession.objects.get(appointment=appointment)


def session_event_record(*, session_id: UUID | str, user: User, kind: str) -> SessionEvent:
    if kind == SessionEvent.Kind.JOINED and SessionEvent.objects.filter(
        session_id=session_id, user=user, kind=SessionEvent.Kind.JOINED
    ).exists():
        kind = SessionEvent.Kind.RECONNECTED
    return SessionEvent.objects.create(session_id=session_id, user=user, kind=kind,
                                       at=timezone.now())


def video_session_confirm_location(
    *, session_id: UUID | str, patient: User, region: Region, address: str, callback_phone: str
) -> VideoSession:
    """Where the patient is for this visit; also kept on the profile (crisis pages read it)."""
    with transaction.atomic():
        session = _locked(session_id)
        if session.appointment.patient_id != patient.pk:
            raise ValidationError(_("Only the patient of this visit can confirm the location."))
        if session.state == State.ENDED:
            raise ValidationError(_("This visit has ended."))
        session.location_region = region
        session.location_address = address.strip()
        session.callback_phone = callback_phone.strip()
        session.location_confirmed_at = timezone.now()
        session.full_clean(exclude=["appointment", "ended_by"])
        session.save(update_fields=["location_region", "location_address", "callback_phone",
                                    "location_confirmed_at"])
        patient_location_confirm(patient=patient, region=region)
    return session


def video_session_patient_arrived(*, session_id: UUID | str, patient: User,
                                  channel_name: str) -> VideoSession:
    """The patient's call page connected. Before admission they are waiting: tell the clinician."""
    with transaction.atomic():
        session = _locked(session_id)
        session_event_record(session_id=session.pk, user=patient, kind=SessionEvent.Kind.JOINED)
        session.patient_channel = channel_name
        fields = ["patient_channel"]
        if session.state in (State.SCHEDULED, State.WAITING) and session.location_confirmed:
            if session.state == State.SCHEDULED:
                session.state = State.WAITING
                session.waiting_since = timezone.now()
                fields += ["state", "waiting_since"]
            waiting = waiting_patient_for(session=session)
            _notify(
                clinician_group(session.appointment.clinician_id), "waiting.patient_arrived",
                session_id=str(session.pk),
                appointment_id=session.appointment_id,
                patient_name=waiting.patient_name,
                region_name=waiting.region_name,
                waiting_since=session.waiting_since.isoformat(),
                licensed_there=waiting.licensed_there,
                room_url=reverse("sessions:join", args=[session.appointment_id]),
                admit_url=reverse("sessions:admit", args=[session.appointment_id]),
            )
        session.save(update_fields=fields)
    return session


def video_session_participant_left(*, session_id: UUID | str, user: User,
                                   channel_name: str) -> None:
    """A call page closed. A waiting patient whose newest page closed is no longer waiting."""
    with transaction.atomic():
        session = _locked(session_id)
        session_event_record(session_id=session.pk, user=user, kind=SessionEvent.Kind.LEFT)
        if (user.pk == session.appointment.patient_id and session.state == State.WAITING
                and session.patient_channel == channel_name):
            session.state = State.SCHEDULED
            session.waiting_since = None
            session.save(update_fields=["state", "waiting_since"])
            _notify(clinician_group(session.appointment.clinician_id), "waiting.patient_left",
                    session_id=str(session.pk), appointment_id=session.appointment_id,
                    reason="left")


def video_session_admit(*, session_id: UUID | str, clinician: User) -> VideoSession:
    """The clinician lets the waiting patient in: the call is live."""
    with transaction.atomic():
        session = _locked(session_id)
        if session.appointment.clinician_id != clinician.pk:
            raise ValidationError(_("Only the treating clinician can admit this patient."))
        if session.state == State.LIVE:
            return session
        if session.state != State.WAITING:
            raise ValidationError(_("The patient is not in the waiting room right now."))
        session.state = State.LIVE
        session.started_at = session.started_at or timezone.now()
        session.save(update_fields=["state", "started_at"])
        session_event_record(session_id=session.pk, user=clinician,
                             kind=SessionEvent.Kind.ADMITTED)
        _push_on_commit(session_group(session.pk), {"type": "session.state", "state": "live"})
        _notify(clinician_group(clinician.pk), "waiting.patient_left",
                session_id=str(session.pk), appointment_id=session.appointment_id,
                reason="admitted")
    return session


def video_session_end(*, session_id: UUID | str, clinician: User) -> VideoSession:
    """The clinician ends the visit: the room closes and the appointment is completed."""
    with transaction.atomic():
        session = _locked(session_id)
        if session.appointment.clinician_id != clinician.pk:
            raise ValidationError(_("Only the treating clinician can end this visit."))
        if session.state == State.ENDED:
            return session
        was_waiting = session.state == State.WAITING
        session.state = State.ENDED
        session.ended_at = timezone.now()
        session.ended_by = clinician
        session.save(update_fields=["state", "ended_at", "ended_by"])
        session_event_record(session_id=session.pk, user=clinician, kind=SessionEvent.Kind.ENDED)
        appointment_complete(appointment_id=session.appointment_id, by=clinician)
        _push_on_commit(session_group(session.pk), {"type": "session.state", "state": "ended"})
        if was_waiting:
            _notify(clinician_group(clinician.pk), "waiting.patient_left",
                    session_id=str(session.pk), appointment_id=session.appointment_id,
                    reason="ended")
    return session


def video_session_message_waiting(*, session_id: UUID | str, clinician: User,
                                  text: str) -> VideoSession:
    """A short note to the waiting patient, kept so a reloaded waiting page still shows it."""
    text = " ".join(text.split())
    if not text:
        raise ValidationError(_("Write a short message first."))
    if len(text) > 200:
        raise ValidationError(_("Keep the message under 200 characters."))
    with transaction.atomic():
        session = _locked(session_id)
        if session.appointment.clinician_id != clinician.pk:
            raise ValidationError(_("Only the treating clinician can message this patient."))
        if session.state == State.ENDED:
            raise ValidationError(_("This visit has ended."))
        session.waiting_message = text
        session.waiting_message_at = timezone.now()
        session.save(update_fields=["waiting_message", "waiting_message_at"])
        _notify(patient_group(session.appointment.patient_id), "waiting.message",
                session_id=str(session.pk), appointment_id=session.appointment_id, text=text,
                sent_at=session.waiting_message_at.isoformat())
    return session


def session_audio_only_record(*, session_id: UUID | str, user: User) -> SessionEvent:
    return session_event_record(session_id=session_id, user=user,
                                kind=SessionEvent.Kind.AUDIO_ONLY)
