"""Pages of clinical records. Thin: parse, fetch through an access-checking selector, call one
service, respond. Every page that shows patient data writes exactly one audit event."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import patient_with_consent
from accounts.models import User
from accounts.permissions import role_required
from scheduling.selectors import appointment_get_for_user

from . import measures, selectors, services
from .forms import (
    AddendumForm,
    AuditFilterForm,
    BreakGlassForm,
    NoteCreateForm,
    NoteEditForm,
    QuestionnaireForm,
)
from .models import AuditEvent, Instrument
from .permissions import Access

STAFF = (User.Role.CLINICIAN, User.Role.CLINIC_ADMIN)


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _is_autosave(request: HttpRequest) -> bool:
    return request.headers.get("X-Autosave") == "1"


# --- Chart and break-glass -------------------------------------------------------------------------

@never_cache
@role_required(*STAFF)
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    try:
        data = selectors.chart_get_for_user(user=request.user, patient_id=patient_id)
    except Http404:
        if request.user.is_clinic_admin:
            patient = selectors.patient_get(patient_id=patient_id)
            return render(request, "records/break_glass.html",
                          {"patient": patient, "form": BreakGlassForm()}, status=403)
        raise
    services.audit_read(actor=request.user, access=data.access, object_type="chart",
                        object_id=data.patient.pk, patient=data.patient, ip=_ip(request))
    return render(request, "records/chart.html", {
        "chart": data,
        "break_glass": data.access == Access.BREAK_GLASS,
        "grant": selectors.break_glass_active(admin=request.user, patient=data.patient)
        if data.access == Access.BREAK_GLASS else None,
    })


@require_POST
@role_required(User.Role.CLINIC_ADMIN)
def break_glass(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_get(patient_id=patient_id)
    form = BreakGlassForm(request.POST)
    if form.is_valid():
        try:
            services.break_glass_open(admin=request.user, patient=patient,
                                      reason=form.cleaned_data["reason"], ip=_ip(request))
        except ValidationError as exc:
            form.add_error("reason", exc)
        else:
            messages.warning(request, _("Break-glass access is open for one hour. Every page you "
                                        "open is recorded."))
            return redirect("records:chart", patient_id=patient.pk)
    return render(request, "records/break_glass.html", {"patient": patient, "form": form},
                  status=400)


@never_cache
@role_required(User.Role.CLINICIAN)
def patients(request: HttpRequest) -> HttpResponse:
    """The clinician's patients, flagged ones first (links to each chart)."""
    flagged = selectors.flagged_patients_for_clinician(clinician=request.user)
    treated = selectors.patients_for_clinician(clinician=request.user)
    return render(request, "records/patients.html", {"flagged": flagged, "treated": treated})


@require_POST
@role_required(User.Role.CLINICIAN)
def flag_clear(request: HttpRequest, flag_id: int) -> HttpResponse:
    try:
        flag = services.flag_clear(flag_id=flag_id, by=request.user)
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, _("Flag marked as reviewed."))
    return redirect("records:chart", patient_id=flag.patient_id)


# --- Notes -----------------------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
@role_required(User.Role.CLINICIAN)
def note_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_get(patient_id=patient_id)
    if selectors.record_access(user=request.user, patient=patient) != Access.TREATING:
        raise Http404
    appointment = None
    appointment_id = request.GET.get("appointment") or request.POST.get("appointment")
    if appointment_id:
        try:
            appointment = appointment_get_for_user(user=request.user,
                                                   appointment_id=int(appointment_id))
        except ValueError:
            raise Http404 from None
        if appointment.patient_id != patient.pk:
            raise Http404
    form = NoteCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        note = services.note_create(author=request.user, patient=patient,
                                    kind=form.cleaned_data["kind"], appointment=appointment,
                                    private=form.cleaned_data["private"], ip=_ip(request))
        return redirect("records:note_edit", note_id=note.pk)
    return render(request, "records/note_new.html",
                  {"patient": patient, "form": form, "appointment": appointment},
                  status=400 if request.method == "POST" else 200)


