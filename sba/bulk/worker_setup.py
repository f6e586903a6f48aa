"""A dask worker made ready to measure when it starts: ``dask worker ... --preload sba.bulk.worker_setup``.

Without it a freshly started worker spends its first tasks importing the engine (shapely,
geopandas, pyproj, pyarrow, the engine's modules: about 0.5 s), importing numba and loading
the engine's compiled kernels from numba's cache (about 0.3-0.5 s more): the first job on new
workers costs that much more than the next one.  A long-lived worker pays it once; this module
makes it pay it as it starts, so that every job, the first too, costs what a warm worker's does.

:func:`warm` sets the allocator as the measuring tasks would (:func:`sba.bulk.heap.as_plain_process`),
imports the modules the tasks run, and calls each compiled kernel the tasks use once, on
thousands of small boxes, through the engine's own functions (so with the array types of a
real call, which is what numba keys its compiled code by), each call as large as the engine's
threshold for using that kernel.  Nothing is measured and nothing is kept; without numba
only the imports happen.
"""

from __future__ import annotations

__all__ = ["dask_setup", "warm"]


def dask_setup(worker=None) -> None:
    """dask's preload hook: called once as the worker starts."""
    warm()


def warm() -> None:
    """Load what a measuring task needs into this process (see the module's docstring)."""
    from sba.bulk.heap import as_plain_process

    as_plain_process()
    import sba.bulk.cluster  # noqa: F401  (the tasks' functions are pickled by reference to it)

    try:
        import numba  # noqa: F401
    except ImportError:
        return
    _warm_box_kernels()
    _warm_shape_kernels()


def _small_boxes(n: int, columns: int = 200):
    """``n`` unit squares on a grid, two units apart: shapes and their boxes."""
    import numpy as np

    import shapely

    i = np.arange(n)
    x, y = 2.0 * (i % columns), 2.0 * (i // columns)
    boxes = np.column_stack([x, y, x + 1.0, y + 1.0])
    return shapely.box(*boxes.T), boxes


def _warm_box_kernels() -> None:
    """The WKB box reader, the box join of routing and the features-to-lots sweep."""
    import pyarrow as pa

    import shapely

    from sba.bulk import boxes

    if not boxes.USE_JIT:
        return
    shapes, box = _small_boxes(boxes.JIT_MIN_ROWS)
    boxes.wkb_boxes(pa.array(shapely.to_wkb(shapes), type=pa.binary()))
    boxes.boxes_meeting(box, box)
    boxes.feature_lot_pairs(box, box[::100])


def _warm_shape_kernels() -> None:
    """The engine's ring-simplicity test, its pair- and triple-area clippers and its rectangle-in-shape test."""
    import numpy as np

    from gis import clip, overlay, validity

    n = max(validity.JIT_MIN_SHAPES, clip.JIT_MIN_PAIRS)
    shapes, box = _small_boxes(n)
    if validity.USE_JIT:
        validity.is_valid(shapes)
    if clip.USE_JIT:
        clip.intersection_areas(shapes, shapes)
        overlay.rect_in_polygon(shapes, box + np.array([0.25, 0.25, -0.25, -0.25]))  # rectangles inside
        rings, every = clip.rings_of(shapes), np.arange(len(shapes))
        clip.ring_triple_areas(rings, every, rings, every, rings, every)  # two features crossing a lot line
