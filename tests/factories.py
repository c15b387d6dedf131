"""Plain factories and fixtures for the people and places most tests need."""

import itertools
from datetime import date, timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from accounts.models import ConsentDocument, License, Region, User
from accounts.services import (
    PatientDetails,
    StaffDetails,
    consent_accept,
    patient_profile_create,
    staff_user_create,
)

PASSWORD = "correct-horse-battery-staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_counter = itertools.count(1)

REGION_DATA = {
    "VN-HN": ("Hanoi", "VN", "Asia/Ho_Chi_Minh", "vi", "115"),
    "VN-SG": ("Ho Chi Minh City", "VN", "Asia/Ho_Chi_Minh", "vi", "115"),
    "US-CA": ("California", "US", "America/Los_Angeles", "en", "911"),
    "US-NY": ("New York", "US", "America/New_York", "en", "911"),
}


def make_region(code: str) -> Region:
    name, country, zone, language, emergency = REGION_DATA[code]
    region, _ = Region.objects.get_or_create(
        code=code,
        defaults=dict(name=name, country=country, time_zone=zone, default_language=language,
                      emergency_number=emergency),
    )
    return region


def make_consent_document() -> ConsentDocument:
    document = ConsentDocument.objects.order_by("-version").first()
    return document or ConsentDocument.objects.create(
        version=1, title="Telehealth consent", body_en="Consent text.", body_vi="Nội dung đồng ý."
    )


def make_patient(
    *, region: Region | None = None, consented: bool = True, email: str | None = None,
    first_name: str = "Pat", time_zone: str | None = None,
) -> User:
    region = region or make_region("VN-SG")
    n = next(_counter)
    user = User.objects.create_user(email=email or f"patient{n}@example.test", password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    patient_profile_create(
        user=user,
        details=PatientDetails(first_name=first_name, last_name=f"Patient{n}", home_region=region,
                               preferred_language=region.default_language, time_zone=time_zone),
    )
    if consented:
        consent_accept(patient=user, document=make_consent_document())
    return user


def make_staff(*, role: str, mfa: bool = True, time_zone: str = "Asia/Ho_Chi_Minh",
               email: str | None = None, display_name: str = "") -> User:
    n = next(_counter)
    user = staff_user_create(
        email=email or f"{role}{n}@example.test",
        role=role,
        details=StaffDetails(first_name="Staff", last_name=f"Member{n}", password=PASSWORD,
                             display_name=display_name or f"Dr Member{n}", time_zone=time_zone,
                             languages=("vi", "en")),
    )
    if mfa:
        TOTP.activate(user, TOTP_SECRET)
    return user


def make_clinician(
    *, regions: list[Region] | None = None, mfa: bool = True, valid_from: date | None = None,
    valid_until: date | None = None, status: str = License.Status.VERIFIED,
    time_zone: str = "Asia/Ho_Chi_Minh", display_name: str = "",
) -> User:
    user = make_staff(role=User.Role.CLINICIAN, mfa=mfa, time_zone=time_zone,
                      display_name=display_name)
    today = timezone.localdate()
    for region in regions if regions is not None else [make_region("VN-SG")]:
        License.objects.create(
            clinician=user, region=region, number=f"LIC-{user.pk}-{region.code}",
            valid_from=valid_from or today - timedelta(days=365),
            valid_until=valid_until or today + timedelta(days=365),
            status=status,
            verified_at=timezone.now() if status == License.Status.VERIFIED else None,
        )
    return user


def has_totp(user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


@pytest.fixture
def region_hn(db) -> Region:
    return make_region("VN-HN")


@pytest.fixture
def region_sg(db) -> Region:
    return make_region("VN-SG")


@pytest.fixture
def region_ca(db) -> Region:
    return make_region("US-CA")


@pytest.fixture
def region_ny(db) -> Region:
    return make_region("US-NY")


@pytest.fixture
def consent_document(db) -> ConsentDocument:
    return make_consent_document()


@pytest.fixture
def patient(db, region_sg, consent_document) -> User:
    return make_patient(region=region_sg)


@pytest.fixture
def clinician(db, region_sg) -> User:
    return make_clinician(regions=[region_sg])


@pytest.fixture
def admin_user(db) -> User:
    return make_staff(role=User.Role.CLINIC_ADMIN)
