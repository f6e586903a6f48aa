"""Service units, categories and charges: pure functions on Decimal.

One module per part of the bill, as in OpenFisca: :mod:`~categorize.charges.values`
(inputs to Decimal, periods, lines, totals), :mod:`~categorize.charges.units`
(categories, service units), :mod:`~categorize.charges.sewer`,
:mod:`~categorize.charges.discount` (Clean River Rewards) and
:mod:`~categorize.charges.bill` (:func:`estimate`).

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
>>> [(line.item, line.calculation, line.amount) for line in bill.lines] # doctest: +NORMALIZE_WHITESPACE
[('Sanitary sewer', '$13.54 × 12 ccf', Decimal('162.48')),
 ('Stormwater service units', '(1 × $6.310) × 3', Decimal('18.93')),
 ('Stormwater billable area', '($14.013 × 2.4) × 3', Decimal('100.89'))]
>>> bill.total, bill.superfund_total, bill.grand_total
(Decimal('282.30'), Decimal('1.85'), Decimal('284.15'))
"""

from categorize.charges.bill import Bill, estimate
from categorize.charges.discount import CleanRiverRewards, clean_river_rewards_fraction
from categorize.charges.sewer import sewer_volume_ccf, winter_average_ccf
from categorize.charges.units import (
    CategoryDistance,
    categorize_sfr,
    category_distance,
    service_units,
)
from categorize.charges.values import (
    CENT,
    PERIODS,
    TOTAL_POLICIES,
    BillLine,
    Period,
    area_decimal,
    billable_sqft,
)
from categorize.classes import PropertyClass

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
