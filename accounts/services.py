"""Writes for accounts: profiles, invitations, licenses, consent."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import (
    ClinicianProfile,
    ConsentAcceptance,
    ConsentDocument,
    Invitation,
    License,
    PatientProfile,
    Region,
    User,
)


@dataclass(frozen=True)
class PatientDetails:
    first_name: str
    last_name: str
    home_region: Region
    preferred_language: str
    time_zone: str | None = None
    phone: str = ""


def patient_profile_create(*, user: User, details: PatientDetails) -> PatientProfile:
    user.first_name = details.first_name
    user.last_name = details.last_name
    user.role = User.Role.PATIENT
    user.save(update_fields=["first_name", "last_name", "role"])
    return PatientProfile.objects.create(
        user=user,
        home_region=details.home_region,
        time_zone=details.time_zone or details.home_region.time_zone,
        preferred_language=details.preferred_language,
        phone=details.phone,
    )


def patient_location_confirm(*, patient: User, region: Region) -> PatientProfile:
    """Record where the patient is right now (confirmed at the start of each call)."""
    profile = PatientProfile.objects.select_for_update().get(user=patient)
    profile.current_region = region
    profile.current_region_confirmed_at = timezone.now()
    profile.save(update_fields=["current_region", "current_region_confirmed_at"])
    return profile


def _hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def invitation_create(*, invited_by: User, email: str, role: str, accept_url_base: str) -> Invitation:
    """Invite a clinician or clinic admin. The emailed link carries a one-time token."""
    if not invited_by.is_clinic_admin:
        raise ValidationError(_("Only a clinic administrator can invite staff."))
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(_("Someone already has an account with this email address."))
    raw_token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=email,
        role=role,
        token_hash=_hash_token(raw_token),
        invited_by=invited_by,
        expires_at=timezone.now() + settings.TELEPSYCH_INVITE_VALID_FOR,
    )
    link = accept_url_base.rstrip("/") + reverse("invitation_accept", args=[raw_token])
    body = render_to_string(
        "accounts/email/invitation.txt",
        {"link": link, "role": invitation.get_role_display(), "expires_at": invitation.expires_at},
    )
    transaction.on_commit(
        lambda: send_mail(
            _("You are invited to telepsych"), body, settings.DEFAULT_FROM_EMAIL, [email]
        )
    )
    return invitation


def invitation_for_token(*, raw_token: str) -> Invitation | None:
    """The open, unexpired invitation for this token, or None."""
    return Invitation.objects.filter(
        token_hash=_hash_token(raw_token), accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


@dataclass(frozen=True)
class StaffDetails:
    first_name: str
    last_name: str
    password: str
    display_name: str = ""
    time_zone: str = "UTC"
    languages: tuple[str, ...] = ("en",)


def invitation_accept(*, raw_token: str, details: StaffDetails) -> User:
    """Create the invited account once; a second use of the link fails."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(token_hash=_hash_token(raw_token))
            .first()
        )
        if invitation is None or invitation.accepted_at or invitation.expires_at <= timezone.now():
            raise ValidationError(_("This invitation link has expired or was already used."))
        user = staff_user_create(
            email=invitation.email, role=invitation.role, details=details
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_user = user
        invitation.save(update_fields=["accepted_at", "accepted_user"])
    return user


def staff_user_create(*, email: str, role: str, details: StaffDetails) -> User:
    """A clinician or clinic admin with a verified email address (invites and demo data)."""
    user = User.objects.create_user(
        email=email,
        password=details.password,
        first_name=details.first_name,
        last_name=details.last_name,
        role=role,
        is_staff=role == User.Role.CLINIC_ADMIN,
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    if role == User.Role.CLINICIAN:
        ClinicianProfile.objects.create(
            user=user,
            display_name=details.display_name or user.get_full_name(),
            languages=list(details.languages),
            time_zone=details.time_zone,
        )
    return user


def clinician_on_call_set(*, clinician: User, on_call: bool) -> ClinicianProfile:
    """On-call clinicians receive escalated crisis alerts."""
    profile = ClinicianProfile.objects.get(user=clinician)
    if profile.on_call != on_call:
        profile.on_call = on_call
        profile.save(update_fields=["on_call"])
    return profile


def license_verify(*, license: License, verified_by: User) -> License:
    if not verified_by.is_clinic_admin:
        raise ValidationError(_("Only a clinic administrator can verify a license."))
    license.status = License.Status.VERIFIED
    license.verified_by = verified_by
    license.verified_at = timezone.now()
    license.save(update_fields=["status", "verified_by", "verified_at"])
    return license


def license_revoke(*, license: License, revoked_by: User) -> License:
    if not revoked_by.is_clinic_admin:
        raise ValidationError(_("Only a clinic administrator can revoke a license."))
    license.status = License.Status.REVOKED
    license.verified_by = revoked_by
    license.verified_at = timezone.now()
    license.save(update_fields=["status", "verified_by", "verified_at"])
    return license


def license_add(
    *, clinician: User, region: Region, number: str, valid_from: date, valid_until: date
) -> License:
    license = License(
        clinician=clinician, region=region, number=number,
        valid_from=valid_from, valid_until=valid_until,
    )
    license.full_clean()
    license.save()
    return license


def consent_accept(
    *, patient: User, document: ConsentDocument, ip_address: str | None = None
) -> ConsentAcceptance:
    """Idempotent: accepting the same version twice keeps the first acceptance."""
    if not patient.is_patient:
        raise ValidationError(_("Only patients give telehealth consent."))
    acceptance, _created = ConsentAcceptance.objects.get_or_create(
        patient=patient, document=document, defaults={"ip_address": ip_address}
    )
    return acceptance


def consent_document_publish(*, title: str, body_en: str, body_vi: str) -> ConsentDocument:
    """A new version; every patient is asked to accept it before booking again."""
    with transaction.atomic():
        latest = ConsentDocument.objects.select_for_update().order_by("-version").first()
        version = (latest.version + 1) if latest else 1
        return ConsentDocument.objects.create(
            version=version, title=title, body_en=body_en, body_vi=body_vi
        )
