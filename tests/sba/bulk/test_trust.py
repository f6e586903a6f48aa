"""Wrong input never becomes a wrong bill: projections, ids, resume, outputs (issue: trust).

Every case builds its data in the test and runs the command line; each must
give the right answer or one clear refusal (exit 2, one line), never a
wrong number with exit 0 and never "internal error".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely
from pyproj import Geod

import sba.bulk.run
from sba.cli import main
from tests.conftest import SAMPLE

SBA = [sys.executable, "-m", "sba"]
CLASS_MAP = "residential=single_family,commercial=non_residential"


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *args) -> str:
    """Run ``sba``; it must refuse with exit 2 and one line on stderr, which is returned."""
    code, out, err = cli(capsys, *args)
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in err
    return lines[0]


def sample(name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / f"{name}.geojson")


def measure_json(capsys, parcels, features, *extra, water=None) -> dict:
    args = ["measure", "--parcels", parcels, "--features", features, *extra, "--format", "json"]
    if water is not None:
        args += ["--water", water]
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    return json.loads(out)


def reassess_json(capsys, parcels, features, out, *extra) -> dict:
    code, stdout, err = cli(capsys, "reassess", "--parcels", parcels, "--features", features, "--out", out,
                            "--no-progress", "--format", "json", *extra)
    assert code == 0, err
    return json.loads(stdout)


# --------------------------------------------------------------------------
# map projections that lie or distort


def test_web_mercator_parcels_are_measured_in_an_equal_area_crs_and_say_so(capsys, tmp_path):
    sample("parcels").to_crs(3857).to_parquet(tmp_path / "parcels.parquet")
    sample("features").to_crs(3857).to_parquet(tmp_path / "features.parquet")
    lot = measure_json(capsys, tmp_path / "parcels.parquet", tmp_path / "features.parquet",
                       "--parcel-id", "R100065")
    # 2,569.18 in EPSG:2913 (whose own scale here is 0.99983); Web Mercator said 5,224.48
    assert float(lot["billable_area_sqft"]) == pytest.approx(2569.18 / 0.999827, rel=1e-4)
    assert lot["category"] == "standard"
    assert "Pseudo-Mercator" in lot["crs_note"]
    assert "equal-area" in lot["crs_name"]


def test_web_mercator_city_gets_the_same_categories_as_its_state_plane_original(capsys, tmp_path, city):
    ours = reassess_json(capsys, city / "parcels.parquet", city / "features.parquet", tmp_path / "sp.parquet")
    for name in ("parcels", "features"):
        gpd.read_parquet(city / f"{name}.parquet").to_crs(3857).to_parquet(tmp_path / f"{name}.parquet")
    merc = reassess_json(capsys, tmp_path / "parcels.parquet", tmp_path / "features.parquet",
                         tmp_path / "merc.parquet")
    assert "Pseudo-Mercator" in merc["crs_note"]
    a, b = pd.read_parquet(tmp_path / "sp.parquet"), pd.read_parquet(tmp_path / "merc.parquet")
    assert ours["parcels_out"] == merc["parcels_out"] == 3000
    # same lots, areas within EPSG:2913's own scale error (0.02 %) of each other
    ratio = b.billable_area_sqft / a.billable_area_sqft
    assert ratio[a.billable_area_sqft > 100].between(1.0, 1.0005).all()
    assert (a.category.fillna("") != b.category.fillna("")).sum() <= 3  # only lots within 0.02 % of a line


def test_features_in_web_mercator_are_brought_to_the_parcels_crs(capsys, tmp_path):
    sample("features").to_crs(3857).to_file(tmp_path / "features.gpkg")
    lot = measure_json(capsys, SAMPLE / "parcels.geojson", tmp_path / "features.gpkg", "--parcel-id", "R100065")
    assert lot["billable_area_sqft"] == "2569.18"
    assert lot["crs_note"] is None


def test_geojson_holding_state_plane_numbers_is_refused(capsys, tmp_path):
    raw = json.loads((SAMPLE / "parcels.geojson").read_text())
    raw.pop("crs")  # RFC 7946: coordinates are then longitude/latitude
    (tmp_path / "parcels.geojson").write_text(json.dumps(raw))
    line = refused(capsys, "measure", "--parcels", tmp_path / "parcels.geojson",
                   "--features", SAMPLE / "features.geojson")
    assert "'parcels.geojson'" in line
    assert "longitude/latitude" in line
    assert "feet or metres" in line


def test_shapefile_whose_prj_says_lonlat_over_state_plane_numbers_is_refused(capsys, tmp_path):
    shp = tmp_path / "shp"
    shp.mkdir()
    sample("parcels").set_crs(4326, allow_override=True).to_file(shp / "parcels.shp")
    with zipfile.ZipFile(tmp_path / "parcels.zip", "w") as zf:
        for part in shp.iterdir():
            zf.write(part, part.name)
    line = refused(capsys, "measure", "--parcels", tmp_path / "parcels.zip",
                   "--features", SAMPLE / "features.geojson", "--parcel-id", "R100065")
    assert "'parcels.zip'" in line
    assert "longitude/latitude" in line


def test_features_labelled_with_another_states_zone_are_refused(capsys, tmp_path, city):
    feats = gpd.read_parquet(city / "features.parquet").set_crs(2272, allow_override=True)
    feats.to_parquet(tmp_path / "features.parquet")
    line = refused(capsys, "reassess", "--parcels", city / "parcels.parquet",
                   "--features", tmp_path / "features.parquet", "--out", tmp_path / "out.parquet")
    assert "'features.parquet'" in line
    assert "Pennsylvania" in line
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("command", ["measure", "reassess"])
def test_layers_that_do_not_meet_are_refused(capsys, tmp_path, city, command):
    feats = gpd.read_parquet(city / "features.parquet")
    feats.geometry = feats.geometry.translate(60_000, 0)  # 11 miles east: no lot there
    feats.to_parquet(tmp_path / "features.parquet")
    args = [command, "--parcels", city / "parcels.parquet", "--features", tmp_path / "features.parquet"]
    if command == "reassess":
        args += ["--out", tmp_path / "out.parquet"]
    line = refused(capsys, *args)
    assert f"None of the {len(feats):,} surfaces in 'features.parquet' touches a lot in 'parcels.parquet'" in line
    assert "right map projection" in line


def _sf_lot(tmp_path) -> tuple[Path, Path, float]:
    """A 30 x 90 ft lot in San Francisco with one roof, in lon/lat, and the roof's geodesic area."""
    corner = (6_010_000.0, 2_112_000.0)  # North Beach, EPSG:2227 (US survey feet)
    lot = shapely.box(corner[0], corner[1], corner[0] + 30, corner[1] + 90)
    roof = shapely.box(corner[0] + 1, corner[1] + 5, corner[0] + 29, corner[1] + 80.5)
    parcels = gpd.GeoDataFrame({"parcel_id": ["142"]}, geometry=[lot], crs=2227).to_crs(4326)
    features = gpd.GeoDataFrame({"feature_type": ["roof"]}, geometry=[roof], crs=2227).to_crs(4326)
    parcels.to_file(tmp_path / "parcels.geojson")
    features.to_file(tmp_path / "features.geojson")
    geodesic_m2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(features.geometry.iloc[0])[0])
    return tmp_path / "parcels.geojson", tmp_path / "features.geojson", geodesic_m2 / 0.3048**2


