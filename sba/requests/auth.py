"""Staff accounts: scrypt password hashes (standard library), log-in, first admin.

Passwords are never stored: each account keeps
``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` with a 16-byte random salt of its
own (``hashlib.scrypt``, n=2**14, r=8, p=1, 32-byte key). Checks use
:func:`hmac.compare_digest`, and an unknown user name costs the same hash as a
wrong password. Log-ins, failed log-ins, locks and new accounts go to the
audit log. Failed sign-ins are throttled per account name and per client
(:mod:`sba.requests.throttle`).

The first account ever created is an administrator and needs no ``actor``;
every later account must be added by a signed-in administrator (``actor``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sba.requests import throttle
from sba.requests.errors import AuthError
from sba.requests.store import RequestStore

__all__ = ["StaffUser", "add_staff", "authenticate", "get_staff", "hash_password", "list_staff",
           "staff_count", "verify_password"]

_N, _R, _P, _KEY = 2**14, 8, 1, 32
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")


@dataclass(frozen=True)
class StaffUser:
    """A staff member who may sign in: login name, the name shown on letters, and whether they manage staff."""

    username: str
    display_name: str
    is_admin: bool


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``.

    >>> h = hash_password("correct horse")
    >>> h.startswith("scrypt$16384$8$1$"), verify_password("correct horse", h), verify_password("wrong", h)
    (True, True, False)
    """
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_KEY)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a :func:`hash_password` result (constant-time compare)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(key)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt),
                             n=int(n), r=int(r), p=int(p), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY = hash_password("not a real password")


def staff_count(store: RequestStore) -> int:
    """How many active staff accounts the store holds."""
    return int(store.db.scalar("SELECT COUNT(*) FROM staff") or 0)


def get_staff(store: RequestStore, username: str) -> StaffUser | None:
    """The active staff member with this login name (case and spaces ignored), or ``None``."""
    row = store.db.one("SELECT username, display_name, is_admin FROM staff WHERE username = ? AND active = 1",
                       (str(username).strip().lower(),))
    return None if row is None else StaffUser(row["username"], row["display_name"], bool(row["is_admin"]))


def list_staff(store: RequestStore) -> list[StaffUser]:
    """The active staff members, by login name."""
    rows = store.db.query("SELECT username, display_name, is_admin FROM staff WHERE active = 1 ORDER BY username")
    return [StaffUser(r["username"], r["display_name"], bool(r["is_admin"])) for r in rows]


def add_staff(store: RequestStore, username: str, password: str, *, display_name: str = "",
              admin: bool = False, actor: str | None = None) -> StaffUser:
    """Create a staff account.

    Parameters
    ----------
    username
        2-40 characters: lower-case letters, digits, ``.``, ``_``, ``-``.
    password
        At least 8 characters.
    admin
        May add other accounts in the app. The first account is always an admin.
    actor
        The signed-in administrator adding the account; ``None`` only for
        the first account (the set-up command).

    Raises
    ------
    AuthError
        Bad user name, short password, name taken, ``actor`` is not an
        admin, or no ``actor`` once an account exists.
    """
    name = str(username).strip().lower()
    if not _USERNAME.match(name):
        raise AuthError(f"User name {username!r} is not allowed: use 2-40 lower-case letters, digits, '.', '_' or '-'.")
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"The password must have at least {MIN_PASSWORD} characters.")
    if actor is not None:
        who = get_staff(store, actor)
        if who is None or not who.is_admin:
            raise AuthError("Only an administrator can add staff accounts.")
    with store.db.transaction():
        if store.db.scalar("SELECT COUNT(*) FROM staff WHERE username = ?", (name,)):
            raise AuthError(f"There is already a staff account called {name!r}.")
        first = staff_count(store) == 0
        if actor is None and not first:
            raise AuthError("Only a signed-in administrator can add staff accounts once the first one exists.")
        user = StaffUser(name, display_name.strip() or name, bool(admin or first))
        store.db.execute(
            "INSERT INTO staff (username, display_name, password_hash, is_admin, active, created_at) "
            "VALUES (?, ?, ?, ?, 1, ?)",
            (user.username, user.display_name, hash_password(password), int(user.is_admin), store.now_text()),
        )
        store.append_audit(actor or "set-up command", "add_staff",
                           after={"username": user.username, "display_name": user.display_name,
                                  "is_admin": user.is_admin},
                           detail="first account (administrator)" if first else "")
    return user


def authenticate(store: RequestStore, username: str, password: str, *, client: str = "",
                 policy: throttle.ThrottlePolicy = throttle.DEFAULT_POLICY, via: str = "") -> StaffUser:
    """Check a log-in; returns the staff member.

    Parameters
    ----------
    client
        Where the try comes from (the browser's address, or the command
        line's user); failures are throttled per client too. ``""``: account
        throttling only.
    policy
        When failures slow down and lock (:class:`~sba.requests.throttle.ThrottlePolicy`).
    via
        Noted in the audit row (e.g. the command that signed in).

    Raises
    ------
    SignInThrottled
        Too many failures for the account or the client: the password was not checked.
    AuthError
        Unknown user or wrong password (the same message for both).
    """
    name = str(username).strip().lower()[:100]
    keys = [f"account:{name}"] + ([f"client:{client}"] if client else [])
    where = "; ".join(x for x in (f"from {client}" if client else "", via) if x)
    throttle.check(store, keys, policy)
    row = store.db.one("SELECT username, display_name, is_admin, password_hash FROM staff "
                       "WHERE username = ? AND active = 1", (name,))
    ok = verify_password(password, row["password_hash"] if row else _DUMMY) and row is not None
    if not ok:
        store.append_audit(name or "(blank)", "login_failed", detail=where)
        for key, failures in throttle.record_failure(store, keys, policy):
            store.append_audit(name or "(blank)", "login_locked",
                               detail=f"{key} locked for {policy.lock_minutes} minutes after {failures} "
                                      f"failed sign-ins" + (f" ({where})" if where else ""))
        raise AuthError("Wrong user name or password.")
    throttle.clear(store, keys)
    store.append_audit(name, "login", detail=where)
    return StaffUser(row["username"], row["display_name"], bool(row["is_admin"]))
