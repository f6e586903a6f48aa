"""Impervious area per lot estimated from a raster, as a cross-check of the vector measurement.

A classified land-cover or impervious raster (1 = impervious, 0 = not, or a
fraction 0–1, or a percentage 0–100) gives an independent estimate of each
lot's hard surfaces.  Staff use it to flag lots whose measured billable area
and raster estimate disagree by more than a set share.

Each pixel counts by the share of it that lies inside the lot (fractional
coverage, in the spirit of exactextract): the lots are rasterised on a grid
``supersample`` times finer than the raster, so a pixel cut by the lot line
counts in steps of 1/supersample².  Every lot gets its own coverage: lots whose
insides overlap (stacked condominium units with identical outlines, say) are
rasterised in separate passes, so no lot takes cells from another.

Memory is bounded: the raster is read in tiles of about :data:`TILE_PIXELS`
pixels (about 60 bytes per tile pixel with ``supersample=3``, i.e. ~60 MB, plus
GDAL's block cache held to :data:`GDAL_CACHE_MB`), whatever the number of lots
or the size of the raster.

Areas: a raster in the lots' own projected CRS counts its cells in that CRS's
square units.  Any other raster (lon/lat degrees, Web Mercator, another
projection) is converted per lot by the ratio of the lot's area in the lots'
projected CRS to its area in the raster's units, so the estimate is in the
same square feet as the vector measurement.

The value scale (0–1 or 0–100) is a property of the raster, not of a chunk of
lots: :func:`raster_scale` decides it once from the raster's values over the
lots' extent, and a run passes the result to every chunk.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
from affine import Affine

import geopandas as gpd
import rasterio
import rasterio.warp
import rasterio.windows
import shapely
from pyproj import CRS
from rasterio.errors import RasterioIOError
from rasterio.features import rasterize
from rasterio.windows import Window

from gis.crs import sqft_per_crs_unit2
from gis.errors import GISInputError, MissingCRSError, UnreadableFileError

__all__ = ["MIN_CELL_FT", "RASTER_SCALES", "TILE_PIXELS", "RasterResolutionError", "RasterValuesError",
           "raster_cover_sqft", "raster_scale"]

#: Raster pixels read (and rasterised against the lots) at a time; bounds memory.
TILE_PIXELS = 1 << 20
#: GDAL's block cache while reading (MB): tiles are read once, in order, so a
#: big cache only holds memory (by default GDAL takes 5 % of the machine's RAM).
GDAL_CACHE_MB = 64
#: What each ``--raster-scale`` divides the pixel values by to get a 0–1 share.
RASTER_SCALES = {"fraction": 1.0, "percent": 100.0}


class RasterValuesError(GISInputError, ValueError):
    """The raster's values are not shares 0–1 or percentages 0–100 (or not the scale asked for)."""


#: Cells finer than this, in feet on a side, are refused.  Each lot's estimate reads its area
#: over the cell's area in cells (nine sub-cells each at lot lines), so the time a raster takes
#: grows as its cells shrink: a file of a few hundred KB can claim billions of 0.04 ft cells
#: (minutes for 80 lots, hours for a city).  Impervious and land-cover rasters have cells of
#: 0.5 ft (6 in) and more.
MIN_CELL_FT = 0.25

#: Feet per degree of latitude (to the per mille: this only bounds a cell's size).
_FT_PER_DEGREE = 364_000


class RasterResolutionError(GISInputError, ValueError):
    """The raster's cells are too fine to read in a bounded time (:data:`MIN_CELL_FT`)."""


@contextmanager
def _reading(raster_path):
    """The raster opened for reading, with a small GDAL block cache."""
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), _open(raster_path) as src:
        yield src


