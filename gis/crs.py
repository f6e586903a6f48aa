"""Map projections: choose a projected CRS for measuring and convert to square feet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyproj import CRS

from gis.errors import MissingCRSError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["METRES_PER_INTL_FOOT", "sqft_per_crs_unit2", "to_area_crs", "to_common_crs"]

METRES_PER_INTL_FOOT = 0.3048  # exact, by the 1959 international yard and pound agreement


def sqft_per_crs_unit2(crs: CRS | str | int) -> float:
    """International square feet in one square unit of a projected CRS.

    Uses the CRS's own axis unit factor, never a hard-coded "feet".

    >>> sqft_per_crs_unit2("EPSG:2913")  # international feet
    1.0
    >>> round(sqft_per_crs_unit2("EPSG:2272"), 6)  # US survey feet
    1.000004
    >>> round(sqft_per_crs_unit2("EPSG:32610"), 4)  # metres
    10.7639
    """
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise ValueError(f"Area needs a projected CRS, got {crs.name!r}.")
    metres_per_unit = crs.axis_info[0].unit_conversion_factor
    return (metres_per_unit / METRES_PER_INTL_FOOT) ** 2


def _require_crs(gdf: gpd.GeoDataFrame, role: str) -> CRS:
    if gdf.crs is None:
        raise MissingCRSError(
            f"The {role} file does not say which map projection it uses. "
            "If it is a shapefile, include the .prj file in the zip; if it is a CSV, "
            "its coordinates must be longitude/latitude or you must name the projection."
        )
    return CRS.from_user_input(gdf.crs)


def to_area_crs(gdf: gpd.GeoDataFrame, role: str = "parcels") -> gpd.GeoDataFrame:
    """Return ``gdf`` in a projected CRS fit for measuring area.

    Projected data is returned unchanged; lon/lat (or any geographic) data is
    moved to its local UTM zone with ``estimate_utm_crs``.
    """
    crs = _require_crs(gdf, role)
    if crs.is_projected:
        return gdf
    if gdf.geometry.is_empty.all():
        return gdf.to_crs(gdf.estimate_utm_crs() if len(gdf) else "EPSG:3857")
    return gdf.to_crs(gdf.estimate_utm_crs())


def to_common_crs(gdf: gpd.GeoDataFrame, target: CRS, role: str) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to ``target`` (the parcel layer's CRS) if it differs."""
    crs = _require_crs(gdf, role)
    if crs == CRS.from_user_input(target):
        return gdf
    return gdf.to_crs(target)
