"""Messaging test helpers: a patient and clinician with a care relationship, and their thread."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.models import Region, User
from scheduling.models import Appointment
from sessions.chat_models import Thread
from sessions.chat_services import thread_get_or_create
from tests.factories import make_clinician, make_patient, make_region, make_staff


@dataclass
class Cast:
    """Everyone in an authorization matrix around one thread."""

    thread: Thread
    patient: User
    clinician: User
    other_patient: User
    other_clinician: User
    admin: User


def make_care(*, patient: User | None = None, clinician: User | None = None,
              region: Region | None = None, status: str = Appointment.Status.COMPLETED) -> Appointment:
    region = region or make_region("VN-SG")
    patient = patient or make_patient(region=region)
    clinician = clinician or make_clinician(regions=[region])
    starts_at = timezone.now() - timedelta(days=3)
    return Appointment.objects.create(patient=patient, clinician=clinician, region=region,
                                      starts_at=starts_at, ends_at=starts_at + timedelta(minutes=50),
                                      status=status)


def make_thread(*, patient: User | None = None, clinician: User | None = None) -> Thread:
    appointment = make_care(patient=patient, clinician=clinician)
    return thread_get_or_create(patient=appointment.patient, clinician=appointment.clinician)


def make_cast() -> Cast:
    region = make_region("VN-SG")
    thread = make_thread(patient=make_patient(region=region),
                         clinician=make_clinician(regions=[region]))
    other_patient = make_patient(region=region)
    other_clinician = make_clinician(regions=[region])
    # The unrelated clinician treats the other patient: a care relationship, just not this one.
    make_care(patient=other_patient, clinician=other_clinician)
    admin = make_staff(role=User.Role.CLINIC_ADMIN)
    return Cast(thread=thread, patient=thread.patient, clinician=thread.clinician,
                other_patient=other_patient, other_clinician=other_clinician, admin=admin)


def ensure_risk_rules() -> None:
    """The crisis app's default English rules used here (a transactional test flushes the data
    migration's rows), and a fresh rule cache."""
    from crisis.detection import rules_changed
    from crisis.models import RiskRule

    for pattern in ("kill* myself", "suicid*", "end* my life"):
        RiskRule.objects.get_or_create(language="en", kind="phrase", pattern=pattern)
    rules_changed()
