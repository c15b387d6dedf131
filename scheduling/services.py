"""Writes for scheduling: availability, booking and the appointment lifecycle, reminders,
license-expiry flags, calendar-feed tokens."""

import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, OperationalError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import License, Region, User
from accounts.selectors import consent_is_current, license_is_valid, patient_profile_for

from .lock_objects import lock_clinician, lock_for_booking
from .models import (
    Appointment,
    AppointmentChange,
    AvailabilityException,
    AvailabilityRule,
    LicenseFlag,
    Reminder,
    SchedulingSettings,
)
from .selectors import (
    booking_region_for,
    cancel_window_hours,
    clinician_get_bookable,
    feed_token_hash,
    free_slots_for,
    scheduling_settings_for,
)

# PostgreSQL's SQLSTATE for a deadlock: a racing insert against the exclusion constraint.
DEADLOCK_DETECTED = "40P01"


class BookingRejected(Exception):
    """A booking, reschedule or cancellation the person can act on (shown as is)."""

    def __init__(self, message: str, code: str = "rejected"):
        super().__init__(message)
        self.message = message
        self.code = code


class SlotTaken(BookingRejected):
    """Someone else booked that time first (or it was never free)."""

    def __init__(self, message: str | None = None):
        super().__init__(message or _("That time was just taken. Please choose another time."), "taken")


def cancel_window() -> timedelta:
    return timedelta(hours=cancel_window_hours())


def site_url(path: str) -> str:
    return getattr(settings, "TELEPSYCH_SITE_URL", "http://127.0.0.1:8000").rstrip("/") + path


# --- Availability -------------------------------------------------------------------------------

def scheduling_settings_update(
    *, clinician: User, appointment_minutes: int, buffer_minutes: int, min_notice_hours: int,
    horizon_days: int,
) -> SchedulingSettings:
    with transaction.atomic():
        item, _created = SchedulingSettings.objects.select_for_update().get_or_create(clinician=clinician)
        item.appointment_minutes = appointment_minutes
        item.buffer_minutes = buffer_minutes
        item.min_notice_hours = min_notice_hours
        item.horizon_days = horizon_days
        item.full_clean()
        item.save()
    return item


def availability_rule_create(*, clinician: User, weekday: int, start_time: time, end_time: time) -> AvailabilityRule:
    if end_time <= start_time:
        raise ValidationError(_("The end time must be after the start time."))
    with transaction.atomic():
        lock_clinician(clinician_id=clinician.pk)
        clash = AvailabilityRule.objects.filter(
            clinician=clinician, weekday=weekday, start_time__lt=end_time, end_time__gt=start_time
        ).first()
        if clash is not None:
            raise ValidationError(
                _("These hours overlap your existing hours %(hours)s. Change or delete those first.")
                % {"hours": str(clash)}
            )
        return AvailabilityRule.objects.create(
            clinician=clinician, weekday=weekday, start_time=start_time, end_time=end_time
        )


def availability_rule_delete(*, clinician: User, rule_id: int) -> None:
    deleted, _rows = AvailabilityRule.objects.filter(clinician=clinician, pk=rule_id).delete()
    if not deleted:
        raise AvailabilityRule.DoesNotExist


def availability_exception_create(
    *, clinician: User, kind: str, start_date, end_date=None, start_time: time | None = None,
    end_time: time | None = None, note: str = "",
) -> AvailabilityException:
    if kind == AvailabilityException.Kind.TIME_OFF:
        end_date = end_date or start_date
        if end_date < start_date:
            raise ValidationError(_("The last day must be on or after the first day."))
        start_time = end_time = None
    elif kind == AvailabilityException.Kind.EXTRA_HOURS:
        end_date = start_date
        if start_time is None or end_time is None or end_time <= start_time:
            raise ValidationError(_("Extra hours need a start and an end time, the end after the start."))
    else:
        raise ValidationError(_("Choose time off or extra hours."))
    return AvailabilityException.objects.create(
        clinician=clinician, kind=kind, start_date=start_date, end_date=end_date,
        start_time=start_time, end_time=end_time, note=note,
    )


def availability_exception_delete(*, clinician: User, exception_id: int) -> None:
    deleted, _rows = AvailabilityException.objects.filter(clinician=clinician, pk=exception_id).delete()
    if not deleted:
        raise AvailabilityException.DoesNotExist


