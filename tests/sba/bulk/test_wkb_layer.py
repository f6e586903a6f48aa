"""sba.bulk.wkb_layer: the lots and surfaces of a big run kept as WKB, decoded chunk by chunk,
must give the table (and the refusals) of the run that decodes every shape first.

The city here is small, so each test lowers :data:`WKB_MIN_FEATURES` to take the WKB path.
"""

from __future__ import annotations

import json
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

import geopandas as gpd

from sba.bulk import wkb_layer
from sba.bulk.prefetch import read_table
from sba.bulk.wkb_layer import WkbLayer, open_wkb_layer
from sba.cli import main

pytest.importorskip("numba")  # without it the layer is always decoded first


def run(capsys, folder, out, *extra) -> tuple[int, dict | str]:
    """``sba reassess`` on folder's three layers: (exit code, summary or the error text)."""
    args = ["reassess", "--parcels", folder / "parcels.parquet", "--features", folder / "features.parquet",
            "--water", folder / "water.parquet", "--out", out, "--class-field", "land_use",
            "--class-map", "residential=single_family,commercial=non_residential", "--format", "json",
            "--chunk-size", "400", "--workers", "2", *extra]
    code = main([str(a) for a in args])
    text, err = capsys.readouterr()
    return code, (json.loads(text) if code == 0 else err)


@pytest.fixture
def as_wkb(monkeypatch):
    """Runs keep any features layer as WKB (and count the surfaces decoded chunk by chunk)."""
    monkeypatch.setattr(wkb_layer, "WKB_MIN_FEATURES", 0)


def both_ways(capsys, monkeypatch, folder, tmp_path, kept_as_wkb: bool | None = True) -> tuple[tuple, tuple]:
    """The run decoding every shape first, then the one keeping them as WKB (each chunk, on a
    forked worker, notes in ``tmp_path / "taken"`` how many lots and surfaces it decoded)."""
    taken = tmp_path / "taken"
    take = WkbLayer.take

    def noted(self, rows):
        with open(taken, "a") as f:
            f.write(f"{'features' if 'feature_type' in self.columns else 'lots'}:{len(rows)}\n")
        return take(self, rows)

    monkeypatch.setattr(WkbLayer, "take", noted)
    decoded = run(capsys, folder, tmp_path / "decoded.parquet")
    assert not taken.exists()
    monkeypatch.setattr(wkb_layer, "WKB_MIN_FEATURES", 0)
    kept = run(capsys, folder, tmp_path / "kept.parquet")
    if kept[0] == 0 and kept_as_wkb is not None:
        assert taken.exists() == kept_as_wkb
    return decoded, kept


def same_file(a, b) -> bool:
    return pq.read_table(a).equals(pq.read_table(b))


def test_wkb_layer__gives_the_table_and_notes_of_the_decoded_run(city, tmp_path, capsys, monkeypatch):
    (code_a, decoded), (code_b, kept) = both_ways(capsys, monkeypatch, city, tmp_path)
    assert code_a == code_b == 0
    assert same_file(tmp_path / "decoded.parquet", tmp_path / "kept.parquet")
    assert kept["notes"] == decoded["notes"]
    assert kept["by_category"] == decoded["by_category"]
    assert sum(decoded["by_category"].values()) > 2500
    taken = [line.split(":") for line in (tmp_path / "taken").read_text().split()]
    surfaces = [int(n) for kind, n in taken if kind == "features"]
    lots = [int(n) for kind, n in taken if kind == "lots"]
    assert len(surfaces) == decoded["chunks"]
    assert len(lots) == 2 * decoded["chunks"]  # its own lots, and the neighbours its surfaces reach
    assert 0 < max(surfaces) < 10_000
    assert sum(lots) < 2 * 3000


def test_wkb_layer__take_gives_the_rows_reading_the_file_gives(city, monkeypatch):
    table = read_table(city / "features.parquet", ["feature_type"])
    lots_crs = gpd.read_parquet(city / "parcels.parquet").crs
    kept = open_wkb_layer(table, "features.parquet", lots_crs)
    assert isinstance(kept, WkbLayer)
    assert len(kept) == table.num_rows
    decoded = gpd.read_parquet(city / "features.parquet")
    rows = [7, 3, 4000, 3]
    part = kept.take(rows)
    assert part.index.tolist() == decoded.index[rows].tolist()
    assert part.crs == decoded.crs
    assert part.geometry.geom_equals_exact(decoded.geometry.iloc[rows], tolerance=0).all()
    assert part.feature_type.tolist() == decoded.feature_type.iloc[rows].tolist()


