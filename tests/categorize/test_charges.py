
"""Categories, service units and charges (SPEC A2, A3, §8, §9)."""

from __future__ import annotations

import dataclasses
import json
import math
from decimal import Decimal

import pytest

from categorize import (
    Bill,
    BillingError,
    BillLine,
    InvalidBillInputError,
    NegativeAreaError,
    Period,
    PropertyClass,
    UnknownClassError,
    billable_sqft,
    categorize_sfr,
    category_distance,
    estimate,
    service_units,
)

D = Decimal


def amounts(lines) -> list[Decimal]:
    return [line.amount for line in lines]


# --------------------------------------------------------------------------- #
# The seed's three worked examples, line by line (SPEC §8)
# --------------------------------------------------------------------------- #
def seed_sfr(portland, **kw) -> Bill:
    return estimate(
        schedule=portland,
        property_class="single_family",
        category="standard",
        water_use_ccf=12,
        period="quarterly",
        **kw,
    )


def seed_multifamily(portland, **kw) -> Bill:
    return estimate(
        schedule=portland,
        property_class="multifamily",
        dwelling_units=35,
        area_sqft=25000,
        water_use_ccf=350,
        period="quarterly",
        **kw,
    )


def seed_non_residential(portland, **kw) -> Bill:
    return estimate(
        schedule=portland,
        property_class="non_residential",
        area_sqft=40000,
        water_use_ccf=250,
        period="monthly",
        **kw,
    )


def test_seed_single_family__lines_and_total_282_30(portland):
    bill = seed_sfr(portland)
    assert [(ln.item, ln.calculation, ln.exact, ln.amount) for ln in bill.lines] == [
        ("Sanitary sewer", "$13.54 × 12 ccf", D("162.48"), D("162.48")),
        ("Stormwater service units", "(1 × $6.310) × 3", D("18.93"), D("18.93")),
        ("Stormwater billable area", "($14.013 × 2.4) × 3", D("100.8936"), D("100.89")),
    ]
    assert bill.total == D("282.30")
    assert bill.category == "standard"
    assert bill.service_units == D("1.00")
    assert bill.billed_area_sqft == D("2400")
    assert bill.warnings == ()


def test_seed_multifamily__lines_and_total_6220_63(portland):
    bill = seed_multifamily(portland)
    assert [(ln.item, ln.calculation, ln.exact, ln.amount) for ln in bill.lines] == [
        ("Sanitary sewer", "$13.54 × 350 ccf", D("4739.00"), D("4739.00")),
        (
            "Stormwater service units",
            "(22.75 × $6.310) × 3",
            D("430.6575"),
            D("430.66"),
        ),
        ("Stormwater billable area", "($14.013 × 25) × 3", D("1050.975"), D("1050.98")),
    ]
    assert bill.service_units == D("22.75")
    assert bill.billed_area_sqft == D("25000")
    assert bill.total == D("6220.63")
    assert bill.category is None


def test_seed_non_residential__lines_and_total_4177_19(portland):
    bill = seed_non_residential(portland)
    assert [(ln.item, ln.calculation, ln.exact, ln.amount) for ln in bill.lines] == [
        ("Sanitary sewer", "$14.00 × 250 ccf", D("3500.00"), D("3500.00")),
        ("Stormwater service units", "16.67 × $6.310", D("105.18770"), D("105.19")),
        ("Stormwater billable area", "$14.300 × 40", D("572.000"), D("572.00")),
    ]
    assert bill.service_units == D("16.67")
    assert bill.total == D("4177.19")


# --------------------------------------------------------------------------- #
# Totals and rounding (SPEC A3, §8.4)
# --------------------------------------------------------------------------- #
def test_total__round_total_of_exact_seed_multifamily(portland):
    bill = seed_multifamily(portland)
    assert sum(ln.exact for ln in bill.lines) == D("6220.6325")
    assert bill.total == D("6220.63")
    assert sum(amounts(bill.lines)) == D("6220.64")  # the seed's total is not this
    assert bill.total_policy == "round_total_of_exact"


def test_total__sum_of_rounded_lines_seed_multifamily(portland):
    bill = seed_multifamily(portland, total_policy="sum_of_rounded_lines")
    assert amounts(bill.lines) == [D("4739.00"), D("430.66"), D("1050.98")]
    assert bill.total == D("6220.64")


@pytest.mark.parametrize("policy", ["round_total_of_exact", "sum_of_rounded_lines"])
def test_total__both_policies_agree_on_sfr_and_non_residential_seeds(portland, policy):
    assert seed_sfr(portland, total_policy=policy).total == D("282.30")
    assert seed_non_residential(portland, total_policy=policy).total == D("4177.19")


def test_total__unknown_policy_lists_choices(portland):
    with pytest.raises(InvalidBillInputError) as info:
        seed_sfr(portland, total_policy="banker")
    assert str(info.value) == (
        "Unknown total policy 'banker'. Choose one of: round_total_of_exact, "
        "sum_of_rounded_lines."
    )


def test_line__period_multiplier_before_rounding(portland):
    # rounding the 30-day amount first would give 430.65 and 1,050.99 (SPEC §8.2)
    bill = seed_multifamily(portland)
    assert amounts(bill.lines)[1:] == [D("430.66"), D("1050.98")]


