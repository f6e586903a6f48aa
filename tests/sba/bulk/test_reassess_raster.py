"""``sba reassess --impervious-raster``: any raster CRS, one value scale per run, stacked lots, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from affine import Affine

import geopandas as gpd
import rasterio
import shapely
from pyproj import Transformer

from sba.cli import main
from tests.conftest import ROOT

PORTLAND = (7_650_000.0, 660_000.0)  # EPSG:2913, international feet


def lots_grid(n_x: int, n_y: int, size: float = 100.0, origin=PORTLAND, ids=None) -> gpd.GeoDataFrame:
    """``n_x`` × ``n_y`` square lots of ``size`` ft (EPSG:2913) with a 40 × 40 ft roof each."""
    x0, y0 = origin
    boxes = [shapely.box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size)
             for j in range(n_y) for i in range(n_x)]
    ids = ids or [f"R{k}" for k in range(len(boxes))]
    return gpd.GeoDataFrame({"parcel_id": ids}, geometry=boxes, crs="EPSG:2913")


def write_layers(tmp_path, lots: gpd.GeoDataFrame):
    roofs = gpd.GeoDataFrame({"feature_type": ["roof"] * len(lots)},
                             geometry=[shapely.box(*(np.array(g.centroid.coords[0] * 2) + np.array([-20, -20, 20, 20])))
                                       for g in lots.geometry], crs=lots.crs)
    lots.to_parquet(tmp_path / "parcels.parquet")
    roofs.to_parquet(tmp_path / "features.parquet")
    return tmp_path / "parcels.parquet", tmp_path / "features.parquet"


def write_raster(path, values, transform, crs):
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                       dtype=values.dtype, crs=crs, transform=transform) as dst:
        dst.write(values, 1)
    return path


def raster_over(path, lots: gpd.GeoDataFrame, crs: str, res: float, value=1, margin=50.0):
    """A raster of one value in ``crs`` with pixels of ``res`` (in ``crs`` units) over the lots plus a margin."""
    bounds = lots.total_bounds + np.array([-margin, -margin, margin, margin])
    if crs != lots.crs:
        bounds = Transformer.from_crs(lots.crs, crs, always_xy=True).transform_bounds(*bounds)
    minx, miny, maxx, maxy = bounds
    width, height = int(np.ceil((maxx - minx) / res)) + 2, int(np.ceil((maxy - miny) / res)) + 2
    transform = Affine(res, 0, minx - res, 0, -res, maxy + res)
    return write_raster(path, np.full((height, width), value, dtype="uint8"), transform, crs)


def run(capsys, parcels, features, out, *extra):
    args = ["reassess", "--parcels", parcels, "--features", features, "--out", out, "--format", "json",
            "--no-progress", *extra]
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("crs", "res"), [("EPSG:4326", 3e-6), ("EPSG:3857", 0.4), ("EPSG:32610", 0.3)])
def test_a_raster_in_lon_lat_or_another_projection_gives_ground_square_feet(tmp_path, capsys, crs, res):
    """A raster fully impervious over the lots estimates each 100 x 100 ft lot at 10,000 sq ft, whatever
    its CRS: lon/lat once gave 'internal error', and Web Mercator cells counted x2.03 at Portland's latitude."""
    lots = lots_grid(3, 2)
    parcels, features = write_layers(tmp_path, lots)
    tif = raster_over(tmp_path / "ones.tif", lots, crs, res)
    code, _, err = run(capsys, parcels, features, tmp_path / "r.parquet", "--impervious-raster", tif)
    assert code == 0, err
    table = pd.read_parquet(tmp_path / "r.parquet")
    np.testing.assert_allclose(table.raster_impervious_sqft, 10_000.0, rtol=0.003)


def two_scale_raster(tmp_path, lots, left_value, right_value, split_x):
    """A 1 ft raster in EPSG:2913 over ``lots``: ``left_value`` west of ``split_x``, ``right_value`` east."""
    minx, miny, maxx, maxy = lots.total_bounds + np.array([-10, -10, 10, 10])
    width, height = int(maxx - minx), int(maxy - miny)
    values = np.full((height, width), right_value, dtype="uint8")
    values[:, : int(split_x - minx)] = left_value
    return write_raster(tmp_path / "pct.tif", values, Affine(1, 0, minx, 0, -1, maxy), "EPSG:2913")


