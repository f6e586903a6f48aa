"""Bulk reassessment: every parcel of a city through the same rules, on this machine or a dask cluster.

``reassess`` (:mod:`sba.bulk.run`) is the run; the rooms:

- :mod:`sba.bulk.options`  the run's settings and summary
- :mod:`sba.bulk.inputs`   reading the layers (GeoParquet: only the needed columns)
- :mod:`sba.bulk.prefetch` reading GeoParquet on a thread while ``sba`` starts (imports pyarrow alone)
- :mod:`sba.bulk.chunks`   cutting the lots into chunks, and measuring one chunk
- :mod:`sba.bulk.billing`  the billing columns of a chunk, exact and fast
- :mod:`sba.bulk.parts`    finished chunks on disk, verified on ``--resume``
- :mod:`sba.bulk.result`   the result table assembled, checked, written, summarised
- :mod:`sba.bulk.isolate`  the run in a child process that dies with its parent
- :mod:`sba.bulk.cluster`  the run on a dask cluster (``--scheduler``)
- :mod:`sba.bulk.worker_setup` a dask worker made ready as it starts (``--preload``)

The names below are imported on first use, so that ``sba.bulk.prefetch`` can
start reading before pandas and geopandas are imported.
"""

from __future__ import annotations

__all__ = ["ClusterError", "ReassessOptions", "ReassessSummary", "chunk_bounds", "chunk_count", "reassess"]


def __getattr__(name: str):
    if name in ("ReassessOptions", "ReassessSummary"):
        from sba.bulk import options

        return getattr(options, name)
    if name in ("chunk_bounds", "chunk_count"):
        from sba.bulk import chunks

        return getattr(chunks, name)
    if name == "reassess":
        from sba.bulk.run import reassess

        return reassess
    if name == "ClusterError":
        from sba.bulk.cluster import ClusterError

        return ClusterError
    raise AttributeError(f"module 'sba.bulk' has no attribute {name!r}")
