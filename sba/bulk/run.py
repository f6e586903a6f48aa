"""Bulk reassessment: every parcel of a city through the same rules, in resumable chunks.

The parcels are put in Hilbert-curve order, cut into chunks of neighbouring
lots, and each chunk is measured by :func:`gis.measure_lots` (the same engine
the app and ``sba measure`` use) with only the features and water that touch
it.  Each finished chunk is written atomically to ``<out>.parts/``, so a run
that is killed can be resumed with ``--resume`` and gives the same result as
an uninterrupted one.  Chunks run on the cores of this machine
(``--workers``); on a dask cluster (``--scheduler``) the workers read and
partition the layers themselves (:mod:`sba.bulk.cluster`); the two runs share
the chunk measurement (:mod:`sba.bulk.chunks`), the parts and resume logic
(:mod:`sba.bulk.parts`) and the final assembly (:mod:`sba.bulk.result`).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

import gis
from categorize.schedule import RateSchedule
from gis.overlay import matches
from gis.shapes import type_column
from sba.bulk.boxes import feature_lot_pairs, hilbert_distance
from sba.bulk.chunks import chunk_bounds, measure_chunk, split_surfaces, with_raster_scale
from sba.bulk.heap import give_back
from sba.bulk.inputs import (
    class_notes,
    file_columns,
    read_input,
    read_kept,
    refuse_shapes_as_field,
    require_columns,
    require_type_field,
    type_notes,
)
from sba.bulk.isolate import die_with_parent, in_child
from sba.bulk.options import ORDER, ReassessOptions, ReassessSummary
from sba.bulk.pairing import StackedLayersError, capped_pairs, pair_cap, refusal, sliced
from sba.bulk.parts import PartRecord, PartStore, write_part
from sba.bulk.prefetch import TYPE_FALLBACKS, Prefetch, wanted_columns
from sba.bulk.result import Phases, collector, read_previous, summarise, write_result
from sba.bulk.wkb_layer import WkbLayer, decoded, wants_wkb
from sba.engine import refuse_repeated_inputs
from sba.output import OutputLock, check_output_path

__all__ = ["reassess"]


# --------------------------------------------------------------------------
# the run


_STATE: dict = {}  # layers and options, inherited by forked workers


def _bbox_pairs(tree: shapely.STRtree, geoms: np.ndarray, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query(geoms)`` (pairs sorted by ``geoms`` position), in slices on threads.

    The query releases the GIL: two threads take 0.06 s instead of 0.10 s
    for 344,405 features against 100,000 lots.
    """
    if threads < 2 or len(geoms) < 10_000:
        return tree.query(geoms)
    from concurrent.futures import ThreadPoolExecutor

    cuts = np.linspace(0, len(geoms), threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(lambda i: tree.query(geoms[cuts[i]:cuts[i + 1]]), range(threads)))
    return (np.concatenate([g + cuts[i] for i, (g, _) in enumerate(parts)]),
            np.concatenate([t for _, t in parts]))


