"""The messaging demo seed: conversations for demo patients with a psychiatrist, idempotent."""

import io

import pytest

from accounts import demo as accounts_demo
from scheduling import demo as scheduling_demo
from sessions import demo
from sessions.chat_models import Message, Thread

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent():
    people = accounts_demo.seed()
    scheduling_demo.seed(people=people, stdout=io.StringIO())
    demo.seed(people=people, stdout=io.StringIO())
    threads = Thread.objects.count()
    messages = Message.objects.count()
    assert threads >= 1
    assert messages == 3 * threads
    first = Thread.objects.order_by("pk").first()
    assert [m.decrypt_field("body")[:20] for m in first.messages.order_by("seq")] == [
        "Hello, this is your ", "Thank you. I started", "Good to hear. Keep a"]
    demo.seed(people=people, stdout=io.StringIO())
    assert (Thread.objects.count(), Message.objects.count()) == (threads, messages)
