"""GeoJSON that other programs read: polygon rings in RFC 7946 order.

RFC 7946 §3.1.6: a polygon's exterior ring is counter-clockwise and its holes
are clockwise.  Shapes reach us in any order (Leaflet's rectangle tool draws
clockwise, ``shapely.set_precision`` may reverse a ring), so every GeoJSON the
project writes passes its geometries through :func:`rfc7946` (or a frame
through :func:`rfc7946_frame`) just before writing.  Points and lines are
returned unchanged; coordinates are never moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import mapping, shape

__all__ = ["rfc7946", "rfc7946_frame"]


def rfc7946(geometry: Mapping[str, Any] | shapely.Geometry | None) -> dict | None:
    """A GeoJSON geometry dict (from a dict or a shapely geometry) with RFC 7946 ring order; None stays None."""
    if geometry is None:
        return None
    geom = geometry if isinstance(geometry, shapely.Geometry) else shape(geometry)
    return mapping(shapely.orient_polygons(geom))  # exterior counter-clockwise, holes clockwise


def rfc7946_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with its polygons' rings in RFC 7946 order (for ``to_json``/``to_file``)."""
    out = frame.copy()
    out[frame.geometry.name] = gpd.GeoSeries(shapely.orient_polygons(frame.geometry.to_numpy()), index=frame.index,
                                             crs=frame.crs)
    return out
