"""sba.bulk.boxes: the cluster run's Hilbert keys and routing from box arrays must be
exactly what geopandas and shapely's STRtree give for the box polygons (the chunks, and
so the table, depend on it)."""

from __future__ import annotations

import time

import numpy as np
import pytest

import geopandas as gpd
import shapely

from gis.overlay import axis_boxes
from sba.bulk import boxes
from sba.bulk.boxes import boxes_meeting, hilbert_distance


def random_boxes(rng, n: int, size: float = 10.0, missing: float = 0.05) -> np.ndarray:
    """Boxes on a 1000 x 1000 square: mostly small, some points and lines, a few huge, some NaN."""
    low = np.round(rng.uniform(0, 1000, (n, 2)), 1)
    extent = rng.exponential(size, (n, 2))
    extent[rng.random(n) < 0.02] *= 1000  # across much of the square
    extent[rng.random(n) < 0.05] = 0  # a point
    extent[rng.random(n) < 0.05, 0] = 0  # a vertical line
    b = np.hstack([low, low + np.round(extent, 1)])
    b[rng.random(n) < missing] = np.nan
    return b


def strtree_pairs(b: np.ndarray, extents: np.ndarray) -> set[tuple[int, int]]:
    """What the routing gave before: an STRtree of the extents' box polygons queried with the rows' boxes."""
    ok_b = np.flatnonzero(~np.isnan(b).any(axis=1))
    ok_e = np.flatnonzero(~np.isnan(extents).any(axis=1))
    if not len(ok_b) or not len(ok_e):
        return set()
    r, e = shapely.STRtree(shapely.box(*extents[ok_e].T)).query(shapely.box(*b[ok_b].T))
    return set(zip(ok_b[r].tolist(), ok_e[e].tolist(), strict=True))


def pairs(b: np.ndarray, extents: np.ndarray) -> list[tuple[int, int]]:
    r, e = boxes_meeting(b, extents)
    return list(zip(r.tolist(), e.tolist(), strict=True))


@pytest.mark.parametrize("seed", range(12))
def test_boxes_meeting__gives_the_strtree_s_pairs_each_once(join, seed):
    rng = np.random.default_rng(seed)
    b = random_boxes(rng, int(rng.integers(1, 3000)))
    extents = random_boxes(rng, int(rng.integers(1, 400)), size=float(rng.choice([1, 30, 300])))
    got = pairs(b, extents)
    expected = strtree_pairs(b, extents)
    assert len(expected) > 0
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_boxes_meeting__touching_boxes_meet_and_boxes_a_hair_apart_do_not(join):
    extents = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[10.0, 10.0, 12.0, 12.0],  # touches a corner
                  [np.nextafter(10.0, 11.0), 0.0, 12.0, 10.0],  # just right of it
                  [-5.0, -5.0, 0.0, 0.0],  # touches the other corner
                  [3.0, 3.0, 3.0, 3.0]])  # a point inside
    assert sorted(pairs(b, extents)) == [(0, 0), (2, 0), (3, 0)]
    assert set(pairs(b, extents)) == strtree_pairs(b, extents)


def test_boxes_meeting__no_extent_no_box_or_only_nan_gives_no_pairs(join):
    b = np.array([[0.0, 0.0, 1.0, 1.0]])
    nan = np.full((2, 4), np.nan)
    assert pairs(b, np.empty((0, 4))) == []
    assert pairs(np.empty((0, 4)), b) == []
    assert pairs(nan, b) == []
    assert pairs(b, nan) == []


def test_boxes_meeting__all_extents_on_one_point_still_meet_the_boxes_on_it(join):
    extents = np.array([[5.0, 5.0, 5.0, 5.0]] * 3)
    b = np.array([[5.0, 5.0, 5.0, 5.0], [4.0, 4.0, 5.0, 5.0], [5.5, 5.0, 6.0, 6.0]])
    assert sorted(pairs(b, extents)) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]


