"""My request: a homeowner follows the request they submitted, with its reference number and status token.

Shows one request only, and only to someone who has both; a wrong number or
token gets the same answer. Never lists requests, never shows the account
number or the requester.
"""

from __future__ import annotations

import streamlit as st

from app_pages import homeowner_requests as hr

md = hr.markdown_text

st.title("My request")
st.caption("Follow the category change request you submitted on **My lot**. Type the reference number and the "
           "private status token you were given. The City promises the outcome of its review by email or "
           "letter within six weeks.")

with st.form("my_request_form"):
    f1, f2 = st.columns([1, 3])
    f1.text_input("Reference number", key="my_request_id", max_chars=20)
    f2.text_input("Status token", key="my_request_token", type="password", max_chars=100)
    asked = st.form_submit_button("Show my request", type="primary")
if asked:  # keep what was typed for later reruns (a download click), not only the one after the button
    st.session_state["my_request_asked"] = (st.session_state.get("my_request_id", ""),
                                            st.session_state.get("my_request_token", ""))
held = st.session_state.get("my_request_asked")
if not held:
    st.stop()

try:
    mine = hr.look_up(held[0], held[1])
except hr.NotFoundError as err:
    st.error(str(err), icon=":material/search_off:")
    st.stop()
except hr.RequestError as err:
    st.error(md(err), icon=":material/error:")
    st.stop()

found, letter_md, letter_pdf = mine.status, mine.letter_md, mine.letter_pdf
st.subheader(f"Request {found['id']}: tax lot {md(found['parcel_id'])}")
st.markdown(f"**Status:** {hr.STATUS_LABELS[found['status']]} · received {hr.long_date(mine.submitted_on)}")
if found["status"] == "submitted":
    st.info("The City has not decided yet. You will also get the outcome by email or letter.",
            icon=":material/hourglass_top:")
    st.stop()
st.success(f"**{hr.HEADLINES.get(found['decision'], hr.STATUS_LABELS[found['status']])}** Category: "
           f"{found['current_category']} → {found['decided_category']}, effective {found['effective_date']}.",
           icon=":material/gavel:")
if found["decision_reason"] and letter_md is None:
    st.markdown(f"**Reason:** {md(found['decision_reason'])}")  # the reviewer's words: text, never markup
if letter_pdf is not None:
    st.download_button("Download the decision letter (PDF)", letter_pdf[1], file_name=letter_pdf[0].name,
                       mime="application/pdf", key="my_request_letter_pdf", icon=":material/download:")
if letter_md is not None:
    with st.expander("Decision letter", expanded=True):
        # the letter module escapes every value a homeowner or reviewer typed
        st.markdown(letter_md[1].decode("utf-8"))
