import io
from datetime import timedelta

import pytest

from accounts import demo as accounts_demo
from records import demo
from records.models import AuditEvent, ClinicalNote, QuestionnaireResponse
from tests.records.factories import make_appointment

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent_and_readable():
    people = accounts_demo.seed()
    make_appointment(patient=people.patients[0], clinician=people.clinicians[0],
                     starts_in=timedelta(days=-3))
    make_appointment(patient=people.patients[1], clinician=people.clinicians[0],
                     starts_in=timedelta(days=+3))  # future: no note
    demo.seed(people=people, stdout=io.StringIO())
    counts = (ClinicalNote.objects.count(), QuestionnaireResponse.objects.count(),
              AuditEvent.objects.count())
    assert counts == (1, 16, 2 + 16)  # note create + sign, one event per answer
    demo.seed(people=people, stdout=io.StringIO())
    assert (ClinicalNote.objects.count(), QuestionnaireResponse.objects.count(),
            AuditEvent.objects.count()) == counts
    note = ClinicalNote.objects.get()
    assert note.is_open_note and "sertraline" in note.decrypt_field_json("body")["plan"]
    scores = list(QuestionnaireResponse.objects.filter(patient=people.patients[0], instrument="phq9")
                  .order_by("submitted_at").values_list("score", flat=True))
    assert scores == [15, 13, 8, 5]
