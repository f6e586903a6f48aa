"""Big layers kept as their WKB until a chunk needs their shapes.

Decoding every lot and surface of a city in the run's one process was its
largest serial step (``shapely.from_wkb`` holds the interpreter: 2.2 s for
3.46 million surfaces and 0.7 s for a million lots, while the other core
waited).  When the features come as a big GeoParquet table in the parcels'
own CRS, the run instead reads each shape's bounding box from the WKB bytes
(:func:`sba.bulk.boxes.wkb_boxes`, compiled), orders the lots and pairs the
surfaces with them by those boxes (:func:`sba.bulk.boxes.hilbert_distance`,
:func:`sba.bulk.boxes.feature_lot_pairs`), and each chunk decodes only its
own lots and surfaces, on the worker that measures it.  The chunks, the pairs
and therefore the table are those of the run that decodes everything first.

Any other layer (another format, a small one, numba missing, features in
another CRS than the lots) is read as before: :func:`open_wkb_layer` then
returns None.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

from gis.errors import UnreadableFileError
from gis.io import refuse_nested_collections
from gis.overlay import axis_boxes
from gis.tiles import SPLIT_COORDS, SURFACE, cut_once
from sba.bulk.boxes import wkb_boxes
from sba.bulk.heap import give_back

__all__ = ["WKB_COORD_BYTES", "WKB_MIN_FEATURES", "WkbLayer", "decoded", "open_wkb_layer", "room_for_large",
           "wants_wkb"]

#: A coordinate takes at least this many bytes of WKB (two doubles).
WKB_COORD_BYTES = 16

#: Fewer surfaces than this are decoded at once as before: importing numba and loading the
#: compiled box reader (about 0.3 s) is repaid by decoding about half a million surfaces.
WKB_MIN_FEATURES = 500_000


class WkbLayer:
    """A layer as attribute columns plus WKB; :meth:`take` decodes the rows a chunk uses.

    It answers what the run asks of a layer otherwise (``len``, ``columns``,
    ``layer[column]``, ``active_geometry_name``, ``crs``) and gives each
    shape's box (``bounds``, NaN for a row without a shape) and whether the shape is an
    axis-aligned box (``is_box``, as :func:`gis.overlay.axis_boxes` decides) without decoding it.
    """

    def __init__(self, attrs: pd.DataFrame, wkb, crs: CRS, active_geometry_name: str, bounds: np.ndarray,
                 is_box: np.ndarray):
        self.attrs, self.wkb, self.crs = attrs, wkb, crs
        self.active_geometry_name, self.bounds, self.is_box = active_geometry_name, bounds, is_box

    def __len__(self) -> int:
        return len(self.attrs)

    def __getitem__(self, column: str) -> pd.Series:
        return self.attrs[column]

    @property
    def columns(self) -> list[str]:
        """The attribute columns, then the shapes' column, as a GeoDataFrame lists them."""
        return [*self.attrs.columns, self.active_geometry_name]

    def keep(self, columns: list[str]) -> WkbLayer:
        """The same layer with only these attribute columns."""
        return WkbLayer(self.attrs[columns], self.wkb, self.crs, self.active_geometry_name, self.bounds, self.is_box)

    def reset_index(self) -> WkbLayer:
        """The same layer numbered 0, 1, 2, ... (``GeoDataFrame.reset_index(drop=True)``)."""
        return WkbLayer(self.attrs.reset_index(drop=True), self.wkb, self.crs, self.active_geometry_name,
                        self.bounds, self.is_box)

    def take(self, rows: np.ndarray) -> gpd.GeoDataFrame:
        """Rows ``rows`` (positions) as the GeoDataFrame reading the file would give, index kept."""
        import pyarrow as pa

        wkb = self.wkb.take(pa.array(np.asarray(rows, dtype=np.int64)))
        shapes = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
        frame = self.attrs.iloc[rows]
        frame[self.active_geometry_name] = gpd.GeoSeries(shapes, index=frame.index, crs=self.crs)
        return gpd.GeoDataFrame(frame, geometry=self.active_geometry_name, crs=self.crs)

    def split_large(self, lot_boxes: np.ndarray, threads: int = 1) -> tuple[WkbLayer, np.ndarray | None]:
        """``(layer, surfaces)``: the layer with its surfaces of more than
        :data:`gis.tiles.SPLIT_COORDS` coordinates as their parts and tiles, cut once
        (:func:`gis.tiles.cut_once` with the lots' boxes, as :func:`sba.bulk.chunks.split_surfaces`
        cuts a decoded layer's), and each row's surface; ``(self, None)`` when none is that large.
        Only the rows whose WKB has room for so many coordinates are decoded."""
        import pyarrow as pa

        room = np.flatnonzero(room_for_large(self.wkb))
        if not len(room):
            return self, None
        boxes = lot_boxes[~np.isnan(lot_boxes).any(axis=1)]
        lots = shapely.box(*boxes.T) if len(boxes) else None
        cut = cut_once(shapely.from_wkb(self.wkb.take(pa.array(room)).to_numpy(zero_copy_only=False)), lots, threads)
        if cut is None:
            return self, None
        del lots
        give_back()  # what the cut freed, before the layer's WKB is copied
        return self._with_tiles(room, *cut)

    def _with_tiles(self, room: np.ndarray, tiles: np.ndarray, of: np.ndarray) -> tuple[WkbLayer, np.ndarray]:
        """The layer with each ``room`` row replaced by its ``tiles`` (``of``: their
        :data:`gis.tiles.SURFACE` among the ``room`` rows, in order; none when all its parts are
        far from every lot), and each row's :data:`gis.tiles.SURFACE`.  The WKB is copied once,
        from slices of the old column and of the tiles'."""
        import pyarrow as pa

        counts = np.ones(len(self), dtype=np.int64)
        counts[room] = np.bincount(of["surface"], minlength=len(room))
        surfaces = np.zeros(int(counts.sum()), dtype=SURFACE)
        surfaces["surface"] = np.repeat(np.arange(len(self)), counts)
        was_cut = np.zeros(len(self), dtype=bool)
        was_cut[room] = True
        cut_rows = was_cut[surfaces["surface"]]
        surfaces["repaired"][cut_rows] = of["repaired"]
        tile_wkb = pa.array(shapely.to_wkb(tiles), type=self.wkb.type)
        at = np.concatenate([[0], np.cumsum(counts[room])])
        pieces, start = [], 0
        for i, row in enumerate(room):
            pieces += [self.wkb.slice(start, row - start), tile_wkb.slice(at[i], at[i + 1] - at[i])]
            start = row + 1
        pieces.append(self.wkb.slice(start))
        bounds, is_box = self.bounds[surfaces["surface"]], self.is_box[surfaces["surface"]]
        is_box[cut_rows], bounds[cut_rows] = axis_boxes(tiles)
        wkb = pa.chunked_array(pieces, type=self.wkb.type).combine_chunks()
        layer = WkbLayer(self.attrs.iloc[surfaces["surface"]], wkb, self.crs, self.active_geometry_name, bounds,
                         is_box)
        return layer, surfaces


