"""Video visits: one room per appointment, and what happened in it."""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

callback_phone_validator = RegexValidator(
    r"^\+?[0-9 ()\-]{3,20}$",
    _("Enter a phone number with digits only, optionally starting with +, e.g. +84 912 345 678."),
)


class VideoSession(models.Model):
    """The video room of one appointment. Its id (a UUID) names the signaling socket."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        WAITING = "waiting", _("Waiting")
        LIVE = "live", _("Live")
        ENDED = "ended", _("Ended")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="video_session"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    created_at = models.DateTimeField(auto_now_add=True)
    waiting_since = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Where the patient is during this visit, confirmed on the pre-call page every session.
    location_region = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    location_address = models.CharField(max_length=300, blank=True)
    callback_phone = models.CharField(
        max_length=20, blank=True, validators=[callback_phone_validator]
    )
    location_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The patient's newest waiting-room socket: an older socket closing does not mark them gone.
    patient_channel = models.CharField(max_length=200, blank=True)
    # The clinician's last note to the waiting patient ("running 5 minutes late").
    waiting_message = models.CharField(max_length=200, blank=True)
    waiting_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["scheduled", "waiting", "live", "ended"]),
                name="videosession_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="waiting") | Q(location_confirmed_at__isnull=False),
                name="videosession_waiting_needs_location",
            ),
            models.CheckConstraint(
                condition=~Q(state="live") | Q(started_at__isnull=False),
                name="videosession_live_has_start",
            ),
            models.CheckConstraint(
                condition=~Q(state="ended") | Q(ended_at__isnull=False),
                name="videosession_ended_has_end",
            ),
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"Video session {self.pk} ({self.get_state_display()})"

    @property
    def location_confirmed(self) -> bool:
        return self.location_confirmed_at is not None


class SessionEvent(models.Model):
    """One participant's join, leave, reconnect or switch to audio only, with its time."""

    class Kind(models.TextChoices):
        JOINED = "joined", _("Joined")
        LEFT = "left", _("Left")
        RECONNECTED = "reconnected", _("Reconnected")
        AUDIO_ONLY = "audio_only", _("Switched to audio only")
        ADMITTED = "admitted", _("Admitted")
        ENDED = "ended", _("Ended")

    session = models.ForeignKey(VideoSession, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["session", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M:%S}"


from .chat_models import *  # noqa: E402,F401,F403 - secure messaging (Thread, Message)
