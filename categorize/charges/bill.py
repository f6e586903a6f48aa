"""The bill: :func:`estimate` puts together one line per charge (sewer, service
units, billable area, discount) and the Superfund section, each in its own
small function below, and totals them (SPEC A3, §8.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from categorize.charges.discount import CleanRiverRewards, discount_line
from categorize.charges.sewer import sewer_line
from categorize.charges.units import (
    CategoryDistance,
    category_distance,
    check_dwellings,
    need_area_message,
    resolve_category,
    units_for,
)
from categorize.charges.values import (
    TOTAL_POLICIES,
    BillLine,
    Period,
    billable_sqft,
    check_flags,
    default_schedule,
    dwellings_for,
    measured_area,
    multiplier_text,
    nonnegative,
    num_text,
    sqft_text,
    total_of,
)
from categorize.classes import PropertyClass
from categorize.errors import InvalidBillInputError
from categorize.schedule import Category, ClassRule, RateSchedule, load_schedule  # noqa: F401 (the examples use it)

__all__ = ["Bill", "area_charge_line", "estimate", "service_unit_line", "superfund_lines"]


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
    sched = default_schedule(schedule)
    pc = PropertyClass.parse(property_class)
    per = Period.parse(period)
    _check_options(total_policy, crr, managed_floodplain=managed_floodplain,
                   individually_metered=individually_metered, superfund=superfund)
    rule = sched.classes[pc]
    count = 0 if pc is PropertyClass.NON_RESIDENTIAL else dwellings_for(pc, dwelling_units)
    check_dwellings(rule, count, individually_metered, sched)
    measured = None if area_sqft is None else measured_area(area_sqft)
    whole = None if measured is None else billable_sqft(measured)
    ccf = None if water_use_ccf is None else nonnegative(water_use_ccf, "Water use", "ccf")

    warnings: list[str] = []
    if not sched.verified:
        warnings.append(
            f"The {sched.title} rate schedule has not been checked against an official "
            "source, so treat this estimate as approximate."
        )
    cat = _category(sched, rule, category, whole, individually_metered, warnings)
    units = units_for(rule, sched, count, whole, cat, individually_metered)
    billed = _billed_area(rule, cat, whole, count, individually_metered, warnings)

    sewer = sewer_line(sched, rule, ccf, warnings)
    su_line = service_unit_line(sched, units, per)
    area_line = area_charge_line(sched, rule, billed, per, individually_metered, managed_floodplain, warnings)
    fraction, discount = discount_line(sched, crr, pc, su_line, area_line, warnings)
    lines = tuple(line for line in (sewer, su_line, area_line, discount) if line is not None)
    sf_lines = superfund_lines(sched, ccf, billed, per) if superfund else ()
    return Bill(
        property_class=pc,
        category=None if cat is None else cat.name,
        service_units=units,
        billed_area_sqft=billed,
        measured_area_sqft=measured,
        whole_sqft=whole,
        period=per,
        lines=lines,
        total=total_of(lines, total_policy),
        superfund_lines=sf_lines,
        superfund_total=total_of(sf_lines, total_policy),
        grand_total=total_of(lines + sf_lines, total_policy),
        warnings=tuple(dict.fromkeys(warnings)),
        schedule_name=sched.name,
        category_distance=None if cat is None or whole is None else category_distance(whole, sched),
        dwelling_units=count,
        total_policy=total_policy,
        crr_fraction=fraction,
        schedule_title=sched.title,
    )


def _check_options(total_policy: str, crr: CleanRiverRewards | None, **flags: bool) -> None:
    if total_policy not in TOTAL_POLICIES:
        raise InvalidBillInputError(
            f"Unknown total policy {total_policy!r}. Choose one of: {', '.join(TOTAL_POLICIES)}."
        )
    check_flags(**flags)
    if crr is not None and not isinstance(crr, CleanRiverRewards):
        raise TypeError(f"crr must be a CleanRiverRewards or None, got {type(crr)}")


def _category(
    sched: RateSchedule,
    rule: ClassRule,
    category: str | None,
    whole: Decimal | None,
    metered: bool,
    warnings: list[str],
) -> Category | None:
    """The category billed (None for classes billed without one); refuses a category that cannot apply."""
    is_sfr = rule.property_class is PropertyClass.SINGLE_FAMILY
    if category is not None and not is_sfr:
        raise InvalidBillInputError(
            "A category (small, standard, large) applies only to single_family "
            "properties; leave it out."
        )
    if category is not None and metered:
        raise InvalidBillInputError(
            "Individually metered dwellings are billed per dwelling, not by "
            "category; leave the category out."
        )
    if is_sfr and not metered and "category" in (rule.service_units, rule.area_basis):
        cat, mismatch = resolve_category(sched, category, whole)
        if mismatch:
            warnings.append(mismatch)
        return cat
    if category is not None:
        sched.category(category)  # raises: this schedule has no categories
    if (rule.service_units == "area" or rule.area_basis == "measured") and whole is None:
        raise InvalidBillInputError(need_area_message(rule.property_class))
    return None


def _billed_area(
    rule: ClassRule,
    cat: Category | None,
    whole: Decimal | None,
    count: int,
    metered: bool,
    warnings: list[str],
) -> Decimal | None:
    """The square feet the area charge is billed on (None: no area charge)."""
    if metered:
        im = rule.individually_metered
        if not im.verified:
            warnings.append(
                "The service units for individually metered dwellings "
                f"({num_text(im.units_per_dwelling)} per dwelling) are our assumption, "
                "not an official City figure."
            )
    if cat is not None and not cat.verified:
        if rule.area_basis == "category":
            warnings.append(
                f"The billed area for the {cat.name} category ({sqft_text(cat.billed_sqft)}) "
                "is an unverified placeholder, not an official City figure."
            )
        else:
            warnings.append(
                f"The service units for the {cat.name} category are an unverified "
                "placeholder, not an official figure."
            )
    if metered:
        return rule.individually_metered.billed_sqft_per_dwelling * count
    if rule.area_basis == "category":
        return cat.billed_sqft
    if rule.area_basis == "measured" or rule.service_units == "area":
        return whole
    return None


def _prorated(amount: Decimal, per: Period, sched: RateSchedule) -> Decimal:
    """``amount`` per schedule period (``per_days``) for the bill's period, exact."""
    return amount * per.days / sched.per_days


