"""A dask worker's allocator set back to a plain process's (:mod:`sba.bulk.heap`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")

# 300 arrays of 1 MiB made and freed in turn, as a chunk's temporaries are: the page faults it costs
FAULTS = """
import json, resource, sys
import numpy as np
if sys.argv[1] == "plain":
    from sba.bulk.heap import as_plain_process
    assert as_plain_process()
np.ones(2**17).sum()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(300):
    np.ones(2**17).sum()
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before))
"""


def _faults(how: str) -> int:
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}  # what dask's nanny gives its workers
    done = subprocess.run([sys.executable, "-c", FAULTS, how], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_as_plain_process__a_dask_worker_reuses_its_freed_blocks():
    dask_default = _faults("as dask starts it")
    plain = _faults("plain")
    assert dask_default > 300 * 200  # each 1 MiB array mapped afresh: 256 new pages
    assert plain < 2_000  # the freed block is taken again


GIVE_BACK = """
import json, resource
import numpy as np
from sba.bulk.heap import as_plain_process, give_back
as_plain_process()
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()
kept = [np.ones(2**17) for _ in range(200)]  # 200 MiB on the heap, under the mmap threshold
del kept[::2]  # 100 MiB freed in holes between blocks in use: glibc never trims those by itself
freed = rss()
give_back()
print(json.dumps([freed, rss()]))
"""


def test_give_back__returns_the_freed_heap():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", GIVE_BACK], env=env, capture_output=True, text=True, check=True)
    freed, given_back = json.loads(done.stdout)
    assert freed - given_back > 90 * 2**20
