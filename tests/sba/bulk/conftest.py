"""Fixtures shared by the bulk-run tests (tests/sba/bulk/test_reassess.py, test_cluster.py)."""

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
