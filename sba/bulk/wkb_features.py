"""A big features layer kept as its WKB until a chunk needs its shapes.

Decoding every surface of a city in the run's one process was its largest
serial step (``shapely.from_wkb`` holds the interpreter: 2.2 s for 3.46
million surfaces, while the other core waited).  When the features come as a
GeoParquet table in the parcels' own CRS, the run instead reads each
surface's bounding box from the WKB bytes (:func:`sba.bulk.boxes.wkb_boxes`,
compiled), pairs surfaces with lots by those boxes
(:func:`sba.bulk.boxes.feature_lot_pairs`), and each chunk decodes only its
own surfaces, on the worker that measures it.  The chunks, the pairs and
therefore the table are those of the run that decodes everything first.

Any other layer (another format or CRS, a small one, numba missing) is read as
before: :func:`open_wkb_features` then returns None.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

from gis.errors import UnreadableFileError
from sba.bulk.boxes import wkb_boxes

__all__ = ["WKB_MIN_FEATURES", "WkbFeatures", "load_reader_for", "open_wkb_features"]

#: Fewer surfaces than this are decoded at once as before: importing numba and loading the
#: compiled box reader (about 0.3 s) is repaid by decoding about half a million surfaces.
WKB_MIN_FEATURES = 500_000


class WkbFeatures:
    """The features layer as attribute columns plus WKB; :meth:`take` decodes the rows a chunk uses.

    It answers what the run asks of the layer otherwise (``len``, ``columns``,
    ``active_geometry_name``, ``crs``) and gives each surface's box (``bounds``, NaN
    for a row without a shape) without decoding it.
    """

    def __init__(self, attrs: pd.DataFrame, wkb, crs: CRS, active_geometry_name: str, bounds: np.ndarray):
        self.attrs, self.wkb, self.crs = attrs, wkb, crs
        self.active_geometry_name, self.bounds = active_geometry_name, bounds

    def __len__(self) -> int:
        return len(self.attrs)

    @property
    def columns(self) -> list[str]:
        """The attribute columns, then the shapes' column, as a GeoDataFrame lists them."""
        return [*self.attrs.columns, self.active_geometry_name]

    def keep(self, columns: list[str]) -> WkbFeatures:
        """The same layer with only these attribute columns."""
        return WkbFeatures(self.attrs[columns], self.wkb, self.crs, self.active_geometry_name, self.bounds)

    def take(self, rows: np.ndarray) -> gpd.GeoDataFrame:
        """Rows ``rows`` (positions) as the GeoDataFrame reading the file would give, index kept."""
        import pyarrow as pa

        shapes = shapely.from_wkb(self.wkb.take(pa.array(rows, type=pa.int64())).to_numpy(zero_copy_only=False))
        attrs = self.attrs.iloc[rows]
        return gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(shapes, index=attrs.index, crs=self.crs),
                                crs=self.crs)


def open_wkb_features(table, name: str, parcels_crs, threads: int = 1) -> WkbFeatures | None:
    """``table`` (a GeoParquet table read by pyarrow) as :class:`WkbFeatures`, or None to read it as before.

    None unless it has at least :data:`WKB_MIN_FEATURES` rows of WKB labelled
    with ``parcels_crs`` and numba is installed; a row whose WKB is torn is
    refused as the reader refuses it.
    """
    if table is None or table.num_rows < WKB_MIN_FEATURES or parcels_crs is None:
        return None
    try:
        import sba.bulk.boxes_jit  # noqa: F401  (numba: the box reader and the pairing)
    except ImportError:
        return None
    found = _wkb_column(table)
    if found is None:
        return None
    column, crs = found
    if crs is None or crs != CRS.from_user_input(parcels_crs):
        return None
    wkb = table.column(column)
    wkb = wkb.chunk(0) if wkb.num_chunks == 1 else wkb.combine_chunks()
    try:
        bounds, kinds = wkb_boxes(wkb, threads)
    except Exception as err:  # a torn row: shapely could not decode it
        raise UnreadableFileError(f"We could not read {name!r} as GeoParquet; the file may be damaged.") from err
    polygonal = np.isin(kinds, (3, 6, 7)) & ~np.isnan(bounds).any(axis=1)
    if not polygonal.any():  # read it as before: the reader says what is wrong with it
        return None
    attrs = table.drop_columns([column]).to_pandas()
    return WkbFeatures(attrs, wkb, crs, column, bounds)


def load_reader_for(path) -> None:
    """Import the compiled box reader now if ``path`` is a GeoParquet file big enough to be kept as WKB.

    The run calls this while pyarrow is still reading the layers (on its own
    threads, without the interpreter lock), so that importing numba costs no time of its own.
    """
    import pyarrow.parquet as pq

    from sba.bulk.prefetch import is_parquet

    try:
        if is_parquet(path) and pq.read_metadata(path).num_rows >= WKB_MIN_FEATURES:
            import sba.bulk.boxes_jit  # noqa: F401
    except Exception:  # no numba, or a file the reader will explain
        return


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
