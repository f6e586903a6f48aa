"""sba.addresses: the address search behind "Or search by address"."""

from __future__ import annotations

import doctest

import pytest

import sba.addresses
from sba.addresses import closest_addresses, normalise_address

LOTS = {"R100072": "639 SE Sellwood Blvd", "R100048": "634 SE Sellwood Blvd", "R100061": "1211 SE Umatilla St",
        "R100037": "1211 SE Spokane St", "R100999": ""}


@pytest.mark.parametrize(("typed", "normal"), [
    ("639 Southeast Sellwood Boulevard", "639 se sellwood blvd"),
    ("639 S.E. SELLWOOD BLVD.", "639 se sellwood blvd"),
    ("1211 se umatilla street", "1211 se umatilla st"),
    ("12 North West Avenue", "12 nw ave"),
])
def test_normalise_address__usps_suffixes_directions_case_and_dots(typed, normal):
    assert normalise_address(typed) == normal


def test_closest_addresses__forgives_spelling_word_order_and_a_missing_house_number():
    assert closest_addresses("639 se selwood boulevard", LOTS)[0][0] == "R100072"
    assert closest_addresses("umatila 1211", LOTS)[0][0] == "R100061"
    assert {lot for lot, _ in closest_addresses("Sellwood Boulevard", LOTS)} == {"R100072", "R100048"}
    assert closest_addresses("r100999", LOTS) == [("R100999", 100.0)]  # a lot id, exactly
    assert closest_addresses("42 Nowhere Lane", LOTS) == []
    assert closest_addresses("   ", LOTS) == []


def test_addresses__doctests_pass():
    assert doctest.testmod(sba.addresses).failed == 0


@pytest.mark.parametrize("typed", ["６３９ SE Sellwood Blvd", "٦٣٩ SE Sellwood Blvd", "६३९ se sellwood blvd"])
def test_addresses__house_numbers_in_other_digits_find_that_house(typed):
    """Full-width or Arabic-Indic digits were dropped, so the street alone matched its first house."""
    labels = {"R100045": "610 SE Sellwood Blvd", "R100046": "639 SE Sellwood Blvd"}
    assert closest_addresses(typed, labels)[0][0] == "R100046"
    assert normalise_address(typed) == "639 se sellwood blvd"
