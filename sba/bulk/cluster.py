"""``sba reassess --scheduler``: the bulk run on a dask cluster, partitioned with dask-geopandas.

The driver (the process running ``sba``) reads only metadata: the GeoParquet
schemas, CRSs and row counts, then small per-partition summaries (row counts,
extents, a histogram of Hilbert distances).  The workers read the GeoParquet
files themselves (``dask_geopandas.read_parquet``, only the needed columns),
bring them into the parcels' projected CRS, sort the lots into Hilbert-curve
partitions (the features into the same ranges of the curve) and measure one
lot partition per task, with the feature partitions whose extents meet it,
the water near it and the lots of other partitions that its features reach
(as :func:`sba.reassess.measure_chunk` needs them).  Layers in other formats
(GeoPackage, shapefile, ...) cannot be read in pieces: the driver reads them
with :func:`gis.read_layer` and hands them to the cluster.

What the local run guarantees holds here too: one row per parcel sorted by
parcel id and checked against the row count, each finished partition written
atomically to ``<out>.parts/`` by the driver, and ``--resume`` (the
partitions depend only on the data and ``--chunk-size``, not on the cluster).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

import gis
from gis.measure import require_field
from sba.bulk.chunks import chunk_count, measure_chunk, with_raster_scale
from sba.bulk.inputs import read_input, require_columns
from sba.bulk.options import ORDER, ReassessOptions, ReassessSummary
from sba.bulk.parts import PartStore, write_part
from sba.bulk.result import Phases, collector, summarise, write_result

__all__ = ["ClusterError", "reassess_on_cluster"]

NEEDS_DASK = "Running on a cluster needs dask: pip install 'stormwater-billable-area[cluster]'."
LEVEL = 16  # Hilbert curve level, as in the local run (distances below 2**32)
CELL_SHIFT = 16  # partitions are cut between cells of a 256 x 256 Hilbert grid
WORKER_WAIT = 60  # seconds to wait for a scheduler without workers to get one
_STATS = ["rows", "minx", "miny", "maxx", "maxy", "width", "height", "shapes", "polygons"]


class ClusterError(gis.GISInputError):
    """dask is missing, or the scheduler cannot be reached or has no workers."""


def reassess_on_cluster(address: str, parcels_path, features_path, out, *, water_path, schedule, opts: ReassessOptions,
                        resume: bool, previous, progress: Callable[[int, int], None] | None, layers: dict,
                        retain: list | None, start: float) -> ReassessSummary:
    """:func:`sba.reassess.reassess` with ``scheduler=address``."""
    try:
        import dask
        import dask_geopandas
        from dask.distributed import Client
    except ImportError as err:
        raise ClusterError(NEEDS_DASK) from err
    out = Path(out)
    phase = Phases()
    # dask would turn text columns into pyarrow strings; the local run keeps pandas' own
    with dask.config.set({"dataframe.convert-string": False}):
        p_cols = [c for c in (opts.id_field, opts.class_field, opts.dwelling_units_field) if c]
        parcels = _Layer.open(dask_geopandas, parcels_path, layers.get("parcels"), "parcels", p_cols, opts.chunk_size)
        features = _Layer.open(dask_geopandas, features_path, layers.get("features"), "features", [opts.type_field],
                               opts.chunk_size)
        water = _Layer.open(dask_geopandas, water_path, layers.get("water"), "water", [], opts.chunk_size) \
            if water_path else None
        frame = parcels.frame
        require_columns(frame.columns, frame.geometry.name, p_cols)
        parcels.frame = frame[[*p_cols, frame.geometry.name]]
        keep_f = [c for c in (opts.type_field, "feature_ty") if c in features.frame.columns]
        features.frame = features.frame[[*keep_f, features.frame.geometry.name]]
        if opts.type_field not in keep_f and opts.type_field != "feature_type":
            # the message measure_lots gives in a local run, here before any work is sent out
            require_field(features.frame._meta, opts.type_field, "features")
        if water is not None:
            water.frame = water.frame[[water.frame.geometry.name]]
        n = parcels.rows
        n_chunks = chunk_count(n, opts.chunk_size)
        opts = with_raster_scale(opts)  # over the whole raster: the parcels are read on the workers
        phase("read")

        with _connect(Client, address) as client:
            try:
                plan = _Plan.make(client, parcels, features, water, n_chunks, opts.crs)
            except OSError as err:  # most often a worker that cannot see the input files
                if isinstance(err, gis.GISInputError):
                    raise
                raise ClusterError(f"The dask workers could not read the layers ({_first_line(err)}); they need "
                                   "the input files at the same paths as this machine.") from err
            # the partitions are cut by Hilbert distance alone (another cluster or
            # number of workers cuts the same ones); parts of other cuts, or of a
            # local run, are never resumed
            settings = {"opts": opts.__dict__, "schedule": schedule.name, "n_chunks": n_chunks, "version": 3,
                        "partitions": "dask-geopandas hilbert", "divisions": plan.divisions}
            parts = PartStore.open(out, [parcels_path, features_path, water_path, opts.raster], settings, resume)
            resumed = _resumed_tables(parts, plan)
            phase("prepare")
            tables, finish = collector(n, int(sum(plan.lot_rows[k] for k in resumed)), progress, parts)
            tables.update(resumed)
            todo = [k for k in plan.chunks if k not in resumed]
            _measure(client, plan, todo, schedule, opts, parts, finish)
            phase("compute")
            names = {"parcels": Path(str(parcels_path)).name, "features": Path(str(features_path)).name}
            table, geometry, repeated = write_result(
                tables, plan.chunks, n, out, plan.crs, lambda t: plan.lot_shapes(client, t[ORDER].to_numpy()),
                check=lambda t: _check_rows(t, n, features.rows, names))
            phase("write")
    if retain is not None:
        retain.extend([table, geometry])
    summary = summarise(table, n, start, len(plan.chunks), len(resumed), out, phase.times, previous, parts,
                         repeated=repeated, crs_note=plan.crs_note, notes=parts.notes)
    summary.raster_scale = opts.raster_scale if opts.raster else None
    return summary


def _resumed_tables(parts: PartStore, plan: _Plan) -> dict[int, pd.DataFrame]:
    """The saved partitions whose bytes are those recorded and whose row count is the partition's."""
    tables = {}
    for k in sorted(parts.done()):
        table = parts.read(k)
        if table is None:
            continue
        if k >= len(plan.lot_rows) or len(table) != plan.lot_rows[k] or ORDER not in table:
            parts.reject(k, "holds other lots than this partition's")
            continue
        tables[k] = table
    return tables


