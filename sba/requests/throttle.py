"""Sign-in throttling: failed sign-ins slow down, then lock, an account name and a client.

Each key (``account:NAME`` as typed, known or not, and ``client:ADDRESS``)
counts its failed sign-ins in the ``login_throttle`` table, so the count holds
across browser sessions, app processes and the command line. With the default
:class:`ThrottlePolicy`:

* the first 3 failures cost nothing (typos);
* after the 4th failure the next try must wait 1 s, then 2, 4, 8 ... seconds
  (doubling, at most 5 minutes), counted from the last failure;
* the 10th failure locks the key for 15 minutes; after that, each further
  failure locks it again at once;
* a successful sign-in clears both keys; a key with no failure for 24 hours
  starts again from zero.

While a key must wait or is locked, a try is refused **before** the password
is checked (so a lock cannot be used to keep guessing) with
:class:`~sba.requests.errors.SignInThrottled`. The server never sleeps: the
delay is a time before which tries are refused. Times come from the store's
clock (tests pass a settable one).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sba.requests.errors import SignInThrottled
from sba.requests.store import RequestStore, parse_utc

__all__ = ["DEFAULT_POLICY", "ThrottlePolicy", "check", "clear", "record_failure"]


@dataclass(frozen=True)
class ThrottlePolicy:
    """How failed sign-ins slow down and lock a key (see the module docstring)."""

    free_failures: int = 3
    first_delay_s: float = 1.0
    max_delay_s: float = 300.0
    lock_after: int = 10
    lock_minutes: int = 15
    forget_after_hours: int = 24

    def delay(self, failures: int) -> dt.timedelta:
        """The wait after ``failures`` failures in a row (before any lock)."""
        if failures <= self.free_failures:
            return dt.timedelta(0)
        extra = min(failures - self.free_failures - 1, 30)  # 2**30 s is far above any cap
        return dt.timedelta(seconds=min(self.first_delay_s * 2**extra, self.max_delay_s))


DEFAULT_POLICY = ThrottlePolicy()


def _rows(store: RequestStore, keys: Sequence[str]) -> list[dict]:
    marks = ", ".join("?" * len(keys))
    return store.db.query(f"SELECT key, failures, last_failure_at, locked_until FROM login_throttle "
                          f"WHERE key IN ({marks})", list(keys))


def _fresh(row: dict, now: dt.datetime, policy: ThrottlePolicy) -> bool:
    """Whether the key's failures still count (a recent last failure)."""
    return now - parse_utc(row["last_failure_at"]) < dt.timedelta(hours=policy.forget_after_hours)


def check(store: RequestStore, keys: Sequence[str], policy: ThrottlePolicy = DEFAULT_POLICY) -> None:
    """Refuse a try now if any key is locked or must still wait.

    Raises
    ------
    SignInThrottled
        With the seconds left; nothing is written.
    """
    now = store.now()
    for row in _rows(store, keys):
        if not _fresh(row, now, policy):
            continue
        if row["locked_until"] and now < parse_utc(row["locked_until"]):
            left = (parse_utc(row["locked_until"]) - now).total_seconds()
            raise SignInThrottled(
                f"Too many failed sign-ins {_whose(row['key'])}: sign-in is locked for {_minutes(left)}. "
                "Ask an administrator if these tries were not yours.", left)
        ready = parse_utc(row["last_failure_at"]) + policy.delay(int(row["failures"]))
        if now < ready:
            left = (ready - now).total_seconds()
            raise SignInThrottled(
                f"Too many failed sign-ins {_whose(row['key'])}: wait {math.ceil(left)} seconds before "
                "trying again.", left)


def record_failure(store: RequestStore, keys: Sequence[str],
                   policy: ThrottlePolicy = DEFAULT_POLICY) -> list[tuple[str, int]]:
    """Count one failure for each key; returns ``(key, failures)`` for each key this failure locked."""
    now = store.now()
    locked = []
    with store.db.transaction():
        # keys are names anyone can type: forget stale ones so the table stays small
        store.db.execute("DELETE FROM login_throttle WHERE last_failure_at < ?",
                         (_utc(now - dt.timedelta(hours=policy.forget_after_hours)),))
        held = {r["key"]: r for r in _rows(store, keys)}
        for key in keys:
            row = held.get(key)
            failures = int(row["failures"]) + 1 if row and _fresh(row, now, policy) else 1
            until = now + dt.timedelta(minutes=policy.lock_minutes) if failures >= policy.lock_after else None
            store.db.execute(
                "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, "
                "last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
                (key, failures, _utc(now), None if until is None else _utc(until)))
            if until is not None:
                locked.append((key, failures))
    return locked


def clear(store: RequestStore, keys: Sequence[str]) -> None:
    """Forget the failures of ``keys`` (after a successful sign-in)."""
    marks = ", ".join("?" * len(keys))
    store.db.execute(f"DELETE FROM login_throttle WHERE key IN ({marks})", list(keys))


def _utc(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _whose(key: str) -> str:
    return "for this account" if key.startswith("account:") else "from this computer"


def _minutes(seconds: float) -> str:
    n = max(1, math.ceil(seconds / 60))
    return f"{n} more minute{'s' if n != 1 else ''}"
