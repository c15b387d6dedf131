"""Row locks of secure messaging, in one place (Saleor's lock_objects pattern)."""

from .chat_models import Thread


def thread_lock(*, thread_id: int) -> Thread | None:
    """Lock the thread's row until the surrounding transaction ends, so sequence numbers are
    handed out one at a time. PostgreSQL: SELECT ... FOR UPDATE. SQLite: write transactions are
    already serialized (transaction_mode IMMEDIATE) and `select_for_update` is a no-op."""
    return Thread.objects.select_for_update(of=("self",)).filter(pk=thread_id).first()
