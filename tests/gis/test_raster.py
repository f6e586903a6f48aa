"""gis.raster: the local orthophoto cut out around a lot."""

from __future__ import annotations

import numpy as np
import pytest

import geopandas as gpd

from gis import UnreadableFileError
from gis.raster import ortho_covers, ortho_image, ortho_overlay
from tests.conftest import SAMPLE

PHOTO = SAMPLE / "orthophoto.tif"


@pytest.fixture
def lot():
    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    return parcels[parcels.parcel_id == "R100065"]


def test_ortho_overlay__covers_the_lot_in_lonlat(lot):
    o = ortho_overlay(PHOTO, tuple(lot.total_bounds), lot.crs)
    assert o.image.dtype == np.uint8
    assert o.image.shape[2] == 4
    (south, west), (north, east) = o.bounds
    minx, miny, maxx, maxy = lot.to_crs(4326).total_bounds
    assert west < minx < maxx < east
    assert south < miny < maxy < north
    assert o.source == "orthophoto.tif"
    assert max(o.image.shape[:2]) <= 1024


def test_ortho_overlay__outside_the_photo_is_none(lot):
    far = tuple(lot.total_bounds + 100_000)
    assert ortho_overlay(PHOTO, far, lot.crs) is None
    assert not ortho_covers(PHOTO, far, lot.crs)


def test_ortho_image__north_up_in_the_lot_crs(lot):
    img, extent = ortho_image(PHOTO, tuple(lot.total_bounds), lot.crs, margin=10)
    minx, miny, maxx, maxy = lot.total_bounds
    assert extent == (minx - 10, maxx + 10, miny - 10, maxy + 10)
    assert img.shape[2] == 4
    assert img[..., 3].min() == 255


def test_ortho__not_a_geotiff_explains(tmp_path, lot):
    bad = tmp_path / "photo.tif"
    bad.write_bytes(b"not a tiff")
    with pytest.raises(UnreadableFileError, match=r"could not open the aerial photo .photo\.tif."):
        ortho_overlay(bad, tuple(lot.total_bounds), lot.crs)


def _sparse_photo(path, lot, res: float, overviews: list[int] = ()):
    """A GeoTIFF over the lot with cells of ``res`` ft and no block written: a few MB at most,
    whatever its cells' number (GDAL still visits every block a read covers)."""
    from affine import Affine

    import rasterio

    x0, y0, x1, y1 = lot.total_bounds
    side = int((max(x1 - x0, y1 - y0) + 200) / res)
    with rasterio.open(path, "w", driver="GTiff", height=side, width=side, count=3, dtype="uint8", crs=lot.crs,
                       transform=Affine(res, 0, x0 - 100, 0, -res, y1 + 100), tiled=True, compress="deflate",
                       sparse_ok=True, BIGTIFF="YES") as dst:
        if overviews:
            dst.build_overviews(list(overviews))
    return path


def test_ortho__a_photo_with_billions_of_cells_under_the_lot_is_refused_at_once(tmp_path, lot):
    """A 7 MB upload claiming 0.002 ft cells kept the page busy for 2 minutes (200,000 x 200,000
    cells under the lot, each block visited); refused before reading, in words for a homeowner."""
    import time

    photo = _sparse_photo(tmp_path / "fine.tif", lot, res=0.002)
    start = time.perf_counter()
    for cut in (ortho_overlay, ortho_image):
        with pytest.raises(UnreadableFileError, match=r"too detailed .* save a copy of it with coarser pixels"):
            cut(photo, tuple(lot.total_bounds), lot.crs)
    assert time.perf_counter() - start < 2


def test_ortho__a_detailed_photo_with_overviews_is_cut_from_them(tmp_path, lot):
    photo = _sparse_photo(tmp_path / "fine.tif", lot, res=0.02, overviews=[4, 16])
    overlay = ortho_overlay(photo, tuple(lot.total_bounds), lot.crs)
    assert overlay is not None
    assert max(overlay.image.shape[:2]) <= 1100  # about MAX_OVERLAY_PIXELS, warped
