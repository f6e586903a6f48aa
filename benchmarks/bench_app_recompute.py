"""Benchmark: the app's recompute after an edit, for a lot with 10 features.

What the "My lot" page does on every rerun after a shape is drawn, moved or
retyped, minus Streamlit itself: measure the lot's shapes with the engine
(``sba.evidence.measure_shapes``: GeoJSON → GeoDataFrame → project → clip,
union, water, per-type split, per-shape areas) and estimate the bill
(``categorize.estimate``). The goal is under 200 ms.

Run: ``.venv/bin/python benchmarks/bench_app_recompute.py [--repeat 50]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import geopandas as gpd
import shapely

import categorize
from gis import webmap
from gis.shapes import new_shape
from sba import evidence

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
GOAL_MS = 200.0


def ten_shapes(lot: gpd.GeoDataFrame) -> list[dict]:
    """Ten overlapping rectangles of mixed types inside (and one across) the lot line."""
    minx, miny, maxx, maxy = lot.total_bounds
    w, h = maxx - minx, maxy - miny
    types = ["roof", "garage", "shed", "driveway", "parking", "walkway", "patio", "deck", "pool", "gravel"]
    boxes = []
    for i, kind in enumerate(types):
        x0 = minx + (i % 3) * w / 4 - (5 if i == 9 else 0)  # the last one crosses the lot line
        y0 = miny + (i // 3) * h / 5
        boxes.append((shapely.box(x0, y0, x0 + w / 3, y0 + h / 4), kind))
    gdf = gpd.GeoDataFrame({"feature_type": [k for _, k in boxes]}, geometry=[g for g, _ in boxes], crs=lot.crs)
    gdf = gdf.to_crs(4326)
    return [new_shape(f"s{i}", shapely.geometry.mapping(g), k)
            for i, (g, k) in enumerate(zip(gdf.geometry, gdf.feature_type, strict=True))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    water = gpd.read_file(SAMPLE / "water.geojson")
    lot = parcels[parcels.parcel_id == "R100065"]
    shapes = ten_shapes(lot)
    schedule = categorize.load_schedule(categorize.DEFAULT_SCHEDULE)

    def recompute(shapes):
        m = evidence.measure_shapes(lot, shapes, water, schedule)
        return m, categorize.estimate(schedule=schedule, property_class="single_family",
                                      area_sqft=m.billable_area_sqft, period="monthly")

    recompute(shapes)  # warm-up (imports, PROJ database)
    times = []
    for i in range(args.repeat):
        edited = [dict(s) for s in shapes]
        edited[i % 10] = {**edited[i % 10], "feature_type": "patio" if i % 2 else "roof"}  # an edit
        t0 = time.perf_counter()
        m, bill = recompute(edited)
        times.append((time.perf_counter() - t0) * 1000)
    med, p95 = statistics.median(times), sorted(times)[int(0.95 * (len(times) - 1))]
    print(f"lot R100065, {len(shapes)} features, {args.repeat} edits")
    print(f"billable area {m.billable_area_sqft:,.2f} sq ft → {bill.category}, total {bill.grand_total}")
    vendor = Path(__file__).resolve().parents[1] / "app_pages" / "vendor" / "leaflet"
    t0 = time.perf_counter()
    for _ in range(5):
        webmap.use_local_assets(webmap.lot_map(lot, shapes, water=water), vendor).get_root().render()
    map_ms = (time.perf_counter() - t0) * 1000 / 5
    print(f"(for information: building and rendering the drawing map takes {map_ms:.0f} ms)")
    print(f"recompute: median {med:.1f} ms, p95 {p95:.1f} ms, max {max(times):.1f} ms "
          f"(goal < {GOAL_MS:.0f} ms: {'met' if p95 < GOAL_MS else 'NOT met'})")


if __name__ == "__main__":
    main()
