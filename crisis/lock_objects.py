"""Row locks for crisis writes, in one place (call inside transaction.atomic)."""

from datetime import datetime

from django.db.models import QuerySet

from accounts.models import User

from .models import CrisisEvent, Notification


def patient_lock(*, patient_id: int) -> None:
    """Serialise risk signals of one patient, so two signals never open two events."""
    list(User.objects.select_for_update().filter(pk=patient_id).values_list("pk", flat=True))


def event_lock(*, event_id: int) -> CrisisEvent | None:
    return CrisisEvent.objects.select_for_update().filter(pk=event_id).first()


def events_due_for_escalation_locked(*, now: datetime, limit: int = 100) -> list[CrisisEvent]:
    """Unacknowledged events whose escalation time has come; rows another run holds are skipped."""
    return list(
        CrisisEvent.objects.select_for_update(skip_locked=True)
        .filter(status__in=CrisisEvent.UNACKNOWLEDGED, next_escalation_at__lte=now)
        .order_by("next_escalation_at", "pk")[:limit]
    )


def notifications_due_locked(
    *, now: datetime, limit: int, ids: list[int] | None = None
) -> list[Notification]:
    """Undelivered outbox rows that are due; rows another drain holds are skipped (exactly once)."""
    rows: QuerySet[Notification] = Notification.objects.select_for_update(skip_locked=True).filter(
        sent_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=now
    )
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return list(rows.order_by("next_attempt_at", "pk")[:limit])
