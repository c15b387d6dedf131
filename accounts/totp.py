import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

TOTP_PERIOD_SECONDS = 30


def current_totp_code(secret: str, at: float | None = None) -> str:
    """The TOTP code an authenticator app shows now (demo logins and tests)."""
    counter = int(at if at is not None else time.time()) // TOTP_PERIOD_SECONDS
    return format_hotp_value(hotp_value(secret, counter))
