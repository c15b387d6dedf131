"""The authorization matrix for notes, chart, measures and export: anonymous, the patient,
another patient, the treating clinician, an unrelated clinician, a clinic admin without and with
break-glass. Each denial asserts that nothing leaked and that nothing was written."""

import pytest

from records.models import AuditEvent, ClinicalNote, NoteAddendum, QuestionnaireResponse
from records.services import (
    QuestionnaireAnswers,
    addendum_add,
    break_glass_open,
    questionnaire_submit,
)
from tests.records.factories import Cast, make_note

pytestmark = pytest.mark.django_db

OPEN_TEXT = "CANARY-open-progress-note"
PRIVATE_TEXT = "CANARY-private-psychotherapy"
DRAFT_TEXT = "CANARY-draft-note"
ADDENDUM_TEXT = "CANARY-addendum"
COMMENT_TEXT = "CANARY-questionnaire-comment"
SECRETS = [OPEN_TEXT, PRIVATE_TEXT, DRAFT_TEXT, ADDENDUM_TEXT, COMMENT_TEXT]


@pytest.fixture
def world():
    cast = Cast()
    cast.open_note = make_note(author=cast.treating, patient=cast.patient,
                               sections={"subjective": OPEN_TEXT}, signed=True)
    cast.private_note = make_note(author=cast.treating, patient=cast.patient, private=True,
                                  sections={"subjective": PRIVATE_TEXT}, signed=True)
    cast.draft = make_note(author=cast.treating, patient=cast.patient,
                           sections={"subjective": DRAFT_TEXT})
    addendum_add(note_id=cast.open_note.pk, author=cast.treating, text=ADDENDUM_TEXT)
    questionnaire_submit(patient=cast.patient, instrument="phq9",
                         answers=QuestionnaireAnswers(answers=[1] * 8 + [0], comment=COMMENT_TEXT))
    return cast


def _counts():
    return (AuditEvent.objects.count(), ClinicalNote.objects.count(),
            NoteAddendum.objects.count(), QuestionnaireResponse.objects.count())


