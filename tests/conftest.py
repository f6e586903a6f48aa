"""Shared fixtures: tiny box layers in projected CRSs, and paths to data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SAMPLE = ROOT / "sample_data"
SHARED = Path(os.environ.get("SBA_SHARED", ROOT.parent / "shared"))


def layer(rows, *names, crs="EPSG:2913"):
    """A GeoDataFrame from (geometry, value, ...) rows; ``names`` name the values."""
    geoms = [r[0] if isinstance(r, tuple) else r for r in rows]
    data = {n: [r[i + 1] for r in rows] for i, n in enumerate(names)}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def box(x0, y0, x1, y1):
    return shapely.box(x0, y0, x1, y1)


@pytest.fixture
def lot():
    """One 50 x 100 ft lot in EPSG:2913 (international feet) with id R1."""
    return layer([(box(0, 0, 50, 100), "R1")], "parcel_id")


def shared_path(*parts) -> Path:
    """A path in ../shared, or skip the test with a reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (the big shared data sets live outside this repository)")
    return path
