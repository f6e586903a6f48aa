#!/usr/bin/env python3
"""Real-shape benchmark data: Cambridge, MA tiled to city scale, with or without street parcels.

Builds, in the layout of ``../shared/bench/gen_parcels.py`` (``parcels.parquet``
with an integer ``parcel_id``, ``features.parquet`` with ``feature_type``,
``water.parquet``, ``manifest.json``), so that every peer of
``../shared/bench/run_peers.py`` runs on it:

* ``lots``: the FY2013 parcels (13,159 lots, no streets) with the ten
  planimetric layers and water, tiled COPIES times side by side, exactly as
  ``../shared/bench/tile_realdata.py`` does (20 copies: 263,180 lots);
* ``streets``: the FY2014 parcels, which hold the street right-of-way
  parcels (13.5M and 10.4M sq ft, each touched by thousands of driveways and
  walkways), with the same features, tiled COPIES times;

each optionally mirrored (x → -x) or rotated by 30° about its centre, to
check that nothing depends on the data's orientation.  Coordinates are
EPSG:2249 (US survey feet), repaired once with ``make_valid`` as
``tile_realdata.py`` does (DuckDB and PostGIS abort on invalid shapes).

Usage: python realshape_data.py OUTDIR --parcels lots|streets [--copies 20] [--turn none|mirror|rotate]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from gis.repair import repair

BENCH = Path(os.environ.get("SBA_BENCH", Path(__file__).resolve().parents[2] / "shared" / "bench"))
sys.path.insert(0, str(BENCH))
from tile_realdata import CRS, SRC, TYPES, polygonal  # noqa: E402  (the shared tiler's own repair)

LAYERS = {"lots": "parcels_fy2013", "streets": "parcels_fy2014"}


def turned(geoms: np.ndarray, how: str, centre: tuple[float, float]) -> np.ndarray:
    if how == "mirror":
        return shapely.transform(geoms, lambda c: np.c_[2 * centre[0] - c[:, 0], c[:, 1]])
    if how == "rotate":
        a = np.radians(30.0)
        rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
        return shapely.transform(geoms, lambda c: (c - centre) @ rot + centre)
    return geoms


def build(out: Path, parcels_kind: str, copies: int, turn: str) -> None:
    if (out / "manifest.json").exists():
        return
    out.mkdir(parents=True, exist_ok=True)
    parcels = gpd.read_file(SRC, layer=LAYERS[parcels_kind]).to_crs(CRS)
    pg, keep = polygonal(parcels.geometry.values)
    pg = pg[keep]
    feats = [pd.DataFrame({"feature_type": t, "geometry": gpd.read_file(SRC, layer=lyr).to_crs(CRS).geometry.values})
             for lyr, t in TYPES.items()]
    f = pd.concat(feats, ignore_index=True)
    fg, keep = polygonal(f.geometry.values)
    ft, fg = f.feature_type.values[keep], fg[keep]
    wg, keep = polygonal(gpd.read_file(SRC, layer="water_bodies").to_crs(CRS).geometry.values)
    wg = wg[keep]
    x0, y0, x1, y1 = shapely.total_bounds(np.concatenate([pg, fg]))
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    pg, fg, wg = (turned(g, turn, centre) for g in (pg, fg, wg))
    if turn != "none":
        # turning in floating point moves a few corners that touched across an edge: repair those the
        # way the engine does (shells less holes), so that the turned city holds the same areas
        fg = np.where(shapely.is_valid(fg), fg, repair(fg))
        pg = np.where(shapely.is_valid(pg), pg, repair(pg))  # lots keep their places (ids are positions)
    x0, y0, x1, y1 = shapely.total_bounds(np.concatenate([pg, fg]))
    dx, dy = (x1 - x0) + 3000, (y1 - y0) + 3000
    cols = int(np.ceil(np.sqrt(copies)))
    P, F, W = [], [], []
    for k in range(copies):
        shift = ((k % cols) * dx, (k // cols) * dy)
        P.append(shapely.transform(pg, lambda c, s=shift: c + s))
        F.append(shapely.transform(fg, lambda c, s=shift: c + s))
        W.append(shapely.transform(wg, lambda c, s=shift: c + s))
    n = len(pg) * copies
    gpd.GeoDataFrame({"parcel_id": np.arange(n)}, geometry=np.concatenate(P), crs=CRS) \
        .to_parquet(out / "parcels.parquet", row_group_size=65536)
    gpd.GeoDataFrame({"feature_id": np.arange(len(fg) * copies), "feature_type": np.tile(ft, copies)},
                     geometry=np.concatenate(F), crs=CRS).to_parquet(out / "features.parquet", row_group_size=65536)
    gpd.GeoDataFrame({"water_id": np.arange(len(wg) * copies)}, geometry=np.concatenate(W), crs=CRS) \
        .to_parquet(out / "water.parquet")
    (out / "manifest.json").write_text(json.dumps({
        "source": str(SRC), "parcels": LAYERS[parcels_kind], "copies": copies, "turn": turn, "crs": CRS,
        "n_parcels": n, "n_features": len(fg) * copies, "n_water": len(wg) * copies}, indent=1))
    print(f"{parcels_kind} x{copies} ({turn}): {n:,} parcels, {len(fg) * copies:,} features -> {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--parcels", choices=sorted(LAYERS), default="lots")
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--turn", choices=["none", "mirror", "rotate"], default="none")
    args = ap.parse_args()
    build(args.out, args.parcels, args.copies, args.turn)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
