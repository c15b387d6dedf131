"""Reading settings from the environment: small typed helpers, and the production gate."""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


PRODUCTION_REQUIRED = (
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "TELEPSYCH_ENCRYPTION_KEYS",
)


def require_production_secrets() -> None:
    """Fail closed: a production start without its secrets stops and names each one missing."""
    missing = [name for name in PRODUCTION_REQUIRED if not env_str(name)]
    if missing:
        raise ImproperlyConfigured(
            "telepsych refuses to start in production (DJANGO_DEBUG is off) without: "
            + ", ".join(missing)
            + ". Set them in the environment (see .env.example), or set DJANGO_DEBUG=true "
            "for a local, embedded run."
        )
