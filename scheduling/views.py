"""Scheduling pages. Thin: parse, fetch with an access check, call one service, respond."""

from datetime import timedelta
from itertools import groupby

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import patient_with_consent
from accounts.models import Language, Region, User
from accounts.permissions import role_required
from accounts.selectors import regions_all

from . import calendar as ics
from .forms import (
    AdminFilterForm,
    AvailabilityExceptionForm,
    AvailabilityRuleForm,
    CancelForm,
    SchedulingSettingsForm,
    SlotChoiceForm,
)
from .models import Appointment, AvailabilityException, AvailabilityRule
from .selectors import (
    admin_appointment_counts,
    admin_appointments,
    agenda_for,
    appointment_get_for_user,
    appointment_history,
    appointment_revision,
    appointments_for_patient,
    availability_for,
    booking_region_for,
    cancel_window_hours,
    caseload_for,
    clinician_cards_for,
    clinician_for_feed_token,
    clinician_get_bookable,
    clinician_is_licensed_in,
    clinician_time_zone,
    clinicians_for_admin,
    feed_appointments_for,
    free_slots_for,
    join_window_is_open,
    license_flags_open,
    local_day_bounds,
    scheduling_settings_for,
)
from .services import (
    BookingRejected,
    SlotTaken,
    appointment_book,
    appointment_cancel,
    appointment_mark_no_show,
    appointment_reschedule,
    availability_exception_create,
    availability_exception_delete,
    availability_rule_create,
    availability_rule_delete,
    calendar_feed_revoke,
    calendar_feed_token_rotate,
    scheduling_settings_update,
)

SLOT_WEEKS = 8
DAYS_OPEN = 3


def _days_of_slots(slots) -> list[dict]:
    """Slots grouped by the viewer's local day (the active time zone)."""
    days = []
    for day, items in groupby(slots, key=lambda slot: timezone.localtime(slot.starts_at).date()):
        items = list(items)
        days.append({"day": day, "slots": [
            {"starts_at": s.starts_at, "ends_at": s.ends_at, "key": int(s.starts_at.timestamp())}
            for s in items
        ]})
    return days


def _week_param(request: HttpRequest) -> int:
    try:
        week = int(request.GET.get("week", 0))
    except ValueError:
        return 0
    return min(max(week, 0), SLOT_WEEKS - 1)


