"""A tiny database adapter: SQLite (default) or PostgreSQL + PostGIS, plain SQL.

:func:`connect` takes a file path (SQLite; ``sqlite:///path`` works too) or a
``postgresql://`` URL (psycopg 3). SQL is written once with ``?`` placeholders;
for PostgreSQL they become ``%s``. Rows come back as plain dicts.

The schema is versioned: :data:`MIGRATIONS` is an ordered list, the
``schema_migrations`` table records which were applied, and :func:`connect`
applies the missing ones, each in its own transaction. A database made by a
newer version of the tool is refused rather than guessed at.

Schema (version 3)
------------------
``staff``
    ``id, username UNIQUE, display_name, password_hash, is_admin, active, created_at``.
``requests``
    One single-family category change request: ``parcel_id, account_number,
    address, requester_name, requester_email, requester_phone,
    current_category, claimed_category, roofs_sqft, driveway_parking_sqft,
    other_sqft`` (the form's three totals, whole sq ft), ``claimed_sqft``,
    ``method_how, method_statement, crs_measured, imagery, source`` (package or
    geojson), ``package_created_at, status`` (submitted / accepted / adjusted /
    rejected), ``decision, decided_category, decided_sqft, decision_reason,
    decided_by, decided_at, effective_date, submitted_at, updated_at,
    version`` (optimistic concurrency: every change does
    ``UPDATE ... WHERE id = ? AND version = ?`` and bumps it),
    ``status_token_hash`` (SHA-256 of the private token a homeowner got when
    submitting in the app; null for staff imports). A partial unique index
    allows one undecided request per lot.
``features``
    The drawn features: ``request_id, position, feature_id, feature_type,
    original_type, source, geometry_json`` (GeoJSON, EPSG:4326; null for
    tape-measured rows), ``original_geometry_json, area_sqft, inside_lot_sqft,
    removed, adjusted``. On PostgreSQL a generated PostGIS column ``geom``
    (``geometry(Geometry, 4326)``, GiST index) mirrors ``geometry_json``.
``files``
    Blobs kept apart from the request rows: ``kind`` (attachment, package,
    letter_md, letter_pdf), ``name, media_type, size_bytes, sha256, data``.
``audit_log``
    Append-only: ``id, at, actor, action, request_id, before_json,
    after_json, detail, prev_hash, row_hash``. Triggers refuse every UPDATE
    and DELETE (and TRUNCATE on PostgreSQL); the hash chain
    (:mod:`sba.requests.chain`) shows an edit made after dropping them.
``login_throttle``
    Failed sign-ins per account and per client: ``key`` (``account:NAME`` or
    ``client:ADDRESS``), ``failures, last_failure_at, locked_until``.
``api_tokens``
    Tokens an administrator made for a staff account (for scripts):
    ``id, username, label, token_hash`` (SHA-256 of the token; the token
    itself is shown once), ``created_by, created_at, expires_at, revoked_at``.

Version 2 added the hash columns (and computed them for the existing rows,
oldest first), ``login_throttle`` and ``api_tokens``. Version 3 added
``requests.status_token_hash``.

An SQLite file is created readable by its owner only (0600): it holds
password hashes, personal data and attachments.

Times are ISO 8601 text in UTC (``2026-03-05T17:02:11Z``); dates are
``YYYY-MM-DD``. Text sorts in time order and reads the same in both databases.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sba.requests.chain import GENESIS, row_hash
from sba.requests.errors import StoreError

__all__ = ["MIGRATIONS", "Database", "Migration", "connect", "db_errors", "is_postgres_url"]

_PG_URL = re.compile(r"^postgres(ql)?(\+psycopg)?://", re.IGNORECASE)


def is_postgres_url(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL database (else: an SQLite file)."""
    return bool(_PG_URL.match(str(target)))


def db_errors() -> tuple[type[BaseException], ...]:
    """The driver exception classes for database-level failures (both backends)."""
    errors: list[type[BaseException]] = [sqlite3.DatabaseError]
    try:
        import psycopg

        errors.append(psycopg.Error)
    except ImportError:  # pragma: no cover - psycopg is optional
        pass
    return tuple(errors)


