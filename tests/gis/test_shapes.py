"""gis.shapes: shapes in and out of the drawing tool, lot picking, feature type names."""

from __future__ import annotations

import itertools
import json

import pytest

import geopandas as gpd
import shapely

from gis import shapes as sh
from tests.conftest import SAMPLE, box, layer

SQUARE = {"type": "Polygon", "coordinates": [[[-122.6, 45.5], [-122.5999, 45.5], [-122.5999, 45.5001],
                                              [-122.6, 45.5001], [-122.6, 45.5]]]}


def feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def ids():
    counter = itertools.count(1)
    return lambda: f"n{next(counter)}"


@pytest.fixture
def sample():
    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    record = gpd.read_file(SAMPLE / "features.geojson")
    return parcels, record


def test_reconcile__none_means_no_news():
    shapes = [sh.new_shape("s1", SQUARE, "roof")]
    assert sh.reconcile_drawings(shapes, None, new_id=ids()) == (shapes, False)


def test_reconcile__echo_within_leaflet_rounding_keeps_our_precise_copy():
    precise = json.loads(json.dumps(SQUARE).replace("45.5001", "45.50010004"))
    shapes = [sh.new_shape("s1", precise, "roof")]
    echo = feature(SQUARE, sba_id="s1", feature_type="roof")
    new, changed = sh.reconcile_drawings(shapes, [echo], new_id=ids())
    assert not changed
    assert new[0]["geometry"] == precise


def test_reconcile__edit_new_and_delete():
    shapes = [sh.new_shape("s1", SQUARE, "roof", source="record"), sh.new_shape("s2", SQUARE, "patio")]
    moved = json.loads(json.dumps(SQUARE).replace("45.5001", "45.5003"))
    drawings = [feature(moved, sba_id="s1"), feature(SQUARE), feature({"type": "Point", "coordinates": [0, 0]})]
    new, changed = sh.reconcile_drawings(shapes, drawings, new_id=ids(), default_type="driveway")
    assert changed
    assert [s["id"] for s in new] == ["s1", "n1"]  # s2 deleted (no ghost), the point ignored
    assert new[0]["geometry"] == moved
    assert new[0]["source"] == "record (edited)"
    assert new[1]["feature_type"] == "driveway"
    assert new[1]["source"] == "drawn"


def test_reconcile__delete_all():
    shapes = [sh.new_shape("s1", SQUARE, "roof")]
    assert sh.reconcile_drawings(shapes, [], new_id=ids()) == ([], True)


def test_shapes_from_layer__keeps_the_lot_features_as_lonlat_shapes(sample):
    parcels, record = sample
    lot = parcels[parcels.parcel_id == "R100065"]
    shapes = sh.shapes_from_layer(record, lot, id_prefix="r", source="record")
    assert [s["feature_type"] for s in shapes] == ["roof", "garage", "driveway", "walkway", "patio", "shed"]
    assert shapes[0]["id"] == "r1"
    assert shapes[0]["source"] == "record"
    x, y = shapes[0]["geometry"]["coordinates"][0][0]
    assert -123 < x < -122
    assert 45 < y < 46


def test_shapes_from_layer__splits_multipolygons_and_aliases_types():
    lot = layer([(box(0, 0, 100, 100), "L1")], "parcel_id")
    multi = shapely.MultiPolygon([box(1, 1, 10, 10), box(20, 20, 30, 30)])
    feats = layer([(multi, "Drive-Pav"), (box(500, 500, 510, 510), "roof")], "feature_type")
    shapes = sh.shapes_from_layer(feats, lot, id_prefix="u", source="upload")
    assert [s["feature_type"] for s in shapes] == ["driveway", "driveway"]
    assert [s["id"] for s in shapes] == ["u1", "u2"]


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # shapely, on the NaN coordinate
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a1_4_repair__a_loaded_outline_with_a_corner_that_is_not_a_number_is_refused_not_guessed(value):
    """Repairing it would drop the corner and put a guessed shape on the bill (a 40 x 40 ft roof as
    a triangle); the homeowner is told which row, whatever else the file holds."""
    import gis

    lot = layer([(box(0, 0, 100, 100), "L1")], "parcel_id")
    nan_roof = shapely.Polygon([(10, 10), (50, 10), (50, value), (10, 50)])
    feats = layer([(box(1, 1, 5, 5), "patio"), (nan_roof, "roof"), (box(500, 500, 510, 510), "roof")],
                  "feature_type")
    with pytest.raises(gis.NonFiniteCoordinateError, match=r"features .*not a number.*row 2:"):
        sh.shapes_from_layer(feats, lot, id_prefix="u", source="upload")


