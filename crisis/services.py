"""Crisis writes: raising events, acknowledging them, escalation, and the notification outbox.

A risk signal is written in the caller's transaction together with its outbox rows. After commit
the realtime rows (the patient's crisis panel, the clinicians' alert) are delivered at once in the
same process; everything else, and anything that failed, is delivered by the Celery drain with
exponential backoff. A row is claimed with SELECT ... FOR UPDATE SKIP LOCKED and marked sent in
the same transaction, so two drains never deliver one row twice.
"""

import logging
from datetime import datetime, timedelta
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import ClinicianProfile, Region, User
from accounts.selectors import patient_profile_for
from scheduling.selectors import treating_clinicians_for
from telepsych.common.groups import clinician_group, patient_group

from . import lock_objects
from .detection import RiskMatch, rules_changed
from .models import CrisisEvent, CrisisSignal, Notification, RiskRule
from .selectors import region_now_for, resources_for_region

logger = logging.getLogger(__name__)


class CrisisEventStateError(Exception):
    """The event is not in a state that allows this action; the message says why."""


# --- Raising ---------------------------------------------------------------------------------------


def crisis_event_raise(
    *, patient: User, source: str, detail: str = "", rule: RiskRule | RiskMatch | int | None = None
) -> CrisisEvent:
    """Record a risk signal. Call it INSIDE the caller's transaction (with the message or answer
    that raised it). The first signal opens an event and alerts the care team; later signals,
    until someone acknowledges, join that event and show the patient the crisis panel again.

    `detail` must never hold the patient's own words (no PHI outside encrypted records): pass a
    label such as "PHQ-9 item 9 = 2"; for a rule match it defaults to the matched phrase.
    """
    if source not in CrisisEvent.Source.values:
        raise ValueError(f"Unknown crisis source {source!r}; use one of {CrisisEvent.Source.values}.")
    if not patient.is_patient:
        raise ValueError("Crisis events are raised for patients only.")
    rule_obj = _rule_from(rule)
    if not detail and rule_obj is not None:
        detail = f"matched rule {rule_obj.pk} ({rule_obj.language}): {rule_obj.pattern}"
    detail = detail[:300]
    now = timezone.now()
    with transaction.atomic():
        lock_objects.patient_lock(patient_id=patient.pk)
        event = CrisisEvent.objects.filter(
            patient=patient, status__in=CrisisEvent.UNACKNOWLEDGED
        ).first()
        if event is None:
            event = CrisisEvent.objects.create(
                patient=patient, source=source, rule=rule_obj, detail=detail,
                region=region_now_for(patient=patient), raised_at=now, last_signal_at=now,
                next_escalation_at=now + _escalate_after(),
            )
            recipients = list(treating_clinicians_for(patient=patient).filter(is_active=True))
            if not recipients:
                # Nobody treats this patient yet: go straight to the on-call staff.
                recipients = list(_escalation_staff())
            realtime_ids = _alert_staff(event=event, recipients=recipients, round_name="raised")
        else:
            event.signal_count += 1
            event.last_signal_at = now
            event.save(update_fields=["signal_count", "last_signal_at"])
            realtime_ids = []
        CrisisSignal.objects.create(
            event=event, source=source, rule=rule_obj, detail=detail, created_at=now
        )
        panel = _outbox_add(
            recipient=patient, event=event, channel=Notification.Channel.REALTIME,
            key=f"crisis:{event.pk}:panel:{event.signal_count}",
            payload={"kind": "crisis.panel", "event_id": event.pk},
        )
        realtime_ids.append(panel.pk)
        _deliver_on_commit(realtime_ids)
    return event


def _rule_from(rule: RiskRule | RiskMatch | int | None) -> RiskRule | None:
    if rule is None or isinstance(rule, RiskRule):
        return rule
    rule_id = rule.rule_id if isinstance(rule, RiskMatch) else int(rule)
    return RiskRule.objects.filter(pk=rule_id).first()


def _escalate_after() -> timedelta:
    return timedelta(seconds=settings.TELEPSYCH_CRISIS_ESCALATE_AFTER_SECONDS)


def _escalation_staff():
    """On-call clinicians and clinic admins, active."""
    on_call = ClinicianProfile.objects.filter(on_call=True).values("user_id")
    return User.objects.filter(is_active=True).filter(
        Q(role=User.Role.CLINIC_ADMIN) | Q(role=User.Role.CLINICIAN, pk__in=on_call)
    ).order_by("pk")


