"""The result of a bulk run: chunk tables collected, checked, sorted and written, and the summary.

The local run (:mod:`sba.bulk.run`) and the cluster run (:mod:`sba.bulk.cluster`)
both collect their chunk tables with :func:`collector` and assemble, check and
write the result with :func:`write_result` and :func:`summarise`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import geopandas as gpd

import gis
from sba.bulk.heap import give_back
from sba.bulk.options import ORDER, OUTPUT_COLUMNS, ReassessSummary
from sba.bulk.parts import PartRecord, PartStore
from sba.engine import repeated_id
from sba.errors import PreviousResultsError
from sba.output import from_spreadsheet_cell, spreadsheet_safe, write_atomic

__all__ = ["Phases", "Tally", "collector", "mark_repeated_ids", "summarise", "write_result", "write_result_streamed",
           "write_table_atomic"]


def write_table_atomic(table: pd.DataFrame, out: Path, crs=None, geometry=None) -> None:
    """Write the result by extension (.parquet, .csv, .gpkg) via a temporary file and a rename.

    Column types do not depend on the values: ``error`` and ``category`` are
    text even when every row is empty, ``service_units`` a decimal number
    (a float in a GeoPackage, which has no decimal type).
    """
    suffix = out.suffix.lower()

    def write(tmp: Path) -> None:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(_typed_arrow(table), tmp)
        elif suffix == ".csv":  # ids and codes from the utility's layers: no cell a spreadsheet runs
            spreadsheet_safe(table).to_csv(tmp, index=False)
        elif suffix == ".gpkg":
            typed = _for_gpkg(table)
            if geometry is not None:
                gpd.GeoDataFrame(typed, geometry=geometry, crs=crs).to_file(tmp, layer="billable_area", driver="GPKG")
            else:
                import sqlite3

                with sqlite3.connect(tmp) as con:
                    typed.to_sql("billable_area", con, index=False)
        else:
            raise ValueError(suffix)

    write_atomic(out, write)


_TEXT_COLUMNS = ("category", "error", "property_class")


def _typed_arrow(table: pd.DataFrame, places: int | None = None):
    """``table`` as an Arrow table with the result schema's types (see :func:`write_table_atomic`);
    ``places``: the service units' decimal places (else found from the values)."""
    import pyarrow as pa

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    for name in (*_TEXT_COLUMNS, "parcel_id"):
        if name in arrow.column_names and pa.types.is_null(arrow.schema.field(name).type):
            arrow = arrow.set_column(arrow.column_names.index(name), name, arrow[name].cast(pa.string()))
    if "service_units" in arrow.column_names:
        units = arrow["service_units"].cast(pa.string())
        arrow = arrow.set_column(arrow.column_names.index("service_units"), "service_units",
                                 units.cast(pa.decimal128(18, places or _places(table["service_units"]))))
        arrow = _pandas_reads_decimal(arrow, "service_units")
    return arrow


def _pandas_reads_decimal(arrow, name: str):
    """Say in the pandas metadata that ``name`` is decimal (else pandas reads it back as text)."""
    import json

    meta = dict(arrow.schema.metadata or {})
    if b"pandas" not in meta:
        return arrow
    pandas_meta = json.loads(meta[b"pandas"])
    for col in pandas_meta.get("columns", []):
        if col.get("name") == name:
            col.update(pandas_type="decimal", numpy_type="object", metadata=None)
    meta[b"pandas"] = json.dumps(pandas_meta).encode()
    return arrow.replace_schema_metadata(meta)


def _places(values: pd.Series) -> int:
    """Decimal places of the service units (2 for the bundled schedules)."""
    texts = [str(t) for t in pd.unique(values.dropna().to_numpy())]
    return max([2, *(len(t.partition(".")[2]) for t in texts)])


