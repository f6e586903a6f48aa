"""Clean River Rewards: the stormwater discount and its bill line (SPEC §4.2)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from categorize.charges.values import BillLine, check_flags, default_schedule, num_text
from categorize.classes import PropertyClass
from categorize.errors import InvalidBillInputError
from categorize.schedule import RateSchedule

__all__ = ["CleanRiverRewards", "clean_river_rewards_fraction", "discount_line"]


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
    check_flags(
        full_retention=full_retention,
        partial_or_detention=partial_or_detention,
        small_lot=small_lot,
        trees=trees,
    )
    sched = default_schedule(schedule)
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
        check_flags(
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


def discount_line(
    sched: RateSchedule,
    crr: CleanRiverRewards | None,
    pc: PropertyClass,
    su_line: BillLine,
    area_line: BillLine | None,
    warnings: list[str],
) -> tuple[Decimal | None, BillLine | None]:
    """The fraction *f* and the discount line (exact −max% × f × the eligible lines), or no line."""
    if crr is None:
        return None, None
    rule_d = sched.discount
    if rule_d is None:
        warnings.append(
            f"The {sched.title} rate schedule has no stormwater discount program, "
            "so no discount is included."
        )
        return None, None
    fraction = crr.fraction(sched)
    eligible = []
    if "service_unit" in rule_d.eligible:
        eligible.append(su_line)
    if "area" in rule_d.eligible and area_line is not None:
        eligible.append(area_line)
    if fraction <= 0 or not eligible:
        return fraction, None
    base = sum((line.exact for line in eligible), Decimal(0))
    pct = num_text(rule_d.max_fraction * 100)
    parts = " + ".join(f"${line.amount}" for line in eligible)
    line = BillLine.of(
        rule_d.label,
        f"-({pct}% × {fraction}) × ({parts})",
        -(rule_d.max_fraction * fraction * base),
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
    return fraction, line