def _week_of(starts_at) -> int:
    """Which page of the slot list (weeks from today, viewer's zone) holds this instant."""
    today = timezone.localdate()
    return min(max((timezone.localtime(starts_at).date() - today).days // 7, 0), SLOT_WEEKS - 1)


def _slot_page(request: HttpRequest, *, clinician: User, region: Region,
               appointment: Appointment | None = None, status: int = 200, error: str = "",
               week: int | None = None) -> HttpResponse:
    """One week of free slots (a page per week keeps the page light and the query cheap)."""
    now = timezone.now()
    week = _week_param(request) if week is None else week
    first_day = timezone.localdate() + timedelta(days=7 * week)
    start, end = local_day_bounds(day=first_day, zone=timezone.get_current_timezone(), days=7)
    is_clinician = appointment is not None and request.user.pk == appointment.clinician_id
    slots = free_slots_for(
        clinician=clinician, region=region, start=max(start, now), end=end, now=now,
        exclude_appointment_id=appointment.pk if appointment else None, ignore_notice=is_clinician,
    )
    context = {
        "clinician": clinician,
        "profile": clinician.clinician_profile,
        "region": region,
        "days": _days_of_slots(slots),
        "days_open": DAYS_OPEN,
        "appointment": appointment,
        "error": error,
        "cancel_window_hours": cancel_window_hours(),
        "settings": scheduling_settings_for(clinician=clinician),
        "week": week,
        "week_first_day": first_day,
        "week_last_day": first_day + timedelta(days=6),
        "previous_week": week - 1 if week > 0 else None,
        "next_week": week + 1 if week + 1 < SLOT_WEEKS else None,
        "page_path": request.path,
    }
    return render(request, "scheduling/slots.html", context, status=status)


# --- Patients ------------------------------------------------------------------------------------

@role_required(User.Role.PATIENT)
@require_GET
def find(request: HttpRequest) -> HttpResponse:
    region = booking_region_for(patient=request.user)
    language = request.GET.get("language") or ""
    if language not in Language.values:
        language = ""
    cards = clinician_cards_for(region=region, language=language or None) if region else []
    return render(request, "scheduling/find.html", {
        "region": region, "cards": cards, "language": language, "languages": Language.choices,
        "cancel_window_hours": cancel_window_hours(),
    })


@role_required(User.Role.PATIENT)
@require_GET
def clinician_slots(request: HttpRequest, clinician_id: int) -> HttpResponse:
    clinician, region = _licensed_clinician_or_404(request, clinician_id)
    return _slot_page(request, clinician=clinician, region=region)


def _licensed_clinician_or_404(request: HttpRequest, clinician_id: int) -> tuple[User, Region]:
    """A bookable clinician holding a verified license for the patient's region (else 404),
    and that region."""
    clinician = clinician_get_bookable(clinician_id=clinician_id)
    region = booking_region_for(patient=request.user)
    if region is None or not clinician_is_licensed_in(clinician=clinician, region=region):
        raise Http404
    return clinician, region


@patient_with_consent
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, clinician_id: int) -> HttpResponse:
    clinician, region = _licensed_clinician_or_404(request, clinician_id)
    form = SlotChoiceForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return _slot_page(request, clinician=clinician, region=region, status=400,
                          error=_("That time is not valid. Please choose a time from the list."))
    starts_at = form.cleaned_data["start"]
    if request.method == "POST":
        try:
            appointment = appointment_book(patient=request.user, clinician_id=clinician.pk,
                                           starts_at=starts_at, region=region)
        except SlotTaken as rejection:
            return _slot_page(request, clinician=clinician, region=region, status=409, error=rejection.message,
                              week=_week_of(starts_at))
        except BookingRejected as rejection:
            return _slot_page(request, clinician=clinician, region=region, error=rejection.message,
                              status=503 if rejection.code == "busy" else 400,
                              week=_week_of(starts_at))
        messages.success(request, _("Your appointment is booked."))
        return redirect("scheduling:appointment", appointment_id=appointment.pk)
    settings = scheduling_settings_for(clinician=clinician)
    return render(request, "scheduling/book_confirm.html", {
        "clinician": clinician, "profile": clinician.clinician_profile,
        "starts_at": starts_at, "ends_at": starts_at + timedelta(minutes=settings.appointment_minutes),
        "key": form.data.get("start"), "region": region,
        "cancel_window_hours": cancel_window_hours(),
    })


@role_required(User.Role.PATIENT)
@require_GET
def appointments(request: HttpRequest) -> HttpResponse:
    upcoming, past = appointments_for_patient(patient=request.user)
    return render(request, "scheduling/appointments.html", {"upcoming": upcoming, "past": past})


# --- Both sides of one appointment -----------------------------------------------------------------

@require_GET
def appointment(request: HttpRequest, appointment_id: int) -> HttpResponse:
    found = appointment_get_for_user(user=request.user, appointment_id=appointment_id)
    now = timezone.now()
    is_patient = request.user.pk == found.patient_id
    booked = found.status == Appointment.Status.BOOKED
    context = {
        "appointment": found,
        "history": appointment_history(appointment=found),
        "is_patient": is_patient,
        "join_open": join_window_is_open(appointment=found, now=now),
        "can_change": booked and (not is_patient or found.starts_at - now >= timedelta(hours=cancel_window_hours())),
        "can_mark_no_show": booked and not is_patient and now >= found.starts_at,
        "cancel_window_hours": cancel_window_hours(),
        "cancel_form": CancelForm(),
    }
    return render(request, "scheduling/appointment.html", context)


@require_POST
def cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    found = appointment_get_for_user(user=request.user, appointment_id=appointment_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            appointment_cancel(appointment_id=found.pk, by=request.user, reason=form.cleaned_data["reason"])
        except BookingRejected as rejection:
            messages.error(request, rejection.message)
        else:
            messages.success(request, _("The appointment is cancelled."))
    else:
        messages.error(request, _("Please keep the reason under 500 characters."))
    return redirect("scheduling:appointment", appointment_id=found.pk)


@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, appointment_id: int) -> HttpResponse:
    found = appointment_get_for_user(user=request.user, appointment_id=appointment_id)
    clinician = clinician_get_bookable(clinician_id=found.clinician_id)
    if request.method != "POST":
        return _slot_page(request, clinician=clinician, region=found.region, appointment=found)
    form = SlotChoiceForm(request.POST)
    if not form.is_valid():
        return _slot_page(request, clinician=clinician, region=found.region, appointment=found, status=400,
                          error=_("That time is not valid. Please choose a time from the list."))
    try:
        appointment_reschedule(appointment_id=found.pk, by=request.user, starts_at=form.cleaned_data["start"])
    except SlotTaken as rejection:
        return _slot_page(request, clinician=clinician, region=found.region, appointment=found, status=409,
                          error=rejection.message, week=_week_of(form.cleaned_data["start"]))
    except BookingRejected as rejection:
        return _slot_page(request, clinician=clinician, region=found.region, appointment=found, status=400,
                          error=rejection.message, week=_week_of(form.cleaned_data["start"]))
    messages.success(request, _("The appointment has been moved."))
    return redirect("scheduling:appointment", appointment_id=found.pk)


@role_required(User.Role.CLINICIAN)
@require_POST
def no_show(request: HttpRequest, appointment_id: int) -> HttpResponse:
    found = appointment_get_for_user(user=request.user, appointment_id=appointment_id)
    try:
        appointment_mark_no_show(appointment_id=found.pk, by=request.user)
    except PermissionDenied:
        raise Http404 from None
    except BookingRejected as rejection:
        messages.error(request, rejection.message)
    else:
        messages.success(request, _("Marked as a no-show."))
    return redirect("scheduling:appointment", appointment_id=found.pk)


@require_GET
def appointment_ics(request: HttpRequest, appointment_id: int) -> HttpResponse:
    found = appointment_get_for_user(user=request.user, appointment_id=appointment_id)
    found.revision = appointment_revision(appointment=found)
    link = request.build_absolute_uri(reverse("scheduling:appointment", args=[found.pk]))
    response = HttpResponse(ics.appointment_calendar(appointment=found, link=link),
                            content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="telepsych-appointment-{found.pk}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The clinician's private feed: times and "Appointment" only, no PHI."""
    clinician = clinician_for_feed_token(token=token)
    if clinician is None:
        raise Http404
    body = ics.clinician_feed(appointments=feed_appointments_for(clinician=clinician))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


# --- Clinicians ----------------------------------------------------------------------------------

@role_required(User.Role.CLINICIAN)
@require_GET
def agenda(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    zone = clinician_time_zone(clinician=request.user)
    today = now.astimezone(zone).date()
    start, end_of_today = local_day_bounds(day=today, zone=zone)
    _start, end_of_week = local_day_bounds(day=today, zone=zone, days=7)
    upcoming = agenda_for(clinician=request.user, start=start, end=end_of_week, now=now)
    return render(request, "scheduling/agenda.html", {
        "today": today,
        "today_items": [a for a in upcoming if a.starts_at < end_of_today],
        "week_items": [a for a in upcoming if a.starts_at >= end_of_today],
    })


@role_required(User.Role.CLINICIAN)
@require_GET
def caseload(request: HttpRequest) -> HttpResponse:
    return _caseload_page(request, clinician_id=request.user.pk)


@role_required(User.Role.CLINICIAN, User.Role.CLINIC_ADMIN)
@require_GET
def caseload_for_clinician(request: HttpRequest, clinician_id: int) -> HttpResponse:
    return _caseload_page(request, clinician_id=clinician_id)


def _caseload_page(request: HttpRequest, *, clinician_id: int) -> HttpResponse:
    entries = caseload_for(viewer=request.user, clinician_id=clinician_id)
    clinician = User.objects.filter(pk=clinician_id, role=User.Role.CLINICIAN).first()
    if clinician is None:
        raise Http404
    return render(request, "scheduling/caseload.html", {"entries": entries, "clinician": clinician})


@role_required(User.Role.CLINICIAN)
@require_GET
def availability(request: HttpRequest) -> HttpResponse:
    return _availability_page(request)


def _availability_page(request: HttpRequest, *, rule_form=None, exception_form=None,
                       settings_form=None, status: int = 200) -> HttpResponse:
    rules, exceptions = availability_for(clinician=request.user)
    settings = scheduling_settings_for(clinician=request.user)
    feed_token = request.session.pop("scheduling_feed_token", None)
    return render(request, "scheduling/availability.html", {
        "rules": rules,
        "exceptions": exceptions,
        "rule_form": rule_form or AvailabilityRuleForm(),
        "exception_form": exception_form or AvailabilityExceptionForm(),
        "settings_form": settings_form or SchedulingSettingsForm(instance=settings),
        "has_feed": bool(settings.feed_token_hash),
        "feed_url": request.build_absolute_uri(reverse("scheduling:feed", args=[feed_token])) if feed_token else "",
        "zone": clinician_time_zone(clinician=request.user),
    }, status=status)


@role_required(User.Role.CLINICIAN)
@require_POST
def rule_add(request: HttpRequest) -> HttpResponse:
    form = AvailabilityRuleForm(request.POST)
    if form.is_valid():
        try:
            availability_rule_create(clinician=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Weekly hours added."))
            return redirect("scheduling:availability")
    return _availability_page(request, rule_form=form, status=400)


@role_required(User.Role.CLINICIAN)
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    try:
        availability_rule_delete(clinician=request.user, rule_id=rule_id)
    except AvailabilityRule.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("Weekly hours removed."))
    return redirect("scheduling:availability")


@role_required(User.Role.CLINICIAN)
@require_POST
def exception_add(request: HttpRequest) -> HttpResponse:
    form = AvailabilityExceptionForm(request.POST)
    if form.is_valid():
        try:
            availability_exception_create(clinician=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("scheduling:availability")
    return _availability_page(request, exception_form=form, status=400)


@role_required(User.Role.CLINICIAN)
@require_POST
def exception_delete(request: HttpRequest, exception_id: int) -> HttpResponse:
    try:
        availability_exception_delete(clinician=request.user, exception_id=exception_id)
    except AvailabilityException.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("Removed."))
    return redirect("scheduling:availability")


@role_required(User.Role.CLINICIAN)
@require_POST
def settings_update(request: HttpRequest) -> HttpResponse:
    form = SchedulingSettingsForm(request.POST, instance=scheduling_settings_for(clinician=request.user))
    if form.is_valid():
        scheduling_settings_update(clinician=request.user, **form.cleaned_data)
        messages.success(request, _("Booking settings saved."))
        return redirect("scheduling:availability")
    return _availability_page(request, settings_form=form, status=400)


@role_required(User.Role.CLINICIAN)
@require_POST
def feed_rotate(request: HttpRequest) -> HttpResponse:
    request.session["scheduling_feed_token"] = calendar_feed_token_rotate(clinician=request.user)
    messages.success(request, _("New calendar link created. Any older link has stopped working."))
    return redirect(reverse("scheduling:availability") + "#calendar-feed")


@role_required(User.Role.CLINICIAN)
@require_POST
def feed_revoke(request: HttpRequest) -> HttpResponse:
    calendar_feed_revoke(clinician=request.user)
    messages.success(request, _("Calendar link turned off."))
    return redirect(reverse("scheduling:availability") + "#calendar-feed")


# --- Clinic admins --------------------------------------------------------------------------------

@role_required(User.Role.CLINIC_ADMIN)
@require_GET
def admin_appointments_view(request: HttpRequest) -> HttpResponse:
    regions = list(regions_all())
    form = AdminFilterForm(request.GET or None, regions=regions, statuses=Appointment.Status.choices)
    region_code = status = None
    if form.is_valid():
        region_code = form.cleaned_data["region"] or None
        status = form.cleaned_data["status"] or None
    counts = admin_appointment_counts(viewer=request.user)
    statuses = Appointment.Status.choices
    table = [
        {"region": r, "cells": [counts.get(r.code, {}).get(value, 0) for value, _label in statuses]}
        for r in regions
    ]
    return render(request, "scheduling/admin_appointments.html", {
        "form": form,
        "appointments": admin_appointments(viewer=request.user, region_code=region_code, status=status),
        "statuses": statuses,
        "table": table,
        "flags": license_flags_open(viewer=request.user),
        "clinicians": clinicians_for_admin(viewer=request.user),
    })
