"""A homeowner's status lookup (reference number + private status token), throttled and logged.

Guessing a token (120 random bits) is hopeless, but nobody should be able to
try at machine speed: failed lookups are counted per reference number
(``request:N``, whoever tries) and per client (``lookup-client:ADDRESS``,
whatever number it tries) by :mod:`sba.requests.throttle`, with the same
policy as staff sign-ins (3 free failures, then waits of 1, 2, 4 ... seconds,
a 15-minute lock after 10). While a key waits or is locked, a lookup is
refused before the token is checked.

Each failed lookup is an audit row (``lookup_failed``: the number tried and the
client; never the token, nor its hash), and each lock is one more
(``lookup_locked``), so staff see when someone guesses at a request. A lock
on a reference number also keeps its rightful owner out until it ends; the
City still sends the outcome by email or letter.
"""

from __future__ import annotations

from typing import Any

from sba.requests import throttle
from sba.requests.errors import NotFoundError
from sba.requests.store import RequestStore, StoredFile, parse_reference
from sba.requests.text import mask_account

__all__ = ["ACTOR", "letter_for_requester", "mask_account", "status_for_requester"]

#: who the audit log says tried
ACTOR = "homeowner (web)"


def status_for_requester(store: RequestStore, number: str, token: str, *, client: str = "",
                         policy: throttle.ThrottlePolicy = throttle.DEFAULT_POLICY) -> dict[str, Any]:
    """What a homeowner may see of their request (:meth:`RequestStore.status_for_requester`), throttled.

    Parameters
    ----------
    number, token
        As typed (or as read from the status link).
    client
        Where the try comes from (the browser's address); ``""``: per-number throttling only.

    Raises
    ------
    LookupThrottled
        Too many failures for this number or from this client; the token was not checked.
    NotFoundError
        No request matches (one sentence for every wrong pair).
    """
    request_id = parse_reference(number)
    keys = ([f"request:{request_id}"] if request_id is not None else []) + (
        [f"lookup-client:{client}"] if client else [])
    throttle.check(store, keys, policy, throttle.LOOKUPS)
    try:
        found = store.status_for_requester(number, token=token)
    except NotFoundError:
        _log_failure(store, request_id, client, keys, policy)
        raise
    if request_id is not None:  # only the token's holder gets here: their number starts afresh
        throttle.clear(store, keys[:1])
    return found


def letter_for_requester(store: RequestStore, request_id: int) -> tuple[StoredFile, bytes] | None:
    """The request's latest decision letter (Markdown) as a web page may show it: the account number the
    homeowner typed is masked (:func:`mask_account`) wherever it appears. Call only after
    :func:`status_for_requester` found the request."""
    letter = store.latest_file(request_id, "letter_md")
    if letter is None:
        return None
    account = store.db.scalar("SELECT account_number FROM requests WHERE id = ?", (int(request_id),)) or ""
    text = letter[1].decode("utf-8")
    return letter[0], (text.replace(account, mask_account(account)) if account else text).encode("utf-8")


def _log_failure(store: RequestStore, request_id: int | None, client: str, keys: list[str],
                 policy: throttle.ThrottlePolicy) -> None:
    exists = request_id is not None and store.db.scalar("SELECT 1 FROM requests WHERE id = ?", (request_id,))
    tried = "not a reference number" if request_id is None else f"reference number {request_id}"
    store.append_audit(ACTOR, "lookup_failed", request_id if exists else None,
                       detail=tried + (f" from {client}" if client else ""))
    for key, failures in throttle.record_failure(store, keys, policy) if keys else ():
        store.append_audit(ACTOR, "lookup_locked", request_id if exists else None,
                           detail=f"{key} locked for {policy.lock_minutes} minutes after {failures} failed lookups")
