"""The compiled kernels of :mod:`sba.bulk.boxes` (numba): boxes read from WKB, and boxes meeting a grid's extents.

:func:`read_boxes` reads the bounding box of 2-D Polygon and MultiPolygon WKB
(ISO, either byte order, per part too) straight from the bytes, as GEOS gives
it: the box of the shells (GEOS leaves the holes out of a polygon's envelope).
A row it does not read exactly so -- another type, Z or M, an empty part, a
ring that GEOS would refuse (fewer than 4 points, not closed), a NaN or
infinite coordinate, a count that runs past the row's bytes or bytes left
over -- is marked unread and decoded by shapely, which then gives its answer
or its error.

:func:`feature_lots` pairs boxes with the boxes of a grid's cells (:func:`lot_grid`), a pair
met in several cells kept in the cell of its corner: the local run's (feature, lot) pairs, and
(:func:`grid_pairs`) the loop of :meth:`sba.bulk.boxes._Grid.pairs` for the cluster's routing.

Kept in its own module so that numba is imported only where it is installed and wanted.
"""

from __future__ import annotations

import numpy as np
from numba import njit

POLYGON, MULTIPOLYGON = 3, 6


@njit(cache=True, nogil=True)
def _uint32(data, pos, little):
    if little:
        return (np.uint32(data[pos]) | (np.uint32(data[pos + 1]) << 8) | (np.uint32(data[pos + 2]) << 16)
                | (np.uint32(data[pos + 3]) << 24))
    return (np.uint32(data[pos + 3]) | (np.uint32(data[pos + 2]) << 8) | (np.uint32(data[pos + 1]) << 16)
            | (np.uint32(data[pos]) << 24))


@njit(cache=True, nogil=True)
def _float64(data, pos, little, bits, value):
    """The double at ``pos``: its 8 bytes put in ``bits`` (one uint64), read through ``value`` (a view of it)."""
    u = np.uint64(0)
    for j in range(8):
        u |= np.uint64(data[pos + j]) << np.uint64(8 * j if little else 56 - 8 * j)
    bits[0] = u
    return value[0]


@njit(cache=True, nogil=True)
def _polygon(data, pos, end, box, bits, value):
    """Read one Polygon (header included) from ``pos``, widening ``box`` by its shell;
    the position after it, or -1 where it is not read."""
    if pos + 9 > end or data[pos] > 1:
        return -1
    little = data[pos] == 1
    if _uint32(data, pos + 1, little) != POLYGON:
        return -1
    rings = _uint32(data, pos + 5, little)
    pos += 9
    if rings == 0:
        return -1
    for ring in range(rings):
        if pos + 4 > end:
            return -1
        n = _uint32(data, pos, little)
        pos += 4
        if n < 4 or pos + 16 * np.int64(n) > end:
            return -1
        for k in range(n):
            x = _float64(data, pos + 16 * k, little, bits, value)
            y = _float64(data, pos + 16 * k + 8, little, bits, value)
            if not (np.isfinite(x) and np.isfinite(y)):
                return -1
            if ring == 0:
                box[0] = min(box[0], x)
                box[1] = min(box[1], y)
                box[2] = max(box[2], x)
                box[3] = max(box[3], y)
        last = pos + 16 * (np.int64(n) - 1)
        for j in range(16):  # closed: the last point is the first, bit for bit
            if data[pos + j] != data[last + j]:
                return -1
        pos += 16 * np.int64(n)
    return pos


@njit(cache=True, nogil=True)
def _axis_box(data, pos, little, bits, value):
    """Whether the one-ring Polygon of five points at ``pos`` (its header's start) is an
    axis-aligned rectangle as :func:`gis.overlay.axis_boxes` decides it, from the same doubles."""
    x0, y0 = _float64(data, pos + 13, little, bits, value), _float64(data, pos + 21, little, bits, value)
    x1, y1 = _float64(data, pos + 29, little, bits, value), _float64(data, pos + 37, little, bits, value)
    x2, y2 = _float64(data, pos + 45, little, bits, value), _float64(data, pos + 53, little, bits, value)
    x3, y3 = _float64(data, pos + 61, little, bits, value), _float64(data, pos + 69, little, bits, value)
    return ((((x0 == x1) and (y1 == y2) and (x2 == x3) and (y3 == y0))
             or ((y0 == y1) and (x1 == x2) and (y2 == y3) and (x3 == x0)))
            and (x0 != x2) and (y0 != y2))