def _by_chunk(chunk: np.ndarray, n_chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs grouped by chunk (a stable order) and where each chunk's group starts.

    Chunk numbers below 65,536 are sorted as 16-bit integers, which numpy
    sorts by radix (a tenth of the time of a merge sort of 3.8 million pairs)."""
    keys = chunk.astype(np.uint16) if n_chunks < 2**16 else chunk
    by_chunk = np.argsort(keys, kind="stable")
    return by_chunk, np.searchsorted(keys[by_chunk], np.arange(n_chunks + 1))


def _keep(layer: gpd.GeoDataFrame | WkbLayer, columns: list[str]):
    """The layer with only these attribute columns (and its shapes)."""
    return layer.keep(columns) if isinstance(layer, WkbLayer) else layer[[*columns, layer.active_geometry_name]]


def _as_category(layer: gpd.GeoDataFrame | WkbLayer, columns: list[str]) -> None:
    """A few distinct codes in millions of rows: categoricals make the per-chunk row takes cheap."""
    attrs = layer.attrs if isinstance(layer, WkbLayer) else layer
    for col in columns:
        attrs[col] = attrs[col].astype("category")


def _take(layer: gpd.GeoDataFrame | WkbLayer, rows: np.ndarray) -> gpd.GeoDataFrame:
    """Rows ``rows`` (positions) of a layer, decoded if it is kept as WKB."""
    return layer.take(rows) if isinstance(layer, WkbLayer) else layer.iloc[rows]


def _lot_boxes(parcels: gpd.GeoDataFrame | WkbLayer) -> np.ndarray:
    return parcels.bounds if isinstance(parcels, WkbLayer) else shapely.bounds(parcels.geometry.to_numpy())


def _hilbert_order(parcels: gpd.GeoDataFrame | WkbLayer) -> np.ndarray:
    """The lots in the order of geopandas' Hilbert distance (input order among equals; lots
    without a shape first), found from the boxes of lots kept as WKB."""
    n = len(parcels)
    hd = np.zeros(n, dtype=np.int64)
    if isinstance(parcels, WkbLayer):
        b = parcels.bounds
        ok = ~np.isnan(b[:, 0])  # the rows without a shape (open_wkb_layer checked it)
        if ok.any():
            hd[ok] = hilbert_distance(b[ok], _total_bounds(b))
    else:
        geoms = parcels.geometry.to_numpy()
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if ok.any():
            hd[ok] = parcels.geometry[ok].hilbert_distance(total_bounds=parcels.geometry[ok].total_bounds)
    return np.lexsort((np.arange(n), hd))


def _total_bounds(b: np.ndarray) -> tuple[float, float, float, float] | None:
    """``GeoSeries.total_bounds`` of shapes with these boxes (a row without a shape is NaN throughout)."""
    if not len(b) or np.isnan(b[:, 0]).all():
        return None
    return (np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3]))


def _pairs(parcels: gpd.GeoDataFrame | WkbLayer, features, threads: int, names: dict) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(feature, lot)`` whose bounding boxes meet, by feature, then lot in input order;
    layers whose boxes meet in far more pairs than a city's are refused (:mod:`sba.bulk.pairing`).

    The lots in input order, not the tree's: a chunk's pairs are then the same
    wherever they are found (the cluster run finds them on its workers).
    """
    lot_boxes = _lot_boxes(parcels)
    if isinstance(features, WkbLayer):  # boxes read from the WKB: no shape decoded; the loop counts to the cap
        cap = pair_cap(len(features), len(parcels))
        found = feature_lot_pairs(features.bounds, lot_boxes, threads, limit=cap)
        if found is None:
            raise StackedLayersError(refusal(cap, len(features), names))
        return found
    lots = parcels.geometry.to_numpy()
    tree, geoms = shapely.STRtree(lots), features.geometry.to_numpy()
    pair_f, pair_p = capped_pairs(sliced(lambda g: _bbox_pairs(tree, g, threads), geoms),
                                  shapely.bounds(geoms), lot_boxes, names)
    # one stable sort of a combined key: the query gives them grouped by feature already,
    # which a merge sort finds as runs (np.lexsort sorts twice, afresh)
    by_pair = np.argsort(pair_f.astype(np.int64) * max(len(lots), 1) + pair_p, kind="stable")
    return pair_f[by_pair], pair_p[by_pair]


def _split_large(features: gpd.GeoDataFrame | WkbLayer, parcels: gpd.GeoDataFrame | WkbLayer, threads: int):
    """``(features, surfaces)``: the surfaces of very many vertices split and cut once, before
    the run pairs surfaces with lots (:func:`sba.bulk.chunks.split_surfaces`)."""
    if isinstance(features, WkbLayer):
        split = features.split_large(_lot_boxes(parcels), threads)
    else:
        split = split_surfaces(features, parcels.geometry.to_numpy(), threads)
    if split[1] is not None:
        give_back()  # what the cut freed, before the workers are forked from this process
    return split


