"""Intake: check a submission and store it, all or nothing.

Two ways in:

* :func:`import_package`: an evidence package ZIP made by the homeowner app
  (format: :mod:`sba.evidence`), plus the requester's name and contact when
  the package does not carry them;
* :func:`import_geojson`: a GeoJSON of the drawn features plus the City
  form's fields (:class:`IntakeForm`), e.g. typed in from a paper form.

Both become a :class:`Submission` and go through the same checks, in this
order; the first failure refuses the whole submission with one plain
sentence and nothing is stored (the refusal itself is written to the audit
log):

1. required fields (lot id, 10-digit account number, the requester, the
   category on the bill, the three totals as whole sq ft, the method
   statement, at least one feature and at most 200), and every text field
   is one line without control characters and of capped length; the
   requester's name has letters, digits, spaces and ``. , ' - & ( )`` only;
   categories come from the rate schedule; feature types are known types;
2. attachments: at most 3, each at most 10 MB, PDF/JPG/PNG *by content*
   (``%PDF-``, ``FF D8 FF``, ``89 PNG``) matching the file name; see
   :func:`check_attachments` for what is done with the content;
3. the lot exists in the utility's records;
4. eligibility against the records (:func:`eligibility_problems`):
   single-family, one dwelling unit, one account on the lot and it is the
   requester's, the requester is the account holder (when the accounts table
   names holders), and the requester confirmed all four;
5. geometry: every feature is an area (polygon) in longitude/latitude, and
   lies at least partly on the lot (a feature wholly off the lot is refused;
   a driveway that runs into the street is fine: only the part on the lot
   counts); a tape-measured area is not larger than the lot; the reported
   totals and billable area are not larger than what the features measure on
   the lot, and the claimed category is the one of the reported area;
6. no other undecided request for the same lot.

The request row, its features, its files (attachments and the original
package) and the audit row are written in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

import geopandas as gpd
import shapely
from pyproj import CRS
from shapely.geometry import shape

import gis
from categorize.numbers import parse_decimal
from gis.geojson import rfc7946
from gis.repair import repair
from gis.shapes import FEATURE_TYPES, type_column
from sba import evidence as ev
from sba.engine import area_str, feature_areas
from sba.evidence.checks import MAX_SHAPES
from sba.evidence.request import CONFIRMATIONS, confirmation
from sba.requests.attachments import check_pdf, reencode_image
from sba.requests.db import db_errors
from sba.requests.errors import IneligibleError, OpenRequestExists, PackageRejected
from sba.requests.records import LotRecord, Records, same_person
from sba.requests.store import RequestStore, status_token_hash
from sba.requests.text import check_line, check_person_name, check_text

__all__ = [
    "ATTACHMENT_TYPES",
    "CUSTOMER_SERVICE",
    "IntakeForm",
    "Requester",
    "Submission",
    "check_attachments",
    "eligibility_problems",
    "import_geojson",
    "import_package",
    "import_submission",
    "request_eligibility",
    "submission_from_geojson",
    "submission_from_package",
    "validate",
]

ATTACHMENT_TYPES = ev.ATTACHMENT_TYPES
MAX_ATTACHMENTS = ev.MAX_ATTACHMENTS
MAX_ATTACHMENT_BYTES = ev.MAX_ATTACHMENT_BYTES
CUSTOMER_SERVICE = "503-823-7770"
MIN_INSIDE_SQFT = 1.0  # a feature with less than this on the lot is "outside the lot"
NEAR_LOT_DEGREES = 0.01  # ~1 km: how far beyond the lot's box a surface's corner may be
#: Reported totals may exceed what the outlines measure by rounding only (three boxes rounded half-up each).
ROUNDING_SLACK_SQFT = 3
KNOWN_TYPES = frozenset(gis.PRECEDENCE) | frozenset(FEATURE_TYPES)
_ACCOUNT = re.compile(r"\A\d{10}\Z")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = re.compile(r"[0-9 +().-]{3,40}")


@dataclass(frozen=True)
class Requester:
    """Who asks: must be the account holder."""

    name: str
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class IntakeForm:
    """The City form's fields, for a submission that is a GeoJSON file and not a package."""

    parcel_id: str
    account_number: str
    current_category: str
    requester: Requester
    method_statement: str
    imagery: str = ""
    address: str = ""
    single_family: bool = False
    one_dwelling_unit: bool = False
    one_account: bool = False
    account_holder: bool = False

    def answers(self) -> dict[str, bool]:
        """Each confirmation box of the form, ticked or not."""
        return {k: bool(getattr(self, k)) for k in CONFIRMATIONS}


