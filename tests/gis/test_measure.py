"""The geometry engine on tiny hand-checked lots (SPEC A1)."""

from __future__ import annotations

import numpy as np
import pytest

import shapely

import gis
from tests.conftest import DATA, box, layer

LOT = box(0, 0, 50, 100)


def measure(features, water=None, parcels=None, **kw):
    parcels = parcels if parcels is not None else layer([(LOT, "R1")], "parcel_id")
    m = gis.measure_lots(parcels, features, water, **kw)
    return m, m.lots.iloc[0]


def test_a1_union__overlapping_features_count_once():
    f = layer([(box(10, 10, 40, 50), "roof"), (box(30, 40, 45, 60), "patio")], "feature_type")
    _, lot = measure(f)
    # 30*40 + 15*20 - overlap 10*10
    assert lot.billable_area_sqft == pytest.approx(1200 + 300 - 100)
    assert lot.overlap_sqft == pytest.approx(100)


def test_a1_clip__driveway_into_street_counts_only_on_the_lot():
    f = layer([(box(20, -30, 30, 20), "driveway")], "feature_type")
    _, lot = measure(f)
    assert lot.billable_area_sqft == pytest.approx(10 * 20)
    assert lot.outside_parcel_sqft == pytest.approx(10 * 30)


def test_a1_clip__shared_driveway_is_split_between_lots():
    parcels = layer([(LOT, "R1"), (box(50, 0, 100, 100), "R2")], "parcel_id")
    f = layer([(box(40, 0, 60, 40), "driveway")], "feature_type")
    m = gis.measure_lots(parcels, f)
    assert list(m.lots.billable_area_sqft) == pytest.approx([400, 400])


def test_a1_overwater__dock_crossing_shoreline_counts_only_on_land():
    water = layer([box(0, 80, 50, 200)])
    f = layer([(box(20, 70, 30, 100), "dock")], "feature_type")
    _, lot = measure(f, water)
    assert lot.billable_area_sqft == pytest.approx(10 * 10)
    assert lot.overwater_excluded_sqft == pytest.approx(10 * 20)


def test_a1_overwater__floating_home_over_water_earns_nothing():
    water = layer([box(0, 80, 50, 200)])
    f = layer([(box(10, 85, 40, 99), "floating_home"), (box(10, 10, 20, 20), "roof")], "feature_type")
    _, lot = measure(f, water)
    assert lot.billable_area_sqft == pytest.approx(100)
    assert lot.overwater_excluded_sqft == pytest.approx(30 * 14)


def test_a1_overwater__roof_over_water_is_cut_geometrically():
    water = layer([box(0, 90, 50, 200)])
    f = layer([(box(10, 80, 20, 100), "roof")], "feature_type")
    _, lot = measure(f, water)
    assert lot.billable_area_sqft == pytest.approx(100)


def test_a1_overwater__dock_without_water_layer_is_taken_as_over_water():
    f = layer([(box(20, 70, 30, 100), "dock"), (box(0, 0, 10, 10), "roof")], "feature_type")
    _, lot = measure(f)
    assert lot.billable_area_sqft == pytest.approx(100)
    assert lot.overwater_excluded_sqft == pytest.approx(300)


def test_a1_types__precedence_credits_overlap_to_roof():
    f = layer([(box(0, 0, 20, 20), "patio"), (box(10, 0, 30, 20), "roof")], "feature_type")
    m, lot = measure(f)
    rec = m.lot("R1")
    assert rec["by_type"] == pytest.approx({"roof": 400.0, "patio": 200.0})
    assert sum(rec["by_type"].values()) == pytest.approx(lot.billable_area_sqft)


def test_a1_types__aliases_are_normalised():
    f = layer([(box(0, 0, 10, 10), "Drive-Pav"), (box(20, 20, 30, 30), "HOUSE")], "feature_type")
    m, _ = measure(f)
    assert set(m.lot("R1")["by_type"]) == {"driveway", "roof"}


def test_a1_units__international_feet_from_the_crs():
    f = layer([(box(0, 0, 10, 10), "roof")], "feature_type")
    _, lot = measure(f)
    assert lot.billable_area_sqft == pytest.approx(100.0)


def test_a1_units__us_survey_feet_are_converted():
    parcels = layer([(LOT, "R1")], "parcel_id", crs="EPSG:2272")
    f = layer([(box(0, 0, 100, 100), "roof")], "feature_type", crs="EPSG:2272")
    _, lot = measure(f, parcels=parcels)
    # 1 US survey foot = 1200/3937 m; 1 international foot = 0.3048 m
    factor = (1200 / 3937 / 0.3048) ** 2
    assert lot.billable_area_sqft == pytest.approx(50 * 100 * factor, rel=1e-12)
    assert lot.billable_area_sqft - 5000 == pytest.approx(0.02, abs=0.001)


def test_a1_units__metres_are_converted():
    parcels = layer([(box(0, 0, 20, 20), "R1")], "parcel_id", crs="EPSG:32610")
    f = layer([(box(0, 0, 10, 10), "roof")], "feature_type", crs="EPSG:32610")
    _, lot = measure(f, parcels=parcels)
    assert lot.billable_area_sqft == pytest.approx(100 / 0.3048**2)


def test_a1_crs__lonlat_is_projected_and_features_reprojected():
    here = (7_645_000, 684_000)  # a lot in Portland, EPSG:2913 (international feet)
    parcels = layer([(shapely.affinity.translate(LOT, *here), "R1")], "parcel_id")
    f = layer([(shapely.affinity.translate(box(0, 0, 10, 10), *here), "roof")], "feature_type")
    p_ll = parcels.to_crs(4326)
    f_other = f.to_crs("EPSG:6557")  # Oregon North, US survey feet
    p2, f2, _ = gis.prepare_layers(p_ll, f_other)
    assert p2.crs.is_projected
    assert "equal-area" in p2.crs.name
    m = gis.measure_lots(p2, f2)
    in_ea = f.to_crs(p2.crs).area.iloc[0] / 0.3048**2
    assert m.lots.billable_area_sqft.iloc[0] == pytest.approx(in_ea, rel=1e-9)
    assert m.lots.billable_area_sqft.iloc[0] == pytest.approx(100.0, rel=0.001)  # 2913's own scale: 0.02 %


def test_a1_invalid__bowtie_repaired_with_make_valid_and_lot_flagged():
    bowtie = shapely.Polygon([(0, 0), (20, 20), (20, 0), (0, 20), (0, 0)])
    assert not bowtie.is_valid
    f = layer([(bowtie, "patio")], "feature_type")
    m, lot = measure(f)
    assert bool(lot.repaired)
    assert lot.billable_area_sqft == pytest.approx(200.0)  # two 10-ft-high triangles
    assert [p.kind for p in m.problems] == ["repaired"]


#: US survey feet per international foot, squared: EPSG:2249's areas in international sq ft
US_SURVEY_SQFT = (1200 / 3937 / 0.3048) ** 2


