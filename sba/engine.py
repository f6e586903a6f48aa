"""One engine for every front end: read layers, measure lots, apply the billing rules.

The app, ``sba measure`` and ``sba reassess`` all call these functions, so a
lot gets the same answer whichever way it is measured.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

import gis
from categorize import PropertyClass, area_decimal, billable_sqft, categorize_sfr
from categorize.errors import MissingClassError, UnknownClassError
from categorize.schedule import RateSchedule
from gis.repair import SLIVER_AREA, polygonal, repair, repair_invalid
from sba.errors import RepeatedInputError
from sba.output import same_file

__all__ = ["NOT_AN_OUTLINE", "NO_SHAPE", "area_str", "class_choices", "class_of", "feature_areas", "load_layers",
           "lot_errors", "lot_results", "measure_files", "quoted_codes", "refuse_repeated_inputs", "repeated_id",
           "rules_for", "shape_errors", "unknown_classes"]

def area_str(value: float) -> str:
    """A measured area as a decimal string with 2 places, half-up (:func:`categorize.area_decimal`)."""
    return str(area_decimal(float(value)))


def feature_areas(
    geoms: np.ndarray, lot_geom: shapely.Geometry, sqft_per_unit2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's own area and its area inside the lot, in sq ft (before overlaps are removed).

    ``geoms`` and ``lot_geom`` are in one projected CRS whose square unit is
    ``sqft_per_unit2`` sq ft; outlines that cross themselves are repaired
    first, and a missing outline measures 0.  The homeowner's evidence
    package and the staff intake both list these per shape.

    >>> square = shapely.box(0, 0, 10, 10)
    >>> feature_areas(np.array([square, None]), shapely.box(5, 0, 20, 10), 1.0)
    (array([100.,   0.]), array([50.,  0.]))
    """
    fixed = repair_invalid(geoms)
    areas = np.nan_to_num(shapely.area(fixed)) * sqft_per_unit2
    inside = np.nan_to_num(shapely.area(shapely.intersection(fixed, lot_geom))) * sqft_per_unit2
    return areas, inside


#: A message about class codes quotes this many before "and N more".
QUOTED_CODES = 5


def unknown_classes(counts: pd.Series, class_map: dict[str, str] | None = None) -> dict[str, int]:
    """Per value of a property class column that names no class (after ``class_map``, as
    ``--class-map`` maps codes), how many lots have it, from the count of each value
    (``column.value_counts(dropna=False)``).  Codes are read as
    :meth:`categorize.PropertyClass.from_code` reads them: codes that differ only in the
    spaces around them are one code, and a missing or blank value is ``''``."""
    out: dict[str, int] = {}
    for value, n in counts.items():
        code = "" if pd.isna(value) else str(value).strip()
        if not n:
            continue
        try:
            PropertyClass.from_code(code, class_map)
        except ValueError:
            out[code] = out.get(code, 0) + int(n)
    return out