@dataclass
class Submission:
    """A request ready to be checked and stored (see :func:`validate`)."""

    parcel_id: str
    account_number: str
    requester: Requester
    current_category: str
    totals: dict[str, Any]
    method_statement: str
    features: list[dict[str, Any]]
    source: str  # "package" or "geojson"
    address: str = ""
    claimed_category: str | None = None
    claimed_sqft: str | None = None
    method_how: str = ""
    crs_measured: str = ""
    imagery: str = ""
    package_created_at: str | None = None
    answers: dict[str, bool] = field(default_factory=dict)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    package: bytes | None = None
    filename: str = ""


# --------------------------------------------------------------------------
# building a submission


def submission_from_package(data: bytes, requester: Requester | None = None, *, filename: str = "") -> Submission:
    """Read an evidence package ZIP into a :class:`Submission`.

    ``requester`` fills in the name and contact when the package has none
    (packages made by the homeowner app do not carry them).

    Raises
    ------
    PackageRejected
        The ZIP is not a readable evidence package.
    """
    try:
        pkg = ev.read_package(data)
    except ev.EvidencePackageError as err:
        raise PackageRejected(str(err)) from err
    req = pkg.request
    given = req.get("requester") if isinstance(req.get("requester"), Mapping) else {}
    if requester is None or not requester.name.strip():
        requester = Requester(str(given.get("name") or ""), str(given.get("email") or ""),
                              str(given.get("phone") or ""))
    check_pdf("report.pdf", pkg.report_pdf)  # offered to staff as a download
    feats = pkg.features.get("features") if isinstance(pkg.features, Mapping) else None
    if not isinstance(feats, list):
        raise PackageRejected("The package's features.geojson is not a GeoJSON FeatureCollection.")
    features = []
    for i, f in enumerate(feats, start=1):
        props = (f or {}).get("properties") or {}
        features.append({
            "feature_id": str(props.get("feature_id") or f"f{i}"),
            "feature_type": str(props.get("feature_type") or "other"),
            "source": str(props.get("source") or "drawn"),
            "geometry": (f or {}).get("geometry"),
            "area_sqft": props.get("area_sqft"),
            "label": str(props.get("label") or ""),
        })
    method = req.get("method") if isinstance(req.get("method"), Mapping) else {}
    return Submission(
        parcel_id=str(req.get("parcel_id") or "").strip(),
        account_number=str(req.get("account_number") or "").strip(),
        requester=requester,
        current_category=str(req.get("current_category") or "").strip().lower(),
        totals=dict(req.get("form_totals") or {}),
        method_statement=(pkg.method_statement or str(method.get("statement") or "")).strip(),
        features=features,
        source="package",
        address=str(req.get("address") or ""),
        claimed_category=req.get("computed_category"),
        claimed_sqft=req.get("billable_sqft_whole"),
        method_how=str(method.get("how") or ""),
        crs_measured=str(method.get("crs_measured") or pkg.crs_measured or ""),
        imagery=str(method.get("imagery") or ""),
        package_created_at=pkg.created_at or None,
        answers={k: bool((req.get("eligibility") or {}).get(k)) for k in CONFIRMATIONS},
        attachments=list(pkg.attachments.items()),
        package=bytes(data),
        filename=filename or "evidence-package.zip",
    )


