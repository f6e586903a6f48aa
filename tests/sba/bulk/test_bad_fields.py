"""Field options of ``sba reassess`` that name the shapes, or a tolerance below zero: one line, exit 2."""

from __future__ import annotations

import pytest

from sba.cli import main
from tests.conftest import SAMPLE


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--id-field", "geometry"], "'geometry' is the parcels layer's shapes, not a column of values"),
        (["--class-field", "geometry"], "'geometry' is the parcels layer's shapes, not a column of values"),
        (["--dwelling-units-field", "geometry"], "'geometry' is the parcels layer's shapes, not a column of values"),
        (["--type-field", "geometry"], "'geometry' is the features layer's shapes, not a column of values"),
        (["--raster-tolerance", "-1"], "--raster-tolerance must be 0 or more"),
    ],
)
def test_bad_fields__a_field_that_is_the_shapes_or_a_negative_tolerance_is_one_line(tmp_path, capsys, extra, message):
    code = main(["reassess", "--parcels", str(SAMPLE / "parcels.geojson"), "--features",
                 str(SAMPLE / "features.geojson"), "--out", str(tmp_path / "out.parquet"), "--no-progress", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize(("option", "role"), [("--id-field", "parcels"), ("--type-field", "features")])
def test_bad_fields__sba_measure_refuses_a_field_that_is_the_shapes(capsys, option, role):
    code = main(["measure", "--parcels", str(SAMPLE / "parcels.geojson"), "--features",
                 str(SAMPLE / "features.geojson"), option, "geometry"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"'geometry' is the {role} layer's shapes, not a column of values" in err


@pytest.mark.parametrize(
    ("class_map", "with_field", "message"),
    [
        ("residential=castle", True, "--class-map: 'castle' is not a property class"),
        ("residential=single_family=x", True, "--class-map: 'single_family=x' is not a property class"),
        ("residential=single_family,residential=multifamily", True,
         "--class-map maps 'residential' twice (single_family, multifamily)"),
        ("residential=single_family", False, "--class-map needs --class-field"),
    ],
)
def test_bad_fields__a_class_map_that_cannot_be_meant_is_refused_before_the_run(tmp_path, capsys, class_map,
                                                                               with_field, message):
    field = ["--class-field", "property_class"] if with_field else []
    code = main(["reassess", "--parcels", str(SAMPLE / "parcels.geojson"), "--features",
                 str(SAMPLE / "features.geojson"), "--out", str(tmp_path / "out.parquet"), "--no-progress",
                 *field, "--class-map", class_map])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_bad_fields__a_class_map_may_name_classes_as_people_write_them(tmp_path, capsys):
    code = main(["reassess", "--parcels", str(SAMPLE / "parcels.geojson"), "--features",
                 str(SAMPLE / "features.geojson"), "--out", str(tmp_path / "out.parquet"), "--no-progress",
                 "--class-field", "property_class", "--class-map", "single_family=Single-Family"])
    assert code == 0, capsys.readouterr().err


def coded_parcels(tmp_path, codes: dict[str, str]):
    """The sample parcels with their property classes written as a county's codes."""
    import geopandas as gpd

    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    parcels["property_class"] = parcels["property_class"].map(lambda c: codes.get(c, c))
    path = tmp_path / "coded.gpkg"
    parcels.to_file(path)
    return path


def test_bad_fields__class_codes_none_of_which_is_a_class_are_refused_before_the_run(tmp_path, capsys, monkeypatch):
    """A county's land-use codes passed as classes without --class-map: every lot would be an
    error row (a whole city measured for nothing); refused at once, naming the codes."""
    import sba.bulk.chunks

    def no_measuring(*args, **kwargs):
        raise AssertionError("measured before the classes were checked")

    monkeypatch.setattr(sba.bulk.chunks, "measure_chunk", no_measuring)
    parcels = coded_parcels(tmp_path, {"single_family": "R1", "multifamily": "R3", "mixed_use": "MU",
                                       "non_residential": "C2"})
    code = main(["reassess", "--parcels", str(parcels), "--features", str(SAMPLE / "features.geojson"),
                 "--out", str(tmp_path / "out.parquet"), "--no-progress", "--class-field", "property_class"])
    err = capsys.readouterr().err
    assert code == 2
    assert "None of the 80 lots has a property class in 'property_class'" in err
    assert "'C2' (20 lots), 'MU' (20 lots), 'R1' (20 lots), 'R3' (20 lots)" in err
    assert "--class-map C2=" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.parquet").exists()


def test_bad_fields__a_class_code_that_is_no_class_makes_error_rows_and_a_note(tmp_path, capsys):
    import json

    import pandas as pd

    parcels = coded_parcels(tmp_path, {"multifamily": "<b>APT</b>"})
    code = main(["reassess", "--parcels", str(parcels), "--features", str(SAMPLE / "features.geojson"),
                 "--out", str(tmp_path / "out.parquet"), "--no-progress", "--class-field", "property_class",
                 "--format", "json"])
    assert code == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert "20 lots have a class code that is no property class: '<b>APT</b>' (20 lots)." in " ".join(notes)
    table = pd.read_parquet(tmp_path / "out.parquet")
    assert table.error.str.startswith("Unknown property class '<b>APT</b>'").sum() == 20
    assert table.category.notna().sum() == 20  # the single-family lots are still categorised


def test_bad_fields__sba_measure_refuses_class_codes_before_measuring(tmp_path, capsys, monkeypatch):
    import gis

    def no_measuring(*args, **kwargs):
        raise AssertionError("measured before the classes were checked")

    monkeypatch.setattr(gis, "measure_lots", no_measuring)
    parcels = coded_parcels(tmp_path, {"single_family": "R1"})
    code = main(["measure", "--parcels", str(parcels), "--features", str(SAMPLE / "features.geojson")])
    err = capsys.readouterr().err
    assert code == 2
    assert "'property_class' holds codes that are no property class: 'R1' (20 lots)" in err


def test_bad_fields__class_codes_are_read_without_the_spaces_around_them(tmp_path, capsys):
    """Fixed-width exports pad their codes: ' R1' and 'R1 ' are code R1 of --class-map."""
    import pandas as pd

    codes = {"single_family": "R1", "multifamily": "R3", "mixed_use": "MU", "non_residential": "C2"}
    class_map = "R1=single_family,R3=multifamily,MU=mixed_use,C2=non_residential"
    tables = []
    for name, pad in (("plain", lambda c: c), ("padded", lambda c: f" {c}  ")):
        (tmp_path / name).mkdir()
        parcels = coded_parcels(tmp_path / name, {k: pad(v) for k, v in codes.items()})
        out = tmp_path / name / "out.parquet"
        code = main(["reassess", "--parcels", str(parcels), "--features", str(SAMPLE / "features.geojson"),
                     "--out", str(out), "--no-progress", "--class-field", "property_class",
                     "--dwelling-units-field", "dwelling_units", "--class-map", class_map])
        assert code == 0, capsys.readouterr().err
        tables.append(pd.read_parquet(out))
    plain, padded = tables
    assert plain.error.isna().all()
    pd.testing.assert_frame_equal(padded, plain)


def _classless(tmp_path, values: list) -> object:
    """The sample parcels with the first lots' classes replaced by ``values`` (no class written three ways)."""
    import geopandas as gpd

    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    parcels["property_class"] = parcels["property_class"].astype(object)
    houses = parcels.index[parcels.property_class == "single_family"][:len(values)]
    for i, value in zip(houses, values, strict=True):
        parcels.loc[i, "property_class"] = value
    path = tmp_path / "classless.gpkg"
    parcels.to_file(path)
    return path, parcels.loc[houses, "parcel_id"].tolist()


def test_bad_fields__a_lot_without_a_class_is_an_error_row_in_measure_as_in_reassess(tmp_path, capsys):
    """A lot whose class cell is empty is not billed as a house by one command and refused by the
    other: both measure it and give it an error instead of a category."""
    import json

    import pandas as pd

    parcels, ids = _classless(tmp_path, [None, "", "   "])
    code = main(["measure", "--parcels", str(parcels), "--features", str(SAMPLE / "features.geojson"),
                 "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lots = {lot["parcel_id"]: lot for lot in json.loads(out)["lots"]}
    for pid in ids:
        assert lots[pid]["error"] == "The parcel has no property class; fill the class column."
        assert lots[pid]["property_class"] is None
        assert lots[pid]["category"] is None
        assert lots[pid]["billable_sqft_rounded"] is None
        assert float(lots[pid]["billable_area_sqft"]) > 0  # still measured
    others = [lot for pid, lot in lots.items() if pid not in ids]
    assert len(others) == 77
    assert not any(lot["error"] for lot in others)

    code = main(["reassess", "--parcels", str(parcels), "--features", str(SAMPLE / "features.geojson"),
                 "--out", str(tmp_path / "out.parquet"), "--no-progress", "--class-field", "property_class",
                 "--dwelling-units-field", "dwelling_units"])
    assert code == 0, capsys.readouterr().err
    table = pd.read_parquet(tmp_path / "out.parquet").set_index("parcel_id")
    assert (table.loc[ids, "error"] == "The parcel has no property class; fill the class column or pass "
                                       "--class-map.").all()
    assert table.loc[ids, "category"].isna().all()
    assert table.error.notna().sum() == 3


def test_bad_fields__the_class_map_example_is_one_shell_argument(tmp_path, capsys):
    parcels = coded_parcels(tmp_path, {"single_family": "Single Fam Res", "multifamily": "Apts, 3+",
                                       "mixed_use": "Single Fam Res", "non_residential": "Single Fam Res"})
    code = main(["reassess", "--parcels", str(parcels), "--features", str(SAMPLE / "features.geojson"),
                 "--out", str(tmp_path / "out.parquet"), "--no-progress", "--class-field", "property_class"])
    err = capsys.readouterr().err
    assert code == 2
    assert "e.g. --class-map 'Single Fam Res=CLASS'." in err  # 'Apts, 3+' cannot be written in --class-map


@pytest.mark.parametrize("suffix", [".parquet", ".gpkg"])
def test_bad_fields__dwelling_units_no_lot_could_hold_make_error_rows(tmp_path, capsys, suffix):
    """1e300 is a whole number to a float test; it was an internal error after measuring."""
    import pandas as pd

    import geopandas as gpd

    lots = gpd.read_file(SAMPLE / "parcels.geojson").iloc[:5]
    lots = lots.assign(parcel_id=list("ABCDE"), property_class="multifamily",
                       dwelling_units=[1e300, 5e20, 100_001.0, 100_000.0, 12.0])
    parcels = tmp_path / f"lots{suffix}"
    lots.to_parquet(parcels) if suffix == ".parquet" else lots.to_file(parcels)
    out = tmp_path / "out.parquet"
    code = main(["reassess", "--parcels", str(parcels), "--features", str(SAMPLE / "features.geojson"),
                 "--out", str(out), "--no-progress", "--class-field", "property_class",
                 "--dwelling-units-field", "dwelling_units"])
    assert code == 0, capsys.readouterr().err
    table = pd.read_parquet(out).set_index("parcel_id")
    too_many = "The dwelling-units value is missing, not a whole number, or more than 100,000."
    assert table.loc[["A", "B", "C"], "error"].tolist() == [too_many] * 3
    assert table.loc[["A", "B", "C"], ["dwelling_units", "service_units"]].isna().all().all()
    assert table.loc[["D", "E"], "dwelling_units"].tolist() == [100_000, 12]
    assert [str(v) for v in table.loc[["D", "E"], "service_units"]] == ["65000.00", "7.80"]


def test_bad_fields__a_run_where_every_row_is_an_error_says_so_in_its_categories(tmp_path, capsys):
    import geopandas as gpd

    lots = gpd.read_file(SAMPLE / "parcels.geojson").iloc[:3].assign(parcel_id="1")  # one id for three lots
    lots.to_file(tmp_path / "lots.gpkg")
    code = main(["reassess", "--parcels", str(tmp_path / "lots.gpkg"), "--features", str(SAMPLE / "features.geojson"),
                 "--out", str(tmp_path / "out.csv"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Categories: none: every row has an error\n" in out
    assert "Rows with errors: 3 (of which 3 share their id with another row)" in out


@pytest.mark.parametrize(("options", "message"), [
    (["--features", str(SAMPLE / "parcels.geojson")],
     "The features file and the parcels file are the same ('parcels.geojson')"),
    (["--features", str(SAMPLE / "features.geojson"), "--water", str(SAMPLE / "parcels.geojson")],
     "The water file and the parcels file are the same ('parcels.geojson')"),
    (["--features", str(SAMPLE / "features.geojson"), "--water", str(SAMPLE / "features.geojson")],
     "The water file and the features file are the same ('features.geojson')"),
])
@pytest.mark.parametrize("command", ["measure", "reassess"])
def test_bad_fields__one_file_given_for_two_layers_is_refused(tmp_path, capsys, options, message, command):
    """The parcels given as features bill every lot paved wall to wall ('large' for all, exit 0);
    given as water, every lot is over water: refused before anything is read."""
    out = ["--out", str(tmp_path / "out.csv"), "--no-progress"] if command == "reassess" else []
    code = main([command, "--parcels", str(SAMPLE / "parcels.geojson"), *options, *out])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.csv").exists()


def test_bad_fields__one_geopackage_with_a_layer_per_role_is_not_refused(tmp_path, capsys):
    import geopandas as gpd

    city = tmp_path / "city.gpkg"
    gpd.read_file(SAMPLE / "parcels.geojson").to_file(city, layer="lots")
    gpd.read_file(SAMPLE / "features.geojson").to_file(city, layer="surfaces")
    code = main(["reassess", "--parcels", str(city), "--parcels-layer", "lots", "--features", str(city),
                 "--features-layer", "surfaces", "--out", str(tmp_path / "out.csv"), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    code = main(["reassess", "--parcels", str(city), "--parcels-layer", "lots", "--features", str(city),
                 "--features-layer", "lots", "--out", str(tmp_path / "out.csv"), "--no-progress"])
    assert code == 2
    assert "The features file and the parcels file are the same ('city.gpkg', layer 'lots')" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "message"), [
    (["--id-field", "TLID"], "The parcels layer has no column called 'TLID'; its columns are: parcel_id, "
                             "property_class, dwelling_units, address"),
    (["--type-field", "SURF"], "The features layer has no column called 'SURF'; its columns are: feature_id, "
                               "parcel_id, feature_type"),
])
def test_bad_fields__a_missing_column_of_a_geoparquet_layer_is_refused_naming_the_files_columns(tmp_path, capsys,
                                                                                             option, message):
    """The run reads only the columns it uses from GeoParquet; the refusal lists the file's columns,
    not those read ('its columns are: (none)')."""
    import geopandas as gpd

    for name in ("parcels", "features"):
        gpd.read_file(SAMPLE / f"{name}.geojson").to_parquet(tmp_path / f"{name}.parquet")
    code = main(["reassess", "--parcels", str(tmp_path / "parcels.parquet"), "--features",
                 str(tmp_path / "features.parquet"), "--out", str(tmp_path / "out.csv"), "--no-progress", *option])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
