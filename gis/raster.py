"""Local aerial photos (GeoTIFF orthophotos) cut out around one lot, for web maps.

The app must work with no network, so besides online aerial tiles it can show
a local orthophoto: :func:`ortho_overlay` reads a window of the GeoTIFF around
the lot (plus a margin), reprojects it to Web Mercator and returns an RGBA
image with its lon/lat bounds, ready for ``folium.raster_layers.ImageOverlay``.

Why Web Mercator and not lon/lat: Leaflet stretches an image overlay linearly
between its corner coordinates *on the Web Mercator plane*, so an image warped
to EPSG:3857 lines up with the lot lines exactly, while one warped to EPSG:4326
would be off by a small, latitude-dependent amount.

Never shows anything on screen and never opens a network connection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine

import rasterio
import rasterio.windows
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.warp import calculate_default_transform, reproject, transform_bounds

from gis.errors import UnreadableFileError

__all__ = ["MAX_OVERLAY_PIXELS", "MAX_READ_CELLS", "OrthoOverlay", "ortho_covers", "ortho_image", "ortho_overlay"]

log = logging.getLogger(__name__)

#: Largest overlay we build (pixels on a side); bigger windows are read at a
#: coarser resolution so one lot never ships a huge image to the browser.
MAX_OVERLAY_PIXELS = 1024

#: Most photo cells one cut may decode.  GDAL decodes every cell under the window (of the
#: overview it reads from) even to return a small image, and a GeoTIFF of a few MB can claim
#: billions of cells; an ordinary photo cut around a lot is well under a million.
MAX_READ_CELLS = 1 << 26

WEB_MERCATOR = CRS.from_epsg(3857)
LONLAT = CRS.from_epsg(4326)


@dataclass(frozen=True)
class OrthoOverlay:
    """An RGBA image and where it goes on a web map.

    Attributes
    ----------
    image : numpy.ndarray
        ``(rows, cols, 4)`` uint8; alpha is 0 outside the photo.
    bounds : tuple
        ``((south, west), (north, east))`` in degrees, as Leaflet wants them.
    source : str
        File name of the photo (for the attribution and the method statement).
    """

    image: np.ndarray
    bounds: tuple[tuple[float, float], tuple[float, float]]
    source: str


def _open(path: str | Path):
    try:
        return rasterio.open(path)
    except RasterioIOError as err:
        raise UnreadableFileError(
            f"We could not open the aerial photo {Path(path).name!r}; "
            "it must be a GeoTIFF with a map projection."
        ) from err


def _check_detail(src, window, out_w: int, out_h: int, name: str) -> None:
    """Refuse a read of ``window`` into ``out_w`` x ``out_h`` that would decode more than
    :data:`MAX_READ_CELLS` cells: in the photo, or in the finest of its overviews that is
    still no finer than the image asked for (the one GDAL reads)."""
    asked = min(window.width / out_w, window.height / out_h)
    factor = max([1, *(f for f in src.overviews(1) if f <= asked)])
    if window.width * window.height / factor**2 > MAX_READ_CELLS:
        raise UnreadableFileError(
            f"The aerial photo {name!r} is too detailed to cut out around the lot quickly "
            f"({int(window.width):,} x {int(window.height):,} pixels there); please save a copy of it with "
            "coarser pixels (3 inches, 0.25 ft, is plenty) and upload that."
        )


def ortho_covers(path: str | Path, bounds: tuple[float, float, float, float], crs) -> bool:
    """Whether the photo at ``path`` overlaps ``bounds`` (minx, miny, maxx, maxy in ``crs``)."""
    with _open(path) as src:
        if src.crs is None:
            return False
        b = transform_bounds(CRS.from_user_input(crs), src.crs, *bounds, densify_pts=21)
        left, bottom, right, top = src.bounds
        return b[0] < right and b[2] > left and b[1] < top and b[3] > bottom


def ortho_overlay(
    path: str | Path,
    bounds: tuple[float, float, float, float],
    crs,
    *,
    margin: float = 60.0,
    max_pixels: int = MAX_OVERLAY_PIXELS,
) -> OrthoOverlay | None:
    """Cut the photo around ``bounds`` and warp it for a Leaflet image overlay.

    Parameters
    ----------
    path
        A GeoTIFF with a CRS (1 band grey, or 3-4 bands RGB(A)).
    bounds
        ``(minx, miny, maxx, maxy)`` of the lot, in ``crs``.
    crs
        CRS of ``bounds`` (the parcel layer's projected CRS).
    margin
        Extra ground around the lot, in units of ``crs``.
    max_pixels
        Longest side of the returned image.

    Returns
    -------
    OrthoOverlay or None
        ``None`` when the photo does not cover the lot at all.

    Raises
    ------
    UnreadableFileError
        If the file cannot be opened or has no map projection.
    """
    crs = CRS.from_user_input(crs)
    minx, miny, maxx, maxy = bounds
    want = (minx - margin, miny - margin, maxx + margin, maxy + margin)
    with _open(path) as src:
        if src.crs is None:
            raise UnreadableFileError(
                f"The aerial photo {Path(path).name!r} does not say which map projection it uses."
            )
        left, bottom, right, top = transform_bounds(crs, src.crs, *want, densify_pts=21)
        sl, sb, sr, st = src.bounds
        left, bottom, right, top = max(left, sl), max(bottom, sb), min(right, sr), min(top, st)
        if left >= right or bottom >= top:
            return None
        window = rasterio.windows.from_bounds(left, bottom, right, top, src.transform)
        window = window.round_offsets().round_lengths()
        if window.width < 1 or window.height < 1:
            return None
        scale = max(window.width, window.height) / max_pixels
        out_w = max(1, int(window.width / max(scale, 1)))
        out_h = max(1, int(window.height / max(scale, 1)))
        _check_detail(src, window, out_w, out_h, Path(path).name)
        bands = _rgb_bands(src.count)
        data = src.read(
            bands, window=window, out_shape=(len(bands), out_h, out_w),
            resampling=Resampling.bilinear, boundless=False,
        )
        data = _to_uint8(data, src.dtypes[0])
        alpha = np.full((1, out_h, out_w), 255, dtype=np.uint8)
        if src.count in (2, 4):  # the photo's own alpha band
            alpha = _to_uint8(src.read([src.count], window=window, out_shape=(1, out_h, out_w)), src.dtypes[0])
        elif src.nodata is not None:
            raw = src.read(bands[0], window=window, out_shape=(out_h, out_w))
            alpha[0][raw == src.nodata] = 0
        src_transform = src.window_transform(window) @ Affine.scale(
            window.width / out_w, window.height / out_h
        )
        src_crs = src.crs
        name = Path(path).name

    wl, wb, wr, wt = transform_bounds(src_crs, WEB_MERCATOR, left, bottom, right, top, densify_pts=21)
    dst_transform, dst_w, dst_h = calculate_default_transform(
        src_crs, WEB_MERCATOR, out_w, out_h, left=left, bottom=bottom, right=right, top=top,
    )
    rgba = np.zeros((4, dst_h, dst_w), dtype=np.uint8)
    src_stack = np.concatenate([_as_rgb(data), alpha], axis=0)
    for i in range(4):
        reproject(
            src_stack[i], rgba[i],
            src_transform=src_transform, src_crs=src_crs,
            dst_transform=dst_transform, dst_crs=WEB_MERCATOR,
            resampling=Resampling.bilinear if i < 3 else Resampling.nearest,
            src_nodata=None, dst_nodata=0,
        )
    # bounds of the warped grid, in lon/lat
    x0, y0 = dst_transform @ (0, 0)
    x1, y1 = dst_transform @ (dst_w, dst_h)
    to_ll = Transformer.from_crs(WEB_MERCATOR, LONLAT, always_xy=True)
    west, north = to_ll.transform(x0, y0)
    east, south = to_ll.transform(x1, y1)
    log.debug("orthophoto %s: %dx%d px, mercator bounds %s", name, dst_w, dst_h, (wl, wb, wr, wt))
    return OrthoOverlay(
        image=np.ascontiguousarray(rgba.transpose(1, 2, 0)),
        bounds=((south, west), (north, east)),
        source=name,
    )


def _rgb_bands(count: int) -> list[int]:
    if count >= 3:
        return [1, 2, 3]
    return [1]


def _as_rgb(data: np.ndarray) -> np.ndarray:
    return np.repeat(data, 3, axis=0) if data.shape[0] == 1 else data


def _to_uint8(data: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "uint8":
        return data.astype(np.uint8, copy=False)
    data = data.astype(np.float64)
    lo, hi = np.nanpercentile(data, 2), np.nanpercentile(data, 98)
    if hi <= lo:
        hi = lo + 1
    return np.clip((data - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)


def ortho_image(
    path: str | Path,
    bounds: tuple[float, float, float, float],
    crs,
    *,
    margin: float = 30.0,
    max_pixels: int = 800,
) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
    """The photo around ``bounds`` on a north-up grid in ``crs`` (for a static map image).

    Returns
    -------
    (numpy.ndarray, tuple) or None
        An RGBA ``(rows, cols, 4)`` uint8 image and its extent
        ``(minx, maxx, miny, maxy)`` in ``crs`` (matplotlib's ``extent``);
        ``None`` when the photo does not cover the area.
    """
    crs = CRS.from_user_input(crs)
    minx, miny, maxx, maxy = (bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin)
    if not ortho_covers(path, (minx, miny, maxx, maxy), crs):
        return None
    size = max(maxx - minx, maxy - miny)
    res = size / max_pixels
    cols, rows = max(1, round((maxx - minx) / res)), max(1, round((maxy - miny) / res))
    dst_transform = Affine(res, 0, minx, 0, -res, maxy)
    rgba = np.zeros((4, rows, cols), dtype=np.uint8)
    with _open(path) as src:
        left, bottom, right, top = transform_bounds(crs, src.crs, minx, miny, maxx, maxy, densify_pts=21)
        window = rasterio.windows.from_bounds(left, bottom, right, top, src.transform)
        window = window.intersection(rasterio.windows.Window(0, 0, src.width, src.height))
        window = window.round_offsets().round_lengths()
        scale = max(1.0, max(window.width, window.height) / (2 * max_pixels))
        out_w, out_h = max(1, int(window.width / scale)), max(1, int(window.height / scale))
        _check_detail(src, window, out_w, out_h, Path(path).name)
        bands = _rgb_bands(src.count)
        data = _as_rgb(_to_uint8(
            src.read(bands, window=window, out_shape=(len(bands), out_h, out_w), resampling=Resampling.bilinear),
            src.dtypes[0],
        ))
        src_transform = src.window_transform(window) @ Affine.scale(window.width / out_w, window.height / out_h)
        src_crs = src.crs
    stack = np.concatenate([data, np.full((1, out_h, out_w), 255, dtype=np.uint8)], axis=0)
    for i in range(4):
        reproject(
            stack[i], rgba[i], src_transform=src_transform, src_crs=src_crs,
            dst_transform=dst_transform, dst_crs=crs,
            resampling=Resampling.bilinear if i < 3 else Resampling.nearest, dst_nodata=0,
        )
    return np.ascontiguousarray(rgba.transpose(1, 2, 0)), (minx, maxx, miny, maxy)
