"""allauth stores TOTP secrets and recovery-code seeds through this adapter: encrypted with the
project's encryption service, never in plaintext."""

from allauth.mfa.adapter import DefaultMFAAdapter

from .encryption import (
    Context,
    decrypt_text,
    encrypt_text,
    envelope_from_string,
    envelope_to_string,
)

# allauth's hook has no row to bind to, so these values bind to a fixed context.
MFA_CONTEXT = Context(table="mfa_authenticator", row="-", field="secret")


def mfa_secret_encrypt(text: str) -> str:
    return envelope_to_string(encrypt_text(text, context=MFA_CONTEXT))


def mfa_secret_decrypt(value: str) -> str:
    """Raises DecryptionError for anything not written by `mfa_secret_encrypt` (plaintext
    included: migration records 0001 encrypted the rows that existed before)."""
    return decrypt_text(envelope_from_string(value), context=MFA_CONTEXT)


class MfaAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return mfa_secret_encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return mfa_secret_decrypt(encrypted_text)
