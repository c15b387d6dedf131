"""Pure predicates: who may do what with a note, given how the user relates to the patient.

`access` is what `selectors.record_access` found: None (no relation), SELF (the patient),
TREATING (a clinician with an appointment with the patient), BREAK_GLASS (a clinic admin with
an active grant). No queries here.
"""

from enum import StrEnum

from accounts.models import User

from .models import ClinicalNote


class Access(StrEnum):
    SELF = "self"
    TREATING = "treating"
    BREAK_GLASS = "break_glass"


def can_see_note_metadata(*, user: User, note: ClinicalNote, access: Access | None) -> bool:
    if note.author_id == user.pk:
        return True
    if access == Access.SELF:
        return note.is_open_note
    if access in (Access.TREATING, Access.BREAK_GLASS):
        return note.is_signed  # drafts are the author's alone
    return False


def can_read_note_body(*, user: User, note: ClinicalNote, access: Access | None) -> bool:
    """Clinic admins never read bodies, break-glass or not."""
    if note.author_id == user.pk:
        return True
    if access == Access.SELF:
        return note.is_open_note
    return access == Access.TREATING and note.is_signed


def can_edit_note(*, user: User, note: ClinicalNote) -> bool:
    return note.author_id == user.pk and not note.is_signed and user.is_clinician


def can_add_addendum(*, user: User, note: ClinicalNote, access: Access | None) -> bool:
    return note.is_signed and user.is_clinician and (
        note.author_id == user.pk or access == Access.TREATING
    )
