"""Exact area of the intersection of two general polygons, in numpy arrays.

Any ring is a signed sum of the trapezoids under its edges: for a point
``p``, counting +1 for each edge that runs right to left above ``p`` and -1
for each edge that runs left to right above it gives the ring's winding
number about ``p`` (1 inside a counter-clockwise ring, 0 outside).  So for
two polygons ``A`` and ``B``

    area(A ∩ B) = sum over the edges e of B's rings of ±area(A ∩ T(e)),

where ``T(e)`` is the vertical strip under ``e``: the convex region between
the vertical lines through its ends and below its line.  Clipping a ring
against a CONVEX region (Sutherland–Hodgman, three half-planes here) gives a
ring whose signed area is exactly the part of the ring's region inside it
(where the ring leaves and comes back, the clipped ring runs along the side
and back, adding no area).  Holes and multi-part shapes are handled ring by
ring on both sides: an exterior ring adds, a hole takes off.  No
triangulation and no topology is needed, and the result moves continuously
with the coordinates (shared edges and collinear vertices need no special
case).

The compiled kernel (:mod:`gis.clip_jit`, numba) does this pair by pair,
clipping the shape with fewer vertices against the strips under the other
one's edges that lie over its x-range; :func:`overlay_area`'s array code does
the same over flat arrays of rows (pair, ring of A, edge of B) and is the
kernel's reference where numba is missing (it is no faster than GEOS, so
:func:`intersection_areas` uses GEOS then).  Areas only: the clipped rings
are not shapes.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import numpy as np

import shapely

__all__ = [
    "MAX_ROW_VERTICES", "NOISE_AREA", "Rings", "compiled_kernel", "intersection_areas", "loaded_jit", "overlay_area",
    "ring_pair_areas", "ring_triple_areas", "rings_of",
]

#: A pair whose clip would handle more ring vertices than this (a ring's vertices
#: times the edges over it) is left to a GEOS overlay.
MAX_ROW_VERTICES = 400

#: Vertices handled per batch of rows, which bounds the arrays' memory (~100 MB).
_BATCH_VERTICES = 1_000_000


class Rings(NamedTuple):
    """The rings of a set of polygonal geometries, as open vertex lists.

    ``xy[start[r]:start[r + 1]]`` are ring ``r``'s vertices (the closing point
    not repeated); ``sign[r]`` is +1 for an exterior ring and -1 for a hole;
    ``turn[r]`` is +1 for a counter-clockwise ring and -1 for a clockwise one
    (0 for a ring of no area); ``bounds[r]`` its box; ``first[g]:first[g + 1]``
    the rings of geometry ``g``, and ``area[g]`` the geometry's area.
    """

    xy: np.ndarray
    start: np.ndarray
    sign: np.ndarray
    turn: np.ndarray
    bounds: np.ndarray
    first: np.ndarray
    area: np.ndarray


def rings_of(geoms: np.ndarray) -> Rings:
    """Every ring of each polygonal geometry (none for missing, empty or non-polygonal ones).

    Most shapes are one ring: their coordinates return to the first point
    only at the end (a valid ring never passes through its start again), and
    they are read from one coordinate array; shapes with holes or parts are
    split by GEOS.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    polygonal = shapely.get_type_id(geoms) >= 3
    xy, of = shapely.get_coordinates(np.where(polygonal, geoms, None), return_index=True)
    jit = loaded_jit()
    counts = np.bincount(of, minlength=n)
    start = np.cumsum(counts) - counts
    if jit is not None:
        single = np.zeros(n, dtype=bool)
        jit.single_rings(xy, np.r_[start, len(xy)], single)
    else:
        back = (xy == xy[start[of]]).all(axis=1)  # at the geometry's first point
        single = (np.bincount(of, weights=back, minlength=n) == 2) & (counts >= 4)
        single[single] = back[(start + counts - 1)[single]]  # ... and again at its last
    parts = [_one_ring_each(xy, of, single)]
    many = np.flatnonzero(polygonal & ~single)
    if len(many):
        parts.append(_split_rings(geoms[many], many))
    if len(parts) == 1:
        xy, ring_len, owner, sign = parts[0]
    else:  # rings grouped by geometry again
        xy, ring_len, owner, sign = (np.concatenate(x) for x in zip(*parts, strict=True))
        order = np.argsort(owner, kind="stable")
        xy = xy[_ranges((np.cumsum(ring_len) - ring_len)[order], ring_len[order])]
        ring_len, owner, sign = ring_len[order], owner[order], sign[order]
    ring_start = np.r_[0, np.cumsum(ring_len)]
    bounds, twice = _ring_stats(xy, ring_start, jit)
    first = np.r_[0, np.cumsum(np.bincount(owner, minlength=n))]
    area = np.bincount(owner, weights=sign * np.abs(twice) / 2, minlength=n)
    return Rings(xy, ring_start, sign, np.sign(twice), bounds, first, area)


