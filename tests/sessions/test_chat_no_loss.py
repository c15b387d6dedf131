"""No loss, no duplicates: 2,000 messages across 20 threads through a real daphne process on the
Redis channel layer, while clients randomly drop and reopen their sockets and re-send every
message not yet acknowledged. In the end every thread holds exactly the sent messages, in each
sender's order, once each, and every client has seen exactly that history (live or replayed)."""

import asyncio
import random
import time
from dataclasses import dataclass, field

import pytest
import websockets
from django.test import Client

from sessions.chat_models import Message, Thread
from tests.e2e.conftest import start_daphne, stop_daphne
from tests.sessions.chat_factories import make_thread

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

THREADS = 20
PER_SENDER = 50  # two senders a thread: 100 messages a thread, 2,000 in all
WINDOW = 5  # messages in flight before waiting for acks
DROP_CHANCE = 0.04  # after each send, the chance the client kills its socket


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@dataclass
class ChatClient:
    """A client as chat.js behaves: client ids, pending until acked, resend after reconnect,
    contiguous sequence with replay on a gap."""

    url: str
    origin: str
    cookie: str
    name: str
    bodies: list[str]
    rng: random.Random
    acked: dict[str, int] = field(default_factory=dict)
    history: dict[int, str] = field(default_factory=dict)  # seq -> client id
    last_seq: int = 0
    reconnects: int = 0
    duplicates: int = 0

    def client_id(self, index: int) -> str:
        return f"{self.name}-{index:05d}"

    async def _open(self):
        socket = await websockets.connect(
            self.url, additional_headers={"Cookie": self.cookie, "Origin": self.origin},
            open_timeout=20, max_size=2**22,
        )
        ready = await self._next(socket)
        assert ready["type"] == "chat.ready", ready
        return socket

    async def _next(self, socket) -> dict:
        import json

        return json.loads(await asyncio.wait_for(socket.recv(), timeout=30))

    def _take(self, frame: dict) -> bool:
        """Apply a frame; False when a sequence was skipped (ask for a replay)."""
        if frame["type"] == "chat.ack":
            if frame["duplicate"]:
                self.duplicates += 1
            self.acked[frame["client_id"]] = frame["seq"]
            return True  # the broadcast may trail the ack; a gap in messages asks for replay
        messages = []
        if frame["type"] == "chat.message":
            messages = [frame["message"]]
        elif frame["type"] == "chat.history":
            messages = frame["messages"]
        elif frame["type"] == "error":
            raise AssertionError(f"{self.name}: {frame}")
        for message in messages:
            if message["seq"] <= self.last_seq:
                continue
            if message["seq"] != self.last_seq + 1:
                return False
            self.history[message["seq"]] = message["client_id"]
            self.last_seq = message["seq"]
        return not (frame["type"] == "chat.history" and frame["more"])

    async def run(self) -> None:
        import json

        next_index = 0
        socket = await self._open()
        await socket.send(json.dumps({"type": "chat.sync", "after": self.last_seq}))
        while len(self.acked) < len(self.bodies):
            try:
                unacked = [i for i in range(next_index) if self.client_id(i) not in self.acked]
                while len(unacked) < WINDOW and next_index < len(self.bodies):
                    unacked.append(next_index)
                    await socket.send(json.dumps({
                        "type": "chat.send", "client_id": self.client_id(next_index),
                        "body": self.bodies[next_index]}))
                    next_index += 1
                    if self.rng.random() < DROP_CHANCE:
                        raise ConnectionResetError("simulated drop")
                frame = await self._next(socket)
                if not self._take(frame):
                    await socket.send(json.dumps({"type": "chat.sync", "after": self.last_seq}))
            except (ConnectionResetError, websockets.ConnectionClosed):
                # Kill the socket without a goodbye, then come back and resend what is unacked.
                socket.transport.abort()
                self.reconnects += 1
                await asyncio.sleep(self.rng.uniform(0, 0.05))
                socket = await self._open()
                await socket.send(json.dumps({"type": "chat.sync", "after": self.last_seq}))
                for i in range(next_index):
                    if self.client_id(i) not in self.acked:
                        await socket.send(json.dumps({
                            "type": "chat.send", "client_id": self.client_id(i),
                            "body": self.bodies[i]}))
        await socket.close()

    async def catch_up(self, total: int) -> None:
        """After everyone is done: replay until this client has the whole thread."""
        import json

        socket = await self._open()
        while self.last_seq < total:
            await socket.send(json.dumps({"type": "chat.sync", "after": self.last_seq}))
            while True:
                frame = await self._next(socket)
                if frame["type"] == "chat.history":
                    self._take(frame)
                    break
        await socket.close()


