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
