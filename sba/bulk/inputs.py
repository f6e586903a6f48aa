"""Reading the layers of a bulk run (GeoParquet: only the columns the run uses)."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd

import gis
from sba.bulk.prefetch import Prefetch, is_parquet, parquet_columns

__all__ = ["read_input", "refuse_shapes_as_field", "require_columns"]


def read_input(path, layer, role: str, wanted: list[str], prefetched: Prefetch | None = None) -> gpd.GeoDataFrame:
    """Read a layer; for GeoParquet read only the wanted columns (the rest is never
    used), taking the table from ``prefetched`` when it was read there already."""
    if is_parquet(path):
        cols = parquet_columns(path, wanted)
        if cols is not None:  # else unreadable: let read_layer explain
            table = prefetched.take(path, cols) if prefetched is not None else None
            return gis.read_layer(path, layer=layer, role=role, columns=cols, table=table)
    return gis.read_layer(path, layer=layer, role=role)


def require_columns(columns: Iterable[str], geometry: str, wanted: list[str], role: str = "parcels") -> None:
    """Refuse, in one sentence listing the columns there are, a layer without a column the run needs
    or whose named column is its shapes."""
    columns = list(columns)
    for col in wanted:
        refuse_shapes_as_field(col, geometry, role, columns)
        if col not in columns:
            cols = ", ".join(c for c in columns if c != geometry)
            raise gis.MissingFieldError(f"The {role} layer has no column called {col!r}; its columns are: {cols}.")


def refuse_shapes_as_field(field: str | None, geometry: str, role: str, columns: Iterable[str]) -> None:
    """A field option (``--id-field geometry``) that names the layer's shapes is refused in one sentence."""
    if field is not None and field == geometry:
        cols = ", ".join(c for c in columns if c != geometry)
        raise gis.MissingFieldError(f"{field!r} is the {role} layer's shapes, not a column of values; "
                                    f"its columns are: {cols}.")
