"""Errors raised by the billing rules.

Every error meant for a user is a subclass of :class:`BillingError`, and every
subclass also inherits :class:`ValueError`, so callers can catch either the
project's root or the plain Python type (the rasterio pattern). ``str(err)`` is
one plain-English sentence a homeowner can act on and may be shown as-is.

Programming mistakes (wrong argument types from calling code) raise builtin
exceptions such as :class:`TypeError` and are never dressed up as friendly
messages.

Examples
--------
>>> from categorize.errors import BillingError, NegativeAreaError
>>> issubclass(NegativeAreaError, BillingError), issubclass(NegativeAreaError, ValueError)
(True, True)
"""

from __future__ import annotations

__all__ = [
    "BillingError",
    "InvalidBillInputError",
    "NegativeAreaError",
    "RateScheduleError",
    "UnknownClassError",
]


class BillingError(Exception):
    """Root of errors about billing input or rate schedules; str(err) is shown as-is."""


class RateScheduleError(BillingError, ValueError):
    """A rate schedule cannot be found, read, or is missing or has a bad value."""


class NegativeAreaError(BillingError, ValueError):
    """A billable area below zero was given."""


class UnknownClassError(BillingError, ValueError):
    """A property class name is not one of the supported classes."""


class MissingClassError(UnknownClassError):
    """A parcel's property class column is empty for it."""


class InvalidBillInputError(BillingError, ValueError):
    """Some other bill input (dwelling units, water use, period, option) is not usable."""
