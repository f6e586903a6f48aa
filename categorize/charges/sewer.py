"""Sewer volume and the sewer line of a bill (SPEC §6)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from categorize.charges.values import (
    BillLine,
    Period,
    check_flags,
    default_schedule,
    dwellings_for,
    nonnegative,
    num_text,
)
from categorize.classes import PropertyClass
from categorize.errors import InvalidBillInputError
from categorize.schedule import ClassRule, RateSchedule

__all__ = ["sewer_line", "sewer_volume_ccf", "winter_average_ccf"]


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
    ccf = nonnegative(winter_ccf, "Winter water use", "ccf")
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
    count = dwellings_for(pc, dwelling_units)
    sched = default_schedule(schedule)
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
    check_flags(residential=residential, in_winter_period=in_winter_period)
    actual = (
        None if actual_ccf is None else nonnegative(actual_ccf, "Water use", "ccf")
    )
    winter = (
        None
        if winter_average is None
        else nonnegative(winter_average, "Winter average", "ccf")
    )
    klass = (
        None
        if class_average is None
        else nonnegative(class_average, "Class average", "ccf")
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


def sewer_line(sched: RateSchedule, rule: ClassRule, ccf: Decimal | None, warnings: list[str]) -> BillLine | None:
    """The sanitary sewer line for ``ccf`` billed ccf (none without water use or sewer rates)."""
    if ccf is None:
        return None
    if sched.sewer is None:
        warnings.append(
            f"The {sched.title} rate schedule has no sewer rates, so no sewer "
            "charge is included."
        )
        return None
    rate = sched.sewer.rates[rule.sewer_rate]
    return BillLine.of(sched.sewer.label, f"${rate} × {num_text(ccf)} ccf", rate * ccf)