def test_line__exact_decimal_not_binary_float(portland):
    # round(14.013*25*3, 2) == 1050.97 with floats; Decimal gives the seed's 1,050.98
    assert round(14.013 * 25 * 3, 2) == 1050.97
    assert seed_multifamily(portland).lines[2].amount == D("1050.98")


@pytest.mark.parametrize(
    ("exact", "amount"),
    [
        ("1050.975", "1050.98"),
        ("0.005", "0.01"),
        ("0.004999", "0.00"),
        ("-41.935", "-41.94"),
        ("-0.001", "0.00"),
        ("430.6575", "430.66"),
    ],
)
def test_line__display_rounded_half_up_to_cents(exact, amount):
    line = BillLine.of("x", "x", D(exact))
    assert line.exact == D(exact)
    assert line.amount == D(amount)
    assert str(line.amount) == amount  # never "-0.00"


def test_line__amount_has_two_decimals(portland):
    assert [str(a) for a in amounts(seed_non_residential(portland).lines)] == [
        "3500.00",
        "105.19",
        "572.00",
    ]


# --------------------------------------------------------------------------- #
# Periods (SPEC A3, §5.3)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("value", "name", "days"),
    [
        ("monthly", "monthly", 30),
        ("bimonthly", "bimonthly", 60),
        ("bi-monthly", "bimonthly", 60),
        ("Quarterly", "quarterly", 90),
        ("45", "45 days", 45),
        (45, "45 days", 45),
        (30, "monthly", 30),
        (" 90 days ", "quarterly", 90),
        (1, "1 days", 1),
        (366, "366 days", 366),
    ],
)
def test_period__parse(value, name, days):
    assert Period.parse(value) == Period(name, days)


@pytest.mark.parametrize("value", ["weekly", "", "4.5", 45.0, None, True])
def test_period__unknown_lists_choices(value):
    with pytest.raises(InvalidBillInputError) as info:
        Period.parse(value)
    assert str(info.value) == (
        f"Unknown billing period {value!r}. Choose monthly, bimonthly, quarterly, "
        "or a number of days from 1 to 366."
    )


@pytest.mark.parametrize("days", [0, -5, 367, "0"])
def test_period__days_out_of_range(days):
    with pytest.raises(InvalidBillInputError) as info:
        Period.parse(days)
    assert str(info.value) == (
        f"A billing period must be a whole number of days from 1 to 366 (got {int(days)})."
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("³⁰", "'³⁰'"),  # superscript digits pass str.isdigit but not int()
        ("３０", "'３０'"),  # full-width digits: only ASCII digits are a day count
        ("1" * 5000, "'" + "1" * 40 + "…'"),  # int() refuses more than 4,300 digits
        ("x" * 100_000, "'" + "x" * 40 + "…'"),
    ],
)
def test_period__odd_digits_and_endless_text_are_refused_in_one_short_sentence(value, shown):
    with pytest.raises(InvalidBillInputError) as info:
        Period.parse(value)
    assert str(info.value) == (
        f"Unknown billing period {shown}. Choose monthly, bimonthly, quarterly, "
        "or a number of days from 1 to 366."
    )


@pytest.mark.parametrize(
    ("days", "shown"), [(10**5000, "more than 366"), (-(10**5000), "less than 1")], ids=["huge", "negative_huge"]
)
def test_period__an_enormous_day_count_is_refused_without_printing_it(days, shown):
    with pytest.raises(InvalidBillInputError) as info:
        Period.parse(days)
    assert str(info.value) == f"A billing period must be a whole number of days from 1 to 366 (got {shown})."


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"area_sqft": "9" * 100_000}, "Billable area of " + "9" * 40 + "… square feet is too large to be real; "
                                       "check the number."),
        ({"area_sqft": 10**5000}, "Billable area of 1" + "0" * 39 + "… square feet is too large to be real; "
                                  "check the number."),
        ({"area_sqft": "z" * 100_000}, "Billable area must be a number of square feet (got '" + "z" * 40 + "…')."),
    ],
    ids=["long_text", "huge_int", "long_word"],
)
def test_estimate__an_endless_number_is_refused_in_a_short_sentence(portland, kw, message):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(schedule=portland, property_class="non_residential", **kw)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("units", "message"),
    [
        (10**5000, "A lot has at most 100,000 dwelling units (got 1" + "0" * 39 + "…); check the number."),
        (-(10**5000), "Dwelling units must be a whole number of 0 or more (got -1" + "0" * 38 + "…)."),
        ("9" * 100_000, "Dwelling units must be a whole number of 0 or more (got " + "9" * 40 + "…)."),
    ],
    ids=["huge", "negative_huge", "long_text"],
)
def test_dwelling_units__an_endless_count_is_refused_in_a_short_sentence(portland, units, message):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(schedule=portland, property_class="multifamily", area_sqft=2000, dwelling_units=units)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("period", "ssu", "area"),
    [
        ("monthly", "6.31", "33.63"),  # 33.6312
        ("bimonthly", "12.62", "67.26"),  # 67.2624
        ("quarterly", "18.93", "100.89"),  # 100.8936
        (45, "9.47", "50.45"),  # 9.465, 50.4468
    ],
)
def test_period__stormwater_prorated_by_days_over_30(portland, period, ssu, area):
    bill = estimate(
        schedule=portland,
        property_class="single_family",
        category="standard",
        period=period,
    )
    assert amounts(bill.lines) == [D(ssu), D(area)]