def _per_period(calc: str, per: Period, sched: RateSchedule) -> str:
    """A line's calculation, times the period multiplier when the bill's period is not the schedule's."""
    mult = multiplier_text(per.days, sched.per_days)
    return f"({calc}){mult}" if mult else calc


def service_unit_line(sched: RateSchedule, units: Decimal, per: Period) -> BillLine:
    """Stormwater service units × the rate per unit, for the period."""
    su = sched.service_unit
    return BillLine.of(
        su.label,
        _per_period(f"{num_text(units)} × ${su.rate}", per, sched),
        _prorated(units * su.rate, per, sched),
    )


def area_charge_line(
    sched: RateSchedule,
    rule: ClassRule,
    billed: Decimal | None,
    per: Period,
    metered: bool,
    managed_floodplain: bool,
    warnings: list[str],
) -> BillLine | None:
    """The billable-area line: the rate per ``per_sqft`` × the billed area (the floodplain rate if asked)."""
    if not ((rule.area_basis != "none" or metered) and billed is not None):
        if managed_floodplain:
            warnings.append(
                f"The {sched.title} rate schedule has no separate managed-floodplain rate, "
                "so the usual rates are used."
            )
        return None
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
    return BillLine.of(
        area.label, _per_period(f"${rate} × {num_text(qty)}", per, sched), _prorated(rate * qty, per, sched)
    )


def superfund_lines(
    sched: RateSchedule, ccf: Decimal | None, billed: Decimal | None, per: Period
) -> tuple[BillLine, ...]:
    """The Portland Harbor Superfund section: a rate per ccf of water use and one on the billed area."""
    sc = sched.surcharge
    if sc is None:
        return ()
    lines = []
    if sc.per_ccf is not None and ccf is not None:
        lines.append(
            BillLine.of(
                f"{sc.label} (water use)",
                f"${sc.per_ccf} × {num_text(ccf)} ccf",
                sc.per_ccf * ccf,
            )
        )
    if sc.area_rate is not None and billed is not None:
        qty = billed / sc.per_sqft
        lines.append(
            BillLine.of(
                f"{sc.label} (billable area)",
                _per_period(f"${sc.area_rate} × {num_text(qty)}", per, sched),
                _prorated(sc.area_rate * qty, per, sched),
            )
        )
    return tuple(lines)