def _check_rows(table: pd.DataFrame, n: int, n_features: int, names: dict) -> None:
    """Every lot once: as many rows as lots, no row key twice (the driver holds no ids)."""
    keys = table[ORDER].to_numpy()
    if len(table) != n or len(np.unique(keys)) != n:
        raise RuntimeError(f"Result check failed: the {len(table):,} rows are not the {n:,} input parcels "
                           "each once; run again without --resume.")
    if n_features and not table.n_features.any():
        raise gis.no_overlap_error(n_features, names)


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
# the layers, read lazily


@dataclass
class _Layer:
    frame: object  # dask_geopandas.GeoDataFrame
    rows: int
    path: object
    layer: str | None
    role: str
    wanted: list[str]  # the attribute columns the run needs

    @classmethod
    def open(cls, dask_geopandas, path, layer, role: str, wanted: list[str], chunk_size: int) -> _Layer:
        """GeoParquet: a lazy frame the workers read, only ``wanted`` (and
        "feature_ty", the shapefile name of "feature_type") read, as the
        local run reads it.  Other formats: read here, by the driver."""
        if Path(str(path)).suffix.lower() in (".parquet", ".geoparquet"):
            import pyarrow.dataset as ds

            try:
                dataset = ds.dataset(str(path), format="parquet")
                geo = json.loads(dataset.schema.metadata[b"geo"])
                names = set(dataset.schema.names)
                cols = [c for c in wanted if c in names]
                if "feature_type" in wanted and "feature_ty" in names:
                    cols.append("feature_ty")
                # one partition per row group: the workers read a file's row groups side by side
                frame = dask_geopandas.read_parquet(str(path), columns=[*cols, geo["primary_column"]],
                                                    split_row_groups=True)
                rows = dataset.count_rows()
            except Exception as err:  # missing, damaged, not GeoParquet: gis.read_layer says which
                _explain(path, layer, role, wanted, err)
            self = cls(frame, rows, path, layer, role, wanted)
            if frame.crs is None or rows == 0:
                self.explain()
            return self
        gdf = read_input(path, layer, role, wanted)
        return cls(dask_geopandas.from_geopandas(gdf, npartitions=chunk_count(len(gdf), chunk_size), sort=False),
                   len(gdf), path, layer, role, wanted)

    def explain(self, cause: Exception | None = None):
        _explain(self.path, self.layer, self.role, self.wanted, cause)

    def check(self, stats: np.ndarray) -> None:
        """The checks :func:`gis.read_layer` makes on the shapes, from the partitions' summaries."""
        if not stats[:, _STATS.index("shapes")].sum() or not stats[:, _STATS.index("polygons")].any():
            self.explain()


