"""``sba measure`` against an independent geopandas overlay on data it has not seen.

The oracle (tests/oracle/oracle.py) is the slow, obvious analyst's computation;
the engine must agree with it to 0.01 sq ft on every parcel.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

import geopandas as gpd

from sba.cli import main
from tests.conftest import DATA, ROOT, shared_path
from tests.oracle.oracle import oracle_billable_area, oracle_outside_and_overlap

TOL = 0.01  # sq ft
GEN = ROOT / "tests" / "oracle" / "gen_parcels.py"


def cli_measure(capsys, parcels, features, water=None, *extra) -> pd.Series:
    args = ["measure", "--parcels", str(parcels), "--features", str(features), *extra, "--format", "json"]
    if water is not None:
        args += ["--water", str(water)]
    assert main(args) == 0
    lots = json.loads(capsys.readouterr().out)["lots"]
    return pd.Series({str(lot["parcel_id"]): float(lot["billable_area_sqft"]) for lot in lots})


def assert_agrees(ours: pd.Series, oracle: pd.Series) -> None:
    oracle = oracle.copy()
    oracle.index = oracle.index.astype(str)
    assert set(ours.index) == set(oracle.index)
    diff = (ours - oracle.reindex(ours.index)).abs()
    assert diff.max() <= TOL, diff.sort_values().tail()
    assert ours.sum() > 0


@pytest.fixture(scope="module", params=[11, 29, 47])
def synthetic(request, tmp_path_factory):
    """gen_parcels.py data with seeds the engine was never tuned on."""
    out = tmp_path_factory.mktemp(f"gen{request.param}")
    subprocess.run([sys.executable, str(GEN), "--parcels", "2000", "--seed", str(request.param),
                    "--out", str(out)], check=True, capture_output=True)
    return out


def test_oracle__synthetic_seeds_with_water(synthetic, capsys):
    ours = cli_measure(capsys, synthetic / "parcels.parquet", synthetic / "features.parquet",
                       synthetic / "water.parquet")
    p, f, w = (gpd.read_parquet(synthetic / f"{n}.parquet") for n in ("parcels", "features", "water"))
    assert_agrees(ours, oracle_billable_area(p, f, w))


@pytest.mark.parametrize("with_water", [True, False])
def test_oracle__synthetic_outside_and_overlap_reports(synthetic, with_water):
    """The street part and the counted-once overlap agree with a lot-by-lot shapely reference."""
    import gis

    p, f, w = (gpd.read_parquet(synthetic / f"{n}.parquet") for n in ("parcels", "features", "water"))
    w = w if with_water else None
    lots = gis.measure_lots(p, f, w, by_type=False).lots.set_index("parcel_id")
    ref = oracle_outside_and_overlap(p, f, w)
    for col in ("outside_parcel_sqft", "overlap_sqft"):
        diff = (lots[col] - ref[col].reindex(lots.index)).abs()
        assert diff.max() <= TOL, (col, diff.sort_values().tail())
        assert ref[col].sum() > 1000  # the seeds do have street parts and overlaps


def test_oracle__synthetic_split_by_type_with_water(synthetic):
    """Each type's area (precedence order, water removed) agrees with a lot-by-lot shapely reference."""
    import shapely

    import gis
    from gis.measure import PRECEDENCE

    p, f, w = (gpd.read_parquet(synthetic / f"{n}.parquet") for n in ("parcels", "features", "water"))
    m = gis.measure_lots(p, f, w, by_type=True)
    lots = m.lots.set_index("parcel_id")
    water = shapely.union_all(w.geometry.to_numpy())
    ftree = shapely.STRtree(f.geometry.to_numpy())
    kinds = f.feature_type.to_numpy()
    checked = 0
    for pid, lot in zip(p.parcel_id, p.geometry, strict=True):
        near = ftree.query(lot)
        if not len(near) or not shapely.intersects(lot, water):
            continue  # the dry lots are covered by the oracle totals; here the wet ones
        covered = shapely.Polygon()
        for t in PRECEDENCE:
            sel = [j for j in near if kinds[j] == t]
            if not sel:
                continue
            mine = shapely.intersection(shapely.union_all(f.geometry.to_numpy()[sel]), lot)
            expected = mine.difference(covered).difference(water).area
            assert lots.loc[pid, f"sqft_{t}"] == pytest.approx(expected, abs=TOL), (pid, t)
            covered = covered.union(mine)
        checked += 1
    assert checked > 20


def test_oracle__synthetic_without_water_drops_docks(synthetic, capsys):
    ours = cli_measure(capsys, synthetic / "parcels.parquet", synthetic / "features.parquet")
    p, f = (gpd.read_parquet(synthetic / f"{n}.parquet") for n in ("parcels", "features"))
    assert_agrees(ours, oracle_billable_area(p, f))


def test_oracle__synthetic_with_invalid_bowties(tmp_path, capsys):
    subprocess.run([sys.executable, str(GEN), "--parcels", "800", "--seed", "5", "--invalid", "12",
                    "--out", str(tmp_path)], check=True, capture_output=True)
    ours = cli_measure(capsys, tmp_path / "parcels.parquet", tmp_path / "features.parquet",
                       tmp_path / "water.parquet")
    p, f, w = (gpd.read_parquet(tmp_path / f"{n}.parquet") for n in ("parcels", "features", "water"))
    assert_agrees(ours, oracle_billable_area(p, f, w))