def quoted_codes(counts: dict[str, int]) -> str:
    """``'C2' (20 lots), 'R1' (18 lots)``: the codes of most lots first, :data:`QUOTED_CODES` at most."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def shown(code: str) -> str:
        return "(no value)" if not code else repr(code if len(code) <= 40 else code[:39] + "…")

    text = ", ".join(f"{shown(code)} ({n:,} lot{'s' * (n != 1)})" for code, n in ranked[:QUOTED_CODES])
    more = len(ranked) - QUOTED_CODES
    return text + (f" and {more:,} more" if more > 0 else "")


def class_choices() -> str:
    """``single_family, multifamily, mixed_use or non_residential``."""
    names = [c.value for c in PropertyClass]
    return ", ".join(names[:-1]) + " or " + names[-1]


def rules_for(schedule: RateSchedule) -> gis.MeasureRules:
    """The per-utility billable-type switches of a rate schedule, for the geometry engine."""
    billable = dict(getattr(schedule, "billable_types", {}) or {})
    return gis.MeasureRules(billable=billable)


def refuse_repeated_inputs(files: dict[str, tuple[str | Path | None, str | None]]) -> None:
    """Refuse one file and layer given for two roles (``{"parcels": (path, layer), ...}``).

    The parcels given as the features bill every lot as paved wall to wall, and given as the
    water, every lot as over water: numbers that look right.  One GeoPackage with a layer per
    role is fine; links and ``./`` are seen through (:func:`sba.output.same_file`).
    """
    given = [(role, Path(path), layer) for role, (path, layer) in files.items() if path is not None]
    for i, (role, path, layer) in enumerate(given):
        for other, other_path, other_layer in given[:i]:
            if layer == other_layer and (path == other_path or same_file(path, other_path)):
                which = f"{path.name!r}" + (f", layer {layer!r}" if layer else "")
                raise RepeatedInputError(f"The {role} file and the {other} file are the same ({which}); "
                                         f"give the {role} their own file or layer.")


def load_layers(
    parcels: str | Path,
    features: str | Path,
    water: str | Path | None = None,
    *,
    parcels_layer: str | None = None,
    features_layer: str | None = None,
    water_layer: str | None = None,
    crs: str | None = None,
) -> gis.Layers:
    """Read the three layers, check their coordinates, and bring them into one CRS fit for area."""
    refuse_repeated_inputs({"parcels": (parcels, parcels_layer), "features": (features, features_layer),
                            "water": (water, water_layer)})
    p = gis.read_layer(parcels, layer=parcels_layer, role="parcels")
    f = gis.read_layer(features, layer=features_layer, role="features")
    w = gis.read_layer(water, layer=water_layer, role="water") if water else None
    names = {"parcels": Path(parcels).name, "features": Path(features).name,
             "water": Path(water).name if water else None}
    return gis.project_layers(p, f, w, crs=crs, names=names)


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
    crs: str | None = None,
    class_field: str | None = None,
) -> tuple[gis.Measurement, pd.DataFrame, str | None]:
    """Measure lots from files: the measurement, the lots it covers, and the CRS note.

    The note (None when the parcels' own CRS was used) says in which CRS the
    areas were measured and why.  Layers that do not meet at all are refused, and so is a
    ``class_field`` holding a value that names no property class.
    """
    p, f, w, note = load_layers(
        parcels, features, water,
        parcels_layer=parcels_layer, features_layer=features_layer, water_layer=water_layer, crs=crs,
    )
    if parcel_id is not None:
        p = gis.select_parcel(p, parcel_id, id_field)
    if class_field and class_field in p.columns:  # before the measuring: a wrong code is known at once
        counts = p[class_field].value_counts(dropna=False, sort=False)
        codes = {code: n for code, n in unknown_classes(counts).items() if code}  # no value: an error row
        if codes:
            raise UnknownClassError(f"{class_field!r} holds codes that are no property class: {quoted_codes(codes)}. "
                                    f"Use {class_choices()}.")
    m = gis.measure_lots(
        p, f, w, id_field=id_field, type_field=type_field,
        rules=rules_for(schedule), require_overlap=parcel_id is not None,
    )
    if parcel_id is None and len(f) and not m.lots.n_features.any():
        raise gis.no_overlap_error(len(f), {"parcels": Path(parcels).name, "features": Path(features).name})
    return m, p, note


def lot_errors(parcels: gpd.GeoDataFrame, id_field: str) -> np.ndarray:
    """Why a lot cannot be billed, per lot (None where it can): no shape, or an id shared by several lots."""
    errors = shape_errors(parcels.geometry.to_numpy())
    ids = parcels[id_field]
    counts = ids.map(ids.value_counts(dropna=False)).to_numpy()
    for i in np.flatnonzero((counts > 1) & pd.isna(errors)):
        errors[i] = repeated_id(ids.iloc[i], int(counts[i]))
    missing = ids.isna().to_numpy() & pd.isna(errors)
    errors[missing] = "The parcel has no id in the parcel layer."
    return errors


NO_SHAPE = "Parcel has no shape in the parcel layer."
NOT_AN_OUTLINE = ("Parcel's shape in the parcel layer has no area (a point, a line, or corners all on one line): "
                  "there is nothing to bill on.")


def shape_errors(geoms: np.ndarray) -> np.ndarray:
    """Why a lot's shape cannot be measured, per lot (None where it can): it has none, or no area
    (a point, a line, corners all on one line: the engine measures nothing, not 0 sq ft to bill).

    The area is the repaired outline's (SPEC A1.4: a bow tie's shoelace area is 0 as drawn), but
    only outlines of no area as drawn are repaired to see: one pass over the areas otherwise.
    """
    errors = np.full(len(geoms), None, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    errors[missing] = NO_SHAPE
    kept = polygonal(geoms)
    with np.errstate(invalid="ignore"):  # NaN areas (corners that are not numbers: the engine's to say)
        flat = np.flatnonzero(~missing & (shapely.is_missing(kept) | (shapely.area(kept) <= SLIVER_AREA)))
    has = flat[~shapely.is_missing(kept[flat])]
    kept[has] = polygonal(repair(kept[has]))
    none = shapely.is_missing(kept[flat]) | shapely.is_empty(kept[flat])
    errors[flat[none | (np.nan_to_num(shapely.area(kept[flat])) <= SLIVER_AREA)]] = NOT_AN_OUTLINE
    return errors


def repeated_id(parcel_id, count: int) -> str:
    """The error text of a lot whose id other lots share: none of them can be billed by id."""
    return f"id {parcel_id} is used by {count:,} lots; give each lot its own id."


def lot_results(m: gis.Measurement, parcels: gpd.GeoDataFrame, schedule: RateSchedule,
                class_field: str | None = "property_class", id_field: str = "parcel_id") -> list[dict]:
    """JSON-ready per-lot records: areas as decimal strings, the category for houses."""
    classes, class_errors = _lot_classes(parcels, class_field)
    problems: dict[str, list[dict]] = {}
    for pr in m.problems:
        problems.setdefault(pr.parcel_id or "", []).append(
            {"feature": pr.feature_id, "kind": pr.kind, "message": pr.message}
        )
    type_cols = {t: m.lots[gis.measure.TYPE_PREFIX + t].to_numpy() for t in m.types}
    errors = lot_errors(parcels, id_field)
    out = []
    for i, row in enumerate(m.lots.itertuples(index=False)):
        exact = float(row.billable_area_sqft)
        whole = billable_sqft(exact)
        klass = classes[i]
        errors[i] = errors[i] or class_errors[i]
        category = categorize_sfr(whole, schedule).name if klass is PropertyClass.SINGLE_FAMILY else None
        if errors[i] is not None:  # nothing here may be billed
            category = None
        by_type = {t: area_str(col[i]) for t, col in type_cols.items() if col[i] > 0}
        out.append({
            "parcel_id": _jsonable(row.parcel_id),
            "property_class": klass and klass.value,
            "billable_area_sqft": None if errors[i] in (NO_SHAPE, NOT_AN_OUTLINE) else area_str(exact),
            "billable_sqft_rounded": None if errors[i] is not None else str(whole),
            "outside_parcel_sqft": area_str(row.outside_parcel_sqft),
            "overlap_sqft": area_str(row.overlap_sqft),
            "overwater_excluded_sqft": area_str(row.overwater_excluded_sqft),
            "excluded_type_sqft": area_str(row.excluded_type_sqft),
            "by_type": by_type,
            "n_features": int(row.n_features),
            "repaired": bool(row.repaired),
            "overlaps_another_lot": bool(row.overlaps_another_lot),
            "category": category,
            "problems": problems.get(str(row.parcel_id), []),
            "error": errors[i],
        })
    return out


#: The error of a lot whose class column is empty (``sba reassess`` adds how to map codes).
NO_CLASS = "The parcel has no property class; fill the class column"


def _lot_classes(parcels: gpd.GeoDataFrame, class_field: str | None) -> tuple[list, list]:
    """Each lot's :class:`PropertyClass` (single-family without the column) and its error:
    a lot with no class or an unknown one has None and an error sentence (:data:`NO_CLASS`)."""
    n = len(parcels)
    if not class_field or class_field not in parcels.columns:
        return [PropertyClass.SINGLE_FAMILY] * n, [None] * n
    parsed = [class_of(code) for code in parcels[class_field].astype("string").fillna("").to_numpy(dtype=object)]
    return [k for k, _ in parsed], [e for _, e in parsed]


def class_of(code: str | None, class_map: dict[str, str] | None = None,
             hint: str = "") -> tuple[PropertyClass | None, str | None]:
    """``(class, None)`` for a lot's class code (:meth:`PropertyClass.from_code`), or ``(None, why)``:
    :data:`NO_CLASS` (with ``hint``) for no code, the class's own sentence for an unknown one."""
    try:
        return PropertyClass.from_code(code, class_map), None
    except MissingClassError:
        return None, NO_CLASS + hint + "."
    except UnknownClassError as err:
        return None, str(err)


def _jsonable(v):
    if hasattr(v, "item"):
        return v.item()
    return v
