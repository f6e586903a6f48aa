"""Compare a request's features with the utility's record layer, feature by feature.

Both layers are clipped to the lot (only the part on the lot is billable), then
paired by overlap: the intersection-over-union (IoU) of every request feature
with every record feature is computed with shapely's array functions, and
pairs are taken greedily from the highest IoU down, each feature used once,
while IoU ≥ ``match_iou`` (0.5 by default).

Each row of the result is one of:

``matched``
    paired, same type, area within ``max(1 sq ft, 2 %)`` of the record's;
``changed``
    paired, but the type or the area differs by more than that;
``added``
    a request feature with no record partner (a new shed, a patio the record
    lacks); tape-measured rows without an outline are always "added";
``missing``
    a record feature with no request partner (removed, or left out).

Totals for both layers come from the geometry engine (overlaps once, water
removed, per-utility billable types), and the categories from
:func:`categorize.categorize_sfr` on whole square feet. ``crosses_threshold``
is set when the request's area and the record's fall in different
categories; ``threshold_note`` names the line(s) crossed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

import gis
from categorize import billable_sqft, categorize_sfr
from gis.repair import repair
from gis.shapes import shapes_frame
from sba import evidence as ev
from sba.engine import rules_for
from sba.requests.records import Records
from sba.requests.store import ChangeRequestRecord, FeatureRow

__all__ = ["MATCH_IOU", "Comparison", "FeatureComparison", "compare_features", "compare_request"]

MATCH_IOU = 0.5
AREA_TOLERANCE = 0.02  # relative
AREA_TOLERANCE_SQFT = 1.0  # absolute floor
LONLAT = CRS.from_epsg(4326)


@dataclass(frozen=True)
class FeatureComparison:
    """One row of the comparison (areas in sq ft on the lot; ``None`` when absent)."""

    status: str
    position: int | None
    request_feature: str | None
    request_type: str | None
    request_sqft: float | None
    record_feature: str | None
    record_type: str | None
    record_sqft: float | None
    iou: float
    note: str = ""

    @property
    def area_change_sqft(self) -> float:
        """Request minus record area of this feature in sq ft (an absent side counts as 0)."""
        return (self.request_sqft or 0.0) - (self.record_sqft or 0.0)

    def as_dict(self) -> dict:
        """The row as JSON-ready values, areas rounded to 2 places and the overlap (IoU) to 3."""
        return {
            "status": self.status, "request_no": self.position, "request_type": self.request_type,
            "request_sqft": _r2(self.request_sqft), "record_feature": self.record_feature,
            "record_type": self.record_type, "record_sqft": _r2(self.record_sqft),
            "iou": round(self.iou, 3), "area_change_sqft": round(self.area_change_sqft, 2), "note": self.note,
        }


def _r2(v: float | None) -> float | None:
    return None if v is None else round(float(v), 2)


@dataclass(frozen=True)
class Comparison:
    """The request against the record for one lot."""

    parcel_id: str
    current_category: str
    features: tuple[FeatureComparison, ...]
    record_sqft: float
    record_whole: Decimal
    record_category: str
    request_sqft: float
    request_whole: Decimal
    request_category: str
    request_totals: dict[str, Decimal]
    record_totals: dict[str, Decimal]
    claimed_totals: dict[str, int]
    crosses_threshold: bool
    threshold_note: str
    notes: tuple[str, ...] = ()
    lot: gpd.GeoDataFrame | None = field(default=None, repr=False, compare=False)
    record_layer: gpd.GeoDataFrame | None = field(default=None, repr=False, compare=False)
    request_layer: gpd.GeoDataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def difference_sqft(self) -> Decimal:
        """Request minus record, whole sq ft."""
        return self.request_whole - self.record_whole

    @property
    def counts(self) -> dict[str, int]:
        """How many features are matched, changed, added and missing."""
        out = dict.fromkeys(("matched", "changed", "added", "missing"), 0)
        for f in self.features:
            out[f.status] += 1
        return out

    @property
    def billed_matches_record(self) -> bool:
        """True when the category billed today is the one the City's record gives."""
        return self.current_category == self.record_category

    def table(self) -> pd.DataFrame:
        """One row per compared feature (see :meth:`FeatureComparison.as_dict`)."""
        return pd.DataFrame([f.as_dict() for f in self.features])

    def summary(self) -> dict:
        """JSON-ready numbers (for the CLI, the audit log and the letter)."""
        return {
            "parcel_id": self.parcel_id,
            "current_category": self.current_category,
            "record_sqft": str(self.record_whole), "record_category": self.record_category,
            "request_sqft": str(self.request_whole), "request_category": self.request_category,
            "difference_sqft": str(self.difference_sqft),
            "crosses_threshold": self.crosses_threshold, "threshold_note": self.threshold_note,
            "counts": self.counts,
            "request_totals": {k: str(v) for k, v in self.request_totals.items()},
            "record_totals": {k: str(v) for k, v in self.record_totals.items()},
            "claimed_totals": dict(self.claimed_totals),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------


def _clean(geoms: np.ndarray) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object)
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = repair(geoms[bad])
    return geoms