@pytest.mark.parametrize("where", ["extents", "boxes", "both"])
def test_boxes_meeting__infinite_coordinates_meet_as_in_the_strtree(join, where):
    rng = np.random.default_rng(5)
    b = random_boxes(rng, 500)
    extents = random_boxes(rng, 60, size=40)
    for arr in ([b] if where == "boxes" else [extents] if where == "extents" else [b, extents]):
        arr[3, 2] = np.inf  # reaches to the east without end
        arr[4, 0] = -np.inf
        arr[5, [0, 1, 2, 3]] = [-np.inf, -np.inf, np.inf, np.inf]  # everywhere
    got = pairs(b, extents)
    assert len(got) == len(set(got))
    assert set(got) == strtree_pairs(b, extents)


def test_boxes_meeting__huge_boxes_are_taken_in_bounded_steps(join, monkeypatch):
    # every box covers every extent: the pairs are the whole product, found a few rows at a time
    monkeypatch.setattr(boxes, "STEP_PAIRS", 500)
    rng = np.random.default_rng(7)
    extents = random_boxes(rng, 200, size=5, missing=0)
    b = np.tile([-1.0, -1.0, 2000.0, 2000.0], (60, 1))
    got = pairs(b, extents)
    assert len(got) == 60 * 200 == len(set(got))


@pytest.mark.parametrize("seed", range(6))
def test_hilbert_distance__is_geopandas_distance_of_the_box_polygons(seed):
    rng = np.random.default_rng(seed)
    b = random_boxes(rng, 5000, missing=0)
    total = [b[:, 0].min() - rng.uniform(0, 5), b[:, 1].min(), b[:, 2].max(), b[:, 3].max() + rng.uniform(0, 5)]
    expected = gpd.GeoSeries(shapely.box(*b.T)).hilbert_distance(total_bounds=total).to_numpy()
    got = hilbert_distance(b, total)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected)
    assert len(np.unique(got)) > 4000  # not all one key


def test_hilbert_distance__of_a_flat_extent_is_geopandas_too():
    b = np.array([[0.0, 5.0, 2.0, 5.0], [4.0, 5.0, 6.0, 5.0], [1.0, 5.0, 1.0, 5.0]])
    total = [0.0, 5.0, 6.0, 5.0]  # no height
    expected = gpd.GeoSeries(shapely.box(*b.T)).hilbert_distance(total_bounds=total).to_numpy()
    assert np.array_equal(hilbert_distance(b, total), expected)


def test_hilbert_distance__falls_back_to_geopandas_when_its_curve_differs(monkeypatch):
    rng = np.random.default_rng(3)
    b = random_boxes(rng, 300, missing=0)
    total = [0.0, 0.0, 2000.0, 2000.0]
    expected = gpd.GeoSeries(shapely.box(*b.T)).hilbert_distance(total_bounds=total).to_numpy()
    monkeypatch.setattr(boxes, "_encode", lambda level, x, y: np.zeros(len(x), dtype=np.uint32))
    assert np.array_equal(hilbert_distance(b, total), expected)


# --------------------------------------------------------------------------
# boxes of WKB: the compiled reader must give shapely's boxes, or leave the row to shapely

def polygon_wkb(rings, order: str = "<", kind: int = 3) -> bytes:
    """A Polygon's WKB written by hand, so that it can be torn, unclosed or odd."""
    import struct

    out = struct.pack(f"{order}bII", 1 if order == "<" else 0, kind, len(rings))
    for ring in rings:
        out += struct.pack(f"{order}I", len(ring)) + b"".join(struct.pack(f"{order}dd", *p) for p in ring)
    return out


def multipolygon_wkb(parts: list[bytes], order: str = "<") -> bytes:
    import struct

    return struct.pack(f"{order}bII", 1 if order == "<" else 0, 6, len(parts)) + b"".join(parts)


SQUARE = [(0.5, 1.5), (3.25, 1.5), (3.25, 4.0), (0.5, 4.0), (0.5, 1.5)]
OUTSIDE_HOLE = [(10.0, 10.0), (11.0, 10.0), (11.0, 11.0), (10.0, 10.0)]  # an invalid hole: GEOS's box leaves it out

