from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .forms import ConsentForm, InvitationAcceptForm, InvitationForm, PatientProfileForm
from .middleware import SESSION_LANGUAGE, SESSION_TZ
from .models import Invitation, User
from .permissions import role_required
from .selectors import consent_current_document, consent_is_current, patient_profile_for
from .services import (
    StaffDetails,
    consent_accept,
    invitation_accept,
    invitation_create,
    invitation_for_token,
)


def _posted(request: HttpRequest):
    """The POST data for a bound form (even when empty), or None on GET."""
    return request.POST if request.method == "POST" else None


def _safe_next(request: HttpRequest, fallback: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    from django.urls import reverse

    return reverse(fallback)


@role_required(User.Role.PATIENT)
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest) -> HttpResponse:
    document = consent_current_document()
    if document is None:
        raise Http404(_("No consent text has been published yet."))
    already = consent_is_current(patient=request.user)
    form = ConsentForm(
        _posted(request), current_version=document.version, initial={"version": document.version}
    )
    if request.method == "POST" and form.is_valid():
        consent_accept(
            patient=request.user, document=document, ip_address=request.META.get("REMOTE_ADDR")
        )
        messages.success(request, _("Thank you. Your consent has been recorded."))
        return redirect(_safe_next(request))
    profile = patient_profile_for(user=request.user)
    language = profile.preferred_language if profile else request.LANGUAGE_CODE
    return render(
        request,
        "accounts/consent.html",
        {
            "document": document,
            "body": document.body_for(request.LANGUAGE_CODE or language),
            "form": form,
            "already": already,
            "next": request.GET.get("next", ""),
        },
    )


@role_required(User.Role.PATIENT)
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    instance = patient_profile_for(user=request.user)
    if instance is None:
        raise Http404
    form = PatientProfileForm(_posted(request), instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        request.session.pop(SESSION_TZ, None)
        request.session.pop(SESSION_LANGUAGE, None)
        messages.success(request, _("Your profile was saved."))
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


@role_required(User.Role.CLINIC_ADMIN)
@require_http_methods(["GET", "POST"])
def invitations(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            invitation_create(
                invited_by=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                accept_url_base=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            form.add_error("email", exc)
        else:
            messages.success(request, _("The invitation was sent."))
            return redirect("invitations")
    recent = Invitation.objects.select_related("invited_by")[:50]
    return render(request, "accounts/invitations.html", {"form": form, "invitations": recent})


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    if request.user.is_authenticated:
        return render(request, "accounts/invitation_signed_in.html", status=400)
    invitation = invitation_for_token(raw_token=token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    form = InvitationAcceptForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation_accept(
                raw_token=token,
                details=StaffDetails(
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    password=data["password1"],
                    display_name=data["display_name"],
                    time_zone=data["time_zone"],
                ),
            )
        except ValidationError:
            return render(request, "accounts/invitation_invalid.html", status=404)
        messages.success(
            request,
            _("Your account is ready. Sign in, then set up two-factor authentication."),
        )
        return redirect("account_login")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})