def calendar_feed_token_rotate(*, clinician: User) -> str:
    """A new private feed token (returned once; only its hash is stored). Old URLs stop working."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        item, _created = SchedulingSettings.objects.select_for_update().get_or_create(clinician=clinician)
        item.feed_token_hash = feed_token_hash(token)
        item.save(update_fields=["feed_token_hash", "updated_at"])
    return token


def calendar_feed_revoke(*, clinician: User) -> None:
    SchedulingSettings.objects.filter(clinician=clinician).update(feed_token_hash=None)


# --- Booking ------------------------------------------------------------------------------------

def _explain_unavailable(*, clinician: User, region: Region, starts_at: datetime, now: datetime,
                         ignore_notice: bool) -> BookingRejected:
    """Why a requested start is not a free slot, in words a patient can act on."""
    item = scheduling_settings_for(clinician=clinician)
    name = clinician.clinician_profile.display_name
    region_day = starts_at.astimezone(ZoneInfo(region.time_zone)).date()
    if not license_is_valid(clinician=clinician, region=region, on=region_day):
        return BookingRejected(
            _("%(name)s is not licensed in %(region)s on %(day)s; choose another clinician or date.")
            % {"name": name, "region": region.name, "day": region_day.strftime("%d %b %Y")},
            "license",
        )
    if not ignore_notice and starts_at < now + timedelta(hours=item.min_notice_hours):
        return BookingRejected(
            _("%(name)s needs at least %(hours)s hours' notice. Please choose a later time.")
            % {"name": name, "hours": item.min_notice_hours}, "notice",
        )
    if starts_at > now + timedelta(days=item.horizon_days):
        return BookingRejected(
            _("%(name)s takes bookings up to %(days)s days ahead. Please choose an earlier time.")
            % {"name": name, "days": item.horizon_days}, "horizon",
        )
    return SlotTaken()


def _require_slot(*, clinician: User, region: Region, starts_at: datetime, now: datetime,
                  exclude_appointment_id: int | None = None, ignore_notice: bool = False):
    slots = free_slots_for(
        clinician=clinician, region=region, start=starts_at, end=starts_at + timedelta(seconds=1),
        now=now, exclude_appointment_id=exclude_appointment_id, ignore_notice=ignore_notice,
    )
    if not slots or slots[0].starts_at != starts_at:
        raise _explain_unavailable(clinician=clinician, region=region, starts_at=starts_at, now=now,
                                   ignore_notice=ignore_notice)
    return slots[0]


def _patient_is_busy(*, patient_id: int, starts_at: datetime, ends_at: datetime,
                     exclude_appointment_id: int | None = None) -> bool:
    clash = Appointment.objects.filter(
        patient_id=patient_id, status__in=Appointment.ACTIVE_STATUSES,
        starts_at__lt=ends_at, ends_at__gt=starts_at,
    )
    if exclude_appointment_id is not None:
        clash = clash.exclude(pk=exclude_appointment_id)
    return clash.exists()


def _rejection_from_database_error(error: Exception) -> BookingRejected | None:
    """The exclusion constraints (or a deadlock between racing inserts) mean: the time is gone."""
    if isinstance(error, IntegrityError):
        if "appointment_no_patient_overlap" in str(error):
            return BookingRejected(_("You already have an appointment at that time."), "patient_busy")
        if "overlap" in str(error):
            return SlotTaken()
        return None
    cause = getattr(error, "__cause__", None)
    if getattr(cause, "sqlstate", None) == DEADLOCK_DETECTED:
        return SlotTaken()
    if "database is locked" in str(error):  # SQLite: the write lock wait timed out under load
        return BookingRejected(_("We could not book that time just now. Please try again."), "busy")
    return None


def appointment_book(
    *, patient: User, clinician_id: int, starts_at: datetime, region: Region | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Book a free slot. Re-checks consent, license for the patient's region on that date,
    notice, horizon, and that the slot is free; raises BookingRejected (SlotTaken on a lost race)."""
    now = now or timezone.now()
    if not patient.is_patient:
        raise PermissionDenied
    if not consent_is_current(patient=patient):
        raise BookingRejected(_("Please accept the telehealth consent before booking."), "consent")
    region = region or booking_region_for(patient=patient)
    if region is None:
        raise BookingRejected(_("Please complete your profile before booking."), "profile")
    clinician = clinician_get_bookable(clinician_id=clinician_id)
    try:
        with transaction.atomic():
            lock_for_booking(clinician_id=clinician.pk, patient_id=patient.pk)
            slot = _require_slot(clinician=clinician, region=region, starts_at=starts_at, now=now)
            if _patient_is_busy(patient_id=patient.pk, starts_at=slot.starts_at, ends_at=slot.ends_at):
                raise BookingRejected(_("You already have an appointment at that time."), "patient_busy")
            appointment = Appointment.objects.create(
                patient=patient, clinician=clinician, region=region,
                starts_at=slot.starts_at, ends_at=slot.ends_at,
            )
            AppointmentChange.objects.create(
                appointment=appointment, kind=AppointmentChange.Kind.BOOKED, by=patient, at=now,
                to_starts_at=slot.starts_at,
            )
    except (IntegrityError, OperationalError) as error:
        rejection = _rejection_from_database_error(error)
        if rejection is None:
            raise
        raise rejection from error
    return appointment