#: (name, WKB, read by the compiled reader)
HOSTILE = [
    ("little-endian polygon", polygon_wkb([SQUARE]), True),
    ("big-endian polygon", polygon_wkb([SQUARE], ">"), True),
    ("polygon with a hole outside its shell", polygon_wkb([SQUARE, OUTSIDE_HOLE]), True),
    ("multipolygon of both byte orders", multipolygon_wkb([polygon_wkb([SQUARE], ">"),
                                                            polygon_wkb([OUTSIDE_HOLE])]), True),
    ("big-endian multipolygon", multipolygon_wkb([polygon_wkb([OUTSIDE_HOLE], ">")], ">"), True),
    ("polygon Z", shapely.to_wkb(shapely.Polygon([(0, 0, 9), (1, 0, 9), (1, 1, -9), (0, 0, 9)])), False),
    ("polygon M (ISO 2003)", None, False),
    ("polygon with an SRID (EWKB)", shapely.to_wkb(shapely.set_srid(shapely.box(0, 0, 1, 2), 2913), include_srid=True,
                                                   flavor="extended"), False),
    ("empty polygon", polygon_wkb([]), False),
    ("polygon with an empty ring", polygon_wkb([[]]), False),
    ("empty multipolygon", multipolygon_wkb([]), False),
    ("ring of three points", polygon_wkb([[(0, 0), (1, 0), (0, 0)]]), False),
    ("NaN coordinate", polygon_wkb([[(0, 0), (np.nan, 0), (1, 1), (0, 0)]]), False),
    ("bytes left over", polygon_wkb([SQUARE]) + b"\x00\x00", False),
    ("byte order 7 (GEOS reads it)", b"\x07" + polygon_wkb([SQUARE])[1:], False),
    ("point", shapely.to_wkb(shapely.Point(3, 4)), False),
    ("line", shapely.to_wkb(shapely.LineString([(0, 0), (5, 1)])), False),
    ("geometry collection", shapely.to_wkb(shapely.GeometryCollection([shapely.box(0, 0, 1, 1)])), False),
    ("curve polygon", shapely.to_wkb(shapely.from_wkt("CURVEPOLYGON(CIRCULARSTRING(0 0, 4 0, 4 4, 0 4, 0 0))"))
     if hasattr(shapely.GeometryType, "CURVEPOLYGON") else None, False),
    ("missing", None, False),
]


def arrow_wkb(rows, large: bool = False):
    import pyarrow as pa

    return pa.array(rows, type=pa.large_binary() if large else pa.binary())


