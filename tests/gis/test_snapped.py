"""Outlines snapped to the lot lines, checked against a lot-by-lot shapely reference.

Real impervious layers are often drawn on the parcel layer's own vertices: a
parking area from lot corner to lot corner, a garage on the zero lot line, a
river bank along the back lines.  Shapes then pass exactly through the corners
of the rectangles the engine clips to (a lot's or a feature's bounds), where
GEOS's fast rectangle clipping (``clip_by_rect``) can return a valid polygon of
the wrong area.  Every scene here is on a grid of 8 ft, with features whose
vertices are lot corners, and must agree with the lot-by-lot shapely reference of
:mod:`tests.gis.test_measure_random` on each column.
"""

from __future__ import annotations

import numpy as np
import pytest

import shapely

import gis
from gis import overlay
from gis.overlay import clip_each
from tests.conftest import layer
from tests.gis.test_measure_random import TOL, TYPES, assert_agrees_with_reference

#: Polygons whose outline runs through a corner of the rectangle (0, 0, 64, 64), each of
#: which ``shapely.clip_by_rect`` (GEOS 3.14.1) clips to a valid polygon of the wrong area.
THROUGH_A_CORNER = [
    "POLYGON ((0 0, 0 64, 32 32, 64 64, 64 0, 0 0))",  # a W: 1,024 of its 3,072 sq ft
    "POLYGON ((0 0, 0 64, 32 60, 64 64, 64 0, 0 0))",
    "POLYGON ((48 16, 48 48, 64 64, 16 64, 0 64, 0 0, 64 0, 48 16))",
    "POLYGON ((16 48, 80 64, 0 80, -16 -16, 64 0, 16 48))",
    "POLYGON ((64 0, 32 16, 80 16, 80 80, 64 80, 0 80, -16 -16, 64 0))",
    "POLYGON ((64 -16, 80 64, 80 80, 32 32, 16 80, 0 80, 0 0, -16 0, 64 -16))",
    "POLYGON ((0 64, 80 64, 64 -16, -16 0, 64 32, 0 64))",
]


@pytest.mark.parametrize("wkt", THROUGH_A_CORNER)
def test_clip_each__an_outline_through_a_corner_of_the_rectangle_is_clipped_exactly(wkt):
    g = shapely.from_wkt(wkt)
    box = shapely.box(0, 0, 64, 64)
    assert shapely.clip_by_rect(g, 0, 0, 64, 64).area != pytest.approx(g.intersection(box).area)  # the trap
    got = clip_each(np.array([g]), np.array([[0.0, 0.0, 64.0, 64.0]]))[0]
    assert got.area == pytest.approx(g.intersection(box).area, abs=1e-9)
    assert got.symmetric_difference(g.intersection(box)).area < 1e-9


@pytest.mark.parametrize("wkt", THROUGH_A_CORNER)
def test_clip_each__a_large_outline_through_a_corner_is_clipped_exactly(wkt):
    """The same outlines with a vertex every 1/8 ft (over :data:`gis.overlay.BIG_SHAPE`
    coordinates: a street parcel's size), each clipped to the rectangle and to rectangles
    whose sides run along its edges, in one call: the large-shape check (edges near each
    rectangle only) catches every wrong rectangle clip."""
    g = shapely.segmentize(shapely.from_wkt(wkt), 0.125)
    assert shapely.get_num_coordinates(g) > overlay.BIG_SHAPE
    rects = np.array([[0.0, 0, 64, 64], [0, 0, 32, 64], [32, 0, 64, 64], [16, 16, 48, 48], [-16, 0, 80, 64],
                      [0, 32, 64, 80]])
    got = clip_each(np.array([g] * len(rects)), rects)
    for clip, r in zip(got, rects, strict=True):
        want = g.intersection(shapely.box(*r))
        assert (0.0 if clip is None else clip.area) == pytest.approx(want.area, abs=1e-9)
        assert want.symmetric_difference(clip).area < 1e-9