def test_period__odd_day_count_exact_and_shown_as_fraction(portland):
    bill = estimate(
        schedule=portland,
        property_class="single_family",
        category="standard",
        period=31,
    )
    ssu = bill.lines[0]
    assert ssu.calculation == "(1 × $6.310) × 31/30"
    assert ssu.amount == D("6.52")  # 6.310 × 31 / 30 = 6.52033…
    assert bill.lines[1].calculation == "($14.013 × 2.4) × 31/30"


def test_sewer__not_prorated_by_days(portland):
    for period in ("monthly", "quarterly", 45):
        bill = estimate(
            schedule=portland,
            property_class="single_family",
            category="standard",
            water_use_ccf=12,
            period=period,
        )
        assert bill.lines[0].amount == D("162.48")


# --------------------------------------------------------------------------- #
# Whole square feet (SPEC A1.5)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("area", "whole"),
    [
        (1499.5, "1500"),
        (1499.49, "1499"),
        ("2569.16", "2569"),
        (D("2700.5"), "2701"),
        (0, "0"),
        (0.4, "0"),
        (0.5, "1"),
        ("25,000", "25000"),
        (2.675, "3"),
    ],
)
def test_billable_sqft__whole_sqft_half_up(area, whole):
    assert billable_sqft(area) == D(whole)
    assert billable_sqft(area).as_tuple().exponent == 0


def test_billable_sqft__float_converted_via_str():
    # Decimal(1500.49) would be 1500.490000000000009094947017729282379150390625
    assert billable_sqft(1500.49) == D("1500")
    assert billable_sqft(0.1 + 0.2) == D("0")


@pytest.mark.parametrize(
    ("area", "shown"), [(-5, "-5"), (-0.5, "-0.5"), ("-12.25", "-12.25")]
)
def test_billable_sqft__negative_message(area, shown):
    with pytest.raises(NegativeAreaError) as info:
        billable_sqft(area)
    assert str(info.value) == f"Billable area cannot be negative (got {shown} sq ft)."
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("area", ["lots", float("nan"), float("inf"), "NaN"])
def test_billable_sqft__not_a_number_message(area):
    with pytest.raises(
        InvalidBillInputError,
        match=r"^Billable area must be a number of square feet \(got",
    ):
        billable_sqft(area)


@pytest.mark.parametrize("area", [D("1e400"), "1e27", 1e300, D("1000000000000000")])
def test_billable_sqft__an_area_too_large_to_be_real_is_refused_not_a_decimal_error(area):
    with pytest.raises(InvalidBillInputError, match=r"^Billable area of .* square feet is too large"):
        billable_sqft(area)


def test_billable_sqft__the_largest_real_area_still_rounds():
    assert billable_sqft(D("999999999999999.5")) == D("1000000000000000")
    assert billable_sqft(2.7e12) == D("2700000000000")  # about the whole of Oregon


def test_billable_sqft__wrong_type_is_programming_error():
    with pytest.raises(TypeError):
        billable_sqft(True)
    with pytest.raises(TypeError):
        billable_sqft([1500])


# --------------------------------------------------------------------------- #
# Single-family categories (SPEC A2, §1.1)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("area", "category"),
    [
        (0, "small"),
        (1, "small"),
        (1499, "small"),
        (1500, "small"),
        (1500.49, "small"),
        (D("1500.4999"), "small"),
        (1500.5, "standard"),
        (1501, "standard"),
        (2569, "standard"),
        (2700, "standard"),
        (2700.49, "standard"),
        (2700.5, "large"),
        (2701, "large"),
        (100000, "large"),
    ],
)
def test_sfr_categories__thresholds_1500_2700(portland, area, category):
    assert categorize_sfr(area, portland).name == category
    assert (
        estimate(
            schedule=portland, property_class="single_family", area_sqft=area
        ).category
        == category
    )


@pytest.mark.parametrize(
    ("category", "billed", "area_line"),
    [
        ("small", "1000", "14.01"),
        ("standard", "2400", "33.63"),
        ("large", "3500", "49.05"),
    ],
)
def test_sfr_categories__billed_at_category_sqft(portland, category, billed, area_line):
    bill = estimate(
        schedule=portland, property_class="single_family", category=category
    )
    assert bill.billed_area_sqft == D(billed)
    assert bill.lines[1].amount == D(area_line)


def test_sfr_categories__measured_area_kept_exact(portland):
    bill = estimate(
        schedule=portland, property_class="single_family", area_sqft=2569.16
    )
    assert bill.measured_area_sqft == D("2569.16")
    assert bill.whole_sqft == D("2569")
    assert bill.billed_area_sqft == D("2400")


def test_worksheet__2569_sqft_standard(portland):
    # SPEC §9: sum exact feature areas, round the total half-up, then categorise
    features = [1275, 25 * 16, 15 * 10, 30 * 10, 48 * 1, 41 * 2, math.pi * 10**2]
    whole = billable_sqft(sum(features))
    assert whole == D("2569")
    assert categorize_sfr(whole, portland).name == "standard"
    distance = category_distance(whole, portland)
    assert distance.headroom_sqft == D("131")  # "131 sq ft below large"
    assert distance.sqft_to_next_up == D("132")


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        (2569, ("standard", "large", "132", "small", "1069")),
        (1500, ("small", "standard", "1", None, None)),
        (0, ("small", "standard", "1501", None, None)),
        (2701, ("large", None, None, "standard", "1")),
        (1501, ("standard", "large", "1200", "small", "1")),
    ],
)
def test_category_distance__to_next_up_and_down(portland, area, expected):
    d = category_distance(area, portland)
    cat, up, to_up, down, to_down = expected
    assert d.category == cat
    assert d.next_up == up
    assert d.sqft_to_next_up == (None if to_up is None else D(to_up))
    assert d.next_down == down
    assert d.sqft_to_next_down == (None if to_down is None else D(to_down))


