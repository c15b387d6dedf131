"""Celery tasks: small, take ids, idempotent (the services record what was done)."""

from celery import shared_task

from . import services


@shared_task
def send_due_reminders() -> int:
    """Beat: queue every reminder now due. Running twice queues duplicates that send nothing."""
    due = services.reminders_due()
    for item in due:
        send_reminder.delay(item.appointment_id, item.kind)
    return len(due)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_reminder(appointment_id: int, kind: str) -> bool:
    return services.reminder_send(appointment_id=appointment_id, kind=kind)


@shared_task
def check_license_expiry() -> int:
    """Daily: flag future appointments beyond a license's end."""
    return len(services.license_expiry_check())


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_clinician_of_license_flag(flag_id: int) -> bool:
    return services.license_flag_notify_clinician(flag_id=flag_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_appointment_notice(appointment_id: int, recipient_id: int, kind: str) -> None:
    services.appointment_notice_send(appointment_id=appointment_id, recipient_id=recipient_id, kind=kind)