def _as(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


def _assert_denied(response, expected_status):
    assert response.status_code == expected_status
    body = response.content.decode()
    for secret in SECRETS:
        assert secret not in body


def _who(world, name):
    return None if name == "anonymous" else getattr(world, name)


# (viewer, expected status) — 302 sends anonymous visitors to sign in.
NOTE_MATRIX = {
    "open_note": {"anonymous": 302, "patient": 200, "other_patient": 404, "treating": 200,
                  "colleague": 200, "unrelated": 404, "admin": 404},
    "private_note": {"anonymous": 302, "patient": 404, "other_patient": 404, "treating": 200,
                     "colleague": 200, "unrelated": 404, "admin": 404},
    "draft": {"anonymous": 302, "patient": 404, "other_patient": 404, "treating": 200,
              "colleague": 404, "unrelated": 404, "admin": 404},
}
NOTE_TEXT = {"open_note": OPEN_TEXT, "private_note": PRIVATE_TEXT, "draft": DRAFT_TEXT}


@pytest.mark.parametrize("note_name", list(NOTE_MATRIX))
@pytest.mark.parametrize("viewer", ["anonymous", "patient", "other_patient", "treating",
                                    "colleague", "unrelated", "admin"])
def test_note_detail_matrix(client, world, note_name, viewer):
    note = getattr(world, note_name)
    expected = NOTE_MATRIX[note_name][viewer]
    before = _counts()
    response = _as(client, _who(world, viewer)).get(f"/records/notes/{note.pk}/")
    if expected == 200:
        assert response.status_code == 200
        assert NOTE_TEXT[note_name] in response.content.decode()
        assert _counts()[0] == before[0] + 1  # exactly the read event
    else:
        _assert_denied(response, expected)
        assert _counts() == before


def test_admin_with_break_glass_sees_note_metadata_never_the_body(client, world):
    break_glass_open(admin=world.admin, patient=world.patient, reason="Patient unreachable, "
                     "emergency contact called the clinic")
    _as(client, world.admin)
    for note in (world.open_note, world.private_note):
        response = client.get(f"/records/notes/{note.pk}/")
        assert response.status_code == 200
        assert "You can see that this note exists, not what it says." in response.content.decode()
        for secret in SECRETS:
            assert secret not in response.content.decode()
        assert AuditEvent.objects.latest("seq").break_glass is True
    _assert_denied(client.get(f"/records/notes/{world.draft.pk}/"), 404)


@pytest.mark.parametrize("viewer, expected", [
    ("anonymous", 302), ("patient", 403), ("other_patient", 403), ("treating", 200),
    ("colleague", 200), ("unrelated", 404), ("admin", 403),
])
def test_chart_matrix(client, world, viewer, expected):
    before = _counts()
    response = _as(client, _who(world, viewer)).get(f"/records/patients/{world.patient.pk}/")
    if expected == 200:
        assert response.status_code == 200
        body = response.content.decode()
        assert world.patient.email in body and "PHQ-9" in body
        for secret in SECRETS:  # the chart shows note titles, never bodies
            assert secret not in body
        assert _counts()[0] == before[0] + 1
    else:
        _assert_denied(response, expected)
        assert world.patient.email not in response.content.decode() or viewer == "admin"
        assert _counts() == before
    if viewer == "admin":
        assert "break-glass" in response.content.decode()


def test_chart_for_admin_with_break_glass(client, world):
    break_glass_open(admin=world.admin, patient=world.patient, reason="Patient unreachable, "
                     "emergency contact called the clinic")
    response = _as(client, world.admin).get(f"/records/patients/{world.patient.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert world.patient.email in body and "Break-glass access until" in body
    for secret in SECRETS:
        assert secret not in body
    event = AuditEvent.objects.latest("seq")
    assert (event.action, event.object_type, event.break_glass) == ("view", "chart", True)


def test_break_glass_covers_one_patient_only(client, world):
    break_glass_open(admin=world.admin, patient=world.patient, reason="Patient unreachable, "
                     "emergency contact called the clinic")
    response = _as(client, world.admin).get(f"/records/patients/{world.other_patient.pk}/")
    assert response.status_code == 403
    assert "break-glass" in response.content.decode()


@pytest.mark.parametrize("viewer, expected", [
    ("anonymous", 302), ("patient", 200), ("other_patient", 200), ("treating", 403),
    ("unrelated", 403), ("admin", 403),
])
def test_measures_page_matrix(client, world, viewer, expected):
    """Only patients reach the page, and each sees only their own results."""
    before = _counts()
    _as(client, _who(world, viewer)).cookies.load({"django_language": "en"})
    response = client.get("/records/questionnaires/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == expected
    if viewer == "patient":
        assert "PHQ-9: mood: 1 results, latest 8 of 27 (Mild)." in response.content.decode()
    elif viewer == "other_patient":
        assert "PHQ-9: mood: no results yet." in response.content.decode()
    if expected != 200:
        _assert_denied(response, expected)
        assert _counts() == before


@pytest.mark.parametrize("viewer", ["anonymous", "treating", "unrelated", "admin"])
def test_questionnaire_submission_is_for_patients_only(client, world, viewer):
    before = _counts()
    response = _as(client, _who(world, viewer)).post(
        "/records/questionnaires/gad7/", {f"item_{n}": "3" for n in range(1, 8)})
    assert response.status_code in (302, 403)
    if viewer == "anonymous":
        assert response["Location"].startswith("/accounts/login/")
    assert _counts() == before


def test_patient_cannot_answer_against_another_patients_request(client, world):
    from records.models import MeasureRequest

    request = MeasureRequest.objects.create(patient=world.patient, appointment=world.appointment)
    before = _counts()
    response = _as(client, world.other_patient).post(
        f"/records/questionnaires/gad7/?request={request.pk}",
        {f"item_{n}": "1" for n in range(1, 8)})
    assert response.status_code == 404
    assert _counts() == before


@pytest.mark.parametrize("path", ["/records/my-record/export.json", "/records/my-record/export/"])
@pytest.mark.parametrize("viewer, expected", [
    ("anonymous", 302), ("patient", 200), ("other_patient", 200), ("treating", 403),
    ("unrelated", 403), ("admin", 403),
])
def test_export_matrix(client, world, path, viewer, expected):
    before = _counts()
    response = _as(client, _who(world, viewer)).get(path)
    assert response.status_code == expected
    body = response.content.decode()
    if viewer == "patient":
        assert OPEN_TEXT in body and ADDENDUM_TEXT in body and COMMENT_TEXT in body
        assert PRIVATE_TEXT not in body and DRAFT_TEXT not in body
        assert _counts()[0] == before[0] + 1
    elif viewer == "other_patient":
        for secret in SECRETS:
            assert secret not in body
        assert world.patient.email not in body
    else:
        _assert_denied(response, expected)
        assert _counts() == before


@pytest.mark.parametrize("viewer, expected", [
    ("anonymous", 302), ("patient", 403), ("treating", 403), ("admin", 200),
])
def test_audit_page_is_for_clinic_admins(client, world, viewer, expected):
    response = _as(client, _who(world, viewer)).get("/records/audit/")
    assert response.status_code == expected


@pytest.mark.parametrize("viewer, expected", [
    ("patient", 403), ("other_patient", 403), ("unrelated", 404), ("colleague", 302),
    ("admin", 403),
])
def test_writes_on_notes_are_refused_to_others(client, world, viewer, expected):
    before = _counts()
    _as(client, _who(world, viewer))
    response = client.post(f"/records/notes/{world.open_note.pk}/addenda/", {"text": "intrusion"})
    assert response.status_code == expected
    if expected == 302:  # a treating colleague may add an addendum
        assert _counts()[2] == before[2] + 1
        return
    for url, data in [
        (f"/records/notes/{world.draft.pk}/edit/", {"section_subjective": "intrusion"}),
        (f"/records/notes/{world.draft.pk}/sign/", {}),
        (f"/records/patients/{world.patient.pk}/notes/new/", {"kind": "progress_note"}),
    ]:
        assert client.post(url, data).status_code in (403, 404)
    assert _counts() == before
    world.draft.refresh_from_db()
    assert world.draft.status == "draft"
    assert world.draft.decrypt_field_json("body")["subjective"] == DRAFT_TEXT
