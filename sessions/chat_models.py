"""Secure messaging: one thread per patient–clinician pair, messages stored encrypted.

Re-exported by `sessions.models` so Django registers them under the app label
`therapy_sessions`. Guarantees live in the database: one thread per pair, one message per
(thread, sequence), and one message per (thread, sender, client message id), so a resend of
the same client id can never create a second message.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from records.encryption import EncryptedModel, EnvelopeField

__all__ = ["MESSAGE_MAX_CHARS", "Message", "Thread"]

MESSAGE_MAX_CHARS = 4000


class Thread(models.Model):
    """The conversation of one patient with one clinician; in-call chat is the same thread."""

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patient_threads"
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinician_threads"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The highest sequence number handed out; bumped under the thread's row lock.
    last_seq = models.PositiveBigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Read receipts: the highest sequence each side has seen.
    patient_read_seq = models.PositiveBigIntegerField(default=0)
    clinician_read_seq = models.PositiveBigIntegerField(default=0)
    # Unread-message emails: when each side was last emailed, and up to which sequence.
    patient_emailed_at = models.DateTimeField(null=True, blank=True)
    patient_emailed_seq = models.PositiveBigIntegerField(default=0)
    clinician_emailed_at = models.DateTimeField(null=True, blank=True)
    clinician_emailed_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "clinician"], name="thread_one_per_pair"),
            models.CheckConstraint(condition=~Q(patient=F("clinician")),
                                   name="thread_two_people"),
            models.CheckConstraint(condition=Q(patient_read_seq__lte=F("last_seq"))
                                   & Q(clinician_read_seq__lte=F("last_seq")),
                                   name="thread_read_within_sent"),
        ]
        indexes = [
            models.Index(fields=["clinician", "-last_message_at"]),
            models.Index(fields=["patient", "-last_message_at"]),
        ]

    def __str__(self) -> str:
        return f"Thread {self.pk}"

    def role_of(self, user_id: int) -> str | None:
        if user_id == self.patient_id:
            return "patient"
        if user_id == self.clinician_id:
            return "clinician"
        return None


class Message(EncryptedModel):
    """One message. The body is an encryption envelope bound to this row (records.encryption)."""

    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    seq = models.PositiveBigIntegerField()
    client_id = models.CharField(max_length=64)
    body = EnvelopeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["thread", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["thread", "seq"], name="message_seq_unique"),
            models.UniqueConstraint(fields=["thread", "sender", "client_id"],
                                    name="message_client_id_unique"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="message_seq_positive"),
        ]
        indexes = [models.Index(fields=["created_at"])]
        verbose_name = _("message")

    def __str__(self) -> str:
        return f"Message {self.thread_id}#{self.seq}"
