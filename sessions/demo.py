"""Demo data of the sessions app for `manage.py seed_demo`. Idempotent. Each feature of the app
adds its part here (secure messaging: sessions.chat_demo)."""

from . import chat_demo


def seed(*, people, stdout) -> None:
    chat_demo.seed(people=people, stdout=stdout)
