"""The audit trail: each PHI page writes exactly the expected events; the chain catches edits,
deletions and reordering; events are append-only; appends are safe under concurrency."""

import threading
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, connections, transaction

from records.audit import GENESIS_HASH, audit_chain_verify, event_hash
from records.models import AuditEvent
from records.services import QuestionnaireAnswers, audit_log, questionnaire_submit
from tests.records.factories import Cast, make_note

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    return Cast()


def _events_since(seq: int) -> list[tuple]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values_list(
        "actor_id", "action", "object_type", "object_id", "patient_id", "break_glass"))


def _last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def test_each_phi_page_writes_exactly_the_expected_events(client, cast):
    note = make_note(author=cast.treating, patient=cast.patient, signed=True)
    draft = make_note(author=cast.treating, patient=cast.patient)
    p, t = cast.patient, cast.treating
    pages = [
        (t, "get", f"/records/patients/{p.pk}/", {},
         [(t.pk, "view", "chart", str(p.pk), p.pk, False)]),
        (t, "get", f"/records/notes/{note.pk}/", {},
         [(t.pk, "view", "note", str(note.pk), p.pk, False)]),
        (t, "get", f"/records/notes/{draft.pk}/edit/", {},
         [(t.pk, "view", "note", str(draft.pk), p.pk, False)]),
        (t, "post", f"/records/notes/{draft.pk}/edit/", {"section_plan": "x"},
         [(t.pk, "update", "note", str(draft.pk), p.pk, False)]),
        (t, "post", f"/records/notes/{draft.pk}/sign/", {},
         [(t.pk, "sign", "note", str(draft.pk), p.pk, False)]),
        (p, "get", "/records/questionnaires/", {},
         [(p.pk, "view", "measures", str(p.pk), p.pk, False)]),
        (p, "get", "/records/questionnaires/phq9/", {}, []),
        (p, "get", "/records/my-record/", {},
         [(p.pk, "view", "access_log", str(p.pk), p.pk, False)]),
        (p, "get", f"/records/notes/{note.pk}/", {},
         [(p.pk, "view", "note", str(note.pk), p.pk, False)]),
        (p, "get", "/records/my-record/export.json", {},
         [(p.pk, "export", "export", "json", p.pk, False)]),
        (p, "get", "/records/my-record/export/", {},
         [(p.pk, "export", "export", "html", p.pk, False)]),
        (cast.admin, "get", "/records/audit/", {}, []),
    ]
    for user, method, url, data, expected in pages:
        client.force_login(user)
        seq = _last_seq()
        response = getattr(client, method)(url, data)
        assert response.status_code in (200, 302), url
        assert _events_since(seq) == expected, url


def test_questionnaire_post_and_addendum_post_are_audited(client, cast):
    note = make_note(author=cast.treating, patient=cast.patient, signed=True)
    client.force_login(cast.patient)
    seq = _last_seq()
    client.post("/records/questionnaires/gad7/", {f"item_{n}": "0" for n in range(1, 8)})
    response_id = cast.patient.questionnaire_responses.get().pk
    assert _events_since(seq) == [
        (cast.patient.pk, "create", "questionnaire", str(response_id), cast.patient.pk, False)]
    client.force_login(cast.treating)
    seq = _last_seq()
    client.post(f"/records/notes/{note.pk}/addenda/", {"text": "later"})
    addendum = note.addenda.get()
    assert _events_since(seq) == [
        (cast.treating.pk, "create", "addendum", str(addendum.pk), cast.patient.pk, False)]


def test_patient_sees_who_opened_their_record(client, cast):
    client.force_login(cast.treating)
    client.get(f"/records/patients/{cast.patient.pk}/")
    client.force_login(cast.patient)
    page = client.get("/records/my-record/").content.decode()
    assert "Who opened your record" in page or "Ai đã mở hồ sơ" in page
    assert cast.treating.clinician_profile.display_name in page
    # The patient's own visits are not listed as "openings".
    assert page.count("<tr><td>") == 1


def _chain(n: int, patient) -> list[AuditEvent]:
    return [audit_log(actor=patient, action="view", object_type="measures", object_id=i,
                      patient=patient, ip="127.0.0.1") for i in range(n)]


def test_chain_links_each_event_to_the_previous(cast):
    events = _chain(4, cast.patient)
    first = AuditEvent.objects.order_by("seq").first()
    assert first.prev_hash == GENESIS_HASH
    for earlier, later in zip(events, events[1:], strict=False):
        assert later.prev_hash == earlier.hash and later.seq == earlier.seq + 1
    assert all(event_hash(AuditEvent.objects.get(pk=e.pk)) == e.hash for e in events)
    report = audit_chain_verify()
    assert report.ok and report.checked == AuditEvent.objects.count()


