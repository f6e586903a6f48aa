"""Evidence package for a single-family category change request (SPEC A4, §3.1, §3.3).

The homeowner app builds the package with :func:`build_package`; the staff
review tool opens it with :func:`read_package`.  Both sides use this module, so
the format below is the contract between them.

Measuring what the homeowner drew or taped is here too (:func:`measure_shapes`,
:func:`measure_tape`): the same numbers go on screen and into the package.

Package format (``schema_version`` 1)
-------------------------------------
A ZIP file holding:

``manifest.json``
    ``{"schema_version": 1, "kind": "sba-category-change-request",
    "created_at": ISO 8601 UTC, "generator": "stormwater-billable-area <version>",
    "request": {...}, "files": {name: {"sha256": hex, "bytes": n}}}``.
    ``request`` holds:

    * ``parcel_id`` (tax lot id), ``account_number``, ``address``,
      ``property_class``, ``dwelling_units``;
    * ``current_category`` (printed on the bill; may be null) and
      ``computed_category`` (from the measured area; null for classes
      without categories);
    * ``billable_area_sqft`` (exact, 2 decimals, string) and
      ``billable_sqft_whole`` (rounded half-up, string);
    * ``form_totals``: the three boxes of the City's form, whole sq ft as
      strings: ``roofs`` (all structures), ``driveway_parking``,
      ``other_hard_surfaces``; they are the engine's per-type areas after
      overlaps, the lot line and water are taken out, so they add up to the
      billable area (give or take rounding);
    * ``breakdown``: ``by_type`` (exact sq ft strings), ``outside_lot_sqft``,
      ``overlap_removed_sqft``, ``overwater_excluded_sqft``,
      ``excluded_type_sqft``, ``repaired`` (bool), ``problems`` (list);
    * ``method``: ``{"how": "drawn" | "tape" | "uploaded" | "mixed",
      "imagery": text, "crs_measured": "EPSG:2913", "statement": text}``;
    * ``eligibility``: the requester's answers (``single_family``,
      ``one_dwelling_unit``, ``one_account``, ``account_holder``: bool);
    * ``schedule``: rate schedule name, and ``bill``: ``Bill.to_dict()`` of
      the estimate (money as strings) or null;
    * ``warnings``: list of strings;
    * ``attachments``: names of the files under ``attachments/``.

``features.geojson``
    RFC 7946 FeatureCollection in EPSG:4326 (lon/lat).  Each feature has
    ``feature_id``, ``feature_type``, ``source`` (drawn / record / upload /
    tape), ``area_sqft`` (the shape as drawn, exact, string) and
    ``inside_lot_sqft``; tape-measured rows have a null geometry and carry
    ``shape``, ``dimensions_ft`` and ``label``.  A foreign member
    ``crs_measured`` names the projected CRS the areas were measured in.
``lot.geojson``
    The lot line (EPSG:4326), when the lot's outline is known.
``method.txt``
    The method statement in plain words.
``report.pdf``
    A one-to-two-page report: a map image of the lot and features, the
    feature table, the three totals, computed vs current category.
``attachments/<name>``
    Up to 3 photos or documents (pdf, jpg, jpeg, png; 10 MB each).

A reader refuses a package whose ``schema_version`` is newer than it knows,
whose files do not match their checksums, or that lacks ``manifest.json`` or
``features.geojson``; the error (:class:`EvidencePackageError`) says so in
plain words.  A package comes from the public, so before any of that the
reader applies the limits and the JSON schema of :mod:`sba.evidence_checks`
(sizes, zip bombs, duplicate names, field types and lengths, 200 shapes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import geopandas as gpd
import shapely
from pyproj import CRS

import gis
from categorize import billable_sqft
from gis.geojson import rfc7946, rfc7946_frame
from gis.shapes import LONLAT, TYPE_COLOURS, shapes_frame, type_label
from sba.engine import area_str, rules_for
from sba.evidence_checks import (
    MANIFEST_SCHEMA,
    MAX_SHAPES,
    SCHEMA_VERSION,
    EvidencePackageError,
    check_json,
    read_checked,
)

if TYPE_CHECKING:
    from categorize import Bill, RateSchedule
    from gis.tape import TapeShape

__all__ = [
    "ATTACHMENT_SUFFIXES",
    "FORM_BUCKETS",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "SCHEMA_VERSION",
    "ChangeRequest",
    "EvidencePackage",
    "EvidencePackageError",
    "FeatureArea",
    "LotMeasure",
    "build_package",
    "form_totals",
    "measure_shapes",
    "measure_tape",
    "read_package",
]

KIND = "sba-category-change-request"
MAX_ATTACHMENTS = 3
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png")

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


# --------------------------------------------------------------------------
# measuring


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
    fixed = np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))
    lot_geom = shapely.union_all(lot_p.geometry.to_numpy())
    areas = np.nan_to_num(shapely.area(fixed)) * unit2
    inside = np.nan_to_num(shapely.area(shapely.intersection(fixed, lot_geom))) * unit2
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
        return tuple(f"Shape {i + 1} ({_A_STRUCTURE.get(kinds[i], kinds[i])}): there is no water layer, so it is taken to "
                     "be over water and not counted. Add the water bodies to measure it against the shoreline."
                     for i in rows)
    # only the water near each structure is looked at: a city's water layer may be large
    shape_i, water_i = water.sindex.query(geoms[rows], predicate="intersects")
    near = shapely.make_valid(water.geometry.to_numpy()[water_i])
    wet_area = shapely.area(shapely.intersection(geoms[rows][shape_i], near))
    wet = np.unique(shape_i[wet_area > 0])
    dry = np.delete(rows, wet)
    return tuple(f"Shape {i + 1} ({_A_STRUCTURE.get(kinds[i], kinds[i])}) lies wholly on land, so it counts in full, like a "
                 "deck. If it is over water, the water layer does not show that water; the City will check it "
                 "(a loading dock on land is billable)." for i in dry)


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
        kind = str(gis.normalise_types(_series([row.feature_type])).iloc[0])
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


def _series(values):
    import pandas as pd

    return pd.Series(values, dtype="string")


# --------------------------------------------------------------------------
# the request and the package


@dataclass(frozen=True)
class ChangeRequest:
    """What the homeowner tells the City besides the measurements (SPEC §3.1)."""

    parcel_id: str
    account_number: str = ""
    address: str = ""
    property_class: str = "single_family"
    dwelling_units: int = 1
    current_category: str | None = None
    imagery: str = ""
    single_family: bool = False
    one_dwelling_unit: bool = False
    one_account: bool = False
    account_holder: bool = False

    def eligibility(self) -> dict[str, bool]:
        return {
            "single_family": self.single_family,
            "one_dwelling_unit": self.one_dwelling_unit,
            "one_account": self.one_account,
            "account_holder": self.account_holder,
        }

    def eligibility_problems(self) -> list[str]:
        """Plain-language reasons the City may not accept the request."""
        texts = {
            "single_family": "the property is a single-family home",
            "one_dwelling_unit": "there is only one dwelling unit on the lot",
            "one_account": "there is only one utility account for the lot",
            "account_holder": "you are the account holder",
        }
        return [f"You have not confirmed that {t}." for k, t in texts.items() if not self.eligibility()[k]]


@dataclass(frozen=True)
class EvidencePackage:
    """A package as read back by :func:`read_package`."""

    schema_version: int
    created_at: str
    request: dict[str, Any]
    features: dict[str, Any]
    lot: dict[str, Any] | None
    method_statement: str
    report_pdf: bytes
    attachments: dict[str, bytes] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def parcel_id(self) -> str:
        return str(self.request["parcel_id"])

    @property
    def form_totals(self) -> dict[str, Decimal]:
        return {k: Decimal(v) for k, v in self.request["form_totals"].items()}

    @property
    def computed_category(self) -> str | None:
        return self.request.get("computed_category")

    @property
    def current_category(self) -> str | None:
        return self.request.get("current_category")

    @property
    def crs_measured(self) -> str:
        return str(self.features.get("crs_measured", ""))

    def features_frame(self) -> gpd.GeoDataFrame:
        """The features as a GeoDataFrame in EPSG:4326 (tape rows have no geometry)."""
        feats = self.features.get("features", [])
        if not feats:
            return gpd.GeoDataFrame({"feature_id": [], "feature_type": []}, geometry=[], crs=LONLAT)
        return gpd.GeoDataFrame.from_features(feats, crs=LONLAT)


def _version() -> str:
    try:
        return metadata.version("stormwater-billable-area")
    except metadata.PackageNotFoundError:
        return "unknown"


def method_statement(measure: LotMeasure, request: ChangeRequest) -> str:
    """The method statement, in plain words."""
    n = len(measure.features)
    if measure.method == "tape":
        how = (f"{n} surfaces were measured with a tape measure and entered as rectangles, "
               "circles (by diameter), triangles or known square footage; their areas were added up.")
    else:
        src = {"drawn": "drawn by the homeowner", "uploaded": "loaded from a file or the utility's record",
               "mixed": "drawn by the homeowner or loaded from a file or the utility's record"}[measure.method]
        imagery = request.imagery or "no photo"
        how = (f"{n} outlines were {src} on a map over: {imagery}. "
               f"Areas were measured by the stormwater-billable-area engine in {measure.crs_measured} "
               "(a projected map projection, in international square feet), after clipping to the lot line, "
               "counting overlaps once and removing any part over water.")
    return (
        f"Tax lot {measure.parcel_id}. {how} "
        f"Billable area: {area_str(measure.billable_area_sqft)} sq ft, rounded half-up to "
        f"{measure.whole_sqft} sq ft before choosing the category."
    )


def _feature_collection(measure: LotMeasure, shapes: Sequence[Mapping[str, Any]]) -> dict:
    geom_by_id = {str(s["id"]): s.get("geometry") for s in shapes}
    feats = []
    for f in measure.features:
        props: dict[str, Any] = {
            "feature_id": f.feature_id,
            "feature_type": f.feature_type,
            "source": f.source,
            "area_sqft": area_str(f.area_sqft),
            "inside_lot_sqft": area_str(f.inside_lot_sqft),
        }
        if f.shape is not None:
            props.update(shape=f.shape, dimensions_ft=list(f.dimensions_ft), label=f.label)
        feats.append({"type": "Feature", "geometry": rfc7946(geom_by_id.get(f.feature_id)), "properties": props})
    return {"type": "FeatureCollection", "crs_measured": measure.crs_measured, "features": feats}


def _check_attachments(attachments: Sequence[tuple[str, bytes]]) -> None:
    if len(attachments) > MAX_ATTACHMENTS:
        raise EvidencePackageError(f"Attach at most {MAX_ATTACHMENTS} files (you gave {len(attachments)}).")
    for name, data in attachments:
        if Path(name).suffix.lower() not in ATTACHMENT_SUFFIXES:
            raise EvidencePackageError(f"{name!r} cannot be attached: use PDF, JPG or PNG files.")
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise EvidencePackageError(f"{name!r} is larger than 10 MB; make it smaller and attach it again.")


def build_package(
    measure: LotMeasure,
    request: ChangeRequest,
    *,
    shapes: Sequence[Mapping[str, Any]] = (),
    lot: gpd.GeoDataFrame | None = None,
    water: gpd.GeoDataFrame | None = None,
    bill: Bill | None = None,
    schedule_name: str = "",
    attachments: Sequence[tuple[str, bytes]] = (),
    ortho_path: str | Path | None = None,
    created_at: dt.datetime | None = None,
) -> bytes:
    """Build the evidence ZIP (format in the module docstring).

    Parameters
    ----------
    measure
        From :func:`measure_shapes` or :func:`measure_tape`.
    request
        Lot id, account, current category, eligibility answers, imagery used.
    shapes
        The shape dicts measured (their GeoJSON geometry goes in the package).
    lot, water
        The lot (one row) and water, for ``lot.geojson`` and the map image.
    bill
        The bill estimate shown to the homeowner (``categorize.estimate``).
    attachments
        ``(file name, bytes)`` pairs; at most 3 PDF/JPG/PNG files of 10 MB.
    ortho_path
        A local aerial photo to put under the map image.

    Raises
    ------
    EvidencePackageError
        For unusable attachments, more than 200 shapes, or request text
        the staff side would refuse (e.g. a control character).
    """
    _check_attachments(attachments)
    if len(measure.features) > MAX_SHAPES:
        raise EvidencePackageError(f"A request can have at most {MAX_SHAPES} shapes on one lot (you have "
                                   f"{len(measure.features)}); merge shapes that touch.")
    created = (created_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    features = _feature_collection(measure, shapes)
    lot_json = None
    if lot is not None:
        lot_json = json.loads(rfc7946_frame(lot[[lot.geometry.name]].to_crs(LONLAT)).to_json(drop_id=True))
    statement = method_statement(measure, request)
    totals = {k: str(v) for k, v in measure.form_totals.items()}
    computed = None if bill is None else bill.category
    warnings = [] if bill is None else list(bill.warnings)
    warnings += list(measure.problems)
    if request.property_class == "single_family":
        warnings += request.eligibility_problems()
    names = [Path(n).name for n, _ in attachments]
    req = {
        "parcel_id": measure.parcel_id,
        "account_number": request.account_number,
        "address": request.address,
        "property_class": request.property_class,
        "dwelling_units": request.dwelling_units,
        "current_category": request.current_category or None,
        "computed_category": computed,
        "billable_area_sqft": area_str(measure.billable_area_sqft),
        "billable_sqft_whole": str(measure.whole_sqft),
        "form_totals": totals,
        "breakdown": measure.breakdown(),
        "method": {
            "how": measure.method,
            "imagery": request.imagery,
            "crs_measured": measure.crs_measured,
            "statement": statement,
        },
        "eligibility": request.eligibility(),
        "schedule": schedule_name or (None if bill is None else bill.schedule_name),
        "bill": None if bill is None else bill.to_dict(),
        "warnings": warnings,
        "attachments": names,
    }
    pdf = _report_pdf(measure, request, req, statement, shapes, lot, water, bill, ortho_path, created)
    files: dict[str, bytes] = {
        "features.geojson": json.dumps(features, indent=1).encode("utf-8"),
        "method.txt": (statement + "\n").encode("utf-8"),
        "report.pdf": pdf,
    }
    if lot_json is not None:
        files["lot.geojson"] = json.dumps(lot_json, indent=1).encode("utf-8")
    for name, data in attachments:
        files[f"attachments/{Path(name).name}"] = bytes(data)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "generator": f"stormwater-billable-area {_version()}",
        "request": req,
        "files": {n: {"sha256": hashlib.sha256(d).hexdigest(), "bytes": len(d)} for n, d in files.items()},
    }
    check_json(manifest, MANIFEST_SCHEMA, "manifest.json")  # what we write, the staff side must read
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def read_package(data: bytes) -> EvidencePackage:
    """Open an evidence ZIP made by :func:`build_package` (any schema version up to ours).

    The ZIP and its JSON files are checked before anything is used (limits
    and schemas in :mod:`sba.evidence_checks`).

    Raises
    ------
    EvidencePackageError
        Not a ZIP, a zip bomb, no manifest or one that does not fit the
        schema, a newer schema, a missing file or a bad checksum.
    """
    checked = read_checked(data)
    manifest, contents = checked.manifest, checked.contents
    return EvidencePackage(
        schema_version=manifest["schema_version"],
        created_at=str(manifest.get("created_at", "")),
        request=dict(manifest["request"]),
        features=checked.features,
        lot=checked.lot,
        method_statement=checked.method_statement,
        report_pdf=contents["report.pdf"],
        attachments={n.split("/", 1)[1]: b for n, b in contents.items() if n.startswith("attachments/")},
        manifest=manifest,
    )


# --------------------------------------------------------------------------
# the PDF report


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def map_png(
    measure: LotMeasure,
    shapes: Sequence[Mapping[str, Any]],
    lot: gpd.GeoDataFrame | None,
    water: gpd.GeoDataFrame | None = None,
    ortho_path: str | Path | None = None,
    *,
    dpi: int = 150,
) -> bytes | None:
    """A PNG map of the lot and the shapes, numbered as in the feature table (no network)."""
    if lot is None and not shapes:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from gis.raster import ortho_image

    feats = shapes_frame([s for s in shapes if s.get("geometry")])
    lot_p = gis.to_area_crs(lot, "parcels") if lot is not None else None
    crs = lot_p.crs if lot_p is not None else feats.estimate_utm_crs()
    feats = feats.to_crs(crs)
    fig = Figure(figsize=(6, 5), dpi=dpi)
    ax = fig.add_subplot()
    ax.set_axis_off()
    bounds = (lot_p if lot_p is not None else feats).total_bounds
    if ortho_path is not None:
        img = ortho_image(ortho_path, tuple(bounds), crs, margin=15)
        if img is not None:
            ax.imshow(img[0], extent=img[1], interpolation="bilinear")
    if water is not None and len(water):
        water.to_crs(crs).plot(ax=ax, color="#a6bddb", alpha=0.6)
    if len(feats):
        colours = [TYPE_COLOURS.get(t, "#f781bf") for t in feats["feature_type"]]
        feats.plot(ax=ax, facecolor=colours, edgecolor=colours, alpha=0.45, linewidth=1.5)
        for i, geom in enumerate(feats.geometry, start=1):
            if geom is None or geom.is_empty:
                continue
            pt = geom.representative_point()
            ax.annotate(str(i), (pt.x, pt.y), ha="center", va="center", fontsize=8, weight="bold",
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.85, "lw": 0.5})
    if lot_p is not None:
        lot_p.boundary.plot(ax=ax, color="#ff7800", linewidth=2, linestyle="--")
    pad = 15
    ax.set_xlim(bounds[0] - pad, bounds[2] + pad)
    ax.set_ylim(bounds[1] - pad, bounds[3] + pad)
    ax.set_aspect("equal")
    ax.set_title(f"Lot {measure.parcel_id} (dashed line) and measured surfaces", fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def _report_pdf(measure, request, req, statement, shapes, lot, water, bill, ortho_path, created) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="Letter")
    fonts = _font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 9, "Stormwater billable area: evidence for a category change", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, f"Made {created:%Y-%m-%d %H:%M} UTC with stormwater-billable-area {_version()}. "
             "This is an estimate for the City to review, not a City decision.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    def row(label, value):
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(62, 6, label)
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(0, 6, str(value), new_x="LMARGIN", new_y="NEXT")

    row("Tax lot (Property ID)", measure.parcel_id)
    if request.address:
        row("Address", request.address)
    if request.account_number:
        row("Account number", request.account_number)
    row("Current category (on the bill)", request.current_category or "not given")
    row("Computed category", req["computed_category"] or "none (not a single-family category)")
    row("Billable area", f"{area_str(measure.billable_area_sqft)} sq ft (whole: {measure.whole_sqft} sq ft)")
    for key, value in req["form_totals"].items():
        row(FORM_LABELS[key], f"{value} sq ft")
    png = map_png(measure, shapes, lot, water, ortho_path)
    if png is not None:
        pdf.ln(2)
        pdf.image(io.BytesIO(png), w=120, x=(pdf.w - 120) / 2)
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "Surfaces", new_x="LMARGIN", new_y="NEXT")
    with pdf.table(col_widths=(10, 60, 30, 35, 35), text_align=("RIGHT", "LEFT", "LEFT", "RIGHT", "RIGHT"),
                   line_height=5.5) as table:
        pdf.set_font("DejaVu", "", 9)
        table.row(["#", "Type", "Source", "Area (sq ft)", "Inside lot (sq ft)"])
        for i, f in enumerate(measure.features, start=1):
            kind = type_label(f.feature_type) + (f" ({f.label})" if f.label else "")
            table.row([str(i), kind, f.source, area_str(f.area_sqft), area_str(f.inside_lot_sqft)])
    pdf.ln(3)
    b = req["breakdown"]
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(
        0, 5,
        f"Overlap counted once: {b['overlap_removed_sqft']} sq ft removed. Outside the lot line: "
        f"{b['outside_lot_sqft']} sq ft. Over water: {b['overwater_excluded_sqft']} sq ft. "
        f"Types not billed: {b['excluded_type_sqft']} sq ft."
        + (" Some outlines crossed themselves and were repaired." if b["repaired"] else ""),
        new_x="LMARGIN", new_y="NEXT",
    )
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "Method", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(0, 5, statement, new_x="LMARGIN", new_y="NEXT")
    if bill is not None:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, f"Estimated charges ({bill.period.name}, {bill.schedule_title or bill.schedule_name})",
                 new_x="LMARGIN", new_y="NEXT")
        with pdf.table(col_widths=(60, 80, 30), text_align=("LEFT", "LEFT", "RIGHT"), line_height=5.5) as table:
            pdf.set_font("DejaVu", "", 9)
            table.row(["Item", "Calculation", "Amount"])
            for line in (*bill.lines, *bill.superfund_lines):
                table.row([line.item, line.calculation, f"${line.amount:,.2f}"])
            table.row(["Total with Superfund", "", f"${bill.grand_total:,.2f}"])
    if req["warnings"]:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, "Please note", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)
        for w in req["warnings"]:
            pdf.multi_cell(0, 5, f"• {w}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())

