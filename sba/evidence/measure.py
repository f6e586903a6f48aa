"""Measuring what the homeowner drew or taped, for the screen and the evidence package (SPEC A4).

:func:`measure_shapes` runs the shapes drawn on the map (or loaded from a file
or the utility's record) through the geometry engine; :func:`measure_tape`
adds up a tape-measure worksheet.  Both give a :class:`LotMeasure`, whose
:func:`form_totals` are the three boxes of the City's form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

import geopandas as gpd
import shapely
from pyproj import CRS

import gis
from categorize import billable_sqft
from gis.repair import repair_invalid
from gis.shapes import shapes_frame
from sba.engine import area_str, feature_areas, rules_for

if TYPE_CHECKING:
    from categorize import RateSchedule
    from gis.tape import TapeShape

__all__ = [
    "FORM_BUCKETS",
    "FORM_LABELS",
    "FeatureArea",
    "LotMeasure",
    "form_totals",
    "measure_shapes",
    "measure_tape",
]

#: The City form's three boxes → the feature types counted in each.
FORM_BUCKETS: dict[str, tuple[str, ...]] = {
    "roofs": ("roof", "garage", "carport", "shed", "floating_home"),
    "driveway_parking": ("driveway", "parking"),
    "other_hard_surfaces": (),  # everything else
}
FORM_LABELS = {
    "roofs": "Roofs (all structures)",
    "driveway_parking": "Driveway and parking",
    "other_hard_surfaces": "Other hard surfaces",
}


@dataclass(frozen=True)
class FeatureArea:
    """One shape's own area (before overlaps are removed)."""

    feature_id: str
    feature_type: str
    source: str
    area_sqft: float
    inside_lot_sqft: float
    label: str = ""
    shape: str | None = None  # tape rows: rectangle / circle / ...
    dimensions_ft: tuple = ()


@dataclass(frozen=True)
class LotMeasure:
    """Everything measured for one lot, in sq ft (floats exact, Decimal whole)."""

    parcel_id: str
    crs_measured: str
    billable_area_sqft: float
    whole_sqft: Decimal
    by_type: dict[str, float]
    outside_lot_sqft: float = 0.0
    overlap_sqft: float = 0.0
    overwater_sqft: float = 0.0
    excluded_type_sqft: float = 0.0
    repaired: bool = False
    problems: tuple[str, ...] = ()
    features: tuple[FeatureArea, ...] = ()
    method: str = "drawn"

    @property
    def form_totals(self) -> dict[str, Decimal]:
        """The City form's three boxes, whole sq ft."""
        return form_totals(self.by_type)

    def breakdown(self) -> dict[str, Any]:
        """JSON-ready breakdown (areas as 2-decimal strings)."""
        return {
            "by_type": {t: area_str(v) for t, v in self.by_type.items()},
            "outside_lot_sqft": area_str(self.outside_lot_sqft),
            "overlap_removed_sqft": area_str(self.overlap_sqft),
            "overwater_excluded_sqft": area_str(self.overwater_sqft),
            "excluded_type_sqft": area_str(self.excluded_type_sqft),
            "repaired": bool(self.repaired),
            "problems": list(self.problems),
        }


def form_totals(by_type: Mapping[str, float]) -> dict[str, Decimal]:
    """Group per-type areas into the City form's three boxes, each rounded half-up.

    >>> form_totals({"roof": 1225.4, "shed": 150, "driveway": 300, "patio": 314.16})
    {'roofs': Decimal('1375'), 'driveway_parking': Decimal('300'), 'other_hard_surfaces': Decimal('314')}
    """
    sums = dict.fromkeys(FORM_BUCKETS, 0.0)
    for kind, sqft in by_type.items():
        bucket = next((b for b, kinds in FORM_BUCKETS.items() if kind in kinds), "other_hard_surfaces")
        sums[bucket] += float(sqft)
    return {b: billable_sqft(v) for b, v in sums.items()}


