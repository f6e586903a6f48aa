"""Rate schedules: one TOML file per utility and fiscal year.

Rates are data (SPEC A3). A schedule file lives in ``categorize/rates/`` (a
*bundled* schedule, named by its file stem) or anywhere on disk (a *user*
schedule, named by its path). It is read with ``tomllib.load(f,
parse_float=Decimal)`` so no number ever passes through a binary float, TOML
integers are wrapped in :class:`~decimal.Decimal`, and the whole file is
validated on load: a missing, unknown or bad key raises :class:`RateScheduleError`
naming the file and the key (an unknown one with the known key it most resembles).

Limits: a file of at most :data:`MAX_FILE_BYTES`, UTF-8; rates below
:data:`MAX_RATE` dollars, other numbers below :data:`MAX_NUMBER`, each with at
most :data:`MAX_PLACES` decimal places; ``unit_sqft`` and ``per_sqft`` at least
1; ``decimals`` at most :data:`MAX_DECIMALS`; day counts at most
:data:`MAX_DAYS`; dwelling counts at most :data:`MAX_DWELLING_UNITS`.

Schema
------
Top level (all required unless marked optional):

``utility`` (str), ``fiscal_year`` (str), ``effective`` (TOML date),
``source`` (URL str), ``verified`` (bool), ``per_days`` (int, the day count the
stormwater rates are quoted for, 30 here), ``notes`` (str, optional),
``timezone`` (str, optional: the utility's IANA time zone, e.g.
``"America/Los_Angeles"``; the staff tool dates decisions in it).

``[service_unit]``
    ``label``, ``abbreviation`` (``"SSU"``, ``"ESU"``), ``rate`` ($ per unit per
    ``per_days``), ``unit_sqft`` (sq ft per unit for area-based classes),
    ``decimals`` and ``rounding`` (``half_up`` / ``up`` / ``down``) for
    rounding service units before pricing.
``[area_charge]`` (optional)
    ``label``, ``per_sqft`` (1000), ``[area_charge.rates]`` named rates ($ per
    ``per_sqft`` per ``per_days``); a rate named ``floodplain`` serves managed
    floodplain lots.
``[sewer]`` (optional)
    ``label``, ``[sewer.rates]`` named $/ccf rates, ``[sewer.winter_average]``
    with ``decimals`` and a table ``[[sewer.winter_average.minimum]]`` of
    ``period_days``, ``max_ccf``, ``minimum_ccf``, optional
    ``per_dwelling_unit`` and ``classes``.
``[surcharge]`` (optional; Portland Harbor Superfund)
    ``label``, ``per_ccf``, ``area_rate``, ``per_sqft``.
``[discount]`` (optional; Clean River Rewards)
    ``label``, ``max_fraction``, ``full_retention``, ``partial_or_detention``,
    ``small_lot``, ``trees``, ``cap``, ``verified``, ``eligible``.
``[classes.<class>]`` for each of the four property classes
    ``service_units`` (``per_dwelling`` / ``area`` / ``category``),
    ``units_per_dwelling``, ``min_dwelling_units``, ``max_dwelling_units``
    (optional), ``min_units`` (optional), ``area_basis`` (``category`` /
    ``measured`` / ``none``), ``area_rate`` and ``sewer_rate`` (names of
    rates), and for single-family an optional ``individually_metered`` table.
``[[category]]`` (single-family categories, smallest first)
    ``name``, ``max_sqft`` (absent on the last), ``billed_sqft``, ``verified``,
    ``units`` (optional, for tiered ESU utilities).
``[feature_types]``
    ``check_with_utility`` (list) and ``[feature_types.billable]``
    (``feature_type = true/false``).

Examples
--------
>>> s = load_schedule("portland-bes-fy2025-26")
>>> s.service_unit.rate, s.area_charge.rates["residential"], s.effective
(Decimal('6.310'), Decimal('14.013'), datetime.date(2025, 7, 1))
>>> [(c.name, c.max_sqft, c.billed_sqft, c.verified) for c in s.categories] # doctest: +NORMALIZE_WHITESPACE
[('small', Decimal('1500'), Decimal('1000'), False),
 ('standard', Decimal('2700'), Decimal('2400'), True),
 ('large', None, Decimal('3500'), False)]
>>> s.billable_types["dock"], sorted(s.check_types)
(False, ['gravel', 'pool'])
"""

from __future__ import annotations

import datetime as dt
import difflib
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from categorize.classes import PropertyClass
from categorize.errors import InvalidBillInputError, RateScheduleError

__all__ = [
    "DEFAULT_SCHEDULE",
    "RATES_DIR",
    "AreaCharge",
    "Category",
    "ClassRule",
    "DiscountRule",
    "IndividuallyMetered",
    "RateSchedule",
    "ServiceUnitRule",
    "SewerRule",
    "Surcharge",
    "WinterMinimum",
    "available_schedules",
    "load_schedule",
    "rate_lines",
]

RATES_DIR = Path(__file__).parent / "rates"
"""Folder holding the bundled schedules, one ``<name>.toml`` each."""

DEFAULT_SCHEDULE = "portland-bes-fy2025-26"
"""Name of the schedule used when none is chosen."""