def _ascending_nulls_last(names: list[str]):
    """Arrow sort options: by ``names`` ascending, missing values last (said per key since pyarrow
    25, which deprecates the one setting for all keys that older versions take)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if int(pa.__version__.split(".")[0]) >= 25:
        return pc.SortOptions([(name, "ascending", "at_end") for name in names])
    return pc.SortOptions([(name, "ascending") for name in names], null_placement="at_end")


def _places_of(column) -> int:
    """:func:`_places` of an Arrow column, from its distinct values: a schedule has a few service
    unit values and a city a million rows, so only those few become Python decimals."""
    import pyarrow.compute as pc

    return _places(pd.Series(pc.unique(column).to_pylist(), dtype=object))


def _for_gpkg(table: pd.DataFrame) -> pd.DataFrame:
    typed = table.copy()
    typed["service_units"] = pd.to_numeric(typed["service_units"], errors="coerce").astype("float64")
    for name in _TEXT_COLUMNS:
        typed[name] = typed[name].astype("string")
    return typed


class Phases:
    """Seconds per phase of the run: ``phase("read")`` closes the phase that ends now."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._mark = time.perf_counter()

    def __call__(self, name: str) -> None:
        """Close the phase called ``name``: the seconds since the previous call."""
        now = time.perf_counter()
        self.times[name] = round(now - self._mark, 3)
        self._mark = now


def collector(n: int, finished: int, progress: Callable[[int, int], None] | None, parts: PartStore,
              keep: bool = True):
    """``(tables, finish)``: ``finish(k, table, record)`` keeps chunk ``k``'s table (unless
    not ``keep``: the part on disk is then the only copy), records its saved part in the
    manifest and reports progress."""
    tables: dict[int, pd.DataFrame] = {}
    if progress:
        progress(finished, n)

    def finish(k: int, table: pd.DataFrame, record: PartRecord) -> None:
        nonlocal finished
        if keep:
            tables[k] = table
        parts.record(k, record)
        finished += len(table)
        if progress:
            progress(finished, n)

    return tables, finish


def mark_repeated_ids(table: pd.DataFrame) -> int:
    """Give every row whose id other rows share an error and no billing fields; how many rows that is.

    ``table`` is sorted by parcel id, so rows of one id are neighbours.
    """
    ids = table.parcel_id.to_numpy()
    if len(ids) < 2:
        return 0
    present = ~pd.isna(ids)
    both = present[1:] & present[:-1]
    same = np.zeros(len(ids) - 1, dtype=bool)
    same[both] = ids[1:][both] == ids[:-1][both]
    if not same.any():
        return 0
    starts = np.flatnonzero(np.r_[True, ~same])  # first row of each run of one id
    sizes = np.diff(np.r_[starts, len(ids)])
    count = np.repeat(sizes, sizes)
    rows = np.flatnonzero(count > 1)
    error = table.error.to_numpy(dtype=object).copy()
    for i in rows:
        if pd.isna(error[i]):
            error[i] = repeated_id(ids[i], int(count[i]))
    table["error"] = error
    table.loc[rows, ["category", "service_units"]] = None
    whole = table["billable_sqft_rounded"].astype("Int64")
    whole.iloc[rows] = pd.NA
    table["billable_sqft_rounded"] = whole
    return len(rows)


def write_result(tables: dict[int, pd.DataFrame], chunks: Iterable[int], n: int, out: Path, crs,
                  lot_shapes: Callable[[pd.DataFrame], np.ndarray], check: Callable[[pd.DataFrame], None]):
    """One row per parcel, sorted by parcel id (input order among equal ids), checked and written to ``out``.

    ``check(table)`` refuses a table that is not every input lot once;
    ``lot_shapes(table)`` gives the shapes of the table's lots, in its order,
    and is called only for a GeoPackage output.  Returns the table and the
    shapes (None unless GeoPackage) and the number of rows with a repeated id.
    """
    table = pd.concat([tables[k] for k in chunks], ignore_index=True)
    type_cols = sorted(c for c in table.columns if c.startswith(gis.measure.TYPE_PREFIX))
    table[type_cols] = table[type_cols].fillna(0.0)
    extra = [c for c in ("raster_impervious_sqft", "raster_disagrees") if c in table.columns]
    table = table[[*OUTPUT_COLUMNS, *extra, *type_cols, ORDER]]
    table = table.sort_values(["parcel_id", ORDER], kind="stable", ignore_index=True)
    check(table)
    repeated = mark_repeated_ids(table)
    for name in _TEXT_COLUMNS:
        table[name] = table[name].astype("string")
    geometry = lot_shapes(table) if out.suffix.lower() == ".gpkg" else None
    table = table.drop(columns=ORDER)
    write_table_atomic(table, out, crs=crs, geometry=geometry)
    return table, geometry, repeated


