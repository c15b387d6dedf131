"""Benchmark: clinical notes saved and read with envelope encryption and the audit chain, against
the same rows stored plain (no encryption, no audit) in the same run; then decrypt throughput of
the encryption service against bare AES-GCM on the same bytes.

    .venv/bin/python bench/notes.py [--n 500]

Runs on a throw-away test database (SQLite by default; PostgreSQL when DATABASE_URL is set).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telepsych.settings.test")

import django  # noqa: E402

django.setup()

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

SECTION = ("Patient reports low mood for three weeks, poor sleep (wakes at 4 am), reduced "
           "appetite, no thoughts of self-harm. Tolerating sertraline 50 mg without side "
           "effects. Bệnh nhân ngủ kém, ăn uống giảm. ") * 4  # ~ 1.3 kB per section


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500, help="notes per run")
    n = parser.parse_args().n

    from records.encryption import _unwrap_data_key, decrypt_bytes, keyring
    from records.models import AuditEvent, ClinicalNote
    from records.selectors import note_get_for_user
    from records.services import audit_read, note_create
    from tests.records.factories import Cast

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        cast = Cast()
        sections = {"subjective": SECTION, "objective": SECTION, "assessment": SECTION,
                    "plan": SECTION}
        body_bytes = len(str(sections).encode())

        # Interleaved rounds (plain and secure alternate, order flips each round) and the
        # median round: the machine is shared, so one long run would measure its neighbours.
        rounds_n = 5
        per_round = max(1, n // rounds_n)
        plain_ids, secure_ids = [], []
        timings = {"save_plain": [], "save_secure": [], "read_plain": [], "read_secure": [],
                   "read_decrypt": []}

        def save_plain(ids):
            for _ in range(per_round):
                with transaction.atomic():
                    note = ClinicalNote.objects.create(
                        patient=cast.patient, author=cast.treating, kind="progress_note",
                        body=sections)
                ids.append(note.pk)

        def save_secure(ids):
            for _ in range(per_round):
                note = note_create(author=cast.treating, patient=cast.patient,
                                   kind="progress_note", sections=sections, ip="127.0.0.1")
                ids.append(note.pk)

        def read_plain(ids):
            for pk in ids:
                note = ClinicalNote.objects.select_related("patient", "author").get(pk=pk)
                assert note.body["plan"] == SECTION

        def read_secure(ids):
            for pk in ids:
                view = note_get_for_user(user=cast.treating, note_id=pk)
                audit_read(actor=cast.treating, access=view.access, object_type="note",
                           object_id=pk, patient=view.note.patient, ip="127.0.0.1")
                assert view.sections[3][2] == SECTION

        def read_decrypt_only(ids):
            for pk in ids:
                view = note_get_for_user(user=cast.treating, note_id=pk)
                assert view.sections[3][2] == SECTION

        for round_index in range(rounds_n):
            new_plain, new_secure = [], []
            pair = [("save_plain", lambda ids=new_plain: save_plain(ids)),
                    ("save_secure", lambda ids=new_secure: save_secure(ids))]
            for name, fn in pair if round_index % 2 else reversed(pair):
                timings[name].append(_timed(fn) / per_round)
            reads = [("read_plain", lambda ids=new_plain: read_plain(ids)),
                     ("read_secure", lambda ids=new_secure: read_secure(ids)),
                     ("read_decrypt", lambda ids=new_secure: read_decrypt_only(ids))]
            for name, fn in reads if round_index % 2 else reversed(reads):
                timings[name].append(_timed(fn) / per_round)
            plain_ids += new_plain
            secure_ids += new_secure
        med = {name: statistics.median(values) for name, values in timings.items()}
        save_plain_s, save_secure_s = med["save_plain"] * n, med["save_secure"] * n
        read_plain_s, read_secure_s = med["read_plain"] * n, med["read_secure"] * n
        read_decrypt_s = med["read_decrypt"] * n

        # --- decrypt throughput on the same bytes ---
        rows = list(ClinicalNote.objects.filter(pk__in=secure_ids))
        envelopes = [(row.body, row.envelope_context("body")) for row in rows]
        ring = keyring()
        import base64
        bare_inputs = []
        for envelope, context in envelopes:
            key = _unwrap_data_key(envelope, context=context, ring=ring)
            bare_inputs.append((AESGCM(key), base64.b64decode(envelope["n"]),
                                base64.b64decode(envelope["ct"]), context.associated_data("data")))
        rounds = max(1, 5000 // len(envelopes))

        def decrypt_service():
            for _ in range(rounds):
                for envelope, context in envelopes:
                    decrypt_bytes(envelope, context=context)

        def decrypt_bare():
            for _ in range(rounds):
                for aead, nonce, ciphertext, aad in bare_inputs:
                    aead.decrypt(nonce, ciphertext, aad)

        service_runs, bare_runs = [], []
        for _ in range(5):
            service_runs.append(_timed(decrypt_service))
            bare_runs.append(_timed(decrypt_bare))
        service_s, bare_s = statistics.median(service_runs), statistics.median(bare_runs)
        ops = rounds * len(envelopes)
        audit_events = AuditEvent.objects.count()
    finally:
        teardown_databases(old_config, verbosity=0)

    backend = connection.vendor
    print(f"bench/notes.py — {n} notes of {body_bytes} bytes, database: {backend}; "
          f"median of {rounds_n} interleaved rounds")
    print(f"{'':34}{'plain':>12}{'encrypted+audited':>20}{'ratio':>8}")
    print(f"{'save (ms per note)':34}{save_plain_s / n * 1000:12.3f}"
          f"{save_secure_s / n * 1000:20.3f}{save_secure_s / save_plain_s:8.2f}x")
    print(f"{'read (ms per note)':34}{read_plain_s / n * 1000:12.3f}"
          f"{read_secure_s / n * 1000:20.3f}{read_secure_s / read_plain_s:8.2f}x")
    print(f"{'read, decrypt but no audit (ms)':34}{read_plain_s / n * 1000:12.3f}"
          f"{read_decrypt_s / n * 1000:20.3f}{read_decrypt_s / read_plain_s:8.2f}x")
    print(f"audit events written: {audit_events} (one per save and per read)")
    print(f"{'':34}{'bare AES-GCM':>12}{'service decrypt':>20}{'ratio':>8}")
    print(f"{'decrypt (values per second)':34}{ops / bare_s:12.0f}{ops / service_s:20.0f}"
          f"{service_s / bare_s:8.2f}x")
    print(f"{'decrypt (MB per second)':34}{ops * body_bytes / bare_s / 1e6:12.1f}"
          f"{ops * body_bytes / service_s / 1e6:20.1f}")


if __name__ == "__main__":
    main()