MAX_FILE_BYTES = 1_000_000
"""Largest schedule file read (the bundled ones are a few kilobytes)."""

MAX_NUMBER = Decimal(10**9)
"""Every schedule number is below this: sq ft, service units, ccf, factors."""

MAX_RATE = Decimal(10**6)
"""Every rate in dollars is below this. With areas below 10^15 sq ft (the bill's own limit),
rate × quantity × 366 days still rounds to cents within a Decimal's 28 digits."""

MAX_PLACES = 6
"""Decimal places a schedule number may have, as written.

With ``decimals`` ≤ 6 too, area ÷ ``unit_sqft`` then rounds to service units exactly
in 28 digits for any whole area below 10^15 sq ft (10^15 × 10^(6+6) < 10^27)."""

MAX_DECIMALS = 6
"""Most decimals service units or winter averages may be rounded to."""

MAX_DAYS = 366
"""Longest day count: a billing period, ``per_days``, a winter-minimum row."""

MAX_DWELLING_UNITS = 100_000
"""Most dwelling units a class rule may name (as many as a bill accepts)."""

UNIT_ROUNDINGS = ("half_up", "up", "down")
SERVICE_UNIT_MODES = ("per_dwelling", "area", "category")
AREA_BASES = ("category", "measured", "none")
DISCOUNT_COMPONENTS = ("service_unit", "area")

# The settings each table may hold, in the order the schema lists them; anything
# else is refused (a misspelt key must not be ignored and bill the wrong amount).
# ``area_charge.rates``, ``sewer.rates`` and ``feature_types.billable`` take any names.
TOP_KEYS = ("utility", "fiscal_year", "effective", "source", "verified", "timezone", "per_days",
            "notes", "service_unit", "area_charge", "sewer", "surcharge", "discount", "classes",
            "category", "feature_types")
SERVICE_UNIT_KEYS = ("label", "abbreviation", "rate", "unit_sqft", "decimals", "rounding")
AREA_CHARGE_KEYS = ("label", "per_sqft", "rates")
SEWER_KEYS = ("label", "rates", "winter_average")
WINTER_KEYS = ("decimals", "minimum")
MINIMUM_KEYS = ("period_days", "max_ccf", "minimum_ccf", "per_dwelling_unit", "classes")
SURCHARGE_KEYS = ("label", "per_ccf", "area_rate", "per_sqft")
DISCOUNT_KEYS = ("label", "max_fraction", "full_retention", "partial_or_detention", "small_lot",
                 "trees", "cap", "verified", "eligible")
CLASS_KEYS = ("service_units", "units_per_dwelling", "min_dwelling_units", "max_dwelling_units",
              "min_units", "area_basis", "area_rate", "sewer_rate", "individually_metered")
METERED_KEYS = ("min_dwelling_units", "billed_sqft_per_dwelling", "units_per_dwelling", "verified")
CATEGORY_KEYS = ("name", "max_sqft", "billed_sqft", "verified", "units")
FEATURE_TYPES_KEYS = ("check_with_utility", "billable")


@dataclass(frozen=True)
class Category:
    """A single-family category (small / standard / large).

    Attributes
    ----------
    name : str
    max_sqft : Decimal or None
        Largest whole sq ft in the category; ``None`` for the last (no bound).
    billed_sqft : Decimal or None
        Square feet the area charge is billed at.
    verified : bool
        ``False`` for a placeholder that is not an official figure.
    units : Decimal or None
        Service units for this category (tiered utilities); ``None`` if the
        class counts units another way.
    """

    name: str
    max_sqft: Decimal | None
    billed_sqft: Decimal | None
    verified: bool
    units: Decimal | None = None


@dataclass(frozen=True)
class IndividuallyMetered:
    """Rule for 3+ individually metered single-family dwellings on one lot."""

    min_dwelling_units: int
    billed_sqft_per_dwelling: Decimal
    units_per_dwelling: Decimal
    verified: bool


@dataclass(frozen=True)
class ClassRule:
    """How one property class earns service units and an area charge."""

    property_class: PropertyClass
    service_units: str
    units_per_dwelling: Decimal | None
    min_dwelling_units: int
    max_dwelling_units: int | None
    area_basis: str
    area_rate: str | None
    sewer_rate: str | None
    min_units: Decimal | None = None
    individually_metered: IndividuallyMetered | None = None


@dataclass(frozen=True)
class ServiceUnitRule:
    """Service-unit (SSU/ESU) rate and rounding."""

    label: str
    abbreviation: str
    rate: Decimal
    unit_sqft: Decimal | None
    decimals: int
    rounding: str


@dataclass(frozen=True)
class AreaCharge:
    """Charge per ``per_sqft`` of billed area per ``per_days``, by named rate."""

    label: str
    per_sqft: Decimal
    rates: dict[str, Decimal]


@dataclass(frozen=True)
class WinterMinimum:
    """One row of the minimum winter-average table (SPEC §6)."""

    period_days: int
    max_ccf: Decimal
    minimum_ccf: Decimal
    per_dwelling_unit: bool = False
    classes: frozenset[PropertyClass] = frozenset()