def test_a1_invalid__a_hole_that_crosses_its_shell_after_turning_stays_a_hole():
    """A real Cambridge patio, turned 30 degrees: its hole's corner now crosses the shell by a hair.

    GEOS's default repair (linework) flips the hole into area: 497.65 sq ft billed for a 396.19 sq ft patio.
    """
    patio = shapely.from_wkt((DATA / "cambridge_patio_turned.wkt").read_text())
    assert not patio.is_valid
    poly = patio.geoms[0]
    shell_less_holes = shapely.Polygon(poly.exterior).area - sum(shapely.Polygon(h).area for h in poly.interiors)
    f = layer([(patio, "patio")], "feature_type", crs="EPSG:2249")
    lot = layer([(patio.envelope.buffer(20), "R1")], "parcel_id", crs="EPSG:2249")
    _, row = measure(f, parcels=lot)
    assert bool(row.repaired)
    assert row.billable_area_sqft == pytest.approx(shell_less_holes * US_SURVEY_SQFT, abs=0.01)
    assert row.billable_area_sqft == pytest.approx(396.19, abs=0.01)


def test_a1_invalid__a_hole_crossing_its_shell_bills_the_shell_less_the_hole():
    shell = [(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)]
    hole = [(5, 2), (15, 2), (15, 8), (5, 8), (5, 2)]  # half of it outside the shell
    _, row = measure(layer([(shapely.Polygon(shell, [hole]), "patio")], "feature_type"))
    assert row.billable_area_sqft == pytest.approx(70.0)  # 100 less the 30 of the hole inside; linework gave 100


def test_a1_invalid__an_outline_that_loops_over_itself_counts_what_it_encloses_once():
    loop = shapely.Polygon([(0, 0), (10, 0), (10, 10), (2, 10), (2, -5), (5, -5), (5, 5), (0, 5), (0, 0)])
    assert not loop.is_valid
    _, row = measure(layer([(loop, "patio")], "feature_type"), parcels=layer([(box(-5, -10, 20, 20), "R1")],
                                                                              "parcel_id"))
    # the square (100) and the tab below it (3 x 5 = 15), the part enclosed twice (3 x 5) once: 105
    assert row.billable_area_sqft == pytest.approx(105.0)


def test_a1_empty__null_and_empty_features_are_reported_not_dropped():
    f = layer([(None, "roof"), (shapely.Polygon(), "patio"), (box(0, 0, 10, 10), "roof")], "feature_type")
    m, lot = measure(f)
    assert lot.billable_area_sqft == pytest.approx(100)
    assert sorted(p.kind for p in m.problems) == ["empty", "empty"]


def test_a1_empty__points_and_lines_are_reported():
    f = layer([(shapely.Point(5, 5), "roof"), (shapely.LineString([(0, 0), (9, 9)]), "walkway"),
               (box(0, 0, 10, 10), "roof")], "feature_type")
    m, _ = measure(f)
    assert sorted(p.kind for p in m.problems) == ["not_polygon", "not_polygon"]


def test_a1_empty__points_and_lines_in_many_parts_or_in_a_collection_are_reported_too():
    f = layer([(shapely.MultiPoint([(5, 5), (6, 6)]), "roof"), (shapely.MultiLineString([[(0, 0), (9, 9)]]), "walkway"),
               (shapely.GeometryCollection([shapely.LineString([(0, 0), (5, 5)])]), "patio"),
               (shapely.GeometryCollection([shapely.Point(1, 1), box(20, 20, 30, 30)]), "shed"),
               (box(0, 0, 10, 10), "roof")], "feature_type")
    m, lot = measure(f)
    assert sorted((p.row, p.kind) for p in m.problems) == [(0, "not_polygon"), (1, "not_polygon"),
                                                           (2, "not_polygon")]
    assert lot.billable_area_sqft == pytest.approx(200)
    assert lot.n_features == 2


def test_a1_empty__an_outline_with_no_area_is_reported_empty_not_repaired():
    """Corners all on one line, or all at one point: nothing is left to repair; saying
    "repaired" would suggest it was counted."""
    f = layer([(shapely.Polygon([(10, 60), (20, 70), (30, 80)]), "patio"),
               (shapely.Polygon([(40, 10), (40, 10), (40, 10)]), "shed"), (box(0, 0, 10, 10), "roof"),
               (shapely.Polygon([(0, 20), (10, 30), (10, 20), (0, 30)]), "walkway")], "feature_type")
    m, lot = measure(f)
    assert sorted((p.row, p.kind) for p in m.problems) == [(0, "empty"), (1, "empty"), (3, "repaired")]
    assert "no area" in m.problems[0].message
    assert lot.billable_area_sqft == pytest.approx(100 + 50)


def test_a1_billable_types__utility_can_exclude_gravel():
    f = layer([(box(0, 0, 10, 10), "gravel"), (box(20, 20, 30, 30), "roof")], "feature_type")
    rules = gis.MeasureRules(billable={"gravel": False})
    _, lot = measure(f, rules=rules)
    assert lot.billable_area_sqft == pytest.approx(100)
    assert lot.excluded_type_sqft == pytest.approx(100)


def test_a1_billable_types__gravel_and_pools_count_by_default():
    f = layer([(box(0, 0, 10, 10), "gravel"), (box(20, 20, 30, 30), "pool")], "feature_type")
    _, lot = measure(f)
    assert lot.billable_area_sqft == pytest.approx(200)


def test_measure__lot_with_no_features_gets_zero():
    parcels = layer([(LOT, "R1"), (box(500, 500, 550, 600), "R2")], "parcel_id")
    f = layer([(box(0, 0, 10, 10), "roof")], "feature_type")
    m = gis.measure_lots(parcels, f)
    assert list(m.lots.billable_area_sqft) == pytest.approx([100, 0])


def test_measure__feature_outside_every_lot_is_reported():
    f = layer([(box(900, 900, 910, 910), "roof"), (box(0, 0, 10, 10), "roof")], "feature_type")
    m, _ = measure(f)
    assert [p.kind for p in m.problems] == ["outside_all_lots"]


def test_measure__no_overlap_with_the_lot_is_a_clear_error():
    f = layer([(box(900, 900, 910, 910), "roof")], "feature_type")
    with pytest.raises(gis.NoOverlapError, match="None of the drawn or uploaded surfaces"):
        measure(f, require_overlap=True)


def test_measure__missing_type_column_named_by_user_is_a_clear_error():
    f = layer([(box(0, 0, 10, 10), "roof")], "kind")
    with pytest.raises(gis.MissingFieldError, match="no column called 'surface'"):
        measure(f, type_field="surface")


def test_measure__missing_id_column_is_a_clear_error():
    parcels = layer([(LOT, "R1")], "pid")
    f = layer([(box(0, 0, 10, 10), "roof")], "feature_type")
    with pytest.raises(gis.MissingFieldError, match="--id-field"):
        gis.measure_lots(parcels, f)


