"""``sba reassess --scheduler``: the local run's chunks, measured on a dask cluster.

The driver (the process running ``sba``) holds no shape.  The workers read
the GeoParquet layers one row group at a time (other formats are read by the
driver and handed out in pieces) and keep them as Arrow tables of WKB with
bounding boxes (:mod:`sba.bulk.pieces`); the run goes in four passes:

1. *load*: each row group of every layer is read and its shapes' boxes taken
   from the WKB (:mod:`sba.bulk.boxes`); the parcels' extent tells the driver the measuring CRS,
   as :func:`gis.project_layers` picks it (pieces in another CRS are
   reprojected on their worker);
2. *keys*: each parcels piece gives its lots' Hilbert distances (from the
   boxes) and boxes; the driver sorts the lots and cuts the chunks exactly as
   the local run does (:func:`sba.bulk.chunks.chunk_bounds`), and keeps only
   the boxes of each chunk's runs of lots;
3. *route*: each piece notes, on its worker, which of its rows each chunk
   needs (features and water by those boxes, lots by chunk and, for the
   neighbouring chunks, by the reach of those chunks' features): row
   numbers, not copies;
4. *measure*: a chunk's task gets those rows of each piece (Arrow ``take``),
   keeps by bounding boxes the features that meet its lots, the lots of other
   chunks those reach and the water, decodes only those, and calls
   :func:`sba.bulk.chunks.measure_chunk` with the same (feature, lot) pairs in
   the same order as the local run: the table is the local run's, bit for
   bit, and comes back as an Arrow table.

What the local run guarantees holds here too: one row per parcel sorted by
parcel id and checked, each finished chunk written atomically to
``<out>.parts/`` by the driver, and ``--resume``.
"""

from __future__ import annotations

import collections
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

import gis
from gis.shapes import type_column
from sba.bulk.chunks import chunk_bounds, with_raster_scale
from sba.bulk.inputs import (
    class_notes,
    file_columns,
    no_type_column_note,
    read_input,
    require_columns,
    require_type_field,
    type_count_notes,
)
from sba.bulk.options import ORDER, ReassessOptions, ReassessSummary
from sba.bulk.parts import PartStore, write_part
from sba.bulk.pieces import (
    SCAN,
    UnreadableShapes,
    gc_off,
    hilbert_keys,
    load_piece,
    lot_routes,
    measure_pieces,
    projected,
    routes_by_extent,
    takes,
    wkb_of,
)
from sba.bulk.prefetch import is_parquet, parquet_columns
from sba.bulk.result import (
    Phases,
    collector,
    summarise,
    write_result_streamed,
)
from sba.errors import SbaError

__all__ = ["ClusterError", "code_digest", "reassess_on_cluster"]

NEEDS_DASK = "Running on a cluster needs dask: pip install 'stormwater-billable-area[cluster]'."
WORKER_WAIT = 60  # seconds to wait for a scheduler without workers to get one
PIECE_ROWS = 100_000  # rows of a piece of a layer the driver reads (not GeoParquet)


class ClusterError(SbaError, RuntimeError):
    """dask is missing, or the scheduler cannot be reached or has no workers."""


