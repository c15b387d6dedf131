"""Notes: drafts, autosave, signing, addenda, and signed notes never changing by any path."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction

from records.encryption import encrypt_json
from records.models import AuditEvent, ClinicalNote, NoteAddendum, NoteKind
from records.services import NoteLocked, addendum_add, note_create, note_sign, note_update_draft
from tests.records.factories import Cast, make_note

pytestmark = pytest.mark.django_db

SOAP = {"subjective": "Sleeps badly", "objective": "Tired", "assessment": "Low mood",
        "plan": "Review in 2 weeks"}


@pytest.fixture
def cast():
    return Cast()


def test_note_body_is_encrypted_and_reads_back(cast):
    note = make_note(author=cast.treating, patient=cast.patient, sections=SOAP)
    stored = ClinicalNote.objects.values_list("body", flat=True).get(pk=note.pk)
    assert set(stored) == {"v", "kid", "wk", "n", "ct"}
    assert "Sleeps badly" not in json.dumps(stored)
    note.refresh_from_db()
    assert note.decrypt_field_json("body") == SOAP


def test_unknown_sections_are_refused(cast):
    note = make_note(author=cast.treating, patient=cast.patient)
    with pytest.raises(Exception, match="Unknown note sections: history"):
        note_update_draft(note_id=note.pk, author=cast.treating, sections={"history": "x"})


def test_only_a_treating_clinician_may_write_a_note(cast):
    with pytest.raises(PermissionDenied):
        note_create(author=cast.unrelated, patient=cast.patient, kind=NoteKind.PROGRESS_NOTE)
    with pytest.raises(PermissionDenied):
        note_create(author=cast.treating, patient=cast.patient, kind=NoteKind.PROGRESS_NOTE,
                    appointment=cast.other_patient.patient_appointments.first())
    assert ClinicalNote.objects.count() == 0


def test_only_the_author_edits_and_signs_a_draft(cast):
    note = make_note(author=cast.treating, patient=cast.patient)
    with pytest.raises(PermissionDenied):
        note_update_draft(note_id=note.pk, author=cast.colleague, sections=SOAP)
    with pytest.raises(PermissionDenied):
        note_sign(note_id=note.pk, author=cast.colleague)
    note.refresh_from_db()
    assert note.status == "draft" and note.decrypt_field_json("body")["subjective"] == ""


def test_signed_note_cannot_change_through_the_service(cast):
    note = make_note(author=cast.treating, patient=cast.patient, sections=SOAP, signed=True)
    before = ClinicalNote.objects.values("body", "status", "signed_at", "private").get(pk=note.pk)
    with pytest.raises(NoteLocked):
        note_update_draft(note_id=note.pk, author=cast.treating, sections={"plan": "changed"})
    with pytest.raises(NoteLocked):
        note_sign(note_id=note.pk, author=cast.treating)
    after = ClinicalNote.objects.values("body", "status", "signed_at", "private").get(pk=note.pk)
    assert after == before


def test_signed_note_cannot_change_through_a_form_post_or_autosave(client, cast):
    note = make_note(author=cast.treating, patient=cast.patient, sections=SOAP, signed=True)
    before = ClinicalNote.objects.values("body", "updated_at").get(pk=note.pk)
    client.force_login(cast.treating)
    response = client.post(f"/records/notes/{note.pk}/edit/", {"section_plan": "rewritten"})
    assert response.status_code == 302
    assert response["Location"] == f"/records/notes/{note.pk}/"
    response = client.post(f"/records/notes/{note.pk}/edit/", {"section_plan": "rewritten"},
                           HTTP_X_AUTOSAVE="1")
    assert response.status_code == 409
    assert response.json()["ok"] is False
    assert ClinicalNote.objects.values("body", "updated_at").get(pk=note.pk) == before


def test_signed_note_cannot_change_through_the_admin(client, cast):
    note = make_note(author=cast.treating, patient=cast.patient, sections=SOAP, signed=True)
    before = ClinicalNote.objects.values().get(pk=note.pk)
    client.force_login(cast.admin)
    change = client.get(f"/admin/records/clinicalnote/{note.pk}/change/")
    assert change.status_code == 200  # view only
    assert b"Sleeps badly" not in change.content and b'name="kind"' not in change.content
    post = client.post(f"/admin/records/clinicalnote/{note.pk}/change/",
                       {"kind": "medication_management", "status": "draft", "private": "on"})
    assert post.status_code == 403
    delete = client.post(f"/admin/records/clinicalnote/{note.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert ClinicalNote.objects.values().get(pk=note.pk) == before


def _refused():
    """The database refuses (IntegrityError), inside a savepoint so the test can go on."""
    return pytest.raises(IntegrityError)


def test_signed_note_cannot_change_through_a_bare_orm_save(cast):
    note = make_note(author=cast.treating, patient=cast.patient, sections=SOAP, signed=True)
    for change in [
        {"body": encrypt_json({"plan": "forged"}, context=note.envelope_context("body"))},
        {"status": "draft", "signed_at": None},
        {"private": True},
        {"kind": NoteKind.MEDICATION_MANAGEMENT},
        {"patient_id": cast.other_patient.pk},
    ]:
        fresh = ClinicalNote.objects.get(pk=note.pk)
        for name, value in change.items():
            setattr(fresh, name, value)
        with _refused(), transaction.atomic():
            fresh.save()
        with _refused(), transaction.atomic():
            ClinicalNote.objects.filter(pk=note.pk).update(**change)
    note.refresh_from_db()
    assert note.status == "signed" and note.decrypt_field_json("body") == SOAP


def test_draft_notes_change_freely_at_the_database(cast):
    note = make_note(author=cast.treating, patient=cast.patient)
    ClinicalNote.objects.filter(pk=note.pk).update(private=True)
    note.refresh_from_db()
    assert note.private is True


@pytest.mark.postgres
def test_postgres_refuses_deleting_signed_notes_and_addenda(cast):
    note = make_note(author=cast.treating, patient=cast.patient, signed=True)
    addendum = addendum_add(note_id=note.pk, author=cast.treating, text="late entry")
    with _refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM records_clinicalnote WHERE id = %s", [note.pk])
    with _refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM records_noteaddendum WHERE id = %s", [addendum.pk])
    assert ClinicalNote.objects.filter(pk=note.pk).exists()
    assert NoteAddendum.objects.filter(pk=addendum.pk).exists()


def test_addenda_are_encrypted_signed_and_immutable(cast):
    note = make_note(author=cast.treating, patient=cast.patient, sections=SOAP, signed=True)
    with pytest.raises(Exception, match="Sign the note first"):
        addendum_add(note_id=make_note(author=cast.treating, patient=cast.patient).pk,
                     author=cast.treating, text="on a draft")
    addendum = addendum_add(note_id=note.pk, author=cast.colleague, text="Dose was 50 mg, not 25.")
    stored = NoteAddendum.objects.values_list("body", flat=True).get(pk=addendum.pk)
    assert "50 mg" not in json.dumps(stored)
    assert addendum.signed_at is not None and addendum.author == cast.colleague
    assert NoteAddendum.objects.get(pk=addendum.pk).decrypt_field("body") == "Dose was 50 mg, not 25."
    with pytest.raises(PermissionDenied):
        addendum_add(note_id=note.pk, author=cast.unrelated, text="not my patient")
    with _refused(), transaction.atomic():
        NoteAddendum.objects.filter(pk=addendum.pk).update(
            body=encrypt_json("x", context=addendum.envelope_context("body")))
    with _refused(), transaction.atomic():
        NoteAddendum.objects.filter(pk=addendum.pk).update(author=cast.treating)
    assert NoteAddendum.objects.count() == 1


def test_edit_page_saves_with_the_plain_button_and_with_autosave(client, cast):
    note = make_note(author=cast.treating, patient=cast.patient)
    client.force_login(cast.treating)
    page = client.get(f"/records/notes/{note.pk}/edit/")
    assert page.status_code == 200
    assert b"data-autosave" in page.content and b"records-autosave.js" in page.content
    assert b'name="section_subjective"' in page.content
    plain = client.post(f"/records/notes/{note.pk}/edit/",
                        {f"section_{k}": v for k, v in SOAP.items()})
    assert plain.status_code == 302 and plain["Location"] == f"/records/notes/{note.pk}/edit/"
    note.refresh_from_db()
    assert note.decrypt_field_json("body") == SOAP
    auto = client.post(f"/records/notes/{note.pk}/edit/",
                       {"section_subjective": "autosaved", "private": "on"}, HTTP_X_AUTOSAVE="1")
    assert auto.status_code == 200 and auto.json()["ok"] is True
    note.refresh_from_db()
    assert note.decrypt_field_json("body")["subjective"] == "autosaved"
    assert note.private is True


def test_sign_and_addendum_through_pages(client, cast):
    note = make_note(author=cast.treating, patient=cast.patient, sections=SOAP)
    client.force_login(cast.treating)
    assert client.post(f"/records/notes/{note.pk}/sign/").status_code == 302
    note.refresh_from_db()
    assert note.status == "signed"
    client.force_login(cast.colleague)
    response = client.post(f"/records/notes/{note.pk}/addenda/", {"text": "Seen again today."})
    assert response.status_code == 302
    assert NoteAddendum.objects.get(note=note).decrypt_field("body") == "Seen again today."
    detail = client.get(f"/records/notes/{note.pk}/")
    assert b"Seen again today." in detail.content and b"Sleeps badly" in detail.content


def test_new_note_page_creates_a_draft_for_an_appointment(client, cast):
    client.force_login(cast.treating)
    url = f"/records/patients/{cast.patient.pk}/notes/new/?appointment={cast.appointment.pk}"
    assert client.get(url).status_code == 200
    response = client.post(url, {"kind": "medication_management"})
    note = ClinicalNote.objects.get()
    assert response["Location"] == f"/records/notes/{note.pk}/edit/"
    assert note.appointment == cast.appointment and note.kind == "medication_management"
    assert AuditEvent.objects.filter(action="create", object_type="note").count() == 1


def test_admin_lists_record_metadata_for_clinic_admins_only(client, cast):
    make_note(author=cast.treating, patient=cast.patient, sections=SOAP, signed=True)
    client.force_login(cast.admin)
    for model in ("clinicalnote", "auditevent", "questionnaireresponse", "patientflag",
                  "breakglassgrant"):
        response = client.get(f"/admin/records/{model}/")
        assert response.status_code == 200, model
        assert b"Sleeps badly" not in response.content
    assert client.get("/admin/records/clinicalnote/add/").status_code == 403
    client.force_login(cast.treating)
    assert client.get("/admin/records/clinicalnote/").status_code in (302, 403)