def _ring_stats(xy: np.ndarray, ring_start: np.ndarray, jit) -> tuple[np.ndarray, np.ndarray]:
    """Each ring's box, and twice its signed area about its first vertex (for its orientation)."""
    n_rings = len(ring_start) - 1
    bounds, twice = np.empty((n_rings, 4)), np.zeros(n_rings)
    if jit is not None:
        jit.ring_stats(xy, ring_start, bounds, twice)
        return bounds, twice
    ring_len = np.diff(ring_start)
    if n_rings:
        bounds[:, 0] = np.minimum.reduceat(xy[:, 0], ring_start[:-1])
        bounds[:, 1] = np.minimum.reduceat(xy[:, 1], ring_start[:-1])
        bounds[:, 2] = np.maximum.reduceat(xy[:, 0], ring_start[:-1])
        bounds[:, 3] = np.maximum.reduceat(xy[:, 1], ring_start[:-1])
    rel = xy - np.repeat(xy[ring_start[:-1]], ring_len, axis=0) if len(xy) else xy
    twice = _shoelace2(rel, np.repeat(np.arange(n_rings), ring_len), n_rings)
    return bounds, twice


def loaded_jit():
    """:mod:`gis.clip_jit` when the compiled kernels are in use and numba is loaded already, else None.

    For the small steps (splitting rings, testing rectangles against shapes) compiled
    code pays only where a run has loaded numba for its big ones; importing numba for a
    small step alone would cost more than it saves.
    """
    if not USE_JIT or "numba" not in sys.modules:
        return None
    try:
        import gis.clip_jit as jit
    except ImportError:
        return None
    return jit


def _one_ring_each(xy, of, single):
    """``(xy, ring_len, owner, sign)`` of the one-ring geometries, closing points dropped."""
    closing = np.r_[of[1:] != of[:-1], True] if len(of) else np.zeros(0, bool)
    keep = single[of] & ~closing
    owner = np.flatnonzero(single)
    ring_len = np.bincount(of[keep], minlength=len(single))[owner]
    return xy[keep], ring_len, owner, np.ones(len(owner))