def reassess_on_cluster(address: str, parcels_path, features_path, out, *, water_path, schedule, opts: ReassessOptions,
                        resume: bool, previous: pd.DataFrame | None, progress: Callable[[int, int], None] | None,
                        layers: dict, retain: list | None, start: float) -> ReassessSummary:
    """:func:`sba.bulk.run.reassess` with ``scheduler=address``."""
    try:
        from dask.distributed import Client
    except ImportError as err:
        raise ClusterError(NEEDS_DASK) from err
    out = Path(out)
    phase = Phases()
    p_cols = [c for c in (opts.id_field, opts.class_field, opts.dwelling_units_field) if c]
    parcels = _Layer.open(parcels_path, layers.get("parcels"), "parcels", p_cols)
    features = _Layer.open(features_path, layers.get("features"), "features", [opts.type_field])
    water = _Layer.open(water_path, layers.get("water"), "water", []) if water_path else None
    # before any work is sent out, listing the file's columns as the local run does
    require_columns(file_columns(parcels_path, parcels.names, None), None, p_cols)
    parcels.columns = p_cols
    features.columns = [c for c in [type_column(features.names, opts.type_field)] if c is not None]
    require_type_field(file_columns(features_path, features.names, None), opts.type_field)
    opts = with_raster_scale(opts)  # over the whole raster: the parcels are read on the workers
    notes = _type_notes(features, opts.type_field, schedule, Path(str(features_path)).name)
    if opts.class_field:  # refused here, before any work is sent out, when no lot has a class
        notes = class_notes(_value_counts(parcels, opts.class_field), opts) + notes
    phase("read")

    with _connect(Client, address) as client:
        for layer in (parcels, features, water):
            if layer is not None:
                layer.scatter(client)
        try:
            plan = _Plan.make(client, parcels, features, water, opts.chunk_size, opts.crs)
        except UnreadableShapes as err:  # the local run's words for a damaged file
            for layer in (parcels, features, water):
                if layer is not None and str(layer.path) == err.path:
                    _explain(layer.path, layer.layer, layer.role, layer.wanted, err)
            raise
        except OSError as err:  # most often a worker that cannot see the input files
            if isinstance(err, gis.GISInputError):
                raise
            raise ClusterError(f"The dask workers could not read the layers ({_first_line(err)}); they need "
                               "the input files at the same paths as this machine.") from err
        # the chunks are the local run's, but a local run's parts are never taken over
        settings = {"opts": opts.__dict__, "schedule": schedule.name, "n_chunks": plan.n_chunks, "version": 5,
                    "run": "dask"}
        parts = PartStore.open(out, [parcels_path, features_path, water_path, opts.raster], settings, resume)
        # the result is streamed from the parts on disk (a GeoPackage with the lots' shapes fetched a batch at a time)
        resumed = _resumed_tables(parts, plan, keep=False)
        phase("prepare")
        _, finish = collector(plan.n, sum(len(plan.rows(k)) for k in resumed), progress, parts, keep=False)
        todo = [k for k in range(plan.n_chunks) if k not in resumed]
        names = {"parcels": Path(str(parcels_path)).name, "features": Path(str(features_path)).name}
        _measure(client, plan, todo, schedule, opts, parts, finish, names)
        phase("compute")
        del plan.order  # the lots' order is in the parts now
        table, repeated = write_result_streamed(parts, range(plan.n_chunks), plan.n, out,
                                                check=lambda t: _check_rows(t, plan.n, features.rows, names),
                                                shapes=lambda keys: plan.lot_shapes(client, keys), crs=plan.crs)
        phase("write")
    summary = summarise(table, plan.n, start, plan.n_chunks, len(resumed), out, phase.times, previous, parts,
                        repeated=repeated, crs_note=plan.crs_note, notes=[*parts.notes, *notes])
    summary.raster_scale = opts.raster_scale if opts.raster else None
    return summary


def _type_notes(features: _Layer, type_field: str, schedule, file_name: str) -> list[str]:
    """The local run's note on feature types the rate schedule does not name, from the count of
    each type (:func:`_value_counts`)."""
    column = type_column(features.columns, type_field)
    if column is None:
        return no_type_column_note(int(features.starts[-1]), {"features": file_name})
    return type_count_notes(_value_counts(features, column), schedule, {"features": file_name})


def _value_counts(layer: _Layer, column: str) -> pd.Series:
    """The count of each value of a column (missing ones included): a GeoParquet file's column
    read by the driver a batch at a time (a few distinct values in millions of rows), or the
    pieces it read itself."""
    if layer.pieces and isinstance(layer.pieces[0], gpd.GeoDataFrame):
        return pd.concat([piece[column] for piece in layer.pieces]).value_counts(dropna=False, sort=False)
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tally: collections.Counter = collections.Counter()
    for batch in pq.ParquetFile(str(layer.path)).iter_batches(columns=[column], batch_size=1_000_000):
        for item in pc.value_counts(batch.column(0)).to_pylist():
            tally[item["values"]] += item["counts"]
    return pd.Series(tally, dtype="int64")


def _resumed_tables(parts: PartStore, plan: _Plan, keep: bool = True) -> dict[int, pd.DataFrame | None]:
    """The saved chunks whose bytes are those recorded and that hold exactly the chunk's lots
    (their tables, or None unless ``keep``)."""
    tables: dict[int, pd.DataFrame | None] = {}
    for k in sorted(parts.done()):
        table = parts.read(k)
        if table is None:
            continue
        if k >= plan.n_chunks or ORDER not in table or not np.array_equal(table[ORDER].to_numpy(), plan.rows(k)):
            parts.reject(k, "holds other lots than this chunk's")
            continue
        tables[k] = table if keep else None
    return tables


