"""Geometries kept for a request (and shown by ``sba requests show --format json``) follow RFC 7946 ring order."""

from __future__ import annotations

import io
import json
import sys

import pytest

import shapely
from shapely.geometry import shape

from sba.cli import main


@pytest.fixture
def sba(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "rings.sqlite")
    monkeypatch.delenv("SBA_RECORDS_DIR", raising=False)

    def run(*argv, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["requests", argv[0], "--db", db, *argv[1:]])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    return run


PASSWORD = "correct horse battery\n"


def exteriors_ccw(geometry: dict) -> list[bool]:
    geom = shape(geometry)
    return [p.exterior.is_ccw for p in (geom.geoms if geom.geom_type == "MultiPolygon" else [geom])]


def test_a_clockwise_geojson_submission_and_a_clockwise_staff_outline_are_kept_counter_clockwise(sba, tmp_path,
                                                                                                  records):
    sba("add-staff", "--username", "alice", "--password-stdin", stdin=PASSWORD)
    feats = records.record_features("R100065")[["feature_id", "feature_type", "geometry"]].to_crs(4326)
    feats["geometry"] = shapely.orient_polygons(feats.geometry.to_numpy(), exterior_cw=True)
    gj = tmp_path / "features.geojson"
    gj.write_text(feats.to_json())
    sba("import", str(gj), "--staff", "alice", "--requester", "Emery Larch", "--parcel-id", "R100065",
        "--account", "2861662471", "--current-category", "large", "--method", "Traced on the photo.", "--confirmed",
        "--password-stdin", stdin=PASSWORD)
    outline = shapely.orient_polygons(feats.geometry.iloc[0].buffer(-1e-6), exterior_cw=True)
    (tmp_path / "outline.json").write_text(json.dumps(shapely.geometry.mapping(outline)))
    sba("adjust", "1", "--feature", "1", "--geometry", str(tmp_path / "outline.json"), "--reason", "traced again",
        "--staff", "alice", "--password-stdin", stdin=PASSWORD)
    shown = json.loads(sba("show", "1", "--format", "json", "--staff", "alice", "--password-stdin", stdin=PASSWORD))
    geometries = [f[k] for f in shown["features"] for k in ("geometry", "original_geometry") if f[k]]
    assert len(geometries) == 2 * len(feats)
    assert all(all(exteriors_ccw(g)) for g in geometries)