def _open(raster_path):
    try:
        src = rasterio.open(raster_path)
    except RasterioIOError as err:
        raise UnreadableFileError(
            f"We could not open {str(raster_path)!r} as a raster; use a GeoTIFF of impervious cover."
        ) from err
    if src.crs is None:
        src.close()
        raise MissingCRSError(f"The raster {str(raster_path)!r} does not say which map projection it uses.")
    crs = CRS.from_user_input(src.crs)
    if not (crs.is_projected or crs.is_geographic):  # a local grid: nothing relates it to the lots' map
        src.close()
        raise MissingCRSError(
            f"The raster {str(raster_path)!r} uses a local coordinate system ({crs.name!r}) that cannot be placed on "
            "the parcels' map; save it in a standard map projection (one with an EPSG code)."
        )
    side = _cell_feet(src, crs)
    if side < MIN_CELL_FT:
        src.close()
        raise RasterResolutionError(
            f"The raster {str(raster_path)!r} has cells of {side:.2g} ft, finer than any impervious raster "
            f"({MIN_CELL_FT} ft at least), and reading cells this fine takes hours for a city. "
            "Check its resolution, or resample it to cells of 0.5 ft or more (gdalwarp -r average)."
        )
    return src


def _cell_feet(src, crs: CRS) -> float:
    """The shorter side of a raster cell in feet on the ground, roughly: in a projected CRS its
    unit's length, in lon/lat the degrees' length at the raster's middle latitude."""
    x_res, y_res = (abs(r) for r in src.res)
    if crs.is_geographic:
        middle = math.radians(max(-89.0, min(89.0, (src.bounds.bottom + src.bounds.top) / 2)))
        return min(y_res, x_res * math.cos(middle)) * _FT_PER_DEGREE
    return min(x_res, y_res) * crs.axis_info[0].unit_conversion_factor / 0.3048


def raster_scale(raster_path, parcels: gpd.GeoDataFrame | None = None, *, requested: str = "auto",
                 band: int = 1) -> str:
    """``"fraction"`` (values 0–1) or ``"percent"`` (0–100), decided once for a whole run.

    The raster's values over the lots' extent (the whole raster without
    ``parcels``) are read tile by tile: values above 1 mean percentages.  A
    raster whose values lie outside 0–100, or beyond the ``requested`` scale,
    is refused, since any estimate from it would be wrong.
    """
    with _reading(raster_path) as src:
        window = _lots_window(src, parcels) if parcels is not None else Window(0, 0, src.width, src.height)
        low, high = _value_range(src, window, band)
    name = str(raster_path)
    if high is None:  # no data over the lots: nothing to scale
        return "fraction" if requested == "auto" else requested
    if low < 0 or high > 100:
        raise RasterValuesError(
            f"The raster {name!r} holds values from {low:g} to {high:g}, but an impervious raster holds shares "
            "0–1 or percentages 0–100; if a value means 'no data', set it as the raster's no-data value."
        )
    found = "percent" if high > 1 else "fraction"
    if requested == "fraction" and found == "percent":
        raise RasterValuesError(
            f"The raster {name!r} holds values up to {high:g}, so they cannot be shares 0–1 as "
            "--raster-scale fraction says; use --raster-scale percent (or auto)."
        )
    return found if requested == "auto" else requested


