"""The encryption service: round trip, tampering, moved values, wrong keys, nonces, MFA."""

import base64
import logging

import pytest
from allauth.mfa.models import Authenticator
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from accounts.models import User
from accounts.totp import current_totp_code
from records import encryption
from records.encryption import (
    Context,
    DecryptionError,
    decrypt_text,
    encrypt_text,
    parse_keyring,
    rewrap,
)
from records.mfa import MfaAdapter
from tests.factories import TOTP_SECRET, make_staff

CTX = Context(table="records_clinicalnote", row="row-1", field="body")
OTHER_ROW = Context(table="records_clinicalnote", row="row-2", field="body")
KEY_A = "a1:" + base64.b64encode(bytes(range(32))).decode()
KEY_B = "b1:" + base64.b64encode(bytes(range(100, 132))).decode()


def _flip(envelope: dict, name: str, index: int = 0) -> dict:
    raw = bytearray(base64.b64decode(envelope[name]))
    raw[index] ^= 0x01
    return {**envelope, name: base64.b64encode(bytes(raw)).decode()}


def test_round_trip_and_envelope_shape():
    envelope = encrypt_text("Patient reports sleeping 4 hours. Ngủ kém.", context=CTX)
    assert set(envelope) == {"v", "kid", "wk", "n", "ct"}
    assert envelope["v"] == 1
    assert envelope["kid"] == "test1"
    assert len(base64.b64decode(envelope["n"])) == 12
    assert len(base64.b64decode(envelope["wk"])) == 12 + 32 + 16
    assert "sleeping" not in str(envelope)
    assert decrypt_text(envelope, context=CTX) == "Patient reports sleeping 4 hours. Ngủ kém."


def test_two_encryptions_of_one_text_differ():
    first, second = encrypt_text("same", context=CTX), encrypt_text("same", context=CTX)
    assert first["ct"] != second["ct"] and first["wk"] != second["wk"]


@pytest.mark.parametrize("name", ["ct", "n", "wk"])
@pytest.mark.parametrize("index", [0, -1])
def test_any_flipped_byte_raises(name, index):
    envelope = encrypt_text("a secret sentence", context=CTX)
    with pytest.raises(DecryptionError):
        decrypt_text(_flip(envelope, name, index), context=CTX)


def test_changed_key_id_raises():
    envelope = encrypt_text("a secret sentence", context=CTX)
    with pytest.raises(DecryptionError, match="not in TELEPSYCH_ENCRYPTION_KEYS"):
        decrypt_text({**envelope, "kid": "nope"}, context=CTX)


def test_ciphertext_swapped_between_two_rows_raises():
    first = encrypt_text("row one text", context=CTX)
    second = encrypt_text("row two text", context=OTHER_ROW)
    with pytest.raises(DecryptionError):
        decrypt_text(second, context=CTX)
    with pytest.raises(DecryptionError):
        decrypt_text(first, context=OTHER_ROW)
    # Only the ciphertext moved (the wrapped key stayed): still refused.
    with pytest.raises(DecryptionError):
        decrypt_text({**first, "ct": second["ct"], "n": second["n"]}, context=CTX)
    with pytest.raises(DecryptionError):
        decrypt_text(first, context=Context(CTX.table, CTX.row, "other_field"))


def test_wrong_key_raises():
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=KEY_A):
        envelope = encrypt_text("under key a", context=CTX)
    # Same key id, different key bytes.
    impostor = "a1:" + base64.b64encode(bytes(range(1, 33))).decode()
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=impostor), pytest.raises(DecryptionError):
        decrypt_text(envelope, context=CTX)
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=KEY_B), pytest.raises(DecryptionError):
        decrypt_text(envelope, context=CTX)


def test_malformed_envelopes_raise_decryption_error():
    envelope = encrypt_text("x", context=CTX)
    for bad in [{}, None, "text", {**envelope, "v": 2}, {**envelope, "ct": "***"},
                {**envelope, "n": base64.b64encode(b"short").decode()}]:
        with pytest.raises(DecryptionError):
            decrypt_text(bad, context=CTX)


def test_rewrap_moves_to_primary_key_and_keeps_ciphertext():
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=KEY_A):
        envelope = encrypt_text("rotate me", context=CTX)
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}"):
        assert decrypt_text(envelope, context=CTX) == "rotate me"
        rotated = rewrap(envelope, context=CTX)
        assert rotated["kid"] == "b1"
        assert rotated["ct"] == envelope["ct"] and rotated["n"] == envelope["n"]
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS=KEY_B):
        assert decrypt_text(rotated, context=CTX) == "rotate me"
        with pytest.raises(DecryptionError):
            decrypt_text(envelope, context=CTX)


def test_no_nonce_repeats_in_100000_encryptions():
    nonces = set()
    wrap_nonces = set()
    for _ in range(100_000):
        envelope = encryption.encrypt_bytes(b"x", context=CTX)
        nonces.add(envelope["n"])
        wrap_nonces.add(envelope["wk"][:16])  # first 12 bytes = the wrap nonce
    assert len(nonces) == 100_000
    assert len(wrap_nonces) == 100_000


@pytest.mark.parametrize(
    "raw, message",
    [
        ("", "holds no key"),
        ("nokey", "must be 'kid:base64key"),
        ("k1:not base64!", "not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "must be 32 bytes, not 5"),
        (f"{KEY_A},{KEY_A}", "appears twice"),
    ],
)
def test_keyring_errors_are_clear(raw, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_keyring(raw)


def test_keyring_primary_is_first():
    ring = parse_keyring(f"{KEY_B}, {KEY_A}")
    assert ring.primary_id == "b1"
    assert set(ring.keys) == {"a1", "b1"}


def test_missing_keys_fail_closed_without_debug():
    with (override_settings(TELEPSYCH_ENCRYPTION_KEYS="", DEBUG=False),
          pytest.raises(ImproperlyConfigured, match="TELEPSYCH_ENCRYPTION_KEYS is not set")):
        encrypt_text("x", context=CTX)


def test_development_key_is_generated_once_with_a_warning(tmp_path, caplog):
    with override_settings(TELEPSYCH_ENCRYPTION_KEYS="", DEBUG=True, VAR_DIR=tmp_path):
        with caplog.at_level(logging.WARNING, logger="records.encryption"):
            envelope = encrypt_text("dev", context=CTX)
        key_file = tmp_path / "encryption-dev.key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert key_file.read_text().startswith("dev1:")
        assert "generated a development key" in caplog.text
        assert decrypt_text(envelope, context=CTX) == "dev"
        first = key_file.read_text()
        encrypt_text("again", context=CTX)
        assert key_file.read_text() == first


# --- allauth MFA secrets ---------------------------------------------------------------------------

def test_mfa_adapter_round_trip_and_refuses_plaintext():
    adapter = MfaAdapter()
    stored = adapter.encrypt(TOTP_SECRET)
    assert stored.startswith("tpenc1:") and TOTP_SECRET not in stored
    assert adapter.decrypt(stored) == TOTP_SECRET
    with pytest.raises(DecryptionError, match="tpenc1"):
        adapter.decrypt(TOTP_SECRET)


@pytest.mark.django_db
def test_totp_secret_is_stored_encrypted_and_sign_in_code_still_verifies(client):
    from allauth.mfa.totp.internal.auth import TOTP

    staff = make_staff(role=User.Role.CLINICIAN)
    authenticator = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP)
    assert authenticator.data["secret"].startswith("tpenc1:")
    assert TOTP_SECRET not in str(authenticator.data)
    assert TOTP(authenticator).validate_code(current_totp_code(TOTP_SECRET))
