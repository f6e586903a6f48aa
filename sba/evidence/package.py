"""Evidence package for a single-family category change request (SPEC A4, §3.1, §3.3).

The homeowner app builds the package with :func:`build_package`; the staff
review tool opens it with :func:`read_package`.  Both sides use this module, so
the format below is the contract between them.

Measuring what the homeowner drew or taped is in :mod:`sba.evidence.measure`
(the same numbers go on screen and into the package), the map image and the
PDF report in :mod:`sba.evidence.report`, the reader's limits and JSON schema
in :mod:`sba.evidence.checks`; ``import sba.evidence`` gives all their public
names.

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
reader applies the limits and the JSON schema of :mod:`sba.evidence.checks`
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

import geopandas as gpd

from gis.geojson import rfc7946, rfc7946_frame
from gis.shapes import LONLAT
from sba.engine import area_str
from sba.evidence.checks import (
    ATTACHMENT_LIMIT,
    ATTACHMENT_TYPES,
    FEATURES_SCHEMA,
    MANIFEST_SCHEMA,
    MAX_ATTACHMENTS,
    MAX_SHAPES,
    SCHEMA_VERSION,
    EvidencePackageError,
    check_attachments,
    check_json,
    read_checked,
)
from sba.evidence.measure import LotMeasure
from sba.evidence.report import report_pdf
from sba.evidence.request import ChangeRequest

if TYPE_CHECKING:
    from categorize import Bill

__all__ = [
    "ATTACHMENT_SUFFIXES",
    "KIND",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "EvidencePackage",
    "build_package",
    "method_statement",
    "read_package",
]

KIND = "sba-category-change-request"
MAX_ATTACHMENT_BYTES = ATTACHMENT_LIMIT
ATTACHMENT_SUFFIXES = tuple(ATTACHMENT_TYPES)


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
        """The tax lot the request is for."""
        return str(self.request["parcel_id"])

    @property
    def form_totals(self) -> dict[str, Decimal]:
        """The requester's areas by form line, in sq ft, as Decimals."""
        return {k: Decimal(v) for k, v in self.request["form_totals"].items()}

    @property
    def computed_category(self) -> str | None:
        """The category the homeowner's measurement gave, if the package says."""
        return self.request.get("computed_category")

    @property
    def current_category(self) -> str | None:
        """The category billed today, if the requester gave it."""
        return self.request.get("current_category")

    @property
    def crs_measured(self) -> str:
        """The projection the areas were measured in, e.g. ``EPSG:2913`` (``none (tape measure)`` for tape rows)."""
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
    attachments = [(name, data) for name, data, _ in check_attachments(attachments)]
    if len(measure.features) > MAX_SHAPES:
        raise EvidencePackageError(f"A request can have at most {MAX_SHAPES} shapes on one lot (you have "
                                   f"{len(measure.features)}); merge shapes that touch.")
    created = (created_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    features = _feature_collection(measure, shapes)
    lot_json = None
    if lot is not None:
        lot_json = json.loads(rfc7946_frame(lot[[lot.geometry.name]].to_crs(LONLAT)).to_json(drop_id=True))
    statement = method_statement(measure, request)
    req = _request_record(measure, request, bill, schedule_name, statement, [n for n, _ in attachments])
    generator = f"stormwater-billable-area {_version()}"
    files: dict[str, bytes] = {
        "features.geojson": json.dumps(features, indent=1).encode("utf-8"),
        "method.txt": (statement + "\n").encode("utf-8"),
        "report.pdf": b"",
    }
    if lot_json is not None:
        files["lot.geojson"] = json.dumps(lot_json, indent=1).encode("utf-8")
    for name, data in attachments:
        files[f"attachments/{name}"] = data
    # what we write, the staff side must read: checked before the map and the PDF are drawn,
    # whose cost grows with the text they are given
    check_json(features, FEATURES_SCHEMA, "features.geojson")
    check_json(_manifest(req, files, created, generator), MANIFEST_SCHEMA, "manifest.json")
    files["report.pdf"] = report_pdf(measure, request, req, statement, shapes, lot, water, bill, ortho_path,
                                     created, generator)
    return _zipped(_manifest(req, files, created, generator), files)


def _manifest(req: dict[str, Any], files: dict[str, bytes], created: dt.datetime, generator: str) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "generator": generator,
        "request": req,
        "files": {n: {"sha256": hashlib.sha256(d).hexdigest(), "bytes": len(d)} for n, d in files.items()},
    }


def _request_record(measure: LotMeasure, request: ChangeRequest, bill: Bill | None, schedule_name: str,
                    statement: str, attachment_names: list[str]) -> dict[str, Any]:
    """The manifest's ``request``: the lot, the claim, the measured area, the bill and the warnings."""
    warnings = [] if bill is None else list(bill.warnings)
    warnings += list(measure.problems)
    if request.property_class == "single_family":
        warnings += request.eligibility_problems()
    return {
        "parcel_id": measure.parcel_id,
        "account_number": request.account_number,
        "address": request.address,
        "property_class": request.property_class,
        "dwelling_units": request.dwelling_units,
        "current_category": request.current_category or None,
        "computed_category": None if bill is None else bill.category,
        "billable_area_sqft": area_str(measure.billable_area_sqft),
        "billable_sqft_whole": str(measure.whole_sqft),
        "form_totals": {k: str(v) for k, v in measure.form_totals.items()},
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
        "attachments": attachment_names,
    }


def _zipped(manifest: dict[str, Any], files: Mapping[str, bytes]) -> bytes:
    """The ZIP: ``manifest.json`` first, then the files in their order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def read_package(data: bytes) -> EvidencePackage:
    """Open an evidence ZIP made by :func:`build_package` (any schema version up to ours).

    The ZIP and its JSON files are checked before anything is used (limits
    and schemas in :mod:`sba.evidence.checks`).

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