def _alert_staff(*, event: CrisisEvent, recipients, round_name: str) -> list[int]:
    """A realtime alert and an email per staff member; returns the realtime rows' ids."""
    realtime_ids = []
    url = reverse("crisis:event", args=[event.pk])
    seen: set[int] = set()
    for user in recipients:
        if user.pk in seen:
            continue
        seen.add(user.pk)
        alert = _outbox_add(
            recipient=user, event=event, channel=Notification.Channel.REALTIME,
            key=f"crisis:{event.pk}:{round_name}:{user.pk}:realtime",
            payload={"kind": "crisis.alert", "event_id": event.pk, "url": url,
                     "source": event.source, "escalation": event.escalation_count},
        )
        realtime_ids.append(alert.pk)
        _outbox_add(
            recipient=user, event=event, channel=Notification.Channel.EMAIL,
            key=f"crisis:{event.pk}:{round_name}:{user.pk}:email",
            payload={"kind": "crisis.alert", "event_id": event.pk, "url": url,
                     "escalation": event.escalation_count},
        )
    return realtime_ids


def _outbox_add(*, recipient: User, event: CrisisEvent | None, channel: str, key: str,
                payload: dict) -> Notification:
    notification, _created = Notification.objects.get_or_create(
        idempotency_key=key,
        defaults={"recipient": recipient, "event": event, "channel": channel, "payload": payload},
    )
    return notification


def _deliver_on_commit(realtime_ids: list[int]) -> None:
    # robust: a broker or channel layer that is down must never fail the patient's request;
    # the rows stay in the outbox and the beat-driven drain delivers them later.
    transaction.on_commit(partial(_after_commit, list(realtime_ids)), robust=True)


def _after_commit(realtime_ids: list[int]) -> None:
    try:
        notifications_drain(ids=realtime_ids)
    finally:
        _kick_drain_task()


def _kick_drain_task() -> None:
    from .tasks import crisis_outbox_drain

    try:
        # No publish retries: with the broker down, fail fast (the patient's request is
        # waiting); the rows are already stored and beat drains them when the broker is back.
        crisis_outbox_drain.apply_async(retry=False)
    except Exception:  # noqa: BLE001 - broker down: beat drains the rows when it is back
        logger.warning("crisis: could not queue the outbox drain; beat will deliver later")


# --- Acknowledging and follow-up -------------------------------------------------------------


def crisis_event_acknowledge(
    *, event_id: int, by: User, note: str = "", now: datetime | None = None
) -> CrisisEvent:
    """Stops escalation and tells the patient and the other alerted staff. Staff only; the
    caller has checked access with `crisis_event_get_for_staff`."""
    now = now or timezone.now()
    with transaction.atomic():
        event = lock_objects.event_lock(event_id=event_id)
        if event is None:
            raise CrisisEventStateError(_("This crisis event does not exist."))
        if not event.is_unacknowledged:
            raise CrisisEventStateError(
                _("%(name)s already acknowledged this alert.")
                % {"name": event.acknowledged_by or _("Someone")}
            )
        event.status = CrisisEvent.Status.ACKNOWLEDGED
        event.acknowledged_by = by
        event.acknowledged_at = now
        event.next_escalation_at = None
        if note.strip():
            event.follow_up_note = note.strip()
        event.save(update_fields=["status", "acknowledged_by", "acknowledged_at",
                                  "next_escalation_at", "follow_up_note"])
        alerted = set(
            event.notifications.filter(channel=Notification.Channel.REALTIME)
            .values_list("recipient_id", flat=True)
        )
        ids = []
        for user in User.objects.filter(pk__in=alerted | {event.patient_id}).order_by("pk"):
            row = _outbox_add(
                recipient=user, event=event, channel=Notification.Channel.REALTIME,
                key=f"crisis:{event.pk}:acknowledged:{user.pk}",
                payload={"kind": "crisis.acknowledged", "event_id": event.pk},
            )
            ids.append(row.pk)
        _deliver_on_commit(ids)
    return event


def crisis_event_follow_up(
    *, event_id: int, by: User, note: str, close: bool = False, now: datetime | None = None
) -> CrisisEvent:
    """Record the follow-up (acknowledging first if nobody has); `close` ends the event."""
    now = now or timezone.now()
    with transaction.atomic():
        event = lock_objects.event_lock(event_id=event_id)
        if event is None:
            raise CrisisEventStateError(_("This crisis event does not exist."))
        if event.status == CrisisEvent.Status.CLOSED:
            raise CrisisEventStateError(_("This crisis event is already closed."))
        if event.is_unacknowledged:
            event = crisis_event_acknowledge(event_id=event_id, by=by, note=note, now=now)
        elif note.strip():
            event.follow_up_note = note.strip()
            event.save(update_fields=["follow_up_note"])
        if close:
            event.status = CrisisEvent.Status.CLOSED
            event.closed_at = now
            event.save(update_fields=["status", "closed_at"])
    return event


# --- Escalation ----------------------------------------------------------------------------------


