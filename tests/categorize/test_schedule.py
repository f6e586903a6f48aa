"""Rate schedules: loading, validation, and rates-as-data (SPEC A3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from categorize import (
    DEFAULT_SCHEDULE,
    RATES_DIR,
    BillingError,
    InvalidBillInputError,
    RateSchedule,
    RateScheduleError,
    available_schedules,
    estimate,
    load_schedule,
)
from categorize.schedule import rate_lines

SEED_URL = (
    "https://www.portland.gov/bes/pay-your-utility-bill/"
    "sewer-and-stormwater-rates-and-charges"
)


# --------------------------------------------------------------------------- #
# Finding and loading
# --------------------------------------------------------------------------- #
def test_available_schedules__bundled_sorted():
    assert available_schedules() == ["oak-lodge-fy2025-26", "portland-bes-fy2025-26"]


def test_default_schedule__is_portland_fy2025_26():
    assert DEFAULT_SCHEDULE == "portland-bes-fy2025-26"
    assert DEFAULT_SCHEDULE in available_schedules()
    assert load_schedule().name == DEFAULT_SCHEDULE


@pytest.mark.parametrize("name", ["portland-bes-fy2025-26", " portland-bes-fy2025-26 "])
def test_load_schedule__bundled_name(name):
    schedule = load_schedule(name)
    assert isinstance(schedule, RateSchedule)
    assert schedule.name == "portland-bes-fy2025-26"
    assert schedule.path == RATES_DIR / "portland-bes-fy2025-26.toml"


@pytest.mark.parametrize("as_path", [True, False])
def test_load_schedule__user_path(portland_text, write_schedule, as_path):
    path = write_schedule(portland_text, "my-city-fy2026")
    schedule = load_schedule(path if as_path else str(path))
    assert schedule.name == "my-city-fy2026"
    assert schedule.service_unit.rate == Decimal("6.310")


def test_load_schedule__unknown_name_lists_choices():
    with pytest.raises(RateScheduleError) as info:
        load_schedule("foo")
    assert str(info.value) == (
        "There is no rate schedule called 'foo'. Choose one of: "
        "oak-lodge-fy2025-26, portland-bes-fy2025-26, or give the path of a .toml file."
    )


def test_load_schedule__missing_path_says_check_the_path(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(
        RateScheduleError, match="There is no rate schedule file at"
    ) as info:
        load_schedule(missing)
    assert str(missing) in str(info.value)
    assert "check the path" in str(info.value)


def test_load_schedule__invalid_toml_names_file(write_schedule):
    path = write_schedule("utility = \n", "broken")
    with pytest.raises(
        RateScheduleError,
        match=r"^The rate schedule file 'broken.toml' is not valid TOML",
    ):
        load_schedule(path)


def test_load_schedule__errors_are_billing_and_value_errors():
    with pytest.raises(BillingError):
        load_schedule("foo")
    with pytest.raises(ValueError, match="no rate schedule"):
        load_schedule("foo")


def test_load_schedule__not_a_string_is_a_programming_error():
    with pytest.raises(TypeError):
        load_schedule(42)


# --------------------------------------------------------------------------- #
# Rates are data
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", available_schedules())
def test_rates_are_data__every_schedule_records_effective_date_and_source(name):
    schedule = load_schedule(name)
    assert isinstance(schedule.effective, dt.date)
    assert schedule.source.startswith("https://")
    assert schedule.utility
    assert schedule.fiscal_year
    assert schedule.per_days == 30


def _decimals_in(schedule: RateSchedule) -> list[Decimal]:
    values = [schedule.service_unit.rate]
    if schedule.area_charge:
        values += list(schedule.area_charge.rates.values())
    if schedule.sewer:
        values += list(schedule.sewer.rates.values())
    if schedule.surcharge:
        values += [schedule.surcharge.per_ccf, schedule.surcharge.area_rate]
    values += [c.billed_sqft for c in schedule.categories]
    return values


@pytest.mark.parametrize("name", available_schedules())
def test_rates_are_data__money_is_decimal_never_float(name):
    values = _decimals_in(load_schedule(name))
    assert values
    assert all(type(v) is Decimal for v in values)


def test_rates_are_data__parse_float_decimal_keeps_trailing_zeros(portland):
    # parse_float=Decimal: '6.310' is exactly Decimal('6.310'), no binary float between
    assert str(portland.service_unit.rate) == "6.310"
    assert str(portland.area_charge.rates["non_residential"]) == "14.300"
    assert str(portland.sewer.rates["non_residential"]) == "14.00"


def test_rates_are_data__toml_ints_wrapped_in_decimal(portland):
    assert type(portland.service_unit.unit_sqft) is Decimal
    assert type(portland.category("standard").billed_sqft) is Decimal
    assert type(portland.area_charge.per_sqft) is Decimal


def test_rates_are_data__portland_seed_rates(portland):
    assert portland.source == SEED_URL
    assert portland.effective == dt.date(2025, 7, 1)
    assert portland.fiscal_year == "2025-26"
    assert portland.sewer.rates == {
        "residential": Decimal("13.54"),
        "non_residential": Decimal("14.00"),
    }
    assert portland.service_unit.rate == Decimal("6.310")
    assert portland.service_unit.unit_sqft == Decimal("2400")
    assert portland.area_charge.per_sqft == Decimal("1000")
    assert portland.area_charge.rates == {
        "residential": Decimal("14.013"),
        "non_residential": Decimal("14.300"),
        "floodplain": Decimal("11.990"),
    }
    assert portland.surcharge.per_ccf == Decimal("0.04")
    assert portland.surcharge.area_rate == Decimal("0.19")


def test_rates_are_data__edited_copy_changes_the_bill(
    portland_text, write_schedule, replace_once
):
    text = replace_once(portland_text, r"^rate = 6\.310", "rate = 7.000")
    text = replace_once(text, r"^residential = 14\.013", "residential = 15.000")
    edited = load_schedule(write_schedule(text))
    bill = estimate(
        schedule=edited,
        property_class="single_family",
        category="standard",
        period="quarterly",
    )
    assert [line.amount for line in bill.lines] == [Decimal("21.00"), Decimal("108.00")]


def test_rates_are_data__portland_file_tags_seed_and_unverified_numbers(portland_text):
    assert "[SEED]" in portland_text
    assert "[UNVERIFIED]" in portland_text
    for line in portland_text.splitlines():
        if line.startswith(("billed_sqft = 1000", "billed_sqft = 3500")):
            assert "[UNVERIFIED]" in line
        if line.startswith("billed_sqft = 2400"):
            assert "[SEED]" in line


def test_rates_are_data__one_file_per_utility_and_fiscal_year():
    keys = [
        (s.utility, s.fiscal_year) for s in map(load_schedule, available_schedules())
    ]
    assert len(keys) == len(set(keys))
    for name in available_schedules():
        schedule = load_schedule(name)
        assert name.endswith("fy" + schedule.fiscal_year)


# --------------------------------------------------------------------------- #
# Validation on load
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("pattern", "key"),
    [
        (r"^effective = .*$", "effective"),
        (r"^source = .*$", "source"),
        (r"^verified = true .*$", "verified"),
        (r"^per_days = .*$", "per_days"),
        (r"^rate = 6\.310.*$", "service_unit.rate"),
        (r"^decimals = 2 .*$", "service_unit.decimals"),
        (r"^billed_sqft = 3500.*$", "category[2].billed_sqft"),
        (r"^max_sqft = 2700.*$", "category[1].max_sqft"),
        (
            r"^units_per_dwelling = 0\.65    # \[SEED\]$",
            "classes.multifamily.units_per_dwelling",
        ),
        (r"^\[classes\.mixed_use\]$", "classes.mixed_use"),
    ],
)
def test_schedule_validation__missing_key_names_file_and_key(
    portland_text, write_schedule, replace_once, pattern, key
):
    if key == "classes.mixed_use":  # drop the whole table
        start = portland_text.index("[classes.mixed_use]")
        end = portland_text.index("[classes.non_residential]")
        text = portland_text[:start] + portland_text[end:]
    else:
        text = replace_once(portland_text, pattern, "")
    path = write_schedule(text, "edited")
    with pytest.raises(RateScheduleError) as info:
        load_schedule(path)
    assert str(info.value) == (
        f"The rate schedule file 'edited.toml' is missing the required setting {key!r}."
    )


@pytest.mark.parametrize(
    ("pattern", "repl", "expected"),
    [
        (
            r"^per_days = 30",
            "per_days = 0",
            "bad value for 'per_days': it must be at least 1 (got 0).",
        ),
        (
            r'^rounding = "half_up"',
            'rounding = "sideways"',
            "bad value for 'service_unit.rounding': it must be one of half_up, up, down "
            "(got 'sideways').",
        ),
        (
            r"^effective = 2025-07-01",
            'effective = "2025-07-01"',
            "bad value for 'effective': it must be a date such as 2025-07-01 (no quotes) "
            "(got '2025-07-01').",
        ),
        (
            r"^verified = true",
            'verified = "yes"',
            "bad value for 'verified': it must be true or false (got 'yes').",
        ),
        (
            r"^rate = 6\.310",
            'rate = "six"',
            "bad value for 'service_unit.rate': it must be a number (got 'six').",
        ),
        (
            r"^rate = 6\.310",
            "rate = -1.0",
            "bad value for 'service_unit.rate': it must be at least 0 (got -1.0).",
        ),
        (
            r'^area_rate = "non_residential"',
            'area_rate = "commercial"',
            "bad value for 'classes.non_residential.area_rate': it must name one of the "
            "area_charge.rates (residential, non_residential, floodplain) (got 'commercial').",
        ),
        (
            r"^max_sqft = 2700",
            "max_sqft = 1400",
            "bad value for 'category[1].max_sqft': categories must be listed smallest first "
            "(got 1400).",
        ),
        (
            r'^name = "large"',
            'name = "large"\nmax_sqft = 9000',
            "bad value for 'category[2].max_sqft': the last (largest) category must have no "
            "max_sqft (got 9000).",
        ),
        (
            r'^service_units = "area"',
            'service_units = "magic"',
            "bad value for 'classes.non_residential.service_units': it must be one of "
            "per_dwelling, area, category (got 'magic').",
        ),
        (
            r'^check_with_utility = \["gravel", "pool"\]',
            'check_with_utility = ["gravel", "moat"]',
            "bad value for 'feature_types.check_with_utility': every type listed must also "
            "appear in feature_types.billable (got 'moat').",
        ),
        (
            r"^\[classes\.single_family\]",
            "[classes.castle]\n[classes.single_family]",
            "bad value for 'classes.castle': Unknown property class 'castle'. Choose one of: "
            "single_family, multifamily, mixed_use, non_residential (got 'castle').",
        ),
        # the class tables are checked against the other tables
        (
            r"^min_dwelling_units = 1$",
            "min_dwelling_units = 3",
            "bad value for 'classes.single_family.max_dwelling_units': it must be at least "
            "min_dwelling_units (got 2).",
        ),
        (
            r'^sewer_rate = "non_residential"$',
            'sewer_rate = "commercial"',
            "bad value for 'classes.non_residential.sewer_rate': it must name one of the "
            "sewer.rates (residential, non_residential) (got 'commercial').",
        ),
        (
            r'^sewer_rate = "residential"   # \[SEED\]$',
            'sewer_rate = "residential"\n[classes.multifamily.individually_metered]\nmin_dwelling_units = 3',
            "bad value for 'classes.multifamily.individually_metered': only single_family can "
            "have it (got 'table').",
        ),
        (
            r'^area_basis = "measured"\narea_rate = "non_residential"$',
            'area_basis = "category"\narea_rate = "non_residential"',
            "bad value for 'classes.non_residential.area_basis': only single_family can use "
            "categories (got 'category').",
        ),
    ],
)
def test_schedule_validation__bad_value_names_file_key_and_value(
    portland_text, write_schedule, replace_once, pattern, repl, expected
):
    path = write_schedule(replace_once(portland_text, pattern, repl), "edited")
    with pytest.raises(RateScheduleError) as info:
        load_schedule(path)
    assert str(info.value) == f"The rate schedule file 'edited.toml' has a {expected}"


def test_schedule_validation__bundled_files_are_valid():
    for name in available_schedules():
        load_schedule(name)  # raises on any problem


# --------------------------------------------------------------------------- #
# Categories and flags in the data (SPEC A2)
# --------------------------------------------------------------------------- #
def test_sfr_categories__thresholds_in_data(portland):
    assert [(c.name, c.max_sqft) for c in portland.categories] == [
        ("small", Decimal("1500")),
        ("standard", Decimal("2700")),
        ("large", None),
    ]


def test_unverified__small_large_flagged_in_file_standard_verified(portland):
    flags = {c.name: (c.billed_sqft, c.verified) for c in portland.categories}
    assert flags == {
        "small": (Decimal("1000"), False),
        "standard": (Decimal("2400"), True),
        "large": (Decimal("3500"), False),
    }


def test_unverified__individually_metered_units_flagged(portland):
    metered = portland.classes["single_family"].individually_metered
    assert metered.billed_sqft_per_dwelling == Decimal("1000")
    assert metered.units_per_dwelling == Decimal("0.65")
    assert metered.verified is False


def test_schedule_category__lookup_is_case_insensitive(portland):
    assert portland.category(" LARGE ").billed_sqft == Decimal("3500")


def test_schedule_category__unknown_lists_choices(portland):
    with pytest.raises(InvalidBillInputError) as info:
        portland.category("huge")
    assert (
        str(info.value)
        == "Unknown category 'huge'. Choose one of: small, standard, large."
    )


# --------------------------------------------------------------------------- #
# Billable feature types (SPEC A1.1, A1.6, §2)
# --------------------------------------------------------------------------- #
PORTLAND_BILLABLE = [
    "roof",
    "garage",
    "carport",
    "shed",
    "driveway",
    "parking",
    "walkway",
    "patio",
    "deck",
    "porch",
    "pervious_pavement",
    "gravel",
    "pool",
    "other",
]


@pytest.mark.parametrize("feature_type", PORTLAND_BILLABLE)
def test_billable_types__portland_defaults_included(portland, feature_type):
    assert portland.billable_types[feature_type] is True
    assert portland.is_billable(feature_type)


@pytest.mark.parametrize("feature_type", ["dock", "float", "floating_home"])
def test_overwater__dock_float_floating_home_not_billable(
    portland, oak_lodge, feature_type
):
    assert portland.billable_types[feature_type] is False
    assert oak_lodge.billable_types[feature_type] is False


def test_billable_types__exact_table(portland):
    assert set(portland.billable_types) == {
        *PORTLAND_BILLABLE,
        "dock",
        "float",
        "floating_home",
    }


def test_check_types__gravel_and_pool_check_with_utility(portland, oak_lodge):
    assert portland.check_types == frozenset({"gravel", "pool"})
    assert oak_lodge.check_types == frozenset({"gravel", "pool"})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Floating-Home", False),
        ("PERVIOUS PAVEMENT", True),
        ("gazebo", True),
        ("Dock", False),
    ],
)
def test_is_billable__normalises_names_and_unknown_counts_as_other(
    portland, name, expected
):
    assert portland.is_billable(name) is expected


def test_billable_types__configurable_per_utility(
    portland_text, write_schedule, replace_once
):
    text = replace_once(portland_text, r"^gravel = true.*$", "gravel = false")
    schedule = load_schedule(write_schedule(text))
    assert schedule.is_billable("gravel") is False


# --------------------------------------------------------------------------- #
# A general schema: ESU utilities (SPEC §7)
# --------------------------------------------------------------------------- #
def test_oak_lodge__esu_schedule_values(oak_lodge):
    assert oak_lodge.utility == "Oak Lodge Water Services"
    assert oak_lodge.verified is False
    assert oak_lodge.service_unit.abbreviation == "ESU"
    assert oak_lodge.service_unit.unit_sqft == Decimal("2500")
    assert oak_lodge.service_unit.rate == Decimal("10.62")
    assert oak_lodge.area_charge is None
    assert oak_lodge.sewer is None
    assert oak_lodge.surcharge is None
    assert oak_lodge.discount is None
    assert oak_lodge.categories == ()


TIERED = """
utility = "Tier Town"
fiscal_year = "2021-22"
effective = 2021-10-01
source = "https://example.org/rate-structure"
verified = false
per_days = 30

