"""sba.bulk.boxes: the cluster run's Hilbert keys and routing from box arrays must be
exactly what geopandas and shapely's STRtree give for the box polygons (the chunks, and
so the table, depend on it)."""

from __future__ import annotations

import numpy as np
import pytest

import geopandas as gpd
import shapely

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
def test_boxes_meeting__gives_the_strtree_s_pairs_each_once(seed):
    rng = np.random.default_rng(seed)
    b = random_boxes(rng, int(rng.integers(1, 3000)))
    extents = random_boxes(rng, int(rng.integers(1, 400)), size=float(rng.choice([1, 30, 300])))
    got = pairs(b, extents)
    expected = strtree_pairs(b, extents)
    assert len(expected) > 0
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_boxes_meeting__touching_boxes_meet_and_boxes_a_hair_apart_do_not():
    extents = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[10.0, 10.0, 12.0, 12.0],  # touches a corner
                  [np.nextafter(10.0, 11.0), 0.0, 12.0, 10.0],  # just right of it
                  [-5.0, -5.0, 0.0, 0.0],  # touches the other corner
                  [3.0, 3.0, 3.0, 3.0]])  # a point inside
    assert sorted(pairs(b, extents)) == [(0, 0), (2, 0), (3, 0)]
    assert set(pairs(b, extents)) == strtree_pairs(b, extents)


def test_boxes_meeting__no_extent_no_box_or_only_nan_gives_no_pairs():
    b = np.array([[0.0, 0.0, 1.0, 1.0]])
    nan = np.full((2, 4), np.nan)
    assert pairs(b, np.empty((0, 4))) == []
    assert pairs(np.empty((0, 4)), b) == []
    assert pairs(nan, b) == []
    assert pairs(b, nan) == []


def test_boxes_meeting__all_extents_on_one_point_still_meet_the_boxes_on_it():
    extents = np.array([[5.0, 5.0, 5.0, 5.0]] * 3)
    b = np.array([[5.0, 5.0, 5.0, 5.0], [4.0, 4.0, 5.0, 5.0], [5.5, 5.0, 6.0, 6.0]])
    assert sorted(pairs(b, extents)) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]


def test_boxes_meeting__huge_boxes_are_taken_in_bounded_steps(monkeypatch):
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