def _read_layers(parcels_path, features_path, water_path, layers: dict, wanted: dict, prefetched: Prefetch | None,
                 threads: int, class_field: str | None):
    """The three layers; the lots and surfaces kept as WKB when the features are many
    (:mod:`sba.bulk.wkb_layer`), and the surfaces only if the lots are too."""
    if wants_wkb(features_path):
        parcels = read_kept(parcels_path, layers.get("parcels"), "parcels", wanted["parcels"], prefetched,
                            threads=threads, categories=(class_field,) if class_field else ())
        features = read_kept(features_path, layers.get("features"), "features", wanted["features"], prefetched,
                             crs=parcels.crs, threads=threads, categories=(*wanted["features"], *TYPE_FALLBACKS))
    else:
        parcels = read_input(parcels_path, layers.get("parcels"), "parcels", wanted["parcels"], prefetched)
        features = read_input(features_path, layers.get("features"), "features", wanted["features"], prefetched)
    if not isinstance(features, WkbLayer):  # the surfaces are paired with a tree of the lots' shapes
        parcels = decoded(parcels)
    water = read_input(water_path, layers.get("water"), "water", wanted["water"], prefetched) if water_path else None
    return parcels, features, water


def _project(parcels, features, water, crs, names: dict):
    """:func:`gis.project_layers`; layers kept as WKB stay so while the run measures in their CRS."""
    if not isinstance(parcels, WkbLayer) and not isinstance(features, WkbLayer):
        return gis.project_layers(parcels, features, water, crs=crs, names=names)
    parcels_in, _, water, note = gis.project_layers(_stand_in(parcels), _stand_in(features), water, crs=crs,
                                                    names=names)
    target = CRS.from_user_input(parcels_in.crs)
    return _in_crs(parcels, target), _in_crs(features, target), water, note


def _stand_in(layer: gpd.GeoDataFrame | WkbLayer) -> gpd.GeoDataFrame:
    """For a layer kept as WKB, one box over its shapes (what the CRS checks look at: the CRS
    and the total bounds, None where a coordinate is infinite); other layers as they are."""
    if not isinstance(layer, WkbLayer):
        return layer
    total = _total_bounds(layer.bounds)
    shapes = [shapely.box(*total)] if total is not None and np.isfinite(total).all() else []
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries(shapes, crs=layer.crs))


def _in_crs(layer: gpd.GeoDataFrame | WkbLayer, target: CRS):
    """The layer in ``target`` (kept as WKB only if it is in it already)."""
    if isinstance(layer, WkbLayer) and layer.crs == target:
        return layer
    layer = decoded(layer)
    return layer if CRS.from_user_input(layer.crs) == target else layer.to_crs(target)


def _chunk_data(k: int):
    """Chunk ``k``'s lots, the features that touch them, the neighbouring lots of
    other chunks those features reach (context), the water, the
    (feature, lot) pairs in the chunk's own numbering, the features' surfaces
    (None unless the run split multipart surfaces: :func:`sba.bulk.chunks.split_surfaces`),
    and the lots' and features' boxes where they were read from the WKB (else None)."""
    s = _STATE
    rows = s["order"][s["bounds"][k]:s["bounds"][k + 1]]
    pair_f, pair_p, chunk_of = s["pair_f"], s["pair_p"], s["chunk_of"]
    # the features with a pair in this chunk, and all their pairs (pair_f is sorted)
    by_chunk, starts = s["pairs_by_chunk"]
    mine = np.zeros(len(s["features"]), dtype=bool)
    mine[pair_f[by_chunk[starts[k]:starts[k + 1]]]] = True
    f_k = np.flatnonzero(mine)
    local_f, at = matches(pair_f, f_k)
    lots_hit = pair_p[at]
    context_rows = np.unique(lots_hit[chunk_of[lots_hit] != k])
    lots = np.concatenate([rows, context_rows])
    sorter = np.argsort(lots, kind="stable")
    local_p = sorter[np.searchsorted(lots, lots_hit, sorter=sorter)]
    parcels = _take(s["parcels"], rows)
    features = _take(s["features"], f_k)
    context = _take(s["parcels"], context_rows)
    water = None
    if s["water"] is not None:
        geoms = parcels.geometry.to_numpy()
        w_hit = np.unique(s["wtree"].query(geoms)[1]) if len(geoms) else np.array([], int)
        water = s["water"].iloc[w_hit]
    surfaces = None if s["surfaces"] is None else s["surfaces"][f_k]
    boxes = None
    if isinstance(s["parcels"], WkbLayer) and isinstance(s["features"], WkbLayer):
        boxes = (s["parcels"].is_box[lots], s["parcels"].bounds[lots], s["features"].is_box[f_k],
                 s["features"].bounds[f_k])
    return parcels, features, water, context, (local_f, local_p), surfaces, boxes


