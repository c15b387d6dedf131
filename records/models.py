"""Clinical records: notes and addenda (encrypted), questionnaires (PHQ-9, GAD-7), flags,
break-glass grants, and the hash-chained audit trail.

Guarantees live in the database (migration 0003): triggers refuse changes to signed notes and
addenda (only a key re-wrap may touch their envelopes) and any UPDATE or DELETE of audit events.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .encryption import EncryptedModel, EnvelopeField


class NoteKind(models.TextChoices):
    PSYCHIATRIC_EVALUATION = "psychiatric_evaluation", _("Psychiatric evaluation")
    PROGRESS_NOTE = "progress_note", _("Progress note")
    MEDICATION_MANAGEMENT = "medication_management", _("Medication management")


# The sections of each kind, in order: (key, label). Progress notes are SOAP.
NOTE_SECTIONS: dict[str, list[tuple[str, str]]] = {
    NoteKind.PSYCHIATRIC_EVALUATION: [
        ("presenting_problem", _("Presenting problem")),
        ("history", _("History")),
        ("mental_status", _("Mental status examination")),
        ("assessment", _("Assessment")),
        ("plan", _("Plan")),
    ],
    NoteKind.PROGRESS_NOTE: [
        ("subjective", _("Subjective")),
        ("objective", _("Objective")),
        ("assessment", _("Assessment")),
        ("plan", _("Plan")),
    ],
    NoteKind.MEDICATION_MANAGEMENT: [
        ("current_medications", _("Current medications")),
        ("response", _("Response and side effects")),
        ("changes", _("Changes")),
        ("plan", _("Plan")),
    ],
}


class ClinicalNote(EncryptedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SIGNED = "signed", _("Signed")

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinical_notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_notes"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True,
        related_name="clinical_notes",
    )
    kind = models.CharField(max_length=32, choices=NoteKind.choices)
    # Psychotherapy notes: never shown to the patient, not exported.
    private = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Encrypted JSON object {section key: text}.
    body = EnvelopeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["patient", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="draft", signed_at__isnull=True)
                           | Q(status="signed", signed_at__isnull=False)),
                name="note_signed_iff_signed_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} ({self.get_status_display()})"

    @property
    def is_signed(self) -> bool:
        return self.status == self.Status.SIGNED

    @property
    def is_open_note(self) -> bool:
        """Patients may read it: a signed, non-private progress note."""
        return self.is_signed and not self.private and self.kind == NoteKind.PROGRESS_NOTE


class NoteAddendum(EncryptedModel):
    """A correction or addition to a signed note; signed when written, never changed."""

    note = models.ForeignKey(ClinicalNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = EnvelopeField()
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["signed_at", "pk"]

    def __str__(self) -> str:
        return f"Addendum {self.pk} to note {self.note_id}"


class Instrument(models.TextChoices):
    PHQ9 = "phq9", "PHQ-9"
    GAD7 = "gad7", "GAD-7"


class MeasureRequest(models.Model):
    """Sent once per appointment, 24 hours before it (the unique appointment makes it once)."""

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="measure_requests"
    )
    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="measure_request"
    )
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Questionnaire request for appointment {self.appointment_id}"


class QuestionnaireResponse(EncryptedModel):
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="questionnaire_responses"
    )
    instrument = models.CharField(max_length=8, choices=Instrument.choices)
    request = models.ForeignKey(
        MeasureRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="responses"
    )
    # Encrypted JSON {"answers": [int, ...], "difficulty": int | null, "comment": str}.
    answers = EnvelopeField()
    score = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=24)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["patient", "instrument", "submitted_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=27), name="questionnaire_score_range"),
            models.UniqueConstraint(
                fields=["request", "instrument"], condition=Q(request__isnull=False),
                name="questionnaire_once_per_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} {self.pk}"


class PatientFlag(models.Model):
    class Kind(models.TextChoices):
        SELF_HARM_ITEM = "phq9_item9", _("PHQ-9 item 9: thoughts of self-harm")

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="record_flags"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    response = models.OneToOneField(
        QuestionnaireResponse, on_delete=models.PROTECT, null=True, blank=True, related_name="flag"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["patient", "cleared_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for patient {self.patient_id}"


class BreakGlassGrant(models.Model):
    admin = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    reason = models.CharField(max_length=500)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["admin", "patient", "expires_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("granted_at")),
                                   name="break_glass_expires_after_grant"),
            models.CheckConstraint(condition=~Q(reason=""), name="break_glass_reason_required"),
        ]

    def __str__(self) -> str:
        return f"Break-glass {self.pk} (patient {self.patient_id})"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only: they cannot be updated.")

    def delete(self):
        raise TypeError("Audit events are append-only: they cannot be deleted.")


class AuditEvent(models.Model):
    """One read or write of patient data. `hash` = SHA-256 over this event's content and the
    previous event's hash; `seq` numbers the chain without gaps. Written only by
    `records.services.audit_log`; on every database a trigger refuses UPDATE and DELETE."""

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed")
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        SIGN = "sign", _("Signed")
        EXPORT = "export", _("Exported")
        BREAK_GLASS = "break_glass", _("Break-glass access")

    seq = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", db_constraint=False,
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", db_constraint=False,
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    break_glass = models.BooleanField(default=False)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["patient", "occurred_at"]),
            models.Index(fields=["actor", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"Audit #{self.seq} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        # Append-only: a row that exists is never written again.
        if not self._state.adding:
            raise TypeError("Audit events are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only: they cannot be deleted.")
