"""Crisis pages: "Get help now" (anyone, no JavaScript needed), the panic button, the care
team's event page with acknowledgement and follow-up, and the clinic report."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import role_required
from accounts.selectors import regions_all, user_has_mfa

from . import selectors, services
from .forms import AcknowledgeForm, FollowUpForm
from .models import CrisisEvent

STAFF = (User.Role.CLINICIAN, User.Role.CLINIC_ADMIN)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@never_cache
@require_GET
def get_help(request: HttpRequest) -> HttpResponse:
    """Works signed in or not, and without JavaScript."""
    region_code = request.GET.get("region", "")[:10] or None
    region = selectors.region_for_help(user=request.user, region_code=region_code)
    status = 404 if region_code and region is None else 200
    user = request.user
    is_patient = user.is_authenticated and user.is_patient
    context = {
        "region": region,
        "resources": selectors.resources_for_region(region=region),
        "regions": regions_all(),
        "unknown_region": status == 404,
        "is_patient": is_patient,
        "alerted": is_patient and request.GET.get("alerted") == "1",
        "open_event": selectors.crisis_event_open_for_patient(patient=user) if is_patient else None,
    }
    return render(request, "crisis/help.html", context, status=status)


@require_POST
@role_required(User.Role.PATIENT)
def panic(request: HttpRequest) -> HttpResponse:
    """The panic button: raise an event and show help at once. With JS the page stays (the call
    goes on); without JS the patient lands on "Get help now"."""
    event = services.crisis_event_raise(
        patient=request.user, source=CrisisEvent.Source.PANIC_BUTTON, detail="panic button"
    )
    if _wants_json(request):
        return JsonResponse(
            {"event_id": event.pk, "html": services.panel_html(patient=request.user)}
        )
    return redirect(reverse("crisis:help") + "?alerted=1")


@never_cache
@require_GET
@role_required(User.Role.PATIENT)
def panel(request: HttpRequest) -> JsonResponse:
    """The patient's crisis panel if they have an unacknowledged event: the page script asks
    after its notify socket (re)connects, so a push missed while offline is not lost."""
    event = selectors.crisis_event_open_for_patient(patient=request.user)
    if event is None:
        return JsonResponse({"event_id": None, "html": None})
    return JsonResponse({"event_id": event.pk, "html": services.panel_html(patient=request.user)})


def _staff_with_mfa(view):
    """Clinicians and clinic admins who enrolled MFA (/help/ is exempt from the MFA middleware
    so that "Get help now" always opens; these pages carry PHI, so check here)."""

    @role_required(*STAFF)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not user_has_mfa(user=request.user):
            return redirect("mfa_activate_totp")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@never_cache
@require_GET
@_staff_with_mfa
def alerts(request: HttpRequest) -> JsonResponse:
    """Unacknowledged alerts for this staff member (no PHI), for the page script to catch up
    after its notify socket (re)connects."""
    events = selectors.crisis_events_needing_attention(user=request.user)
    return JsonResponse({"alerts": [
        {"kind": "crisis.alert", "event_id": event.pk,
         "url": reverse("crisis:event", args=[event.pk]), "source": event.source,
         "escalation": event.escalation_count}
        for event in events
    ]})


@never_cache
@require_GET
@_staff_with_mfa
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.crisis_event_get_for_staff(user=request.user, event_id=event_id)
    profile = getattr(event.patient, "patient_profile", None)
    return render(request, "crisis/event.html", {
        "event": event,
        "profile": profile,
        "signals": event.signals.select_related("rule"),
        "resources": selectors.resources_for_region(region=event.region),
        "acknowledge_form": AcknowledgeForm(),
        "follow_up_form": FollowUpForm(initial={"note": event.follow_up_note}),
    })


@require_POST
@_staff_with_mfa
def event_acknowledge(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.crisis_event_get_for_staff(user=request.user, event_id=event_id)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        if _wants_json(request):
            return JsonResponse({"error": form.errors.get_json_data()}, status=400)
        return render(request, "crisis/event.html", {
            "event": event, "acknowledge_form": form, "follow_up_form": FollowUpForm(),
            "profile": getattr(event.patient, "patient_profile", None),
            "signals": event.signals.all(),
        }, status=400)
    try:
        services.crisis_event_acknowledge(
            event_id=event.pk, by=request.user, note=form.cleaned_data["note"]
        )
    except services.CrisisEventStateError as exc:
        if _wants_json(request):
            return JsonResponse({"error": str(exc)}, status=409)
        messages.info(request, str(exc))
    else:
        if _wants_json(request):
            return JsonResponse({"event_id": event.pk, "status": "acknowledged"})
        messages.success(request, gettext(
            "Acknowledged. Escalation has stopped; the patient was told you have seen it."))
    return redirect("crisis:event", event_id=event.pk)


@require_POST
@_staff_with_mfa
def event_follow_up(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.crisis_event_get_for_staff(user=request.user, event_id=event_id)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        return render(request, "crisis/event.html", {
            "event": event, "acknowledge_form": AcknowledgeForm(), "follow_up_form": form,
            "profile": getattr(event.patient, "patient_profile", None),
            "signals": event.signals.all(),
        }, status=400)
    try:
        services.crisis_event_follow_up(
            event_id=event.pk, by=request.user, note=form.cleaned_data["note"],
            close=form.cleaned_data["close"],
        )
    except services.CrisisEventStateError as exc:
        messages.info(request, str(exc))
    else:
        messages.success(request, gettext("Follow-up saved."))
    return redirect("crisis:event", event_id=event.pk)


@never_cache
@require_http_methods(["GET"])
@_staff_with_mfa
def report(request: HttpRequest) -> HttpResponse:
    if not request.user.is_clinic_admin:
        raise PermissionDenied
    return render(request, "crisis/report.html", {
        "rows": selectors.crisis_report(),
        "statuses": CrisisEvent.Status.choices,
        "stale_resources": [r for r in selectors.resources_for_admin_review() if r.is_stale()],
    })
