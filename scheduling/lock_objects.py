"""Row locks taken before writes that must not race (Saleor's lock_objects pattern).

Booking locks the clinician's and the patient's user rows, always in primary-key order so two
bookings never wait on each other in a cycle. With the rows locked, the overlap check inside
the transaction is reliable, and the exclusion constraints stay the last line of defence.
On SQLite `select_for_update` is a no-op; the IMMEDIATE transaction serializes writers there.
"""

from accounts.models import User


def lock_people(*, user_ids: list[int]) -> None:
    list(User.objects.select_for_update().filter(pk__in=sorted(set(user_ids))).order_by("pk").values_list("pk", flat=True))