@dataclass(frozen=True)
class SewerRule:
    """Sanitary sewer $/ccf rates and winter-average rules."""

    label: str
    rates: dict[str, Decimal]
    winter_decimals: int
    minimums: tuple[WinterMinimum, ...]


@dataclass(frozen=True)
class Surcharge:
    """A surcharge outside the sewer/stormwater total (Portland Harbor Superfund)."""

    label: str
    per_ccf: Decimal | None
    area_rate: Decimal | None
    per_sqft: Decimal


@dataclass(frozen=True)
class DiscountRule:
    """A stormwater discount program (Clean River Rewards, SPEC §4.2)."""

    label: str
    max_fraction: Decimal
    full_retention: Decimal
    partial_or_detention: Decimal
    small_lot: Decimal
    trees: Decimal
    cap: Decimal
    verified: bool
    eligible: tuple[str, ...]


@dataclass(frozen=True)
class RateSchedule:
    """A validated rate schedule; build it with :func:`load_schedule`.

    Attributes
    ----------
    name : str
        File stem, e.g. ``"portland-bes-fy2025-26"``.
    utility, fiscal_year, source : str
    effective : datetime.date
    verified : bool
        ``False`` if the schedule as a whole is not confirmed.
    per_days : int
        Day count the stormwater rates are quoted for.
    timezone : str
        The utility's IANA time zone, ``""`` if the file names none.
    classes : dict[PropertyClass, ClassRule]
    categories : tuple[Category, ...]
        Single-family categories, smallest first (may be empty).
    billable_types : dict[str, bool]
        Feature type -> whether it counts as billable area.
    check_types : frozenset[str]
        Feature types to flag "check with your utility".
    """

    name: str
    utility: str
    fiscal_year: str
    effective: dt.date
    source: str
    verified: bool
    per_days: int
    service_unit: ServiceUnitRule
    classes: dict[PropertyClass, ClassRule]
    categories: tuple[Category, ...] = ()
    area_charge: AreaCharge | None = None
    sewer: SewerRule | None = None
    surcharge: Surcharge | None = None
    discount: DiscountRule | None = None
    billable_types: dict[str, bool] = field(default_factory=dict)
    check_types: frozenset[str] = frozenset()
    notes: str = ""
    timezone: str = ""
    path: Path | None = None

    @property
    def title(self) -> str:
        """Return a short human title.

        >>> load_schedule("oak-lodge-fy2025-26").title
        'Oak Lodge Water Services FY 2025-26'
        """
        return f"{self.utility} FY {self.fiscal_year}"

    def category(self, name: str) -> Category:
        """Return the category called ``name`` (case-insensitive).

        Raises
        ------
        InvalidBillInputError
            If the schedule has no such category.

        Examples
        --------
        >>> load_schedule("portland-bes-fy2025-26").category("Standard").billed_sqft
        Decimal('2400')
        """
        key = str(name).strip().lower()
        for cat in self.categories:
            if cat.name == key:
                return cat
        if not self.categories:
            raise InvalidBillInputError(
                f"The {self.title} rate schedule has no single-family categories, "
                "so leave the category out."
            )
        raise InvalidBillInputError(
            f"Unknown category {name!r}. Choose one of: "
            f"{', '.join(c.name for c in self.categories)}."
        )

    def is_billable(self, feature_type: str) -> bool:
        """Whether a feature type counts as billable area under this schedule.

        Names are matched case-insensitively with ``-`` or space for ``_``;
        a type the schedule does not list is treated as ``other``.

        Examples
        --------
        >>> s = load_schedule("portland-bes-fy2025-26")
        >>> s.is_billable("Roof"), s.is_billable("floating-home"), s.is_billable("gazebo")
        (True, False, True)
        """
        key = _type_key(feature_type)
        if key in self.billable_types:
            return self.billable_types[key]
        return self.billable_types.get("other", True)


def _type_key(name: str) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def rate_lines(s: RateSchedule) -> list[tuple[str, str]]:
    """What a schedule charges, as ``(charge, rate)`` lines for people to read.

    The one place rates are put into words: the app's Rate schedules page and
    ``sba rates NAME`` show these lines, so that no document repeats the figures.

    >>> rate_lines(load_schedule())[0]
    ('Stormwater service units (SSU)', '$6.310 per unit per 30 days')
    """
    per = f"per {s.per_days} days"
    rows = [(f"{s.service_unit.label} ({s.service_unit.abbreviation})", f"${s.service_unit.rate} per unit {per}")]
    if s.service_unit.unit_sqft is not None:
        rows.append((f"One {s.service_unit.abbreviation} (measured classes)",
                     f"{s.service_unit.unit_sqft:,} sq ft of billable area"))
    if s.area_charge is not None:
        for name, rate in s.area_charge.rates.items():
            rows.append((f"{s.area_charge.label}, {name.replace('_', ' ')}",
                         f"${rate} per {s.area_charge.per_sqft:,} sq ft {per}"))
    if s.sewer is not None:
        for name, rate in s.sewer.rates.items():
            rows.append((f"{s.sewer.label}, {name.replace('_', ' ')}", f"${rate} per ccf"))
    if s.surcharge is not None:
        if s.surcharge.per_ccf is not None:
            rows.append((s.surcharge.label, f"${s.surcharge.per_ccf} per ccf"))
        if s.surcharge.area_rate is not None:
            rows.append((s.surcharge.label, f"${s.surcharge.area_rate} per {s.surcharge.per_sqft:,} sq ft {per}"))
    if s.discount is not None:
        d = s.discount
        rows.append((d.label, f"up to {d.max_fraction * 100:.0f}% × f (full {d.full_retention}, partial "
                              f"{d.partial_or_detention}, +{d.small_lot} small lot, +{d.trees} trees, "
                              f"at most {d.cap})" + ("" if d.verified else " (not confirmed)")))
    return rows