def test_measure__invalid_parcel_is_repaired_and_flagged():
    bow = shapely.Polygon([(0, 0), (100, 100), (100, 0), (0, 100), (0, 0)])
    parcels = layer([(bow, "R1")], "parcel_id")
    f = layer([(box(0, 0, 100, 100), "parking")], "feature_type")
    m = gis.measure_lots(parcels, f)
    assert bool(m.lots.repaired.iloc[0])
    # make_valid splits the bowtie into two triangles of 2,500 sq ft each
    assert m.lots.billable_area_sqft.iloc[0] == pytest.approx(5000)


def test_select_parcel__unknown_id_says_what_ids_look_like():
    parcels = layer([(LOT, "R1")], "parcel_id")
    with pytest.raises(gis.UnknownParcelError, match="ids look like: R1"):
        gis.select_parcel(parcels, "R9")


def test_sqft_per_crs_unit2__geographic_crs_is_refused():
    with pytest.raises(ValueError, match="projected"):
        gis.sqft_per_crs_unit2("EPSG:4326")


def test_a1_outside__shared_driveway_reports_only_the_street_part():
    parcels = layer([(LOT, "R1"), (box(50, 0, 100, 100), "R2")], "parcel_id")
    f = layer([(box(45, -15, 55, 40), "driveway")], "feature_type")
    m = gis.measure_lots(parcels, f)
    assert list(m.lots.billable_area_sqft) == pytest.approx([200, 200])
    assert list(m.lots.outside_parcel_sqft) == pytest.approx([150, 150])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (box(0, 0, 10, 10), box(5, 5, 20, 20)),        # two boxes: arithmetic path
        (box(0, 0, 10, 10), box(10, 0, 20, 10)),       # boxes sharing an edge only
        (box(0, 0, 10, 10), shapely.Polygon([(5, 5), (15, 5), (5, 15)])),  # box and triangle: GEOS
        (shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)]), box(-5, -5, 5, 5)),  # clockwise-free ring
        (shapely.Polygon([(0, 0), (10, 0), (10, 3), (4, 3), (4, 10), (0, 10)]), box(2, 2, 8, 8)),  # L and box: clip
        (shapely.Polygon([(0, 0), (10, 0), (12, 10), (-2, 10)]), shapely.Polygon([(5, -5), (15, 5), (5, 15), (-5, 5)])),
        (shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]).buffer(0), box(0, 0, 1, 1)),  # repaired bowtie
    ],
)
def test_intersection__box_arithmetic_equals_geos(a, b):
    from gis.overlay import axis_boxes as _axis_boxes
    from gis.overlay import intersection as _intersection
    from gis.overlay import overlaps as _overlaps

    ours = _intersection(np.array([a]), np.array([b]))[0]
    geos = shapely.intersection(a, b)
    assert (0.0 if ours is None else ours.area) == pytest.approx(geos.area)
    geoms = np.array([a, b])
    boxes, bounds = _axis_boxes(geoms)
    pa, _, area, inter = _overlaps(np.zeros(2, dtype=int), geoms, boxes, bounds, geometry=True)
    assert len(pa) == (1 if geos.area > 0 else 0)
    assert float(area.sum()) == pytest.approx(geos.area)
    assert sum(g.area for g in inter) == pytest.approx(geos.area)


def test_axis_boxes__only_rings_that_are_rectangles_along_the_axes():
    from gis.overlay import axis_boxes as _axis_boxes

    geoms = np.array([
        box(0, 0, 10, 5),                                                  # counter-clockwise from a corner
        shapely.Polygon([(10, 5), (10, 0), (0, 0), (0, 5)]),               # clockwise, another corner first
        shapely.Polygon([(0, 0), (10, 0), (10, 5), (0, 5)]),               # along x first
        shapely.Polygon([(0, 0), (10, 1), (9, 6), (-1, 5)]),               # rotated
        shapely.Polygon([(0, 0), (0, 5), (0, 0), (10, 0)]),                # back and forth: no area
        shapely.Polygon([(0, 0), (0, 5), (10, 5), (10, 2), (10, 0)]).buffer(0),  # box written with 6 points
        box(0, 0, 10, 10).buffer(0).difference(box(2, 2, 3, 3)),           # with a hole
        shapely.MultiPolygon([box(0, 0, 1, 1)]),
        None,
    ], dtype=object)
    boxes, bounds = _axis_boxes(geoms)
    assert boxes.tolist() == [True, True, True, False, False,
                              shapely.get_num_coordinates(geoms[5]) == 5, False, False, False]
    assert bounds[1].tolist() == [0, 0, 10, 5]


def test_a1_union__chain_and_star_overlaps_count_once():
    # a roof with a patio and a porch under its eaves (star), and a walkway
    # overlapping the patio (chain): no three pieces overlap one another
    f = layer([(box(10, 10, 40, 50), "roof"), (box(35, 20, 45, 30), "patio"), (box(5, 40, 15, 45), "deck"),
               (box(42, 22, 48, 90), "walkway")], "feature_type")
    m, lot = measure(f)
    expected = shapely.union_all(f.geometry.to_numpy()).area
    assert lot.billable_area_sqft == pytest.approx(expected)
    assert lot.overlap_sqft == pytest.approx(f.area.sum() - expected)
    assert m.lot("R1")["by_type"] == pytest.approx(
        {"roof": 1200.0, "patio": 50.0, "deck": 25.0, "walkway": 6 * 68 - 3 * 8})


def test_a1_union__three_pieces_overlapping_each_other_count_once():
    f = layer([(box(0, 0, 20, 20), "roof"), (box(10, 10, 30, 30), "patio"), (box(5, 5, 25, 15), "walkway")],
              "feature_type")
    m, lot = measure(f)
    expected = shapely.union_all(f.geometry.to_numpy()).area
    assert lot.billable_area_sqft == pytest.approx(expected)
    assert sum(m.lot("R1")["by_type"].values()) == pytest.approx(expected)


@pytest.mark.parametrize(
    "shapes",
    [
        # three crossing features overlapping one another in the street: GEOS fallback
        [box(10, -20, 30, 40), box(20, -20, 40, 30), box(15, -10, 35, 10)],
        # a walkway and a driveway meeting in the street (inclusion–exclusion)
        [box(10, -20, 30, 40), box(25, -30, 45, 20)],
        # a shared driveway across the side lot line, overlapping a walkway of each lot
        [box(40, -20, 60, 30), box(30, -10, 45, 10), box(55, -25, 70, 5)],
        # a rotated shed across the rear line overlapping a box shed
        [shapely.affinity.rotate(box(20, 90, 40, 110), 30), box(25, 95, 45, 120)],
    ],
)
def test_a1_outside__overlaps_off_the_lots_count_once(shapes):
    parcels = layer([(LOT, "R1"), (box(50, 0, 100, 100), "R2")], "parcel_id")
    f = layer([(g, "walkway") for g in shapes], "feature_type")
    m = gis.measure_lots(parcels, f).lots.set_index("parcel_id")
    lots = shapely.union_all(parcels.geometry.to_numpy())
    for pid, lot in zip(parcels.parcel_id, parcels.geometry, strict=True):
        on = [g for g in shapes if g.intersection(lot).area > 0]
        expected = shapely.union_all([g.difference(lots) for g in on]).area if on else 0.0
        assert m.loc[pid, "outside_parcel_sqft"] == pytest.approx(expected, abs=1e-6)
        pieces = [g.intersection(lot) for g in on]
        assert m.loc[pid, "billable_area_sqft"] == pytest.approx(shapely.union_all(pieces).area if on else 0.0)


