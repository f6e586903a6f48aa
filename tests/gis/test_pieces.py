"""Pieces cut only where a shape is needed (:mod:`gis.pieces`) and the triple-overlap kernel.

With the compiled kernel, a feature crossing a lot line is not cut by a GEOS
overlay: the kernel measures ``area(feature ∩ lot)``, overlaps with other
pieces of the lot are ``area(f ∩ g)`` or ``area(f ∩ g ∩ lot)`` from the rings
of the features and lots, and a shape is made only near water, in unions, for
excluded types and docks.  Every column must equal a lot-by-lot shapely
reference, and the path without numba (GEOS) must give the same table.
"""

from __future__ import annotations

import numpy as np
import pytest

import shapely
from shapely import affinity

import gis
import gis.clip as clip
import gis.pieces
from tests.conftest import DATA, layer
from tests.gis.test_clip import random_shapes, star
from tests.gis.test_measure_random import reference

X0, Y0 = 7_645_000.0, 684_000.0  # Portland, EPSG:2913: real coordinates, far from the origin
COLUMNS = ("billable_area_sqft", "overlap_sqft", "overwater_excluded_sqft", "outside_parcel_sqft")


def triple_geos(a, b, c):
    return shapely.area(shapely.intersection(shapely.intersection(a, b), c))


def test_triple_areas__random_shapes_of_every_kind_give_geos_areas():
    """Holes, parts, collinear and repeated vertices, slivers, 2,000-vertex rings, far from the origin."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(11)
    shapes = random_shapes(rng, 120)
    ia, ib, ic = (rng.integers(0, 120, 3_000) for _ in range(3))
    r = clip.rings_of(shapes)
    got = clip.ring_triple_areas(r, ia, r, ib, r, ic)
    want = triple_geos(shapes[ia], shapes[ib], shapes[ic])
    done = ~np.isnan(got)
    assert done.mean() > 0.8
    assert (want[done] > 1).sum() > 300
    np.testing.assert_allclose(got[done], want[done], rtol=1e-9, atol=1e-7)


def test_triple_areas__shapes_meeting_only_along_edges_overlap_by_exactly_zero():
    pytest.importorskip("numba")
    a = shapely.box(X0, Y0, X0 + 10, Y0 + 10)
    b = shapely.box(X0 + 10, Y0, X0 + 20, Y0 + 10)  # shares an edge with a
    c = affinity.rotate(shapely.box(X0 + 5, Y0 - 5, X0 + 15, Y0 + 15), 30)
    shapes = np.array([a, b, c], dtype=object)
    r = clip.rings_of(shapes)
    got = clip.ring_triple_areas(r, [0, 2, 0, 1], r, [1, 0, 2, 2], r, [2, 1, 2, 2])
    assert got[:2].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(got[2:], [triple_geos(a, c, c), triple_geos(b, c, c)], atol=1e-7)


def test_triple_areas__too_many_vertices_are_left_to_the_caller_as_nan():
    pytest.importorskip("numba")
    big = star(np.random.default_rng(1), (X0, Y0), 2_000, 20, 28)
    shapes = np.array([big, big, shapely.box(X0 - 5, Y0 - 5, X0 + 5, Y0 + 5)], dtype=object)
    r = clip.rings_of(shapes)
    got = clip.ring_triple_areas(r, [0, 2], r, [1, 2], r, [2, 0])
    assert np.isnan(got[0])
    assert got[1] == pytest.approx(100.0, abs=1e-7)


def crossing_scene(seed: int, n_feats: int = 60):
    """Rotated quadrilateral lots in a row beside a street lot, crossed by rotated and star-shaped features."""
    rng = np.random.default_rng(seed)
    lots = []
    for i in range(5):
        x0 = X0 + 40 * i
        lots.append(shapely.Polygon([(x0, Y0), (x0 + 40, Y0 + 3), (x0 + 42, Y0 + 100), (x0 + 2, Y0 + 97)]))
    lots = [lots[0]] + [shapely.difference(g, shapely.union_all(lots[:i])) for i, g in enumerate(lots) if i]
    street = shapely.difference(shapely.box(X0 - 20, Y0 - 60, X0 + 240, Y0 + 3), shapely.union_all(lots))
    lots.append(max(shapely.get_parts(street), key=lambda g: g.area))
    types = ["roof", "driveway", "walkway", "patio", "deck"]
    feats = []
    for i in range(n_feats):
        c = (X0 + rng.uniform(-10, 215), Y0 + rng.uniform(-50, 105))
        if i % 3 == 0:
            g = star(rng, c, int(rng.integers(5, 30)), 3, 14)
        else:
            w, h = rng.uniform(2, 30), rng.uniform(2, 30)
            g = affinity.rotate(shapely.box(c[0], c[1], c[0] + w, c[1] + h), rng.uniform(0, 90))
        feats.append((g, types[i % len(types)]))
    river = shapely.Polygon([(X0 - 50, Y0 + 85), (X0 + 300, Y0 + 92), (X0 + 300, Y0 + 300), (X0 - 50, Y0 + 300)])
    return lots, feats, river


def measure(lots, feats, river=None, **kwargs):
    parcels = layer([(g, f"L{i}") for i, g in enumerate(lots)], "parcel_id")
    features = layer(feats, "feature_type")
    water = None if river is None else layer([(river, "river")], "kind")
    return gis.measure_lots(parcels, features, water, **kwargs)


@pytest.mark.parametrize("seed", range(6))
def test_pieces__features_crossing_rotated_lots_and_a_street_agree_with_shapely(path, seed):
    lots, feats, river = crossing_scene(seed)
    m = measure(lots, feats, river)
    got = m.lots.set_index("parcel_id")
    for i, ref in enumerate(reference(lots, feats, river)):
        for col in COLUMNS:
            assert got.loc[f"L{i}", col] == pytest.approx(ref[col], abs=1e-6), (seed, i, col)
        by_type = m.lot(f"L{i}")["by_type"]
        assert by_type == pytest.approx({t: a for t, a in ref["split"].items() if a > 1e-6}, abs=1e-6), (seed, i)


def test_pieces__a_street_lot_crossed_by_hundreds_of_features_agrees_with_shapely(path):
    """More than 48 pieces on the street lot: its pairs come from a tree of the pieces' bounds."""
    lots, feats, river = crossing_scene(7, n_feats=400)
    got = measure(lots, feats, river).lots.set_index("parcel_id")
    assert got.loc["L5", "n_features"] > 48
    for i, ref in enumerate(reference(lots, feats, river)):
        for col in COLUMNS:
            assert got.loc[f"L{i}", col] == pytest.approx(ref[col], abs=1e-6), (i, col)


