"""Demo people, regions and licenses for `manage.py seed_demo`. Idempotent."""

import base64
from dataclasses import dataclass, field
from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.db import transaction
from django.utils import timezone

from .models import ConsentDocument, License, PatientProfile, Region, User
from .services import (
    PatientDetails,
    StaffDetails,
    consent_accept,
    license_add,
    license_verify,
    patient_profile_create,
    staff_user_create,
)

DEMO_PASSWORD = "telepsych-demo-2026"  # noqa: S105 - printed demo login, DEBUG only

REGIONS = [
    # code, name, country, zone, language, emergency number
    ("VN-HN", "Hanoi", "VN", "Asia/Ho_Chi_Minh", "vi", "115"),
    ("VN-SG", "Ho Chi Minh City", "VN", "Asia/Ho_Chi_Minh", "vi", "115"),
    ("US-CA", "California", "US", "America/Los_Angeles", "en", "911"),
    ("US-NY", "New York", "US", "America/New_York", "en", "911"),
]

CONSENT_EN = """Telehealth lets you see a psychiatrist by video from where you are.

1. Your visit happens over an encrypted video call. Use a private place where you will not be overheard.
2. At the start of each visit we ask where you are and a phone number to call you back, so that we can reach help if the call drops during an emergency.
3. Telehealth is not for emergencies. If you may hurt yourself or someone else, call your local emergency number or use "Get help now".
4. Your psychiatrist keeps notes that are encrypted and seen only by people who treat you. Every access is recorded and you can see who opened your record.
5. You may stop telehealth care at any time and ask for an in-person referral."""

CONSENT_VI = """Khám từ xa giúp bạn gặp bác sĩ tâm thần qua video ngay tại nơi bạn đang ở.

1. Buổi khám diễn ra qua cuộc gọi video được mã hóa. Hãy chọn nơi riêng tư để không ai nghe thấy.
2. Đầu mỗi buổi khám, chúng tôi hỏi bạn đang ở đâu và số điện thoại để gọi lại, để có thể tìm trợ giúp nếu cuộc gọi bị ngắt khi khẩn cấp.
3. Khám từ xa không dành cho trường hợp khẩn cấp. Nếu bạn có thể làm hại bản thân hoặc người khác, hãy gọi số khẩn cấp tại địa phương hoặc dùng "Nhận trợ giúp ngay".
4. Ghi chú của bác sĩ được mã hóa và chỉ những người điều trị cho bạn mới xem được. Mọi lần truy cập đều được ghi lại và bạn có thể xem ai đã mở hồ sơ của mình.
5. Bạn có thể ngừng khám từ xa bất cứ lúc nào và đề nghị được chuyển đến khám trực tiếp."""


@dataclass
class DemoStaff:
    email: str
    first_name: str
    last_name: str
    role: str
    display_name: str = ""
    time_zone: str = "UTC"
    languages: tuple[str, ...] = ("en",)
    # (region code, license number, days valid from today backwards, days valid ahead)
    licenses: list[tuple[str, str, int, int]] = field(default_factory=list)


STAFF = [
    DemoStaff("admin@telepsych.demo", "Lan", "Pham", User.Role.CLINIC_ADMIN,
              time_zone="Asia/Ho_Chi_Minh", languages=("vi", "en")),
    DemoStaff("dr.tran@telepsych.demo", "Mai", "Tran", User.Role.CLINICIAN, "Dr Tran Thi Mai",
              "Asia/Ho_Chi_Minh", ("vi", "en"),
              [("VN-HN", "HN-PSY-0427", 400, 700), ("VN-SG", "SG-PSY-1183", 400, 700)]),
    DemoStaff("dr.nguyen@telepsych.demo", "Minh", "Nguyen", User.Role.CLINICIAN, "Dr Nguyen Van Minh",
              "Asia/Ho_Chi_Minh", ("vi",),
              # Expires within a month: shows on the admin overview.
              [("VN-SG", "SG-PSY-2290", 300, 20)]),
    DemoStaff("dr.smith@telepsych.demo", "Sarah", "Smith", User.Role.CLINICIAN, "Dr Sarah Smith",
              "America/New_York", ("en",),
              [("US-NY", "NY-209931", 500, 600), ("US-CA", "CA-A118842", 200, 900)]),
]

PATIENTS = [
    # email, first, last, home region, language
    ("an.le@patient.demo", "An", "Le", "VN-HN", "vi"),
    ("binh.vo@patient.demo", "Binh", "Vo", "VN-SG", "vi"),
    ("chi.hoang@patient.demo", "Chi", "Hoang", "VN-SG", "vi"),
    ("maria.garcia@patient.demo", "Maria", "Garcia", "US-CA", "en"),
    ("james.wilson@patient.demo", "James", "Wilson", "US-NY", "en"),
]


def demo_totp_secret(email: str) -> str:
    """A fixed secret per demo account, so repeated seeding keeps authenticator apps working."""
    raw = (email.encode() * 4)[:20]
    return base64.b32encode(raw).decode()


@dataclass
class DemoPeople:
    admin: User
    clinicians: list[User]
    patients: list[User]
    totp_secrets: dict[str, str]


def _ensure_regions() -> dict[str, Region]:
    regions = {}
    for code, name, country, zone, language, emergency in REGIONS:
        region, _ = Region.objects.update_or_create(
            code=code,
            defaults=dict(name=name, country=country, time_zone=zone,
                          default_language=language, emergency_number=emergency),
        )
        regions[code] = region
    return regions


def _ensure_staff(spec: DemoStaff) -> User:
    user = User.objects.filter(email=spec.email).first()
    if user is None:
        user = staff_user_create(
            email=spec.email, role=spec.role,
            details=StaffDetails(first_name=spec.first_name, last_name=spec.last_name,
                                 password=DEMO_PASSWORD, display_name=spec.display_name,
                                 time_zone=spec.time_zone, languages=spec.languages),
        )
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, demo_totp_secret(spec.email))
        RecoveryCodes.activate(user)
    return user


def seed(*, admin_verifies: bool = True) -> DemoPeople:
    with transaction.atomic():
        regions = _ensure_regions()
        if not ConsentDocument.objects.exists():
            ConsentDocument.objects.create(
                version=1, title="Telehealth consent", body_en=CONSENT_EN, body_vi=CONSENT_VI
            )
        consent = ConsentDocument.objects.order_by("-version").first()
        staff = [_ensure_staff(spec) for spec in STAFF]
        admin, clinicians = staff[0], staff[1:]
        today = timezone.localdate()
        for spec, clinician in zip(STAFF[1:], clinicians, strict=True):
            for code, number, back, ahead in spec.licenses:
                if License.objects.filter(region=regions[code], number=number).exists():
                    continue
                license = license_add(
                    clinician=clinician, region=regions[code], number=number,
                    valid_from=today - timedelta(days=back), valid_until=today + timedelta(days=ahead),
                )
                if admin_verifies:
                    license_verify(license=license, verified_by=admin)
        patients = []
        for email, first, last, region_code, language in PATIENTS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
                EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
            if not PatientProfile.objects.filter(user=user).exists():
                patient_profile_create(
                    user=user,
                    details=PatientDetails(first_name=first, last_name=last,
                                           home_region=regions[region_code],
                                           preferred_language=language),
                )
            consent_accept(patient=user, document=consent)
            patients.append(user)
    return DemoPeople(
        admin=admin, clinicians=clinicians, patients=patients,
        totp_secrets={spec.email: demo_totp_secret(spec.email) for spec in STAFF},
    )


