"""Demo availability and appointments for `manage.py seed_demo`. Idempotent."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User

from .models import Appointment, AppointmentChange, AvailabilityRule, SchedulingSettings

# email: [(weekdays, start, end), ...] in the clinician's own zone
HOURS = {
    "dr.tran@telepsych.demo": [(range(0, 5), time(8), time(12)), (range(0, 5), time(13, 30), time(17, 30))],
    "dr.nguyen@telepsych.demo": [(range(0, 6), time(9), time(16))],
    "dr.smith@telepsych.demo": [(range(0, 5), time(9), time(17))],
}


def _ensure_hours(clinician: User) -> None:
    SchedulingSettings.objects.get_or_create(clinician=clinician)
    if AvailabilityRule.objects.filter(clinician=clinician).exists():
        return
    for weekdays, start, end in HOURS.get(clinician.email, []):
        for weekday in weekdays:
            AvailabilityRule.objects.create(clinician=clinician, weekday=weekday, start_time=start, end_time=end)


def _place(*, patient: User, clinician: User, starts_at: datetime, status: str = Appointment.Status.BOOKED,
           minutes: int = 50) -> Appointment | None:
    """Written directly: the demo needs times a patient could not book (in the past, or inside
    the notice period). Skipped if it would overlap an existing appointment."""
    region = patient.patient_profile.home_region
    try:
        with transaction.atomic():
            clash = Appointment.objects.filter(
                status__in=Appointment.ACTIVE_STATUSES, starts_at__lt=starts_at + timedelta(minutes=minutes),
                ends_at__gt=starts_at,
            ).filter(clinician=clinician) | Appointment.objects.filter(
                status__in=Appointment.ACTIVE_STATUSES, starts_at__lt=starts_at + timedelta(minutes=minutes),
                ends_at__gt=starts_at, patient=patient,
            )
            if clash.exists():
                return None
            appointment = Appointment.objects.create(
                patient=patient, clinician=clinician, region=region, starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=minutes), status=status,
            )
            AppointmentChange.objects.create(appointment=appointment, kind=AppointmentChange.Kind.BOOKED,
                                             by=patient, at=min(timezone.now(), starts_at - timedelta(days=1)),
                                             to_starts_at=starts_at)
            return appointment
    except IntegrityError:
        return None


def _local(zone: str, days_ahead: int, hour: int, minute: int = 0) -> datetime:
    tz = ZoneInfo(zone)
    day = timezone.now().astimezone(tz).date() + timedelta(days=days_ahead)
    # Skip weekends, so the appointment falls inside the demo hours.
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def seed(*, people, stdout=None) -> None:
    tran, nguyen, smith = people.clinicians
    an, binh, chi, maria, james = people.patients
    for clinician in people.clinicians:
        _ensure_hours(clinician)
    now = timezone.now()
    created = []

    # One visit starting within the hour, so the video room (open 15 minutes before) can be tried.
    soon = Appointment.objects.filter(
        patient=an, clinician=tran, status=Appointment.Status.BOOKED,
        starts_at__gte=now - timedelta(minutes=50), starts_at__lte=now + timedelta(hours=1),
    ).first()
    if soon is None:
        start = (now + timedelta(minutes=10)).replace(second=0, microsecond=0)
        start += timedelta(minutes=(5 - start.minute % 5) % 5)
        soon = _place(patient=an, clinician=tran, starts_at=start)
        created.append(soon)

    def future_pair_missing(patient, clinician):
        return not Appointment.objects.filter(
            patient=patient, clinician=clinician, status=Appointment.Status.BOOKED, starts_at__gt=now
        ).exclude(pk=getattr(soon, "pk", None)).exists()

    if future_pair_missing(binh, nguyen):
        created.append(_place(patient=binh, clinician=nguyen, starts_at=_local("Asia/Ho_Chi_Minh", 2, 10)))
    if future_pair_missing(chi, tran):
        created.append(_place(patient=chi, clinician=tran, starts_at=_local("Asia/Ho_Chi_Minh", 4, 14)))
    if future_pair_missing(maria, smith):
        created.append(_place(patient=maria, clinician=smith, starts_at=_local("America/New_York", 3, 10)))
    if not Appointment.objects.filter(patient=james, clinician=smith, status=Appointment.Status.COMPLETED).exists():
        created.append(_place(patient=james, clinician=smith, starts_at=_local("America/New_York", -9, 11),
                              status=Appointment.Status.COMPLETED))
    if future_pair_missing(james, smith):
        created.append(_place(patient=james, clinician=smith, starts_at=_local("America/New_York", 6, 11)))

    if stdout is not None:
        made = [a for a in created if a is not None]
        stdout.write(f"Scheduling: hours for {len(people.clinicians)} psychiatrists; "
                     f"{len(made)} demo appointment(s) added.")
        if soon is not None:
            stdout.write(f"  Soon: {an.email} with {tran.email} at "
                         f"{soon.starts_at.astimezone(ZoneInfo('Asia/Ho_Chi_Minh')):%H:%M} Asia/Ho_Chi_Minh "
                         f"(appointment {soon.pk}; the room opens 15 minutes before).")
