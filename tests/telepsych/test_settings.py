"""The production gate and `check --deploy`, run as real processes with a controlled env."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

REQUIRED = ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
            "TELEPSYCH_ENCRYPTION_KEYS"]
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "k7#Qz!p2Lw9@xV4s$Rt6&Ny8*Mb3^Hc5(Jd1)Fg0-Ue7=Ia2+Ko4~Pl6",
    "DJANGO_ALLOWED_HOSTS": "telepsych.example.org",
    "DATABASE_URL": "postgres://telepsych:secret@127.0.0.1:5432/telepsych",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "TELEPSYCH_ENCRYPTION_KEYS": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in REQUIRED and not k.startswith(("DJANGO_", "TELEPSYCH_"))}
    base["DJANGO_SETTINGS_MODULE"] = "telepsych.settings.default"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env={**base, **env},
        capture_output=True, text=True, timeout=60,
    )


def test_production_start_without_secrets_is_refused_naming_each():
    result = run_manage("check", env={})
    assert result.returncode != 0
    assert "telepsych refuses to start in production" in result.stderr
    for name in REQUIRED:
        assert name in result.stderr


def test_production_start_names_only_what_is_missing():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "TELEPSYCH_ENCRYPTION_KEYS"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "without: TELEPSYCH_ENCRYPTION_KEYS." in result.stderr


def test_check_deploy_passes_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_debug_mode_uses_the_embedded_defaults(tmp_path):
    code = ("from django.conf import settings as s;"
            "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['OPTIONS'],"
            " s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND)")
    result = run_manage("shell", "-c", code,
                        env={"DJANGO_DEBUG": "true", "TELEPSYCH_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "django.db.backends.sqlite3", "{'transaction_mode':", "'IMMEDIATE',", "'timeout':", "20}",
        "channels.layers.InMemoryChannelLayer", "True",
        "django.core.mail.backends.console.EmailBackend",
    ]


def test_a_malformed_boolean_is_refused():
    result = run_manage("check", env={"DJANGO_DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false, not 'maybe'." in result.stderr


@pytest.mark.django_db
def test_security_headers_and_csp(client):
    response = client.get("/help/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