@dataclass(frozen=True)
class Migration:
    """One schema step: ``statements(dialect)`` gives its SQL statements.

    ``then``, if given, runs after them in the same transaction, for changes
    SQL cannot make (such as hashing existing rows).
    """

    version: int
    description: str
    statements: Callable[[str], list[str]]
    then: Callable[[Database], None] | None = None


class Database:
    """One connection, autocommit outside :meth:`transaction` blocks.

    Not shared between threads: open one per thread (or per app session).
    """

    def __init__(self, conn: Any, dialect: str, target: str):
        self._conn = conn
        self.dialect = dialect  # "sqlite" or "postgresql"
        self.target = target
        self._depth = 0

    # -- queries ---------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        if self.dialect == "postgresql":
            cur = self._conn.execute(self._sql(sql), tuple(params) or None)
        else:
            cur = self._conn.execute(sql, tuple(params))
        return cur.rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts."""
        if self.dialect == "postgresql":
            cur = self._conn.execute(self._sql(sql), tuple(params) or None)
        else:
            cur = self._conn.execute(sql, tuple(params))
        if cur.description is None:
            return []
        names = [d[0] for d in cur.description]
        return [dict(zip(names, _plain(row), strict=True)) for row in cur.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row the query returns, as a dict, or ``None`` when there is none."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or ``None`` when the query returns no row."""
        row = self.one(sql, params)
        return None if row is None else next(iter(row.values()))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """All statements inside commit together or not at all (nested blocks join)."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            if self.dialect == "postgresql":
                with self._conn.transaction():
                    yield self
            else:
                # IMMEDIATE: take the write lock now, so two writers queue up
                # instead of failing half-way with "database is locked".
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
        finally:
            self._depth = 0

    def close(self) -> None:
        """Close the connection; an error while closing is ignored."""
        with contextlib.suppress(Exception):
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ------------------------------------------------------------
    def schema_version(self) -> int:
        """The newest migration applied to this database (0 for a new one)."""
        return int(self.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") or 0)

    def migrate(self, migrations: Sequence[Migration] | None = None) -> list[int]:
        """Apply the missing migrations in order; returns the versions applied."""
        migrations = MIGRATIONS if migrations is None else migrations
        known = max((m.version for m in migrations), default=0)
        if not self._has_table("schema_migrations"):  # (a PostgreSQL app role may not create tables)
            self.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        elif self.schema_version() == known:  # up to date: nothing to lock or write
            return []
        applied = []
        for m in sorted(migrations, key=lambda m: m.version):
            with self.transaction():
                if self.dialect == "postgresql":  # one migrator at a time
                    self.execute("SELECT pg_advisory_xact_lock(7351902)")
                current = self.schema_version()
                if current > known:
                    raise StoreError(
                        f"The request database {self.display()} was made by a newer version of this "
                        f"tool (schema {current}, this one knows {known}); update the tool."
                    )
                if m.version <= current:
                    continue
                for statement in m.statements(self.dialect):
                    self.execute(statement)
                if m.then is not None:
                    m.then(self)
                self.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                    (m.version, m.description, utc_text(dt.datetime.now(dt.UTC))),
                )
                applied.append(m.version)
        if not applied and self.schema_version() > known:
            raise StoreError(
                f"The request database {self.display()} was made by a newer version of this tool "
                f"(schema {self.schema_version()}, this one knows {known}); update the tool."
            )
        return applied

    def _has_table(self, name: str) -> bool:
        if self.dialect == "postgresql":
            return self.scalar("SELECT to_regclass(?) IS NOT NULL", (name,)) is True
        return self.scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) == 1

    def display(self) -> str:
        """The database's name without a password (for messages)."""
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", self.target)


def _plain(row: Sequence[Any]) -> list[Any]:
    return [bytes(v) if isinstance(v, memoryview) else v for v in row]


