"""The request store: reading requests, guarded changes and the append-only audit log.

Every change to a request goes through :meth:`RequestStore.apply_change`, one
transaction that

1. updates the request with ``UPDATE requests ... WHERE id = ? AND version = ?``
   (and, for decisions, ``AND status = 'submitted'``), bumping ``version``;
2. changes its features and adds its files;
3. appends one audit row (who, when, what, before and after), chained to the
   row before it by a hash (:mod:`sba.requests.chain`); :meth:`RequestStore.verify_audit`
   checks the chain.

If the ``UPDATE`` matches no row, someone else changed or decided the request
since the caller read it: nothing of this change is written, a
:class:`~sba.requests.errors.ConflictError` says who got there first, and the
refused attempt itself is appended to the audit log, so nothing is lost.

Dates: times are stored in UTC and come from the server's clock; the *decision
date* (= effective date) is the utility's local date, in the zone its rate
schedule names (``timezone`` in ``categorize/rates/*.toml``). ``SBA_UTILITY_TZ``
may repeat that zone but not change it: a server set to another zone (say
``Pacific/Kiritimati``, 22 hours ahead of Portland) would date decisions
tomorrow.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from categorize import DEFAULT_SCHEDULE, RateSchedule, load_schedule
from sba.requests.chain import GENESIS, ChainReport, row_hash, verify_chain
from sba.requests.db import Database, connect, utc_text
from sba.requests.errors import ConflictError, NotFoundError, StoreError
from sba.requests.text import csv_writer

__all__ = [
    "AUDIT_COLUMNS",
    "OPEN_STATUS",
    "STATUSES",
    "ChangeRequestRecord",
    "FeatureRow",
    "RequestStore",
    "StoredFile",
    "default_db_path",
    "parse_reference",
    "status_token_hash",
    "utility_timezone",
]

OPEN_STATUS = "submitted"
STATUSES = ("submitted", "accepted", "adjusted", "rejected")
AUDIT_COLUMNS = ("id", "at", "actor", "action", "request_id", "before", "after", "detail")
DEFAULT_TZ = "America/Los_Angeles"  # Portland, for a schedule that names no zone
_CHAIN_LOCK = 7351903  # PostgreSQL advisory lock: one audit append at a time


def utility_timezone(schedule: RateSchedule | None = None) -> ZoneInfo:
    """The utility's time zone: the one ``schedule`` names (default: the default schedule's).

    ``$SBA_UTILITY_TZ``, if set, must name the same zone.

    Raises
    ------
    StoreError
        ``SBA_UTILITY_TZ`` is not a zone name, or not the utility's zone.
    """
    schedule = schedule or load_schedule(DEFAULT_SCHEDULE)
    zone = ZoneInfo(schedule.timezone or DEFAULT_TZ)
    name = os.environ.get("SBA_UTILITY_TZ", "").strip()
    if not name:
        return zone
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise StoreError(f"SBA_UTILITY_TZ={name!r} is not a time zone name like 'America/Los_Angeles'.") from err
    if name != zone.key:
        raise StoreError(
            f"SBA_UTILITY_TZ={name!r} is not the time zone of {schedule.utility} ({zone.key}, from the rate "
            f"schedule {schedule.name}); decisions are dated in the utility's zone, so remove the setting.")
    return zone


def default_db_path() -> str:
    """``$SBA_REQUESTS_DB`` or ``~/.local/share/sba/requests.sqlite``.

    The default folder is created (and kept) readable by its owner only (0700).
    """
    env = os.environ.get("SBA_REQUESTS_DB")
    if env:
        return env
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "sba"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    if base.stat().st_mode & 0o077 and base.stat().st_uid == os.getuid():
        base.chmod(0o700)  # made by an older version with the default mode
    return str(base / "requests.sqlite")


def status_token_hash(token: str) -> str:
    """The SHA-256 (hex) kept in place of a homeowner's status token: the database never holds the token."""
    return hashlib.sha256(str(token).strip().encode("utf-8")).hexdigest()


#: a request number as a homeowner may type it ("12", "#12"): at most 12 digits, so it fits an integer column
_REFERENCE = re.compile(r"#?\s*(\d{1,12})")


