"""Row locks of secure messaging, in one place (Saleor's lock_objects pattern)."""

from django.db.models import OuterRef, Subquery

from .chat_models import Message, Thread


def thread_lock(*, thread_id: int, sender_id: int | None = None,
                client_id: str | None = None) -> Thread | None:
    """Lock the thread's row until the surrounding transaction ends, so sequence numbers are
    handed out one at a time. PostgreSQL: SELECT ... FOR UPDATE. SQLite: write transactions are
    already serialized (transaction_mode IMMEDIATE) and `select_for_update` is a no-op.

    With `sender_id` and `client_id`, the same query also reads (under the lock) the id of a
    message already stored under that client id, as `existing_message_id` (or None)."""
    rows = Thread.objects.select_for_update(of=("self",)).filter(pk=thread_id)
    if sender_id is not None:
        rows = rows.annotate(existing_message_id=Subquery(
            Message.objects.filter(thread=OuterRef("pk"), sender_id=sender_id,
                                   client_id=client_id).values("pk")[:1]
        ))
    return rows.first()
