"""Reads for scheduling, each with its access check."""

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from accounts.models import License, Region, User
from accounts.selectors import patient_profile_for

from .models import (
    Appointment,
    AppointmentChange,
    AvailabilityException,
    AvailabilityRule,
    LicenseFlag,
    SchedulingSettings,
)
from .slots import (
    ClinicianSchedule,
    ExtraHours,
    Slot,
    TimeOff,
    WeeklyHours,
    free_slots,
    next_free_slot,
)

DEFAULTS = SchedulingSettings()  # unsaved: the defaults for a clinician who never saved settings


def appointment_get_for_user(*, user: User, appointment_id: int) -> Appointment:
    """The appointment if `user` is its patient or clinician; 404 for anyone else."""
    if not user.is_authenticated:
        raise Http404
    appointment = (
        Appointment.objects.select_related("patient", "clinician", "region")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None or user.pk not in (appointment.patient_id, appointment.clinician_id):
        raise Http404
    return appointment


def clinician_treats_patient(*, clinician: User, patient: User) -> bool:
    """A care relationship: at least one appointment, past or future, not cancelled."""
    return (
        Appointment.objects.filter(clinician=clinician, patient=patient)
        .exclude(status=Appointment.Status.CANCELLED)
        .exists()
    )


def treating_clinicians_for(*, patient: User) -> QuerySet[User]:
    return User.objects.filter(
        role=User.Role.CLINICIAN,
        clinician_appointments__patient=patient,
        clinician_appointments__status__in=Appointment.ACTIVE_STATUSES,
    ).distinct()


# --- Availability -------------------------------------------------------------------------------

def scheduling_settings_for(*, clinician: User) -> SchedulingSettings:
    """The clinician's settings, or unsaved defaults."""
    found = SchedulingSettings.objects.filter(clinician=clinician).first()
    return found or SchedulingSettings(clinician=clinician)


def availability_for(*, clinician: User) -> tuple[QuerySet[AvailabilityRule], QuerySet[AvailabilityException]]:
    rules = AvailabilityRule.objects.filter(clinician=clinician)
    exceptions = AvailabilityException.objects.filter(clinician=clinician)
    return rules, exceptions


def clinician_time_zone(*, clinician: User) -> ZoneInfo:
    profile = getattr(clinician, "clinician_profile", None)
    return ZoneInfo(profile.time_zone if profile and profile.time_zone else "UTC")


def schedules_for(
    *, clinicians: list[User], region: Region, window_start: datetime, window_end: datetime,
    exclude_appointment_id: int | None = None,
) -> dict[int, ClinicianSchedule]:
    """Everything the slot arithmetic needs for these clinicians, in four queries whatever their
    number. `clinicians` must come with `clinician_profile` and `scheduling_settings` joined
    (see `_clinicians_with_profiles`)."""
    ids = [c.pk for c in clinicians]
    region_zone = ZoneInfo(region.time_zone)
    schedules: dict[int, ClinicianSchedule] = {}
    for clinician in clinicians:
        own = getattr(clinician, "scheduling_settings", None) or DEFAULTS
        schedules[clinician.pk] = ClinicianSchedule(
            clinician_id=clinician.pk,
            zone=clinician_time_zone(clinician=clinician),
            appointment_minutes=own.appointment_minutes,
            buffer_minutes=own.buffer_minutes,
            min_notice=timedelta(hours=own.min_notice_hours),
            horizon=timedelta(days=own.horizon_days),
        )
    for clinician_id, weekday, start_time, end_time in AvailabilityRule.objects.filter(
        clinician_id__in=ids
    ).values_list("clinician_id", "weekday", "start_time", "end_time"):
        schedules[clinician_id].weekly.append(WeeklyHours(weekday, start_time, end_time))
    first_day = (window_start - timedelta(days=1)).date()
    last_day = (window_end + timedelta(days=1)).date()
    for item in AvailabilityException.objects.filter(
        clinician_id__in=ids, end_date__gte=first_day, start_date__lte=last_day
    ):
        schedule = schedules[item.clinician_id]
        if item.kind == AvailabilityException.Kind.TIME_OFF:
            schedule.time_off.append(TimeOff(item.start_date, item.end_date))
        else:
            schedule.extra.append(ExtraHours(item.start_date, item.start_time, item.end_time))
    margin = timedelta(hours=6)  # covers the largest buffer
    busy = Appointment.objects.filter(
        clinician_id__in=ids,
        status__in=Appointment.ACTIVE_STATUSES,
        ends_at__gt=window_start - margin,
        starts_at__lt=window_end + margin,
    )
    if exclude_appointment_id is not None:
        busy = busy.exclude(pk=exclude_appointment_id)
    for clinician_id, starts_at, ends_at in busy.values_list("clinician_id", "starts_at", "ends_at"):
        schedules[clinician_id].busy.append((starts_at, ends_at))
    for clinician_id, valid_from, valid_until in License.objects.filter(
        clinician_id__in=ids,
        region=region,
        status=License.Status.VERIFIED,
        valid_until__gte=window_start.astimezone(region_zone).date() - timedelta(days=1),
        valid_from__lte=window_end.astimezone(region_zone).date() + timedelta(days=1),
    ).values_list("clinician_id", "valid_from", "valid_until"):
        schedules[clinician_id].licensed.append((valid_from, valid_until))
    return schedules


def _clinicians_with_profiles() -> QuerySet[User]:
    return User.objects.filter(role=User.Role.CLINICIAN, is_active=True).select_related(
        "clinician_profile", "scheduling_settings"
    )


def clinician_get_bookable(*, clinician_id: int) -> User:
    """An active clinician, with profile and settings joined; 404 otherwise."""
    clinician = _clinicians_with_profiles().filter(pk=clinician_id).first()
    if clinician is None:
        raise Http404
    return clinician


def free_slots_for(
    *, clinician: User, region: Region, start: datetime, end: datetime, now: datetime | None = None,
    exclude_appointment_id: int | None = None, ignore_notice: bool = False,
) -> list[Slot]:
    """Free slots of one clinician for a patient in `region`, starting in [start, end).
    Pass the clinician as `clinician_get_bookable` returns it (profile and settings joined)."""
    now = now or timezone.now()
    schedule = schedules_for(
        clinicians=[clinician], region=region, window_start=start, window_end=end,
        exclude_appointment_id=exclude_appointment_id,
    )[clinician.pk]
    return free_slots(schedule, region_zone=ZoneInfo(region.time_zone), window_start=start,
                      window_end=end, now=now, ignore_notice=ignore_notice)


def clinician_is_licensed_in(*, clinician: User, region: Region) -> bool:
    """Any verified license for the region, whatever its dates (slots check each date)."""
    return License.objects.filter(clinician=clinician, region=region, status=License.Status.VERIFIED).exists()


def cancel_window_hours() -> int:
    return getattr(settings, "TELEPSYCH_CANCEL_WINDOW_HOURS", 24)


def booking_region_for(*, patient: User) -> Region | None:
    """Where the patient will be for visits booked now: their home region."""
    profile = patient_profile_for(user=patient)
    return profile.home_region if profile else None


@dataclass(frozen=True)
class ClinicianCard:
    clinician: User
    display_name: str
    languages: list[str]
    bio: str
    next_slot: Slot | None


def clinician_cards_for(
    *, region: Region, language: str | None = None, now: datetime | None = None,
    weeks: int = 8,
) -> list[ClinicianCard]:
    """Clinicians with a verified license for `region` valid on some day of the next `weeks`
    weeks, with their next free slot. A fixed number of queries whatever their number."""
    now = now or timezone.now()
    end = now + timedelta(weeks=weeks)
    today = now.astimezone(ZoneInfo(region.time_zone)).date()
    licensed_ids = License.objects.filter(
        region=region, status=License.Status.VERIFIED,
        valid_until__gte=today, valid_from__lte=today + timedelta(weeks=weeks),
    ).values("clinician_id")
    clinicians = list(_clinicians_with_profiles().filter(pk__in=licensed_ids).order_by("last_name", "pk"))
    if language:
        clinicians = [c for c in clinicians if language in (c.clinician_profile.languages or [])]
    if not clinicians:
        return []
    schedules = schedules_for(clinicians=clinicians, region=region, window_start=now, window_end=end)
    zone = ZoneInfo(region.time_zone)
    cards = []
    for clinician in clinicians:
        profile = clinician.clinician_profile
        cards.append(ClinicianCard(
            clinician=clinician,
            display_name=profile.display_name,
            languages=list(profile.languages or []),
            bio=profile.bio,
            next_slot=next_free_slot(schedules[clinician.pk], region_zone=zone, window_start=now,
                                     window_end=end, now=now),
        ))
    return cards


def all_free_slots_in_region(*, region: Region, now: datetime, weeks: int = 8) -> dict[int, list[Slot]]:
    """Every free slot of every clinician licensed in `region` (the benchmark's search)."""
    end = now + timedelta(weeks=weeks)
    today = now.astimezone(ZoneInfo(region.time_zone)).date()
    licensed_ids = License.objects.filter(
        region=region, status=License.Status.VERIFIED,
        valid_until__gte=today, valid_from__lte=today + timedelta(weeks=weeks),
    ).values("clinician_id")
    clinicians = list(_clinicians_with_profiles().filter(pk__in=licensed_ids))
    schedules = schedules_for(clinicians=clinicians, region=region, window_start=now, window_end=end)
    zone = ZoneInfo(region.time_zone)
    return {
        pk: free_slots(schedule, region_zone=zone, window_start=now, window_end=end, now=now)
        for pk, schedule in schedules.items()
    }


# --- Appointments -------------------------------------------------------------------------------

def _join_opens_before() -> timedelta:
    return timedelta(minutes=getattr(settings, "TELEPSYCH_JOIN_OPENS_MINUTES_BEFORE", 15))


def _join_closes_after() -> timedelta:
    return timedelta(minutes=getattr(settings, "TELEPSYCH_JOIN_CLOSES_MINUTES_AFTER", 30))


def join_window_is_open(*, appointment: Appointment, now: datetime | None = None) -> bool:
    """Whether lists show the Join link: the same window the video room enforces (the sessions
    app owns the room; both read TELEPSYCH_JOIN_OPENS_MINUTES_BEFORE / _CLOSES_MINUTES_AFTER)."""
    now = now or timezone.now()
    return (
        appointment.status == Appointment.Status.BOOKED
        and appointment.starts_at - _join_opens_before() <= now < appointment.ends_at + _join_closes_after()
    )


def appointments_for_patient(*, patient: User, now: datetime | None = None) -> tuple[list[Appointment], list[Appointment]]:
    """(upcoming, past) for the patient's own list; upcoming soonest first, past newest first."""
    now = now or timezone.now()
    base = Appointment.objects.filter(patient=patient).select_related(
        "clinician__clinician_profile", "region"
    )
    # A booked visit stays "upcoming" while its room can still be joined.
    still_open = now - _join_closes_after()
    upcoming = list(base.filter(ends_at__gt=still_open, status=Appointment.Status.BOOKED).order_by("starts_at"))
    past = list(
        base.filter(Q(ends_at__lte=still_open) | ~Q(status=Appointment.Status.BOOKED)).order_by("-starts_at")[:50]
    )
    for appointment in upcoming:
        appointment.join_open = join_window_is_open(appointment=appointment, now=now)
    return upcoming, past


def upcoming_for_patient(*, patient: User, now: datetime | None = None, limit: int = 5) -> list[Appointment]:
    return appointments_for_patient(patient=patient, now=now)[0][:limit]


def agenda_for(*, clinician: User, start: datetime, end: datetime, now: datetime | None = None) -> list[Appointment]:
    """The clinician's own active appointments starting in [start, end)."""
    now = now or timezone.now()
    appointments = list(
        Appointment.objects.filter(
            clinician=clinician, starts_at__gte=start, starts_at__lt=end,
            status__in=Appointment.ACTIVE_STATUSES,
        ).select_related("patient", "region", "license_flag").order_by("starts_at")
    )
    for appointment in appointments:
        appointment.join_open = join_window_is_open(appointment=appointment, now=now)
    return appointments


def local_day_bounds(*, day: date, zone: ZoneInfo, days: int = 1) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=days), datetime.min.time(), tzinfo=zone)
    return start, end