def parse_reference(text: Any) -> int | None:
    """A request number as a homeowner may type it ("12", "#12"); ``None`` when it is not one.

    >>> parse_reference(" #12 "), parse_reference("12a"), parse_reference("1" * 13)
    (12, None, None)
    """
    match = _REFERENCE.fullmatch(str(text).strip())
    return None if match is None else int(match[1])


def parse_utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class FeatureRow:
    """One drawn feature of a request, as stored (``geometry`` is GeoJSON, EPSG:4326)."""

    position: int
    feature_id: str
    feature_type: str
    original_type: str
    source: str
    geometry: dict | None
    original_geometry: dict | None
    area_sqft: str | None
    inside_lot_sqft: str | None
    label: str = ""
    removed: bool = False
    adjusted: bool = False

    def shape(self) -> dict:
        """As a shape dict for :func:`sba.evidence.measure_shapes`."""
        return {"id": self.feature_id, "geometry": self.geometry,
                "feature_type": self.feature_type, "source": self.source}


@dataclass(frozen=True)
class StoredFile:
    """A file kept with a request (the package, an attachment, a letter); :meth:`RequestStore.file_data` reads it."""

    id: int
    kind: str
    name: str
    media_type: str
    size_bytes: int
    sha256: str
    created_at: str


@dataclass(frozen=True)
class ChangeRequestRecord:
    """A request as stored, with its features and the list of its files."""

    id: int
    parcel_id: str
    account_number: str
    address: str
    requester_name: str
    requester_email: str
    requester_phone: str
    current_category: str
    claimed_category: str | None
    roofs_sqft: int
    driveway_parking_sqft: int
    other_sqft: int
    claimed_sqft: str | None
    method_how: str
    method_statement: str
    crs_measured: str
    imagery: str
    source: str
    package_created_at: str | None
    status: str
    decision: str | None
    decided_category: str | None
    decided_sqft: str | None
    decision_reason: str | None
    decided_by: str | None
    decided_at: str | None
    effective_date: str | None
    submitted_at: str
    updated_at: str
    version: int
    features: tuple[FeatureRow, ...] = ()
    files: tuple[StoredFile, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        """True while the request waits for a staff decision."""
        return self.status == OPEN_STATUS

    @property
    def form_totals(self) -> dict[str, int]:
        """The areas the requester wrote on the form, in whole sq ft, by form line."""
        return {"roofs": self.roofs_sqft, "driveway_parking": self.driveway_parking_sqft,
                "other_hard_surfaces": self.other_sqft}

    @property
    def live_features(self) -> tuple[FeatureRow, ...]:
        """Features not removed by staff."""
        return tuple(f for f in self.features if not f.removed)

    @property
    def adjusted(self) -> bool:
        """True when staff changed or removed any of the requester's features."""
        return any(f.adjusted or f.removed for f in self.features)

    def attachments(self) -> tuple[StoredFile, ...]:
        """The files the requester attached (photos, PDFs)."""
        return tuple(f for f in self.files if f.kind == "attachment")

    def summary(self) -> dict[str, Any]:
        """The fields shown in a queue or written to a before/after audit record."""
        return {
            "id": self.id, "parcel_id": self.parcel_id, "account_number": self.account_number,
            "requester": self.requester_name, "current_category": self.current_category,
            "claimed_category": self.claimed_category, "status": self.status,
            "decision": self.decision, "decided_category": self.decided_category,
            "effective_date": self.effective_date, "version": self.version,
        }


#: what a decision sets, compared with the audit log by :meth:`RequestStore.verify_decisions`
_DECISION_FIELDS = ("status", "decision", "decided_category", "decided_by", "effective_date")
_REQUEST_COLUMNS = tuple(f for f in ChangeRequestRecord.__dataclass_fields__ if f not in ("features", "files"))


class RequestStore:
    """Requests in a database (see :mod:`sba.requests.db` for the schema).

    Parameters
    ----------
    db
        An open :class:`~sba.requests.db.Database`.
    clock
        Returns the current time (aware); tests pass a fixed clock.
    tz
        The utility's time zone for decision dates.
    """

    def __init__(self, db: Database, *, clock: Callable[[], dt.datetime] | None = None,
                 tz: dt.tzinfo | None = None):
        self.db = db
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.tz = tz or utility_timezone()

    @classmethod
    def open(cls, target: str | Path | None = None, **kwargs) -> RequestStore:
        """Open (creating or upgrading) the database at ``target`` (default :func:`default_db_path`)."""
        return cls(connect(target or default_db_path()), **kwargs)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self) -> RequestStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- time --------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The current time in UTC, from the store's clock."""
        return self.clock().astimezone(dt.UTC)

    def now_text(self) -> str:
        """The current UTC time as stored (``YYYY-MM-DDTHH:MM:SSZ``)."""
        return utc_text(self.now())

    def today(self) -> dt.date:
        """Today's date in the utility's time zone (the decision date)."""
        return self.now().astimezone(self.tz).date()

    def local_date(self, utc: str) -> dt.date:
        """The utility's local date of a stored UTC time."""
        return parse_utc(utc).astimezone(self.tz).date()

    # -- reading -------------------------------------------------------------
    def get(self, request_id: int) -> ChangeRequestRecord:
        """A request with its features and file list.

        Raises
        ------
        NotFoundError
            No request with that number.
        """
        row = self.db.one(f"SELECT {', '.join(_REQUEST_COLUMNS)} FROM requests WHERE id = ?", (int(request_id),))
        if row is None:
            raise NotFoundError(f"There is no request number {request_id}.")
        feats = self.db.query(
            "SELECT position, feature_id, feature_type, original_type, source, geometry_json, "
            "original_geometry_json, area_sqft, inside_lot_sqft, label, removed, adjusted "
            "FROM features WHERE request_id = ? ORDER BY position", (int(request_id),))
        files = self.db.query(
            "SELECT id, kind, name, media_type, size_bytes, sha256, created_at FROM files "
            "WHERE request_id = ? ORDER BY id", (int(request_id),))
        return ChangeRequestRecord(
            **row,
            features=tuple(
                FeatureRow(
                    position=f["position"], feature_id=f["feature_id"], feature_type=f["feature_type"],
                    original_type=f["original_type"], source=f["source"],
                    geometry=json.loads(f["geometry_json"]) if f["geometry_json"] else None,
                    original_geometry=(json.loads(f["original_geometry_json"])
                                       if f["original_geometry_json"] else None),
                    area_sqft=f["area_sqft"], inside_lot_sqft=f["inside_lot_sqft"], label=f["label"],
                    removed=bool(f["removed"]), adjusted=bool(f["adjusted"]),
                )
                for f in feats
            ),
            files=tuple(StoredFile(**f) for f in files),
        )

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        """Queue rows (oldest first), optionally of one status."""
        sql = ("SELECT id, parcel_id, account_number, address, requester_name, current_category, "
               "claimed_category, status, decided_category, effective_date, submitted_at, decided_at, version "
               "FROM requests")
        if status is not None:
            if status not in STATUSES:
                raise NotFoundError(f"There is no status {status!r}; use one of: {', '.join(STATUSES)}.")
            return self.db.query(sql + " WHERE status = ? ORDER BY id", (status,))
        return self.db.query(sql + " ORDER BY id")

    def open_request_for(self, parcel_id: str) -> int | None:
        """The number of an undecided request for the lot, if there is one."""
        return self.db.scalar(
            "SELECT MIN(id) FROM requests WHERE parcel_id = ? AND status = ?", (str(parcel_id), OPEN_STATUS))

    def file_data(self, request_id: int, file_id: int) -> bytes:
        """The bytes of one of a request's files; refuses a file number the request does not have."""
        data = self.db.scalar("SELECT data FROM files WHERE id = ? AND request_id = ?", (int(file_id), int(request_id)))
        if data is None:
            raise NotFoundError(f"Request {request_id} has no file number {file_id}.")
        return bytes(data)

    def latest_file(self, request_id: int, kind: str) -> tuple[StoredFile, bytes] | None:
        """The newest file of this kind for a request, with its bytes, or ``None`` when there is none."""
        row = self.db.one(
            "SELECT id, kind, name, media_type, size_bytes, sha256, created_at, data FROM files "
            "WHERE request_id = ? AND kind = ? ORDER BY id DESC LIMIT 1", (int(request_id), kind))
        if row is None:
            return None
        data = bytes(row.pop("data"))
        return StoredFile(**row), data

    def status_for_requester(self, request_id: int | str, account_number: str | None = None, *,
                             token: str | None = None) -> dict[str, Any]:
        """What a homeowner may see of one request: only with its status token (or its account number).

        ``request_id`` may be text as typed ("12", "#12"). A wrong number, a
        wrong token and a wrong account give the same answer, so one homeowner
        cannot learn about another's requests. Returns the status, the
        decision and its dates; never the account number or the requester.

        Raises
        ------
        NotFoundError
            No request matches (also for a number that is not a number).
        """
        not_found = NotFoundError("No request matches that reference number and "
                                  + ("account number." if account_number is not None else "status token."))
        number = parse_reference(request_id)
        if number is None or (token is None) == (account_number is None):
            raise not_found
        if token is not None:
            if not str(token).strip():
                raise not_found
            where, secret = "status_token_hash = ?", status_token_hash(token)
        else:
            where, secret = "account_number = ?", str(account_number).strip()
        row = self.db.one(
            "SELECT id, parcel_id, status, current_category, decision, decided_category, decision_reason, "
            f"decided_at, effective_date, submitted_at FROM requests WHERE id = ? AND {where}",
            (number, secret))
        if row is None:
            raise not_found
        return row

    # -- audit ---------------------------------------------------------------
    def append_audit(self, actor: str, action: str, request_id: int | None = None, *,
                     before: Any = None, after: Any = None, detail: str = "") -> None:
        """Append one audit row chained to the newest one (joins the current transaction, if any).

        Appends are serialised (SQLite's write lock, an advisory lock on
        PostgreSQL), so two writers never chain to the same row.
        """
        row = {"at": self.now_text(), "actor": str(actor), "action": str(action),
               "request_id": None if request_id is None else int(request_id),
               "before_json": _json(before), "after_json": _json(after), "detail": str(detail)}
        with self.db.transaction():
            if self.db.dialect == "postgresql":
                self.db.execute("SELECT pg_advisory_xact_lock(?)", (_CHAIN_LOCK,))
            prev = self.db.scalar("SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1") or GENESIS
            self.db.execute(
                "INSERT INTO audit_log (at, actor, action, request_id, before_json, after_json, detail, "
                "prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row.values(), prev, row_hash(row, prev)),
            )

    def verify_audit(self, anchors: Mapping[int, str] | None = None) -> ChainReport:
        """Check the audit log's hash chain, oldest row first; the report names the first broken row.

        ``anchors``: row number -> hash noted earlier (from a previous report).
        """
        return verify_chain(self._chain_rows(), anchors)

    def verify_decisions(self) -> list[str]:
        """Requests whose decision does not match the audit log's last ``decide`` row for them.

        The requests table has no triggers (staff change it), so an edit made
        directly in the database, such as a back-dated ``effective_date``, shows
        only here. Returns one sentence per request, empty when all match.
        """
        logged: dict[int, dict[str, Any]] = {}
        for row in self.db.query("SELECT id, request_id, after_json FROM audit_log "
                                 "WHERE action = 'decide' AND request_id IS NOT NULL ORDER BY id"):
            logged[int(row["request_id"])] = {"row": row["id"], **json.loads(row["after_json"] or "{}")}
        problems = []
        for req in self.db.query(f"SELECT id, {', '.join(_DECISION_FIELDS)} FROM requests ORDER BY id"):
            audit = logged.get(int(req["id"]))
            if audit is None:
                if req["status"] != OPEN_STATUS:
                    problems.append(f"Request {req['id']} is marked {req['status']}, but the audit log records "
                                    "no decision for it.")
                continue
            changed = [f for f in _DECISION_FIELDS if str(req[f] or "") != str(audit.get(f) or "")]
            if changed:
                shown = ", ".join(f"{f} {req[f]!r} (logged {audit.get(f)!r})" for f in changed)
                problems.append(f"Request {req['id']} does not match its decision in audit row {audit['row']}: "
                                f"{shown}.")
        return problems

    def _chain_rows(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every audit row with its hashes, oldest first, read ``batch`` rows at a time."""
        last = 0
        while rows := self.db.query(
                "SELECT id, at, actor, action, request_id, before_json, after_json, detail, prev_hash, row_hash "
                "FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", (last, batch)):
            yield from rows
            last = rows[-1]["id"]

    def audit_log(self, request_id: int | None = None) -> list[dict[str, Any]]:
        """Audit rows, oldest first (``before``/``after`` decoded from JSON)."""
        sql = ("SELECT id, at, actor, action, request_id, before_json, after_json, detail FROM audit_log")
        rows = (self.db.query(sql + " WHERE request_id = ? ORDER BY id", (int(request_id),))
                if request_id is not None else self.db.query(sql + " ORDER BY id"))
        out = []
        for r in rows:
            out.append({
                "id": r["id"], "at": r["at"], "actor": r["actor"], "action": r["action"],
                "request_id": r["request_id"],
                "before": json.loads(r["before_json"]) if r["before_json"] else None,
                "after": json.loads(r["after_json"]) if r["after_json"] else None,
                "detail": r["detail"],
            })
        return out

    def export_audit_csv(self, dest: str | Path | IO[str] | None = None, request_id: int | None = None) -> str:
        """The audit log as CSV (before/after as JSON text); written to ``dest`` if given."""
        buf = io.StringIO()
        w = csv_writer(buf)  # cells starting = + - @ get a ' (spreadsheets run them)
        w.writerow(AUDIT_COLUMNS)
        for r in self.audit_log(request_id):
            w.writerow([r["id"], r["at"], r["actor"], r["action"],
                        "" if r["request_id"] is None else r["request_id"],
                        _json(r["before"]) or "", _json(r["after"]) or "", r["detail"]])
        return _write(buf.getvalue(), dest)

    def export_requests_csv(self, dest: str | Path | IO[str] | None = None) -> str:
        """Every request's outcome as CSV, for the billing system."""
        cols = ("id", "parcel_id", "account_number", "requester_name", "current_category", "claimed_category",
                "status", "decision", "decided_category", "decided_sqft", "effective_date", "decided_by",
                "decided_at", "submitted_at")
        rows = self.db.query(f"SELECT {', '.join(cols)} FROM requests ORDER BY id")
        buf = io.StringIO()
        w = csv_writer(buf)  # cells starting = + - @ get a ' (spreadsheets run them)
        w.writerow(cols)
        for r in rows:
            w.writerow(["" if r[c] is None else r[c] for c in cols])
        return _write(buf.getvalue(), dest)

    # -- writing -------------------------------------------------------------
    def insert_request(self, values: Mapping[str, Any], features: Iterable[Mapping[str, Any]],
                       files: Iterable[Mapping[str, Any]], *, actor: str, detail: str = "") -> int:
        """Store a new request, its features and files, and the audit row, in one transaction."""
        now = self.now_text()
        row = {**values, "status": OPEN_STATUS, "version": 1, "updated_at": now}
        row.setdefault("submitted_at", now)
        cols = list(row)
        with self.db.transaction():
            request_id = int(self.db.scalar(
                f"INSERT INTO requests ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) RETURNING id",
                [row[c] for c in cols]))
            for pos, f in enumerate(features, start=1):
                self._insert_feature(request_id, pos, f)
            for f in files:
                self._insert_file(request_id, f)
            stored = self.get(request_id)
            self.append_audit(actor, "import", request_id, after=stored.summary(), detail=detail)
        return request_id

    def _insert_feature(self, request_id: int, position: int, f: Mapping[str, Any], *,
                        adjusted: bool = False) -> None:
        """A feature row; one added by staff (``adjusted``) has no original outline."""
        geom = _json(f.get("geometry"))
        self.db.execute(
            "INSERT INTO features (request_id, position, feature_id, feature_type, original_type, source, "
            "geometry_json, original_geometry_json, area_sqft, inside_lot_sqft, label, adjusted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (request_id, position, str(f["feature_id"]), str(f["feature_type"]),
             "" if adjusted else str(f["feature_type"]), str(f.get("source") or "drawn"), geom,
             None if adjusted else geom, f.get("area_sqft"), f.get("inside_lot_sqft"),
             str(f.get("label") or ""), int(adjusted)),
        )

    def _insert_file(self, request_id: int, f: Mapping[str, Any]) -> None:
        import hashlib

        data = bytes(f["data"])
        self.db.execute(
            "INSERT INTO files (request_id, kind, name, media_type, size_bytes, sha256, data, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (request_id, f["kind"], f["name"], f["media_type"], len(data), hashlib.sha256(data).hexdigest(),
             data, self.now_text()),
        )

    def apply_change(
        self,
        request_id: int,
        expected_version: int,
        *,
        actor: str,
        action: str,
        request_sets: Mapping[str, Any] | None = None,
        feature_sets: Mapping[int, Mapping[str, Any]] | None = None,
        new_features: Iterable[tuple[int, Mapping[str, Any]]] = (),
        files: Iterable[Mapping[str, Any]] = (),
        before: Any = None,
        after: Any = None,
        detail: str = "",
        require_open: bool = True,
    ) -> int:
        """Change a request if it is still at ``expected_version``; returns the new version.

        Raises
        ------
        ConflictError
            The request changed (or was decided) since ``expected_version``;
            nothing was written except an audit row recording the refused try.
        NotFoundError
            No such request.
        """
        sets = dict(request_sets or {})
        sets["updated_at"] = self.now_text()
        assignments = ", ".join(f"{k} = ?" for k in sets)
        sql = f"UPDATE requests SET {assignments}, version = version + 1 WHERE id = ? AND version = ?"
        params = [*sets.values(), int(request_id), int(expected_version)]
        if require_open:
            sql += " AND status = ?"
            params.append(OPEN_STATUS)
        try:
            with self.db.transaction():
                if self.db.execute(sql, params) != 1:
                    raise self._conflict(request_id, expected_version, action)
                for position, fsets in (feature_sets or {}).items():
                    cols = ", ".join(f"{k} = ?" for k in fsets)
                    n = self.db.execute(f"UPDATE features SET {cols} WHERE request_id = ? AND position = ?",
                                        [*fsets.values(), int(request_id), int(position)])
                    if n != 1:
                        raise NotFoundError(f"Request {request_id} has no feature number {position}.")
                for position, f in new_features:
                    self._insert_feature(request_id, position, f, adjusted=True)
                for f in files:
                    self._insert_file(request_id, f)
                self.append_audit(actor, action, request_id, before=before, after=after, detail=detail)
        except ConflictError as err:
            # the refused attempt is kept too: nothing a reviewer did is lost
            self.append_audit(actor, f"{action}_conflict", request_id, after=after,
                              detail=f"Not saved: {err} (expected version {expected_version}).")
            raise
        return int(expected_version) + 1

    def check_current(self, req: ChangeRequestRecord, expected_version: int, *, actor: str, action: str,
                      after: Any = None, require_open: bool = True) -> None:
        """Refuse early (as :meth:`apply_change` would) when the caller's view of ``req`` is stale.

        Raises
        ------
        ConflictError
            ``req`` is not at ``expected_version`` or no longer open; the
            refused try is appended to the audit log.
        """
        if req.version == int(expected_version) and (req.is_open or not require_open):
            return
        err = self._conflict(req.id, expected_version, action)
        self.append_audit(actor, f"{action}_conflict", req.id, after=after,
                          detail=f"Not saved: {err} (expected version {expected_version}).")
        raise err

    def _conflict(self, request_id: int, expected_version: int, action: str) -> Exception:
        row = self.db.one("SELECT status, version, decided_by, decided_at, decision FROM requests WHERE id = ?",
                          (int(request_id),))
        if row is None:
            return NotFoundError(f"There is no request number {request_id}.")
        what = "decision" if action == "decide" else "change"
        if row["status"] != OPEN_STATUS:
            when = self.local_date(row["decided_at"]).isoformat() if row["decided_at"] else "earlier"
            return ConflictError(
                f"Request {request_id} was already decided ({row['status']}) by {row['decided_by']} on {when}; "
                f"your {what} was not saved. Reload the request to see that decision."
            )
        last = self.db.one("SELECT actor, action FROM audit_log WHERE request_id = ? ORDER BY id DESC LIMIT 1",
                           (int(request_id),))
        who = f"{last['actor']} ({last['action'].replace('_', ' ')})" if last else "someone else"
        return ConflictError(
            f"Request {request_id} was changed by {who} after you opened it (version {expected_version}, now "
            f"{row['version']}); your {what} was not saved. Reload the request and try again."
        )


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _write(text: str, dest: str | Path | IO[str] | None) -> str:
    if dest is None:
        return text
    if isinstance(dest, str | Path):
        Path(dest).write_text(text, encoding="utf-8", newline="")
    else:
        dest.write(text)
    return text
