import pytest

from accounts.models import ConsentAcceptance
from accounts.selectors import consent_is_current
from accounts.services import consent_document_publish
from tests.factories import make_patient

pytestmark = pytest.mark.django_db


def test_accepting_consent_stores_version_and_time(client, region_sg, consent_document):
    patient = make_patient(region=region_sg, consented=False)
    client.force_login(patient)
    page = client.get("/consent/")
    assert page.status_code == 200
    assert "Nội dung đồng ý." in page.content.decode()  # a VN-SG patient reads Vietnamese
    response = client.post("/consent/", {"version": 1, "accept": "on"})
    assert response.status_code == 302
    acceptance = ConsentAcceptance.objects.get(patient=patient)
    assert acceptance.document == consent_document
    assert acceptance.accepted_at is not None
    assert acceptance.ip_address == "127.0.0.1"


def test_a_new_version_asks_again(client, region_sg, consent_document):
    patient = make_patient(region=region_sg, consented=True)
    assert consent_is_current(patient=patient)
    v2 = consent_document_publish(title="Consent", body_en="New text v2", body_vi="Văn bản mới")
    assert v2.version == 2
    assert not consent_is_current(patient=patient)
    client.force_login(patient)
    assert client.get("/").context["needs_consent"] is True
    # Accepting the old version after v2 appeared is refused with a clear message.
    stale = client.post("/consent/", {"version": 1, "accept": "on"})
    assert "Nội dung bản đồng ý đã thay đổi" in stale.content.decode()  # a VN-SG patient
    assert client.post("/consent/", {"version": 2, "accept": "on"}).status_code == 302
    assert consent_is_current(patient=patient)
    assert list(ConsentAcceptance.objects.filter(patient=patient).values_list(
        "document__version", flat=True).order_by("document__version")) == [1, 2]


@pytest.mark.parametrize("data", [{}, {"version": "abc", "accept": "on"}, {"version": 1}])
def test_consent_bad_input_is_a_form_error(client, region_sg, consent_document, data):
    patient = make_patient(region=region_sg, consented=False)
    client.force_login(patient)
    response = client.post("/consent/", data)
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not ConsentAcceptance.objects.filter(patient=patient).exists()


def test_consent_follows_the_language_the_patient_chose(client, region_sg, consent_document):
    patient = make_patient(region=region_sg, consented=False)
    client.force_login(patient)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Consent text." in client.get("/consent/").content.decode()


def test_profile_bad_input(client, patient):
    client.force_login(patient)
    response = client.post("/profile/", {
        "home_region": "XX-YY", "time_zone": "Mars/Olympus", "preferred_language": "vi",
        "phone": "call me", "date_of_birth": "not a date"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('class="field-error"') == 4
    patient.patient_profile.refresh_from_db()
    assert patient.patient_profile.home_region.code == "VN-SG"