def test_lonlat_default_agrees_with_the_geodesic_area(capsys, tmp_path):
    parcels, features, geodesic = _sf_lot(tmp_path)
    lot = measure_json(capsys, parcels, features, "--parcel-id", "142")
    assert float(lot["billable_area_sqft"]) == pytest.approx(geodesic, abs=0.006)  # to the rounding
    assert "longitude/latitude" in lot["crs_note"]


def test_crs_option_measures_in_the_utilitys_official_projection(capsys, tmp_path):
    parcels, features, _ = _sf_lot(tmp_path)
    lot = measure_json(capsys, parcels, features, "--parcel-id", "142", "--crs", "EPSG:2227")
    official = 28 * 75.5 * (1200 / 3937 / 0.3048) ** 2  # the roof in US survey feet, as sq ft
    assert float(lot["billable_area_sqft"]) == pytest.approx(official, abs=0.01)
    assert lot["crs"] == "EPSG:2227"
    table = reassess_json(capsys, parcels, features, tmp_path / "out.csv", "--crs", "2227")
    assert "EPSG:2227" in table["crs_note"]
    assert pd.read_csv(tmp_path / "out.csv").billable_area_sqft.iloc[0] == pytest.approx(official, abs=0.01)


@pytest.mark.parametrize(("crs", "words"), [("EPSG:3857", "changes areas by"), ("EPSG:4326", "longitude/latitude"),
                                            ("EPSG:99999999", "not a map projection we know"),
                                            ("EPSG:2272", "lies outside the area")])
def test_crs_option_refuses_a_projection_unfit_for_area(capsys, crs, words):
    line = refused(capsys, "measure", "--parcels", SAMPLE / "parcels.geojson",
                   "--features", SAMPLE / "features.geojson", "--crs", crs)
    assert words in line


# --------------------------------------------------------------------------
# parcel ids


def test_parcel_id_used_by_two_lots_is_refused(capsys, tmp_path):
    parcels = sample("parcels")
    parcels.loc[parcels.parcel_id == "R100066", "parcel_id"] = "R100065"
    parcels.to_file(tmp_path / "parcels.gpkg")
    line = refused(capsys, "measure", "--parcels", tmp_path / "parcels.gpkg",
                   "--features", SAMPLE / "features.geojson", "--parcel-id", "R100065")
    assert "2 lots are called 'R100065'" in line


def test_a_missing_id_does_not_stop_measuring_another_lot(capsys, tmp_path):
    parcels = sample("parcels")
    parcels["parcel_id"] = parcels.parcel_id.astype("string")
    parcels.loc[parcels.parcel_id == "R100066", "parcel_id"] = pd.NA
    parcels.to_parquet(tmp_path / "parcels.parquet")
    lot = measure_json(capsys, tmp_path / "parcels.parquet", SAMPLE / "features.geojson",
                       "--parcel-id", "R100065")
    assert lot["billable_area_sqft"] == "2569.18"


def test_reassess_repeated_ids_get_an_error_and_bill_nothing(capsys, tmp_path, city):
    parcels = gpd.read_parquet(city / "parcels.parquet")
    parcels.loc[100:110, "parcel_id"] = 999_999  # 11 lots share one id
    parcels.to_parquet(tmp_path / "parcels.parquet")
    summary = reassess_json(capsys, tmp_path / "parcels.parquet", city / "features.parquet",
                            tmp_path / "out.parquet", "--class-field", "land_use", "--class-map", CLASS_MAP)
    table = pd.read_parquet(tmp_path / "out.parquet")
    rows = table[table.parcel_id == 999_999]
    assert len(rows) == 11
    assert len(table) == 3000
    assert (rows.error == "id 999999 is used by 11 lots; give each lot its own id.").all()
    assert rows.category.isna().all()
    assert rows.service_units.isna().all()
    assert rows.billable_sqft_rounded.isna().all()
    assert summary["repeated_ids"] == 11
    assert summary["errors"] >= 11
    assert sum(summary["by_category"].values()) == 3000 - summary["errors"]


def test_reassess_repeated_ids_keep_their_input_order(capsys, tmp_path, city):
    parcels = gpd.read_parquet(city / "parcels.parquet")
    far = [5, 2900, 1500]  # three lots in different chunks, one id
    parcels.loc[far, "parcel_id"] = [-1 - j for j in far]  # each lot's area, measured under its own id
    parcels.to_parquet(tmp_path / "single.parquet")
    parcels.loc[far, "parcel_id"] = -7
    parcels.to_parquet(tmp_path / "parcels.parquet")
    reassess_json(capsys, tmp_path / "single.parquet", city / "features.parquet", tmp_path / "single.csv",
                  "--chunk-size", "500")
    single = pd.read_csv(tmp_path / "single.csv").set_index("parcel_id")
    reassess_json(capsys, tmp_path / "parcels.parquet", city / "features.parquet", tmp_path / "out.csv",
                  "--chunk-size", "500")
    table = pd.read_csv(tmp_path / "out.csv")
    got = table[table.parcel_id == -7].billable_area_sqft.tolist()
    assert got == [single.billable_area_sqft[-1 - j] for j in sorted(far)]
    assert len(set(got)) == 3


