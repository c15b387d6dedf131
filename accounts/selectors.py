"""Reads for accounts: licenses, consent, MFA status, profiles."""

from datetime import date

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .models import (
    ClinicianProfile,
    ConsentAcceptance,
    ConsentDocument,
    License,
    PatientProfile,
    Region,
    User,
)


def licenses_valid_on(*, region: Region, on: date) -> QuerySet[License]:
    """Verified licenses for `region` whose validity includes the day `on` (both ends inclusive)."""
    return License.objects.filter(
        region=region,
        status=License.Status.VERIFIED,
        valid_from__lte=on,
        valid_until__gte=on,
    )


def license_is_valid(*, clinician: User, region: Region, on: date) -> bool:
    """Is this clinician licensed in this region on this date (a day in the region's own zone)?"""
    return licenses_valid_on(region=region, on=on).filter(clinician=clinician).exists()


def clinicians_licensed_in(*, region: Region, on: date) -> QuerySet[User]:
    return (
        User.objects.filter(
            role=User.Role.CLINICIAN,
            is_active=True,
            licenses__in=licenses_valid_on(region=region, on=on),
        )
        .select_related("clinician_profile")
        .distinct()
    )


def consent_current_document() -> ConsentDocument | None:
    return (
        ConsentDocument.objects.filter(published_at__lte=timezone.now()).order_by("-version").first()
    )


def consent_is_current(*, patient: User) -> bool:
    """Has the patient accepted the current version of the consent text?"""
    document = consent_current_document()
    if document is None:
        return False
    return ConsentAcceptance.objects.filter(patient=patient, document=document).exists()


def user_has_mfa(*, user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def patient_profile_for(*, user: User) -> PatientProfile | None:
    return PatientProfile.objects.select_related("home_region", "current_region").filter(user=user).first()


def user_preferences(*, user: User) -> tuple[str, str]:
    """(time zone, language) a signed-in user sees pages in: their profile's, else the clinic's
    zone (clinic admins have no profile); language "" means the browser's choice."""
    if user.role == User.Role.PATIENT:
        row = PatientProfile.objects.filter(user=user).values_list(
            "time_zone", "preferred_language").first()
        if row:
            return row
    elif user.role == User.Role.CLINICIAN:
        zone = ClinicianProfile.objects.filter(user=user).values_list("time_zone", flat=True).first()
        if zone:
            return zone, ""
    return settings.TELEPSYCH_CLINIC_TIME_ZONE, ""


def regions_all() -> QuerySet[Region]:
    return Region.objects.order_by("country", "name")