def test_category_distance__on_sfr_bill_only_when_area_known(portland):
    with_area = estimate(
        schedule=portland, property_class="single_family", area_sqft=2569
    )
    assert with_area.category_distance.to_dict() == {
        "category": "standard",
        "whole_sqft": "2569",
        "next_up": "large",
        "sqft_to_next_up": "132",
        "headroom_sqft": "131",
        "next_down": "small",
        "sqft_to_next_down": "1069",
    }
    assert seed_sfr(portland).category_distance is None
    assert seed_multifamily(portland).category_distance is None


def test_estimate__category_given_wins_over_area_with_warning(portland):
    bill = estimate(
        schedule=portland,
        property_class="single_family",
        category="standard",
        area_sqft=2900,
    )
    assert bill.category == "standard"
    assert bill.billed_area_sqft == D("2400")
    assert bill.warnings == (
        "Your measured area (2,900 sq ft) falls in the large category, but this estimate "
        "uses the category you gave (standard).",
    )


def test_estimate__category_agreeing_with_area_no_warning(portland):
    bill = estimate(
        schedule=portland,
        property_class="single_family",
        category="Standard",
        area_sqft=2000,
    )
    assert bill.warnings == ()


# --------------------------------------------------------------------------- #
# Unverified placeholders (SPEC A2)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("kw", "warning"),
    [
        (
            {"category": "small"},
            "The billed area for the small category (1,000 sq ft) is an unverified placeholder, "
            "not an official City figure.",
        ),
        (
            {"area_sqft": 1200},
            "The billed area for the small category (1,000 sq ft) is an unverified placeholder, "
            "not an official City figure.",
        ),
        (
            {"category": "large"},
            "The billed area for the large category (3,500 sq ft) is an unverified placeholder, "
            "not an official City figure.",
        ),
        (
            {"area_sqft": 4000},
            "The billed area for the large category (3,500 sq ft) is an unverified placeholder, "
            "not an official City figure.",
        ),
    ],
)
def test_unverified__small_large_warn(portland, kw, warning):
    bill = estimate(schedule=portland, property_class="single_family", **kw)
    assert warning in bill.warnings
    assert warning in bill.to_dict()["warnings"]


@pytest.mark.parametrize("kw", [{"category": "standard"}, {"area_sqft": 2569}])
def test_unverified__standard_has_no_warning(portland, kw):
    assert (
        estimate(schedule=portland, property_class="single_family", **kw).warnings == ()
    )


def test_unverified__measured_classes_have_no_category_warning(portland):
    assert seed_multifamily(portland).warnings == ()
    assert seed_non_residential(portland).warnings == ()


# --------------------------------------------------------------------------- #
# Dwelling units and service units (SPEC A2, §1.3)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("units", "ssu", "line"), [(1, "1.00", "6.31"), (2, "2.00", "12.62")]
)
def test_service_units__single_family_one_per_dwelling_unit(portland, units, ssu, line):
    bill = estimate(
        schedule=portland,
        property_class="single_family",
        dwelling_units=units,
        category="standard",
    )
    assert bill.service_units == D(ssu)
    assert bill.lines[0].amount == D(line)
    assert bill.billed_area_sqft == D("2400")  # one category for the lot (duplex / ADU)


@pytest.mark.parametrize(
    ("units", "ssu"),
    [(3, "1.95"), (4, "2.60"), (5, "3.25"), (35, "22.75"), (101, "65.65")],
)
def test_service_units__multifamily_0_65_per_dwelling_unit(portland, units, ssu):
    assert service_units("multifamily", portland, dwelling_units=units) == D(ssu)


@pytest.mark.parametrize("units", [100_001, 10**20])
def test_service_units__more_dwellings_than_any_lot_holds_is_refused(portland, units):
    with pytest.raises(InvalidBillInputError, match=r"at most 100,000 dwelling units"):
        service_units("multifamily", portland, dwelling_units=units)


def test_service_units__the_largest_real_count_still_bills(portland):
    assert service_units("multifamily", portland, dwelling_units=100_000) == D("65000.00")


@pytest.mark.parametrize(("units", "ssu"), [(1, "0.65"), (12, "7.80")])
def test_service_units__mixed_use_0_65_per_dwelling_no_commercial_units(
    portland, units, ssu
):
    bill = estimate(
        schedule=portland,
        property_class="mixed_use",
        dwelling_units=units,
        area_sqft=50000,
    )
    assert bill.service_units == D(ssu)  # not + 50,000 / 2,400


@pytest.mark.parametrize(
    ("sqft", "ssu"),
    [
        (40000, "16.67"),  # 16.666… (seed)
        (136000, "56.67"),  # 56.666… (seed)
        (2400, "1.00"),
        (12, "0.01"),  # 0.005 exactly: half-up, where half-even would give 0.00
        (36, "0.02"),  # 0.015
        (11, "0.00"),  # 0.00458…
        (0, "0.00"),
        (25000.4, "10.42"),  # whole sq ft first: 25,000 / 2,400 = 10.4166…
    ],
)
def test_service_units__non_residential_sba_over_2400(portland, sqft, ssu):
    assert service_units("non_residential", portland, area_sqft=sqft) == D(ssu)


