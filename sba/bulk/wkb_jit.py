"""The compiled WKB envelope reader of :func:`sba.bulk.boxes.wkb_boxes` (numba).

Reads the bounding box of 2-D Polygon and MultiPolygon WKB (ISO, either byte
order, per part too) straight from the bytes, as GEOS gives it: the box of
the shells (GEOS leaves the holes out of a polygon's envelope).  A row it
does not read exactly so -- another type, Z or M, an empty part, a ring that
GEOS would refuse (fewer than 4 points, not closed), a NaN or infinite
coordinate, a count that runs past the row's bytes or bytes left over -- is
marked unread and decoded by shapely, which then gives its answer or its error.

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
