"""Cut features of many vertices into tiles, so that no lot pays for a whole city's outline.

A careless or dissolved surfaces layer holds a few features that each cover
much of a city: every walkway of a town as one multipolygon, an impervious
land-cover mask vectorised from a raster, a street right-of-way drawn as a
"parking" surface.  Measured whole, each such feature is clipped against every
lot its bounding box meets, and its overlaps with the other crossing features
are measured, at a cost of its whole vertex count each time: lots times
vertices, which grows as the square of the city.

Such features are therefore measured in tiles:

* a multipart feature of more than :data:`TILE_COORDS` coordinates is split
  into its parts (a part is a polygon, and the parts of a valid multipolygon do
  not overlap); a smaller one costs each lot it meets no more than a tile;
* a part of more than :data:`SPLIT_COORDS` coordinates is cut along a grid of
  squares whose sides are powers of two (a quadtree), each square in four
  until every tile has at most :data:`TILE_COORDS` coordinates.

The areas add up: the tiles of a feature do not overlap and their union is
the feature (to the last bits of the cut coordinates), so every lot's
billable area is unchanged.  The tiles depend only on the feature: a square
is always cut from its parent square's tile, so a lot gets the same tiles
whichever lots it is measured with (chunks, a cluster's partitions, one lot
in the app).  Squares that meet no lot box are not cut further.

Cost: each level of the quadtree is one GEOS intersection per tile with a
square, so a feature of V coordinates costs about V log V once, and each lot
then meets tiles of at most :data:`TILE_COORDS` coordinates.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

import shapely

from gis.repair import drop_slivers, non_finite, polygonal, repair

__all__ = ["SPLIT_COORDS", "SURFACE", "TILE_COORDS", "Tiles", "cut_large", "cut_once", "split_parts", "tiled"]

#: Parts of more coordinates than this are measured in tiles.  Real outlines
#: rarely have so many (none of Cambridge's 46,003 surfaces: its largest has
#: 5,835, and Cambridge's run was faster with those measured whole); a
#: dissolved layer's features have tens or hundreds of thousands.
SPLIT_COORDS = 8192

#: A tile has at most this many coordinates (unless :data:`MAX_LEVELS` cuts
#: could not make it smaller).
TILE_COORDS = 64

#: Per row of a layer a bulk run cut (:func:`cut_once`): the surface (row of the layer) it
#: comes from, and whether it was cut from a part that was repaired first.
SURFACE = np.dtype([("surface", np.int64), ("repaired", np.bool_)])

#: A polygon of more holes than this is cut with only the holes near each square.
MANY_HOLES = 64

#: Squares are cut at most this many times: a tile is then about a millionth
#: of its feature's extent across, and is kept whatever its size.
MAX_LEVELS = 20


class Tiles(NamedTuple):
    """Features with the large ones cut: the shapes, the feature each comes from, and which are cut."""

    geoms: np.ndarray
    source: np.ndarray
    cut: np.ndarray  # a part or square of a feature (False: a feature kept whole)


def tiled(features: np.ndarray, lots: np.ndarray | None = None) -> Tiles:
    """``features`` (valid polygonal shapes or None) with every multipart feature of more than
    :data:`TILE_COORDS` coordinates replaced by its parts (:func:`split_parts`), and every
    part of more than :data:`SPLIT_COORDS` coordinates by its tiles (:func:`cut_large`)."""
    parts = split_parts(features, lots)
    tiles = cut_large(parts.geoms, lots)
    return Tiles(tiles.geoms, parts.source[tiles.source], parts.cut[tiles.source] | tiles.cut)


def cut_once(features: np.ndarray, lots: np.ndarray | None = None,
             threads: int = 1) -> tuple[np.ndarray, np.ndarray] | None:
    """``(shapes, surfaces)``: ``features`` with the very large ones in the pieces a bulk run cuts
    once for a whole city, before it pairs surfaces with lots, and per row its :data:`SURFACE`
    (the feature it comes from; whether it was cut from a part repaired first); None when no
    feature has more than :data:`SPLIT_COORDS` coordinates.

    Each such feature is replaced by its parts (:func:`split_parts`), and each part of more than
    :data:`SPLIT_COORDS` coordinates by its tiles (:func:`cut_large`), in order; an invalid part
    is repaired first, as the engine repairs one (:func:`gis.repair.repair`, then its slivers
    dropped), so that the lots under it are still flagged ``repaired``.  A lot then meets the
    tiles that :func:`tiled` cuts for it from the whole feature with any set of lots (a tile
    depends only on its feature), so each chunk of a run gets only the tiles near its lots
    instead of repairing and cutting a city-wide mask again.  Cost: about V log V for a feature
    of V coordinates, once, shared by ``threads`` threads.
    """
    large = np.flatnonzero(shapely.get_num_coordinates(features) > SPLIT_COORDS)
    large = large[~non_finite(features[large])]  # left whole: the engine refuses them, the run sets them aside
    if not len(large):
        return None
    parts = split_parts(features[large], lots)
    geoms = parts.geoms.copy()
    big = np.flatnonzero(shapely.get_num_coordinates(geoms) > SPLIT_COORDS)
    bad = big[~shapely.is_valid(geoms[big])]
    geoms[bad] = drop_slivers(polygonal(repair(geoms[bad])))[0]
    big = big[shapely.get_num_coordinates(geoms[big]) > SPLIT_COORDS]
    cut = cut_large(geoms[big], lots, threads)
    pieces = _in_order(geoms, big, cut.geoms, big[cut.source])
    out = _in_order(features, large, pieces.geoms, large[parts.source[pieces.source]])
    surfaces = np.zeros(len(out.geoms), dtype=SURFACE)
    surfaces["surface"] = out.source
    repaired = np.zeros(len(geoms), dtype=bool)
    repaired[bad] = True
    surfaces["repaired"][out.cut] = repaired[pieces.source]
    return out.geoms, surfaces


def split_parts(features: np.ndarray, lots: np.ndarray | None = None) -> Tiles:
    """``features`` (any shapes or None) with every multipart feature of more than
    :data:`TILE_COORDS` coordinates replaced by its parts, in order (a feature's parts where
    the feature was).

    With ``lots`` (their shapes), parts whose bounds meet no lot's are left out: they have no
    piece on any lot, and are not even checked for validity.  When no feature is split,
    ``geoms`` is ``features`` itself.
    """
    big = np.flatnonzero((shapely.get_num_geometries(features) > 1)
                         & (shapely.get_num_coordinates(features) > TILE_COORDS))
    if not len(big):
        return _unchanged(features)
    parts, part_of = shapely.get_parts(features[big], return_index=True)
    parts, part_of = _near_lots(parts, big[part_of], lots)
    return _in_order(features, big, parts, part_of)


def cut_large(features: np.ndarray, lots: np.ndarray | None = None, threads: int = 1,
              above: int | None = None, tile_coords: int | None = None) -> Tiles:
    """``features`` (valid polygonal shapes or None) with every one of more than ``above``
    (:data:`SPLIT_COORDS`) coordinates replaced by its tiles of at most ``tile_coords``
    (:data:`TILE_COORDS`) coordinates, in order.  With ``lots``, squares whose bounds meet no lot's are left out.
    When none is cut, ``geoms`` is ``features``."""
    big = np.flatnonzero(shapely.get_num_coordinates(features) > (SPLIT_COORDS if above is None else above))
    if not len(big):
        return _unchanged(features)
    lot_tree = None if lots is None else shapely.STRtree(lots)
    squares, square_of = _quadtree(features[big], big, lot_tree, threads, tile_coords)
    return _in_order(features, big, squares, square_of)


def _unchanged(features: np.ndarray) -> Tiles:
    return Tiles(features, np.arange(len(features)), np.zeros(len(features), dtype=bool))


def _in_order(features: np.ndarray, big: np.ndarray, pieces: np.ndarray, piece_of: np.ndarray) -> Tiles:
    """The features but ``big`` ones, and the ``pieces`` of those (``piece_of``: whose), in order."""
    whole = np.ones(len(features), dtype=bool)
    whole[big] = False
    kept = np.flatnonzero(whole)
    source = np.concatenate([kept, piece_of])
    order = np.argsort(source, kind="stable")
    geoms = np.concatenate([features[kept], pieces])[order]
    return Tiles(geoms, source[order], order >= len(kept))


def _near_lots(geoms: np.ndarray, source: np.ndarray, lots) -> tuple[np.ndarray, np.ndarray]:
    """The shapes (and their sources) that are not empty and whose bounds meet a lot's: first
    those within the lots' total bounds (a chunk's lots are near one another), then by a tree."""
    bounds = shapely.bounds(geoms)
    keep = ~np.isnan(bounds).any(axis=1)
    if lots is not None and keep.any():
        lot_tree = shapely.STRtree(lots)
        x0, y0, x1, y1 = shapely.total_bounds(lots)
        keep &= (bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0)
        rows = np.flatnonzero(keep)
        met = np.zeros(len(geoms), dtype=bool)
        met[rows[lot_tree.query(shapely.box(*bounds[rows].T))[0]]] = True
        keep = met
    return geoms[keep], source[keep]


def _quadtree(parts: np.ndarray, source: np.ndarray, lot_tree, threads: int,
              tile_coords: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The tiles of ``parts`` (polygons of many coordinates) and their sources, level by level."""
    done_geoms, done_source = [], []
    geoms, src, cells = _first_squares(parts, source, threads)
    for _ in range(MAX_LEVELS):
        if not len(geoms):
            break
        few = shapely.get_num_coordinates(geoms) <= (TILE_COORDS if tile_coords is None else tile_coords)
        done_geoms.append(geoms[few])
        done_source.append(src[few])
        geoms, src, cells = _cut_in_four(geoms[~few], src[~few], cells[~few], lot_tree, threads)
    done_geoms.append(geoms)
    done_source.append(src)
    return np.concatenate(done_geoms), np.concatenate(done_source)