@pytest.mark.parametrize(
    ("raw_sqft", "expected"),
    [(12, "0.01"), (36, "0.02"), (60, "0.03"), (40000, "16.67")],
)
def test_service_units__rounded_two_decimals_half_up(portland, raw_sqft, expected):
    units = service_units("non_residential", portland, area_sqft=raw_sqft)
    assert units == D(expected)
    assert units.as_tuple().exponent == -2


def test_service_units__rounded_before_pricing_reproduces_seed(portland):
    # unrounded 16.666… × 6.310 = 105.17 would make the total 4,177.17 (SPEC §8.3)
    assert (D(40000) / D(2400) * D("6.310")).quantize(D("0.01")) == D("105.17")
    assert seed_non_residential(portland).lines[1].amount == D("105.19")


def test_individually_metered__1000_sqft_per_dwelling_and_0_65_units(portland):
    bill = estimate(
        schedule=portland,
        property_class="single_family",
        dwelling_units=3,
        individually_metered=True,
        water_use_ccf=10,
    )
    assert bill.service_units == D("1.95")
    assert bill.billed_area_sqft == D("3000")
    assert bill.category is None
    assert [(ln.calculation, ln.amount) for ln in bill.lines] == [
        ("$13.54 × 10 ccf", D("135.40")),
        ("1.95 × $6.310", D("12.30")),  # 12.3045
        ("$14.013 × 3", D("42.04")),  # 42.039
    ]
    assert bill.warnings == (
        "The service units for individually metered dwellings (0.65 per dwelling) are our "
        "assumption, not an official City figure.",
    )
    assert bill.superfund_lines[1].calculation == "$0.19 × 3"


def test_individually_metered__needs_three_dwellings(portland):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(
            schedule=portland,
            property_class="single_family",
            dwelling_units=2,
            individually_metered=True,
        )
    assert str(info.value) == (
        "Individually metered billing is for 3 or more dwellings on one lot (got 2); "
        "leave that option off."
    )


def test_individually_metered__only_single_family(portland):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(
            schedule=portland,
            property_class="multifamily",
            dwelling_units=5,
            area_sqft=9000,
            individually_metered=True,
        )
    assert str(info.value) == (
        "Individually metered billing applies only to single_family lots; leave that option off."
    )


def test_individually_metered__no_category(portland):
    with pytest.raises(
        InvalidBillInputError, match="billed per dwelling, not by category"
    ):
        estimate(
            schedule=portland,
            property_class="single_family",
            dwelling_units=3,
            individually_metered=True,
            category="small",
        )


def test_single_family__three_units_not_metered_says_use_multifamily(portland):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(
            schedule=portland,
            property_class="single_family",
            dwelling_units=3,
            area_sqft=2000,
        )
    assert str(info.value) == (
        "A single_family property has at most 2 dwelling units (got 3); choose multifamily, "
        "or say the dwellings are individually metered."
    )


@pytest.mark.parametrize(
    ("pc", "units", "message"),
    [
        (
            "single_family",
            0,
            "A single_family property needs at least 1 dwelling unit (got 0).",
        ),
        (
            "multifamily",
            2,
            "A multifamily property needs at least 3 dwelling units (got 2); "
            "with 1 or 2 units, choose single_family.",
        ),
        (
            "mixed_use",
            0,
            "A mixed_use property needs at least 1 dwelling unit (got 0); "
            "with none, choose non_residential.",
        ),
    ],
)
def test_dwelling_units__class_limits_message(portland, pc, units, message):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(
            schedule=portland, property_class=pc, dwelling_units=units, area_sqft=2000
        )
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("units", "shown"), [(2.5, "2.5"), ("two", "two"), (-1, "-1"), ("1.5", "1.5")]
)
def test_dwelling_units__whole_number_message(portland, units, shown):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(
            schedule=portland,
            property_class="multifamily",
            dwelling_units=units,
            area_sqft=2000,
        )
    assert (
        str(info.value)
        == f"Dwelling units must be a whole number of 0 or more (got {shown})."
    )


@pytest.mark.parametrize("units", ["4", 4.0, D("4")])
def test_dwelling_units__whole_number_strings_and_decimals_accepted(portland, units):
    assert service_units("multifamily", portland, dwelling_units=units) == D("2.60")


def test_dwelling_units__ignored_for_non_residential(portland):
    bill = estimate(
        schedule=portland,
        property_class="non_residential",
        area_sqft=40000,
        dwelling_units=7,
    )
    assert bill.service_units == D("16.67")


# --------------------------------------------------------------------------- #
# Overwater (SPEC A2: no SBA, no service units)
# --------------------------------------------------------------------------- #
def test_overwater__land_only_area_earns_units(portland):
    # a floating-home community: only the 4,800 sq ft parking lot on land is passed in
    bill = estimate(schedule=portland, property_class="non_residential", area_sqft=4800)
    assert bill.service_units == D("2.00")
    assert bill.billed_area_sqft == D("4800")


def test_overwater__all_overwater_earns_nothing(portland):
    bill = estimate(schedule=portland, property_class="non_residential", area_sqft=0)
    assert bill.service_units == D("0.00")
    assert amounts(bill.lines) == [D("0.00"), D("0.00")]
    assert bill.total == D("0.00")


