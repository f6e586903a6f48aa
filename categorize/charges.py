"""Service units, categories and charges: pure functions on Decimal.

Arithmetic follows SPEC A3 / §8.4 exactly:

1. Service units are rounded (2 decimals, half-up, per the schedule) before
   pricing; billable area is rounded to whole square feet, half-up.
2. Each line is ``rate × quantity × (days ÷ per_days)`` as an exact Decimal,
   with no intermediate rounding.
3. Each line is displayed rounded to cents, half-up (``BillLine.amount``).
4. The total is the exact sum of the unrounded lines, rounded once
   (``round_total_of_exact``, the default, reproduces the seed), or the sum of
   the rounded lines (``sum_of_rounded_lines``).

Examples
--------
The seed's single-family example (standard category, quarterly, 12 ccf):

>>> from categorize.schedule import load_schedule
>>> portland = load_schedule("portland-bes-fy2025-26")
>>> bill = estimate(schedule=portland, property_class="single_family",
...                 category="standard", water_use_ccf="12", period="quarterly")
>>> [(line.item, line.calculation, line.amount) for line in bill.lines]
[('Sanitary sewer', '$13.54 × 12 ccf', Decimal('162.48')), ('Stormwater service units', '(1 × $6.310) × 3', Decimal('18.93')), ('Stormwater billable area', '($14.013 × 2.4) × 3', Decimal('100.89'))]
>>> bill.total, bill.superfund_total, bill.grand_total
(Decimal('282.30'), Decimal('1.85'), Decimal('284.15'))
"""



from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from categorize.classes import PropertyClass
from categorize.errors import InvalidBillInputError, NegativeAreaError
from categorize.schedule import (
    DEFAULT_SCHEDULE,
    Category,
    ClassRule,
    RateSchedule,
    load_schedule,
)

__all__ = [
    "CENT",
    "PERIODS",
    "TOTAL_POLICIES",
    "Bill",
    "BillLine",
    "CategoryDistance",
    "CleanRiverRewards",
    "Period",
    "PropertyClass",
    "area_decimal",
    "billable_sqft",
    "categorize_sfr",
    "category_distance",
    "clean_river_rewards_fraction",
    "estimate",
    "service_units",
    "sewer_volume_ccf",
    "winter_average_ccf",
]

CENT = Decimal("0.01")
WHOLE = Decimal("1")
ZERO_MONEY = Decimal("0.00")
TOTAL_POLICIES = ("round_total_of_exact", "sum_of_rounded_lines")
PERIODS = {"monthly": 30, "bimonthly": 60, "quarterly": 90}
_PERIOD_ALIASES = {
    "monthly": "monthly",
    "month": "monthly",
    "budget": "monthly",
    "bimonthly": "bimonthly",
    "bi_monthly": "bimonthly",
    "bi-monthly": "bimonthly",
    "bi monthly": "bimonthly",
    "quarterly": "quarterly",
    "quarter": "quarterly",
}
_MAX_PERIOD_DAYS = 366
_UNIT_ROUNDING = {"half_up": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}


