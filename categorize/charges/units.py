"""Single-family categories and stormwater service units (SPEC A2, §1.1, §1.3)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from categorize.charges.values import (
    billable_sqft,
    default_schedule,
    dwellings_for,
    sqft_text,
)
from categorize.classes import PropertyClass
from categorize.errors import InvalidBillInputError
from categorize.schedule import Category, ClassRule, RateSchedule, load_schedule  # noqa: F401 (the examples use it)

__all__ = ["CategoryDistance", "categorize_sfr", "category_distance", "resolve_category", "service_units"]

UNIT_ROUNDING = {"half_up": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}


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


def require_categories(schedule: RateSchedule) -> tuple[Category, ...]:
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
    for cat in require_categories(default_schedule(schedule)):
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
    schedule = default_schedule(schedule)
    cats = require_categories(schedule)
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


def round_units(units: Decimal, schedule: RateSchedule) -> Decimal:
    su = schedule.service_unit
    step = Decimal(1).scaleb(-su.decimals)
    return units.quantize(step, rounding=UNIT_ROUNDING[su.rounding])


#: More homes than any one tax lot holds (the largest apartment blocks have a few thousand): a typo.
MAX_DWELLINGS = 100_000


def check_dwellings(
    rule: ClassRule, count: int, individually_metered: bool, schedule: RateSchedule
) -> None:
    pc = rule.property_class
    if count > MAX_DWELLINGS:
        raise InvalidBillInputError(
            f"A lot has at most {MAX_DWELLINGS:,} dwelling units (got {count:,}); check the number."
        )
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


def units_for(
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
    units = round_units(raw, schedule)
    if rule.min_units is not None and units < rule.min_units:
        units = round_units(rule.min_units, schedule)
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
    schedule = default_schedule(schedule)
    pc = PropertyClass.parse(property_class)
    rule = schedule.classes[pc]
    count = dwellings_for(pc, dwelling_units)
    check_dwellings(rule, count, individually_metered, schedule)
    whole = None if area_sqft is None else billable_sqft(area_sqft)
    if rule.service_units == "area" and whole is None:
        raise InvalidBillInputError(need_area_message(pc))
    cat = None
    if rule.service_units == "category" and not individually_metered:
        cat, _ = resolve_category(schedule, category, whole)
    return units_for(rule, schedule, count, whole, cat, individually_metered)


def resolve_category(
    schedule: RateSchedule, category: str | None, whole: Decimal | None
) -> tuple[Category, str | None]:
    """The single-family category billed: the one given (from the bill), else the one the area falls in.

    Returns the category and, when a given category is not the one the
    measured area falls in, a warning saying so (the given one is billed).

    Examples
    --------
    >>> s = load_schedule("portland-bes-fy2025-26")
    >>> resolve_category(s, None, Decimal(2569))[0].name
    'standard'
    >>> cat, warning = resolve_category(s, "small", Decimal(2569))
    >>> cat.name, warning # doctest: +NORMALIZE_WHITESPACE
    ('small', 'Your measured area (2,569 sq ft) falls in the standard category,
     but this estimate uses the category you gave (small).')
    """
    if category is not None:
        cat = schedule.category(category)
        found = None if whole is None else categorize_sfr(whole, schedule)
        if found is not None and found.name != cat.name:
            return cat, (
                f"Your measured area ({sqft_text(whole)}) falls in the {found.name} "
                f"category, but this estimate uses the category you gave "
                f"({cat.name})."
            )
        return cat, None
    if whole is not None:
        return categorize_sfr(whole, schedule), None
    raise InvalidBillInputError(need_area_or_category_message(schedule))


def need_area_message(pc: PropertyClass) -> str:
    return f"Enter the billable area in square feet; a {pc.value} estimate needs it."


def need_area_or_category_message(schedule: RateSchedule) -> str:
    names = ", ".join(c.name for c in schedule.categories)
    return (
        "Enter the billable area in square feet or the category on your bill "
        f"({names}); a single_family estimate needs one of them."
    )
