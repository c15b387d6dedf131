"""Crisis test helpers: resources for a region, an appointment linking patient and clinician."""

from datetime import date, timedelta

from django.utils import timezone

from accounts.models import ClinicianProfile, Region, User
from crisis.models import CrisisResource
from scheduling.models import Appointment

_slot = iter(range(1, 100_000))


def make_resource(region: Region, *, name: str = "", phone: str = "988", kind: str = "hotline",
                  verified: bool = True, last_verified: date | None = None,
                  **fields) -> CrisisResource:
    return CrisisResource.objects.create(
        region=region, kind=kind, name=name or f"Line {phone} {region.code}", phone=phone,
        verified=verified,
        last_verified=last_verified or (timezone.localdate() if verified else None), **fields,
    )


def link_care(*, patient: User, clinician: User, status: str = Appointment.Status.BOOKED,
              starts_in: timedelta | None = None) -> Appointment:
    """An appointment, so `clinician` treats `patient` (scheduling's definition)."""
    start = timezone.now() + (starts_in if starts_in is not None
                              else timedelta(days=next(_slot)))
    return Appointment.objects.create(
        patient=patient, clinician=clinician, region=patient.patient_profile.home_region,
        starts_at=start, ends_at=start + timedelta(minutes=50), status=status,
    )


def set_on_call(user: User, on_call: bool = True) -> None:
    ClinicianProfile.objects.filter(user=user).update(on_call=on_call)


def ensure_default_rules() -> None:
    """The default risk rules come from a data migration; a transactional test's flush removes
    them, so browser tests that rely on them put them back first."""
    import importlib

    from django.apps import apps

    from crisis.detection import rules_changed

    migration = importlib.import_module("crisis.migrations.0002_default_risk_rules")
    migration.add_default_rules(apps, None)
    rules_changed()