def todays_appointments_for(*, clinician: User, now: datetime | None = None) -> list[Appointment]:
    now = now or timezone.now()
    zone = clinician_time_zone(clinician=clinician)
    start, end = local_day_bounds(day=now.astimezone(zone).date(), zone=zone)
    return agenda_for(clinician=clinician, start=start, end=end, now=now)


@dataclass(frozen=True)
class CaseloadEntry:
    patient: User
    last_at: datetime | None
    next_at: datetime | None


def caseload_for(*, viewer: User, clinician_id: int, now: datetime | None = None) -> list[CaseloadEntry]:
    """The clinician's patients with their last and next appointment. Only the clinician
    themself and clinic admins may look; anyone else gets 404."""
    if not (viewer.is_authenticated and (viewer.pk == clinician_id or viewer.is_clinic_admin)):
        raise Http404
    now = now or timezone.now()
    mine = Appointment.objects.filter(clinician_id=clinician_id, patient=OuterRef("pk"))
    last = mine.filter(starts_at__lt=now, status__in=Appointment.ACTIVE_STATUSES).order_by("-starts_at")
    upcoming = mine.filter(starts_at__gte=now, status=Appointment.Status.BOOKED).order_by("starts_at")
    patients = (
        User.objects.filter(
            pk__in=Appointment.objects.filter(clinician_id=clinician_id)
            .exclude(status=Appointment.Status.CANCELLED).values("patient_id")
        )
        .annotate(
            last_at=Subquery(last.values("starts_at")[:1]),
            next_at=Subquery(upcoming.values("starts_at")[:1]),
        )
        .order_by("last_name", "first_name", "pk")
    )
    return [CaseloadEntry(p, p.last_at, p.next_at) for p in patients]