#: Cambridge comes in lon/lat; the oracle measures lon/lat in its UTM zone (19N),
#: so the tool is asked for the same projection (its own default is equal-area)
IN_UTM = ("--crs", "EPSG:32619")


def test_oracle__cambridge_subset_real_data(capsys, tmp_path):
    """Real parcels, planimetrics and water (lon/lat, invalid shapes, docks) from tests/data."""
    gpkg = DATA / "cambridge_subset.gpkg"
    parcels = gpd.read_file(gpkg, layer="parcels")
    parcels = parcels[parcels.ML != "---"]  # two unrelated rows share this placeholder id
    features = gpd.read_file(gpkg, layer="features")
    ppath = tmp_path / "parcels.gpkg"
    parcels.to_file(ppath, layer="parcels")
    ours = cli_measure(capsys, ppath, gpkg, None, "--features-layer", "features", "--id-field", "ML", *IN_UTM)
    assert_agrees(ours, oracle_billable_area(parcels, features, None, id_field="ML"))


def test_oracle__cambridge_subset_with_water(capsys, tmp_path):
    gpkg = DATA / "cambridge_subset.gpkg"
    parcels = gpd.read_file(gpkg, layer="parcels")
    parcels = parcels[parcels.ML != "---"]
    features = gpd.read_file(gpkg, layer="features")
    water = gpd.read_file(gpkg, layer="water")
    ppath = tmp_path / "parcels.gpkg"
    parcels.to_file(ppath, layer="parcels")
    ours = cli_measure(capsys, ppath, gpkg, gpkg, "--features-layer", "features", "--water-layer", "water",
                       "--id-field", "ML", *IN_UTM)
    assert_agrees(ours, oracle_billable_area(parcels, features, water, id_field="ML"))


@pytest.mark.slow
def test_oracle__cambridge_whole_city(capsys, tmp_path):
    """All 13k Cambridge parcels against their driveways, walkways, parking, decks, docks and water."""
    gpkg = shared_path("realdata", "cambridge_ma", "cambridge_ma.gpkg")
    parcels = gpd.read_file(gpkg, layer="parcels_fy2013")
    parcels = parcels[~parcels.ML.duplicated(keep=False) & parcels.ML.notna()]
    layers = {"driveways": "driveway", "private_walkways": "walkway", "parking_lots": "parking",
              "impervious_other": "patio", "decks": "deck", "porches": "porch", "docks": "dock"}
    features = pd.concat([gpd.read_file(gpkg, layer=lyr).assign(feature_type=t)[["feature_type", "geometry"]]
                          for lyr, t in layers.items()], ignore_index=True)
    water = gpd.read_file(gpkg, layer="water_bodies")[["geometry"]]
    for name, gdf in (("parcels", parcels[["ML", "geometry"]]), ("features", features), ("water", water)):
        gdf.to_parquet(tmp_path / f"{name}.parquet")
    ours = cli_measure(capsys, tmp_path / "parcels.parquet", tmp_path / "features.parquet",
                       tmp_path / "water.parquet", "--id-field", "ML", *IN_UTM)
    assert_agrees(ours, oracle_billable_area(parcels, features, water, id_field="ML"))


def dissolved(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The surfaces merged by type, as a careless export gives them: one multipolygon per type
    (the invalid outlines repaired first, as a GIS does before it dissolves)."""
    features = features[["feature_type", "geometry"]].copy()
    features["geometry"] = features.make_valid()
    return features.dissolve("feature_type").reset_index()


def test_oracle__cambridge_subset_dissolved_by_type(capsys, tmp_path):
    """A surfaces layer dissolved by type (a few features of thousands of vertices each, over
    every lot) is measured in tiles and gives the oracle's areas."""
    gpkg = DATA / "cambridge_subset.gpkg"
    parcels = gpd.read_file(gpkg, layer="parcels")
    parcels = parcels[parcels.ML != "---"]
    features = dissolved(gpd.read_file(gpkg, layer="features").to_crs("EPSG:32619"))
    water = gpd.read_file(gpkg, layer="water")
    assert len(features) < 10
    assert features.geometry.count_coordinates().max() > 1024
    paths = {}
    for name, gdf in (("parcels", parcels), ("features", features), ("water", water)):
        paths[name] = tmp_path / f"{name}.parquet"
        gdf.to_parquet(paths[name])
    ours = cli_measure(capsys, paths["parcels"], paths["features"], paths["water"], "--id-field", "ML", *IN_UTM)
    assert_agrees(ours, oracle_billable_area(parcels, features, water, id_field="ML"))


def test_oracle__synthetic_seeds_dissolved_by_type(synthetic, capsys, tmp_path):
    p, f, w = (gpd.read_parquet(synthetic / f"{n}.parquet") for n in ("parcels", "features", "water"))
    f = dissolved(f)
    f.to_parquet(tmp_path / "dissolved.parquet")
    ours = cli_measure(capsys, synthetic / "parcels.parquet", tmp_path / "dissolved.parquet",
                       synthetic / "water.parquet")
    assert_agrees(ours, oracle_billable_area(p, f, w))