@njit(cache=True, nogil=True)
def read_boxes(data, offsets, valid, out, kind, axis):
    """Fill ``out[i]`` (minx, miny, maxx, maxy) and ``kind[i]`` (3 or 6) for each row read,
    and ``axis[i]`` for a Polygon that is an axis-aligned box (:func:`_axis_box`);
    ``kind[i]`` stays 0 for a row left to shapely."""
    bits = np.zeros(1, dtype=np.uint64)
    value = bits.view(np.float64)
    box = np.empty(4, dtype=np.float64)
    for i in range(len(offsets) - 1):
        if not valid[i]:
            continue
        pos, end = np.int64(offsets[i]), np.int64(offsets[i + 1])
        if pos + 9 > end or data[pos] > 1:
            continue
        little = data[pos] == 1
        t = _uint32(data, pos + 1, little)
        box[0], box[1], box[2], box[3] = np.inf, np.inf, -np.inf, -np.inf
        start = pos
        if t == POLYGON:
            pos = _polygon(data, pos, end, box, bits, value)
            # one ring of five points (a polygon of five coordinates), read whole
            if pos == end and end - start == 13 + 5 * 16 and _uint32(data, start + 5, little) == 1:
                axis[i] = _axis_box(data, start, little, bits, value)
        elif t == MULTIPOLYGON:
            parts = _uint32(data, pos + 5, little)
            pos = pos + 9 if parts > 0 else -1
            for _ in range(parts):
                pos = _polygon(data, pos, end, box, bits, value)
                if pos < 0:
                    break
        else:
            continue
        if pos == end:
            out[i, 0], out[i, 1], out[i, 2], out[i, 3] = box[0], box[1], box[2], box[3]
            kind[i] = t


@njit(cache=True, nogil=True)
def _cell(v, v0, v1, size, n):
    """The cell column (or row) of ``v``, as :meth:`sba.bulk.boxes._Grid.cells` computes it."""
    c = np.floor((min(max(v, v0), v1) - v0) / size)
    return np.int64(min(max(c, 0.0), n - 1.0))


@njit(cache=True, nogil=True)
def _lot_span(lots, i, frame, nx, ny):
    """:func:`_span` of row ``i`` of ``lots``."""
    return _span(lots[i, 0], lots[i, 1], lots[i, 2], lots[i, 3], frame[0], frame[4], frame[2], nx,
                 frame[1], frame[5], frame[3], ny)


@njit(cache=True, nogil=True, inline="always")
def _span(b0, b1, b2, b3, x0, x1, cw, nx, y0, y1, ch, ny):
    """The columns and rows of the cells box ``b0, b1, b2, b3`` covers (``ix0, ix1, iy0, iy1``)."""
    return _cell(b0, x0, x1, cw, nx), _cell(b2, x0, x1, cw, nx), _cell(b1, y0, y1, ch, ny), _cell(b3, y0, y1, ch, ny)


@njit(cache=True, nogil=True, inline="always")
def _meets(b0, b1, b2, b3, e0, e1, e2, e3, ix, iy, x0, x1, cw, nx, y0, y1, ch, ny, one):
    """Whether box ``b`` meets box ``e`` (inclusive), counted in cell ``ix, iy``: a pair met in
    several cells is kept in the cell of its corner max(minx), max(miny) (``one``: box ``b``
    lies in one cell, so the pair is met there only)."""
    if b0 > e2 or b2 < e0 or b1 > e3 or b3 < e1:
        return False
    return one or (_cell(max(b0, e0), x0, x1, cw, nx) == ix and _cell(max(b1, e1), y0, y1, ch, ny) == iy)


# --------------------------------------------------------------------------
# (feature, lot) pairs whose boxes meet, for the local run's pairing


@njit(cache=True, nogil=True)
def _has_box(b):
    return b[0] <= b[2] and b[1] <= b[3]  # False for a NaN (a row without a shape)


@njit(cache=True, nogil=True)
def finite_span(lots):
    """``(rows with a box, x0, x1, y0, y1)``: the span of their finite coordinates (0 where none is)."""
    n, x0, x1, y0, y1 = 0, np.inf, -np.inf, np.inf, -np.inf
    for i in range(lots.shape[0]):
        if not _has_box(lots[i]):
            continue
        n += 1
        for j in (0, 2):
            if np.isfinite(lots[i, j]):
                x0, x1 = min(x0, lots[i, j]), max(x1, lots[i, j])
            if np.isfinite(lots[i, j + 1]):
                y0, y1 = min(y0, lots[i, j + 1]), max(y1, lots[i, j + 1])
    if x0 > x1:
        x0, x1 = 0.0, 0.0
    if y0 > y1:
        y0, y1 = 0.0, 0.0
    return n, x0, x1, y0, y1


@njit(cache=True, nogil=True)
def grid_slots(lots, frame, nx, ny):
    """How many (cell, lot) entries :func:`lot_grid` would make."""
    slots = 0
    for i in range(lots.shape[0]):
        if _has_box(lots[i]):
            ix0, ix1, iy0, iy1 = _lot_span(lots, i, frame, nx, ny)
            slots += (ix1 - ix0 + 1) * (iy1 - iy0 + 1)
    return slots


