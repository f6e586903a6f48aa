"""Map projections: check a layer's coordinates, choose a CRS fit for measuring area.

Areas are only as good as the projection they are measured in.  Three checks
stand between a user's file and a bill:

* :func:`check_coordinates`: the coordinates must lie where the layer's CRS
  is used (state-plane feet labelled as longitude/latitude, or feet of one
  state labelled with another state's zone, are refused);
* :func:`choose_area_crs`: the layer's own CRS is used only when its areal
  scale at the data is within :data:`MAX_AREAL_DISTORTION` of 1; lon/lat,
  Web Mercator and other distorting CRSs are measured in a Lambert azimuthal
  equal-area projection centred on the data, whose areas equal the geodesic
  areas on the ellipsoid (``pyproj.Geod``).  A utility that bills in its own
  official projection names it (``--crs EPSG:NNNN``).
* :func:`sqft_per_crs_unit2`: square feet from the CRS's own axis unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pyproj import CRS, Proj, Transformer
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import LambertAzimuthalEqualAreaConversion
from pyproj.exceptions import CRSError

from gis.errors import CRSMismatchError, MissingCRSError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "MAX_AREAL_DISTORTION",
    "METRES_PER_INTL_FOOT",
    "AreaCRS",
    "areal_distortion",
    "check_coordinates",
    "choose_area_crs",
    "layer_bounds",
    "parse_crs",
    "sqft_per_crs_unit2",
    "to_area_crs",
    "to_common_crs",
]

METRES_PER_INTL_FOOT = 0.3048  # exact, by the 1959 international yard and pound agreement

#: A CRS whose areal scale at the data differs from 1 by more than this is not
#: used for measuring (0.1 %: 2.6 sq ft on a 2,600 sq ft house, enough to move
#: a lot across a category line).  State Plane and UTM stay well inside it.
MAX_AREAL_DISTORTION = 0.001

#: How far (degrees) data may reach outside its CRS's published area of use
#: before it is taken for coordinates in another CRS.
AREA_OF_USE_MARGIN = 1.0


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


@dataclass(frozen=True)
class AreaCRS:
    """The CRS areas are measured in, and why, when it is not the layer's own.

    ``note`` is ``None`` when the layer's own CRS is used; otherwise one
    sentence for the output saying which CRS was used instead and why.
    """

    crs: CRS
    note: str | None = None


def parse_crs(text: str | int | CRS) -> CRS:
    """A CRS from user input (``EPSG:2913``, ``2913``, WKT...), refused in one sentence if unknown.

    >>> parse_crs("2913").to_epsg()
    2913
    """
    try:
        return CRS.from_user_input(int(text) if str(text).strip().isdigit() else text)
    except (CRSError, TypeError, ValueError) as err:
        raise CRSMismatchError(
            f"{text!r} is not a map projection we know; give an EPSG code such as EPSG:2913."
        ) from err


def _require_crs(gdf: gpd.GeoDataFrame, role: str) -> CRS:
    if gdf.crs is None:
        raise MissingCRSError(
            f"The {role} file does not say which map projection it uses. "
            "If it is a shapefile, include the .prj file in the zip; if it is a CSV, "
            "its coordinates must be longitude/latitude or you must name the projection."
        )
    return CRS.from_user_input(gdf.crs)


def layer_bounds(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    """The layer's total bounds, or None when it has no coordinates at all (missing and empty
    shapes are left out)."""
    import shapely

    geoms = gdf.geometry.to_numpy()
    if not len(geoms):
        return None
    bounds = shapely.total_bounds(geoms)
    return tuple(float(v) for v in bounds) if np.all(np.isfinite(bounds)) else None


def _lonlat_bounds(crs: CRS, bounds) -> tuple[float, float, float, float] | None:
    """``bounds`` (in ``crs``) as lon/lat on the CRS's own datum; None when they cannot be.

    Geographic layers are already lon/lat: geopandas keeps x = east whatever
    the axis order the CRS declares.
    """
    if crs.is_geographic:
        return tuple(bounds)
    try:
        tr = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
        out = tr.transform_bounds(*bounds, errcheck=False)
    except Exception:  # PROJ refuses coordinates far outside the projection's domain
        return None
    return tuple(out) if np.all(np.isfinite(out)) else None


def _label(role: str, name: str | None) -> str:
    return f"The {role} file {name!r}" if name else f"The {role} layer"


def _describe(bounds) -> str:
    minx, miny, maxx, maxy = bounds
    return f"x {minx:,.6g} to {maxx:,.6g}, y {miny:,.6g} to {maxy:,.6g}"


def check_coordinates(gdf: gpd.GeoDataFrame, role: str, name: str | None = None, *,
                      bounds: tuple[float, float, float, float] | None = None) -> None:
    """Refuse a layer whose coordinates do not lie where its CRS is used.

    A GeoJSON is longitude/latitude by definition (RFC 7946), and a shapefile's
    .prj may be wrong: numbers in feet or metres labelled as degrees, or a
    neighbouring state's zone, would otherwise be measured as if they were
    right (0 sq ft, or a lot in the ocean).
    """
    crs = _require_crs(gdf, role)
    bounds = bounds if bounds is not None else layer_bounds(gdf)
    if bounds is None:
        return
    label = _label(role, name)
    fix = ("give the file its real map projection in your GIS (for a shapefile, its .prj file; "
           "a GeoJSON must be in longitude/latitude) and export it again")
    if crs.is_geographic:
        minx, miny, maxx, maxy = bounds
        if not (-180.5 <= minx and maxx <= 360.5 and -90.5 <= miny and maxy <= 90.5):
            raise CRSMismatchError(
                f"{label} says its coordinates are longitude/latitude ({crs.name}), but they are "
                f"{_describe(bounds)}, which look like feet or metres of a projected map; {fix}."
            )
    lonlat = _lonlat_bounds(crs, bounds)
    if lonlat is None:
        raise CRSMismatchError(
            f"{label}'s coordinates ({_describe(bounds)}) cannot be placed on the Earth in its map "
            f"projection {crs.name}; {fix}."
        )
    if _outside_area_of_use(crs, lonlat):
        raise CRSMismatchError(
            f"{label} says its map projection is {crs.name}, but its coordinates "
            f"({_describe(bounds)}) lie outside the area that projection is made for "
            f"({crs.area_of_use.name.rstrip('.')}); {fix}."
        )


def _outside_area_of_use(crs: CRS, lonlat) -> bool:
    """Whether lon/lat bounds lie wholly outside ``crs``'s area of use (with a margin)."""
    aou = crs.area_of_use
    if aou is None:
        return False
    m = AREA_OF_USE_MARGIN
    west, south, east, north = aou.bounds
    if west > east:  # an area of use across the antimeridian
        east += 360
    lo_w, lo_s, lo_e, lo_n = lonlat
    if lo_e < west - m and lo_e + 360 <= east + m:
        lo_w, lo_e = lo_w + 360, lo_e + 360
    return lo_e < west - m or lo_w > east + m or lo_n < south - m or lo_s > north + m


