"""Booking over HTTP against a real daphne process, beside a trivial view on the same server in
the same run; then 200 clients racing for one slot.

    .venv/bin/python bench/booking.py        # PostgreSQL if reachable (throwaway DB), else SQLite
    BENCH_POSTGRES=off .venv/bin/python bench/booking.py
"""

import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import time as clock
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support.db import setup_django, throwaway_database  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
TRIVIAL_SECONDS = 5.0
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "1500"))
CONTENDERS = 200
CLINICIANS = 40
CSRF = secrets.token_hex(16)  # 32 characters: Django accepts the unmasked secret in the header


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"bench-booking-daphne-{os.getpid()}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "telepsych.asgi:application"],
        cwd=ROOT, env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "bench.support.booking_site"},
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/trivial")
            if conn.getresponse().status == 200:
                return process, port, log
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(log.read_text())


def session_cookie(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}; csrftoken={CSRF}"


def post_booking(conn, cookie: str, clinician_id: int, start: int) -> int:
    body = urlencode({"start": start})
    conn.request("POST", f"/scheduling/clinicians/{clinician_id}/book/", body=body, headers={
        "Cookie": cookie, "X-CSRFToken": CSRF, "Content-Type": "application/x-www-form-urlencoded",
    })
    response = conn.getresponse()
    response.read()
    return response.status


def run_clients(port: int, work, *, clients: int) -> tuple[float, list[float], Counter]:
    """`work(conn)` returns a status or None when there is nothing left. Returns wall time,
    latencies and status counts."""
    latencies, statuses, lock = [], Counter(), threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for attempt in range(20):  # connect before any barrier, so the burst is of requests
            try:
                conn.connect()
                break
            except OSError:
                time.sleep(0.05 * (attempt + 1))
        mine, counts = [], Counter()
        while True:
            started = time.perf_counter()
            try:
                status = work(conn)
            except OSError as error:  # counted, never hidden
                status = type(error).__name__
                conn.close()
            if status is None:
                break
            mine.append(time.perf_counter() - started)
            counts[status] += 1
        with lock:
            latencies.extend(mine)
            statuses.update(counts)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else 0.0


def main() -> None:
    with throwaway_database("booking") as env:
        setup_django(env)
        from django.db import connection
        from django.utils import timezone

        from bench.support.people import make_clinicians, make_patients, saigon
        from scheduling.models import Appointment
        from scheduling.selectors import free_slots_for

        region = saigon()
        clinicians = make_clinicians(region=region, count=CLINICIANS, weekdays=range(7),
                                     hours=((clock(8), clock(20)),))
        patients = make_patients(region=region, count=CLINICIANS)
        now = timezone.now()
        # Work: clinician i's free slots, booked by patient i in time order, round-robin over clinicians.
        per_clinician = []
        for clinician in clinicians:
            slots = free_slots_for(clinician=clinician, region=region, start=now, end=now + timedelta(days=30), now=now)
            per_clinician.append([int(s.starts_at.timestamp()) for s in slots])
        cookies = [session_cookie(p) for p in patients]
        tasks = []
        for k in range(max(len(s) for s in per_clinician)):
            for i, slots in enumerate(per_clinician):
                if k < len(slots):
                    tasks.append((cookies[i], clinicians[i].pk, slots[k]))
        tasks = tasks[:BOOKINGS]
        # Contention: 200 patients, one slot of a clinician nobody else books.
        target = make_clinicians(region=region, count=1, start_index=CLINICIANS, weekdays=range(7),
                                 hours=((clock(8), clock(20)),))[0]
        contested = int(free_slots_for(clinician=target, region=region, start=now, end=now + timedelta(days=7),
                                       now=now)[0].starts_at.timestamp())
        contenders = [session_cookie(p) for p in make_patients(region=region, count=CONTENDERS,
                                                                start_index=CLINICIANS)]
        connection.close()

        process, port, log = start_server(env)
        try:
            # Warm up both paths (imports, template caches, connections).
            warm = http.client.HTTPConnection("127.0.0.1", port)
            for _ in range(20):
                warm.request("GET", "/bench/trivial")
                warm.getresponse().read()
            warm.close()

            deadline = time.perf_counter() + TRIVIAL_SECONDS

            def trivial(conn):
                if time.perf_counter() > deadline:
                    return None
                conn.request("GET", "/bench/trivial")
                response = conn.getresponse()
                response.read()
                return response.status

            t_wall, t_lat, t_status = run_clients(port, trivial, clients=CLIENTS)

            queue, queue_lock = list(reversed(tasks)), threading.Lock()

            def booking(conn):
                with queue_lock:
                    if not queue:
                        return None
                    cookie, clinician_id, start = queue.pop()
                return post_booking(conn, cookie, clinician_id, start)

            b_wall, b_lat, b_status = run_clients(port, booking, clients=CLIENTS)

            barrier = threading.Barrier(CONTENDERS)
            remaining = list(contenders)
            take_lock = threading.Lock()

            def contend(conn):
                with take_lock:
                    if not remaining:
                        return None
                    cookie = remaining.pop()
                barrier.wait(timeout=60)
                status = post_booking(conn, cookie, target.pk, contested)
                return status

            def contend_once():
                # Each contender thread makes exactly one request.
                done = threading.local()

                def work(conn):
                    if getattr(done, "yes", False):
                        return None
                    done.yes = True
                    return contend(conn)
                return work

            c_wall, c_lat, c_status = run_clients(port, contend_once(), clients=CONTENDERS)
        finally:
            process.terminate()
            process.wait(timeout=10)

        with connection.cursor() as cursor:
            cursor.execute("""SELECT count(*) FROM scheduling_appointment a JOIN scheduling_appointment b
                ON a.id < b.id AND a.clinician_id = b.clinician_id AND a.status <> 'cancelled'
                AND b.status <> 'cancelled' AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at""")
            overlaps = cursor.fetchone()[0]
        booked = Appointment.objects.filter(clinician__in=clinicians).count()
        contested_rows = Appointment.objects.filter(clinician=target).count()
        errors = "Traceback" in log.read_text()

        print(f"database: {os.environ['BENCH_DB_LABEL']}; one daphne process; {CLIENTS} keep-alive clients")
        print(f"trivial view (GET, anonymous, full middleware): {len(t_lat) / t_wall:8.0f} req/s  "
              f"p50 {pct(t_lat, 50):6.1f} ms  p99 {pct(t_lat, 99):6.1f} ms  statuses {dict(t_status)}")
        print(f"booking (POST, signed in, re-check + insert): {len(b_lat) / b_wall:8.0f} req/s  "
              f"p50 {pct(b_lat, 50):6.1f} ms  p99 {pct(b_lat, 99):6.1f} ms  statuses {dict(b_status)}")
        print(f"booking / trivial throughput: {(len(b_lat) / b_wall) / (len(t_lat) / t_wall):.2f}; "
              f"{booked} appointments written for {len(tasks)} requests")
        print(f"contention: {CONTENDERS} clients, one slot: statuses {dict(c_status)} "
              f"(302 booked, 409 'just taken'); rows for the slot: {contested_rows}; "
              f"all answered in {c_wall:.2f} s, p99 {pct(c_lat, 99):.0f} ms")
        print(f"overlapping active appointments (SQL check): {overlaps}; server tracebacks: {'yes' if errors else 'none'}")


if __name__ == "__main__":
    main()
