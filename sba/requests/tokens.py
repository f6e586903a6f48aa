"""API tokens: an administrator lets a script act as one staff account, for a limited time.

A token is ``sba_`` + 43 random URL-safe characters (256 bits), shown once
when made. The database keeps only its SHA-256 (a fast hash is enough for a
random secret of that length), the account, a label, who made it, and when it
expires or was revoked. Every use, failed use, creation and revocation is in
the audit log. A token stops working when it expires, is revoked, or its
account is no longer active.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sba.requests.auth import StaffUser, get_staff
from sba.requests.errors import AuthError, NotFoundError
from sba.requests.store import RequestStore, parse_utc

__all__ = ["MAX_DAYS", "authenticate_token", "create_token", "list_tokens", "revoke_token"]

MAX_DAYS = 366
PREFIX = "sba_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def _require_admin(store: RequestStore, actor: str) -> StaffUser:
    who = get_staff(store, actor)
    if who is None or not who.is_admin:
        raise AuthError("Only an administrator can make or revoke API tokens.")
    return who


def create_token(store: RequestStore, username: str, *, actor: str, label: str = "",
                 days: int = 90) -> tuple[int, str]:
    """Make a token for ``username``; returns its number and the token (which cannot be shown again).

    Raises
    ------
    AuthError
        ``actor`` is not an administrator, or ``username`` is not an active account.
    """
    admin = _require_admin(store, actor)
    user = get_staff(store, username)
    if user is None:
        raise AuthError(f"{username!r} is not an active staff account.")
    if not 1 <= int(days) <= MAX_DAYS:
        raise AuthError(f"A token lasts from 1 to {MAX_DAYS} days (got {days}).")
    token = PREFIX + secrets.token_urlsafe(32)
    expires = store.now() + dt.timedelta(days=int(days))
    label = " ".join(str(label).split())[:80] or "API token"
    with store.db.transaction():
        token_id = int(store.db.scalar(
            "INSERT INTO api_tokens (username, label, token_hash, created_by, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (user.username, label, _digest(token), admin.username, store.now_text(), _text(expires))))
        store.append_audit(admin.username, "add_token", after={"token": token_id, "username": user.username,
                                                               "label": label, "expires_at": _text(expires)})
    return token_id, token


def authenticate_token(store: RequestStore, token: str, *, via: str = "") -> StaffUser:
    """The staff account a valid token stands for (the use is logged).

    Raises
    ------
    AuthError
        Unknown, expired or revoked token, or an inactive account.
    """
    row = store.db.one("SELECT id, username, label, expires_at, revoked_at FROM api_tokens WHERE token_hash = ?",
                       (_digest(str(token)),))
    user = get_staff(store, row["username"]) if row else None
    if row is None or row["revoked_at"] or parse_utc(row["expires_at"]) <= store.now() or user is None:
        store.append_audit("(API token)", "token_failed", detail=via,
                           after=None if row is None else {"token": row["id"]})
        raise AuthError("This API token is not valid: it is unknown, expired or revoked.")
    store.append_audit(user.username, "login",
                       detail="; ".join(x for x in (f"API token {row['id']} ({row['label']})", via) if x))
    return user


def revoke_token(store: RequestStore, token_id: int, *, actor: str) -> None:
    """Stop a token from working.

    Raises
    ------
    AuthError
        ``actor`` is not an administrator.
    NotFoundError
        No such token, or it was already revoked.
    """
    admin = _require_admin(store, actor)
    with store.db.transaction():
        n = store.db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                             (store.now_text(), int(token_id)))
        if n != 1:
            raise NotFoundError(f"There is no API token number {token_id} that is still valid.")
        store.append_audit(admin.username, "revoke_token", after={"token": int(token_id)})


def list_tokens(store: RequestStore) -> list[dict[str, Any]]:
    """Every token's number, account, label and dates (never the token)."""
    return store.db.query("SELECT id, username, label, created_by, created_at, expires_at, revoked_at "
                          "FROM api_tokens ORDER BY id")


def _text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