def areal_distortion(crs: CRS, bounds) -> float:
    """The largest ``|areal scale - 1|`` of ``crs`` over the corners and centre of ``bounds``.

    ``inf`` for a geographic CRS (degrees have no area).

    >>> round(areal_distortion(CRS("EPSG:3857"), (-13657000, 5704000, -13655000, 5706000)), 2)
    1.04
    >>> areal_distortion(CRS("EPSG:2913"), (7640000, 680000, 7650000, 690000)) < 0.001
    True
    """
    if not crs.is_projected:
        return float("inf")
    minx, miny, maxx, maxy = bounds
    xs = np.array([minx, minx, maxx, maxx, (minx + maxx) / 2])
    ys = np.array([miny, maxy, miny, maxy, (miny + maxy) / 2])
    lon, lat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(xs, ys)
    scale = Proj(crs).get_factors(lon, lat, errcheck=False).areal_scale
    scale = np.asarray(scale, dtype=float)
    return float(np.max(np.abs(scale - 1))) if np.all(np.isfinite(scale)) else float("inf")


def _equal_area_crs(crs: CRS, bounds) -> CRS:
    """A Lambert azimuthal equal-area projection centred on ``bounds``, on ``crs``'s datum."""
    lon_w, lat_s, lon_e, lat_n = _lonlat_bounds(crs, bounds)
    lat0, lon0 = round((lat_s + lat_n) / 2, 4), round((lon_w + lon_e) / 2, 4)
    where = f"{abs(lat0):.4f}°{'N' if lat0 >= 0 else 'S'} {abs(lon0):.4f}°{'E' if lon0 >= 0 else 'W'}"
    return ProjectedCRS(
        LambertAzimuthalEqualAreaConversion(latitude_natural_origin=lat0, longitude_natural_origin=lon0),
        geodetic_crs=crs.geodetic_crs,
        name=f"Lambert azimuthal equal-area centred on {where} ({crs.geodetic_crs.name})",
    )


