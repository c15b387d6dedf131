"""Bulk-created clinicians, patients and hours (fast: no password hashing, no allauth)."""

from datetime import time, timedelta

from django.contrib.auth.hashers import make_password
from django.utils import timezone


def make_clinicians(*, region, count: int, start_index: int = 0, weekdays=range(5),
                    hours=((time(9), time(17)),), time_zone: str = "Asia/Ho_Chi_Minh"):
    from accounts.models import ClinicianProfile, License, User
    from scheduling.models import AvailabilityRule

    users = User.objects.bulk_create([
        User(email=f"bench.dr{start_index + i}@example.test", role=User.Role.CLINICIAN,
             first_name="Bench", last_name=f"Doctor{start_index + i:04d}",
             password=make_password(None))
        for i in range(count)
    ])
    ClinicianProfile.objects.bulk_create([
        ClinicianProfile(user=u, display_name=f"Dr Bench {u.pk}", languages=["vi", "en"], time_zone=time_zone)
        for u in users
    ])
    today = timezone.now().date()
    License.objects.bulk_create([
        License(clinician=u, region=region, number=f"BENCH-{u.pk}", valid_from=today - timedelta(days=365),
                valid_until=today + timedelta(days=365), status=License.Status.VERIFIED, verified_at=timezone.now())
        for u in users
    ])
    AvailabilityRule.objects.bulk_create([
        AvailabilityRule(clinician=u, weekday=d, start_time=start, end_time=end)
        for u in users for d in weekdays for start, end in hours
    ])
    return users


def make_patients(*, region, count: int, start_index: int = 0, password: str | None = None):
    """Patients with profile, consent and a verified email; `password` None makes it unusable."""
    from allauth.account.models import EmailAddress

    from accounts.models import ConsentAcceptance, ConsentDocument, PatientProfile, User

    document = ConsentDocument.objects.order_by("-version").first() or ConsentDocument.objects.create(
        version=1, title="Consent", body_en="Consent.", body_vi="Đồng ý.")
    hashed = make_password(password)  # None: an unusable password
    users = User.objects.bulk_create([
        User(email=f"bench.patient{start_index + i}@example.test", role=User.Role.PATIENT,
             first_name="Bench", last_name=f"Patient{start_index + i:05d}", password=hashed)
        for i in range(count)
    ])
    PatientProfile.objects.bulk_create([
        PatientProfile(user=u, home_region=region, time_zone=region.time_zone, preferred_language="en")
        for u in users
    ])
    ConsentAcceptance.objects.bulk_create([ConsentAcceptance(patient=u, document=document) for u in users])
    EmailAddress.objects.bulk_create([
        EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users
    ])
    return users


def saigon():
    from accounts.models import Region

    region, _ = Region.objects.get_or_create(code="VN-SG", defaults=dict(
        name="Ho Chi Minh City", country="VN", time_zone="Asia/Ho_Chi_Minh", default_language="vi",
        emergency_number="115"))
    return region


