"""An uploaded zip (or KMZ) that unpacks to far more than it weighs is refused before it is read."""

from __future__ import annotations

import io
import zipfile

import pytest

import gis
import gis.io
from tests.conftest import box, layer


def _bomb(members: dict[str, int], suffix: str = ".shp") -> bytes:
    """A zip whose members are runs of zero bytes: ``{name: unpacked size}`` (a few KB packed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, size in members.items():
            with zf.open(name, "w", force_zip64=True) as member:
                chunk = bytes(2**20)
                for _ in range(size // len(chunk)):
                    member.write(chunk)
                member.write(bytes(size % len(chunk)))
    return buf.getvalue()


def test_upload_limits__a_zip_that_unpacks_to_a_gigabyte_is_refused_at_once(monkeypatch):
    monkeypatch.setattr(gis.io, "MAX_UNPACKED_BYTES", 8 * 2**20)  # the real limit, scaled down for a fast test
    data = _bomb({"roofs.shp": 16 * 2**20, "roofs.shx": 100, "roofs.dbf": 100, "roofs.prj": 10})
    assert len(data) < 100_000
    with pytest.raises(gis.UnreadableFileError, match=r"'roofs.zip' unpacks to 16 MB, more than the 8 MB"):
        gis.read_layer(data, "roofs.zip")


def test_upload_limits__a_kmz_that_unpacks_too_far_is_refused(monkeypatch):
    monkeypatch.setattr(gis.io, "MAX_UNPACKED_BYTES", 8 * 2**20)
    with pytest.raises(gis.UnreadableFileError, match=r"'yard.kmz' unpacks to 12 MB"):
        gis.read_layer(_bomb({"doc.kml": 12 * 2**20}), "yard.kmz")


def test_upload_limits__listing_the_layers_of_a_zip_is_refused_before_anything_is_unpacked(monkeypatch):
    """The app lists a zip's layers (a zipped geodatabase holds several) before it reads one: GDAL
    would read a GeoJSON member whole to list it."""
    monkeypatch.setattr(gis.io, "MAX_UNPACKED_BYTES", 8 * 2**20)
    with pytest.raises(gis.UnreadableFileError, match=r"'city.gdb.zip' unpacks to 12 MB"):
        gis.list_layers(_bomb({"city.gdb/a00000001.gdbtable": 12 * 2**20}), "city.gdb.zip")


def test_upload_limits__the_real_limit_is_far_above_a_neighbourhoods_shapefile():
    assert gis.io.MAX_UNPACKED_BYTES >= 100 * 2**20


def test_upload_limits__a_zipped_shapefile_under_the_limit_still_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(gis.io, "MAX_UNPACKED_BYTES", 8 * 2**20)
    shp = tmp_path / "shp"
    shp.mkdir()
    layer([(box(0, 0, 10, 10), "roof")], "feature_type").to_file(shp / "roofs.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for part in shp.iterdir():
            zf.write(part, part.name)
    assert len(gis.read_layer(buf.getvalue(), "roofs.zip")) == 1
