"""Celery tasks of records: small, idempotent, re-fetching by id."""

import logging

from celery import shared_task

from .services import audit_chain_check, measure_requests_create_due

logger = logging.getLogger(__name__)


@shared_task(name="records.send_measure_requests")
def send_measure_requests() -> int:
    """Ask patients for PHQ-9 and GAD-7 24 hours before each appointment (once each)."""
    return len(measure_requests_create_due())


@shared_task(name="records.verify_audit_chain")
def verify_audit_chain() -> bool:
    """Nightly: walk the audit chain; a break is logged and emailed to the clinic admins."""
    return audit_chain_check()
