"""``sba reassess --scheduler``: the local run's chunks, measured on a dask cluster.

The driver (the process running ``sba``) holds no shape.  The workers read
the GeoParquet layers one row group at a time (other formats are read by the
driver and handed out in pieces), and the run goes in four passes:

1. *scan*: each parcels row group gives the extent of its shapes; the driver
   picks the measuring CRS from it, as :func:`gis.project_layers` does;
2. *keys*: each parcels row group, projected, gives its lots' Hilbert
   distances and bounding boxes; the driver sorts the lots and cuts the
   chunks exactly as the local run does (:func:`sba.bulk.chunks.chunk_bounds`),
   and keeps only each chunk's extent;
3. *split*: each row group of every layer is cut, on its worker, into the
   pieces the chunks need (features and water by the chunks' extents, lots by
   chunk and, for the neighbouring chunks, by the reach of those chunks'
   features), kept in the workers' memory as WKB with bounding boxes;
4. *measure*: a chunk's task keeps, by bounding boxes, the features that meet
   its lots, the lots of other chunks those reach and the water, decodes only
   those, and calls :func:`sba.bulk.chunks.measure_chunk` with the same
   (feature, lot) pairs in the same order as the local run: the table is the
   local run's, bit for bit.

What the local run guarantees holds here too: one row per parcel sorted by
parcel id and checked, each finished chunk written atomically to
``<out>.parts/`` by the driver, and ``--resume``.
"""

from __future__ import annotations

import gc
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
from gis.measure import require_field
from sba.bulk.chunks import chunk_bounds, measure_chunk, with_raster_scale
from sba.bulk.inputs import read_input, require_columns
from sba.bulk.options import ORDER, ReassessOptions, ReassessSummary
from sba.bulk.parts import PartStore, write_part
from sba.bulk.prefetch import is_parquet, parquet_columns
from sba.bulk.result import (
    Phases,
    collector,
    summarise,
    write_result,
    write_result_streamed,
)
from sba.errors import SbaError

__all__ = ["ClusterError", "code_digest", "reassess_on_cluster"]