def test_measure_lots__boxes_known_beforehand_give_the_same_table(monkeypatch):
    """Bulk runs pass the lots' and features' axis-box flags and bounds read from the WKB
    (``boxes``); the table must be the one measured from the shapes, on boxes, rotated boxes, an
    invalid lot and feature, a multipart feature split into its parts, a missing shape and a
    line, and the flags must not be computed again for the whole layers."""
    import shapely.affinity

    from gis import measure as measure_module
    from gis.overlay import axis_boxes

    rng = np.random.default_rng(8)
    lots = [box(x, y, x + 50, y + 100) for x in range(0, 500, 50) for y in (0, 100)]
    lots[3] = shapely.affinity.rotate(lots[3], 10)
    lots[5] = shapely.Polygon([(250, 100), (300, 200), (300, 100), (250, 200)])  # a bow tie
    feats = [box(x + 5, y + 5, x + 30, y + 40) for x in range(0, 500, 50) for y in (0, 100)]
    feats += [shapely.affinity.rotate(box(x + 20, 60, x + 70, 80), 25) for x in range(0, 450, 50)]
    feats += [shapely.MultiPolygon([shapely.Point(x, 150).buffer(8, 20) for x in range(20, 480, 40)]),
              shapely.Polygon([(100, 10), (140, 60), (140, 10), (100, 60)]), None,
              shapely.LineString([(0, 0), (10, 10)])]
    feats += [box(*xy, *(xy + rng.uniform(2, 30, 2))) for xy in rng.uniform(0, 480, size=(40, 2))]
    parcels = layer([(g, f"P{i}") for i, g in enumerate(lots)], "parcel_id")
    features = layer([(g, "roof") for g in feats], "feature_type")
    plain = gis.measure_lots(parcels, features)
    lot_box, lot_bnd = axis_boxes(parcels.geometry.to_numpy())
    f_box, f_bnd = axis_boxes(features.geometry.to_numpy())
    calls = []

    def counted(geoms):
        calls.append(len(geoms))
        return axis_boxes(geoms)

    monkeypatch.setattr(measure_module, "axis_boxes", counted)
    known = gis.measure_lots(parcels, features, boxes=(lot_box, lot_bnd, f_box, f_bnd))
    assert known.lots.equals(plain.lots)
    assert plain.lots.billable_area_sqft.gt(0).sum() >= 15
    assert plain.lots.repaired.any()
    assert len(features) not in calls
    assert len(parcels) not in calls
    assert calls  # the repaired and the split shapes' flags are read from their new shapes
    assert lot_box.sum() == 18  # the flags passed in were left as they were
    assert f_box.sum() == 60


def test_measure_lots__boxes_of_the_wrong_rows_are_refused():
    """Flags for other rows than the layers' (a caller's slip) must not be used silently."""
    from gis.overlay import axis_boxes

    parcels = layer([(box(0, 0, 50, 100), "P1"), (box(50, 0, 100, 100), "P2")], "parcel_id")
    features = layer([(box(5, 5, 20, 20), "roof")], "feature_type")
    lot_box, lot_bnd = axis_boxes(parcels.geometry.to_numpy())
    f_box, f_bnd = axis_boxes(features.geometry.to_numpy())
    with pytest.raises(ValueError, match="per row"):
        gis.measure_lots(parcels, features, boxes=(lot_box[:1], lot_bnd[:1], f_box, f_bnd))
    m = gis.measure_lots(parcels, features, boxes=(lot_box, lot_bnd, f_box, f_bnd))
    assert m.lots.billable_area_sqft.tolist() == [225.0, 0.0]


def test_rect_in_polygon__agrees_with_geos_on_random_lots():
    """The array test never calls a rectangle inside (or outside) when GEOS disagrees."""
    from gis.overlay import rect_in_polygon as _rect_in_polygon

    rng = np.random.default_rng(7)
    polys, rects = [], []
    for _ in range(4000):
        kind = rng.integers(0, 4)
        if kind == 0:  # trapezoid (slanted side lines)
            g = shapely.Polygon([(0, 0), (50, 0), (50 + rng.uniform(-10, 10), 100), (rng.uniform(-10, 10), 100)])
        elif kind == 1:  # L-shaped (jogged side line)
            j, s = rng.uniform(20, 80), rng.uniform(-15, 15)
            g = shapely.Polygon([(0, 0), (50, 0), (50, j), (50 + s, j), (50 + s, 100), (0, 100)])
        elif kind == 2:  # a hole: always left to GEOS
            g = box(0, 0, 50, 100).difference(box(10, 10, 20, 20))
        else:
            g = shapely.affinity.rotate(box(0, 0, 50, 100), rng.uniform(0, 90))
        x0, y0 = rng.uniform(-20, 60), rng.uniform(-20, 110)
        r = (0, 0, 50, 30) if rng.random() < 0.1 else (x0, y0, x0 + rng.uniform(0.5, 30), y0 + rng.uniform(0.5, 30))
        polys.append(g)
        rects.append(r)
    polys, rects = np.array(polys, dtype=object), np.array(rects)
    where = _rect_in_polygon(polys, rects)
    boxes = shapely.box(*rects.T)
    assert shapely.covers(polys[where == 1], boxes[where == 1]).all()
    assert (shapely.area(shapely.intersection(polys[where == 0], boxes[where == 0])) == 0).all()
    assert (where[shapely.get_num_interior_rings(polys) > 0] == -1).all()
    # and it decides most of them without GEOS
    assert (where >= 0).mean() > 0.4


