"""Staff: the queue, one request compared with the City's record, adjustments and the decision."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common as c
from app_pages import staff_common as sc
from gis import webmap
from gis.shapes import FEATURE_TYPES, type_label
from sba.evidence import FORM_BUCKETS, FORM_LABELS, EvidencePackageError, read_package
from sba.requests import (
    ConflictError,
    RequestError,
    add_record_feature,
    adjust_feature,
    compare_request,
    decide,
)
from sba.requests.intake import request_eligibility
from sba.requests.letter import long_date
from sba.requests.records import default_records_dir
from sba.requests.sample_queue import seed_sample
from sba.requests.text import markdown_text as md

PROMISE_DAYS = 42  # six weeks
FILTERS = {"open": "Waiting for a decision", "decided": "Decided", "all": "All"}
ADJUST_ACTIONS = {
    "type": "Change its type",
    "record": "Use the City's outline and type",
    "remove": "Leave it out",
    "restore": "Put it back",
    "add": "Add a feature from the City's record",
}


# --------------------------------------------------------------------------
# callbacks (run before the page, with the values the reviewer saw)


def _seen() -> dict[int, int]:
    return st.session_state.setdefault("staff_seen", {})


def _on_decide(rid: int, version: int) -> None:
    me = sc.user()
    if me is None:
        return
    try:
        d = decide(sc.store(), sc.current_records(), rid, st.session_state.get(f"staff_decision_{rid}", "accept"),
                   actor=me.username, reason=st.session_state.get(f"staff_reason_{rid}", ""), expected_version=version)
    except ConflictError as err:
        sc.flash("error", md(err), rid)
        if st.session_state.get("staff_filter") == "open":  # show the other reviewer's decision
            st.session_state["staff_filter"] = "all"
        return
    except RequestError as err:
        sc.flash("error", md(err), rid)
        return
    _seen()[rid] = d.version
    st.session_state[f"staff_reason_{rid}"] = ""
    if st.session_state.get("staff_filter") == "open":  # keep the decided request (and its letter) in view
        st.session_state["staff_filter"] = "all"
    change = (f"the category changes from {d.old_category} to {d.new_category} from {long_date(d.effective_date)}"
              if d.changed else f"the category stays {d.old_category}")
    sc.flash("success", f"Request {rid} recorded as {sc.STATUS_LABELS[d.status].lower()}: {change}. "
                        "The letter is ready below.", rid)


def _on_adjust(rid: int, version: int) -> None:
    me = sc.user()
    if me is None:
        return
    ss = st.session_state
    action, reason = ss.get(f"staff_adj_action_{rid}", "type"), ss.get(f"staff_adj_reason_{rid}", "")
    s, records = sc.store(), sc.current_records()
    try:
        if action == "add":
            v = add_record_feature(s, records, rid, ss.get(f"staff_adj_record_{rid}", ""), actor=me.username,
                                   reason=reason, expected_version=version)
        else:
            kw = {"type": {"feature_type": ss.get(f"staff_adj_type_{rid}")},
                  "record": {"use_record": ss.get(f"staff_adj_record_{rid}")},
                  "remove": {"remove": True}, "restore": {"remove": False}}[action]
            v = adjust_feature(s, records, rid, int(ss.get(f"staff_adj_feature_{rid}") or 0), actor=me.username,
                               reason=reason, expected_version=version, **kw)
    except RequestError as err:
        sc.flash("error", md(err), rid)
        return
    _seen()[rid] = v
    ss[f"staff_adj_reason_{rid}"] = ""
    sc.flash("success", "Change saved. The comparison below uses it; record the decision as 'adjust'.", rid)


def _on_reload(rid: int, version: int) -> None:
    _seen()[rid] = version
    st.session_state.pop("staff_flash", None)


def _on_seed() -> None:
    try:
        ids = seed_sample(sc.store(), sc.current_records(), actor=sc.user().username)
    except RequestError as err:
        sc.flash("error", md(err))
        return
    sc.flash("success", f"Loaded {len(ids)} sample requests.")


# --------------------------------------------------------------------------
# the City's promise: "the outcome of our review by email or letter within six weeks"


def waited_days(store, row: dict) -> int:
    """Days from receipt to today (undecided) or to the decision, in the utility's dates."""
    end = store.local_date(row["decided_at"]) if row.get("decided_at") else store.today()
    return (end - store.local_date(row["submitted_at"])).days


