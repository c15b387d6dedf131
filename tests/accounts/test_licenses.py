from datetime import date

import pytest

from accounts.models import License, User
from accounts.selectors import clinicians_licensed_in, license_is_valid
from accounts.services import license_revoke, license_verify
from tests.factories import make_clinician

pytestmark = pytest.mark.django_db

FROM, UNTIL = date(2026, 3, 1), date(2026, 8, 31)


@pytest.fixture
def licensed(region_sg):
    return make_clinician(regions=[region_sg], valid_from=FROM, valid_until=UNTIL)


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 2, 28), False),  # day before the first
        (FROM, True),  # first day
        (date(2026, 6, 15), True),
        (UNTIL, True),  # last day
        (date(2026, 9, 1), False),  # day after
    ],
)
def test_license_validity_at_the_boundaries(licensed, region_sg, day, expected):
    assert license_is_valid(clinician=licensed, region=region_sg, on=day) is expected
    assert (licensed in clinicians_licensed_in(region=region_sg, on=day)) is expected


@pytest.mark.parametrize("status", [License.Status.PENDING, License.Status.REVOKED])
def test_pending_or_revoked_license_is_not_valid(region_sg, status):
    clinician = make_clinician(regions=[region_sg], valid_from=FROM, valid_until=UNTIL,
                               status=status)
    assert not license_is_valid(clinician=clinician, region=region_sg, on=date(2026, 6, 1))


def test_license_in_another_region_does_not_count(licensed, region_ca):
    assert not license_is_valid(clinician=licensed, region=region_ca, on=date(2026, 6, 1))
    assert list(clinicians_licensed_in(region=region_ca, on=date(2026, 6, 1))) == []


def test_verification_is_recorded_and_only_by_clinic_admins(region_sg, admin_user):
    clinician = make_clinician(regions=[region_sg], valid_from=FROM, valid_until=UNTIL,
                               status=License.Status.PENDING)
    license = clinician.licenses.get()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        license_verify(license=license, verified_by=clinician)
    license_verify(license=license, verified_by=admin_user)
    license.refresh_from_db()
    assert (license.status, license.verified_by) == (License.Status.VERIFIED, admin_user)
    assert license.verified_at is not None
    license_revoke(license=license, revoked_by=admin_user)
    license.refresh_from_db()
    assert license.status == License.Status.REVOKED


def test_admin_action_verifies_licenses(client, region_sg, admin_user):
    clinician = make_clinician(regions=[region_sg], status=License.Status.PENDING)
    license = clinician.licenses.get()
    client.force_login(admin_user)
    response = client.post("/admin/accounts/license/", {
        "action": "verify_selected", "_selected_action": [license.pk]})
    assert response.status_code == 302
    license.refresh_from_db()
    assert (license.status, license.verified_by_id) == ("verified", admin_user.pk)


def test_admin_rejects_a_license_ending_before_it_starts(client, region_sg, admin_user):
    clinician = make_clinician(regions=[])
    client.force_login(admin_user)
    response = client.post("/admin/accounts/license/add/", {
        "clinician": clinician.pk, "region": region_sg.pk, "number": "X-1",
        "valid_from": "2026-05-01", "valid_until": "2026-04-01"})
    assert response.status_code == 200
    assert "Constraint “license_valid_until_after_from” is violated." in response.content.decode()
    assert License.objects.count() == 0


def test_region_admin_rejects_bad_codes_and_time_zones(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/admin/accounts/region/add/", {
        "code": "hanoi", "name": "Hanoi", "country": "Vietnam", "time_zone": "Asia/Hanoi",
        "default_language": "vi", "emergency_number": "call 115!"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Use an ISO 3166-2 code such as VN-HN." in body
    assert "is not a time zone name" in body
    assert User.objects.count() == 1
