"""Reads of clinical records, each with its access check (a not-found error for anyone else)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import PatientProfile, User
from scheduling.models import Appointment
from scheduling.selectors import clinician_treats_patient

from . import measures
from .models import (
    NOTE_SECTIONS,
    AuditEvent,
    BreakGlassGrant,
    ClinicalNote,
    Instrument,
    MeasureRequest,
    PatientFlag,
    QuestionnaireResponse,
)
from .permissions import (
    Access,
    can_add_addendum,
    can_edit_note,
    can_read_note_body,
    can_see_note_metadata,
)


def break_glass_active(*, admin: User, patient: User) -> BreakGlassGrant | None:
    return (
        BreakGlassGrant.objects.filter(admin=admin, patient=patient, expires_at__gt=timezone.now())
        .order_by("-expires_at")
        .first()
    )


def record_access(*, user: User, patient: User) -> Access | None:
    """How `user` may reach `patient`'s record, or None."""
    if not user.is_authenticated or not user.is_active or not patient.is_patient:
        return None
    if user.pk == patient.pk:
        return Access.SELF
    if user.is_clinician and clinician_treats_patient(clinician=user, patient=patient):
        return Access.TREATING
    if user.is_clinic_admin and break_glass_active(admin=user, patient=patient):
        return Access.BREAK_GLASS
    return None


def patient_get(*, patient_id: int) -> User:
    patient = User.objects.filter(pk=patient_id, role=User.Role.PATIENT).first()
    if patient is None:
        raise Http404
    return patient


# --- Notes -----------------------------------------------------------------------------------------

@dataclass
class NoteView:
    note: ClinicalNote
    access: Access | None
    can_read_body: bool
    can_edit: bool
    can_add_addendum: bool
    sections: list[tuple[str, str, str]] = field(default_factory=list)  # key, label, text
    addenda: list[tuple[object, str]] = field(default_factory=list)  # (addendum, text)


def note_sections(note: ClinicalNote) -> list[tuple[str, str, str]]:
    values = note.decrypt_field_json("body") or {}
    return [(key, str(label), values.get(key, "")) for key, label in NOTE_SECTIONS[note.kind]]


def note_get_for_user(*, user: User, note_id: int) -> NoteView:
    """The note with what `user` may do with it; 404 for anyone who may not see it at all."""
    if not user.is_authenticated:
        raise Http404
    note = (
        ClinicalNote.objects.select_related("patient", "author", "appointment")
        .prefetch_related(Prefetch("addenda__author"))
        .filter(pk=note_id)
        .first()
    )
    if note is None:
        raise Http404
    access = record_access(user=user, patient=note.patient)
    if not can_see_note_metadata(user=user, note=note, access=access):
        raise Http404
    view = NoteView(
        note=note, access=access,
        can_read_body=can_read_note_body(user=user, note=note, access=access),
        can_edit=can_edit_note(user=user, note=note),
        can_add_addendum=can_add_addendum(user=user, note=note, access=access),
    )
    if view.can_read_body:
        view.sections = note_sections(note)
        view.addenda = [(a, a.decrypt_field("body")) for a in note.addenda.all()]
    return view


def notes_open_for_patient(*, patient: User) -> QuerySet[ClinicalNote]:
    """The notes a patient may read about themself (open notes)."""
    return (
        ClinicalNote.objects.filter(
            patient=patient, status=ClinicalNote.Status.SIGNED, private=False,
            kind="progress_note",
        )
        .select_related("author")
        .prefetch_related("addenda")
        .order_by("-signed_at")
    )


# --- Measures --------------------------------------------------------------------------------------

@dataclass
class TrendPoint:
    when: datetime
    score: int
    band: str
    band_label: str


@dataclass
class Trend:
    instrument: str
    title: str
    max_score: int
    points: list[TrendPoint]

    @property
    def latest(self) -> TrendPoint | None:
        return self.points[-1] if self.points else None