def submission_from_geojson(
    geojson: bytes,
    form: IntakeForm,
    records: Records,
    *,
    attachments: Sequence[tuple[str, bytes]] = (),
    filename: str = "features.geojson",
) -> Submission:
    """A GeoJSON of drawn features plus the form's fields, measured with the engine.

    The GeoJSON may be in any map projection it names (plain GeoJSON is
    longitude/latitude); each feature needs a ``feature_type`` (or ``type``).

    Raises
    ------
    PackageRejected
        The file cannot be read as map data, or the lot is unknown.
    """
    try:
        layer = gis.read_layer(bytes(geojson), filename or "features.geojson", role="features")
    except gis.GISInputError as err:
        raise PackageRejected(str(err)) from err
    if len(layer) > MAX_SHAPES:
        raise PackageRejected(f"The file has {len(layer)} shapes; a request can have at most {MAX_SHAPES} on one lot.")
    layer = layer.to_crs(4326)
    if not np.isfinite(shapely.get_coordinates(layer.geometry.to_numpy())).all():
        raise PackageRejected("The file has an outline with a corner that is not a number; draw it again.")
    type_col = type_column(layer.columns)
    types = (gis.normalise_types(layer[type_col]) if type_col else ["other"] * len(layer))
    ids = (layer["feature_id"].astype(str).tolist() if "feature_id" in layer.columns
           else [f"f{i}" for i in range(1, len(layer) + 1)])
    features = [
        {"feature_id": fid, "feature_type": str(kind), "source": "drawn",
         "geometry": None if g is None or g.is_empty else rfc7946(g)}
        for fid, kind, g in zip(ids, types, layer.geometry, strict=True)
    ]
    totals: dict[str, Any] = {}
    claimed = whole = None
    crs_measured = ""
    if records.has_lot(form.parcel_id) and features:
        shapes = [{"id": f["feature_id"], "geometry": f["geometry"], "feature_type": f["feature_type"],
                   "source": "drawn"} for f in features if f["geometry"]]
        try:
            m = ev.measure_shapes(records.lot(form.parcel_id), shapes, records.water, records.schedule)
        except gis.GISInputError as err:
            raise PackageRejected(f"The features cannot be measured on tax lot {form.parcel_id}: {err}") from err
        except shapely.errors.ShapelyError as err:  # GEOS on an outline that is not a polygon on this planet
            raise PackageRejected(f"The features cannot be measured on tax lot {form.parcel_id}: an outline is "
                                  "broken; draw it again.") from err
        totals = {k: str(v) for k, v in m.form_totals.items()}
        whole = str(m.whole_sqft)
        crs_measured = m.crs_measured
        from categorize import categorize_sfr

        claimed = categorize_sfr(m.whole_sqft, records.schedule).name
    return Submission(
        parcel_id=form.parcel_id.strip(),
        account_number=form.account_number.strip(),
        requester=form.requester,
        current_category=form.current_category.strip().lower(),
        totals=totals,
        method_statement=form.method_statement.strip(),
        features=features,
        source="geojson",
        address=form.address,
        claimed_category=claimed,
        claimed_sqft=whole,
        method_how="drawn",
        crs_measured=crs_measured,
        imagery=form.imagery,
        answers=form.answers(),
        attachments=list(attachments),
        filename=filename,
    )


# --------------------------------------------------------------------------
# checks


def check_attachments(attachments: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes, str]]:
    """Check count, size and type (by content); returns ``(name, data, media type)`` to store.

    Photos are decoded fully and re-encoded (the returned data is the new
    encoding); PDFs with scripts or launch actions are refused
    (:mod:`sba.requests.attachments`).

    Raises
    ------
    PackageRejected
        Too many files, a file over 10 MB, empty, of another type, whose
        content does not match its name, a photo that does not decode, or a
        PDF with scripts, actions or embedded files.
    """
    try:
        checked = ev.check_attachments(attachments)
    except ev.EvidencePackageError as err:
        raise PackageRejected(str(err)) from err
    out = []
    for name, data, media in checked:
        name = check_line(name, "attachment's file name", 100)
        if media == "application/pdf":
            check_pdf(name, data)
        else:
            data = reencode_image(name, data, "PNG" if media == "image/png" else "JPEG")
        out.append((name, data, media))
    return out


#: No tax lot has more square feet than this (a request's totals above it are slips or attacks).
MAX_TOTAL_SQFT = Decimal(10) ** 10