@contextmanager
def _guard_lifted():
    """Tests only: lift the append-only trigger inside the test's transaction (rolled back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE records_auditevent DISABLE TRIGGER records_auditevent_append_only")
        else:
            cursor.execute("DROP TRIGGER records_auditevent_append_only")
        yield cursor


def _verify_fails_at(event: AuditEvent, problem: str):
    event = AuditEvent.objects.get(pk=event.pk)
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_at.pk == event.pk
    assert problem in report.problem
    with pytest.raises(CommandError, match=rf"broken at event id={event.pk} seq={event.seq}"):
        call_command("verify_audit")


def test_verify_catches_an_edited_row(cast):
    events = _chain(5, cast.patient)
    with _guard_lifted() as cursor:
        cursor.execute("UPDATE records_auditevent SET object_id = 'other' WHERE id = %s",
                       [events[2].pk])
    _verify_fails_at(events[2], "does not match its hash")


def test_verify_catches_a_deleted_row(cast):
    events = _chain(5, cast.patient)
    with _guard_lifted() as cursor:
        cursor.execute("DELETE FROM records_auditevent WHERE id = %s", [events[2].pk])
    _verify_fails_at(events[3], "events are missing")


def test_verify_catches_a_deleted_row_with_renumbering(cast):
    events = _chain(5, cast.patient)
    with _guard_lifted() as cursor:
        cursor.execute("DELETE FROM records_auditevent WHERE id = %s", [events[2].pk])
        for event in events[3:]:
            cursor.execute("UPDATE records_auditevent SET seq = seq - 1 WHERE id = %s", [event.pk])
    _verify_fails_at(events[3], "previous-hash does not match")


def test_verify_catches_a_reordered_pair(cast):
    events = _chain(5, cast.patient)
    a, b = events[1], events[2]
    with _guard_lifted() as cursor:
        cursor.execute("UPDATE records_auditevent SET seq = 0 WHERE id = %s", [a.pk])
        cursor.execute("UPDATE records_auditevent SET seq = %s WHERE id = %s", [a.seq, b.pk])
        cursor.execute("UPDATE records_auditevent SET seq = %s WHERE id = %s", [b.seq, a.pk])
    _verify_fails_at(b, "previous-hash does not match")


def test_verify_audit_command_reports_an_intact_chain(cast, capsys):
    _chain(3, cast.patient)
    call_command("verify_audit")
    assert f"Audit chain intact: {AuditEvent.objects.count()} events verified." in capsys.readouterr().out


def test_audit_events_cannot_be_updated_or_deleted_through_the_orm(cast):
    event = _chain(1, cast.patient)[0]
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(object_id="x")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    event.object_id = "x"
    with pytest.raises(TypeError, match="append-only"):
        event.save()


def test_the_database_refuses_updates_to_audit_events(cast):
    event = _chain(1, cast.patient)[0]
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE records_auditevent SET object_id = 'x' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).object_id == "0"


@pytest.mark.postgres
def test_postgres_refuses_deleting_audit_events(cast):
    event = _chain(1, cast.patient)[0]
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM records_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain():
    cast = Cast()
    errors = []
    barrier = threading.Barrier(8)

    def worker(n):
        try:
            barrier.wait()
            for i in range(15):
                with transaction.atomic():
                    audit_log(actor=cast.patient, action="view", object_type="measures",
                              object_id=f"{n}-{i}", patient=cast.patient)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AuditEvent.objects.filter(object_type="measures").count() == 120
    report = audit_chain_verify()
    assert report.ok and report.checked == AuditEvent.objects.count()


def test_questionnaire_write_and_its_audit_event_commit_together(cast, monkeypatch):
    """If auditing fails, the answer is not stored either (one transaction)."""
    from records import services

    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(services, "audit_log", broken)
    with pytest.raises(RuntimeError):
        questionnaire_submit(patient=cast.patient, instrument="gad7",
                             answers=QuestionnaireAnswers(answers=[0] * 7))
    assert cast.patient.questionnaire_responses.count() == 0


def test_nightly_check_emails_clinic_admins_about_a_break(cast):
    from django.core import mail

    from records.schedules import BEAT_SCHEDULE
    from records.tasks import verify_audit_chain

    assert BEAT_SCHEDULE["records-verify-audit-chain"]["task"] == "records.verify_audit_chain"
    events = _chain(3, cast.patient)
    mail.outbox.clear()
    assert verify_audit_chain.delay().get() is True
    assert mail.outbox == []
    with _guard_lifted() as cursor:
        cursor.execute("UPDATE records_auditevent SET ip = '10.0.0.9' WHERE id = %s", [events[1].pk])
    assert verify_audit_chain.delay().get() is False
    (message,) = mail.outbox
    assert message.to == [cast.admin.email]
    assert f"broken at event id={events[1].pk} seq={events[1].seq}" in message.body
