"""Benchmark: call signaling through daphne + the Redis channel layer, against a bare relay
written with the `websockets` library, under the same load in the same run; then the median
time from "Admit" to both browsers connected over real calls.

    .venv/bin/python bench/signaling.py [--rooms 50,250,1000] [--total-rate 500] [--seconds 8]
                                        [--calls 10] [--no-layer-only]

N rooms × 2 websocket peers; together they offer `total-rate` timestamped ~280-byte `ice`
frames a second (spread evenly over the peers) for `seconds`; the other peer of each room
records the relay latency. The load client is one Python process: at high N it is itself a
limit, which the bare relay's figures show. Printed per N:
p50/p95/p99 latency, messages/s delivered, errors (failed handshakes, error frames, frames
lost), and the ratio of p99 to the bare relay's. "fast path" is the default configuration (a
frame to a peer in the same process skips the layer); "layer only" sets
TELEPSYCH_SIGNAL_FAST_PATH=false so every frame crosses Redis, as between two processes.

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/5) and, for the browser part,
/usr/bin/chromium. Uses a throw-away database: PostgreSQL `telepsych_bench_signaling` when
DATABASE_URL is set (recommended: joins and leaves are recorded, and SQLite serializes those
writes across processes), else SQLite in a temporary directory.
"""

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.support.relay import free_port, no_delay, run_bare_relay, wait_http  # noqa: E402

CANDIDATE = ("candidate:842163049 1 udp 1677729535 203.0.113.17 61764 typ srflx raddr "
             "192.168.1.20 rport 61764 generation 0 ufrag Ab3d network-id 1 network-cost 10")
# The timestamp rides in "pc" (the peer-connection id field), so the frame stays valid.
FRAME = ('{"type": "ice", "pc": "t%d", "candidate": {"candidate": "' + CANDIDATE
         + '", "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "Ab3d"}}')


VERBOSE = os.environ.get("BENCH_VERBOSE") == "1"
WARMUP_SECONDS = 1.0  # latencies of frames sent in the first second are not counted (both relays)
STAMP = re.compile(r'"pc": "t(\d+)"')


# --- load -----------------------------------------------------------------------------------

@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    sent: int = 0
    received: int = 0
    handshake_errors: int = 0
    reasons: dict = field(default_factory=lambda: defaultdict(int))
    timeline: list = field(default_factory=list)

    def per_second(self) -> str:
        """p99 by the second in which frames were sent (shows stalls)."""
        if not self.timeline:
            return ""
        first = min(t for t, _ in self.timeline)
        buckets = defaultdict(list)
        for sent, latency in self.timeline:
            buckets[int((sent - first) / 1e9)].append(latency)
        return " ".join(f"{second}s:{sorted(v)[int(0.99 * (len(v) - 1))]:.0f}"
                        for second, v in sorted(buckets.items()))
    error_frames: int = 0
    duration: float = 0.0

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms)

        def pct(p):
            return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")

        lost = max(0, self.sent - self.received)
        return {"p50": pct(50), "p95": pct(95), "p99": pct(99),
                "rate": self.received / self.duration if self.duration else 0,
                "errors": self.handshake_errors + self.error_frames + lost,
                "handshake_errors": self.handshake_errors, "error_frames": self.error_frames,
                "lost": lost, "sent": self.sent, "reasons": dict(self.reasons),
                "timeline": self.per_second()}


