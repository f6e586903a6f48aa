"""Stormwater billable area: the homeowner app (a router; pages live in app_pages/).

Run with ``streamlit run app.py`` (or ``scripts/run-app``). To add pages (staff
review, say), add a section to ``PAGES``.
"""

import streamlit as st

st.set_page_config(
    page_title="Stormwater billable area",
    page_icon="💧",
    layout="wide",
    initial_sidebar_state="auto",
)

PAGES = {
    "Homeowner": [
        st.Page("app_pages/measure.py", title="My lot", icon=":material/draw:", default=True),
        st.Page("app_pages/my_request.py", title="My request", icon=":material/mark_email_read:"),
        st.Page("app_pages/worksheet.py", title="Tape-measure worksheet", icon=":material/straighten:"),
        st.Page("app_pages/rates.py", title="Rate schedules", icon=":material/payments:"),
        st.Page("app_pages/about.py", title="How it works and offline use", icon=":material/help:"),
    ],
    "Staff": [  # each staff page asks for a staff sign-in before it shows anything
        st.Page("app_pages/staff_review.py", title="Review requests", icon=":material/fact_check:"),
        st.Page("app_pages/staff_intake.py", title="Import a request", icon=":material/upload_file:"),
        st.Page("app_pages/staff_audit.py", title="Audit log", icon=":material/history:"),
    ],
}

st.navigation(PAGES).run()