def test_local_clip_area__equals_the_overlay_on_snapped_and_free_outlines():
    """The area of a large shape inside each rectangle from its nearby edges (Green's theorem)
    against GEOS's overlay: stars with holes and islands, on an 4 ft grid (vertices on the
    rectangles' sides, edges along them) and off it."""
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(60):
        k = int(rng.integers(40, 400))
        angle = np.sort(rng.uniform(0, 2 * np.pi, k))
        radius = rng.uniform(20, 100, k)
        xy = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
        snap = rng.random() < 0.6
        if snap:
            xy = np.round(xy / 4) * 4
        g = shapely.make_valid(shapely.Polygon(xy), method="structure", keep_collapsed=False)
        g = shapely.union(shapely.difference(g, shapely.box(-12, -12, 12, 12)), shapely.box(-4, -4, 4, 4))
        if not g.is_valid or g.is_empty:
            continue
        lo, size = rng.uniform(-110, 100, (20, 2)), rng.uniform(0.5, 120, (20, 2))
        if snap:
            lo, size = np.round(lo / 4) * 4, np.round(size / 4) * 4 + 4
        rects = np.c_[lo, lo + size]
        got = overlay.local_clip_area(np.array([g] * len(rects)), rects)
        want = shapely.area(shapely.intersection(g, shapely.box(*rects.T)))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-7)
        checked += len(rects)
    assert checked > 800


def test_clip_each__a_thin_spike_into_the_rectangle_is_not_the_whole_rectangle():
    """A sliver triangle whose tip enters the rectangle by a ten-millionth of a foot: GEOS's
    rectangle clipping returns the whole 2,304 sq ft rectangle."""
    spike = shapely.from_wkt("POLYGON ((3e-12 3e-12, 16.0000001 31.999999999, 1e-7 3e-12, 3e-12 3e-12))")
    rect = np.array([[16.0, 16.0, 64.0, 64.0]])
    assert shapely.clip_by_rect(spike, *rect[0]).area == pytest.approx(2304.0)  # the trap
    got = clip_each(np.array([spike]), rect)[0]
    assert (0.0 if got is None else got.area) == pytest.approx(0.0, abs=1e-9)


def test_clip_each__a_shape_the_rectangle_clipping_fails_on_is_clipped_by_the_overlay():
    """GEOS's rectangle clipping raises for this valid shape (a ring of three points once
    clipped); the overlay clips it, and the other shapes of the call are still clipped."""
    shape = shapely.from_wkt("MULTIPOLYGON (((7650032 7650080, 7650032 7650032, 7650024 7650040, 7650024 7650064, "
                             "7650016 7650064, 7650032 7650080)), ((7650032 7650000, 7650024 7650012, "
                             "7650024 7650016.000000001, 7650032 7650000)))")
    rect = [7650000.0, 7650016.0, 7650032.0, 7650048.0]
    assert shape.is_valid
    with pytest.raises(shapely.errors.GEOSException):
        shapely.clip_by_rect(shape, *rect)
    other = shapely.Polygon([(7650000, 7650000), (7650040, 7650030), (7650010, 7650040), (7650020, 7650020)])
    got = clip_each(np.array([shape, other]), np.array([rect, rect]))
    for g, want in zip(got, (shape, other), strict=True):
        assert g.symmetric_difference(want.intersection(shapely.box(*rect))).area < 1e-6


def test_measure__a_paved_lot_with_a_notch_from_corner_to_corner_bills_the_paving():
    """A lot paved from its back corners to its front corners, less a V of lawn at the back:
    3,968 sq ft paved (the rectangle clip gave 128)."""
    paved = shapely.Polygon([(0, 0), (0, 64), (32, 60), (64, 64), (64, 0)])
    parcels = layer([(shapely.box(0, 0, 64, 64), "L0")], "parcel_id")
    m = gis.measure_lots(parcels, layer([(paved, "parking")], "feature_type"))
    row = m.lot("L0")
    assert row["billable_area_sqft"] == pytest.approx(3968.0, abs=TOL)
    assert row["outside_parcel_sqft"] == pytest.approx(0.0, abs=TOL)


