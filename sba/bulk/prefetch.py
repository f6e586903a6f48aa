"""Read GeoParquet layers on a thread while ``sba`` is still starting up.

Importing pandas and geopandas takes about half a second, and holds the
interpreter the whole time; pyarrow reads and decompresses a Parquet file in
C++ without it.  ``sba reassess`` therefore starts reading its GeoParquet
layers here, with pyarrow alone, before it imports the rest, and
:func:`sba.bulk.reassess` turns the tables into GeoDataFrames the way
``geopandas.read_parquet`` does (:func:`gis.read_layer` with ``table=``).

Nothing here decides anything: a file that cannot be read is simply not
prefetched, and the normal reader then reads it and explains what is wrong.
This module imports only pyarrow, so that it can run before the rest.
"""

from __future__ import annotations

import threading
from pathlib import Path

PARQUET_SUFFIXES = (".parquet", ".geoparquet")


def is_parquet(path) -> bool:
    """Whether the path names a (Geo)Parquet file, by its suffix."""
    return path is not None and Path(str(path)).suffix.lower() in PARQUET_SUFFIXES


def wanted_columns(id_field: str, class_field: str | None, dwelling_units_field: str | None,
                   type_field: str) -> dict[str, list[str]]:
    """The attribute columns ``sba reassess`` uses, per layer."""
    return {"parcels": [c for c in (id_field, class_field, dwelling_units_field) if c],
            "features": [type_field], "water": []}


#: Where a features layer without ``feature_type`` holds its types, in this order
#: (:data:`gis.shapes.TYPE_COLUMNS` after ``feature_type``; this module imports no gis).
TYPE_FALLBACKS = ("feature_ty", "type", "TYPE", "Type")


def parquet_columns(path, wanted: list[str]) -> list[str] | None:
    """The attribute columns to read from a GeoParquet file: the ``wanted`` ones
    it has, and for a wanted ``feature_type`` the file does not have, the column
    that holds the types instead (the first of :data:`TYPE_FALLBACKS` it has, as
    :func:`gis.measure_lots` takes it).  None when the file's schema cannot be read
    (the reader explains why)."""
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception:
        return None
    cols = [c for c in wanted if c in names]
    if "feature_type" in wanted and "feature_type" not in names:
        cols += [c for c in TYPE_FALLBACKS if c in names][:1]
    return cols


def read_table(path, cols: list[str]):
    """The ``cols`` and the "geometry" column of a GeoParquet file, as ``geopandas.read_parquet``
    reads them (it adds the index columns too), as a pyarrow table.

    The file is memory-mapped: pyarrow then decompresses from the page cache instead of
    first copying the compressed bytes into buffers of its own (a third less time for a
    city's layers).  The table's columns are pyarrow's own buffers, not views of the file,
    so a file replaced or truncated after the read does not touch them."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, memory_map=True).read(columns=[*cols, "geometry"], use_pandas_metadata=True)


class Prefetch:
    """Reads ``{path: wanted columns}``, each layer on a thread of its own; :meth:`take` hands a table over.

    A thread per layer, because reading one layer keeps about one core busy (pyarrow shares
    a file's columns out among its threads, and the shapes are one column): read one after
    the other, the layers would leave a core idle while the interpreter imports.
    Call :meth:`wait` before forking: pyarrow's threads must be idle then.
    """

    def __init__(self, layers: dict[str, list[str]]) -> None:
        wanted = {str(p): list(w) for p, w in layers.items() if is_parquet(p)}
        self._tables: dict[str, tuple[list[str], object]] = {}
        self._threads = [threading.Thread(target=self._read, args=(path, cols), name="sba-prefetch", daemon=True)
                         for path, cols in wanted.items()]
        for thread in self._threads:
            thread.start()

    def _read(self, path: str, wanted: list[str]) -> None:
        try:
            cols = parquet_columns(path, wanted)
            if cols is not None:
                self._tables[path] = (cols, read_table(path, cols))
        except Exception:  # e.g. no "geometry" column: the normal reader explains
            return

    def wait(self) -> None:
        """Block until the reading threads have read every layer they can."""
        for thread in self._threads:
            thread.join()

    def take(self, path, cols: list[str] | None):
        """The table read for ``path`` with exactly these attribute columns, or None."""
        self.wait()
        got = self._tables.pop(str(path), None)
        if got is None or cols is None or got[0] != list(cols):
            return None
        return got[1]