def _first_squares(parts: np.ndarray, source: np.ndarray, threads: int):
    """Each part cut along the squares of the smallest power-of-two side at least its extent
    (two by two of them at most): ``(tiles, sources, squares as (x0, y0, side))``."""
    bounds = shapely.bounds(parts)
    extent = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    side = np.where(extent > 0, np.ldexp(1.0, np.frexp(extent)[1]), 1.0)
    rows, squares = [], []
    for dx in (0, 1):
        for dy in (0, 1):
            x0 = (np.floor(bounds[:, 0] / side) + dx) * side
            y0 = (np.floor(bounds[:, 1] / side) + dy) * side
            inside = (x0 < bounds[:, 2]) & (y0 < bounds[:, 3]) | ((dx == 0) & (dy == 0))
            rows.append(np.flatnonzero(inside))
            squares.append(np.c_[x0, y0, side][inside])
    rows, squares = np.concatenate(rows), np.concatenate(squares)
    return _cut(parts[rows], source[rows], squares, threads)


def _cut_in_four(geoms: np.ndarray, source: np.ndarray, squares: np.ndarray, lot_tree, threads: int):
    """Each tile cut along the four quarters of its square; quarters meeting no lot dropped."""
    half = squares[:, 2] / 2
    quarters = np.concatenate([np.c_[squares[:, 0] + dx * half, squares[:, 1] + dy * half, half]
                               for dx in (0, 1) for dy in (0, 1)])
    rows = np.tile(np.arange(len(geoms)), 4)
    if lot_tree is not None and len(rows):
        met = np.zeros(len(rows), dtype=bool)
        met[lot_tree.query(_boxes(quarters))[0]] = True
        rows, quarters = rows[met], quarters[met]
    return _cut(geoms[rows], source[rows], quarters, threads)


