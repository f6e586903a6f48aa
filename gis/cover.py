"""Impervious area per lot estimated from a raster, as a cross-check of the vector measurement.

A classified land-cover or impervious raster (1 = impervious, 0 = not, or a
fraction 0–1, or a percentage 0–100) gives an independent estimate of each
lot's hard surfaces.  Staff use it to flag lots whose measured billable area
and raster estimate disagree by more than a set share.

Each pixel counts by the share of it that lies inside the lot (fractional
coverage, in the spirit of exactextract): the lots are rasterised on a grid
``supersample`` times finer than the raster, so a pixel cut by the lot line
counts in steps of 1/supersample².  Memory: one int32 label per fine cell of
the window around the lots, i.e. 4 × supersample² bytes per raster pixel.
"""

from __future__ import annotations

import numpy as np
from affine import Affine

import geopandas as gpd
import rasterio
import rasterio.windows
from rasterio.errors import RasterioIOError
from rasterio.features import rasterize

from gis.crs import sqft_per_crs_unit2
from gis.errors import MissingCRSError, UnreadableFileError

__all__ = ["raster_cover_sqft"]


def raster_cover_sqft(
    parcels: gpd.GeoDataFrame,
    raster_path,
    *,
    supersample: int = 3,
    band: int = 1,
    scale: float | None = None,
) -> np.ndarray:
    """Estimated impervious sq ft per lot (NaN where the raster does not cover the lot).

    Parameters
    ----------
    parcels
        Lots, in any CRS (they are moved to the raster's CRS).
    raster_path
        GeoTIFF (or any raster GDAL reads) of impervious cover.
    supersample
        Sub-pixel steps per pixel side for partial pixels at lot lines.
    scale
        Divide pixel values by this to get a 0–1 share; by default 100 when
        the raster holds values above 1 (a percentage), else 1.
    """
    try:
        src = rasterio.open(raster_path)
    except RasterioIOError as err:
        raise UnreadableFileError(
            f"We could not open {str(raster_path)!r} as a raster; use a GeoTIFF of impervious cover."
        ) from err
    with src:
        if src.crs is None:
            raise MissingCRSError(f"The raster {str(raster_path)!r} does not say which map projection it uses.")
        lots = parcels.to_crs(src.crs) if parcels.crs != src.crs else parcels
        n = len(lots)
        result = np.full(n, np.nan)
        geoms = lots.geometry.to_numpy()
        ok = ~(lots.geometry.isna() | lots.geometry.is_empty).to_numpy()
        if not ok.any():
            return result
        minx, miny, maxx, maxy = lots.geometry[ok].total_bounds
        inv = ~src.transform
        cols, rows = zip(*(inv @ (x, y) for x, y in ((minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy))),
                         strict=True)
        c0, r0 = max(int(np.floor(min(cols))), 0), max(int(np.floor(min(rows))), 0)
        c1, r1 = min(int(np.ceil(max(cols))), src.width), min(int(np.ceil(max(rows))), src.height)
        if c1 <= c0 or r1 <= r0:
            return result
        window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
        data = src.read(band, window=window, masked=True).astype("float64")
        transform = src.window_transform(window)
        values = data.filled(np.nan)
        if scale is None:
            scale = 100.0 if np.nanmax(values, initial=0) > 1 else 1.0
        values = values / scale
        h, w = values.shape
        fine = transform @ Affine.scale(1 / supersample)
        labels = rasterize(
            ((g, i + 1) for i, g in enumerate(geoms) if ok[i]),
            out_shape=(h * supersample, w * supersample), transform=fine, fill=0, dtype="int32",
        )
        cover = np.repeat(np.repeat(values, supersample, axis=0), supersample, axis=1)
        valid = ~np.isnan(cover)
        lab = labels[valid]
        sums = np.bincount(lab, weights=cover[valid], minlength=n + 1)[1:]
        counted = np.bincount(lab, minlength=n + 1)[1:]
        cell_area = abs(fine.a * fine.e - fine.b * fine.d) * sqft_per_crs_unit2(src.crs)
        est = sums * cell_area
        # lots the raster does not cover (no cells at all) stay NaN
        covered = counted > 0
        result[covered] = est[covered]
        return result