def crisis_escalations_run(*, now: datetime | None = None) -> int:
    """Escalate every unacknowledged event whose time has come, to the on-call clinicians and
    clinic admins (and the treating clinicians again). Idempotent: an escalated event's next
    escalation moves forward under a row lock, so a second run at the same moment does nothing."""
    now = now or timezone.now()
    repeat = timedelta(seconds=settings.TELEPSYCH_CRISIS_ESCALATE_REPEAT_SECONDS)
    with transaction.atomic():
        events = lock_objects.events_due_for_escalation_locked(now=now)
        realtime_ids: list[int] = []
        for event in events:
            event.escalation_count += 1
            event.status = CrisisEvent.Status.ESCALATED
            event.next_escalation_at = now + repeat
            event.save(update_fields=["escalation_count", "status", "next_escalation_at"])
            recipients = [
                *_escalation_staff(),
                *treating_clinicians_for(patient=event.patient).filter(is_active=True),
            ]
            realtime_ids += _alert_staff(
                event=event, recipients=recipients,
                round_name=f"escalation-{event.escalation_count}",
            )
        if events:
            _deliver_on_commit(realtime_ids)
    return len(events)


# --- The outbox ------------------------------------------------------------------------------------


def notifications_drain(*, now: datetime | None = None, ids: list[int] | None = None,
                        batch: int = 20) -> int:
    """Deliver due outbox rows; returns how many were delivered. Safe to run concurrently."""
    delivered = 0
    max_attempts = settings.TELEPSYCH_OUTBOX_MAX_ATTEMPTS
    backoff = settings.TELEPSYCH_OUTBOX_BACKOFF_SECONDS
    while True:
        moment = now or timezone.now()
        with transaction.atomic():
            rows = lock_objects.notifications_due_locked(now=moment, limit=batch, ids=ids)
            for row in rows:
                try:
                    _deliver(row)
                except Exception as exc:  # noqa: BLE001 - any failure is retried with backoff
                    row.attempts += 1
                    row.last_error = f"{type(exc).__name__}: {exc}"[:300]
                    row.next_attempt_at = moment + timedelta(
                        seconds=min(backoff * 2 ** (row.attempts - 1), 6 * 3600)
                    )
                    if row.attempts >= max_attempts:
                        row.failed_at = moment
                        logger.error("crisis: notification %s gave up after %s attempts",
                                     row.pk, row.attempts)
                    row.save(update_fields=["attempts", "last_error", "next_attempt_at",
                                            "failed_at"])
                else:
                    row.attempts += 1
                    row.sent_at = timezone.now()
                    row.save(update_fields=["attempts", "sent_at"])
                    delivered += 1
        if len(rows) < batch:
            return delivered


def _deliver(row: Notification) -> None:
    if row.channel == Notification.Channel.EMAIL:
        _deliver_email(row)
    else:
        _deliver_realtime(row)


def _deliver_email(row: Notification) -> None:
    recipient = row.recipient
    link = settings.TELEPSYCH_SITE_URL + row.payload.get("url", "/")
    # No PHI in email: no name, no words, no region; the link asks for sign-in and MFA.
    with translation.override(_staff_language(recipient)):
        subject = _("A patient needs attention")
        if row.payload.get("escalation"):
            subject = _("Escalated: a patient needs attention")
        body = _(
            "A patient needs attention now. Please sign in and open the alert:\n\n%(link)s\n\n"
            "This email holds no patient details on purpose."
        ) % {"link": link}
    send_mail(subject, body, None, [recipient.email], fail_silently=False)


def _staff_language(user: User) -> str:
    profile = ClinicianProfile.objects.filter(user=user).first()
    languages = profile.languages if profile else []
    return languages[0] if languages and languages[0] in ("en", "vi") else "en"


def _deliver_realtime(row: Notification) -> None:
    recipient = row.recipient
    event = dict(row.payload)
    if event.get("kind") == "crisis.panel":
        event["html"] = panel_html(patient=recipient)
        region = region_now_for(patient=recipient)
        event["region"] = region.code if region else None
    group = patient_group(recipient.pk) if recipient.is_patient else clinician_group(recipient.pk)
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer")
    async_to_sync(layer.group_send)(group, {"type": "notify.event", "event": event})


def panel_html(*, patient: User, region: Region | None = None) -> str:
    """The crisis panel for where the patient is now, in the patient's language."""
    region = region or region_now_for(patient=patient)
    profile = patient_profile_for(user=patient)
    language = profile.preferred_language if profile else "en"
    with translation.override(language):
        return render_to_string(
            "crisis/partials/panel.html",
            {"region": region, "resources": resources_for_region(region=region),
             "language": language, "live": True},
        )


# --- Admin edits --------------------------------------------------------------------------------


def risk_rules_changed() -> None:
    """After an admin edits rules: every process reloads them."""
    rules_changed()