def overdue(row: dict, waited: int) -> bool:
    """True when an undecided request has waited longer than the six weeks the City promises."""
    return row["status"] == "submitted" and waited > PROMISE_DAYS


def promise(row: dict, waited: int) -> str:
    """The queue's note on the six-week promise: days left, days overdue, or "decided"."""
    if row["status"] != "submitted":
        return "decided"
    late, left = waited - PROMISE_DAYS, PROMISE_DAYS - waited
    if late > 0:
        return f"overdue by {late} day{'s' * (late != 1)}"
    return f"{left} day{'s' * (left != 1)} left"


# --------------------------------------------------------------------------
# page

store, me = sc.require_staff()
try:
    records = sc.current_records()
except RequestError as err:
    st.error(md(err), icon=":material/error:")
    st.stop()
except c.errors() as err:
    st.error(md(err), icon=":material/error:")
    st.stop()

st.title("Category change requests")
sc.show_flash()

rows = store.list()
if not rows:
    st.info("The queue is empty. Import requests on **Import a request**, or load the sample queue: four "
            "requests for sample lots that are billed in the wrong category.", icon=":material/inbox:")
    st.button("Load the sample queue", key="staff_seed", on_click=_on_seed)
    st.stop()

which = st.radio("Show", list(FILTERS), format_func=FILTERS.get, key="staff_filter", horizontal=True)
shown = [r for r in rows if which == "all" or (r["status"] == "submitted") == (which == "open")]
waits = {r["id"]: waited_days(store, r) for r in shown}
# overdue first (longest wait first), then the rest oldest first
shown.sort(key=lambda r: (0, -waits[r["id"]], r["id"]) if overdue(r, waits[r["id"]]) else (1, 0, r["id"]))
queue = pd.DataFrame({
    "#": [r["id"] for r in shown],
    "Waiting (days)": [waits[r["id"]] for r in shown],
    "Six weeks": [promise(r, waits[r["id"]]) for r in shown],
    "Tax lot": [r["parcel_id"] for r in shown],
    "Address": [r["address"] for r in shown],
    "Requester": [r["requester_name"] for r in shown],
    "Billed": [r["current_category"] for r in shown],
    "Claims": [r["claimed_category"] or "" for r in shown],
    "Status": [sc.STATUS_LABELS[r["status"]] for r in shown],
    "Submitted": [store.local_date(r["submitted_at"]).isoformat() for r in shown],
})
picked = st.dataframe(queue, hide_index=True, width="stretch", key="staff_queue", on_select="rerun",
                      selection_mode="single-row")
if not shown:
    st.info("No requests here.")
    st.stop()

by_id = {r["id"]: r for r in shown}
wanted = st.query_params.get("request")
if wanted and wanted.isdigit() and int(wanted) in by_id and "staff_request" not in st.session_state:
    st.session_state["staff_request"] = int(wanted)
clicked = picked.selection.rows if picked is not None else []
if clicked and clicked[0] < len(shown) and st.session_state.get("_staff_clicked") != shown[clicked[0]]["id"]:
    # a row clicked in the queue opens that request (once: the picker below can still change it)
    st.session_state["staff_request"] = st.session_state["_staff_clicked"] = shown[clicked[0]]["id"]
rid = st.selectbox(
    "Open a request", list(by_id), key="staff_request",
    format_func=lambda i: (f"#{i} · {by_id[i]['parcel_id']} · {by_id[i]['requester_name']} · billed "
                           f"{by_id[i]['current_category']}, claims {by_id[i]['claimed_category'] or '-'}"),
)
st.query_params["request"] = str(rid)

req = store.get(rid)
seen = _seen().setdefault(rid, req.version)
try:
    cmp = compare_request(req, records)
except RequestError as err:
    st.error(md(err), icon=":material/error:")
    st.stop()

st.divider()
st.header(f"Request {rid}: tax lot {req.parcel_id}")
sc.show_flash(rid)
st.caption(f"{md(req.address)} · account {md(req.account_number)} · received "
           f"{long_date(store.local_date(req.submitted_at))} · version {req.version}")