def _cut(geoms: np.ndarray, source: np.ndarray, squares: np.ndarray, threads: int):
    """``geoms ∩ squares`` (their polygonal part), keeping the tiles of some area.

    GEOS's overlay, not its faster rectangle clipping (``clip_by_rect``): that one can return a
    valid polygon that is not the intersection (the rectangle less it, where a side of the
    shape runs along the rectangle's).  The overlay releases the interpreter, so ``threads``
    threads share the rows.
    """
    geoms, source, squares = _holey_parts_apart(geoms, source, squares)
    near, inside = _near_rings(geoms, squares)
    cut = _holes_put_back(polygonal(_intersections(near, _boxes(squares), threads)), inside, geoms, squares)
    keep = shapely.area(cut) > 0
    return cut[keep], source[keep], squares[keep]


def _holey_parts_apart(geoms: np.ndarray, source: np.ndarray, squares: np.ndarray):
    """The rows, with each multipart shape that has a part of more than :data:`MANY_HOLES` holes
    replaced by its parts (same source and square), so that :func:`_near_rings` can trim their
    holes.  The parts of a valid shape do not overlap: cut apart, they give the same tiles."""
    multi = np.flatnonzero((shapely.get_num_geometries(geoms) > 1)
                           & (shapely.get_num_coordinates(geoms) > 4 * MANY_HOLES))
    parts, of = shapely.get_parts(geoms[multi], return_index=True)
    part_row = multi[of]  # the row each part comes from
    holey = np.bincount(of, weights=shapely.get_num_interior_rings(parts) > MANY_HOLES, minlength=len(multi)) > 0
    if not holey.any():
        return geoms, source, squares
    split = holey[of]
    rest = np.setdiff1d(np.arange(len(geoms)), multi[holey], assume_unique=True)
    rows = np.concatenate([rest, part_row[split]])
    return np.concatenate([geoms[rest], parts[split]]), source[rows], squares[rows]