@pytest.fixture
def jit_on_small_inputs(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(boxes, "JIT_MIN_ROWS", 0)


@pytest.mark.parametrize("large", [False, True], ids=["binary", "large_binary"])
@pytest.mark.filterwarnings("ignore:invalid value encountered in from_wkb")  # shapely, on the NaN row
def test_wkb_boxes__hostile_rows_give_shapely_s_boxes_and_types(jit_on_small_inputs, large):
    import struct

    rows = [w for _, w, _ in HOSTILE]
    m_row = next(i for i, (name, _, _) in enumerate(HOSTILE) if name.startswith("polygon M"))
    rows[m_row] = struct.pack("<bII", 1, 2003, 1) + struct.pack("<I", 4) + b"".join(
        struct.pack("<ddd", x, y, 7.0) for x, y in [(0, 0), (2, 0), (2, 2), (0, 0)])
    geoms = shapely.from_wkb(rows)
    bounds, kinds, is_box = boxes.wkb_boxes(arrow_wkb(rows, large))
    np.testing.assert_array_equal(bounds, shapely.bounds(geoms))
    np.testing.assert_array_equal(kinds, shapely.get_type_id(geoms))
    np.testing.assert_array_equal(is_box, axis_boxes(geoms)[0])
    assert bounds[0].tolist() == [0.5, 1.5, 3.25, 4.0]
    assert bounds[2].tolist() == [0.5, 1.5, 3.25, 4.0]  # the hole outside is not in GEOS's box
    assert bounds[3].tolist() == [0.5, 1.5, 11.0, 11.0]


def test_wkb_boxes__the_compiled_reader_reads_exactly_the_plain_polygons():
    pytest.importorskip("numba")
    from sba.bulk.boxes_jit import read_boxes

    rows = [w for _, w, _ in HOSTILE]
    data, offsets = boxes._buffers(arrow_wkb(rows))
    out, kinds = np.full((len(rows), 4), np.nan), np.zeros(len(rows), dtype=np.int16)
    valid = np.array([w is not None for w in rows])
    read_boxes(data, offsets, valid, out, kinds, np.zeros(len(rows), dtype=bool))
    assert [name for (name, _, _), k in zip(HOSTILE, kinds, strict=True) if k] == \
        [name for name, _, read in HOSTILE if read]


@pytest.mark.parametrize("tear", ["torn in a coordinate", "torn in a count", "unclosed ring", "a count past the end"])
def test_wkb_boxes__a_broken_row_gives_shapely_s_error(jit_on_small_inputs, tear):
    good = polygon_wkb([SQUARE])
    broken = {"torn in a coordinate": good[:-5], "torn in a count": good[:11],
              "unclosed ring": polygon_wkb([[*SQUARE[:-1], (0.5, 1.0)]]),
              "a count past the end": good[:9] + (2**31).to_bytes(4, "little") + good[13:]}[tear]
    rows = [good] * 5 + [broken] + [good] * 5
    with pytest.raises(shapely.errors.GEOSException) as expected:
        shapely.from_wkb(rows)
    with pytest.raises(shapely.errors.GEOSException) as got:
        boxes.wkb_boxes(arrow_wkb(rows))
    assert str(got.value) == str(expected.value)


def test_wkb_boxes__a_slice_of_an_arrow_array_reads_its_own_rows(jit_on_small_inputs):
    rows = [shapely.to_wkb(shapely.box(i, 2 * i, i + 1, 2 * i + 3)) for i in range(10)]
    bounds, kinds, is_box = boxes.wkb_boxes(arrow_wkb(rows).slice(4, 3))
    assert bounds.tolist() == [[4, 8, 5, 11], [5, 10, 6, 13], [6, 12, 7, 15]]
    assert kinds.tolist() == [3, 3, 3]
    assert is_box.tolist() == [True, True, True]


@pytest.mark.filterwarnings("ignore:invalid value encountered in from_wkb")
def test_wkb_boxes__without_numba_shapely_gives_the_same(monkeypatch):
    rows = [w for _, w, _ in HOSTILE if w is not None]
    monkeypatch.setattr(boxes, "USE_JIT", False)
    bounds, kinds, is_box = boxes.wkb_boxes(arrow_wkb(rows))
    geoms = shapely.from_wkb(rows)
    np.testing.assert_array_equal(bounds, shapely.bounds(geoms))
    np.testing.assert_array_equal(kinds, shapely.get_type_id(geoms))
    np.testing.assert_array_equal(is_box, axis_boxes(geoms)[0])


def test_wkb_boxes__random_polygons_and_multipolygons_of_both_byte_orders_read_as_shapely(jit_on_small_inputs):
    rng = np.random.default_rng(11)
    shapes = []
    for i in range(400):
        centre = rng.uniform(-1e6, 1e6, 2)
        ring = centre + rng.normal(0, 50, (int(rng.integers(3, 40)), 2))
        poly = shapely.Polygon(ring)
        shapes.append(shapely.MultiPolygon([poly, shapely.box(*(centre + 200), *(centre + 230))]) if i % 3 == 0
                      else poly)
    rows = [shapely.to_wkb(s, byte_order=i % 2) for i, s in enumerate(shapes)]
    bounds, kinds, _ = boxes.wkb_boxes(arrow_wkb(rows))
    np.testing.assert_array_equal(bounds, shapely.bounds(shapes))
    assert (kinds == shapely.get_type_id(shapes)).all()


def test_wkb_boxes__the_box_flag_equals_axis_boxes_on_near_boxes_of_both_byte_orders(jit_on_small_inputs):
    """Which rows are axis-aligned boxes, read from the bytes, is exactly what
    gis.overlay.axis_boxes says of the decoded shapes: boxes starting at any corner, either
    way round, and shapes that are nearly boxes (a corner moved by one unit in the last
    place, a rotated or flat box, five points of a triangle, a box with a hole, a box in a
    MultiPolygon, a box with a Z)."""
    rng = np.random.default_rng(3)
    shapes = []
    for i in range(600):
        x0, y0 = rng.uniform(-1e6, 1e6, 2)
        w, h = rng.uniform(1, 80, 2)
        ring = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
        k = int(rng.integers(0, 4))
        ring = ring[k:] + ring[:k]
        if i % 2:
            ring = ring[::-1]
        kind = i % 8
        if kind == 1:  # one corner a unit in the last place off
            x, y = ring[2]
            ring[2] = (np.nextafter(x, np.inf), y)
        elif kind == 2:
            shapes.append(shapely.affinity.rotate(shapely.box(x0, y0, x0 + w, y0 + h), rng.uniform(1, 89)))
            continue
        elif kind == 3:  # flat: no area
            ring = [(x0, y0), (x0 + w, y0), (x0 + w, y0), (x0, y0)]
        elif kind == 4:  # five points, a triangle with a point on a side
            ring = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0 + w, y0 + h / 2)]
        elif kind == 5:
            shapes.append(shapely.box(x0, y0, x0 + w, y0 + h).difference(
                shapely.box(x0 + w / 4, y0 + h / 4, x0 + w / 2, y0 + h / 2)))
            continue
        elif kind == 6:
            shapes.append(shapely.MultiPolygon([shapely.Polygon(ring)]))
            continue
        shapes.append(shapely.Polygon(ring))
    shapes.append(shapely.Polygon([(0, 0, 1), (2, 0, 1), (2, 2, 1), (0, 2, 1)]))
    rows = [shapely.to_wkb(s, byte_order=i % 3 % 2) for i, s in enumerate(shapes)]
    bounds, _, is_box = boxes.wkb_boxes(arrow_wkb(rows))
    expected, expected_bounds = axis_boxes(np.array(shapes, dtype=object))
    np.testing.assert_array_equal(is_box, expected)
    np.testing.assert_array_equal(bounds, expected_bounds)
    assert 150 < is_box.sum() < 450  # both answers occur often


