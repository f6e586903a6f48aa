"""Bounding boxes as numpy arrays, for the cluster run's keys and routing (no shape made per row).

A piece's boxes are an ``(n, 4)`` float64 array ``minx, miny, maxx, maxy``
(NaN for a row without a shape).  Making a ``shapely.box`` per row only to
sort or route by it cost more CPU than decoding the shapes; here the same
answers come from the numbers:

* :func:`hilbert_distance`: geopandas' Hilbert distance of the boxes'
  midpoints (``GeoSeries.hilbert_distance``, which only looks at the bounds),
  the same integers, checked against geopandas on a sample of every call;
* :func:`boxes_meeting`: every ``(row box, extent)`` pair whose boxes meet
  (inclusive, as ``shapely.STRtree.query`` decides it), found through a grid
  of the extents and then tested exactly (the loop compiled where numba is
  installed);
* :func:`feature_lot_pairs`: every ``(feature, lot)`` pair whose boxes meet,
  sorted, as the local run's pairing gets them from ``shapely.STRtree``
  (compiled only: the caller keeps the tree where numba is missing);
* :func:`wkb_boxes`: the boxes (geometry types, and which are axis-aligned boxes) of a column of WKB, read
  from the bytes where numba is installed (:mod:`sba.bulk.boxes_jit`) and
  decoded by shapely otherwise and for anything that reader leaves.
"""

from __future__ import annotations

import numpy as np

import geopandas as gpd
import shapely

from gis.overlay import axis_boxes

__all__ = ["boxes_meeting", "feature_lot_pairs", "hilbert_distance", "wkb_boxes"]


# --------------------------------------------------------------------------
# boxes of WKB

#: Set to False never to use the compiled reader (the tests compare the paths).
USE_JIT = True

#: Below this many rows in one call shapely decodes them even where numba is installed:
#: importing numba and loading the compiled reader costs a process about half a second
#: once, about what decoding 700,000 shapes costs; a row group of 100,000 rows repays its share.
JIT_MIN_ROWS = 20_000