def _split_rings(geoms, index):
    """``(xy, ring_len, owner, sign)`` of geometries with holes or parts, through GEOS."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    while (nested := shapely.get_type_id(parts) >= 4).any():  # collections of multipolygons
        inner, inner_of = shapely.get_parts(parts[nested], return_index=True)
        parts, part_of = np.r_[parts[~nested], inner], np.r_[part_of[~nested], part_of[nested][inner_of]]
    polys = shapely.get_type_id(parts) == 3
    parts, part_of = parts[polys], part_of[polys]
    order = np.argsort(part_of, kind="stable")
    parts, part_of = parts[order], part_of[order]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]] if len(rings) else np.zeros(0, bool)
    xy, pt_ring = shapely.get_coordinates(rings, return_index=True)
    closing = np.r_[pt_ring[1:] != pt_ring[:-1], True] if len(xy) else np.zeros(0, bool)
    ring_len = np.bincount(pt_ring[~closing], minlength=len(rings))
    return xy[~closing], ring_len, index[part_of[ring_part]], np.where(exterior, 1.0, -1.0)


def overlay_area(a: Rings, a_idx: np.ndarray, b: Rings, b_idx: np.ndarray,
                 max_row_vertices: int = MAX_ROW_VERTICES, *, kernel=None) -> np.ndarray:
    """Area of ``A[a_idx[k]] ∩ B[b_idx[k]]`` for each pair ``k``; NaN where it is left to GEOS.

    ``a`` and ``b`` are :func:`rings_of` the A and the B geometries.  NaN marks
    pairs whose clip would handle more than ``max_row_vertices`` vertices.
    """
    a_idx = np.asarray(a_idx, dtype=np.int64)
    b_idx = np.asarray(b_idx, dtype=np.int64)
    n = len(a_idx)
    out = np.zeros(n)
    if not n:
        return out
    jit = kernel or compiled_kernel(n)  # the caller's choice holds for all its pairs, however they are split
    if jit is not None:
        jit(a.xy, a.start, a.sign, a.bounds, a.first, a_idx, b.xy, b.start, b.turn * b.sign, b.bounds, b.first, b_idx,
            out)
        return out
    pair, ring, edge = _rows(a, a_idx, b, b_idx)
    size = a.start[ring + 1] - a.start[ring]
    refused = np.bincount(pair, weights=size, minlength=n) > max_row_vertices
    out[refused] = np.nan
    keep = ~refused[pair]
    pair, ring, edge, size = pair[keep], ring[keep], edge[keep], size[keep]
    # batches of whole rows, each of at most about _BATCH_VERTICES vertices
    ends = np.cumsum(size)
    cuts = np.searchsorted(ends, np.arange(_BATCH_VERTICES, ends[-1] if len(ends) else 0, _BATCH_VERTICES))
    for rows in np.split(np.arange(len(pair)), np.unique(cuts)):
        if len(rows):
            out += np.bincount(pair[rows], weights=_strip_areas(a, ring[rows], b, edge[rows]), minlength=n)
    return out


#: The sums of strips leave a rounding residue where the true overlap is 0 (shapes
#: that share an edge): up to 6e-10 square units on Cambridge's lots and features.
#: Overlaps up to this area (square CRS units) are taken to be that residue.
NOISE_AREA = 1e-8


def _without_noise(out: np.ndarray) -> np.ndarray:
    """``out`` with negative sums and rounding residues (:data:`NOISE_AREA`) set to 0 (NaN kept)."""
    out[out <= NOISE_AREA] = 0.0
    return out


#: Below this many pairs in one call GEOS is used even where numba is installed:
#: importing numba and loading its compiled code costs a process 0.5-0.9 s once, and
#: a homeowner's lot or a chunk of the synthetic city (under 1,000 pairs) would never
#: repay it; a chunk of real lots (10,000-40,000 pairs a call) does.
JIT_MIN_PAIRS = 5_000

#: Set to False never to use the compiled kernel (the tests compare the paths).
USE_JIT = True


def compiled_kernel(n_pairs: int):
    """The compiled kernel (:mod:`gis.clip_jit`) if it is wanted and numba is installed, else None.

    None also below :data:`JIT_MIN_PAIRS` pairs, where loading it would not pay.
    """
    if not USE_JIT or n_pairs < JIT_MIN_PAIRS:
        return None
    try:
        from gis.clip_jit import pair_areas
    except ImportError:  # numba is optional: the array code gives the same areas
        return None
    return pair_areas


def _edges(b: Rings):
    """Per vertex of ``b``: the edge to the next vertex, left end first, and its weight.

    The weight is the edge's sign in the ring's winding number (+1 right to
    left in a counter-clockwise ring), times the ring's role (hole -1); 0
    for vertical edges, which bound no strip.
    """
    ring_of = np.repeat(np.arange(len(b.sign)), np.diff(b.start))
    nxt = _next_in_ring(ring_of)
    p, q = b.xy, b.xy[nxt]
    weight = np.sign(p[:, 0] - q[:, 0]) * (b.turn * b.sign)[ring_of]
    swap = p[:, 0] > q[:, 0]
    left = np.where(swap[:, None], q, p)
    right = np.where(swap[:, None], p, q)
    return left, right, weight, ring_of


def _rows(a: Rings, a_idx, b: Rings, b_idx):
    """The (pair, ring of A, edge of B) rows that can add area.

    An edge counts for a ring when their x-ranges overlap with positive width
    and the ring reaches below the edge's higher end.
    """
    left, right, weight, _ = _edges(b)
    b_first_pt = b.start[b.first]  # first vertex of each geometry's first ring
    n_rings = a.first[a_idx + 1] - a.first[a_idx]
    pair = np.repeat(np.arange(len(a_idx)), n_rings)
    ring = _ranges(a.first[a_idx], n_rings)
    g = b_idx[pair]
    n_edges = b_first_pt[g + 1] - b_first_pt[g]
    edge = _ranges(b_first_pt[g], n_edges)
    pair, ring = np.repeat(pair, n_edges), np.repeat(ring, n_edges)
    rb, lo, hi = a.bounds[ring], left[edge], right[edge]
    meet = ((weight[edge] != 0) & (np.minimum(rb[:, 2], hi[:, 0]) > np.maximum(rb[:, 0], lo[:, 0]))
            & (rb[:, 1] < np.maximum(lo[:, 1], hi[:, 1])))
    return pair[meet], ring[meet], edge[meet]


def _strip_areas(a: Rings, ring: np.ndarray, b: Rings, edge: np.ndarray) -> np.ndarray:
    """Signed area of each ring ``ring[r]`` inside the strip under edge ``edge[r]``, times the edge's weight."""
    left, right, weight, _ = _edges(b)
    lo, hi, w = left[edge], right[edge], weight[edge]
    n_rows = len(ring)
    size = a.start[ring + 1] - a.start[ring]
    row = np.repeat(np.arange(n_rows), size)
    # coordinates about the edge's left end: small numbers, for precision
    xy = a.xy[_ranges(a.start[ring], size)] - lo[row]
    width, rise = hi[:, 0] - lo[:, 0], hi[:, 1] - lo[:, 1]
    xy, row = _clip_half_plane(xy, row, xy[:, 0], 0, np.zeros(n_rows))  # x >= left end
    xy, row = _clip_half_plane(xy, row, width[row] - xy[:, 0], 0, width)  # x <= right end
    # below the edge's line: cross(edge, p) <= 0
    xy, row = _clip_half_plane(xy, row, rise[row] * xy[:, 0] - width[row] * xy[:, 1])
    twice = _shoelace2(xy, row, n_rows)
    return np.abs(twice) / 2 * a.sign[ring] * w


