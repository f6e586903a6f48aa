"""The comparison map: the lot line, the City's record and the request, on one folium map.

Record features are outlined in blue (dashed where the request lacks them),
request features are filled by status: green matched, orange changed, red
added. Every tooltip value is HTML-escaped (types and ids come from the
public). Builds a ``folium.Map`` only; the page decides how to show it (and
calls :func:`gis.webmap.use_local_assets` to work offline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import folium

from gis.shapes import type_label
from sba.requests.text import html_text

if TYPE_CHECKING:
    import geopandas as gpd

    from gis.raster import OrthoOverlay
    from sba.requests.compare import Comparison

__all__ = ["STATUS_COLOURS", "comparison_map"]

STATUS_COLOURS = {"matched": "#1a9850", "changed": "#fd8d3c", "added": "#d73027", "missing": "#4575b4"}


def _escaped(layer: gpd.GeoDataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    """The tooltip columns as HTML-escaped text: ``GeoJsonTooltip`` puts values into the page as HTML."""
    return layer.assign(**{c: [html_text(v) for v in layer[c]] for c in columns})


def comparison_map(cmp: Comparison, *, ortho: OrthoOverlay | None = None) -> folium.Map:
    """Both layers and the lot line on one map (EPSG:4326 layers from :func:`compare_request`)."""
    minx, miny, maxx, maxy = cmp.lot.total_bounds
    dx, dy = (maxx - minx) * 0.15, (maxy - miny) * 0.15
    bounds = [[miny - dy, minx - dx], [maxy + dy, maxx + dx]]
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=19, tiles=None, max_zoom=22,
                   control_scale=True)
    if ortho is not None:
        folium.raster_layers.ImageOverlay(
            image=ortho.image, bounds=[list(ortho.bounds[0]), list(ortho.bounds[1])], name="Aerial photo",
            attr=f"Photo: {ortho.source}", interactive=False,
        ).add_to(m)
    folium.GeoJson(
        cmp.lot[[cmp.lot.geometry.name]], name="Lot line", interactive=False,
        style_function=lambda f: {"color": "#ff7800", "weight": 3, "dashArray": "8 6", "fillOpacity": 0},
    ).add_to(m)
    if cmp.record_layer is not None and len(cmp.record_layer):
        rec = cmp.record_layer.assign(label=[type_label(t) for t in cmp.record_layer["feature_type"]])
        rec = _escaped(rec, ["feature_id", "label", "status"])
        folium.GeoJson(
            rec, name="City record",
            style_function=lambda f: {
                "color": "#2166ac", "weight": 2, "fillOpacity": 0.05,
                "dashArray": "6 4" if f["properties"]["status"] == "missing" else None},
            tooltip=folium.GeoJsonTooltip(["feature_id", "label", "status"], aliases=["Record", "Type", "Status"]),
        ).add_to(m)
    if cmp.request_layer is not None and len(cmp.request_layer):
        req = cmp.request_layer.assign(label=[type_label(t) for t in cmp.request_layer["feature_type"]])
        req = _escaped(req, ["position", "label", "status"])
        folium.GeoJson(
            req, name="Request",
            style_function=lambda f: {
                "color": STATUS_COLOURS.get(f["properties"]["status"], "#d73027"), "weight": 2,
                "fillColor": STATUS_COLOURS.get(f["properties"]["status"], "#d73027"), "fillOpacity": 0.35},
            tooltip=folium.GeoJsonTooltip(["position", "label", "status"], aliases=["Feature", "Type", "Status"]),
        ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds(bounds)
    return m
