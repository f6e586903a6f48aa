"""Array overlay helpers for :mod:`gis.measure`: exact, vectorized, cheapest method first.

Each helper works on whole numpy arrays of shapely geometries (or of their
bounds) and picks, per element, the cheapest exact method: arithmetic on the
bounds of axis-aligned rectangles, an array test for a rectangle against a
small polygon, GEOS rectangle clipping, and GEOS overlay only for pairs of
general polygons.  The graph helpers find the clusters of overlapping pieces
(components, triangles, 4-cliques) that decide where inclusion–exclusion is
exact and where a union is needed.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

import numpy as np

import shapely

from gis.clip import intersection_areas, loaded_jit
from gis.repair import polygonal

__all__ = [
    "area",
    "axis_boxes",
    "clip_area",
    "clip_each",
    "components",
    "group_union",
    "in_sorted",
    "intersection",
    "intersection_area",
    "local_clip_area",
    "matches",
    "num_coordinates",
    "overlaps",
    "pairs_within_groups",
    "rect_in_polygon",
    "triangle_free_clusters",
    "triangles",
]


def group_union(groups: np.ndarray, geoms: np.ndarray, n_groups: int) -> np.ndarray:
    """Union of ``geoms`` per group id in ``[0, n_groups)``; None where a group is empty.

    Groups of one skip GEOS entirely; the rest are unioned in one vectorized
    call over the rows of a None-padded (group × member) matrix.
    """
    out = np.full(n_groups, None, dtype=object)
    if len(groups) == 0:
        return out
    order = np.argsort(groups, kind="stable")
    groups, geoms = groups[order], geoms[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(groups)) - starts[groups]
    single = counts[groups] == 1
    out[groups[single]] = geoms[single]
    # big groups one by one, so that the matrix of the others stays narrow (one
    # street parcel of 5,000 pieces would otherwise widen every row to 5,000)
    for g in np.flatnonzero(counts > WIDE_GROUP):
        out[g] = shapely.union_all(geoms[starts[g]:starts[g] + counts[g]])
    multi = np.flatnonzero((counts > 1) & (counts <= WIDE_GROUP))
    if len(multi):
        row = np.full(n_groups, -1)
        row[multi] = np.arange(len(multi))
        many = (counts[groups] > 1) & (counts[groups] <= WIDE_GROUP)
        matrix = np.full((len(multi), counts[multi].max()), None, dtype=object)
        matrix[row[groups[many]], rank[many]] = geoms[many]
        out[multi] = shapely.union_all(matrix, axis=1)
    return out


#: Groups with more members than this are unioned on their own by :func:`group_union`.
WIDE_GROUP = 64


def axis_boxes(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which geometries are axis-aligned rectangles, and the bounds of all of them.

    A box here is a polygon of four distinct corners (five coordinates, no
    holes) whose edges each run along x or along y: such a ring is always a
    valid rectangle, so boxes need no validity check and their overlays are
    plain arithmetic on the bounds.
    """
    bounds = shapely.bounds(geoms)
    is_box = (shapely.get_num_coordinates(geoms) == 5) & (shapely.get_type_id(geoms) == 3)
    if is_box.any():
        idx = np.flatnonzero(is_box)
        x0, y0, x1, y1, x2, y2, x3, y3 = shapely.get_coordinates(geoms[idx]).reshape(len(idx), 10)[:, :8].T
        # edges along y, x, y, x (or x, y, x, y) from the first corner, and
        # the opposite corner elsewhere in both x and y (the ring is closed)
        is_box[idx] = ((((x0 == x1) & (y1 == y2) & (x2 == x3) & (y3 == y0))
                        | ((y0 == y1) & (x1 == x2) & (y2 == y3) & (x3 == x0)))
                       & (x0 != x2) & (y0 != y2))
    return is_box, bounds


def rect_in_polygon(polys: np.ndarray, rects: np.ndarray, of: np.ndarray | None = None) -> np.ndarray:
    """Where each rectangle ``rects[i]`` lies against ``polys[i]`` (``polys[of[i]]`` when ``of``
    is given): 1 inside, 0 outside, -1 undecided.

    ``polys`` are Polygons, ``rects`` rows ``(xmin, ymin, xmax, ymax)`` of
    positive area.  An exact predicate in arithmetic: when no edge of the
    polygon passes through the open rectangle, the rectangle lies wholly
    inside or wholly outside it, and its centre tells which.  Rectangles that
    an edge crosses, rectangles too thin to place their centre exactly, and
    polygons with holes are left to GEOS (-1).  Each polygon's coordinates are
    read once however many rectangles lie on it (``of``: boxes on their lots);
    the test runs compiled where numba is loaded (:func:`gis.clip_jit.rects_in_rings`)
    and in arrays otherwise (:func:`rects_in_rings`), with the same answers, except that
    the arrays leave polygons of more than :data:`BIG_SHAPE` coordinates to GEOS too.
    """
    out = np.full(len(rects), -1, dtype=np.int8)
    if of is None:
        used = at = np.arange(len(polys))
    else:
        used, at = np.unique(of, return_inverse=True)
    plain = shapely.get_num_interior_rings(polys[used]) == 0  # one ring: its points are its edges
    rows = np.flatnonzero(plain[at])
    if not len(rows):
        return out
    xy, pt_of = shapely.get_coordinates(polys[used[plain]], return_index=True)
    start = np.searchsorted(pt_of, np.arange(np.count_nonzero(plain) + 1))
    ring = (np.cumsum(plain) - 1)[at[rows]]
    jit = loaded_jit()
    if jit is None:  # in arrays the test costs rectangles × edges: GEOS clips boxes on long rings near them
        short = start[ring + 1] - start[ring] <= BIG_SHAPE
        rows, ring = rows[short], ring[short]
    where = np.empty(len(rows), dtype=np.int8)
    test = jit.rects_in_rings if jit is not None else rects_in_rings
    test(xy, start, ring, np.ascontiguousarray(rects[rows], dtype=np.float64), where)
    out[rows] = where
    return out


#: Rectangle-edge pairs the array test holds at once (about 150 bytes each): a
#: long lot line under thousands of boxes is tested a batch of boxes at a time.
EDGE_BATCH = 1 << 20


def rects_in_rings(xy: np.ndarray, start: np.ndarray, of: np.ndarray, rects: np.ndarray, out: np.ndarray) -> None:
    """:func:`gis.clip_jit.rects_in_rings` in arrays: ``out[i]`` is where ``rects[i]`` lies
    against the ring ``xy[start[of[i]]:start[of[i] + 1]]`` (1 inside, 0 outside, -1 undecided),
    by the same arithmetic, a batch of rectangles of at most :data:`EDGE_BATCH` edges at a time."""
    n_edges = np.maximum(start[of + 1] - start[of] - 1, 0)
    before = np.concatenate([[0], np.cumsum(n_edges)])  # edges of the rectangles before i
    size = _ring_sizes(xy, start)
    i = 0
    while i < len(of):
        j = max(i + 1, int(np.searchsorted(before, before[i] + EDGE_BATCH, side="right")) - 1)
        out[i:j] = _rects_in_rings_batch(xy, start[of[i:j]], n_edges[i:j], size[of[i:j]], rects[i:j])
        i = j