def test_measure__water_through_a_lot_s_corners_is_taken_off_exactly():
    """A floating home's deck over the whole lot, with the water's edge a V from corner to corner."""
    water = shapely.Polygon([(0, 0), (0, 64), (32, 60), (64, 64), (64, 0)])
    parcels = layer([(shapely.box(0, 0, 64, 64), "L0")], "parcel_id")
    m = gis.measure_lots(parcels, layer([(shapely.box(0, 0, 64, 64), "dock")], "feature_type"),
                         layer([(water, "river")], "kind"))
    row = m.lot("L0")
    assert row["overwater_excluded_sqft"] == pytest.approx(3968.0, abs=TOL)
    assert row["billable_area_sqft"] == pytest.approx(128.0, abs=TOL)


def snapped_scene(seed: int):
    """Six lots on an 8 ft grid (boxes, L shapes and notched lots that tile a row), 30 features
    whose vertices are lot corners or grid points, and a river whose bank runs through lot corners."""
    rng = np.random.default_rng(seed)
    xs = np.concatenate([[0], np.cumsum(rng.integers(5, 9, 6) * 8)])
    lots, taken = [], shapely.Polygon()
    for i in range(6):
        x0, x1 = float(xs[i]), float(xs[i + 1])
        kind = rng.integers(3)
        if kind == 0:
            poly = shapely.box(x0, 0, x1, 96)
        elif kind == 1:  # L: a jog in the right line
            poly = shapely.Polygon([(x0, 0), (x1, 0), (x1, 48), (x1 + 16, 48), (x1 + 16, 96), (x0, 96)])
        else:  # a V notch in the back line, corner to corner
            poly = shapely.Polygon([(x0, 0), (x1, 0), (x1, 96), ((x0 + x1) / 2, 80), (x0, 96)])
        part = poly.difference(taken)
        part = max(shapely.get_parts(part), key=lambda g: g.area) if part.geom_type != "Polygon" else part
        lots.append(part)
        taken = taken.union(part)
    corners = np.unique(np.concatenate([shapely.get_coordinates(g) for g in lots]), axis=0)
    span = float(xs[-1])
    feats = []
    while len(feats) < 30:
        roll = rng.random()
        if roll < 0.25:  # paved from corner to corner of a lot's bounds, less a V of lawn on one side
            x0, y0, x1, y1 = lots[rng.integers(len(lots))].bounds
            dip = float(rng.integers(1, 5) * 8)
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            g = shapely.Polygon([[(x0, y0), (x0, y1), (mx, y1 - dip), (x1, y1), (x1, y0)],  # the V at the back
                                 [(x0, y0), (x0, y1), (x1, y1), (x1, y0), (mx, y0 + dip)],  # at the front
                                 [(x0, y0), (x0, y1), (x1, y1), (x1 - dip, my), (x1, y0)],  # on the right
                                 [(x0, y0), (x0 + dip, my), (x0, y1), (x1, y1), (x1, y0)]][rng.integers(4)])
            if not g.is_valid:
                continue
        elif roll < 0.6:  # a polygon on lot corners and grid points
            n = rng.integers(3, 7)
            pts = np.where(rng.random((n, 1)) < 0.6, corners[rng.integers(len(corners), size=n)],
                           rng.integers(-1, int(span / 8) + 2, size=(n, 2)) * 8.0)
            g = shapely.make_valid(shapely.Polygon(pts)) if n >= 3 else None
            parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area > 0] if g else []
            if not parts:
                continue
            g = max(parts, key=lambda p: p.area)
        else:  # a box from one lot corner to another corner or grid point
            a, b = corners[rng.integers(len(corners))], rng.integers(-1, int(span / 8) + 2, size=2) * 8.0
            if a[0] == b[0] or a[1] == b[1]:
                continue
            g = shapely.box(min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
        feats.append((g, TYPES[rng.integers(len(TYPES))]))
    bank = [tuple(corners[rng.integers(len(corners))]) for _ in range(3)]
    bank = [*sorted(bank), (span + 40, 88.0)]
    river = shapely.make_valid(shapely.Polygon([(-40, 88.0), *bank, (span + 40, 300), (-40, 300)]))
    river = max(shapely.get_parts(river), key=lambda p: p.area)
    return lots, feats, river


@pytest.mark.parametrize("seed", range(40))
def test_measure__snapped_scenes_agree_with_shapely_on_every_column(seed):
    assert_agrees_with_reference(*snapped_scene(seed), seed)