def _clip_half_plane(xy: np.ndarray, row: np.ndarray, dp: np.ndarray, axis: int | None = None,
                     at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One Sutherland–Hodgman step: the rings (vertices grouped by ``row``) cut to ``dp >= 0``.

    With ``axis``, the cut is the line ``xy[:, axis] == at[row]``, and the new
    points are put on it exactly.
    """
    if not len(xy):
        return xy, row
    nxt = _next_in_ring(row)
    dq = dp[nxt]
    p_in, q_in = dp >= 0, dq >= 0
    cross = p_in != q_in
    # each edge p → q gives: the crossing point if it crosses, then q if q is in
    count = cross.astype(np.int64) + q_in
    first = np.cumsum(count) - count
    new_xy = np.empty((int(first[-1] + count[-1]), 2))
    c = np.flatnonzero(cross)
    t = dp[c] / (dp[c] - dq[c])
    hit = xy[c] + t[:, None] * (xy[nxt[c]] - xy[c])
    if axis is not None:
        hit[:, axis] = at[row[c]]
    new_xy[first[c]] = hit
    q = np.flatnonzero(q_in)
    new_xy[first[q] + cross[q]] = xy[nxt[q]]
    return new_xy, np.repeat(row, count)


def _shoelace2(xy: np.ndarray, row: np.ndarray, n: int) -> np.ndarray:
    """Twice the signed area of each of ``n`` open rings (vertices grouped by ring)."""
    if not len(xy):
        return np.zeros(n)
    nxt = _next_in_ring(row)
    return np.bincount(row, weights=xy[:, 0] * xy[nxt, 1] - xy[nxt, 0] * xy[:, 1], minlength=n)


def _next_in_ring(ring: np.ndarray) -> np.ndarray:
    """Index of the next vertex of the same (closed) ring, for vertices grouped by ring."""
    nxt = np.arange(1, len(ring) + 1)
    if len(ring):
        ends = np.flatnonzero(np.r_[ring[1:] != ring[:-1], True])
        nxt[ends] = np.r_[0, ends[:-1] + 1]
    return nxt


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])``, vectorized."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(np.asarray(starts, dtype=np.int64), counts) + np.arange(total) - offsets


def intersection_areas(a: np.ndarray, b: np.ndarray, a_idx: np.ndarray | None = None,
                       b_idx: np.ndarray | None = None, *, compiled_only: bool = False,
                       raw: bool = False) -> np.ndarray:
    """``area(a[a_idx[k]] ∩ b[b_idx[k]])`` for polygonal geometries, by the compiled kernel where it pays.

    Without ``a_idx``/``b_idx`` the pairs are ``(a[k], b[k])``.  Where numba
    is installed and there are at least :data:`JIT_MIN_PAIRS` pairs, the shape
    of each pair with fewer vertices is clipped against the strips under the
    other one's edges (:mod:`gis.clip_jit`; each indexed shape split into
    rings once), and pairs above :data:`JIT_MAX_PRODUCT` go to GEOS.  Else
    every pair is a GEOS overlay: the array code (:func:`overlay_area`) gives
    the same areas but is no faster than GEOS (measured on Cambridge: 2.35-2.6 s
    of CPU for the whole city against 2.3-2.4 s).  Kernel results up to
    :data:`NOISE_AREA` are rounding residues and given as 0 (``raw``: as
    computed, for callers that test them themselves).  ``compiled_only``: NaN
    for every pair the kernel does not take, instead of a GEOS overlay.
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    a_idx = np.arange(len(a)) if a_idx is None else np.asarray(a_idx, dtype=np.int64)
    b_idx = np.arange(len(b)) if b_idx is None else np.asarray(b_idx, dtype=np.int64)
    out = np.full(len(a_idx), np.nan)
    kernel = compiled_kernel(len(a_idx))
    if kernel is None:
        if not compiled_only:
            out[:] = np.nan_to_num(shapely.area(shapely.intersection(a[a_idx], b[b_idx])), nan=0.0)
        return out
    na, nb = shapely.get_num_coordinates(a[a_idx]), shapely.get_num_coordinates(b[b_idx])
    small = na.astype(np.float64) * nb <= JIT_MAX_PRODUCT
    idx = np.flatnonzero(small & (na > 0) & (nb > 0))
    if len(idx):
        (ra, a_of), (rb, b_of) = _rings_used(a, a_idx[idx]), _rings_used(b, b_idx[idx])
        swap = na[idx] > nb[idx]
        found = np.empty(len(idx))
        found[~swap] = overlay_area(ra, a_of[~swap], rb, b_of[~swap], kernel=kernel)
        found[swap] = overlay_area(rb, b_of[swap], ra, a_of[swap], kernel=kernel)
        out[idx] = found if raw else _without_noise(found)
    out[(na == 0) | (nb == 0)] = 0.0
    rest = np.flatnonzero(np.isnan(out))
    if len(rest) and not compiled_only:
        out[rest] = np.nan_to_num(shapely.area(shapely.intersection(a[a_idx[rest]], b[b_idx[rest]])), nan=0.0)
    return out


