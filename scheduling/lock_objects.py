"""Row locks taken before writes that must not race (Saleor's lock_objects pattern).

Booking, rescheduling and cancelling lock the clinician's user row first, then the patient's:
one fixed order (a user is either a clinician or a patient), so two writers never wait on each
other in a cycle. With the rows locked, the overlap check inside the transaction is reliable and
racing losers fail that check cleanly; the exclusion constraints stay the last line of defence.
On SQLite `select_for_update` is a no-op; the IMMEDIATE transaction serializes writers there.
"""

from accounts.models import User


def lock_for_booking(*, clinician_id: int, patient_id: int) -> None:
    list(User.objects.select_for_update().filter(pk=clinician_id).values_list("pk", flat=True))
    list(User.objects.select_for_update().filter(pk=patient_id).values_list("pk", flat=True))


def lock_clinician(*, clinician_id: int) -> None:
    """Serializes changes to one clinician's weekly hours (the overlap check)."""
    list(User.objects.select_for_update().filter(pk=clinician_id).values_list("pk", flat=True))