def _whole(value: Any, label: str) -> int:
    try:
        d = parse_decimal(str(value))
    except (InvalidOperation, ValueError):
        raise PackageRejected(f"The {label} total must be a whole number of square feet (got {value!r}).") from None
    if not d.is_finite() or d < 0 or d != d.to_integral_value():
        raise PackageRejected(f"The {label} total must be a whole number of square feet, 0 or more (got {value!r}).")
    if d > MAX_TOTAL_SQFT:  # int() of 1e999999999 would write a billion digits
        raise PackageRejected(f"The {label} total of {value} sq ft is more than any tax lot has; check the figure.")
    return int(d)


def _check_fields(sub: Submission, records: Records) -> dict[str, int]:
    if not check_line(sub.parcel_id, "tax lot id (Property ID)", 40):
        raise PackageRejected("The request does not say which tax lot it is for (Property ID).")
    if not _ACCOUNT.match(re.sub(r"[\s-]", "", sub.account_number)):
        raise PackageRejected(
            "The request needs the 10-digit utility account number printed on the bill"
            + (f" (got {sub.account_number[:40]!r})." if sub.account_number else "."))
    if not check_person_name(sub.requester.name):
        raise PackageRejected("The request does not say who is asking: give the requester's name.")
    _check_contact(sub)
    names = [c.name for c in records.schedule.categories]
    if sub.current_category not in names:
        raise PackageRejected(
            "The request must give the category printed on the bill: " + ", ".join(names)
            + (f" (got {sub.current_category[:40]!r})." if sub.current_category else "."))
    if sub.claimed_category is not None and sub.claimed_category not in names:
        raise PackageRejected(f"The request claims a category that is not in the rate schedule "
                              f"({str(sub.claimed_category)[:40]!r}); it can be " + ", ".join(names) + ".")
    if sub.claimed_sqft is not None:
        _whole(sub.claimed_sqft, "billable area")
    labels = {k: ev.FORM_LABELS[k].lower() for k in ev.FORM_BUCKETS}
    missing = [labels[k] for k in ev.FORM_BUCKETS if sub.totals.get(k) in (None, "")]
    if missing:
        raise PackageRejected(f"The request is missing the {' and '.join(missing)} total.")
    totals = {k: _whole(sub.totals[k], labels[k]) for k in ev.FORM_BUCKETS}
    if not check_text(sub.method_statement, "method statement", 4000):
        raise PackageRejected("The request has no method statement (how and on what imagery it was measured).")
    if not sub.features:
        raise PackageRejected("The request has no measured surfaces; it needs the drawn or taped features.")
    if len(sub.features) > MAX_SHAPES:
        raise PackageRejected(f"The request has {len(sub.features)} shapes; a request can have at most "
                              f"{MAX_SHAPES} on one lot.")
    for i, f in enumerate(sub.features, start=1):
        check_line(f.get("feature_id"), f"id of feature {i}", 64)
        check_line(f.get("label"), f"label of feature {i}", 100)
    return totals


def _check_contact(sub: Submission) -> None:
    email = check_line(sub.requester.email, "requester's email", 254)
    if email and not _EMAIL.fullmatch(email):
        raise PackageRejected(f"The requester's email address does not look like one (got {email[:60]!r}).")
    phone = check_line(sub.requester.phone, "requester's phone number", 40)
    if phone and not _PHONE.fullmatch(phone):
        raise PackageRejected(f"The requester's phone number can only have digits, spaces and + ( ) - . "
                              f"(got {phone!r}).")
    check_line(sub.address, "address", 200)
    check_line(sub.imagery, "imagery", 200)
    check_line(sub.method_how, "measuring method", 20)
    check_line(sub.crs_measured, "map projection", 100)