# --------------------------------------------------------------------------- #
# Input conversion (floats become Decimal here, via str(), and nowhere else)
# --------------------------------------------------------------------------- #
def _to_decimal(value: Any, what: str, unit: str) -> Decimal:
    """Convert user input to a finite Decimal; floats go through ``str()``."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a number, got {type(value)}")
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, float):
        # str(), not repr(): NumPy 2 reprs a float64 as 'np.float64(...)'
        dec = Decimal(str(value))
    elif isinstance(value, str):
        try:
            dec = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise InvalidBillInputError(
                f"{what} must be a number of {unit} (got {value!r})."
            ) from None
    else:
        try:  # e.g. numpy scalars, without importing numpy
            dec = Decimal(str(float(value)))
        except (TypeError, ValueError):
            raise TypeError(f"{what} must be a number, got {type(value)}") from None
    if not dec.is_finite():
        raise InvalidBillInputError(
            f"{what} must be a number of {unit} (got {value!r})."
        )
    return dec


def _nonnegative(value: Any, what: str, unit: str) -> Decimal:
    dec = _to_decimal(value, what, unit)
    if dec < 0:
        raise InvalidBillInputError(f"{what} cannot be negative (got {dec} {unit}).")
    return dec


def _measured_area(area: Any) -> Decimal:
    dec = _to_decimal(area, "Billable area", "square feet")
    if dec < 0:
        raise NegativeAreaError(f"Billable area cannot be negative (got {dec} sq ft).")
    return dec


def area_decimal(area: float | Decimal | str | int, places: int = 2) -> Decimal:
    """A measured area as a Decimal of ``places`` decimals, half-up: how reports show areas.

    Bills use the whole square feet of :func:`billable_sqft`; both round the
    area's shortest decimal form (a float's ``str``), never its binary value.

    >>> area_decimal(2569.175), area_decimal(0.005), area_decimal(12, places=0)
    (Decimal('2569.18'), Decimal('0.01'), Decimal('12'))
    """
    return _to_decimal(area, "Area", "square feet").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def billable_sqft(area: float | Decimal | str | int) -> Decimal:
    """Round a measured area to whole square feet, half-up (SPEC A1.5).

    This is the one place a float area turns into a Decimal, via ``str()``
    so that ``1499.5`` is exactly ``Decimal('1499.5')``.

    Parameters
    ----------
    area : float, Decimal, str or int
        Measured billable area in international square feet.

    Returns
    -------
    Decimal
        Whole square feet (exponent 0).

    Raises
    ------
    NegativeAreaError
        If ``area`` is below zero.
    InvalidBillInputError
        If ``area`` is not a finite number.

    Examples
    --------
    >>> billable_sqft(1499.5)
    Decimal('1500')
    >>> billable_sqft("2569.16"), billable_sqft(Decimal("1500.49")), billable_sqft(0)
    (Decimal('2569'), Decimal('1500'), Decimal('0'))
    >>> billable_sqft(-5)
    Traceback (most recent call last):
    ...
    categorize.errors.NegativeAreaError: Billable area cannot be negative (got -5 sq ft).
    """
    return _measured_area(area).quantize(WHOLE, rounding=ROUND_HALF_UP)


def _dwelling_count(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(f"dwelling_units must be a whole number, got {type(value)}")
    if isinstance(value, int):
        count = value
    else:
        try:
            dec = _to_decimal(value, "Dwelling units", "dwelling units")
        except InvalidBillInputError:
            dec = None
        if dec is None or dec != dec.to_integral_value():
            raise InvalidBillInputError(
                f"Dwelling units must be a whole number of 0 or more (got {value})."
            )
        count = int(dec)
    if count < 0:
        raise InvalidBillInputError(
            f"Dwelling units must be a whole number of 0 or more (got {value})."
        )
    return count


def _dwellings_for(pc: PropertyClass, value: Any) -> int:
    """Dwelling units for a class; ``None`` means the class default (1 or 0)."""
    if pc is PropertyClass.NON_RESIDENTIAL:
        return 0 if value is None else _dwelling_count(value)
    if value is None:
        if pc is PropertyClass.SINGLE_FAMILY:
            return 1
        raise InvalidBillInputError(
            f"Enter the number of dwelling units; a {pc.value} estimate needs it."
        )
    return _dwelling_count(value)


def _cents(exact: Decimal) -> Decimal:
    amount = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    return ZERO_MONEY if amount == 0 else amount  # never show -0.00


def _num(value: Decimal) -> str:
    """Format a quantity without trailing zeros and with thousands separators."""
    return format(value.normalize(), ",f")


def _sqft(value: Decimal) -> str:
    return f"{_num(value)} sq ft"


# --------------------------------------------------------------------------- #
# Value objects
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Period:
    """A billing period: a name and a day count.

    Attributes
    ----------
    name : str
        ``"monthly"``, ``"bimonthly"``, ``"quarterly"`` or ``"<N> days"``.
    days : int
        Days in the period; charges are prorated by ``days / per_days``.
    """

    name: str
    days: int

    def __post_init__(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, int):
            raise TypeError(f"Period.days must be an int, got {type(self.days)}")
        if not 1 <= self.days <= _MAX_PERIOD_DAYS:
            raise InvalidBillInputError(
                "A billing period must be a whole number of days from 1 to "
                f"{_MAX_PERIOD_DAYS} (got {self.days})."
            )

    @classmethod
    def parse(cls, value: Period | str | int) -> Period:
        """Return the period named by ``value``.

        Parameters
        ----------
        value : Period, str or int
            ``"monthly"`` (30 days), ``"bimonthly"`` (60), ``"quarterly"``
            (90), or a day count such as ``45`` or ``"45"``.

        Raises
        ------
        InvalidBillInputError
            For any other value; the message lists the choices.

        Examples
        --------
        >>> Period.parse("quarterly")
        Period(name='quarterly', days=90)
        >>> Period.parse("Bi-Monthly"), Period.parse(45), Period.parse("30")
        (Period(name='bimonthly', days=60), Period(name='45 days', days=45), Period(name='monthly', days=30))
        >>> Period.parse("weekly")
        Traceback (most recent call last):
        ...
        categorize.errors.InvalidBillInputError: Unknown billing period 'weekly'. Choose monthly, bimonthly, quarterly, or a number of days from 1 to 366.
        """
        if isinstance(value, Period):
            return value
        days: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            days = value
        elif isinstance(value, str):
            key = value.strip().lower()
            if key in _PERIOD_ALIASES:
                name = _PERIOD_ALIASES[key]
                return cls(name, PERIODS[name])
            for suffix in (" days", " day", "days", "day", "d"):
                if key.endswith(suffix):
                    key = key[: -len(suffix)].strip()
                    break
            if key.lstrip("-").isdigit():
                days = int(key)
        if days is None:
            raise InvalidBillInputError(
                f"Unknown billing period {value!r}. Choose monthly, bimonthly, "
                f"quarterly, or a number of days from 1 to {_MAX_PERIOD_DAYS}."
            )
        for name, named_days in PERIODS.items():
            if days == named_days:
                return cls(name, days)
        return cls(f"{days} days", days)


@dataclass(frozen=True)
class BillLine:
    """One line of a bill.

    Attributes
    ----------
    item : str
        What is charged, e.g. ``"Sanitary sewer"``.
    calculation : str
        Human-readable formula, e.g. ``"($14.013 × 2.4) × 3"``.
    exact : Decimal
        Unrounded amount.
    amount : Decimal
        ``exact`` rounded half-up to cents (discounts are negative).
    """

    item: str
    calculation: str
    exact: Decimal
    amount: Decimal

    @classmethod
    def of(cls, item: str, calculation: str, exact: Decimal) -> BillLine:
        """Build a line, rounding ``exact`` half-up to cents for display.

        >>> BillLine.of("x", "14.013 × 25 × 3", Decimal("1050.975")).amount
        Decimal('1050.98')
        """
        return cls(item, calculation, exact, _cents(exact))

    def to_dict(self) -> dict[str, str]:
        """Return ``{item, calculation, amount}`` with the amount as a string."""
        return {
            "item": self.item,
            "calculation": self.calculation,
            "amount": str(self.amount),
        }


@dataclass(frozen=True)
class CategoryDistance:
    """How far a single-family lot is from the neighbouring categories.

    Distances are in whole square feet of billable area.

    Attributes
    ----------
    category : str
        Category of ``whole_sqft``.
    whole_sqft : Decimal
    next_up, next_down : str or None
        The next larger / smaller category (``None`` at either end).
    sqft_to_next_up : Decimal or None
        Square feet to *add* to reach ``next_up`` (2,569 → 132 to large).
    sqft_to_next_down : Decimal or None
        Square feet to *remove* to reach ``next_down`` (2,569 → 1,069 to small).
    """

    category: str
    whole_sqft: Decimal
    next_up: str | None
    sqft_to_next_up: Decimal | None
    next_down: str | None
    sqft_to_next_down: Decimal | None

    @property
    def headroom_sqft(self) -> Decimal | None:
        """Square feet that can be added while staying in the category.

        >>> category_distance(2569, load_schedule()).headroom_sqft
        Decimal('131')
        """
        return None if self.sqft_to_next_up is None else self.sqft_to_next_up - 1

    def to_dict(self) -> dict[str, str | None]:
        """Return a JSON-ready dict (numbers as strings)."""

        def s(v: Decimal | None) -> str | None:
            return None if v is None else str(v)

        return {
            "category": self.category,
            "whole_sqft": s(self.whole_sqft),
            "next_up": self.next_up,
            "sqft_to_next_up": s(self.sqft_to_next_up),
            "headroom_sqft": s(self.headroom_sqft),
            "next_down": self.next_down,
            "sqft_to_next_down": s(self.sqft_to_next_down),
        }


def _default(schedule: RateSchedule | str | Path | None) -> RateSchedule:
    if schedule is None:
        return load_schedule(DEFAULT_SCHEDULE)
    if isinstance(schedule, RateSchedule):
        return schedule
    return load_schedule(schedule)


def _check_flags(**flags: Any) -> None:
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {type(value)}")


def clean_river_rewards_fraction(
    full_retention: bool = False,
    partial_or_detention: bool = False,
    small_lot: bool = False,
    trees: bool = False,
    *,
    schedule: RateSchedule | str | None = None,
) -> Decimal:
    """Return the Clean River Rewards fraction *f* (SPEC §4.2).

    ``f = min(max(1.00 if full, 0.67 if partial) + 0.25 small + 0.08 trees, 1.00)``
    with the component values read from the schedule's ``[discount]`` table.
    The discount is then ``35% × f`` of the service-unit and area charges.

    Parameters
    ----------
    full_retention : bool
        All roof runoff is retained on site (drywell, soakage, rain garden...).
    partial_or_detention : bool
        Some runoff leaves the lot, or a slow-release (detention) facility.
    small_lot : bool
        All hard surfaces total less than 1,000 sq ft.
    trees : bool
        Four or more trees taller than 15 ft on the lot.
    schedule : RateSchedule or str, optional
        Defaults to the Portland schedule.

    Returns
    -------
    Decimal
        Between 0 and the cap (1.00).

    Raises
    ------
    InvalidBillInputError
        If the schedule has no discount program.

    Examples
    --------
    >>> clean_river_rewards_fraction(full_retention=True)
    Decimal('1.00')
    >>> clean_river_rewards_fraction(partial_or_detention=True, small_lot=True)
    Decimal('0.92')
    >>> clean_river_rewards_fraction(full_retention=True, trees=True)
    Decimal('1.00')
    >>> clean_river_rewards_fraction()
    Decimal('0')
    """
    _check_flags(
        full_retention=full_retention,
        partial_or_detention=partial_or_detention,
        small_lot=small_lot,
        trees=trees,
    )
    sched = _default(schedule)
    rule = sched.discount
    if rule is None:
        raise InvalidBillInputError(
            f"The {sched.title} rate schedule has no stormwater discount program."
        )
    base = max(
        rule.full_retention if full_retention else Decimal(0),
        rule.partial_or_detention if partial_or_detention else Decimal(0),
    )
    f = base + (rule.small_lot if small_lot else 0) + (rule.trees if trees else 0)
    return min(f, rule.cap)


@dataclass(frozen=True)
class CleanRiverRewards:
    """Clean River Rewards options for :func:`estimate` (SPEC §4.2).

    Examples
    --------
    >>> CleanRiverRewards(partial_or_detention=True, trees=True).fraction()
    Decimal('0.75')
    """

    full_retention: bool = False
    partial_or_detention: bool = False
    small_lot: bool = False
    trees: bool = False

    def __post_init__(self) -> None:
        _check_flags(
            full_retention=self.full_retention,
            partial_or_detention=self.partial_or_detention,
            small_lot=self.small_lot,
            trees=self.trees,
        )

    def fraction(self, schedule: RateSchedule | str | None = None) -> Decimal:
        """Return *f* for these options (see :func:`clean_river_rewards_fraction`)."""
        return clean_river_rewards_fraction(
            self.full_retention,
            self.partial_or_detention,
            self.small_lot,
            self.trees,
            schedule=schedule,
        )


@dataclass(frozen=True)
class Bill:
    """An estimated bill. Build it with :func:`estimate`.

    ``total`` is the seed's "Total sewer and stormwater charges" (sewer,
    stormwater service units, billable area, discount). The Portland Harbor
    Superfund charge is its own section (``superfund_lines``,
    ``superfund_total``); ``grand_total`` covers everything. Every total
    follows ``total_policy``.
    """

    property_class: PropertyClass
    category: str | None
    service_units: Decimal
    billed_area_sqft: Decimal | None
    measured_area_sqft: Decimal | None
    whole_sqft: Decimal | None
    period: Period
    lines: tuple[BillLine, ...]
    total: Decimal
    superfund_lines: tuple[BillLine, ...]
    superfund_total: Decimal
    grand_total: Decimal
    warnings: tuple[str, ...]
    schedule_name: str
    category_distance: CategoryDistance | None = None
    dwelling_units: int = 1
    total_policy: str = TOTAL_POLICIES[0]
    crr_fraction: Decimal | None = None
    schedule_title: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; every Decimal becomes a string.

        Examples
        --------
        >>> bill = estimate(schedule=load_schedule(), property_class="non_residential",
        ...                 area_sqft=40000, water_use_ccf=250)
        >>> d = bill.to_dict()
        >>> d["total"], d["service_units"], d["lines"][1]
        ('4177.19', '16.67', {'item': 'Stormwater service units', 'calculation': '16.67 × $6.310', 'amount': '105.19'})
        """

        def s(v: Decimal | None) -> str | None:
            return None if v is None else str(v)

        return {
            "schedule": self.schedule_name,
            "schedule_title": self.schedule_title,
            "property_class": self.property_class.value,
            "dwelling_units": self.dwelling_units,
            "category": self.category,
            "service_units": str(self.service_units),
            "measured_area_sqft": s(self.measured_area_sqft),
            "whole_sqft": s(self.whole_sqft),
            "billed_area_sqft": s(self.billed_area_sqft),
            "period": self.period.name,
            "period_days": self.period.days,
            "lines": [line.to_dict() for line in self.lines],
            "total": str(self.total),
            "superfund": {
                "lines": [line.to_dict() for line in self.superfund_lines],
                "total": str(self.superfund_total),
            },
            "grand_total": str(self.grand_total),
            "total_policy": self.total_policy,
            "crr_fraction": s(self.crr_fraction),
            "category_distance": (
                None
                if self.category_distance is None
                else self.category_distance.to_dict()
            ),
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------- #
# Categories and service units
# --------------------------------------------------------------------------- #
def _require_categories(schedule: RateSchedule) -> tuple[Category, ...]:
    if not schedule.categories:
        raise InvalidBillInputError(
            f"The {schedule.title} rate schedule has no single-family categories."
        )
    return schedule.categories


def categorize_sfr(
    whole_sqft: Decimal | float | str | int, schedule: RateSchedule | str | None = None
) -> Category:
    """Return the single-family category for an area (SPEC A2, §1.1).

    A lot is in the first category whose ``max_sqft`` is at least its area
    in whole square feet (Portland: small ≤ 1,500 < standard ≤ 2,700 <
    large), the rule of the City's own category-change form. An area that is
    not whole is first rounded half-up with :func:`billable_sqft`.

    Parameters
    ----------
    whole_sqft : Decimal, float, str or int
        Billable area in (whole) square feet.
    schedule : RateSchedule

    Returns
    -------
    Category

    Examples
    --------
    >>> s = load_schedule("portland-bes-fy2025-26")
    >>> [categorize_sfr(a, s).name for a in (1500, 1500.49, 1500.5, 2700, 2700.5, 2569)]
    ['small', 'small', 'standard', 'standard', 'large', 'standard']
    """
    sqft = billable_sqft(whole_sqft)
    for cat in _require_categories(_default(schedule)):
        if cat.max_sqft is None or sqft <= cat.max_sqft:
            return cat
    raise AssertionError("validated schedules end with an unbounded category")


def category_distance(
    whole_sqft: Decimal | float | str | int, schedule: RateSchedule | str | None = None
) -> CategoryDistance:
    """Return how far an area is from the next category up and down.

    Examples
    --------
    >>> d = category_distance(2569, load_schedule())
    >>> d.category, d.next_up, d.sqft_to_next_up, d.next_down, d.sqft_to_next_down
    ('standard', 'large', Decimal('132'), 'small', Decimal('1069'))
    """
    sqft = billable_sqft(whole_sqft)
    schedule = _default(schedule)
    cats = _require_categories(schedule)
    cat = categorize_sfr(sqft, schedule)
    i = cats.index(cat)
    up = cats[i + 1] if i + 1 < len(cats) else None
    down = cats[i - 1] if i > 0 else None
    return CategoryDistance(
        category=cat.name,
        whole_sqft=sqft,
        next_up=None if up is None else up.name,
        sqft_to_next_up=None if up is None else cat.max_sqft + 1 - sqft,
        next_down=None if down is None else down.name,
        sqft_to_next_down=None if down is None else sqft - down.max_sqft,
    )


def _round_units(units: Decimal, schedule: RateSchedule) -> Decimal:
    su = schedule.service_unit
    step = Decimal(1).scaleb(-su.decimals)
    return units.quantize(step, rounding=_UNIT_ROUNDING[su.rounding])


def _check_dwellings(
    rule: ClassRule, count: int, individually_metered: bool, schedule: RateSchedule
) -> None:
    pc = rule.property_class
    if individually_metered:
        if pc is not PropertyClass.SINGLE_FAMILY:
            raise InvalidBillInputError(
                "Individually metered billing applies only to single_family lots; "
                "leave that option off."
            )
        metered = rule.individually_metered
        if metered is None:
            raise InvalidBillInputError(
                f"The {schedule.title} rate schedule has no rule for individually "
                "metered dwellings; leave that option off."
            )
        if count < metered.min_dwelling_units:
            raise InvalidBillInputError(
                f"Individually metered billing is for {metered.min_dwelling_units} or more "
                f"dwellings on one lot (got {count}); leave that option off."
            )
        return
    if rule.max_dwelling_units is not None and count > rule.max_dwelling_units:
        hint = ""
        if pc is PropertyClass.SINGLE_FAMILY:
            hint = (
                "; choose multifamily, or say the dwellings are individually metered"
                if rule.individually_metered is not None
                else "; choose multifamily"
            )
        raise InvalidBillInputError(
            f"A {pc.value} property has at most {rule.max_dwelling_units} dwelling "
            f"units (got {count}){hint}."
        )
    if count < rule.min_dwelling_units:
        hint = {
            PropertyClass.MULTIFAMILY: "; with 1 or 2 units, choose single_family",
            PropertyClass.MIXED_USE: "; with none, choose non_residential",
        }.get(pc, "")
        raise InvalidBillInputError(
            f"A {pc.value} property needs at least {rule.min_dwelling_units} dwelling "
            f"unit{'s' if rule.min_dwelling_units != 1 else ''} (got {count}){hint}."
        )


def _units(
    rule: ClassRule,
    schedule: RateSchedule,
    count: int,
    whole: Decimal | None,
    category: Category | None,
    individually_metered: bool,
) -> Decimal:
    if individually_metered:
        raw = rule.individually_metered.units_per_dwelling * count
    elif rule.service_units == "per_dwelling":
        raw = rule.units_per_dwelling * count
    elif rule.service_units == "category":
        raw = category.units
    else:  # "area"
        raw = whole / schedule.service_unit.unit_sqft
    units = _round_units(raw, schedule)
    if rule.min_units is not None and units < rule.min_units:
        units = _round_units(rule.min_units, schedule)
    return units


def service_units(
    property_class: PropertyClass | str,
    schedule: RateSchedule,
    *,
    dwelling_units: int = 1,
    area_sqft: Decimal | float | str | int | None = None,
    category: str | None = None,
    individually_metered: bool = False,
) -> Decimal:
    """Return the stormwater service units of a property (SPEC A2, §1.3).

    Portland: single-family 1 per dwelling unit (1-2 units); 3+ individually
    metered dwellings 0.65 each (our choice); multifamily and mixed use 0.65
    per dwelling unit; non-residential billable area ÷ 2,400. Units are
    rounded to the schedule's decimals (2, half-up) before pricing.

    Parameters
    ----------
    property_class : PropertyClass or str
    schedule : RateSchedule
    dwelling_units : int
    area_sqft : Decimal, float, str or int, optional
        Measured billable area; required for area-based classes (rounded
        half-up to whole square feet first, as in :func:`estimate`).
    category : str, optional
        Single-family category, for tiered schedules that give units per
        category; found from ``area_sqft`` if omitted.
    individually_metered : bool

    Returns
    -------
    Decimal

    Examples
    --------
    >>> s = load_schedule("portland-bes-fy2025-26")
    >>> service_units("non_residential", s, area_sqft=40000)
    Decimal('16.67')
    >>> service_units("non_residential", s, area_sqft=136000)
    Decimal('56.67')
    >>> service_units("multifamily", s, dwelling_units=35), service_units("multifamily", s, dwelling_units=4)
    (Decimal('22.75'), Decimal('2.60'))
    >>> service_units("single_family", s, dwelling_units=2)
    Decimal('2.00')
    """
    schedule = _default(schedule)
    pc = PropertyClass.parse(property_class)
    rule = schedule.classes[pc]
    count = _dwellings_for(pc, dwelling_units)
    _check_dwellings(rule, count, individually_metered, schedule)
    whole = None if area_sqft is None else billable_sqft(area_sqft)
    if rule.service_units == "area" and whole is None:
        raise InvalidBillInputError(_need_area_message(pc))
    cat = None
    if rule.service_units == "category" and not individually_metered:
        if category is not None:
            cat = schedule.category(category)
        elif whole is not None:
            cat = categorize_sfr(whole, schedule)
        else:
            raise InvalidBillInputError(_need_area_or_category_message(schedule))
    return _units(rule, schedule, count, whole, cat, individually_metered)


def _need_area_message(pc: PropertyClass) -> str:
    return f"Enter the billable area in square feet; a {pc.value} estimate needs it."


def _need_area_or_category_message(schedule: RateSchedule) -> str:
    names = ", ".join(c.name for c in schedule.categories)
    return (
        "Enter the billable area in square feet or the category on your bill "
        f"({names}); a single_family estimate needs one of them."
    )


# --------------------------------------------------------------------------- #
# Sewer (SPEC §6)
# --------------------------------------------------------------------------- #
def winter_average_ccf(
    winter_ccf: Decimal | str | int | float,
    days_between_reads: int,
    period: Period | str | int,
    *,
    property_class: PropertyClass | str = PropertyClass.SINGLE_FAMILY,
    dwelling_units: int = 1,
    schedule: RateSchedule | str | None = None,
) -> Decimal:
    """Return the winter average sewer volume for one billing period (SPEC §6).

    ``winter_ccf ÷ days_between_reads × period days``, rounded to 0.1 ccf
    half-up. If that is at most the minimum table's ``max_ccf`` for the
    period (Portland: monthly 0 → 2; bimonthly 0-1 → 5; quarterly 0-2 → 7;
    multifamily quarterly 0-2 → 5 per dwelling unit), the minimum is used.
    The table is data in the schedule; a period with no row has no minimum.

    Parameters
    ----------
    winter_ccf : Decimal, str, int or float
        Water used during the winter review period, in ccf.
    days_between_reads : int
        Days between the meter reads that span ``winter_ccf``.
    period : Period, str or int
        The billing period the average is scaled to.
    property_class : PropertyClass or str
        Chooses class-specific minimum rows (multifamily).
    dwelling_units : int
        For minimums given per dwelling unit.
    schedule : RateSchedule or str, optional
        Defaults to the Portland schedule.

    Returns
    -------
    Decimal
        ccf per billing period, one decimal.

    Examples
    --------
    >>> winter_average_ccf(12, 94, "quarterly")
    Decimal('11.5')
    >>> winter_average_ccf(59, 151, "monthly")
    Decimal('11.7')
    >>> winter_average_ccf(0, 90, "monthly"), winter_average_ccf(2, 90, "quarterly")
    (Decimal('2'), Decimal('7'))
    >>> winter_average_ccf(1, 91, "quarterly", property_class="multifamily", dwelling_units=4)
    Decimal('20')
    """
    ccf = _nonnegative(winter_ccf, "Winter water use", "ccf")
    if (
        isinstance(days_between_reads, bool)
        or not isinstance(days_between_reads, int)
        or days_between_reads <= 0
    ):
        raise InvalidBillInputError(
            "The number of days between meter readings must be a whole number above 0 "
            f"(got {days_between_reads})."
        )
    per = Period.parse(period)
    pc = PropertyClass.parse(property_class)
    count = _dwellings_for(pc, dwelling_units)
    sched = _default(schedule)
    sewer = sched.sewer
    if sewer is None:
        raise InvalidBillInputError(
            f"The {sched.title} rate schedule has no sewer rates, so it has no winter average."
        )
    step = Decimal(1).scaleb(-sewer.winter_decimals)
    average = (ccf * per.days / days_between_reads).quantize(
        step, rounding=ROUND_HALF_UP
    )
    rows = [m for m in sewer.minimums if m.period_days == per.days]
    row = next((m for m in rows if pc in m.classes), None) or next(
        (m for m in rows if not m.classes), None
    )
    if row is not None and average <= row.max_ccf:
        minimum = row.minimum_ccf * (count if row.per_dwelling_unit else 1)
        return max(average, minimum)
    return average


def sewer_volume_ccf(
    actual_ccf: Decimal | str | int | float | None,
    winter_average: Decimal | str | int | float | None = None,
    class_average: Decimal | str | int | float | None = None,
    residential: bool = True,
    in_winter_period: bool = False,
) -> Decimal:
    """Return the sewer volume billed for a period (SPEC §6).

    Residential accounts outside the winter period pay on the **least** of
    actual metered use, winter average and class average (whichever are
    known). In the winter period, and for non-residential accounts, the
    actual metered use is billed (a residential account without meter reads
    falls back to the class average).

    Examples
    --------
    >>> sewer_volume_ccf(20, winter_average="11.5")
    Decimal('11.5')
    >>> sewer_volume_ccf(9, winter_average="11.5", class_average=10)
    Decimal('9')
    >>> sewer_volume_ccf(20, winter_average="11.5", in_winter_period=True)
    Decimal('20')
    >>> sewer_volume_ccf(250, winter_average=100, residential=False)
    Decimal('250')
    """
    _check_flags(residential=residential, in_winter_period=in_winter_period)
    actual = (
        None if actual_ccf is None else _nonnegative(actual_ccf, "Water use", "ccf")
    )
    winter = (
        None
        if winter_average is None
        else _nonnegative(winter_average, "Winter average", "ccf")
    )
    klass = (
        None
        if class_average is None
        else _nonnegative(class_average, "Class average", "ccf")
    )
    if not residential:
        if actual is None:
            raise InvalidBillInputError(
                "Non-residential sewer charges use the metered water use; enter it in ccf."
            )
        return actual
    if in_winter_period:
        if actual is not None:
            return actual
        candidates = [klass]
    else:
        candidates = [actual, winter, klass]
    known = [c for c in candidates if c is not None]
    if not known:
        raise InvalidBillInputError(
            "Enter the metered water use in ccf (or a winter or class average) "
            "to estimate the sewer charge."
        )
    return min(known)


# --------------------------------------------------------------------------- #
# The bill
# --------------------------------------------------------------------------- #
def _multiplier_text(days: int, per_days: int) -> str:
    if days == per_days:
        return ""
    ratio = Decimal(days) / Decimal(per_days)
    if ratio == ratio.quantize(Decimal("0.0001")):
        return f" × {_num(ratio)}"
    return f" × {days}/{per_days}"


def _total(lines: tuple[BillLine, ...], policy: str) -> Decimal:
    if policy == "sum_of_rounded_lines":
        return _cents(sum((line.amount for line in lines), ZERO_MONEY))
    return _cents(sum((line.exact for line in lines), Decimal(0)))


def estimate(
    *,
    schedule: RateSchedule | str | Path,
    property_class: PropertyClass | str,
    dwelling_units: int | None = 1,
    area_sqft: Decimal | float | str | int | None = None,
    category: str | None = None,
    water_use_ccf: Decimal | float | str | int | None = None,
    period: Period | str | int = "monthly",
    managed_floodplain: bool = False,
    individually_metered: bool = False,
    total_policy: str = "round_total_of_exact",
    crr: CleanRiverRewards | None = None,
    superfund: bool = True,
) -> Bill:
    """Estimate a sewer and stormwater bill.

    Parameters
    ----------
    schedule : RateSchedule, str or pathlib.Path
        A loaded schedule, or a name/path for :func:`load_schedule`.
    property_class : PropertyClass or str
        ``single_family``, ``multifamily``, ``mixed_use`` or ``non_residential``.
    dwelling_units : int or None
        Single-family 1-2 (3+ only with ``individually_metered``);
        multifamily 3+; mixed use 1+; ignored for non-residential. ``None``
        means 1 for single-family and is refused for multifamily and mixed use.
    area_sqft : Decimal, float, str or int, optional
        Exact measured billable area (land only: overwater is excluded
        upstream). Required for non-single-family classes; for single-family
        it picks the category, or pass ``category`` instead.
    category : str, optional
        Single-family category from the bill (``small``/``standard``/``large``);
        wins over ``area_sqft`` (with a warning if they disagree).
    water_use_ccf : Decimal, float, str or int, optional
        Billed sewer volume for the whole period, in ccf (see
        :func:`sewer_volume_ccf`); ``None`` leaves out the sewer line and the
        Superfund water-use line.
    period : Period, str or int
        ``monthly`` (30 days), ``bimonthly`` (60), ``quarterly`` (90) or days.
    managed_floodplain : bool
        Use the managed-floodplain area rate.
    individually_metered : bool
        3+ individually metered single-family dwellings on one lot.
    total_policy : str
        ``round_total_of_exact`` (seed-compatible) or ``sum_of_rounded_lines``.
    crr : CleanRiverRewards, optional
        Clean River Rewards options; adds a negative estimate line.
    superfund : bool
        Include the Portland Harbor Superfund section.

    Returns
    -------
    Bill

    Raises
    ------
    BillingError
        A subclass with a plain-English message for any unusable input.

    Examples
    --------
    >>> s = load_schedule("portland-bes-fy2025-26")
    >>> bill = estimate(schedule=s, property_class="multifamily", dwelling_units=35,
    ...                 area_sqft=25000, water_use_ccf=350, period="quarterly")
    >>> [line.amount for line in bill.lines], bill.total
    ([Decimal('4739.00'), Decimal('430.66'), Decimal('1050.98')], Decimal('6220.63'))
    >>> estimate(schedule=s, property_class="multifamily", dwelling_units=35,
    ...          area_sqft=25000, water_use_ccf=350, period="quarterly",
    ...          total_policy="sum_of_rounded_lines").total
    Decimal('6220.64')
    """
    sched = _default(schedule)
    pc = PropertyClass.parse(property_class)
    per = Period.parse(period)
    if total_policy not in TOTAL_POLICIES:
        raise InvalidBillInputError(
            f"Unknown total policy {total_policy!r}. Choose one of: {', '.join(TOTAL_POLICIES)}."
        )
    _check_flags(
        managed_floodplain=managed_floodplain,
        individually_metered=individually_metered,
        superfund=superfund,
    )
    if crr is not None and not isinstance(crr, CleanRiverRewards):
        raise TypeError(f"crr must be a CleanRiverRewards or None, got {type(crr)}")
    rule = sched.classes[pc]
    is_sfr = pc is PropertyClass.SINGLE_FAMILY
    count = (
        0 if pc is PropertyClass.NON_RESIDENTIAL else _dwellings_for(pc, dwelling_units)
    )
    _check_dwellings(rule, count, individually_metered, sched)
    metered = individually_metered

    measured = None if area_sqft is None else _measured_area(area_sqft)
    whole = None if measured is None else billable_sqft(measured)
    ccf = (
        None
        if water_use_ccf is None
        else _nonnegative(water_use_ccf, "Water use", "ccf")
    )

    warnings: list[str] = []
    if not sched.verified:
        warnings.append(
            f"The {sched.title} rate schedule has not been checked against an official "
            "source, so treat this estimate as approximate."
        )

    # ---- category --------------------------------------------------------
    cat: Category | None = None
    distance: CategoryDistance | None = None
    if category is not None:
        if not is_sfr:
            raise InvalidBillInputError(
                "A category (small, standard, large) applies only to single_family "
                "properties; leave it out."
            )
        if metered:
            raise InvalidBillInputError(
                "Individually metered dwellings are billed per dwelling, not by "
                "category; leave the category out."
            )
    uses_category = (
        is_sfr and not metered and "category" in (rule.service_units, rule.area_basis)
    )
    if uses_category:
        if category is not None:
            cat = sched.category(category)
            if whole is not None:
                found = categorize_sfr(whole, sched)
                if found.name != cat.name:
                    warnings.append(
                        f"Your measured area ({_sqft(whole)}) falls in the {found.name} "
                        f"category, but this estimate uses the category you gave "
                        f"({cat.name})."
                    )
        elif whole is not None:
            cat = categorize_sfr(whole, sched)
        else:
            raise InvalidBillInputError(_need_area_or_category_message(sched))
        if whole is not None:
            distance = category_distance(whole, sched)
    elif category is not None:
        sched.category(category)  # raises: this schedule has no categories
    if (
        not uses_category
        and (rule.service_units == "area" or rule.area_basis == "measured")
        and whole is None
    ):
        raise InvalidBillInputError(_need_area_message(pc))

    units = _units(rule, sched, count, whole, cat, metered)

    # ---- billed area -----------------------------------------------------
    if metered:
        im = rule.individually_metered
        billed = im.billed_sqft_per_dwelling * count
        if not im.verified:
            warnings.append(
                "The service units for individually metered dwellings "
                f"({_num(im.units_per_dwelling)} per dwelling) are our assumption, "
                "not an official City figure."
            )
    elif rule.area_basis == "category":
        billed = cat.billed_sqft
    elif rule.area_basis == "measured" or rule.service_units == "area":
        billed = whole
    else:
        billed = None
    if cat is not None and not cat.verified:
        if rule.area_basis == "category":
            warnings.append(
                f"The billed area for the {cat.name} category ({_sqft(cat.billed_sqft)}) "
                "is an unverified placeholder, not an official City figure."
            )
        else:
            warnings.append(
                f"The service units for the {cat.name} category are an unverified "
                "placeholder, not an official figure."
            )

    def prorate(amount: Decimal) -> Decimal:
        return amount * per.days / sched.per_days

    mult = _multiplier_text(per.days, sched.per_days)
    lines: list[BillLine] = []

    # ---- sewer -----------------------------------------------------------
    if ccf is not None:
        if sched.sewer is None:
            warnings.append(
                f"The {sched.title} rate schedule has no sewer rates, so no sewer "
                "charge is included."
            )
        else:
            rate = sched.sewer.rates[rule.sewer_rate]
            lines.append(
                BillLine.of(sched.sewer.label, f"${rate} × {_num(ccf)} ccf", rate * ccf)
            )

    # ---- stormwater service units -----------------------------------------
    su = sched.service_unit
    su_line = BillLine.of(
        su.label,
        f"({_num(units)} × ${su.rate}){mult}"
        if mult
        else f"{_num(units)} × ${su.rate}",
        prorate(units * su.rate),
    )
    lines.append(su_line)

    # ---- stormwater billable area -----------------------------------------
    area_line = None
    if (rule.area_basis != "none" or metered) and billed is not None:
        area = sched.area_charge
        rate_name = rule.area_rate
        if managed_floodplain:
            if "floodplain" in area.rates:
                rate_name = "floodplain"
            else:
                warnings.append(
                    f"The {sched.title} rate schedule has no managed-floodplain rate, "
                    "so the usual area rate is used."
                )
        rate = area.rates[rate_name]
        qty = billed / area.per_sqft
        calc = f"${rate} × {_num(qty)}"
        area_line = BillLine.of(
            area.label, f"({calc}){mult}" if mult else calc, prorate(rate * qty)
        )
        lines.append(area_line)
    elif managed_floodplain:
        warnings.append(
            f"The {sched.title} rate schedule has no separate managed-floodplain rate, "
            "so the usual rates are used."
        )

    # ---- Clean River Rewards ---------------------------------------------
    fraction = None
    if crr is not None:
        rule_d = sched.discount
        if rule_d is None:
            warnings.append(
                f"The {sched.title} rate schedule has no stormwater discount program, "
                "so no discount is included."
            )
        else:
            fraction = crr.fraction(sched)
            eligible = []
            if "service_unit" in rule_d.eligible:
                eligible.append(su_line)
            if "area" in rule_d.eligible and area_line is not None:
                eligible.append(area_line)
            if fraction > 0 and eligible:
                base = sum((line.exact for line in eligible), Decimal(0))
                pct = _num(rule_d.max_fraction * 100)
                parts = " + ".join(f"${line.amount}" for line in eligible)
                lines.append(
                    BillLine.of(
                        rule_d.label,
                        f"-({pct}% × {fraction}) × ({parts})",
                        -(rule_d.max_fraction * fraction * base),
                    )
                )
                if not rule_d.verified:
                    warnings.append(
                        "The discount is an estimate: its percentages are not confirmed "
                        "for the current program, and the utility sets the actual "
                        "discount after you register."
                    )
                if pc is not PropertyClass.SINGLE_FAMILY:
                    warnings.append(
                        "For multifamily, mixed-use and non-residential properties the "
                        "discount is set only after a site visit, so this one is a rough guide."
                    )

    # ---- Superfund -----------------------------------------------------------
    sf_lines: list[BillLine] = []
    if superfund and sched.surcharge is not None:
        sc = sched.surcharge
        if sc.per_ccf is not None and ccf is not None:
            sf_lines.append(
                BillLine.of(
                    f"{sc.label} (water use)",
                    f"${sc.per_ccf} × {_num(ccf)} ccf",
                    sc.per_ccf * ccf,
                )
            )
        if sc.area_rate is not None and billed is not None:
            qty = billed / sc.per_sqft
            calc = f"${sc.area_rate} × {_num(qty)}"
            sf_lines.append(
                BillLine.of(
                    f"{sc.label} (billable area)",
                    f"({calc}){mult}" if mult else calc,
                    prorate(sc.area_rate * qty),
                )
            )

    line_t, sf_t = tuple(lines), tuple(sf_lines)
    return Bill(
        property_class=pc,
        category=None if cat is None else cat.name,
        service_units=units,
        billed_area_sqft=billed,
        measured_area_sqft=measured,
        whole_sqft=whole,
        period=per,
        lines=line_t,
        total=_total(line_t, total_policy),
        superfund_lines=sf_t,
        superfund_total=_total(sf_t, total_policy),
        grand_total=_total(line_t + sf_t, total_policy),
        warnings=tuple(dict.fromkeys(warnings)),
        schedule_name=sched.name,
        category_distance=distance,
        dwelling_units=count,
        total_policy=total_policy,
        crr_fraction=fraction,
        schedule_title=sched.title,
    )
