"""The worker side of ``sba reassess --scheduler``: pieces of the layers as Arrow tables of WKB.

A *piece* is one row group of a GeoParquet layer (or a slice of a layer the
driver read) held in a dask worker's memory as an Arrow table: the attribute
columns as read, ``_row`` (the row's place in its layer), ``_wkb`` (the shape as
WKB, the file's own bytes when no reprojection is needed) and the shape's
bounding box.  The boxes are read from the WKB bytes when the piece is
loaded (:func:`sba.bulk.boxes.wkb_boxes`: compiled where numba is installed,
decoded by shapely otherwise); a shape is decoded in the chunk task that
measures it.  Until then it moves as Arrow binary, which pickles as one
buffer instead of millions of Python objects.  Routing rows to chunks keeps row numbers, not copies: a chunk
task gets ``table.take(rows)`` of each piece it needs.

The functions here run on the workers; :mod:`sba.bulk.cluster` plans and
submits them.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

import gis
from sba.bulk.boxes import boxes_meeting, hilbert_distance, wkb_boxes
from sba.bulk.chunks import measure_chunk, split_surfaces
from sba.bulk.heap import as_plain_process
from sba.bulk.pairing import box_pairs, capped_pairs, sliced
from sba.bulk.wkb_layer import room_for_large

__all__ = ["BOX", "ROW", "SCAN", "WKB", "UnreadableShapes", "concat_pieces", "decoded", "gc_off", "hilbert_keys",
           "load_piece", "lot_routes", "measure_pieces", "projected", "routes_by_extent", "take", "takes", "wkb_of"]

BOX = ["minx", "miny", "maxx", "maxy"]
ROW = "_row"  # a row's place in its layer's file
WKB = "_wkb"
#: what a piece's scan holds, in this order
SCAN = ["rows", "minx", "miny", "maxx", "maxy", "shapes", "polygons"]


class UnreadableShapes(ValueError):
    """A row group holds a shape shapely cannot decode (torn WKB); the driver words it as the local run."""

    def __init__(self, path: str, detail: str):
        super().__init__(path, detail)
        self.path, self.detail = path, detail

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def gc_off(func: Callable, *args, **kwargs):
    """``func(*args, **kwargs)`` with the cyclic garbage collector off, as in the local run:
    a task makes hundreds of thousands of shapes and no reference cycles, and the
    collector rescanning them doubled the time of a measuring task.  The worker's
    allocator is set as a plain process's first (:func:`sba.bulk.heap.as_plain_process`)."""
    as_plain_process()
    collect = gc.isenabled()
    gc.disable()
    try:
        return func(*args, **kwargs)
    finally:
        if collect:
            gc.enable()


# --------------------------------------------------------------------------
# loading a piece


def load_piece(piece, columns: list[str], start: int) -> dict:
    """A piece read, with its shapes' boxes: ``{"table", "scan", "nulls", "crs"}``.

    ``piece`` is ``(path, row group)`` of a GeoParquet file or a GeoDataFrame
    (another format, read by the driver); ``nulls`` counts the missing values of
    each attribute column (the driver tells every chunk whether a column has any
    in the whole layer, as pandas decides a column's type over the whole file).
    """
    import pyarrow as pa

    if isinstance(piece, gpd.GeoDataFrame):
        attrs = pa.Table.from_pandas(pd.DataFrame(piece[columns]), preserve_index=False)
        geoms = piece.geometry.to_numpy()
        wkb = pa.array(shapely.to_wkb(geoms), type=pa.binary())
        return _piece(attrs, wkb, shapely.bounds(geoms), shapely.get_type_id(geoms), start, piece.crs)
    attrs, wkb, crs = _read_row_group(piece, columns)
    try:
        bounds, kinds, _ = wkb_boxes(wkb)
    except shapely.errors.GEOSException as err:
        raise UnreadableShapes(piece[0], str(err)) from None
    return _piece(attrs, wkb, bounds, kinds, start, crs)