def _check_consistency(sub: Submission, totals: dict[str, int], features: list[dict], records: Records) -> None:
    """The reported numbers must fit the outlines: no more area than the features measure, the right category."""
    measured = sum(float(f.get("inside_lot_sqft") or 0) for f in features if not f.get("removed"))
    reported = sum(totals.values())
    if reported > measured + ROUNDING_SLACK_SQFT:
        raise PackageRejected(f"The request's totals add up to {reported:,} sq ft, more than its surfaces measure on "
                              f"tax lot {sub.parcel_id} ({measured:,.0f} sq ft).")
    if sub.claimed_sqft is None:
        return
    claimed = _whole(sub.claimed_sqft, "billable area")
    if claimed > measured + ROUNDING_SLACK_SQFT:
        raise PackageRejected(f"The request reports a billable area of {claimed:,} sq ft, more than its surfaces "
                              f"measure on tax lot {sub.parcel_id} ({measured:,.0f} sq ft).")
    if sub.claimed_category is not None:
        from categorize import categorize_sfr

        fits = categorize_sfr(Decimal(claimed), records.schedule).name
        if fits != sub.claimed_category:
            raise PackageRejected(f"The request claims the {sub.claimed_category} category for {claimed:,} sq ft, "
                                  f"but {claimed:,} sq ft is in the {fits} category.")


def eligibility_problems(sub: Submission, lot: LotRecord) -> list[str]:
    """Why the lot or requester is not eligible (empty list: eligible), in plain words."""
    reasons = []
    if lot.property_class != "single_family":
        reasons.append(f"the lot is recorded as {lot.property_class.replace('_', '-')}, "
                       "and only single-family homes can use this form")
    if lot.dwelling_units is not None and lot.dwelling_units != 1:
        reasons.append(f"the lot has {lot.dwelling_units} dwelling units, and only lots with one can use this form")
    account = re.sub(r"[\s-]", "", sub.account_number)
    if len(lot.accounts) > 1:
        reasons.append(f"the lot has {len(lot.accounts)} utility accounts, and only lots with one can use this form")
    elif not lot.accounts:
        reasons.append("no utility account is on record for the lot")
    elif account not in lot.accounts:
        reasons.append(f"account {account} is not the utility account of this lot")
    holder = lot.holders.get(account)
    if holder and not same_person(sub.requester.name, holder):
        reasons.append(f"the requester ({sub.requester.name}) is not the holder of the account")
    for key in CONFIRMATIONS:
        if not sub.answers.get(key):
            reasons.append(f"the requester did not confirm that {confirmation(key, 'they')}")
    return reasons


def request_eligibility(req, records: Records) -> list[str]:
    """Re-check a stored request against the records as they are now (its confirmations were checked at intake)."""
    sub = Submission(
        parcel_id=req.parcel_id, account_number=req.account_number, requester=Requester(req.requester_name),
        current_category=req.current_category, totals={}, method_statement="", features=[], source=req.source,
        answers=dict.fromkeys(CONFIRMATIONS, True),
    )
    return eligibility_problems(sub, records.lot_record(req.parcel_id))


