"""Web maps for the homeowner app: build ``folium.Map`` objects; the page shows them.

Two maps:

* :func:`neighbourhood_map`: every lot near the chosen one, clickable, to pick
  a lot by pointing at it (:func:`parcel_at` turns the click into a lot id);
* :func:`lot_map`: one lot, its lot line, an aerial photo (a local orthophoto
  from :mod:`gis.raster` and/or online tiles) and a drawing tool (Leaflet.draw)
  preloaded with the homeowner's shapes, so they can be edited and deleted.

Drawn shapes live with the caller as plain dicts (see :func:`new_shape`)::

    {"id": "s3", "geometry": <GeoJSON geometry in EPSG:4326>,
     "feature_type": "roof", "source": "drawn"}

Every shape is put in the drawing tool's layer group with its id in the
GeoJSON properties (``sba_id``).  When the browser sends back all drawings,
:func:`reconcile_drawings` matches them by that id: an id that came back with a
new outline was edited, an id that did not come back was deleted, a drawing
without an id is new.  Because the map is always rebuilt from the caller's
list, what is on screen and what is measured never drift apart (no "ghost"
shapes after a delete).  In the app the shapes come as :func:`shapes_layer`,
which refills the drawing tool's group of a map that stays on screen, so a
type change or a delete does not rebuild the map.

Areas are never taken from the browser: the caller measures the shapes with
the geometry engine (:func:`shapes_frame` gives it a GeoDataFrame).

The JavaScript and CSS the map needs are inlined from local copies
(:func:`use_local_assets`), so the map works with no network.

Never imports streamlit.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import folium.plugins
import numpy as np
from branca.element import MacroElement
from folium.template import Template

import geopandas as gpd
import shapely
from pyproj import CRS
from shapely.geometry import mapping, shape

from gis.crs import to_area_crs
from gis.measure import normalise_types

if TYPE_CHECKING:
    from gis.raster import OrthoOverlay

__all__ = [
    "ESRI_ATTRIBUTION",
    "ESRI_WORLD_IMAGERY",
    "FEATURE_TYPES",
    "lot_map",
    "neighbourhood_map",
    "new_shape",
    "parcel_at",
    "reconcile_drawings",
    "shapes_frame",
    "shapes_from_layer",
    "shapes_geojson",
    "shapes_layer",
    "type_label",
    "use_local_assets",
    "without_duplicates",
]

#: Feature types a homeowner can give a shape, with plain-language labels.
#: Keys are the geometry engine's type names (see ``gis.measure.PRECEDENCE``).
FEATURE_TYPES: dict[str, str] = {
    "roof": "Roof",
    "garage": "Garage",
    "carport": "Carport",
    "shed": "Shed",
    "driveway": "Driveway",
    "parking": "Parking area",
    "walkway": "Walkway or path",
    "patio": "Patio",
    "deck": "Deck",
    "porch": "Porch",
    "pervious_pavement": "Pervious pavers",
    "pool": "Swimming pool",
    "gravel": "Gravel",
    "dock": "Dock (over water)",
    "floating_home": "Floating home",
    "other": "Other hard surface",
}

#: Outline colours per type on the map (roofs dark red, paving grey, ...).
TYPE_COLOURS: dict[str, str] = {
    "roof": "#d7301f", "garage": "#d7301f", "carport": "#ef6548", "shed": "#ef6548",
    "driveway": "#6a51a3", "parking": "#6a51a3",
    "walkway": "#ffd92f", "patio": "#ff7f00", "deck": "#a65628", "porch": "#a65628",
    "pervious_pavement": "#e7298a", "pool": "#1f78b4", "gravel": "#bdbdbd",
    "dock": "#08519c", "floating_home": "#08519c", "other": "#f781bf",
}

ESRI_WORLD_IMAGERY = (
    "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}"
)
ESRI_ATTRIBUTION = (
    "Tiles &copy; Esri &mdash; Source: Esri, Maxar, Earthstar Geographics, "
    "and the GIS User Community"
)

LONLAT = CRS.from_epsg(4326)
#: Leaflet's toGeoJSON() rounds each coordinate to 6 decimals, so an echo of
#: our outline is off by up to half a unit of the 6th decimal in longitude AND
#: in latitude (a corner moves up to 0.7e-6 degrees diagonally).  An outline
#: whose every coordinate comes back within this was not edited, and we keep
#: our more precise copy: taking the rounded one would shrink or grow a
#: 20 ft shed by a square foot with nothing edited.
_ECHO_TOLERANCE = 5.01e-7
_COORD_DECIMALS = 10  # about 0.01 mm: the lon/lat round trip changes no area


def type_label(feature_type: str) -> str:
    """Plain-language label of a feature type (unknown types are title-cased)."""
    return FEATURE_TYPES.get(feature_type, feature_type.replace("_", " ").capitalize())


# --------------------------------------------------------------------------
# shapes: plain dicts held by the caller


def new_shape(shape_id: str, geometry: Mapping[str, Any], feature_type: str = "other",
              source: str = "drawn") -> dict:
    """A shape dict: ``{"id", "geometry" (GeoJSON, lon/lat), "feature_type", "source"}``."""
    geometry = json.loads(json.dumps(geometry))  # plain lists, as the browser sends them
    return {"id": str(shape_id), "geometry": geometry, "feature_type": feature_type, "source": source}


def _polygon_parts(geom) -> list:
    """Polygons of a geometry (multi-polygons split: Leaflet.draw edits one ring set)."""
    if geom is None or geom.is_empty:
        return []
    kind = geom.geom_type
    if kind == "Polygon":
        return [geom]
    if kind in ("MultiPolygon", "GeometryCollection"):
        return [p for g in geom.geoms for p in _polygon_parts(g)]
    return []


def _rounded_mapping(geom) -> dict:
    return mapping(shapely.set_precision(geom, 10.0 ** -_COORD_DECIMALS))


def shapes_from_layer(
    features: gpd.GeoDataFrame,
    lot: gpd.GeoDataFrame,
    *,
    id_prefix: str,
    source: str,
    type_field: str | None = "feature_type",
    id_field: str = "parcel_id",
) -> list[dict]:
    """Turn existing features (an upload or the utility's record) into editable shapes.

    Keeps the features that touch the lot (or carry its id); multi-part
    polygons become one shape per part; types are normalised with the
    engine's aliases ("Drive-Pav" → "driveway").

    Parameters
    ----------
    features
        Features in any CRS.
    lot
        The lot (one row) in its projected CRS.
    id_prefix
        Prefix for the new shape ids ("r" for the record, "u" for uploads).
    source
        Stored in each shape ("record", "upload").
    type_field, id_field
        Column names of the feature type and of the lot id.
    """
    if features.crs is None or lot.crs is None:
        raise ValueError("shapes_from_layer needs layers with a CRS")
    feats = features.to_crs(lot.crs)
    lot_geom = shapely.union_all(lot.geometry.to_numpy())
    geoms = feats.geometry.to_numpy()
    touches = ~shapely.is_missing(geoms) & shapely.intersects(geoms, lot_geom)
    if id_field in feats.columns and id_field in lot.columns:
        touches |= feats[id_field].astype("string").isin(lot[id_field].astype("string")).fillna(False).to_numpy()
    feats = feats[touches]
    if type_field and type_field not in feats.columns:
        type_field = next((c for c in ("feature_ty", "type", "TYPE", "Type") if c in feats.columns), None)
    types = (normalise_types(feats[type_field]).to_numpy() if type_field
             else np.full(len(feats), "other", dtype=object))
    ll = feats.to_crs(LONLAT).geometry.to_numpy()
    out = []
    counter = itertools.count(1)
    for geom, kind in zip(ll, types, strict=True):
        if geom is not None and not geom.is_valid:
            geom = shapely.make_valid(geom)
        for part in _polygon_parts(geom):
            out.append(new_shape(f"{id_prefix}{next(counter)}", _rounded_mapping(part), str(kind), source))
    return out


def _outline_key(geometry: Mapping[str, Any]) -> bytes:
    """The same outline gives the same key, whatever corner its rings start at (to 1e-9 degrees)."""
    geom = shapely.normalize(shapely.set_precision(shape(geometry), 1e-9))
    return shapely.to_wkb(geom)


def without_duplicates(existing: Iterable[Mapping[str, Any]], loaded: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The ``loaded`` shapes whose outline is not already among ``existing`` (nor earlier in ``loaded``).

    Loading the same record or file twice then adds nothing: a shape is the
    same when its outline is, so one the homeowner edited is not.
    """
    seen = set()
    for s in existing:
        try:
            seen.add(_outline_key(s["geometry"]))
        except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException):
            continue
    fresh = []
    for s in loaded:
        try:
            key = _outline_key(s["geometry"])
        except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException):
            key = None  # the engine repairs and reports it
        if key is None or key not in seen:
            seen.add(key)
            fresh.append(dict(s))
    return fresh