# --------------------------------------------------------------------------- #
# Sewer line (SPEC A3, §6)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("pc", "rate"),
    [
        ("single_family", "13.54"),
        ("multifamily", "13.54"),
        ("mixed_use", "13.54"),
        ("non_residential", "14.00"),
    ],
)
def test_sewer__residential_or_non_residential_rate(portland, pc, rate):
    units = {
        "single_family": 1,
        "multifamily": 3,
        "mixed_use": 1,
        "non_residential": 0,
    }[pc]
    bill = estimate(
        schedule=portland,
        property_class=pc,
        dwelling_units=units,
        area_sqft=2000,
        water_use_ccf=10,
    )
    assert bill.lines[0].item == "Sanitary sewer"
    assert bill.lines[0].calculation == f"${rate} × 10 ccf"
    assert bill.lines[0].amount == D(rate) * 10


def test_sewer__omitted_without_water_use(portland):
    bill = estimate(
        schedule=portland, property_class="single_family", category="standard"
    )
    assert [ln.item for ln in bill.lines] == [
        "Stormwater service units",
        "Stormwater billable area",
    ]
    assert [ln.item for ln in bill.superfund_lines] == [
        "Portland Harbor Superfund (billable area)"
    ]


def test_sewer__fractional_ccf(portland):
    bill = estimate(
        schedule=portland,
        property_class="single_family",
        category="standard",
        water_use_ccf="11.5",
        period="quarterly",
    )
    assert bill.lines[0].calculation == "$13.54 × 11.5 ccf"
    assert bill.lines[0].amount == D("155.71")


@pytest.mark.parametrize(("ccf", "shown"), [(-3, "-3"), ("-0.5", "-0.5")])
def test_sewer__negative_water_use_message(portland, ccf, shown):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(
            schedule=portland,
            property_class="single_family",
            category="standard",
            water_use_ccf=ccf,
        )
    assert str(info.value) == f"Water use cannot be negative (got {shown} ccf)."


def test_sewer__non_numeric_water_use_message(portland):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(
            schedule=portland,
            property_class="single_family",
            category="standard",
            water_use_ccf="a lot",
        )
    assert str(info.value) == "Water use must be a number of ccf (got 'a lot')."


# --------------------------------------------------------------------------- #
# Portland Harbor Superfund (SPEC A3, §5.1)
# --------------------------------------------------------------------------- #
def test_superfund__separate_section_seed_single_family(portland):
    bill = seed_sfr(portland)
    assert [
        (ln.item, ln.calculation, ln.exact, ln.amount) for ln in bill.superfund_lines
    ] == [
        (
            "Portland Harbor Superfund (water use)",
            "$0.04 × 12 ccf",
            D("0.48"),
            D("0.48"),
        ),
        (
            "Portland Harbor Superfund (billable area)",
            "($0.19 × 2.4) × 3",
            D("1.368"),
            D("1.37"),
        ),
    ]
    assert bill.superfund_total == D("1.85")
    assert bill.total == D("282.30")  # seed-compatible: Superfund not in it
    assert bill.grand_total == D("284.15")


def test_superfund__sfr_on_category_billed_sqft_not_measured(portland):
    bill = estimate(
        schedule=portland,
        property_class="single_family",
        area_sqft=2699,
        period="monthly",
    )
    assert bill.superfund_lines[0].calculation == "$0.19 × 2.4"
    assert bill.superfund_lines[0].exact == D("0.456")


@pytest.mark.parametrize(
    ("bill_fn", "sf_lines", "sf_total", "grand"),
    [
        (seed_multifamily, ["14.00", "14.25"], "28.25", "6248.88"),
        (seed_non_residential, ["10.00", "7.60"], "17.60", "4194.79"),
    ],
)
def test_superfund__measured_classes_seed(portland, bill_fn, sf_lines, sf_total, grand):
    bill = bill_fn(portland)
    assert amounts(bill.superfund_lines) == [D(a) for a in sf_lines]
    assert bill.superfund_total == D(sf_total)
    assert bill.grand_total == D(grand)


def test_superfund__off_leaves_grand_total_equal_total(portland):
    bill = seed_sfr(portland, superfund=False)
    assert bill.superfund_lines == ()
    assert bill.superfund_total == D("0.00")
    assert bill.grand_total == bill.total == D("282.30")


def test_superfund__grand_total_rounds_exact_sum_once(portland):
    # exact: 6220.6325 + 14 + 14.25 = 6248.8825 -> 6248.88; rounded lines: 6248.89
    assert seed_multifamily(portland).grand_total == D("6248.88")
    assert seed_multifamily(
        portland, total_policy="sum_of_rounded_lines"
    ).grand_total == D("6248.89")


# --------------------------------------------------------------------------- #
# Managed floodplain (SPEC A3, §5.2)
# --------------------------------------------------------------------------- #
def test_managed_floodplain__rate_11_990(portland):
    bill = seed_sfr(portland, managed_floodplain=True)
    area = bill.lines[2]
    assert area.calculation == "($11.990 × 2.4) × 3"
    assert area.exact == D("86.328")
    assert area.amount == D("86.33")
    assert bill.lines[1].amount == D("18.93")  # service-unit rate unchanged
    assert bill.total == D("267.74")  # 162.48 + 18.93 + 86.328 = 267.738