def _check_geometry(sub: Submission, records: Records) -> list[dict[str, Any]]:
    """Refuse non-areas and features off the lot; returns the features with measured areas."""
    lot = records.lot(sub.parcel_id)
    lot_geom = lot.geometry.iloc[0]
    unit2 = gis.sqft_per_crs_unit2(lot.crs)
    lot_sqft = float(shapely.area(lot_geom)) * unit2
    # no corner of a surface on the lot is ~1 km from it; farther ones make the projection and GEOS misbehave
    near = lot.to_crs(4326).total_bounds + np.array([-1, -1, 1, 1]) * NEAR_LOT_DEGREES
    out = []
    geoms, where = [], []
    for i, f in enumerate(sub.features, start=1):
        kind = gis.normalise_type(f.get("feature_type"))
        if kind not in KNOWN_TYPES:
            raise PackageRejected(f"Feature {i} has a surface type this tool does not know "
                                  f"({str(f.get('feature_type'))[:40]!r}); use one of: {', '.join(FEATURE_TYPES)}.")
        name = f"Feature {i} ({str(kind).replace('_', ' ')})"
        row = {**f, "feature_type": str(kind)}
        g = f.get("geometry")
        if g is None:
            if f.get("source") != "tape" or f.get("area_sqft") in (None, ""):
                raise PackageRejected(f"{name} has no outline; draw it on the map or give its tape measurements.")
            try:
                taped = float(f["area_sqft"])
            except (TypeError, ValueError):
                taped = -1.0
            if not np.isfinite(taped) or taped < 0:
                raise PackageRejected(f"{name} has a tape-measured area that is not a number of square feet.")
            if taped > lot_sqft:
                raise PackageRejected(f"{name} has a tape-measured area of {taped:,.0f} sq ft, more than the whole "
                                      f"tax lot ({lot_sqft:,.0f} sq ft).")
            row["inside_lot_sqft"] = row["area_sqft"] = area_str(taped)
            out.append(row)
            continue
        try:
            geom = shape(g)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.ShapelyError) as err:
            raise PackageRejected(f"{name} has a broken outline that cannot be read.") from err
        if geom.is_empty:
            raise PackageRejected(f"{name} has an empty outline.")
        if not np.isfinite(shapely.get_coordinates(geom)).all():  # NaN passes every comparison below
            raise PackageRejected(f"{name} has an outline with a corner that is not a number.")
        x0, y0, x1, y1 = geom.bounds
        if min(x0, x1) < -180 or max(x0, x1) > 180 or min(y0, y1) < -90 or max(y0, y1) > 90:
            raise PackageRejected(f"{name} is not in longitude/latitude; evidence packages use GeoJSON in EPSG:4326.")
        if x0 < near[0] or y0 < near[1] or x1 > near[2] or y1 > near[3]:
            raise PackageRejected(f"{name} reaches far beyond tax lot {sub.parcel_id}; only surfaces on the lot can "
                                  "be part of the request.")
        if not geom.is_valid:
            geom = repair(geom)
        polys = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
        if not polys or shapely.area(shapely.union_all(polys)) <= 0:
            raise PackageRejected(f"{name} is a {geom.geom_type.lower()}, not an area; draw it as an outline.")
        geoms.append(shapely.union_all(polys))
        where.append(len(out))
        out.append(row)
    if geoms:
        proj = gpd.GeoSeries(geoms, crs=CRS.from_epsg(4326)).to_crs(lot.crs).to_numpy()
        try:
            areas, inside = feature_areas(proj, lot_geom, unit2)
        except shapely.errors.GEOSException as err:
            raise PackageRejected(f"The outlines cannot be measured on tax lot {sub.parcel_id}; one of them is "
                                  "broken. Draw them again.") from err
        for k, idx in enumerate(where):
            if inside[k] < MIN_INSIDE_SQFT:
                kind = out[idx]["feature_type"].replace("_", " ")
                raise PackageRejected(
                    f"Feature {idx + 1} ({kind}) lies outside tax lot {sub.parcel_id}; "
                    "only surfaces on the lot can be part of the request."
                )
            out[idx]["area_sqft"] = area_str(float(areas[k]))
            out[idx]["inside_lot_sqft"] = area_str(float(np.round(inside[k], 6)))
    return out


def validate(sub: Submission, records: Records) -> tuple[dict[str, int], list[tuple[str, bytes, str]], list[dict]]:
    """Run every check (module docstring) and return what will be stored.

    Returns
    -------
    tuple
        The three totals (int), the attachments ``(name, data, media type)``
        and the features with their measured areas.

    Raises
    ------
    PackageRejected
        Missing fields, bad attachments, unknown lot, bad geometry.
    IneligibleError
        The lot or requester is not eligible (``err.reasons`` lists why).
    """
    totals = _check_fields(sub, records)
    files = check_attachments(sub.attachments)
    lot = records.lot_record(sub.parcel_id)
    reasons = eligibility_problems(sub, lot)
    if reasons:
        raise IneligibleError(
            f"Tax lot {sub.parcel_id} is not eligible for a single-family category change: "
            + "; ".join(reasons)
            + f". Ineligible requesters can call customer service at {CUSTOMER_SERVICE}.",
            reasons,
        )
    features = _check_geometry(sub, records)
    _check_consistency(sub, totals, features, records)
    if sub.claimed_category is not None and sub.claimed_category == sub.current_category:
        raise PackageRejected(f"The request claims the {sub.claimed_category} category, the one already on the "
                              "bill; a category change request must ask for another category.")
    return totals, files, features