def _read_row_group(piece, columns: list[str]):
    """The attributes (with the file's pandas metadata), the WKB column and the CRS of one row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path, i = piece
    file = pq.ParquetFile(path, memory_map=True)  # as sba.bulk.prefetch.read_table: no copy of the compressed bytes
    geo = json.loads(file.schema_arrow.metadata[b"geo"])
    geometry = geo["primary_column"]
    table = file.read_row_group(i, columns=[*columns, geometry], use_pandas_metadata=True)
    crs = CRS.from_user_input(geo["columns"][geometry].get("crs", "OGC:CRS84"))  # the GeoParquet default
    wkb = table.column(geometry).combine_chunks()
    if isinstance(wkb.type, pa.ExtensionType):  # geoarrow.wkb, when an extension is registered
        wkb = wkb.storage
    return table.drop_columns([geometry]), wkb, crs


def _piece(attrs, wkb, b: np.ndarray, kinds: np.ndarray, start: int, crs) -> dict:
    """The piece's table from its attributes, WKB and the shapes' boxes and geometry type ids."""
    import pyarrow as pa

    columns = {name: attrs.column(name) for name in attrs.column_names}
    columns.update({ROW: np.arange(start, start + len(b), dtype=np.int64), WKB: wkb})
    columns.update({name: b[:, j] for j, name in enumerate(BOX)})
    table = pa.table(columns).replace_schema_metadata(attrs.schema.metadata)  # pandas' types of the columns
    nulls = {name: attrs.column(name).null_count for name in attrs.column_names}
    return {"table": table, "scan": scan(kinds, b), "nulls": nulls, "crs": crs}


def scan(kinds: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Rows, extent of the shapes, shapes present, any polygon (see :data:`SCAN`), from the
    shapes' geometry type ids (``shapely.get_type_id``) and boxes."""
    present = ~np.isnan(bounds).any(axis=1)  # missing and empty shapes have no box
    b = bounds[present]
    ext = [b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()] if len(b) else [np.nan] * 4
    polygons = bool(np.isin(kinds[present], (3, 6, 7)).any())  # Polygon, MultiPolygon, GeometryCollection
    return np.array([len(bounds), *ext, present.sum(), polygons], dtype=float)


def projected(loaded: dict, crs, role: str) -> dict:
    """The piece in the measuring CRS (:func:`gis.to_common_crs`; the same piece when it is in it)."""
    if CRS.from_user_input(loaded["crs"]) == CRS.from_user_input(crs):
        return loaded
    import pyarrow as pa

    table = loaded["table"]
    gdf = gpd.GeoDataFrame(geometry=shapely.from_wkb(table.column(WKB).to_numpy(zero_copy_only=False)),
                           crs=loaded["crs"])
    geoms = gis.to_common_crs(gdf, crs, role).geometry.to_numpy()
    attrs = table.drop_columns([ROW, WKB, *BOX])
    start = int(table.column(ROW)[0].as_py()) if len(table) else 0
    out = _piece(attrs, pa.array(shapely.to_wkb(geoms), type=pa.binary()), shapely.bounds(geoms),
                 shapely.get_type_id(geoms), start, crs)
    out["nulls"] = loaded["nulls"]
    return out


def hilbert_keys(loaded: dict, total_bounds) -> tuple[np.ndarray, np.ndarray]:
    """The lots' Hilbert distances as the local run computes them (0 for a lot without a
    shape; geopandas takes them from the boxes' midpoints, so the boxes suffice), and their
    boxes in float32, rounded outwards (the chunks' extents only need to hold their lots)."""
    b = _boxes(loaded["table"])
    ok = ~np.isnan(b).any(axis=1)
    key = np.zeros(len(b), dtype=np.int64)
    if ok.any():
        key[ok] = hilbert_distance(b[ok], total_bounds)
    low, high = b[:, :2].astype(np.float32), b[:, 2:].astype(np.float32)
    low = np.where(low > b[:, :2], np.nextafter(low, np.float32(-np.inf)), low)
    high = np.where(high < b[:, 2:], np.nextafter(high, np.float32(np.inf)), high)
    return key, np.hstack([low, high])


