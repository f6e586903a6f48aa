"""Throttling: failed sign-ins (and homeowners' failed status lookups) slow down, then lock, a key.

Each key counts its failures in the ``login_throttle`` table: for staff
sign-ins ``account:NAME`` (as typed, known or not) and ``client:ADDRESS``; for
homeowners' lookups (:mod:`sba.requests.lookup`) ``request:NUMBER`` and
``lookup-client:ADDRESS``, so the two kinds never share a count. The count holds
across browser sessions, app processes and the command line. With the default
:class:`ThrottlePolicy`:

* the first 3 failures cost nothing (typos);
* after the 4th failure the next try must wait 1 s, then 2, 4, 8 ... seconds
  (doubling, at most 5 minutes), counted from the last failure;
* the 10th failure locks the key for 15 minutes; after that, each further
  failure locks it again at once;
* a successful sign-in clears both keys (a lookup only its number's key); a
  key with no failure for 24 hours starts again from zero.

While a key must wait or is locked, a try is refused **before** the password
is checked (so a lock cannot be used to keep guessing) with
:class:`~sba.requests.errors.SignInThrottled` (:class:`~sba.requests.errors.LookupThrottled`
for lookups; :class:`Wording`). The server never sleeps: the
delay is a time before which tries are refused. Times come from the store's
clock (tests pass a settable one).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sba.requests.errors import LookupThrottled, RequestError, SignInThrottled
from sba.requests.store import RequestStore, parse_utc

__all__ = ["DEFAULT_POLICY", "LOOKUPS", "SIGN_INS", "ThrottlePolicy", "Wording", "check", "clear",
           "record_failure"]


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


@dataclass(frozen=True)
class Wording:
    """What a refusal says and which error carries it.

    The templates are filled with ``whose`` ("for this account"), ``minutes``
    ("15 more minutes"), ``in_minutes`` ("15 minutes"), ``until`` (the local
    time the lock ends, "9:31 AM"), ``seconds`` (a number) and ``in_seconds``
    ("1 second").
    """

    locked: str
    wait: str
    error: type[RequestError]


SIGN_INS = Wording(
    locked="Too many failed sign-ins {whose}: sign-in is locked for {minutes}. "
           "Ask an administrator if these tries were not yours.",
    wait="Too many failed sign-ins {whose}: wait {seconds} seconds before trying again.",
    error=SignInThrottled)
LOOKUPS = Wording(
    locked="Too many wrong tries {whose}: try again after {until} (in {in_minutes}).",
    wait="Too many wrong tries {whose}: try again in {in_seconds}.",
    error=LookupThrottled)

#: how a refusal names each kind of key (its prefix)
_WHOSE = {"account": "for this account", "client": "from this computer", "lookup-client": "from this computer",
          "request": "for this reference number"}


def _rows(store: RequestStore, keys: Sequence[str]) -> list[dict]:
    marks = ", ".join("?" * len(keys))
    return store.db.query(f"SELECT key, failures, last_failure_at, locked_until FROM login_throttle "
                          f"WHERE key IN ({marks})", list(keys))


def _fresh(row: dict, now: dt.datetime, policy: ThrottlePolicy) -> bool:
    """Whether the key's failures still count (a recent last failure)."""
    return now - parse_utc(row["last_failure_at"]) < dt.timedelta(hours=policy.forget_after_hours)


def check(store: RequestStore, keys: Sequence[str], policy: ThrottlePolicy = DEFAULT_POLICY,
          wording: Wording = SIGN_INS) -> None:
    """Refuse a try now if any key is locked or must still wait.

    Raises
    ------
    SignInThrottled
        (``wording.error``) With the seconds left; nothing is written.
    """
    now = store.now()
    for row in _rows(store, keys):
        if not _fresh(row, now, policy):
            continue
        whose = _WHOSE[row["key"].split(":", 1)[0]]
        if row["locked_until"] and now < parse_utc(row["locked_until"]):
            until = parse_utc(row["locked_until"])
            left = (until - now).total_seconds()
            raise wording.error(wording.locked.format(
                whose=whose, minutes=_minutes(left), in_minutes=_minutes(left, more=False),
                until=_clock_time(until.astimezone(store.tz))), left)
        ready = parse_utc(row["last_failure_at"]) + policy.delay(int(row["failures"]))
        if now < ready:
            left = (ready - now).total_seconds()
            n = math.ceil(left)
            raise wording.error(wording.wait.format(
                whose=whose, seconds=n, in_seconds=f"{n} second{'s' if n != 1 else ''}"), left)


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


def _minutes(seconds: float, *, more: bool = True) -> str:
    n = max(1, math.ceil(seconds / 60))
    return f"{n}{' more' if more else ''} minute{'s' if n != 1 else ''}"


def _clock_time(when: dt.datetime) -> str:
    """``9:31 AM`` (rounded up to the minute, so that trying at that time works)."""
    if when.second or when.microsecond:
        when = when.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return f"{when:%I:%M %p}".lstrip("0")