NEEDS_DASK = "Running on a cluster needs dask: pip install 'stormwater-billable-area[cluster]'."
WORKER_WAIT = 60  # seconds to wait for a scheduler without workers to get one
PIECE_ROWS = 100_000  # rows of a piece of a layer the driver reads (not GeoParquet)
BOX = ["minx", "miny", "maxx", "maxy"]
ROW = "_row"  # a row's place in its layer's file
WKB = "_wkb"
_SCAN = ["rows", "minx", "miny", "maxx", "maxy", "shapes", "polygons"]


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
    require_columns(parcels.names, None, p_cols)
    parcels.columns = p_cols
    features.columns = [c for c in (opts.type_field, "feature_ty") if c in features.names]
    if opts.type_field not in features.columns and opts.type_field != "feature_type":
        # the message measure_lots gives in a local run, here before any work is sent out
        require_field(gpd.GeoDataFrame({c: [] for c in features.columns}, geometry=[]), opts.type_field,
                      "features")
    opts = with_raster_scale(opts)  # over the whole raster: the parcels are read on the workers
    phase("read")

    with _connect(Client, address) as client:
        for layer in (parcels, features, water):
            if layer is not None:
                layer.scatter(client)
        try:
            plan = _Plan.make(client, parcels, features, water, opts.chunk_size, opts.crs)
        except OSError as err:  # most often a worker that cannot see the input files
            if isinstance(err, gis.GISInputError):
                raise
            raise ClusterError(f"The dask workers could not read the layers ({_first_line(err)}); they need "
                               "the input files at the same paths as this machine.") from err
        # the chunks are the local run's, but a local run's parts are never taken over
        settings = {"opts": opts.__dict__, "schedule": schedule.name, "n_chunks": plan.n_chunks, "version": 4,
                    "run": "dask"}
        parts = PartStore.open(out, [parcels_path, features_path, water_path, opts.raster], settings, resume)
        # the result is streamed from the parts on disk; a GeoPackage (with the lots' shapes) is written whole
        stream = out.suffix.lower() != ".gpkg"
        resumed = _resumed_tables(parts, plan, keep=not stream)
        phase("prepare")
        tables, finish = collector(plan.n, sum(len(plan.rows(k)) for k in resumed), progress, parts, keep=not stream)
        tables.update(resumed)
        todo = [k for k in range(plan.n_chunks) if k not in resumed]
        _measure(client, plan, todo, schedule, opts, parts, finish)
        phase("compute")
        names = {"parcels": Path(str(parcels_path)).name, "features": Path(str(features_path)).name}
        if stream:
            del plan.order, client  # nothing more to do on the cluster
            table, repeated = write_result_streamed(parts, range(plan.n_chunks), plan.n, out,
                                                    check=lambda t: _check_rows(t, plan.n, features.rows, names))
        else:
            table, geometry, repeated = write_result(
                tables, range(plan.n_chunks), plan.n, out, plan.crs,
                lambda t: plan.lot_shapes(client, t[ORDER].to_numpy()),
                check=lambda t: _check_rows(t, plan.n, features.rows, names))
            if retain is not None:
                retain.extend([table, geometry])
        phase("write")
    summary = summarise(table, plan.n, start, plan.n_chunks, len(resumed), out, phase.times, previous, parts,
                        repeated=repeated, crs_note=plan.crs_note, notes=parts.notes)
    summary.raster_scale = opts.raster_scale if opts.raster else None
    return summary


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
    if len(table) != n or not np.array_equal(np.sort(keys), np.arange(n)):
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
        if not scans[:, _SCAN.index("shapes")].sum() or not scans[:, _SCAN.index("polygons")].any():
            self.explain()

    def tasks(self, client, func, *args, **kwargs) -> list:
        """``func(piece frame, first row, *args)`` submitted for every piece."""
        return [client.submit(_on_piece, func, piece, self.columns, int(start), *args,
                              key=_key(f"{func.__name__.strip('_')}-{self.role}-{i}"), **kwargs)
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
# per-piece functions (run on the workers)


def _read_piece(piece, columns: list[str]) -> gpd.GeoDataFrame:
    """One row group of a GeoParquet file, read as ``geopandas.read_parquet`` reads the file."""
    if isinstance(piece, gpd.GeoDataFrame):
        return piece[[*columns, piece.geometry.name]]
    import pyarrow.parquet as pq

    # the conversion geopandas.read_parquet (and so gis.read_layer) makes
    from geopandas.io.arrow import _arrow_to_geopandas

    path, i = piece
    file = pq.ParquetFile(path)
    geometry = json.loads(file.schema_arrow.metadata[b"geo"])["primary_column"]
    table = file.read_row_group(i, columns=[*columns, geometry], use_pandas_metadata=True)
    return _arrow_to_geopandas(table)


def _on_piece(func, piece, columns, start, *args, **kwargs):
    """``func`` on a piece labelled by its rows' places in the layer (garbage collector off, see
    :func:`_measure_partition`)."""
    collect = gc.isenabled()
    gc.disable()
    try:
        gdf = _read_piece(piece, columns)
        return func(gdf.set_axis(np.arange(start, start + len(gdf), dtype=np.int64)), *args, **kwargs)
    finally:
        if collect:
            gc.enable()


def _present(geoms: np.ndarray) -> np.ndarray:
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _scan(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Rows, extent of the shapes, shapes present, any polygon."""
    geoms = gdf.geometry.to_numpy()
    present = _present(geoms)
    b = shapely.bounds(geoms[present])
    ext = [b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()] if len(b) else [np.nan] * 4
    kinds = shapely.get_type_id(geoms[present])
    polygons = bool(((kinds == 3) | (kinds == 6) | (kinds == 7)).any())  # Polygon, MultiPolygon, GeometryCollection
    return np.array([len(gdf), *ext, present.sum(), polygons], dtype=float)


def _projected(gdf: gpd.GeoDataFrame, crs, role: str) -> gpd.GeoDataFrame:
    return gis.to_common_crs(gdf, crs, role)


def _projected_scan(gdf, crs, role) -> np.ndarray:
    return _scan(_projected(gdf, crs, role))


def _keys(gdf: gpd.GeoDataFrame, crs, total_bounds) -> tuple[np.ndarray, np.ndarray]:
    """The lots' Hilbert distances as the local run computes them (0 for a lot
    without a shape), and their bounding boxes in float32, rounded outwards (the
    chunks' extents only need to hold their lots: half the driver's memory)."""
    gdf = _projected(gdf, crs, "parcels")
    geoms = gdf.geometry.to_numpy()
    key = np.zeros(len(gdf), dtype=np.int64)
    ok = _present(geoms)
    if ok.any():
        key[ok] = gdf.geometry[ok].hilbert_distance(total_bounds=total_bounds).to_numpy()
    b = shapely.bounds(geoms)
    low, high = b[:, :2].astype(np.float32), b[:, 2:].astype(np.float32)
    low = np.where(low > b[:, :2], np.nextafter(low, np.float32(-np.inf)), low)
    high = np.where(high < b[:, 2:], np.nextafter(high, np.float32(np.inf)), high)
    return key, np.hstack([low, high])


def _as_wkb(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """The rows as attributes, ``_row``, WKB and bounding box: what a chunk's task receives."""
    geoms = gdf.geometry.to_numpy()
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame[ROW] = gdf.index.to_numpy(dtype=np.int64)
    frame[WKB] = shapely.to_wkb(geoms)
    frame[BOX] = shapely.bounds(geoms)
    return frame.reset_index(drop=True)


def _boxes_meeting(boxes: np.ndarray, extents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(row, extent)`` for every row box that meets an extent (inclusive; NaN meets nothing)."""
    ok_e = np.flatnonzero(~np.isnan(extents).any(axis=1))
    ok_r = np.flatnonzero(~np.isnan(boxes).any(axis=1))
    if not len(ok_e) or not len(ok_r):
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    tree = shapely.STRtree(shapely.box(*extents[ok_e].T))
    r, e = tree.query(shapely.box(*boxes[ok_r].T))
    return ok_r[r], ok_e[e]


def _split_by_extent(gdf: gpd.GeoDataFrame, crs, role: str, extents: np.ndarray) -> dict:
    """Features or water: ``{chunk: rows}`` for every chunk whose extent their boxes meet,
    and ``{chunk: extent of those rows}`` (how far the chunk's features reach)."""
    gdf = _projected(gdf, crs, role)
    scan = _scan(gdf)
    frame = _as_wkb(gdf)
    rows, chunks = _boxes_meeting(frame[BOX].to_numpy(), extents)
    out, reach = {}, {}
    order = np.argsort(chunks, kind="stable")
    rows, chunks = rows[order], chunks[order]
    for k, first, n in zip(*np.unique(chunks, return_index=True, return_counts=True), strict=True):
        part = frame.iloc[rows[first:first + n]]
        out[int(k)] = part
        b = part[BOX].to_numpy()
        reach[int(k)] = [b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()]
    return {"frames": out, "reach": reach, "scan": scan}


def _split_lots(gdf: gpd.GeoDataFrame, crs, chunk_of: np.ndarray, reach: np.ndarray) -> dict:
    """Lots: ``{chunk: its lots}``, and ``{chunk: lots of other chunks within its features' reach}``."""
    frame = _as_wkb(_projected(gdf, crs, "parcels"))
    own = {int(k): frame.iloc[np.flatnonzero(chunk_of == k)] for k in np.unique(chunk_of)}
    rows, chunks = _boxes_meeting(frame[BOX].to_numpy(), reach)
    keep = chunk_of[rows] != chunks
    rows, chunks = rows[keep], chunks[keep]
    near = {int(k): frame.iloc[rows[chunks == k]] for k in np.unique(chunks)}
    return {"own": own, "near": near}


def _summary(split: dict) -> dict:
    """What the driver needs of a split: which chunks it has rows for, and their reach."""
    return {name: (sorted(part) if name in ("frames", "own", "near") else part) for name, part in split.items()}


def _pick(split: dict, name: str, k: int):
    return split[name].get(k)


def _decoded(frame: pd.DataFrame, crs) -> gpd.GeoDataFrame:
    """WKB rows back as a GeoDataFrame labelled by ``_row`` (the local run's labels)."""
    attrs = frame.drop(columns=[ROW, WKB, *BOX])
    return gpd.GeoDataFrame(attrs.set_axis(frame[ROW].to_numpy()), geometry=shapely.from_wkb(frame[WKB].to_numpy()),
                            crs=crs)


def _concat(frames: list, columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in [*columns, ROW, WKB]} | {c: [] for c in BOX})
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.iloc[np.argsort(frame[ROW].to_numpy(), kind="stable")]  # file order


def _meeting(frame: pd.DataFrame, geoms: np.ndarray) -> np.ndarray:
    """Positions in ``frame`` (sorted) of the rows whose boxes meet one of ``geoms``' boxes,
    as ``STRtree.query`` decides it in the local run."""
    boxes = frame[BOX].to_numpy()
    ok = np.flatnonzero(~np.isnan(boxes).any(axis=1))
    if not len(ok) or not len(geoms):
        return np.array([], dtype=np.int64)
    return np.unique(ok[shapely.STRtree(shapely.box(*boxes[ok].T)).query(geoms)[1]])


def _measure_partition(*args):
    """:func:`_measure_chunk` with the cyclic garbage collector off, as in the local run:
    the chunk makes hundreds of thousands of shapes and no reference cycles."""
    collect = gc.isenabled()
    gc.disable()
    try:
        return _measure_chunk(*args)
    finally:
        if collect:
            gc.enable()


def _measure_chunk(rows, own, near, feats, waters, columns, crs, schedule, opts, has_water):
    """Chunk ``rows`` (its lots in the local run's order) measured with exactly the features,
    neighbouring lots, water and (feature, lot) pairs the local run gives it (see
    :func:`sba.bulk.run._chunk_data`), found by bounding boxes."""
    lot_cols, feature_cols = columns
    lots = _concat(own, lot_cols)
    lots = lots.iloc[np.searchsorted(lots[ROW].to_numpy(), rows)]  # Hilbert order
    parcels = _decoded(lots, crs)
    geoms = parcels.geometry.to_numpy()
    candidates = _concat(feats, feature_cols)
    f_box = candidates[BOX].to_numpy()
    ok = np.flatnonzero(~np.isnan(f_box).any(axis=1))
    hit = np.unique(ok[shapely.STRtree(geoms).query(shapely.box(*f_box[ok].T))[0]]) if len(ok) else ok
    features = _decoded(candidates.iloc[hit], crs)
    f_geoms = features.geometry.to_numpy()
    others = _concat(near, lot_cols)
    context = _decoded(others.iloc[_meeting(others, f_geoms)], crs)
    # every (feature, lot) pair whose boxes meet, each feature's lots in input order
    everyone = np.concatenate([geoms, context.geometry.to_numpy()])
    labels = np.concatenate([parcels.index.to_numpy(), context.index.to_numpy()])
    pair_f, pair_p = shapely.STRtree(everyone).query(f_geoms)
    by_pair = np.lexsort((labels[pair_p], pair_f))
    pairs = (pair_f[by_pair], pair_p[by_pair])
    water = None
    if has_water:
        w = _concat(waters, [])
        water = _decoded(w.iloc[_meeting(w, geoms)], crs)
    for col in features.columns.drop(features.geometry.name):  # categoricals, as the local run reads them
        features[col] = features[col].astype("category")
    if opts.class_field:
        parcels[opts.class_field] = parcels[opts.class_field].astype("category")
        context[opts.class_field] = context[opts.class_field].astype("category")
    return measure_chunk(parcels, features, water, schedule, opts, context, pairs)


# --------------------------------------------------------------------------
# the plan: the local run's chunks, and the pieces each needs


def _nan_extent(stats: np.ndarray) -> list[float]:
    return [np.nanmin(stats[:, 1]), np.nanmin(stats[:, 2]), np.nanmax(stats[:, 3]), np.nanmax(stats[:, 4])]


@dataclass
class _Plan:
    n: int
    order: np.ndarray  # the lots in the local run's order
    bounds: np.ndarray  # where the chunks start in ``order``
    parcels: _Layer
    crs: object
    columns: tuple[list[str], list[str]]  # the attribute columns of the lots and of the features
    lot_splits: list  # futures of _split_lots, one per parcels piece
    feature_splits: list
    water_splits: list | None
    lot_index: list[dict]  # per piece: {"own": chunks, "near": chunks}
    feature_index: list[dict]
    water_index: list[dict] | None
    crs_note: str | None = None

    @property
    def n_chunks(self) -> int:
        return len(self.bounds) - 1

    def rows(self, k: int) -> np.ndarray:
        return self.order[self.bounds[k]:self.bounds[k + 1]]

    @classmethod
    def make(cls, client, parcels: _Layer, features: _Layer, water: _Layer | None, chunk_size: int,
             crs_asked: str | None) -> _Plan:
        scans = np.array(client.gather(parcels.tasks(client, _scan)))
        parcels.check(scans)
        # the CRS gis.project_layers picks, from the parcels' extent (all it looks at)
        name = Path(str(parcels.path)).name
        extent = gpd.GeoDataFrame(geometry=[shapely.box(*_nan_extent(scans))], crs=parcels.crs)
        gis.check_coordinates(extent, "parcels", name)
        chosen = gis.choose_area_crs(extent, "parcels", requested=crs_asked, name=name)
        crs = chosen.crs
        if CRS.from_user_input(parcels.crs) != CRS.from_user_input(crs):
            scans = np.array(client.gather(parcels.tasks(client, _projected_scan, crs, "parcels")))
        total = _nan_extent(scans)
        got = client.gather(parcels.tasks(client, _keys, crs, total))
        n = parcels.rows
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
        extents = np.full((n_chunks, 4), np.nan)
        for j, fn in enumerate((np.fmin, np.fmin, np.fmax, np.fmax)):  # NaN (no shape) is left out
            fn.at(extents[:, j], chunk_of, boxes[:, j].astype(np.float64))
        del boxes
        # features and water by the chunks' extents; then the lots, with how far each chunk's features reach
        feature_splits = features.tasks(client, _split_by_extent, crs, "features", extents)
        water_splits = water.tasks(client, _split_by_extent, crs, "water", extents) if water is not None else None
        feature_index = client.gather([client.submit(_summary, s) for s in feature_splits])
        features.check(np.array([ix["scan"] for ix in feature_index]))
        if not any(ix["frames"] for ix in feature_index) and features.rows:
            raise gis.no_overlap_error(features.rows, {"features": Path(str(features.path)).name,
                                                       "parcels": name})
        reach = np.full((n_chunks, 4), np.nan)
        for ix in feature_index:
            for k, box in ix["reach"].items():
                reach[k] = [np.fmin(reach[k, 0], box[0]), np.fmin(reach[k, 1], box[1]),
                            np.fmax(reach[k, 2], box[2]), np.fmax(reach[k, 3], box[3])]
        lot_splits = [client.submit(_on_piece, _split_lots, piece, parcels.columns, int(a), crs, chunk_of[a:b], reach,
                                    key=_key(f"split-lots-{i}"))
                      for i, (piece, a, b) in enumerate(zip(parcels.pieces, parcels.starts[:-1], parcels.starts[1:],
                                                            strict=True))]
        lot_index = client.gather([client.submit(_summary, s) for s in lot_splits])
        water_index = client.gather([client.submit(_summary, s) for s in water_splits]) if water is not None else None
        if water is not None:
            water.check(np.array([ix["scan"] for ix in water_index]))
        return cls(n, order, bounds, parcels, crs, (parcels.columns, features.columns), lot_splits,
                   feature_splits, water_splits, lot_index, feature_index, water_index, chosen.note)

    def inputs(self, client, k: int) -> tuple[list, list, list, list | None]:
        """Futures of chunk ``k``'s pieces: its lots, the lots near it, its features, its water."""
        def picks(splits, index, name):
            return [client.submit(_pick, s, name, k, key=_key(f"pick-{name}-{k}"))
                    for s, ix in zip(splits, index, strict=True) if k in ix[name]]

        water = picks(self.water_splits, self.water_index, "frames") if self.water_splits is not None else []
        return (picks(self.lot_splits, self.lot_index, "own"), picks(self.lot_splits, self.lot_index, "near"),
                picks(self.feature_splits, self.feature_index, "frames"), water)

    def lot_shapes(self, client, keys: np.ndarray) -> np.ndarray:
        """The shapes of the lots with these row keys, for a GeoPackage output (the driver writes it)."""
        parts = client.gather(self.parcels.tasks(client, _shapes, self.crs))
        return shapely.from_wkb(np.concatenate(parts))[keys]


def _shapes(gdf: gpd.GeoDataFrame, crs) -> np.ndarray:
    return shapely.to_wkb(_projected(gdf, crs, "parcels").geometry.to_numpy())


def _measure(client, plan: _Plan, todo: list[int], schedule, opts, parts: PartStore,
             finish: Callable[[int, pd.DataFrame], None]) -> None:
    from dask.distributed import as_completed

    futures = {}
    for k in todo:
        own, near, feats, waters = plan.inputs(client, k)
        fut = client.submit(_measure_partition, plan.rows(k), own, near, feats, waters, plan.columns, plan.crs,
                            schedule, opts, plan.water_splits is not None, key=_key(f"measure-{k}"))
        futures[fut] = k
    for fut in as_completed(futures):
        k = futures.pop(fut)
        table = fut.result()
        finish(k, table, write_part(table, parts.folder, k))