def room_for_large(wkb) -> np.ndarray:
    """Per row of an Arrow WKB column: whether its bytes have room for more than
    :data:`gis.tiles.SPLIT_COORDS` coordinates (each takes :data:`WKB_COORD_BYTES` or more), so
    that it may be a surface :func:`gis.tiles.cut_once` splits or cuts."""
    import pyarrow.compute as pc

    return pc.fill_null(pc.binary_length(wkb), 0).to_numpy() > WKB_COORD_BYTES * SPLIT_COORDS


def decoded(layer: gpd.GeoDataFrame | WkbLayer) -> gpd.GeoDataFrame:
    """The layer as a GeoDataFrame (every shape decoded)."""
    return layer.take(np.arange(len(layer))) if isinstance(layer, WkbLayer) else layer


def wants_wkb(path) -> bool:
    """Whether a features file has rows enough to be kept as WKB (and so its lots with it), and numba is here.

    It imports the compiled box reader when it answers yes: the run first asks while pyarrow
    is still reading the layers (on its own threads, without the interpreter lock), so that
    importing numba costs no time of its own.
    """
    import pyarrow.parquet as pq

    from sba.bulk.prefetch import is_parquet

    try:
        if not is_parquet(path) or pq.read_metadata(path).num_rows < WKB_MIN_FEATURES:
            return False
        import sba.bulk.boxes_jit  # noqa: F401  (numba: the box reader and the pairing)
    except Exception:  # no numba, or a file the reader will explain
        return False
    return True


