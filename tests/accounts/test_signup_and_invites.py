import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone

from accounts.models import Invitation, PatientProfile, User
from accounts.services import StaffDetails, invitation_accept, invitation_create
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "new.patient@example.test",
    "password1": "a-long-and-unusual-passphrase",
    "password2": "a-long-and-unusual-passphrase",
    "first_name": "Hoa",
    "last_name": "Le",
    "home_region": "VN-SG",
    "preferred_language": "vi",
}


def test_patient_signup_requires_email_verification(client, region_sg):
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="new.patient@example.test")
    assert user.role == User.Role.PATIENT
    profile = PatientProfile.objects.get(user=user)
    assert (profile.home_region.code, profile.preferred_language, profile.time_zone) == (
        "VN-SG", "vi", "Asia/Ho_Chi_Minh")
    assert not EmailAddress.objects.get(user=user).verified
    # Not signed in until verified: home shows the anonymous page.
    assert client.get("/").templates[0].name == "home/anonymous.html"
    (message,) = mail.outbox
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+/)", message.body).group(1)
    assert client.post(link).status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/").templates[0].name == "home/patient.html"


def test_signup_with_foreign_region_code_is_a_form_error(client, region_sg):
    response = client.post("/accounts/signup/", {**SIGNUP, "home_region": "FR-75"})
    assert response.status_code == 200
    assert "Choose one of the regions in the list." in response.content.decode()
    assert not User.objects.filter(email=SIGNUP["email"]).exists()


@pytest.mark.parametrize(
    "override, message",
    [
        ({"email": ""}, "This field is required."),
        ({"first_name": ""}, "This field is required."),
        ({"first_name": "x" * 81}, "Ensure this value has at most 80 characters"),
        ({"preferred_language": "klingon"}, "Select a valid choice."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"password2": "different-passphrase-123"}, "You must type the same password each time."),
    ],
)
def test_signup_bad_input_gives_form_errors(client, region_sg, override, message):
    response = client.post("/accounts/signup/", {**SIGNUP, **override})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == 0


def test_signup_does_not_reveal_existing_accounts(client, region_sg, patient):
    response = client.post("/accounts/signup/", {**SIGNUP, "email": patient.email})
    # Enumeration prevented: the same "check your email" answer as a new address.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert User.objects.filter(email__iexact=patient.email).count() == 1


def test_password_reset_does_not_reveal_unknown_addresses(client, patient):
    known = client.post("/accounts/password/reset/", {"email": patient.email})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


def test_clinic_admin_invites_a_clinician_who_sets_up_an_account_once(
    client, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/staff/invitations/", {"email": "Dr.New@Example.test", "role": User.Role.CLINICIAN}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "dr.new@example.test", "clinician", admin_user)
    (message,) = mail.outbox
    path = re.search(r"http://testserver(/invite/\S+/)", message.body).group(1)
    client.logout()

    form = {"first_name": "Minh", "last_name": "Do", "display_name": "Dr Do Minh",
            "time_zone": "Asia/Ho_Chi_Minh", "password1": PASSWORD, "password2": PASSWORD}
    assert client.post(path, form).status_code == 302
    user = User.objects.get(email="dr.new@example.test")
    assert user.role == User.Role.CLINICIAN
    assert user.clinician_profile.display_name == "Dr Do Minh"
    assert EmailAddress.objects.get(user=user).verified
    # The link works once.
    assert client.get(path).status_code == 404
    assert client.post(path, form).status_code == 404
    assert User.objects.filter(role=User.Role.CLINICIAN).count() == 1


def test_expired_invitation_cannot_be_used(client, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(invited_by=admin_user, email="late@example.test", role="clinician",
                          accept_url_base="http://testserver/")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    path = re.search(r"http://testserver(/invite/\S+/)", mail.outbox[0].body).group(1)
    assert client.get(path).status_code == 404


def test_only_clinic_admins_can_invite(client, patient, clinician):
    for user in (patient, clinician):
        client.force_login(user)
        response = client.post("/staff/invitations/", {"email": "x@example.test", "role": "clinician"})
        assert response.status_code in (302, 403)
        assert response.status_code == 403 or "/accounts/2fa" in response["Location"]
    assert Invitation.objects.count() == 0
    assert mail.outbox == []


def test_nobody_can_self_register_as_staff(client, region_sg):
    client.post("/accounts/signup/", {**SIGNUP, "role": "clinician"})
    assert User.objects.get(email=SIGNUP["email"]).role == User.Role.PATIENT


def test_invitation_token_is_stored_only_as_a_hash(admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(invited_by=admin_user, email="hash@example.test",
                                       role="clinic_admin", accept_url_base="http://testserver/")
    raw = re.search(r"/invite/(\S+)/", mail.outbox[0].body).group(1)
    assert raw not in invitation.token_hash
    user = invitation_accept(raw_token=raw, details=StaffDetails(
        first_name="A", last_name="B", password=PASSWORD))
    assert user.role == User.Role.CLINIC_ADMIN and user.is_staff


def test_invite_form_bad_input(client, admin_user):
    client.force_login(admin_user)
    for data in ({"email": "", "role": "clinician"}, {"email": "a@b.test", "role": "patient"},
                 {"email": "x" * 300 + "@b.test", "role": "clinician"}):
        response = client.post("/staff/invitations/", data)
        assert response.status_code == 200
        assert 'class="field-error"' in response.content.decode()
    make_staff(role=User.Role.CLINICIAN, email="taken@example.test")
    response = client.post("/staff/invitations/", {"email": "TAKEN@example.test", "role": "clinician"})
    assert "already has an account" in response.content.decode()
    assert Invitation.objects.count() == 0


def test_invitation_accept_bad_input_is_a_form_error(
    client, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(invited_by=admin_user, email="form@example.test", role="clinician",
                          accept_url_base="http://testserver/")
    path = re.search(r"http://testserver(/invite/\S+/)", mail.outbox[0].body).group(1)
    cases = [
        {},
        {"first_name": "A" * 81, "last_name": "B", "time_zone": "UTC",
         "password1": PASSWORD, "password2": PASSWORD},
        {"first_name": "A", "last_name": "B", "time_zone": "Mars/Base",
         "password1": PASSWORD, "password2": PASSWORD},
        {"first_name": "A", "last_name": "B", "time_zone": "UTC",
         "password1": "12345678901", "password2": "12345678901"},
        {"first_name": "A", "last_name": "B", "time_zone": "UTC",
         "password1": PASSWORD, "password2": PASSWORD + "x"},
    ]
    for data in cases:
        response = client.post(path, data)
        assert response.status_code == 200, data
        assert 'class="field-error"' in response.content.decode()
    assert not User.objects.filter(email="form@example.test").exists()
    assert Invitation.objects.get().accepted_at is None
