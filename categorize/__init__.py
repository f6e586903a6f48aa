"""Stormwater billing rules: categories, service units and charges.

Pure Python on :class:`~decimal.Decimal` (standard library only: no geometry
library, pandas, numpy or streamlit). Rates are data: one TOML file per
utility and fiscal year in ``categorize/rates/``.

Examples
--------
>>> import categorize
>>> bill = categorize.estimate(
...     schedule=categorize.load_schedule(categorize.DEFAULT_SCHEDULE),
...     property_class="single_family", area_sqft=2569.16,
...     water_use_ccf=12, period="quarterly")
>>> bill.category, bill.billed_area_sqft, bill.total
('standard', Decimal('2400'), Decimal('282.30'))

Billing rules and choices
-------------------------
Decided by SPEC Part A (the seed is BES "Sewer and Stormwater Rates and
Charges"; the rates live only in ``rates/*.toml``, where each number
carries a [SEED], [SRC], [INF] or [UNVERIFIED] tag):

1. Single-family category on billable area rounded half-up to whole sq ft:
   small ≤ 1,500 < standard ≤ 2,700 < large (the City form's rule).
   Standard is billed at 2,400 sq ft [SEED]; small 1,000 and large 3,500 are
   unverified placeholders (``verified = false``) and every bill using them
   carries a warning.
2. Service units: single-family 1 per dwelling unit (1-2 units); multifamily
   and mixed use 0.65 per dwelling unit; non-residential billable area ÷
   2,400. Service units are rounded to 2 decimals half-up before pricing.
3. Each line = rate × quantity × (days ÷ 30), exact; each line shown rounded
   half-up to cents; total = exact sum of the unrounded lines rounded once
   (``round_total_of_exact``, default), or ``sum_of_rounded_lines``.
   Periods: monthly 30, bimonthly 60, quarterly 90 days, or a day count.
4. The seed's "Total sewer and stormwater charges" excludes the Portland
   Harbor Superfund charge, so Superfund is a separate section
   (a rate per ccf plus one per 1,000 sq ft per 30 days, on the category's
   billed sq ft for single-family) and ``grand_total`` adds it.
5. Managed floodplain lots use the schedule's floodplain area rate.
6. Clean River Rewards: discount = 35% × f × (service-unit + area charges),
   f = min(max(1.00 full, 0.67 partial/detention) + 0.25 small lot
   + 0.08 trees, 1.00); Superfund is not discounted; labelled an estimate.

Our choices where SPEC is silent:

7. 3+ individually metered single-family dwellings on one lot: 1,000 sq ft
   billed per dwelling [SEED] and 0.65 service units per dwelling (our
   choice, flagged unverified with a warning). Single-family with 3+
   dwellings that are not individually metered is refused with a message
   to choose multifamily.
   ``dwelling_units=None`` means 1 for single-family, is ignored for
   non-residential, and is refused for multifamily and mixed use.
8. Duplex / house + ADU: 2 service units, one category for the lot.
9. Mixed use: 0.65 per dwelling unit only, no extra commercial service
   units; residential area rate and residential sewer rate, like
   multifamily. Multifamily needs 3+ dwelling units, mixed use 1+.
10. Measured classes (multifamily, mixed use, non-residential) are billed
    on billable area rounded half-up to whole sq ft, the same rounding used
    for categories; the exact measured value is kept in the bill.
11. No minimum service units for non-residential (0 sq ft → 0 units).
12. Superfund area for 3+ individually metered dwellings: their billed
    1,000 sq ft per dwelling.
13. Winter average: ``winter ccf ÷ days between reads × period days``,
    rounded to 0.1 ccf half-up; the minimum table (monthly 0 → 2,
    bimonthly 0-1 → 5, quarterly 0-2 → 7, multifamily quarterly 0-2 → 5 per
    dwelling unit) is data, compared with that rounded average, and applies
    to mixed use like multifamily; a day count with no table row has no
    minimum. Residential sewer volume outside the winter period is the least
    of actual, winter average and class average; otherwise actual.
14. The Clean River Rewards discount line is exact −35% × f × (exact
    service-unit line + exact area line), rounded like every line (half-up,
    away from zero); it is omitted when f = 0. Multifamily and commercial
    get the same formula with an extra warning that the City sets their
    discount after a site visit.
15. When a bill's category and measured area disagree, the given category
    is billed and a warning names the category the area falls in.
16. Under ``round_total_of_exact`` the grand total is the exact sum of all
    lines rounded once, so it can differ by a cent from
    ``total + superfund_total``.
17. A rate schedule with ``verified = false`` (Oak Lodge) adds a warning to
    every bill. Options a schedule has no data for (sewer, floodplain,
    discount) add a warning instead of failing.
18. Oak Lodge Water Services (a rate per ESU of 2,500 sq ft per month,
    treated as 30 days) ships as the second schedule; its year, unit
    rounding and duplex rule are unverified.
19. Feature types: roof, garage, carport, shed, driveway, parking, walkway,
    patio, deck, porch, pervious pavement, gravel, pool and other are
    billable; dock, float and floating home are not; gravel and pool are
    flagged "check with your utility". Unlisted types count as ``other``.
"""



from categorize.charges import (
    CENT,
    PERIODS,
    TOTAL_POLICIES,
    Bill,
    BillLine,
    CategoryDistance,
    CleanRiverRewards,
    Period,
    area_decimal,
    billable_sqft,
    categorize_sfr,
    category_distance,
    clean_river_rewards_fraction,
    estimate,
    service_units,
    sewer_volume_ccf,
    winter_average_ccf,
)
from categorize.classes import PropertyClass
from categorize.errors import (
    BillingError,
    InvalidBillInputError,
    MissingClassError,
    NegativeAreaError,
    RateScheduleError,
    UnknownClassError,
)
from categorize.schedule import (
    DEFAULT_SCHEDULE,
    RATES_DIR,
    Category,
    RateSchedule,
    available_schedules,
    load_schedule,
)

__all__ = [
    "CENT",
    "DEFAULT_SCHEDULE",
    "PERIODS",
    "RATES_DIR",
    "TOTAL_POLICIES",
    "Bill",
    "BillLine",
    "BillingError",
    "Category",
    "CategoryDistance",
    "CleanRiverRewards",
    "InvalidBillInputError",
    "MissingClassError",
    "NegativeAreaError",
    "Period",
    "PropertyClass",
    "RateSchedule",
    "RateScheduleError",
    "UnknownClassError",
    "area_decimal",
    "available_schedules",
    "billable_sqft",
    "categorize_sfr",
    "category_distance",
    "clean_river_rewards_fraction",
    "estimate",
    "load_schedule",
    "service_units",
    "sewer_volume_ccf",
    "winter_average_ccf",
]
