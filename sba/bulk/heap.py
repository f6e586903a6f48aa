"""glibc's allocator in the processes of a bulk run: a dask worker's set back to a plain
process's, and freed heap given back to the system.

dask's nanny starts each worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (its
``distributed.nanny.pre-spawn-environ``), so that freed memory goes back to the system at once.
Setting it also stops glibc from raising its mmap threshold as a process frees large blocks:
every block over 128 KiB (a numpy array of 16,384 floats: most of a chunk's temporaries) is
then mapped and unmapped afresh, each new page a fault.  :func:`as_plain_process` restores the
thresholds a plain process reaches, so a worker takes its freed blocks again, as the local
run's processes do, and holds about the heap of its largest chunk (its peak in any case).  The
workers do not give that heap back after each chunk: the next chunk would fault every page in
afresh.  The driver, which holds no chunk, gives its freed heap back after each large step
(:func:`give_back`).  Nothing happens where there is no glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["MMAP_THRESHOLD", "as_plain_process", "give_back"]

#: glibc's ceiling for the mmap threshold it raises by itself (``DEFAULT_MMAP_THRESHOLD_MAX``, 64-bit);
#: the trim threshold it keeps is twice the mmap threshold.
MMAP_THRESHOLD = 32 * 2**20

_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


@functools.cache
def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018  (glibc has both)
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def as_plain_process() -> bool:
    """Set this process's mmap and trim thresholds to the most glibc reaches by itself
    (once; whether it could)."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(libc.mallopt(_M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD))


def give_back() -> None:
    """Return the freed heap to the system (glibc keeps it until asked)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