def test_rect_in_polygon__the_compiled_test_equals_the_array_test(monkeypatch):
    """Where numba is loaded the test runs compiled (gis.clip_jit.rects_in_rings); it must
    decide every rectangle as the array code and GEOS's point test do, on random and on grid-snapped shapes whose
    edges lie along, end on or pass through the rectangles' sides and corners."""
    pytest.importorskip("numba")
    import gis.clip as clip
    from gis.overlay import rect_in_polygon

    rng = np.random.default_rng(23)
    n = 6000
    # quadrilaterals and triangles on a 4 ft grid (edges along sides, through corners) and off it
    pts = rng.integers(0, 6, size=(n, 4, 2)).astype(float) * 4.0
    pts[n // 2:] += rng.uniform(-1, 1, size=(n - n // 2, 4, 2))
    polys = shapely.convex_hull(shapely.multipoints(pts))
    polys = np.where(shapely.get_type_id(polys) == 3, polys, shapely.box(0, 0, 8, 8))
    lo = rng.integers(0, 5, size=(n, 2)).astype(float) * 4.0
    size = rng.integers(1, 3, size=(n, 2)).astype(float) * 4.0
    rects = np.column_stack([lo, lo + size])
    rects[::3] += rng.uniform(-0.5, 0.5, size=(len(rects[::3]), 1))
    monkeypatch.setattr(clip, "USE_JIT", False)
    by_arrays = rect_in_polygon(polys, rects)
    monkeypatch.setattr(clip, "USE_JIT", True)
    assert clip.loaded_jit() is not None
    compiled = rect_in_polygon(polys, rects)
    np.testing.assert_array_equal(compiled, by_arrays)
    assert {-1, 0, 1} <= set(compiled.tolist())  # every answer occurs
    boxes = shapely.box(*rects.T)
    assert shapely.covers(polys[compiled == 1], boxes[compiled == 1]).all()
    assert (shapely.area(shapely.intersection(polys[compiled == 0], boxes[compiled == 0])) == 0).all()


def test_rect_in_polygon__rectangles_on_shared_shapes_equal_one_shape_each(monkeypatch):
    """With ``of`` (many rectangles on a few lots, as features on their lots) each lot's
    coordinates are read once; every answer equals the one-shape-per-rectangle call's, with
    and without the compiled kernel."""
    import gis.clip as clip
    from gis.overlay import rect_in_polygon

    rng = np.random.default_rng(5)
    lots = np.array([shapely.affinity.rotate(box(0, 0, 50, 100), a) for a in rng.uniform(0, 90, 40)]
                    + [box(0, 0, 50, 100).difference(box(10, 10, 20, 20))], dtype=object)
    of = rng.integers(0, len(lots), 3000)
    lo = rng.uniform(-40, 90, size=(len(of), 2))
    rects = np.column_stack([lo, lo + rng.uniform(0.5, 20, size=(len(of), 2))])
    for jit in (False, True):
        monkeypatch.setattr(clip, "USE_JIT", jit)
        shared = rect_in_polygon(lots, rects, of)
        np.testing.assert_array_equal(shared, rect_in_polygon(lots[of], rects))
        assert {-1, 0, 1} <= set(shared.tolist())
        assert (shared[of == len(lots) - 1] == -1).all()  # the lot with a hole: GEOS decides


def test_rect_in_polygon__a_rectangle_too_thin_to_place_its_centre_is_left_to_geos(monkeypatch):
    """Far from the origin, a rectangle a few ten-millionths of a foot across whose centre lies
    as near a lot line is not decided by the centre test (GEOS decides it); a wide one is,
    compiled and in arrays alike."""
    import gis.clip as clip
    from gis.overlay import rect_in_polygon

    x0, y0 = 7_650_000.0, 680_000.0
    lot = shapely.Polygon([(x0, y0), (x0 + 50, y0), (x0 + 50, y0 + 100), (x0, y0 + 100)])
    lot = shapely.affinity.rotate(lot, 30, origin=(x0, y0))
    edge_x = x0 + 50 * np.cos(np.radians(30)) - 40 * np.sin(np.radians(30))  # near the lot's right side
    edge_y = y0 + 50 * np.sin(np.radians(30)) + 40 * np.cos(np.radians(30))
    thin = [edge_x - 3e-7, edge_y - 1e-7, edge_x - 1e-7, edge_y + 1e-7]  # the lot line misses it
    wide = [x0 + 5, y0 + 30, x0 + 15, y0 + 40]
    for jit in (False, True):
        monkeypatch.setattr(clip, "USE_JIT", jit)
        where = rect_in_polygon(np.array([lot], dtype=object), np.array([thin, wide]), np.array([0, 0]))
        assert where.tolist() == [-1, 1]


def test_rect_in_polygon__a_long_lot_line_under_many_boxes_is_tested_in_batches(monkeypatch):
    """The array test holds at most EDGE_BATCH rectangle-edge pairs at once (a long lot line
    under thousands of driveways); the answers do not depend on the batch, down to one
    rectangle at a time and one rectangle of more edges than a batch."""
    import gis.clip as clip
    import gis.overlay as overlay

    monkeypatch.setattr(clip, "USE_JIT", False)
    t = np.linspace(0, np.pi, 120)  # 239 edges: not yet a BIG_SHAPE, which the arrays leave to GEOS
    strip = shapely.Polygon(np.r_[np.c_[t * 300, 40 * np.sin(t)], np.c_[t[::-1] * 300, 40 * np.sin(t[::-1]) + 60]])
    square = box(0, 0, 10, 10)
    rng = np.random.default_rng(11)
    lo = np.c_[rng.uniform(0, 930, 3000), rng.uniform(-10, 90, 3000)]
    rects = np.c_[lo, lo + rng.uniform(0.5, 12, (3000, 2))]
    lots = np.array([strip, square], dtype=object)
    of = (np.arange(3000) % 7 == 0).astype(np.int64)
    whole = overlay.rect_in_polygon(lots, rects, of)
    assert {-1, 0, 1} <= set(whole.tolist())
    for batch in (1, 100, 5000):
        monkeypatch.setattr(overlay, "EDGE_BATCH", batch)
        np.testing.assert_array_equal(overlay.rect_in_polygon(lots, rects, of), whole)
    boxes = shapely.box(*rects.T)
    assert shapely.covers(lots[of][whole == 1], boxes[whole == 1]).all()
    assert (shapely.area(shapely.intersection(lots[of][whole == 0], boxes[whole == 0])) == 0).all()


def test_clip_area__equals_geos_intersection_area():
    """The array clip (Sutherland–Hodgman + shoelace) gives GEOS's area for
    concave rings, rectangles inside, outside and straddling, far from the
    origin; holes, MultiPolygons and missing shapes take the GEOS way."""
    from gis.overlay import clip_area

    rng = np.random.default_rng(11)
    x0, y0 = 7_650_000.0, 690_000.0  # state-plane feet
    polys, rects = [], []
    for i in range(3000):
        k = int(rng.integers(3, 12))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(5, 40, k)  # a star: concave for most draws
        g = shapely.Polygon(np.c_[x0 + r * np.cos(ang), y0 + r * np.sin(ang)])
        if not g.is_valid:
            continue
        if i % 9 == 0:
            g = g.difference(box(x0 - 1, y0 - 1, x0 + 1, y0 + 1))  # a hole (or a bite)
        if i % 13 == 0:
            g = shapely.MultiPolygon([g, box(x0 + 50, y0, x0 + 60, y0 + 10)]) if g.geom_type == "Polygon" else g
        w, h = rng.uniform(0.5, 90, 2)
        ox, oy = rng.uniform(-60, 40, 2)
        polys.append(g)
        rects.append((x0 + ox, y0 + oy, x0 + ox + w, y0 + oy + h))
    polys.append(None)
    rects.append((x0, y0, x0 + 1, y0 + 1))
    polys, rects = np.array(polys, dtype=object), np.array(rects)
    got = clip_area(polys, rects)
    want = np.nan_to_num(shapely.area(shapely.intersection(polys, shapely.box(*rects.T))))
    assert np.abs(got - want).max() < 1e-6
    assert (got == 0).sum() > 100  # rectangles off the shape
    assert (got == np.nan_to_num(shapely.area(polys))).sum() > 10  # and wholly over it
    assert got[-1] == 0
    concave = shapely.area(shapely.convex_hull(polys[:-1])) > shapely.area(polys[:-1]) * (1 + 1e-9)
    assert concave.sum() > 1000


@pytest.mark.parametrize(
    "shapes",
    [
        # a triangle: driveway over a garage, a walkway across both (triple terms)
        [(box(5, 5, 25, 30), "garage"), (box(10, 0, 20, 60), "driveway"), (box(0, 20, 30, 25), "walkway")],
        # the same with a rotated shed in the middle (GEOS for the triple)
        [(box(5, 5, 25, 30), "garage"), (box(10, 0, 20, 60), "driveway"),
         (shapely.affinity.rotate(box(8, 15, 22, 28), 20), "shed")],
        # four pieces over one spot: a 4-clique goes through the union
        [(box(5, 5, 25, 30), "roof"), (box(10, 0, 20, 60), "driveway"), (box(0, 20, 30, 25), "walkway"),
         (box(12, 18, 40, 40), "patio")],
        # two triangles sharing an edge, equal types (ties by order)
        [(box(0, 0, 20, 20), "patio"), (box(10, 10, 30, 30), "patio"), (box(5, 15, 25, 25), "patio"),
         (box(15, 5, 35, 18), "patio")],
    ],
)
@pytest.mark.parametrize("wet", [False, True])
def test_a1_union__triangles_and_cliques_count_once_with_water_and_types(shapes, wet):
    f = layer(shapes, "feature_type")
    water = layer([(box(-10, 12, 60, 22), "river")], "kind") if wet else None
    m, lot = measure(f, water)
    geoms = [g.intersection(LOT) for g, _ in shapes]
    river = box(-10, 12, 60, 22) if wet else shapely.Polygon()
    union = shapely.union_all(geoms)
    assert lot.billable_area_sqft == pytest.approx(union.difference(river).area)
    assert lot.overlap_sqft == pytest.approx(sum(g.area for g in geoms) - union.area)
    assert lot.overwater_excluded_sqft == pytest.approx(union.intersection(river).area)
    # by type: precedence order, earlier shapes first among equals
    from gis.measure import PRECEDENCE

    order = sorted(range(len(shapes)), key=lambda i: (PRECEDENCE.index(shapes[i][1]), i))
    expected, covered = {}, shapely.Polygon()
    for i in order:
        part = geoms[i].difference(covered).difference(river)
        expected[shapes[i][1]] = expected.get(shapes[i][1], 0.0) + part.area
        covered = covered.union(geoms[i])
    got = m.lot("R1")["by_type"]
    assert got == pytest.approx({k: v for k, v in expected.items() if v > 0})


@pytest.mark.parametrize("as_category", [False, True])
def test_normalise_types__aliases_blanks_and_missing_values(as_category):
    import pandas as pd

    from gis.measure import normalise_types

    raw = pd.Series(["Drive-Pav", " ROOF ", None, "", "floating home", "Parking Lot"])
    if as_category:
        raw = raw.astype("category")
    assert list(normalise_types(raw)) == ["driveway", "roof", "other", "other", "floating_home", "parking"]


def test_a1_overwater__a_roof_wholly_over_water_is_exactly_zero_never_a_residue():
    # a floating home over a slanted river bank: sums and differences leave
    # residues like 3.7e-12 or -8e-9 sq ft unless they are cleaned
    river = shapely.Polygon([(-50, 40.3), (120, 57.7), (120, 200), (-50, 200)])
    f = layer([(box(10.1, 60.7, 30.3, 80.9), "floating_home"), (box(12.2, 62.2, 14.4, 99.9), "dock"),
               (box(20.0, 70.0, 45.0, 120.0), "walkway")], "feature_type")
    m, lot = measure(f, layer([(river, "river")], "kind"))
    assert lot.billable_area_sqft == 0.0
    assert lot.outside_parcel_sqft > 0
    assert (m.lots.select_dtypes("number") >= 0).all().all()


def test_measure__a_crowded_lot_of_cut_boxes_agrees_with_the_oracle():
    """60 driveways and patios, each cut by the lot line (their pieces are boxes
    the engine keeps as bounds) and overlapping their neighbours, on one lot:
    more pieces than overlaps() pairs directly, so it looks them up in a tree,
    which needs their shapes; plus a lot of the same by the water."""
    from tests.oracle.oracle import oracle_billable_area

    lots = layer([(box(0, 0, 100, 400), "A"), (box(200, 0, 300, 400), "B")], "parcel_id")
    rows = [(box(90, 6.0 * i, 120, 6.0 * i + 10), "driveway" if i % 2 else "patio") for i in range(60)]
    rows += [(box(290, 6.0 * i, 320, 6.0 * i + 10), "roof") for i in range(20)]  # B: fewer, by the river
    features = layer(rows, "feature_type")
    water = layer([(box(250, 50, 400, 100), "river")], "name")
    got = gis.measure_lots(lots, features, water).lots.set_index("parcel_id")
    want = oracle_billable_area(lots, features, water)
    assert got.billable_area_sqft.to_dict() == pytest.approx(want.to_dict(), abs=1e-6)
    assert got.loc["A", "billable_area_sqft"] == pytest.approx(10 * (6 * 59 + 10))
    assert got.loc["A", "overlap_sqft"] == pytest.approx(10 * 4 * 59)
    assert got.loc["B", "overwater_excluded_sqft"] == pytest.approx(10 * 50)


def test_measure__dock_without_water_layer_under_a_driveway_cut_at_the_lot_line():
    """No water layer: a dock is not billable and what it would have added is
    reported as overwater; the part under a driveway (itself cut at the lot
    line, a piece the engine keeps as bounds) is the driveway's, not the dock's."""
    lots = layer([(box(0, 0, 100, 100), "L")], "parcel_id")
    features = layer([(box(50, 40, 120, 60), "dock"), (box(80, 45, 110, 55), "driveway")], "feature_type")
    got = gis.measure_lots(lots, features).lots.iloc[0]
    assert got.billable_area_sqft == pytest.approx(20 * 10)
    assert got.overwater_excluded_sqft == pytest.approx(50 * 20 - 20 * 10)


def test_a1_overwater__only_invalid_water_is_rebuilt_and_crossed_water_still_counts(monkeypatch):
    """GEOS's ``structure`` repair rebuilds every shape it is handed: a water layer's valid lakes
    (in every chunk of a bulk run) must not be, and a crossed shoreline must still be repaired."""
    import gis.measure
    import gis.repair

    handed = []
    real_repair = gis.repair.repair
    monkeypatch.setattr(gis.measure, "repair", lambda g: handed.append(len(g)) or real_repair(g))
    crossed = shapely.Polygon([(0, 80), (50, 200), (50, 80), (0, 200)])  # a bow tie: two triangles
    lakes = [box(500 + 20 * i, 0, 510 + 20 * i, 10) for i in range(3)]
    dock = box(2, 85, 12, 100)
    _, lot = measure(layer([(dock, "dock")], "feature_type"), layer([*lakes, crossed]))
    assert handed == [1]
    # the dock's part in the bow tie's left triangle (x < (y - 80) / 2.4) is over water
    wet = shapely.area(shapely.intersection(dock, real_repair(crossed)))
    assert 0 < wet < 100
    assert lot.overwater_excluded_sqft == pytest.approx(wet)


def test_a1_overwater__a_river_of_thousands_of_vertices_is_cut_to_the_lots_before_each_lot_s_cut(monkeypatch):
    """A meandering river of 6,000 vertices along a block of lots, with a lake far away: each lot's
    overwater area equals shapely's (union of its pieces ∩ river); the river is cut once to the
    lots' reach, so that no lot's own cut handles the whole river, and the lake no lot meets is
    not cut at all."""
    from gis import measure as measure_module

    t = np.linspace(0, 1000, 3000)
    bank = np.column_stack([t, 95 + 8 * np.sin(t / 7)])
    river = shapely.Polygon(np.vstack([bank, (bank + np.array([0.0, 60.0]))[::-1]]))
    lake = shapely.Point(5000, 5000).buffer(300, 400)
    assert shapely.get_num_coordinates(river) > 5000
    lots = [box(x, 0, x + 50, 120) for x in range(400, 600, 50)]  # a fifth of the river's length
    rng = np.random.default_rng(4)
    feats, kinds = [], []
    for lot in lots:
        x0 = lot.bounds[0]
        feats += [box(x0 + 5, 60, x0 + 40, 110), shapely.affinity.rotate(box(x0 + 10, 80, x0 + 30, 119), 20),
                  box(x0 + rng.uniform(0, 20), 100, x0 + 45, 119.5)]
        kinds += ["roof", "deck", "dock"]
    sizes = []
    clip_each = measure_module.clip_each

    def noted(g, r, **kw):
        sizes.append(shapely.get_num_coordinates(g).tolist())
        return clip_each(g, r, **kw)

    monkeypatch.setattr(measure_module, "clip_each", noted)
    m = gis.measure_lots(layer([(g, f"P{i}") for i, g in enumerate(lots)], "parcel_id"),
                         layer(list(zip(feats, kinds, strict=True)), "feature_type"), layer([river, lake]))
    for i, lot in enumerate(lots):
        mine = [shapely.intersection(f, lot) for f in feats[3 * i:3 * i + 3]]
        wet = shapely.intersection(shapely.union_all(mine), river).area
        assert m.lots.overwater_excluded_sqft[i] == pytest.approx(wet, rel=1e-9, abs=1e-6)
    assert m.lots.overwater_excluded_sqft.gt(10).all()
    assert sizes[0] == [shapely.get_num_coordinates(river)]  # the one cut of the whole river
    assert max(max(s) for s in sizes[1:]) < 1000  # each lot's water is cut from the river's part near the lots


def test_clip_area__an_empty_polygon_among_others_has_no_area():
    """An empty polygon (a water body cut away to nothing) once broke the array clip of the rest."""
    from gis.overlay import clip_area

    polys = np.array([shapely.Polygon(), box(0, 0, 10, 10), shapely.Polygon()], dtype=object)
    assert clip_area(polys, np.array([[0.0, 0, 5, 5]] * 3)).tolist() == [0.0, 25.0, 0.0]
    assert clip_area(polys[:1], np.array([[0.0, 0, 5, 5]])).tolist() == [0.0]


# SPEC A1.4 repairs outlines that cross themselves; a corner that is not a number is no
# outline to repair: GEOS's make_valid drops it and bills whatever shape is left.


def _with_corner(x, y):
    """A 40 x 40 ft roof on LOT whose second corner is (x, y)."""
    return shapely.from_wkt(f"POLYGON ((10 10, {x} {y}, 50 50, 10 50, 10 10))")


@pytest.mark.parametrize("corner", [("nan", 10), (50, "nan"), ("inf", 10), ("-inf", 10)])
def test_a1_4_repair__a_feature_corner_that_is_not_a_number_is_refused_not_guessed(corner):
    f = layer([(box(0, 0, 5, 5), "patio"), (_with_corner(*corner), "roof")], "feature_type")
    with pytest.raises(gis.NonFiniteCoordinateError, match=r"features .*not a number.*row 2\b"):
        measure(f)


def test_a1_4_repair__a_box_reaching_infinity_is_refused():
    # an axis-aligned box skips the validity test; its bounds still say what it is
    f = layer([(box(10, 10, np.inf, 50), "roof")], "feature_type")
    with pytest.raises(gis.NonFiniteCoordinateError, match="row 1"):
        measure(f)


def test_a1_4_repair__a_lot_corner_that_is_not_a_number_is_refused():
    parcels = layer([(LOT, "R1"), (shapely.from_wkt("POLYGON ((50 0, nan 0, 100 100, 50 100, 50 0))"), "R2")],
                    "parcel_id")
    f = layer([(box(10, 10, 40, 50), "roof")], "feature_type")
    with pytest.raises(gis.NonFiniteCoordinateError, match=r"parcels .*row 2\b"):
        gis.measure_lots(parcels, f)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a1_4_repair__water_with_a_corner_that_is_not_a_number_is_refused_not_guessed(value):
    """Where the water lies decides what a dock bills (SPEC A1.1): a guessed shore is no shore."""
    f = layer([(box(10, 10, 40, 50), "dock")], "feature_type")
    water = layer([box(200, 0, 300, 100), shapely.from_wkt(f"POLYGON ((0 0, {value} 0, 60 100, 0 100, 0 0))")])
    with pytest.raises(gis.NonFiniteCoordinateError, match=r"water layer .*row 2\b") as err:
        gis.measure_lots(layer([(LOT, "R1")], "parcel_id"), f, water)
    assert (err.value.role, err.value.rows) == ("water", (1,))


def test_a1_overwater__points_and_lines_in_the_water_layer_hold_no_water():
    """A water layer that mixes a river's centre line with its ponds: the ponds count, the line
    (no area) is left out, and nothing breaks."""
    f = layer([(box(10, 60, 50, 120), "dock"), (box(10, 10, 50, 50), "roof")], "feature_type")
    water = layer([shapely.LineString([(-100, 80), (300, 80)]), box(30, 90, 60, 150),
                   shapely.MultiPoint([(20, 70), (25, 75)]),
                   shapely.GeometryCollection([shapely.LineString([(0, 100), (40, 100)])])])
    _, lot = measure(f, water)
    # LOT is 50 x 100: the dock's part on it is 40 x 40, of which 20 x 10 is over the pond
    assert lot.overwater_excluded_sqft == pytest.approx(20 * 10)
    assert lot.billable_area_sqft == pytest.approx(40 * 40 + 40 * 40 - 20 * 10)


def test_a1_4_repair__finite_outlines_that_cross_themselves_are_still_repaired():
    bowtie = shapely.from_wkt("POLYGON ((10 10, 40 40, 40 10, 10 40, 10 10))")
    _, lot = measure(layer([(bowtie, "roof")], "feature_type"))
    assert lot.billable_area_sqft == pytest.approx(450.0)
    assert lot.repaired


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_a1_4_repair__non_finite_finds_every_corner_that_is_not_a_number_and_nothing_else():
    """The test that keeps guesses out of the bill: NaN or infinity anywhere, in any kind of shape,
    is found; huge but finite numbers, empty and missing shapes are not flagged."""
    from gis.repair import non_finite

    nan, inf = float("nan"), float("inf")
    shapes = np.array([
        shapely.box(0, 0, 1, 1), None, shapely.Polygon(), shapely.box(0, 0, 1e300, 1e300),
        shapely.Polygon([(0, 0), (1, 0), (1, nan), (0, 1)]), shapely.Polygon([(0, 0), (inf, 0), (1, 1)]),
        shapely.Polygon([(0, 0), (-inf, 0), (1, 1)]), shapely.LineString([(0, 0), (nan, 1)]), shapely.Point(1, nan),
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.Polygon([(5, 5), (6, 5), (nan, 6)])]),
        shapely.Polygon(shapely.box(0, 0, 9, 9).exterior, [[(1, 1), (2, 1), (2, nan), (1, 2)]]),
    ], dtype=object)
    assert non_finite(shapes).tolist() == [False] * 4 + [True] * 7
    assert non_finite(np.array([], dtype=object)).tolist() == []


