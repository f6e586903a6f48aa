"""What every part of a bill shares: inputs turned into Decimal, periods, bill lines, totals.

Floats become Decimal here, via ``str()``, and nowhere else; money is rounded
half-up to cents only for display (:meth:`BillLine.of`) and for totals
(:func:`total_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from categorize.classes import PropertyClass
from categorize.errors import InvalidBillInputError, NegativeAreaError
from categorize.numbers import parse_decimal
from categorize.schedule import DEFAULT_SCHEDULE, MAX_DAYS, MAX_DWELLING_UNITS, RateSchedule, load_schedule

__all__ = [
    "CENT",
    "PERIODS",
    "TOTAL_POLICIES",
    "BillLine",
    "Period",
    "area_decimal",
    "billable_sqft",
]

CENT = Decimal("0.01")
WHOLE = Decimal("1")
ZERO_MONEY = Decimal("0.00")
TOTAL_POLICIES = ("round_total_of_exact", "sum_of_rounded_lines")
PERIODS = {"monthly": 30, "bimonthly": 60, "quarterly": 90}
PERIOD_ALIASES = {
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
MAX_PERIOD_DAYS = MAX_DAYS  # 366, as for a schedule's own day counts
#: Characters of a typed value a message repeats (then "…"): a pasted megabyte is not echoed back.
SHOWN = 40
#: No area, water use or count a bill meets comes near this (Oregon is about 3e12 sq ft); above it a
#: number is a typo or an attack, and rounding it to cents would need more digits than a Decimal context has.
MAX_INPUT = Decimal("1e15")


def shown(value: Any, *, quote: bool = True) -> str:
    """``value`` for a message: text quoted (unless not ``quote``), cut to :data:`SHOWN` characters.

    >>> shown("x" * 50), shown(Decimal("1E+999999999")), shown(10**50)
    ("'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'", '1E+999999999', '1000000000000000000000000000000000000000…')
    """
    if isinstance(value, str) and quote:
        return repr(value if len(value) <= SHOWN else value[:SHOWN] + "…")
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)  # str() of an int refuses more than 4,300 digits
    text = str(value)
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def to_decimal(value: Any, what: str, unit: str) -> Decimal:
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
            dec = parse_decimal(value)
        except InvalidOperation:
            raise InvalidBillInputError(
                f"{what} must be a number of {unit} (got {shown(value)})."
            ) from None
    else:
        try:  # e.g. numpy scalars, without importing numpy
            dec = Decimal(str(float(value)))
        except (TypeError, ValueError):
            raise TypeError(f"{what} must be a number, got {type(value)}") from None
    if not dec.is_finite():
        raise InvalidBillInputError(
            f"{what} must be a number of {unit} (got {shown(value)})."
        )
    if dec.copy_abs() >= MAX_INPUT:  # abs() would round in the context, and overflow on 1e999999999
        raise InvalidBillInputError(f"{what} of {shown(dec)} {unit} is too large to be real; check the number.")
    return Decimal(0) if dec.is_zero() else dec  # -0 is 0


def nonnegative(value: Any, what: str, unit: str) -> Decimal:
    dec = to_decimal(value, what, unit)
    if dec < 0:
        raise InvalidBillInputError(f"{what} cannot be negative (got {dec} {unit}).")
    return dec


def measured_area(area: Any) -> Decimal:
    dec = to_decimal(area, "Billable area", "square feet")
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
    return to_decimal(area, "Area", "square feet").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


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
    return measured_area(area).quantize(WHOLE, rounding=ROUND_HALF_UP)


def dwelling_count(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(f"dwelling_units must be a whole number, got {type(value)}")
    if isinstance(value, int):
        count = value
    else:
        try:
            dec = to_decimal(value, "Dwelling units", "dwelling units")
        except InvalidBillInputError:
            dec = None
        if dec is None or dec != dec.to_integral_value():
            raise InvalidBillInputError(
                f"Dwelling units must be a whole number of 0 or more (got {shown(value, quote=False)})."
            )
        count = int(dec)
    if count < 0:
        raise InvalidBillInputError(
            f"Dwelling units must be a whole number of 0 or more (got {shown(value, quote=False)})."
        )
    if count >= MAX_INPUT:  # the bill's own limit (100,000) words it; this one keeps str() off 4,300 digits
        raise InvalidBillInputError(
            f"A lot has at most {MAX_DWELLING_UNITS:,} dwelling units (got {shown(count)}); check the number."
        )
    return count


def dwellings_for(pc: PropertyClass, value: Any) -> int:
    """Dwelling units for a class; ``None`` means the class default (1 or 0)."""
    if pc is PropertyClass.NON_RESIDENTIAL:
        return 0 if value is None else dwelling_count(value)
    if value is None:
        if pc is PropertyClass.SINGLE_FAMILY:
            return 1
        raise InvalidBillInputError(
            f"Enter the number of dwelling units; a {pc.value} estimate needs it."
        )
    return dwelling_count(value)


def cents(exact: Decimal) -> Decimal:
    amount = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    return ZERO_MONEY if amount == 0 else amount  # never show -0.00


def num_text(value: Decimal) -> str:
    """Format a quantity without trailing zeros and with thousands separators."""
    return format(value.normalize(), ",f")


def sqft_text(value: Decimal) -> str:
    return f"{num_text(value)} sq ft"


def _check_days(days: int) -> None:
    if not 1 <= days <= MAX_PERIOD_DAYS:
        got = days if abs(days) < 10**9 else f"more than {MAX_PERIOD_DAYS}" if days > 0 else "less than 1"
        raise InvalidBillInputError(
            f"A billing period must be a whole number of days from 1 to {MAX_PERIOD_DAYS} (got {got})."
        )


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
        _check_days(self.days)

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
        >>> Period.parse("weekly") # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        categorize.errors.InvalidBillInputError: Unknown billing period 'weekly'.
        Choose monthly, bimonthly, quarterly, or a number of days from 1 to 366.
        """
        if isinstance(value, Period):
            return value
        days: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            days = value
        elif isinstance(value, str):
            key = value.strip().lower()
            if key in PERIOD_ALIASES:
                name = PERIOD_ALIASES[key]
                return cls(name, PERIODS[name])
            for suffix in (" days", " day", "days", "day", "d"):
                if key.endswith(suffix):
                    key = key[: -len(suffix)].strip()
                    break
            digits = key.removeprefix("-")
            # ASCII only: '³⁰' passes str.isdigit but not int(); a day count has a few digits
            if digits.isascii() and digits.isdigit() and len(digits) <= 9:
                days = int(key)
        if days is None:
            raise InvalidBillInputError(
                f"Unknown billing period {shown(value)}. Choose monthly, bimonthly, "
                f"quarterly, or a number of days from 1 to {MAX_PERIOD_DAYS}."
            )
        _check_days(days)  # before the name is written: str() refuses an int of 4,300+ digits
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
        return cls(item, calculation, exact, cents(exact))

    def to_dict(self) -> dict[str, str]:
        """Return ``{item, calculation, amount}`` with the amount as a string."""
        return {
            "item": self.item,
            "calculation": self.calculation,
            "amount": str(self.amount),
        }


def default_schedule(schedule: RateSchedule | str | Path | None) -> RateSchedule:
    if schedule is None:
        return load_schedule(DEFAULT_SCHEDULE)
    if isinstance(schedule, RateSchedule):
        return schedule
    return load_schedule(schedule)


def check_flags(**flags: Any) -> None:
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {type(value)}")


def multiplier_text(days: int, per_days: int) -> str:
    if days == per_days:
        return ""
    ratio = Decimal(days) / Decimal(per_days)
    if ratio == ratio.quantize(Decimal("0.0001")):
        return f" × {num_text(ratio)}"
    return f" × {days}/{per_days}"


def total_of(lines: tuple[BillLine, ...], policy: str) -> Decimal:
    if policy == "sum_of_rounded_lines":
        return cents(sum((line.amount for line in lines), ZERO_MONEY))
    return cents(sum((line.exact for line in lines), Decimal(0)))
