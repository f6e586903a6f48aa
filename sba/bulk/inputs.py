"""Reading the layers of a bulk run (GeoParquet: only the columns the run uses)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

import geopandas as gpd

import gis
from categorize.errors import UnknownClassError
from categorize.schedule import RateSchedule
from gis.shapes import FEATURE_TYPES, TYPE_COLUMNS, normalise_type, type_column
from sba.bulk.options import ReassessOptions
from sba.bulk.prefetch import Prefetch, is_parquet, parquet_columns, read_table
from sba.bulk.wkb_layer import WkbLayer, open_wkb_layer
from sba.engine import class_choices, quoted_codes, rules_for, unknown_classes

__all__ = [
    "QUOTED_TYPES",
    "class_notes",
    "file_columns",
    "no_type_column_note",
    "read_input",
    "read_kept",
    "refuse_shapes_as_field",
    "require_columns",
    "require_type_field",
    "type_count_notes",
    "type_notes",
]


def read_input(path, layer, role: str, wanted: list[str], prefetched: Prefetch | None = None) -> gpd.GeoDataFrame:
    """Read a layer; for GeoParquet read only the wanted columns (the rest is never
    used), taking the table from ``prefetched`` when it was read there already."""
    if is_parquet(path):
        cols = parquet_columns(path, wanted)
        if cols is not None:  # else unreadable: let read_layer explain
            table = prefetched.take(path, cols) if prefetched is not None else None
            return gis.read_layer(path, layer=layer, role=role, columns=cols, table=table)
    return gis.read_layer(path, layer=layer, role=role)


def read_kept(path, layer, role: str, wanted: list[str], prefetched: Prefetch | None, crs=None,
              threads: int = 1, categories: tuple[str, ...] = ()) -> gpd.GeoDataFrame | WkbLayer:
    """:func:`read_input`, the layer kept as WKB where it can be (a GeoParquet table
    in ``crs`` if given, ``categories`` read as categoricals: :mod:`sba.bulk.wkb_layer`)."""
    cols = parquet_columns(path, wanted) if is_parquet(path) else None
    if cols is not None:
        table = prefetched.take(path, cols) if prefetched is not None else _table(path, cols)
        if table is not None:
            kept = open_wkb_layer(table, Path(str(path)).name, crs, threads, categories)
            if kept is not None:
                return kept
            return gis.read_layer(path, layer=layer, role=role, columns=cols, table=table)
    return read_input(path, layer, role, wanted, prefetched)


def _table(path, cols: list[str]):
    """The file as a pyarrow table, or None (the reader then explains what is wrong with it)."""
    try:
        return read_table(path, cols)
    except Exception:
        return None


def file_columns(path, read: Iterable[str], geometry: str) -> list[str]:
    """The attribute columns a layer's file has, for a refusal to list: a GeoParquet file's from
    its schema (the run reads only the columns it uses), other files' as read (all of them,
    ``geometry`` the shapes)."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
            geo = json.loads((schema.metadata or {}).get(b"geo", b"{}"))
            shapes = set(geo.get("columns", {})) | {geo.get("primary_column")}
            return [c for c in schema.names if c not in shapes and not c.startswith("__index_level_")]
        except Exception:  # the file was read, so this is not expected; list what was read
            pass
    return [c for c in read if c != geometry]


def require_type_field(columns: Iterable[str], type_field: str) -> None:
    """Refuse a ``--type-field`` the features do not have, as :func:`gis.measure_lots` does: the
    default ``feature_type`` may be missing (the layer's own type column is used, else none)."""
    if type_field != "feature_type" and type_field not in columns:
        cols = ", ".join(columns) or "(none)"
        raise gis.MissingFieldError(f"The features layer has no column called {type_field!r}; its columns are: "
                                    f"{cols}. Name the right one with --type-field.")


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


def class_notes(counts: pd.Series, opts: ReassessOptions) -> list[str]:
    """A note naming the class codes (after ``--class-map``) that are no property class: their
    lots are error rows.  When no lot has a class the run is refused before it starts (a
    county's land-use codes passed without ``--class-map`` would make every row an error).
    ``counts``: the count of each value of the ``--class-field`` column, missing ones included."""
    if not opts.class_field:
        return []
    codes = unknown_classes(counts, opts.class_map)
    n_bad, n = sum(codes.values()), int(counts.sum())
    if not n_bad:
        return []
    if n_bad == n:
        # an example the shell takes as one argument (codes with "," or "=" cannot be mapped)
        named = sorted((c for c in codes if c and not {",", "="} & set(c)), key=lambda c: (-codes[c], c))[:2]
        example = f", e.g. --class-map {shlex.quote(','.join(f'{c}=CLASS' for c in named))}" if named else ""
        raise UnknownClassError(f"None of the {n:,} lots has a property class in {opts.class_field!r}: its codes are "
                                f"{quoted_codes(codes)}. Map them to {class_choices()} with --class-map{example}.")
    return [f"{n_bad:,} lots have a class code that is no property class: {quoted_codes(codes)}. They are error "
            "rows; map the codes with --class-map CODE=CLASS."]


#: how many unknown type names a note quotes before "and N more"
QUOTED_TYPES = 5


def type_notes(features: pd.DataFrame, type_field: str, schedule: RateSchedule, names: dict) -> list[str]:
    """A note naming the feature types the engine does not know and the surfaces without a type.

    Both count as billable (README: feature types), which is right for a surface nobody labelled
    but wrong for a dock someone called "jetty": the analyst should see them, not find them in a bill.
    """
    column = type_column(features.columns, type_field)
    if not len(features):
        return []
    if column is None:
        return no_type_column_note(len(features), names)
    return type_count_notes(features[column].value_counts(dropna=False, sort=False), schedule, names)


def no_type_column_note(n_features: int, names: dict) -> list[str]:
    """The note of a features layer with no type column: every surface is billable, docks too."""
    columns = ", ".join(TYPE_COLUMNS[:-1]) + " or " + TYPE_COLUMNS[-1]
    return [f"{names['features']} has no feature-type column ({columns}): all {n_features:,} surfaces count as "
            "billable 'other', docks too; if a column holds the types, name it with --type-field."]


def type_count_notes(counts: pd.Series, schedule: RateSchedule, names: dict) -> list[str]:
    """:func:`type_notes` from the count of each type value (missing ones included)."""
    known = set(FEATURE_TYPES) | set(gis.PRECEDENCE) | set(rules_for(schedule).billable)
    missing = int(sum(n for v, n in counts.items() if pd.isna(v) or not str(v).strip()))
    unknown = sorted(((-int(n), str(v)) for v, n in counts.items()
                      if n and not pd.isna(v) and str(v).strip() and normalise_type(v) not in known))
    if not unknown and not missing:
        return []
    parts = []
    if unknown:
        quoted = ", ".join(f"'{_shorten(name)}'" for _, name in unknown[:QUOTED_TYPES])
        more = f" and {len(unknown) - QUOTED_TYPES} more" if len(unknown) > QUOTED_TYPES else ""
        parts.append(f"{-sum(n for n, _ in unknown):,} surfaces in {names['features']} have a type this rate "
                     f"schedule does not name ({quoted}{more}): they count as billable.")
    if missing:
        parts.append(f"{missing:,} surfaces have no type: they count as billable 'other'.")
    parts.append("Give them one of the known types (roof, driveway, dock, …) if they are not hard surfaces.")
    return [" ".join(parts)]


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