def ring_pair_areas(a: Rings, a_idx: np.ndarray, b: Rings, b_idx: np.ndarray, kernel) -> np.ndarray:
    """``area(A[a_idx[k]] ∩ B[b_idx[k]])`` from rings split beforehand, by the compiled ``kernel``.

    ``a`` and ``b`` are :func:`rings_of` whole arrays of shapes, split once
    and indexed by many calls.  The side with fewer vertices is clipped;
    pairs above :data:`JIT_MAX_PRODUCT` are NaN (the caller uses GEOS for
    them).  Rounding residues up to :data:`NOISE_AREA` are given as 0.
    """
    a_idx = np.asarray(a_idx, dtype=np.int64)
    b_idx = np.asarray(b_idx, dtype=np.int64)
    na = (a.start[a.first[1:]] - a.start[a.first[:-1]])[a_idx]
    nb = (b.start[b.first[1:]] - b.start[b.first[:-1]])[b_idx]
    out = np.zeros(len(a_idx))
    small = na.astype(np.float64) * nb <= JIT_MAX_PRODUCT
    out[~small] = np.nan
    swap = small & (na > nb)
    keep = small & ~swap
    out[keep] = overlay_area(a, a_idx[keep], b, b_idx[keep], kernel=kernel)
    out[swap] = overlay_area(b, b_idx[swap], a, a_idx[swap], kernel=kernel)
    return _without_noise(out)


