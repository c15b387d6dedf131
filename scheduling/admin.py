from django.contrib import admin

from telepsych.common.admin import ClinicAdminAccess, ClinicAdminReadOnly

from .models import (
    Appointment,
    AppointmentChange,
    AvailabilityException,
    AvailabilityRule,
    LicenseFlag,
    Reminder,
    SchedulingSettings,
)


class AppointmentChangeInline(admin.TabularInline):
    model = AppointmentChange
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "by", "at", "from_starts_at", "to_starts_at", "reason"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(ClinicAdminReadOnly):
    """History and the overlap guarantees live in the services: the admin only reads."""

    list_display = ["pk", "starts_at", "clinician", "region", "status"]
    list_filter = ["status", "region"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["patient", "clinician", "cancelled_by"]
    inlines = [AppointmentChangeInline]


@admin.register(AvailabilityRule)
class AvailabilityRuleAdmin(ClinicAdminAccess):
    list_display = ["clinician", "weekday", "start_time", "end_time"]
    list_filter = ["weekday"]


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(ClinicAdminAccess):
    list_display = ["clinician", "kind", "start_date", "end_date", "start_time", "end_time"]


@admin.register(SchedulingSettings)
class SchedulingSettingsAdmin(ClinicAdminAccess):
    list_display = ["clinician", "appointment_minutes", "buffer_minutes", "min_notice_hours", "horizon_days"]
    exclude = ["feed_token_hash"]


@admin.register(LicenseFlag)
class LicenseFlagAdmin(ClinicAdminAccess):
    list_display = ["appointment", "flagged_at", "clinician_notified_at", "resolved_at"]
    readonly_fields = ["appointment", "flagged_at", "clinician_notified_at"]


@admin.register(Reminder)
class ReminderAdmin(ClinicAdminAccess):
    list_display = ["appointment", "kind", "starts_at", "sent_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False
