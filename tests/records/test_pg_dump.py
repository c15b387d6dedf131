"""A dump of the PostgreSQL database holds none of the canary phrases written into notes,
addenda and questionnaire answers (nor the TOTP secret)."""

import subprocess

import pytest
from django.db import connection

from records.services import (
    QuestionnaireAnswers,
    addendum_add,
    note_update_draft,
    questionnaire_submit,
)
from tests.factories import TOTP_SECRET
from tests.records.factories import Cast, make_note

CANARIES = {
    "note_subjective": "canary-Wombat-Subjective-7731",
    "note_plan": "canary-Quokka-Plan-1187",
    "draft_edit": "canary-Narwhal-Draft-5512",
    "private_note": "canary-Axolotl-Private-9043",
    "addendum": "canary-Pangolin-Addendum-2290",
    "measure_comment": "canary-Okapi-Comment-6604",
    "vietnamese": "canary-Ngủ-không-được-3321",
}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pg_dump_contains_no_canary():
    cast = Cast()
    note = make_note(author=cast.treating, patient=cast.patient, signed=True, sections={
        "subjective": CANARIES["note_subjective"] + " " + CANARIES["vietnamese"],
        "plan": CANARIES["note_plan"]})
    draft = make_note(author=cast.treating, patient=cast.patient)
    note_update_draft(note_id=draft.pk, author=cast.treating,
                      sections={"subjective": CANARIES["draft_edit"]})
    make_note(author=cast.treating, patient=cast.patient, private=True,
              sections={"assessment": CANARIES["private_note"]})
    addendum_add(note_id=note.pk, author=cast.treating, text=CANARIES["addendum"])
    questionnaire_submit(patient=cast.patient, instrument="phq9",
                         answers=QuestionnaireAnswers(answers=[1] * 8 + [2],
                                                      comment=CANARIES["measure_comment"]))
    settings = connection.settings_dict
    dump = subprocess.run(
        ["/usr/bin/pg_dump", "--data-only", "-h", settings["HOST"] or "127.0.0.1",
         "-p", str(settings["PORT"] or 5432), "-U", settings["USER"] or "postgres",
         settings["NAME"]],
        capture_output=True, check=True, timeout=120,
    ).stdout.decode()
    # The dump is real: it holds the rows, just not their plaintext.
    assert "COPY public.records_clinicalnote" in dump and '"ct": "' in dump
    assert cast.patient.email in dump
    for name, canary in CANARIES.items():
        assert canary not in dump, name
        assert canary.lower() not in dump.lower(), name
    assert TOTP_SECRET not in dump