def _check_rows(table, n: int, n_features: int, names: dict) -> None:
    """Every lot once: as many rows as lots, each row key once (the driver holds no ids).
    ``table``: a DataFrame, or an Arrow table (a streamed result)."""
    keys = np.asarray(table[ORDER])
    seen = np.zeros(n, dtype=bool)  # a byte a lot (a sort of the keys took 16)
    if len(keys) == n and len(keys) and keys.min() >= 0 and keys.max() < n:
        seen[keys] = True
    if len(table) != n or not seen.all():
        raise RuntimeError(f"Result check failed: the {len(table):,} rows are not the {n:,} input parcels "
                           "each once; run again without --resume.")
    if n_features and not np.asarray(table["n_features"]).any():
        raise gis.no_overlap_error(n_features, names)


# --------------------------------------------------------------------------
# the scheduler


def _connect(Client, address: str):
    try:
        client = Client(address)
    except (OSError, TimeoutError, ValueError) as err:
        raise ClusterError(f"Could not reach the dask scheduler at {address!r} ({_first_line(err)}); "
                           "check the address and that the scheduler is running.") from err
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except (OSError, TimeoutError) as err:
        client.close()
        raise ClusterError(f"The dask scheduler at {address!r} has had no workers for {WORKER_WAIT} s; "
                           f"start some with 'dask worker {address}'.") from err
    try:
        _check_same_code(client)
    except BaseException:
        client.close()
        raise
    return client


_CODE: list[str] = []  # this process's code digest, computed once


def code_digest() -> str:
    """A digest of the engine's source (gis, categorize, sba): two processes measure alike
    only when it is equal.  The version number alone does not tell: an edited or
    half-upgraded install keeps it."""
    if not _CODE:
        import hashlib

        import categorize
        import sba

        h = hashlib.sha256()
        for package in (gis, categorize, sba):
            root = Path(package.__file__).parent
            for path in sorted(root.rglob("*.py")) + sorted(root.rglob("*.toml")):
                h.update(str(path.relative_to(root.parent)).encode())
                h.update(path.read_bytes())
        _CODE.append(h.hexdigest()[:16])
    return _CODE[0]


def _check_same_code(client) -> None:
    """Refuse a cluster whose workers run other code than this machine (in one sentence)."""
    mine = code_digest()
    theirs = client.run(code_digest)
    other = sorted(w for w, digest in theirs.items() if digest != mine)
    if other:
        raise ClusterError(
            f"{len(other)} of the {len(theirs)} dask workers ({other[0]}{', ...' if len(other) > 1 else ''}) run "
            "another version of this package than this machine; install the same version on every worker."
        )


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


# --------------------------------------------------------------------------
# the layers, in pieces


@dataclass
class _Layer:
    """A layer as pieces the workers read: GeoParquet row groups ``(path, i)``, or
    (other formats) pieces of the layer the driver read, scattered to the workers."""

    path: object
    layer: str | None
    role: str
    wanted: list[str]
    names: list[str]  # the layer's attribute columns the run reads (GeoParquet) or has
    crs: object
    pieces: list  # (path, row group) or GeoDataFrame, then futures once scattered
    starts: np.ndarray  # each piece's first row in the layer, and the row count last
    columns: list[str] = field(default_factory=list)  # the attribute columns the run reads

    @property
    def rows(self) -> int:
        return int(self.starts[-1])

    @classmethod
    def open(cls, path, layer, role: str, wanted: list[str]) -> _Layer:
        """The layer's pieces; its schema and row counts from the GeoParquet metadata alone."""
        if not Path(str(path)).is_file():  # a URL (pyarrow would open file://) or no file: the local run's line
            read_input(path, layer, role, wanted)
        if is_parquet(path) and parquet_columns(path, wanted) is not None:
            import pyarrow.parquet as pq

            try:
                meta = pq.ParquetFile(str(path)).metadata
                geo = json.loads(meta.schema.to_arrow_schema().metadata[b"geo"])
                geometry = geo["primary_column"]
                crs = geo["columns"][geometry].get("crs", "OGC:CRS84")  # the GeoParquet default
                names = parquet_columns(path, wanted)  # those read, as the local run reads them
                counts = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
            except Exception as err:  # not GeoParquet, or damaged: read_layer says which
                _explain(path, layer, role, wanted, err)
            if crs is None or not sum(counts):
                _explain(path, layer, role, wanted)
            crs = CRS.from_user_input(crs)
            pieces = [(str(path), i) for i in range(len(counts))]
            return cls(path, layer, role, wanted, names, crs, pieces, np.r_[0, np.cumsum(counts)].astype(np.int64))
        gdf = read_input(path, layer, role, wanted)
        gdf = gdf.set_axis(np.arange(len(gdf)))
        cuts = [*range(0, len(gdf), PIECE_ROWS), len(gdf)]
        pieces = [gdf.iloc[a:b] for a, b in itertools.pairwise(cuts)]
        names = [c for c in gdf.columns if c != gdf.geometry.name]
        return cls(path, layer, role, wanted, names, gdf.crs, pieces, np.array(cuts, dtype=np.int64))

    def scatter(self, client) -> None:
        """Hand the pieces the driver read to the workers (GeoParquet pieces are paths)."""
        if self.pieces and isinstance(self.pieces[0], gpd.GeoDataFrame):
            self.pieces = client.scatter(self.pieces, broadcast=True)  # a lost worker loses no piece

    def explain(self) -> None:
        _explain(self.path, self.layer, self.role, self.wanted)

    def check(self, scans: np.ndarray) -> None:
        """The checks :func:`gis.read_layer` makes on the shapes, from the pieces' scans."""
        if not scans[:, SCAN.index("shapes")].sum() or not scans[:, SCAN.index("polygons")].any():
            self.explain()

    def load(self, client) -> list:
        """Futures of every piece loaded on the workers (:func:`sba.bulk.pieces.load_piece`)."""
        return [client.submit(gc_off, load_piece, piece, self.columns, int(start), key=_key(f"load-{self.role}-{i}"))
                for i, (piece, start) in enumerate(zip(self.pieces, self.starts[:-1], strict=True))]


