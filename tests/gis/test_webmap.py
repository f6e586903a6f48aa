"""gis.webmap: the folium maps (drawing map, lot picker) and their offline assets."""

from __future__ import annotations

import pytest

import geopandas as gpd

from gis import webmap
from gis.shapes import shapes_from_layer
from tests.conftest import SAMPLE

VENDOR = SAMPLE.parent / "app_pages" / "vendor" / "leaflet"


@pytest.fixture
def sample():
    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    record = gpd.read_file(SAMPLE / "features.geojson")
    return parcels, record


def test_lot_map__drawing_tool_is_polygons_and_rectangles_with_shapes_preloaded(sample):
    parcels, record = sample
    lot = parcels[parcels.parcel_id == "R100065"]
    shapes = shapes_from_layer(record, lot, id_prefix="r", source="record")
    html = webmap.lot_map(lot, shapes).get_root().render()
    assert '"polyline": false' in html
    assert '"circle": false' in html
    assert '"marker": false' in html
    assert '"sba_id": "r1"' in html
    assert "server.arcgisonline.com" not in html  # online photos are off by default


def test_lot_map__online_photos_are_attributed(sample):
    parcels, _ = sample
    lot = parcels[parcels.parcel_id == "R100065"]
    html = webmap.lot_map(lot, [], online_photos=True).get_root().render()
    assert "server.arcgisonline.com" in html
    assert "Esri" in html


def test_use_local_assets__no_network_links_left(sample):
    parcels, _ = sample
    lot = parcels[parcels.parcel_id == "R100065"]
    m = webmap.use_local_assets(webmap.lot_map(lot, []), VENDOR)
    html = m.get_root().render()
    assert "cdn.jsdelivr" not in html
    assert "cdnjs" not in html
    assert "code.jquery" not in html
    assert "data:text/javascript;base64," in html
    nb = webmap.use_local_assets(webmap.neighbourhood_map(parcels, "R100065"), VENDOR)
    assert "cdn.jsdelivr" not in nb.get_root().render()
