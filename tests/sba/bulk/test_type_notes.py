"""A bulk run says which feature types it did not know, since they count as billable (README: feature types)."""

from __future__ import annotations

import json

import numpy as np
import pytest

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


def test_type_notes__a_layer_without_a_type_column_is_named(tmp_path, capsys):
    """Building footprints without a type are billable; a layer whose type column was left out
    (or called something else) would bill its docks: the summary says every surface is billable."""
    features = gpd.read_file(SAMPLE / "features.geojson").rename(columns={"feature_type": "SURF_KIND"})
    assert _run(tmp_path, features, capsys)["notes"] == [
        f"features.parquet has no feature-type column (feature_type, feature_ty, type, TYPE or Type): all "
        f"{len(features)} surfaces count as billable 'other', docks too; if a column holds the types, name it with "
        "--type-field."]


@pytest.mark.parametrize("suffix", [".parquet", ".gpkg", "kept as WKB"])
@pytest.mark.parametrize("column", ["TYPE", "type", "feature_ty"])
def test_type_notes__a_type_column_of_another_common_name_is_used_as_sba_measure_uses_it(tmp_path, capsys,
                                                                                        monkeypatch, column, suffix):
    """``sba measure`` reads the types from ``TYPE`` when there is no ``feature_type``; the bulk run
    read only ``feature_type``/``feature_ty`` and billed the floating home over water on R100001."""
    import pandas as pd

    from sba.bulk import wkb_layer

    if suffix == "kept as WKB":  # the path of a city's millions of surfaces
        monkeypatch.setattr(wkb_layer, "WKB_MIN_FEATURES", 0)
        suffix = ".parquet"

    features = gpd.read_file(SAMPLE / "features.geojson")
    renamed = tmp_path / f"renamed{suffix}"
    written = features.rename(columns={"feature_type": column})
    written.to_parquet(renamed) if suffix == ".parquet" else written.to_file(renamed)
    tables = []
    for i, path in enumerate((SAMPLE / "features.geojson", renamed)):
        out = tmp_path / f"out{i}.parquet"
        code = main(["reassess", "--parcels", str(SAMPLE / "parcels.geojson"), "--features", str(path),
                     "--water", str(SAMPLE / "water.geojson"), "--out", str(out), "--format", "json",
                     "--no-progress"])
        summary, err = capsys.readouterr()
        assert code == 0, err
        assert json.loads(summary)["notes"] == []
        tables.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(tables[1], tables[0])
    assert tables[0].set_index("parcel_id").loc["R100001", "overwater_excluded_sqft"] == pytest.approx(3147.748)


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


def test_type_notes__the_prefetch_reads_type_columns_in_the_engine_s_order():
    """sba.bulk.prefetch imports no gis, so it keeps its own copy of the order."""
    from gis.shapes import TYPE_COLUMNS
    from sba.bulk.prefetch import TYPE_FALLBACKS

    assert ("feature_type", *TYPE_FALLBACKS) == TYPE_COLUMNS
