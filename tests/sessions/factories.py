"""Appointments and video sessions created directly (booking is another app's job)."""

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import Region, User
from scheduling.models import Appointment
from sessions.models import VideoSession
from tests.factories import make_clinician, make_patient, make_region


def make_appointment(
    *, patient: User | None = None, clinician: User | None = None, region: Region | None = None,
    starts_at: datetime | None = None, minutes: int = 45, status: str = Appointment.Status.BOOKED,
) -> Appointment:
    region = region or make_region("VN-SG")
    patient = patient or make_patient(region=region)
    clinician = clinician or make_clinician(regions=[region])
    starts_at = starts_at or timezone.now() + timedelta(minutes=5)
    return Appointment.objects.create(
        patient=patient, clinician=clinician, region=region, starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes), status=status,
    )


def make_video_session(
    *, appointment: Appointment | None = None, state: str = VideoSession.State.SCHEDULED,
    location_region: Region | None = None, confirmed: bool = True,
    address: str = "12 Nguyen Hue, District 1", callback_phone: str = "+84 912 345 678",
) -> VideoSession:
    appointment = appointment or make_appointment()
    now = timezone.now()
    return VideoSession.objects.create(
        appointment=appointment,
        state=state,
        location_region=(location_region or appointment.region) if confirmed else None,
        location_address=address if confirmed else "",
        callback_phone=callback_phone if confirmed else "",
        location_confirmed_at=now if confirmed else None,
        waiting_since=now if state == VideoSession.State.WAITING else None,
        started_at=now if state in (VideoSession.State.LIVE, VideoSession.State.ENDED) else None,
        ended_at=now if state == VideoSession.State.ENDED else None,
    )
