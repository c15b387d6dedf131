"""A person signs up as a patient, verifies the email, accepts consent and reaches home."""

import re

import pytest

from accounts.models import ConsentAcceptance, User
from tests.factories import make_consent_document, make_region

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_patient_signs_up_verifies_email_accepts_consent_and_reaches_home(
    live_daphne, new_context
):
    make_region("VN-SG")
    make_region("US-NY")
    document = make_consent_document()
    page = new_context().new_page()

    page.goto(live_daphne.url + "/accounts/signup/")
    page.get_by_label("Email").fill("lan.nguyen@example.test")
    page.locator("#id_password1").fill("a-long-and-unusual-passphrase")
    page.locator("#id_password2").fill("a-long-and-unusual-passphrase")
    page.get_by_label("First name").fill("Lan")
    page.get_by_label("Last name").fill("Nguyen")
    page.get_by_label("Where do you live?").select_option("VN-SG")
    page.get_by_label("Preferred language").select_option("vi")
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))

    user = User.objects.get(email="lan.nguyen@example.test")
    assert user.role == User.Role.PATIENT
    assert user.patient_profile.home_region.code == "VN-SG"

    (message,) = live_daphne.emails()
    body = message.get_payload()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()

    # Signed in by the confirmation, the pages now speak Lan's language (Vietnamese), and home
    # asks for consent before anything can be booked.
    page.wait_for_url(live_daphne.url + "/")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.get_by_role("link", name="Đọc bản đồng ý").click()
    page.get_by_label("Tôi đã đọc và đồng ý với bản đồng ý khám từ xa này.").check()
    page.get_by_role("button", name="Đồng ý và tiếp tục").click()
    page.wait_for_url(live_daphne.url + "/")
    assert page.get_by_role("heading", name="Xin chào, Lan").is_visible()
    assert page.get_by_role("link", name="Đọc bản đồng ý").count() == 0
    assert ConsentAcceptance.objects.filter(patient=user, document=document).count() == 1
    assert page.get_by_role("link", name="Nhận trợ giúp ngay").is_visible()
