"""Fixtures shared by the bulk-run tests (tests/sba/bulk/test_reassess.py, test_cluster.py, the box joins)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import geopandas as gpd
import shapely

from tests.conftest import ROOT

GEN = ROOT / "tests" / "oracle" / "gen_parcels.py"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A generated city of 3,000 lots (seed 21) with features and water, as GeoParquet."""
    d = tmp_path_factory.mktemp("city")
    subprocess.run([sys.executable, str(GEN), "--parcels", "3000", "--seed", "21", "--out", str(d)],
                   check=True, capture_output=True)
    return d


@pytest.fixture(params=["array code", "compiled"])
def join(request, monkeypatch):
    """A test of the box joins runs on both paths: numpy arrays (rows in no order), and the
    compiled loop (numba; rows in file order)."""
    from sba.bulk import boxes

    if request.param == "compiled":
        pytest.importorskip("numba")
        monkeypatch.setattr(boxes, "JIT_MIN_ROWS", 0)
    else:
        monkeypatch.setattr(boxes, "USE_JIT", False)
    return request.param


@pytest.fixture(scope="module")
def city_mask(city, tmp_path_factory):
    """The city's lots under one "parking" polygon: the town's bounds less every lot's inside
    2 ft in from its lines (a connected impervious mask: one polygon, a hole a lot).  Each lot's
    billable area is then its 2 ft margin: its area less its inside's."""
    lots = gpd.read_parquet(city / "parcels.parquet")
    inside = shapely.buffer(lots.geometry.to_numpy(), -2.0, join_style="mitre")
    x0, y0, x1, y1 = lots.total_bounds
    mask = shapely.box(x0 - 10, y0 - 10, x1 + 10, y1 + 10).difference(shapely.multipolygons(inside))
    d = tmp_path_factory.mktemp("mask")
    gpd.GeoDataFrame({"feature_type": ["parking"]}, geometry=[mask], crs=lots.crs).to_parquet(d / "mask.parquet")
    margin = pd.Series(lots.area.to_numpy() - shapely.area(inside), index=lots.parcel_id.to_numpy())
    return d / "mask.parquet", margin, mask


@pytest.fixture(scope="module")
def crossed_mask(city_mask, tmp_path_factory):
    """The city-wide mask with one hole in the street that crosses itself (a bow tie, as
    vectorised rasters have): an invalid polygon, repaired to the same area on every lot."""
    mask = city_mask[2]
    x0, y0 = mask.bounds[:2]
    bow = [(x0 + 2, y0 + 2), (x0 + 8, y0 + 8), (x0 + 8, y0 + 2), (x0 + 2, y0 + 8), (x0 + 2, y0 + 2)]
    crossed = shapely.Polygon(mask.exterior.coords, [*(r.coords for r in mask.interiors), bow])
    path = tmp_path_factory.mktemp("crossed") / "crossed.parquet"
    gpd.GeoDataFrame({"feature_type": ["parking"]}, geometry=[crossed], crs="EPSG:2913").to_parquet(path)
    return path, crossed
