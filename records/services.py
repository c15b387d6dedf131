"""Writes of clinical records. Each write audits itself in the same transaction; pushes and
emails go out after commit."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from crisis.services import crisis_event_raise
from scheduling.models import Appointment
from scheduling.selectors import clinician_treats_patient, treating_clinicians_for
from telepsych.common.groups import clinician_group

from . import measures
from .audit import GENESIS_HASH, audit_chain_verify, audit_hash
from .lock_objects import audit_chain_lock, note_lock
from .models import (
    NOTE_SECTIONS,
    AuditEvent,
    BreakGlassGrant,
    ClinicalNote,
    MeasureRequest,
    NoteAddendum,
    NoteKind,
    PatientFlag,
    QuestionnaireResponse,
)

logger = logging.getLogger(__name__)


class NoteLocked(ValidationError):
    """The note is signed: it never changes; write an addendum instead."""


# --- Audit -----------------------------------------------------------------------------------------

def audit_log(*, actor: User | None, action: str, object_type: str, object_id, patient=None,
              ip: str | None = None, break_glass: bool = False) -> AuditEvent:
    """Append one event to the hash chain (the one audit call of the project)."""
    with transaction.atomic():
        audit_chain_lock()
        last = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
        seq = last["seq"] + 1 if last else 1
        prev_hash = last["hash"] if last else GENESIS_HASH
        occurred_at = timezone.now()
        actor_id = actor.pk if actor is not None and actor.is_authenticated else None
        patient_id = patient.pk if patient is not None else None
        event = AuditEvent(
            seq=seq, occurred_at=occurred_at, actor_id=actor_id, action=action,
            object_type=object_type, object_id=str(object_id), patient_id=patient_id,
            ip=ip or None, break_glass=break_glass, prev_hash=prev_hash,
        )
        event.hash = audit_hash(
            seq=seq, occurred_at=occurred_at, actor_id=actor_id, action=action,
            object_type=object_type, object_id=str(object_id), patient_id=patient_id, ip=ip,
            break_glass=break_glass, prev_hash=prev_hash,
        )
        event.save(force_insert=True)
    return event


def audit_read(*, actor: User, access, object_type: str, object_id, patient: User,
               ip: str | None) -> AuditEvent:
    """A read of patient data, marked when it happens under break-glass."""
    from .permissions import Access

    return audit_log(actor=actor, action=AuditEvent.Action.VIEW, object_type=object_type,
                     object_id=object_id, patient=patient, ip=ip,
                     break_glass=access == Access.BREAK_GLASS)


def audit_chain_check() -> bool:
    """Verify the whole chain; on a break, log it and email the clinic admins (ids only)."""
    report = audit_chain_verify()
    if report.ok:
        return True
    event = report.broken_at
    summary = (f"Audit chain broken at event id={event.pk} seq={event.seq}: {report.problem}. "
               f"{report.checked} events before it verified. Run manage.py verify_audit.")
    logger.error("records: %s", summary)
    admins = list(User.objects.filter(role=User.Role.CLINIC_ADMIN, is_active=True)
                  .values_list("email", flat=True))
    if admins:
        send_mail(subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}Audit trail integrity check failed",
                  message=summary, from_email=None, recipient_list=admins)
    return False


# --- Notifications (after commit) -----------------------------------------------------------------

def _site_url(path: str) -> str:
    return f"{getattr(settings, 'TELEPSYCH_SITE_URL', '')}{path}"


def _notify(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "notify.event", "event": event})
    except Exception:  # noqa: BLE001 - a push is best effort; the email and the audit remain
        logger.warning("records: realtime notification to %s failed", group, exc_info=True)


# --- Notes -----------------------------------------------------------------------------------------

def _empty_sections(kind: str) -> dict[str, str]:
    return {key: "" for key, _label in NOTE_SECTIONS[kind]}


def _clean_sections(kind: str, sections: dict[str, str]) -> dict[str, str]:
    allowed = {key for key, _label in NOTE_SECTIONS[kind]}
    unknown = set(sections) - allowed
    if unknown:
        raise ValidationError(_("Unknown note sections: %(names)s") % {"names": ", ".join(sorted(unknown))})
    return {key: str(sections.get(key, "")) for key, _label in NOTE_SECTIONS[kind]}


def note_create(*, author: User, patient: User, kind: str, appointment: Appointment | None = None,
                private: bool = False, sections: dict[str, str] | None = None,
                ip: str | None = None) -> ClinicalNote:
    if kind not in NoteKind.values:
        raise ValidationError(_("Choose a kind of note."))
    if not author.is_clinician or not patient.is_patient:
        raise PermissionDenied
    if appointment is not None and (
        appointment.patient_id != patient.pk or appointment.clinician_id != author.pk
    ):
        raise PermissionDenied
    if not clinician_treats_patient(clinician=author, patient=patient):
        raise PermissionDenied
    body = _clean_sections(kind, sections or {}) if sections else _empty_sections(kind)
    with transaction.atomic():
        note = ClinicalNote(patient=patient, author=author, appointment=appointment, kind=kind,
                            private=private)
        note.encrypt_field_json("body", body)
        note.save(force_insert=True)
        audit_log(actor=author, action=AuditEvent.Action.CREATE, object_type="note",
                  object_id=note.pk, patient=patient, ip=ip)
    return note


def note_update_draft(*, note_id: int, author: User, sections: dict[str, str],
                      private: bool | None = None, ip: str | None = None) -> ClinicalNote:
    with transaction.atomic():
        note = note_lock(note_id=note_id)
        if note is None or note.author_id != author.pk:
            raise PermissionDenied
        if note.is_signed:
            raise NoteLocked(_("This note is signed and cannot change. Add an addendum instead."))
        note.encrypt_field_json("body", _clean_sections(note.kind, sections))
        if private is not None:
            note.private = private
        note.updated_at = timezone.now()
        note.save(update_fields=["body", "private", "updated_at"])
        audit_log(actor=author, action=AuditEvent.Action.UPDATE, object_type="note",
                  object_id=note.pk, patient=note.patient, ip=ip)
    return note


def note_sign(*, note_id: int, author: User, ip: str | None = None) -> ClinicalNote:
    with transaction.atomic():
        note = note_lock(note_id=note_id)
        if note is None or note.author_id != author.pk:
            raise PermissionDenied
        if note.is_signed:
            raise NoteLocked(_("This note is already signed."))
        now = timezone.now()
        note.status = ClinicalNote.Status.SIGNED
        note.signed_at = now
        note.updated_at = now
        note.save(update_fields=["status", "signed_at", "updated_at"])
        audit_log(actor=author, action=AuditEvent.Action.SIGN, object_type="note",
                  object_id=note.pk, patient=note.patient, ip=ip)
    return note


def addendum_add(*, note_id: int, author: User, text: str, ip: str | None = None) -> NoteAddendum:
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Write the addendum before saving it."))
    with transaction.atomic():
        note = note_lock(note_id=note_id)
        if note is None or not author.is_clinician:
            raise PermissionDenied
        if note.author_id != author.pk and not clinician_treats_patient(
            clinician=author, patient=note.patient
        ):
            raise PermissionDenied
        if not note.is_signed:
            raise ValidationError(_("Sign the note first; a draft is edited directly."))
        addendum = NoteAddendum(note=note, author=author, signed_at=timezone.now())
        addendum.encrypt_field("body", text)
        addendum.save(force_insert=True)
        audit_log(actor=author, action=AuditEvent.Action.CREATE, object_type="addendum",
                  object_id=addendum.pk, patient=note.patient, ip=ip)
    return addendum


# --- Measures --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuestionnaireAnswers:
    answers: list[int]
    difficulty: int | None = None
    comment: str = ""


def questionnaire_submit(*, patient: User, instrument: str, answers: QuestionnaireAnswers,
                         request: MeasureRequest | None = None, ip: str | None = None,
                         submitted_at: datetime | None = None) -> QuestionnaireResponse:
    if not patient.is_patient:
        raise PermissionDenied
    try:
        result = measures.score(instrument, list(answers.answers))
    except measures.InvalidAnswers as exc:
        raise ValidationError(_("Answer every question with one of the four choices.")) from exc
    if answers.difficulty is not None and answers.difficulty not in (0, 1, 2, 3):
        raise ValidationError(_("Choose one of the four difficulty answers."))
    if request is not None and request.patient_id != patient.pk:
        raise PermissionDenied
    with transaction.atomic():
        response = QuestionnaireResponse(
            patient=patient, instrument=instrument, request=request, score=result.total,
            band=result.band, submitted_at=submitted_at or timezone.now(),
        )
        response.encrypt_field_json("answers", {
            "answers": list(answers.answers), "difficulty": answers.difficulty,
            "comment": answers.comment.strip()[:2000],
        })
        try:
            with transaction.atomic():
                response.save(force_insert=True)
        except IntegrityError:
            # Already answered for this appointment: keep it as a standalone response.
            response.request = None
            response.save(force_insert=True)
        if measures.self_harm_positive(instrument, list(answers.answers)):
            PatientFlag.objects.create(patient=patient, kind=PatientFlag.Kind.SELF_HARM_ITEM,
                                       response=response)
            value = answers.answers[measures.SELF_HARM_ITEM_INDEX]
            # The crisis app raises the event and its alerts inside this transaction.
            crisis_event_raise(patient=patient, source="questionnaire",
                               detail=f"PHQ-9 item 9 = {value}")
        audit_log(actor=patient, action=AuditEvent.Action.CREATE, object_type="questionnaire",
                  object_id=response.pk, patient=patient, ip=ip)
    return response


def flag_clear(*, flag_id: int, by: User) -> PatientFlag:
    with transaction.atomic():
        flag = PatientFlag.objects.select_for_update(of=("self",)).select_related("patient").filter(
            pk=flag_id).first()
        if flag is None or not by.is_clinician or not clinician_treats_patient(
            clinician=by, patient=flag.patient
        ):
            raise PermissionDenied
        if flag.cleared_at is None:
            flag.cleared_at = timezone.now()
            flag.cleared_by = by
            flag.save(update_fields=["cleared_at", "cleared_by"])
            audit_log(actor=by, action=AuditEvent.Action.UPDATE, object_type="flag",
                      object_id=flag.pk, patient=flag.patient)
    return flag


def _send_measure_request_email(request_id: int) -> None:
    request = MeasureRequest.objects.select_related("patient").filter(pk=request_id).first()
    if request is None or request.notified_at is not None:
        return
    # No clinical content in email: a reminder and a link.
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}" + _("Two short questionnaires before your visit"),
        message=_("Before your appointment, please answer two short questionnaires (about 3 "
                  "minutes). Sign in to telepsych and open Questionnaires: %(path)s")
        % {"path": _site_url(reverse("records:measures"))},
        from_email=None, recipient_list=[request.patient.email],
    )
    MeasureRequest.objects.filter(pk=request.pk, notified_at__isnull=True).update(
        notified_at=timezone.now())


def measure_requests_create_due(*, now: datetime | None = None) -> list[int]:
    """One request per booked appointment starting within 24 hours. The unique appointment
    column makes a repeated or concurrent run create nothing twice."""
    now = now or timezone.now()
    due = Appointment.objects.filter(
        status=Appointment.Status.BOOKED, starts_at__gt=now,
        starts_at__lte=now + timedelta(hours=24), measure_request__isnull=True,
    ).values_list("pk", "patient_id")
    created = []
    for appointment_id, patient_id in due:
        try:
            with transaction.atomic():
                request = MeasureRequest.objects.create(
                    appointment_id=appointment_id, patient_id=patient_id, created_at=now)
                transaction.on_commit(
                    lambda request_id=request.pk: _send_measure_request_email(request_id))
        except IntegrityError:
            continue  # another worker made it first
        created.append(request.pk)
    return created


# --- Break-glass -----------------------------------------------------------------------------------

def break_glass_open(*, admin: User, patient: User, reason: str,
                     ip: str | None = None) -> BreakGlassGrant:
    reason = (reason or "").strip()
    if not admin.is_clinic_admin:
        raise PermissionDenied
    if not patient.is_patient:
        raise PermissionDenied
    if len(reason) < 10:
        raise ValidationError(_("State the reason for opening this record (at least 10 characters)."))
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(
            admin=admin, patient=patient, reason=reason[:500], granted_at=now,
            expires_at=now + timedelta(seconds=settings.TELEPSYCH_BREAK_GLASS_SECONDS),
        )
        audit_log(actor=admin, action=AuditEvent.Action.BREAK_GLASS, object_type="break_glass",
                  object_id=grant.pk, patient=patient, ip=ip, break_glass=True)
        clinicians = list(treating_clinicians_for(patient=patient))
        transaction.on_commit(lambda: _break_glass_notify(grant.pk, [c.pk for c in clinicians]))
    return grant


def _break_glass_notify(grant_id: int, clinician_ids: list[int]) -> None:
    grant = BreakGlassGrant.objects.select_related("admin").get(pk=grant_id)
    chart_path = reverse("records:chart", args=[grant.patient_id])
    for clinician in User.objects.filter(pk__in=clinician_ids):
        _notify(clinician_group(clinician.pk), {
            "kind": "records.break_glass",
            "patient_id": grant.patient_id,
            "admin": str(grant.admin),
            "expires_at": grant.expires_at.isoformat(),
            "url": chart_path,
        })
        send_mail(
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}" + _("Break-glass access to a patient record"),
            message=_("%(admin)s opened the record of one of your patients under break-glass "
                      "access until %(until)s UTC. The reason and every read are in the audit "
                      "trail. Record: %(path)s")
            % {"admin": grant.admin, "until": grant.expires_at.strftime("%Y-%m-%d %H:%M"),
               "path": _site_url(chart_path)},
            from_email=None, recipient_list=[clinician.email],
        )


# --- Export ----------------------------------------------------------------------------------------

def patient_export_audit(*, patient: User, export_format: str, ip: str | None = None) -> AuditEvent:
    return audit_log(actor=patient, action=AuditEvent.Action.EXPORT, object_type="export",
                     object_id=export_format, patient=patient, ip=ip)
