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
