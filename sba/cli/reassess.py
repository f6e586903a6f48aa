"""``sba reassess``: its arguments and its summary; the bulk run itself is :func:`sba.bulk.reassess`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

from sba.cli.args import (
    CRS_HELP,
    UsageError,
    decimal_number,
    print_json,
    rate_schedule,
    whole_number,
)

__all__ = ["cmd_reassess", "register"]

RASTER_SCALE_WORDS = {"fraction": "shares 0-1", "percent": "percentages 0-100"}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sba reassess`` to the sub-commands."""
    ra = sub.add_parser("reassess", help="measure and bill a whole parcel dataset",
                        description="Bulk reassessment: every parcel through the same rules, resumable, "
                                    "on all cores or on a dask cluster.")
    ra.add_argument("--parcels", required=True, help="parcel layer (GeoParquet, GeoPackage, ...)")
    ra.add_argument("--features", required=True, help="hard-surface features layer")
    ra.add_argument("--water", default=None, help="water bodies layer")
    ra.add_argument("--out", required=True, help="result table: .parquet, .gpkg or .csv")
    ra.add_argument("--parcels-layer", default=None)
    ra.add_argument("--features-layer", default=None)
    ra.add_argument("--water-layer", default=None)
    ra.add_argument("--id-field", default="parcel_id")
    ra.add_argument("--type-field", default="feature_type")
    ra.add_argument("--class-field", default=None, help="property class column (absent: all single_family)")
    ra.add_argument("--class-map", default="", help="CODE=CLASS,... mapping your codes to our classes")
    ra.add_argument("--dwelling-units-field", default=None)
    ra.add_argument("--rates", default=None, help="rate schedule name or .toml file (default Portland BES)")
    ra.add_argument("--crs", default=None, help=CRS_HELP)
    ra.add_argument("--workers", type=whole_number("--workers"), default=1, help="processes on this machine")
    ra.add_argument("--scheduler", default=None, help="address of a dask scheduler (tcp://host:8786)")
    ra.add_argument("--chunk-size", type=whole_number("--chunk-size"), default=20_000)
    ra.add_argument("--resume", action="store_true", help="continue an interrupted run")
    ra.add_argument("--by-type", action="store_true", help="add sqft_<type> columns (about a third slower)")
    ra.add_argument("--impervious-raster", default=None,
                    help="impervious/land-cover GeoTIFF: adds a raster estimate per lot and a disagreement flag")
    ra.add_argument("--raster-tolerance", type=decimal_number("--raster-tolerance"), default=Decimal(25),
                    help="flag lots whose raster estimate differs from the measured area by more than this %% "
                         "(default 25)")
    ra.add_argument("--raster-scale", choices=["auto", "fraction", "percent"], default="auto",
                    help="what the raster's values mean: fraction = shares 0-1 (a 0/1 raster too), percent = 0-100; "
                         "auto (default) decides once per run from the raster's values over the parcels")
    ra.add_argument("--previous", default=None, help="last year's results (parcel_id, category) to compare")
    ra.add_argument("--no-progress", action="store_true")
    ra.add_argument("--format", choices=["text", "json"], default="text", help="summary format")
    ra.set_defaults(func=cmd_reassess)


def _class_map(text: str) -> dict[str, str]:
    """``--class-map CODE=CLASS,...`` as a dict, each CLASS one of ours (written as people write it);
    a code mapped twice or a class we do not have is refused: the run would bill those lots wrongly."""
    from categorize import PropertyClass, UnknownClassError

    mapping: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        code, sep, klass = (part.strip() for part in item.partition("="))
        if not sep or not code or not klass:
            raise UsageError(f"--class-map entries look like CODE=CLASS (got {item!r}).")
        try:
            klass = PropertyClass.parse(klass).value
        except UnknownClassError:
            raise UsageError(f"--class-map: {klass!r} is not a property class; "
                             f"use one of {', '.join(PropertyClass.choices())}.") from None
        if mapping.get(code, klass) != klass:
            raise UsageError(f"--class-map maps {code!r} twice ({mapping[code]}, {klass}); keep one.")
        mapping[code] = klass
    return mapping


