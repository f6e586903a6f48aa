
"""Sanitary sewer volume: winter average, minimums, least-of rule (SPEC §6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from categorize import (
    InvalidBillInputError,
    estimate,
    load_schedule,
    sewer_volume_ccf,
    winter_average_ccf,
)

D = Decimal


# --------------------------------------------------------------------------- #
# Winter average
# --------------------------------------------------------------------------- #
def test_winter_average__seed_quarterly_12_ccf_94_days_is_11_5():
    # 12 / 94 × 90 = 11.489… -> 11.5
    assert winter_average_ccf(12, 94, "quarterly") == D("11.5")


def test_winter_average__seed_monthly_59_ccf_151_days_is_11_7():
    # 59 / 151 = 0.3907 per day × 30 = 11.72 -> 11.7
    assert winter_average_ccf(59, 151, "monthly") == D("11.7")


def test_winter_average__bimonthly_scales_to_60_days(portland):
    assert winter_average_ccf(24, 120, "bimonthly", schedule=portland) == D("12.0")


@pytest.mark.parametrize(
    ("ccf", "days", "period", "expected"),
    [
        ("11.45", 30, "monthly", "11.5"),  # exact half: up
        ("11.449", 30, "monthly", "11.4"),
        ("0.05", 30, "monthly", "0.1"),
        (1, 3, "monthly", "10.0"),
        (10, 3, "quarterly", "300.0"),
    ],
)
def test_winter_average__rounded_to_tenth_half_up(ccf, days, period, expected):
    result = winter_average_ccf(ccf, days, period)
    assert result == D(expected)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("ccf", "days", "period", "kw", "expected"),
    [
        # monthly: 0 ccf -> 2 ccf per period
        (0, 151, "monthly", {}, "2"),
        ("0.5", 151, "monthly", {}, "0.1"),  # 0.099… -> 0.1: above 0, no minimum
        # bimonthly: 0-1 ccf -> 5 ccf
        (0, 120, "bimonthly", {}, "5"),
        (2, 120, "bimonthly", {}, "5"),  # 1.0
        ("2.1", 120, "bimonthly", {}, "1.1"),  # 1.05 -> 1.1: above 1
        # quarterly: 0-2 ccf -> 7 ccf
        (0, 90, "quarterly", {}, "7"),
        (2, 90, "quarterly", {}, "7"),
        ("2.1", 90, "quarterly", {}, "2.1"),
        # multifamily quarterly: 0-2 ccf -> 5 ccf per dwelling unit
        (
            2,
            90,
            "quarterly",
            {"property_class": "multifamily", "dwelling_units": 35},
            "175",
        ),
        (
            0,
            90,
            "quarterly",
            {"property_class": "mixed_use", "dwelling_units": 3},
            "15",
        ),
        (
            3,
            90,
            "quarterly",
            {"property_class": "multifamily", "dwelling_units": 35},
            "3.0",
        ),
        # multifamily monthly/bimonthly: no own row, the general row applies
        (
            0,
            30,
            "monthly",
            {"property_class": "multifamily", "dwelling_units": 10},
            "2",
        ),
    ],
)
def test_winter_average__minimum_table(ccf, days, period, kw, expected):
    assert winter_average_ccf(ccf, days, period, **kw) == D(expected)


def test_winter_average__day_count_period_has_no_minimum():
    assert winter_average_ccf(0, 90, 45) == D("0.0")


def test_winter_average__minimums_are_data(portland_text, write_schedule, replace_once):
    text = replace_once(portland_text, r"^minimum_ccf = 7", "minimum_ccf = 8")
    schedule = load_schedule(write_schedule(text))
    assert winter_average_ccf(0, 90, "quarterly", schedule=schedule) == D("8")
    assert winter_average_ccf(0, 90, "quarterly") == D("7")


def test_winter_average__feeds_the_sewer_line(portland):
    volume = sewer_volume_ccf(
        20, winter_average=winter_average_ccf(12, 94, "quarterly")
    )
    bill = estimate(
        schedule=portland,
        property_class="single_family",
        category="standard",
        water_use_ccf=volume,
        period="quarterly",
    )
    assert bill.lines[0].calculation == "$13.54 × 11.5 ccf"
    assert bill.lines[0].amount == D("155.71")


@pytest.mark.parametrize("days", [0, -3, 2.5, "94"])
def test_winter_average__days_must_be_whole_positive(days):
    with pytest.raises(InvalidBillInputError) as info:
        winter_average_ccf(12, days, "quarterly")
    assert str(info.value) == (
        "The number of days between meter readings must be a whole number above 0 "
        f"(got {days})."
    )


def test_winter_average__negative_use_message():
    with pytest.raises(InvalidBillInputError) as info:
        winter_average_ccf(-1, 90, "quarterly")
    assert str(info.value) == "Winter water use cannot be negative (got -1 ccf)."


def test_winter_average__bad_period_message():
    with pytest.raises(
        InvalidBillInputError, match=r"^Unknown billing period 'yearly'"
    ):
        winter_average_ccf(1, 90, "yearly")


def test_winter_average__schedule_without_sewer(oak_lodge):
    with pytest.raises(InvalidBillInputError) as info:
        winter_average_ccf(12, 94, "quarterly", schedule=oak_lodge)
    assert str(info.value) == (
        "The Oak Lodge Water Services FY 2025-26 rate schedule has no sewer rates, "
        "so it has no winter average."
    )


# --------------------------------------------------------------------------- #
# Billed sewer volume
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("actual", "winter", "klass", "expected"),
    [
        (20, "11.5", None, "11.5"),
        (9, "11.5", None, "9"),
        (20, "11.5", 10, "10"),
        (20, None, 14, "14"),
        (20, None, None, "20"),
        (None, "11.5", 14, "11.5"),
    ],
)
def test_sewer_volume__residential_least_of_actual_winter_class(
    actual, winter, klass, expected
):
    assert sewer_volume_ccf(actual, winter_average=winter, class_average=klass) == D(
        expected
    )


def test_sewer_volume__winter_period_bills_actual():
    assert sewer_volume_ccf(
        20, winter_average="11.5", class_average=5, in_winter_period=True
    ) == D("20")


def test_sewer_volume__winter_period_without_meter_uses_class_average():
    assert sewer_volume_ccf(None, class_average=7, in_winter_period=True) == D("7")


def test_sewer_volume__non_residential_actual_only():
    assert sewer_volume_ccf(
        250, winter_average=100, class_average=50, residential=False
    ) == D("250")


def test_sewer_volume__non_residential_needs_meter_reading():
    with pytest.raises(InvalidBillInputError) as info:
        sewer_volume_ccf(None, winter_average=100, residential=False)
    assert str(info.value) == (
        "Non-residential sewer charges use the metered water use; enter it in ccf."
    )


def test_sewer_volume__nothing_known_message():
    with pytest.raises(InvalidBillInputError) as info:
        sewer_volume_ccf(None)
    assert str(info.value) == (
        "Enter the metered water use in ccf (or a winter or class average) to estimate "
        "the sewer charge."
    )


def test_sewer_volume__negative_message():
    with pytest.raises(
        InvalidBillInputError,
        match=r"^Winter average cannot be negative \(got -2 ccf\)\.$",
    ):
        sewer_volume_ccf(10, winter_average=-2)


def test_sewer_volume__float_input_via_str():
    assert sewer_volume_ccf(11.7, winter_average=12) == D("11.7")