class Tally:
    """What the summary counts of the result table, added up a batch of rows at a time."""

    def __init__(self) -> None:
        self.rows = self.errors = self.repaired = self.overlapping = 0
        self.raster_flags: int | None = None
        self.by_category: dict[str, int] = {}

    def add(self, table: pd.DataFrame) -> Tally:
        """Count a batch of result rows in (categories, errors, repaired shapes, raster flags)."""
        self.rows += len(table)
        for name, count in table.category[table.error.isna()].fillna("(not single-family)").value_counts().items():
            self.by_category[name] = self.by_category.get(name, 0) + int(count)
        self.errors += int(table.error.notna().sum())
        self.repaired += int(table.repaired.sum())
        self.overlapping += int(table.overlaps_another_lot.sum())
        if "raster_disagrees" in table:
            self.raster_flags = (self.raster_flags or 0) + int(table.raster_disagrees.fillna(False).sum())
        return self


def overlap_notes(n_lots: int) -> list[str]:
    """A note when lots overlap under a surface, which is then billed on each of them."""
    if not n_lots:
        return []
    return [f"{n_lots:,} parcels overlap another parcel under a surface (stacked condominium units, or a "
            "parcel drawn twice), so that surface is billed on each of them; they are marked in the "
            "overlaps_another_lot column. Check them before billing."]


def summarise(table: pd.DataFrame | Tally, n: int, start: float, chunks: int, resumed: int, out: Path,
              phases: dict[str, float], previous, parts: PartStore, *, repeated: int = 0,
              crs_note: str | None = None, notes: list[str] | None = None) -> ReassessSummary:
    """The run's summary, from the result table or (a streamed result) its :class:`Tally`."""
    tally = table if isinstance(table, Tally) else Tally().add(table)
    by_category = dict(sorted(tally.by_category.items(), key=lambda kv: (-kv[1], kv[0])))  # most lots first
    summary = ReassessSummary(
        parcels_in=n, parcels_out=tally.rows, seconds=time.perf_counter() - start,
        by_category=by_category, errors=tally.errors, repaired=tally.repaired,
        chunks=chunks, chunks_resumed=resumed, out=out, phases=phases,
        raster_flags=tally.raster_flags, repeated_ids=repeated, crs_note=crs_note,
        notes=[*(notes or []), *overlap_notes(tally.overlapping)],
    )
    if previous is not None:
        if isinstance(table, Tally):  # only the columns the comparison needs, from the written file
            table = _read_back(out, ["parcel_id", "category", "billable_area_sqft"])
        summary.changes, summary.changes_path = _compare_previous(table, previous, out)
        summary.notes += _unmatched_note(table.parcel_id, previous)
    parts.remove()
    return summary


