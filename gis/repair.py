"""Invalid and degenerate shapes made fit to measure: repaired, reduced to their polygons, slivers dropped.

The engine's own reading of a bad outline (SPEC A1.4), shared by every module that takes shapes
from users or layers: :mod:`gis.overlay`, :mod:`gis.tiles`, the requests and evidence code.
"""

from __future__ import annotations

import numpy as np

import shapely

__all__ = ["LINEAR_TYPES", "POLYGON_TYPES", "SLIVER_AREA", "drop_slivers", "linear", "non_finite", "polygonal",
           "repair", "repair_invalid"]

#: shapely's type ids of the shapes with an area: Polygon, MultiPolygon.
POLYGON_TYPES = (3, 6)
#: shapely's type ids of points and lines, one or many: Point, LineString, LinearRing, MultiPoint,
#: MultiLineString (a GeometryCollection, 7, may hold either).
LINEAR_TYPES = (0, 1, 2, 4, 5)


def linear(geoms: np.ndarray) -> np.ndarray:
    """Per shape: whether it is points or lines, one or many (no area to measure)."""
    return np.isin(shapely.get_type_id(geoms), LINEAR_TYPES)


def non_finite(geoms: np.ndarray) -> np.ndarray:
    """Per shape: whether it has a coordinate that is not a finite number (NaN or infinite).

    Such an outline is not repaired: ``make_valid`` would drop the corner and keep what is left,
    a guess (SPEC A1.4 repairs outlines that cross themselves).  Such a corner makes the area or
    length not finite, or the box (GEOS leaves NaN out of a box, not infinity), so only the shapes
    those flag have their coordinates copied out and looked at: a city-wide surface of millions
    of coordinates costs one pass, not a copy.
    """
    geoms = np.asarray(geoms, dtype=object)
    with np.errstate(invalid="ignore", over="ignore"):
        flagged = np.flatnonzero(~np.isfinite(shapely.area(geoms)) | ~np.isfinite(shapely.length(geoms))
                                 | ~np.isfinite(shapely.bounds(geoms)).all(axis=1))
    out = np.zeros(len(geoms), dtype=bool)
    coords, owner = shapely.get_coordinates(geoms[flagged], return_index=True)
    out[flagged[owner[~np.isfinite(coords).all(axis=1)]]] = True
    return out


def repair(geoms):
    """Invalid outlines made valid as a billing analyst reads them (SPEC A1.4): shells less holes.

    ``shapely.make_valid`` with GEOS's ``structure`` method: the area inside the shells, less the
    area of the holes, overlapping parts once, collapsed parts dropped.  The default ``linework``
    method treats every crossing as an edge and flips the area between: a real Cambridge patio whose
    hole crossed its shell by a hair after turning got its hole billed (497.65 sq ft for 396.19), and
    a hole half outside its shell added its outside half.  Takes a geometry or an array of them.
    """
    return shapely.make_valid(geoms, method="structure", keep_collapsed=False)


def repair_invalid(geoms) -> np.ndarray:
    """A copy of ``geoms`` with the invalid ones repaired (:func:`repair`); valid and missing ones as given.

    Only the invalid ones go to ``make_valid``: its ``structure`` method rebuilds
    every shape it is handed, valid or not (a water layer's hundreds of lakes and
    river banks, in every chunk of a bulk run).
    """
    out = np.array(geoms, dtype=object)
    bad = np.flatnonzero(~shapely.is_valid(out) & ~shapely.is_missing(out))
    if len(bad):
        out[bad] = repair(out[bad])
    return out


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygon parts of each geometry (None if none is left)."""
    out = geoms.copy()
    kinds = shapely.get_type_id(geoms)
    mixed = np.flatnonzero(kinds == 7)  # GeometryCollection
    for i in mixed:  # rare: only after make_valid or a touching intersection
        parts = shapely.get_parts(geoms[i])
        polys = parts[np.isin(shapely.get_type_id(parts), POLYGON_TYPES)]
        out[i] = shapely.union_all(polys) if len(polys) else None
    out[np.isin(kinds, LINEAR_TYPES)] = None  # points and lines carry no area
    return out


#: A polygon part of no more than this area (square CRS units) is a sliver: a
#: collapsed ring left by a repair or a reprojection, which carries no area.
SLIVER_AREA = 1e-6


def drop_slivers(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multi-part geometries without their sliver parts (see :data:`SLIVER_AREA`), and which changed.

    GEOS overlays can go wrong next to such parts although the geometry is
    valid: a deck beside a walkway whose MultiPolygon held two zero-area
    triangles was found wholly inside it (intersection 49.4 sq ft, union says
    0).  Dropping them changes no area by more than the slivers' own.
    """
    out = geoms.copy()
    none = np.zeros(0, dtype=np.int64)
    multi = np.flatnonzero(shapely.get_num_geometries(geoms) > 1)
    if not len(multi):
        return out, none
    parts, owner = shapely.get_parts(geoms[multi], return_index=True)
    thin = shapely.area(parts) <= SLIVER_AREA
    if not thin.any():
        return out, none
    changed = []
    for k in np.unique(owner[thin]):
        keep = parts[(owner == k) & ~thin]
        if len(keep) and not (shapely.get_type_id(keep) == 3).all():
            continue  # not a plain MultiPolygon: left as it is
        out[multi[k]] = None if not len(keep) else keep[0] if len(keep) == 1 else shapely.multipolygons(keep)
        changed.append(multi[k])
    return out, np.array(changed, dtype=np.int64)
