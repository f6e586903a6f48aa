"""Errors of the staff-review tool; ``str(err)`` is one plain sentence shown as-is.

Each subclass also inherits the matching builtin (as rasterio does), so a caller
can catch :class:`RequestError` or the plain Python type.
"""

from __future__ import annotations

from sba.errors import SbaError

__all__ = [
    "AuthError",
    "ConflictError",
    "DecisionError",
    "IneligibleError",
    "LookupThrottled",
    "NotFoundError",
    "OpenRequestExists",
    "PackageRejected",
    "RequestError",
    "SignInThrottled",
    "StoreError",
]


class RequestError(SbaError):
    """Root of every error a staff member or a requester can act on."""


class StoreError(RequestError, OSError):
    """The request database cannot be opened, or was made by a newer version."""


class PackageRejected(RequestError, ValueError):
    """An evidence package or GeoJSON submission cannot be imported (nothing is stored)."""


class IneligibleError(PackageRejected):
    """The lot or the requester is not eligible for a single-family category change.

    ``reasons`` lists every failed check, in plain words.
    """

    def __init__(self, message: str, reasons: list[str] | tuple[str, ...] = ()):
        super().__init__(message)
        self.reasons = list(reasons)


class OpenRequestExists(PackageRejected):
    """The lot already has an undecided request (``open_id``, or ``None`` when the database's own check
    found it); the message is worded for staff, the homeowner pages say it their way."""

    def __init__(self, message: str, open_id: int | None = None):
        super().__init__(message)
        self.open_id = open_id


class NotFoundError(RequestError, KeyError):
    """There is no request (or staff account) with that id."""

    def __str__(self) -> str:  # KeyError would add quotes
        return str(self.args[0]) if self.args else ""


class ConflictError(RequestError, RuntimeError):
    """Someone else changed or decided the request first; the other change was kept."""


class DecisionError(RequestError, ValueError):
    """A decision or adjustment that cannot be recorded (back-dated, no reason, ...)."""


class AuthError(RequestError, PermissionError):
    """Wrong user name or password, or a staff account that may not do this."""


class SignInThrottled(AuthError):
    """Too many failed sign-ins: wait ``retry_after`` seconds (the password was not checked)."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class LookupThrottled(RequestError, PermissionError):
    """Too many wrong reference numbers or status tokens: wait ``retry_after`` seconds (nothing was looked up)."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after