def ring_triple_areas(a: Rings, a_idx: np.ndarray, b: Rings, b_idx: np.ndarray, c: Rings,
                      c_idx: np.ndarray) -> np.ndarray:
    """``area(A[a_idx[k]] ∩ B[b_idx[k]] ∩ C[c_idx[k]])`` from rings split beforehand, by the compiled kernel.

    A's rings are clipped against the strips under an edge of B and an edge
    of C (:func:`gis.clip_jit.triple_areas`); the cost of a triple is about
    A's vertices times B's times C's edges that lie over it, so A should be
    the smallest shape.  NaN where the product of the three vertex counts
    passes :data:`JIT_MAX_TRIPLE` (the caller uses GEOS then).  Rounding
    residues up to :data:`NOISE_AREA` are given as 0.  Needs numba.
    """
    from gis.clip_jit import triple_areas

    idx = [np.asarray(i, dtype=np.int64) for i in (a_idx, b_idx, c_idx)]
    size = np.ones(len(idx[0]))
    for r, i in zip((a, b, c), idx, strict=True):
        size *= (r.start[r.first[1:]] - r.start[r.first[:-1]])[i]
    out = np.full(len(idx[0]), np.nan)
    ok = np.flatnonzero(size <= JIT_MAX_TRIPLE)
    found = np.zeros(len(ok))
    if len(ok):
        triple_areas(a.xy, a.start, a.sign, a.bounds, a.first, idx[0][ok], b.xy, b.start, b.turn * b.sign, b.bounds,
                     b.first, idx[1][ok], c.xy, c.start, c.turn * c.sign, c.bounds, c.first, idx[2][ok], found)
    out[ok] = _without_noise(found)
    return out


#: The triple kernel takes triples of up to this many vertex triples (10 x 100 x 1,000).
JIT_MAX_TRIPLE = 1_000_000


def _rings_used(geoms: np.ndarray, idx: np.ndarray) -> tuple[Rings, np.ndarray]:
    """The rings of the geometries ``geoms[idx]``, each once, and each index's position among them."""
    used, position = np.unique(idx, return_inverse=True)
    return rings_of(geoms[used]), position


#: The compiled kernel takes pairs of up to this many vertex pairs (a lot of 1,000
#: vertices and a walkway of 1,000); bigger ones are cheaper as a GEOS overlay.
JIT_MAX_PRODUCT = 1_000_000