@pytest.mark.parametrize("tear", ["torn", "unclosed"])
@pytest.mark.parametrize("layer", ["parcels", "features"])
def test_wkb_layer__a_torn_shape_is_refused_as_the_decoded_run_refuses_it(city, tmp_path, capsys, monkeypatch,
                                                                          tear, layer):
    import pyarrow as pa

    for name in ("parcels", "features", "water"):
        pq.write_table(pq.read_table(city / f"{name}.parquet"), tmp_path / f"{name}.parquet")
    table = pq.read_table(city / f"{layer}.parquet")
    at = table.schema.get_field_index("geometry")
    rows = table.column(at).to_pylist()
    good = rows[5]
    rows[5] = good[:-5] if tear == "torn" else good[:-16] + bytes(16)  # the last point moved: not closed
    table = table.set_column(at, table.schema.field(at), pa.array(rows, type=table.schema.field(at).type))
    pq.write_table(table, tmp_path / "features.parquet")
    (code_a, decoded), (code_b, kept) = both_ways(capsys, monkeypatch, tmp_path, tmp_path)
    assert code_a == code_b == 2
    assert kept == decoded
    assert kept.count("\n") == 1
    assert "features.parquet" in kept
    assert not (tmp_path / "kept.parquet").exists()


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:3857 for the features only"])
def test_wkb_layer__another_crs_gives_the_decoded_run_s_table(city, tmp_path, capsys, monkeypatch, crs):
    """Lots in degrees (measured in a CRS of their own), or features labelled otherwise than the lots:
    every surface is decoded and projected, as in the decoded run."""
    epsg = crs.split()[0]
    for name in ("parcels", "features", "water"):
        layer = gpd.read_parquet(city / f"{name}.parquet")
        if name == "features" or "only" not in crs:
            layer = layer.to_crs(epsg)
        layer.to_parquet(tmp_path / f"{name}.parquet")
    # features in another CRS than the lots: both decoded at once (the lots were read as WKB first)
    (code_a, decoded), (code_b, kept) = both_ways(capsys, monkeypatch, tmp_path, tmp_path,
                                                  kept_as_wkb=None if "only" in crs else True)
    assert code_a == code_b == 0, (decoded, kept)
    assert same_file(tmp_path / "decoded.parquet", tmp_path / "kept.parquet")
    assert kept["crs_note"] == decoded["crs_note"]


def test_wkb_layer__without_numba_the_layers_are_decoded_first(city, monkeypatch, as_wkb):
    assert wkb_layer.wants_wkb(city / "features.parquet")
    monkeypatch.setitem(sys.modules, "sba.bulk.boxes_jit", None)  # import fails as if numba were missing
    assert not wkb_layer.wants_wkb(city / "features.parquet")


def test_wkb_layer__a_layer_without_a_crs_or_in_another_is_decoded_first(city, as_wkb):
    table = read_table(city / "features.parquet", ["feature_type"])
    lots_crs = gpd.read_parquet(city / "parcels.parquet").crs
    assert isinstance(open_wkb_layer(table, "f", lots_crs), WkbLayer)
    assert open_wkb_layer(table, "f", "EPSG:3857") is None
    meta = json.loads(table.schema.metadata[b"geo"])
    meta["columns"]["geometry"]["crs"] = None  # GeoParquet: an unknown CRS
    unknown = table.replace_schema_metadata({**table.schema.metadata, b"geo": json.dumps(meta).encode()})
    assert open_wkb_layer(unknown, "f", lots_crs) is None


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # shapely, on the NaN coordinates
@pytest.mark.parametrize("nan_lot", [False, True])
def test_wkb_layer__lots_with_a_nan_coordinate_or_none_give_the_decoded_run_s_answer(city, tmp_path, capsys,
                                                                                    monkeypatch, nan_lot):
    """A lot without a shape, or with a corner that is not a number, is the same error row both
    ways (SPEC A1.4 repairs crossings, not corners that are not numbers); the rest is the same table."""
    import numpy as np

    import shapely

    for name in ("features", "water"):
        pq.write_table(pq.read_table(city / f"{name}.parquet"), tmp_path / f"{name}.parquet")
    parcels = gpd.read_parquet(city / "parcels.parquet")
    geoms = parcels.geometry.to_numpy().copy()
    if nan_lot:
        corners = shapely.get_coordinates(geoms[9])
        corners[1, 1] = np.nan  # one coordinate
        geoms[9] = shapely.Polygon(corners)
    geoms[10] = None  # no shape
    parcels.set_geometry(geoms).to_parquet(tmp_path / "parcels.parquet")
    (code_a, said_a), (code_b, said_b) = both_ways(capsys, monkeypatch, tmp_path, tmp_path)
    assert code_a == code_b == 0
    assert said_a["errors"] == said_b["errors"] == 1 + nan_lot
    assert same_file(tmp_path / "decoded.parquet", tmp_path / "kept.parquet")
    errors = pd.read_parquet(tmp_path / "kept.parquet").set_index("parcel_id").error
    said = errors[parcels.parcel_id[9]]
    assert (pd.notna(said) and "outline has a corner that is not a number" in said) == nan_lot


def test_wkb_layer__a_geopackage_result_has_the_decoded_run_s_lots(city, tmp_path, capsys, monkeypatch):
    decoded = run(capsys, city, tmp_path / "decoded.gpkg")
    monkeypatch.setattr(wkb_layer, "WKB_MIN_FEATURES", 0)
    kept = run(capsys, city, tmp_path / "kept.gpkg")
    assert decoded[0] == kept[0] == 0
    a, b = gpd.read_file(tmp_path / "decoded.gpkg"), gpd.read_file(tmp_path / "kept.gpkg")
    assert len(a) == 3000
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=0).all()
