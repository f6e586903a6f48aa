"""Real-browser test: every record shape of every sample lot goes through Leaflet and comes back unchanged.

Each sample lot's drawing map (:func:`gis.webmap.lot_map`, offline assets) is
opened in Debian's chromium; what the drawing tool would send back
(``toGeoJSON()`` of its layer group, as streamlit-folium sends it) is fed to
:func:`gis.shapes.reconcile_drawings`, and the measured areas must not move.
"""

from __future__ import annotations

import itertools

import folium
import pytest

import geopandas as gpd

from gis import webmap
from gis.shapes import reconcile_drawings, shapes_frame, shapes_from_layer
from tests.e2e.conftest import ROOT, chromium_page, require_browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SAMPLE = ROOT / "sample_data"
VENDOR = ROOT / "app_pages" / "vendor" / "leaflet"


def _shapes_group_name(m: folium.Map) -> str:
    groups = [el for el in m._children.values() if isinstance(el, folium.FeatureGroup)]
    assert len(groups) == 1
    return groups[0].get_name()


def _areas(shapes, crs) -> dict[str, float]:
    frame = shapes_frame(shapes).to_crs(crs)
    return dict(zip(frame["feature_id"], frame.geometry.area, strict=True))


def test_map_roundtrip_browser__record_shapes_of_every_sample_lot_keep_their_areas_through_leaflet():
    require_browser()
    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    record = gpd.read_file(SAMPLE / "features.geojson")
    counter = itertools.count(1)
    drifted, changed_lots, checked = [], [], 0
    with chromium_page(800, 600) as page:
        for pid in parcels["parcel_id"]:
            lot = parcels[parcels["parcel_id"] == pid]
            shapes = shapes_from_layer(record, lot, id_prefix="r", source="record")
            m = webmap.use_local_assets(webmap.lot_map(lot, shapes), VENDOR)
            page.set_content(m.get_root().render(), wait_until="load")
            echo = page.evaluate(f"() => {_shapes_group_name(m)}.toGeoJSON().features")
            assert len(echo) == len(shapes)
            back, changed = reconcile_drawings(shapes, echo, new_id=lambda: f"n{next(counter)}")
            if changed:
                changed_lots.append(pid)
            before, after = _areas(shapes, parcels.crs), _areas(back, parcels.crs)
            drifted += [(pid, sid, round(before[sid], 2), round(after.get(sid, 0), 2)) for sid in before
                        if abs(after.get(sid, 0) - before[sid]) > 0.01]
            checked += len(shapes)
    assert checked > 300
    assert drifted == []
    assert changed_lots == []
