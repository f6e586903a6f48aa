"""Which outlines are valid, with GEOS asked only about the ones a cheap test cannot vouch for.

Most outlines in a city's layers are one simple ring of a few dozen
vertices.  For those, :mod:`gis.valid_jit` proves simplicity directly (no
two edges meet, no spike; every orientation used is surely signed), which
for a polygon without holes is exactly OGC validity.  Everything else (holes,
parts, long rings, rings it is not sure of) goes to ``shapely.is_valid``, so
the answer is always GEOS's.
"""

from __future__ import annotations

import sys

import numpy as np

import shapely

__all__ = ["JIT_MIN_SHAPES", "JIT_MIN_SHAPES_COLD", "MAX_RING_VERTICES", "is_valid", "surely_simple_polygons"]

#: Below this many shapes in a call GEOS answers alone.  GEOS takes 0.5-2 µs a
#: shape; importing numba takes about 0.2 s and loading the compiled test 0.15 s
#: more, once per process.  So the compiled test is used where numba is already
#: loaded (the clip kernel of :mod:`gis.clip` loaded it for a city's real shapes,
#: whose chunks hold tens of thousands of outlines) and the call is not tiny, or
#: where one call alone repays loading it.
JIT_MIN_SHAPES = 5_000
JIT_MIN_SHAPES_COLD = 300_000

#: Rings with more coordinates than this go to GEOS (a street parcel of tens of thousands).
MAX_RING_VERTICES = 4_096

#: Set to False never to use the compiled test (the tests compare the paths).
USE_JIT = True


def is_valid(geoms: np.ndarray) -> np.ndarray:
    """``shapely.is_valid`` of each geometry (False for missing ones), the compiled test first where it pays."""
    geoms = np.asarray(geoms, dtype=object)
    out = surely_simple_polygons(geoms)
    rest = np.flatnonzero(~out)
    if len(rest):
        out[rest] = shapely.is_valid(geoms[rest])
    return out


def surely_simple_polygons(geoms: np.ndarray) -> np.ndarray:
    """True for the polygons without holes whose ring the compiled test proves simple; False for the rest.

    Polygons and multipolygons (most real layers hold one-part multipolygons)
    are handed over as their coordinates, all rings one after the other.  The
    test vouches only for one closed ring that never meets itself: a shape of
    several rings either ends at another point than it starts, or passes
    through its first point again, exactly, in the middle, which the test takes
    as the ring touching itself.
    """
    out = np.zeros(len(geoms), dtype=bool)
    kernel = _kernel(len(geoms))
    if kernel is None:
        return out
    n_coords = shapely.get_num_coordinates(geoms)
    kinds = shapely.get_type_id(geoms)
    idx = np.flatnonzero(((kinds == 3) | (kinds == 6)) & (n_coords <= MAX_RING_VERTICES))
    if not len(idx):
        return out
    xy = shapely.get_coordinates(geoms[idx])
    start = np.r_[0, np.cumsum(n_coords[idx])].astype(np.int64)
    found = np.zeros(len(idx), dtype=bool)
    kernel(xy, start, found)
    out[idx] = found
    return out


def _kernel(n_shapes: int):
    """The compiled test if it is wanted, pays for ``n_shapes`` and numba is installed; else None."""
    if not USE_JIT or n_shapes < (JIT_MIN_SHAPES if "numba" in sys.modules else JIT_MIN_SHAPES_COLD):
        return None
    try:
        from gis.valid_jit import simple_rings
    except ImportError:  # numba is optional: GEOS gives the same answer
        return None
    return simple_rings
