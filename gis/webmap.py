"""Web maps for the homeowner app: build ``folium.Map`` objects; the page shows them.

Two maps:

* :func:`neighbourhood_map`: every lot near the chosen one, clickable, to pick
  a lot by pointing at it (:func:`parcel_at` turns the click into a lot id);
* :func:`lot_map`: one lot, its lot line, an aerial photo (a local orthophoto
  from :mod:`gis.raster` and/or online tiles) and a drawing tool (Leaflet.draw)
  preloaded with the homeowner's shapes, so they can be edited and deleted.

Drawn shapes live with the caller as plain dicts; they, the feature types and
everything else about them that needs no map library are in :mod:`gis.shapes`
(headless code imports that, never this module, which needs folium).
In the app the shapes come as :func:`shapes_layer`, which refills the drawing
tool's group of a map that stays on screen, so a type change or a delete does
not rebuild the map.

The JavaScript and CSS the map needs are inlined from local copies
(:func:`use_local_assets`), so the map works with no network.

Never imports streamlit.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import folium.plugins
import numpy as np
from branca.element import MacroElement
from folium.template import Template

import geopandas as gpd
import shapely

from gis.crs import to_area_crs
from gis.shapes import (
    LONLAT,
    TYPE_COLOURS,
    shapes_geojson,
)

if TYPE_CHECKING:
    from gis.raster import OrthoOverlay

__all__ = [
    "ESRI_ATTRIBUTION",
    "ESRI_WORLD_IMAGERY",
    "lot_map",
    "neighbourhood_map",
    "shapes_layer",
    "use_local_assets",
]

ESRI_WORLD_IMAGERY = (
    "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}"
)
ESRI_ATTRIBUTION = (
    "Tiles &copy; Esri &mdash; Source: Esri, Maxar, Earthstar Geographics, "
    "and the GIS User Community"
)

def _bounds_latlon(gdf: gpd.GeoDataFrame, pad: float = 0.0) -> list[list[float]]:
    minx, miny, maxx, maxy = gdf.to_crs(LONLAT).total_bounds
    dx, dy = (maxx - minx) * pad, (maxy - miny) * pad
    return [[miny - dy, minx - dx], [maxy + dy, maxx + dx]]


def _base_map(bounds: list[list[float]], online_photos: bool) -> folium.Map:
    (s, w), (n, e) = bounds
    m = folium.Map(
        location=[(s + n) / 2, (w + e) / 2], zoom_start=19, tiles=None,
        max_zoom=22, control_scale=True, prefer_canvas=False,
    )
    if online_photos:
        folium.TileLayer(
            tiles=ESRI_WORLD_IMAGERY, attr=ESRI_ATTRIBUTION, name="Aerial photos (Esri)",
            max_native_zoom=19, max_zoom=22,
        ).add_to(m)
    m.fit_bounds(bounds)
    return m


def neighbourhood_map(
    parcels: gpd.GeoDataFrame,
    selected: str | None,
    *,
    id_field: str = "parcel_id",
    label_field: str | None = "address",
    max_lots: int = 400,
    online_photos: bool = False,
    ortho: OrthoOverlay | None = None,
) -> folium.Map:
    """Lots around ``selected`` (or the first ``max_lots``), clickable, the chosen one highlighted."""
    parcels = to_area_crs(parcels, "parcels")
    near = parcels
    if selected is not None and len(parcels) > max_lots:
        lot = parcels[parcels[id_field].astype(str) == str(selected)]
        if len(lot):
            centre = lot.geometry.iloc[0].centroid
            order = np.argsort(shapely.distance(parcels.geometry.to_numpy(), centre))
            near = parcels.iloc[np.sort(order[:max_lots])]
    elif len(parcels) > max_lots:
        near = parcels.iloc[:max_lots]
    m = _base_map(_bounds_latlon(near, 0.05), online_photos)
    chosen = near[near[id_field].astype(str) == str(selected)]
    if len(chosen):  # close enough to tell the lots apart; zoom out to see more
        (s, w), (n, e) = _bounds_latlon(chosen)
        m.location = [float(s + n) / 2, float(w + e) / 2]
        m.options["zoom"] = 18
        m._children = {k: v for k, v in m._children.items() if not k.startswith("fit_bounds")}
    if ortho is not None:
        folium.raster_layers.ImageOverlay(
            image=ortho.image, bounds=[list(ortho.bounds[0]), list(ortho.bounds[1])],
            name="Aerial photo", attr=f"Photo: {ortho.source}", interactive=False,
        ).add_to(m)
    cols = [id_field] + ([label_field] if label_field and label_field in near.columns else [])
    data = near[[*cols, near.geometry.name]].to_crs(LONLAT).copy()
    data[id_field] = data[id_field].astype(str)
    data["_selected"] = data[id_field] == str(selected)
    for col in cols:  # the tooltip shows values as HTML: escape them
        data[col] = [html.escape(str(v)) for v in data[col]]
    folium.GeoJson(
        data,
        name="Lots",
        style_function=lambda f: {
            "color": "#ff7800" if f["properties"]["_selected"] else "#1c1c1c",
            "weight": 4 if f["properties"]["_selected"] else 1,
            "fillColor": "#ff7800" if f["properties"]["_selected"] else "#ffffff",
            "fillOpacity": 0.35 if f["properties"]["_selected"] else 0.1,
        },
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.3},
        tooltip=folium.GeoJsonTooltip(fields=cols, aliases=["Lot", "Address"][: len(cols)]),
    ).add_to(m)
    return m


# --------------------------------------------------------------------------
# the drawing map


class _EditableShapes(MacroElement):
    """Put GeoJSON features, one Leaflet layer each, into the drawing tool's group.

    With ``into_drawing_tool`` the features go into the drawing tool's group of
    an already shown map (``window.drawnItems``, as streamlit-folium names it),
    emptied first: :func:`shapes_layer` uses this so the shapes can change
    without the map being rebuilt.  Otherwise they go into the parent group.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            {%- if this.into_drawing_tool %}
            var group = window.drawnItems;
            if (!group || !group.clearLayers) return;
            group.clearLayers();
            {%- else %}
            var group = {{ this._parent.get_name() }};
            {%- endif %}
            var colours = {{ this.colours|tojson }};
            L.geoJSON({{ this.data|tojson }}, {
                style: function(f) {
                    var c = colours[f.properties.feature_type] || "#f781bf";
                    return {color: c, weight: 3, fillColor: c, fillOpacity: 0.25};
                },
                onEachFeature: function(f, layer) {
                    layer.bindTooltip(String(f.properties.label), {
                        permanent: true, direction: "center", className: "sba-shape-label"
                    });
                    group.addLayer(layer);
                }
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, colours: Mapping[str, str], *, into_drawing_tool: bool = False):
        super().__init__()
        self._name = "EditableShapes"
        self.data = data
        self.colours = dict(colours)
        self.into_drawing_tool = into_drawing_tool


class _PlainLanguageDraw(MacroElement):
    """Plain-language texts for the drawing toolbar (Leaflet.draw's ``L.drawLocal``)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .sba-shape-label { background: rgba(255,255,255,0.85); border: 1px solid #333;
                             font: bold 13px sans-serif; padding: 0 4px; box-shadow: none; }
          .leaflet-draw-toolbar a { width: 36px !important; height: 36px !important; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        if (window.L && L.drawLocal) (function() {
            var t = L.drawLocal.draw.toolbar, e = L.drawLocal.edit.toolbar;
            t.buttons.polygon = "Draw a shape (click each corner)";
            t.buttons.rectangle = "Draw a rectangle";
            t.actions.text = "Cancel"; t.finish.text = "Finish shape"; t.undo.text = "Remove last point";
            e.buttons.edit = "Move corners of shapes"; e.buttons.remove = "Delete shapes";
            e.actions.save.text = "Done"; e.actions.cancel.text = "Cancel"; e.actions.clearAll.text = "Delete all";
            L.drawLocal.draw.handlers.polygon.tooltip.start = "Click on a corner of the surface.";
            L.drawLocal.draw.handlers.polygon.tooltip.cont = "Click the next corner.";
            L.drawLocal.draw.handlers.polygon.tooltip.end = "Click the first corner again to finish.";
            L.drawLocal.draw.handlers.rectangle.tooltip.start = "Press and drag to draw a rectangle.";
            L.drawLocal.edit.handlers.edit.tooltip.text = "Click the shape to change, drag its white squares to move "
                + "corners, then press Done.";
            L.drawLocal.edit.handlers.remove.tooltip.text = "Click a shape to delete it, then press Done.";
        })();
        if (window.L && L.EditToolbar && !L.EditToolbar.Edit.prototype._sbaOneAtATime) (function() {
            // On a small lot the shapes' corner handles overlap (6 rectangles give 48): with more than
            // one shape, the pencil shows the handles of the shape clicked only.
            var edit = L.EditToolbar.Edit.prototype;
            var enableLayer = edit._enableLayerEdit, addHooks = edit.addHooks, removeHooks = edit.removeHooks;
            function choose(e) {
                var chosen = e.propagatedFrom || e.layer;
                this._featureGroup.eachLayer(function(layer) {
                    if (layer !== chosen && layer.editing && layer.editing.enabled()) layer.editing.disable();
                });
                if (chosen && chosen.editing && !chosen.editing.enabled()) chosen.editing.enable();
            }
            edit._sbaOneAtATime = true;
            edit._enableLayerEdit = function(e) {
                enableLayer.call(this, e);
                var layer = e.layer || e.target || e;
                if (this._featureGroup.getLayers().length > 1 && layer.editing) layer.editing.disable();
            };
            edit.addHooks = function() {
                addHooks.call(this);
                if (this._map) this._featureGroup.on("click", choose, this);
            };
            edit.removeHooks = function() {
                if (this._map) this._featureGroup.off("click", choose, this);
                removeHooks.call(this);
            };
        })();
        {% endmacro %}
        """
    )