def test_managed_floodplain__non_residential_also(portland):
    bill = seed_non_residential(portland, managed_floodplain=True)
    assert bill.lines[2].calculation == "$11.990 × 40"
    assert bill.lines[2].amount == D("479.60")


def test_managed_floodplain__superfund_unchanged(portland):
    assert seed_sfr(portland, managed_floodplain=True).superfund_total == D("1.85")


# --------------------------------------------------------------------------- #
# Required inputs and plain-English errors
# --------------------------------------------------------------------------- #
def test_estimate__single_family_needs_area_or_category(portland):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(schedule=portland, property_class="single_family")
    assert str(info.value) == (
        "Enter the billable area in square feet or the category on your bill "
        "(small, standard, large); a single_family estimate needs one of them."
    )


@pytest.mark.parametrize("pc", ["multifamily", "mixed_use", "non_residential"])
def test_estimate__measured_classes_need_area(portland, pc):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(schedule=portland, property_class=pc, dwelling_units=3)
    assert (
        str(info.value)
        == f"Enter the billable area in square feet; a {pc} estimate needs it."
    )


def test_estimate__category_only_for_single_family(portland):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(
            schedule=portland,
            property_class="non_residential",
            area_sqft=100,
            category="small",
        )
    assert str(info.value) == (
        "A category (small, standard, large) applies only to single_family properties; "
        "leave it out."
    )


def test_estimate__unknown_category(portland):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(schedule=portland, property_class="single_family", category="medium")
    assert (
        str(info.value)
        == "Unknown category 'medium'. Choose one of: small, standard, large."
    )


@pytest.mark.parametrize("pc", ["castle", "", "single family home"])
def test_estimate__unknown_class_lists_choices(portland, pc):
    with pytest.raises(UnknownClassError) as info:
        estimate(schedule=portland, property_class=pc, area_sqft=100)
    assert str(info.value) == (
        f"Unknown property class {pc!r}. Choose one of: single_family, multifamily, "
        "mixed_use, non_residential."
    )


@pytest.mark.parametrize(
    ("text", "member"),
    [
        ("single_family", PropertyClass.SINGLE_FAMILY),
        ("Single-Family", PropertyClass.SINGLE_FAMILY),
        ("MULTIFAMILY", PropertyClass.MULTIFAMILY),
        ("mixed-use", PropertyClass.MIXED_USE),
        ("non residential", PropertyClass.NON_RESIDENTIAL),
        (PropertyClass.MIXED_USE, PropertyClass.MIXED_USE),
    ],
)
def test_property_class__parse_case_insensitive_dash_ok(text, member):
    assert PropertyClass.parse(text) is member
    assert member == member.value  # a str Enum


def test_estimate__negative_area_message(portland):
    with pytest.raises(NegativeAreaError) as info:
        estimate(schedule=portland, property_class="non_residential", area_sqft=-5)
    assert str(info.value) == "Billable area cannot be negative (got -5 sq ft)."


def test_estimate__every_user_error_is_a_billing_error_and_value_error(portland):
    bad_calls = [
        {"property_class": "castle", "area_sqft": 1},
        {"property_class": "non_residential", "area_sqft": -1},
        {"property_class": "non_residential", "area_sqft": 1, "period": "weekly"},
        {"property_class": "non_residential", "area_sqft": 1, "water_use_ccf": -1},
        {"property_class": "multifamily", "area_sqft": 1, "dwelling_units": 1},
    ]
    for kw in bad_calls:
        with pytest.raises(BillingError) as info:
            estimate(schedule=portland, **kw)
        assert isinstance(info.value, ValueError)
        message = str(info.value)
        assert message.endswith(".")
        assert "\n" not in message


def test_estimate__schedule_given_by_name(portland):
    bill = estimate(
        schedule="portland-bes-fy2025-26",
        property_class="single_family",
        category="standard",
        water_use_ccf=12,
        period="quarterly",
    )
    assert bill.total == D("282.30")
    assert bill.schedule_name == "portland-bes-fy2025-26"


def test_estimate__options_must_be_bool(portland):
    with pytest.raises(TypeError):
        seed_sfr(portland, managed_floodplain="yes")


# --------------------------------------------------------------------------- #
# The Bill object
# --------------------------------------------------------------------------- #
def test_bill__to_dict_json_ready_seed_sfr(portland):
    d = seed_sfr(portland).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["total"] == "282.30"
    assert d["grand_total"] == "284.15"
    assert d["category"] == "standard"
    assert d["service_units"] == "1.00"
    assert d["billed_area_sqft"] == "2400"
    assert d["schedule"] == "portland-bes-fy2025-26"
    assert d["period_days"] == 90
    assert d["property_class"] == "single_family"
    assert d["warnings"] == []
    assert d["lines"] == [
        {
            "item": "Sanitary sewer",
            "calculation": "$13.54 × 12 ccf",
            "amount": "162.48",
        },
        {
            "item": "Stormwater service units",
            "calculation": "(1 × $6.310) × 3",
            "amount": "18.93",
        },
        {
            "item": "Stormwater billable area",
            "calculation": "($14.013 × 2.4) × 3",
            "amount": "100.89",
        },
    ]
    assert d["superfund"] == {
        "lines": [
            {
                "item": "Portland Harbor Superfund (water use)",
                "calculation": "$0.04 × 12 ccf",
                "amount": "0.48",
            },
            {
                "item": "Portland Harbor Superfund (billable area)",
                "calculation": "($0.19 × 2.4) × 3",
                "amount": "1.37",
            },
        ],
        "total": "1.85",
    }


