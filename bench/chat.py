"""Benchmark: secure-message round trip (send → stored encrypted → delivered to the other side)
through daphne and the Redis channel layer, next to a bare `websockets` relay carrying frames of
the same size under the same load, in the same run.

    .venv/bin/python bench/chat.py [--threads 100,1000] [--seconds 10]

For N threads (N patients and N clinicians, 2N sockets), every patient sends a message, waits
until its clinician's socket has it, then sends the next (one message in flight per thread, a
closed loop). Printed per N: round-trip p50/p99, messages/s delivered, and errors (handshake
failures, error frames, messages sent but never delivered); then the bare relay's figures with
the same N pairs and frame size. Each chat message is one locked transaction (sequence number,
AES-GCM envelope, dedup check, crisis-rule check) plus the broadcast and an unread-count push.

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/7). Uses a throw-away database:
PostgreSQL `telepsych_bench_chat_<pid>` when postgres://postgres@127.0.0.1:5432 answers
(BENCH_POSTGRES to change, "off" for SQLite), else SQLite in a temporary directory. The daphne
process runs the production settings module (persistent connections, DEBUG off).
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.support.relay import free_port, no_delay, run_bare_relay, wait_http  # noqa: E402

SECRET_KEY = "bench-chat-secret-key-0123456789abcdef-not-for-production"  # noqa: S105 - throw-away
ENCRYPTION_KEYS = "bench1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
BODY = ("Thank you, I took the new dose this morning and slept better. "
        "Câu hỏi: tôi có nên uống thuốc sau bữa ăn không? ") * 2  # ~ 240 characters
CONNECT_CONCURRENCY = 50
GRACE_SECONDS = 30  # how long after the run a sent message may still arrive


# --- database and people ---------------------------------------------------------------------

def pg_admin_url() -> str | None:
    base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    if base in ("", "off"):
        return None
    try:
        import psycopg

        with psycopg.connect(base + "/postgres", connect_timeout=2, autocommit=True):
            return base
    except Exception:  # noqa: BLE001 - unreachable: use SQLite
        return None


def seed(count: int) -> list[tuple[int, str, str]]:
    """`count` threads with a care relationship; (thread id, patient cookie, clinician cookie)."""
    from datetime import timedelta

    from allauth.mfa.models import Authenticator
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from accounts.models import PatientProfile, Region, User
    from scheduling.models import Appointment
    from sessions.chat_models import Thread

    region, _ = Region.objects.get_or_create(code="VN-SG", defaults=dict(
        name="Ho Chi Minh City", country="VN", time_zone="Asia/Ho_Chi_Minh",
        default_language="vi", emergency_number="115"))
    patients = User.objects.bulk_create([
        User(email=f"bench-patient-{i}@example.test", role=User.Role.PATIENT, first_name="P",
             last_name=str(i)) for i in range(count)])
    clinicians = User.objects.bulk_create([
        User(email=f"bench-clinician-{i}@example.test", role=User.Role.CLINICIAN,
             first_name="C", last_name=str(i)) for i in range(count)])
    PatientProfile.objects.bulk_create([
        PatientProfile(user=p, home_region=region, time_zone="Asia/Ho_Chi_Minh",
                       preferred_language="vi") for p in patients])
    Authenticator.objects.bulk_create([
        Authenticator(user=c, type=Authenticator.Type.TOTP, data={"secret": "bench"})
        for c in clinicians])
    start = timezone.now() - timedelta(days=7)
    Appointment.objects.bulk_create([
        Appointment(patient=p, clinician=c, region=region, starts_at=start,
                    ends_at=start + timedelta(minutes=50), status=Appointment.Status.COMPLETED)
        for p, c in zip(patients, clinicians, strict=True)])
    threads = Thread.objects.bulk_create([
        Thread(patient=p, clinician=c) for p, c in zip(patients, clinicians, strict=True)])

    def cookie(user) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return f"sessionid={store.session_key}"

    return [(t.pk, cookie(p), cookie(c))
            for t, p, c in zip(threads, patients, clinicians, strict=True)]


# --- load ----------------------------------------------------------------------------------

@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    sent: int = 0
    delivered: int = 0
    handshake_errors: int = 0
    error_frames: int = 0
    duration: float = 0.0

    def line(self, label: str) -> str:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")

        late = max(0, self.sent - self.delivered)
        errors = self.handshake_errors + self.error_frames
        return (f"{label:<34} p50 {pct(50):8.1f} ms   p99 {pct(99):8.1f} ms   "
                f"{self.delivered / self.duration if self.duration else 0:8.0f} msg/s   "
                f"errors {errors} (handshakes {self.handshake_errors}, error frames "
                f"{self.error_frames}); still queued, unacknowledged, {GRACE_SECONDS} s after the "
                f"run: {late} of {self.sent}")


async def _open(url: str, headers: dict, gate: asyncio.Semaphore, expect_ready: bool):
    from websockets.asyncio.client import connect

    async with gate:
        ws = await connect(url, additional_headers=headers, open_timeout=60, max_size=2**22,
                           ping_interval=None)
        no_delay(ws)
        if expect_ready:
            ready = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
            if ready.get("type") != "chat.ready":
                raise RuntimeError(f"refused: {ready}")
        return ws


async def run_pairs(pairs: list[tuple[str, dict, str, dict]], seconds: float, chat: bool) -> Result:
    """pairs: (sender url, sender headers, receiver url, receiver headers). Closed loop."""
    result = Result()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def open_pair(pair):
        try:
            return await asyncio.gather(_open(pair[0], pair[1], gate, chat),
                                        _open(pair[2], pair[3], gate, chat))
        except Exception:  # noqa: BLE001 - counted, the pair sits out
            result.handshake_errors += 1
            return None

    sockets = [s for s in await asyncio.gather(*(open_pair(p) for p in pairs)) if s]
    stop_at = 0.0

    async def pair_loop(index: int, sender, receiver) -> None:
        delivered = asyncio.Event()
        pending: dict[str, float] = {}

        async def read_receiver():
            async for raw in receiver:
                frame = json.loads(raw)
                if chat:
                    if frame.get("type") != "chat.message":
                        if frame.get("type") == "error":
                            result.error_frames += 1
                        continue
                    key = frame["message"]["client_id"]
                else:
                    key = frame["client_id"]
                sent_at = pending.pop(key, None)
                if sent_at is not None:
                    result.latencies_ms.append((time.perf_counter() - sent_at) * 1000)
                    result.delivered += 1
                    delivered.set()

        async def drain_sender():
            async for raw in sender:
                if chat and json.loads(raw).get("type") == "error":
                    result.error_frames += 1

        readers = [asyncio.create_task(read_receiver()), asyncio.create_task(drain_sender())]
        n = 0
        try:
            while time.perf_counter() < stop_at:
                n += 1
                client_id = f"b{index:05d}-{n:07d}"
                if chat:
                    text = json.dumps({"type": "chat.send", "client_id": client_id, "body": BODY})
                else:  # the same bytes a chat.message frame carries
                    text = json.dumps({"type": "chat.message", "client_id": client_id,
                                       "message": {"seq": n, "sender": "patient",
                                                   "sender_name": "Patient", "body": BODY,
                                                   "sent_at": "2026-11-24T03:00:00+00:00"}})
                delivered.clear()
                pending[client_id] = time.perf_counter()
                await sender.send(text)
                result.sent += 1
                try:
                    await asyncio.wait_for(delivered.wait(), timeout=max(
                        1.0, stop_at + GRACE_SECONDS - time.perf_counter()))
                except TimeoutError:
                    break
        finally:
            for task in readers:
                task.cancel()

    stop_at = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(pair_loop(i, s, r) for i, (s, r) in enumerate(sockets)))
    result.duration = time.perf_counter() - started
    await asyncio.gather(*(ws.close() for pair in sockets for ws in pair),
                         return_exceptions=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", default="100,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--bare-relay", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_relay:
        run_bare_relay(args.bare_relay)
        return
    sizes = [int(n) for n in args.threads.split(",")]
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7")
    tmp = Path(tempfile.mkdtemp(prefix="telepsych-bench-chat-"))
    pg = pg_admin_url()
    db_name = f"telepsych_bench_chat_{os.getpid()}"
    if pg:
        import psycopg

        with psycopg.connect(pg + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
            conn.execute(f'CREATE DATABASE "{db_name}"')
        database_url = f"{pg}/{db_name}"
    else:
        database_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {
        "DJANGO_SETTINGS_MODULE": "telepsych.settings.default", "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": SECRET_KEY, "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "TELEPSYCH_ENCRYPTION_KEYS": ENCRYPTION_KEYS, "TELEPSYCH_CHAT_RATE_LIMIT": "100000000",
        "DJANGO_SECURE_SSL_REDIRECT": "false", "DJANGO_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connections

    from sessions.chat_models import Message

    processes = []
    try:
        call_command("migrate", verbosity=0)
        cache.clear()
        people = seed(max(sizes))
        connections.close_all()
        port = free_port()
        log = tmp / "daphne.log"
        daphne = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
             "telepsych.asgi:application"],
            cwd=BASE_DIR, env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT)
        processes.append(daphne)
        wait_http(f"http://127.0.0.1:{port}/healthz", daphne, log)
        relay_port = free_port()
        relay = subprocess.Popen([sys.executable, __file__, "--bare-relay", str(relay_port)])  # noqa: S603
        processes.append(relay)
        time.sleep(1.0)

        print(f"telepsych chat benchmark: {os.cpu_count()} CPUs, database "
              f"{'PostgreSQL' if pg else 'SQLite'}, channel layer RedisPubSubChannelLayer, "
              f"{args.seconds:.0f} s per run, one message in flight per thread, "
              f"{len(BODY)}-character messages")
        origin = f"http://127.0.0.1:{port}"
        for n in sizes:
            chat_pairs = [
                (f"ws://127.0.0.1:{port}/ws/messages/{thread_id}/",
                 {"Cookie": patient, "Origin": origin},
                 f"ws://127.0.0.1:{port}/ws/messages/{thread_id}/",
                 {"Cookie": clinician, "Origin": origin})
                for thread_id, patient, clinician in people[:n]]
            stored_before = Message.objects.count()
            chat = asyncio.run(run_pairs(chat_pairs, args.seconds, chat=True))
            time.sleep(1.0)
            stored = Message.objects.count() - stored_before
            connections.close_all()
            bare_pairs = [(f"ws://127.0.0.1:{relay_port}/room{i}", {},
                           f"ws://127.0.0.1:{relay_port}/room{i}", {}) for i in range(n)]
            bare = asyncio.run(run_pairs(bare_pairs, args.seconds, chat=False))
            print(f"\n{n} concurrent threads ({2 * n} sockets)")
            print(chat.line("  chat via daphne + Redis layer"))
            print(f"  {'':<34} stored (encrypted, sequenced) during the run: {stored} of "
                  f"{chat.sent} sent; every stored message is replayed to a client that missed it")
            print(bare.line("  bare websockets relay (baseline)"))
            if bare.latencies_ms and chat.latencies_ms:
                print(f"  chat p50 / relay p50: {statistics.median(chat.latencies_ms) / statistics.median(bare.latencies_ms):.0f}x")
        if "Traceback" in log.read_text():
            print("\ndaphne logged a traceback:\n" + log.read_text()[-3000:])
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if pg:
            import psycopg

            connections.close_all()
            with psycopg.connect(pg + "/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