def test_sba_measure_marks_repeated_ids_and_lots_without_a_shape(capsys, tmp_path):
    parcels = sample("parcels")
    parcels.loc[parcels.parcel_id == "R100066", "parcel_id"] = "R100065"
    parcels.loc[parcels.parcel_id == "R100067", "geometry"] = None
    parcels.to_file(tmp_path / "parcels.gpkg")
    lots = {lot["parcel_id"]: lot for lot in measure_json(capsys, tmp_path / "parcels.gpkg",
                                                          SAMPLE / "features.geojson")["lots"]}
    assert lots["R100065"]["error"].startswith("id R100065 is used by 2 lots")
    assert lots["R100065"]["category"] is None
    assert lots["R100065"]["billable_sqft_rounded"] is None
    assert "no shape" in lots["R100067"]["error"]
    assert lots["R100067"]["billable_area_sqft"] is None
    assert lots["R100068"]["error"] is None
    assert lots["R100068"]["category"] is not None


# --------------------------------------------------------------------------
# resume must verify, not trust


def _interrupted(capsys, monkeypatch, city, out, n_parts: int = 4) -> None:
    """A run that breaks after ``n_parts`` parts, as a crash would; its parts stay."""
    real = sba.bulk.run.write_part

    def write_part(table, folder, k):
        if len(list(folder.glob("chunk-*.arrow"))) >= n_parts:
            raise RuntimeError("the run broke here")
        return real(table, folder, k)

    with monkeypatch.context() as m:
        m.setattr(sba.bulk.run, "write_part", write_part)
        code, _, err = cli(capsys, *_reassess_args(city, out))
        assert code == 1
        assert "the run broke here" in err


def _reassess_args(city, out, *extra):
    return ["reassess", "--parcels", city / "parcels.parquet", "--features", city / "features.parquet",
            "--out", out, "--chunk-size", "300", "--class-field", "land_use", "--class-map", CLASS_MAP,
            "--no-progress", "--format", "json", *extra]


@pytest.fixture(scope="module")
def uninterrupted(city, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "full.parquet"
    assert main([str(a) for a in _reassess_args(city, out)]) == 0
    return pd.read_parquet(out)


def _tamper_and_resume(capsys, monkeypatch, city, tmp_path, tamper) -> tuple[dict, pd.DataFrame]:
    out = tmp_path / "out.parquet"
    _interrupted(capsys, monkeypatch, city, out)
    tamper(tmp_path / "out.parquet.parts")
    code, stdout, err = cli(capsys, *_reassess_args(city, out, "--resume"))
    assert code == 0, err
    return json.loads(stdout), pd.read_parquet(out)


def _rewrite(path: Path, change) -> None:
    import pyarrow as pa
    import pyarrow.feather as feather

    table = feather.read_table(path).to_pandas()
    feather.write_feather(pa.Table.from_pandas(change(table), preserve_index=False), path,
                          compression="uncompressed")


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda d: (d / "chunk-00001.arrow").write_bytes((d / "chunk-00000.arrow").read_bytes()),
                 id="a part swapped for another"),
    pytest.param(lambda d: _rewrite(d / "chunk-00001.arrow", lambda t: t.assign(billable_area_sqft=0.0)),
                 id="areas set to 0"),
    pytest.param(lambda d: (d / "chunk-00002.arrow").write_bytes((d / "chunk-00002.arrow").read_bytes()[:999]),
                 id="a part cut short"),
])
def test_resume_measures_a_part_that_is_not_what_was_recorded_again(capsys, monkeypatch, city, tmp_path,
                                                                     uninterrupted, tamper):
    summary, table = _tamper_and_resume(capsys, monkeypatch, city, tmp_path, tamper)
    pd.testing.assert_frame_equal(table, uninterrupted)
    assert summary["chunks_resumed"] == 3
    assert any("measured again" in note for note in summary["notes"])


def test_resume_with_a_garbage_manifest_starts_over(capsys, monkeypatch, city, tmp_path, uninterrupted):
    summary, table = _tamper_and_resume(capsys, monkeypatch, city, tmp_path,
                                        lambda d: (d / "manifest.json").write_text("{not json"))
    pd.testing.assert_frame_equal(table, uninterrupted)
    assert summary["chunks_resumed"] == 0
    assert any("could not be read" in note for note in summary["notes"])


def test_the_result_check_is_every_lot_once_not_a_count():
    from sba.bulk.options import ORDER
    from sba.bulk.run import _check_rows

    ids = np.array(["a", "b", "c", "d"], dtype=object)
    twice = pd.DataFrame({"parcel_id": ["a", "b", "b", "d"], ORDER: [0, 1, 1, 3], "n_features": [1, 1, 1, 1]})
    with pytest.raises(RuntimeError, match="each once"):
        _check_rows(twice, ids, features_touched=True, n_features=4, names={})
    wrong_id = pd.DataFrame({"parcel_id": ["a", "b", "x", "d"], ORDER: [0, 1, 2, 3], "n_features": [1, 1, 1, 1]})
    with pytest.raises(RuntimeError, match="each once"):
        _check_rows(wrong_id, ids, features_touched=True, n_features=4, names={})


# --------------------------------------------------------------------------
# outputs and the run


def test_out_that_is_a_folder_is_refused_at_once(capsys, tmp_path, city):
    folder = tmp_path / "results.parquet"
    folder.mkdir()
    line = refused(capsys, *_reassess_args(city, folder))
    assert "is a folder" in line
    assert not list(tmp_path.glob("*.parts"))


def test_out_in_a_folder_that_cannot_be_written_is_refused_at_once(capsys, city):
    line = refused(capsys, *_reassess_args(city, Path("/proc/sba-results.parquet")))
    assert "Cannot write in the folder '/proc'" in line


def disk_full_after(start: bytes):
    """A writer that writes ``start`` and then finds the disk full, as ENOSPC does half-way."""
    def write(table, where, *args, **kwargs):
        Path(where).write_bytes(start)
        raise OSError(28, "No space left on device")

    return write


def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(capsys, monkeypatch, tmp_path, city):
    import pyarrow.parquet as pq

    monkeypatch.setattr(pq, "write_table", disk_full_after(b"PAR1 half a file"))
    out = tmp_path / "out.parquet"
    line = refused(capsys, *_reassess_args(city, out))
    assert line.startswith("sba: error: The disk is full")
    assert "--resume" in line
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    manifest = tmp_path / "out.parquet.parts" / "manifest.json"
    assert json.loads(manifest.read_text())["parts"]  # the finished chunks are kept for --resume


