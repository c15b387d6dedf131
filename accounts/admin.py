from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from telepsych.common.admin import ClinicAdminAccess

from .models import (
    ClinicianProfile,
    ConsentAcceptance,
    ConsentDocument,
    Invitation,
    License,
    PatientProfile,
    Region,
    User,
)
from .services import license_revoke, license_verify


@admin.register(User)
class UserAdmin(ClinicAdminAccess, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Person"), {"fields": ["first_name", "last_name", "role"]}),
        (_("Access"), {"fields": ["is_active", "is_staff", "is_superuser"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_superuser", "role"]
        return fields


@admin.register(Region)
class RegionAdmin(ClinicAdminAccess):
    list_display = ["code", "name", "country", "time_zone", "default_language", "emergency_number"]
    search_fields = ["code", "name"]


@admin.register(License)
class LicenseAdmin(ClinicAdminAccess):
    list_display = ["clinician", "region", "number", "valid_from", "valid_until", "status",
                    "verified_by", "verified_at"]
    list_filter = ["status", "region"]
    search_fields = ["number", "clinician__email", "clinician__last_name"]
    readonly_fields = ["status", "verified_by", "verified_at", "created_at"]
    autocomplete_fields = ["clinician"]
    actions = ["verify_selected", "revoke_selected"]

    @admin.action(description=_("Verify the selected licenses"))
    def verify_selected(self, request, queryset):
        for license in queryset.select_related("region"):
            license_verify(license=license, verified_by=request.user)
        messages.success(request, _("%(count)d licenses verified.") % {"count": queryset.count()})

    @admin.action(description=_("Revoke the selected licenses"))
    def revoke_selected(self, request, queryset):
        for license in queryset.select_related("region"):
            license_revoke(license=license, revoked_by=request.user)
        messages.success(request, _("%(count)d licenses revoked.") % {"count": queryset.count()})


@admin.register(ClinicianProfile)
class ClinicianProfileAdmin(ClinicAdminAccess):
    list_display = ["display_name", "user", "time_zone", "on_call"]
    list_filter = ["on_call"]


@admin.register(PatientProfile)
class PatientProfileAdmin(ClinicAdminAccess):
    # Patient details are PHI: the admin lists who and where only.
    list_display = ["user", "home_region"]
    fields = ["user", "home_region", "time_zone", "preferred_language"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(ClinicAdminAccess):
    list_display = ["version", "title", "published_at"]

    def get_readonly_fields(self, request, obj=None):
        # A published version never changes; publish a new version instead.
        return ["version", "title", "body_en", "body_vi", "published_at"] if obj else ["version"]

    def save_model(self, request, obj, form, change):
        if not change:
            from .services import consent_document_publish

            published = consent_document_publish(
                title=obj.title, body_en=obj.body_en, body_vi=obj.body_vi
            )
            obj.pk = published.pk
            obj.version = published.version

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ConsentAcceptance)
class ConsentAcceptanceAdmin(ClinicAdminAccess):
    list_display = ["patient", "document", "accepted_at"]
    readonly_fields = ["patient", "document", "accepted_at", "ip_address"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ClinicAdminAccess):
    list_display = ["email", "role", "invited_by", "created_at", "expires_at", "accepted_at"]
    readonly_fields = ["email", "role", "token_hash", "invited_by", "created_at", "expires_at",
                       "accepted_at", "accepted_user"]

    def has_add_permission(self, request) -> bool:
        return False
