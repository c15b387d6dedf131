"""The one encryption service of the project: envelope encryption with AES-256-GCM.

Every encrypted value is a JSON envelope:

    {"v": 1, "kid": "<master key id>", "wk": "<b64 wrap nonce + wrapped data key>",
     "n": "<b64 nonce>", "ct": "<b64 ciphertext + tag>"}

Each value gets a fresh random 256-bit data key; the data key is wrapped (AES-256-GCM) by the
primary master key of the keyring in ``settings.TELEPSYCH_ENCRYPTION_KEYS`` ("kid:base64,kid:
base64", newest first; older keys stay to decrypt until `rotate_encryption_key` re-wraps).
The associated data of both the wrap and the ciphertext binds the value to a *context*
(table, row, field), so a ciphertext copied to another row or field fails to decrypt.
Every failure raises `DecryptionError`; nothing ever returns garbage.

Models hold encrypted values with `EncryptedModel` (an abstract model giving each row a stable
`envelope_id`) and `EnvelopeField` columns; see `EncryptedModel.encrypt_field`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

logger = logging.getLogger(__name__)

ENVELOPE_VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
DEV_KEY_FILE = "encryption-dev.key"


class EncryptionError(Exception):
    """Encryption could not be done (no usable key)."""


class DecryptionError(EncryptionError):
    """A value could not be decrypted: wrong key, changed bytes, or the wrong row/field."""


@dataclass(frozen=True)
class Context:
    """Where a value lives; it is authenticated with the value (associated data)."""

    table: str
    row: str
    field: str

    def associated_data(self, purpose: str, kid: str = "") -> bytes:
        # Length-prefixed parts, so no two different contexts serialize to the same bytes.
        parts = ["telepsych", str(ENVELOPE_VERSION), purpose, kid, self.table, self.row, self.field]
        return b"".join(len(p.encode()).to_bytes(2, "big") + p.encode() for p in parts)


@dataclass(frozen=True)
class Keyring:
    primary_id: str
    keys: dict[str, bytes]

    def key(self, kid: str) -> bytes:
        try:
            return self.keys[kid]
        except KeyError:
            raise DecryptionError(
                f"master key {kid!r} is not in TELEPSYCH_ENCRYPTION_KEYS; add it back to decrypt "
                "this value (or re-wrap with rotate_encryption_key before removing keys)"
            ) from None


# --- Keyring -------------------------------------------------------------------------------------

def parse_keyring(raw: str) -> Keyring:
    """Parse "kid:base64-32-bytes,kid:..." (newest first) into a keyring; clear errors."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        kid = kid.strip()
        if not sep or not kid:
            raise ImproperlyConfigured(
                "TELEPSYCH_ENCRYPTION_KEYS must be 'kid:base64key,kid:base64key' (newest first)."
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ImproperlyConfigured(
                f"TELEPSYCH_ENCRYPTION_KEYS: key {kid!r} is not valid base64."
            ) from exc
        if len(key) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"TELEPSYCH_ENCRYPTION_KEYS: key {kid!r} must be 32 bytes, not {len(key)}."
            )
        if kid in keys:
            raise ImproperlyConfigured(f"TELEPSYCH_ENCRYPTION_KEYS: key id {kid!r} appears twice.")
        keys[kid] = key
        order.append(kid)
    if not order:
        raise ImproperlyConfigured("TELEPSYCH_ENCRYPTION_KEYS holds no key.")
    return Keyring(primary_id=order[0], keys=keys)


def new_master_key_entry(kid: str) -> str:
    """A fresh keyring entry "kid:base64" (for operators and the development key file)."""
    return f"{kid}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def _development_keyring_value() -> str:
    path = settings.VAR_DIR / DEV_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process may have created the file a moment ago and still be writing it.
        for _attempt in range(50):
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.02)
        return value
    with os.fdopen(fd, "w") as handle:
        handle.write(new_master_key_entry("dev1") + "\n")
    logger.warning(
        "TELEPSYCH_ENCRYPTION_KEYS is not set: generated a development key into %s. "
        "Never use it in production; losing it makes encrypted records unreadable.", path
    )
    return path.read_text().strip()


@functools.lru_cache(maxsize=8)
def _keyring_cached(raw: str) -> Keyring:
    return parse_keyring(raw)


def keyring() -> Keyring:
    """The configured keyring, read from settings at call time (never at import)."""
    raw = (settings.TELEPSYCH_ENCRYPTION_KEYS or "").strip()
    if not raw:
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                "TELEPSYCH_ENCRYPTION_KEYS is not set; encrypted records cannot be read or written."
            )
        raw = _development_keyring_value()
    return _keyring_cached(raw)


# --- Encrypt / decrypt ---------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(envelope: dict, name: str) -> bytes:
    value = envelope.get(name)
    if not isinstance(value, str):
        raise DecryptionError(f"envelope field {name!r} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError(f"envelope field {name!r} is not valid base64") from None


def encrypt_bytes(plaintext: bytes, *, context: Context) -> dict:
    ring = keyring()
    kid = ring.primary_id
    data_key = AESGCM.generate_key(bit_length=256)
    wrap_nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(ring.key(kid)).encrypt(
        wrap_nonce, data_key, context.associated_data("wrap", kid)
    )
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, context.associated_data("data"))
    return {"v": ENVELOPE_VERSION, "kid": kid, "wk": _b64(wrap_nonce + wrapped),
            "n": _b64(nonce), "ct": _b64(ciphertext)}