def _run_chunk(k: int) -> tuple[int, pd.DataFrame, PartRecord]:
    s = _STATE
    parcels, features, water, context, pairs, surfaces, boxes = _chunk_data(k)
    table = measure_chunk(parcels, features, water, s["schedule"], s["opts"], context, pairs, surfaces, boxes)
    return k, table, write_part(table, s["parts"].folder, k)




def reassess(
    parcels_path: str | Path,
    features_path: str | Path,
    out: str | Path,
    *,
    water_path: str | Path | None = None,
    schedule: RateSchedule,
    opts: ReassessOptions = ReassessOptions(),
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    previous: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    layers: dict | None = None,
    isolate: bool = False,
    prefetched: Prefetch | None = None,
) -> ReassessSummary:
    """Measure and bill every parcel; write one row per parcel, sorted by parcel id.

    ``progress(done_parcels, total_parcels)`` is called after every chunk.
    ``layers`` may name GeoPackage layers: ``{"parcels": ..., "features": ..., "water": ...}``.
    ``isolate=True`` runs in a forked child process that skips freeing the
    layers at the end (the command line does this; seconds on a whole city).
    ``prefetched`` holds GeoParquet tables already being read (the command
    line starts reading them before it imports this module; see :mod:`sba.bulk.prefetch`).
    """
    def run(progress, restore_gc=True, retain=None):
        # Millions of geometries and no reference cycles: the cyclic garbage
        # collector would only rescan them over and over (a sixth of a 1M-parcel run).
        # The isolated child never turns it back on: its first collection would
        # walk every object of the run (2 s at 1M parcels) just before exiting.
        collect = gc.isenabled()
        gc.disable()
        try:
            return _reassess(parcels_path, features_path, out, water_path=water_path, schedule=schedule, opts=opts,
                             workers=workers, scheduler=scheduler, resume=resume, previous=last_year,
                             progress=progress, layers=layers, retain=retain, prefetched=prefetched)
        finally:
            if collect and restore_gc:
                gc.enable()

    # before any work: one file for two layers, a bad --out, or one that would replace an input
    refuse_repeated_inputs({role: (path, (layers or {}).get(role)) for role, path in
                            (("parcels", parcels_path), ("features", features_path), ("water", water_path))})
    out = check_output_path(out, {"parcels input": parcels_path, "features input": features_path,
                                  "water input": water_path})
    last_year = None if previous is None else read_previous(previous)  # a bad file is refused before the run
    with OutputLock(out):
        if prefetched is not None:
            wants_wkb(features_path)  # imports numba while pyarrow reads, if the run will need it
            prefetched.wait()  # pyarrow's reading threads must be idle before a fork
        if isolate and hasattr(os, "fork"):
            kept: list = []  # the layers outlive the run in the child, which exits without freeing them
            return in_child(lambda progress: run(progress, restore_gc=False, retain=kept), progress)
        return run(progress)


