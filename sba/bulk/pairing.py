"""A cap on the (surface, lot) box pairs of a run, checked before the pairs fill memory.

A run pairs every surface with every lot whose bounding box meets its own.  In a
city that is about one pair a surface; a few surfaces over every lot (a layer
dissolved by type) make a few pairs a lot.  Stacked copies do not: 30,000
copies of one lot under 30,000 copies of one roof meet in 9e8 pairs, 14 GB
before the first lot is measured.  Such layers are refused, in bounded memory:

1. :func:`pair_bounds` gives each surface an upper bound of its pairs, from a
   summed-area table of how many lots cover each cell of a grid (linear time);
2. when the bounds add up to no more than the cap (every real city), the pairs
   are found at once, as before;
3. else they are found a step of surfaces at a time (:func:`pairs_in_steps`),
   each step's bounds adding up to a share of the cap, and the run is refused
   as soon as the pairs found pass the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from gis.errors import GISInputError

__all__ = ["PAIRS_PER_SHAPE", "PAIR_CAP_EXTRA", "StackedLayersError", "box_pairs", "capped_pairs", "pair_bounds",
           "pair_cap", "pairs_in_steps", "refusal", "sliced"]

#: The cap is this many pairs per shape (surfaces and lots) ...
PAIRS_PER_SHAPE = 16

#: ... plus this many: a small run with a few surfaces over all its lots is never refused.
PAIR_CAP_EXTRA = 4_000_000

#: Each step of :func:`pairs_in_steps` is bounded to this share of the cap.
STEP_SHARE = 0.25

#: The grid of :func:`pair_bounds` has at most this many cells along each axis.
MAX_CELLS = 1024

#: :func:`pair_bounds` takes the surfaces this many at a time.
BLOCK = 16_384

Pairs = tuple[np.ndarray, np.ndarray]


class StackedLayersError(GISInputError, ValueError):
    """The layers' boxes meet in far more pairs than a city's do (stacked copies)."""


def pair_cap(n_features: int, n_lots: int) -> int:
    """The most (surface, lot) box pairs a run accepts."""
    return PAIRS_PER_SHAPE * (n_features + n_lots) + PAIR_CAP_EXTRA


def capped_pairs(pair: Callable[[int, int], Pairs], features: np.ndarray, lots: np.ndarray,
                 names: Mapping[str, str]) -> Pairs:
    """``pair(0, n)``: the pairs of all the surfaces, whose boxes are ``features``, with the lots
    (boxes ``lots``), found at once when their bounds allow it, else in steps; raises
    :class:`StackedLayersError` when they pass :func:`pair_cap`.  ``pair(a, b)`` gives the pairs
    of surfaces ``a`` to ``b`` (numbered from 0 in the whole layer)."""
    cap = pair_cap(len(features), len(lots))
    bound = pair_bounds(features, lots)
    if int(bound.sum()) <= cap:
        return pair(0, len(features))
    return pairs_in_steps(pair, bound, cap, names)


def box_pairs(features: np.ndarray, lots: np.ndarray) -> Pairs | None:
    """The pairs of the surface boxes ``features`` and the lot boxes ``lots`` that meet, by surface,
    then lot, found by the compiled sweep (:func:`sba.bulk.boxes.feature_lot_pairs`) with no
    shape decoded; the loop stops at :func:`pair_cap`.

    None when numba is not installed, the surfaces are too few to repay loading it
    (:data:`sba.bulk.boxes.JIT_MIN_ROWS`), or the pairs pass the cap: the caller then pairs the
    shapes with :func:`capped_pairs`, which refuses stacked copies with the count it reached.
    """
    from sba.bulk import boxes

    if not boxes.USE_JIT or len(features) < boxes.JIT_MIN_ROWS:
        return None
    try:
        return boxes.feature_lot_pairs(features, lots, 1, limit=pair_cap(len(features), len(lots)))
    except ImportError:  # numba is optional
        return None


def sliced(query: Callable[[np.ndarray], Pairs], geoms: np.ndarray) -> Callable[[int, int], Pairs]:
    """``pair(a, b)`` for :func:`capped_pairs`: ``query(geoms[a:b])`` (an STRtree's query, say),
    its surfaces numbered in ``geoms``."""

    def pair(a: int, b: int) -> Pairs:
        f, p = query(geoms[a:b])
        return f + a, p

    return pair


def pairs_in_steps(pair: Callable[[int, int], Pairs], bound: np.ndarray, cap: int,
                   names: Mapping[str, str]) -> Pairs:
    """The pairs found a step of surfaces at a time, each step's ``bound`` adding up to at most
    :data:`STEP_SHARE` of ``cap`` (or one surface); refused once they pass ``cap``."""
    total = np.cumsum(bound)
    found_f, found_p, n_found, a = [], [], 0, 0
    while a < len(bound):
        b = max(a + 1, int(np.searchsorted(total, total[a] - bound[a] + STEP_SHARE * cap, side="right")))
        f, p = pair(a, b)
        n_found += len(f)
        if n_found > cap:
            raise StackedLayersError(refusal(n_found, len(bound), names))
        found_f.append(f)
        found_p.append(p)
        a = b
    return np.concatenate(found_f), np.concatenate(found_p)


def refusal(n_found: int, n_features: int, names: Mapping[str, str]) -> str:
    """The one-line refusal of layers whose surfaces and lots meet in more than ``n_found`` pairs."""
    return (f"The surfaces in {names['features']} and the lots in {names['parcels']} overlap far more than "
            f"a city's do: more than {n_found:,} surface-and-lot pairs meet ({n_found / max(n_features, 1):,.0f} "
            "a surface, where a city has one or two). Are some lots or surfaces stacked copies of one "
            "another? Nothing was written.")


def pair_bounds(features: np.ndarray, lots: np.ndarray) -> np.ndarray:
    """For each surface box, at least the number of lot boxes it meets (0 for a NaN box).

    The lots are counted into the cells of a grid over their finite extent, each lot in every
    cell its box covers (a difference array, summed); a surface's bound is the sum of the counts
    over the cells its own box covers (a summed-area table).  Two boxes that meet share a cell,
    so the bound is never short; a lot over several of the surface's cells is counted in each.
    Cost: linear in the boxes, plus the grid's cells.
    """
    features = np.asarray(features, dtype=np.float64).reshape(-1, 4)
    lots = np.asarray(lots, dtype=np.float64).reshape(-1, 4)
    lots = lots[~np.isnan(lots).any(axis=1)]
    out = np.zeros(len(features), dtype=np.int64)
    ok = ~np.isnan(features).any(axis=1)
    if not len(lots) or not ok.any():
        return out
    n = int(min(MAX_CELLS, max(1, np.sqrt(len(lots)))))
    frame = _frame(lots, n)
    x0, y0, x1, y1 = _cells(lots, frame, n).T
    diff = np.bincount(np.concatenate([y0 * (n + 1) + x0, y0 * (n + 1) + x1 + 1,
                                       (y1 + 1) * (n + 1) + x0, (y1 + 1) * (n + 1) + x1 + 1]),
                       weights=np.repeat([1.0, -1.0, -1.0, 1.0], len(lots)), minlength=(n + 1) ** 2)
    covering = diff.reshape(n + 1, n + 1).cumsum(0).cumsum(1)[:n, :n]
    table = np.zeros((n + 1, n + 1), dtype=np.int64)  # whole counts, exact in the float sums
    table[1:, 1:] = covering.cumsum(0).cumsum(1)
    corner = table.ravel()
    for a in range(0, len(features), BLOCK):  # in blocks: the temporaries stay in the cache
        fx0, fy0, fx1, fy1 = _cells(features[a:a + BLOCK], frame, n).T
        low, high = fy0 * (n + 1), (fy1 + 1) * (n + 1)
        out[a:a + BLOCK] = corner[high + fx1 + 1] - corner[low + fx1 + 1] - corner[high + fx0] + corner[low + fx0]
    out[~ok] = 0
    return out


def _frame(lots: np.ndarray, n: int) -> np.ndarray:
    """``(x0, y0, x0, y0)`` and ``(w, h, w, h)`` of an ``n`` by ``n`` grid over the lots' finite coordinates."""
    xs, ys = lots[:, [0, 2]], lots[:, [1, 3]]
    xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
    x0, x1 = (float(xs.min()), float(xs.max())) if len(xs) else (0.0, 0.0)
    y0, y1 = (float(ys.min()), float(ys.max())) if len(ys) else (0.0, 0.0)
    with np.errstate(over="ignore"):
        w, h = (x1 - x0) / n or 1.0, (y1 - y0) / n or 1.0
    return np.array([[x0, y0, x0, y0], [w, h, w, h]])


def _cells(boxes: np.ndarray, frame: np.ndarray, n: int) -> np.ndarray:
    """The first and last column and row of cells each box covers, as its ``(minx, miny, maxx,
    maxy)``, clipped into the grid (an infinite or outlying coordinate falls in an edge cell,
    which keeps the bound an upper bound)."""
    with np.errstate(invalid="ignore", over="ignore"):
        cells = boxes - frame[0]
        cells /= frame[1]
    np.floor(cells, out=cells)
    if not np.isfinite(cells).all():
        np.nan_to_num(cells, copy=False, nan=0.0, posinf=n - 1, neginf=0.0)
    np.clip(cells, 0, n - 1, out=cells)
    return cells.astype(np.int32)