def appointment_history(*, appointment: Appointment) -> QuerySet[AppointmentChange]:
    """History of an appointment already fetched with an access check."""
    return appointment.changes.select_related("by").order_by("at", "pk")


def admin_appointments(
    *, viewer: User, region_code: str | None = None, status: str | None = None,
    limit: int = 200,
) -> QuerySet[Appointment]:
    if not (viewer.is_authenticated and viewer.is_clinic_admin):
        raise Http404
    found = Appointment.objects.select_related(
        "patient", "clinician__clinician_profile", "region", "license_flag"
    ).order_by("-starts_at")
    if region_code:
        found = found.filter(region__code=region_code)
    if status:
        found = found.filter(status=status)
    return found[:limit]


def admin_appointment_counts(*, viewer: User) -> dict[str, dict[str, int]]:
    """{region code: {status: count}} over all appointments."""
    if not (viewer.is_authenticated and viewer.is_clinic_admin):
        raise Http404
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    rows = Appointment.objects.values("region__code", "status").annotate(n=Count("pk")).order_by("region__code")
    for row in rows:
        counts[row["region__code"]][row["status"]] = row["n"]
    return dict(counts)


def clinicians_for_admin(*, viewer: User) -> QuerySet[User]:
    if not (viewer.is_authenticated and viewer.is_clinic_admin):
        raise Http404
    return User.objects.filter(role=User.Role.CLINICIAN).select_related("clinician_profile").order_by(
        "last_name", "first_name", "pk")


