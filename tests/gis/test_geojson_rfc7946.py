"""Every GeoJSON the project writes follows RFC 7946: exterior rings counter-clockwise, holes clockwise."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

import geopandas as gpd
import shapely
from shapely.geometry import shape

import categorize
from gis.geojson import rfc7946, rfc7946_frame
from gis.shapes import new_shape, shapes_from_layer
from sba import evidence as ev
from tests.conftest import SAMPLE


def rings(geometry: dict):
    """(exterior, holes) of every polygon of a GeoJSON geometry."""
    geom = shape(geometry)
    polys = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    return [(p.exterior, list(p.interiors)) for p in polys]


def assert_rfc7946(collection: dict) -> int:
    """Check every polygon's ring order; returns the number of polygons checked."""
    n = 0
    for feat in collection["features"]:
        if feat["geometry"] is None:
            continue
        for exterior, holes in rings(feat["geometry"]):
            assert exterior.is_ccw, feat.get("properties")
            assert all(not h.is_ccw for h in holes), feat.get("properties")
            n += 1
    return n


def clockwise_rectangle(lot_ll: gpd.GeoDataFrame, shrink: float) -> dict:
    """A rectangle inside the lot in Leaflet.draw's rectangle order: SW, NW, NE, SE (clockwise)."""
    w, s, e, n = lot_ll.total_bounds
    dx, dy = (e - w) * shrink, (n - s) * shrink
    w, s, e, n = w + dx, s + dy, e - dx, n - dy
    return {"type": "Polygon", "coordinates": [[[w, s], [w, n], [e, n], [e, s], [w, s]]]}


def clockwise_with_counter_clockwise_hole(lot_ll: gpd.GeoDataFrame) -> dict:
    outer = clockwise_rectangle(lot_ll, 0.3)["coordinates"][0]
    hole = clockwise_rectangle(lot_ll, 0.4)["coordinates"][0][::-1]
    return {"type": "Polygon", "coordinates": [outer, hole]}


def test_an_evidence_package_from_clockwise_shapes_has_counter_clockwise_exteriors_and_clockwise_holes():
    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    lot = parcels[parcels.parcel_id == "R100065"]
    record = gpd.read_file(SAMPLE / "features.geojson")
    shapes = shapes_from_layer(record, lot, id_prefix="r", source="record")  # set_precision outputs
    lot_ll = lot.to_crs(4326)
    shapes += [new_shape("d1", clockwise_rectangle(lot_ll, 0.45), "patio"),
               new_shape("d2", clockwise_with_counter_clockwise_hole(lot_ll), "walkway")]
    assert sum(not shape(s["geometry"]).exterior.is_ccw for s in shapes) >= 2  # the input really is clockwise
    schedule = categorize.load_schedule(categorize.DEFAULT_SCHEDULE)
    water = gpd.read_file(SAMPLE / "water.geojson")
    m = ev.measure_shapes(lot, shapes, water, schedule)
    req = ev.ChangeRequest("R100065", "2861662471", "611 SE Sellwood Blvd", current_category="large")
    with zipfile.ZipFile(io.BytesIO(ev.build_package(m, req, shapes=shapes, lot=lot, water=water))) as zf:
        features = json.loads(zf.read("features.geojson"))
        lot_json = json.loads(zf.read("lot.geojson"))
    assert assert_rfc7946(features) == len(shapes)
    assert assert_rfc7946(lot_json) == 1
    with_hole = next(f for f in features["features"] if f["properties"]["feature_id"] == "d2")
    assert len(with_hole["geometry"]["coordinates"]) == 2
    # the rings are reordered, never moved: the same shape, the same area
    for s in shapes:
        out = next(f for f in features["features"] if f["properties"]["feature_id"] == s["id"])
        assert shape(out["geometry"]).equals(shape(s["geometry"]))


def test_rfc7946_reorients_multipolygons_and_frames_and_leaves_other_geometries_alone():
    cw = [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]
    multi = rfc7946({"type": "MultiPolygon", "coordinates": [[cw], [[[p[0] + 5, p[1]] for p in cw]]]})
    assert all(ext.is_ccw for ext, _ in rings(multi))
    line = {"type": "LineString", "coordinates": [[1.0, 0.0], [0.0, 0.0]]}
    assert rfc7946(line) == {"type": "LineString", "coordinates": ((1.0, 0.0), (0.0, 0.0))}
    assert rfc7946(None) is None
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Polygon(cw)], crs=4326).rename_geometry("geom")
    out = json.loads(rfc7946_frame(frame).to_json(drop_id=True))
    assert assert_rfc7946(out) == 1
    assert out["features"][0]["properties"] == {"a": 1}


@pytest.mark.parametrize("exterior_cw", [True, False])
def test_rfc7946_keeps_the_coordinates(exterior_cw):
    poly = shapely.orient_polygons(shapely.Polygon([(0, 0), (3, 0), (3, 3), (0, 3)], [[(1, 1), (2, 1), (2, 2)]]),
                                   exterior_cw=exterior_cw)
    out = shape(rfc7946(poly))
    assert out.equals(poly)
    assert out.exterior.is_ccw
    assert not out.interiors[0].is_ccw
