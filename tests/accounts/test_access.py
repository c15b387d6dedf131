from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import User
from accounts.totp import current_totp_code
from tests.factories import PASSWORD, TOTP_SECRET, make_clinician, make_staff

pytestmark = pytest.mark.django_db


def test_clinician_without_mfa_cannot_reach_clinician_home(client, region_sg):
    clinician = make_clinician(regions=[region_sg], mfa=False)
    client.post("/accounts/login/", {"login": clinician.email, "password": PASSWORD})
    for path in ("/", "/staff/invitations/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/2fa/totp/activate/"
    # The enrolment path (allauth asks for the password again first) and help stay reachable.
    enrol = client.get("/accounts/2fa/totp/activate/", follow=True)
    assert enrol.status_code == 200
    assert enrol.redirect_chain[-1][0].startswith("/accounts/reauthenticate/")
    client.post(enrol.redirect_chain[-1][0], {"password": PASSWORD})
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    assert client.get("/help/").status_code == 200


def test_clinic_admin_without_mfa_is_sent_to_enrolment(client):
    admin = make_staff(role=User.Role.CLINIC_ADMIN, mfa=False)
    client.force_login(admin)
    assert client.get("/")["Location"] == "/accounts/2fa/totp/activate/"


def test_patient_is_not_asked_for_mfa(client, patient):
    client.force_login(patient)
    assert client.get("/").status_code == 200


def test_staff_login_asks_for_totp_code_then_reaches_home(client, clinician):
    response = client.post("/accounts/login/", {"login": clinician.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session
    response = client.post("/accounts/2fa/authenticate/", {"code": current_totp_code(TOTP_SECRET)})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == clinician.pk
    home = client.get("/")
    assert home.status_code == 200
    assert home.templates[0].name == "home/clinician.html"


def test_session_key_changes_at_login(client, patient):
    client.get("/accounts/login/")
    before = client.session.session_key
    client.post("/accounts/login/", {"login": patient.email, "password": PASSWORD})
    after = client.session.session_key
    assert before and after and before != after


@pytest.mark.parametrize("role, idle", [("clinician", 15 * 60), ("patient", 60 * 60)])
def test_idle_sessions_expire_by_role(client, clinician, patient, role, idle):
    user = clinician if role == "clinician" else patient
    client.force_login(user)
    client.get("/help/")
    session = Session.objects.get(session_key=client.session.session_key)
    remaining = (session.expire_date - timezone.now()).total_seconds()
    assert idle - 5 < remaining <= idle
    # After the idle time the session is gone: the next request is anonymous.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/").templates[0].name == "home/anonymous.html"


ROLE_PAGES = {
    "/staff/invitations/": {"clinic_admin"},
    "/consent/": {"patient"},
    "/profile/": {"patient"},
}


@pytest.mark.parametrize("path, allowed", sorted(ROLE_PAGES.items()))
def test_role_based_access(client, patient, clinician, admin_user, path, allowed):
    for user in (patient, clinician, admin_user):
        client.force_login(user)
        status = client.get(path).status_code
        assert status == (200 if user.role in allowed else 403), (path, user.role)
        client.logout()
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_patient_and_clinician_cannot_use_the_django_admin(client, patient, clinician, admin_user):
    for user in (patient, clinician):
        client.force_login(user)
        response = client.get("/admin/accounts/license/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(admin_user)
    assert client.get("/admin/accounts/license/").status_code == 200


def test_home_page_by_role(client, patient, clinician, admin_user):
    expected = {patient: "home/patient.html", clinician: "home/clinician.html",
                admin_user: "home/admin.html"}
    for user, template in expected.items():
        client.force_login(user)
        assert client.get("/").templates[0].name == template


def test_pages_follow_the_patients_language_and_zone_until_they_switch(client, region_sg):
    from tests.factories import make_patient

    patient = make_patient(region=region_sg)  # VN-SG: Vietnamese, Asia/Ho_Chi_Minh
    client.force_login(patient)
    response = client.get("/")
    assert response.wsgi_request.LANGUAGE_CODE == "vi"
    assert 'lang="vi"' in response.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert 'lang="en"' in client.get("/").content.decode()


def test_clinic_admin_sees_times_in_the_clinic_zone(client, admin_user, settings):
    settings.TELEPSYCH_CLINIC_TIME_ZONE = "America/New_York"
    client.force_login(admin_user)
    response = client.get("/")
    assert response.context["TIME_ZONE"] == "America/New_York"
