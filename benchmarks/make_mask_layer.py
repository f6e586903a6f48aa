#!/usr/bin/env python3
"""Add a city-wide impervious mask to a synthetic city: one polygon, a hole a lot.

The mask is the city's bounds (plus 10 ft) less every lot's inside, 2 ft in from its lines:
what a land-cover raster vectorised into one "impervious" polygon looks like (streets and
paths connected, a lawn hole in each lot).  It is added to the city's surfaces as one
"parking" row; parcels and water are copied.  Used for the "city-wide polygon" figures in
``benchmarks/results/mask-2026-12-04.md``.

Usage: python make_mask_layer.py CITY_DIR OUT_DIR   (CITY_DIR from ../shared/bench/gen_parcels.py)
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pandas as pd

import geopandas as gpd
import shapely


def main(src: Path, out: Path) -> None:
    start = time.perf_counter()
    lots = gpd.read_parquet(src / "parcels.parquet")
    features = gpd.read_parquet(src / "features.parquet")
    inside = shapely.buffer(lots.geometry.to_numpy(), -2.0, join_style="mitre")
    inside = inside[~shapely.is_empty(inside)]
    x0, y0, x1, y1 = lots.total_bounds
    mask = shapely.box(x0 - 10, y0 - 10, x1 + 10, y1 + 10).difference(shapely.multipolygons(shapely.get_parts(inside)))
    row = {c: [features[c].iloc[0]] for c in features.columns if c != "geometry"}
    row["feature_type"] = ["parking"]
    extra = gpd.GeoDataFrame(row, geometry=[mask], crs=features.crs)
    out.mkdir(parents=True, exist_ok=True)
    pd.concat([features, extra], ignore_index=True).to_parquet(out / "features.parquet")
    for name in ("parcels.parquet", "water.parquet"):
        shutil.copy(src / name, out / name)
    print(f"{mask.geom_type} of {shapely.get_num_coordinates(mask):,} vertices and "
          f"{shapely.get_num_interior_rings(mask):,} holes; {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[-1])
    main(Path(sys.argv[1]), Path(sys.argv[2]))
