"""The array and compiled overlap areas of :mod:`gis.clip` against GEOS.

``area(A ∩ B)`` as sums of strips under B's edges must equal GEOS's
``intersection(A, B).area`` for any valid polygons: non-convex, with holes,
multi-part, with collinear or repeated vertices, sharing edges, slivers, and
shapes of thousands of vertices, far from the origin as real coordinates are.
Both implementations are checked: the numba kernel and the array code of
``overlay_area`` (its reference where numba is missing).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import shapely
from shapely import affinity

import gis
import gis.clip as clip
from tests.conftest import DATA, layer
from tests.gis.test_measure_random import reference, scene

#: Agreement with GEOS: both round coordinates of about 3e6 ft to 5e-10 ft, which moves
#: an area by up to about 1e-8 sq ft; far below the 0.01 sq ft the engine promises
ABS, REL = 1e-7, 1e-9


def assert_close(ours, theirs, a, b):
    scale = np.minimum(shapely.area(a), shapely.area(b))
    np.testing.assert_array_less(np.abs(ours - theirs), ABS + REL * scale)


def star(rng, centre, n, r0, r1):
    """A random star-shaped (so simple, often non-convex) polygon of ``n`` vertices."""
    angles = (np.arange(n) + rng.uniform(0, 0.9, n)) * 2 * np.pi / n  # no gap of half a turn
    radii = rng.uniform(r0, r1, n)
    return shapely.Polygon(np.c_[centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)])


def random_shapes(rng, n, far=(712_000.0, 2_950_000.0)):
    """``n`` random valid polygonal shapes of all the kinds the engine meets, near ``far``."""
    out = []
    for i in range(n):
        c = np.array(far) + rng.uniform(0, 60, 2)
        kind = i % 7
        if kind == 0:
            g = star(rng, c, int(rng.integers(4, 40)), 5, 30)
        elif kind == 1:  # with a hole
            g = shapely.Polygon(shapely.box(*(c - 25), *(c + 25)).exterior.coords,
                                [star(rng, c, 12, 3, 10).exterior.coords])
        elif kind == 2:  # two parts
            g = shapely.MultiPolygon([star(rng, c, 8, 4, 12), star(rng, c + 40, 9, 4, 12)])
        elif kind == 3:  # a rotated rectangle with collinear and repeated vertices
            b = shapely.box(*(c - np.r_[20, 8]), *(c + np.r_[20, 8]))
            xy = np.array(b.exterior.coords)
            xy = np.insert(xy, [1, 1, 3], [(xy[0] + xy[1]) / 2, (xy[0] + xy[1]) / 2, xy[2]], axis=0)
            g = affinity.rotate(shapely.Polygon(xy), rng.uniform(0, 90), origin=tuple(c))
        elif kind == 4:  # a sliver
            g = shapely.Polygon([c, c + np.r_[50, 0.001], c + np.r_[50, 0.002]])
        elif kind == 5:  # many vertices (a river bank, a street parcel)
            g = star(rng, c, 2_000, 20, 28)
        else:
            g = affinity.rotate(shapely.box(*(c - 10), *(c + 10)), rng.uniform(0, 90))
        assert g.is_valid, g
        out.append(g)
    return np.array(out, dtype=object)


def geos_areas(a, b):
    return shapely.area(shapely.intersection(a, b))


def test_clip__random_shapes_of_every_kind_give_geos_areas(path):
    rng = np.random.default_rng(7)
    a, b = random_shapes(rng, 700), random_shapes(rng, 700)
    b = b[rng.permutation(len(b))]
    ours, theirs = clip.intersection_areas(a, b), geos_areas(a, b)
    assert (theirs > 0).sum() > 300  # the test does measure overlaps
    assert_close(ours, theirs, a, b)


def test_clip__the_array_code_gives_geos_areas_for_every_kind_of_shape(monkeypatch):
    """``overlay_area`` without numba and without a size limit (thousands of vertices)."""
    monkeypatch.setattr(clip, "USE_JIT", False)
    rng = np.random.default_rng(3)
    a, b = random_shapes(rng, 140), random_shapes(rng, 140)[::-1]
    got = clip.overlay_area(clip.rings_of(a), np.arange(140), clip.rings_of(b), np.arange(140),
                            max_row_vertices=10**9)
    assert_close(got, geos_areas(a, b), a, b)


def test_clip__shapes_that_share_an_edge_or_a_corner_overlap_by_exactly_zero(path):
    rng = np.random.default_rng(11)
    a, b = [], []
    for _ in range(300):
        c = np.array([712_345.678, 2_950_123.456]) + rng.uniform(0, 100, 2)
        lot = affinity.rotate(shapely.box(*c, *(c + np.r_[30, 60])), rng.uniform(0, 180), origin=tuple(c))
        xy = np.array(lot.exterior.coords)
        # a walkway on the far side of the lot's first edge, sharing it; and a triangle
        # in the outward quadrant of its third corner, sharing that corner only
        out = xy[0] - (xy[3] - xy[0]) * 0.2
        u, v = (xy[2] - xy[1]) / 60, (xy[2] - xy[3]) / 30
        a += [lot, lot]
        b += [shapely.Polygon([xy[0], out, out + (xy[1] - xy[0]), xy[1]]),
              shapely.Polygon([xy[2], xy[2] + 5 * u, xy[2] + 5 * (u + v)])]
    a, b = np.array(a, dtype=object), np.array(b, dtype=object)
    assert shapely.intersects(a, b).all()
    assert (geos_areas(a, b) == 0).all()
    assert (clip.intersection_areas(a, b) == 0).all()


def test_clip__indexed_pairs_give_the_areas_of_the_pairs_they_name(path):
    rng = np.random.default_rng(5)
    a, b = random_shapes(rng, 60), random_shapes(rng, 40)
    ia, ib = rng.integers(0, 60, 3_000), rng.integers(0, 40, 3_000)
    assert_close(clip.intersection_areas(a, b, ia, ib), geos_areas(a[ia], b[ib]), a[ia], b[ib])


def test_clip__missing_empty_and_non_polygon_shapes_overlap_nothing(path):
    sq = shapely.box(0, 0, 10, 10)
    a = np.array([sq, None, shapely.Polygon(), sq, sq], dtype=object)
    b = np.array([None, sq, sq, shapely.LineString([(0, 0), (5, 5)]), shapely.Point(1, 1)], dtype=object)
    assert clip.intersection_areas(np.tile(a, 500), np.tile(b, 500)).tolist() == [0.0] * 2_500


def test_clip__rings_of_splits_holes_and_parts_and_gives_their_areas():
    poly = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (2, 4), (4, 4), (4, 2)]])
    multi = shapely.MultiPolygon([shapely.box(20, 0, 21, 1), shapely.box(30, 0, 32, 1)])
    r = clip.rings_of(np.array([poly, None, multi, shapely.box(0, 0, 3, 3)], dtype=object))
    assert r.first.tolist() == [0, 2, 2, 4, 5]
    assert r.sign.tolist() == [1, -1, 1, 1, 1]
    assert r.area.tolist() == [96.0, 0.0, 3.0, 9.0]
    assert np.diff(r.start).tolist() == [4, 4, 4, 4, 4]


def test_clip__cambridge_lots_and_features_give_geos_areas(path):
    """Real outlines: every (feature, lot) pair of the Cambridge subset whose boxes meet."""
    gpd = pytest.importorskip("geopandas")
    gpkg = DATA / "cambridge_subset.gpkg"
    lots = gpd.read_file(gpkg, layer="parcels").to_crs(2249).geometry.to_numpy()
    feats = gpd.read_file(gpkg, layer="features").to_crs(2249).geometry.to_numpy()
    lots, feats = shapely.make_valid(lots), shapely.make_valid(feats)
    fi, li = shapely.STRtree(lots).query(feats)
    ours, theirs = clip.intersection_areas(feats[fi], lots[li]), geos_areas(feats[fi], lots[li])
    assert len(fi) > 1_000
    assert (theirs > 0).sum() > 500
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_clip__measure_lots_agrees_with_shapely_with_either_code_path(path, seed):
    """The engine's random dense scenes (tests/gis/test_measure_random.py) through both paths."""
    lot_shapes, feats, river = scene(seed)
    parcels = layer([(g, f"L{i}") for i, g in enumerate(lot_shapes)], "parcel_id")
    features = layer(feats, "feature_type")
    water = layer([(river, "river")], "kind")
    got = gis.measure_lots(parcels, features, water).lots.set_index("parcel_id")
    for i, ref in enumerate(reference(lot_shapes, feats, river)):
        for col in ("billable_area_sqft", "overlap_sqft", "overwater_excluded_sqft", "outside_parcel_sqft"):
            assert got.loc[f"L{i}", col] == pytest.approx(ref[col], abs=1e-6), (seed, i, col)