def _reassess(parcels_path: str | Path, features_path: str | Path, out: str | Path, *,
              water_path: str | Path | None, schedule: RateSchedule, opts: ReassessOptions, workers: int,
              scheduler: str | None, resume: bool, previous: pd.DataFrame | None,
              progress: Callable[[int, int], None] | None, layers: dict | None, retain: list | None = None,
              prefetched: Prefetch | None = None) -> ReassessSummary:
    start = time.perf_counter()
    out = Path(out)
    layers = layers or {}
    if scheduler:
        from sba.bulk.cluster import reassess_on_cluster

        return reassess_on_cluster(scheduler, parcels_path, features_path, out, water_path=water_path,
                                   schedule=schedule, opts=opts, resume=resume, previous=previous,
                                   progress=progress, layers=layers, retain=retain, start=start)
    phase = Phases()

    wanted = wanted_columns(opts.id_field, opts.class_field, opts.dwelling_units_field, opts.type_field)
    p_cols = wanted["parcels"]
    parcels, features, water = _read_layers(parcels_path, features_path, water_path, layers, wanted, prefetched,
                                            threads=min(workers, 4), class_field=opts.class_field)
    # a refusal lists the file's columns, not those read
    require_columns(file_columns(parcels_path, parcels.columns, parcels.active_geometry_name),
                    parcels.active_geometry_name, p_cols)
    parcels = _keep(parcels, p_cols)
    refuse_shapes_as_field(opts.type_field, features.active_geometry_name, "features", features.columns)
    require_type_field(file_columns(features_path, features.columns, features.active_geometry_name),
                       opts.type_field)
    keep_f = [c for c in [type_column(features.columns, opts.type_field)] if c is not None]
    features = _keep(features, keep_f)
    _as_category(features, keep_f)
    _as_category(parcels, [opts.class_field] if opts.class_field else [])
    # refused here when no lot has a class
    class_note = class_notes(parcels[opts.class_field].value_counts(dropna=False, sort=False), opts) \
        if opts.class_field else []
    phase("read")
    names = {"parcels": Path(parcels_path).name, "features": Path(features_path).name,
             "water": Path(water_path).name if water_path else None}
    parcels, features, water, crs_note = _project(parcels, features, water, opts.crs, names)
    # the index is the lots' input order (ORDER)
    parcels = parcels.reset_index() if isinstance(parcels, WkbLayer) else parcels.reset_index(drop=True)
    if water is not None:
        water = water[[water.geometry.name]]
    if opts.raster:  # the raster's scale is read over the lots' shapes
        parcels = decoded(parcels)
    opts = with_raster_scale(opts, parcels)

    n = len(parcels)
    order = _hilbert_order(parcels)
    bounds = chunk_bounds(n, opts.chunk_size)
    n_chunks = len(bounds) - 1

    # every (feature, lot) pair whose bounding boxes meet, found once for the
    # whole run: it says which features and neighbouring lots each chunk needs
    chunk_of = np.empty(n, dtype=np.int64)
    chunk_of[order] = np.repeat(np.arange(n_chunks), np.diff(bounds))
    n_surfaces = len(features)
    type_note = type_notes(features, opts.type_field, schedule, names)  # of the surfaces, before any is split
    features, surfaces = _split_large(features, parcels, min(workers, 4))
    pair_f, pair_p = _pairs(parcels, features, min(workers, 4), names)
    notes = _meeting_notes(n_surfaces, pair_f if surfaces is None else surfaces["surface"][pair_f], names) \
        + class_note + type_note + _kernel_note(n)

    settings = {"opts": opts.__dict__, "schedule": schedule.name, "n_chunks": n_chunks, "version": 5}
    parts = PartStore.open(out, [parcels_path, features_path, water_path, opts.raster], settings, resume)
    ids = parcels[opts.id_field].to_numpy()
    resumed = _resumed_tables(parts, ids, order, bounds)
    done = set(resumed)
    todo = [k for k in range(n_chunks) if k not in done]
    by_chunk, starts = _by_chunk(chunk_of[pair_p], n_chunks)
    _STATE.update(parcels=parcels, features=features, water=water, order=order, bounds=bounds,
                  schedule=schedule, opts=opts, parts=parts, chunk_of=chunk_of, pair_f=pair_f, pair_p=pair_p,
                  surfaces=surfaces,
                  pairs_by_chunk=(by_chunk, starts),
                  wtree=shapely.STRtree(water.geometry.to_numpy()) if water is not None else None)
    phase("prepare")
    tables, finish = collector(n, sum(int(bounds[k + 1] - bounds[k]) for k in done), progress, parts)
    tables.update(resumed)

    try:
        if workers > 1 and len(todo) > 1:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(min(workers, len(todo)), initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
                for k, table, record in pool.imap_unordered(_run_chunk, todo):
                    finish(k, table, record)
        else:
            for k in todo:
                finish(*_run_chunk(k))
    finally:
        _STATE.clear()
        parts.sweep()  # a worker stopped while writing (the run failed) may leave its temporary file

    phase("compute")

    def lot_shapes(table: pd.DataFrame) -> np.ndarray:
        return _take(parcels, table[ORDER].to_numpy()).geometry.to_numpy()

    table, geometry, repeated = write_result(
        tables, range(n_chunks), n, out, parcels.crs, lot_shapes,
        check=lambda t: _check_rows(t, ids, features_touched=len(pair_f) > 0, n_features=n_surfaces,
                                    names=names))
    phase("write")
    if retain is not None:  # freeing millions of geometries one by one takes seconds
        retain.extend([parcels, features, water, table, geometry])
    summary = summarise(table, n, start, n_chunks, len(done), out, phase.times, previous, parts,
                         repeated=repeated, crs_note=crs_note, notes=[*parts.notes, *notes])
    summary.raster_scale = opts.raster_scale if opts.raster else None
    return summary


# --------------------------------------------------------------------------
# checks of the local run


def _meeting_notes(n_features: int, pair_f: np.ndarray, names: dict) -> list[str]:
    """Refuse layers that do not meet at all; a note when most surfaces are on no lot."""
    if not n_features:
        return []
    touching = int(np.count_nonzero(np.bincount(pair_f, minlength=n_features))) if len(pair_f) else 0
    if touching == 0:
        raise gis.no_overlap_error(n_features, names)
    if touching < n_features / 2:
        return [f"Only {touching:,} of the {n_features:,} surfaces in {names['features']} come near a lot in "
                f"{names['parcels']}; check that both layers cover the same area."]
    return []


#: A local run of this many lots or more says so in its notes when numba is not installed.
KERNEL_NOTE_LOTS = 50_000


def _kernel_note(n_lots: int) -> list[str]:
    """A note for a city-sized run without numba (the ``fast`` extra): the same areas, from
    GEOS overlays instead of the compiled kernels, but real parcels take up to three times
    as long (Cambridge, MA tiled to 263,180 lots: 28.8 s against 10.1 s on two cores)."""
    import importlib.util

    if n_lots < KERNEL_NOTE_LOTS or importlib.util.find_spec("numba") is not None:
        return []
    return ["This run measured without numba, which is not installed: the areas are the same, but real "
            "parcels take up to three times as long. Install the 'fast' extra "
            "(pip install 'stormwater-billable-area[fast]') before the next large run."]


def _resumed_tables(parts: PartStore, ids: np.ndarray, order: np.ndarray,
                    bounds: np.ndarray) -> dict[int, pd.DataFrame]:
    """The saved chunks that hold exactly the lots this run gives them (by input order and id)."""
    tables = {}
    for k in sorted(parts.done()):
        if k >= len(bounds) - 1:
            parts.reject(k, "is not a chunk of this run")
            continue
        table = parts.read(k)
        if table is None:
            continue
        rows = order[bounds[k]:bounds[k + 1]]
        if ORDER not in table or not np.array_equal(table[ORDER].to_numpy(), rows) \
                or not _same(table.parcel_id.to_numpy(), ids[rows]):
            parts.reject(k, "holds other lots than this chunk's")
            continue
        tables[k] = table
    return tables


def _check_rows(table: pd.DataFrame, ids: np.ndarray, *, features_touched: bool, n_features: int,
                names: dict) -> None:
    """Every input lot exactly once, with its own id (not merely as many rows as lots)."""
    rows = table[ORDER].to_numpy()
    if len(rows) != len(ids) or not np.array_equal(np.sort(rows), np.arange(len(ids))) \
            or not _same(table.parcel_id.to_numpy(), ids[rows]):
        raise RuntimeError(f"Result check failed: the {len(table):,} rows are not the {len(ids):,} input "
                           "parcels each once; run again without --resume.")
    if features_touched and n_features and not table.n_features.any():
        raise gis.no_overlap_error(n_features, names)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two id arrays hold the same values in the same places (missing ids equal)."""
    if len(a) != len(b):
        return False
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":  # integer ids: no missing values to care for
        return bool(np.array_equal(a, b))
    return pd.Series(a, dtype=object).equals(pd.Series(b, dtype=object))


