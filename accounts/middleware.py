"""Session policy: idle expiry by role, MFA before staff reach anything, the viewer's zone."""

import zoneinfo

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation

from .permissions import needs_mfa
from .selectors import user_has_mfa, user_preferences

SESSION_MFA_OK = "_telepsych_mfa_enrolled"
SESSION_TZ = "_telepsych_tz"
SESSION_LANGUAGE = "_telepsych_language"
SESSION_SEEN = "_telepsych_seen"
# Refresh the sliding expiry at most this often, so not every request writes the session.
EXPIRY_REFRESH_SECONDS = 30


class IdleTimeoutMiddleware:
    """Sessions expire after a quiet spell: 15 minutes for staff by default."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(timezone.now().timestamp())
            if now - request.session.get(SESSION_SEEN, 0) >= EXPIRY_REFRESH_SECONDS:
                idle = (
                    settings.TELEPSYCH_STAFF_IDLE_SECONDS if needs_mfa(user)
                    else settings.TELEPSYCH_PATIENT_IDLE_SECONDS
                )
                request.session[SESSION_SEEN] = now
                request.session.set_expiry(idle)
        return self.get_response(request)


MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/help/", "/healthz", "/i18n/")


class StaffMfaRequiredMiddleware:
    """Clinicians and clinic admins must enrol TOTP before any other page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and needs_mfa(user)
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and not request.session.get(SESSION_MFA_OK)
        ):
            if not user_has_mfa(user=user):
                return redirect(reverse("mfa_activate_totp"))
            request.session[SESSION_MFA_OK] = True
        return self.get_response(request)


class UserTimezoneMiddleware:
    """Times are stored in UTC and shown in the viewer's own zone; pages speak the viewer's
    preferred language unless they chose another with the language switcher (its cookie)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.deactivate()
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if SESSION_TZ not in request.session:
                zone, language = user_preferences(user=user)
                request.session[SESSION_TZ] = zone
                request.session[SESSION_LANGUAGE] = language
            if request.session[SESSION_TZ]:
                timezone.activate(zoneinfo.ZoneInfo(request.session[SESSION_TZ]))
            language = request.session.get(SESSION_LANGUAGE)
            if language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)