# The spec is silent on lots whose outlines overlap (stacked condominium units, a parcel drawn
# twice): each is measured with the surfaces on it, so a surface under both is billed on both.
# The engine marks such lots so that a billing analyst sees it (README, "Lots that overlap").


def test_lots_that_overlap__a_surface_on_two_stacked_lots_marks_both_and_bills_each():
    parcels = layer([(box(0, 0, 100, 100), "A"), (box(0, 0, 100, 100), "B"), (box(100, 0, 200, 100), "C")],
                    "parcel_id")
    f = layer([(box(10, 10, 50, 50), "roof"), (box(120, 10, 150, 90), "driveway")], "feature_type")
    lots = gis.measure_lots(parcels, f).lots.set_index("parcel_id")
    assert lots.overlaps_another_lot.to_dict() == {"A": True, "B": True, "C": False}
    assert lots.billable_area_sqft.to_dict() == {"A": 1600.0, "B": 1600.0, "C": 2400.0}


def test_lots_that_overlap__a_third_lot_under_the_same_driveway_is_not_marked():
    parcels = layer([(box(0, 0, 100, 100), "A"), (box(0, 0, 100, 100), "B"), (box(100, 0, 200, 100), "C")],
                    "parcel_id")
    drive = layer([(box(80, 40, 130, 60), "driveway")], "feature_type")
    lots = gis.measure_lots(parcels, drive).lots.set_index("parcel_id")
    assert lots.overlaps_another_lot.to_dict() == {"A": True, "B": True, "C": False}
    assert lots.billable_area_sqft.to_dict() == {"A": 400.0, "B": 400.0, "C": 600.0}