def shapes_frame(shapes: Iterable[Mapping[str, Any]]) -> gpd.GeoDataFrame:
    """Shapes as a GeoDataFrame in EPSG:4326 with ``feature_id`` and ``feature_type``.

    Broken outlines are kept as they are: the engine repairs and reports them.
    """
    shapes = list(shapes)
    geoms = [shape(s["geometry"]) if s.get("geometry") else None for s in shapes]
    return gpd.GeoDataFrame(
        {
            "feature_id": [str(s["id"]) for s in shapes],
            "feature_type": [str(s.get("feature_type") or "other") for s in shapes],
        },
        geometry=gpd.GeoSeries(geoms, crs=LONLAT),
    )


def reconcile_drawings(
    shapes: list[dict],
    drawings: list[Mapping[str, Any]] | None,
    *,
    new_id: Callable[[], str],
    default_type: str = "other",
) -> tuple[list[dict], bool]:
    """Apply what the drawing tool sent back to the caller's shapes.

    Parameters
    ----------
    shapes
        The current shapes (see :func:`new_shape`).
    drawings
        All GeoJSON features of the drawing tool's layer group, as the browser
        sent them (``st_folium(...)["all_drawings"]``); ``None`` means "no news".
    new_id
        Called once per new drawing to give it an id.
    default_type
        Feature type of a new drawing.

    Returns
    -------
    (list of dict, bool)
        The new shapes (kept shapes in their old order, then new ones) and
        whether anything changed.  Shapes whose id did not come back are
        gone (deleted on the map); points and lines are ignored.
    """
    if drawings is None:
        return shapes, False
    by_id = {s["id"]: s for s in shapes}
    kept: dict[str, dict] = {}
    added: list[dict] = []
    for feat in drawings:
        if not isinstance(feat, Mapping):
            continue
        geom = feat.get("geometry") or {}
        if geom.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        props = feat.get("properties") or {}
        sid = props.get("sba_id")
        if sid in by_id and sid not in kept:
            old = by_id[sid]
            if _same_geometry(old["geometry"], geom):
                kept[sid] = old
            else:
                source = old.get("source", "drawn")
                if source != "drawn" and not source.endswith(" (edited)"):
                    source += " (edited)"
                kept[sid] = {**old, "geometry": json.loads(json.dumps(geom)), "source": source}
        elif sid is None:
            added.append(new_shape(new_id(), geom, default_type, "drawn"))
    result = [kept[s["id"]] for s in shapes if s["id"] in kept] + added
    changed = len(result) != len(shapes) or any(a is not b for a, b in zip(result, shapes, strict=False))
    return result, changed


