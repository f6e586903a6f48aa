"""``sba reassess --out`` never overwrites one of the run's own inputs."""

from __future__ import annotations

import pytest

import geopandas as gpd

from sba.cli import main
from tests.conftest import SAMPLE


@pytest.fixture
def inputs(tmp_path):
    """The sample layers as GeoParquet, a format the output may have too."""
    for name in ("parcels", "features", "water"):
        gpd.read_file(SAMPLE / f"{name}.geojson").to_parquet(tmp_path / f"{name}.parquet")
    return tmp_path


@pytest.mark.parametrize(
    ("out", "which"),
    [
        ("parcels.parquet", "parcels"),
        ("./features.parquet", "features"),
        ("water.parquet", "water"),
        ("link.parquet", "parcels"),  # a link to the parcels file
    ],
)
def test_output_paths__an_output_that_is_an_input_is_refused_and_the_input_kept(inputs, capsys, monkeypatch, out,
                                                                                 which):
    monkeypatch.chdir(inputs)
    (inputs / "link.parquet").symlink_to(inputs / "parcels.parquet")
    before = {p.name: p.read_bytes() for p in inputs.glob("*.parquet")}
    code = main(["reassess", "--parcels", "parcels.parquet", "--features", "features.parquet",
                 "--water", "water.parquet", "--out", out, "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"is the {which} input" in err
    assert len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in inputs.glob("*.parquet")} == before


def test_output_paths__a_geopackage_input_is_not_overwritten_by_the_output(tmp_path, capsys):
    city = tmp_path / "city.gpkg"
    gpd.read_file(SAMPLE / "parcels.geojson").to_file(city, layer="parcels")
    gpd.read_file(SAMPLE / "features.geojson").to_file(city, layer="features")
    before = city.read_bytes()
    code = main(["reassess", "--parcels", str(city), "--parcels-layer", "parcels", "--features", str(city),
                 "--features-layer", "features", "--out", str(city), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "is the parcels input" in err
    assert city.read_bytes() == before
