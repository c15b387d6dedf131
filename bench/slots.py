"""Free-slot search over every clinician licensed in a region for 8 weeks, at 50 and at 500
clinicians: time per search, the ratio, and the query count (which must not grow).

    .venv/bin/python bench/slots.py          # PostgreSQL if reachable (throwaway DB), else SQLite
    BENCH_POSTGRES=off .venv/bin/python bench/slots.py   # force SQLite
"""

import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support.db import setup_django, throwaway_database  # noqa: E402

REPEAT = 5
APPOINTMENTS_PER_CLINICIAN = 20


def measure(fn) -> tuple[float, int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, result, queries = [], None, 0
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = fn()
            timings.append(time.perf_counter() - started)
        queries = len(captured.captured_queries)
    return statistics.median(timings), queries, result


def add_appointments(clinicians, patients, now):
    from scheduling.models import Appointment

    rows = []
    for i, clinician in enumerate(clinicians):
        patient = patients[i]
        for k in range(APPOINTMENTS_PER_CLINICIAN):
            # Spread over the 8 weeks at 02:00 UTC (09:00 in Ho Chi Minh City), two days apart.
            day = (now + timedelta(days=1 + 2 * k)).replace(hour=2, minute=0, second=0, microsecond=0)
            rows.append(Appointment(patient=patient, clinician=clinician, region=patient.patient_profile.home_region,
                                    starts_at=day, ends_at=day + timedelta(minutes=50)))
    Appointment.objects.bulk_create(rows)


def main() -> None:
    with throwaway_database("slots") as env:
        setup_django(env)
        import os

        from django.utils import timezone

        from bench.support.people import make_clinicians, make_patients, saigon
        from scheduling.selectors import all_free_slots_in_region, clinician_cards_for

        region = saigon()
        now = timezone.now()
        results = {}
        made = 0
        for size in (50, 500):
            clinicians = make_clinicians(region=region, count=size - made, start_index=made)
            patients = make_patients(region=region, count=size - made, start_index=made)
            for p in patients:
                p.patient_profile  # noqa: B018 - joined for the bulk rows below
            add_appointments(clinicians, patients, now)
            made = size
            search_s, search_q, slots = measure(lambda: all_free_slots_in_region(region=region, now=now, weeks=8))
            find_s, find_q, cards = measure(lambda: clinician_cards_for(region=region, now=now))
            results[size] = (search_s, search_q, sum(len(v) for v in slots.values()), find_s, find_q, len(cards))

        print(f"database: {os.environ['BENCH_DB_LABEL']}; {APPOINTMENTS_PER_CLINICIAN} booked appointments "
              f"per clinician; hours Mon-Fri 09-17; median of {REPEAT}")
        print(f"{'clinicians':>10} {'search 8 wk':>12} {'queries':>8} {'free slots':>11} "
              f"{'per clinician':>14} {'find page':>10} {'queries':>8}")
        for size, (search_s, search_q, n_slots, find_s, find_q, _cards) in results.items():
            print(f"{size:>10} {search_s * 1000:>10.1f}ms {search_q:>8} {n_slots:>11} "
                  f"{search_s / size * 1e6:>12.0f}us {find_s * 1000:>8.1f}ms {find_q:>8}")
        small, large = results[50], results[500]
        print(f"ratio 500/50: search {large[0] / small[0]:.1f}x, find page {large[3] / small[3]:.1f}x "
              f"(10x the clinicians); queries {small[1]} -> {large[1]} (search), {small[4]} -> {large[4]} (find)")


if __name__ == "__main__":
    main()