def test_a_second_run_on_the_same_out_is_refused(capsys, tmp_path, city):
    out = tmp_path / "out.parquet"
    lock = tmp_path / "out.parquet.lock"
    lock.write_text(json.dumps({"host": os.uname().nodename, "pid": os.getpid()}))  # a live run
    line = refused(capsys, *_reassess_args(city, out))
    assert f"Another sba run (process {os.getpid()}" in line
    assert lock.exists()
    assert not out.exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(capsys, tmp_path, city):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    out = tmp_path / "out.parquet"
    (tmp_path / "out.parquet.lock").write_text(json.dumps({"host": os.uname().nodename,
                                                           "pid": int(dead.stdout)}))
    code, _, err = cli(capsys, *_reassess_args(city, out))
    assert code == 0, err
    assert out.exists()
    assert not (tmp_path / "out.parquet.lock").exists()


def test_measure_piped_into_head_ends_quietly():
    cmd = (f"{sys.executable} -m sba measure --parcels {SAMPLE / 'parcels.geojson'} "
           f"--features {SAMPLE / 'features.geojson'} | head -n 1")
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("parcel")
    assert done.stderr == ""


def test_a_corrupt_geopackage_is_one_line_without_library_warnings(tmp_path):
    good = tmp_path / "good.gpkg"
    sample("parcels").to_file(good)
    data = bytearray(good.read_bytes())
    data[68:72] = b"\x00\x00\x00\x00"  # the application_id GDAL checks
    data[1024:4096] = os.urandom(3072)
    (tmp_path / "parcels.gpkg").write_bytes(bytes(data))
    done = subprocess.run([*SBA, "measure", "--parcels", str(tmp_path / "parcels.gpkg"),
                           "--features", str(SAMPLE / "features.geojson")], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Warning" not in done.stderr
    assert "internal error" not in done.stderr


def test_output_columns_have_the_same_types_whatever_the_values(capsys, tmp_path, city):
    import pyarrow as pa
    import pyarrow.parquet as pq

    reassess_json(capsys, city / "parcels.parquet", city / "features.parquet", tmp_path / "out.parquet")
    schema = pq.read_schema(tmp_path / "out.parquet")
    assert pd.read_parquet(tmp_path / "out.parquet").error.isna().all()  # no row failed ...
    assert schema.field("error").type in (pa.string(), pa.large_string())  # ... still text
    assert schema.field("category").type in (pa.string(), pa.large_string())
    assert pa.types.is_decimal(schema.field("service_units").type)
    units = pd.read_parquet(tmp_path / "out.parquet").service_units
    assert units.iloc[0] == Decimal("1.00")  # pandas reads a Decimal, not text


def test_a_full_disk_while_saving_a_chunk_is_one_line_too(capsys, monkeypatch, tmp_path, city):
    import pyarrow.feather as feather

    monkeypatch.setattr(feather, "write_feather", disk_full_after(b"ARROW1 half"))
    out = tmp_path / "out.parquet"
    line = refused(capsys, *_reassess_args(city, out, "--workers", "2"))
    assert line.startswith("sba: error: The disk is full: chunk-")
    assert not out.exists()
    assert not list((tmp_path / "out.parquet.parts").glob(".*"))  # no half-written part
    assert json.loads((tmp_path / "out.parquet.parts" / "manifest.json").read_text())["parts"] == {}


# --------------------------------------------------------------------------
# a surfaces layer dissolved by type


def test_reassess_a_layer_dissolved_by_type_bills_what_its_surfaces_bill_however_chunked(capsys, tmp_path, city):
    """Eight multipolygons of up to thousands of parts over 3,000 lots (each met by every chunk) give the
    undissolved layer's billable areas, and the same table bit for bit in 1 chunk or 12."""
    features = gpd.read_parquet(city / "features.parquet")
    dissolved = features[["feature_type", "geometry"]].dissolve("feature_type").reset_index()
    assert len(dissolved) <= 10
    assert dissolved.geometry.count_coordinates().max() > 10_000
    dissolved.to_parquet(tmp_path / "dissolved.parquet")
    tables = {}
    for name, layer, chunk in (("whole", "features", 5000), ("one", "dissolved", 5000), ("twelve", "dissolved", 250)):
        path = city / "features.parquet" if layer == "features" else tmp_path / "dissolved.parquet"
        out = tmp_path / f"{name}.parquet"
        reassess_json(capsys, city / "parcels.parquet", path, out, "--water", city / "water.parquet",
                      "--class-field", "land_use", "--class-map", CLASS_MAP, "--chunk-size", chunk)
        tables[name] = pd.read_parquet(out).set_index("parcel_id")
    pd.testing.assert_frame_equal(tables["one"], tables["twelve"])
    whole, one = tables["whole"], tables["one"]
    assert (whole.billable_area_sqft - one.billable_area_sqft).abs().max() < 1e-6
    assert (whole.category == one.category).all()
    assert (whole.service_units == one.service_units).all()
    assert whole.billable_area_sqft.sum() > 1e6


@pytest.mark.parametrize("workers", ["1", "2"])
def test_reassess_a_dissolved_layer_is_split_once_not_in_every_chunk(capsys, tmp_path, city, monkeypatch, workers):
    """The run splits the dissolved multipolygons of more than SPLIT_COORDS vertices into their
    parts before it pairs them with lots, so that each chunk gets only the parts near its lots: no
    chunk splits such a surface again (each chunk of a 1M-parcel city used to split 3.46 million
    parts, and two workers grew past 5 GiB).  Smaller multiparts are split in the chunks, as before."""
    import shapely

    import gis.measure
    from gis.tiles import SPLIT_COORDS

    features = gpd.read_parquet(city / "features.parquet")
    dissolved = features[["feature_type", "geometry"]].dissolve("feature_type").reset_index()
    assert (dissolved.geometry.count_coordinates() > SPLIT_COORDS).sum() >= 2
    dissolved.to_parquet(tmp_path / "dissolved.parquet")
    log = tmp_path / "split-in-chunks.txt"
    real = gis.measure.split_parts

    def spy(geoms, lots=None):  # appends to a file: the chunks run in forked processes
        huge = (shapely.get_num_geometries(geoms) > 1) & (shapely.get_num_coordinates(geoms) > SPLIT_COORDS)
        if huge.any():
            with open(log, "a") as f:
                f.write(f"{int(huge.sum())}\n")
        return real(geoms, lots)

    monkeypatch.setattr(gis.measure, "split_parts", spy)
    summary = reassess_json(capsys, city / "parcels.parquet", tmp_path / "dissolved.parquet", tmp_path / "r.parquet",
                            "--water", city / "water.parquet", "--class-field", "land_use", "--class-map", CLASS_MAP,
                            "--chunk-size", 250, "--workers", workers)
    assert summary["chunks"] > 10
    assert not log.exists()
    assert pd.read_parquet(tmp_path / "r.parquet").n_features.sum() > 3000


def test_reassess_a_dissolved_layer_kept_as_wkb_gives_the_decoded_run_s_table(capsys, tmp_path, city, monkeypatch):
    """A layer big enough to be kept as WKB holds eight dissolved surfaces among its rows: their
    parts and tiles replace them in the WKB column in their places, and the table is the one the
    run that decodes everything gives, bit for bit."""
    pytest.importorskip("numba")
    from sba.bulk import wkb_layer

    features = gpd.read_parquet(city / "features.parquet")
    dissolved = features[["feature_type", "geometry"]].dissolve("feature_type").reset_index()
    mixed = pd.concat([features[["feature_type", "geometry"]].iloc[::2], dissolved], ignore_index=True)
    mixed = mixed.iloc[np.random.default_rng(3).permutation(len(mixed))]  # the dissolved rows among the others
    mixed.to_parquet(tmp_path / "mixed.parquet")
    tables = []
    for least in (10**9, 0):
        monkeypatch.setattr(wkb_layer, "WKB_MIN_FEATURES", least)
        out = tmp_path / f"r{least}.parquet"
        reassess_json(capsys, city / "parcels.parquet", tmp_path / "mixed.parquet", out, "--water",
                      city / "water.parquet", "--class-field", "land_use", "--class-map", CLASS_MAP,
                      "--chunk-size", 250, "--workers", "2")
        tables.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert tables[1].n_features.sum() > 3000


# --------------------------------------------------------------------------
# stacked copies: boxes meeting in far more pairs than a city's


@pytest.mark.parametrize("path", ["decoded", "wkb"])
def test_reassess_stacked_copies_are_refused_before_their_pairs_fill_memory(capsys, tmp_path, monkeypatch, path):
    """2,000 copies of one lot under 2,000 copies of one roof meet in 4,000,000 box pairs (30,000
    of each: 9e8 pairs, 14 GB, killed for memory).  The run bounds the pairs of each surface
    first, pairs in steps, and refuses once the pairs pass the cap (lowered here to keep the test
    small); nothing is written."""
    from sba.bulk import pairing, wkb_layer

    monkeypatch.setattr(pairing, "PAIR_CAP_EXTRA", 100_000)
    if path == "wkb":
        pytest.importorskip("numba")
        monkeypatch.setattr(wkb_layer, "WKB_MIN_FEATURES", 0)
    n = 2000
    lots = gpd.GeoDataFrame({"parcel_id": [f"L{i}" for i in range(n)]},
                            geometry=[shapely.box(7_650_000, 680_000, 7_650_100, 680_100)] * n, crs="EPSG:2913")
    roofs = gpd.GeoDataFrame({"feature_type": ["roof"] * n},
                             geometry=[shapely.box(7_650_010, 680_010, 7_650_040, 680_040)] * n, crs="EPSG:2913")
    lots.to_parquet(tmp_path / "parcels.parquet")
    roofs.to_parquet(tmp_path / "features.parquet")
    message = refused(capsys, "reassess", "--parcels", tmp_path / "parcels.parquet", "--features",
                      tmp_path / "features.parquet", "--out", tmp_path / "out.parquet", "--no-progress")
    assert "stacked copies" in message
    assert "features.parquet" in message
    assert "parcels.parquet" in message
    assert not (tmp_path / "out.parquet").exists()


# --------------------------------------------------------------------------
# one polygon over the whole city: an impervious mask vectorised from land cover


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("path", ["decoded", "wkb"])
@pytest.mark.parametrize("outline", ["valid", "crossed"])
def test_reassess_a_city_wide_polygon_is_cut_once_not_in_every_chunk(capsys, tmp_path, city, city_mask, crossed_mask,
                                                                      monkeypatch, workers, path, outline):
    """A polygon of more than SPLIT_COORDS vertices over the whole city (here 3,000 holes) is cut
    into its tiles once, before the run pairs surfaces with lots, so each chunk gets only the tiles
    near its lots; no chunk cuts it again (each chunk of a 100,000-lot city cut a 534,000-vertex
    mask anew: 94 s against 2 s).  A mask whose outline crosses itself (a bow-tie hole in the
    street, as vectorised rasters have) is repaired once too, and every lot under it is still
    flagged ``repaired`` (each chunk repaired it anew: 104 s).  Every lot bills its margin, in 1
    chunk or 12."""
    import gis.measure
    from gis.tiles import SPLIT_COORDS

    if path == "wkb":
        pytest.importorskip("numba")
        from sba.bulk import wkb_layer

        monkeypatch.setattr(wkb_layer, "WKB_MIN_FEATURES", 0)
    mask_path, margin, mask = city_mask
    if outline == "crossed":
        mask_path, mask = crossed_mask
        assert not mask.is_valid
    assert shapely.get_num_coordinates(mask) > SPLIT_COORDS
    log = tmp_path / "cut-in-chunks.txt"
    real = gis.measure.cut_large

    def spy(geoms, lots=None):  # appends to a file: the chunks run in forked processes
        huge = shapely.get_num_coordinates(geoms) > SPLIT_COORDS
        if huge.any():
            with open(log, "a") as f:
                f.write(f"{int(huge.sum())}\n")
        return real(geoms, lots)

    monkeypatch.setattr(gis.measure, "cut_large", spy)
    tables = []
    for chunk in (5000, 250):
        out = tmp_path / f"r{chunk}.parquet"
        summary = reassess_json(capsys, city / "parcels.parquet", mask_path, out, "--class-field", "land_use",
                                "--class-map", CLASS_MAP, "--chunk-size", chunk, "--workers", workers)
        tables.append(pd.read_parquet(out).set_index("parcel_id"))
    assert summary["chunks"] > 10
    assert not log.exists()
    pd.testing.assert_frame_equal(tables[0], tables[1])
    got = tables[1].billable_area_sqft
    assert (got - margin.reindex(got.index)).abs().max() < 1e-6
    assert (tables[1].n_features == 1).all()
    assert summary["repaired"] == (len(got) if outline == "crossed" else 0)
    assert tables[1].repaired.all() if outline == "crossed" else not tables[1].repaired.any()


def _with_nan_corner(features: gpd.GeoDataFrame, row: int) -> gpd.GeoDataFrame:
    """The layer with the second corner of row ``row``'s outline made NaN."""
    out = features.copy()
    ring = np.array(shapely.get_coordinates(out.geometry.iloc[row].exterior))
    ring[1, 0] = np.nan
    out.loc[out.index[row], out.geometry.name] = shapely.Polygon(ring)
    return out


def test_a1_4_repair__a_corner_that_is_not_a_number_is_refused_not_billed(capsys, tmp_path):
    features = _with_nan_corner(sample("features"), 3)
    features.to_parquet(tmp_path / "features.parquet")
    sample("parcels").to_parquet(tmp_path / "parcels.parquet")
    line = refused(capsys, "measure", "--parcels", tmp_path / "parcels.parquet", "--features",
                   tmp_path / "features.parquet")
    assert "corner that is not a number" in line
    assert "row 4:" in line


def _corner_made(geom, value: float, axis: int = 0):
    """The polygon with its second corner's x (``axis`` 0) or y set to ``value``."""
    ring = np.array(shapely.get_coordinates(geom.exterior))
    ring[1, axis] = value
    return shapely.Polygon(ring)


def _reassess_table(capsys, folder: Path, out: Path, *extra) -> tuple[dict, pd.DataFrame]:
    summary = reassess_json(capsys, folder / "parcels.parquet", folder / "features.parquet", out,
                            "--water", folder / "water.parquet", "--class-field", "land_use", "--class-map",
                            CLASS_MAP, "--chunk-size", "400", *extra)
    return summary, pd.read_parquet(out).set_index("parcel_id")


def _layers_with(folder: Path, city: Path, lots=None, features=None) -> Path:
    """The city's layers in ``folder``, with ``lots`` / ``features`` in place of its own where given."""
    folder.mkdir()
    for name, layer in (("parcels", lots), ("features", features), ("water", None)):
        (layer if layer is not None else gpd.read_parquet(city / f"{name}.parquet")).to_parquet(
            folder / f"{name}.parquet")
    return folder


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # shapely, on the NaN coordinates
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a1_4_repair__a_bulk_run_records_a_lot_with_a_corner_that_is_not_a_number_and_goes_on(
        capsys, tmp_path, city, value, workers):
    """The lot is an error row that bills nothing; every other lot is what it is when that lot has no
    shape at all (SPEC A1.4 repairs crossings, not corners that are not numbers)."""
    parcels = gpd.read_parquet(city / "parcels.parquet")
    bad = parcels.parcel_id.iloc[9]
    geoms = parcels.geometry.to_numpy().copy()
    geoms[9] = _corner_made(geoms[9], value, axis=1)
    broken = _layers_with(tmp_path / "broken", city, lots=parcels.set_geometry(geoms))
    geoms[9] = None
    shapeless = _layers_with(tmp_path / "shapeless", city, lots=parcels.set_geometry(geoms))
    summary, got = _reassess_table(capsys, broken, tmp_path / "broken.parquet", "--workers", workers)
    _, want = _reassess_table(capsys, shapeless, tmp_path / "shapeless.parquet", "--workers", workers)
    assert summary["parcels_out"] == len(parcels)
    assert summary["errors"] == 1
    row = got.loc[bad]
    assert "outline has a corner that is not a number" in row.error
    assert np.isnan(row.billable_area_sqft)
    assert pd.isna(row.category)
    assert pd.isna(row.billable_sqft_rounded)
    others = got.index != bad
    pd.testing.assert_frame_equal(got[others], want[others])


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a1_4_repair__a_bulk_run_records_the_lots_a_surface_with_a_corner_that_is_not_a_number_meets(
        capsys, tmp_path, city, value, workers):
    """Where such a surface lies cannot be known: each lot its box meets is an error row naming the
    surface's row, and bills nothing; the other lots are billed as if the surface were not there."""
    features = gpd.read_parquet(city / "features.parquet")
    parcels = gpd.read_parquet(city / "parcels.parquet")
    row = 40
    geoms = features.geometry.to_numpy().copy()
    geoms[row] = _corner_made(geoms[row], value)
    broken = _layers_with(tmp_path / "broken", city, features=features.set_geometry(geoms))
    (x0, y0, x1, y1), lots = shapely.bounds(geoms[row]), shapely.bounds(parcels.geometry.to_numpy())
    met = parcels.parcel_id[(lots[:, 0] <= x1) & (lots[:, 2] >= x0) & (lots[:, 1] <= y1) & (lots[:, 3] >= y0)]
    geoms[row] = None
    without = _layers_with(tmp_path / "without", city, features=features.set_geometry(geoms))
    summary, got = _reassess_table(capsys, broken, tmp_path / "broken.parquet", "--workers", workers)
    _, want = _reassess_table(capsys, without, tmp_path / "without.parquet", "--workers", workers)
    assert summary["parcels_out"] == len(parcels)
    assert 1 <= len(met) < (len(parcels) if np.isnan(value) else len(parcels) // 2)
    errored = got.index[got.error.notna()]
    assert sorted(errored) == sorted(met)
    assert got.loc[errored, "error"].str.contains(f"features row {row + 1}\\b").all()
    assert got.loc[errored, "billable_area_sqft"].isna().all()
    assert got.loc[errored, "category"].isna().all()
    # (a column with no value missing is read back as whole numbers, one with a gap as floats)
    pd.testing.assert_frame_equal(got.drop(errored), want.drop(errored), check_dtype=False)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_a1_4_repair__a_chunk_measured_without_its_pairs_finds_the_lots_a_bad_surface_meets():
    """:func:`sba.bulk.chunks.measure_chunk` called as a library, without the run's pairs: the
    lots met by a surface with a NaN corner are found from the shapes, and only they are errors."""
    from categorize.schedule import load_schedule
    from sba.bulk.chunks import measure_chunk
    from sba.bulk.options import ReassessOptions

    parcels, features = sample("parcels"), sample("features")
    bad = 3
    geoms = features.geometry.to_numpy().copy()
    geoms[bad] = _corner_made(geoms[bad], np.nan)
    table = measure_chunk(parcels, features.set_geometry(geoms), None, load_schedule(), ReassessOptions())
    lots = shapely.bounds(parcels.geometry.to_numpy())
    x0, y0, x1, y1 = shapely.bounds(geoms[bad])
    met = (lots[:, 0] <= x1) & (lots[:, 2] >= x0) & (lots[:, 1] <= y1) & (lots[:, 3] >= y0)
    assert met.sum() >= 1
    assert table.error.notna().to_numpy().tolist() == met.tolist()
    assert table.error[met].str.contains(f"features row {bad + 1},").all()
    geoms[bad] = None
    clean = measure_chunk(parcels, features.set_geometry(geoms), None, load_schedule(), ReassessOptions())
    assert clean.error.isna().all()
    # (in memory, a column with a gap holds floats and pandas' missing text)
    pd.testing.assert_frame_equal(table[~met].drop(columns="error"), clean[~met].drop(columns="error"),
                                  check_dtype=False)


def test_a1_4_repair__the_refusal_keeps_its_rows_through_pickling():
    """A dask worker's error reaches the client pickled: the layer and rows must come with it."""
    import pickle

    import gis

    err = pickle.loads(pickle.dumps(gis.NonFiniteCoordinateError("words", "features", [4, 7])))
    assert (str(err), err.role, err.rows) == ("words", "features", (4, 7))


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("kept_as_wkb", [False, True])
def test_a1_4_repair__a_very_large_surface_with_a_corner_that_is_not_a_number_is_not_cut_into_a_guess(
        capsys, tmp_path, city, monkeypatch, kept_as_wkb):
    """A surface of more coordinates than a run cuts once for the whole city (a dissolved layer's
    parking) was repaired before it was cut, and its guess billed; now it is set aside like any
    other: the lots its box meets are error rows, the others bill as without it."""
    from gis.tiles import SPLIT_COORDS
    from sba.bulk import wkb_layer

    if kept_as_wkb:
        pytest.importorskip("numba")
        monkeypatch.setattr(wkb_layer, "WKB_MIN_FEATURES", 0)
    features = gpd.read_parquet(city / "features.parquet")
    parcels = gpd.read_parquet(city / "parcels.parquet")
    centre = parcels.geometry.iloc[50].centroid
    ring = np.array(shapely.get_coordinates(centre.buffer(30, quad_segs=SPLIT_COORDS // 4 + 10).exterior))
    ring[7, 0] = np.nan
    big = shapely.Polygon(ring)
    assert shapely.get_num_coordinates(big) > SPLIT_COORDS
    row = len(features)
    extra = gpd.GeoDataFrame({"feature_id": [features.feature_id.max() + 1], "feature_type": ["parking"]},
                             geometry=[big], crs=features.crs)
    broken = _layers_with(tmp_path / "broken", city, features=pd.concat([features, extra], ignore_index=True))
    _, got = _reassess_table(capsys, broken, tmp_path / "broken.parquet", "--workers", "2")
    _, want = _reassess_table(capsys, city, tmp_path / "clean.parquet", "--workers", "2")
    (x0, y0, x1, y1), lots = shapely.bounds(big), shapely.bounds(parcels.geometry.to_numpy())
    met = parcels.parcel_id[(lots[:, 0] <= x1) & (lots[:, 2] >= x0) & (lots[:, 1] <= y1) & (lots[:, 3] >= y0)]
    errored = got.index[got.error.notna()]
    assert 1 <= len(met) < 20
    assert sorted(errored) == sorted(met)
    assert got.loc[errored, "error"].str.contains(f"features row {row + 1},").all()
    assert not got.repaired.any()
    pd.testing.assert_frame_equal(got.drop(errored), want.drop(errored), check_dtype=False)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a1_4_repair__a_bulk_run_records_the_lots_near_water_with_a_corner_that_is_not_a_number(
        capsys, tmp_path, city, workers):
    """A shore that cannot be known says nothing of what is over water (SPEC A1.1): the lots the
    pond's box meets are error rows naming its water row; the rest bill as without that pond."""
    water = gpd.read_parquet(city / "water.parquet")
    parcels = gpd.read_parquet(city / "parcels.parquet")
    row = 1
    assert water.water_type.iloc[row] == "pond"
    geoms = water.geometry.to_numpy().copy()
    geoms[row] = _corner_made(geoms[row], np.nan)
    broken = tmp_path / "broken"
    _layers_with(broken, city)
    water.set_geometry(geoms).to_parquet(broken / "water.parquet")
    (x0, y0, x1, y1), lots = shapely.bounds(geoms[row]), shapely.bounds(parcels.geometry.to_numpy())
    met = parcels.parcel_id[(lots[:, 0] <= x1) & (lots[:, 2] >= x0) & (lots[:, 1] <= y1) & (lots[:, 3] >= y0)]
    geoms[row] = None
    without = tmp_path / "without"
    _layers_with(without, city)
    water.set_geometry(geoms).to_parquet(without / "water.parquet")
    _, got = _reassess_table(capsys, broken, tmp_path / "broken.parquet", "--workers", workers)
    _, want = _reassess_table(capsys, without, tmp_path / "without.parquet", "--workers", workers)
    errored = got.index[got.error.notna()]
    assert 1 <= len(met) < 10
    assert sorted(errored) == sorted(met)
    assert got.loc[errored, "error"].str.contains(f"A water body on or near this parcel, water row {row + 1},").all()
    pd.testing.assert_frame_equal(got.drop(errored), want.drop(errored), check_dtype=False)


# --------------------------------------------------------------------------
# lots that overlap (stacked condominium units; the spec is silent: README, "Lots that overlap")


@pytest.mark.parametrize("chunk", ["2", "400"])
def test_lots_that_overlap__a_stacked_lot_is_billed_marked_and_noted_however_chunked(capsys, tmp_path, chunk):
    parcels = sample("parcels")
    twin = parcels.iloc[[5]].assign(parcel_id="TWIN")
    stacked = pd.concat([parcels, twin], ignore_index=True)
    stacked.to_parquet(tmp_path / "parcels.parquet")
    sample("features").to_parquet(tmp_path / "features.parquet")
    summary = reassess_json(capsys, tmp_path / "parcels.parquet", tmp_path / "features.parquet",
                            tmp_path / "out.parquet", "--chunk-size", chunk, "--workers", "2")
    got = pd.read_parquet(tmp_path / "out.parquet").set_index("parcel_id")
    original = parcels.parcel_id.iloc[5]
    assert sorted(got.index[got.overlaps_another_lot]) == sorted([original, "TWIN"])
    assert got.loc["TWIN", "billable_area_sqft"] == got.loc[original, "billable_area_sqft"] > 0
    assert any(n.startswith("2 parcels overlap another parcel under a surface") for n in summary["notes"])
    assert got.error.isna().all()


# --------------------------------------------------------------------------
# parcels rows that are points or lines


@pytest.mark.parametrize("command", ["measure", "reassess"])
def test_a_parcel_that_is_a_point_or_a_line_is_an_error_row_not_a_zero_bill(capsys, tmp_path, command):
    """It has no area to bill on: 0 sq ft ("small") would be a wrong bill; the other lots go on."""
    parcels = sample("parcels")
    geoms = parcels.geometry.to_numpy().copy()
    line, point = parcels.parcel_id.iloc[3], parcels.parcel_id.iloc[7]
    geoms[3] = geoms[3].exterior  # the lot's line, not its area
    geoms[7] = geoms[7].centroid
    parcels.set_geometry(geoms).to_parquet(tmp_path / "parcels.parquet")
    sample("features").to_parquet(tmp_path / "features.parquet")
    if command == "measure":
        lots = {x["parcel_id"]: x for x in measure_json(capsys, tmp_path / "parcels.parquet",
                                                          tmp_path / "features.parquet")["lots"]}
        bad = {p: x for p, x in lots.items() if x["error"]}
        assert set(bad) == {line, point}
        assert all(x["billable_area_sqft"] is None and x["category"] is None for x in bad.values())
        said = [x["error"] for x in bad.values()]
    else:
        summary = reassess_json(capsys, tmp_path / "parcels.parquet", tmp_path / "features.parquet",
                                tmp_path / "out.parquet", "--chunk-size", "7", "--workers", "2")
        got = pd.read_parquet(tmp_path / "out.parquet").set_index("parcel_id")
        assert summary["errors"] == 2
        assert sorted(got.index[got.error.notna()]) == sorted([line, point])
        assert got.loc[[line, point], "billable_area_sqft"].isna().all()
        assert got.loc[[line, point], "category"].isna().all()
        said = got.loc[[line, point], "error"].tolist()
    assert all("has no area" in s for s in said)


@pytest.mark.parametrize("command", ["measure", "reassess"])
def test_a_parcel_outline_with_no_area_is_an_error_row_but_a_bow_tie_is_repaired_and_billed(
        capsys, tmp_path, command):
    """Corners on one line leave nothing to bill on; a bow tie's shoelace area is 0 as drawn, but
    SPEC A1.4 repairs it into two triangles that are billed."""
    x0, y0 = 7_650_000.0, 680_000.0
    lots = gpd.GeoDataFrame(
        {"parcel_id": ["FLAT", "BOW", "OK"]},
        geometry=[shapely.Polygon([(x0, y0), (x0 + 50, y0 + 50), (x0 + 100, y0 + 100)]),
                  shapely.Polygon([(x0 + 200, y0), (x0 + 300, y0 + 100), (x0 + 300, y0), (x0 + 200, y0 + 100)]),
                  shapely.box(x0 + 400, y0, x0 + 500, y0 + 100)], crs="EPSG:2913")
    assert shapely.area(lots.geometry.iloc[1]) == 0
    roofs = gpd.GeoDataFrame({"feature_type": ["roof"] * 3}, crs="EPSG:2913", geometry=[
        shapely.box(x0 + 10, y0 + 20, x0 + 30, y0 + 40), shapely.box(x0 + 210, y0 + 40, x0 + 230, y0 + 60),
        shapely.box(x0 + 410, y0 + 10, x0 + 450, y0 + 50)])
    lots.to_parquet(tmp_path / "parcels.parquet")
    roofs.to_parquet(tmp_path / "features.parquet")
    if command == "measure":
        got = {x["parcel_id"]: (x["error"], x["billable_area_sqft"]) for x in measure_json(
            capsys, tmp_path / "parcels.parquet", tmp_path / "features.parquet")["lots"]}
    else:
        reassess_json(capsys, tmp_path / "parcels.parquet", tmp_path / "features.parquet", tmp_path / "out.parquet")
        table = pd.read_parquet(tmp_path / "out.parquet").set_index("parcel_id")
        got = {p: (None if pd.isna(r.error) else r.error, None if pd.isna(r.billable_area_sqft)
                   else f"{r.billable_area_sqft:.2f}") for p, r in table.iterrows()}
    assert "has no area" in got["FLAT"][0]
    assert got["FLAT"][1] is None
    # the roof (x 210-230, y 40-60) lies in the bow tie's left triangle, x <= 250 - |y - 50|
    assert got["BOW"] == (None, "400.00")
    assert got["OK"] == (None, "1600.00")


# --------------------------------------------------------------------------
# a result opened in a spreadsheet


def test_a_csv_result_does_not_run_a_parcel_id_as_a_formula_and_reads_back_as_written(capsys, tmp_path):
    """Ids and codes come from the utility's layers; a cell that starts with = + - @ is a formula
    in a spreadsheet (the staff exports guard the same way). --previous reads the guard back."""
    parcels = sample("parcels").iloc[:6].copy()
    parcels["parcel_id"] = ['=HYPERLINK("https://evil.example","x")', "+1", "-5", "@SUM(A1)", "R1", "R2"]
    parcels.to_parquet(tmp_path / "parcels.parquet")
    sample("features").to_parquet(tmp_path / "features.parquet")
    reassess_json(capsys, tmp_path / "parcels.parquet", tmp_path / "features.parquet", tmp_path / "out.csv")
    cells = [line.split(",")[0] for line in (tmp_path / "out.csv").read_text().splitlines()[1:]]
    assert not [c for c in cells if c.lstrip('"').startswith(("=", "+", "-", "@"))]
    assert sum(c.lstrip('"').startswith("'") for c in cells) == 4
    again = reassess_json(capsys, tmp_path / "parcels.parquet", tmp_path / "features.parquet",
                          tmp_path / "again.csv", "--previous", tmp_path / "out.csv")
    assert again["category_changes"] == 0
    changes = pd.read_csv(tmp_path / "again.changes.csv")
    assert changes.empty
