"""Benchmark: crisis signal latency in real browsers, and the risk detector's cost per message.

    .venv/bin/python bench/crisis.py [--skip-browser]

1. Detector: median time of `detect_risk` per chat message over the corpus (English, Vietnamese
   with and without diacritics) with the shipped default rules, beside a baseline in the same
   run: lower-casing the same text and searching it once for one fixed phrase.
2. Browser (needs /usr/bin/chromium): runs the two benchmark browser tests in
   tests/e2e/test_crisis.py (a real daphne, two Chromium contexts) and prints their figures:
   a risk chat message -> crisis panel shown to the patient and alert shown to the clinician,
   and the panic button during a call -> the same; median over 20 runs each, with a plain
   fetch round trip as the baseline.

Runs on a throw-away test database (SQLite by default; PostgreSQL when DATABASE_URL is set).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telepsych.settings.test")

import django  # noqa: E402

django.setup()

from django.test.utils import setup_databases, teardown_databases  # noqa: E402


def bench_detector() -> None:
    from crisis.detection import detect_risk, strip_marks
    from tests.crisis.corpus import EN_ORDINARY, EN_RISK, VI_ORDINARY, VI_RISK

    texts = EN_RISK + EN_ORDINARY + VI_RISK + VI_ORDINARY
    texts += [strip_marks(t) for t in VI_RISK + VI_ORDINARY]
    detect_risk(text="warm up the rule cache")
    detector, baseline = [], []
    for _ in range(5):
        for text in texts:
            start = time.perf_counter()
            detect_risk(text=text, language="vi")
            detector.append(time.perf_counter() - start)
            start = time.perf_counter()
            _ = "kill myself" in text.lower()
            baseline.append(time.perf_counter() - start)
    print(f"detect_risk over {len(texts)} corpus messages x5: median "
          f"{statistics.median(detector) * 1e6:.0f} us, p99 "
          f"{sorted(detector)[int(len(detector) * 0.99)] * 1e6:.0f} us per message "
          f"(baseline: lower() + one substring search {statistics.median(baseline) * 1e6:.1f} us)")


def bench_browser() -> None:
    env = {**os.environ, "DJANGO_ALLOW_ASYNC_UNSAFE": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s",
         "tests/e2e/test_crisis.py", "-k", "benchmark"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    lines = [line for line in result.stdout.splitlines() if "[crisis benchmark]" in line]
    for line in lines:
        print(line.replace("[crisis benchmark] ", "browser: "))
    if result.returncode != 0 or not lines:
        print(result.stdout[-4000:], result.stderr[-2000:])
        raise SystemExit("crisis browser benchmark failed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        bench_detector()
    finally:
        teardown_databases(old_config, verbosity=0)
    if not args.skip_browser:
        bench_browser()


if __name__ == "__main__":
    main()