def test_pieces__excluded_types_and_docks_without_water_give_the_same_table_on_both_paths(monkeypatch):
    """Shapes of cut pieces are made where they are needed: unions of excluded types and of docks."""
    pytest.importorskip("numba")
    lots, feats, _ = crossing_scene(3, n_feats=120)
    feats = [(g, ("pool", "dock", "roof", "walkway")[i % 4]) for i, (g, _) in enumerate(feats)]
    rules = gis.MeasureRules(billable={"pool": False})
    monkeypatch.setattr(clip, "USE_JIT", False)
    geos = measure(lots, feats, rules=rules).lots
    monkeypatch.setattr(clip, "USE_JIT", True)
    monkeypatch.setattr(clip, "JIT_MIN_PAIRS", 0)
    ours = measure(lots, feats, rules=rules).lots
    assert (geos.excluded_type_sqft > 1).sum() >= 3
    assert (geos.overwater_excluded_sqft > 1).sum() >= 3
    for col in geos.columns:
        if col.endswith("sqft"):
            np.testing.assert_allclose(ours[col], geos[col], rtol=0, atol=1e-6, err_msg=col)
    assert ours.n_features.tolist() == geos.n_features.tolist()


def test_pieces__with_the_kernel_crossing_pieces_of_real_lots_get_no_overlay(monkeypatch):
    """The Cambridge subset: every crossing piece is measured by the kernel; none is cut by GEOS
    except near water or in a union, and the table equals the GEOS path's."""
    pytest.importorskip("numba")
    gpd = pytest.importorskip("geopandas")
    gpkg = DATA / "cambridge_subset.gpkg"
    parcels = gpd.read_file(gpkg, layer="parcels").to_crs(2249)
    features = gpd.read_file(gpkg, layer="features").to_crs(2249)
    monkeypatch.setattr(clip, "USE_JIT", False)
    geos = gis.measure_lots(parcels, features, id_field=parcels.columns[0]).lots
    monkeypatch.setattr(clip, "USE_JIT", True)
    monkeypatch.setattr(clip, "JIT_MIN_PAIRS", 0)
    made = []
    real = gis.pieces.Pieces.give_shapes

    def counting(self, rows):
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.unique(rows)
        made.append(int(self.later[rows].sum()))
        return real(self, rows)

    monkeypatch.setattr(gis.pieces.Pieces, "give_shapes", counting)
    cut = []
    real_cut = gis.measure._cut_pieces

    def spy(src, pr):
        cut.append(int(pr.later.sum()))
        return real_cut(src, pr)

    monkeypatch.setattr(gis.measure, "_cut_pieces", spy)
    ours = gis.measure_lots(parcels, features, id_field=parcels.columns[0]).lots
    assert cut[0] > 200
    assert sum(made) < cut[0] / 10, (made, cut)
    for col in geos.columns:
        if col.endswith("sqft"):
            np.testing.assert_allclose(ours[col], geos[col], rtol=0, atol=1e-6, err_msg=col)


def test_pieces__features_touching_the_lot_line_from_inside_and_collapsed_ones_count_as_with_geos(path):
    """A feature whose part on the lot has its whole area lies inside it (no predicate asked), a feature
    along the lot line counts on one lot only, and a collapsed outline (area 4.7e-9) still counts."""
    lot_a = shapely.Polygon([(X0, Y0), (X0 + 50, Y0 + 2), (X0 + 49, Y0 + 100), (X0 - 1, Y0 + 98)])
    lot_b = shapely.Polygon([(X0 + 50, Y0 + 2), (X0 + 100, Y0 + 4), (X0 + 99, Y0 + 102), (X0 + 49, Y0 + 100)])
    along = shapely.Polygon([(X0 + 40, Y0 + 1.6), (X0 + 50, Y0 + 2), (X0 + 49.5, Y0 + 51), (X0 + 40, Y0 + 50)])
    sliver = shapely.Polygon([(X0 + 10, Y0 + 10), (X0 + 30, Y0 + 10), (X0 + 30, Y0 + 10 + 5e-10)])  # 4.7e-9 sq ft
    inner = affinity.rotate(shapely.box(X0 + 60, Y0 + 20, X0 + 80, Y0 + 30), 20)
    feats = [(along, "roof"), (sliver, "patio"), (inner, "roof")]
    got = measure([lot_a, lot_b], feats).lots.set_index("parcel_id")
    assert got.n_features.tolist() == [2, 1]
    assert got.loc["L0", "billable_area_sqft"] == pytest.approx(along.area + sliver.area, abs=1e-9)
    assert got.loc["L1", "billable_area_sqft"] == pytest.approx(inner.area, abs=1e-9)
    assert got.outside_parcel_sqft.tolist() == [0.0, 0.0]
