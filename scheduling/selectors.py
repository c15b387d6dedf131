"""Reads for scheduling, each with its access check."""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User

from .models import Appointment


def appointment_get_for_user(*, user: User, appointment_id: int) -> Appointment:
    """The appointment if `user` is its patient or clinician; 404 for anyone else."""
    if not user.is_authenticated:
        raise Http404
    appointment = (
        Appointment.objects.select_related("patient", "clinician", "region")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None or user.pk not in (appointment.patient_id, appointment.clinician_id):
        raise Http404
    return appointment


def clinician_treats_patient(*, clinician: User, patient: User) -> bool:
    """A care relationship: at least one appointment, past or future, not cancelled."""
    return (
        Appointment.objects.filter(clinician=clinician, patient=patient)
        .exclude(status=Appointment.Status.CANCELLED)
        .exists()
    )


def treating_clinicians_for(*, patient: User) -> QuerySet[User]:
    return User.objects.filter(
        role=User.Role.CLINICIAN,
        clinician_appointments__patient=patient,
        clinician_appointments__status__in=Appointment.ACTIVE_STATUSES,
    ).distinct()
