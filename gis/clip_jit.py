"""The compiled kernel of :mod:`gis.clip` (numba): the same strip sums as its array code, one pair at a time.

Kept in its own module so that numba is imported (about 0.4 s, plus loading
the cached machine code) only by runs with enough pairs to pay for it.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _clip(src, n, dst, nx, ny, c, axis, at):
    """Sutherland–Hodgman: the ring ``src[:n]`` cut to ``nx*x + ny*y - c >= 0`` into ``dst``.

    With ``axis`` 0 the cut is the vertical line ``x == at`` and new points are put on it exactly.
    """
    m = 0
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        px, py = src[i, 0], src[i, 1]
        qx, qy = src[j, 0], src[j, 1]
        dp = nx * px + ny * py - c
        dq = nx * qx + ny * qy - c
        if (dp >= 0) != (dq >= 0):
            t = dp / (dp - dq)
            dst[m, 0] = at if axis == 0 else px + t * (qx - px)
            dst[m, 1] = py + t * (qy - py)
            m += 1
        if dq >= 0:
            dst[m, 0] = qx
            dst[m, 1] = qy
            m += 1
    return m


@njit(cache=True, nogil=True)
def _twice_area(buf, m):
    s = 0.0
    for i in range(m):
        j = i + 1 if i + 1 < m else 0
        s += buf[i, 0] * buf[j, 1] - buf[j, 0] * buf[i, 1]
    return s


@njit(cache=True, nogil=True)
def _apart(bounds, r, x0, y0, x1, y1):
    """Whether ring ``r``'s box (``bounds[r]``) and the box ``x0, y0, x1, y1`` share no area."""
    return bounds[r, 0] >= x1 or bounds[r, 2] <= x0 or bounds[r, 1] >= y1 or bounds[r, 3] <= y0


@njit(cache=True, nogil=True)
def pair_areas(a_xy, a_start, a_sign, a_bounds, a_first, a_idx,
               b_xy, b_start, b_weight, b_bounds, b_first, b_idx, out):
    """``out[k]`` = area of A[a_idx[k]] ∩ B[b_idx[k]] by the strips under B's edges (see :mod:`gis.clip`).

    A ring of B whose box misses the box of A's ring adds nothing (beside, below: no strip
    meets it; above: a closed ring crosses each vertical line as often upwards as
    downwards, so its strips cancel) and is skipped: a street parcel's holes far from the
    feature cost a box test each, not their edges."""
    longest = 1
    for r in range(len(a_start) - 1):
        longest = max(longest, a_start[r + 1] - a_start[r])
    buf1 = np.empty((8 * longest + 8, 2))
    buf2 = np.empty((8 * longest + 8, 2))
    for k in range(len(a_idx)):
        ga, gb = a_idx[k], b_idx[k]
        total = 0.0
        for ra in range(a_first[ga], a_first[ga + 1]):
            s0, n = a_start[ra], a_start[ra + 1] - a_start[ra]
            if n < 3:
                continue
            x0, y0, x1, y1 = a_bounds[ra, 0], a_bounds[ra, 1], a_bounds[ra, 2], a_bounds[ra, 3]
            for rb in range(b_first[gb], b_first[gb + 1]):
                w_ring = b_weight[rb]
                if w_ring == 0 or _apart(b_bounds, rb, x0, y0, x1, y1):
                    continue
                e0, e1 = b_start[rb], b_start[rb + 1]
                for i in range(e0, e1):
                    j = i + 1 if i + 1 < e1 else e0
                    px, py, qx, qy = b_xy[i, 0], b_xy[i, 1], b_xy[j, 0], b_xy[j, 1]
                    if px == qx:
                        continue
                    if px > qx:
                        lx, ly, rx, ry, w = qx, qy, px, py, w_ring
                    else:
                        lx, ly, rx, ry, w = px, py, qx, qy, -w_ring
                    if not (x1 > lx and x0 < rx and y0 < max(ly, ry)):
                        continue
                    # the ring about the edge's left end, then cut to the strip under the edge
                    for v in range(n):
                        buf1[v, 0] = a_xy[s0 + v, 0] - lx
                        buf1[v, 1] = a_xy[s0 + v, 1] - ly
                    width, rise = rx - lx, ry - ly
                    m, in_first = n, True
                    if x0 < lx:
                        m = _clip(buf1, m, buf2, 1.0, 0.0, 0.0, 0, 0.0)
                        in_first = False
                    if x1 > rx:
                        if in_first:
                            m = _clip(buf1, m, buf2, -1.0, 0.0, -width, 0, width)
                        else:
                            m = _clip(buf2, m, buf1, -1.0, 0.0, -width, 0, width)
                        in_first = not in_first
                    if y1 > min(ly, ry):
                        if in_first:
                            m = _clip(buf1, m, buf2, rise, -width, 0.0, 1, 0.0)
                        else:
                            m = _clip(buf2, m, buf1, rise, -width, 0.0, 1, 0.0)
                        in_first = not in_first
                    twice = _twice_area(buf1, m) if in_first else _twice_area(buf2, m)
                    total += w * a_sign[ra] * abs(twice) / 2
        out[k] = total


