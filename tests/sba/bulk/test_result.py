"""The result written from the saved parts, a batch at a time (the cluster's), against the in-memory write."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sba.bulk.options import ORDER, OUTPUT_COLUMNS
from sba.bulk.parts import PartStore, write_part
from sba.bulk.result import write_result, write_result_streamed


def _chunk(ids: list[int], order: list[int], units: list) -> pd.DataFrame:
    n = len(ids)
    table = pd.DataFrame({c: [None] * n for c in OUTPUT_COLUMNS})
    table["parcel_id"] = ids
    table["property_class"] = "non_residential"
    table["dwelling_units"] = 0
    for c in ("billable_area_sqft", "overlap_sqft", "outside_parcel_sqft", "overwater_excluded_sqft",
              "excluded_type_sqft"):
        table[c] = np.arange(n) * 10.25
    table["billable_sqft_rounded"] = np.arange(n) * 10
    table["n_features"] = 2
    table["service_units"] = units
    table["repaired"] = False
    table[ORDER] = order
    return table


def test_write_result_streamed__same_file_as_the_in_memory_write_decimal_places_included(tmp_path):
    """Service units of three decimal places in one part and none in another: both writes give
    the column those three places, and the same file row for row (sorted by parcel id)."""
    chunks = {0: _chunk([5, 2], [0, 1], [Decimal("0.125"), None]),
              1: _chunk([9, 1, 4], [2, 3, 4], [None, None, None]),
              2: _chunk([3], [5], [Decimal("2")])}
    streamed, in_memory = tmp_path / "streamed.parquet", tmp_path / "memory.parquet"
    parts = PartStore.open(streamed, [], {"test": 1}, resume=False)
    for k, table in chunks.items():
        parts.record(k, write_part(table, parts.folder, k))
    tally, repeated = write_result_streamed(parts, range(3), 6, streamed, check=lambda keys: None)
    write_result({k: t.copy() for k, t in chunks.items()}, range(3), 6, in_memory, None,
                 lot_shapes=lambda t: None, check=lambda t: None)
    a, b = pq.read_table(streamed), pq.read_table(in_memory)
    assert a.schema.field("service_units").type.scale == 3
    assert a.column("parcel_id").to_pylist() == [1, 2, 3, 4, 5, 9]
    assert a.column("service_units").to_pylist()[2] == Decimal("2.000")
    assert a.equals(b)
    assert (tally.rows, repeated) == (6, 0)