def _unwrap_data_key(envelope: dict, *, context: Context, ring: Keyring) -> bytes:
    if not isinstance(envelope, dict) or envelope.get("v") != ENVELOPE_VERSION:
        raise DecryptionError("not an encryption envelope of a known version")
    kid = envelope.get("kid")
    if not isinstance(kid, str):
        raise DecryptionError("envelope has no key id")
    wrapped = _unb64(envelope, "wk")
    if len(wrapped) != NONCE_BYTES + KEY_BYTES + 16:
        raise DecryptionError("wrapped data key has the wrong length")
    try:
        return AESGCM(ring.key(kid)).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context.associated_data("wrap", kid)
        )
    except InvalidTag:
        raise DecryptionError(
            f"the data key does not unwrap under master key {kid!r} for {context.table}."
            f"{context.field} row {context.row}: wrong key, changed bytes, or moved value"
        ) from None


def decrypt_bytes(envelope: dict, *, context: Context) -> bytes:
    ring = keyring()
    data_key = _unwrap_data_key(envelope, context=context, ring=ring)
    nonce = _unb64(envelope, "n")
    if len(nonce) != NONCE_BYTES:
        raise DecryptionError("nonce has the wrong length")
    try:
        return AESGCM(data_key).decrypt(nonce, _unb64(envelope, "ct"), context.associated_data("data"))
    except InvalidTag:
        raise DecryptionError(
            f"ciphertext of {context.table}.{context.field} row {context.row} does not "
            "authenticate: changed bytes or a value moved from another row"
        ) from None


def encrypt_text(plaintext: str, *, context: Context) -> dict:
    return encrypt_bytes(plaintext.encode("utf-8"), context=context)


def decrypt_text(envelope: dict, *, context: Context) -> str:
    return decrypt_bytes(envelope, context=context).decode("utf-8")


def encrypt_json(value, *, context: Context) -> dict:
    return encrypt_bytes(json.dumps(value, separators=(",", ":")).encode("utf-8"), context=context)


def decrypt_json(envelope: dict, *, context: Context):
    return json.loads(decrypt_bytes(envelope, context=context))


def needs_rewrap(envelope: dict) -> bool:
    return isinstance(envelope, dict) and envelope.get("kid") != keyring().primary_id


def rewrap(envelope: dict, *, context: Context) -> dict:
    """The same ciphertext with its data key re-wrapped under the primary key (rotation)."""
    ring = keyring()
    data_key = _unwrap_data_key(envelope, context=context, ring=ring)
    kid = ring.primary_id
    wrap_nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(ring.key(kid)).encrypt(
        wrap_nonce, data_key, context.associated_data("wrap", kid)
    )
    return {**envelope, "kid": kid, "wk": _b64(wrap_nonce + wrapped)}


# --- Compact string form (for third-party string slots such as allauth's MFA secrets) ------------

STRING_PREFIX = "tpenc1:"


def envelope_to_string(envelope: dict) -> str:
    return STRING_PREFIX + _b64(json.dumps(envelope, separators=(",", ":")).encode())


def envelope_from_string(value: str) -> dict:
    if not isinstance(value, str) or not value.startswith(STRING_PREFIX):
        raise DecryptionError("value is not an encrypted string (missing the tpenc1: marker)")
    try:
        return json.loads(base64.b64decode(value[len(STRING_PREFIX):], validate=True))
    except (binascii.Error, ValueError):
        raise DecryptionError("encrypted string is malformed") from None


# --- Models --------------------------------------------------------------------------------------

class EnvelopeField(models.JSONField):
    """A column holding one encryption envelope (or null). Marks the column for rotation and
    verification; values are written only through `EncryptedModel.encrypt_field`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)


class EncryptedModel(models.Model):
    """Abstract base for a model with `EnvelopeField` columns. `envelope_id` is the row identity
    bound into the associated data; it exists before the first save, unlike an auto id."""

    envelope_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True

    def envelope_context(self, field_name: str) -> Context:
        return Context(table=self._meta.db_table, row=str(self.envelope_id), field=field_name)

    def encrypt_field(self, field_name: str, plaintext: str) -> None:
        setattr(self, field_name, encrypt_text(plaintext, context=self.envelope_context(field_name)))

    def decrypt_field(self, field_name: str) -> str:
        envelope = getattr(self, field_name)
        if envelope is None:
            return ""
        return decrypt_text(envelope, context=self.envelope_context(field_name))

    def encrypt_field_json(self, field_name: str, value) -> None:
        setattr(self, field_name, encrypt_json(value, context=self.envelope_context(field_name)))

    def decrypt_field_json(self, field_name: str):
        envelope = getattr(self, field_name)
        if envelope is None:
            return None
        return decrypt_json(envelope, context=self.envelope_context(field_name))


def envelope_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, EnvelopeField)]