@njit(cache=True, nogil=True)
def _strip(src, m, t1, t2, lx, ly, rx, ry):
    """The ring ``src[:m]`` cut to the strip under the edge from ``(lx, ly)`` to ``(rx, ry)`` (``lx < rx``), in ``t1``.

    ``t2`` is scratch space.
    """
    m = _clip(src, m, t1, 1.0, 0.0, lx, 0, lx)
    m = _clip(t1, m, t2, -1.0, 0.0, -rx, 0, rx)
    width, rise = rx - lx, ry - ly
    return _clip(t2, m, t1, rise, -width, rise * lx - width * ly, 1, 0.0)


@njit(cache=True, nogil=True)
def triple_areas(a_xy, a_start, a_sign, a_bounds, a_first, a_idx, b_xy, b_start, b_weight, b_bounds, b_first, b_idx,
                 c_xy, c_start, c_weight, c_bounds, c_first, c_idx, out):
    """``out[k]`` = area of A[a_idx[k]] ∩ B[b_idx[k]] ∩ C[c_idx[k]] by the strips under B's and C's edges.

    The indicator of B is the weighted sum of the strips under its edges, and
    so is C's, so ``area(A ∩ B ∩ C)`` is the double sum over an edge e of B and
    an edge f of C of ``±area(A ∩ T(e) ∩ T(f))``; ``T(e) ∩ T(f)`` is convex, so
    clipping A's rings against its six half-planes is exact (see :mod:`gis.clip`).  Rings of
    B and C whose boxes miss the clipped ring's are skipped, as in :func:`pair_areas`.
    """
    longest = 1
    for r in range(len(a_start) - 1):
        longest = max(longest, a_start[r + 1] - a_start[r])
    size = 16 * longest + 64
    buf0, buf1 = np.empty((size, 2)), np.empty((size, 2))
    buf2, buf3 = np.empty((size, 2)), np.empty((size, 2))
    for k in range(len(a_idx)):
        ga, gb, gc = a_idx[k], b_idx[k], c_idx[k]
        total = 0.0
        for ra in range(a_first[ga], a_first[ga + 1]):
            s0, n = a_start[ra], a_start[ra + 1] - a_start[ra]
            if n < 3:
                continue
            ax0, ay0, ax1, ay1 = a_bounds[ra, 0], a_bounds[ra, 1], a_bounds[ra, 2], a_bounds[ra, 3]
            for rb in range(b_first[gb], b_first[gb + 1]):
                w_rb = b_weight[rb]
                if w_rb == 0 or _apart(b_bounds, rb, ax0, ay0, ax1, ay1):
                    continue
                e0, e1 = b_start[rb], b_start[rb + 1]
                for i in range(e0, e1):
                    j = i + 1 if i + 1 < e1 else e0
                    px, py, qx, qy = b_xy[i, 0], b_xy[i, 1], b_xy[j, 0], b_xy[j, 1]
                    if px == qx:
                        continue
                    if px > qx:
                        lx, ly, rx, ry, w = qx, qy, px, py, w_rb
                    else:
                        lx, ly, rx, ry, w = px, py, qx, qy, -w_rb
                    if not (ax1 > lx and ax0 < rx and ay0 < max(ly, ry)):
                        continue
                    for v in range(n):  # about the edge's left end, for precision
                        buf0[v, 0] = a_xy[s0 + v, 0] - lx
                        buf0[v, 1] = a_xy[s0 + v, 1] - ly
                    m = _strip(buf0, n, buf1, buf2, 0.0, 0.0, rx - lx, ry - ly)
                    if m < 3:
                        continue
                    x0, x1, y0, y1 = buf1[0, 0], buf1[0, 0], buf1[0, 1], buf1[0, 1]
                    for v in range(1, m):
                        x0, x1 = min(x0, buf1[v, 0]), max(x1, buf1[v, 0])
                        y0, y1 = min(y0, buf1[v, 1]), max(y1, buf1[v, 1])
                    total += w * a_sign[ra] * _under_edges(buf1, m, x0, x1, y0, y1, lx, ly, c_xy, c_start, c_weight,
                                                           c_bounds, c_first[gc], c_first[gc + 1], buf3, buf2)
        out[k] = total