def _key(name: str) -> str:
    """A task key that says what the task does (in dask's dashboard and task stream)."""
    import uuid

    return f"sba-{name}-{uuid.uuid4().hex[:12]}"


def _explain(path, layer, role: str, wanted: list[str], cause: Exception | None = None):
    """Raise the error the local run gives for this layer: :func:`gis.read_layer`
    words it (reading the file here, but only to explain a bad input)."""
    read_input(path, layer, role, wanted)
    raise gis.UnreadableFileError(f"We could not read {Path(str(path)).name!r} as GeoParquet on the cluster "
                                  f"({cause or 'no usable shapes'}).") from cause


# --------------------------------------------------------------------------
# the plan: the local run's chunks, and the pieces each needs


def _nan_extent(stats: np.ndarray) -> list[float]:
    return [np.nanmin(stats[:, 1]), np.nanmin(stats[:, 2]), np.nanmax(stats[:, 3]), np.nanmax(stats[:, 4])]


def _each(client, futures: list, func, name: str, *args) -> list:
    """``func(piece, *args)`` on every piece, where it is held (garbage collector off)."""
    return [client.submit(gc_off, func, f, *args, key=_key(f"{name}-{i}")) for i, f in enumerate(futures)]


def _scan_of(loaded: dict) -> np.ndarray:
    return loaded["scan"]


def _nulls_of(loaded: dict) -> dict:
    return loaded["nulls"]


def _summary(routes: dict) -> dict:
    """What the driver needs of a piece's routes: which chunks it has rows for, and their reach."""
    return {name: (sorted(part) if name in ("frames", "own", "near") else part)
            for name, part in routes.items() if name not in ("table", "nulls")}


def _with_nulls(client, loads: list) -> set[str]:
    """The attribute columns with a missing value in some piece of the layer."""
    counts = client.gather([client.submit(_nulls_of, f) for f in loads])
    return {name for c in counts for name, n in c.items() if n}


#: Lots of a chunk (in Hilbert order) whose box is one of the extents features are routed by: a
#: chunk's lots are covered far more tightly by the boxes of their runs than by one box.
RUN = 256