def available_schedules() -> list[str]:
    """Return the names of the bundled schedules, sorted.

    Examples
    --------
    >>> available_schedules()
    ['oak-lodge-fy2025-26', 'portland-bes-fy2025-26']
    """
    return sorted(p.stem for p in RATES_DIR.glob("*.toml"))


def _choices_sentence() -> str:
    return f"Choose one of: {', '.join(available_schedules())}, or give the path of a .toml file."


def _looks_like_path(value: str | Path) -> bool:
    if isinstance(value, Path):
        return True
    return value.lower().endswith(".toml") or "/" in value or "\\" in value


def load_schedule(name_or_path: str | Path = DEFAULT_SCHEDULE) -> RateSchedule:
    """Load and validate a rate schedule.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A bundled name (file stem in :data:`RATES_DIR`, see
        :func:`available_schedules`), or the path of a user ``.toml`` file.

    Returns
    -------
    RateSchedule

    Raises
    ------
    RateScheduleError
        If there is no such schedule, the file is not valid TOML, or a key is
        missing or has a bad value; the message names the file and the key.

    Examples
    --------
    >>> load_schedule("oak-lodge-fy2025-26").service_unit.unit_sqft
    Decimal('2500')
    >>> load_schedule("foo") # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    categorize.errors.RateScheduleError: There is no rate schedule called 'foo'.
    Choose one of: oak-lodge-fy2025-26, portland-bes-fy2025-26, or give the path of a .toml file.
    """
    if not isinstance(name_or_path, str | Path):
        raise TypeError(f"name_or_path must be a str or Path, got {type(name_or_path)}")
    if _looks_like_path(name_or_path):
        path = Path(name_or_path).expanduser()
        try:
            found = path.is_file()
        except (OSError, ValueError):  # a name too long for the system, a NUL byte
            found = False
        if not found:
            raise RateScheduleError(
                f"There is no rate schedule file at {_show(str(path), PATH_SHOWN)}; check the path, "
                f"or use a bundled schedule ({', '.join(available_schedules())})."
            )
    else:
        key = name_or_path.strip()
        path = RATES_DIR / f"{key}.toml"
        if not key or key not in available_schedules():
            raise RateScheduleError(
                f"There is no rate schedule called {_show(name_or_path)}. {_choices_sentence()}"
            )
    return _Builder(path).build(_read_toml(path))


def _read_toml(path: Path) -> dict:
    """The TOML table of a schedule file, every float a Decimal; any reading problem is a RateScheduleError."""
    name = _show(path.name, PATH_SHOWN)
    too_big = RateScheduleError(
        f"The rate schedule file {name} is larger than {MAX_FILE_BYTES // 1_000_000} MB; a rate schedule "
        "is a few kilobytes, so check that this is the right file."
    )
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise too_big
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # a file that grew since, or reports no size
    except OSError as err:
        raise RateScheduleError(
            f"The rate schedule file {_show(str(path), PATH_SHOWN)} could not be read ({err.strerror})."
        ) from err
    if len(data) > MAX_FILE_BYTES:
        raise too_big
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RateScheduleError(
            f"The rate schedule file {name} is not UTF-8 text; save it as UTF-8 (plain text) and try again."
        ) from err
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as err:
        raise RateScheduleError(f"The rate schedule file {name} is not valid TOML ({err}).") from err
    except RecursionError as err:  # tomllib reads nested arrays and tables recursively
        raise RateScheduleError(
            f"The rate schedule file {name} has lists or tables nested too deeply to be a rate schedule."
        ) from err
    except ValueError as err:  # int() refuses more than 4,300 digits (sys.get_int_max_str_digits)
        raise RateScheduleError(
            f"The rate schedule file {name} holds a number too long to read; check the file."
        ) from err


