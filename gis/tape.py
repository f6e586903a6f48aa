"""Tape-measure shapes: the City worksheet's way of measuring (SPEC §9).

A homeowner who has no drawing can enter length × width, a circle's diameter,
a triangle, an L-shape, or a square-foot figure they already know.  Areas are
exact ``Decimal`` where the arithmetic allows (all but circles).

>>> worksheet_total(SEED_WORKSHEET)
Decimal('2569.159265358979300')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from categorize.numbers import parse_decimal
from gis.errors import InvalidDimensionError

__all__ = ["SEED_WORKSHEET", "SHAPES", "TapeShape", "tape_area_sqft", "worksheet_total"]

#: shape kind → the dimensions it needs, in feet (or sq ft for "custom")
SHAPES: dict[str, tuple[str, ...]] = {
    "rectangle": ("length", "width"),
    "circle": ("diameter",),
    "triangle": ("base", "height"),
    "l_shape": ("length", "width", "cutout_length", "cutout_width"),
    "custom": ("sqft",),
}


@dataclass(frozen=True)
class TapeShape:
    """One measured feature: ``kind`` from :data:`SHAPES`, dimensions in feet."""

    kind: str
    dims: tuple
    feature_type: str = "other"
    label: str = ""

    @property
    def area_sqft(self) -> Decimal:
        """The shape's area in sq ft from its dimensions (see :func:`tape_area_sqft`)."""
        return tape_area_sqft(self.kind, *self.dims)


#: No side of a tax lot is longer than this many feet (about 19 miles), and no lot has more
#: square feet than :data:`MAX_SQFT`: larger figures are typing slips, and would overflow
#: the exact arithmetic.
MAX_FEET = Decimal(100_000)
MAX_SQFT = Decimal(10) ** 10


def _num(value, name: str) -> Decimal:
    try:
        d = parse_decimal(str(value))
    except (InvalidOperation, ValueError) as err:
        raise InvalidDimensionError(f"The {name} {value!r} is not a number; enter it in feet, like 12.5.") from err
    if not d.is_finite() or d < 0:
        raise InvalidDimensionError(f"The {name} must be zero or more feet (got {value}).")
    if name == "sqft" and d > MAX_SQFT:
        raise InvalidDimensionError(f"{value} sq ft is more than any tax lot has; check the figure.")
    if name != "sqft" and d > MAX_FEET:
        raise InvalidDimensionError(f"The {name} {value} ft is longer than any tax lot; enter it in feet, like 12.5.")
    return d + 0  # -0 is 0


def tape_area_sqft(kind: str, *dims) -> Decimal:
    """Area in sq ft of one tape-measured shape.

    >>> tape_area_sqft("rectangle", 25, 16)
    Decimal('400')
    >>> round(tape_area_sqft("circle", 20))  # diameter 20 ft, as the City's form asks
    314
    >>> tape_area_sqft("l_shape", 40, 30, 10, 10)
    Decimal('1100')
    """
    kind = kind.strip().lower().replace("-", "_").replace(" ", "_")
    if kind not in SHAPES:
        raise InvalidDimensionError(f"Unknown shape {kind!r}; choose one of: {', '.join(SHAPES)}.")
    names = SHAPES[kind]
    if len(dims) != len(names):
        raise InvalidDimensionError(f"A {kind.replace('_', '-')} needs {len(names)} measurements: {', '.join(names)}.")
    v = [_num(x, n) for x, n in zip(dims, names, strict=True)]
    if kind == "rectangle":
        return v[0] * v[1]
    if kind == "circle":
        return Decimal(repr(math.pi)) * (v[0] / 2) ** 2
    if kind == "triangle":
        return v[0] * v[1] / 2
    if kind == "l_shape":
        if v[2] > v[0] or v[3] > v[1]:
            raise InvalidDimensionError("The cut-out of an L-shape must be smaller than the whole rectangle.")
        return v[0] * v[1] - v[2] * v[3]
    return v[0]


def worksheet_total(shapes) -> Decimal:
    """Sum of the exact areas (SPEC A1.5: round only the total, to categorise)."""
    return sum((s.area_sqft for s in shapes), Decimal(0))


#: The seed's "calculate your billable area" worksheet (SPEC §9).
SEED_WORKSHEET = (
    TapeShape("rectangle", (35, 35), "roof", "Main house"),
    TapeShape("custom", (50,), "roof", "Main house entry"),
    TapeShape("rectangle", (25, 16), "garage", "Detached garage/carport"),
    TapeShape("rectangle", (15, 10), "shed", "Shed"),
    TapeShape("rectangle", (30, 10), "driveway", "Driveway"),
    TapeShape("rectangle", (48, 1), "walkway", "Walkway, flagstones"),
    TapeShape("rectangle", (41, 2), "walkway", "Walkway, paved"),
    TapeShape("circle", (20,), "patio", "Circular patio"),
)
