"""Staff actions on a request: adjust a feature, then accept, adjust or reject.

Every action names the staff member (``actor``, an active staff account) and
the request version the reviewer saw (``expected_version``); if the request
changed since, a :class:`~sba.requests.errors.ConflictError` refuses the action
and nothing is written except the audit row of the refused try.

Decisions
---------
``accept``
    The request's features are right: the new category is the one their area
    falls in (measured here by the engine, not taken from the package).
``adjust``
    Staff changed features first (:func:`adjust_feature`: another type, another
    outline, the City's outline, removed, or a record feature added); the new
    category is the one of the adjusted features. A reason is required.
``reject``
    The category stays as billed. A reason is required.

The decision date is today in the utility's time zone (see
:mod:`sba.requests.store`) and is also the **effective date**: a category
change applies from the day it is decided, never earlier. A decision dated
before today (back-dated), after today, or before the day the request was
submitted is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import shapely
from pyproj import CRS
from shapely.geometry import mapping, shape

import gis
from gis.geojson import rfc7946
from gis.repair import non_finite, repair
from gis.shapes import FEATURE_TYPES
from sba.engine import area_str
from sba.requests import letter as letters
from sba.requests.auth import get_staff
from sba.requests.compare import Comparison, compare_request
from sba.requests.errors import AuthError, DecisionError, NotFoundError
from sba.requests.records import Records
from sba.requests.store import ChangeRequestRecord, RequestStore

__all__ = ["DECISIONS", "Decision", "add_record_feature", "adjust_feature", "decide"]

DECISIONS = ("accept", "adjust", "reject")
STATUS_FOR = {"accept": "accepted", "adjust": "adjusted", "reject": "rejected"}
LONLAT = CRS.from_epsg(4326)


@dataclass(frozen=True)
class Decision:
    """What :func:`decide` recorded."""

    request_id: int
    decision: str
    status: str
    old_category: str
    new_category: str
    decided_sqft: str | None
    effective_date: dt.date
    decided_by: str
    version: int
    letter_markdown: str
    letter_pdf: bytes | None
    comparison: Comparison

    @property
    def changed(self) -> bool:
        """True when the decision changes the billed category."""
        return self.old_category != self.new_category


def _staff(store: RequestStore, actor: str) -> str:
    user = get_staff(store, actor)
    if user is None:
        raise AuthError(f"{actor!r} is not an active staff account; add it with 'sba requests add-staff'.")
    return user.username


def _feature_outline(geometry: dict[str, Any], records: Records, parcel_id: str, name: str) -> tuple[dict, str, str]:
    """Check a staff-drawn outline (GeoJSON, EPSG:4326); returns it with its area and area on the lot."""
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException) as err:
        raise DecisionError(f"The new outline for {name} cannot be read as GeoJSON.") from err
    if non_finite([geom])[0]:  # repairing it would drop the corner and keep a guess (SPEC A1.4)
        raise DecisionError(f"The new outline for {name} has a corner that is not a number (NaN or infinite); "
                            "draw it again.")
    if not geom.is_valid:
        geom = repair(geom)
    if geom.is_empty or geom.area <= 0:
        raise DecisionError(f"The new outline for {name} is not an area.")
    lot = records.lot(parcel_id)
    proj = gpd.GeoSeries([geom], crs=LONLAT).to_crs(lot.crs).iloc[0]
    unit2 = gis.sqft_per_crs_unit2(lot.crs)
    inside = proj.intersection(lot.geometry.iloc[0]).area * unit2
    if inside < 1.0:
        raise DecisionError(f"The new outline for {name} lies outside tax lot {parcel_id}.")
    outline = json.loads(json.dumps(rfc7946(geom)))  # RFC 7946 rings; lists, as stored and read back
    return outline, area_str(proj.area * unit2), area_str(inside)


def adjust_feature(
    store: RequestStore,
    records: Records,
    request_id: int,
    position: int,
    *,
    actor: str,
    reason: str,
    expected_version: int | None = None,
    feature_type: str | None = None,
    geometry: dict[str, Any] | None = None,
    use_record: str | None = None,
    remove: bool | None = None,
) -> int:
    """Change one feature of an undecided request; returns the request's new version.

    Parameters
    ----------
    position
        The feature's number in the request (1, 2, ...).
    feature_type
        A new type (``roof``, ``patio``, ... see :data:`gis.shapes.FEATURE_TYPES`).
    geometry
        A new outline, GeoJSON in EPSG:4326.
    use_record
        A record feature id: take the City's outline and type for this feature.
    remove
        ``True`` leaves the feature out of the measurement; ``False`` puts it back.

    Raises
    ------
    DecisionError
        Nothing to change, no reason, an unknown type or a bad outline.
    ConflictError
        The request changed or was decided since ``expected_version``.
    """
    actor = _staff(store, actor)
    req = store.get(request_id)
    version = req.version if expected_version is None else int(expected_version)
    store.check_current(req, version, actor=actor, action="adjust_feature",
                        after={"position": int(position), "feature_type": feature_type, "use_record": use_record,
                               "remove": remove, "geometry": geometry, "reason": reason})
    feat = next((f for f in req.features if f.position == int(position)), None)
    if feat is None:
        raise NotFoundError(f"Request {request_id} has no feature number {position}.")
    if not reason.strip():
        raise DecisionError("Give a reason for the change; it goes in the audit log.")
    name = f"feature {position}"
    sets: dict[str, Any] = {}
    if use_record:
        rec = records.record_features(req.parcel_id)
        ids = rec["feature_id"].astype(str) if "feature_id" in rec.columns else None
        hit = rec[(ids == str(use_record)).to_numpy()] if ids is not None else rec.iloc[:0]
        if hit.empty:
            raise DecisionError(f"The City's record has no feature {use_record!r} on tax lot {req.parcel_id}.")
        geometry = mapping(hit.to_crs(LONLAT).geometry.iloc[0])
        feature_type = feature_type or str(hit["feature_type"].iloc[0])
    if feature_type is not None:
        kind = gis.normalise_type(feature_type)
        if kind not in FEATURE_TYPES:
            raise DecisionError(f"{feature_type!r} is not a feature type; use one of: {', '.join(FEATURE_TYPES)}.")
        if kind != feat.feature_type:
            sets["feature_type"] = kind
    if geometry is not None:
        outline, area, inside = _feature_outline(geometry, records, req.parcel_id, name)
        sets.update(geometry_json=_dumps(outline), area_sqft=area, inside_lot_sqft=inside)
    if remove is not None and bool(remove) != feat.removed:
        sets["removed"] = int(bool(remove))
    if not sets:
        raise DecisionError(f"Nothing to change: {name} already is like that.")
    new_type = sets.get("feature_type", feat.feature_type)
    new_geom = outline if geometry is not None else feat.geometry
    sets["adjusted"] = int(new_type != feat.original_type or new_geom != feat.original_geometry)
    before = {"position": feat.position, "feature_type": feat.feature_type, "removed": feat.removed,
              "geometry": feat.geometry}
    after = {"position": feat.position, "feature_type": new_type,
             "removed": bool(sets.get("removed", feat.removed)), "geometry": new_geom}
    if use_record:
        after["from_record"] = str(use_record)
    return store.apply_change(request_id, version, actor=actor, action="adjust_feature",
                              feature_sets={feat.position: sets}, before=before, after=after, detail=reason.strip())


def add_record_feature(store: RequestStore, records: Records, request_id: int, record_feature: str, *,
                       actor: str, reason: str, expected_version: int | None = None) -> int:
    """Add one of the City's record features to the request (e.g. a garage the homeowner left out)."""
    actor = _staff(store, actor)
    req = store.get(request_id)
    version = req.version if expected_version is None else int(expected_version)
    store.check_current(req, version, actor=actor, action="add_feature",
                        after={"from_record": str(record_feature), "reason": reason})
    if not reason.strip():
        raise DecisionError("Give a reason for the change; it goes in the audit log.")
    rec = records.record_features(req.parcel_id)
    if "feature_id" in rec:
        hit = rec[(rec["feature_id"].astype(str) == str(record_feature)).to_numpy()]
    else:
        hit = rec.iloc[:0]
    if hit.empty:
        raise DecisionError(f"The City's record has no feature {record_feature!r} on tax lot {req.parcel_id}.")
    outline, area, inside = _feature_outline(mapping(hit.to_crs(LONLAT).geometry.iloc[0]), records,
                                             req.parcel_id, str(record_feature))
    position = max((f.position for f in req.features), default=0) + 1
    kind = str(hit["feature_type"].iloc[0])
    new = {"feature_id": str(record_feature), "feature_type": kind, "source": "record", "geometry": outline,
           "area_sqft": area, "inside_lot_sqft": inside}
    return store.apply_change(request_id, version, actor=actor, action="add_feature", new_features=[(position, new)],
                              after={"position": position, "feature_type": kind, "from_record": str(record_feature),
                                     "geometry": outline},
                              detail=reason.strip())


