"""Factories for records tests: a care relationship (an appointment) and notes."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from records.models import ClinicalNote, NoteKind
from records.services import note_create, note_sign
from scheduling.models import Appointment
from tests.factories import make_clinician, make_patient, make_region, make_staff


def make_appointment(*, patient: User, clinician: User, starts_in: timedelta = timedelta(days=-7),
                     status: str = Appointment.Status.COMPLETED, minutes: int = 50) -> Appointment:
    starts_at = timezone.now() + starts_in
    return Appointment.objects.create(
        patient=patient, clinician=clinician, region=make_region("VN-SG"), starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes), status=status,
    )


def make_note(*, author: User, patient: User, kind: str = NoteKind.PROGRESS_NOTE,
              sections: dict | None = None, private: bool = False, signed: bool = False,
              appointment: Appointment | None = None) -> ClinicalNote:
    note = note_create(author=author, patient=patient, kind=kind, sections=sections,
                       private=private, appointment=appointment)
    if signed:
        note = note_sign(note_id=note.pk, author=author)
    return note


class Cast:
    """Everyone in an authorization matrix around one patient."""

    def __init__(self):
        region = make_region("VN-SG")
        self.patient = make_patient(region=region)
        self.other_patient = make_patient(region=region)
        self.treating = make_clinician(regions=[region])
        self.colleague = make_clinician(regions=[region])  # also treats the patient
        self.unrelated = make_clinician(regions=[region])
        self.admin = make_staff(role=User.Role.CLINIC_ADMIN)
        self.appointment = make_appointment(patient=self.patient, clinician=self.treating)
        make_appointment(patient=self.patient, clinician=self.colleague,
                         starts_in=timedelta(days=-14))
        make_appointment(patient=self.other_patient, clinician=self.unrelated)
