"""Numbers as people type them into forms: ``2,400`` and ``1,234.5`` with thousands commas.

A comma anywhere else is refused rather than dropped: ``12,5`` is a decimal comma to most of
Europe (12.5) and a slip to a US reader (125), and a bill must not pick one silently.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["parse_decimal"]

_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?")


def parse_decimal(text: str) -> Decimal:
    """``text`` as a Decimal, with commas only between groups of three digits.

    Raises :class:`decimal.InvalidOperation` for text that is not a number so written.

    >>> parse_decimal(" 2,400.50 ")
    Decimal('2400.50')
    >>> parse_decimal("12,5")
    Traceback (most recent call last):
    ...
    decimal.InvalidOperation: '12,5': a comma may only group thousands (2,400)
    """
    s = str(text).strip()
    if "," in s:
        if not _GROUPED.fullmatch(s):
            raise InvalidOperation(f"{text!r}: a comma may only group thousands (2,400)")
        s = s.replace(",", "")
    return Decimal(s)
