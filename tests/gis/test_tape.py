"""Tape-measure shapes and the City's worksheet (SPEC §9, A1.5)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from categorize import billable_sqft, categorize_sfr, load_schedule
from gis.errors import InvalidDimensionError
from gis.tape import SEED_WORKSHEET, TapeShape, tape_area_sqft, worksheet_total


def test_worksheet__seed_example_is_2569_sqft_standard():
    total = worksheet_total(SEED_WORKSHEET)
    assert round(total, 2) == Decimal("2569.16")
    whole = billable_sqft(total)
    assert whole == Decimal(2569)
    assert categorize_sfr(whole, load_schedule("portland-bes-fy2025-26")).name == "standard"


@pytest.mark.parametrize(
    ("kind", "dims", "area"),
    [
        ("rectangle", (35, 35), Decimal(1225)),
        ("rectangle", ("41", "2"), Decimal(82)),
        ("triangle", (10, 8), Decimal(40)),
        ("l_shape", (40, 30, 10, 10), Decimal(1100)),
        ("custom", ("1,275",), Decimal(1275)),
        ("Circle", (20,), None),
    ],
)
def test_tape_area__shapes(kind, dims, area):
    got = tape_area_sqft(kind, *dims)
    if area is None:
        assert round(got) == 314  # pi * 10^2, as the City's form rounds it
    else:
        assert got == area


@pytest.mark.parametrize(
    ("kind", "dims", "message"),
    [
        ("rectangle", (-3, 4), "zero or more"),
        ("rectangle", ("abc", 4), "not a number"),
        ("rectangle", (3,), "needs 2 measurements"),
        ("hexagon", (3,), "Unknown shape"),
        ("l_shape", (10, 10, 20, 5), "smaller than the whole"),
        ("circle", ("nan",), "zero or more"),
        ("rectangle", ("1e999999999", 2), "longer than any tax lot"),  # Decimal overflowed: not a user error
        ("rectangle", ("1e500000", "1e500000"), "longer than any tax lot"),
        ("custom", ("1e12",), "more than any tax lot"),
    ],
)
def test_tape_area__bad_dimensions_explain(kind, dims, message):
    with pytest.raises(InvalidDimensionError, match=message):
        tape_area_sqft(kind, *dims)


def test_tape_shape__carries_type_and_area():
    shape = TapeShape("rectangle", (30, 10), "driveway", "Driveway")
    assert shape.area_sqft == Decimal(300)
    assert shape.feature_type == "driveway"


def test_tape_area__minus_zero_is_zero():
    assert str(tape_area_sqft("rectangle", "-0", 5)) == "0"