def _extents(boxes: np.ndarray, order: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The boxes of the chunks' runs of :data:`RUN` lots (NaN, no shape, left out), and each one's chunk."""
    starts = np.concatenate([np.arange(a, b, RUN) for a, b in itertools.pairwise(bounds)])
    extents = np.column_stack([fn.reduceat(boxes[order, j].astype(np.float64), starts)  # a column at a time
                               for j, fn in enumerate((np.fmin, np.fmin, np.fmax, np.fmax))])
    return extents, (np.searchsorted(bounds, starts, side="right") - 1).astype(np.int32)


def _reach(index: list[dict], n_chunks: int) -> np.ndarray:
    """How far each chunk's features reach: the box of their boxes."""
    reach = np.full((n_chunks, 4), np.nan)
    for ix in index:
        for k, box in ix["reach"].items():
            reach[k] = [np.fmin(reach[k, 0], box[0]), np.fmin(reach[k, 1], box[1]),
                        np.fmax(reach[k, 2], box[2]), np.fmax(reach[k, 3], box[3])]
    return reach


@dataclass
class _Plan:
    n: int
    order: np.ndarray  # the lots in the local run's order
    bounds: np.ndarray  # where the chunks start in ``order``
    crs: object
    starts: np.ndarray  # each parcels piece's first row, and the row count last
    columns: tuple[list[str], list[str]]  # the attribute columns of the lots and of the features
    with_nulls: tuple[set[str], set[str]]  # columns of the lots, of the features with missing values
    lot_routes: list  # futures of sba.bulk.pieces.lot_routes, one per parcels piece
    feature_routes: list
    water_routes: list | None
    lot_index: list[dict]  # per piece: {"own": chunks, "near": chunks}
    feature_index: list[dict]
    water_index: list[dict] | None
    crs_note: str | None = None
    holder: dict = field(default_factory=dict)  # a routes future's key -> the worker holding it

    @property
    def n_chunks(self) -> int:
        return len(self.bounds) - 1

    def rows(self, k: int) -> np.ndarray:
        return self.order[self.bounds[k]:self.bounds[k + 1]]

    @classmethod
    def make(cls, client, parcels: _Layer, features: _Layer, water: _Layer | None, chunk_size: int,
             crs_asked: str | None) -> _Plan:
        lots, feats = parcels.load(client), features.load(client)
        waters = water.load(client) if water is not None else None
        crs, note, total = _measuring_crs(client, parcels, lots, crs_asked)
        lots = _projected(client, parcels, lots, crs)
        if CRS.from_user_input(parcels.crs) != CRS.from_user_input(crs):
            total = _nan_extent(np.array(client.gather(_each(client, lots, _scan_of, "scan-parcels"))))
        order, chunk_of, bounds, extents = _chunks(client, lots, parcels.rows, chunk_size, total)
        # features and water by the chunks' extents; then the lots, with how far each chunk's features reach
        f_routes = _each(client, _projected(client, features, feats, crs), routes_by_extent, "route-features",
                         *extents)
        w_routes = None if waters is None else _each(client, _projected(client, water, waters, crs),
                                                     routes_by_extent, "route-water", *extents)
        f_index = client.gather([client.submit(_summary, r) for r in f_routes])
        features.check(np.array([ix["scan"] for ix in f_index]))
        if not any(ix["frames"] for ix in f_index) and features.rows:
            raise gis.no_overlap_error(features.rows, {"features": Path(str(features.path)).name,
                                                       "parcels": Path(str(parcels.path)).name})
        reach = _reach(f_index, len(bounds) - 1)
        l_routes = [client.submit(gc_off, lot_routes, f, chunk_of[a:b], reach, key=_key(f"route-lots-{i}"))
                    for i, (f, a, b) in enumerate(zip(lots, parcels.starts[:-1], parcels.starts[1:], strict=True))]
        with_nulls = (_with_nulls(client, lots), _with_nulls(client, feats))
        l_index = client.gather([client.submit(_summary, r) for r in l_routes])
        w_index = client.gather([client.submit(_summary, r) for r in w_routes]) if w_routes is not None else None
        if water is not None:
            water.check(np.array([ix["scan"] for ix in w_index]))
        plan = cls(parcels.rows, order, bounds, crs, parcels.starts, (parcels.columns, features.columns), with_nulls,
                   l_routes, f_routes, w_routes, l_index, f_index, w_index, note)
        routes = [*l_routes, *f_routes, *(w_routes or [])]
        plan.holder = {key: held[0] for key, held in client.who_has(routes).items() if held}
        return plan

    def inputs(self, client, k: int) -> list:
        """Futures of chunk ``k``'s rows, one per worker holding pieces it needs
        (:func:`sba.bulk.pieces.takes`; slots 0-3: its lots, the lots near it, its features,
        its water), each run where its pieces are."""
        wanted: dict[str | None, list] = {}
        sources = [(0, "own", self.lot_routes, self.lot_index), (1, "near", self.lot_routes, self.lot_index),
                   (2, "frames", self.feature_routes, self.feature_index)]
        if self.water_routes is not None:
            sources.append((3, "frames", self.water_routes, self.water_index))
        for slot, name, routes, index in sources:
            for r, ix in zip(routes, index, strict=True):
                if k in ix[name]:
                    wanted.setdefault(self.holder.get(r.key), []).append(((slot, name), r))
        futures = []
        for i, (worker, picks) in enumerate(wanted.items()):
            # where the pieces are, unless that worker is gone (then dask moves the pieces)
            where = {"workers": [worker], "allow_other_workers": True} if worker else {}
            futures.append(client.submit(takes, k, [w for w, _ in picks], *(r for _, r in picks),
                                         key=_key(f"take-{k}-{i}"), **where))
        return futures

    def lot_shapes(self, client, keys: np.ndarray) -> np.ndarray:
        """The shapes of the lots with these row keys, for a GeoPackage output (fetched from the
        pieces that hold them, a batch of the result at a time)."""
        keys = np.asarray(keys, dtype=np.int64)
        piece = np.searchsorted(self.starts, keys, side="right") - 1
        shapes = np.empty(len(keys), dtype=object)
        wanted = {int(i): np.flatnonzero(piece == i) for i in np.unique(piece)}
        got = client.gather({i: client.submit(wkb_of, self.lot_routes[i], keys[at] - self.starts[i])
                             for i, at in wanted.items()})
        for i, at in wanted.items():
            shapes[at] = got[i]
        return shapely.from_wkb(shapes)


def _projected(client, layer: _Layer, loads: list, crs) -> list:
    """The layer's pieces in the measuring CRS (no task when the layer is in it already)."""
    if CRS.from_user_input(layer.crs) == CRS.from_user_input(crs):
        return loads
    return _each(client, loads, projected, f"project-{layer.role}", crs, layer.role)


def _measuring_crs(client, parcels: _Layer, lots: list, crs_asked: str | None):
    """The CRS :func:`gis.project_layers` picks, from the parcels' extent (all it looks at):
    ``(crs, note, extent of the parcels in their own CRS)``."""
    scans = np.array(client.gather(_each(client, lots, _scan_of, "scan-parcels")))
    parcels.check(scans)
    name = Path(str(parcels.path)).name
    total = _nan_extent(scans)
    extent = gpd.GeoDataFrame(geometry=[shapely.box(*total)], crs=parcels.crs)
    gis.check_coordinates(extent, "parcels", name)
    chosen = gis.choose_area_crs(extent, "parcels", requested=crs_asked, name=name)
    return chosen.crs, chosen.note, total


def _chunks(client, lots: list, n: int, chunk_size: int, total) -> tuple:
    """The local run's chunks: ``(order, chunk of each lot, chunk bounds in order, (extents, their chunks))``."""
    got = client.gather(_each(client, lots, hilbert_keys, "keys-parcels", total))
    key = np.concatenate([k for k, _ in got])
    boxes = np.concatenate([b for _, b in got])
    del got
    if len(key) != n:
        raise RuntimeError(f"Row count check failed: {n} parcels in the metadata, {len(key)} read.")
    order = np.lexsort((np.arange(n), key))
    del key
    bounds = chunk_bounds(n, chunk_size)
    n_chunks = len(bounds) - 1
    chunk_of = np.empty(n, dtype=np.int32)
    chunk_of[order] = np.repeat(np.arange(n_chunks, dtype=np.int32), np.diff(bounds))
    return order, chunk_of, bounds, _extents(boxes, order, bounds)


def _measure_partition(rows, bundles: list[dict], *args):
    """:func:`sba.bulk.pieces.measure_pieces` of the rows in ``bundles`` (from
    :func:`sba.bulk.pieces.takes`), with the cyclic garbage collector off."""
    slots: tuple[list, ...] = ([], [], [], [])
    for bundle in bundles:
        for slot, tables in bundle.items():
            slots[slot].extend(tables)
    return gc_off(measure_pieces, rows, *slots, *args)


def _measure(client, plan: _Plan, todo: list[int], schedule, opts, parts: PartStore,
             finish: Callable[[int, object], None], names: dict) -> None:
    from dask.distributed import as_completed

    futures = {}
    for k in todo:
        fut = client.submit(_measure_partition, plan.rows(k), plan.inputs(client, k), plan.columns, plan.crs,
                            schedule, opts, plan.water_routes is not None, plan.with_nulls, names,
                            key=_key(f"measure-{k}"))
        futures[fut] = k
    for fut in as_completed(futures):
        k = futures.pop(fut)
        table = fut.result()
        finish(k, table, write_part(table, parts.folder, k))
