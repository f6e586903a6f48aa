"""A homeowner's status lookup (reference number + status token) is throttled per reference number and per
client, and failed lookups are logged without the token (:mod:`sba.requests.lookup`)."""

from __future__ import annotations

import pytest

from sba.requests.errors import LookupThrottled, NotFoundError
from sba.requests.intake import import_package
from sba.requests.lookup import status_for_requester
from sba.requests.throttle import DEFAULT_POLICY

TOKEN = "the-real-status-token-of-the-homeowner"


@pytest.fixture
def mine(sqlite_store, records, packages) -> int:
    data, who = packages["R100065"]
    return import_package(sqlite_store, data, records, actor="homeowner (web)", requester=who, status_token=TOKEN)


def test_lookup__works_the_same_on_both_databases(store, clock, records, packages):
    data, who = packages["R100065"]
    mine = import_package(store, data, records, actor="homeowner (web)", requester=who, status_token=TOKEN)
    answers = []
    for number in ("999999999999", "abc", str(mine), str(mine), str(mine), str(mine)):
        answers.append(_try(store, number, "wrong", "10.5.0.1"))
    assert answers == ["not found"] * 4 + ["refused"] * 2
    clock.advance(seconds=1)
    assert _try(store, str(mine), TOKEN, "10.5.0.2") == "found"
    failed = [(r["request_id"], r["detail"]) for r in store.audit_log() if r["action"] == "lookup_failed"]
    assert failed == [(None, "reference number 999999999999 from 10.5.0.1"),
                      (None, "not a reference number from 10.5.0.1"),
                      (mine, f"reference number {mine} from 10.5.0.1"),
                      (mine, f"reference number {mine} from 10.5.0.1")]


def _try(store, number, token, client) -> str:
    """``"found"``, ``"not found"`` or ``"refused"`` (throttled: nothing looked up)."""
    try:
        status_for_requester(store, number, token, client=client)
    except LookupThrottled:
        return "refused"
    except NotFoundError:
        return "not found"
    return "found"


def test_lookup__a_thousand_guesses_for_one_reference_number_are_refused_after_the_limit(sqlite_store, clock, mine):
    answers = []
    for n in range(1000):  # one guess a second, each from a different address
        clock.advance(seconds=1)
        answers.append(_try(sqlite_store, str(mine), f"guess-{n:04d}", f"10.1.{n // 250}.{n % 250}"))
    # failures at 1, 2, 3, 4 s, then after waits of 1, 2, 4, 8, 16, 32 s: the 10th (at 67 s) locks the number
    # for 15 minutes; the first guess after the lock (at 967 s) is checked and locks it again at once
    assert answers.count("not found") == DEFAULT_POLICY.lock_after + 1
    assert answers.count("refused") == 1000 - DEFAULT_POLICY.lock_after - 1
    assert "found" not in answers

    # the right token is refused too while the number is locked (not even checked), in one sentence
    with pytest.raises(LookupThrottled) as err:
        status_for_requester(sqlite_store, str(mine), TOKEN, client="10.9.9.9")
    assert str(err.value) == ("Too many wrong tries for this reference number: try again after 9:32 AM "
                              "(in 15 minutes).")
    assert err.value.retry_after == 967 + 900 - 1000

    failed = [r for r in sqlite_store.audit_log() if r["action"] == "lookup_failed"]
    assert len(failed) == DEFAULT_POLICY.lock_after + 1
    assert failed[0]["detail"] == f"reference number {mine} from 10.1.0.0"
    assert failed[0]["request_id"] == mine  # the staff see which request was guessed at
    locked = [r["detail"] for r in sqlite_store.audit_log() if r["action"] == "lookup_locked"]
    assert locked == [f"request:{mine} locked for 15 minutes after {n} failed lookups" for n in (10, 11)]
    logged = repr(sqlite_store.db.query("SELECT * FROM audit_log")) + repr(
        sqlite_store.db.query("SELECT * FROM login_throttle"))
    assert "guess-" not in logged
    assert TOKEN not in logged

    clock.advance(minutes=15)  # the lock ends; the homeowner's own lookup works and clears the number's count
    assert _try(sqlite_store, f"#{mine}", TOKEN, "10.9.9.9") == "found"
    assert _try(sqlite_store, str(mine), "guess", "10.9.9.8") == "not found"  # free again


def test_lookup__one_client_guessing_many_numbers_is_refused_after_the_limit_and_others_are_not(sqlite_store, clock,
                                                                                               mine):
    answers = []
    for n in range(40):
        clock.advance(seconds=1)
        answers.append(_try(sqlite_store, str(100 + n), TOKEN, "10.2.0.1"))
    assert answers[:4] == ["not found"] * 4
    assert answers.count("not found") == 9  # at 1, 2, 3, 4, 5, 7, 11, 19, 35 s; the next may come at 67 s
    assert answers[-1] == "refused"
    with pytest.raises(LookupThrottled,
                       match=r"^Too many wrong tries from this computer: try again in \d+ seconds?\.$"):
        status_for_requester(sqlite_store, str(mine), TOKEN, client="10.2.0.1")
    assert _try(sqlite_store, str(mine), TOKEN, "10.2.0.2") == "found"  # someone else is not slowed down


@pytest.mark.parametrize("number", ["", "abc", "1" * 13, "-1", "1; DROP TABLE requests", "\x00"])
def test_lookup__a_number_that_is_not_a_number_counts_for_the_client_and_is_not_logged_as_typed(sqlite_store, number):
    assert _try(sqlite_store, number, TOKEN, "10.3.0.1") == "not found"
    failed = [r for r in sqlite_store.audit_log() if r["action"] == "lookup_failed"]
    assert [(r["request_id"], r["detail"]) for r in failed] == [(None, "not a reference number from 10.3.0.1")]
    keys = [r["key"] for r in sqlite_store.db.query("SELECT key FROM login_throttle")]
    assert keys == ["lookup-client:10.3.0.1"]


def test_lookup__staff_sign_in_failures_and_lookup_failures_do_not_share_a_count(sqlite_store, clock, mine):
    from sba.requests import AuthError, authenticate

    for _ in range(DEFAULT_POLICY.lock_after):
        clock.advance(minutes=6)
        with pytest.raises(AuthError):
            authenticate(sqlite_store, "alice", "wrong", client="10.4.0.1")
    assert _try(sqlite_store, str(mine), TOKEN, "10.4.0.1") == "found"