def shapes_layer(shapes: Iterable[Mapping[str, Any]]) -> folium.FeatureGroup:
    """The shapes as a layer that replaces those in the drawing tool of a map already shown.

    Give it to streamlit-folium as ``feature_group_to_add`` with a
    :func:`lot_map` built without shapes: the map itself then stays the same
    from one rerun to the next, so the browser keeps it (no reload, the view
    kept) and only swaps the shapes when they change (a type, a delete).
    """
    group = folium.FeatureGroup(name="Shape labels", control=False)
    _EditableShapes(shapes_geojson(shapes), TYPE_COLOURS, into_drawing_tool=True).add_to(group)
    return group


def lot_map(
    lot: gpd.GeoDataFrame,
    shapes: Iterable[Mapping[str, Any]],
    *,
    ortho: OrthoOverlay | None = None,
    online_photos: bool = False,
    water: gpd.GeoDataFrame | None = None,
    editable: bool = True,
) -> folium.Map:
    """The drawing map for one lot.

    Parameters
    ----------
    lot
        The lot (one row), any CRS.
    shapes
        Shape dicts (:func:`new_shape`); they are loaded into the drawing
        tool so they can be edited and deleted.
    ortho
        A local aerial photo cut around the lot (:func:`gis.raster.ortho_overlay`).
    online_photos
        Add Esri World Imagery tiles (needs the internet; attributed).
    water
        Water bodies to show (any CRS), so docks over water are visible.
    editable
        Add the drawing tool (polygons and rectangles only).
    """
    m = _base_map(_bounds_latlon(lot, 0.15), online_photos)
    if ortho is not None:
        folium.raster_layers.ImageOverlay(
            image=ortho.image, bounds=[list(ortho.bounds[0]), list(ortho.bounds[1])],
            name="Aerial photo", attr=f"Photo: {ortho.source}", interactive=False,
        ).add_to(m)
    if water is not None and len(water):
        lot_area = to_area_crs(lot, "parcels")
        w = water.to_crs(lot_area.crs)
        w = w[w.intersects(lot_area.geometry.iloc[0].buffer(200))]
        if len(w):
            folium.GeoJson(
                w[[w.geometry.name]].to_crs(LONLAT), name="Water", interactive=False,
                style_function=lambda f: {"color": "#2b8cbe", "weight": 1, "fillColor": "#a6bddb", "fillOpacity": 0.3},
            ).add_to(m)
    folium.GeoJson(
        lot[[lot.geometry.name]].to_crs(LONLAT), name="Lot line", interactive=False,
        style_function=lambda f: {"color": "#ff7800", "weight": 3, "dashArray": "8 6", "fillOpacity": 0},
    ).add_to(m)
    if editable:
        group = folium.FeatureGroup(name="Your shapes")
        group.add_to(m)
        _EditableShapes(shapes_geojson(shapes), TYPE_COLOURS).add_to(group)
        _PlainLanguageDraw().add_to(m)
        shape_style = {"color": "#e41a1c", "weight": 3, "fillOpacity": 0.2}
        folium.plugins.Draw(
            export=False,
            feature_group=group,
            show_geometry_on_click=False,
            draw_options={
                "polyline": False, "circle": False, "marker": False, "circlemarker": False,
                "polygon": {"allowIntersection": False, "showArea": False, "shapeOptions": shape_style},
                "rectangle": {"showArea": False, "shapeOptions": shape_style},
            },
            edit_options={"edit": True, "remove": True},
        ).add_to(m)
    else:
        folium.GeoJson(shapes_geojson(shapes), name="Your shapes", interactive=False).add_to(m)
    return m