def _ring_sizes(xy: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Per ring, the largest absolute coordinate of its points (0 for an empty ring)."""
    size = np.zeros(len(start) - 1)
    full = np.flatnonzero(start[1:] > start[:-1])
    if len(full):
        size[full] = np.maximum.reduceat(np.abs(xy).max(axis=1), start[full])
    return size


def _rects_in_rings_batch(xy, first, n_edges, ring_size, rects) -> np.ndarray:
    """:func:`rects_in_rings` for rectangles whose rings' edges start at ``first``."""
    owner = np.repeat(np.arange(len(rects)), n_edges)
    k = np.arange(len(owner)) + np.repeat(first - (np.cumsum(n_edges) - n_edges), n_edges)
    ax, ay = xy[k].T
    bx, by = xy[k + 1].T
    rx0, ry0, rx1, ry1 = rects[owner].T
    # Liang–Barsky against the open rectangle: the t where the edge is strictly
    # between the sides, intersected over both axes and with [0, 1]
    lo, hi = np.full(len(owner), -np.inf), np.full(len(owner), np.inf)
    for p0, d, lo_side, hi_side in ((ax, bx - ax, rx0, rx1), (ay, by - ay, ry0, ry1)):
        flat = d == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            t0, t1 = (lo_side - p0) / d, (hi_side - p0) / d
        lo = np.where(flat, np.where((p0 > lo_side) & (p0 < hi_side), lo, np.inf), np.maximum(lo, np.minimum(t0, t1)))
        hi = np.where(flat, hi, np.minimum(hi, np.maximum(t0, t1)))
    crossed = np.bincount(owner[(lo < hi) & (lo < 1) & (hi > 0)], minlength=len(rects)) > 0
    # the centre by crossing number: a ray to +x, each edge counted with the half-open rule in y
    cx, cy = (rects[:, 0] + rects[:, 2]) / 2, (rects[:, 1] + rects[:, 3]) / 2
    ecx, ecy = cx[owner], cy[owner]
    spans = (ay > ecy) != (by > ecy)
    with np.errstate(divide="ignore", invalid="ignore"):
        flips = spans & (ecx < ax + (ecy - ay) * (bx - ax) / (by - ay))
    inside = np.bincount(owner[flips], minlength=len(rects)) % 2 == 1
    margin = np.maximum(np.abs(rects).max(axis=1), ring_size) * 2.0 ** -30
    thin = np.minimum(np.minimum(cx - rects[:, 0], rects[:, 2] - cx), np.minimum(cy - rects[:, 1], rects[:, 3] - cy))
    return np.where(crossed | (thin <= margin), -1, inside.astype(np.int8)).astype(np.int8)


def clip_each(geoms: np.ndarray, rects: np.ndarray, *, crossing: bool = False) -> np.ndarray:
    """``geoms[i]`` clipped to the rectangle ``rects[i]``, exactly.

    A shape within its rectangle is its own clip; a convex ring is clipped in
    arrays (:func:`_clip_convex`: Sutherland–Hodgman, exact for a convex shape
    and window).  Other shapes go to GEOS's rectangle clipping, which costs
    about a third of the overlay but can return a valid polygon that is not
    the intersection: where the outline passes through a corner of the
    rectangle (a V of lawn from one back corner of a lot to the other gave
    128 of a paved 3,968 sq ft) or a thin spike just enters it (the whole
    rectangle); GEOS 3.14.  So its result is kept only where its area and
    bounds are those of the array clip of its rings (:func:`_rect_clip_checked`),
    and the overlay gives the rest.  A shape of more than :data:`BIG_SHAPE`
    coordinates (a street parcel cut to each of its thousands of driveways) is
    checked only against its edges near the rectangle (:func:`_big_clip_checked`).
    """
    out = np.full(len(geoms), None, dtype=object)
    # small polygons first get the array test: a rectangle wholly inside is
    # the answer itself, one wholly outside leaves nothing (``crossing``: the
    # caller knows an edge runs through each rectangle, so the test is skipped)
    small = np.zeros(0, dtype=np.int64) if crossing else \
        np.flatnonzero((shapely.get_type_id(geoms) == 3) & (shapely.get_num_coordinates(geoms) <= 32))
    where = rect_in_polygon(geoms[small], rects[small])
    inner = small[where == 1]
    if len(inner):
        out[inner] = shapely.box(*rects[inner].T)
    todo = np.ones(len(geoms), dtype=bool)
    todo[small[where >= 0]] = False
    todo &= ~shapely.is_missing(geoms)
    bounds = shapely.bounds(geoms)
    within = todo & (bounds[:, 0] >= rects[:, 0]) & (bounds[:, 1] >= rects[:, 1]) \
        & (bounds[:, 2] <= rects[:, 2]) & (bounds[:, 3] <= rects[:, 3])
    out[within] = geoms[within]
    todo = np.flatnonzero(todo & ~within)
    big = num_coordinates(geoms[todo]) > BIG_SHAPE
    out[todo[big]] = _big_clip_checked(geoms[todo[big]], rects[todo[big]])
    todo = todo[~big]
    convex = _convex(geoms[todo])
    out[todo[convex]] = _clip_convex(geoms[todo[convex]], rects[todo[convex]])
    out[todo[~convex]] = _rect_clip_checked(geoms[todo[~convex]], rects[todo[~convex]])
    return out


def _big_clip_checked(geoms: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """GEOS's rectangle clipping of large shapes, kept where its area is the area of the shape
    inside the rectangle found from the edges near it (:func:`local_clip_area`); GEOS's
    overlay where not (or where the clip failed)."""
    out = _near_clip(geoms, rects)
    if not len(geoms):
        return out
    return _overlay_where_wrong(out, geoms, rects, local_clip_area(geoms, rects))


#: A shape of more rings than this is clipped with only its rings near the rectangle, where
#: they hold under a quarter of its coordinates.
MANY_RINGS = 64

#: Shapes of the rings near their rectangles are made and clipped this many coordinates at a time.
NEAR_BATCH_COORDS = 1 << 20


#: A shape with a ring of more coordinates than this, clipped to :data:`LONG_RING_ROWS` rectangles
#: or more, is cut into tiles first (:func:`_tiled_clip`).
LONG_RING = 16_384

#: See :data:`LONG_RING`: fewer clips of a long ring cost less than cutting it.
LONG_RING_ROWS = 16

#: Most coordinates of a tile of a long-ringed shape.
LONG_RING_TILE_COORDS = 2048


def _near_clip(geoms: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """:func:`_ring_clip` of each shape, but shapes with a ring of more than :data:`LONG_RING`
    coordinates that many rectangles clip, which are cut into tiles first (:func:`_tiled_clip`)."""
    tiled = _long_ringed(geoms)
    out = np.full(len(geoms), None, dtype=object)
    out[tiled] = _tiled_clip(geoms[tiled], rects[tiled])
    out[~tiled] = _ring_clip(geoms[~tiled], rects[~tiled])
    return out


def _long_ringed(geoms: np.ndarray) -> np.ndarray:
    """The rows whose shape has a ring of more than :data:`LONG_RING` coordinates and is
    clipped in :data:`LONG_RING_ROWS` rows or more (a shape object is looked at once)."""
    _, first, shape_of, rows = np.unique(_identities(geoms), return_index=True, return_inverse=True,
                                         return_counts=True)
    long = np.zeros(len(first), dtype=bool)
    some = np.flatnonzero((rows >= LONG_RING_ROWS) & (num_coordinates(geoms[first]) > LONG_RING))
    if len(some):
        parts, part_of = shapely.get_parts(geoms[first[some]], return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        longest = np.zeros(len(some))
        np.maximum.at(longest, part_of[ring_of], shapely.get_num_coordinates(rings))
        long[some] = longest > LONG_RING
    return long[shape_of]


def _tiled_clip(geoms: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Each shape's part in its rectangle, from the shape cut once into tiles of at most
    :data:`LONG_RING_TILE_COORDS` coordinates (:func:`_tiles_of`): the tiles meeting a
    rectangle are clipped (GEOS) and their clips unioned.

    GEOS's rectangle clipping walks every coordinate of its input: a lot outline traced at
    survey detail cost its vertices for each of the thousands of pieces cut from it.  The tiles
    cover the shape exactly (:func:`gis.tiles.cut_large`), so their clips make the same part.
    Cost: the cut, once per shape (an overlay per quadtree square; 1.3 s for a ring of a
    million vertices), and a clip of a few tiles per rectangle.
    """
    out = np.full(len(geoms), None, dtype=object)
    if not len(geoms):
        return out
    _, first, shape_of = np.unique(_identities(geoms), return_index=True, return_inverse=True)
    tiles, tile_of = _tiles_of(geoms[first])
    row, tile = shapely.STRtree(tiles).query(shapely.box(*rects.T))
    mine = tile_of[tile] == shape_of[row]
    row, tile = row[mine], tile[mine]
    clips = _rect_clip(tiles[tile], rects[row])
    failed = np.unique(row[shapely.is_missing(clips)])
    out[:] = group_union(row, clips, len(geoms))
    out[failed] = None  # GEOS failed on a tile: the caller overlays the row
    none = shapely.is_missing(out)
    none[failed] = False
    out[none] = shapely.from_wkt("POLYGON EMPTY")  # no tile meets the rectangle: nothing is inside
    return out


#: The tiles of each long-ringed shape cut so far, by the shape's identity, while it lives: a
#: lot is clipped in several steps of a measurement, and cut once.
_TILES: dict[int, np.ndarray] = {}


def _tiles_of(shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tiles of distinct ``shapes`` (:data:`LONG_RING_TILE_COORDS` coordinates at most; they
    cover each shape exactly) and the shape each tiles, cutting those not cut yet."""
    from gis.tiles import cut_large

    new = [s for s in shapes if id(s) not in _TILES]
    if new:
        cut = cut_large(np.array(new, dtype=object), above=0, tile_coords=LONG_RING_TILE_COORDS)
        for i, shape in enumerate(new):
            _TILES[id(shape)] = cut.geoms[cut.source == i]
            weakref.finalize(shape, _TILES.pop, id(shape), None)  # the id may name another shape later
    each = [_TILES[id(s)] for s in shapes]
    return np.concatenate(each), np.repeat(np.arange(len(shapes)), [len(t) for t in each])


def _ring_clip(geoms: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """GEOS's rectangle clipping of each shape (:func:`_rect_clip`); a shape of more than
    :data:`MANY_RINGS` rings with only the rings whose boxes meet its rectangle, where these
    hold under a quarter of its coordinates.

    A city's right-of-way drawn as one lot has a hole for each block, and the clipping walks
    every ring of its input: cut to each of the thousands of walkways on it, the lot cost
    pieces times vertices.  A hole whose box misses the rectangle bounds nothing inside it,
    and a part whose shell's box misses it lies wholly outside (with its holes, and any part
    inside one of them); every other ring is kept, so the rectangle's part of the shape is
    unchanged.  The shapes of near rings are copies (a long shell is copied for each
    rectangle): they are made only where they leave out most of the shape, and clipped
    :data:`NEAR_BATCH_COORDS` coordinates at a time.  Cost: one tree of the rings of such
    shapes and one query per rectangle.
    """
    near = _rings_near(geoms, rects)
    out = np.full(len(geoms), None, dtype=object)
    out[~near.trim] = _rect_clip(geoms[~near.trim], rects[~near.trim])
    if near.trim.any():
        out[near.trim] = shapely.from_wkt("POLYGON EMPTY")  # no ring comes near: nothing of it is inside
        for b in _batches(near.row, np.cumsum(near.size[near.ring]), NEAR_BATCH_COORDS):
            shapes, at = _of_rings(near.rings[near.ring[b]], near.row[b], near.ring_part[near.ring[b]])
            out[at] = _rect_clip(shapes, rects[at])
    return out


class _NearRings(NamedTuple):
    """Which rows :func:`_near_clip` trims (``trim``) and, for those, their near rings: pairs
    ``(row, ring)`` sorted by row, then ring (a part's shell before its holes), indexing
    ``rings`` (of the rows' distinct shapes), with each ring's part (``ring_part``) and its
    number of coordinates (``size``)."""

    trim: np.ndarray
    row: np.ndarray
    ring: np.ndarray
    rings: np.ndarray
    ring_part: np.ndarray
    size: np.ndarray


def _rings_near(geoms: np.ndarray, rects: np.ndarray) -> _NearRings:
    """The rings of each shape of more than :data:`MANY_RINGS` rings whose boxes meet its
    rectangle, found with one tree of those shapes' rings; a row is trimmed where these hold
    under a quarter of its shape's coordinates."""
    _, first, shape_of = np.unique(_identities(geoms), return_index=True, return_inverse=True)
    parts, part_shape = shapely.get_parts(geoms[first], return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_shape = part_shape[ring_part]
    size = shapely.get_num_coordinates(rings)
    many = np.bincount(ring_shape, minlength=len(first)) > MANY_RINGS
    rows = np.flatnonzero(many[shape_of])
    trim = np.zeros(len(geoms), dtype=bool)
    none = np.zeros(0, dtype=np.int64)
    if not len(rows):
        return _NearRings(trim, none, none, rings, ring_part, size)
    in_many = np.flatnonzero(many[ring_shape])
    row, ring = shapely.STRtree(rings[in_many]).query(shapely.box(*rects[rows].T))
    ring = in_many[ring]
    mine = ring_shape[ring] == shape_of[rows[row]]
    row, ring = rows[row[mine]], ring[mine]
    kept = np.bincount(row, weights=size[ring], minlength=len(geoms))
    whole_size = np.bincount(ring_shape, weights=size, minlength=len(first))[shape_of]
    trim[rows] = kept[rows] * 4 < whole_size[rows]
    keep = trim[row]
    by = np.lexsort((ring[keep], row[keep]))
    return _NearRings(trim, row[keep][by], ring[keep][by], rings, ring_part, size)


def _batches(row: np.ndarray, ends: np.ndarray, limit: int) -> list[slice]:
    """Slices of runs of equal ``row`` (sorted) whose sizes (``ends``: running totals) add up to
    about ``limit`` each."""
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    before = np.r_[0, ends][starts]  # the running total before each run
    cuts = starts[np.unique(np.searchsorted(before, np.arange(0, ends[-1] if len(ends) else 0, limit)))]
    return [slice(a, b) for a, b in zip(cuts, [*cuts[1:], len(row)], strict=True)]


def _of_rings(rings: np.ndarray, row: np.ndarray, part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(shapes, rows)``: per row, the shape of its ``rings`` (sorted by row, then part, each
    part's shell first): a Polygon, or a MultiPolygon where they come from several parts."""
    new_polygon = np.r_[True, (row[1:] != row[:-1]) | (part[1:] != part[:-1])]
    polygons = shapely.polygons(rings, indices=np.cumsum(new_polygon) - 1)
    poly_row = row[new_polygon]
    at, first, count = np.unique(poly_row, return_index=True, return_counts=True)
    shapes = polygons[first]
    multi = np.flatnonzero(count > 1)
    if len(multi):
        in_multi = np.isin(poly_row, at[multi])
        shapes[multi] = shapely.multipolygons(polygons[in_multi],
                                              indices=np.searchsorted(at[multi], poly_row[in_multi]))
    return shapes, at


def num_coordinates(geoms: np.ndarray) -> np.ndarray:
    """``shapely.get_num_coordinates``, counted once per shape object: GEOS walks every ring
    to count, and an array may hold one street parcel of thousands of holes for each of
    its thousands of walkways."""
    _, first, inverse = np.unique(_identities(geoms), return_index=True, return_inverse=True)
    return shapely.get_num_coordinates(geoms[first])[inverse]


def local_clip_area(geoms: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Area of each valid polygonal shape inside its rectangle, from the shape's edges that meet
    the rectangle and point tests on its right side, so that a shape of V coordinates costs
    each rectangle log V and its nearby edges, not V.

    Green's theorem with ∮ x dy, x measured from the rectangle's left side: the boundary of
    ``shape ∩ rect`` is the shape's edges inside the rectangle (each clipped to it, oriented
    with the shape's interior on their left) and the stretches of the rectangle's sides inside
    the shape.  Of these sides only the right one adds to ∮ x dy (the left has x = 0, the top
    and bottom dy = 0): its width times the length of the side that lies in the shape's
    interior, found by splitting the side where edges meet it and testing each stretch's
    middle (GEOS's prepared point-in-polygon).  An edge along the right side bounds the
    intersection only if the interior is inside the rectangle (it runs upwards).
    """
    _, first, shape_of = np.unique(_identities(geoms), return_index=True, return_inverse=True)
    shapes = shapely.orient_polygons(geoms[first])  # shells anticlockwise, holes clockwise
    p, q, edge_shape, runs = _edges(shapes)
    row, edge = _near_edges(p, q, runs, shapely.box(*rects.T))
    near = edge_shape[edge] == shape_of[row]
    row, edge = row[near], edge[near]
    r = rects[row]
    x0, y0 = r[:, 0], r[:, 1]
    a, b = p[edge] - np.c_[x0, y0], q[edge] - np.c_[x0, y0]  # about the rectangle's corner
    w, h = r[:, 2] - x0, r[:, 3] - y0
    t0, t1 = _liang_barsky(a, b - a, w, h)
    along_right = (a[:, 0] == w) & (b[:, 0] == w)
    k = np.flatnonzero((t1 > t0) & ~(along_right & (b[:, 1] < a[:, 1])))
    d = b[k] - a[k]
    ca, cb = a[k] + t0[k, None] * d, a[k] + t1[k, None] * d
    area_ = np.bincount(row[k], weights=(ca[:, 0] + cb[:, 0]) / 2 * (cb[:, 1] - ca[:, 1]), minlength=len(geoms))
    return area_ + (rects[:, 2] - rects[:, 0]) * _right_side_inside(shapes, shape_of, rects, row, a, b, w)


def _identities(geoms: np.ndarray) -> np.ndarray:
    """The identity of each shape object: rows holding the same shape share it."""
    return np.fromiter(map(id, geoms), dtype=np.int64, count=len(geoms))


def _edges(shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every edge of the shapes' rings as its two ends ``(p, q)``, the shape it belongs to, and
    where runs of at most :data:`EDGE_RUN` consecutive edges of one ring start."""
    parts, part_of = shapely.get_parts(shapes, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, of = shapely.get_coordinates(rings, return_index=True)
    same = of[1:] == of[:-1]  # consecutive points of one ring (the closing point repeats the first)
    ring = of[:-1][same]
    first = np.r_[True, ring[1:] != ring[:-1]]
    ring_start = np.flatnonzero(first)
    position = np.arange(len(ring)) - np.repeat(ring_start, np.diff(np.r_[ring_start, len(ring)]))
    runs = np.flatnonzero(position % EDGE_RUN == 0)
    return xy[:-1][same], xy[1:][same], part_of[ring_part[ring]], runs


#: Edges are looked up near a rectangle in runs of this many (one box a run, not an edge).
EDGE_RUN = 16


def _near_edges(p: np.ndarray, q: np.ndarray, runs: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(box, edge)`` pairs: each edge of every run of edges whose bounds meet a box's."""
    lo, hi = np.fmin(p, q), np.fmax(p, q)
    run_lo, run_hi = np.minimum.reduceat(lo, runs), np.maximum.reduceat(hi, runs)
    box_of, run = shapely.STRtree(shapely.box(*run_lo.T, *run_hi.T)).query(boxes)
    size = np.diff(np.r_[runs, len(p)])[run]
    box_of = np.repeat(box_of, size)
    edge = np.repeat(runs[run] - np.cumsum(size) + size, size) + np.arange(int(size.sum()))
    return box_of, edge


def _liang_barsky(a: np.ndarray, d: np.ndarray, w: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(t0, t1)``: the part of each segment ``a + t d`` (0 <= t <= 1) inside the closed box
    ``[0, w] × [0, h]``; t1 < t0 where it misses the box, t1 = t0 where it only touches it."""
    t0, t1 = np.zeros(len(a)), np.ones(len(a))
    for k, size in ((0, w), (1, h)):
        start, dk = a[:, k], d[:, k]
        flat = dk == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            ta, tb = -start / dk, (size - start) / dk
        between = (start >= 0) & (start <= size)
        lo = np.where(flat, np.where(between, -np.inf, np.inf), np.minimum(ta, tb))
        hi = np.where(flat, np.where(between, np.inf, -np.inf), np.maximum(ta, tb))
        t0, t1 = np.maximum(t0, lo), np.minimum(t1, hi)
    return t0, t1


def _right_side_inside(shapes, shape_of, rects, row, a, b, w) -> np.ndarray:
    """Per rectangle, the length of its right side that lies in its shape's interior: the side
    split where the nearby edges (``row``, ends ``a``, ``b`` about the rectangle's corner) meet
    it, each stretch in or out as its middle is."""
    on = (a[:, 0] == w) & (b[:, 0] == w)
    crossing = ((a[:, 0] - w) * (b[:, 0] - w) <= 0) & ~on
    with np.errstate(divide="ignore", invalid="ignore"):
        y = a[:, 1] + (w - a[:, 0]) / (b[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    cuts_row = np.concatenate([row[crossing], row[on], row[on], np.arange(len(rects)), np.arange(len(rects))])
    cuts_y = np.concatenate([y[crossing], a[on, 1], b[on, 1], np.zeros(len(rects)), rects[:, 3] - rects[:, 1]])
    height = rects[cuts_row, 3] - rects[cuts_row, 1]
    cuts_y = np.clip(cuts_y, 0.0, height)
    order = np.lexsort((cuts_y, cuts_row))
    cuts_row, cuts_y = cuts_row[order], cuts_y[order]
    stretch = (cuts_row[1:] == cuts_row[:-1]) & (cuts_y[1:] > cuts_y[:-1])
    owner, lo, hi = cuts_row[:-1][stretch], cuts_y[:-1][stretch], cuts_y[1:][stretch]
    shapely.prepare(shapes)
    inside = shapely.contains_xy(shapes[shape_of[owner]], rects[owner, 2], rects[owner, 1] + (lo + hi) / 2)
    return np.bincount(owner, weights=(hi - lo) * inside, minlength=len(rects))


def _convex(geoms: np.ndarray) -> np.ndarray:
    """Which shapes are polygons of one convex ring (every turn the same way, or straight on) of
    at most :data:`ARRAY_CLIP_MAX_COORDS` coordinates."""
    out = (shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0) \
        & (shapely.get_num_coordinates(geoms) <= ARRAY_CLIP_MAX_COORDS)
    idx = np.flatnonzero(out)
    if not len(idx):
        return out
    xy, of = shapely.get_coordinates(geoms[idx], return_index=True)
    last = np.r_[of[1:] != of[:-1], True]  # the closing point repeats the first
    xy, of = xy[~last], of[~last]
    nxt = _next_in_ring(of)
    d = xy[nxt] - xy
    turn = d[:, 0] * d[nxt, 1] - d[:, 1] * d[nxt, 0]
    left = np.bincount(of, weights=turn > 0, minlength=len(idx)) > 0
    right = np.bincount(of, weights=turn < 0, minlength=len(idx)) > 0
    out[idx] = ~(left & right)
    return out


def _clip_convex(polys: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Convex polygons cut to their rectangles in arrays (None where nothing of area is left;
    GEOS's overlay for the rare result that GEOS would not take as valid)."""
    out = np.full(len(polys), None, dtype=object)
    if not len(polys):
        return out
    xy, of = _clip_rings(polys, rects)
    # repeated points (a corner on a side) dropped, then rings of some area kept
    keep = np.r_[True, (of[1:] != of[:-1]) | (xy[1:] != xy[:-1]).any(axis=1)]
    xy, of = xy[keep], of[keep]
    starts = np.r_[0, np.flatnonzero(of[1:] != of[:-1]) + 1] if len(of) else np.zeros(0, dtype=np.int64)
    dup_last = (xy[np.r_[starts[1:] - 1, len(of) - 1]] == xy[starts]).all(axis=1) if len(of) else []
    if len(of):
        drop = np.zeros(len(of), dtype=bool)
        drop[np.r_[starts[1:] - 1, len(of) - 1][dup_last]] = True
        xy, of = xy[~drop], of[~drop]
    size = np.bincount(of, minlength=len(polys))
    area2 = _shoelace2(xy, of, len(polys))
    ok = (size >= 3) & (area2 != 0)
    rows = np.flatnonzero(ok)
    if not len(rows):
        return out
    sel = ok[of]
    ring_xy, ring_of = xy[sel], of[sel]
    firsts = np.r_[0, np.flatnonzero(ring_of[1:] != ring_of[:-1]) + 1]
    closed = np.insert(ring_xy, np.r_[firsts[1:], len(ring_xy)], ring_xy[firsts], axis=0)
    ring_id = np.repeat(np.arange(len(rows)), size[rows] + 1)
    rings = shapely.linearrings(closed, indices=ring_id)
    out[rows] = shapely.polygons(rings)
    bad = rows[~shapely.is_valid(out[rows])]
    if len(bad):
        out[bad] = polygonal(shapely.intersection(polys[bad], shapely.box(*rects[bad].T)))
    return out


def _rect_clip_checked(geoms: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """GEOS's rectangle clipping where its result has the area and bounds of the array clip of
    the shape's rings (exact for a valid shape: a hole's clipped area is taken off its
    polygon's), GEOS's overlay where not and where the clip failed.  The check costs the
    whole outline: for shapes of at most :data:`BIG_SHAPE` coordinates."""
    out = _rect_clip(geoms, rects)
    if not len(geoms):
        return out
    want_area, want_bounds = _ring_clip_area_bounds(geoms, rects)
    scale = np.maximum(np.abs(rects).max(axis=1), 1.0)
    empty = shapely.is_empty(out) | shapely.is_missing(out)
    same_bounds = np.where(empty, np.isnan(want_bounds[:, 0]),
                           (np.abs(shapely.bounds(out) - want_bounds) <= 1e-9 * scale[:, None]).all(axis=1))
    return _overlay_where_wrong(out, geoms, rects, want_area, same_bounds)


def _overlay_where_wrong(clips: np.ndarray, geoms: np.ndarray, rects: np.ndarray, want_area: np.ndarray,
                         agree: np.ndarray | bool = True) -> np.ndarray:
    """``clips`` (GEOS's rectangle clips of ``geoms``) where each is valid, ``agree`` holds and its
    area is ``want_area`` to rounding; GEOS's overlay of the shape and its rectangle elsewhere."""
    empty = shapely.is_empty(clips) | shapely.is_missing(clips)
    tol = 1e-9 * ((rects[:, 2] - rects[:, 0]) * (rects[:, 3] - rects[:, 1]) + 1.0)  # rounding, far below any real error
    good = (np.abs(np.where(empty, 0.0, shapely.area(clips)) - want_area) <= tol) & agree \
        & (empty | shapely.is_valid(clips))
    redo = np.flatnonzero(~good)
    if len(redo):
        clips[redo] = polygonal(shapely.intersection(geoms[redo], shapely.box(*rects[redo].T)))
    return clips


def _rect_clip(geoms: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """GEOS's rectangle clipping of each shape; None for a shape it fails on (it raises for some
    rings that come out too short), one by one only when the whole array failed."""
    try:
        return shapely.lib.clip_by_rect(geoms, rects[:, 0], rects[:, 1], rects[:, 2], rects[:, 3])
    except shapely.errors.GEOSException:
        pass
    out = np.full(len(geoms), None, dtype=object)
    for i, (g, r) in enumerate(zip(geoms, rects, strict=True)):
        try:
            out[i] = shapely.clip_by_rect(g, *r)
        except shapely.errors.GEOSException:
            continue
    return out


def _ring_clip_area_bounds(geoms: np.ndarray, rects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Area and bounds of each valid polygonal shape cut to its rectangle, from its rings cut in
    arrays (Sutherland–Hodgman; a ring that leaves and comes back runs along the side, which adds
    no area and no extent); bounds NaN where nothing is left."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    owner = part_of[ring_part]
    xy, of = _clip_rings(shapely.polygons(rings), rects[owner])
    signed = _shoelace2(xy, of, len(rings)) / 2
    shell = np.r_[True, ring_part[1:] != ring_part[:-1]]  # a part's first ring is its shell
    area_ = np.bincount(owner, weights=np.where(shell, np.abs(signed), -np.abs(signed)), minlength=len(geoms))
    bounds = np.full((len(geoms), 4), np.nan)
    if len(xy):
        of_shell = shell[of]
        g = owner[of][of_shell]
        pts = xy[of_shell]
        for k, (fn, axis) in enumerate(((np.fmin, 0), (np.fmin, 1), (np.fmax, 0), (np.fmax, 1))):
            fn.at(bounds[:, k], g, pts[:, axis])
    bounds[area_ <= 0] = np.nan
    return area_, bounds


def clip_area(geoms: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Area of ``geoms[i]`` inside the rectangle ``rects[i]``, without building the clipped shape.

    Small polygons without holes are clipped in arrays (:func:`_clip_rings`)
    and measured with the shoelace formula.  For a convex window this gives the
    exact area of the intersection for any simple ring, convex or not: where
    a ring leaves the window and comes back, the clipped ring runs along the
    side and back, which adds no area.  Other geometries go to :func:`clip_each`.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms))
    simple = _small_simple(geoms)
    rest = np.flatnonzero(~simple & ~shapely.is_missing(geoms))
    if len(rest):
        out[rest] = area(clip_each(geoms[rest], rects[rest]))
    idx = np.flatnonzero(simple)
    if len(idx):
        xy, of = _clip_rings(geoms[idx], rects[idx])
        out[idx] = np.abs(_shoelace2(xy, of, len(idx))) / 2
    return out


#: Array clipping is for building-sized rings; a river or a lake with
#: thousands of vertices, cut to each lot it touches, is cheaper in GEOS.
ARRAY_CLIP_MAX_COORDS = 64


def _small_simple(geoms: np.ndarray) -> np.ndarray:
    """Polygons of one ring (not empty) and at most :data:`ARRAY_CLIP_MAX_COORDS` coordinates."""
    coords = shapely.get_num_coordinates(geoms)
    return ((shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0)
            & (coords > 0) & (coords <= ARRAY_CLIP_MAX_COORDS))


def _clip_rings(polys: np.ndarray, rects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sutherland–Hodgman: the exterior ring of each polygon cut to its rectangle, all at once.

    Returns the clipped rings' vertices (open: the first point is not
    repeated) and the polygon each belongs to.  The ring may run along a
    side and back where the polygon leaves the rectangle and returns: no
    area, but not a valid shape, so this serves areas only.
    """
    xy, of = shapely.get_coordinates(polys, return_index=True)
    last = np.r_[of[1:] != of[:-1], True]  # the closing point repeats the first
    xy, of = xy[~last], of[~last]
    # clip against x >= xmin, x <= xmax, y >= ymin, y <= ymax in turn
    for axis, side, sign in ((0, 0, 1.0), (0, 2, -1.0), (1, 1, 1.0), (1, 3, -1.0)):
        if not len(xy):
            break
        nxt = _next_in_ring(of)
        bound = rects[of, side]
        dp = sign * (xy[:, axis] - bound)
        dq = dp[nxt]
        p_in, q_in = dp >= 0, dq >= 0
        cross = p_in != q_in
        # each edge p → q gives: the crossing point if it crosses, then q if q is in
        count = cross.astype(np.int64) + q_in
        first = np.cumsum(count) - count
        new_xy = np.empty((int(count.sum()), 2))
        c = np.flatnonzero(cross)
        t = dp[c] / (dp[c] - dq[c])
        at = xy[c] + t[:, None] * (xy[nxt[c]] - xy[c])
        at[:, axis] = bound[c]  # exactly on the side
        new_xy[first[c]] = at
        q = np.flatnonzero(q_in)
        new_xy[first[q] + cross[q]] = xy[nxt[q]]
        of = np.repeat(of, count)
        xy = new_xy
    return xy, of


def _shoelace2(xy: np.ndarray, of: np.ndarray, n: int) -> np.ndarray:
    """Twice the signed area of each of ``n`` open rings (vertices grouped by ring; 0 for none)."""
    if not len(xy):
        return np.zeros(n)
    nxt = _next_in_ring(of)
    # about each ring's first point, for precision far from the origin
    starts = np.r_[0, np.flatnonzero(of[1:] != of[:-1]) + 1]
    rel = xy - np.repeat(xy[starts], np.diff(np.r_[starts, len(of)]), axis=0)
    return np.bincount(of, weights=rel[:, 0] * rel[nxt, 1] - rel[nxt, 0] * rel[:, 1], minlength=n)


def _next_in_ring(ring: np.ndarray) -> np.ndarray:
    """Index of the next vertex of the same (closed) ring, for vertices grouped by ring."""
    nxt = np.arange(1, len(ring) + 1)
    ends = np.flatnonzero(np.r_[ring[1:] != ring[:-1], True])
    nxt[ends] = np.r_[0, ends[:-1] + 1]
    return nxt


def intersection(a: np.ndarray, b: np.ndarray, boxes_a=None, boxes_b=None) -> np.ndarray:
    """Element-wise intersection, with the cheapest exact method for each pair.

    Two axis-aligned rectangles meet in the rectangle of their overlapping
    bounds (arithmetic); a polygon and a rectangle are clipped with
    :func:`clip_each`; only pairs of two general polygons use GEOS overlay.
    ``boxes_a``/``boxes_b`` may pass :func:`axis_boxes` results already known.
    """
    box_a, bnd_a = boxes_a or axis_boxes(a)
    box_b, bnd_b = boxes_b or axis_boxes(b)
    both = box_a & box_b
    out = np.empty(len(a), dtype=object)
    only_a, only_b = box_a & ~box_b, box_b & ~box_a
    neither = ~box_a & ~box_b
    if neither.any():
        out[neither] = shapely.intersection(*_cut_big(a[neither], b[neither], bnd_a[neither], bnd_b[neither]))
    if only_a.any():
        out[only_a] = clip_each(b[only_a], bnd_a[only_a])
    if only_b.any():
        out[only_b] = clip_each(a[only_b], bnd_b[only_b])
    if both.any():
        lo = np.maximum(bnd_a[both, :2], bnd_b[both, :2])
        hi = np.minimum(bnd_a[both, 2:], bnd_b[both, 2:])
        empty = (hi[:, 0] <= lo[:, 0]) | (hi[:, 1] <= lo[:, 1])
        boxes = shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])
        boxes[empty] = None
        out[both] = boxes
    return out


#: A polygon with more coordinates than this (a street parcel, a river) is first cut
#: to its partner's bounds before a GEOS overlay, which otherwise costs its full size
#: for each of the thousands of small features it meets.
BIG_SHAPE = 256


def _cut_big(a: np.ndarray, b: np.ndarray, bnd_a: np.ndarray, bnd_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` with each big shape cut to its partner's bounds (same intersection, cheaper)."""
    a, b = a.copy(), b.copy()
    for this, other_bnd in ((a, bnd_b), (b, bnd_a)):
        big = np.flatnonzero(num_coordinates(this) > BIG_SHAPE)
        if len(big):
            this[big] = clip_each(this[big], other_bnd[big])
    return a, b


def pairs_within_groups(groups: np.ndarray, max_group: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs ``(i, j)``, ``i < j``, of elements with the same group id.

    Vectorized: each element is paired with the ones after it in its run of
    the group-sorted order.  Groups of more than ``max_group`` members are
    left out (the caller pairs those through a spatial index).
    """
    empty = np.array([], dtype=np.int64)
    if len(groups) < 2:
        return empty, empty
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    run_len = np.diff(np.r_[starts, len(g)])
    run_end = np.repeat(starts + run_len, run_len)
    n_after = run_end - np.arange(len(g)) - 1
    if max_group is not None:
        n_after[np.repeat(run_len > max_group, run_len)] = 0
    first = np.repeat(np.arange(len(g)), n_after)
    second = first + 1 + np.arange(len(first)) - np.repeat(np.cumsum(n_after) - n_after, n_after)
    i, j = order[first], order[second]
    return np.minimum(i, j), np.maximum(i, j)


MAX_PAIRED_GROUP = 48  # above this many pieces on one lot, candidate pairs come from an STRtree

#: A group (lot) whose pieces' bounding boxes meet more than this many times per
#: piece is a pile, not a layout: pairwise overlap work would grow with the
#: square of its pieces, so it is unioned by GEOS instead (see :func:`dense_groups`).
#: Real lots, street parcels with thousands of driveways included, stay near 2-4.
DENSE_PAIRS_PER_PIECE = 16

#: A connected cluster of overlapping pieces whose triangle search would look at
#: more than this many neighbour pairs (the sum of its degrees squared) is
#: unioned by GEOS instead (see :func:`heavy_components`).
MAX_TRIANGLE_WORK = 20_000

_QUERY_BATCH = 256  # pieces per STRtree query while counting a pile's pairs (bounds memory)


def dense_groups(groups: np.ndarray, bounds: np.ndarray, max_group: int = MAX_PAIRED_GROUP) -> np.ndarray:
    """Per group id: are its members' bounding boxes a pile (see :data:`DENSE_PAIRS_PER_PIECE`)?

    Only groups of more than ``max_group`` members are examined (smaller ones
    cost at most ``max_group**2 / 2`` pairs).  Each is counted with an STRtree
    in batches that stop as soon as the count passes the limit, so the cost
    is bounded by the limit, not by the square of the members.
    """
    counts = np.bincount(groups) if len(groups) else np.zeros(0, dtype=np.int64)
    out = np.zeros(len(counts), dtype=bool)
    big = np.flatnonzero(counts > max_group)
    if not len(big):
        return out
    order = np.argsort(groups, kind="stable")
    starts = np.cumsum(counts) - counts
    for g in big:
        members = order[starts[g]:starts[g] + counts[g]]
        boxes = shapely.box(*bounds[members].T)
        tree = shapely.STRtree(boxes)
        limit, found = DENSE_PAIRS_PER_PIECE * len(members), 0
        for s in range(0, len(members), _QUERY_BATCH):
            found += len(tree.query(boxes[s:s + _QUERY_BATCH])[0])
            if found > limit:
                out[g] = True
                break
    return out


def heavy_components(a: np.ndarray, b: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """Per node: does its cluster exceed :data:`MAX_TRIANGLE_WORK` (edges ``(a, b)``, labels ``comp``)?"""
    n = len(comp)
    if not len(a):
        return np.zeros(n, dtype=bool)
    degree = np.bincount(np.r_[a, b], minlength=n).astype(float)
    work = np.bincount(comp, weights=degree * degree, minlength=n)
    return work[comp] > MAX_TRIANGLE_WORK


def overlaps(groups: np.ndarray, geoms: np.ndarray, is_box: np.ndarray, bounds: np.ndarray, *,
              geometry: bool = False, pair_area=None):
    """Pairs of elements of one group whose interiors overlap (touching edges do not count).

    Returns ``(a, b, area, inter)``: index pairs ``a < b``, the area of each
    overlap and, with ``geometry=True``, the overlap itself (else None).
    Candidates are all pairs within a group (lots hold a handful of pieces,
    crowded groups are searched by a tree of their bounds), kept when their
    bounds overlap; the overlap area is then box arithmetic, or
    ``pair_area(a, b)`` (by default :func:`intersection_area` of the shapes;
    ``geoms`` may hold None where it is given).
    """
    a, b = pairs_within_groups(groups, MAX_PAIRED_GROUP)
    counts = np.bincount(groups) if len(groups) else np.zeros(0, int)
    big = np.flatnonzero(counts[groups] > MAX_PAIRED_GROUP) if len(groups) else np.array([], int)
    if len(big):
        boxes = shapely.box(*bounds[big].T)
        qa, qb = shapely.STRtree(boxes).query(boxes)
        qa, qb = big[qa], big[qb]
        same = (qa < qb) & (groups[qa] == groups[qb])
        a, b = np.r_[a, qa[same]], np.r_[b, qb[same]]
    lo = np.maximum(bounds[a, :2], bounds[b, :2])
    hi = np.minimum(bounds[a, 2:], bounds[b, 2:])
    near = (hi[:, 0] > lo[:, 0]) & (hi[:, 1] > lo[:, 1])
    a, b, lo, hi = a[near], b[near], lo[near], hi[near]
    both = is_box[a] & is_box[b]
    size = np.empty(len(a))
    inter = np.full(len(a), None, dtype=object) if geometry else None
    size[both] = (hi[both, 0] - lo[both, 0]) * (hi[both, 1] - lo[both, 1])
    if geometry and both.any():
        inter[both] = shapely.box(lo[both, 0], lo[both, 1], hi[both, 0], hi[both, 1])
    rest = ~both
    if rest.any():
        ra, rb = a[rest], b[rest]
        if geometry:
            g = intersection(geoms[ra], geoms[rb], (is_box[ra], bounds[ra]), (is_box[rb], bounds[rb]))
            size[rest] = area(g)
            inter[rest] = polygonal(g)
        elif pair_area is not None:
            size[rest] = pair_area(ra, rb)
        else:
            size[rest] = intersection_area(geoms, geoms, (is_box, bounds), (is_box, bounds), ra, rb)
    keep = size > 0
    return a[keep], b[keep], size[keep], (inter[keep] if geometry else None)


def intersection_area(a, b, boxes_a, boxes_b, a_idx=None, b_idx=None) -> np.ndarray:
    """Element-wise area of ``a ∩ b`` without building geometry where it can be helped:
    pairs of boxes by arithmetic, a polygon and a box by :func:`clip_area`,
    two general polygons by sums of strips (:func:`gis.clip.intersection_areas`).

    With ``a_idx``/``b_idx`` the pairs are ``(a[a_idx[k]], b[b_idx[k]])``, and
    a shape in many pairs is split into rings once.  A box needs no shape,
    only its flag and bounds.
    """
    if a_idx is None:
        a_idx, b_idx = np.arange(len(a)), np.arange(len(b))
    box_a, bnd_a = boxes_a[0][a_idx], boxes_a[1][a_idx]
    box_b, bnd_b = boxes_b[0][b_idx], boxes_b[1][b_idx]
    both = box_a & box_b
    out = np.empty(len(a_idx))
    lo = np.maximum(bnd_a[both, :2], bnd_b[both, :2])
    hi = np.minimum(bnd_a[both, 2:], bnd_b[both, 2:])
    out[both] = np.clip(hi[:, 0] - lo[:, 0], 0, None) * np.clip(hi[:, 1] - lo[:, 1], 0, None)
    only_a, only_b = box_a & ~box_b, box_b & ~box_a
    if only_a.any():
        out[only_a] = clip_area(b[b_idx[only_a]], bnd_a[only_a])
    if only_b.any():
        out[only_b] = clip_area(a[a_idx[only_b]], bnd_b[only_b])
    neither = ~box_a & ~box_b
    if neither.any():
        out[neither] = intersection_areas(a, b, a_idx[neither], b_idx[neither])
    return out


def area(geoms: np.ndarray) -> np.ndarray:
    """Areas of the shapes in CRS units²; a missing shape has 0."""
    return np.nan_to_num(shapely.area(geoms), nan=0.0)


def components(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes, for edges ``(a, b)``.

    Label propagation with pointer jumping; clusters here are a handful of pieces.
    """
    comp = np.arange(n)
    if not len(a):
        return comp
    while True:
        low = np.minimum(comp[a], comp[b])
        if (comp[a] == low).all() and (comp[b] == low).all():
            break
        np.minimum.at(comp, a, low)
        np.minimum.at(comp, b, low)
        comp = comp[comp]
    return comp


def in_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Which ``keys`` occur in the sorted array ``sorted_keys`` (vectorized binary search)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    return sorted_keys[np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)] == keys


def matches(sorted_keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every position of ``sorted_keys`` equal to each query: ``(query index, position)`` pairs."""
    start = np.searchsorted(sorted_keys, queries, "left")
    count = np.searchsorted(sorted_keys, queries, "right") - start
    which = np.repeat(np.arange(len(queries)), count)
    return which, np.repeat(start, count) + np.arange(len(which)) - np.repeat(np.cumsum(count) - count, count)


def edge_lookup(a: np.ndarray, b: np.ndarray, n: int):
    """A vectorized membership test for the undirected edges ``(a, b)``."""
    edges = np.unique(np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b))
    return lambda u, v: in_sorted(edges, np.minimum(u, v).astype(np.int64) * n + np.maximum(u, v))


def triangles(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of the graph with edges ``(a, b)``, and which of them lie in a 4-clique.

    Returns ``(tri, in_k4)``: rows ``(x, y, z)``, ``x < y < z``, each once.
    A triangle is two neighbours of one node that are neighbours themselves;
    it lies in a 4-clique when a fourth node neighbours all three.
    """
    none = np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=bool)
    if not len(a):
        return none
    has = edge_lookup(a, b, n)
    nodes, nbrs = np.r_[a, b], np.r_[b, a]
    i, j = pairs_within_groups(nodes)
    closed = has(nbrs[i], nbrs[j])
    if not closed.any():
        return none
    tri = np.sort(np.c_[nodes[i[closed]], nbrs[i[closed]], nbrs[j[closed]]], axis=1)
    tri = np.unique(tri, axis=0)
    # a fourth node w next to x that is also next to y and z
    order = np.argsort(nodes, kind="stable")
    t, at = matches(nodes[order], tri[:, 0])
    w = nbrs[order][at]
    four = (w != tri[t, 1]) & (w != tri[t, 2]) & has(w, tri[t, 1]) & has(w, tri[t, 2])
    in_k4 = np.bincount(t[four], minlength=len(tri)) > 0
    return tri, in_k4


def triangle_free_clusters(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """For overlap edges ``(a, b)``: is the edge's cluster free of triangles?

    A cluster too big to search (:func:`heavy_components`) counts as not free.
    """
    if not len(a):
        return np.zeros(0, dtype=bool)
    comp = components(a, b, n)
    bad = heavy_components(a, b, comp)
    light = ~bad[a]
    tri, _ = triangles(a[light], b[light], n)
    bad[comp[tri[:, 0]]] = True
    return ~bad[comp[a]]