def utc_text(when: dt.datetime) -> str:
    """An aware datetime as ISO 8601 UTC text with a ``Z``, whole seconds."""
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def connect(target: str | Path, *, migrate: bool = True) -> Database:
    """Open (and create or upgrade) the request database.

    Parameters
    ----------
    target
        An SQLite file path (created if missing; ``sqlite:///path`` also
        works) or a ``postgresql://user@host/db`` URL.
    migrate
        Apply missing schema migrations.

    Raises
    ------
    StoreError
        The file's folder does not exist, the server cannot be reached, the
        PostgreSQL driver or PostGIS is missing, or the schema is newer.
    """
    text = str(target)
    if is_postgres_url(text):
        db = _connect_postgres(text)
    else:
        db = _connect_sqlite(text)
    if migrate:
        try:
            db.migrate()
        except StoreError:
            db.close()
            raise
        except db_errors() as err:
            db.close()
            raise StoreError(
                f"Could not set up the request database {db.display()}: {_first_line(err).rstrip('.')}."
            ) from err
    return db


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _connect_sqlite(text: str) -> Database:
    path = Path(text[len("sqlite:///"):] if text.startswith("sqlite:///") else text).expanduser()
    if not path.parent.exists():
        raise StoreError(
            f"Cannot create the request database {str(path)!r}: the folder {str(path.parent)!r} does not exist."
        )
    _create_private(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as err:
        raise StoreError(f"{str(path)!r} is not a request database ({_first_line(err)}).") from err
    return Database(conn, "sqlite", str(path))


def _create_private(path: Path) -> None:
    """Create an empty database file readable by its owner only (SQLite gives its -wal and
    -shm files the same mode); an existing file is left as it is."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as err:
        raise StoreError(f"Cannot create the request database {str(path)!r} ({err.strerror or err}).") from err


def _connect_postgres(url: str) -> Database:
    try:
        import psycopg
    except ImportError as err:
        raise StoreError(
            "A PostgreSQL URL was given but the PostgreSQL driver is not installed; "
            "install it with: pip install 'psycopg[binary]'."
        ) from err
    url = re.sub(r"^postgres(ql)?\+psycopg://", "postgresql://", url, flags=re.IGNORECASE)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as err:
        shown = re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)
        raise StoreError(f"Could not connect to the request database {shown}: {_first_line(err).rstrip('.')}.") from err
    return Database(conn, "postgresql", url)


# --------------------------------------------------------------------------
# migrations


def _v1(dialect: str) -> list[str]:
    pg = dialect == "postgresql"
    ident = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    ref = "BIGINT" if pg else "INTEGER"
    blob = "BYTEA" if pg else "BLOB"
    statements = []
    if pg:
        statements.append("CREATE EXTENSION IF NOT EXISTS postgis")
    statements += [
        f"""CREATE TABLE staff (
            id {ident},
            username TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            is_admin INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )""",
        f"""CREATE TABLE requests (
            id {ident},
            parcel_id TEXT NOT NULL,
            account_number TEXT NOT NULL,
            address TEXT NOT NULL DEFAULT '',
            requester_name TEXT NOT NULL,
            requester_email TEXT NOT NULL DEFAULT '',
            requester_phone TEXT NOT NULL DEFAULT '',
            current_category TEXT NOT NULL,
            claimed_category TEXT,
            roofs_sqft INTEGER NOT NULL CHECK (roofs_sqft >= 0),
            driveway_parking_sqft INTEGER NOT NULL CHECK (driveway_parking_sqft >= 0),
            other_sqft INTEGER NOT NULL CHECK (other_sqft >= 0),
            claimed_sqft TEXT,
            method_how TEXT NOT NULL DEFAULT '',
            method_statement TEXT NOT NULL,
            crs_measured TEXT NOT NULL DEFAULT '',
            imagery TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL CHECK (source IN ('package', 'geojson')),
            package_created_at TEXT,
            status TEXT NOT NULL DEFAULT 'submitted'
                CHECK (status IN ('submitted', 'accepted', 'adjusted', 'rejected')),
            decision TEXT CHECK (decision IN ('accept', 'adjust', 'reject')),
            decided_category TEXT,
            decided_sqft TEXT,
            decision_reason TEXT,
            decided_by TEXT,
            decided_at TEXT,
            effective_date TEXT,
            submitted_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1
        )""",
        "CREATE INDEX requests_parcel ON requests (parcel_id)",
        "CREATE INDEX requests_status ON requests (status)",
        # at most one undecided request per lot, even when two imports race
        "CREATE UNIQUE INDEX requests_one_open_per_lot ON requests (parcel_id) WHERE status = 'submitted'",
        f"""CREATE TABLE features (
            id {ident},
            request_id {ref} NOT NULL REFERENCES requests (id),
            position INTEGER NOT NULL,
            feature_id TEXT NOT NULL,
            feature_type TEXT NOT NULL,
            original_type TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'drawn',
            geometry_json TEXT,
            original_geometry_json TEXT,
            area_sqft TEXT,
            inside_lot_sqft TEXT,
            label TEXT NOT NULL DEFAULT '',
            removed INTEGER NOT NULL DEFAULT 0,
            adjusted INTEGER NOT NULL DEFAULT 0,
            UNIQUE (request_id, position)
        )""",
        f"""CREATE TABLE files (
            id {ident},
            request_id {ref} NOT NULL REFERENCES requests (id),
            kind TEXT NOT NULL CHECK (kind IN ('attachment', 'package', 'letter_md', 'letter_pdf')),
            name TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            data {blob} NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX files_request ON files (request_id, kind)",
        f"""CREATE TABLE audit_log (
            id {ident},
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            request_id {ref},
            before_json TEXT,
            after_json TEXT,
            detail TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX audit_request ON audit_log (request_id)",
    ]
    if pg:
        statements += [
            """ALTER TABLE features ADD COLUMN geom geometry(Geometry, 4326)
               GENERATED ALWAYS AS (CASE WHEN geometry_json IS NULL THEN NULL
               ELSE ST_SetSRID(ST_GeomFromGeoJSON(geometry_json), 4326) END) STORED""",
            "CREATE INDEX features_geom ON features USING GIST (geom)",
            """CREATE FUNCTION sba_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                 RAISE EXCEPTION 'The audit log is append-only: rows cannot be changed or deleted.';
               END $$""",
            """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
               FOR EACH ROW EXECUTE FUNCTION sba_audit_append_only()""",
            """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
               FOR EACH STATEMENT EXECUTE FUNCTION sba_audit_append_only()""",
        ]
    else:
        statements += [
            _SQLITE_NO_UPDATE,
            """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
               BEGIN SELECT RAISE(ABORT, 'The audit log is append-only: rows cannot be deleted.'); END""",
        ]
    return statements


def _v2(dialect: str) -> list[str]:
    ident = ("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" if dialect == "postgresql"
             else "INTEGER PRIMARY KEY AUTOINCREMENT")
    return [
        "ALTER TABLE audit_log ADD COLUMN prev_hash TEXT",
        "ALTER TABLE audit_log ADD COLUMN row_hash TEXT",
        """CREATE TABLE login_throttle (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            last_failure_at TEXT NOT NULL,
            locked_until TEXT
        )""",
        f"""CREATE TABLE api_tokens (
            id {ident},
            username TEXT NOT NULL REFERENCES staff (username),
            label TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT
        )""",
    ]


def _chain_existing_rows(db: Database) -> None:
    """Hash the rows written before version 2, oldest first, 1,000 at a time (the triggers are off meanwhile)."""
    if not db.scalar("SELECT COUNT(*) FROM audit_log"):
        return
    if db.dialect == "postgresql":
        db.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
    else:
        db.execute("DROP TRIGGER audit_log_no_update")
    prev, last = GENESIS, 0
    while rows := db.query("SELECT id, at, actor, action, request_id, before_json, after_json, detail "
                           "FROM audit_log WHERE id > ? ORDER BY id LIMIT 1000", (last,)):
        for row in rows:
            digest = row_hash(row, prev)
            db.execute("UPDATE audit_log SET prev_hash = ?, row_hash = ? WHERE id = ?", (prev, digest, row["id"]))
            prev = digest
        last = rows[-1]["id"]
    if db.dialect == "postgresql":
        db.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")
    else:
        db.execute(_SQLITE_NO_UPDATE)


def _v3(dialect: str) -> list[str]:
    return ["ALTER TABLE requests ADD COLUMN status_token_hash TEXT"]


_SQLITE_NO_UPDATE = """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
               BEGIN SELECT RAISE(ABORT, 'The audit log is append-only: rows cannot be changed.'); END"""


#: Every schema version, oldest first. Never edit a released step: add a new one.
MIGRATIONS: list[Migration] = [
    Migration(1, "staff, requests, features, files and the append-only audit log", _v1),
    Migration(2, "hash-chained audit log, sign-in throttling, API tokens", _v2, _chain_existing_rows),
    Migration(3, "the homeowner's private status token (its hash) on each request", _v3),
]
