"""Beat schedule for the sessions app (read when Celery finalises its app, after settings).

Importing the task module here registers it with Celery (autodiscovery imports only tasks.py).
"""

from . import chat_tasks  # noqa: F401 - registers sessions.chat_unread_emails

BEAT_SCHEDULE = {
    # Unread-message emails: due after 10 minutes unread, so a minute's granularity is enough.
    "sessions-chat-unread-emails": {
        "task": "sessions.chat_unread_emails",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}