def test_lots_that_overlap__lots_that_only_share_a_line_are_not_marked():
    parcels = layer([(box(0, 0, 100, 100), "A"), (box(100, 0, 200, 100), "B")], "parcel_id")
    shared = shapely.Polygon([(80, 40), (130, 40), (115, 70), (80, 60)])  # a driveway across the line
    lots = gis.measure_lots(parcels, layer([(shared, "driveway")], "feature_type")).lots
    assert not lots.overlaps_another_lot.any()
    assert lots.billable_area_sqft.sum() == pytest.approx(shared.area)


def test_lots_that_overlap__a_sliver_under_a_surface_marks_both_only_past_one_square_foot():
    drive = box(90, 40, 110, 60)
    for gap, marked in ((0.04, False), (0.2, True)):  # 0.8 and 4 sq ft of the driveway on both lots
        parcels = layer([(box(0, 0, 100 + gap, 100), "A"), (box(100, 0, 200, 100), "B")], "parcel_id")
        lots = gis.measure_lots(parcels, layer([(drive, "driveway")], "feature_type")).lots
        assert lots.overlaps_another_lot.tolist() == [marked, marked]


# A lot is an outline; a parcels row that is a point or a line has no area to bill on.


def test_lots_without_area__points_and_lines_measure_nothing_and_do_not_stop_the_others():
    parcels = layer([(box(0, 0, 100, 100), "A"), (shapely.LineString([(100, 0), (200, 100)]), "B"),
                     (shapely.Point(150, 50), "C"), (shapely.MultiLineString([[(0, 0), (9, 9)]]), "D"),
                     (shapely.MultiPoint([(1, 1), (2, 2)]), "E"),
                     (shapely.GeometryCollection([shapely.Point(5, 5), box(100, 0, 200, 100)]), "F")],
                    "parcel_id")
    f = layer([(box(10, 10, 50, 50), "roof"), (box(120, 10, 150, 90), "driveway")], "feature_type")
    lots = gis.measure_lots(parcels, f).lots.set_index("parcel_id")
    assert lots.billable_area_sqft.to_dict() == {"A": 1600.0, "B": 0.0, "C": 0.0, "D": 0.0, "E": 0.0, "F": 2400.0}
    assert lots.n_features.to_dict() == {"A": 1, "B": 0, "C": 0, "D": 0, "E": 0, "F": 1}


def test_polygonal__keeps_only_polygon_parts_of_every_kind():
    from gis.repair import polygonal

    shapes = np.array([box(0, 0, 1, 1), shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 1)]),
                       shapely.MultiPoint([(0, 0), (1, 1)]), shapely.MultiLineString([[(0, 0), (1, 1)]]),
                       shapely.MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]), None,
                       shapely.GeometryCollection([shapely.Point(5, 5)])], dtype=object)
    kept = polygonal(shapes)
    assert [None if g is None else g.geom_type for g in kept] == [
        "Polygon", None, None, None, None, "MultiPolygon", None, None]
