
"""Clean River Rewards discount estimate (SPEC A3, §4.2)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from categorize import (
    CleanRiverRewards,
    InvalidBillInputError,
    clean_river_rewards_fraction,
    estimate,
    load_schedule,
)

D = Decimal
LABEL = "Clean River Rewards discount (estimate)"
UNCONFIRMED = (
    "The discount is an estimate: its percentages are not confirmed for the current "
    "program, and the utility sets the actual discount after you register."
)


def sfr(schedule, crr, **kw):
    kw = {"category": "standard", "water_use_ccf": 12, "period": "quarterly", **kw}
    return estimate(schedule=schedule, property_class="single_family", crr=crr, **kw)


@pytest.mark.parametrize(
    ("options", "fraction"),
    [
        ({}, "0"),
        ({"full_retention": True}, "1.00"),
        ({"partial_or_detention": True}, "0.67"),
        ({"small_lot": True}, "0.25"),
        ({"trees": True}, "0.08"),
        (
            {"full_retention": True, "partial_or_detention": True},
            "1.00",
        ),  # max, not sum
        ({"partial_or_detention": True, "small_lot": True}, "0.92"),
        ({"partial_or_detention": True, "trees": True}, "0.75"),
        ({"partial_or_detention": True, "small_lot": True, "trees": True}, "1.00"),
        ({"small_lot": True, "trees": True}, "0.33"),
        ({"full_retention": True, "small_lot": True, "trees": True}, "1.00"),  # capped
    ],
)
def test_crr__fraction_components_and_cap(options, fraction):
    assert clean_river_rewards_fraction(**options) == D(fraction)
    assert CleanRiverRewards(**options).fraction() == D(fraction)


def test_crr__discount_35_percent_of_stormwater_charges_seed_sfr(portland):
    bill = sfr(portland, CleanRiverRewards(full_retention=True))
    discount = bill.lines[-1]
    assert discount.item == LABEL
    assert discount.calculation == "-(35% × 1.00) × ($18.93 + $100.89)"
    # 0.35 × (18.93 + 100.8936) = 41.93826
    assert discount.exact == D("-41.938260")
    assert discount.amount == D("-41.94")
    assert bill.total == D("240.37")  # 282.3036 - 41.93826 = 240.36534
    assert bill.crr_fraction == D("1.00")


def test_crr__partial_is_23_45_percent(portland):
    bill = sfr(portland, CleanRiverRewards(partial_or_detention=True))
    # 0.35 × 0.67 = 0.2345; × 119.8236 = 28.0986342
    assert bill.lines[-1].calculation == "-(35% × 0.67) × ($18.93 + $100.89)"
    assert bill.lines[-1].amount == D("-28.10")
    assert bill.total == D("254.20")  # 282.3036 - 28.0986342 = 254.2049658


def test_crr__superfund_not_discounted(portland):
    plain = sfr(portland, None)
    discounted = sfr(portland, CleanRiverRewards(full_retention=True))
    assert discounted.superfund_lines == plain.superfund_lines
    assert discounted.superfund_total == D("1.85")
    # exact: 282.3036 + 0.48 + 1.368 - 41.93826 = 242.21334
    assert discounted.grand_total == D("242.21")


def test_crr__sewer_not_in_base(portland):
    a = sfr(portland, CleanRiverRewards(full_retention=True), water_use_ccf=12)
    b = sfr(portland, CleanRiverRewards(full_retention=True), water_use_ccf=500)
    assert a.lines[-1].exact == b.lines[-1].exact


def test_crr__labelled_estimate_with_warning(portland):
    bill = sfr(portland, CleanRiverRewards(trees=True))
    assert "(estimate)" in bill.lines[-1].item
    assert bill.warnings == (UNCONFIRMED,)


def test_crr__zero_fraction_adds_no_line(portland):
    bill = sfr(portland, CleanRiverRewards())
    assert [ln.item for ln in bill.lines] == [
        "Sanitary sewer",
        "Stormwater service units",
        "Stormwater billable area",
    ]
    assert bill.total == D("282.30")
    assert bill.crr_fraction == D("0")


def test_crr__floodplain_base_uses_floodplain_area_line(portland):
    bill = sfr(
        portland, CleanRiverRewards(full_retention=True), managed_floodplain=True
    )
    # 0.35 × (18.93 + 86.328) = 36.8403
    assert bill.lines[-1].amount == D("-36.84")


def test_crr__non_residential_same_formula_extra_warning(portland):
    bill = estimate(
        schedule=portland,
        property_class="non_residential",
        area_sqft=40000,
        water_use_ccf=250,
        crr=CleanRiverRewards(partial_or_detention=True),
    )
    # 0.2345 × (105.1877 + 572.000) = 158.80051565
    assert bill.lines[-1].calculation == "-(35% × 0.67) × ($105.19 + $572.00)"
    assert bill.lines[-1].amount == D("-158.80")
    assert bill.total == D("4018.39")  # 4177.1877 - 158.80051565 = 4018.38718435
    assert bill.warnings == (
        UNCONFIRMED,
        "For multifamily, mixed-use and non-residential properties the discount is set "
        "only after a site visit, so this one is a rough guide.",
    )


def test_crr__sum_of_rounded_lines_policy(portland):
    bill = sfr(
        portland,
        CleanRiverRewards(full_retention=True),
        total_policy="sum_of_rounded_lines",
    )
    assert bill.total == D("162.48") + D("18.93") + D("100.89") - D("41.94")


def test_crr__schedule_without_program_warns(oak_lodge):
    bill = estimate(
        schedule=oak_lodge,
        property_class="single_family",
        crr=CleanRiverRewards(full_retention=True),
    )
    assert bill.total == D("10.62")
    assert (
        "The Oak Lodge Water Services FY 2025-26 rate schedule has no stormwater discount "
        "program, so no discount is included."
    ) in bill.warnings


def test_crr__fraction_without_program_raises(oak_lodge):
    with pytest.raises(
        InvalidBillInputError, match="has no stormwater discount program"
    ):
        clean_river_rewards_fraction(full_retention=True, schedule=oak_lodge)


def test_crr__components_are_data(portland_text, write_schedule, replace_once):
    text = replace_once(portland_text, r"^max_fraction = 0\.35", "max_fraction = 0.50")
    text = replace_once(
        text, r"^partial_or_detention = 0\.67", "partial_or_detention = 0.50"
    )
    schedule = load_schedule(write_schedule(text))
    assert clean_river_rewards_fraction(
        partial_or_detention=True, schedule=schedule
    ) == D("0.50")
    bill = sfr(schedule, CleanRiverRewards(full_retention=True))
    assert bill.lines[-1].calculation == "-(50% × 1.00) × ($18.93 + $100.89)"


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_crr__options_must_be_bool(value):
    with pytest.raises(TypeError):
        CleanRiverRewards(full_retention=value)
    with pytest.raises(TypeError):
        clean_river_rewards_fraction(trees=value)


def test_crr__estimate_rejects_wrong_type(portland):
    with pytest.raises(TypeError):
        sfr(portland, {"full_retention": True})
