"""PHQ-9 and GAD-7: exact texts, scoring at every band boundary, encrypted answers, the item-9
flag and crisis event, requests 24 h before each appointment (exactly once), trend charts."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from records import measures
from records.models import MeasureRequest, PatientFlag, QuestionnaireResponse
from records.services import QuestionnaireAnswers, measure_requests_create_due, questionnaire_submit
from records.tasks import send_measure_requests
from scheduling.models import Appointment
from tests.records.factories import Cast, make_appointment

PHQ9_BOUNDARIES = [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
                   (14, "moderate"), (15, "moderately_severe"), (19, "moderately_severe"),
                   (20, "severe"), (27, "severe")]
GAD7_BOUNDARIES = [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
                   (14, "moderate"), (15, "severe"), (21, "severe")]


def _answers_summing_to(total: int, items: int) -> list[int]:
    answers = [0] * items
    for index in range(items):
        answers[index] = min(3, total)
        total -= answers[index]
    assert total == 0
    return answers


@pytest.mark.parametrize("total, band", PHQ9_BOUNDARIES)
def test_phq9_bands_at_every_boundary(total, band):
    result = measures.score("phq9", _answers_summing_to(total, 9))
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize("total, band", GAD7_BOUNDARIES)
def test_gad7_bands_at_every_boundary(total, band):
    result = measures.score("gad7", _answers_summing_to(total, 7))
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize("instrument, answers", [
    ("phq9", [0] * 8), ("phq9", [0] * 10), ("gad7", [0] * 6), ("gad7", [0, 0, 0, 0, 0, 0, 4]),
    ("gad7", [0, 0, 0, 0, 0, 0, -1]), ("gad7", [0, 0, 0, 0, 0, 0, True]), ("bdi", [0] * 21),
])
def test_invalid_answers_are_refused(instrument, answers):
    with pytest.raises(measures.InvalidAnswers):
        measures.score(instrument, answers)


def test_exact_item_texts_in_both_languages():
    assert len(measures.ITEMS["phq9"]) == 9 and len(measures.ITEMS["gad7"]) == 7
    assert measures.ITEMS["phq9"][8]["en"] == (
        "Thoughts that you would be better off dead or of hurting yourself in some way")
    assert measures.ITEMS["phq9"][8]["vi"] == (
        "Có các suy nghĩ cho rằng chết là điều tốt hơn cho bạn hoặc bạn tính đến chuyện tự gây "
        "tổn hại cơ thể mình")
    assert measures.ITEMS["gad7"][0] == {"en": "Feeling nervous, anxious or on edge",
                                         "vi": "Cảm thấy bồn chồn, lo lắng hoặc căng thẳng"}
    assert [texts["en"] for _v, texts in measures.OPTIONS] == [
        "Not at all", "Several days", "More than half the days", "Nearly every day"]
    assert [texts["vi"] for _v, texts in measures.OPTIONS] == [
        "Không ngày nào", "Vài ngày", "Hơn một nửa số ngày", "Gần như mỗi ngày"]


@pytest.mark.django_db
def test_questionnaire_page_shows_the_patients_language(client):
    cast = Cast()  # the patient's region is VN-SG: Vietnamese
    client.force_login(cast.patient)
    with translation.override("vi"):
        page = client.get("/records/questionnaires/phq9/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert measures.ITEMS["phq9"][0]["vi"] in page
    assert "Gần như mỗi ngày" in page
    client.cookies.load({"django_language": "en"})
    page = client.get("/records/questionnaires/phq9/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1. Little interest or pleasure in doing things" in page
    assert page.count('type="radio"') == 9 * 4 + 4


@pytest.mark.django_db
def test_answers_are_encrypted_and_score_stored(client):
    cast = Cast()
    client.force_login(cast.patient)
    data = {f"item_{n}": "2" for n in range(1, 10)} | {"item_9": "0", "difficulty": "1",
                                                        "comment": "sleep is worse"}
    response = client.post("/records/questionnaires/phq9/", data)
    assert response.status_code == 302 and response["Location"] == "/records/questionnaires/"
    saved = QuestionnaireResponse.objects.get()
    assert (saved.instrument, saved.score, saved.band) == ("phq9", 16, "moderately_severe")
    raw = QuestionnaireResponse.objects.values_list("answers", flat=True).get()
    assert "sleep" not in json.dumps(raw)
    assert saved.decrypt_field_json("answers") == {
        "answers": [2, 2, 2, 2, 2, 2, 2, 2, 0], "difficulty": 1, "comment": "sleep is worse"}
    assert not PatientFlag.objects.exists()


@pytest.mark.django_db
def test_missing_answers_show_form_errors_and_save_nothing(client):
    cast = Cast()
    client.force_login(cast.patient)
    response = client.post("/records/questionnaires/gad7/", {"item_1": "1", "item_2": "9"})
    assert response.status_code == 400
    assert QuestionnaireResponse.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("item9", [1, 2, 3])
def test_item_9_flags_the_patient_and_raises_a_crisis_event(client, item9):
    from crisis.models import CrisisEvent

    cast = Cast()
    response = questionnaire_submit(
        patient=cast.patient, instrument="phq9",
        answers=QuestionnaireAnswers(answers=[0] * 8 + [item9]))
    flag = PatientFlag.objects.get()
    assert (flag.patient, flag.kind, flag.response) == (cast.patient, "phq9_item9", response)
    event = CrisisEvent.objects.get(patient=cast.patient)
    assert (event.source, event.detail) == ("questionnaire", f"PHQ-9 item 9 = {item9}")
    # The treating clinician's home and patient list show the flag.
    client.force_login(cast.treating)
    home = client.get("/").content.decode()
    assert "Patients who need attention" in home
    assert f"/records/patients/{cast.patient.pk}/" in home
    patients = client.get("/records/patients/").content.decode()
    assert "PHQ-9 item 9: thoughts of self-harm" in patients
    # An unrelated clinician sees nothing.
    client.force_login(cast.unrelated)
    assert "Patients who need attention" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_item_9_zero_raises_nothing():
    from crisis.models import CrisisEvent

    cast = Cast()
    questionnaire_submit(patient=cast.patient, instrument="phq9",
                         answers=QuestionnaireAnswers(answers=[3] * 8 + [0]))
    assert not PatientFlag.objects.exists() and not CrisisEvent.objects.exists()


@pytest.mark.django_db
def test_flag_and_crisis_event_roll_back_with_the_answer(monkeypatch):
    """They are written in the questionnaire's own transaction."""
    from crisis.models import CrisisEvent
    from records import services

    cast = Cast()

    def broken(**kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(services, "audit_log", broken)
    with pytest.raises(RuntimeError):
        questionnaire_submit(patient=cast.patient, instrument="phq9",
                             answers=QuestionnaireAnswers(answers=[0] * 8 + [2]))
    assert not QuestionnaireResponse.objects.exists()
    assert not PatientFlag.objects.exists() and not CrisisEvent.objects.exists()


@pytest.mark.django_db
def test_treating_clinician_clears_a_flag(client):
    cast = Cast()
    questionnaire_submit(patient=cast.patient, instrument="phq9",
                         answers=QuestionnaireAnswers(answers=[0] * 8 + [1]))
    flag = PatientFlag.objects.get()
    client.force_login(cast.unrelated)
    assert client.post(f"/records/flags/{flag.pk}/clear/").status_code == 404
    flag.refresh_from_db()
    assert flag.cleared_at is None
    client.force_login(cast.treating)
    assert client.post(f"/records/flags/{flag.pk}/clear/").status_code == 302
    flag.refresh_from_db()
    assert flag.cleared_by == cast.treating


@pytest.mark.django_db
def test_requests_go_out_24_hours_before_each_appointment_exactly_once(
        client, django_capture_on_commit_callbacks):
    cast = Cast()
    now = timezone.now()
    soon = make_appointment(patient=cast.patient, clinician=cast.treating,
                            starts_in=timedelta(hours=23), status=Appointment.Status.BOOKED)
    make_appointment(patient=cast.patient, clinician=cast.treating,
                     starts_in=timedelta(hours=30), status=Appointment.Status.BOOKED)
    make_appointment(patient=cast.other_patient, clinician=cast.unrelated,
                     starts_in=timedelta(hours=2), status=Appointment.Status.CANCELLED)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_measure_requests.delay().get() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert send_measure_requests.delay().get() == 0
    assert measure_requests_create_due(now=now) == []
    request = MeasureRequest.objects.get()
    assert request.appointment == soon and request.notified_at is not None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [cast.patient.email]
    assert "/records/questionnaires/" in mail.outbox[0].body
    # The patient's home shows what is due; answering both clears it.
    client.force_login(cast.patient)
    assert "/records/questionnaires/" in client.get("/").content.decode()
    for instrument, items in (("phq9", 9), ("gad7", 7)):
        response = client.post(f"/records/questionnaires/{instrument}/?request={request.pk}",
                               {f"item_{n}": "1" for n in range(1, items + 1)})
        assert response.status_code == 302
    assert request.responses.count() == 2
    home = client.get("/").content.decode()
    assert 'id="measures-due-heading"' not in home


@pytest.mark.django_db
def test_measures_page_draws_a_trend_with_a_text_alternative(client):
    cast = Cast()
    now = timezone.now()
    for days, total in ((28, 18), (14, 12), (0, 6)):
        questionnaire_submit(patient=cast.patient, instrument="phq9",
                             answers=QuestionnaireAnswers(answers=_answers_summing_to(total, 9)),
                             submitted_at=now - timedelta(days=days))
    client.force_login(cast.patient)
    client.cookies.load({"django_language": "en"})
    page = client.get("/records/questionnaires/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count("<svg") == 2
    assert 'role="img"' in page and "<polyline" in page
    assert "PHQ-9: mood: 3 results, latest 6 of 27 (Mild)." in page
    assert "<td>18 / 27</td>" in page and "<td>12 / 27</td>" in page and "<td>6 / 27</td>" in page
    assert "<script>" not in page  # the chart needs no script at all


@pytest.mark.django_db
def test_answer_to_the_same_request_twice_keeps_both_without_error():
    cast = Cast()
    appointment = make_appointment(patient=cast.patient, clinician=cast.treating,
                                   starts_in=timedelta(hours=5), status=Appointment.Status.BOOKED)
    request = MeasureRequest.objects.create(patient=cast.patient, appointment=appointment)
    first = questionnaire_submit(patient=cast.patient, instrument="gad7", request=request,
                                 answers=QuestionnaireAnswers(answers=[1] * 7))
    second = questionnaire_submit(patient=cast.patient, instrument="gad7", request=request,
                                  answers=QuestionnaireAnswers(answers=[2] * 7))
    assert first.request == request and second.request is None


@pytest.mark.django_db
def test_staff_cannot_submit_questionnaires():
    cast = Cast()
    with pytest.raises(Exception):  # noqa: B017 - PermissionDenied
        questionnaire_submit(patient=cast.treating, instrument="gad7",
                             answers=QuestionnaireAnswers(answers=[0] * 7))
    with pytest.raises(ValidationError):
        questionnaire_submit(patient=cast.patient, instrument="gad7",
                             answers=QuestionnaireAnswers(answers=[0] * 7, difficulty=7))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_request_runs_create_each_request_once():
    import threading

    from django.db import connections

    cast = Cast()
    for hours in (3, 6, 9, 12):
        make_appointment(patient=cast.patient, clinician=cast.treating,
                         starts_in=timedelta(hours=hours), status=Appointment.Status.BOOKED)
    created, errors = [], []
    barrier = threading.Barrier(6)

    def worker():
        try:
            barrier.wait()
            created.extend(measure_requests_create_due())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(created) == len(set(created)) == 4
    assert MeasureRequest.objects.count() == 4