async def run_load(urls: list[tuple[str, str]], headers: list[dict], origin: str | None,
                   rate: float, seconds: float, hello: bool, warmup: float = 1.0) -> Result:
    """urls: one (peer A url, peer B url) per room; headers: per peer (A, B alternating)."""
    from websockets.asyncio.client import connect

    result = Result()
    sockets: list = []
    semaphore = asyncio.Semaphore(20)  # a ramp of joins, not one instant burst

    async def open_one(url, extra):
        async with semaphore:
            try:
                kwargs = {"additional_headers": extra, "max_size": 2**16, "ping_interval": None,
                          "open_timeout": 60}
                if origin:
                    kwargs["origin"] = origin
                ws = await connect(url, **kwargs)
                no_delay(ws)
                return ws
            except Exception as error:  # noqa: BLE001 - counted
                result.handshake_errors += 1
                result.reasons[f"connect: {type(error).__name__} {str(error)[:60]}"] += 1
                return None

    flat = [(url, headers[i]) for i, url in enumerate(u for pair in urls for u in pair)]
    sockets = await asyncio.gather(*(open_one(url, extra) for url, extra in flat))

    async def wait_hello(ws):
        """daphne answers a connect with a "session" frame once its database work is done."""
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=120))
                if frame.get("type") == "session":
                    return
        except (TimeoutError, Exception) as error:  # noqa: BLE001
            result.handshake_errors += 1
            result.reasons[f"hello: {type(error).__name__} {str(error)[:60]}"] += 1

    if hello:
        await asyncio.gather(*(wait_hello(ws) for ws in sockets if ws is not None))
    await asyncio.sleep(0.5)  # presence frames pass

    async def drain(ws):
        try:
            while True:
                await asyncio.wait_for(ws.recv(), timeout=0.05)
        except (TimeoutError, Exception):  # noqa: BLE001
            return

    await asyncio.gather(*(drain(ws) for ws in sockets if ws is not None))

    loop = asyncio.get_running_loop()
    stop_at = None

    async def sender(ws):
        interval = 1.0 / rate
        start = loop.time() + random.random() * interval
        for i in range(max(1, round(seconds * rate))):
            delay = start + i * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await ws.send(FRAME % time.perf_counter_ns())
            except Exception:  # noqa: BLE001 - the peer went away: counted as lost
                return
            result.sent += 1

    async def receiver(ws):
        try:
            while True:
                remaining = stop_at - loop.time()
                if remaining <= 0:
                    return
                message = await asyncio.wait_for(ws.recv(), timeout=remaining)
                now = time.perf_counter_ns()
                stamp = STAMP.search(message)  # cheaper than json.loads: the client is busy too
                if stamp:
                    sent_ns = int(stamp.group(1))
                    result.received += 1
                    if sent_ns >= measure_from_ns:  # frames of the warm-up are only counted
                        result.latencies_ms.append((now - sent_ns) / 1e6)
                        result.timeline.append((sent_ns, (now - sent_ns) / 1e6))
                elif '"type": "error"' in message:
                    result.error_frames += 1
        except (TimeoutError, Exception):  # noqa: BLE001 - end of the run or a closed socket
            return

    live = [(a, b) for a, b in zip(sockets[0::2], sockets[1::2], strict=True)
            if a is not None and b is not None]
    began = loop.time()
    measure_from_ns = time.perf_counter_ns() + int(warmup * 1e9)
    stop_at = began + seconds + 3.0
    tasks = []
    for a, b in live:
        tasks += [sender(a), sender(b), receiver(a), receiver(b)]
    await asyncio.gather(*tasks)
    result.duration = seconds
    await asyncio.gather(*(ws.close() for ws in sockets if ws is not None),
                         return_exceptions=True)
    return result


# --- daphne, its database and the rooms ------------------------------------------------------

def prepare_database(tmp: Path, rooms: int, calls: int) -> dict:
    import django

    django.setup()
    from allauth.mfa.models import Authenticator
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import License, User
    from scheduling.models import Appointment
    from sessions.models import VideoSession
    from tests.factories import make_region

    call_command("migrate", verbosity=0)
    region = make_region("VN-SG")
    now = timezone.now()
    total = rooms + calls
    unusable = make_password(None)
    patients = User.objects.bulk_create(
        [User(email=f"bench-p{i}@example.test", role=User.Role.PATIENT, first_name="Pat",
              last_name=f"B{i}", password=unusable) for i in range(total)])
    clinicians = User.objects.bulk_create(
        [User(email=f"bench-c{i}@example.test", role=User.Role.CLINICIAN, first_name="Doc",
              last_name=f"B{i}", password=unusable) for i in range(total)])
    Authenticator.objects.bulk_create(
        [Authenticator(user=c, type=Authenticator.Type.TOTP, data={}) for c in clinicians])
    License.objects.bulk_create(
        [License(clinician=c, region=region, number=f"B-{c.pk}", status=License.Status.VERIFIED,
                 valid_from=now.date() - timezone.timedelta(days=1),
                 valid_until=now.date() + timezone.timedelta(days=30), verified_at=now)
         for c in clinicians])
    appointments = Appointment.objects.bulk_create(
        [Appointment(patient=p, clinician=c, region=region, starts_at=now,
                     ends_at=now + timezone.timedelta(hours=2))
         for p, c in zip(patients, clinicians, strict=True)])
    sessions = VideoSession.objects.bulk_create(
        [VideoSession(appointment=a, state="live" if i < rooms else "scheduled",
                      started_at=now if i < rooms else None, location_region=region,
                      location_address="bench", callback_phone="+84 900 000 000",
                      location_confirmed_at=now)
         for i, a in enumerate(appointments)])

    def cookie_for(user) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key

    room_list = []
    for session, patient, clinician in zip(sessions, patients, clinicians, strict=True):
        room_list.append({"session": str(session.pk), "appointment": session.appointment_id,
                          "patient": cookie_for(patient), "clinician": cookie_for(clinician)})
    return {"rooms": room_list[:rooms], "calls": room_list[rooms:]}