# --------------------------------------------------------------------------
# feature_lot_pairs: the local run's pairing by boxes read from the WKB


def assert_tree_pairs(features: np.ndarray, lots: np.ndarray, threads: int = 1) -> list[tuple[int, int]]:
    """The pairs, checked to be those of an STRtree of the lots queried with the features (what the
    local run pairs otherwise), each once, by feature, then lot."""
    pytest.importorskip("numba")
    got_f, got_p = boxes.feature_lot_pairs(features, lots, threads)
    got = list(zip(got_f.tolist(), got_p.tolist(), strict=True))
    assert got == sorted(strtree_pairs(features, lots))
    return got


@pytest.mark.parametrize("seed", range(10))
def test_feature_lot_pairs__are_the_strtree_s_in_feature_then_lot_order(seed):
    rng = np.random.default_rng(100 + seed)
    lots = random_boxes(rng, int(rng.integers(1, 3000)), size=float(rng.choice([3, 30, 300])))
    features = random_boxes(rng, int(rng.integers(1, 4000)), size=float(rng.choice([1, 10, 100])))
    assert len(assert_tree_pairs(features, lots, threads=int(rng.integers(1, 4)))) > 0


def test_feature_lot_pairs__touching_boxes_meet_and_boxes_a_hair_apart_do_not():
    lots = np.array([[0.0, 0.0, 10.0, 10.0], [10.0, 0.0, 20.0, 10.0]])
    features = np.array([[10.0, 10.0, 12.0, 12.0],  # touches both lots' corner
                         [np.nextafter(20.0, 21.0), 0.0, 22.0, 10.0],  # just right of the second
                         [3.0, 3.0, 3.0, 3.0],  # a point inside the first
                         [np.nan] * 4])  # no shape
    assert assert_tree_pairs(features, lots) == [(0, 0), (0, 1), (2, 0)]


