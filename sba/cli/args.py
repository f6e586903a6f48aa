"""What every ``sba`` command line shares: the usage error, the parser, number arguments, JSON output.

Kept apart from :mod:`sba.cli.command` so that the command modules
can use them without importing the main command line (which imports them).
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from categorize.numbers import parse_decimal

if TYPE_CHECKING:
    from categorize import RateSchedule

__all__ = ["CRS_HELP", "Parser", "UsageError", "decimal_number", "print_json", "rate_schedule", "whole_number"]

CRS_HELP = ("measure areas in this projected CRS, e.g. EPSG:2913 (your utility's official projection); "
            "default: the parcels' own CRS when it keeps areas within 0.1 %%, else a local equal-area one")


class UsageError(Exception):
    """A command-line value the user can fix; the message is shown as-is."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line that says where to get help."""

    def error(self, message: str):
        """Refuse a usage mistake with one line (:class:`UsageError`, exit 2) instead of argparse's usage text."""
        message = message[0].upper() + message[1:]
        raise UsageError(f"{message}. Run '{self.prog} --help' to see the options.")


#: Decimal places a typed number may have (trailing zeros aside): areas, water use, tolerances
#: are typed to a few places; 1e-900000 would print a 900,000-character calculation.
MAX_TYPED_PLACES = 6
#: Characters a typed number may have (1,000,000,000,000.000000 is 24).
MAX_TYPED_CHARS = 40


def _shown(text: str) -> str:
    return repr(text if len(text) <= MAX_TYPED_CHARS else text[:MAX_TYPED_CHARS] + "…")


def rate_schedule(name: str | None) -> RateSchedule:
    """The rate schedule called ``name`` (a bundled name or a .toml file), Portland BES when not given.

    An empty ``--rates ''`` is refused like any unknown name, not taken for the default.
    """
    from categorize import DEFAULT_SCHEDULE, load_schedule

    return load_schedule(DEFAULT_SCHEDULE if name is None else name)


def decimal_number(name: str):
    """An argparse type for option ``name``: a finite decimal number, commas allowed (2,400).

    At most :data:`MAX_TYPED_PLACES` decimal places once trailing zeros are dropped (``12.500000``
    is 12.5), and at most :data:`MAX_TYPED_CHARS` characters; how large a number may be is the
    bill's to say, in words.
    """
    def parse(text: str) -> Decimal:
        if len(text) > MAX_TYPED_CHARS:
            raise argparse.ArgumentTypeError(
                f"{name} must be a number of at most {MAX_TYPED_CHARS} characters (got {_shown(text)})")
        try:
            value = parse_decimal(text)
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"{name} must be a number, like 2400 (got {_shown(text)})") from None
        if not value.is_finite():
            raise argparse.ArgumentTypeError(f"{name} must be a finite number (got {_shown(text)})")
        sign, digits, exponent = value.as_tuple()
        if exponent < -MAX_TYPED_PLACES:
            if not any(digits):
                return Decimal(0)  # 0e-900000
            kept = len(digits)
            while exponent < -MAX_TYPED_PLACES and digits[kept - 1] == 0:  # trailing zeros say nothing
                kept, exponent = kept - 1, exponent + 1
            if exponent < -MAX_TYPED_PLACES:
                raise argparse.ArgumentTypeError(
                    f"{name} may have at most {MAX_TYPED_PLACES} decimal places (got {_shown(text)})")
            value = Decimal((sign, digits[:kept], exponent))  # exact: only zeros dropped
        return value

    return parse


def whole_number(name: str):
    """An argparse type for option ``name``: a whole number, anything else refused."""
    def parse(text: str) -> int:
        if len(text) > MAX_TYPED_CHARS:  # int() refuses 4,300+ digits, and the message would echo them
            raise argparse.ArgumentTypeError(f"{name} must be a whole number (got {_shown(text)})")
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number (got {_shown(text)})") from None

    return parse


def print_json(data) -> None:
    """Print ``data`` as indented JSON; Decimals are written as strings so no digit is lost."""
    json.dump(data, sys.stdout, indent=2, default=_default)
    sys.stdout.write("\n")


def _default(obj):
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj)}")