@never_cache
def note_detail(request: HttpRequest, note_id: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?next={request.path}")
    view = selectors.note_get_for_user(user=request.user, note_id=note_id)
    services.audit_read(actor=request.user, access=view.access, object_type="note",
                        object_id=view.note.pk, patient=view.note.patient, ip=_ip(request))
    return render(request, "records/note_detail.html", {
        "view": view, "note": view.note, "addendum_form": AddendumForm(),
        "break_glass": view.access == Access.BREAK_GLASS,
    })


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(User.Role.CLINICIAN)
def note_edit(request: HttpRequest, note_id: int) -> HttpResponse:
    view = selectors.note_get_for_user(user=request.user, note_id=note_id)
    note = view.note
    if not view.can_edit:
        if note.is_signed and note.author_id == request.user.pk:
            if _is_autosave(request):
                return JsonResponse({"ok": False, "error": _("This note is signed.")}, status=409)
            messages.info(request, _("This note is signed and cannot change. Add an addendum."))
            return redirect("records:note_detail", note_id=note.pk)
        raise Http404
    if request.method == "POST":
        form = NoteEditForm(request.POST, kind=note.kind)
        if form.is_valid():
            try:
                note = services.note_update_draft(
                    note_id=note.pk, author=request.user, sections=form.sections(),
                    private=form.cleaned_data["private"], ip=_ip(request))
            except services.NoteLocked as exc:
                if _is_autosave(request):
                    return JsonResponse({"ok": False, "error": exc.messages[0]}, status=409)
                messages.error(request, exc.messages[0])
                return redirect("records:note_detail", note_id=note.pk)
            if _is_autosave(request):
                saved = timezone.localtime(note.updated_at)
                return JsonResponse({"ok": True, "saved_at": saved.isoformat(),
                                     "saved_at_display": saved.strftime("%H:%M:%S")})
            messages.success(request, _("Draft saved."))
            return redirect("records:note_edit", note_id=note.pk)
        if _is_autosave(request):
            return JsonResponse({"ok": False, "errors": json.loads(form.errors.as_json())},
                                status=400)
        return render(request, "records/note_edit.html", {"note": note, "form": form},
                      status=400)
    services.audit_read(actor=request.user, access=view.access, object_type="note",
                        object_id=note.pk, patient=note.patient, ip=_ip(request))
    form = NoteEditForm(initial=NoteEditForm.initial_from(view.sections, note.private),
                        kind=note.kind)
    return render(request, "records/note_edit.html", {"note": note, "form": form})


@require_POST
@role_required(User.Role.CLINICIAN)
def note_sign(request: HttpRequest, note_id: int) -> HttpResponse:
    view = selectors.note_get_for_user(user=request.user, note_id=note_id)
    if view.note.author_id != request.user.pk:
        raise Http404
    try:
        services.note_sign(note_id=view.note.pk, author=request.user, ip=_ip(request))
    except services.NoteLocked as exc:
        messages.info(request, exc.messages[0])
    else:
        messages.success(request, _("Note signed. It can no longer change; corrections are "
                                    "addenda."))
    return redirect("records:note_detail", note_id=view.note.pk)


@require_POST
@role_required(User.Role.CLINICIAN)
def addendum_add(request: HttpRequest, note_id: int) -> HttpResponse:
    view = selectors.note_get_for_user(user=request.user, note_id=note_id)
    if not view.can_add_addendum:
        raise Http404
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.addendum_add(note_id=view.note.pk, author=request.user,
                                  text=form.cleaned_data["text"], ip=_ip(request))
        except ValidationError as exc:
            form.add_error("text", exc)
        else:
            messages.success(request, _("Addendum signed and added."))
            return redirect("records:note_detail", note_id=view.note.pk)
    return render(request, "records/note_detail.html",
                  {"view": view, "note": view.note, "addendum_form": form}, status=400)


# --- Measures (patients) ---------------------------------------------------------------------------

@never_cache
@patient_with_consent
def measures_home(request: HttpRequest) -> HttpResponse:
    patient = request.user
    responses = list(selectors.responses_for_patient(patient=patient))
    services.audit_log(actor=patient, action=AuditEvent.Action.VIEW, object_type="measures",
                       object_id=patient.pk, patient=patient, ip=_ip(request))
    return render(request, "records/measures.html", {
        "due": selectors.measure_requests_due(patient=patient),
        "trends": selectors.trends_from(responses),
        "recent": list(reversed(responses))[:10],
        "instruments": [(i, measures.TITLES[i]) for i in Instrument.values],
    })


@never_cache
@require_http_methods(["GET", "POST"])
@patient_with_consent
def measure_take(request: HttpRequest, instrument: str) -> HttpResponse:
    if instrument not in Instrument.values:
        raise Http404
    measure_request = selectors.measure_request_for_patient(
        patient=request.user,
        request_id=request.GET.get("request") or request.POST.get("request"))
    form = QuestionnaireForm(request.POST or None, instrument=instrument)
    if request.method == "POST" and form.is_valid():
        try:
            response = services.questionnaire_submit(
                patient=request.user, instrument=instrument,
                answers=services.QuestionnaireAnswers(
                    answers=form.answers(), difficulty=form.cleaned_data.get("difficulty"),
                    comment=form.cleaned_data.get("comment", "")),
                request=measure_request, ip=_ip(request))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Thank you. Your answers were saved: score %(score)s "
                                        "(%(band)s).") % {
                "score": response.score,
                "band": measures.band_label(instrument, response.band)})
            if measure_request is not None:
                missing = selectors.missing_instruments(request=measure_request)
                if missing:
                    return redirect(reverse("records:measure_take", args=[missing[0]])
                                    + f"?request={measure_request.pk}")
            return redirect("records:measures")
    language = measures.text_language()
    return render(request, "records/measure_take.html", {
        "form": form, "instrument": instrument, "title": measures.TITLES[instrument],
        "stem": measures.STEM[instrument][language], "measure_request": measure_request,
    }, status=400 if request.method == "POST" else 200)