def test_clip__a_call_big_enough_for_the_kernel_uses_it_for_all_its_pairs(monkeypatch):
    """The pairs are split by which shape is smaller; each part, however small, stays with the kernel."""
    pytest.importorskip("numba")

    def no_array_code(*args):
        raise AssertionError("the array code ran where the kernel was chosen")

    monkeypatch.setattr(clip, "_strip_areas", no_array_code)
    rng = np.random.default_rng(2)
    shapes = random_shapes(rng, 70)
    ia, ib = rng.integers(0, 70, clip.JIT_MIN_PAIRS), rng.integers(0, 70, clip.JIT_MIN_PAIRS)
    n = shapely.get_num_coordinates(shapes)
    assert 0 < (n[ia] > n[ib]).sum() < clip.JIT_MIN_PAIRS / 2  # both parts below the threshold
    assert_close(clip.intersection_areas(shapes, shapes, ia, ib), geos_areas(shapes[ia], shapes[ib]),
                 shapes[ia], shapes[ib])


def test_rings_of__the_compiled_and_the_array_split_give_identical_rings(monkeypatch):
    """Bit for bit: holes, parts, a part starting where another ends, collinear and repeated points, empties."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(23)
    sq = shapely.box(712_000, 2_950_000, 712_010, 2_950_010)
    touching = shapely.MultiPolygon([sq, shapely.Polygon([(712_000, 2_950_000), (711_990, 2_950_000),
                                                          (711_990, 2_949_990)])])
    holed = shapely.Polygon(sq.exterior.coords, [[(712_000, 2_950_000), (712_005, 2_950_002), (712_002, 2_950_005)]])
    shapes = np.r_[random_shapes(rng, 210), [touching, holed, None, shapely.Polygon(), shapely.Point(0, 0)]]
    compiled = clip.rings_of(shapes)
    assert "gis.clip_jit" in sys.modules
    monkeypatch.setattr(clip, "USE_JIT", False)
    arrays = clip.rings_of(shapes)
    for name, a, b in zip(compiled._fields, compiled, arrays, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert compiled.first[-1] - compiled.first[-6] == 2 + 2  # two parts, a shell and its hole


def holey_lot_and_features(rng, n=12):
    """A lot with an n × n grid of holes, and small turned squares over hole edges, between
    holes and inside them (so that rings lie beside, below and above every feature)."""
    x0, y0 = 712_000.0, 2_950_000.0
    xs, ys = (a.ravel() for a in np.meshgrid(np.arange(n) * 20.0, np.arange(n) * 20.0))
    holes = shapely.get_exterior_ring(shapely.box(x0 + xs + 4, y0 + ys + 4, x0 + xs + 16, y0 + ys + 16))
    lot = shapely.polygons(shapely.get_exterior_ring(shapely.box(x0 - 5, y0 - 5, x0 + n * 20 + 5, y0 + n * 20 + 5)),
                           holes=holes)
    c = np.c_[x0 + rng.uniform(0, n * 20, 300), y0 + rng.uniform(0, n * 20, 300)]
    feats = np.array([affinity.rotate(shapely.box(*(p - 2.5), *(p + 2.5)), a)
                      for p, a in zip(c, rng.uniform(0, 90, 300), strict=True)])
    return lot, feats


def test_clip__rings_of_a_lot_far_from_the_feature_are_skipped_exactly():
    """The kernel skips a lot's rings whose boxes miss the feature's (a street parcel's holes
    round each walkway): pairs and triples keep GEOS's areas, to the engine's tolerance."""
    pytest.importorskip("numba")
    lot, feats = holey_lot_and_features(np.random.default_rng(5))
    lots = np.array([lot])
    fr, lr = clip.rings_of(feats), clip.rings_of(lots)
    k = np.arange(len(feats))
    pairs = clip.ring_pair_areas(fr, k, lr, np.zeros(len(k), dtype=np.int64), clip.compiled_kernel(10**6))
    assert_close(pairs, geos_areas(feats, lot), feats, np.full(len(feats), lot))
    a, b = k[:-1], k[1:]  # neighbours in the list overlap now and then
    triples = clip.ring_triple_areas(fr, a, fr, b, lr, np.zeros(len(a), dtype=np.int64))
    want = shapely.area(shapely.intersection(shapely.intersection(feats[a], feats[b]), lot))
    assert_close(triples, want, feats[a], feats[b])
    assert (pairs > 0).sum() > 100
    assert (pairs < shapely.area(feats) - 1e-6).sum() > 50  # many cross a hole's edge
