"""Reads for video sessions, each with its access check."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from accounts.models import PatientProfile, Region, User
from accounts.selectors import license_is_valid, user_has_mfa
from scheduling.models import Appointment

from .models import VideoSession


@dataclass(frozen=True)
class JoinWindow:
    opens_at: datetime
    closes_at: datetime

    def is_open(self, at: datetime) -> bool:
        return self.opens_at <= at <= self.closes_at


def join_window_for(*, appointment: Appointment) -> JoinWindow:
    """The room opens some minutes before the start and closes some minutes after the end."""
    return JoinWindow(
        opens_at=appointment.starts_at
        - timedelta(minutes=settings.TELEPSYCH_JOIN_OPENS_MINUTES_BEFORE),
        closes_at=appointment.ends_at
        + timedelta(minutes=settings.TELEPSYCH_JOIN_CLOSES_MINUTES_AFTER),
    )


def join_window_is_open(*, appointment: Appointment, at: datetime | None = None) -> bool:
    """For appointment lists: show "Join" only when this is true."""
    if appointment.status != Appointment.Status.BOOKED:
        return False
    return join_window_for(appointment=appointment).is_open(at or timezone.now())


class SignalingDenied(Exception):
    """Why a socket is refused: 4401 not signed in, 4403 not allowed (now)."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Participant:
    session_id: UUID
    appointment_id: int
    user_id: int
    role: str  # "patient" or "clinician"
    state: str


def signaling_participant(*, user: User, session_id: UUID | str,
                          at: datetime | None = None) -> Participant:
    """The signed-in user's place in this call, or SignalingDenied: only the appointment's
    patient (after confirming where they are) and clinician (with MFA), inside the join window,
    while the appointment is booked and the session has not ended."""
    if user is None or not user.is_authenticated:
        raise SignalingDenied(4401, "not signed in")
    session = (
        VideoSession.objects.select_related("appointment")
        .filter(pk=session_id).first()
    )
    if session is None or not user.is_active:
        raise SignalingDenied(4403, "no such session")
    appointment = session.appointment
    if user.pk == appointment.patient_id and user.role == User.Role.PATIENT:
        role = "patient"
        if not session.location_confirmed:
            raise SignalingDenied(4403, "location not confirmed")
    elif user.pk == appointment.clinician_id and user.role == User.Role.CLINICIAN:
        role = "clinician"
        if not user_has_mfa(user=user):
            raise SignalingDenied(4403, "staff without MFA")
    else:
        raise SignalingDenied(4403, "not a participant")
    if appointment.status != Appointment.Status.BOOKED or session.state == VideoSession.State.ENDED:
        raise SignalingDenied(4403, "visit over")
    if not join_window_for(appointment=appointment).is_open(at or timezone.now()):
        raise SignalingDenied(4403, "outside the join window")
    return Participant(session_id=session.pk, appointment_id=appointment.pk, user_id=user.pk,
                       role=role, state=session.state)


def video_session_state(*, session_id: UUID | str) -> str | None:
    return VideoSession.objects.filter(pk=session_id).values_list("state", flat=True).first()


def video_session_for_appointment(*, appointment: Appointment) -> VideoSession | None:
    """The room of an appointment the caller has already fetched with its access check."""
    return VideoSession.objects.select_related("location_region").filter(
        appointment=appointment
    ).first()


def clinician_licensed_at_location(*, session: VideoSession) -> bool | None:
    """Is the clinician licensed today (in the region's own zone) where the patient says they
    are? None until the patient has confirmed a location."""
    region = session.location_region
    if region is None:
        return None
    today_there = timezone.now().astimezone(ZoneInfo(region.time_zone)).date()
    return license_is_valid(clinician=session.appointment.clinician, region=region, on=today_there)


@dataclass(frozen=True)
class PatientSafetyDetails:
    """What the clinician must see during the call, in case the patient is in danger."""

    region: Region | None
    address: str
    callback_phone: str
    emergency_number: str
    emergency_contact_name: str
    emergency_contact_phone: str
    licensed_there: bool | None


def patient_safety_details(*, session: VideoSession, viewer: User) -> PatientSafetyDetails:
    """Only the treating clinician of this session gets these."""
    appointment = session.appointment
    if viewer.pk != appointment.clinician_id:
        raise PermissionError("only the treating clinician sees the patient's safety details")
    profile = PatientProfile.objects.filter(user_id=appointment.patient_id).first()
    region = session.location_region
    return PatientSafetyDetails(
        region=region,
        address=session.location_address,
        callback_phone=session.callback_phone,
        emergency_number=region.emergency_number if region else "",
        emergency_contact_name=profile.emergency_contact_name if profile else "",
        emergency_contact_phone=profile.emergency_contact_phone if profile else "",
        licensed_there=clinician_licensed_at_location(session=session),
    )


@dataclass(frozen=True)
class WaitingPatient:
    session_id: UUID
    appointment_id: int
    patient_name: str
    region_name: str
    waiting_since: datetime | None
    starts_at: datetime
    licensed_there: bool | None


def waiting_patient_for(*, session: VideoSession) -> WaitingPatient:
    appointment = session.appointment
    return WaitingPatient(
        session_id=session.pk,
        appointment_id=appointment.pk,
        patient_name=appointment.patient.get_full_name() or appointment.patient.email,
        region_name=session.location_region.name if session.location_region else "",
        waiting_since=session.waiting_since,
        starts_at=appointment.starts_at,
        licensed_there=clinician_licensed_at_location(session=session),
    )


def waiting_patients_for_clinician(*, clinician: User) -> list[WaitingPatient]:
    """Every patient in this clinician's waiting rooms right now, longest waiting first."""
    sessions = (
        VideoSession.objects.filter(
            state=VideoSession.State.WAITING,
            appointment__clinician=clinician,
            appointment__status=Appointment.Status.BOOKED,
        )
        .select_related("appointment__patient", "appointment__clinician", "location_region")
        .order_by("waiting_since")
    )
    return [waiting_patient_for(session=session) for session in sessions]