class _Builder:
    """Turn the raw TOML dict into a RateSchedule, with file-naming errors."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fname = _show(path.name, PATH_SHOWN)

    # -- error helpers -------------------------------------------------------
    def missing(self, key: str) -> RateScheduleError:
        return RateScheduleError(
            f"The rate schedule file {self.fname} is missing the required setting {_show(key, KEY_SHOWN)}."
        )

    def bad(self, key: str, why: str, value: Any) -> RateScheduleError:
        return RateScheduleError(
            f"The rate schedule file {self.fname} has a bad value for {_show(key, KEY_SHOWN)}: "
            f"{why} (got {_show(value)})."
        )

    def known(self, table: Any, allowed: tuple[str, ...], prefix: str) -> dict:
        """``table`` itself, once every key in it is one of ``allowed`` (the first other one is refused)."""
        if not isinstance(table, dict):
            raise self.bad(prefix.rstrip(".") or "the file", "it must be a table", table)
        for key in table:
            if key in allowed:
                continue
            where = _show(prefix + key, KEY_SHOWN)
            close = _closest(key, allowed)
            if close is not None:
                raise RateScheduleError(
                    f"The rate schedule file {self.fname} has an unknown setting {where}; "
                    f"did you mean {close!r}?"
                )
            raise RateScheduleError(
                f"The rate schedule file {self.fname} has an unknown setting {where}; remove it or "
                f"correct its spelling (the settings allowed there are {', '.join(allowed)})."
            )
        return table

    # -- typed getters -------------------------------------------------------
    def get(self, table: dict, key: str, prefix: str, *, required: bool = True) -> Any:
        if not isinstance(table, dict):
            raise self.bad(prefix.rstrip("."), "it must be a table", table)
        if key not in table:
            if required:
                raise self.missing(prefix + key)
            return None
        return table[key]

    def text(
        self, table: dict, key: str, prefix: str = "", *, required: bool = True
    ) -> str | None:
        value = self.get(table, key, prefix, required=required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.bad(prefix + key, "it must be a non-empty text in quotes", value)
        return value

    def zone(self, raw: dict) -> str:
        """The optional ``timezone``: an IANA zone name the standard library knows."""
        value = self.text(raw, "timezone", required=False)
        if value is None:
            return ""
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise self.bad("timezone", "it must be a time zone name such as "
                           "'America/Los_Angeles'", value) from None
        return value

    def flag(
        self,
        table: dict,
        key: str,
        prefix: str = "",
        *,
        required: bool = True,
        default: bool = False,
    ) -> bool:
        value = self.get(table, key, prefix, required=required)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.bad(prefix + key, "it must be true or false", value)
        return value

    def number(
        self,
        table: dict,
        key: str,
        prefix: str = "",
        *,
        required: bool = True,
        minimum: Decimal = Decimal(0),
        maximum: Decimal = MAX_NUMBER,
    ) -> Decimal | None:
        """A number from ``minimum`` up to (not including) ``maximum``, of at most MAX_PLACES decimals.

        Returned in plain form: ``-0.0`` is ``0.0`` and ``2.4e3`` is ``2400``.
        """
        value = self.get(table, key, prefix, required=required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise self.bad(prefix + key, "it must be a number", value)
        dec = Decimal(value)  # exact; comparisons below never round, whatever the exponent
        if not dec.is_finite():
            raise self.bad(prefix + key, "it must be a finite number", value)
        if dec < minimum:
            raise self.bad(prefix + key, f"it must be at least {minimum}", value)
        if dec >= maximum:
            raise self.bad(prefix + key, f"it must be less than {maximum:,}", value)
        exponent = dec.as_tuple().exponent
        if exponent < -MAX_PLACES:
            raise self.bad(prefix + key, f"it may have at most {MAX_PLACES} decimal places", value)
        if exponent > 0:
            return dec.quantize(Decimal(1))  # 1E+3 -> 1000: exact, the value is below MAX_NUMBER
        return dec.copy_abs() if dec.is_zero() else dec  # -0.0 -> 0.0

    def money(self, table: dict, key: str, prefix: str = "", *, required: bool = True) -> Decimal | None:
        """A rate in dollars: a number below MAX_RATE."""
        return self.number(table, key, prefix, required=required, maximum=MAX_RATE)

    def whole(
        self,
        table: dict,
        key: str,
        prefix: str = "",
        *,
        required: bool = True,
        minimum: int = 0,
        maximum: int,
    ) -> int | None:
        value = self.get(table, key, prefix, required=required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.bad(prefix + key, "it must be a whole number", value)
        if value < minimum:
            raise self.bad(prefix + key, f"it must be at least {minimum}", value)
        if value > maximum:
            raise self.bad(prefix + key, f"it must be at most {maximum:,}", value)
        return value

    def choice(
        self, table: dict, key: str, choices: tuple[str, ...], prefix: str = ""
    ) -> str:
        value = self.text(table, key, prefix)
        if value not in choices:
            raise self.bad(
                prefix + key, f"it must be one of {', '.join(choices)}", value
            )
        return value

    def table(
        self, raw: dict, key: str, prefix: str = "", *, required: bool = True
    ) -> dict | None:
        value = self.get(raw, key, prefix, required=required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.bad(prefix + key, "it must be a table", value)
        return value

    def rates(self, raw: dict, prefix: str) -> dict[str, Decimal]:
        table = self.table(raw, "rates", prefix)
        if not table:
            raise self.missing(prefix + "rates")
        return {name: self.money(table, name, prefix + "rates.") for name in table}

    # -- sections ------------------------------------------------------------
    def build(self, raw: dict) -> RateSchedule:
        self.known(raw, TOP_KEYS, "")
        effective = self.get(raw, "effective", "")
        if not isinstance(effective, dt.date) or isinstance(effective, dt.datetime):
            raise self.bad(
                "effective",
                "it must be a date such as 2025-07-01 (no quotes)",
                effective,
            )
        source = self.text(raw, "source")
        verified = self.flag(raw, "verified")
        per_days = self.whole(raw, "per_days", minimum=1, maximum=MAX_DAYS)

        service_unit = self.service_unit(self.table(raw, "service_unit"))
        area_charge = self.area_charge(self.table(raw, "area_charge", required=False))
        sewer = self.sewer(self.table(raw, "sewer", required=False))
        surcharge = self.surcharge(self.table(raw, "surcharge", required=False))
        discount = self.discount(self.table(raw, "discount", required=False))
        categories = self.categories(raw.get("category", []))
        classes = self.classes(
            self.table(raw, "classes"), service_unit, area_charge, sewer, categories
        )
        billable, check = self.feature_types(self.table(raw, "feature_types"))
        return RateSchedule(
            name=self.path.stem,
            utility=self.text(raw, "utility"),
            fiscal_year=self.text(raw, "fiscal_year"),
            effective=effective,
            source=source,
            verified=verified,
            per_days=per_days,
            service_unit=service_unit,
            classes=classes,
            categories=categories,
            area_charge=area_charge,
            sewer=sewer,
            surcharge=surcharge,
            discount=discount,
            billable_types=billable,
            check_types=check,
            notes=self.text(raw, "notes", required=False) or "",
            timezone=self.zone(raw),
            path=self.path,
        )

    def service_unit(self, t: dict) -> ServiceUnitRule:
        p = "service_unit."
        self.known(t, SERVICE_UNIT_KEYS, p)
        return ServiceUnitRule(
            label=self.text(t, "label", p),
            abbreviation=self.text(t, "abbreviation", p),
            rate=self.money(t, "rate", p),
            unit_sqft=self.number(t, "unit_sqft", p, required=False, minimum=Decimal(1)),
            decimals=self.whole(t, "decimals", p, maximum=MAX_DECIMALS),
            rounding=self.choice(t, "rounding", UNIT_ROUNDINGS, p),
        )

    def area_charge(self, t: dict | None) -> AreaCharge | None:
        if t is None:
            return None
        p = "area_charge."
        self.known(t, AREA_CHARGE_KEYS, p)
        return AreaCharge(
            label=self.text(t, "label", p),
            per_sqft=self.number(t, "per_sqft", p, minimum=Decimal(1)),
            rates=self.rates(t, p),
        )

    def sewer(self, t: dict | None) -> SewerRule | None:
        if t is None:
            return None
        p = "sewer."
        self.known(t, SEWER_KEYS, p)
        winter = self.table(t, "winter_average", p)
        wp = p + "winter_average."
        self.known(winter, WINTER_KEYS, wp)
        rows = self.get(winter, "minimum", wp, required=False) or []
        if not isinstance(rows, list):
            raise self.bad(wp + "minimum", "it must be a list of [[...]] tables", rows)
        minimums = []
        for i, row in enumerate(rows):
            rp = f"{wp}minimum[{i}]."
            self.known(row, MINIMUM_KEYS, rp)
            classes = self.get(row, "classes", rp, required=False) or []
            if not isinstance(classes, list):
                raise self.bad(
                    rp + "classes", "it must be a list of class names", classes
                )
            try:
                parsed = frozenset(PropertyClass.parse(c) for c in classes)
            except ValueError as err:
                raise self.bad(rp + "classes", str(err).rstrip("."), classes) from err
            minimums.append(
                WinterMinimum(
                    period_days=self.whole(row, "period_days", rp, minimum=1, maximum=MAX_DAYS),
                    max_ccf=self.number(row, "max_ccf", rp),
                    minimum_ccf=self.number(row, "minimum_ccf", rp),
                    per_dwelling_unit=self.flag(
                        row, "per_dwelling_unit", rp, required=False
                    ),
                    classes=parsed,
                )
            )
        return SewerRule(
            label=self.text(t, "label", p),
            rates=self.rates(t, p),
            winter_decimals=self.whole(winter, "decimals", wp, maximum=MAX_DECIMALS),
            minimums=tuple(minimums),
        )

    def surcharge(self, t: dict | None) -> Surcharge | None:
        if t is None:
            return None
        p = "surcharge."
        self.known(t, SURCHARGE_KEYS, p)
        per_ccf = self.money(t, "per_ccf", p, required=False)
        area_rate = self.money(t, "area_rate", p, required=False)
        if per_ccf is None and area_rate is None:
            raise RateScheduleError(
                f"The rate schedule file {self.fname} needs 'surcharge.per_ccf' or "
                "'surcharge.area_rate' (or no [surcharge] table at all)."
            )
        return Surcharge(
            label=self.text(t, "label", p),
            per_ccf=per_ccf,
            area_rate=area_rate,
            per_sqft=self.number(
                t, "per_sqft", p, required=area_rate is not None, minimum=Decimal(1)
            )
            or Decimal(1000),
        )

    def discount(self, t: dict | None) -> DiscountRule | None:
        if t is None:
            return None
        p = "discount."
        self.known(t, DISCOUNT_KEYS, p)
        eligible = self.get(t, "eligible", p)
        if (
            not isinstance(eligible, list)
            or not eligible
            or any(e not in DISCOUNT_COMPONENTS for e in eligible)
        ):
            raise self.bad(
                p + "eligible",
                f"it must be a list drawn from {', '.join(DISCOUNT_COMPONENTS)}",
                eligible,
            )
        fraction = self.number(t, "max_fraction", p)
        if fraction > 1:
            raise self.bad(p + "max_fraction", "it must be at most 1", fraction)
        return DiscountRule(
            label=self.text(t, "label", p),
            max_fraction=fraction,
            full_retention=self.number(t, "full_retention", p),
            partial_or_detention=self.number(t, "partial_or_detention", p),
            small_lot=self.number(t, "small_lot", p),
            trees=self.number(t, "trees", p),
            cap=self.number(t, "cap", p),
            verified=self.flag(t, "verified", p),
            eligible=tuple(eligible),
        )

    def categories(self, rows: Any) -> tuple[Category, ...]:
        if not isinstance(rows, list):
            raise self.bad("category", "it must be a list of [[category]] tables", rows)
        cats: list[Category] = []
        for i, row in enumerate(rows):
            p = f"category[{i}]."
            self.known(row, CATEGORY_KEYS, p)
            last = i == len(rows) - 1
            cat = Category(
                name=self.text(row, "name", p).strip().lower(),
                max_sqft=self.number(row, "max_sqft", p, required=not last),
                billed_sqft=self.number(row, "billed_sqft", p, required=False),
                verified=self.flag(row, "verified", p),
                units=self.number(row, "units", p, required=False),
            )
            if last and cat.max_sqft is not None:
                raise self.bad(
                    p + "max_sqft",
                    "the last (largest) category must have no max_sqft",
                    cat.max_sqft,
                )
            if cats and cat.max_sqft is not None and cat.max_sqft <= cats[-1].max_sqft:
                raise self.bad(
                    p + "max_sqft",
                    "categories must be listed smallest first",
                    cat.max_sqft,
                )
            if any(c.name == cat.name for c in cats):
                raise self.bad(p + "name", "category names must be unique", cat.name)
            cats.append(cat)
        return tuple(cats)

    def classes(
        self,
        t: dict,
        su: ServiceUnitRule,
        area: AreaCharge | None,
        sewer: SewerRule | None,
        cats: tuple[Category, ...],
    ) -> dict[PropertyClass, ClassRule]:
        """The ``[classes.*]`` tables: one rule per property class, every class required, no other."""
        for key in t:
            try:
                pc = PropertyClass.parse(key)
            except ValueError as err:
                raise self.bad(f"classes.{key}", _short(str(err).rstrip("."), 200), key) from err
            if key != pc.value:  # "Single-Family" beside single_family would be ignored
                raise self.bad(f"classes.{key}", f"write the class name as {pc.value}", key)
        return {pc: self.class_rule(self.table(t, pc.value, "classes."), pc, su, area, sewer, cats)
                for pc in PropertyClass}

    def class_rule(
        self,
        row: dict,
        pc: PropertyClass,
        su: ServiceUnitRule,
        area: AreaCharge | None,
        sewer: SewerRule | None,
        cats: tuple[Category, ...],
    ) -> ClassRule:
        """One ``[classes.<class>]`` table, checked against the schedule's other tables."""
        p = f"classes.{pc.value}."
        self.known(row, CLASS_KEYS, p)
        mode = self.choice(row, "service_units", SERVICE_UNIT_MODES, p)
        basis = self.choice(row, "area_basis", AREA_BASES, p)
        per_dwelling = self.number(row, "units_per_dwelling", p, required=mode == "per_dwelling")
        self.check_modes(pc, mode, basis, su, cats, p)
        area_rate = None
        if basis != "none":
            if area is None:
                raise self.missing("area_charge")
            area_rate = self.named_rate(row, "area_rate", area.rates, "area_charge.rates", p)
        sewer_rate = None if sewer is None else self.named_rate(row, "sewer_rate", sewer.rates, "sewer.rates", p)
        min_du = self.whole(row, "min_dwelling_units", p, required=False, maximum=MAX_DWELLING_UNITS)
        max_du = self.whole(row, "max_dwelling_units", p, required=False, maximum=MAX_DWELLING_UNITS)
        if min_du is not None and max_du is not None and max_du < min_du:
            raise self.bad(p + "max_dwelling_units", "it must be at least min_dwelling_units", max_du)
        metered = self.metered(row, pc, area, p)
        return ClassRule(
            property_class=pc,
            service_units=mode,
            units_per_dwelling=per_dwelling,
            min_dwelling_units=min_du if min_du is not None else 0,
            max_dwelling_units=max_du,
            area_basis=basis,
            area_rate=area_rate,
            sewer_rate=sewer_rate,
            min_units=self.number(row, "min_units", p, required=False),
            individually_metered=metered,
        )

    def check_modes(self, pc: PropertyClass, mode: str, basis: str, su: ServiceUnitRule,
                    cats: tuple[Category, ...], p: str) -> None:
        """Refuse a service-unit mode or area basis the schedule's other tables cannot serve."""
        if mode == "area" and su.unit_sqft is None:
            raise self.missing("service_unit.unit_sqft")
        if "category" in (mode, basis) and not cats:
            raise self.missing("category")
        if mode == "category" and any(c.units is None for c in cats):
            raise self.missing("category[].units")
        if basis == "category" and any(c.billed_sqft is None for c in cats):
            i = next(i for i, c in enumerate(cats) if c.billed_sqft is None)
            raise self.missing(f"category[{i}].billed_sqft")
        if (mode == "category" or basis == "category") and pc is not PropertyClass.SINGLE_FAMILY:
            raise self.bad(p + ("area_basis" if basis == "category" else "service_units"),
                           "only single_family can use categories", "category")

    def named_rate(self, row: dict, key: str, rates: dict[str, Any], where: str, p: str) -> str:
        """A rate name (``area_rate``, ``sewer_rate``) that must be one of the table ``where``'s rates."""
        name = self.text(row, key, p)
        if name not in rates:
            raise self.bad(p + key, f"it must name one of the {where} ({', '.join(rates)})", name)
        return name

    def metered(self, row: dict, pc: PropertyClass, area: AreaCharge | None, p: str) -> IndividuallyMetered | None:
        """The optional ``individually_metered`` table (single-family only; needs an area charge)."""
        im_row = self.table(row, "individually_metered", p, required=False)
        if im_row is None:
            return None
        if pc is not PropertyClass.SINGLE_FAMILY:
            raise self.bad(p + "individually_metered", "only single_family can have it", "table")
        ip = p + "individually_metered."
        self.known(im_row, METERED_KEYS, ip)
        metered = IndividuallyMetered(
            min_dwelling_units=self.whole(im_row, "min_dwelling_units", ip, minimum=1,
                                          maximum=MAX_DWELLING_UNITS),
            billed_sqft_per_dwelling=self.number(im_row, "billed_sqft_per_dwelling", ip),
            units_per_dwelling=self.number(im_row, "units_per_dwelling", ip),
            verified=self.flag(im_row, "verified", ip),
        )
        if area is None:
            raise self.missing("area_charge")
        return metered

    def feature_types(self, t: dict) -> tuple[dict[str, bool], frozenset[str]]:
        p = "feature_types."
        self.known(t, FEATURE_TYPES_KEYS, p)
        table = self.table(t, "billable", p)
        billable: dict[str, bool] = {}
        for name in table:
            if _type_key(name) in billable:  # "Roof" and "roof": one would be ignored
                raise self.bad(p + "billable." + name, "the type is listed twice", name)
            billable[_type_key(name)] = self.flag(table, name, p + "billable.")
        check = self.get(t, "check_with_utility", p, required=False) or []
        if not isinstance(check, list) or not all(isinstance(c, str) for c in check):
            raise self.bad(
                p + "check_with_utility", "it must be a list of feature types", check
            )
        check_keys = frozenset(_type_key(c) for c in check)
        unknown = sorted(check_keys - billable.keys())
        if unknown:
            raise self.bad(
                p + "check_with_utility",
                "every type listed must also appear in feature_types.billable",
                unknown[0],
            )
        return billable, check_keys


