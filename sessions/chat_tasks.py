"""Celery tasks of secure messaging: small, idempotent, no arguments that carry PHI."""

from celery import shared_task

from . import chat_services


@shared_task(name="sessions.chat_unread_emails", ignore_result=True)
def chat_unread_emails() -> int:
    """Email people whose messages have waited unread; a repeated run sends nothing more."""
    return chat_services.unread_emails_send_due()
