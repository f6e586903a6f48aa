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


def rate_schedule(name: str | None) -> RateSchedule:
    """The rate schedule called ``name`` (a bundled name or a .toml file), Portland BES by default."""
    from categorize import DEFAULT_SCHEDULE, load_schedule

    return load_schedule(name or DEFAULT_SCHEDULE)


def decimal_number(name: str):
    """An argparse type for option ``name``: a finite decimal number, commas allowed (2,400)."""
    def parse(text: str) -> Decimal:
        try:
            value = parse_decimal(text)
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"{name} must be a number, like 2400 (got {text!r})") from None
        if not value.is_finite():
            raise argparse.ArgumentTypeError(f"{name} must be a finite number (got {text!r})")
        return value

    return parse


def whole_number(name: str):
    """An argparse type for option ``name``: a whole number, anything else refused."""
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number (got {text!r})") from None

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
