"""Raster estimate of impervious area per lot (fractional pixel coverage)."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

import rasterio

from gis.cover import raster_cover_sqft
from gis.errors import UnreadableFileError
from tests.conftest import SAMPLE, box, layer


def write_raster(path, values, crs="EPSG:2913", origin=(0.0, 30.0), res=3.0):
    transform = Affine(res, 0, origin[0], 0, -res, origin[1])
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                       dtype=values.dtype, crs=crs, transform=transform) as dst:
        dst.write(values, 1)
    return path


def test_raster_cover__partial_pixels_count_by_their_share(tmp_path):
    tif = write_raster(tmp_path / "ones.tif", np.ones((10, 10), dtype="uint8"))
    lots = layer([(box(1.5, 1.5, 16.5, 16.5), "R1")], "parcel_id")  # lot lines cut pixels in half
    assert raster_cover_sqft(lots, tif, supersample=2)[0] == pytest.approx(225.0)
    assert raster_cover_sqft(lots, tif, supersample=1)[0] != pytest.approx(225.0)


def test_raster_cover__percentages_are_scaled(tmp_path):
    tif = write_raster(tmp_path / "pct.tif", np.full((10, 10), 50, dtype="uint8"))
    lots = layer([(box(0, 0, 30, 30), "R1")], "parcel_id")
    assert raster_cover_sqft(lots, tif)[0] == pytest.approx(450.0)


def test_raster_cover__lot_off_the_raster_is_nan(tmp_path):
    tif = write_raster(tmp_path / "ones.tif", np.ones((10, 10), dtype="uint8"))
    lots = layer([(box(0, 0, 30, 30), "R1"), (box(900, 900, 930, 930), "R2")], "parcel_id")
    est = raster_cover_sqft(lots, tif)
    assert est[0] == pytest.approx(900.0)
    assert np.isnan(est[1])


def test_raster_cover__sample_neighbourhood_close_to_vector_sba():
    import pandas as pd

    import geopandas as gpd

    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    est = raster_cover_sqft(parcels, SAMPLE / "impervious.tif")
    exact = pd.read_csv(SAMPLE / "expected_sba.csv").billable_area_sqft.to_numpy()
    share = np.abs(est / exact - 1)
    assert np.median(share) < 0.03
    assert share.max() < 0.15


def test_raster_cover__not_a_raster(tmp_path):
    bad = tmp_path / "x.tif"
    bad.write_text("nope")
    with pytest.raises(UnreadableFileError, match="as a raster"):
        raster_cover_sqft(layer([(box(0, 0, 1, 1), "R1")], "parcel_id"), bad)


def test_raster_cover__small_tiles_give_the_same_estimates_as_one_tile(monkeypatch):
    """The raster is read in tiles to bound memory; lots cut by tile edges add up their parts exactly."""
    import geopandas as gpd

    import gis.cover

    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    whole = raster_cover_sqft(parcels, SAMPLE / "impervious.tif")
    monkeypatch.setattr(gis.cover, "TILE_PIXELS", 500)  # tiles of 2 rows x 250 columns
    np.testing.assert_allclose(raster_cover_sqft(parcels, SAMPLE / "impervious.tif"), whole, rtol=1e-12)


def test_raster_cover__overlapping_lots_each_count_the_cells_they_share(tmp_path):
    tif = write_raster(tmp_path / "ones.tif", np.ones((10, 10), dtype="uint8"))
    lots = layer([(box(0, 0, 18, 18), "A"), (box(9, 9, 27, 27), "B"), (box(0, 0, 18, 18), "C")], "parcel_id")
    np.testing.assert_allclose(raster_cover_sqft(lots, tif), [324.0, 324.0, 324.0])


def test_raster_cover__cells_finer_than_a_quarter_foot_are_refused_before_reading(tmp_path):
    """A 100 KB GeoTIFF can claim 60,000 x 60,000 cells of 0.04 ft over a few lots: reading them
    took over two minutes for 80 lots (hours for a city). Refused at once, naming the cell size."""
    import time

    from gis.cover import RasterResolutionError, raster_scale

    lots = layer([(box(0, 0, 2400, 2400), "R1")], "parcel_id")
    fine = tmp_path / "fine.tif"
    with rasterio.open(fine, "w", driver="GTiff", height=60_000, width=60_000, count=1, dtype="uint8",
                       crs="EPSG:2913", transform=Affine(0.04, 0, 0, 0, -0.04, 2400), tiled=True,
                       compress="deflate", sparse_ok=True):
        pass  # no block written: a sparse file of a few hundred KB
    assert fine.stat().st_size < 1_000_000
    start = time.perf_counter()
    for estimate in (lambda: raster_scale(fine, lots), lambda: raster_cover_sqft(lots, fine, scale=1.0)):
        with pytest.raises(RasterResolutionError, match=r"cells of 0\.04 ft"):
            estimate()
    assert time.perf_counter() - start < 2
    coarse = write_raster(tmp_path / "coarse.tif", np.ones((40, 40), dtype="uint8"), res=0.25,
                          origin=(0.0, 10.0))  # the finest allowed
    assert raster_cover_sqft(layer([(box(0, 0, 10, 10), "R1")], "parcel_id"), coarse)[0] == pytest.approx(100.0)
