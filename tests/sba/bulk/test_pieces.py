"""The cluster's routing and chunk selection (:mod:`sba.bulk.pieces`) against brute force."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sba.bulk.pieces import BOX, routes_by_extent


def _random_boxes(rng, n, size):
    lo = rng.uniform(0, 1000, (n, 2))
    return np.column_stack([lo, lo + rng.uniform(0, size, (n, 2))])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_routes_by_extent__each_chunks_rows_once_in_file_order(join, seed):
    rng = np.random.default_rng(seed)
    b = _random_boxes(rng, 3_000, 30)
    b[rng.integers(0, len(b), 20)] = np.nan  # rows without a box meet nothing
    extents = _random_boxes(rng, 400, 80)
    extent_chunk = rng.integers(0, 37, len(extents))  # a chunk has several extents (its runs of lots)
    table = pa.table({name: b[:, i] for i, name in enumerate(BOX)})
    got = routes_by_extent({"table": table, "scan": None, "nulls": {}}, extents, extent_chunk)

    meets = ((b[:, None, 0] <= extents[None, :, 2]) & (b[:, None, 2] >= extents[None, :, 0])
             & (b[:, None, 1] <= extents[None, :, 3]) & (b[:, None, 3] >= extents[None, :, 1]))
    want = {k: np.flatnonzero(meets[:, extent_chunk == k].any(axis=1)) for k in range(37)}
    want = {k: r for k, r in want.items() if len(r)}
    assert sorted(got["frames"]) == sorted(want)
    for k, rows in want.items():
        np.testing.assert_array_equal(got["frames"][k], rows)
        np.testing.assert_array_equal(got["reach"][k], [b[rows, 0].min(), b[rows, 1].min(),
                                                        b[rows, 2].max(), b[rows, 3].max()])


def test_concat_pieces__rows_of_pieces_given_by_worker_join_in_file_order_without_a_copy():
    """A chunk's rows come from several pieces (row ranges of the layer), grouped by the worker
    that holds them, not in file order: put in order of their first row they join as they are."""
    from sba.bulk.pieces import ROW, concat_pieces

    pieces = [pa.table({ROW: np.arange(a, b, 3), "x": np.arange(a, b, 3) * 2.0}) for a, b in
              ((0, 30), (30, 45), (45, 90))]
    joined = concat_pieces([pieces[2], None, pieces[0], pieces[1]])
    np.testing.assert_array_equal(joined.column(ROW).to_numpy(), np.arange(0, 90, 3))
    np.testing.assert_array_equal(joined.column("x").to_numpy(), np.arange(0, 90, 3) * 2.0)
    # the pieces' own buffers, not a reordered copy of them
    assert [c.buffers()[1].address for c in joined.column("x").chunks] == \
        [p.column("x").chunk(0).buffers()[1].address for p in pieces]
    # rows out of order within what is given are still put in order
    mixed = concat_pieces([pa.table({ROW: [5, 1], "x": [5.0, 1.0]}), pa.table({ROW: [3], "x": [3.0]})])
    np.testing.assert_array_equal(mixed.column("x").to_numpy(), [1.0, 3.0, 5.0])
    assert concat_pieces([None, None]) is None