def test_feature_lot_pairs__street_parcels_over_the_whole_city_keep_the_grid_bounded(monkeypatch):
    """Lots spanning every cell: the grid is made coarser (its entries stay bounded), the pairs stay exact."""
    pytest.importorskip("numba")  # the sweep is compiled only (without numba the run keeps the STRtree)
    rng = np.random.default_rng(8)
    lots = random_boxes(rng, 2000, size=5, missing=0.01)
    lots[:40] = [-10.0, -10.0, 1100.0, 1100.0]  # forty street parcels over everything
    features = random_boxes(rng, 3000, size=3)
    monkeypatch.setattr(boxes, "SLOTS_EXTRA", 0)
    frame, nx, ny = boxes._lot_frame(lots)
    from sba.bulk import boxes_jit

    assert boxes_jit.grid_slots(lots, frame, nx, ny) <= boxes.SLOTS_PER_LOT * len(lots)
    assert len(assert_tree_pairs(features, lots, threads=2)) > 40 * 2500


@pytest.mark.parametrize("where", ["lots", "features", "both"])
def test_feature_lot_pairs__infinite_coordinates_meet_as_in_the_strtree(where):
    rng = np.random.default_rng(9)
    lots, features = random_boxes(rng, 400, size=20), random_boxes(rng, 900)
    for arr in ([lots] if where == "lots" else [features] if where == "features" else [lots, features]):
        arr[3, 2] = np.inf
        arr[4, 0] = -np.inf
        arr[5] = [-np.inf, -np.inf, np.inf, np.inf]
    assert_tree_pairs(features, lots, threads=2)


def test_feature_lot_pairs__no_lot_or_feature_or_only_nan_gives_no_pairs():
    b = np.array([[0.0, 0.0, 1.0, 1.0]])
    nan = np.full((2, 4), np.nan)
    for features, lots in ((b, np.empty((0, 4))), (np.empty((0, 4)), b), (nan, b), (b, nan)):
        assert assert_tree_pairs(features, lots) == []


def test_feature_lot_pairs__a_feature_meeting_many_lots_gets_them_all_in_order():
    """The output grows past its first guess (two pairs a feature) and each feature's lots stay sorted."""
    rng = np.random.default_rng(4)
    lots = random_boxes(rng, 1500, size=4, missing=0)[rng.permutation(1500)]
    features = np.array([[0.0, 0.0, 1000.0, 1000.0]] * 3 + [[400.0, 400.0, 600.0, 600.0]])
    assert len(assert_tree_pairs(features, lots, threads=2)) > 3 * 1500


def test_feature_lot_pairs__a_feature_over_a_whole_shuffled_city_is_sorted_in_n_log_n():
    """A dissolved layer's feature covers every lot, and the lots come in no spatial order: each
    feature's lots are sorted once (an insertion per lot found was quadratic: 5.7 s at 160,000 lots)."""
    pytest.importorskip("numba")
    side = 450
    xs, ys = np.meshgrid(np.arange(side) * 100.0, np.arange(side) * 100.0)
    lots = np.c_[xs.ravel(), ys.ravel(), xs.ravel() + 90, ys.ravel() + 90]
    lots = lots[np.random.default_rng(5).permutation(len(lots))]
    features = np.array([[-1.0, -1.0, side * 100.0, side * 100.0], [5.0, 5.0, 20.0, 20.0]])
    boxes.feature_lot_pairs(features[1:], lots)  # compiled code loaded outside the clock
    start = time.perf_counter()
    got_f, got_p = boxes.feature_lot_pairs(features, lots, threads=1)
    seconds = time.perf_counter() - start
    corner = int(np.flatnonzero((lots[:, 0] == 0) & (lots[:, 1] == 0))[0])
    assert got_f.tolist() == [0] * len(lots) + [1]
    assert got_p.tolist() == [*range(len(lots)), corner]
    assert seconds < 3.0, f"{seconds:.1f} s: the per-feature sort is quadratic again"


@pytest.mark.parametrize("threads", [1, 2])
def test_feature_lot_pairs__stops_at_its_limit_and_says_so(threads):
    """Stacked copies: the loop stops once ``limit`` pairs are found, so memory stays bounded."""
    pytest.importorskip("numba")
    lots = np.tile([0.0, 0, 100, 100], (500, 1))
    features = np.tile([10.0, 10, 40, 40], (400, 1))
    assert boxes.feature_lot_pairs(features, lots, threads, limit=199_999) is None
    f, p = boxes.feature_lot_pairs(features, lots, threads, limit=200_000)
    assert len(f) == 200_000
    assert (f[:500] == 0).all()
    assert p[:500].tolist() == list(range(500))
