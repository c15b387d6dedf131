"""The patient chart: one page, a fixed number of queries however much the record holds."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from records.models import PatientFlag
from records.services import QuestionnaireAnswers, addendum_add, questionnaire_submit
from tests.records.factories import Cast, make_appointment, make_note

pytestmark = pytest.mark.django_db


def _grow(cast, n):
    already = cast.patient.patient_appointments.count()
    for i in range(n):
        make_appointment(patient=cast.patient, clinician=cast.treating,
                         starts_in=timedelta(days=-30 - 7 * (already + i)))
        note = make_note(author=cast.treating, patient=cast.patient, signed=True)
        addendum_add(note_id=note.pk, author=cast.treating, text="a")
        questionnaire_submit(patient=cast.patient, instrument="phq9",
                             answers=QuestionnaireAnswers(answers=[1] * 8 + [1]),
                             submitted_at=timezone.now() - timedelta(days=i))
        questionnaire_submit(patient=cast.patient, instrument="gad7",
                             answers=QuestionnaireAnswers(answers=[1] * 7))


OWN_TABLES = ("records_", "scheduling_appointment", "accounts_patientprofile",
              "pg_advisory_xact_lock")


def _chart_queries(client, cast) -> tuple[int, int]:
    """(all queries of the page, the chart's own queries: records, appointments, profile)."""
    client.get(f"/records/patients/{cast.patient.pk}/")  # warm: the session is touched once
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/records/patients/{cast.patient.pk}/")
    assert response.status_code == 200
    own = [q["sql"] for q in queries.captured_queries
           if any(table in q["sql"] for table in OWN_TABLES)]
    return len(queries), len(own)


def test_chart_query_count_is_fixed(client):
    cast = Cast()
    client.force_login(cast.treating)
    _grow(cast, 1)
    small_total, small_own = _chart_queries(client, cast)
    _grow(cast, 12)
    large_total, large_own = _chart_queries(client, cast)
    assert (small_total, small_own) == (large_total, large_own)
    # Access: treats? (1); chart: profile, appointments, notes, responses, flags (5); audit
    # append: last event, insert (2), plus the advisory lock on PostgreSQL. The rest of the
    # page (session, user, MFA, layout) belongs to other apps and is only held constant above.
    assert large_own == (9 if connection.vendor == "postgresql" else 8), large_own


def test_chart_shows_everything_in_one_page(client):
    cast = Cast()
    _grow(cast, 3)
    client.force_login(cast.treating)
    client.cookies.load({"django_language": "en"})
    page = client.get(f"/records/patients/{cast.patient.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert cast.patient.email in page and "Ho Chi Minh City" in page
    assert page.count('href="/records/notes/') == 3
    assert page.count("<svg") == 2
    assert "PHQ-9 item 9: thoughts of self-harm" in page
    assert page.count("Mark reviewed") == PatientFlag.objects.filter(cleared_at=None).count() == 3
    assert "Write note" in page
