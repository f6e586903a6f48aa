"""Fixtures for the app tests: an AppTest of the whole app, and sample files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
SAMPLE = ROOT / "sample_data"


def new_app() -> AppTest:
    """The whole app (router + default page), run once."""
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app() -> AppTest:
    """The app on its default page, "My lot", for the sample neighbourhood."""
    return new_app()


def metric(at: AppTest, label: str) -> str:
    """Value of the metric whose label starts with ``label``."""
    for m in at.metric:
        if m.label.startswith(label):
            return m.value
    raise AssertionError(f"no metric {label!r} in {[m.label for m in at.metric]}")


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def sample_bytes(name: str) -> bytes:
    return (SAMPLE / name).read_bytes()


def zipped_shapefile(gdf, *, drop: tuple[str, ...] = ()) -> bytes:
    """A GeoDataFrame written as a zipped shapefile, optionally without some parts."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layer.shp"
        gdf.to_file(path)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for part in Path(tmp).iterdir():
                if part.suffix not in drop:
                    zf.write(part, part.name)
        return buf.getvalue()