def test_the_raster_value_scale_is_decided_once_per_run_so_chunk_size_does_not_change_it(tmp_path, capsys):
    """A percentage raster whose west lots sit where every value is 1 (%): a chunk holding only west lots
    once took the 1s for shares (x100); now every chunk size gives 1 % of the west lots' area."""
    west = lots_grid(2, 2)
    east = lots_grid(2, 2, origin=(PORTLAND[0] + 1000, PORTLAND[1]), ids=[f"E{k}" for k in range(4)])
    lots = pd.concat([west, east], ignore_index=True)
    parcels, features = write_layers(tmp_path, lots)
    tif = two_scale_raster(tmp_path, lots, left_value=1, right_value=60, split_x=PORTLAND[0] + 600)
    tables = []
    for size in (1, 3, 100):
        code, out, err = run(capsys, parcels, features, tmp_path / f"r{size}.parquet", "--impervious-raster", tif,
                             "--chunk-size", size)
        assert code == 0, err
        assert json.loads(out)["raster_scale"] == "percent"  # the summary says what auto decided
        tables.append(pd.read_parquet(tmp_path / f"r{size}.parquet").set_index("parcel_id").raster_impervious_sqft)
    for table in tables[1:]:
        pd.testing.assert_series_equal(table, tables[0])
    np.testing.assert_allclose(tables[0][[f"R{k}" for k in range(4)]], 100.0)  # 1 % of 10,000 sq ft
    np.testing.assert_allclose(tables[0][[f"E{k}" for k in range(4)]], 6_000.0)


def test_raster_scale_option_says_what_the_values_mean_and_is_checked_against_them(tmp_path, capsys):
    lots = lots_grid(2, 1)
    parcels, features = write_layers(tmp_path, lots)
    ones = raster_over(tmp_path / "ones.tif", lots, "EPSG:2913", 1.0)
    code, _, err = run(capsys, parcels, features, tmp_path / "p.parquet", "--impervious-raster", ones,
                       "--raster-scale", "percent")
    assert code == 0, err
    np.testing.assert_allclose(pd.read_parquet(tmp_path / "p.parquet").raster_impervious_sqft, 100.0)
    pct = raster_over(tmp_path / "pct.tif", lots, "EPSG:2913", 1.0, value=40)
    code, _, err = run(capsys, parcels, features, tmp_path / "f.parquet", "--impervious-raster", pct,
                       "--raster-scale", "fraction")
    assert code == 2
    assert "values up to 40" in err
    assert "--raster-scale percent" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "f.parquet").exists()


def test_a_raster_with_values_beyond_100_is_refused_in_one_sentence(tmp_path, capsys):
    """255 is a common undeclared no-data value: as a percentage it would bill 255 % cover."""
    lots = lots_grid(2, 1)
    parcels, features = write_layers(tmp_path, lots)
    tif = raster_over(tmp_path / "nodata.tif", lots, "EPSG:2913", 1.0, value=255)
    code, _, err = run(capsys, parcels, features, tmp_path / "r.parquet", "--impervious-raster", tif)
    assert code == 2
    assert "values from 255 to 255" in err
    assert "no-data value" in err
    assert "internal error" not in err
    assert len(err.strip().splitlines()) == 1


def test_stacked_lots_with_identical_outlines_each_get_the_raster_estimate(tmp_path, capsys):
    """Condominium units drawn as the same outline: each one is covered by the whole raster under it."""
    lots = lots_grid(2, 1)
    condos = lots_grid(1, 1, ids=["C1"])
    stacked = pd.concat([lots, condos, lots_grid(1, 1, ids=["C2"]), lots_grid(1, 1, ids=["C3"])],
                        ignore_index=True)
    parcels, features = write_layers(tmp_path, stacked)
    tif = raster_over(tmp_path / "ones.tif", stacked, "EPSG:2913", 3.0)
    code, _, err = run(capsys, parcels, features, tmp_path / "r.parquet", "--impervious-raster", tif)
    assert code == 0, err
    est = pd.read_parquet(tmp_path / "r.parquet").set_index("parcel_id").raster_impervious_sqft
    assert est.notna().all()
    np.testing.assert_allclose(est[["R0", "C1", "C2", "C3", "R1"]], 10_000.0, rtol=1e-9)


MEASURE_PEAK = """
import resource, subprocess, sys
subprocess.run([sys.executable, "-m", "sba", *sys.argv[1:]], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_kb(*args) -> int:
    out = subprocess.run([sys.executable, "-c", MEASURE_PEAK, *map(str, args)], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return int(out.stdout.split()[-1])


def test_raster_memory_is_bounded_by_the_tile_not_by_the_raster_under_a_chunk(tmp_path):
    """A 2,000 x 2,000 pixel raster under one chunk of 400 lots: the raster step once took ~300 bytes
    per pixel (~1.2 GB here); read in tiles it adds well under 200 MB to the run's peak."""
    lots = lots_grid(20, 20)
    parcels, features = write_layers(tmp_path, lots)
    minx, _, _, maxy = lots.total_bounds
    values = (np.arange(2000 * 2000).reshape(2000, 2000) % 3 == 0).astype("uint8")
    tif = write_raster(tmp_path / "r.tif", values, Affine(1, 0, minx, 0, -1, maxy), "EPSG:2913")
    base = ["reassess", "--parcels", parcels, "--features", features, "--no-progress", "--chunk-size", 1000]
    without = peak_rss_kb(*base, "--out", tmp_path / "a.parquet")
    with_raster = peak_rss_kb(*base, "--out", tmp_path / "b.parquet", "--impervious-raster", tif)
    assert (with_raster - without) / 1024 < 200
    est = pd.read_parquet(tmp_path / "b.parquet").raster_impervious_sqft
    np.testing.assert_allclose(est, 10_000 / 3, rtol=0.01)