def _explain(path, layer, role: str, wanted: list[str], cause: Exception | None = None):
    """Raise the error the local run gives for this layer: :func:`gis.read_layer`
    words it (reading the file here, but only to explain a bad input)."""
    read_input(path, layer, role, wanted)
    raise gis.UnreadableFileError(f"We could not read {Path(str(path)).name!r} as GeoParquet on the cluster "
                                  f"({cause or 'no usable shapes'}).") from cause


# --------------------------------------------------------------------------
# per-partition functions (run on the workers)


def _numbered(gdf: gpd.GeoDataFrame, partition_info=None) -> gpd.GeoDataFrame:
    """``_row``: the row's place in the file (partition, row), to keep file order in each chunk."""
    number = partition_info["number"] if partition_info else 0
    return gdf.assign(_row=(np.int64(number) << 32) + np.arange(len(gdf), dtype=np.int64))


def _present(geoms: np.ndarray) -> np.ndarray:
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _stats(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Rows, extent, largest shape width and height, shapes present, any polygon."""
    geoms = gdf.geometry.to_numpy()
    present = _present(geoms)
    b = shapely.bounds(geoms[present])
    if len(b):
        ext = [b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max(),
               (b[:, 2] - b[:, 0]).max(), (b[:, 3] - b[:, 1]).max()]
    else:
        ext = [np.nan] * 6
    kinds = shapely.get_type_id(geoms[present])
    polygons = bool(((kinds == 3) | (kinds == 6) | (kinds == 7)).any())  # Polygon, MultiPolygon, GeometryCollection
    return pd.DataFrame([[len(gdf), *ext, present.sum(), polygons]], columns=_STATS, dtype="float64")


def _keyed(gdf: gpd.GeoDataFrame, total_bounds) -> gpd.GeoDataFrame:
    """``_key``: Hilbert distance as in the local run (0 for a lot without a shape,
    where dask-geopandas' ``hilbert_distance`` would raise)."""
    key = np.zeros(len(gdf), dtype=np.int64)
    ok = _present(gdf.geometry.to_numpy())
    if ok.any():
        key[ok] = gdf.geometry[ok].hilbert_distance(total_bounds=total_bounds, level=LEVEL).to_numpy()
    return gdf.assign(_key=key)


def _cell_counts(gdf: gpd.GeoDataFrame) -> np.ndarray:
    return np.bincount((gdf["_key"].to_numpy() >> CELL_SHIFT).astype(np.intp), minlength=1 << (2 * LEVEL - CELL_SHIFT))


def _add(*arrays: np.ndarray) -> np.ndarray:
    return np.sum(arrays, axis=0)


def _file_order(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The local run's frame: rows in file order, labelled by their place in the file."""
    gdf = gdf.iloc[np.argsort(gdf["_row"].to_numpy(), kind="stable")]
    return gdf.set_index("_row").rename_axis(None)


def _measure_partition(lots, feature_parts, context_parts, water_parts, feature_meta, water_meta, schedule, opts):
    """One lot partition measured with exactly the features, neighbouring lots and water
    the local run gives a chunk (see :func:`sba.reassess._chunk_data`), found by bounding boxes."""
    context = pd.concat(context_parts) if context_parts else lots.iloc[:0]
    # lots in Hilbert order, then file order, as the local run takes them
    lots = lots.iloc[np.lexsort((lots["_row"].to_numpy(), lots.index.to_numpy()))]
    lots = lots.set_index("_row").rename_axis(None)
    geoms = lots.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    features = pd.concat(feature_parts) if feature_parts else feature_meta
    features = _file_order(features.iloc[np.unique(tree.query(features.geometry.to_numpy())[0])])
    if len(context) and len(features):
        near = shapely.STRtree(context.geometry.to_numpy()).query(features.geometry.to_numpy())[1]
        context = context.iloc[np.unique(near)]
    else:
        context = context.iloc[:0]
    context = _file_order(context)
    water = None
    if water_meta is not None:
        water = pd.concat(water_parts) if water_parts else water_meta
        hit = np.unique(shapely.STRtree(water.geometry.to_numpy()).query(geoms)[1]) if len(geoms) else []
        water = _file_order(water.iloc[hit])
    for col in features.columns.drop(features.geometry.name):  # categoricals, as the local run reads them
        features[col] = features[col].astype("category")
    if opts.class_field:
        lots[opts.class_field] = lots[opts.class_field].astype("category")
        context[opts.class_field] = context[opts.class_field].astype("category")
    return measure_chunk(lots, features, water, schedule, opts, context)


# --------------------------------------------------------------------------
# the partitions


def _meets(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Which of ``boxes`` (n x 4) meet ``box`` (inclusive, as STRtree queries; NaN meets nothing)."""
    return ((boxes[:, 0] <= box[2]) & (box[0] <= boxes[:, 2]) & (boxes[:, 1] <= box[3]) & (box[1] <= boxes[:, 3]))


@dataclass
class _Plan:
    lots: object  # the lots, Hilbert-partitioned and kept in the workers' memory
    lot_parts: list
    feature_parts: list
    water_parts: list | None
    lot_stats: np.ndarray
    feature_stats: np.ndarray
    water_stats: np.ndarray | None
    feature_meta: gpd.GeoDataFrame
    water_meta: gpd.GeoDataFrame | None
    crs: object
    divisions: list[int]
    crs_note: str | None = None  # why areas are not measured in the parcels' own CRS

    @property
    def lot_rows(self) -> np.ndarray:
        return self.lot_stats[:, 0].astype(np.int64)

    @property
    def chunks(self) -> list[int]:
        return [k for k in range(len(self.lot_stats)) if self.lot_rows[k]]

    @classmethod
    def make(cls, client, parcels: _Layer, features: _Layer, water: _Layer | None, n_chunks: int,
             crs_asked: str | None = None) -> _Plan:
        from dask.distributed import wait

        def stats(frame) -> np.ndarray:
            meta = pd.DataFrame({c: pd.Series(dtype="float64") for c in _STATS})
            return client.compute(frame.map_partitions(_stats, meta=meta)).result().to_numpy(dtype=float)

        # the CRS gis.project_layers picks, from the parcels' extent (all it looks at)
        lots = parcels.frame
        raw = stats(lots)
        parcels.check(raw)
        extent = gpd.GeoDataFrame(geometry=[shapely.box(np.nanmin(raw[:, 1]), np.nanmin(raw[:, 2]),
                                                        np.nanmax(raw[:, 3]), np.nanmax(raw[:, 4]))], crs=lots.crs)
        name = Path(str(parcels.path)).name
        gis.check_coordinates(extent, "parcels", name)
        chosen = gis.choose_area_crs(extent, "parcels", requested=crs_asked, name=name)
        crs = chosen.crs
        if CRS.from_user_input(lots.crs) != crs:
            lots = lots.to_crs(crs)
        target = CRS.from_user_input(crs)

        def projected(frame):
            return frame if CRS.from_user_input(frame.crs) == target else frame.to_crs(crs)

        lots = client.persist(lots.map_partitions(_numbered))
        lot_stats = stats(lots)
        parcels.check(lot_stats)
        if int(lot_stats[:, 0].sum()) != parcels.rows:
            raise RuntimeError(f"Row count check failed: {parcels.rows} parcels in the metadata, "
                               f"{int(lot_stats[:, 0].sum())} read.")
        total = [np.nanmin(lot_stats[:, 1]), np.nanmin(lot_stats[:, 2]),
                 np.nanmax(lot_stats[:, 3]), np.nanmax(lot_stats[:, 4])]
        keyed = lots.map_partitions(_keyed, total)
        divisions = _divisions(_histogram(client, keyed), n_chunks)
        # Hilbert partitions of the lots; the features in the same ranges of
        # the same curve, so that feature partition k lies where lot partition k does
        shuffled = client.persist(keyed.set_index("_key", divisions=divisions, shuffle_method="tasks"))
        feats = projected(features.frame).map_partitions(_numbered).map_partitions(_keyed, total)
        feats = client.persist(feats.set_index("_key", divisions=divisions, shuffle_method="tasks"))
        waters = client.persist(projected(water.frame).map_partitions(_numbered)) if water is not None else None
        wait([shuffled, feats, *([waters] if waters is not None else [])])
        del lots, keyed  # the unsorted copy leaves the workers' memory
        feature_stats = stats(feats)
        features.check(feature_stats)
        water_stats = None
        if water is not None:
            water_stats = stats(waters)
            water.check(water_stats)
        return cls(shuffled, shuffled.to_delayed(), feats.to_delayed(),
                   waters.to_delayed() if waters is not None else None,
                   stats(shuffled), feature_stats, water_stats, feats._meta,
                   waters._meta if waters is not None else None, crs, divisions, chosen.note)

    def inputs(self, k: int):
        """Lot partition ``k`` and the partitions its task needs: the feature
        partitions whose extent meets it, the other lot partitions that those
        features can reach, and the water partitions that meet it."""
        box = self.lot_stats[k, 1:5]
        fs = self.feature_stats
        f = np.flatnonzero(_meets(fs[:, 1:5], box) & (fs[:, 0] > 0))
        # a feature meeting a lot of partition k lies in its partition's extent and
        # within its partition's largest feature size of partition k's extent
        reach = np.zeros(len(self.lot_stats), dtype=bool)
        for j in f:
            w, h = 2 * fs[j, 5], 2 * fs[j, 6]  # twice: room for rounding
            grown = [box[0] - w, box[1] - h, box[2] + w, box[3] + h]
            region = [max(fs[j, 1], grown[0]), max(fs[j, 2], grown[1]), min(fs[j, 3], grown[2]),
                      min(fs[j, 4], grown[3])]
            reach |= _meets(self.lot_stats[:, 1:5], np.array(region))
        reach[k] = False
        context = np.flatnonzero(reach & (self.lot_rows > 0))
        water = None
        if self.water_parts is not None:
            ws = self.water_stats
            water = [self.water_parts[j] for j in np.flatnonzero(_meets(ws[:, 1:5], box) & (ws[:, 0] > 0))]
        return (self.lot_parts[k], [self.feature_parts[j] for j in f], [self.lot_parts[m] for m in context], water)

    def lot_shapes(self, client, keys: np.ndarray) -> np.ndarray:
        """The shapes of the lots with these row keys (``_row``), for a GeoPackage output (the driver writes it)."""
        lots = client.compute(self.lots[["_row", self.lots.geometry.name]]).result()
        return lots.set_index("_row").geometry.reindex(keys).to_numpy()


def _histogram(client, keyed) -> np.ndarray:
    """How many lots fall in each cell of a 256 x 256 Hilbert grid (summed on the cluster)."""
    import dask

    counts = [dask.delayed(_cell_counts)(part) for part in keyed.to_delayed()]
    return client.compute(dask.delayed(_add)(*counts)).result()


def _divisions(counts: np.ndarray, n_chunks: int) -> list[int]:
    """Hilbert distances that cut the lots into ``n_chunks`` nearly equal
    partitions, at cell boundaries (fewer when one cell holds more than a chunk)."""
    below = np.concatenate([[0], np.cumsum(counts)])  # below[e]: lots in cells before e
    targets = np.linspace(0, below[-1], n_chunks + 1).astype(int)[1:-1]
    edges = np.unique(np.searchsorted(below, targets, side="left"))
    edges = edges[(edges > 0) & (edges < len(counts))]
    return [0, *(int(e) << CELL_SHIFT for e in edges), 1 << (2 * LEVEL)]


def _measure(client, plan: _Plan, todo: list[int], schedule, opts, parts: PartStore,
             finish: Callable[[int, pd.DataFrame], None]) -> None:
    import dask
    from dask.distributed import as_completed

    task = dask.delayed(_measure_partition, pure=False)
    jobs = [task(*plan.inputs(k), plan.feature_meta, plan.water_meta, schedule, opts) for k in todo]
    futures = dict(zip(client.compute(jobs), todo, strict=True))
    for fut in as_completed(futures):
        k = futures[fut]
        table = fut.result()
        finish(k, table, write_part(table, parts.folder, k))
