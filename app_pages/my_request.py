"""My request: a homeowner follows the request they submitted, with its private status link (or its reference
number and status token typed in).

Shows one request only, and only to someone who has both; a wrong number or
token gets the same answer, and wrong tries are throttled per number and per
browser (see ``homeowner_requests.look_up``). Never lists requests, never shows
the account number or the requester. The status link carries the token in its
query string (``?ref=12&token=...``): it is read here, looked up once per
session, and never written to a log by us.
"""

from __future__ import annotations

import streamlit as st

from app_pages import homeowner_requests as hr

md = hr.markdown_text
ss = st.session_state


def _look_up(number: str, token: str) -> hr.MyRequest | tuple[str, str]:
    """The request, or the one sentence to show and its icon."""
    try:
        return hr.look_up(number, token)
    except hr.NotFoundError as err:
        return str(err), ":material/search_off:"
    except hr.LookupThrottled as err:
        return str(err), ":material/schedule:"
    except hr.RequestError as err:
        return md(err), ":material/error:"


st.title("My request")
st.caption("Follow the category change request you submitted on **My lot**: open the private status link you "
           "were given, or type the reference number and status token from it. The City promises the outcome "
           "of its review by email or letter within six weeks.")

link = (st.query_params.get(hr.LINK_NUMBER, ""), st.query_params.get(hr.LINK_TOKEN, ""))
if link[0]:
    ss.setdefault("my_request_id", link[0])
with st.form("my_request_form"):
    f1, f2 = st.columns([1, 3])
    f1.text_input("Reference number", key="my_request_id", max_chars=20)
    f2.text_input("Status token", key="my_request_token", type="password", max_chars=100)
    asked = st.form_submit_button("Show my request", type="primary")

if asked:  # typed: the address bar no longer speaks for what is shown
    st.query_params.clear()
    ss["my_request_result"] = _look_up(ss.get("my_request_id", ""), ss.get("my_request_token", ""))
elif link[1] and ss.get("my_request_link") != link:  # a status link opened: look it up once per session
    ss["my_request_link"] = link
    ss["my_request_result"] = _look_up(*link)
mine = ss.get("my_request_result")  # kept for later reruns (a download click)
if mine is None:
    st.stop()
if isinstance(mine, tuple):
    st.error(mine[0], icon=mine[1])
    st.stop()

found, letter_md, letter_pdf = mine.status, mine.letter_md, mine.letter_pdf
st.header(f"Request {found['id']}: tax lot {md(found['parcel_id'])}")
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
        # the letter module escapes every value a homeowner or reviewer typed; the account number is masked
        st.markdown(letter_md[1].decode("utf-8"))