def decide(
    store: RequestStore,
    records: Records,
    request_id: int,
    decision: str,
    *,
    actor: str,
    reason: str = "",
    expected_version: int | None = None,
    decided_on: dt.date | None = None,
    pdf: bool = True,
) -> Decision:
    """Record a decision, its letter and its audit row in one transaction.

    Parameters
    ----------
    decision
        ``accept``, ``adjust`` or ``reject``.
    expected_version
        The version the reviewer saw (default: the current one).
    decided_on
        Must be today (utility's date) if given; there only to refuse
        back-dating explicitly.
    pdf
        Also make the PDF letter (the Markdown one is always made).

    Raises
    ------
    DecisionError
        Unknown decision, missing reason, back-dated or future date, a date
        before the submission, ``accept`` after adjustments or ``adjust``
        without any.
    ConflictError
        Someone else decided or changed the request first.
    """
    decision = str(decision).strip().lower()
    if decision not in DECISIONS:
        raise DecisionError(f"{decision!r} is not a decision; use accept, adjust or reject.")
    actor = _staff(store, actor)
    req = store.get(request_id)
    version = req.version if expected_version is None else int(expected_version)
    store.check_current(req, version, actor=actor, action="decide",
                        after={"decision": decision, "reason": reason.strip()})
    today = store.today()
    when = decided_on or today
    submitted = store.local_date(req.submitted_at)
    if when < submitted:
        raise DecisionError(
            f"A decision dated {when} would be earlier than the request's submission on {submitted}; "
            "decisions take effect from the day they are made.")
    if when < today:
        raise DecisionError(
            f"Decisions cannot be back-dated: a decision recorded today takes effect today ({today}), not {when}.")
    if when > today:
        raise DecisionError(f"A decision cannot be dated in the future ({when}); today is {today}.")
    if decision in ("reject", "adjust") and not reason.strip():
        raise DecisionError(f"Give a reason to {decision} the request; it goes in the letter.")
    if decision == "adjust" and not req.adjusted:
        raise DecisionError("'Adjust' means staff changed features first; change a feature's outline or "
                            "type, or accept or reject the request as it is.")
    if decision == "accept" and req.adjusted:
        raise DecisionError("Features of this request were changed by staff; record the decision as 'adjust'.")
    cmp = compare_request(req, records)
    new_category = req.current_category if decision == "reject" else cmp.request_category
    decided_sqft = None if decision == "reject" else str(cmp.request_whole)
    decided_at = store.now_text()
    info = letters.LetterInfo.from_request(
        req, cmp, decision=decision, new_category=new_category, effective=when, reason=reason.strip(),
        decided_by=get_staff(store, actor).display_name, decided_on=when, submitted_on=submitted)
    md = letters.letter_markdown(info)
    pdf_bytes = letters.letter_pdf(info) if pdf else None
    files = [{"kind": "letter_md", "name": f"decision-{request_id}.md", "media_type": "text/markdown",
              "data": md.encode("utf-8")}]
    if pdf_bytes is not None:
        files.append({"kind": "letter_pdf", "name": f"decision-{request_id}.pdf", "media_type": "application/pdf",
                      "data": pdf_bytes})
    sets = {
        "status": STATUS_FOR[decision], "decision": decision, "decided_category": new_category,
        "decided_sqft": decided_sqft, "decision_reason": reason.strip(), "decided_by": actor,
        "decided_at": decided_at, "effective_date": when.isoformat(),
    }
    after = {**req.summary(), **{k: v for k, v in sets.items() if k != "decided_at"},
             "version": version + 1, "comparison": cmp.summary()}
    new_version = store.apply_change(request_id, version, actor=actor, action="decide", request_sets=sets,
                                     files=files, before=req.summary(), after=after,
                                     detail=f"{decision}: {reason.strip()}".rstrip(": "))
    return Decision(request_id, decision, STATUS_FOR[decision], req.current_category, new_category, decided_sqft,
                    when, actor, new_version, md, pdf_bytes, cmp)


def comparison_for(store: RequestStore, records: Records, request_id: int) -> tuple[ChangeRequestRecord, Comparison]:
    """The request and its comparison with the record."""
    req = store.get(request_id)
    return req, compare_request(req, records)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