def recreate_postgres_database(database_url: str) -> str:
    import psycopg

    name = "telepsych_bench_signaling"
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return name


def start_daphne(tmp: Path, env: dict, name: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = tmp / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "telepsych.asgi:application"],
        cwd=BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    url = f"127.0.0.1:{port}"
    wait_http(f"http://{url}/healthz", process, log)
    return process, url


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def daphne_load(host: str, rooms: list[dict], rate: float, seconds: float) -> Result:
    urls = [(f"ws://{host}/ws/sessions/{r['session']}/",) * 2 for r in rooms]
    headers = []
    for room in rooms:
        headers.append({"Cookie": f"sessionid={room['patient']}"})
        headers.append({"Cookie": f"sessionid={room['clinician']}"})
    return asyncio.run(run_load(urls, headers, f"http://{host}", rate, seconds, hello=True,
                                warmup=WARMUP_SECONDS))


def bare_load(host: str, n: int, rate: float, seconds: float) -> Result:
    urls = [(f"ws://{host}/room/{i}",) * 2 for i in range(n)]
    return asyncio.run(run_load(urls, [{}] * (2 * n), None, rate, seconds, hello=False,
                                warmup=WARMUP_SECONDS))


# --- admit to both connected, in real browsers ----------------------------------------------

CONNECTED = """() => { const c = window.telepsychCall;
  return c && c.pc && c.pc.connectionState === "connected" && c.connectedAt
    ? performance.timeOrigin + c.connectedAt : null; }"""


def browser_calls(host: str, calls: list[dict]) -> list[float]:
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            "--allow-loopback-in-peer-connection"]
    base = f"http://{host}"
    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        for call in calls:
            pages = {}
            for role in ("patient", "clinician"):
                context = browser.new_context()
                context.add_cookies([{"name": "sessionid", "value": call[role],
                                      "url": base}])
                pages[role] = context.new_page()
            pages["patient"].goto(f"{base}/visits/{call['appointment']}/")
            waiting = "() => window.telepsychCall?.serverState === 'waiting'"
            pages["patient"].wait_for_function(waiting)
            doctor = pages["clinician"]
            doctor.goto(f"{base}/visits/{call['appointment']}/")
            doctor.wait_for_function(waiting)
            started = time.time() * 1000
            doctor.locator("#admit-button").click()
            ends = []
            for page in (pages["patient"], doctor):
                handle = page.wait_for_function(CONNECTED, timeout=30_000)
                ends.append(handle.json_value())
            timings.append(max(ends) - started)
            for page in pages.values():
                page.context.close()
        browser.close()
    return timings


# --- main -----------------------------------------------------------------------------------

