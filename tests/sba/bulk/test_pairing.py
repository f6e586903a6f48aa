"""sba.bulk.pairing: an upper bound of each surface's box pairs, and the cap on a run's pairs."""

from __future__ import annotations

import numpy as np
import pytest

import shapely

from sba.bulk import pairing
from sba.bulk.pairing import StackedLayersError, capped_pairs, pair_bounds

NAMES = {"features": "roofs.parquet", "parcels": "lots.parquet"}


def random_boxes(rng, n: int, size: float, extent: float = 1000.0) -> np.ndarray:
    xy = rng.uniform(0, extent, (n, 2))
    wh = rng.exponential(size, (n, 2))
    return np.c_[xy, xy + wh]


def true_counts(features: np.ndarray, lots: np.ndarray) -> np.ndarray:
    f, _ = shapely.STRtree(shapely.box(*lots.T)).query(shapely.box(*features.T))
    return np.bincount(f, minlength=len(features))


@pytest.mark.parametrize("seed", range(6))
def test_pair_bounds__are_never_short_of_the_strtree_s_counts(seed):
    rng = np.random.default_rng(seed)
    lots = random_boxes(rng, int(rng.integers(1, 3000)), size=float(rng.choice([2, 20, 200])))
    features = random_boxes(rng, int(rng.integers(1, 3000)), size=float(rng.choice([1, 10, 300])), extent=1200)
    lots[:3] = [[-50, -50, 1100, 1100]] * 3  # street parcels over everything
    bound, count = pair_bounds(features, lots), true_counts(features, lots)
    assert (bound >= count).all()
    assert bound.sum() <= 40 * max(count.sum(), len(features))  # and not wildly above


def test_pair_bounds__touching_boxes_nan_and_infinite_coordinates():
    lots = np.array([[0.0, 0, 10, 10], [10, 0, 20, 10], [np.nan] * 4, [0, 0, np.inf, 5]])
    features = np.array([[10.0, 10, 12, 12], [np.nan] * 4, [-np.inf, -np.inf, np.inf, np.inf], [500, 500, 501, 501]])
    bound = pair_bounds(features, lots)
    assert bound[0] >= 3
    assert bound[1] == 0
    assert bound[2] >= 3
    finite = np.nan_to_num(features[[0, 2, 3]], posinf=1e300, neginf=-1e300)
    assert (bound[[0, 2, 3]] >= true_counts(finite, np.nan_to_num(lots[[0, 1, 3]], posinf=1e300))).all()
    assert pair_bounds(features, np.empty((0, 4))).tolist() == [0, 0, 0, 0]


def test_capped_pairs__a_city_is_paired_at_once():
    rng = np.random.default_rng(3)
    lots, features = random_boxes(rng, 2000, 20), random_boxes(rng, 5000, 5)
    calls = []

    def pair(a, b):
        calls.append((a, b))
        return np.arange(a, b), np.zeros(b - a, dtype=np.int64)

    f, _ = capped_pairs(pair, features, lots, NAMES)
    assert calls == [(0, 5000)]
    assert f.tolist() == list(range(5000))


def test_capped_pairs__stacked_copies_are_refused_in_steps_of_bounded_size(monkeypatch):
    """2,000 identical lots under 2,000 identical roofs: 4e6 pairs against a cap of 164,000; the
    steps stop at the first one that passes it, each step bounded to a quarter of the cap."""
    monkeypatch.setattr(pairing, "PAIR_CAP_EXTRA", 100_000)
    lots = np.tile([0.0, 0, 100, 100], (2000, 1))
    features = np.tile([10.0, 10, 40, 40], (2000, 1))
    sizes = []

    def pair(a, b):
        f, p = shapely.STRtree(shapely.box(*lots.T)).query(shapely.box(*features[a:b].T))
        sizes.append(len(f))
        return f + a, p

    with pytest.raises(StackedLayersError, match="stacked copies") as refused:
        capped_pairs(pair, features, lots, NAMES)
    assert "roofs.parquet" in str(refused.value)
    assert "lots.parquet" in str(refused.value)
    cap = pairing.pair_cap(2000, 2000)
    assert max(sizes) <= pairing.STEP_SHARE * cap
    assert sum(sizes) <= cap * (1 + pairing.STEP_SHARE)


def test_capped_pairs__up_to_the_cap_in_steps_gives_every_pair(monkeypatch):
    """Bounds above the cap but pairs at it: found in steps, all of them, none refused."""
    rng = np.random.default_rng(5)
    lots = random_boxes(rng, 300, 30)
    features = random_boxes(rng, 400, 30)
    tree = shapely.STRtree(shapely.box(*lots.T))

    def pair(a, b):
        f, p = tree.query(shapely.box(*features[a:b].T))
        return f + a, p

    want_f, want_p = pair(0, 400)
    monkeypatch.setattr(pairing, "PAIRS_PER_SHAPE", 0)
    monkeypatch.setattr(pairing, "PAIR_CAP_EXTRA", len(want_f))
    assert pair_bounds(features, lots).sum() > pairing.pair_cap(400, 300)  # so the steps are taken
    f, p = capped_pairs(pair, features, lots, NAMES)
    assert sorted(zip(f.tolist(), p.tolist(), strict=True)) == sorted(zip(want_f.tolist(), want_p.tolist(),
                                                                          strict=True))