# --------------------------------------------------------------------------
# importing


def import_submission(store: RequestStore, sub: Submission, records: Records, *, actor: str,
                      status_token: str | None = None) -> int:
    """Check ``sub`` and store it in one transaction; returns the new request number.

    A refused submission stores nothing but an ``import_refused`` audit row.
    ``status_token`` (a homeowner's private token, from the app) is stored as its SHA-256 only.

    Raises
    ------
    PackageRejected, IneligibleError
        See :func:`validate`; also when the lot already has an undecided request.
    """
    try:
        totals, files, features = validate(sub, records)
        values = {
            "parcel_id": sub.parcel_id,
            "account_number": re.sub(r"[\s-]", "", sub.account_number),
            "address": sub.address or records.lot_record(sub.parcel_id).address,
            "requester_name": sub.requester.name.strip(),
            "requester_email": sub.requester.email.strip(),
            "requester_phone": sub.requester.phone.strip(),
            "current_category": sub.current_category,
            "claimed_category": sub.claimed_category,
            "roofs_sqft": totals["roofs"],
            "driveway_parking_sqft": totals["driveway_parking"],
            "other_sqft": totals["other_hard_surfaces"],
            "claimed_sqft": None if sub.claimed_sqft is None else str(sub.claimed_sqft),
            "method_how": sub.method_how,
            "method_statement": sub.method_statement,
            "crs_measured": sub.crs_measured,
            "imagery": sub.imagery,
            "source": sub.source,
            "package_created_at": sub.package_created_at,
        }
        if status_token is not None:
            values["status_token_hash"] = status_token_hash(status_token)
        stored_files = [{"kind": "attachment", "name": n, "media_type": m, "data": d} for n, d, m in files]
        if sub.package is not None:
            stored_files.append({"kind": "package", "name": sub.filename or "evidence-package.zip",
                                 "media_type": "application/zip", "data": sub.package})
        try:
            with store.db.transaction():
                _refuse_if_open(store, sub.parcel_id)
                return store.insert_request(values, features, stored_files, actor=actor,
                                            detail=f"from {sub.source} {sub.filename}".strip())
        except db_errors():
            # Another import for the lot committed between the check and the insert, and the database's
            # one-open-request index refused this one: say so if a request is open now, else it is another fault.
            _refuse_if_open(store, sub.parcel_id)
            raise
    except PackageRejected as err:
        store.append_audit(actor, "import_refused", None,
                           after={"parcel_id": sub.parcel_id, "file": sub.filename, "source": sub.source},
                           detail=str(err))
        raise


def _refuse_if_open(store: RequestStore, parcel_id: str) -> None:
    open_id = store.open_request_for(parcel_id)
    if open_id is not None:
        raise OpenRequestExists(
            f"Tax lot {parcel_id} already has an undecided request (number {open_id}); decide that one first.",
            open_id)


def import_package(store: RequestStore, data: bytes, records: Records, *, actor: str,
                   requester: Requester | None = None, filename: str = "",
                   status_token: str | None = None) -> int:
    """Import an evidence package ZIP; returns the request number (see :func:`import_submission`)."""
    try:
        sub = submission_from_package(data, requester, filename=filename)
    except PackageRejected as err:
        store.append_audit(actor, "import_refused", None, after={"file": filename, "source": "package"},
                           detail=str(err))
        raise
    return import_submission(store, sub, records, actor=actor, status_token=status_token)


def import_geojson(store: RequestStore, geojson: bytes, form: IntakeForm, records: Records, *, actor: str,
                   attachments: Sequence[tuple[str, bytes]] = (), filename: str = "features.geojson") -> int:
    """Import a GeoJSON + form submission; returns the request number."""
    try:
        sub = submission_from_geojson(geojson, form, records, attachments=attachments, filename=filename)
    except PackageRejected as err:
        store.append_audit(actor, "import_refused", None,
                           after={"parcel_id": form.parcel_id, "file": filename, "source": "geojson"},
                           detail=str(err))
        raise
    return import_submission(store, sub, records, actor=actor)
