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
