"""The compiled validity test (:mod:`gis.validity`) gives GEOS's answer on every kind of outline.

It may only ever say "surely valid" for a polygon GEOS calls valid; an
outline it is unsure of goes to GEOS.  A wrong "valid" would let a bow-tie
or a self-touching outline skip its repair and be billed by its crossing
edges, so the hostile cases are the degenerate ones: touching, spikes,
collinear overlaps, repeated points, coordinates that are not numbers,
near-misses at real state-plane coordinates.
"""

from __future__ import annotations

import numpy as np
import pytest

import shapely
from shapely import affinity

import gis.validity as validity
from tests.conftest import DATA
from tests.gis.test_clip import random_shapes

X0, Y0 = 7_645_000.0, 684_000.0  # Portland, EPSG:2913: real coordinates, far from the origin


@pytest.fixture(autouse=True)
def _compiled_for_any_number(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(validity, "JIT_MIN_SHAPES", 0)
    monkeypatch.setattr(validity, "JIT_MIN_SHAPES_COLD", 0)


def ring(*xy, at=(X0, Y0)):
    return shapely.Polygon(np.array(xy, dtype=float) + at)


HOSTILE = {
    "bow tie": ring((0, 0), (10, 10), (10, 0), (0, 10)),
    "spike out of an edge": ring((0, 0), (10, 0), (10, 10), (5, 10), (5, 20), (5, 10), (0, 10)),
    "spike back along the last edge": ring((0, 0), (10, 0), (10, 10), (0, 10), (0, 5), (0, 8)),
    "ring touching itself at a vertex": ring((0, 0), (10, 0), (5, 5), (10, 10), (0, 10), (5, 5)),
    "vertex on another edge": ring((0, 0), (10, 0), (10, 10), (5, 0.0), (0, 10)),
    "collinear edges overlapping": ring((0, 0), (10, 0), (10, 5), (4, 0), (2, 0), (0, 5)),
    "three points in line": ring((0, 0), (5, 0), (10, 0)),
    "two distinct points": ring((0, 0), (10, 0), (10, 0), (0, 0)),
    "not a number": ring((0, 0), (10, 0), (np.nan, 10), (0, 10)),
    "infinite": ring((0, 0), (10, 0), (np.inf, 10), (0, 10)),
    "crossing by a millionth": ring((0, 0), (10, 0), (10, 10), (5, -1e-6), (0, 10)),
    "the last but one edge crossing the first": ring((0, 0), (10, 0), (10, 10), (0, 10), (3, -3)),
}

def holed(shell, hole):
    return shapely.Polygon(shell.exterior.coords, [hole.exterior.coords])


SQUARE = ring((0, 0), (10, 0), (10, 10), (0, 10))
HOSTILE["a hole crossing its shell"] = holed(SQUARE, ring((5, 5), (15, 5), (15, 8), (5, 8)))
HOSTILE["two parts overlapping"] = shapely.MultiPolygon([SQUARE, ring((5, 5), (15, 5), (15, 8), (5, 8))])

FINE = {
    "triangle": ring((0, 0), (10, 0), (0, 10)),
    "repeated points": ring((0, 0), (10, 0), (10, 0), (10, 10), (0, 10), (0, 10)),
    "a vertex in line": ring((0, 0), (5, 0), (10, 0), (10, 10), (0, 10)),
    "missing a crossing by a millionth": ring((0, 0), (10, 0), (10, 10), (5, 1e-6), (0, 10)),
    "a thin sliver": ring((0, 0), (50, 0.001), (50, 0.002)),
    "an L": ring((0, 0), (10, 0), (10, 4), (4, 4), (4, 10), (0, 10)),
    "a one-part multipolygon": shapely.MultiPolygon([SQUARE]),
    # valid for GEOS; several rings, so the compiled test must leave them to it
    "a hole starting at the shell's first point": holed(SQUARE, ring((0, 0), (5, 2), (2, 5))),
    "a hole inside": holed(SQUARE, ring((2, 2), (5, 2), (2, 5))),
    "two parts sharing their first point": shapely.MultiPolygon([SQUARE, ring((0, 0), (-5, 0), (-5, -5))]),
    "two parts apart": shapely.MultiPolygon([SQUARE, ring((20, 0), (25, 0), (25, 5))]),
}
MANY_RINGS = ("a hole starting at the shell's first point", "a hole inside", "two parts sharing their first point",
              "two parts apart")


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("name", HOSTILE)
def test_is_valid__a_hostile_outline_is_never_vouched_for(name):
    geoms = np.array([HOSTILE[name]] * 3, dtype=object)
    assert not shapely.is_valid(geoms).any()
    assert not validity.surely_simple_polygons(geoms).any()
    assert not validity.is_valid(geoms).any()


@pytest.mark.parametrize("name", FINE)
def test_is_valid__a_simple_outline_is_valid(name):
    geoms = np.array([FINE[name]], dtype=object)
    assert validity.is_valid(geoms).tolist() == [True]


def test_is_valid__most_simple_outlines_need_no_geos():
    geoms = np.array([FINE[k] for k in FINE if k not in MANY_RINGS], dtype=object)
    assert validity.surely_simple_polygons(geoms).all()


def test_is_valid__shapes_of_several_rings_are_left_to_geos():
    geoms = np.array([FINE[k] for k in MANY_RINGS], dtype=object)
    assert not validity.surely_simple_polygons(geoms).any()
    assert validity.is_valid(geoms).all()


def test_is_valid__random_outlines_on_a_small_grid_give_geos_answers():
    """Vertices on a 4 x 4 grid: touching, collinear, repeated and crossing rings by the thousand."""
    rng = np.random.default_rng(3)
    shapes = []
    for _ in range(6_000):
        n = int(rng.integers(3, 9))
        xy = rng.integers(0, 4, (n, 2)).astype(float) * 3.5
        shapes.append(shapely.Polygon(np.r_[xy, xy[:1]] + (X0, Y0)))
    geoms = np.array(shapes, dtype=object)
    want = shapely.is_valid(geoms)
    assert 300 < want.sum() < 5_700  # both answers are tested, many times
    sure = validity.surely_simple_polygons(geoms)
    assert not (sure & ~want).any()
    assert sure.sum() > 0.5 * want.sum()
    np.testing.assert_array_equal(validity.is_valid(geoms), want)


def test_is_valid__every_kind_of_shape_and_missing_ones_give_geos_answers():
    rng = np.random.default_rng(5)
    shapes = list(random_shapes(rng, 140)) + list(HOSTILE.values()) + [
        None, shapely.Polygon(), shapely.Point(X0, Y0), shapely.LineString([(X0, Y0), (X0 + 1, Y0)]),
        shapely.GeometryCollection([FINE["an L"]]),
        affinity.rotate(HOSTILE["bow tie"], 33),
        shapely.Polygon([(X0, Y0, 1), (X0 + 5, Y0, 2), (X0 + 5, Y0 + 5, 3)]),
    ]
    geoms = np.array(shapes, dtype=object)
    np.testing.assert_array_equal(validity.is_valid(geoms), shapely.is_valid(geoms))


def test_is_valid__the_real_cambridge_outlines_give_geos_answers():
    import geopandas as gpd

    feats = gpd.read_file(DATA / "cambridge_subset.gpkg", layer="features").geometry.to_numpy()
    lots = gpd.read_file(DATA / "cambridge_subset.gpkg", layer="parcels").geometry.to_numpy()
    geoms = np.r_[feats, lots, affinity.rotate(shapely.GeometryCollection(list(feats)), 30).geoms]
    want = shapely.is_valid(geoms)
    sure = validity.surely_simple_polygons(geoms)
    assert sure.mean() > 0.8
    np.testing.assert_array_equal(validity.is_valid(geoms), want)


def test_is_valid__without_numba_geos_answers_alone(monkeypatch):
    monkeypatch.setattr(validity, "USE_JIT", False)
    geoms = np.array(list(FINE.values()) + list(HOSTILE.values()), dtype=object)
    assert not validity.surely_simple_polygons(geoms).any()
    np.testing.assert_array_equal(validity.is_valid(geoms), shapely.is_valid(geoms))


def test_is_valid__a_small_call_in_a_process_without_numba_does_not_load_it():
    """Loading numba costs a process about 0.35 s: a homeowner's lot, or a chunk of boxes, never pays it."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, shapely, gis.validity as v; "
            "g = np.array([shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 2)])] * 6000); "
            "assert v.is_valid(g).all(); print('numba' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_is_valid__long_rings_crossing_or_touching_once_are_never_vouched_for():
    """Rings of hundreds of edges are swept, not paired: one crossing, one touch, one spike among 2,000 edges."""
    t = np.linspace(0, 2 * np.pi, 2_000, endpoint=False)
    r = 50 + 10 * np.sin(7 * t)
    xy = np.c_[X0 + r * np.cos(t), Y0 + r * np.sin(t)]
    crossing = xy.copy()
    crossing[[500, 501]] = crossing[[501, 500]]  # two neighbours swapped: their edges cross
    touching = np.insert(xy, 1000, xy[10], axis=0)  # the ring comes back to one of its vertices
    spike = np.insert(xy, 301, [xy[300] + (0, 30), xy[300]], axis=0)  # out and back along one line
    geoms = np.array([shapely.Polygon(c) for c in (xy, crossing, touching, spike)], dtype=object)
    assert shapely.is_valid(geoms).tolist() == [True, False, False, False]
    assert validity.surely_simple_polygons(geoms).tolist() == [True, False, False, False]
    assert validity.is_valid(geoms).tolist() == [True, False, False, False]


def test_is_valid__a_comb_whose_edges_all_overlap_is_left_to_geos():
    """Bounded work: 4,000 zigzag edges all spanning the same x-range would be paired all with all."""
    teeth = [(100.0 * (k % 2), float(k)) for k in range(4_000)]
    comb = shapely.Polygon([(X0 + x, Y0 + y) for x, y in [*teeth, (-10, 3_999), (-10, 0)]])
    geoms = np.array([comb], dtype=object)
    assert shapely.is_valid(geoms).tolist() == [True]
    assert validity.surely_simple_polygons(geoms).tolist() == [False]
    assert validity.is_valid(geoms).tolist() == [True]