def cmd_reassess(args: argparse.Namespace) -> int:
    """Run ``sba reassess``: the bulk run here or on a cluster, then its summary (text or JSON)."""
    prefetched = None
    if not args.scheduler:  # a cluster's driver reads no layer
        from sba.bulk.prefetch import Prefetch, wanted_columns

        # pyarrow reads the GeoParquet layers while pandas and geopandas are
        # imported.  Its tables are read on that thread and freed in the forked
        # run; with pyarrow's default allocator (mimalloc) their pages stay
        # mapped there.  The system allocator maps big buffers on their own
        # and unmaps them when freed, so the run's peak does not carry them.
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
        wanted = wanted_columns(args.id_field, args.class_field, args.dwelling_units_field, args.type_field)
        prefetched = Prefetch({args.parcels: wanted["parcels"], args.features: wanted["features"],
                               args.water: wanted["water"]})
    from sba.bulk import ReassessOptions, reassess

    if args.workers < 1 or args.chunk_size < 1:
        raise UsageError("--workers and --chunk-size must be 1 or more.")
    class_map = _class_map(args.class_map)
    if class_map and not args.class_field:
        raise UsageError("--class-map needs --class-field: the parcels column that holds your codes.")
    if args.raster_tolerance < 0:
        raise UsageError("--raster-tolerance must be 0 or more (a percentage of the measured area).")
    opts = ReassessOptions(id_field=args.id_field, type_field=args.type_field, class_field=args.class_field,
                           class_map=class_map, dwelling_units_field=args.dwelling_units_field,
                           chunk_size=args.chunk_size, by_type=args.by_type,
                           raster=args.impervious_raster, raster_tolerance=float(args.raster_tolerance) / 100,
                           crs=args.crs, raster_scale=args.raster_scale)
    if args.raster_scale != "auto" and not args.impervious_raster:
        raise UsageError("--raster-scale says what the values of an --impervious-raster mean; give the raster too.")
    if args.impervious_raster and not Path(args.impervious_raster).exists():
        raise UsageError(f"There is no raster file at {args.impervious_raster!r}; check the path.")
    schedule = rate_schedule(args.rates)
    layers = {"parcels": args.parcels_layer, "features": args.features_layer, "water": args.water_layer}
    show = (not args.no_progress and sys.stderr.isatty()) or os.environ.get("SBA_PROGRESS") == "1"
    if show:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        with Progress(TextColumn("[bold]reassess"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[rate]:>8.0f} parcels/s"), TimeRemainingColumn(),
                      transient=False, console=Console(stderr=True)) as bar:  # stdout stays for results
            task = bar.add_task("parcels", total=None, rate=0.0)
            t0 = time.perf_counter()

            def progress(done, total):
                bar.update(task, completed=done, total=total, rate=done / max(time.perf_counter() - t0, 1e-9))

            summary = reassess(args.parcels, args.features, args.out, water_path=args.water, schedule=schedule,
                               opts=opts, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                               previous=args.previous, progress=progress, layers=layers, isolate=True,
                               prefetched=prefetched)
    else:
        summary = reassess(args.parcels, args.features, args.out, water_path=args.water, schedule=schedule,
                           opts=opts, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                           previous=args.previous, layers=layers, isolate=True, prefetched=prefetched)
    data = {
        "out": str(summary.out), "parcels_in": summary.parcels_in, "parcels_out": summary.parcels_out,
        "seconds": round(summary.seconds, 2), "parcels_per_second": round(summary.parcels_per_second),
        "by_category": summary.by_category, "errors": summary.errors, "repaired": summary.repaired,
        "chunks": summary.chunks, "chunks_resumed": summary.chunks_resumed,
        "phases": summary.phases, "raster_disagreements": summary.raster_flags,
        "category_changes": summary.changes,
        "changes_file": str(summary.changes_path) if summary.changes_path else None,
        "repeated_ids": summary.repeated_ids, "crs_note": summary.crs_note, "notes": summary.notes,
    }
    data["raster_scale"] = summary.raster_scale  # what --raster-scale auto decided
    if args.format == "json":
        print_json(data)
    else:
        print(f"Wrote {data['parcels_out']:,} rows for {data['parcels_in']:,} parcels to {data['out']} "
              f"in {data['seconds']} s ({data['parcels_per_second']:,} parcels/s).")
        print("Categories: " + (", ".join(f"{k} {v:,}" for k, v in data["by_category"].items())
                                or "none: every row has an error"))
        if summary.raster_flags is not None:
            print(f"Lots where the raster estimate disagrees with the measured area: {summary.raster_flags:,} "
                  f"(raster values read as {RASTER_SCALE_WORDS[summary.raster_scale]}).")
        print(f"Rows with errors: {data['errors']:,} (of which {summary.repeated_ids:,} share their id with "
              f"another row); lots with repaired geometry: {data['repaired']:,}; "
              f"chunks resumed: {data['chunks_resumed']} of {data['chunks']}.")
        for note in filter(None, [summary.crs_note, *summary.notes]):
            print(f"Note: {note}")
        if summary.changes is not None:
            print(f"Parcels whose category changed since the previous run: {summary.changes:,} "
                  f"(listed in {summary.changes_path}).")
    return 0
