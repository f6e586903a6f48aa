"""Feature types and the homeowner's shapes, with no map library.

* the feature types a homeowner can choose (:data:`FEATURE_TYPES`), their
  plain-language labels (:func:`type_label`), colours, and the common names
  other data uses for them (:data:`TYPE_ALIASES`, :func:`normalise_type`);
* shapes: plain dicts held by the caller (:func:`new_shape`)::

    {"id": "s3", "geometry": <GeoJSON geometry in EPSG:4326>,
     "feature_type": "roof", "source": "drawn"}

  turned into a GeoDataFrame for the engine (:func:`shapes_frame`), loaded
  from a layer (:func:`shapes_from_layer`), and matched with what a drawing
  tool sends back (:func:`reconcile_drawings`);
* picking the lot under a clicked point (:func:`parcel_at`).

The folium maps that show these shapes are in :mod:`gis.webmap`; everything
here also serves headless code (evidence packages, staff review).

Every shape is put in the drawing tool's layer group with its id in the
GeoJSON properties (``sba_id``).  When the browser sends back all drawings,
:func:`reconcile_drawings` matches them by that id: an id that came back with a
new outline was edited, an id that did not come back was deleted, a drawing
without an id is new.  Because the map is always rebuilt from the caller's
list, what is on screen and what is measured never drift apart (no "ghost"
shapes after a delete).

Areas are never taken from the browser: the caller measures the shapes with
the geometry engine (:func:`shapes_frame` gives it a GeoDataFrame).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS
from shapely.geometry import mapping, shape

from gis.errors import NonFiniteCoordinateError
from gis.repair import non_finite, repair

__all__ = [
    "FEATURE_TYPES",
    "LONLAT",
    "TYPE_ALIASES",
    "TYPE_COLOURS",
    "new_shape",
    "normalise_type",
    "normalise_types",
    "parcel_at",
    "reconcile_drawings",
    "shapes_frame",
    "shapes_from_layer",
    "shapes_geojson",
    "type_column",
    "type_label",
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

#: Common names for the same kind of surface, mapped to our feature types.
TYPE_ALIASES = {
    "house": "roof", "building": "roof", "buildings": "roof", "dwelling": "roof",
    "home": "roof", "adu": "roof", "roofs": "roof", "structure": "roof",
    "garages": "garage", "sheds": "shed",
    "drive": "driveway", "driveways": "driveway", "drive-pav": "driveway",
    "drive-unp": "driveway", "parking_lot": "parking", "parking_lots": "parking",
    "prkng-pav": "parking", "prkng-unp": "parking",
    "sidewalk": "walkway", "path": "walkway", "walk": "walkway", "walkways": "walkway",
    "flagstone": "walkway", "flagstones": "walkway", "sw-private": "walkway",
    "patios": "patio", "decks": "deck", "porches": "deck", "porch": "porch",
    "pavers": "pervious_pavement", "porous_pavement": "pervious_pavement",
    "swimming_pool": "pool", "pool-in": "pool", "pool-ab": "pool",
    "docks": "dock", "pier": "dock", "floating_house": "floating_home",
    "floating home": "floating_home", "houseboat": "floating_home",
}

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

#: Column names a layer's feature type may have, in the order they are tried
#: when the asked-for column is missing (shapefiles cut names to 10 characters).
TYPE_COLUMNS = ("feature_type", "feature_ty", "type", "TYPE", "Type")


def type_column(columns: Iterable[str], wanted: str = "feature_type") -> str | None:
    """The feature-type column of a layer: ``wanted`` if present, else the first of :data:`TYPE_COLUMNS`.

    ``None`` when there is none (every feature is then "other").

    >>> type_column(["parcel_id", "TYPE"])
    'TYPE'
    >>> type_column(["parcel_id"]) is None
    True
    """
    columns = list(columns)
    if wanted in columns:
        return wanted
    return next((c for c in TYPE_COLUMNS if c in columns), None)


def normalise_type(value: object) -> str:
    """One feature type name lower-cased, trimmed and aliased ("Drive-Pav" → "driveway").

    Missing and blank values are "other".

    >>> normalise_type(" Drive-Pav "), normalise_type(None), normalise_type("Floating Home")
    ('driveway', 'other', 'floating_home')
    """
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "other"
    v = str(value).strip().lower() or "other"
    v = TYPE_ALIASES.get(v, TYPE_ALIASES.get(v.replace(" ", "_"), v))
    return v.replace(" ", "_").replace("-", "_")


def normalise_types(values: pd.Series) -> pd.Series:
    """Lower-case, trim and alias feature type names ("Drive-Pav" → "driveway")."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # bulk runs read the type column as categories
        codes = values.cat.codes.to_numpy()
        uniques = [*values.cat.categories, "other"]
        codes = np.where(codes < 0, len(uniques) - 1, codes)
    else:
        codes, uniques = pd.factorize(values.astype("string").fillna("other"), use_na_sentinel=False)
    clean = [normalise_type(v) for v in uniques]
    return pd.Series(np.array(clean, dtype=object)[codes] if len(codes) else [], index=values.index, dtype=object)


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
    owned = np.zeros(len(feats), dtype=bool)
    if id_field in feats.columns and id_field in lot.columns:
        owned = feats[id_field].astype("string").isin(lot[id_field].astype("string")).fillna(False).to_numpy()
    _refuse_unknown_corners(geoms, owned, lot_geom, features.index)
    feats = feats[touches | owned]
    if type_field:
        type_field = type_column(feats.columns, type_field)
    types = (normalise_types(feats[type_field]).to_numpy() if type_field
             else np.full(len(feats), "other", dtype=object))
    ll = feats.to_crs(LONLAT).geometry.to_numpy()
    out = []
    counter = itertools.count(1)
    for geom, kind in zip(ll, types, strict=True):
        if geom is not None and not geom.is_valid:
            geom = repair(geom)
        for part in _polygon_parts(geom):
            out.append(new_shape(f"{id_prefix}{next(counter)}", _rounded_mapping(part), str(kind), source))
    return out


def _refuse_unknown_corners(geoms: np.ndarray, owned: np.ndarray, lot_geom, index: pd.Index) -> None:
    """Refuse the outlines with a corner that is not a number (NaN or infinite) whose box meets the
    lot's, or that carry its id: repairing one would drop the corner and put a guess on the bill
    (SPEC A1.4 repairs crossings).  GEOS leaves NaN corners out of a box, so the box is the rest's."""
    x0, y0, x1, y1 = lot_geom.bounds
    b = shapely.bounds(geoms)
    near = np.flatnonzero(owned | ((b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)))
    bad = near[non_finite(geoms[near])]
    if len(bad):
        raise NonFiniteCoordinateError.for_rows("features", index, bad,
                                                fix="Fix or remove {it} in the file and load it again.")


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


def shapes_geojson(shapes: Iterable[Mapping[str, Any]]) -> dict:
    """Drawn shapes as a GeoJSON FeatureCollection, each labelled with its number in drawing order.

    Shapes without a geometry are left out; the others keep their number (no renumbering).
    """
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