def fmt(summary: dict) -> str:
    return (f"p50 {summary['p50']:7.2f} ms  p95 {summary['p95']:7.2f} ms  "
            f"p99 {summary['p99']:7.2f} ms  {summary['rate']:8.0f} msg/s  "
            f"errors {summary['errors']} (handshake {summary['handshake_errors']}, "
            f"error frames {summary['error_frames']}, lost {summary['lost']} of "
            f"{summary['sent']})" + (f"\n        p99 by second: {summary['timeline']}"
                                     if VERBOSE else "") + (f"\n        {summary['reasons']}" if summary["reasons"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", default="50,250,1000")
    parser.add_argument("--total-rate", type=float, default=500.0,
                        help="frames per second offered across all peers (spread evenly)")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--calls", type=int, default=10, help="browser calls (0 to skip)")
    parser.add_argument("--no-layer-only", action="store_true",
                        help="skip the run with the same-process fast path turned off")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--bare-relay", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_relay:
        run_bare_relay(args.bare_relay)
        return

    counts = [int(n) for n in args.rooms.split(",")]
    calls = args.calls if shutil.which("chromium") or Path("/usr/bin/chromium").exists() else 0
    tmp = Path(tempfile.mkdtemp(prefix="telepsych-bench-"))
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.signaling_settings",
           "TELEPSYCH_TEST_DATABASE_NAME": str(tmp / "bench.sqlite3"),
           "TELEPSYCH_VAR_DIR": str(tmp), "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1",
           "DJANGO_LOG_LEVEL": "WARNING"}
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        env["TELEPSYCH_TEST_DATABASE_NAME"] = recreate_postgres_database(database_url)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE",
                                           "TELEPSYCH_TEST_DATABASE_NAME", "TELEPSYCH_VAR_DIR",
                                           "REDIS_URL", "DJANGO_LOG_LEVEL")})
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop beside the ORM here

    print(f"== preparing {max(counts)} rooms and {calls} browser calls in {tmp}", flush=True)
    data = prepare_database(tmp, max(counts), calls)
    processes = []
    try:
        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, __file__, "--bare-relay", str(bare_port)],
                                cwd=BASE_DIR)
        processes.append(bare)
        time.sleep(1.0)
        layer_env = {**env, "TELEPSYCH_SIGNAL_FAST_PATH": "false"}

        def measure(name: str, server_env: dict, rooms: list[dict], rate: float) -> dict:
            """A fresh daphne per measurement: no run inherits another's cleanup work."""
            process, host = start_daphne(tmp, server_env, name)
            processes.append(process)
            try:
                return daphne_load(host, rooms, rate, args.seconds).summary()
            finally:
                stop(process)

        print(f"== signaling relay: N rooms x 2 peers, {args.total_rate:g} frames/s offered in "
              f"total for {args.seconds:g} s (latency from second {WARMUP_SECONDS:g} on), "
              f"{len(FRAME % time.perf_counter_ns())}-byte "
              f"frames; Redis {redis_url} (RedisPubSubChannelLayer)", flush=True)
        for n in counts:
            rooms = data["rooms"][:n]
            rate = args.total_rate / (2 * n)
            baseline = bare_load(f"127.0.0.1:{bare_port}", n, rate, args.seconds).summary()
            print(f"N={n:5d} bare websockets relay     {fmt(baseline)}", flush=True)
            measured = measure(f"daphne-fast-{n}", env, rooms, rate)
            print(f"N={n:5d} daphne+redis, fast path  {fmt(measured)}  "
                  f"p99 ratio {measured['p99'] / baseline['p99']:.2f}x", flush=True)
            if not args.no_layer_only:
                layer_summary = measure(f"daphne-layer-{n}", layer_env, rooms, rate)
                print(f"N={n:5d} daphne+redis, layer only {fmt(layer_summary)}  "
                      f"p99 ratio {layer_summary['p99'] / baseline['p99']:.2f}x", flush=True)
        if calls:
            fast, fast_host = start_daphne(tmp, env, "daphne-browser")
            processes.append(fast)
            timings = browser_calls(fast_host, data["calls"])
            print(f"== admit to both peers connected, {len(timings)} browser calls: median "
                  f"{statistics.median(timings):.0f} ms (min {min(timings):.0f}, max "
                  f"{max(timings):.0f})", flush=True)
        else:
            print("== browser calls skipped: no /usr/bin/chromium")
    finally:
        for process in processes:
            stop(process)
        for log in tmp.glob("daphne-*.log"):
            text = log.read_text(errors="replace")
            # Cancelled receive tasks of channels_redis at shutdown are noise, not failures.
            if text.count("Traceback") > text.count("CancelledError"):
                print(f"== {log.name} (tail)\n{text[-3000:]}")
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
