"""``sba measure``: the billable area of one lot or many, from parcel and feature layers (SPEC A1)."""

from __future__ import annotations

import argparse
import sys

from sba.cli.args import CRS_HELP, print_json, rate_schedule

__all__ = ["cmd_measure", "register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sba measure`` to the sub-commands."""
    m = sub.add_parser("measure", help="measure the billable area of one lot or many",
                       description="Measure billable area per lot from parcel and feature layers (SPEC A1).")
    m.add_argument("--parcels", required=True, help="parcel (tax lot) layer")
    m.add_argument("--parcels-layer", default=None, help="layer name inside a GeoPackage/KML")
    m.add_argument("--parcel-id", default=None, help="measure only this lot")
    m.add_argument("--features", required=True, help="hard-surface features layer")
    m.add_argument("--features-layer", default=None)
    m.add_argument("--water", default=None, help="water bodies layer (for overwater exclusion)")
    m.add_argument("--water-layer", default=None)
    m.add_argument("--id-field", default="parcel_id", help="parcel id column (default parcel_id)")
    m.add_argument("--type-field", default="feature_type", help="feature type column (default feature_type)")
    m.add_argument("--class-field", default="property_class",
                   help="property class column of the parcels (default property_class; absent = single_family)")
    m.add_argument("--rates", default=None, help="rate schedule name or .toml file (default Portland BES)")
    m.add_argument("--crs", default=None, help=CRS_HELP)
    m.add_argument("--format", choices=["text", "json"], default="text")
    m.set_defaults(func=cmd_measure)


def cmd_measure(args: argparse.Namespace) -> int:
    """``sba measure``: measure the billable area of the lots in a parcels file from a features file."""
    from sba.engine import lot_results, measure_files

    schedule = rate_schedule(args.rates)
    m, parcels, note = measure_files(
        args.parcels, args.features, args.water,
        parcel_id=args.parcel_id, id_field=args.id_field, type_field=args.type_field,
        schedule=schedule, parcels_layer=args.parcels_layer,
        features_layer=args.features_layer, water_layer=args.water_layer, crs=args.crs,
        class_field=args.class_field,
    )
    lots = lot_results(m, parcels, schedule, class_field=args.class_field, id_field=args.id_field)
    if args.format == "json":
        where = {"crs": str(m.crs), "crs_name": m.crs.name, "crs_note": note}
        print_json({**where, "lots": lots} if args.parcel_id is None else {**lots[0], **where})
        return 0
    if note:
        print(f"Note: {note}", file=sys.stderr)
    header = f"{'parcel':<14}{'billable':>12}{'whole':>8}{'outside':>10}{'overlap':>10}{'overwater':>11}  category"
    print(header)
    for lot in lots:
        flag = (" (repaired)" if lot["repaired"] else "") + (" (overlaps another lot)" if lot["overlaps_another_lot"]
                                                             else "")
        if lot["error"]:
            print(f"{lot['parcel_id']!s:<14}  not billed: {lot['error']}")
            continue
        print(f"{lot['parcel_id']!s:<14}{lot['billable_area_sqft']:>12}{lot['billable_sqft_rounded']:>8}"
              f"{lot['outside_parcel_sqft']:>10}{lot['overlap_sqft']:>10}{lot['overwater_excluded_sqft']:>11}"
              f"  {lot['category'] or '-'}{flag}")
    if args.parcel_id is not None and lots[0]["by_type"]:
        print("By type: " + ", ".join(f"{t} {a}" for t, a in lots[0]["by_type"].items()))
    return 0