def choose_area_crs(gdf: gpd.GeoDataFrame, role: str = "parcels", *, requested: CRS | str | int | None = None,
                    name: str | None = None, bounds: tuple[float, float, float, float] | None = None) -> AreaCRS:
    """The CRS to measure ``gdf`` in: the one asked for, its own if fit, else a local equal-area one.

    Parameters
    ----------
    gdf
        The layer that decides (the parcels).
    requested
        The utility's official projection (``--crs``); refused if it is not
        projected or distorts areas at the data by more than
        :data:`MAX_AREAL_DISTORTION`.
    """
    own = _require_crs(gdf, role)
    bounds = bounds if bounds is not None else layer_bounds(gdf)
    label = _label(role, name)
    if requested is not None:
        want = parse_crs(requested)
        if not want.is_projected:
            raise CRSMismatchError(f"{want.name} is longitude/latitude; measure in a projected CRS such as "
                                   "your State Plane zone (e.g. EPSG:2913).")
        if bounds is not None:
            lonlat = _lonlat_bounds(own, bounds)
            if lonlat is not None and _outside_area_of_use(want, _project_bounds(own.geodetic_crs, want.geodetic_crs,
                                                                                 lonlat)):
                raise CRSMismatchError(
                    f"{label} lies outside the area {want.name} is made for "
                    f"({want.area_of_use.name.rstrip('.')}); check the EPSG code of your utility's projection."
                )
            d = areal_distortion(want, _project_bounds(own, want, bounds))
            if d > MAX_AREAL_DISTORTION:
                raise CRSMismatchError(
                    f"{want.name} changes areas by {d:.1%} where {label[0].lower() + label[1:]} lies; "
                    "measure in a projection made for your area, such as your State Plane zone."
                )
        note = None if want == own else f"Areas measured in {want.name} (EPSG:{want.to_epsg()}), as asked."
        return AreaCRS(want, note)
    if bounds is None:
        return AreaCRS(own if own.is_projected else CRS.from_epsg(3857))
    d = areal_distortion(own, bounds)
    if d <= MAX_AREAL_DISTORTION:
        return AreaCRS(own)
    if _lonlat_bounds(own, bounds) is None:
        raise CRSMismatchError(f"{label}'s coordinates cannot be placed on the Earth in {own.name}.")
    local = _equal_area_crs(own, bounds)
    why = ("is in longitude/latitude" if not own.is_projected
           else f"is in {own.name}, which changes areas by {d:.1%} there")
    return AreaCRS(local, f"{label} {why}; areas were measured in "
                          f"{local.name}, whose areas equal the geodesic areas. Use --crs to measure in "
                          "your utility's official projection.")


def _project_bounds(src: CRS, dst: CRS, bounds):
    if src == dst:
        return bounds
    return Transformer.from_crs(src, dst, always_xy=True).transform_bounds(*bounds)


def to_area_crs(gdf: gpd.GeoDataFrame, role: str = "parcels", *, crs: CRS | str | int | None = None,
                name: str | None = None) -> gpd.GeoDataFrame:
    """``gdf`` in the CRS :func:`choose_area_crs` picks (unchanged if that is its own)."""
    check_coordinates(gdf, role, name)
    chosen = choose_area_crs(gdf, role, requested=crs, name=name).crs
    if CRS.from_user_input(gdf.crs) == chosen:
        return gdf
    return gdf.to_crs(chosen)


def to_common_crs(gdf: gpd.GeoDataFrame, target: CRS, role: str) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to ``target`` (the parcel layer's CRS) if it differs."""
    crs = _require_crs(gdf, role)
    if crs == CRS.from_user_input(target):
        return gdf
    return gdf.to_crs(target)
