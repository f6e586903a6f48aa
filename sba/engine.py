"""One engine for every front end: read layers, measure lots, apply the billing rules.

The app, ``sba measure`` and ``sba reassess`` all call these functions, so a
lot gets the same answer whichever way it is measured.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

import geopandas as gpd

import gis
from categorize import PropertyClass, billable_sqft, categorize_sfr
from categorize.schedule import RateSchedule

__all__ = ["area_str", "load_layers", "lot_results", "measure_files", "rules_for"]

TWO_PLACES = Decimal("0.01")


def area_str(value: float) -> str:
    """A measured area as a decimal string with 2 places (half-up)."""
    return str(Decimal(repr(float(value))).quantize(TWO_PLACES, rounding=ROUND_HALF_UP))


def rules_for(schedule: RateSchedule) -> gis.MeasureRules:
    """The per-utility billable-type switches of a rate schedule, for the geometry engine."""
    billable = dict(getattr(schedule, "billable_types", {}) or {})
    return gis.MeasureRules(billable=billable)


def load_layers(
    parcels: str | Path,
    features: str | Path,
    water: str | Path | None = None,
    *,
    parcels_layer: str | None = None,
    features_layer: str | None = None,
    water_layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """Read the three layers and bring them into the parcels' projected CRS."""
    p = gis.read_layer(parcels, layer=parcels_layer, role="parcels")
    f = gis.read_layer(features, layer=features_layer, role="features")
    w = gis.read_layer(water, layer=water_layer, role="water") if water else None
    return gis.prepare_layers(p, f, w)


def measure_files(
    parcels: str | Path,
    features: str | Path,
    water: str | Path | None = None,
    *,
    parcel_id: str | None = None,
    id_field: str = "parcel_id",
    type_field: str = "feature_type",
    schedule: RateSchedule,
    parcels_layer: str | None = None,
    features_layer: str | None = None,
    water_layer: str | None = None,
) -> tuple[gis.Measurement, pd.DataFrame]:
    """Measure lots from files; returns the measurement and the lots it covers."""
    p, f, w = load_layers(
        parcels, features, water,
        parcels_layer=parcels_layer, features_layer=features_layer, water_layer=water_layer,
    )
    if parcel_id is not None:
        p = gis.select_parcel(p, parcel_id, id_field)
    m = gis.measure_lots(
        p, f, w, id_field=id_field, type_field=type_field,
        rules=rules_for(schedule), require_overlap=parcel_id is not None,
    )
    return m, p


def lot_results(m: gis.Measurement, parcels: gpd.GeoDataFrame, schedule: RateSchedule,
                class_field: str | None = "property_class") -> list[dict]:
    """JSON-ready per-lot records: areas as decimal strings, the category for houses."""
    classes = None
    if class_field and class_field in parcels.columns:
        classes = parcels[class_field].astype("string").fillna("single_family").to_numpy()
    problems: dict[str, list[dict]] = {}
    for pr in m.problems:
        problems.setdefault(pr.parcel_id or "", []).append(
            {"feature": pr.feature_id, "kind": pr.kind, "message": pr.message}
        )
    type_cols = {t: m.lots[gis.measure.TYPE_PREFIX + t].to_numpy() for t in m.types}
    out = []
    for i, row in enumerate(m.lots.itertuples(index=False)):
        exact = float(row.billable_area_sqft)
        whole = billable_sqft(exact)
        klass = PropertyClass.parse(classes[i]) if classes is not None else PropertyClass.SINGLE_FAMILY
        category = categorize_sfr(whole, schedule).name if klass is PropertyClass.SINGLE_FAMILY else None
        by_type = {t: area_str(col[i]) for t, col in type_cols.items() if col[i] > 0}
        out.append({
            "parcel_id": _jsonable(row.parcel_id),
            "property_class": klass.value,
            "billable_area_sqft": area_str(exact),
            "billable_sqft_rounded": str(whole),
            "outside_parcel_sqft": area_str(row.outside_parcel_sqft),
            "overlap_sqft": area_str(row.overlap_sqft),
            "overwater_excluded_sqft": area_str(row.overwater_excluded_sqft),
            "excluded_type_sqft": area_str(row.excluded_type_sqft),
            "by_type": by_type,
            "n_features": int(row.n_features),
            "repaired": bool(row.repaired),
            "category": category,
            "problems": problems.get(str(row.parcel_id), []),
        })
    return out


def _jsonable(v):
    if hasattr(v, "item"):
        return v.item()
    return v
