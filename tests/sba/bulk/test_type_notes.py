"""A bulk run says which feature types it did not know, since they count as billable (README: feature types)."""

from __future__ import annotations

import json

import numpy as np

import geopandas as gpd

from sba.cli import main
from tests.conftest import SAMPLE


def _run(tmp_path, features: gpd.GeoDataFrame, capsys) -> dict:
    path = tmp_path / "features.parquet"
    features.to_parquet(path)
    code = main(["reassess", "--parcels", str(SAMPLE / "parcels.geojson"), "--features", str(path),
                 "--out", str(tmp_path / "out.parquet"), "--format", "json", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_type_notes__unknown_and_missing_types_are_named_in_the_summary(tmp_path, capsys):
    features = gpd.read_file(SAMPLE / "features.geojson")
    features["feature_type"] = features.feature_type.astype(object)
    features.loc[:2, "feature_type"] = "<script>alert(1)</script>"
    features.loc[3:4, "feature_type"] = None
    features.loc[5, "feature_type"] = "Drive-Pav"  # an alias: known
    notes = _run(tmp_path, features, capsys)["notes"]
    assert notes == [
        "3 surfaces in features.parquet have a type this rate schedule does not name "
        "('<script>alert(1)</script>'): they count as billable. "
        "2 surfaces have no type: they count as billable 'other'. "
        "Give them one of the known types (roof, driveway, dock, …) if they are not hard surfaces.",
    ]


def test_type_notes__numbers_as_types_are_named_a_few_at_a_time(tmp_path, capsys):
    features = gpd.read_file(SAMPLE / "features.geojson")
    features["feature_type"] = np.arange(len(features)) % 7
    notes = _run(tmp_path, features, capsys)["notes"]
    assert len(notes) == 1
    assert notes[0].startswith(f"{len(features)} surfaces in features.parquet have a type this rate schedule "
                               "does not name ('0', '1', '2', '3', '4' and 2 more)")


def test_type_notes__known_types_give_no_note(tmp_path, capsys):
    assert _run(tmp_path, gpd.read_file(SAMPLE / "features.geojson"), capsys)["notes"] == []


def test_kernel_note__a_large_run_without_numba_says_what_it_costs(tmp_path, capsys, monkeypatch):
    """numba is optional (the 'fast' extra); without it a city-sized run is up to three times
    slower on real parcels, and its summary says so, once."""
    import importlib.util

    import sba.bulk.run as bulk_run

    features = gpd.read_file(SAMPLE / "features.geojson")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "numba" else real_find_spec(name, *a))
    assert _run(tmp_path, features, capsys)["notes"] == []  # a neighbourhood: not worth a note
    monkeypatch.setattr(bulk_run, "KERNEL_NOTE_LOTS", 1)
    notes = _run(tmp_path, features, capsys)["notes"]
    assert len(notes) == 1
    assert notes[0].startswith("This run measured without numba, which is not installed: the areas are the same")
    monkeypatch.setattr(importlib.util, "find_spec", real_find_spec)
    if real_find_spec("numba") is not None:
        assert _run(tmp_path, features, capsys)["notes"] == []
