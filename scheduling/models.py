"""Availability, appointments and their history, reminders and license flags."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class SchedulingSettings(models.Model):
    """A clinician's booking settings, and the hash of their private calendar-feed token."""

    clinician = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduling_settings"
    )
    appointment_minutes = models.PositiveSmallIntegerField(_("appointment length (minutes)"), default=50)
    buffer_minutes = models.PositiveSmallIntegerField(_("buffer between appointments (minutes)"), default=10)
    min_notice_hours = models.PositiveSmallIntegerField(_("minimum notice (hours)"), default=12)
    horizon_days = models.PositiveSmallIntegerField(_("booking horizon (days)"), default=56)
    # sha256 of the feed token; the token itself is shown once. Null: no feed (revoked).
    feed_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(appointment_minutes__gte=10, appointment_minutes__lte=240),
                name="settings_appointment_length_range",
            ),
            models.CheckConstraint(condition=Q(buffer_minutes__lte=120), name="settings_buffer_range"),
            models.CheckConstraint(condition=Q(horizon_days__gte=1, horizon_days__lte=365),
                                   name="settings_horizon_range"),
        ]

    def __str__(self) -> str:
        return f"Scheduling settings for user {self.clinician_id}"


class AvailabilityRule(models.Model):
    """Weekly hours, as wall-clock times in the clinician's own time zone."""

    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_rules"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="rule_ends_after_start"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="rule_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class AvailabilityException(models.Model):
    """Time off for a range of whole days, or extra hours on one date (clinician's zone)."""

    class Kind(models.TextChoices):
        TIME_OFF = "time_off", _("Time off")
        EXTRA_HOURS = "extra_hours", _("Extra hours")

    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_exceptions"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))
    # Extra hours only.
    start_time = models.TimeField(_("from"), null=True, blank=True)
    end_time = models.TimeField(_("until"), null=True, blank=True)
    note = models.CharField(_("note (private)"), max_length=200, blank=True)

    class Meta:
        ordering = ["start_date", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="exception_dates_order"),
            models.CheckConstraint(
                condition=Q(kind="time_off", start_time__isnull=True, end_time__isnull=True)
                | Q(kind="extra_hours", end_date=F("start_date"), end_time__gt=F("start_time")),
                name="exception_kind_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start_date}–{self.end_date}"


class Appointment(models.Model):
    """One visit. On PostgreSQL, exclusion constraints (migration 0002) forbid two active
    appointments of one clinician, or of one patient, overlapping in time."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No-show")

    ACTIVE_STATUSES = (Status.BOOKED, Status.COMPLETED, Status.NO_SHOW)

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patient_appointments"
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinician_appointments"
    )
    # Where the patient will be during the visit; the clinician must be licensed there.
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancel_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["clinician", "starts_at"]),
            models.Index(fields=["patient", "starts_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="appointment_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.pk} ({self.get_status_display()})"


class AppointmentChange(models.Model):
    """History: who did what to an appointment, when, and (for a reschedule) from and to."""

    class Kind(models.TextChoices):
        BOOKED = "booked", _("Booked")
        RESCHEDULED = "rescheduled", _("Rescheduled")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("Marked as no-show")

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    from_starts_at = models.DateTimeField(null=True, blank=True)
    to_starts_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} appointment {self.appointment_id}"


class Reminder(models.Model):
    """One reminder email sent; the unique key makes a duplicate task or beat a no-op."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16)  # e.g. "24h", "1h"
    # A rescheduled appointment gets fresh reminders for its new time.
    starts_at = models.DateTimeField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["appointment", "kind", "starts_at"], name="reminder_once"),
        ]

    def __str__(self) -> str:
        return f"Reminder {self.kind} for appointment {self.appointment_id}"


class LicenseFlag(models.Model):
    """A future appointment that falls after the clinician's license for its region ends."""

    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="license_flag")
    flagged_at = models.DateTimeField()
    clinician_notified_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["flagged_at"]

    def __str__(self) -> str:
        return f"License flag on appointment {self.appointment_id}"