def test_bill__to_dict_has_the_agreed_keys(portland):
    d = seed_multifamily(portland).to_dict()
    required = {
        "category",
        "service_units",
        "billed_area_sqft",
        "lines",
        "total",
        "superfund",
        "grand_total",
        "warnings",
        "schedule",
        "period_days",
        "property_class",
    }
    assert required <= d.keys()
    assert d["total"] == "6220.63"
    assert [ln["amount"] for ln in d["lines"]] == ["4739.00", "430.66", "1050.98"]


def test_bill__to_dict_no_decimal_left(portland):
    def walk(value):
        assert not isinstance(value, Decimal | float)
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(seed_non_residential(portland).to_dict())
    walk(
        estimate(
            schedule=portland, property_class="single_family", area_sqft=1234.5
        ).to_dict()
    )


def test_bill__frozen(portland):
    bill = seed_sfr(portland)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bill.total = D("1")
    assert isinstance(bill.lines, tuple)
    assert isinstance(bill.warnings, tuple)


# --------------------------------------------------------------------------- #
# ESU utility: Oak Lodge (SPEC §7)
# --------------------------------------------------------------------------- #
OAK_WARNING = (
    "The Oak Lodge Water Services FY 2025-26 rate schedule has not been checked against an "
    "official source, so treat this estimate as approximate."
)


def test_oak_lodge__example_10000_sqft_4_esu_42_48(oak_lodge):
    bill = estimate(
        schedule=oak_lodge, property_class="non_residential", area_sqft=10000
    )
    assert bill.service_units == D("4.00")
    assert [(ln.item, ln.calculation, ln.amount) for ln in bill.lines] == [
        ("Watershed protection fee", "4 × $10.62", D("42.48")),
    ]
    assert bill.total == bill.grand_total == D("42.48")
    assert bill.superfund_lines == ()
    assert bill.warnings == (OAK_WARNING,)


@pytest.mark.parametrize(("units", "fee"), [(1, "10.62"), (2, "21.24")])
def test_oak_lodge__single_family_one_esu_per_dwelling(oak_lodge, units, fee):
    bill = estimate(
        schedule=oak_lodge, property_class="single_family", dwelling_units=units
    )
    assert bill.category is None
    assert bill.billed_area_sqft is None
    assert bill.total == D(fee)


def test_oak_lodge__multifamily_by_area(oak_lodge):
    bill = estimate(
        schedule=oak_lodge,
        property_class="multifamily",
        dwelling_units=12,
        area_sqft=13750,
        period="quarterly",
    )
    assert bill.service_units == D("5.50")
    assert bill.total == D("175.23")  # 5.5 × 10.62 × 3


def test_oak_lodge__options_without_data_warn(oak_lodge):
    bill = estimate(
        schedule=oak_lodge,
        property_class="single_family",
        water_use_ccf=8,
        managed_floodplain=True,
    )
    assert bill.warnings == (
        OAK_WARNING,
        "The Oak Lodge Water Services FY 2025-26 rate schedule has no sewer rates, so no sewer "
        "charge is included.",
        "The Oak Lodge Water Services FY 2025-26 rate schedule has no separate "
        "managed-floodplain rate, so the usual rates are used.",
    )
    assert bill.total == D("10.62")


def test_oak_lodge__category_rejected(oak_lodge):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(schedule=oak_lodge, property_class="single_family", category="small")
    assert str(info.value) == (
        "The Oak Lodge Water Services FY 2025-26 rate schedule has no single-family "
        "categories, so leave the category out."
    )


def test_oak_lodge__individually_metered_not_supported(oak_lodge):
    with pytest.raises(
        InvalidBillInputError, match="has no rule for individually metered"
    ):
        estimate(
            schedule=oak_lodge,
            property_class="single_family",
            dwelling_units=3,
            individually_metered=True,
        )


def test_service_units__keyword_schedule_and_area_as_other_callers_use(portland):
    assert service_units(
        PropertyClass.NON_RESIDENTIAL,
        dwelling_units=0,
        area_sqft=D("40000.0"),
        schedule=portland,
    ) == D("16.67")
    assert service_units(
        PropertyClass.SINGLE_FAMILY, dwelling_units=2, area_sqft=None, schedule=portland
    ) == D("2.00")


def test_service_units__errors_are_value_errors(portland):
    with pytest.raises(ValueError, match="at most 2 dwelling units"):
        service_units("single_family", portland, dwelling_units=3)
    with pytest.raises(
        InvalidBillInputError, match="non_residential estimate needs it"
    ):
        service_units("non_residential", portland)


@pytest.mark.parametrize(
    ("pc", "units"), [("single_family", "1.00"), ("non_residential", "0.83")]
)
def test_dwelling_units__none_means_class_default(portland, pc, units):
    bill = estimate(
        schedule=portland, property_class=pc, dwelling_units=None, area_sqft=2000
    )
    assert bill.service_units == D(units)


@pytest.mark.parametrize("pc", ["multifamily", "mixed_use"])
def test_dwelling_units__none_refused_where_units_drive_the_bill(portland, pc):
    with pytest.raises(InvalidBillInputError) as info:
        estimate(
            schedule=portland, property_class=pc, dwelling_units=None, area_sqft=2000
        )
    assert (
        str(info.value)
        == f"Enter the number of dwelling units; a {pc} estimate needs it."
    )
