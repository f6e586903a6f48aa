"""``sba estimate``: one itemised bill from a property class and an area (SPEC A2-A3)."""

from __future__ import annotations

import argparse
import sys

from sba.cli.args import decimal_number, print_json, rate_schedule, whole_number

__all__ = ["cmd_estimate", "register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sba estimate`` to the sub-commands."""
    e = sub.add_parser("estimate", help="estimate one bill from a property class and area",
                       description="Estimate an itemised sewer and stormwater bill (SPEC A2-A3).")
    e.add_argument("--class", dest="property_class", required=True,
                   help="single_family, multifamily, mixed_use or non_residential")
    e.add_argument("--dwelling-units", type=whole_number("--dwelling-units"), default=None,
                   help="number of dwelling units (default 1 for houses, required for multifamily)")
    e.add_argument("--area", type=decimal_number("--area"), default=None,
                   help="billable area in sq ft (required except for a house given --category)")
    e.add_argument("--category", default=None, help="for a house: small, standard or large instead of --area")
    e.add_argument("--water-use", type=decimal_number("--water-use"), default=None,
                   help="billed water use in ccf for the period (omit for no sewer line)")
    e.add_argument("--period", default="monthly", help="monthly, bimonthly, quarterly or a number of days")
    e.add_argument("--managed-floodplain", action="store_true", help="the lot is in a managed floodplain")
    e.add_argument("--individually-metered", action="store_true",
                   help="3+ individually metered houses on one lot (1,000 sq ft each)")
    e.add_argument("--total-policy", default="round_total_of_exact",
                   choices=["round_total_of_exact", "sum_of_rounded_lines"], help="how the total is rounded")
    e.add_argument("--rates", default=None, help="rate schedule name or .toml file (default Portland BES)")
    e.add_argument("--format", choices=["text", "json"], default="text")
    e.set_defaults(func=cmd_estimate)


def cmd_estimate(args: argparse.Namespace) -> int:
    """``sba estimate``: print the bill for a property class and an area or category."""
    from categorize import estimate

    schedule = rate_schedule(args.rates)
    bill = estimate(
        schedule=schedule,
        property_class=args.property_class,
        dwelling_units=args.dwelling_units,
        area_sqft=args.area,
        category=args.category,
        water_use_ccf=args.water_use,
        period=args.period,
        managed_floodplain=args.managed_floodplain,
        individually_metered=args.individually_metered,
        total_policy=args.total_policy,
    )
    data = bill.to_dict()
    if args.format == "json":
        print_json(data)
        return 0
    print(f"Schedule: {data['schedule']}   period: {data['period_days']} days   class: {data['property_class']}")
    if data.get("category"):
        print(f"Category: {data['category']}")
    print(f"Service units: {data['service_units']}   billed area: {data['billed_area_sqft']} sq ft")
    for line in data["lines"]:
        print(f"  {line['item']:<40} {line['calculation']:<32} ${line['amount']:>12}")
    print(f"  {'Total sewer and stormwater':<73} ${data['total']:>12}")
    for line in data["superfund"]["lines"]:
        print(f"  {line['item']:<40} {line['calculation']:<32} ${line['amount']:>12}")
    print(f"  {'Total with Portland Harbor Superfund':<73} ${data['grand_total']:>12}")
    for w in data["warnings"]:
        print(f"Warning: {w}", file=sys.stderr)
    return 0
