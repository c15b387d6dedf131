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


@pytest.mark.parametrize("catalog", ["locale", "locale-allauth"])
def test_vietnamese_catalog_is_complete_and_compiled(catalog):
    """Every string has a Vietnamese translation, and the committed .mo matches the .po."""
    import polib
    from django.conf import settings

    folder = settings.BASE_DIR / catalog / "vi" / "LC_MESSAGES"
    po = polib.pofile(str(folder / "django.po"))
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    mo = polib.mofile(str(folder / "django.mo"))
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in mo}
    expected = {(e.msgctxt, e.msgid): e.msgstr for e in po.translated_entries() if not e.obsolete}
    assert compiled == expected