def license_flags_open(*, viewer: User) -> QuerySet[LicenseFlag]:
    if not (viewer.is_authenticated and viewer.is_clinic_admin):
        raise Http404
    return LicenseFlag.objects.filter(
        resolved_at__isnull=True, appointment__status=Appointment.Status.BOOKED
    ).select_related("appointment__clinician__clinician_profile", "appointment__region")


_REVISION = Count("changes", filter=Q(changes__kind=AppointmentChange.Kind.RESCHEDULED))


# --- Calendar feed -------------------------------------------------------------------------------

def feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def clinician_for_feed_token(*, token: str) -> User | None:
    found = (
        SchedulingSettings.objects.select_related("clinician")
        .filter(feed_token_hash=feed_token_hash(token), clinician__is_active=True)
        .first()
    )
    return found.clinician if found else None


def feed_appointments_for(*, clinician: User, now: datetime | None = None) -> QuerySet[Appointment]:
    now = now or timezone.now()
    return Appointment.objects.filter(
        clinician=clinician, status=Appointment.Status.BOOKED,
        ends_at__gte=now - timedelta(days=30), starts_at__lte=now + timedelta(days=366),
    ).annotate(revision=_REVISION).order_by("starts_at")


def appointment_revision(*, appointment: Appointment) -> int:
    """How many times it was rescheduled (the iCalendar SEQUENCE)."""
    return appointment.changes.filter(kind=AppointmentChange.Kind.RESCHEDULED).count()