def _same_geometry(a: Mapping, b: Mapping) -> bool:
    """Whether ``b`` is ``a`` as Leaflet echoes it: same rings, each coordinate within the rounding."""
    if a == b:
        return True
    try:
        ga, gb = shape(a), shape(b)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.GEOSException):
        return False
    if ga.geom_type != gb.geom_type or shapely.get_num_coordinates(ga) != shapely.get_num_coordinates(gb):
        return False
    if not shapely.equals_exact(ga, gb, tolerance=2 * _ECHO_TOLERANCE):  # same ring structure
        return False
    diff = np.abs(shapely.get_coordinates(ga) - shapely.get_coordinates(gb))
    return bool(diff.size == 0 or diff.max() <= _ECHO_TOLERANCE)


# --------------------------------------------------------------------------
# picking a lot


def parcel_at(parcels: gpd.GeoDataFrame, lon: float, lat: float, id_field: str = "parcel_id") -> str | None:
    """Id of the lot under a clicked point (lon/lat), or ``None`` if none is."""
    if parcels.crs is None:
        raise ValueError("parcel_at needs parcels with a CRS")
    pt = gpd.GeoSeries([shapely.Point(lon, lat)], crs=LONLAT).to_crs(parcels.crs).iloc[0]
    hits = parcels.sindex.query(pt, predicate="intersects")
    if len(hits) == 0:
        return None
    return str(parcels[id_field].iloc[int(hits[0])])


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


def shapes_geojson(shapes: Iterable[Mapping[str, Any]]) -> dict:
    feats = []
    for i, s in enumerate(shapes, start=1):
        if not s.get("geometry"):
            continue
        feats.append({
            "type": "Feature",
            "geometry": s["geometry"],
            "properties": {"sba_id": s["id"], "feature_type": s.get("feature_type", "other"), "label": i},
        })
    return {"type": "FeatureCollection", "features": feats}


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