@njit(cache=True, nogil=True)
def _cells_of(lots, frame, nx, ny, at, members):
    """Each lot in every cell its box covers: counted into ``at[cell + 1]`` while ``members`` is
    empty, else put at ``members[at[cell]]`` (``at`` moving on)."""
    fill = len(members) > 0
    for i in range(lots.shape[0]):
        if not _has_box(lots[i]):
            continue
        ix0, ix1, iy0, iy1 = _lot_span(lots, i, frame, nx, ny)
        for iy in range(iy0, iy1 + 1):
            for ix in range(ix0, ix1 + 1):
                c = iy * nx + ix
                if fill:
                    members[at[c]] = i
                    at[c] += 1
                else:
                    at[c + 1] += 1


@njit(cache=True, nogil=True)
def lot_grid(lots, frame, nx, ny):
    """The lots of each cell of an ``nx`` by ``ny`` grid (CSR ``members``, ``first``), each cell's
    lots in ascending order; a lot is in every cell its box covers."""
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    _cells_of(lots, frame, nx, ny, counts, np.empty(0, dtype=np.int64))
    first = np.cumsum(counts)
    members = np.empty(first[-1], dtype=np.int64)
    _cells_of(lots, frame, nx, ny, first[:-1].copy(), members)
    return members, first


@njit(cache=True, nogil=True)
def _grown(a, size):
    b = np.empty(max(size, 2 * len(a)), dtype=a.dtype)
    b[:len(a)] = a
    return b


@njit(cache=True, nogil=True)
def feature_lots(feats, lots, members, first, frame, nx, ny, limit):
    """``(feature, lot, complete)`` of the feature boxes meeting lot boxes, by feature, then lot;
    ``complete`` is False, and the pairs empty, once more than ``limit`` pairs are found.

    A pair met in several cells is kept in the cell of its corner ``max(minx), max(miny)``;
    a feature's lots are put in order as they are found while they are few (:data:`SHORT_RUN`), and
    sorted once when they are many (a dissolved layer's feature over a whole city)."""
    x0, y0, cw, ch, x1, y1 = frame[0], frame[1], frame[2], frame[3], frame[4], frame[5]
    out_f = np.empty(2 * feats.shape[0] + 1024, dtype=np.int64)
    out_l = np.empty(2 * feats.shape[0] + 1024, dtype=np.int64)
    found = 0
    for i in range(feats.shape[0]):
        f0, f1, f2, f3 = feats[i, 0], feats[i, 1], feats[i, 2], feats[i, 3]
        if not (f0 <= f2 and f1 <= f3):  # NaN: a row without a shape meets nothing
            continue
        ix0, ix1, iy0, iy1 = _span(f0, f1, f2, f3, x0, x1, cw, nx, y0, y1, ch, ny)
        one = ix0 == ix1 and iy0 == iy1
        start = found
        for iy in range(iy0, iy1 + 1):
            for ix in range(ix0, ix1 + 1):
                cell = iy * nx + ix
                for slot in range(first[cell], first[cell + 1]):
                    e = members[slot]
                    if not _meets(f0, f1, f2, f3, lots[e, 0], lots[e, 1], lots[e, 2], lots[e, 3], ix, iy,
                                  x0, x1, cw, nx, y0, y1, ch, ny, one):
                        continue
                    if found == limit:
                        return out_f[:0].copy(), out_l[:0].copy(), False
                    if found == len(out_l):
                        out_f, out_l = _grown(out_f, found + 1), _grown(out_l, found + 1)
                    out_l[found] = e
                    out_f[found] = i
                    found += 1
        if found - start > 1:
            _sort_run(out_l, start, found)
    return out_f[:found].copy(), out_l[:found].copy(), True


#: Runs up to this long are sorted by insertion; longer ones by numpy's sort.
SHORT_RUN = 16


@njit(cache=True, nogil=True)
def _sort_run(a, start, stop):
    """Sort ``a[start:stop]`` in place: by insertion while short (a feature meets a few lots,
    found nearly in order), else with ``np.sort`` (n log n, whatever the order)."""
    if stop - start > SHORT_RUN:
        a[start:stop] = np.sort(a[start:stop])
        return
    for j in range(start + 1, stop):
        e = a[j]
        k = j
        while k > start and a[k - 1] > e:
            a[k] = a[k - 1]
            k -= 1
        a[k] = e


@njit(cache=True, nogil=True)
def grid_pairs(box, ext, members, first, frame, nx, ny):
    """``(row, extent)`` of the boxes meeting the grid's extents, each pair once: the loop of
    :func:`feature_lots`, rows for features and extents for lots."""
    r, e, _ = feature_lots(box, ext, members, first, frame, nx, ny, np.iinfo(np.int64).max)
    return r, e