def _crs_name(crs) -> str:
    crs = CRS.from_user_input(crs)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def measure_shapes(
    lot: gpd.GeoDataFrame,
    shapes: Sequence[Mapping[str, Any]],
    water: gpd.GeoDataFrame | None,
    schedule: RateSchedule,
    *,
    id_field: str = "parcel_id",
) -> LotMeasure:
    """Measure a homeowner's shapes on one lot with the geometry engine.

    Parameters
    ----------
    lot
        One lot (any CRS; measured in a CRS fit for area, see :func:`gis.project_layers`).
    shapes
        Shape dicts with GeoJSON geometry in EPSG:4326 (see ``gis.shapes``).
    water
        Water bodies (any CRS) or ``None``.
    schedule
        The rate schedule (which feature types are billable).

    Raises
    ------
    gis.GISInputError
        E.g. :class:`gis.NoOverlapError` when no shape touches the lot.
    """
    parcel_id = str(lot[id_field].iloc[0])
    feats = shapes_frame(shapes)
    lot_p, feats_p, water_p = gis.prepare_layers(lot, feats, water)
    crs_name = _crs_name(lot_p.crs)
    if len(feats_p) == 0:
        return LotMeasure(parcel_id, crs_name, 0.0, Decimal(0), {})
    m = gis.measure_lots(
        lot_p, feats_p, water_p, id_field=id_field, type_field="feature_type",
        rules=rules_for(schedule), require_overlap=True,
    )
    rec = m.lot(lot_p[id_field].iloc[0])
    unit2 = gis.sqft_per_crs_unit2(lot_p.crs)
    geoms = feats_p.geometry.to_numpy()
    fixed = repair_invalid(geoms)
    areas, inside = feature_areas(fixed, shapely.union_all(lot_p.geometry.to_numpy()), unit2)
    sources = [str(s.get("source", "drawn")) for s in shapes]
    features = tuple(
        FeatureArea(str(fid), str(kind), src, float(a), float(i))
        for fid, kind, src, a, i in zip(
            feats_p["feature_id"], gis.normalise_types(feats_p["feature_type"]), sources, areas, inside,
            strict=True,
        )
    )
    exact = float(rec["billable_area_sqft"])
    how = sorted(set(sources))
    return LotMeasure(
        parcel_id=parcel_id,
        crs_measured=crs_name,
        billable_area_sqft=exact,
        whole_sqft=billable_sqft(exact),
        by_type=dict(rec["by_type"]),
        outside_lot_sqft=float(rec["outside_parcel_sqft"]),
        overlap_sqft=float(rec["overlap_sqft"]),
        overwater_sqft=float(rec["overwater_excluded_sqft"]),
        excluded_type_sqft=float(rec["excluded_type_sqft"]),
        repaired=bool(rec["repaired"]),
        problems=tuple(f"Shape {p.row + 1}: {p.message}" for p in m.problems)
        + _overwater_notes(feats_p, fixed, water_p),
        features=features,
        method="drawn" if how == ["drawn"] else ("uploaded" if set(how) <= {"upload", "record"} else "mixed"),
    )


_A_STRUCTURE = {"dock": "a dock", "float": "a float", "floating_home": "a floating home"}


def _overwater_notes(feats: gpd.GeoDataFrame, geoms: np.ndarray, water: gpd.GeoDataFrame | None) -> tuple[str, ...]:
    """What happens to each dock or floating home: taken as over water without a water layer, flagged on land.

    With water, the shoreline decides (the part on land counts, SPEC A1.1); one
    wholly on land counts in full, and is flagged because it may be drawn in the
    wrong place, or be a loading dock (billable) that the City checks.
    """
    kinds = gis.normalise_types(feats["feature_type"]).to_numpy()
    rows = np.flatnonzero(np.isin(kinds, list(gis.OVERWATER_TYPES)) & ~shapely.is_missing(geoms))
    if not len(rows):
        return ()
    if water is None or not len(water):
        return tuple(f"Shape {i + 1} ({_A_STRUCTURE.get(kinds[i], kinds[i])}): there is no water layer, "
                     "so it is taken to be over water and not counted. "
                     "Add the water bodies to measure it against the shoreline."
                     for i in rows)
    # only the water near each structure is looked at: a city's water layer may be large
    shape_i, water_i = water.sindex.query(geoms[rows], predicate="intersects")
    near = repair_invalid(water.geometry.to_numpy()[water_i])
    wet_area = shapely.area(shapely.intersection(geoms[rows][shape_i], near))
    wet = np.unique(shape_i[wet_area > 0])
    dry = np.delete(rows, wet)
    return tuple(f"Shape {i + 1} ({_A_STRUCTURE.get(kinds[i], kinds[i])}) lies wholly on land, "
                 "so it counts in full, like a deck. "
                 "If it is over water, the water layer does not show that water; "
                 "the City will check it (a loading dock on land is billable)." for i in dry)


def measure_tape(rows: Sequence[TapeShape], parcel_id: str = "", schedule: RateSchedule | None = None) -> LotMeasure:
    """Measure tape-measured rows (the City worksheet's way): areas add up, no overlap check.

    Types the schedule does not bill (docks, floating homes) are left out.

    >>> from gis.tape import SEED_WORKSHEET
    >>> m = measure_tape(SEED_WORKSHEET)
    >>> m.whole_sqft, m.form_totals["roofs"]
    (Decimal('2569'), Decimal('1825'))
    """
    by_type: dict[str, float] = {}
    features = []
    total = Decimal(0)
    excluded = 0.0
    for i, row in enumerate(rows, start=1):
        area = row.area_sqft
        kind = gis.normalise_type(row.feature_type)
        billable = schedule.is_billable(kind) if schedule is not None else kind not in gis.OVERWATER_TYPES
        if billable:
            total += area
            by_type[kind] = by_type.get(kind, 0.0) + float(area)
        else:
            excluded += float(area)
        features.append(FeatureArea(
            f"t{i}", kind, "tape", float(area), float(area), label=row.label, shape=row.kind,
            dimensions_ft=tuple(str(d) for d in row.dims),
        ))
    return LotMeasure(
        parcel_id=str(parcel_id),
        crs_measured="none (tape measure)",
        billable_area_sqft=float(total),
        whole_sqft=billable_sqft(total),
        by_type=by_type,
        excluded_type_sqft=excluded,
        features=tuple(features),
        method="tape",
    )
