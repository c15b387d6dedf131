"""End-to-end fixtures: a real daphne process serving the test database, and Debian's
Chromium driven by Playwright with a fake camera and microphone (see ../shared/TESTING.md)."""

import email
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    port: int
    process: subprocess.Popen
    mail_dir: Path
    log_path: Path

    def emails(self) -> list[email.message.Message]:
        """Every email the server sent, oldest first (file email backend)."""
        files = sorted(self.mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime)
        messages = []
        for path in files:
            for chunk in path.read_text().split("-" * 79):
                if chunk.strip():
                    messages.append(email.message_from_string(chunk.strip()))
        return messages

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_daphne(tmp_path: Path, name: str = "daphne", extra_env: dict | None = None) -> LiveServer:
    port = free_port()
    mail_dir = tmp_path / f"{name}-mail"
    mail_dir.mkdir(parents=True, exist_ok=True)
    log_path = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "telepsych.settings.test",
        "TELEPSYCH_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(extra_env or {})
    log_file = open(log_path, "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "telepsych.asgi:application"],
        cwd=BASE_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited:\n{log_path.read_text()}")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)  # noqa: S310 - loopback only
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"daphne did not start:\n{log_path.read_text()}")
    return LiveServer(url=url, port=port, process=process, mail_dir=mail_dir, log_path=log_path)


def stop_daphne(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture
def live_daphne(transactional_db, tmp_path) -> Iterator[LiveServer]:
    """A daphne process (HTTP and websockets) on a free port, serving the test database."""
    server = start_daphne(tmp_path)
    yield server
    stop_daphne(server)
    if "Traceback" in server.log():
        print(server.log())


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def new_context(browser):
    """Factory for isolated browser contexts (one per person), closed after the test."""
    contexts = []

    def make(**kwargs):
        kwargs.setdefault("viewport", {"width": 1100, "height": 900})
        context = browser.new_context(**kwargs)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def sign_in(page, base_url: str, email_address: str, password: str, totp_secret: str | None = None):
    """Sign in through allauth's pages (in any language); staff enter their current TOTP code."""
    from accounts.totp import current_totp_code

    page.goto(base_url + "/accounts/login/")
    page.locator("#id_login").fill(email_address)
    page.locator("#id_password").fill(password)
    page.locator("form button[type=submit]").first.click()
    if totp_secret:
        page.wait_for_url("**/accounts/2fa/authenticate/")
        page.locator("input[name=code]").fill(current_totp_code(totp_secret))
        page.locator("form button[type=submit]").first.click()
    page.wait_for_url(base_url + "/")


def staff_sign_in(page, base_url: str, email_address: str) -> None:
    """A clinician or clinic admin made by tests.factories (its password and TOTP secret)."""
    from tests.factories import PASSWORD, TOTP_SECRET

    sign_in(page, base_url, email_address, PASSWORD, totp_secret=TOTP_SECRET)