[service_unit]
label = "Stormwater utility fee"
abbreviation = "ERU"
rate = 10.10
unit_sqft = 2532
decimals = 1
rounding = "half_up"

[classes.single_family]
service_units = "category"
min_dwelling_units = 1
max_dwelling_units = 1
area_basis = "none"

[classes.multifamily]
service_units = "area"
min_dwelling_units = 3
area_basis = "none"

[classes.mixed_use]
service_units = "area"
area_basis = "none"

[classes.non_residential]
service_units = "area"
area_basis = "none"

[[category]]
name = "small"
max_sqft = 2166
units = 0.7
verified = true

[[category]]
name = "medium"
max_sqft = 2994
units = 1.0
verified = true

[[category]]
name = "large"
units = 1.4
verified = true

[feature_types.billable]
roof = true
"""


@pytest.mark.parametrize(
    ("sqft", "category", "units", "fee"),
    [
        (2166, "small", "0.7", "7.07"),
        (2167, "medium", "1.0", "10.10"),
        (2994, "medium", "1.0", "10.10"),
        (2995, "large", "1.4", "14.14"),
    ],
)
def test_schema__tiered_eru_per_category(write_schedule, sqft, category, units, fee):
    schedule = load_schedule(write_schedule(TIERED, "tier-town-fy2021-22"))
    bill = estimate(schedule=schedule, property_class="single_family", area_sqft=sqft)
    assert bill.category == category
    assert bill.service_units == Decimal(units)
    assert [line.amount for line in bill.lines] == [Decimal(fee)]


def test_schema__eru_rounding_to_tenth(write_schedule):
    schedule = load_schedule(write_schedule(TIERED, "tier-town-fy2021-22"))
    # 26,500 / 2,532 = 10.466 -> 10.5 ERU at one decimal
    bill = estimate(
        schedule=schedule, property_class="non_residential", area_sqft=26500
    )
    assert bill.service_units == Decimal("10.5")
    assert bill.total == Decimal("106.05")


def test_schedule__path_object_type(portland):
    assert isinstance(portland.path, Path)



# --------------------------------------------------------------------------- #
# Hostile schedule files: one sentence, never a crash or a wrong bill
# --------------------------------------------------------------------------- #
def _refusal(text: str, write_schedule, name: str = "edited") -> str:
    with pytest.raises(RateScheduleError) as info:
        load_schedule(write_schedule(text, name))
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("pattern", "repl", "expected"),
    [
        (  # the sweep's typo: 7 dwellings were billed 7 service units
            r"^max_dwelling_units = 2 ",
            "max_dwelling_unit = 2 ",
            "unknown setting 'classes.single_family.max_dwelling_unit'; "
            "did you mean 'max_dwelling_units'?",
        ),
        (r"^per_days = 30", "per_days = 30\nper_day = 60", "unknown setting 'per_day'; did you mean 'per_days'?"),
        (r"^\[area_charge\]$", "[area_charges]", "unknown setting 'area_charges'; did you mean 'area_charge'?"),
        (r"^rate = 6\.310", "rate = 6.310\nRate = 7", "unknown setting 'service_unit.Rate'; did you mean 'rate'?"),
        (r'^name = "small"', 'name = "small"\nmax_sqf = 1400',
         "unknown setting 'category[0].max_sqf'; did you mean 'max_sqft'?"),
        (r"^minimum_ccf = 2$", "minimum_ccf = 2\nminimum = 3",
         "unknown setting 'sewer.winter_average.minimum[0].minimum'; did you mean 'minimum_ccf'?"),
        (r"^cap = 1\.00", "cap = 1.00\ncaps = 0.5", "unknown setting 'discount.caps'; did you mean 'cap'?"),
        (r"^check_with_utility = ", "check_with_utilty = ",
         "unknown setting 'feature_types.check_with_utilty'; did you mean 'check_with_utility'?"),
        (r"^billed_sqft_per_dwelling = 1000", "billed_sqft_per_dwelling = 1000\nbilled_sqft = 900",
         "unknown setting 'classes.single_family.individually_metered.billed_sqft'; "
         "did you mean 'billed_sqft_per_dwelling'?"),
        (
            r"^\[feature_types\]$",
            "[junk]\nx = 1\n[feature_types]",
            "unknown setting 'junk'; remove it or correct its spelling (the settings allowed there are "
            "utility, fiscal_year, effective, source, verified, timezone, per_days, notes, service_unit, "
            "area_charge, sewer, surcharge, discount, classes, category, feature_types).",
        ),
        (
            r"^\[classes\.multifamily\]$",
            '[classes."Single-Family"]\nservice_units = "per_dwelling"\n[classes.multifamily]',
            "bad value for 'classes.Single-Family': write the class name as single_family "
            "(got 'Single-Family').",
        ),
        (  # two spellings of one feature type: which one counted depended on the order
            r"^roof = true ",
            "Roof = false\nroof = true ",
            "bad value for 'feature_types.billable.roof': the type is listed twice (got 'roof').",
        ),
    ],
)
def test_schedule_validation__unknown_or_misspelt_setting_is_refused_by_name(
    portland_text, write_schedule, replace_once, pattern, repl, expected
):
    message = _refusal(replace_once(portland_text, pattern, repl), write_schedule)
    assert message == f"The rate schedule file 'edited.toml' has an {expected}" or message == (
        f"The rate schedule file 'edited.toml' has a {expected}"
    )


def test_schedule_validation__shipped_schedules_use_only_known_settings():
    before = {
        "portland-bes-fy2025-26": ("6.310", "2400", 2, "14.013", 3),
        "oak-lodge-fy2025-26": ("10.62", "2500", 2, None, 0),
    }
    for name, (rate, unit, decimals, residential, cats) in before.items():
        s = load_schedule(name)
        assert (str(s.service_unit.rate), str(s.service_unit.unit_sqft), s.service_unit.decimals) == (
            rate, unit, decimals)
        assert (None if s.area_charge is None else str(s.area_charge.rates["residential"])) == residential
        assert len(s.categories) == cats


@pytest.mark.parametrize(
    ("pattern", "repl", "expected"),
    [
        (r"^rate = 6\.310", "rate = 1e30", "'service_unit.rate': it must be less than 1,000,000 (got 1E+30)."),
        (r"^rate = 6\.310", "rate = 1e999999999",
         "'service_unit.rate': it must be less than 1,000,000 (got 1E+999999999)."),
        (r"^residential = 14\.013", "residential = 1000000",
         "'area_charge.rates.residential': it must be less than 1,000,000 (got 1000000)."),
        (r"^billed_sqft = 3500", "billed_sqft = 1e999999999",
         "'category[2].billed_sqft': it must be less than 1,000,000,000 (got 1E+999999999)."),
        (r"^max_sqft = 2700", "max_sqft = 1e999999999",
         "'category[1].max_sqft': it must be less than 1,000,000,000 (got 1E+999999999)."),
        (r"^per_sqft = 1000  ", "per_sqft = 1e-999999999  ",
         "'area_charge.per_sqft': it must be at least 1 (got 1E-999999999)."),
        (r"^unit_sqft = 2400", "unit_sqft = 0.5", "'service_unit.unit_sqft': it must be at least 1 (got 0.5)."),
        (r"^decimals = 2 ", "decimals = 30 ", "'service_unit.decimals': it must be at most 6 (got 30)."),
        (r"^decimals = 2 ", "decimals = 26 ", "'service_unit.decimals': it must be at most 6 (got 26)."),
        (r"^decimals = 1 ", "decimals = 7 ", "'sewer.winter_average.decimals': it must be at most 6 (got 7)."),
        (r"^unit_sqft = 2400", "unit_sqft = 2399.99999999999999999999999999",
         "'service_unit.unit_sqft': it may have at most 6 decimal places (got 2399.99999999999999999999999999)."),
        (r"^rate = 6\.310", "rate = 6.3100001",
         "'service_unit.rate': it may have at most 6 decimal places (got 6.3100001)."),
        (r"^per_days = 30", "per_days = 367", "'per_days': it must be at most 366 (got 367)."),
        (r"^period_days = 30 ", "period_days = 400 ",
         "'sewer.winter_average.minimum[0].period_days': it must be at most 366 (got 400)."),
        (r"^max_dwelling_units = 2 ", "max_dwelling_units = 1000000000000000000000 ",
         "'classes.single_family.max_dwelling_units': it must be at most 100,000 (got 1000000000000000000000)."),
        (r"^rate = 6\.310", 'rate = "' + "x" * 100_000 + '"',
         "'service_unit.rate': it must be a number (got '" + "x" * 60 + "…')."),
        (r"^rate = 6\.310", "rate = " + "9" * 4000,
         "'service_unit.rate': it must be less than 1,000,000 (got " + "9" * 60 + "…)."),
    ],
)
def test_schedule_validation__numbers_beyond_any_tariff_are_refused(
    portland_text, write_schedule, replace_once, pattern, repl, expected
):
    message = _refusal(replace_once(portland_text, pattern, repl), write_schedule)
    assert message == f"The rate schedule file 'edited.toml' has a bad value for {expected}"


def test_schedule_validation__the_largest_allowed_numbers_still_load(portland_text, write_schedule, replace_once):
    text = replace_once(portland_text, r"^rate = 6\.310", "rate = 999999.999999")
    text = replace_once(text, r"^billed_sqft = 3500", "billed_sqft = 999999999.999999")
    text = replace_once(text, r"^decimals = 2 ", "decimals = 6 ")
    s = load_schedule(write_schedule(text))
    assert s.service_unit.rate == Decimal("999999.999999")
    assert s.categories[2].billed_sqft == Decimal("999999999.999999")
    assert s.service_unit.decimals == 6


@pytest.mark.parametrize(
    ("written", "kept"),
    [("-0.0", "0.0"), ("-0", "0"), ("2.4e3", "2400"), ("6.310", "6.310"), ("1E+2", "100")],
)
def test_schedule_validation__numbers_are_kept_in_plain_form(
    portland_text, write_schedule, replace_once, written, kept
):
    s = load_schedule(write_schedule(replace_once(portland_text, r"^rate = 6\.310", f"rate = {written}")))
    assert str(s.service_unit.rate) == kept
    assert not s.service_unit.rate.is_signed()
    assert rate_lines(s)[0] == ("Stormwater service units (SSU)", f"${kept} per unit per 30 days")


@pytest.mark.parametrize("rounding", ["up", "down", "half_up"])
@pytest.mark.parametrize(
    ("unit", "decimals", "area"),
    [("2399.999999", 2, 2400), ("2399.999999", 6, 999_999_999_999_999), ("1.000001", 6, 999_999_999_999_999),
     ("999999999.999999", 6, 1), ("3.333333", 6, 123_456_789_012_345), ("7", 6, 999_999_999_999_993)],
)
def test_schedule_validation__within_the_limits_service_units_round_exactly(
    portland_text, write_schedule, replace_once, rounding, unit, decimals, area
):
    from fractions import Fraction

    from categorize import service_units

    text = replace_once(portland_text, r"^unit_sqft = 2400", f"unit_sqft = {unit}")
    text = replace_once(text, r"^decimals = 2 ", f"decimals = {decimals} ")
    text = replace_once(text, r'^rounding = "half_up"', f'rounding = "{rounding}"')
    s = load_schedule(write_schedule(text))
    exact = Fraction(area) / Fraction(unit) * 10**decimals
    steps = {"up": -(-exact.numerator // exact.denominator), "down": exact.numerator // exact.denominator,
             "half_up": (exact + Fraction(1, 2)).numerator // (exact + Fraction(1, 2)).denominator}[rounding]
    got = service_units("non_residential", s, area_sqft=area)
    assert got == Decimal(steps).scaleb(-decimals)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("latin.toml", 'utility = "Café"\n'.encode("latin-1"),
     "is not UTF-8 text; save it as UTF-8 (plain text) and try again."),
    ("deep.toml", ("a = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
     "has lists or tables nested too deeply to be a rate schedule."),
    ("digits.toml", ("rate = " + "1" * 5000 + "\n").encode(), "holds a number too long to read; check the file."),
])
def test_load_schedule__a_file_that_is_no_schedule_is_refused_in_one_sentence(tmp_path, name, content, message):
    """Not UTF-8, nested deeper than Python's recursion, an integer past int()'s 4,300 digits."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RateScheduleError) as info:
        load_schedule(path)
    assert str(info.value) == f"The rate schedule file {name!r} {message}"