def read_previous(path: str | Path) -> pd.DataFrame:
    """Last year's results for ``--previous``: ``parcel_id``, ``category`` (and ``billable_area_sqft`` if there),
    read and checked before a run starts, so that a bad file is known at once and not after the run.

    Raises
    ------
    PreviousResultsError
        The file is missing, not a CSV or Parquet table, lacks a column, or lists a parcel more than once.
    """
    path = Path(path)
    if not path.exists():
        raise PreviousResultsError(f"There is no previous-results file at {str(path)!r}.")
    if path.suffix.lower() not in {".csv", ".parquet"}:
        raise PreviousResultsError(f"The previous-results file must end in .csv or .parquet: {str(path)!r}.")
    try:
        prev = _read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError, pa.ArrowException) as err:
        raise PreviousResultsError(
            f"The previous-results file {path.name!r} cannot be read as a results table ({type(err).__name__})."
        ) from None
    if not {"parcel_id", "category"} <= set(prev.columns):
        raise PreviousResultsError(
            f"The previous-results file must have columns parcel_id and category; it has: {', '.join(prev.columns)}."
        )
    keep = ["parcel_id", "category"] + (["billable_area_sqft"] if "billable_area_sqft" in prev.columns else [])
    prev = prev[keep]
    if prev.parcel_id.isna().any():
        raise PreviousResultsError(f"The previous-results file has {int(prev.parcel_id.isna().sum())} rows "
                                   "without a parcel_id.")
    prev = prev.astype({"parcel_id": str})
    prev.attrs["name"] = path.name
    counts = prev.parcel_id.value_counts()
    if len(counts) and counts.iloc[0] > 1:
        raise PreviousResultsError(f"The previous-results file lists parcel {counts.index[0]!r} {counts.iloc[0]} times "
                                   f"({int((counts > 1).sum())} parcels more than once): one row per parcel, please.")
    return prev


def _compare_previous(table: pd.DataFrame, prev: pd.DataFrame, out: Path) -> tuple[int, Path]:
    cur = table[["parcel_id", "category", "billable_area_sqft"]].astype({"parcel_id": str})
    both = cur.merge(prev, on="parcel_id", how="outer", suffixes=("", "_previous"), indicator=True)
    changed = both[(both.category.fillna("") != both.category_previous.fillna("")) | (both._merge != "both")]
    changed = changed.assign(change=changed._merge.map({"both": "category changed", "left_only": "new parcel",
                                                        "right_only": "parcel gone"}).astype(str))
    path = out.with_name(out.stem + ".changes.csv")
    write_table_atomic(changed.drop(columns="_merge"), path)
    return len(changed), path


def _unmatched_note(ids: pd.Series, prev: pd.DataFrame) -> list[str]:
    """A note when under half the parcels of the smaller of this run and the previous results
    are in both: ids written another way ('00000123' against '123'), or another town's file,
    would otherwise list every parcel as new and gone."""
    cur = ids.astype(str)
    matched = int(cur.isin(prev.parcel_id).sum())
    if matched * 2 >= min(len(cur), len(prev)):
        return []
    name = prev.attrs.get("name", "the previous results")
    here, there = cur.iloc[0] if len(cur) else "", prev.parcel_id.iloc[0]
    return [f"Only {matched:,} of the {len(cur):,} parcels are in the previous results ({name}, {len(prev):,} "
            f"parcels; ids there look like {there[:40]!r}, here like {here[:40]!r}): check that both use the same "
            "parcel ids."]


def _read_back(out: Path, columns: list[str]) -> pd.DataFrame:
    if out.suffix.lower() == ".csv":
        return _read_csv(out, columns)
    return pd.read_parquet(out, columns=columns)


