"""Clinic admins see record metadata only: no envelope (body/answers) is ever shown, and nothing
here can change a note, an addendum or an audit event."""

from django.contrib import admin

from telepsych.common.admin import ClinicAdminReadOnly as ReadOnlyAdmin

from .models import AuditEvent, BreakGlassGrant, ClinicalNote, PatientFlag, QuestionnaireResponse


@admin.register(ClinicalNote)
class ClinicalNoteAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "status", "private", "patient", "author", "created_at", "signed_at")
    list_filter = ("kind", "status", "private")
    list_select_related = ("patient", "author")
    fields = ("id", "kind", "status", "private", "patient", "author", "appointment", "created_at",
              "updated_at", "signed_at")
    readonly_fields = fields


@admin.register(QuestionnaireResponse)
class QuestionnaireResponseAdmin(ReadOnlyAdmin):
    list_display = ("id", "instrument", "patient", "submitted_at")
    list_filter = ("instrument",)
    list_select_related = ("patient",)
    fields = ("id", "instrument", "patient", "request", "submitted_at")
    readonly_fields = fields


@admin.register(PatientFlag)
class PatientFlagAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "patient", "raised_at", "cleared_at")
    list_select_related = ("patient",)
    fields = ("id", "kind", "patient", "raised_at", "cleared_at", "cleared_by")
    readonly_fields = fields


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(ReadOnlyAdmin):
    list_display = ("id", "admin", "patient", "granted_at", "expires_at")
    list_select_related = ("admin", "patient")
    fields = ("id", "admin", "patient", "reason", "granted_at", "expires_at")
    readonly_fields = fields


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "occurred_at", "actor", "action", "object_type", "object_id", "patient",
                    "break_glass")
    list_filter = ("action", "object_type", "break_glass")
    list_select_related = ("actor", "patient")
    fields = ("seq", "occurred_at", "actor", "action", "object_type", "object_id", "patient", "ip",
              "break_glass", "prev_hash", "hash")
    readonly_fields = fields