@pytest.mark.parametrize("name", ["a" * 300 + ".toml", "a\x00b.toml"])
def test_load_schedule__an_impossible_file_name_is_refused(name):
    with pytest.raises(RateScheduleError) as info:
        load_schedule(name)
    message = str(info.value)
    assert message.startswith("There is no rate schedule file at '")
    assert message.endswith("; check the path, or use a bundled schedule (oak-lodge-fy2025-26, "
                            "portland-bes-fy2025-26).")
    assert len(message) < 400


def test_load_schedule__a_long_unknown_name_is_shown_short():
    with pytest.raises(RateScheduleError) as info:
        load_schedule("x" * 100_000)
    assert str(info.value) == (
        f"There is no rate schedule called '{'x' * 60}…'. Choose one of: "
        "oak-lodge-fy2025-26, portland-bes-fy2025-26, or give the path of a .toml file."
    )


def test_load_schedule__a_file_over_one_megabyte_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.toml"
    with path.open("wb") as f:
        f.truncate(1024**3)  # sparse: 1 GB that takes no disk
    with pytest.raises(RateScheduleError) as info:
        load_schedule(path)
    assert str(info.value) == (
        "The rate schedule file 'huge.toml' is larger than 1 MB; a rate schedule is a few kilobytes, "
        "so check that this is the right file."
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("07:00:00", "07:00:00"),
        ("2025-07-01T07:00:00", "2025-07-01T07:00:00"),
        ("[6.310, 1e3]", "[6.310, 1000]"),
        ("true", "true"),
        ("{a = 1, b = [2025-07-01]}", "{a = 1, b = [2025-07-01]}"),
        ("[" + "0, " * 300_000 + "]", "[" + "0, " * 20 + "…]"),
        ("[" * 100 + "]" * 100, "[[[[…]]]]"),
    ],
)
def test_schedule_validation__a_bad_value_is_shown_short_and_plain(
    portland_text, write_schedule, replace_once, value, shown
):
    message = _refusal(replace_once(portland_text, r"^label = \"Stormwater service units\"", f"label = {value}"),
                       write_schedule)
    assert message == (
        "The rate schedule file 'edited.toml' has a bad value for 'service_unit.label': "
        f"it must be a non-empty text in quotes (got {shown})."
    )