def _near_rings(geoms: np.ndarray, squares: np.ndarray) -> tuple[np.ndarray, dict]:
    """``(near, inside)``: ``geoms``, where a polygon has more than :data:`MANY_HOLES` holes,
    with only the holes that cross the row's square's sides; and per such row the holes left out
    that lie wholly inside the square.

    GEOS's overlay pays for every hole of its input (0.8 s for a mask of 100,000 holes, even
    against a square of a few feet); a city-wide mask has a hole a lot, and most holes of a
    tile lie inside one of its quarters: they need no overlay, only to be put back
    (:func:`_holes_put_back`).
    """
    near = geoms.copy()
    inside: dict[int, np.ndarray] = {}
    # Polygons only: another part of a MultiPolygon may lie in a hole, and with that hole left
    # out it would lie inside its shell (nested shells: an invalid input to the overlay)
    heavy = np.flatnonzero((shapely.get_num_coordinates(geoms) > 4 * MANY_HOLES)  # a hole takes 4 or more
                           & (shapely.get_type_id(geoms) == 3))
    heavy = heavy[shapely.get_num_interior_rings(geoms[heavy]) > MANY_HOLES]
    rings: dict[int, tuple] = {}
    for row in heavy:
        g = geoms[row]
        if id(g) not in rings:  # a tile comes in four rows, one a quarter
            holes = _holes_of(g)
            rings[id(g)] = (shapely.get_exterior_ring(g), holes, shapely.bounds(holes))
        near[row], inside[row] = _meeting(*rings[id(g)], squares[row])
    return near, inside


def _meeting(shell, holes: np.ndarray, hole_bounds: np.ndarray, square: np.ndarray):
    """The polygon of ``shell`` with those of its ``holes`` that cross the sides of ``square``;
    and the holes that lie wholly inside it (holes wholly outside it are left out)."""
    x0, y0, x1, y1 = square[0], square[1], square[0] + square[2], square[1] + square[2]
    hb = hole_bounds
    near = (hb[:, 0] <= x1) & (hb[:, 2] >= x0) & (hb[:, 1] <= y1) & (hb[:, 3] >= y0)
    within = (hb[:, 0] > x0) & (hb[:, 2] < x1) & (hb[:, 1] > y0) & (hb[:, 3] < y1)
    return shapely.polygons(shell, holes=holes[near & ~within]), holes[within]


def _holes_put_back(cut: np.ndarray, inside: dict, geoms: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """The cut tiles with the holes :func:`_near_rings` left out put back, each in the polygon
    that holds it (found by a point inside the hole); a row where some hole finds no polygon is
    cut again whole, by the overlay."""
    for row, holes in inside.items():
        if not len(holes) or cut[row] is None or shapely.is_empty(cut[row]):
            continue
        parts = shapely.get_parts(cut[row])
        owner = _owners(parts, holes)
        if (owner < 0).any():
            cut[row] = polygonal(shapely.intersection(geoms[row], _boxes(squares[row:row + 1])[0]))
            continue
        rebuilt = [shapely.polygons(shapely.get_exterior_ring(part),
                                    holes=np.concatenate([_holes_of(part), holes[owner == k]]))
                   for k, part in enumerate(parts)]
        cut[row] = rebuilt[0] if len(rebuilt) == 1 else shapely.MultiPolygon(rebuilt)
    return cut


def _owners(parts: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Which of ``parts`` holds each hole (-1: none); a polygon's holes lie inside its shell, so
    a single part holds them all."""
    if len(parts) == 1:
        return np.zeros(len(holes), dtype=np.int64)
    spots = shapely.get_coordinates(shapely.point_on_surface(shapely.polygons(holes)))
    owner = np.full(len(holes), -1)
    for k, part in enumerate(parts):
        shapely.prepare(part)
        owner[(owner < 0) & shapely.contains_xy(part, spots[:, 0], spots[:, 1])] = k
    return owner


def _holes_of(polygon) -> np.ndarray:
    return shapely.get_interior_ring(polygon, np.arange(shapely.get_num_interior_rings(polygon)))


def _intersections(a: np.ndarray, b: np.ndarray, threads: int) -> np.ndarray:
    if threads <= 1 or len(a) < 2:
        return shapely.intersection(a, b)
    from concurrent.futures import ThreadPoolExecutor

    out = np.empty(len(a), dtype=object)

    def every(k: int) -> None:  # every threads-th row: a level's rows come in runs of like sizes
        out[k::threads] = shapely.intersection(a[k::threads], b[k::threads])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(every, range(threads)))
    return out


def _boxes(squares: np.ndarray) -> np.ndarray:
    return shapely.box(squares[:, 0], squares[:, 1], squares[:, 0] + squares[:, 2], squares[:, 1] + squares[:, 2])