@njit(cache=True, nogil=True)
def _under_edges(x, m, x0, x1, y0, y1, ox, oy, c_xy, c_start, c_weight, c_bounds, r0, r1, t1, t2):
    """Area of the region of ring ``x[:m]`` (coordinates about ``(ox, oy)``, bounds ``x0, x1, y0, y1``)
    inside the shape of rings ``r0:r1`` of C, as the weighted sum of its parts under C's edges."""
    total = 0.0
    for rc in range(r0, r1):
        w_rc = c_weight[rc]
        if w_rc == 0 or _apart(c_bounds, rc, x0 + ox, y0 + oy, x1 + ox, y1 + oy):
            continue
        e0, e1 = c_start[rc], c_start[rc + 1]
        for i in range(e0, e1):
            j = i + 1 if i + 1 < e1 else e0
            px, py, qx, qy = c_xy[i, 0] - ox, c_xy[i, 1] - oy, c_xy[j, 0] - ox, c_xy[j, 1] - oy
            if px == qx:
                continue
            if px > qx:
                lx, ly, rx, ry, w = qx, qy, px, py, w_rc
            else:
                lx, ly, rx, ry, w = px, py, qx, qy, -w_rc
            if not (x1 > lx and x0 < rx and y0 < max(ly, ry)):
                continue
            k = _strip(x, m, t1, t2, lx, ly, rx, ry)
            total += w * abs(_twice_area(t1, k)) / 2
    return total


@njit(cache=True, nogil=True)
def single_rings(xy, start, out):
    """``out[g]``: the coordinates ``xy[start[g]:start[g + 1]]`` are one closed ring.

    That is: at least four of them, and back at the first point at the last
    one and nowhere in between (a shape of several rings passes through its
    first point again, or ends elsewhere).
    """
    for g in range(len(start) - 1):
        s, e = start[g], start[g + 1]
        ok = e - s >= 4 and xy[e - 1, 0] == xy[s, 0] and xy[e - 1, 1] == xy[s, 1]
        j = s + 1
        while ok and j < e - 1:
            ok = not (xy[j, 0] == xy[s, 0] and xy[j, 1] == xy[s, 1])
            j += 1
        out[g] = ok


@njit(cache=True, nogil=True)
def ring_stats(xy, ring_start, bounds, twice):
    """Each open ring's box, and twice its signed area about its first vertex (shoelace), in one pass."""
    for r in range(len(ring_start) - 1):
        s, e = ring_start[r], ring_start[r + 1]
        ox, oy = xy[s, 0], xy[s, 1]
        x0, y0, x1, y1, t = ox, oy, ox, oy, 0.0
        for i in range(s, e):
            j = i + 1 if i + 1 < e else s
            x, y = xy[i, 0], xy[i, 1]
            x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
            t += (x - ox) * (xy[j, 1] - oy) - (xy[j, 0] - ox) * (y - oy)
        bounds[r, 0], bounds[r, 1], bounds[r, 2], bounds[r, 3] = x0, y0, x1, y1
        twice[r] = t


@njit(cache=True, nogil=True)
def rects_in_rings(xy, start, of, rects, out):
    """``out[i]``: where the rectangle ``rects[i]`` lies against the ring of shape ``of[i]``
    (its points ``xy[start[g]:start[g + 1]]``, closed): 1 inside, 0 outside, -1 undecided.

    Undecided where an edge passes through the open rectangle (Liang–Barsky, edge by
    edge, as :func:`gis.overlay.rect_in_polygon`'s array code tests it) or where the
    rectangle is too thin for its centre to be placed exactly.  Otherwise the ring meets
    the horizontal through the centre at least half the rectangle's width away from it, so
    the crossing-number test of the centre (a ray to +x, each edge counted with the
    half-open rule in y) cannot be tipped by rounding: its one inexact step, where an edge
    meets the ray, errs by a few units in the last place of the coordinates, far below the
    margin kept here (2**-30 of their size).
    """
    for i in range(len(of)):
        g = of[i]
        rx0, ry0, rx1, ry1 = rects[i, 0], rects[i, 1], rects[i, 2], rects[i, 3]
        cx, cy = (rx0 + rx1) / 2, (ry0 + ry1) / 2
        crossed, inside = False, False
        size = max(abs(rx0), abs(ry0), abs(rx1), abs(ry1))
        for k in range(start[g], start[g + 1] - 1):
            ax, ay, bx, by = xy[k, 0], xy[k, 1], xy[k + 1, 0], xy[k + 1, 1]
            lo, hi = -np.inf, np.inf
            for axis in range(2):
                p0 = ax if axis == 0 else ay
                d = (bx - ax) if axis == 0 else (by - ay)
                lo_side, hi_side = (rx0, rx1) if axis == 0 else (ry0, ry1)
                if d == 0:
                    if not (p0 > lo_side and p0 < hi_side):
                        lo = np.inf
                else:
                    t0, t1 = (lo_side - p0) / d, (hi_side - p0) / d
                    lo, hi = max(lo, min(t0, t1)), min(hi, max(t0, t1))
            if lo < hi and lo < 1 and hi > 0:
                crossed = True
                break
            if (ay > cy) != (by > cy) and cx < ax + (cy - ay) * (bx - ax) / (by - ay):
                inside = not inside
            size = max(size, abs(ax), abs(ay))
        margin = size * 2.0 ** -30
        if crossed or min(cx - rx0, rx1 - cx, cy - ry0, ry1 - cy) <= margin:
            out[i] = -1
        else:
            out[i] = 1 if inside else 0