def wkb_boxes(wkb, threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(shapely.bounds, shapely.get_type_id, is_box)`` of the shapes of a pyarrow binary array
    of WKB, ``is_box`` as :func:`gis.overlay.axis_boxes` decides it.

    2-D Polygon and MultiPolygon rows are read from the bytes by the compiled
    reader when numba is installed (in ``threads`` slices at once: it holds no
    lock); shapely decodes every other row (and all of them without numba), so
    a torn row gives shapely's error, as before.
    """
    n = len(wkb)
    bounds = np.full((n, 4), np.nan)
    kinds = np.zeros(n, dtype=np.int16)  # 0: not read (a Point's id too, set by shapely below)
    is_box = np.zeros(n, dtype=bool)
    read = _reader(n)
    if read is not None and _is_binary(wkb.type):
        data, offsets = _buffers(wkb)
        valid = wkb.is_valid().to_numpy(zero_copy_only=False)
        cuts = np.linspace(0, n, max(1, threads) + 1).astype(np.int64)

        def part(i):
            a, b = cuts[i], cuts[i + 1]
            read(data, offsets[a:b + 1], valid[a:b], bounds[a:b], kinds[a:b], is_box[a:b])

        if threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(part, range(threads)))
        else:
            part(0)
    rest = np.flatnonzero(kinds == 0)
    if len(rest):
        geoms = shapely.from_wkb((wkb.take(rest) if len(rest) < n else wkb).to_numpy(zero_copy_only=False))
        is_box[rest], bounds[rest] = axis_boxes(geoms)
        kinds[rest] = shapely.get_type_id(geoms)
    return bounds, kinds, is_box


def _reader(n: int):
    return _compiled("read_boxes", n)


def _compiled(name: str, n: int):
    """The compiled kernel ``name`` of :mod:`sba.bulk.boxes_jit` for ``n`` rows, or None (numba
    missing, not wanted, or too few rows to repay loading it)."""
    if not USE_JIT or n < JIT_MIN_ROWS:
        return None
    try:
        from sba.bulk import boxes_jit
    except ImportError:  # numba is optional: the array code gives the same answers
        return None
    return getattr(boxes_jit, name)


def _is_binary(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_binary(kind) or pa.types.is_large_binary(kind)


def _buffers(wkb) -> tuple[np.ndarray, np.ndarray]:
    """The bytes and the row offsets into them (of this array's rows, a slice too)."""
    import pyarrow as pa

    _, offsets, data = wkb.buffers()
    width = np.int64 if pa.types.is_large_binary(wkb.type) else np.int32
    offsets = np.frombuffer(offsets, dtype=width)[wkb.offset:wkb.offset + len(wkb) + 1]
    return (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)), offsets


# --------------------------------------------------------------------------
# Hilbert distances


def hilbert_distance(bounds: np.ndarray, total_bounds, level: int = 16) -> np.ndarray:
    """``GeoSeries(shapely.box(*bounds.T)).hilbert_distance(total_bounds, level)`` without the boxes.

    ``bounds`` has no NaN.  The integers are geopandas' (its midpoints, its
    scaling to ``[0, 2**level - 1]``, its curve): a sample of each call is
    compared with geopandas itself, and should a geopandas version number them
    otherwise, geopandas numbers them all (the chunks must be the local run's).
    """
    bounds = np.asarray(bounds, dtype=np.float64)
    side = 2**level - 1
    xmin, ymin, xmax, ymax = total_bounds
    x = _discrete((bounds[:, 0] + bounds[:, 2]) / 2.0, xmin, xmax, side)
    y = _discrete((bounds[:, 1] + bounds[:, 3]) / 2.0, ymin, ymax, side)
    ours = _encode(level, x, y)
    sample = np.unique(np.linspace(0, len(bounds) - 1, min(len(bounds), 16)).astype(np.int64))
    if len(sample) and not np.array_equal(ours[sample], _geopandas(bounds[sample], total_bounds, level)):
        return _geopandas(bounds, total_bounds, level)
    return ours


def _geopandas(bounds: np.ndarray, total_bounds, level: int) -> np.ndarray:
    boxes = gpd.GeoSeries(shapely.box(*bounds.T))
    return boxes.hilbert_distance(total_bounds=total_bounds, level=level).to_numpy()


def _discrete(values: np.ndarray, low: float, high: float, side: int) -> np.ndarray:
    width = high - low
    if width == 0:
        return np.zeros_like(values, dtype=np.uint32)
    res = (values - low) * (side / width)
    np.clip(res, 0, side, out=res)
    return res.astype(np.uint32)


# The curve, as geopandas encodes it (geopandas/tools/hilbert_curve.py, BSD-3-Clause; after
# the public-domain fast Hilbert curve of http://threadlocalmutex.com/): two 16-bit
# coordinates to one 32-bit distance by prefix scans over their bits.


def _interleave(x: np.ndarray) -> np.ndarray:
    x = (x | (x << 8)) & 0x00FF00FF
    x = (x | (x << 4)) & 0x0F0F0F0F
    x = (x | (x << 2)) & 0x33333333
    return (x | (x << 1)) & 0x55555555


def _encode(level: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype="uint32") << (16 - level)
    y = np.asarray(y, dtype="uint32") << (16 - level)
    a = x ^ y
    b = 0xFFFF ^ a
    c = 0xFFFF ^ (x | y)
    d = x & (y ^ 0xFFFF)
    A = a | (b >> 1)
    B = (a >> 1) ^ a
    C = ((c >> 1) ^ (b & (d >> 1))) ^ c
    D = ((a & (c >> 1)) ^ (d >> 1)) ^ d
    for shift in (2, 4):
        a, b, c, d = A, B, C, D
        A = (a & (a >> shift)) ^ (b & (b >> shift))
        B = (a & (b >> shift)) ^ (b & ((a ^ b) >> shift))
        C = c ^ ((a & (c >> shift)) ^ (b & (d >> shift)))
        D = d ^ ((b & (c >> shift)) ^ ((a ^ b) & (d >> shift)))
    a, b, c, d = A, B, C, D
    C = c ^ ((a & (c >> 8)) ^ (b & (d >> 8)))
    D = d ^ ((b & (c >> 8)) ^ ((a ^ b) & (d >> 8)))
    a = C ^ (C >> 1)
    b = D ^ (D >> 1)
    i0 = x ^ y
    i1 = b | (0xFFFF ^ (i0 | a))
    return ((_interleave(i1) << 1) | _interleave(i0)) >> (32 - 2 * level)


# --------------------------------------------------------------------------
# boxes meeting extents

#: Most candidate pairs looked at in one step (bounds the memory of a step, about 60 bytes a pair).
STEP_PAIRS = 2_000_000


def boxes_meeting(boxes: np.ndarray, extents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(row, extent)`` for every row box that meets an extent (inclusive; NaN meets nothing).

    The pairs ``shapely.STRtree(box(extents)).query(box(boxes))`` gives, each once,
    in no particular order.  The extents are put in the cells of a grid about as
    fine as the typical extent; a row is tested against the extents of the cells
    its box covers, and a pair is kept in one cell only (the one holding the
    corner ``max(minx), max(miny)`` of the two boxes).
    """
    boxes, extents = np.asarray(boxes, dtype=np.float64), np.asarray(extents, dtype=np.float64)
    ok_e = np.flatnonzero(~np.isnan(extents).any(axis=1))
    ok_r = np.flatnonzero(~np.isnan(boxes).any(axis=1))
    none = (np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    if not len(ok_e) or not len(ok_r):
        return none
    ext, box = extents[ok_e], boxes[ok_r]
    grid = _Grid.of(ext)
    low, high = ext[:, :2].min(axis=0), ext[:, 2:].max(axis=0)  # infinite ones too: not the grid's frame
    inside = (box[:, 2] >= low[0]) & (box[:, 0] <= high[0]) & (box[:, 3] >= low[1]) & (box[:, 1] <= high[1])
    ok_r, box = ok_r[inside], box[inside]
    kernel = _compiled("grid_pairs", len(box))
    if kernel is not None:
        frame = np.array([grid.x0, grid.y0, grid.cw, grid.ch, grid.x1, grid.y1], dtype=np.float64)
        r, e = kernel(np.ascontiguousarray(box), np.ascontiguousarray(ext), grid.members, grid.first, frame,
                      grid.nx, grid.ny)
        return ok_r[r], ok_e[e]
    rows, found = [], []
    for a, b in grid.steps(box):
        r, e = grid.pairs(box[a:b], ext)
        rows.append(ok_r[a + r])
        found.append(ok_e[e])
    if not rows:
        return none
    return np.concatenate(rows), np.concatenate(found)


class _Grid:
    """A grid over the extents: the extents of each cell (CSR), and a summed-area table of their counts."""

    def __init__(self, ext: np.ndarray, nx: int, ny: int):
        self._frame(ext, nx, ny)
        ix0, ix1, iy0, iy1 = self.cells(ext)
        cell, owner = _rectangles(ix0, ix1, iy0, iy1, nx)
        order = np.argsort(cell, kind="stable")
        self.members = owner[order]
        counts = np.bincount(cell, minlength=nx * ny)
        self.first = np.r_[0, np.cumsum(counts)]
        self.table = np.zeros((ny + 1, nx + 1), dtype=np.int64)
        self.table[1:, 1:] = counts.reshape(ny, nx).cumsum(0).cumsum(1)

    @classmethod
    def of(cls, ext: np.ndarray) -> _Grid:
        """A grid with cells half the median extent's size (a typical extent in about 9 cells,
        2 extents a cell: fewer pairs to test than with bigger cells, measured), coarser until
        the extents fill at most :data:`STEP_PAIRS` cell slots (a few huge extents cannot blow it up)."""
        width, height = ext[:, 2] - ext[:, 0], ext[:, 3] - ext[:, 1]
        frame = cls.__new__(cls)
        frame._frame(ext, 1, 1)
        span_x, span_y = frame.x1 - frame.x0, frame.y1 - frame.y0
        limit = 4 * len(ext) + 16
        nx = _cells_along(span_x, np.median(width) / 2, limit)
        ny = _cells_along(span_y, np.median(height) / 2, limit)
        while nx * ny > limit:
            nx, ny = max(1, nx // 2), max(1, ny // 2)
        while nx * ny > 1 and cls.slots(ext, nx, ny) > STEP_PAIRS:
            nx, ny = max(1, nx // 2), max(1, ny // 2)
        return cls(ext, nx, ny)

    @classmethod
    def slots(cls, ext: np.ndarray, nx: int, ny: int) -> int:
        """How many (cell, extent) entries an ``nx`` by ``ny`` grid would hold."""
        grid = cls.__new__(cls)
        grid._frame(ext, nx, ny)
        ix0, ix1, iy0, iy1 = grid.cells(ext)
        return int(((ix1 - ix0 + 1) * (iy1 - iy0 + 1)).sum())

    def _frame(self, ext: np.ndarray, nx: int, ny: int) -> None:
        """The grid spans the extents' finite coordinates (an infinite one falls in an edge cell)."""
        self.x0, self.x1 = _finite_span(ext[:, [0, 2]])
        self.y0, self.y1 = _finite_span(ext[:, [1, 3]])
        self.nx, self.ny = nx, ny
        self.cw = (self.x1 - self.x0) / nx or 1.0  # inf where the span overflows: one column then
        self.ch = (self.y1 - self.y0) / ny or 1.0

    def cells(self, b: np.ndarray) -> tuple[np.ndarray, ...]:
        """The columns and rows of cells each box covers (clipped to the grid)."""
        return (self._col(b[:, 0]), self._col(b[:, 2]), self._row(b[:, 1]), self._row(b[:, 3]))

    def _col(self, x: np.ndarray) -> np.ndarray:
        return _cell(x, self.x0, self.x1, self.cw, self.nx)

    def _row(self, y: np.ndarray) -> np.ndarray:
        return _cell(y, self.y0, self.y1, self.ch, self.ny)

    def steps(self, box: np.ndarray):
        """``(a, b)``: runs of rows whose candidate pairs (and cells) stay under :data:`STEP_PAIRS`."""
        ix0, ix1, iy0, iy1 = self.cells(box)
        t = self.table
        work = t[iy1 + 1, ix1 + 1] - t[iy0, ix1 + 1] - t[iy1 + 1, ix0] + t[iy0, ix0] + (ix1 - ix0 + 1) * (iy1 - iy0 + 1)
        total = np.cumsum(work)
        a = 0
        while a < len(box):
            b = max(a + 1, int(np.searchsorted(total, total[a] - work[a] + STEP_PAIRS, side="right")))
            yield a, b
            a = b

    def pairs(self, box: np.ndarray, ext: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(row, extent)`` of the boxes ``box`` meeting the extents, each pair once.

        Most rows lie in one cell: their pairs are found once without further ado; a row over
        several cells keeps a pair only in the cell of the pair's corner."""
        ix0, ix1, iy0, iy1 = self.cells(box)
        one = (ix0 == ix1) & (iy0 == iy1)
        rows = np.flatnonzero(one)
        r, e = self._candidates(iy0[rows] * self.nx + ix0[rows], rows)
        r1, e1 = _meet(box, ext, r, e)
        rows = np.flatnonzero(~one)
        if not len(rows):
            return r1, e1
        cell, owner = _rectangles(ix0[rows], ix1[rows], iy0[rows], iy1[rows], self.nx)
        r, e = self._candidates(cell, rows[owner])
        c = np.repeat(cell, self.first[cell + 1] - self.first[cell])
        keep = _meets(box, ext, r, e)
        r, e, c = r[keep], e[keep], c[keep]
        corner = (self._row(np.maximum(box[r, 1], ext[e, 1])) * self.nx
                  + self._col(np.maximum(box[r, 0], ext[e, 0])))
        keep = corner == c
        return np.concatenate([r1, r[keep]]), np.concatenate([e1, e[keep]])

    def _candidates(self, cell: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(row, extent)`` for every extent in each ``(cell, row)``'s cell."""
        counts = self.first[cell + 1] - self.first[cell]
        at = np.repeat(np.arange(len(cell)), counts)
        slot = np.arange(len(at)) - np.repeat(np.cumsum(counts) - counts - self.first[cell], counts)
        return row[at], self.members[slot]


def _meets(box: np.ndarray, ext: np.ndarray, r: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Whether box ``r`` meets extent ``e``, pair by pair (inclusive)."""
    return ((box[r, 0] <= ext[e, 2]) & (box[r, 2] >= ext[e, 0])
            & (box[r, 1] <= ext[e, 3]) & (box[r, 3] >= ext[e, 1]))


def _meet(box, ext, r, e) -> tuple[np.ndarray, np.ndarray]:
    keep = _meets(box, ext, r, e)
    return r[keep], e[keep]


def _finite_span(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 0.0)


def _cell(v: np.ndarray, low: float, high: float, size: float, n: int) -> np.ndarray:
    """The cell of each coordinate: clipped into the grid first, so that an infinite one (or a
    span too wide for a double) gives an edge cell, never NaN; monotonic, as the pairs need."""
    return np.clip(np.floor((np.clip(v, low, high) - low) / size), 0, n - 1).astype(np.int64)


def _cells_along(span: float, typical: float, limit: int) -> int:
    if not span > 0:
        return 1
    if not typical > 0:
        return limit
    return int(min(limit, max(1, np.ceil(span / typical))))


def _rectangles(ix0, ix1, iy0, iy1, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Every cell of each box's rectangle of cells: ``(cell, box)``."""
    w = ix1 - ix0 + 1
    n = w * (iy1 - iy0 + 1)
    owner = np.repeat(np.arange(len(n)), n)
    j = np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n)
    wo = w[owner]
    return (iy0[owner] + j // wo) * nx + ix0[owner] + j % wo, owner


# --------------------------------------------------------------------------
# feature boxes meeting lot boxes

#: A lot grid holds at most this many (cell, lot) entries per lot, plus :data:`SLOTS_EXTRA`:
#: a few street parcels each spanning many cells make the grid coarser, never its memory unbounded.
SLOTS_PER_LOT, SLOTS_EXTRA = 8, 1 << 20


def feature_lot_pairs(features: np.ndarray, lots: np.ndarray, threads: int = 1,
                      limit: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """``(feature, lot)`` for every feature box meeting a lot box (inclusive; NaN meets nothing),
    sorted by feature, then lot: the pairs ``shapely.STRtree(lots).query(features)`` gives, in that order.
    None when there are more than ``limit`` pairs (found holding at most twice ``limit`` a thread).

    The lots go in the cells of a grid about as fine as the median lot (each cell
    lists its lots in order); a feature is tested against the lots of the cells its
    box covers, a pair met in several cells kept in the one holding its corner
    ``max(minx), max(miny)``.  Features are done on ``threads`` threads (the loops
    hold no lock).  Needs numba (:mod:`sba.bulk.boxes_jit`).
    """
    from concurrent.futures import ThreadPoolExecutor

    from sba.bulk import boxes_jit

    features = np.ascontiguousarray(features, dtype=np.float64)
    lots = np.ascontiguousarray(lots, dtype=np.float64)
    frame, nx, ny = _lot_frame(lots)
    members, first = boxes_jit.lot_grid(lots, frame, nx, ny)
    cuts = np.linspace(0, len(features), max(1, threads) + 1).astype(np.int64)

    most = np.iinfo(np.int64).max if limit is None else limit

    def pairs(i):
        a, b = cuts[i], cuts[i + 1]
        f, lot, complete = boxes_jit.feature_lots(features[a:b], lots, members, first, frame, nx, ny, most)
        return (f + a, lot) if complete else None

    with ThreadPoolExecutor(max(1, threads)) as pool:
        found = list(pool.map(pairs, range(len(cuts) - 1)))
    if any(part is None for part in found) or sum(len(f) for f, _ in found) > most:
        return None
    return np.concatenate([f for f, _ in found]), np.concatenate([lot for _, lot in found])


def _lot_frame(lots: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The grid of :func:`feature_lot_pairs`: ``(x0, y0, cell width, cell height, x1, y1)``, columns, rows.

    Cells are the median lot's size (of a sample of up to 100,000 lots), coarser
    until the grid has at most about two cells a lot and :data:`SLOTS_PER_LOT` entries a lot."""
    from sba.bulk import boxes_jit

    n, x0, x1, y0, y1 = boxes_jit.finite_span(lots)
    if not n:
        return np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0]), 1, 1
    sample = lots[::max(1, len(lots) // 100_000)]
    sample = sample[~np.isnan(sample).any(axis=1)]
    if not len(sample):  # every sampled row without a shape: sample them all
        sample = lots[~np.isnan(lots).any(axis=1)]
    limit = 2 * n + 16
    nx = _cells_along(x1 - x0, float(np.median(sample[:, 2] - sample[:, 0])), limit)
    ny = _cells_along(y1 - y0, float(np.median(sample[:, 3] - sample[:, 1])), limit)
    while nx * ny > limit:
        nx, ny = max(1, nx // 2), max(1, ny // 2)
    while True:  # as _Grid._frame: inf where a span overflows a double (one column then)
        frame = np.array([x0, y0, (x1 - x0) / nx or 1.0, (y1 - y0) / ny or 1.0, x1, y1], dtype=np.float64)
        if nx * ny == 1 or boxes_jit.grid_slots(lots, frame, nx, ny) <= SLOTS_PER_LOT * n + SLOTS_EXTRA:
            return frame, nx, ny
        nx, ny = max(1, nx // 2), max(1, ny // 2)