def _value_range(src, window: Window | None, band: int) -> tuple[float | None, float | None]:
    """Smallest and largest valid (not no-data, finite) value in ``window``."""
    low, high = math.inf, -math.inf
    for tile in _tiles(window):
        data = src.read(band, window=tile, masked=True)
        values = data.compressed()
        if values.dtype.kind == "f":
            values = values[np.isfinite(values)]
        if values.size:
            low, high = min(low, float(values.min())), max(high, float(values.max()))
    return (None, None) if high == -math.inf else (low, high)


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
        GeoTIFF (or any raster GDAL reads) of impervious cover, in any CRS.
    supersample
        Sub-pixel steps per pixel side for partial pixels at lot lines.
    scale
        Divide pixel values by this to get a 0–1 share (see :data:`RASTER_SCALES`);
        by default decided by :func:`raster_scale` over these lots.  A run over
        many chunks decides it once and passes it, so chunks agree.
    """
    if scale is None:
        scale = RASTER_SCALES[raster_scale(raster_path, parcels, band=band)]
    with _reading(raster_path) as src:
        lots = parcels.to_crs(src.crs) if parcels.crs != src.crs else parcels
        geoms = lots.geometry.to_numpy()
        n = len(lots)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        window = _lots_window(src, lots)
        sums, counted = np.zeros(n), np.zeros(n, dtype=np.int64)
        if window is not None:
            _accumulate_tiles(src, band, window, geoms, ok, supersample, scale, sums, counted)
        fine = src.transform @ Affine.scale(1 / supersample)
        est = sums * abs(fine.a * fine.e - fine.b * fine.d) * _sqft_per_raster_unit2(parcels, lots, src.crs)
    # lots the raster does not cover (no cells at all) stay NaN
    return np.where(counted > 0, est, np.nan)


def _sqft_per_raster_unit2(parcels: gpd.GeoDataFrame, lots: gpd.GeoDataFrame, raster_crs) -> np.ndarray | float:
    """Square feet per square raster unit, per lot.

    In the lots' own projected CRS it is the CRS's unit; for any other raster
    CRS (degrees, Web Mercator...) it is each lot's area in the lots'
    projected CRS over its area in the raster's CRS, so lon/lat cells are
    measured on the ground, not in square degrees.
    """
    raster_crs = CRS.from_user_input(raster_crs)
    if raster_crs.is_projected and parcels.crs is not None and raster_crs == CRS.from_user_input(parcels.crs):
        return sqft_per_crs_unit2(raster_crs)
    ground = parcels if parcels.crs is not None and CRS.from_user_input(parcels.crs).is_projected \
        else parcels.to_crs(parcels.estimate_utm_crs())
    sqft = shapely.area(ground.geometry.to_numpy()) * sqft_per_crs_unit2(ground.crs)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sqft / shapely.area(lots.geometry.to_numpy())


# --------------------------------------------------------------------------
# windows and tiles


def _lots_window(src, lots: gpd.GeoDataFrame) -> Window | None:
    """The raster pixels under the lots' extent (``lots`` in any CRS), or None when off the raster."""
    geoms = lots.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return None
    bounds = shapely.total_bounds(geoms[ok])
    if lots.crs is not None and CRS.from_user_input(lots.crs) != CRS.from_user_input(src.crs):
        bounds = rasterio.warp.transform_bounds(lots.crs, src.crs, *bounds, densify_pts=21)
    return _pixel_window(src.transform, bounds, src.height, src.width)


def _pixel_window(transform: Affine, bounds, height: int, width: int) -> Window | None:
    """Whole pixels of a ``height`` × ``width`` grid covering ``bounds``, or None when none do."""
    minx, miny, maxx, maxy = bounds
    inv = ~transform
    cols, rows = zip(*(inv @ (x, y) for x, y in ((minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy))),
                     strict=True)
    c0, r0 = max(math.floor(min(cols)), 0), max(math.floor(min(rows)), 0)
    c1, r1 = min(math.ceil(max(cols)), width), min(math.ceil(max(rows)), height)
    if c1 <= c0 or r1 <= r0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