def open_wkb_layer(table, name: str, crs=None, threads: int = 1,
                   categories: tuple[str, ...] = ()) -> WkbLayer | None:
    """``table`` (a GeoParquet table read by pyarrow) as a :class:`WkbLayer`, or None to read it as before.

    None unless its shapes are WKB with a known CRS (``crs`` if given), at
    least one has an area, and every row without a box is one without a shape
    (a shape with a NaN coordinate is decoded with the rest, as before); a row
    whose WKB is torn is refused as the reader refuses it.  The ``categories``
    columns become pandas categoricals, as ``astype("category")`` makes them.
    """
    if table is None or not table.num_rows:
        return None
    found = _wkb_column(table)
    if found is None:
        return None
    column, own = found
    if own is None or (crs is not None and own != CRS.from_user_input(crs)):
        return None
    wkb = table.column(column)
    refuse_nested_collections(wkb, name)  # before any reader walks them
    wkb = wkb.chunk(0) if wkb.num_chunks == 1 else wkb.combine_chunks()
    try:
        bounds, kinds, is_box = wkb_boxes(wkb, threads)
    except Exception as err:  # a torn row: shapely could not decode it
        raise UnreadableFileError(f"We could not read {name!r} as GeoParquet; the file may be damaged.") from err
    no_box = np.isnan(bounds).any(axis=1)
    if not (np.isin(kinds, (3, 6, 7)) & ~no_box).any() or not _all_without_shape(wkb, np.flatnonzero(no_box)):
        return None  # read it as before: the reader and the engine say what is wrong with it
    return WkbLayer(_attributes(table.drop_columns([column]), categories), wkb, own, column, bounds, is_box)


def _attributes(table, categories: tuple[str, ...]) -> pd.DataFrame:
    """The attribute columns as pandas reads them, ``categories`` as categoricals: encoded
    by Arrow (a few codes in millions of rows), their categories sorted as pandas sorts them."""
    import pyarrow as pa

    def is_text(c: str) -> bool:
        kind = table.schema.field(c).type
        return pa.types.is_string(kind) or pa.types.is_large_string(kind)

    text = [c for c in categories if c in table.column_names and is_text(c)]
    for c in text:
        table = table.set_column(table.column_names.index(c), c, table.column(c).dictionary_encode())
    attrs = table.to_pandas()
    for c in categories:
        if c in text:
            attrs[c] = attrs[c].cat.reorder_categories(sorted(attrs[c].cat.categories))
        elif c in attrs.columns:
            attrs[c] = attrs[c].astype("category")
    return attrs


def _all_without_shape(wkb, rows: np.ndarray) -> bool:
    """Whether each of these rows is missing or empty (not a shape whose box is NaN)."""
    if not len(rows):
        return True
    import pyarrow as pa

    shapes = shapely.from_wkb(wkb.take(pa.array(rows)).to_numpy(zero_copy_only=False))
    return bool((shapely.is_missing(shapes) | shapely.is_empty(shapes)).all())


def _wkb_column(table) -> tuple[str, CRS | None] | None:
    """The primary geometry column and its CRS, when the GeoParquet metadata says it is WKB."""
    try:
        meta = json.loads((table.schema.metadata or {})[b"geo"])
        column = meta["primary_column"]
        info = meta["columns"][column]
        if str(info.get("encoding", "")).upper() != "WKB" or column not in table.column_names:
            return None
        # GeoParquet: a missing "crs" key means OGC:CRS84, a null one an unknown CRS
        crs = info.get("crs", "OGC:CRS84")
        return column, (None if crs is None else CRS.from_user_input(crs))
    except Exception:  # no or odd metadata: the reader explains
        return None
