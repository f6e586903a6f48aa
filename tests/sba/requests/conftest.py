"""Fixtures for the staff-review tests: stores on a real SQLite file and on PostgreSQL.

PostgreSQL: ``PG_TEST_URL`` when set; otherwise the suite starts a throw-away
cluster with ``scripts/start-postgres`` (Unix socket only) for the session and
stops it at the end. Tests on PostgreSQL are skipped, saying why, only when the
PostgreSQL server binaries (or the psycopg driver) are absent.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from sba.requests import Records, RequestStore, add_staff
from sba.requests.sample_queue import sample_packages

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "sample_data"
START_PG = ROOT / "scripts" / "start-postgres"
PASSWORD = "correct horse battery"


class Clock:
    """A settable clock for the store (UTC)."""

    def __init__(self, when: dt.datetime):
        self.when = when

    def __call__(self) -> dt.datetime:
        return self.when

    def advance(self, **delta) -> None:
        self.when += dt.timedelta(**delta)


@pytest.fixture(scope="session")
def records() -> Records:
    """The sample neighbourhood as the utility's records."""
    return Records.load(SAMPLE)


@pytest.fixture(scope="session")
def packages(records) -> dict:
    """The four sample packages by lot id: ``(zip bytes, requester)``."""
    return {pid: (data, who) for pid, data, who in sample_packages(records)}


# --------------------------------------------------------------------------
# PostgreSQL


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL URL (with a PostGIS template database), or skip with the reason."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')")
    url = os.environ.get("PG_TEST_URL")
    cluster = None
    if not url:
        proc = subprocess.run([str(START_PG)], capture_output=True, text=True, timeout=120)
        if proc.returncode == 3:
            pytest.skip(f"PostgreSQL is not installed here: {proc.stderr.strip()}")
        if proc.returncode != 0:
            pytest.fail(f"scripts/start-postgres failed:\n{proc.stderr[-2000:]}")
        url = proc.stdout.strip().splitlines()[-1]
        cluster = dict(p.split("=", 1) for p in urlsplit(url).query.split("&"))["host"]
    template = f"sba_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{template}"')
    with psycopg.connect(_with_db(url, template), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    try:
        yield url, template
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        if cluster:
            subprocess.run([str(START_PG), "stop", cluster], capture_output=True, timeout=60)


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty PostgreSQL database (PostGIS installed) for one test."""
    import psycopg

    url, template = pg_server
    name = f"sba_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _with_db(url, name)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request, tmp_path):
    """A database location on each backend: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "requests.sqlite")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def sqlite_target(tmp_path):
    return str(tmp_path / "requests.sqlite")


@pytest.fixture
def clock():
    """Monday 2 March 2026, 17:00 UTC (09:00 in Portland)."""
    return Clock(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC))


def _open(target, clock) -> RequestStore:
    from zoneinfo import ZoneInfo

    store = RequestStore.open(target, clock=clock, tz=ZoneInfo("America/Los_Angeles"))
    add_staff(store, "alice", PASSWORD, display_name="Alice Reviewer")
    add_staff(store, "bob", PASSWORD, display_name="Bob Reviewer", actor="alice")
    return store


@pytest.fixture
def store(db_target, clock):
    """A store with staff alice (admin) and bob, on each backend."""
    s = _open(db_target, clock)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(sqlite_target, clock):
    """A store on an SQLite file only (for tests that do not depend on the backend)."""
    s = _open(sqlite_target, clock)
    yield s
    s.close()


# --------------------------------------------------------------------------
# packages


def repack(data: bytes, *, request: dict | None = None, drop: tuple[str, ...] = (),
           add: dict[str, bytes] | None = None, features: dict | None = None) -> bytes:
    """Rewrite an evidence package: change manifest fields, drop or add files (checksums updated)."""
    import hashlib

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    if request:
        for k, v in request.items():
            if v is None:
                manifest["request"].pop(k, None)
            else:
                manifest["request"][k] = v
    if features is not None:
        files["features.geojson"] = json.dumps(features).encode()
    for name in drop:
        files.pop(name, None)
        manifest["files"].pop(name, None)
    for name, blob in (add or {}).items():
        files[name] = blob
    for name, blob in files.items():
        manifest["files"][name] = {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, blob in files.items():
            zf.writestr(name, blob)
    return buf.getvalue()


def counts(store: RequestStore) -> dict[str, int]:
    return {t: int(store.db.scalar(f"SELECT COUNT(*) FROM {t}")) for t in ("requests", "features", "files")}