# --------------------------------------------------------------------------
# offline assets

#: folium's asset names → our vendored files
_LOCAL_FILES = {
    "leaflet": "leaflet.js",
    "leaflet_css": "leaflet.css",
    "leaflet_draw_js": "leaflet.draw.js",
    "leaflet_draw_css": "leaflet.draw.css",
}
_MIME = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}
_CSS_URL = re.compile(r"url\((['\"]?)(images/[^'\")]+)\1\)")
_ASSET_CACHE: dict[tuple[str, str], str] = {}


def _data_url(path: Path, text: bytes | None = None) -> str:
    raw = path.read_bytes() if text is None else text
    return f"data:{_MIME[path.suffix]};base64,{base64.b64encode(raw).decode('ascii')}"


def _asset(vendor_dir: Path, name: str) -> str:
    key = (str(vendor_dir), name)
    if key not in _ASSET_CACHE:
        path = vendor_dir / name
        if path.suffix == ".css":
            css = path.read_text(encoding="utf-8")
            css = _CSS_URL.sub(lambda mt: f"url({_data_url(vendor_dir / mt.group(2))})", css)
            _ASSET_CACHE[key] = _data_url(path, css.encode("utf-8"))
        else:
            _ASSET_CACHE[key] = _data_url(path)
    return _ASSET_CACHE[key]


def _walk(element):
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def use_local_assets(m: folium.Map, vendor_dir: str | Path) -> folium.Map:
    """Make ``m`` load Leaflet and Leaflet.draw from local files, with no network.

    Every element's ``default_js``/``default_css`` is replaced: Leaflet and
    Leaflet.draw become ``data:`` URLs read from ``vendor_dir`` (their CSS
    images inlined too); jQuery, Bootstrap and the marker-icon fonts that
    folium adds by default are dropped, as these maps do not use them.
    """
    vendor_dir = Path(vendor_dir)
    for el in _walk(m):
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr, None)
            if not links:
                continue
            setattr(el, attr, [(name, _asset(vendor_dir, _LOCAL_FILES[name]))
                               for name, _url in links if name in _LOCAL_FILES])
    return m

