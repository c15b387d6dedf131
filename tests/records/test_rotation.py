"""Key rotation re-wraps every data key and leaves 100% readable; verify_encryption reports."""

import base64
import importlib

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from accounts.models import User
from accounts.totp import current_totp_code
from records.models import ClinicalNote, NoteAddendum, QuestionnaireResponse
from records.services import QuestionnaireAnswers, addendum_add, questionnaire_submit
from tests.factories import TOTP_SECRET, make_staff
from tests.records.factories import Cast, make_note

pytestmark = pytest.mark.django_db

OLD = "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
NEW = "k2026:" + base64.b64encode(bytes(range(50, 82))).decode()


def _all_envelopes():
    rows = []
    for model in (ClinicalNote, NoteAddendum, QuestionnaireResponse):
        field = "answers" if model is QuestionnaireResponse else "body"
        rows += [(model, row, field) for row in model.objects.all()]
    return rows


def _populate(cast, notes=7):
    for i in range(notes):
        note = make_note(author=cast.treating, patient=cast.patient, signed=i % 2 == 0,
                         sections={"subjective": f"note {i}"})
        if note.is_signed:
            addendum_add(note_id=note.pk, author=cast.treating, text=f"addendum {i}")
    for i in range(3):
        questionnaire_submit(patient=cast.patient, instrument="gad7",
                             answers=QuestionnaireAnswers(answers=[i] * 7, comment=f"c{i}"))


def test_rotation_rewraps_everything_and_all_stays_readable(capsys):
    cast = Cast()
    _populate(cast)
    staff = make_staff(role=User.Role.CLINIC_ADMIN)
    before = {(m, r.pk): r.decrypt_field_json(f) if m is not NoteAddendum else r.decrypt_field(f)
              for m, r, f in _all_envelopes()}
    ciphertexts = {(m, r.pk): getattr(r, f)["ct"] for m, r, f in _all_envelopes()}
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=f"{NEW},{OLD}"):
        call_command("rotate_encryption_key", "--batch-size", "3")
        out = capsys.readouterr().out
        assert "Re-wrapping data keys under primary key 'k2026'" in out
        assert "[##############################] 100.0% records.ClinicalNote: 7/7 rows, 7 re-wrapped" in out
        assert "records.NoteAddendum: 4/4 rows, 4 re-wrapped" in out
        assert "records.QuestionnaireResponse: 3/3 rows, 3 re-wrapped" in out
        # A second run finds nothing left: resumable by construction.
        call_command("rotate_encryption_key")
        assert "Done: 0 rows re-wrapped" in capsys.readouterr().out
        call_command("verify_encryption")
        out = capsys.readouterr().out
        assert "records.ClinicalNote: 7 values, 0 failed; by key: k2026: 7" in out
        assert "All " in out and "still wrapped" not in out
    # Only the new key is needed now; every value reads back the same; ciphertexts untouched.
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=NEW):
        after = {(m, r.pk): r.decrypt_field_json(f) if m is not NoteAddendum else r.decrypt_field(f)
                 for m, r, f in _all_envelopes()}
        assert after == before and len(after) == 7 + 4 + 3
        assert {(m, r.pk): getattr(r, f)["ct"] for m, r, f in _all_envelopes()} == ciphertexts
        # MFA secrets were re-wrapped too: the TOTP code still verifies.
        authenticator = Authenticator.objects.get(user=staff, type="totp")
        assert TOTP(authenticator).validate_code(current_totp_code(TOTP_SECRET))


def test_interrupted_rotation_resumes(monkeypatch, capsys):
    from records import keyrotation

    cast = Cast()
    _populate(cast, notes=6)
    real_rewrap = keyrotation.rewrap
    calls = {"n": 0}

    def flaky(envelope, *, context):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_rewrap(envelope, context=context)

    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=f"{NEW},{OLD}"):
        monkeypatch.setattr(keyrotation, "rewrap", flaky)
        with pytest.raises(KeyboardInterrupt):
            call_command("rotate_encryption_key", "--batch-size", "2")
        done = ClinicalNote.objects.filter(body__kid="k2026").count()
        assert done == 2  # the first batch committed, the second rolled back
        monkeypatch.setattr(keyrotation, "rewrap", real_rewrap)
        call_command("rotate_encryption_key", "--batch-size", "2")
        assert "records.ClinicalNote: 4/4 rows, 4 re-wrapped" in capsys.readouterr().out
        assert ClinicalNote.objects.exclude(body__kid="k2026").count() == 0
        call_command("verify_encryption")


def test_verify_encryption_names_failures(capsys):
    cast = Cast()
    note = make_note(author=cast.treating, patient=cast.patient, sections={"plan": "x"})
    other = make_note(author=cast.treating, patient=cast.patient, sections={"plan": "y"})
    # Move one row's ciphertext onto another row (a draft, so the guard allows it).
    ClinicalNote.objects.filter(pk=other.pk).update(body=note.body)
    with pytest.raises(CommandError, match=r"^1 of \d+ encrypted values failed to decrypt"):
        call_command("verify_encryption")
    assert f"records.ClinicalNote pk={other.pk} body:" in capsys.readouterr().err


def test_verify_encryption_warns_about_old_keys(capsys):
    cast = Cast()
    make_note(author=cast.treating, patient=cast.patient)
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=f"{NEW},{OLD}"):
        call_command("verify_encryption")
    assert "still wrapped by an older key than 'k2026'" in capsys.readouterr().out


def test_removing_a_key_too_early_fails_clearly():
    cast = Cast()
    note = make_note(author=cast.treating, patient=cast.patient)
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=NEW), pytest.raises(
            Exception, match="master key 'test1' is not in TELEPSYCH_ENCRYPTION_KEYS"):
        ClinicalNote.objects.get(pk=note.pk).decrypt_field_json("body")


def test_migration_encrypts_plaintext_mfa_secrets_left_by_older_versions():
    staff = make_staff(role=User.Role.CLINICIAN)
    Authenticator.objects.filter(user=staff, type="totp").update(data={"secret": TOTP_SECRET})
    migration = importlib.import_module("records.migrations.0001_encrypt_mfa_secrets")
    migration._encrypt_existing(django_apps, None)
    authenticator = Authenticator.objects.get(user=staff, type="totp")
    assert authenticator.data["secret"].startswith("tpenc1:")
    assert TOTP(authenticator).validate_code(current_totp_code(TOTP_SECRET))
    migration._encrypt_existing(django_apps, None)  # idempotent
    assert Authenticator.objects.get(pk=authenticator.pk).data == authenticator.data