def _locked_appointment(*, appointment_id: int, by: User) -> Appointment:
    """Lock the people first (same order as booking), then the appointment row."""
    found = Appointment.objects.filter(pk=appointment_id).values_list("patient_id", "clinician_id").first()
    if found is None or by.pk not in found:
        raise PermissionDenied
    lock_for_booking(clinician_id=found[1], patient_id=found[0])
    return Appointment.objects.select_for_update().select_related("patient", "region").get(pk=appointment_id)


def _policy_check(*, appointment: Appointment, by: User, now: datetime) -> None:
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingRejected(_("Only a booked appointment can be changed."), "status")
    if by.pk == appointment.patient_id and appointment.starts_at - now < cancel_window():
        hours = int(cancel_window().total_seconds() // 3600)
        raise BookingRejected(
            _("Appointments can be changed or cancelled online up to %(hours)s hours before they "
              "start. Please contact the clinic.") % {"hours": hours},
            "policy",
        )


def appointment_cancel(*, appointment_id: int, by: User, reason: str = "",
                       now: datetime | None = None) -> Appointment:
    """The patient (outside the policy window) or the clinician (any time, with a reason)."""
    now = now or timezone.now()
    reason = reason.strip()
    with transaction.atomic():
        appointment = _locked_appointment(appointment_id=appointment_id, by=by)
        _policy_check(appointment=appointment, by=by, now=now)
        if by.pk == appointment.clinician_id and not reason:
            raise BookingRejected(_("Please give the patient a reason for cancelling."), "reason")
        appointment.status = Appointment.Status.CANCELLED
        appointment.cancelled_at = now
        appointment.cancelled_by = by
        appointment.cancel_reason = reason[:500]
        appointment.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
        AppointmentChange.objects.create(
            appointment=appointment, kind=AppointmentChange.Kind.CANCELLED, by=by, at=now,
            from_starts_at=appointment.starts_at, reason=reason[:500],
        )
        _notify_other_party_on_commit(appointment=appointment, by=by, kind="cancelled")
    return appointment


def appointment_reschedule(*, appointment_id: int, by: User, starts_at: datetime,
                           now: datetime | None = None) -> Appointment:
    """Move a booked appointment to another free slot of the same clinician; history keeps
    who, when, from and to. Patients are bound by the policy window and notice; clinicians not."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            appointment = _locked_appointment(appointment_id=appointment_id, by=by)
            _policy_check(appointment=appointment, by=by, now=now)
            clinician = clinician_get_bookable(clinician_id=appointment.clinician_id)
            slot = _require_slot(
                clinician=clinician, region=appointment.region, starts_at=starts_at, now=now,
                exclude_appointment_id=appointment.pk, ignore_notice=by.pk == clinician.pk,
            )
            if _patient_is_busy(patient_id=appointment.patient_id, starts_at=slot.starts_at,
                                ends_at=slot.ends_at, exclude_appointment_id=appointment.pk):
                raise BookingRejected(_("The patient already has an appointment at that time."),
                                      "patient_busy")
            previous = appointment.starts_at
            appointment.starts_at, appointment.ends_at = slot.starts_at, slot.ends_at
            appointment.save(update_fields=["starts_at", "ends_at"])
            AppointmentChange.objects.create(
                appointment=appointment, kind=AppointmentChange.Kind.RESCHEDULED, by=by, at=now,
                from_starts_at=previous, to_starts_at=slot.starts_at,
            )
            # A flag for the old date no longer applies; the daily job re-checks the new one.
            LicenseFlag.objects.filter(appointment=appointment, resolved_at__isnull=True).update(resolved_at=now)
            _notify_other_party_on_commit(appointment=appointment, by=by, kind="rescheduled")
    except (IntegrityError, OperationalError) as error:
        rejection = _rejection_from_database_error(error)
        if rejection is None:
            raise
        raise rejection from error
    return appointment


def appointment_mark_no_show(*, appointment_id: int, by: User, now: datetime | None = None) -> Appointment:
    now = now or timezone.now()
    with transaction.atomic():
        appointment = _locked_appointment(appointment_id=appointment_id, by=by)
        if by.pk != appointment.clinician_id:
            raise PermissionDenied
        if appointment.status != Appointment.Status.BOOKED:
            raise BookingRejected(_("Only a booked appointment can be marked as a no-show."), "status")
        if now < appointment.starts_at:
            raise BookingRejected(_("You can mark a no-show once the appointment has started."), "early")
        appointment.status = Appointment.Status.NO_SHOW
        appointment.save(update_fields=["status"])
        AppointmentChange.objects.create(
            appointment=appointment, kind=AppointmentChange.Kind.NO_SHOW, by=by, at=now,
            from_starts_at=appointment.starts_at,
        )
    return appointment


def appointment_complete(*, appointment_id: int, by: User) -> Appointment:
    """The clinician ends the visit: the appointment is completed (idempotent)."""
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment_id)
        if appointment.clinician_id != by.pk:
            raise ValidationError(_("Only the treating clinician can complete this appointment."))
        if appointment.status == Appointment.Status.COMPLETED:
            return appointment
        if appointment.status != Appointment.Status.BOOKED:
            raise ValidationError(_("Only a booked appointment can be completed."))
        appointment.status = Appointment.Status.COMPLETED
        appointment.save(update_fields=["status"])
    return appointment


# --- Emails -------------------------------------------------------------------------------------

def _notify_other_party_on_commit(*, appointment: Appointment, by: User, kind: str) -> None:
    from .tasks import send_appointment_notice

    recipient_id = appointment.patient_id if by.pk == appointment.clinician_id else appointment.clinician_id
    send_appointment_notice.delay_on_commit(appointment.pk, recipient_id, kind)


def _language_for(user: User) -> str:
    profile = patient_profile_for(user=user) if user.is_patient else None
    return profile.preferred_language if profile else settings.LANGUAGE_CODE


def _send_short_email(*, user: User, template: str, link: str) -> None:
    """Emails carry no PHI beyond the first name and a link."""
    with translation.override(_language_for(user)):
        context = {"first_name": user.first_name, "link": link}
        subject = render_to_string(f"scheduling/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"scheduling/email/{template}.txt", context)
    send_mail(subject, body, None, [user.email])


def appointment_notice_send(*, appointment_id: int, recipient_id: int, kind: str) -> None:
    recipient = User.objects.filter(pk=recipient_id, is_active=True).first()
    if recipient is None:
        return
    template = "changed" if kind in {"cancelled", "rescheduled"} else kind
    _send_short_email(user=recipient, template=template,
                      link=site_url(reverse("scheduling:appointment", args=[appointment_id])))


# --- Reminders ----------------------------------------------------------------------------------

def reminder_offsets() -> list[tuple[str, timedelta]]:
    """[("24h", 24 h), ("1h", 1 h)], largest first, from TELEPSYCH_REMINDER_HOURS."""
    hours = sorted(getattr(settings, "TELEPSYCH_REMINDER_HOURS", (24, 1)), reverse=True)
    return [(f"{h:g}h", timedelta(hours=h)) for h in hours]


@dataclass(frozen=True)
class DueReminder:
    appointment_id: int
    kind: str
    starts_at: datetime


def reminders_due(*, now: datetime | None = None) -> list[DueReminder]:
    """Booked appointments inside a reminder's window with no reminder of that kind yet. Only the
    nearest window counts: an appointment booked 3 h ahead gets the 1 h reminder only."""
    now = now or timezone.now()
    offsets = reminder_offsets()
    if not offsets:
        return []
    largest = offsets[0][1]
    candidates = Appointment.objects.filter(
        status=Appointment.Status.BOOKED, starts_at__gt=now, starts_at__lte=now + largest
    ).values_list("pk", "starts_at")
    sent = set(Reminder.objects.filter(
        appointment_id__in=[pk for pk, _s in candidates]
    ).values_list("appointment_id", "kind", "starts_at"))
    due = []
    for pk, starts_at in candidates:
        kind = next(name for name, offset in reversed(offsets) if starts_at - now <= offset)
        if (pk, kind, starts_at) not in sent:
            due.append(DueReminder(pk, kind, starts_at))
    return due


def reminder_send(*, appointment_id: int, kind: str, now: datetime | None = None) -> bool:
    """Send one reminder exactly once. The unique row is inserted in the same transaction as the
    send: a concurrent duplicate waits on the row and then fails the unique check; a failed send
    rolls the row back so a retry can send it. Returns whether this call sent it."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            appointment = (
                Appointment.objects.select_related("patient")
                .filter(pk=appointment_id, status=Appointment.Status.BOOKED, starts_at__gt=now).first()
            )
            if appointment is None:
                return False
            Reminder.objects.create(appointment=appointment, kind=kind,
                                    starts_at=appointment.starts_at, sent_at=now)
            _send_short_email(
                user=appointment.patient, template="reminder",
                link=site_url(reverse("scheduling:appointment", args=[appointment.pk])),
            )
    except IntegrityError:
        return False
    return True


