"""Staff: the append-only audit log (its hash chain checked), CSV exports, and staff accounts."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app_pages import staff_common as sc
from sba.requests import RequestError, add_staff
from sba.requests.auth import list_staff


def _on_add_staff() -> None:
    ss = st.session_state
    try:
        u = add_staff(sc.store(), ss.get("staff_new_username", ""), ss.get("staff_new_password", ""),
                      display_name=ss.get("staff_new_name", ""), admin=bool(ss.get("staff_new_admin")),
                      actor=sc.user().username)
    except RequestError as err:
        sc.flash("error", str(err))
    else:
        sc.flash("success", f"Account {u.username!r} added.")


store, me = sc.require_staff()
st.title("Audit log")
st.caption("Every action on a request is appended here (who, when, what, before and after) and can never be "
           "changed or deleted. Times are UTC.")

chain = store.verify_audit()
if chain.intact:
    st.success(chain.sentence() + " Note the last row's number and hash somewhere else to check them later "
               "with `sba requests verify --anchor ROW:HASH`.", icon=":material/verified:")
else:
    st.error(chain.sentence() + " Tell the system administrator; keep the database as it is.",
             icon=":material/gpp_bad:")
for mismatch in store.verify_decisions():
    st.error(mismatch + " It was changed outside this tool.", icon=":material/gpp_bad:")

rows = store.audit_log()
only = st.text_input("Only request number", key="staff_audit_request", placeholder="all requests")
if only.strip():
    if not only.strip().isdigit():
        st.error("Type a request number, like 3.", icon=":material/error:")
        st.stop()
    rows = [r for r in rows if r["request_id"] == int(only)]


def _plain(value) -> str:
    """A value as staff read it: text as is, nothing as "–", lists and records as JSON."""
    if value is None or value == "":
        return "–"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def _change(before, after) -> str:
    """What an audit row changed: "field: old → new" for each changed field, records (such as
    the comparison) last and only named (they are whole in the CSV)."""
    before = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    after = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    plain, records = [], []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        name = str(key).replace("_", " ")
        if isinstance(old, dict | list) or isinstance(new, dict | list):
            records.append(f"{name} (in the CSV)")
        elif key not in before:
            plain.append(f"{name}: {_plain(new)}")
        elif key not in after:
            plain.append(f"{name}: {_plain(old)} (removed)")
        else:
            plain.append(f"{name}: {_plain(old)} → {_plain(new)}")
    text = "; ".join(plain + records)
    return text if len(text) <= 400 else text[:397] + "…"


frame = pd.DataFrame({
    "#": [r["id"] for r in rows],
    "When (UTC)": [r["at"] for r in rows],
    "Who": [r["actor"] for r in rows],
    "What": [r["action"].replace("_", " ") for r in rows],
    "Request": pd.array([r["request_id"] for r in rows], dtype="Int64"),
    "Detail": [r["detail"] or "" for r in rows],
    "Change": [_change(r["before"], r["after"]) for r in rows],
})
st.dataframe(frame, hide_index=True, width="stretch", key="staff_audit_table")
d1, d2 = st.columns(2)
d1.download_button("Download the audit log (CSV)",
                   store.export_audit_csv(request_id=int(only) if only.strip() else None).encode("utf-8"),
                   file_name="sba-audit-log.csv", mime="text/csv", key="staff_audit_csv")
d2.download_button("Download every request's outcome (CSV, for billing)", store.export_requests_csv().encode("utf-8"),
                   file_name="sba-requests.csv", mime="text/csv", key="staff_requests_csv")

st.header("Staff accounts")
sc.show_flash()
st.dataframe(pd.DataFrame([{"User name": u.username, "Name": u.display_name,
                            "Administrator": "yes" if u.is_admin else ""} for u in list_staff(store)]),
             hide_index=True, key="staff_accounts")
if me.is_admin:
    with st.form("staff_add", clear_on_submit=True):
        st.markdown("**Add a staff account** (administrators only)")
        a1, a2 = st.columns(2)
        a1.text_input("User name", key="staff_new_username")
        a2.text_input("Name shown in letters", key="staff_new_name")
        a1.text_input("Password (8 characters or more)", type="password", key="staff_new_password")
        a2.checkbox("Administrator", key="staff_new_admin")
        st.form_submit_button("Add account", on_click=_on_add_staff)
