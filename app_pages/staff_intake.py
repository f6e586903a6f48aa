"""Staff: import a request, from an evidence package ZIP or from a GeoJSON and the form's fields."""

from __future__ import annotations

import streamlit as st

from app_pages import common as c
from app_pages import staff_common as sc
from sba.requests import (
    IneligibleError,
    IntakeForm,
    Requester,
    RequestError,
    import_geojson,
    import_package,
)
from sba.requests.text import markdown_text as md

KINDS = {"package": "Evidence package (ZIP from the homeowner app)", "geojson": "GeoJSON of the features + form"}

store, me = sc.require_staff()
st.title("Import a request")
st.caption("A submission is checked first: fields, attachments (PDF, JPG or PNG, at most 3 of 10 MB), "
           "eligibility against the utility's records, and that every surface is on the lot. "
           "A submission that fails any check is refused whole; nothing of it is stored.")
kind = st.radio("What do you have?", list(KINDS), format_func=KINDS.get, key="staff_in_kind", horizontal=True)

st.header("Requester (the account holder)")
n1, n2, n3 = st.columns(3)
name = n1.text_input("Name", key="staff_in_name")
email = n2.text_input("Email", key="staff_in_email")
phone = n3.text_input("Phone", key="staff_in_phone")
requester = Requester(name, email, phone)

if kind == "package":
    upload = st.file_uploader("Evidence package", type=["zip"], key="staff_in_package")
    form = None
else:
    upload = st.file_uploader("Features (GeoJSON; any map projection it names)", type=["geojson", "json"],
                              key="staff_in_geojson")
    f1, f2, f3 = st.columns(3)
    parcel_id = f1.text_input("Tax lot (Property ID)", key="staff_in_parcel", placeholder="R100065")
    account = f2.text_input("Utility account number (10 digits)", key="staff_in_account")
    current = f3.selectbox("Category on the bill", ["", "small", "standard", "large"], key="staff_in_current")
    method = st.text_area("Method statement: how and on what imagery the surfaces were measured",
                          key="staff_in_method", height=80)
    imagery = st.text_input("Imagery used", key="staff_in_imagery")
    st.markdown("The requester confirmed that:")
    c1, c2 = st.columns(2)
    sf = c1.checkbox("the property is a single-family home", key="staff_in_sf")
    du = c1.checkbox("there is only one dwelling unit on the lot", key="staff_in_du")
    oa = c2.checkbox("there is only one utility account for the lot", key="staff_in_oa")
    ah = c2.checkbox("they are the account holder", key="staff_in_ah")
    files = st.file_uploader("Attachments (PDF, JPG or PNG; up to 3)", type=["pdf", "jpg", "jpeg", "png"],
                             accept_multiple_files=True, key="staff_in_files")
    form = IntakeForm(parcel_id.strip(), account.strip(), current, requester, method, imagery=imagery,
                      single_family=sf, one_dwelling_unit=du, one_account=oa, account_holder=ah)

if st.button("Import", key="staff_in_import", type="primary", disabled=upload is None):
    try:
        records = sc.current_records()
        if form is None:
            rid = import_package(store, upload.getvalue(), records, actor=me.username, requester=requester,
                                 filename=upload.name)
        else:
            attachments = [(f.name, f.getvalue()) for f in (files or [])]
            rid = import_geojson(store, upload.getvalue(), form, records, actor=me.username,
                                 attachments=attachments, filename=upload.name)
    except IneligibleError as err:  # messages quote what the requester typed: shown as text, never as Markdown
        st.error(md(err), icon=":material/block:")
        st.markdown("\n".join(f"- {md(r[0].upper() + r[1:])}." for r in err.reasons))
    except RequestError as err:
        st.error(md(err), icon=":material/error:")
    except c.errors() as err:
        st.error(md(err), icon=":material/error:")
    else:
        req = store.get(rid)
        st.session_state["staff_request"] = rid
        st.session_state["staff_filter"] = "open"
        st.success(f"Imported as request {rid}: tax lot {md(req.parcel_id)}, billed {req.current_category}, claims "
                   f"{req.claimed_category or '-'}. Open it on **Review requests**.", icon=":material/check_circle:")
elif upload is None:
    st.info("Choose a file to import.", icon=":material/upload_file:")
