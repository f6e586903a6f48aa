"""The audit log's hash chain: each row's hash covers the row and the previous row's hash.

A row's hash is SHA-256 over a canonical JSON text (sorted keys, no spaces,
UTF-8) of its stored fields ``at, actor, action, request_id, before_json,
after_json, detail`` and ``prev_hash``, the hash of the row before it (64
zeros for the first row). Editing, deleting or inserting a row outside the
tool therefore breaks the chain at that row, and :func:`verify_chain` names it.

What a chain cannot show on its own: someone who can write the database and
recomputes every hash after the row they changed, or who deletes the newest
rows. Keep the last row's number and hash somewhere else (``sba requests
verify`` prints them) and check them later with ``anchors``.

>>> a = {"at": "2026-03-02T17:00:00Z", "actor": "alice", "action": "login", "request_id": None,
...      "before_json": None, "after_json": None, "detail": ""}
>>> h1 = row_hash(a, GENESIS)
>>> rows = [{**a, "id": 1, "prev_hash": GENESIS, "row_hash": h1}]
>>> verify_chain(rows).intact
True
>>> rows[0]["actor"] = "mallory"
>>> verify_chain(rows).problem
'Row 1 was changed after it was written (its hash no longer matches its content).'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["GENESIS", "HASHED_FIELDS", "ChainReport", "row_hash", "verify_chain"]

GENESIS = "0" * 64
HASHED_FIELDS = ("at", "actor", "action", "request_id", "before_json", "after_json", "detail")


def row_hash(row: Mapping[str, Any], prev_hash: str) -> str:
    """The SHA-256 (hex) of one audit row chained to ``prev_hash``."""
    fields = {k: row[k] for k in HASHED_FIELDS}
    if fields["request_id"] is not None:
        fields["request_id"] = int(fields["request_id"])
    fields["prev_hash"] = prev_hash
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found.

    ``broken_row`` is the number (``id``) of the first row that breaks the
    chain, ``problem`` says how, in one sentence; both are ``None`` when the
    chain is intact. ``last_row``/``last_hash`` name the newest row, to be
    noted elsewhere as an anchor.
    """

    rows: int
    last_row: int | None
    last_hash: str | None
    broken_row: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        """True when no row of the audit log breaks the hash chain."""
        return self.broken_row is None

    def sentence(self) -> str:
        """One sentence for staff."""
        if not self.intact:
            return f"The audit log has been tampered with: {self.problem}"
        if not self.rows:
            return "The audit log is empty."
        return (f"The audit log is intact: {self.rows} rows, each chained to the one before "
                f"(last row {self.last_row}, hash {self.last_hash}).")


def verify_chain(rows: Iterable[Mapping[str, Any]], anchors: Mapping[int, str] | None = None) -> ChainReport:
    """Check rows (oldest first, with ``id``, ``prev_hash``, ``row_hash``) against the chain.

    ``anchors`` maps row numbers to hashes noted earlier: each must still be
    there with that hash (this catches a chain recomputed after an edit).
    """
    anchors = dict(anchors or {})
    prev, prev_id, count, last_hash = GENESIS, None, 0, None
    for row in rows:
        count += 1
        rid = int(row["id"])
        problem = _row_problem(row, prev, prev_id)
        if problem is None and rid in anchors and anchors.pop(rid) != row["row_hash"]:
            problem = (f"Row {rid} no longer has the hash noted for it earlier: the log was rewritten "
                       "from that row on.")
        if problem is not None:
            return ChainReport(count, rid, row.get("row_hash"), rid, problem)
        prev, prev_id, last_hash = row["row_hash"], rid, row["row_hash"]
    if anchors:
        missing = min(anchors)
        return ChainReport(count, prev_id, last_hash, missing,
                           f"Row {missing}, noted earlier, is no longer in the log: rows were deleted.")
    return ChainReport(count, prev_id, last_hash)


def _row_problem(row: Mapping[str, Any], prev: str, prev_id: int | None) -> str | None:
    rid = int(row["id"])
    if not row.get("row_hash") or not row.get("prev_hash"):
        return f"Row {rid} has no hash: it was written outside this tool."
    if row["prev_hash"] != prev:
        after = f"row {prev_id}" if prev_id is not None else "the start of the log"
        rewritten = f"{after} was rewritten, " if prev_id is not None else ""
        return (f"Row {rid} does not follow {after}: {rewritten}a row between them was deleted, "
                "or this row was inserted outside this tool.")
    if row_hash(row, row["prev_hash"]) != row["row_hash"]:
        return f"Row {rid} was changed after it was written (its hash no longer matches its content)."
    return None
