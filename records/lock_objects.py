"""Row and chain locks for records, in one place (Saleor's lock_objects pattern)."""

from django.db import connection

from .models import ClinicalNote

# An arbitrary constant naming the audit chain's advisory lock.
AUDIT_CHAIN_LOCK_ID = 0x7E1E_A0D1


def audit_chain_lock() -> None:
    """Serialize appends to the audit chain until the surrounding transaction ends.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: write transactions are already
    serialized (transaction_mode IMMEDIATE). The unique `seq` and `prev_hash` columns turn any
    fork that slipped through into an IntegrityError instead of a silent branch.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK_ID])


def note_lock(*, note_id: int) -> ClinicalNote | None:
    return (
        ClinicalNote.objects.select_for_update(of=("self",))
        .select_related("patient", "author")
        .filter(pk=note_id)
        .first()
    )