def _boxes(table) -> np.ndarray:
    return np.column_stack([table.column(name).to_numpy() for name in BOX]) if len(table) \
        else np.empty((0, 4))


# --------------------------------------------------------------------------
# routing rows to chunks


def _grouped(rows: np.ndarray, chunks: np.ndarray, ordered: bool = False) -> dict[int, np.ndarray]:
    """``{chunk: its rows, in file order}`` (``ordered``: the pairs are sorted by chunk, then row, already)."""
    if not ordered:
        order = np.lexsort((rows, chunks))
        rows, chunks = rows[order], chunks[order]
    keys, first, counts = np.unique(chunks, return_index=True, return_counts=True)
    return {int(k): rows[a:a + n] for k, a, n in zip(keys, first, counts, strict=True)}


def _each_once(rows: np.ndarray, chunks: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(row, chunk)`` pairs each once, sorted by chunk, then row.

    Rows in file order already (as the compiled grid join gives them) need only a stable sort of
    their chunk numbers, which numpy does by radix for 16-bit keys; other pairs are sorted whole.
    """
    if len(rows) and int(chunks.max()) < 2**16 and bool((rows[1:] >= rows[:-1]).all()):
        order = np.argsort(chunks.astype(np.uint16), kind="stable")
        rows, chunks = rows[order], chunks[order]
        first = np.r_[True, (rows[1:] != rows[:-1]) | (chunks[1:] != chunks[:-1])]
        return rows[first], chunks[first]
    pair = np.unique(chunks * max(n_rows, 1) + rows)
    return pair % max(n_rows, 1), pair // max(n_rows, 1)


def routes_by_extent(loaded: dict, extents: np.ndarray, extent_chunk: np.ndarray) -> dict:
    """Features or water: ``{chunk: rows}`` for every chunk one of whose extents (``extent_chunk``:
    each extent's chunk) their boxes meet, and ``{chunk: extent of those rows}`` (how far the
    chunk's features reach)."""
    b = _boxes(loaded["table"])
    rows, e = boxes_meeting(b, extents)
    rows = _grouped(*_each_once(rows, extent_chunk[e].astype(np.int64), len(b)), ordered=True)
    reach = {k: [b[r, 0].min(), b[r, 1].min(), b[r, 2].max(), b[r, 3].max()] for k, r in rows.items()}
    return {"table": loaded["table"], "frames": rows, "reach": reach, "scan": loaded["scan"],
            "nulls": loaded["nulls"]}


def lot_routes(loaded: dict, chunk_of: np.ndarray, reach: np.ndarray) -> dict:
    """Lots: ``{chunk: its lots}``, and ``{chunk: lots of other chunks within its features' reach}``."""
    b = _boxes(loaded["table"])
    own = _grouped(np.arange(len(chunk_of)), chunk_of.astype(np.int64))
    rows, chunks = boxes_meeting(b, reach)
    keep = chunk_of[rows] != chunks
    return {"table": loaded["table"], "own": own, "near": _grouped(rows[keep], chunks[keep])}


def take(routes: dict, name: str, k: int):
    """Chunk ``k``'s rows of a routed piece, as an Arrow table (None when it has none)."""
    rows = routes[name].get(k)
    return None if rows is None else routes["table"].take(rows)


def takes(k: int, wanted: list[tuple[int, str]], *routes) -> dict[int, list]:
    """Chunk ``k``'s rows of several routed pieces held by one worker, in one task (a task per
    piece cost the scheduler and the workers' event loops more than the selection itself):
    ``{slot: [table, ...]}`` where ``wanted[i] = (slot, name)`` says what ``routes[i]`` gives."""
    out: dict[int, list] = {}
    for (slot, name), r in zip(wanted, routes, strict=True):
        out.setdefault(slot, []).append(take(r, name, k))
    return out


def wkb_of(loaded: dict, rows: np.ndarray) -> np.ndarray:
    """Shapes of the piece's ``rows`` (positions in the piece) as WKB (for a GeoPackage output)."""
    return loaded["table"].column(WKB).take(rows).to_numpy(zero_copy_only=False)


# --------------------------------------------------------------------------
# measuring a chunk


def concat_pieces(tables: list):
    """The pieces' rows as one Arrow table in file order (None when there are none).

    Each piece holds a range of the layer's rows and gives its rows in order, so the tables
    put in order of their first row join in file order, without copying the rows again; they
    come by worker, not in that order."""
    import pyarrow as pa

    tables = [t for t in tables if t is not None]
    if not tables:
        return None
    tables.sort(key=lambda t: t.column(ROW)[0].as_py() if len(t) else -1)
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    rows = table.column(ROW).to_numpy()
    return table if np.all(rows[1:] >= rows[:-1]) else table.take(np.argsort(rows, kind="stable"))


def decoded(table, crs, with_nulls: set[str], like=None, columns=()) -> gpd.GeoDataFrame:
    """Rows of a piece back as a GeoDataFrame labelled by ``_row`` (the local run's labels),
    attribute types as pandas gives them for the whole layer (``with_nulls``: the integer
    columns that have missing values somewhere in the layer, so float there).  No table: no
    rows, with the columns of ``like`` or (as text) ``columns``."""
    if table is None:
        if like is not None:
            return like.iloc[:0]
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=crs)
    attrs = table.drop_columns([ROW, WKB, *BOX]).to_pandas()
    for name in with_nulls & set(attrs.columns):
        if isinstance(attrs[name].dtype, np.dtype) and attrs[name].dtype.kind in "iu":  # not pandas' Int64
            attrs[name] = attrs[name].astype("float64")
    geoms = shapely.from_wkb(table.column(WKB).to_numpy(zero_copy_only=False))
    return gpd.GeoDataFrame(attrs.set_axis(table.column(ROW).to_numpy()), geometry=geoms, crs=crs)


def _meeting(boxes: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Positions (sorted) of the boxes that meet one of ``geoms``' boxes, as ``STRtree.query`` decides it."""
    ok = np.flatnonzero(~np.isnan(boxes).any(axis=1))
    if not len(ok) or not len(geoms):
        return np.array([], dtype=np.int64)
    return np.unique(ok[shapely.STRtree(shapely.box(*boxes[ok].T)).query(geoms)[1]])


def _may_split(table) -> bool:
    """Whether a surface of ``table`` may be one :func:`sba.bulk.chunks.split_surfaces` splits or
    cuts (its WKB holds room for more than :data:`gis.tiles.SPLIT_COORDS` coordinates): such
    candidates are decoded and split before they are paired, as the local run pairs them."""
    return table is not None and len(table) > 0 and bool(room_for_large(table.column(WKB)).any())


def _rows_of(table) -> int:
    return 0 if table is None else len(table)


def _boxes_of(table) -> np.ndarray:
    return np.empty((0, 4)) if table is None else _boxes(table)


def _taken(table, rows: np.ndarray):
    """``rows`` of ``table`` (None when there is no table or no row)."""
    return None if table is None or not len(rows) else table.take(rows)


def _marked(rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(picked, number)``: the distinct ``rows`` (of ``n``) in order, and each of the ``n`` rows'
    position among them (-1 when not picked); a mark per row, no sort."""
    mark = np.zeros(n, dtype=bool)
    mark[rows] = True
    number = np.cumsum(mark, dtype=np.int64) - 1
    number[~mark] = -1
    return np.flatnonzero(mark), number


def _shape_pairs(parcels, near_lots, candidates, crs, with_nulls, columns, names):
    """``(shapes, others, surfaces, pairs)``: the candidate surfaces decoded, the very large ones
    split and cut as the local run cuts them (:func:`sba.bulk.chunks.split_surfaces`;
    ``surfaces``: each row's :data:`gis.tiles.SURFACE`, its row in the layer, or None), the
    neighbouring lots decoded, and the (surface, lot) pairs of an STRtree of the chunk's lots
    then the others, capped as the local run caps them."""
    lot_nulls, feature_nulls = with_nulls
    others = decoded(near_lots, crs, lot_nulls, like=parcels)
    everyone = np.concatenate([parcels.geometry.to_numpy(), others.geometry.to_numpy()])
    shapes, surfaces = split_surfaces(decoded(candidates, crs, feature_nulls, columns=columns), everyone)
    if surfaces is not None:
        surfaces["surface"] = shapes.index.to_numpy()  # each part's surface: its row in the layer
    geoms = shapes.geometry.to_numpy()
    pairs = capped_pairs(sliced(shapely.STRtree(everyone).query, geoms), shapely.bounds(geoms),
                         shapely.bounds(everyone), names)
    return shapes, others, surfaces, pairs


def measure_pieces(rows, own, near, feats, waters, columns, crs, schedule, opts, has_water, with_nulls, names):
    """Chunk ``rows`` (its lots in the local run's order) measured with exactly the features,
    neighbouring lots, water and (feature, lot) pairs the local run gives it (see
    :func:`sba.bulk.run._chunk_data`), found by bounding boxes; the table as Arrow.  Stacked
    copies are refused as in the local run (:mod:`sba.bulk.pairing`, the cap of the chunk's
    surfaces and lots; ``names`` are the layers' file names for the refusal)."""
    import pyarrow as pa

    lot_nulls, feature_nulls = with_nulls
    lots = concat_pieces(own)
    lots = lots.take(np.searchsorted(lots.column(ROW).to_numpy(), rows))  # Hilbert order
    parcels = decoded(lots, crs, lot_nulls)
    n_own = len(parcels)
    # every (feature, lot) pair whose boxes meet, lots counted as the chunk's then the others near it
    near_lots, candidates = concat_pieces(near), concat_pieces(feats)
    found = None if _may_split(candidates) else \
        box_pairs(_boxes_of(candidates), np.concatenate([_boxes(lots), _boxes_of(near_lots)]))
    if found is None:  # by the shapes' tree; stacked copies are refused here
        shapes, others, surfaces, found = _shape_pairs(parcels, near_lots, candidates, crs, with_nulls, columns[1],
                                                       names)
        n_features = len(shapes)

        def pick(features_hit, near_hit):
            return shapes.iloc[features_hit], others.iloc[near_hit]
    else:  # by the boxes: only the features and neighbours in play are decoded
        surfaces, n_features = None, _rows_of(candidates)

        def pick(features_hit, near_hit):
            return (decoded(_taken(candidates, features_hit), crs, feature_nulls, columns=columns[1]),
                    decoded(_taken(near_lots, near_hit), crs, lot_nulls, like=parcels))

    pair_f, pair_l = found
    # the features that meet a lot of the chunk, and the other lots those meet (the context)
    hit, f_number = _marked(pair_f[pair_l < n_own], n_features)
    keep = f_number[pair_f] >= 0
    pair_f, pair_l = f_number[pair_f[keep]], pair_l[keep]
    near = pair_l >= n_own
    near_hit, l_number = _marked(pair_l[near] - n_own, _rows_of(near_lots))
    pair_l[near] = n_own + l_number[pair_l[near] - n_own]
    features, context = pick(hit, near_hit)
    if surfaces is not None:
        surfaces = surfaces[hit]
    # each feature's lots in input order, as the local run lists them (the pairs come by feature:
    # a stable sort finds the runs)
    labels = np.concatenate([parcels.index.to_numpy(), context.index.to_numpy()]).astype(np.int64)
    by_pair = np.argsort(pair_f * (int(labels.max(initial=0)) + 1) + labels[pair_l], kind="stable")
    pairs = (pair_f[by_pair], pair_l[by_pair])
    water = None
    if has_water:
        w = concat_pieces(waters)
        water = decoded(None if w is None else w.take(_meeting(_boxes(w), parcels.geometry.to_numpy())), crs, set())
    for col in features.columns.drop(features.geometry.name):  # categoricals, as the local run reads them
        features[col] = features[col].astype("category")
    if opts.class_field:
        parcels[opts.class_field] = parcels[opts.class_field].astype("category")
        context[opts.class_field] = context[opts.class_field].astype("category")
    table = measure_chunk(parcels, features, water, schedule, opts, context, pairs, surfaces)
    return pa.Table.from_pandas(table, preserve_index=False)
