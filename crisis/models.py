"""Crisis resources per region, risk rules, crisis events and the notification outbox."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Language, Region, phone_validator

# A resource whose details nobody has checked for this long is flagged to the admin.
RESOURCE_STALE_AFTER = timedelta(days=183)


class CrisisResource(models.Model):
    class Kind(models.TextChoices):
        EMERGENCY = "emergency", _("Emergency number")
        HOTLINE = "hotline", _("Hotline")
        TEXT_LINE = "text_line", _("Text line")
        WEBSITE = "website", _("Website")

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="crisis_resources")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120)
    name_vi = models.CharField(_("name in Vietnamese"), max_length=120, blank=True)
    phone = models.CharField(_("phone or short code"), max_length=20, blank=True,
                             validators=[phone_validator])
    sms = models.CharField(_("text (SMS) number"), max_length=20, blank=True,
                           validators=[phone_validator])
    hours = models.CharField(_("hours"), max_length=80, blank=True, help_text=_("e.g. 24/7"))
    languages = models.JSONField(_("languages"), default=list, blank=True,
                                 help_text=_('Language codes, e.g. ["vi", "en"].'))
    url = models.URLField(_("website"), blank=True)
    description = models.CharField(_("description"), max_length=240, blank=True)
    description_vi = models.CharField(_("description in Vietnamese"), max_length=240, blank=True)
    verified = models.BooleanField(
        _("verified"), default=False,
        help_text=_("Only verified resources are shown to patients. A wrong number can do harm."),
    )
    last_verified = models.DateField(_("last verified"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        ordering = ["region__code", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(phone="") | ~Q(sms="") | ~Q(url=""),
                name="crisis_resource_has_contact",
            ),
            models.CheckConstraint(
                condition=Q(verified=False) | Q(last_verified__isnull=False),
                name="crisis_resource_verified_has_date",
            ),
            models.UniqueConstraint(fields=["region", "name"], name="crisis_resource_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.region.code})"

    def is_stale(self, *, today=None) -> bool:
        today = today or timezone.localdate()
        return self.last_verified is None or today - self.last_verified > RESOURCE_STALE_AFTER

    def name_for(self, language: str) -> str:
        return self.name_vi if language == Language.VIETNAMESE and self.name_vi else self.name

    def description_for(self, language: str) -> str:
        if language == Language.VIETNAMESE and self.description_vi:
            return self.description_vi
        return self.description


class RiskRule(models.Model):
    """A phrase (matched as whole words after normalisation) or a regular expression."""

    class Kind(models.TextChoices):
        PHRASE = "phrase", _("Phrase")
        REGEX = "regex", _("Regular expression")

    language = models.CharField(_("language"), max_length=5, choices=Language.choices)
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices, default=Kind.PHRASE)
    pattern = models.CharField(
        _("phrase or pattern"), max_length=300,
        help_text=_("Phrases are matched without case or Vietnamese diacritics, as whole words. "
                    "Patterns are Python regular expressions run on the normalised text."),
    )
    active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["language", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["language", "kind", "pattern"],
                                    name="risk_rule_unique_pattern"),
        ]

    def __str__(self) -> str:
        return f"{self.language}: {self.pattern}"


class CrisisEvent(models.Model):
    class Source(models.TextChoices):
        CHAT = "chat", _("Chat message")
        QUESTIONNAIRE = "questionnaire", _("Questionnaire (PHQ-9 item 9)")
        PANIC_BUTTON = "panic_button", _("Panic button")
        INTAKE = "intake", _("Intake answer")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ESCALATED = "escalated", _("Escalated")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        CLOSED = "closed", _("Closed")

    UNACKNOWLEDGED = (Status.OPEN, Status.ESCALATED)

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="crisis_events")
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    rule = models.ForeignKey(RiskRule, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="events")
    # Never the patient's own words: the matched rule's phrase or a short label such as "item 9 = 2".
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    region = models.ForeignKey(Region, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+", help_text=_("Where the patient was at the time."))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.OPEN)
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    signal_count = models.PositiveIntegerField(default=1)
    last_signal_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                        null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    follow_up_note = models.TextField(_("follow-up"), blank=True, max_length=4000)
    closed_at = models.DateTimeField(null=True, blank=True)
    escalation_count = models.PositiveIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["status", "next_escalation_at"],
                                name="crisis_event_escalation_idx")]
        constraints = [
            # One unacknowledged event per patient: further signals join it.
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status__in=["open", "escalated"]),
                name="crisis_one_unacknowledged_event_per_patient",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "escalated"]) | Q(acknowledged_at__isnull=False),
                name="crisis_event_acknowledged_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Crisis event {self.pk} ({self.get_status_display()})"

    @property
    def is_unacknowledged(self) -> bool:
        return self.status in self.UNACKNOWLEDGED


class CrisisSignal(models.Model):
    """Each risk signal; the first one opens an event, later ones join it until acknowledged."""

    event = models.ForeignKey(CrisisEvent, on_delete=models.CASCADE, related_name="signals")
    source = models.CharField(max_length=16, choices=CrisisEvent.Source.choices)
    rule = models.ForeignKey(RiskRule, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Signal {self.pk} of event {self.event_id}"


class Notification(models.Model):
    """Outbox row, written in the same transaction as the event; delivered by the drain."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        REALTIME = "realtime", _("Realtime")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="crisis_notifications")
    event = models.ForeignKey(CrisisEvent, on_delete=models.CASCADE, related_name="notifications",
                              null=True, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # No PHI: kinds, ids, links and region codes only.
    payload = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True, help_text="Gave up after max attempts.")
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["sent_at", "failed_at", "next_attempt_at"],
                                name="crisis_outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel} notification {self.pk} to user {self.recipient_id}"