SHOWN = 60
"""Characters of a bad value an error message shows (then "…")."""

KEY_SHOWN = 120
PATH_SHOWN = 200


def _short(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room, 0)] + "…"


def _show(value: Any, room: int = SHOWN, depth: int = 0) -> str:
    """A value for an error message, short and as the file writes it: ``6.310``, not ``Decimal('6.310')``.

    Text is quoted; lists and tables stop after about ``room`` characters, and
    below three levels of nesting, so no message grows with the value.

    >>> _show(Decimal("6.310")), _show(True), _show(dt.time(7, 0)), _show([1, "a", {"b": 2}])
    ('6.310', 'true', '07:00:00', "[1, 'a', {b = 2}]")
    >>> _show(list(range(100)), room=10), _show(Decimal("1e999999999")), _show("x" * 99, room=3)
    ('[0, 1, 2, 3, …]', '1E+999999999', "'xxx…'")
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        value = Decimal(value)  # str() of an int refuses more than 4,300 digits; Decimal's does not
    if isinstance(value, Decimal):
        plain = value.is_finite() and value.as_tuple().exponent >= -40 and value.adjusted() <= 20
        return _short(format(value, "f") if plain else str(value), room)
    if isinstance(value, str):
        return repr(_short(value, room))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | dict):
        ends = "[]" if isinstance(value, list) else "{}"
        if depth >= 3:
            return f"{ends[0]}…{ends[1]}"
        items = iter(value) if isinstance(value, list) else iter(value.items())
        parts: list[str] = []
        used = 0
        for item in items:
            if used >= room:
                parts.append("…")
                break
            if isinstance(value, list):
                part = _show(item, room - used, depth + 1)
            else:
                part = f"{_short(str(item[0]), room - used)} = {_show(item[1], room - used, depth + 1)}"
            parts.append(part)
            used += len(part) + 2
        return ends[0] + ", ".join(parts) + ends[1]
    return _short(str(value), room)


def _closest(word: str, choices: tuple[str, ...]) -> str | None:
    """The choice most like ``word`` (case aside), if alike enough to be a slip of the keyboard.

    >>> _closest("max_dwelling_unit", ("min_dwelling_units", "max_dwelling_units"))
    'max_dwelling_units'
    >>> _closest("junk", ("label", "rate")) is None
    True
    """
    if len(word) > 100:  # difflib's cost grows with the product of the lengths
        return None
    by_lower = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None