def _tiles(window: Window | None, pixels: int = TILE_PIXELS):
    """``window`` cut into tiles of at most ``pixels`` pixels (whole rows of at most 2,048 columns)."""
    if window is None:
        return
    tile_w = min(int(window.width), 2048)
    tile_h = max(1, pixels // tile_w)
    for row in range(int(window.row_off), int(window.row_off + window.height), tile_h):
        for col in range(int(window.col_off), int(window.col_off + window.width), tile_w):
            yield Window(col, row, min(tile_w, window.col_off + window.width - col),
                         min(tile_h, window.row_off + window.height - row))


# --------------------------------------------------------------------------
# coverage


def _accumulate_tiles(src, band, window, geoms, ok, supersample, scale, sums, counted) -> None:
    """Add each lot's covered value (in fine cells) and its count of valid fine cells, tile by tile."""
    tree = shapely.STRtree(np.where(ok, geoms, None))
    layer = _layers(geoms, ok)
    for tile in _tiles(window):
        transform = src.transform @ Affine.translation(tile.col_off, tile.row_off)
        corners = [transform @ (c, r) for c in (0, tile.width) for r in (0, tile.height)]
        hits = tree.query(shapely.multipoints(corners).envelope)
        if not len(hits):
            continue
        values = src.read(band, window=tile, masked=True).astype("float64").filled(np.nan) / scale
        for k in np.unique(layer[hits]):
            group = hits[layer[hits] == k]
            part = _pixel_window(transform, shapely.total_bounds(geoms[group]), *values.shape)
            if part is None:
                continue
            rows, cols = part.toslices()
            s, c = _cover(geoms[group], values[rows, cols], transform @ Affine.translation(part.col_off, part.row_off),
                          supersample)
            sums[group] += s
            counted[group] += c


def _cover(geoms: np.ndarray, values: np.ndarray, transform: Affine, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Per lot (none overlapping another): sum of pixel values over its fine cells, and its count of valid fine cells.

    Each of the s² sub-grids of fine cells (one fine cell per pixel) is
    counted against the pixel values directly, so no fine-resolution copy of
    the values is made.
    """
    m = len(geoms)
    labels = rasterize(((g, i + 1) for i, g in enumerate(geoms)), out_shape=(values.shape[0] * s, values.shape[1] * s),
                       transform=transform @ Affine.scale(1 / s), fill=0,
                       dtype="uint16" if m < 65_535 else "int32")  # a tile rarely holds 65,535 lots: half the bytes
    valid = np.isfinite(values)
    weights = np.where(valid, values, 0.0).ravel()
    sums, counts = np.zeros(m + 1), np.zeros(m + 1, dtype=np.int64)
    for i in range(s):
        for j in range(s):
            lab = np.where(valid, labels[i::s, j::s], 0).ravel()
            sums += np.bincount(lab, weights=weights, minlength=m + 1)
            counts += np.bincount(lab, minlength=m + 1)
    return sums[1:], counts[1:]


def _layers(geoms: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """A pass number per lot such that lots in one pass never overlap (most lots: pass 0).

    Candidate pairs are lots whose bounding boxes overlap with some area
    (neighbours in a tiled block only touch); their insides are then tested.
    Lots in an overlapping pair get the smallest pass none of their
    overlapping neighbours has (greedy colouring).
    """
    layer = np.zeros(len(geoms), dtype=np.int64)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return layer
    g = geoms[idx]
    a, b = shapely.STRtree(g).query(g)
    keep = a < b
    a, b = a[keep], b[keep]
    box = shapely.bounds(g)
    w = np.minimum(box[a, 2], box[b, 2]) - np.maximum(box[a, 0], box[b, 0])
    h = np.minimum(box[a, 3], box[b, 3]) - np.maximum(box[a, 1], box[b, 1])
    a, b = a[(w > 0) & (h > 0)], b[(w > 0) & (h > 0)]
    if not len(a):
        return layer
    try:
        inside = shapely.relate_pattern(g[a], g[b], "T********")
    except shapely.errors.GEOSException:  # invalid shapes: keep them apart, which is always right
        inside = np.ones(len(a), dtype=bool)
    neighbours: dict[int, list[int]] = {}
    for i, j in zip(idx[a[inside]].tolist(), idx[b[inside]].tolist(), strict=True):
        neighbours.setdefault(i, []).append(j)
        neighbours.setdefault(j, []).append(i)
    for i in sorted(neighbours):
        taken = {int(layer[j]) for j in neighbours[i] if j < i}
        layer[i] = next(k for k in range(len(taken) + 1) if k not in taken)
    return layer
