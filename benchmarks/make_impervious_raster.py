#!/usr/bin/env python3
"""A synthetic impervious raster over a synthetic city, for memory and speed checks of the raster cross-check.

Burns the features of ``gen_parcels.py``'s ``features.parquet`` into a tiled,
compressed uint8 GeoTIFF (1 = impervious, 0 = not) covering the parcels'
extent, at ``--res`` metres per pixel in the parcels' CRS.  Built in strips of
rows, so memory stays small whatever the size.

Usage: python make_impervious_raster.py data/100k --res 1 --out data/100k/impervious_1m.tif
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from affine import Affine

import geopandas as gpd
import rasterio
import shapely
from rasterio.features import rasterize

from gis.crs import METRES_PER_INTL_FOOT, sqft_per_crs_unit2

STRIP_ROWS = 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="folder with parcels.parquet and features.parquet")
    ap.add_argument("--res", type=float, default=1.0, help="pixel size in metres (default 1)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    parcels = gpd.read_parquet(args.data / "parcels.parquet", columns=["geometry"])
    features = gpd.read_parquet(args.data / "features.parquet", columns=["geometry"])
    crs = parcels.crs
    unit_m = math.sqrt(sqft_per_crs_unit2(crs)) * METRES_PER_INTL_FOOT
    res = args.res / unit_m
    minx, miny, maxx, maxy = parcels.total_bounds
    width, height = math.ceil((maxx - minx) / res), math.ceil((maxy - miny) / res)
    transform = Affine(res, 0, minx, 0, -res, maxy)
    geoms = features.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "uint8", "crs": crs,
               "transform": transform, "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate"}
    with rasterio.open(args.out, "w", **profile) as dst:
        for row in range(0, height, STRIP_ROWS):
            rows = min(STRIP_ROWS, height - row)
            window = rasterio.windows.Window(0, row, width, rows)
            t = dst.window_transform(window)
            top, bottom = t.f, t.f + rows * t.e
            near = tree.query(shapely.box(minx, bottom, maxx, top))
            strip = rasterize(((g, 1) for g in geoms[near]), out_shape=(rows, width), transform=t, fill=0,
                              dtype="uint8") if len(near) else np.zeros((rows, width), dtype="uint8")
            dst.write(strip, 1, window=window)
    print(f"{width:,} x {height:,} pixels ({width * height / 1e6:.1f} M) at {args.res} m -> {args.out}")


if __name__ == "__main__":
    main()