def trends_from(responses: list[QuestionnaireResponse]) -> list[Trend]:
    trends = []
    for instrument in (Instrument.PHQ9, Instrument.GAD7):
        points = [
            TrendPoint(r.submitted_at, r.score, r.band, measures.band_label(instrument, r.band))
            for r in sorted(responses, key=lambda r: r.submitted_at)
            if r.instrument == instrument
        ]
        trends.append(Trend(instrument, str(measures.TITLES[instrument]),
                            measures.max_score(instrument), points))
    return trends


def responses_for_patient(*, patient: User) -> QuerySet[QuestionnaireResponse]:
    return QuestionnaireResponse.objects.filter(patient=patient).order_by("submitted_at")


def measure_requests_due(*, patient: User) -> list[MeasureRequest]:
    """Requests for appointments still ahead that lack a PHQ-9 or GAD-7 answer."""
    requests = (
        MeasureRequest.objects.filter(
            patient=patient, appointment__starts_at__gt=timezone.now(),
            appointment__status=Appointment.Status.BOOKED,
        )
        .annotate(answered=Count("responses"))
        .select_related("appointment")
        .order_by("appointment__starts_at")
    )
    return [r for r in requests if r.answered < len(Instrument.values)]


def measure_request_for_patient(*, patient: User, request_id: str | int | None
                                ) -> MeasureRequest | None:
    """The patient's own request, None when none was asked for; 404 for anyone else's."""
    if request_id in (None, ""):
        return None
    if not str(request_id).isdigit():
        raise Http404
    request = MeasureRequest.objects.filter(pk=int(request_id), patient=patient).first()
    if request is None:
        raise Http404
    return request


def missing_instruments(*, request: MeasureRequest) -> list[str]:
    done = set(request.responses.values_list("instrument", flat=True))
    return [i for i in Instrument.values if i not in done]


def response_answers(response: QuestionnaireResponse) -> dict:
    return response.decrypt_field_json("answers") or {}


# --- Flags -----------------------------------------------------------------------------------------

def open_flags_for_patients(*, patient_ids: list[int]) -> dict[int, list[PatientFlag]]:
    flags: dict[int, list[PatientFlag]] = {}
    for flag in PatientFlag.objects.filter(patient_id__in=patient_ids, cleared_at__isnull=True):
        flags.setdefault(flag.patient_id, []).append(flag)
    return flags


def patients_for_clinician(*, clinician: User) -> QuerySet[User]:
    """Patients with at least one non-cancelled appointment with this clinician."""
    return (
        User.objects.filter(role=User.Role.PATIENT, patient_appointments__clinician=clinician)
        .exclude(patient_appointments__status=Appointment.Status.CANCELLED)
        .distinct().order_by("last_name", "first_name")
    )


def flagged_patients_for_clinician(*, clinician: User) -> list[tuple[User, list[PatientFlag]]]:
    """Patients this clinician treats who carry an open flag (the caseload's warning list)."""
    patient_ids = set(
        Appointment.objects.filter(clinician=clinician)
        .exclude(status=Appointment.Status.CANCELLED)
        .values_list("patient_id", flat=True)
    )
    by_patient = open_flags_for_patients(patient_ids=list(patient_ids))
    patients = User.objects.filter(pk__in=by_patient).order_by("last_name", "first_name")
    return [(p, by_patient[p.pk]) for p in patients]


# --- Chart -----------------------------------------------------------------------------------------

@dataclass
class Chart:
    patient: User
    access: Access
    profile: PatientProfile | None
    appointments: list[Appointment]
    notes: list[ClinicalNote]
    trends: list[Trend]
    flags: list[PatientFlag]
    responses: list[QuestionnaireResponse]


def chart_get_for_user(*, user: User, patient_id: int) -> Chart:
    """The whole chart in a fixed number of queries; 404 unless treating or break-glass."""
    patient = patient_get(patient_id=patient_id)
    access = record_access(user=user, patient=patient)
    if access not in (Access.TREATING, Access.BREAK_GLASS):
        raise Http404
    profile = (
        PatientProfile.objects.select_related("home_region", "current_region")
        .filter(user=patient).first()
    )
    appointments = list(
        Appointment.objects.filter(patient=patient)
        .select_related("clinician", "region").order_by("-starts_at")
    )
    notes = [
        n for n in ClinicalNote.objects.filter(patient=patient)
        .select_related("author").annotate(addenda_count=Count("addenda")).order_by("-created_at")
        if n.is_signed or n.author_id == user.pk
    ]
    responses = list(responses_for_patient(patient=patient))
    flags = list(PatientFlag.objects.filter(patient=patient, cleared_at__isnull=True))
    return Chart(patient=patient, access=access, profile=profile, appointments=appointments,
                 notes=notes, trends=trends_from(responses), flags=flags,
                 responses=responses)


