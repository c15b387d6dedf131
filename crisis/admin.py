import re

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telepsych.common.admin import ClinicAdminAccess, ClinicAdminReadOnly

from .models import CrisisEvent, CrisisResource, CrisisSignal, Notification, RiskRule
from .services import risk_rules_changed


@admin.register(CrisisResource)
class CrisisResourceAdmin(ClinicAdminAccess):
    list_display = ("name", "region", "kind", "phone", "sms", "verified", "last_verified", "stale")
    list_filter = ("region", "kind", "verified")
    search_fields = ("name", "name_vi", "phone")
    actions = ["mark_verified_today"]

    @admin.display(boolean=True, description=_("needs checking (6 months)"))
    def stale(self, obj: CrisisResource) -> bool:
        return obj.is_stale()

    @admin.action(description=_("Mark as verified today"))
    def mark_verified_today(self, request, queryset):
        queryset.update(verified=True, last_verified=timezone.localdate())


class RiskRuleForm(forms.ModelForm):
    class Meta:
        model = RiskRule
        fields = ("language", "kind", "pattern", "active", "note")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == RiskRule.Kind.REGEX and cleaned.get("pattern"):
            try:
                re.compile(cleaned["pattern"])
            except re.error as exc:
                self.add_error("pattern", _("This is not a valid regular expression: %s") % exc)
        return cleaned


@admin.register(RiskRule)
class RiskRuleAdmin(ClinicAdminAccess):
    form = RiskRuleForm
    list_display = ("pattern", "language", "kind", "active", "note")
    list_filter = ("language", "kind", "active")
    search_fields = ("pattern", "note")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        risk_rules_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        risk_rules_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        risk_rules_changed()


class CrisisSignalInline(admin.TabularInline):
    model = CrisisSignal
    extra = 0
    can_delete = False
    readonly_fields = ("source", "rule", "detail", "created_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CrisisEvent)
class CrisisEventAdmin(ClinicAdminReadOnly):
    """Events are written by the crisis services; here they are read, not edited."""

    list_display = ("pk", "status", "source", "region", "raised_at", "acknowledged_at",
                    "escalation_count")
    list_filter = ("status", "source", "region")
    readonly_fields = [field.name for field in CrisisEvent._meta.fields]
    inlines = [CrisisSignalInline]


@admin.register(Notification)
class NotificationAdmin(ClinicAdminReadOnly):
    list_display = ("pk", "channel", "recipient", "created_at", "attempts", "sent_at", "failed_at",
                    "last_error")
    list_filter = ("channel", "sent_at", "failed_at")
    readonly_fields = [field.name for field in Notification._meta.fields]