# --- License expiry -----------------------------------------------------------------------------

def license_expiry_check(*, now: datetime | None = None) -> list[LicenseFlag]:
    """Flag booked future appointments that fall on a day the clinician holds no verified license
    for the appointment's region. Flags are shown to clinic admins; the clinician gets one email
    per flag. Idempotent: a second run changes nothing. A renewed license resolves the flag; a
    license that lapses again reopens it (and tells the clinician again). Returns the flags
    raised or reopened by this run."""
    from .tasks import notify_clinician_of_license_flag

    now = now or timezone.now()
    future = list(
        Appointment.objects.filter(status=Appointment.Status.BOOKED, starts_at__gt=now)
        .select_related("region", "license_flag")
    )
    licenses: dict[tuple[int, int], list[tuple]] = {}
    for row in License.objects.filter(
        clinician_id__in={a.clinician_id for a in future}, status=License.Status.VERIFIED
    ).values_list("clinician_id", "region_id", "valid_from", "valid_until"):
        licenses.setdefault((row[0], row[1]), []).append((row[2], row[3]))
    raised = []
    for appointment in future:
        day = appointment.starts_at.astimezone(ZoneInfo(appointment.region.time_zone)).date()
        ranges = licenses.get((appointment.clinician_id, appointment.region_id), [])
        licensed = any(first <= day <= last for first, last in ranges)
        flag = getattr(appointment, "license_flag", None)
        if licensed:
            if flag is not None and flag.resolved_at is None:
                LicenseFlag.objects.filter(pk=flag.pk, resolved_at__isnull=True).update(resolved_at=now)
            continue
        with transaction.atomic():
            flag, was_created = LicenseFlag.objects.select_for_update().get_or_create(
                appointment=appointment, defaults={"flagged_at": now}
            )
            if not was_created and flag.resolved_at is None:
                continue
            if not was_created:
                flag.flagged_at, flag.resolved_at, flag.clinician_notified_at = now, None, None
                flag.save(update_fields=["flagged_at", "resolved_at", "clinician_notified_at"])
            raised.append(flag)
            notify_clinician_of_license_flag.delay_on_commit(flag.pk)
    return raised


def license_flag_notify_clinician(*, flag_id: int, now: datetime | None = None) -> bool:
    """Tell the clinician once (recorded on the flag)."""
    now = now or timezone.now()
    with transaction.atomic():
        flag = (
            LicenseFlag.objects.select_for_update().select_related("appointment__clinician")
            .filter(pk=flag_id, clinician_notified_at__isnull=True).first()
        )
        if flag is None:
            return False
        flag.clinician_notified_at = now
        flag.save(update_fields=["clinician_notified_at"])
        _send_short_email(user=flag.appointment.clinician, template="license_flag",
                          link=site_url(reverse("scheduling:agenda")))
    return True