def test_a_normal_raster_gives_the_same_estimates_as_before(tmp_path, capsys):
    """A 0/1 raster in the lots' own CRS: the estimate is the impervious pixels' area, as before."""
    lots = lots_grid(2, 1)
    parcels, features = write_layers(tmp_path, lots)
    minx, miny, maxx, maxy = lots.total_bounds
    values = np.zeros((int(maxy - miny) // 2, int(maxx - minx) // 2), dtype="uint8")
    values[:, : values.shape[1] // 4] = 1  # the west half of the west lot
    tif = write_raster(tmp_path / "r.tif", values, Affine(2, 0, minx, 0, -2, maxy), "EPSG:2913")
    code, out, err = run(capsys, parcels, features, tmp_path / "r.parquet", "--impervious-raster", tif)
    assert code == 0, err
    est = pd.read_parquet(tmp_path / "r.parquet").set_index("parcel_id").raster_impervious_sqft
    assert est.to_dict() == {"R0": pytest.approx(5_000.0), "R1": pytest.approx(0.0)}
    assert json.loads(out)["raster_disagreements"] == 2
    assert json.loads(out)["raster_scale"] == "fraction"
    args = ["reassess", "--parcels", parcels, "--features", features, "--out", tmp_path / "t.parquet",
            "--no-progress", "--impervious-raster", tif]
    assert main([str(a) for a in args]) == 0
    assert "Lots where the raster estimate disagrees with the measured area: 2 (raster values read as shares 0-1)." \
        in capsys.readouterr().out


def test_a_dask_run_decides_the_raster_scale_once_too(tmp_path, capsys):
    distributed = pytest.importorskip("dask.distributed", reason="dask is an optional extra ([cluster])")
    west = lots_grid(2, 2)
    east = lots_grid(2, 2, origin=(PORTLAND[0] + 1000, PORTLAND[1]), ids=[f"E{k}" for k in range(4)])
    parcels, features = write_layers(tmp_path, pd.concat([west, east], ignore_index=True))
    tif = two_scale_raster(tmp_path, pd.concat([west, east]), left_value=1, right_value=60,
                           split_x=PORTLAND[0] + 600)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        code, _, err = run(capsys, parcels, features, tmp_path / "d.parquet", "--impervious-raster", tif,
                           "--chunk-size", 2, "--scheduler", cluster.scheduler_address)
    assert code == 0, err
    est = pd.read_parquet(tmp_path / "d.parquet").set_index("parcel_id").raster_impervious_sqft
    np.testing.assert_allclose(est[[f"R{k}" for k in range(4)]], 100.0)
    np.testing.assert_allclose(est[[f"E{k}" for k in range(4)]], 6_000.0)


def test_a_raster_on_a_local_grid_or_a_scale_without_a_raster_is_one_clear_line(tmp_path, capsys):
    lots = lots_grid(1, 1)
    parcels, features = write_layers(tmp_path, lots)
    local = 'LOCAL_CS["site grid",UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]'
    tif = write_raster(tmp_path / "local.tif", np.ones((10, 10), dtype="uint8"), Affine(3, 0, 0, 0, -3, 30), local)
    code, _, err = run(capsys, parcels, features, tmp_path / "r.parquet", "--impervious-raster", tif)
    assert code == 2
    assert "uses a local coordinate system ('site grid')" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, parcels, features, tmp_path / "r.parquet", "--raster-scale", "percent")
    assert code == 2
    assert "give the raster too" in err


def test_a_raster_changed_between_runs_is_not_resumed(tmp_path, capsys, monkeypatch):
    """The raster is an input like the layers: saved chunks of an earlier raster are not reused."""
    import sba.bulk.run

    lots = lots_grid(100, 60)  # 6,000 lots: several chunks
    parcels, features = write_layers(tmp_path, lots)
    tif = raster_over(tmp_path / "cover.tif", lots, "EPSG:2913", 2.0, value=1)
    real = sba.bulk.run.write_part

    def break_after_two(table, folder, k):
        if len(list(folder.glob("chunk-*.arrow"))) >= 2:
            raise RuntimeError("the run broke here")
        return real(table, folder, k)

    with monkeypatch.context() as m:
        m.setattr(sba.bulk.run, "write_part", break_after_two)
        code, _, _ = run(capsys, parcels, features, tmp_path / "r.parquet", "--impervious-raster", tif,
                         "--chunk-size", "1000")
        assert code == 1
    raster_over(tmp_path / "cover.tif", lots, "EPSG:2913", 2.0, value=0)  # the cover was redone
    code, out, err = run(capsys, parcels, features, tmp_path / "r.parquet", "--impervious-raster", tif,
                         "--chunk-size", "1000", "--resume")
    assert code == 0, err
    assert json.loads(out)["chunks_resumed"] == 0
    assert (pd.read_parquet(tmp_path / "r.parquet").raster_impervious_sqft == 0).all()
