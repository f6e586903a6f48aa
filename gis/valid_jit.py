"""The compiled part of :mod:`gis.validity` (numba): rings it can vouch for as simple.

Kept in its own module so that numba is imported only by calls with enough
shapes to pay for it (see :data:`gis.validity.JIT_MIN_SHAPES`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: An orientation is taken as known when it is further from 0 than this share of
#: its two products.  Shewchuk's bound for the floating-point determinant is 3.3e-16;
#: this is four thousand times wider, so that a "sure" sign is never a rounding accident.
_MARGIN = 1e-12


@njit(cache=True, nogil=True)
def _side(ax, ay, bx, by, cx, cy):
    """+1 or -1 when ``c`` is surely left or right of the line ``a → b``, 0 when it is near it."""
    left = (bx - ax) * (cy - ay)
    right = (by - ay) * (cx - ax)
    det = left - right
    if abs(det) <= _MARGIN * (abs(left) + abs(right)):
        return 0
    return 1 if det > 0 else -1


@njit(cache=True, nogil=True)
def _open_ring(xy, s, e, buf):
    """The closed ring ``xy[s:e]`` into ``buf`` without its closing point and repeated points; its length.

    -1 when the ring is not closed or a coordinate is not finite.
    """
    if e - s < 4 or xy[s, 0] != xy[e - 1, 0] or xy[s, 1] != xy[e - 1, 1]:
        return -1
    m = 0
    for i in range(s, e - 1):
        x, y = xy[i, 0], xy[i, 1]
        if not (np.isfinite(x) and np.isfinite(y)):
            return -1
        if m > 0 and x == buf[m - 1, 0] and y == buf[m - 1, 1]:
            continue
        buf[m, 0], buf[m, 1] = x, y
        m += 1
    while m > 1 and buf[m - 1, 0] == buf[0, 0] and buf[m - 1, 1] == buf[0, 1]:
        m -= 1
    return m


@njit(cache=True, nogil=True)
def _no_spikes(buf, m):
    """No vertex where the ring turns back on itself (or might, within rounding)."""
    for i in range(m):
        h, j = (i - 1) % m, (i + 1) % m
        if _side(buf[h, 0], buf[h, 1], buf[i, 0], buf[i, 1], buf[j, 0], buf[j, 1]) != 0:
            continue
        # nearly in line: fine only when the ring goes on forward
        ux, uy = buf[i, 0] - buf[h, 0], buf[i, 1] - buf[h, 1]
        vx, vy = buf[j, 0] - buf[i, 0], buf[j, 1] - buf[i, 1]
        if ux * vx + uy * vy <= _MARGIN * (abs(ux * vx) + abs(uy * vy)):
            return False
    return True


@njit(cache=True, nogil=True)
def _edges_apart(buf, m, i, j):
    """Edges ``i`` and ``j`` (not neighbours) surely do not meet, not even at a point."""
    p1x, p1y, p2x, p2y = buf[i, 0], buf[i, 1], buf[(i + 1) % m, 0], buf[(i + 1) % m, 1]
    q1x, q1y, q2x, q2y = buf[j, 0], buf[j, 1], buf[(j + 1) % m, 0], buf[(j + 1) % m, 1]
    if (max(p1x, p2x) < min(q1x, q2x) or max(q1x, q2x) < min(p1x, p2x)
            or max(p1y, p2y) < min(q1y, q2y) or max(q1y, q2y) < min(p1y, p2y)):
        return True
    d1 = _side(p1x, p1y, p2x, p2y, q1x, q1y)
    d2 = _side(p1x, p1y, p2x, p2y, q2x, q2y)
    d3 = _side(q1x, q1y, q2x, q2y, p1x, p1y)
    d4 = _side(q1x, q1y, q2x, q2y, p2x, p2y)
    if d1 == 0 or d2 == 0 or d3 == 0 or d4 == 0:
        return False
    return d1 == d2 or d3 == d4


@njit(cache=True, nogil=True)
def _no_crossings(buf, m):
    """No two edges of the open ring ``buf[:m]`` that are not neighbours meet (or might, within rounding)."""
    for i in range(m):
        for j in range(i + 2, m - 1 if i == 0 else m):
            if not _edges_apart(buf, m, i, j):
                return False
    return True


#: A swept ring whose edges overlap in x more than this many times per edge (a comb, a
#: zigzag) is left to GEOS: the sweep would pair nearly all its edges.
_PAIRS_PER_EDGE = 16


@njit(cache=True, nogil=True)
def _no_crossings_swept(buf, m):
    """:func:`_no_crossings` for longer rings: edges in order of their left ends, each
    compared only with the edges that start before its right end (sort and sweep).

    False ("not sure") once the pairs passed :data:`_PAIRS_PER_EDGE` per edge, so
    that the cost stays near-linear in the ring whatever its shape.
    """
    lo, hi = np.empty(m), np.empty(m)
    for i in range(m):
        a, b = buf[i, 0], buf[(i + 1) % m, 0]
        lo[i], hi[i] = min(a, b), max(a, b)
    order = np.argsort(lo)
    budget = _PAIRS_PER_EDGE * m
    for oi in range(m):
        i = order[oi]
        for oj in range(oi + 1, m):
            j = order[oj]
            if lo[j] > hi[i]:
                break
            budget -= 1
            if budget < 0:
                return False
            if abs(i - j) == 1 or abs(i - j) == m - 1:  # neighbours share a vertex
                continue
            if not _edges_apart(buf, m, min(i, j), max(i, j)):
                return False
    return True


#: Rings of more edges than this are checked by sort and sweep instead of all pairs.
_SWEEP_FROM = 16


@njit(cache=True, nogil=True)
def simple_rings(xy, start, out):
    """``out[g]`` = True where the ring ``xy[start[g]:start[g + 1]]`` is surely a simple closed ring.

    Simple: closed, finite, at least three distinct points, no spike, and no
    two edges that are not neighbours meeting anywhere.  False means "not
    sure": the caller asks GEOS.  Cost: the ring's edges squared for short
    rings (pairs whose boxes are apart rejected first), a sort and a sweep
    for longer ones.
    """
    longest = 1
    for g in range(len(start) - 1):
        longest = max(longest, start[g + 1] - start[g])
    buf = np.empty((longest, 2))
    for g in range(len(start) - 1):
        m = _open_ring(xy, start[g], start[g + 1], buf)
        if m < 3 or not _no_spikes(buf, m):
            out[g] = False
        elif m > _SWEEP_FROM:
            out[g] = _no_crossings_swept(buf, m)
        else:
            out[g] = _no_crossings(buf, m)
