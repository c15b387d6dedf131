"""The visit pages: pre-call check, waiting room and call (one page), and the clinician's
admit / message / end actions. Thin: fetch with the access check, call one service, respond."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import role_required
from accounts.selectors import patient_profile_for
from scheduling.models import Appointment
from scheduling.selectors import appointment_get_for_user

from . import services
from .forms import AdmitForm, LocationForm, WaitingMessageForm
from .models import VideoSession
from .selectors import clinician_licensed_at_location, join_window_for, patient_safety_details
from .turn import ice_servers_for

PARTICIPANT_ROLES = (User.Role.PATIENT, User.Role.CLINICIAN)


def _appointment_for(request: HttpRequest, appointment_id: int) -> Appointment:
    appointment = appointment_get_for_user(user=request.user, appointment_id=appointment_id)
    is_patient = request.user.role == User.Role.PATIENT and appointment.patient_id == request.user.pk
    is_clinician = (request.user.role == User.Role.CLINICIAN
                    and appointment.clinician_id == request.user.pk)
    if not (is_patient or is_clinician):
        raise Http404
    return appointment


def _closed_reason(appointment: Appointment, session: VideoSession | None) -> str | None:
    window = join_window_for(appointment=appointment)
    now = timezone.now()
    if (session is not None and session.state == VideoSession.State.ENDED) or (
        appointment.status == Appointment.Status.COMPLETED
    ):
        return "ended"
    if appointment.status != Appointment.Status.BOOKED:
        return "cancelled"
    if now < window.opens_at:
        return "not_yet"
    if now > window.closes_at:
        return "closed"
    return None


def _closed_page(request, appointment, reason) -> HttpResponse:
    return render(request, "sessions/closed.html", {
        "appointment": appointment, "reason": reason,
        "window": join_window_for(appointment=appointment),
    })


@role_required(*PARTICIPANT_ROLES)
@require_http_methods(["GET"])
def join(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """The visit room: the patient's waiting room that becomes the call without a reload, or
    the clinician's room with the patient's safety details beside the call."""
    appointment = _appointment_for(request, appointment_id)
    existing = VideoSession.objects.filter(appointment=appointment).first()
    reason = _closed_reason(appointment, existing)
    if reason:
        return _closed_page(request, appointment, reason)
    session = existing or services.video_session_open(appointment=appointment)
    is_patient = request.user.pk == appointment.patient_id
    if is_patient and not session.location_confirmed:
        return redirect("sessions:check", appointment_id=appointment.pk)
    config = {
        "sessionId": str(session.pk),
        "wsPath": f"/ws/sessions/{session.pk}/",
        "role": "patient" if is_patient else "clinician",
        "polite": is_patient,
        "state": session.state,
        "iceServers": ice_servers_for(user_id=request.user.pk),
        "homeUrl": reverse("home"),
    }
    context = {"appointment": appointment, "session": session, "config": config,
               "is_patient": is_patient}
    if not is_patient:
        session.appointment = appointment
        safety = patient_safety_details(session=session, viewer=request.user)
        context.update(
            safety=safety,
            license_warning=safety.licensed_there is False,
            admit_form=AdmitForm(license_warning=safety.licensed_there is False),
            message_form=WaitingMessageForm(),
        )
    return render(request, "sessions/room.html", context)


@role_required(User.Role.PATIENT)
@require_http_methods(["GET", "POST"])
def check(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """Pre-call check: camera and microphone preview, and where the patient is right now."""
    appointment = _appointment_for(request, appointment_id)
    existing = VideoSession.objects.filter(appointment=appointment).first()
    reason = _closed_reason(appointment, existing)
    if reason:
        return _closed_page(request, appointment, reason)
    session = existing or services.video_session_open(appointment=appointment)
    if request.method == "POST":
        form = LocationForm(request.POST)
        if form.is_valid():
            try:
                services.video_session_confirm_location(
                    session_id=session.pk, patient=request.user,
                    region=form.cleaned_data["region"], address=form.cleaned_data["address"],
                    callback_phone=form.cleaned_data["callback_phone"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect("sessions:join", appointment_id=appointment.pk)
    else:
        profile = patient_profile_for(user=request.user)
        form = LocationForm(initial={
            "region": (session.location_region_id
                       or (profile.current_region_id or profile.home_region_id if profile else None)),
            "address": session.location_address,
            "callback_phone": session.callback_phone or (profile.phone if profile else ""),
        })
    return render(request, "sessions/check.html", {
        "appointment": appointment, "session": session, "form": form,
        "config": {"sessionId": str(session.pk)},
    })


def _clinician_session(request: HttpRequest, appointment_id: int) -> VideoSession:
    appointment = _appointment_for(request, appointment_id)
    if appointment.clinician_id != request.user.pk:
        raise PermissionDenied
    session = VideoSession.objects.filter(appointment=appointment).first()
    if session is None:
        raise Http404
    session.appointment = appointment
    return session


@role_required(User.Role.CLINICIAN)
@require_POST
def admit(request: HttpRequest, appointment_id: int) -> HttpResponse:
    session = _clinician_session(request, appointment_id)
    warning = clinician_licensed_at_location(session=session) is False
    form = AdmitForm(request.POST, license_warning=warning)
    if not form.is_valid():
        messages.error(request, _("You hold no valid license where the patient is today. "
                                  "Confirm that you know before admitting."))
        return redirect("sessions:join", appointment_id=appointment_id)
    try:
        services.video_session_admit(session_id=session.pk, clinician=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("sessions:join", appointment_id=appointment_id)


@role_required(User.Role.CLINICIAN)
@require_POST
def message(request: HttpRequest, appointment_id: int) -> HttpResponse:
    session = _clinician_session(request, appointment_id)
    form = WaitingMessageForm(request.POST)
    if form.is_valid():
        try:
            services.video_session_message_waiting(
                session_id=session.pk, clinician=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Message sent to the waiting patient."))
    else:
        messages.error(request, _("Write a message of up to 200 characters."))
    if request.POST.get("next") == "home":
        return redirect("home")
    return redirect("sessions:join", appointment_id=appointment_id)


@role_required(User.Role.CLINICIAN)
@require_POST
def end(request: HttpRequest, appointment_id: int) -> HttpResponse:
    session = _clinician_session(request, appointment_id)
    try:
        services.video_session_end(session_id=session.pk, clinician=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("sessions:join", appointment_id=appointment_id)
    messages.success(request, _("The visit has ended and the appointment is marked completed."))
    return redirect("home")
