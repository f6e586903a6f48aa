"""A slow, obviously-correct billable-area oracle for tests.

It is written the way an analyst would do it by hand with plain GeoPandas, on
purpose independent of ``gis/``: tests compare the project's engine with it.

Rules (SPEC.md A1): billable area of a lot = area of the union of its features
clipped to the lot, minus any part over water, in international square feet.
Invalid features are repaired with ``shapely.make_valid`` (structure method: shells less holes).  Overwater feature
types (dock, float, floating_home) keep only their part on land when a water
layer is given; without a water layer they are dropped entirely.
"""

from __future__ import annotations

import pandas as pd

import geopandas as gpd
import shapely

__all__ = ["oracle_billable_area", "oracle_outside_and_overlap", "sqft_per_crs_unit2"]

FOOT_INTERNATIONAL_M = 0.3048


def sqft_per_crs_unit2(crs) -> float:
    """International square feet per squared CRS axis unit (from the CRS itself).

    >>> round(sqft_per_crs_unit2("EPSG:2913"), 12)     # international foot
    1.0
    >>> round(sqft_per_crs_unit2("EPSG:2272"), 9)      # US survey foot
    1.000004
    >>> round(sqft_per_crs_unit2("EPSG:32610"), 6)     # metre
    10.76391
    """
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise ValueError(f"Area needs a projected CRS, got {crs.name!r}.")
    metres_per_unit = crs.axis_info[0].unit_conversion_factor
    return (metres_per_unit / FOOT_INTERNATIONAL_M) ** 2


def oracle_billable_area(
    parcels_gdf: gpd.GeoDataFrame,
    features_gdf: gpd.GeoDataFrame,
    water_gdf: gpd.GeoDataFrame | None = None,
    id_field: str = "parcel_id",
    type_field: str = "feature_type",
    overwater_types=("dock", "float", "floating_home"),
) -> pd.Series:
    """Billable area per parcel, float international sq ft, index = parcel id.

    Steps (deliberately the slow, obvious way):

    1. project everything to the parcels' CRS (lon/lat parcels go to their UTM
       zone first);
    2. ``make_valid`` every feature;
    3. without water, drop the overwater feature types entirely;
    4. ``overlay(features, parcels, 'intersection', keep_geom_type=True)``;
    5. dissolve by parcel id (the union counts overlaps once);
    6. ``overlay(..., water, 'difference')`` when water is given;
    7. area times (sq ft per CRS unit squared); parcels with nothing get 0.

    Parcels that share an id (multi-part lots) are summed under that id.
    """
    parcels = parcels_gdf[[id_field, "geometry"]].copy()
    if parcels.crs is None:
        raise ValueError("The parcel layer has no CRS.")
    if not parcels.crs.is_projected:
        parcels = parcels.to_crs(parcels.estimate_utm_crs())
    crs = parcels.crs
    parcels = parcels[parcels.geometry.notna()]
    parcels["geometry"] = [
        _polygonal(g) for g in _repair(parcels.geometry.values)
    ]
    parcels = parcels[~parcels.geometry.is_empty]

    feats = features_gdf[[type_field, "geometry"]].copy()
    feats = feats[feats.geometry.notna()].to_crs(crs)
    feats["geometry"] = _repair(feats.geometry.values)
    feats = feats[~feats.geometry.is_empty]
    if water_gdf is None:
        feats = feats[~feats[type_field].isin(list(overwater_types))]
    # make_valid can return GeometryCollections (polygons + stray lines); keep
    # only the polygonal parts so keep_geom_type does not drop whole features.
    feats["geometry"] = [_polygonal(g) for g in feats.geometry]
    feats = feats[~feats.geometry.is_empty]

    ids = pd.Index(parcels[id_field].unique(), name=id_field)
    if feats.empty:
        return pd.Series(0.0, index=ids, name="billable_area_sqft")

    pieces = gpd.overlay(feats, parcels, how="intersection", keep_geom_type=True)
    if pieces.empty:
        return pd.Series(0.0, index=ids, name="billable_area_sqft")
    per_lot = pieces[[id_field, "geometry"]].dissolve(by=id_field).reset_index()
    if water_gdf is not None and len(water_gdf):
        water = water_gdf[["geometry"]].to_crs(crs)
        water["geometry"] = _repair(water.geometry.values)
        per_lot = gpd.overlay(per_lot, water, how="difference", keep_geom_type=True)
    area = per_lot.geometry.area * sqft_per_crs_unit2(crs)
    area = pd.Series(area.to_numpy(), index=per_lot[id_field].to_numpy())
    area = area.groupby(level=0).sum()
    out = area.reindex(ids, fill_value=0.0).astype(float)
    out.name = "billable_area_sqft"
    return out


def oracle_outside_and_overlap(
    parcels_gdf: gpd.GeoDataFrame,
    features_gdf: gpd.GeoDataFrame,
    water_gdf: gpd.GeoDataFrame | None = None,
    id_field: str = "parcel_id",
    type_field: str = "feature_type",
    overwater_types=("dock", "float", "floating_home"),
) -> pd.DataFrame:
    """Per parcel, the two reported areas, computed lot by lot with plain shapely.

    * ``outside_parcel_sqft``: the union, over every feature with area on the
      lot, of the feature's part that lies on no lot at all;
    * ``overlap_sqft``: the counted features' pieces on the lot, summed, minus
      their union (overlaps counted once); without a water layer the overwater
      types are not counted.

    Valid input only (the benchmark and oracle seeds); projected CRS.
    """
    crs = parcels_gdf.crs
    lots = parcels_gdf.geometry.to_numpy()
    feats = features_gdf.to_crs(crs)
    F = feats.geometry.to_numpy()
    counted = ~feats[type_field].isin(list(overwater_types)).to_numpy() if water_gdf is None else None
    stray = shapely.difference(F, shapely.union_all(lots))
    ftree = shapely.STRtree(F)
    rows = []
    for i, lot in enumerate(lots):
        on = [j for j in ftree.query(lot) if shapely.intersection(F[j], lot).area > 0]
        outside = shapely.union_all([stray[j] for j in on]).area if on else 0.0
        pieces = [shapely.intersection(F[j], lot) for j in on if counted is None or counted[j]]
        overlap = sum(p.area for p in pieces) - shapely.union_all(pieces).area if pieces else 0.0
        rows.append((parcels_gdf[id_field].iloc[i], outside, overlap))
    unit2 = sqft_per_crs_unit2(crs)
    out = pd.DataFrame(rows, columns=[id_field, "outside_parcel_sqft", "overlap_sqft"]).set_index(id_field)
    return out * unit2


def _repair(geoms):
    """SPEC A1.4's repair as the README reads it: GEOS's structure method (shells less holes)."""
    return shapely.make_valid(geoms, method="structure", keep_collapsed=False)


def _polygonal(geom):
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [
        g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")
    ]
    return shapely.union_all(parts) if parts else shapely.Polygon()
