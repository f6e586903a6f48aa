"""Fixtures shared by the geometry tests."""

from __future__ import annotations

import pytest

import gis.clip as clip


@pytest.fixture(params=["geos", "numba"])
def path(request, monkeypatch):
    """Run the test without the compiled kernel (GEOS overlays), then with it for any number of pairs."""
    if request.param == "numba":
        pytest.importorskip("numba")
        monkeypatch.setattr(clip, "JIT_MIN_PAIRS", 0)
    else:
        monkeypatch.setattr(clip, "USE_JIT", False)
    return request.param