if req.version != seen:
    st.warning(f"Someone else changed this request after you opened it (you saw version {seen}, it is now "
               f"{req.version}); below is the latest. Check it, then reload before you act.",
               icon=":material/sync_problem:")
    st.button("Reload the request", key="staff_reload", on_click=_on_reload, args=(rid, req.version))

left, right = st.columns(2, gap="large")
with left:
    # everything the requester typed is escaped: text, never links, images or formatting
    st.markdown(f"**Requester:** {md(req.requester_name)}"
                + (f" · {md(req.requester_email)}" if req.requester_email else "")
                + (f" · {md(req.requester_phone)}" if req.requester_phone else ""))
    st.markdown(f"**Status:** {sc.STATUS_LABELS[req.status]}")
    st.markdown(f"**Method:** {md(req.method_statement)}")
with right:
    problems = request_eligibility(req, records)
    if problems:
        st.error(md("Not eligible by the records as they are now: " + "; ".join(problems) + "."),
                 icon=":material/block:")
    else:
        st.success("Eligible: single-family, one dwelling unit, one account on the lot, requested by the "
                   "account holder.", icon=":material/verified_user:")

m1, m2, m3, m4 = st.columns(4)
m1.metric("Billed now", req.current_category)
m2.metric(f"City's record: {cmp.record_category}", f"{cmp.record_whole:,} sq ft")
m3.metric(f"Request: {cmp.request_category}", f"{cmp.request_whole:,} sq ft")
m4.metric("Difference", f"{cmp.difference_sqft:+,} sq ft")
if cmp.crosses_threshold:
    st.warning(f"**Crosses a category threshold.** {cmp.threshold_note}", icon=":material/flag:")
for note in cmp.notes:
    st.info(md(note), icon=":material/info:")

table = pd.DataFrame({
    "Status": [f.status for f in cmp.features],
    "#": pd.array([f.position for f in cmp.features], dtype="Int64"),
    "Request type": [type_label(f.request_type) if f.request_type else "" for f in cmp.features],
    "Request sq ft": [round(f.request_sqft, 1) if f.request_sqft is not None else None for f in cmp.features],
    "Record": [f.record_feature or "" for f in cmp.features],
    "Record type": [type_label(f.record_type) if f.record_type else "" for f in cmp.features],
    "Record sq ft": [round(f.record_sqft, 1) if f.record_sqft is not None else None for f in cmp.features],
    "IoU": [round(f.iou, 2) for f in cmp.features],
    "Change sq ft": [round(f.area_change_sqft, 1) for f in cmp.features],
    "Note": [f.note for f in cmp.features],
})
map_col, table_col = st.columns([2, 3], gap="medium")
with table_col:
    st.subheader("Feature by feature")
    st.caption(", ".join(f"{n} {k}" for k, n in cmp.counts.items())
               + ". Pairs need an overlap (IoU) of 0.5 or more; 'changed' means another type or more than "
                 "2 % (at least 1 sq ft) of area difference.")
    st.dataframe(table, hide_index=True, width="stretch", key="staff_features")
    totals = pd.DataFrame({
        "": [FORM_LABELS[k] for k in FORM_BUCKETS] + ["Billable area"],
        "Reported": [req.form_totals[k] for k in FORM_BUCKETS] + [sum(req.form_totals.values())],
        "Request measured": [int(cmp.request_totals[k]) for k in FORM_BUCKETS] + [int(cmp.request_whole)],
        "City's record": [int(cmp.record_totals[k]) for k in FORM_BUCKETS] + [int(cmp.record_whole)],
    })
    st.dataframe(totals, hide_index=True, width="stretch", key="staff_totals")
with map_col:
    st.subheader("Map")
    st.caption("Blue outlines: the City's record (dashed: missing from the request). Filled: the request "
               "(green matched, orange changed, red added). Dashed orange: the lot line.")
    from sba.requests.maps import comparison_map

    photo = default_records_dir() / "orthophoto.tif"
    lot_p = records.lot(req.parcel_id)
    ortho = (c.ortho_for(str(photo), tuple(float(v) for v in lot_p.total_bounds), lot_p.crs.to_wkt())
             if photo.exists() else None)
    st_folium(webmap.use_local_assets(comparison_map(cmp, ortho=ortho), c.VENDOR_DIR), key=f"staff_map_{rid}",
              returned_objects=[], height=440, use_container_width=True)

