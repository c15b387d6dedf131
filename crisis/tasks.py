"""Celery tasks: small, idempotent, no arguments that could carry PHI."""

from celery import shared_task

from . import services


@shared_task(name="crisis.outbox_drain", ignore_result=True)
def crisis_outbox_drain() -> int:
    """Deliver due outbox rows. Concurrent runs never deliver a row twice (row locks)."""
    return services.notifications_drain()


@shared_task(name="crisis.escalations_run", ignore_result=True)
def crisis_escalations_run() -> int:
    """Escalate unacknowledged crisis events whose time has come, then deliver."""
    escalated = services.crisis_escalations_run()
    services.notifications_drain()
    return escalated