def compare_features(
    request: Sequence[shapely.Geometry], record: Sequence[shapely.Geometry], *, match_iou: float = MATCH_IOU
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Pair two lists of (clipped, projected) polygons by IoU.

    Returns the pairs ``(request index, record index)`` and the full IoU matrix.

    >>> a = [shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)]
    >>> b = [shapely.box(1, 0, 11, 10), shapely.box(50, 0, 60, 10)]
    >>> pairs, iou = compare_features(a, b)
    >>> pairs, round(float(iou[0, 0]), 3)
    ([(0, 0)], 0.818)
    """
    a = np.asarray(request, dtype=object)
    b = np.asarray(record, dtype=object)
    if len(a) == 0 or len(b) == 0:
        return [], np.zeros((len(a), len(b)))
    inter = np.nan_to_num(shapely.area(shapely.intersection(a[:, None], b[None, :])))
    area_a = np.nan_to_num(shapely.area(a))
    area_b = np.nan_to_num(shapely.area(b))
    union = area_a[:, None] + area_b[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    pairs = []
    used_a, used_b = set(), set()
    order = np.dstack(np.unravel_index(np.argsort(-iou, axis=None, kind="stable"), iou.shape))[0]
    for i, j in order:
        if iou[i, j] < match_iou:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(int(i))
        used_b.add(int(j))
        pairs.append((int(i), int(j)))
    return sorted(pairs), iou


def _measure(lot: gpd.GeoDataFrame, feats: gpd.GeoDataFrame, records: Records) -> tuple[float, dict[str, float]]:
    if len(feats) == 0:
        return 0.0, {}
    m = gis.measure_lots(lot, feats, records.water, id_field=records.id_field, type_field="feature_type",
                         rules=rules_for(records.schedule))
    rec = m.lot(lot[records.id_field].iloc[0])
    return float(rec["billable_area_sqft"]), dict(rec["by_type"])


def compare_request(req: ChangeRequestRecord, records: Records, *, match_iou: float = MATCH_IOU) -> Comparison:
    """Compare a stored request (its features as staff last left them) with the record layer.

    Raises
    ------
    PackageRejected
        The lot is no longer in the records.
    """
    pid = req.parcel_id
    lot = records.lot(pid)
    crs = lot.crs
    lot_geom = lot.geometry.iloc[0]
    unit2 = gis.sqft_per_crs_unit2(crs)
    schedule = records.schedule

    live = list(req.live_features)
    drawn = [f for f in live if f.geometry]
    taped = [f for f in live if not f.geometry]

    # the record: features on this lot, clipped
    rec = records.record_features(pid)
    rec_ids = (rec["feature_id"].astype(str).tolist() if "feature_id" in rec.columns
               else [f"record {i}" for i in range(1, len(rec) + 1)])
    rec_types = rec["feature_type"].astype(str).tolist()
    rec_clip = shapely.intersection(_clean(rec.geometry.to_numpy()), lot_geom)
    rec_area = np.nan_to_num(shapely.area(rec_clip)) * unit2

    # the request: drawn features in the lot's CRS, clipped
    req_frame = shapes_frame([f.shape() for f in drawn]).to_crs(crs)
    req_frame["feature_type"] = gis.normalise_types(req_frame["feature_type"]) if len(req_frame) else []
    req_clip = shapely.intersection(_clean(req_frame.geometry.to_numpy()), lot_geom)
    req_area = np.nan_to_num(shapely.area(req_clip)) * unit2

    pairs, iou = compare_features(req_clip, rec_clip, match_iou=match_iou)
    partner = dict(pairs)
    matched_rec = {j for _, j in pairs}
    rows: list[FeatureComparison] = []
    status_req, status_rec = {}, {}
    for i, f in enumerate(drawn):
        kind = str(req_frame["feature_type"].iloc[i])
        best = float(iou[i].max()) if iou.shape[1] else 0.0
        if i in partner:
            j = partner[i]
            delta = req_area[i] - rec_area[j]
            tol = max(AREA_TOLERANCE_SQFT, AREA_TOLERANCE * rec_area[j])
            notes = []
            if kind != rec_types[j]:
                notes.append(f"type {rec_types[j]} → {kind}")
            if abs(delta) > tol:
                notes.append(f"area {delta:+,.1f} sq ft")
            status = "changed" if notes else "matched"
            rows.append(FeatureComparison(status, f.position, f.feature_id, kind, float(req_area[i]),
                                          rec_ids[j], rec_types[j], float(rec_area[j]), float(iou[i, j]),
                                          "; ".join(notes)))
        else:
            note = "not in the City's record"
            if best > 0:
                j = int(iou[i].argmax())
                note += f" (overlaps {rec_ids[j]} with IoU {best:.2f})"
            status = "added"
            rows.append(FeatureComparison(status, f.position, f.feature_id, kind, float(req_area[i]),
                                          None, None, None, best, note))
        status_req[f.position] = status
    for f in taped:
        rows.append(FeatureComparison("added", f.position, f.feature_id, f.feature_type,
                                      float(f.inside_lot_sqft or f.area_sqft or 0), None, None, None, 0.0,
                                      "tape-measured, no outline to compare"))
    for j in range(len(rec_ids)):
        if j in matched_rec:
            status_rec[j] = next(rows_i.status for rows_i in rows if rows_i.record_feature == rec_ids[j])
            continue
        best = float(iou[:, j].max()) if iou.shape[0] else 0.0
        status_rec[j] = "missing"
        rows.append(FeatureComparison("missing", None, None, None, None, rec_ids[j], rec_types[j],
                                      float(rec_area[j]), best, "in the City's record, not in the request"))

    # totals through the engine
    record_sqft, record_by_type = _measure(lot, rec.assign(feature_id=rec_ids), records)
    request_sqft, request_by_type = _measure(lot, req_frame, records) if len(req_frame) else (0.0, {})
    for f in taped:
        if schedule.is_billable(f.feature_type):
            request_sqft += float(f.area_sqft or 0)
            request_by_type[f.feature_type] = request_by_type.get(f.feature_type, 0.0) + float(f.area_sqft or 0)
    record_whole, request_whole = billable_sqft(record_sqft), billable_sqft(request_sqft)
    record_cat = categorize_sfr(record_whole, schedule).name
    request_cat = categorize_sfr(request_whole, schedule).name
    crosses = record_cat != request_cat
    note = _threshold_note(record_whole, request_whole, schedule) if crosses else ""

    notes = []
    claimed = sum(req.form_totals.values())
    if abs(Decimal(claimed) - request_whole) > 1 and not req.adjusted:
        notes.append(f"The request's totals add up to {claimed:,} sq ft, but its features measure "
                     f"{request_whole:,} sq ft here.")
    if req.current_category != record_cat:
        notes.append(f"The bill's category ({req.current_category}) differs from the category of the City's "
                     f"record ({record_cat}, {record_whole:,} sq ft).")

    lot_ll = lot[[lot.geometry.name, records.id_field]].to_crs(LONLAT)
    rec_ll = gpd.GeoDataFrame(
        {"feature_id": rec_ids, "feature_type": rec_types, "status": [status_rec[j] for j in range(len(rec_ids))]},
        geometry=gpd.GeoSeries(list(rec.geometry.to_numpy()), crs=crs).to_crs(LONLAT).to_numpy(), crs=LONLAT,
    )
    req_ll = gpd.GeoDataFrame(
        {"position": [f.position for f in drawn], "feature_type": req_frame["feature_type"].tolist(),
         "status": [status_req[f.position] for f in drawn]},
        geometry=gpd.GeoSeries(list(req_frame.geometry.to_numpy()), crs=crs).to_crs(LONLAT).to_numpy(), crs=LONLAT,
    )
    return Comparison(
        parcel_id=pid,
        current_category=req.current_category,
        features=tuple(rows),
        record_sqft=record_sqft,
        record_whole=record_whole,
        record_category=record_cat,
        request_sqft=request_sqft,
        request_whole=request_whole,
        request_category=request_cat,
        request_totals=ev.form_totals(request_by_type),
        record_totals=ev.form_totals(record_by_type),
        claimed_totals=dict(req.form_totals),
        crosses_threshold=crosses,
        threshold_note=note,
        notes=tuple(notes),
        lot=lot_ll,
        record_layer=rec_ll,
        request_layer=req_ll,
    )


def _threshold_note(a: Decimal, b: Decimal, schedule) -> str:
    lo, hi = min(a, b), max(a, b)
    cats = list(schedule.categories)
    lines = [
        f"the {c.name}/{nxt.name} line ({c.max_sqft:,} sq ft)"
        for c, nxt in itertools.pairwise(cats)
        if c.max_sqft is not None and lo <= c.max_sqft < hi
    ]
    return f"The difference of {abs(b - a):,} sq ft crosses " + " and ".join(lines) + "."


def request_shapes(features: Sequence[FeatureRow]) -> list[dict]:
    """Shape dicts of the features with outlines (for the engine and maps)."""
    return [f.shape() for f in features if f.geometry and not f.removed]