if req.files:
    st.subheader("Attachments and files")
    cols = st.columns(min(len(req.files) + 1, 4))
    for i, f in enumerate(req.files):
        data = store.file_data(rid, f.id)
        with cols[i % len(cols)]:
            if f.media_type in ("image/png", "image/jpeg"):
                st.image(data, caption=f.name, width=200, alt=f"Attached photo {f.name}")  # axe: image-alt
            label = {"package": "Evidence package (ZIP)", "letter_md": "Decision letter (Markdown)",
                     "letter_pdf": "Decision letter (PDF)"}.get(f.kind, md(f.name))
            st.download_button(label, data, file_name=f.name, mime=f.media_type, key=f"staff_file_{f.id}")
            if f.kind == "package":
                try:
                    report = read_package(data).report_pdf
                except EvidencePackageError:
                    report = None
                if report:
                    st.download_button("Homeowner's report (PDF)", report, file_name=f"report-{rid}.pdf",
                                       mime="application/pdf", key=f"staff_report_{f.id}")

if req.is_open:
    with st.expander("Adjust a feature", icon=":material/edit:"):
        action = st.radio("What to do", list(ADJUST_ACTIONS), format_func=ADJUST_ACTIONS.get,
                          key=f"staff_adj_action_{rid}", horizontal=True)
        feats = {f.position: f for f in req.features}
        if action != "add":
            st.selectbox("Feature", list(feats), key=f"staff_adj_feature_{rid}",
                         format_func=lambda p: f"{p} · {type_label(feats[p].feature_type)}"
                                               + (" (left out)" if feats[p].removed else ""))
        if action == "type":
            st.selectbox("New type", list(FEATURE_TYPES), format_func=FEATURE_TYPES.get, key=f"staff_adj_type_{rid}")
        if action in ("record", "add"):
            rec = cmp.record_layer
            ids = list(rec["feature_id"]) if rec is not None else []
            kinds = dict(zip(ids, rec["feature_type"], strict=True)) if ids else {}
            st.selectbox("City's record feature", ids, key=f"staff_adj_record_{rid}",
                         format_func=lambda i: f"{i} · {type_label(kinds[i])}")
        st.text_input("Reason (kept in the audit log)", key=f"staff_adj_reason_{rid}")
        st.button("Save the change", key="staff_adj_save", on_click=_on_adjust, args=(rid, seen))

    st.subheader("Decision")
    labels = {
        "accept": f"Accept: the category becomes {cmp.request_category}",
        "adjust": f"Accept with staff changes: the category becomes {cmp.request_category}",
        "reject": f"Reject: the category stays {req.current_category}",
    }
    options = ["adjust", "reject"] if req.adjusted else ["accept", "reject"]
    if st.session_state.get(f"staff_decision_{rid}") not in options:
        st.session_state[f"staff_decision_{rid}"] = options[0]
    st.radio("Decision", options, format_func=labels.get, key=f"staff_decision_{rid}")
    st.text_area("Reason (goes in the letter; required to reject or adjust)", key=f"staff_reason_{rid}", height=90)
    st.caption(f"The decision takes effect today, {long_date(store.today())} (the utility's date, {store.tz}); "
               "it cannot be back-dated.")
    st.button("Record decision", key="staff_decide", type="primary", on_click=_on_decide, args=(rid, seen))
else:
    outcome = (f"category {req.current_category} → {req.decided_category}"
               if req.decided_category != req.current_category else f"category stays {req.decided_category}")
    reason_note = f" Reason: {md(req.decision_reason)}" if req.decision_reason else ""
    st.success(f"**{sc.STATUS_LABELS[req.status]}** by {md(req.decided_by)} on {req.effective_date}: {outcome}, "
               f"effective {req.effective_date}.{reason_note}", icon=":material/gavel:")
    letter = store.latest_file(rid, "letter_md")
    if letter is not None:
        with st.expander("Decision letter", expanded=True):
            st.markdown(letter[1].decode("utf-8"))

with st.expander("History (audit log)", icon=":material/history:"):
    hist = store.audit_log(rid)
    st.dataframe(pd.DataFrame({"When (UTC)": [h["at"] for h in hist], "Who": [h["actor"] for h in hist],
                               "What": [h["action"].replace("_", " ") for h in hist],
                               "Detail": [h["detail"] for h in hist]}),
                 hide_index=True, width="stretch", key="staff_history")
