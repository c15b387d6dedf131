"""Channel-layer group names, built in one place so apps never import each other to push."""

from uuid import UUID


def session_group(session_id: UUID | str) -> str:
    return f"session.{session_id}"


def clinician_group(user_id: int) -> str:
    return f"clinician.{user_id}"


def patient_group(user_id: int) -> str:
    return f"patient.{user_id}"


def thread_group(thread_id: int) -> str:
    return f"thread.{thread_id}"