# --- Audit -----------------------------------------------------------------------------------------

def audit_events_for_admin(*, user: User, filters: dict) -> QuerySet[AuditEvent]:
    if not user.is_clinic_admin:
        raise Http404
    events = AuditEvent.objects.select_related("actor", "patient").order_by("-seq")
    if filters.get("actor"):
        events = events.filter(actor__email__icontains=filters["actor"])
    if filters.get("patient"):
        events = events.filter(patient_id=filters["patient"])
    if filters.get("action"):
        events = events.filter(action=filters["action"])
    if filters.get("object_type"):
        events = events.filter(object_type=filters["object_type"])
    if filters.get("break_glass"):
        events = events.filter(break_glass=True)
    if filters.get("since"):
        events = events.filter(occurred_at__date__gte=filters["since"])
    if filters.get("until"):
        events = events.filter(occurred_at__date__lte=filters["until"])
    return events


def record_openings_for_patient(*, patient: User) -> QuerySet[AuditEvent]:
    """Who else opened this patient's record, newest first (the patient's own view)."""
    return (
        AuditEvent.objects.filter(patient=patient).exclude(actor=patient)
        .select_related("actor", "actor__clinician_profile").order_by("-seq")
    )


# --- Export ----------------------------------------------------------------------------------------

def export_for_patient(*, patient: User) -> dict:
    """Everything the patient may take with them: profile, appointments, open notes, measures."""
    profile = PatientProfile.objects.select_related("home_region").filter(user=patient).first()
    appointments = Appointment.objects.filter(patient=patient).select_related(
        "clinician", "clinician__clinician_profile", "region").order_by("starts_at")
    notes = []
    for note in notes_open_for_patient(patient=patient).order_by("signed_at"):
        notes.append({
            "id": note.pk,
            "kind": note.kind,
            "kind_label": str(note.get_kind_display()),
            "author": str(note.author),
            "signed_at": note.signed_at.isoformat(),
            "sections": [{"key": k, "title": label, "text": text}
                         for k, label, text in note_sections(note)],
            "addenda": [{"signed_at": a.signed_at.isoformat(), "author": str(a.author),
                         "text": a.decrypt_field("body")}
                        for a in note.addenda.select_related("author")],
        })
    measures_out = []
    for response in responses_for_patient(patient=patient):
        answers = response_answers(response)
        measures_out.append({
            "instrument": response.instrument,
            "submitted_at": response.submitted_at.isoformat(),
            "score": response.score,
            "band": response.band,
            "band_label": measures.band_label(response.instrument, response.band),
            "answers": answers.get("answers", []),
            "difficulty": answers.get("difficulty"),
            "comment": answers.get("comment", ""),
        })
    return {
        "format": "telepsych-patient-export-1",
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "email": patient.email,
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "home_region": profile.home_region.code if profile else None,
            "time_zone": profile.time_zone if profile else None,
            "preferred_language": profile.preferred_language if profile else None,
            "phone": profile.phone if profile else "",
            "date_of_birth": profile.date_of_birth.isoformat()
            if profile and profile.date_of_birth else None,
            "emergency_contact_name": profile.emergency_contact_name if profile else "",
            "emergency_contact_phone": profile.emergency_contact_phone if profile else "",
        },
        "appointments": [
            {"id": a.pk, "starts_at": a.starts_at.isoformat(), "ends_at": a.ends_at.isoformat(),
             "status": a.status, "clinician": str(a.clinician), "region": a.region.code}
            for a in appointments
        ],
        "notes": notes,
        "measures": measures_out,
    }
