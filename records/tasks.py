"""Celery tasks of records: small, idempotent, re-fetching by id."""

from celery import shared_task

from .services import measure_requests_create_due


@shared_task(name="records.send_measure_requests")
def send_measure_requests() -> int:
    """Ask patients for PHQ-9 and GAD-7 24 hours before each appointment (once each)."""
    return len(measure_requests_create_due())
