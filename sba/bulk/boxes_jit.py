"""The compiled kernels of :mod:`sba.bulk.boxes` (numba): boxes read from WKB, and boxes meeting a grid's extents.

:func:`read_boxes` reads the bounding box of 2-D Polygon and MultiPolygon WKB
(ISO, either byte order, per part too) straight from the bytes, as GEOS gives
it: the box of the shells (GEOS leaves the holes out of a polygon's envelope).
A row it does not read exactly so -- another type, Z or M, an empty part, a
ring that GEOS would refuse (fewer than 4 points, not closed), a NaN or
infinite coordinate, a count that runs past the row's bytes or bytes left
over -- is marked unread and decoded by shapely, which then gives its answer
or its error.

:func:`grid_pairs` is the loop of :meth:`sba.bulk.boxes._Grid.pairs`: the same
cells, tests and corner rule, row by row.

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
def read_boxes(data, offsets, valid, out, kind):
    """Fill ``out[i]`` (minx, miny, maxx, maxy) and ``kind[i]`` (3 or 6) for each row read;
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
        if t == POLYGON:
            pos = _polygon(data, pos, end, box, bits, value)
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
def _walk(box, ext, members, first, frame, nx, ny, out_r, out_e, fill):
    x0, y0, cw, ch, x1, y1 = frame[0], frame[1], frame[2], frame[3], frame[4], frame[5]
    found = 0
    for r in range(box.shape[0]):
        bx0, by0, bx1, by1 = box[r, 0], box[r, 1], box[r, 2], box[r, 3]
        ix0, ix1 = _cell(bx0, x0, x1, cw, nx), _cell(bx1, x0, x1, cw, nx)
        iy0, iy1 = _cell(by0, y0, y1, ch, ny), _cell(by1, y0, y1, ch, ny)
        for iy in range(iy0, iy1 + 1):
            for ix in range(ix0, ix1 + 1):
                c = iy * nx + ix
                for slot in range(first[c], first[c + 1]):
                    e = members[slot]
                    if bx0 > ext[e, 2] or bx1 < ext[e, 0] or by0 > ext[e, 3] or by1 < ext[e, 1]:
                        continue
                    # the pair once: in the cell of its corner max(minx), max(miny)
                    if (_cell(max(bx0, ext[e, 0]), x0, x1, cw, nx) != ix
                            or _cell(max(by0, ext[e, 1]), y0, y1, ch, ny) != iy):
                        continue
                    if fill:
                        out_r[found] = r
                        out_e[found] = e
                    found += 1
    return found


@njit(cache=True, nogil=True)
def grid_pairs(box, ext, members, first, frame, nx, ny):
    """``(row, extent)`` of the boxes meeting the grid's extents, each pair once (counted, then written)."""
    none = np.empty(0, dtype=np.int64)
    n = _walk(box, ext, members, first, frame, nx, ny, none, none, False)
    out_r, out_e = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    _walk(box, ext, members, first, frame, nx, ny, out_r, out_e, True)
    return out_r, out_e


# --------------------------------------------------------------------------
# (feature, lot) pairs whose boxes meet, for the local run's pairing


@njit(cache=True, nogil=True)
def _span(b, frame, nx, ny):
    """The columns and rows of the cells a box covers (``ix0, ix1, iy0, iy1``), as :func:`_cell` numbers them."""
    x0, y0, cw, ch, x1, y1 = frame[0], frame[1], frame[2], frame[3], frame[4], frame[5]
    return (_cell(b[0], x0, x1, cw, nx), _cell(b[2], x0, x1, cw, nx),
            _cell(b[1], y0, y1, ch, ny), _cell(b[3], y0, y1, ch, ny))


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
            ix0, ix1, iy0, iy1 = _span(lots[i], frame, nx, ny)
            slots += (ix1 - ix0 + 1) * (iy1 - iy0 + 1)
    return slots


@njit(cache=True, nogil=True)
def lot_grid(lots, frame, nx, ny):
    """The lots of each cell of an ``nx`` by ``ny`` grid (CSR ``members``, ``first``), each cell's
    lots in ascending order; a lot is in every cell its box covers."""
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    for i in range(lots.shape[0]):
        if not _has_box(lots[i]):
            continue
        ix0, ix1, iy0, iy1 = _span(lots[i], frame, nx, ny)
        for iy in range(iy0, iy1 + 1):
            for ix in range(ix0, ix1 + 1):
                counts[iy * nx + ix + 1] += 1
    first = np.cumsum(counts)
    fill = first[:-1].copy()
    members = np.empty(first[-1], dtype=np.int64)
    for i in range(lots.shape[0]):
        if not _has_box(lots[i]):
            continue
        ix0, ix1, iy0, iy1 = _span(lots[i], frame, nx, ny)
        for iy in range(iy0, iy1 + 1):
            for ix in range(ix0, ix1 + 1):
                members[fill[iy * nx + ix]] = i
                fill[iy * nx + ix] += 1
    return members, first


@njit(cache=True, nogil=True)
def _grown(a, size):
    b = np.empty(max(size, 2 * len(a)), dtype=a.dtype)
    b[:len(a)] = a
    return b


@njit(cache=True, nogil=True)
def feature_lots(feats, lots, members, first, frame, nx, ny):
    """``(feature, lot)`` of the feature boxes meeting lot boxes, by feature, then lot.

    A pair met in several cells is kept in the cell of its corner ``max(minx), max(miny)``;
    a feature's lots are put in order as they are found (a feature meets a few)."""
    x0, y0, cw, ch, x1, y1 = frame[0], frame[1], frame[2], frame[3], frame[4], frame[5]
    out_f = np.empty(2 * feats.shape[0] + 1024, dtype=np.int64)
    out_l = np.empty(2 * feats.shape[0] + 1024, dtype=np.int64)
    found = 0
    for i in range(feats.shape[0]):
        f0, f1, f2, f3 = feats[i, 0], feats[i, 1], feats[i, 2], feats[i, 3]
        if not (f0 <= f2 and f1 <= f3):  # NaN: a row without a shape meets nothing
            continue
        ix0, ix1 = _cell(f0, x0, x1, cw, nx), _cell(f2, x0, x1, cw, nx)
        iy0, iy1 = _cell(f1, y0, y1, ch, ny), _cell(f3, y0, y1, ch, ny)
        one = ix0 == ix1 and iy0 == iy1
        start = found
        for iy in range(iy0, iy1 + 1):
            for ix in range(ix0, ix1 + 1):
                cell = iy * nx + ix
                for slot in range(first[cell], first[cell + 1]):
                    e = members[slot]
                    if f0 > lots[e, 2] or f2 < lots[e, 0] or f1 > lots[e, 3] or f3 < lots[e, 1]:
                        continue
                    if not one and (_cell(max(f0, lots[e, 0]), x0, x1, cw, nx) != ix
                                    or _cell(max(f1, lots[e, 1]), y0, y1, ch, ny) != iy):
                        continue
                    if found == len(out_l):
                        out_f, out_l = _grown(out_f, found + 1), _grown(out_l, found + 1)
                    k = found
                    while k > start and out_l[k - 1] > e:
                        out_l[k] = out_l[k - 1]
                        k -= 1
                    out_l[k] = e
                    out_f[found] = i
                    found += 1
    return out_f[:found].copy(), out_l[:found].copy()
