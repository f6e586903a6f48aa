#!/usr/bin/env python3
"""Cut ``tests/data/cambridge_subset.gpkg`` from the shared Cambridge, MA data.

Reads ``/work/shared/realdata/cambridge_ma/cambridge_ma.gpkg`` (City of Cambridge
GIS open data, PDDL v1.0; see ``LICENSE-cambridge.md``) and keeps every feature
that intersects a small lon/lat window in East Cambridge around the Lechmere
Canal and the Broad Canal (Charles River), whole and unmodified: nothing is
clipped, repaired, simplified or reprojected (EPSG:4326 as published).

Usage::

    python tests/data/make_cambridge_subset.py [--src PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

SRC = Path("/work/shared/realdata/cambridge_ma/cambridge_ma.gpkg")
OUT = Path(__file__).resolve().parent / "cambridge_subset.gpkg"

# lon/lat window (EPSG:4326): minx, miny, maxx, maxy
WINDOW = (-71.0800, 42.3620, -71.0695, 42.3720)

# layer in the shared gpkg -> layer in the subset
LAYERS = {
    "parcels_fy2013": "parcels",
    "driveways": "driveways",
    "impervious_other": "impervious_other",
    "private_walkways": "private_walkways",
    "parking_lots": "parking_lots",
    "decks": "decks",
    "porches": "porches",
    "swimming_pools": "swimming_pools",
    "docks": "docks",
    "water_bodies": "water",
}
PARCEL_FIELDS = ["ML", "src_fid"]

# impervious layer -> feature_type of the combined ``features`` layer
FEATURE_TYPE = {
    "driveways": "driveway",
    "parking_lots": "parking",
    "private_walkways": "walkway",
    "decks": "deck",
    "porches": "deck",  # a porch is billed like a deck (src_layer says "porches")
    "impervious_other": None,  # TYPE PATIO -> patio, anything else -> other
    "swimming_pools": "pool",
    "docks": "dock",
}
NO_TYPE = {"decks": "DECK", "porches": "PORCH"}


def read_window(src: Path, layer: str, window=WINDOW) -> gpd.GeoDataFrame:
    """Whole features of ``layer`` that intersect the window (exact test)."""
    gdf = pyogrio.read_dataframe(src, layer=layer, bbox=window, fid_as_index=True)
    gdf = gdf[gdf.intersects(shapely.box(*window))].sort_index()
    gdf.index.name = None
    gdf.insert(0, "shared_fid", gdf.index.astype("int64"))  # fid in the shared gpkg
    return gdf.reset_index(drop=True)


def combined_features(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    parts = []
    for name, ftype in FEATURE_TYPE.items():
        g = layers[name]
        if "TYPE" in g:
            src_type = g["TYPE"]
        else:  # decks and porches carry no TYPE field
            src_type = pd.Series(NO_TYPE[name], index=g.index)
        if ftype is None:
            types = src_type.map(lambda t: "patio" if t == "PATIO" else "other")
        else:
            types = pd.Series(ftype, index=g.index)
        parts.append(gpd.GeoDataFrame({
            "feature_id": [f"{name}/{fid}" for fid in g["shared_fid"]],
            "feature_type": types.to_numpy(),
            "src_layer": name,
            "src_type": src_type.astype("string").to_numpy(),
            "shared_fid": g["shared_fid"].to_numpy(),
        }, geometry=g.geometry.to_numpy(), crs=g.crs))
    return pd.concat(parts, ignore_index=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=SRC)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    # fixed timestamps in gpkg_contents so reruns give the same bytes
    os.environ.setdefault("OGR_CURRENT_DATE", "2026-01-01T00:00:00.000Z")
    layers = {}
    for src_name in LAYERS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            layers[src_name] = read_window(args.src, src_name)
    layers["parcels_fy2013"] = layers["parcels_fy2013"][
        ["shared_fid", *PARCEL_FIELDS, "geometry"]]

    if args.out.exists():
        args.out.unlink()
    for src_name, out_name in LAYERS.items():
        g = layers[src_name]
        g.to_file(args.out, layer=out_name, driver="GPKG", engine="pyogrio")
        print(f"{out_name:18s} {len(g):5d} features, "
              f"{int((~g.is_valid).sum()):3d} invalid")
    feats = combined_features(layers)
    feats.to_file(args.out, layer="features", driver="GPKG", engine="pyogrio")
    print(f"{'features':18s} {len(feats):5d} features, "
          f"{int((~feats.is_valid).sum()):3d} invalid; by type "
          f"{feats.feature_type.value_counts().sort_index().to_dict()}")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes), window {WINDOW}")


if __name__ == "__main__":
    main()
