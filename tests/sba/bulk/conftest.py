"""Fixtures shared by the bulk-run tests (tests/sba/bulk/test_reassess.py, test_cluster.py, the box joins)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

GEN = ROOT / "tests" / "oracle" / "gen_parcels.py"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A generated city of 3,000 lots (seed 21) with features and water, as GeoParquet."""
    d = tmp_path_factory.mktemp("city")
    subprocess.run([sys.executable, str(GEN), "--parcels", "3000", "--seed", "21", "--out", str(d)],
                   check=True, capture_output=True)
    return d


@pytest.fixture(params=["array code", "compiled"])
def join(request, monkeypatch):
    """A test of the box joins runs on both paths: numpy arrays (rows in no order), and the
    compiled loop (numba; rows in file order)."""
    from sba.bulk import boxes

    if request.param == "compiled":
        pytest.importorskip("numba")
        monkeypatch.setattr(boxes, "JIT_MIN_ROWS", 0)
    else:
        monkeypatch.setattr(boxes, "USE_JIT", False)
    return request.param