def test_two_thousand_messages_no_loss_no_duplicates(tmp_path):
    threads = [make_thread() for _ in range(THREADS)]
    server = start_daphne(tmp_path, "chat-no-loss", {
        "TELEPSYCH_CHAT_RATE_LIMIT": "100000",
        "TELEPSYCH_REDIS_MAX_CONNECTIONS": "500",
    })
    rng = random.Random(20261124)
    clients: list[tuple[Thread, ChatClient]] = []
    host = server.url.removeprefix("http://")
    try:
        for n, thread in enumerate(threads):
            for role, user in (("p", thread.patient), ("c", thread.clinician)):
                name = f"t{n:02d}{role}"
                clients.append((thread, ChatClient(
                    url=f"ws://{host}/ws/messages/{thread.pk}/", origin=server.url,
                    cookie=session_cookie(user), name=name,
                    bodies=[f"{name} message {i} <b>&amp;</b> ✓" for i in range(PER_SENDER)],
                    rng=random.Random(rng.random()),
                )))

        async def everyone() -> None:
            await asyncio.gather(*(client.run() for _, client in clients))
            await asyncio.gather(*(client.catch_up(2 * PER_SENDER) for _, client in clients))

        started = time.monotonic()
        asyncio.run(everyone())
        elapsed = time.monotonic() - started
    finally:
        stop_daphne(server)
    log = server.log()
    # Our code never failed. (channels_redis may log a cancelled unsubscribe while daphne
    # tears down the consumers of sockets the clients dropped: its cleanup, not a lost message.)
    assert "Exception inside application" not in log, log[-3000:]
    assert "/work/main/sessions/" not in log and "sessions/chat_" not in log, log[-3000:]

    reconnects = sum(client.reconnects for _, client in clients)
    print(f"2,000 messages, {reconnects} reconnects, "
          f"{sum(c.duplicates for _, c in clients)} duplicate acks, {elapsed:.1f}s")
    assert reconnects > 20  # the test did exercise reconnects
    assert Message.objects.count() == THREADS * 2 * PER_SENDER
    for thread in threads:
        rows = list(Message.objects.filter(thread=thread).order_by("seq"))
        assert [row.seq for row in rows] == list(range(1, 2 * PER_SENDER + 1))
        by_sender: dict[int, list[str]] = {}
        for row in rows:
            by_sender.setdefault(row.sender_id, []).append(row.decrypt_field("body"))
        thread_clients = [c for t, c in clients if t.pk == thread.pk]
        for client in thread_clients:
            user_id = thread.patient_id if client.name.endswith("p") else thread.clinician_id
            # Exactly the sent messages, once each, in the order the sender wrote them.
            assert by_sender[user_id] == client.bodies
            # Every acknowledgement names the message's real sequence.
            stored = {row.client_id: row.seq for row in rows if row.sender_id == user_id}
            assert client.acked == stored
            # Every client saw the whole thread, in order, once (live or replayed).
            assert client.history == {row.seq: row.client_id for row in rows}
        thread.refresh_from_db()
        assert thread.last_seq == 2 * PER_SENDER


def test_chat_crosses_two_daphne_processes(tmp_path):
    """The patient on one server process, the clinician on another: each message reaches the
    other side live through the Redis layer, in order."""
    import json

    thread = make_thread()
    cookies = {user.pk: session_cookie(user) for user in (thread.patient, thread.clinician)}
    first = start_daphne(tmp_path, "chat-a")
    second = start_daphne(tmp_path, "chat-b")

    async def talk() -> list[int]:
        async def open_on(server, user):
            host = server.url.removeprefix("http://")
            ws = await websockets.connect(
                f"ws://{host}/ws/messages/{thread.pk}/",
                additional_headers={"Cookie": cookies[user.pk], "Origin": server.url})
            assert json.loads(await ws.recv())["type"] == "chat.ready"
            return ws

        patient = await open_on(first, thread.patient)
        clinician = await open_on(second, thread.clinician)
        seen = []
        for i in range(20):
            await patient.send(json.dumps({"type": "chat.send", "client_id": f"cross-{i:04d}",
                                           "body": f"across {i}"}))
            while True:
                frame = json.loads(await asyncio.wait_for(clinician.recv(), timeout=10))
                if frame["type"] == "chat.message":
                    seen.append(frame["message"]["seq"])
                    break
        await patient.close()
        await clinician.close()
        return seen

    try:
        seen = asyncio.run(talk())
    finally:
        stop_daphne(first)
        stop_daphne(second)
    assert seen == list(range(1, 21))
    assert Message.objects.filter(thread=thread).count() == 20
