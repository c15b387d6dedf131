from django.contrib import admin


class ClinicAdminAccess(admin.ModelAdmin):
    """Clinic administrators (and superusers) manage these models in the Django admin."""

    def _allowed(self, request) -> bool:
        user = request.user
        return user.is_active and (user.is_superuser or getattr(user, "is_clinic_admin", False))

    def has_module_permission(self, request) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._allowed(request)


class ClinicAdminReadOnly(ClinicAdminAccess):
    """Clinic admins may look, never change: history, audit and events change only through
    their services."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
