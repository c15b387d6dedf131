"""Writes for scheduling. (Availability and booking arrive with the scheduling issue.)"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User

from .models import Appointment


def appointment_complete(*, appointment_id: int, by: User) -> Appointment:
    """The clinician ends the visit: the appointment is completed (idempotent)."""
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment_id)
        if appointment.clinician_id != by.pk:
            raise ValidationError(_("Only the treating clinician can complete this appointment."))
        if appointment.status == Appointment.Status.COMPLETED:
            return appointment
        if appointment.status != Appointment.Status.BOOKED:
            raise ValidationError(_("Only a booked appointment can be completed."))
        appointment.status = Appointment.Status.COMPLETED
        appointment.save(update_fields=["status"])
    return appointment
