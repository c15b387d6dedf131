"""A throwaway database for one benchmark run: PostgreSQL when reachable, else SQLite."""

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"


def _pg_admin_url() -> str | None:
    base = os.environ.get("BENCH_POSTGRES", DEFAULT_PG)
    if base in ("", "off"):
        return None
    try:
        import psycopg

        with psycopg.connect(base + "/postgres", connect_timeout=2, autocommit=True):
            return base
    except Exception:  # noqa: BLE001 - any failure means: use SQLite
        return None


@contextmanager
def throwaway_database(name: str):
    """Yields env vars pointing Django (telepsych.settings.test) at a fresh database; drops it after."""
    sys.path.insert(0, str(ROOT))
    base = _pg_admin_url()
    if base:
        import psycopg

        db_name = f"telepsych_bench_{name}_{os.getpid()}"
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
            conn.execute(f'CREATE DATABASE "{db_name}"')
        env = {"DATABASE_URL": f"{base}/{db_name}", "BENCH_DB_LABEL": f"PostgreSQL ({db_name})"}
        try:
            yield env
        finally:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(base + "/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"bench-{name}.sqlite3"
            env = {"TELEPSYCH_TEST_DATABASE_NAME": str(path), "BENCH_DB_LABEL": f"SQLite ({path.name})"}
            yield env


def setup_django(env: dict, settings_module: str = "telepsych.settings.test") -> None:
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)  # the in-memory layer and cache: the figures are about the database
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