# --- The patient's own record: notes, who opened it, export -----------------------------------------

@never_cache
@role_required(User.Role.PATIENT)
def my_record(request: HttpRequest) -> HttpResponse:
    patient = request.user
    openings = Paginator(selectors.record_openings_for_patient(patient=patient), 25)
    page = openings.get_page(request.GET.get("page"))
    notes = list(selectors.notes_open_for_patient(patient=patient))
    services.audit_log(actor=patient, action=AuditEvent.Action.VIEW, object_type="access_log",
                       object_id=patient.pk, patient=patient, ip=_ip(request))
    return render(request, "records/my_record.html", {"notes": notes, "openings": page})


@never_cache
@role_required(User.Role.PATIENT)
def export_json(request: HttpRequest) -> HttpResponse:
    data = selectors.export_for_patient(patient=request.user)
    services.patient_export_audit(patient=request.user, export_format="json", ip=_ip(request))
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = 'attachment; filename="telepsych-record.json"'
    return response


@never_cache
@role_required(User.Role.PATIENT)
def export_html(request: HttpRequest) -> HttpResponse:
    data = selectors.export_for_patient(patient=request.user)
    services.patient_export_audit(patient=request.user, export_format="html", ip=_ip(request))
    return render(request, "records/export.html", {"data": data})


# --- Audit trail (clinic admins) -------------------------------------------------------------------

@never_cache
@role_required(User.Role.CLINIC_ADMIN)
def audit(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = selectors.audit_events_for_admin(user=request.user, filters=filters)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "records/audit.html",
                  {"form": form, "page": page, "query": query.urlencode()})
