import pytest

pytestmark = pytest.mark.django_db


def test_sign_up_and_sign_in_pages_speak_vietnamese(client, region_sg):
    signup = client.get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert 'lang="vi"' in signup
    for text in ("Đăng ký", "Bạn sống ở đâu?", "Mật khẩu (nhập lại)", "Nhận trợ giúp ngay"):
        assert text in signup
    login = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Quên mật khẩu?" in login


def test_anonymous_home_in_vietnamese(client):
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Gặp bác sĩ tâm thần ngay tại nhà" in body
    assert "telepsych không phải là dịch vụ cấp cứu." in body