def _read_csv(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A CSV result as written: ids as text, the guard against spreadsheet formulas taken off."""
    table = pd.read_csv(path, usecols=columns, dtype={"parcel_id": str})
    for col in ("parcel_id", "category"):
        if col in table.columns:
            table[col] = table[col].map(from_spreadsheet_cell, na_action="ignore")
    return table


# --------------------------------------------------------------------------
# the result streamed from the parts on disk (a run bigger than the driver's memory)

#: rows of the result converted and written at a time
BATCH_ROWS = 200_000
#: rows of the result gathered from the parts at a time, a column at a time
GATHER_ROWS = 500_000


def write_result_streamed(parts: PartStore, chunks: Iterable[int], n: int, out: Path,
                          check: Callable[[object], None], shapes: Callable[[np.ndarray], np.ndarray] | None = None,
                          crs=None) -> tuple[Tally, int]:
    """:func:`write_result` from the saved parts, a batch at a time (``shapes(row keys)``: the lots'
    shapes of a batch, for a .gpkg output, in ``crs``).

    Only the sort keys (parcel id, input order) and ``n_features`` are held for
    all rows, sorted by Arrow; the rows of the sorted table are then gathered
    from the parts (uncompressed Arrow files, memory-mapped one column at a
    time, so that at most one column of the parts is mapped at once), given the
    types and the repeated-id errors :func:`write_result` gives, and appended to
    the output.  The file holds the same table as :func:`write_result` writes.
    ``check(table)`` (the keys as one Arrow table) refuses a table that is not every input lot once.
    Returns the summary's :class:`Tally` and the number of rows with a repeated id.
    """
    import pyarrow.compute as pc

    from sba.bulk.parts import part_path

    paths = [part_path(parts.folder, k) for k in chunks]
    schemas = [_schema(p) for p in paths]
    type_cols = sorted({c for sch in schemas for c in sch.names if c.startswith(gis.measure.TYPE_PREFIX)})
    extra = [c for c in ("raster_impervious_sqft", "raster_disagrees") if c in schemas[0].names]
    columns = [*OUTPUT_COLUMNS, *extra, *type_cols]
    gpkg = out.suffix.lower() == ".gpkg"
    keys = _columns(paths, schemas, ["parcel_id", ORDER, "n_features"])
    check(keys)
    perm = pc.sort_indices(keys.select(["parcel_id", ORDER]), options=_ascending_nulls_last(["parcel_id", ORDER]))
    counts = _id_run_lengths(keys.column("parcel_id").take(perm)).astype(np.int32)
    del keys
    give_back()
    places = max([2, *(_places_of(_columns([p], [sch], ["service_units"]).column(0))
                       for p, sch in zip(paths, schemas, strict=True))])
    tally = Tally()

    def write(tmp: Path) -> None:
        writer = None
        for first in range(0, n, GATHER_ROWS):
            gathered = _columns(paths, schemas, [*columns, *([ORDER] if gpkg else [])], perm[first:first + GATHER_ROWS])
            give_back()
            for start in range(0, len(gathered), BATCH_ROWS):
                batch = gathered.slice(start, BATCH_ROWS).to_pandas()
                batch[type_cols] = batch[type_cols].fillna(0.0)
                _mark_repeated_rows(batch, counts[first + start:first + start + BATCH_ROWS])
                for name in _TEXT_COLUMNS:
                    batch[name] = batch[name].astype("string")
                tally.add(batch)
                if gpkg:
                    writer = _append_gpkg(writer, batch, tmp, shapes, crs)
                else:
                    writer = _append(writer, batch[columns], tmp, places)
        if writer is not None:
            writer.close()

    write_atomic(out, write)
    return tally, int((counts > 1).sum())


def _schema(path: Path):
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).schema


def _columns(paths: list[Path], schemas: list, names: list[str], rows=None):
    """Columns ``names`` of the parts as one Arrow table (only ``rows`` of it, when given), each
    column memory-mapped from the parts only while its rows are copied out, part by part (a take
    from the whole column would first join it in memory: a column of the city at once)."""
    import pyarrow as pa

    sizes = [_rows(p) for p in paths]
    starts = np.r_[0, np.cumsum(sizes)]
    if rows is None:
        rows = np.arange(starts[-1])
    rows = np.asarray(rows).astype(np.int64)
    part_of = np.searchsorted(starts, rows, side="right") - 1
    by_part = np.argsort(part_of, kind="stable")
    cuts = np.searchsorted(part_of[by_part], np.arange(len(paths) + 1))
    back = np.empty_like(by_part)
    back[by_part] = np.arange(len(by_part))
    out = {}
    for name in names:
        fields = [pa.schema([sch.field(name)]) for sch in schemas if name in sch.names]
        # an all-null part has the null type; a part with no missing value an integer column that others have as float
        kind = pa.unify_schemas(fields, promote_options="permissive").field(name).type
        taken = [_part_column(p, sch, name, kind, sizes[i]).take(rows[by_part[cuts[i]:cuts[i + 1]]] - starts[i])
                 for i, (p, sch) in enumerate(zip(paths, schemas, strict=True)) if cuts[i + 1] > cuts[i]]
        column = pa.chunked_array(taken, type=kind).combine_chunks() if taken else pa.array([], type=kind)
        out[name] = column.take(back)
    return pa.table(out).replace_schema_metadata(schemas[0].metadata)  # pandas' types (Int64 columns)


def _part_column(path: Path, schema, name: str, kind, size: int):
    """One column of a part, memory-mapped, as one array of type ``kind`` (nulls when the part lacks it)."""
    import pyarrow as pa
    import pyarrow.feather as feather

    if name not in schema.names:
        return pa.nulls(size, kind)
    return feather.read_table(path, columns=[name], memory_map=True).column(0).combine_chunks().cast(kind)


def _rows(path: Path) -> int:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_file(source)
        return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))


def _append(writer, batch: pd.DataFrame, tmp: Path, places: int):
    """Append ``batch`` to the output being written (a ParquetWriter, or a CSV file by name)."""
    if tmp.suffix.lower() == ".csv":
        spreadsheet_safe(batch).to_csv(tmp, index=False, mode="a" if writer else "w", header=not writer)
        return _Csv()
    import pyarrow.parquet as pq

    arrow = _typed_arrow(batch, places)
    if writer is None:
        writer = pq.ParquetWriter(tmp, arrow.schema)
    writer.write_table(arrow.cast(writer.schema))
    return writer


def _append_gpkg(writer, batch: pd.DataFrame, tmp: Path, shapes: Callable[[np.ndarray], np.ndarray], crs):
    """Append ``batch`` with its lots' shapes to the GeoPackage being written."""
    geometry = shapes(batch[ORDER].to_numpy())
    frame = gpd.GeoDataFrame(_for_gpkg(batch.drop(columns=ORDER)), geometry=geometry, crs=crs)
    frame.to_file(tmp, layer="billable_area", driver="GPKG", mode="a" if writer else "w")
    return _Csv()


class _Csv:
    def close(self) -> None:
        pass


def _id_run_lengths(ids) -> np.ndarray:
    """For ids in sorted order, how many rows share each row's id (missing ids share nothing)."""
    import pyarrow.compute as pc

    n = len(ids)
    if n < 2:
        return np.ones(n, dtype=np.int64)
    same = pc.equal(ids.slice(1), ids.slice(0, n - 1)).fill_null(False)
    same = np.asarray(same.combine_chunks() if hasattr(same, "combine_chunks") else same, dtype=bool)
    starts = np.flatnonzero(np.r_[True, ~same])
    sizes = np.diff(np.r_[starts, n])
    return np.repeat(sizes, sizes)


def _mark_repeated_rows(batch: pd.DataFrame, counts: np.ndarray) -> None:
    """:func:`mark_repeated_ids` for a batch of the sorted table, given each row's id count."""
    rows = np.flatnonzero(counts > 1)
    if not len(rows):
        return
    ids = batch.parcel_id.to_numpy()
    error = batch.error.to_numpy(dtype=object).copy()
    for i in rows:
        if pd.isna(error[i]):
            error[i] = repeated_id(ids[i], int(counts[i]))
    batch["error"] = error
    batch.loc[batch.index[rows], ["category", "service_units"]] = None
    whole = batch["billable_sqft_rounded"].astype("Int64")
    whole.iloc[rows] = pd.NA
    batch["billable_sqft_rounded"] = whole