def test_a1_4_repair__an_outline_with_a_corner_that_is_not_a_number_far_from_the_lot_is_left_out():
    """Such an outline in a file of a whole street, nowhere near the lot, does not stop its owner."""
    lot = layer([(box(0, 0, 100, 100), "L1")], "parcel_id")
    far = shapely.Polygon([(500, 500), (510, 500), (510, float("nan")), (500, 510)])
    feats = layer([(box(1, 1, 5, 5), "patio"), (far, "roof")], "feature_type")
    shapes = sh.shapes_from_layer(feats, lot, id_prefix="u", source="upload")
    assert [s["feature_type"] for s in shapes] == ["patio"]


def test_shapes_frame__round_trips_to_the_engine():
    frame = sh.shapes_frame([sh.new_shape("s1", SQUARE, "roof")])
    assert frame.crs.to_epsg() == 4326
    assert list(frame.feature_id) == ["s1"]
    assert list(frame.feature_type) == ["roof"]
    assert sh.shapes_frame([]).empty


def test_parcel_at__finds_the_clicked_lot(sample):
    parcels, _ = sample
    centre = parcels[parcels.parcel_id == "R100065"].to_crs(4326).geometry.iloc[0].centroid
    assert sh.parcel_at(parcels, centre.x, centre.y) == "R100065"
    assert sh.parcel_at(parcels, -100.0, 40.0) is None


def test_type_label__plain_words():
    assert sh.type_label("floating_home") == "Floating home"
    assert sh.type_label("solar_farm") == "Solar farm"


def _leaflet_echo(geojson: dict) -> list[dict]:
    """What Leaflet's ``toGeoJSON()`` sends back: each coordinate rounded to 6 decimals."""
    def rounded(coords):
        if isinstance(coords[0], (int, float)):
            return [round(coords[0], 6), round(coords[1], 6)]
        return [rounded(c) for c in coords]
    return [{"type": "Feature", "properties": {"sba_id": f["properties"]["sba_id"]},
             "geometry": {"type": f["geometry"]["type"], "coordinates": rounded(f["geometry"]["coordinates"])}}
            for f in geojson["features"]]


def _areas_sqft(shapes, crs) -> dict[str, float]:
    frame = sh.shapes_frame(shapes).to_crs(crs)
    return dict(zip(frame["feature_id"], frame.geometry.area, strict=True))


def test_reconcile__every_record_shape_of_every_sample_lot_round_trips_through_the_map_with_its_area(sample):
    parcels, record = sample
    drifted = []
    for pid in parcels["parcel_id"]:
        lot = parcels[parcels["parcel_id"] == pid]
        shapes = sh.shapes_from_layer(record, lot, id_prefix="r", source="record")
        echo = _leaflet_echo(sh.shapes_geojson(shapes))
        back, changed = sh.reconcile_drawings(shapes, echo, new_id=ids())
        before, after = _areas_sqft(shapes, parcels.crs), _areas_sqft(back, parcels.crs)
        drifted += [(pid, sid, before[sid], after.get(sid)) for sid in before
                    if after.get(sid) is None or abs(after[sid] - before[sid]) > 0.01]
        if changed:
            drifted.append((pid, "changed", None, None))
    assert drifted == []


def test_reconcile__a_corner_moved_by_more_than_leaflet_rounding_is_an_edit():
    shapes = [sh.new_shape("s1", SQUARE, "roof")]
    moved = json.loads(json.dumps(SQUARE).replace("45.5001", "45.500101"))
    new, changed = sh.reconcile_drawings(shapes, [feature(moved, sba_id="s1")], new_id=ids())
    assert changed
    assert new[0]["geometry"] == moved


def test_without_duplicates__the_same_outline_from_another_corner_is_a_duplicate_an_edited_one_is_not():
    ring = SQUARE["coordinates"][0]
    rotated = {"type": "Polygon", "coordinates": [ring[1:-1] + ring[:2]]}  # starts at the second corner
    moved = json.loads(json.dumps(SQUARE).replace("45.5001", "45.5002"))
    have = [sh.new_shape("s1", SQUARE, "roof")]
    loaded = [sh.new_shape("r1", rotated, "roof"), sh.new_shape("r2", moved, "roof"),
              sh.new_shape("r3", moved, "roof")]
    assert [s["id"] for s in sh.without_duplicates(have, loaded)] == ["r2"]


def test_type_column__the_asked_for_column_wins_then_the_usual_names_in_order():
    assert sh.type_column(["feature_type", "type"]) == "feature_type"
    assert sh.type_column(["kind", "type"], wanted="kind") == "kind"
    assert sh.type_column(["feature_ty", "Type"]) == "feature_ty"  # a shapefile cuts names to 10 characters
    assert sh.type_column(["parcel_id", "geometry"]) is None


def test_normalise_type__one_value_as_the_column_function_does_it():
    import pandas as pd

    raw = [" Drive-Pav ", None, "", "HOUSE", "floating home", "Prkng-Unp", float("nan"), "solar farm"]
    assert [sh.normalise_type(v) for v in raw] == list(sh.normalise_types(pd.Series(raw, dtype=object)))
    assert [sh.normalise_type(v) for v in raw] == ["driveway", "other", "other", "roof", "floating_home", "parking",
                                                   "other", "solar_farm"]
