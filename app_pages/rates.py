"""Rate schedules: what each bundled schedule charges, its effective date and its source."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import common as c
from categorize import RateSchedule, available_schedules
from categorize.schedule import rate_lines
from gis.shapes import type_label


def _rate_rows(s: RateSchedule) -> list[dict]:
    return [{"Charge": charge, "Rate": rate} for charge, rate in rate_lines(s)]


c.keep()
names = available_schedules()
st.session_state.setdefault("rates_schedule", c.st.session_state.get("schedule", names[0]) if names else None)
st.title("Rate schedules")
st.markdown("Rates are data: one file per utility and fiscal year, each with its effective date and source. "
            "A figure marked *not confirmed* is a placeholder, and every bill that uses it says so.")
name = st.selectbox("Schedule", names, key="rates_schedule", format_func=c.schedule_title)
try:
    s = c.schedule(name)
except c.errors() as err:
    st.error(str(err), icon=":material/error:")
    st.stop()

st.header(s.title)
m1, m2, m3 = st.columns(3)
m1.metric("Effective from", s.effective.strftime("%B %-d, %Y"))
m2.metric("Fiscal year", s.fiscal_year)
m3.metric("Checked against the source", "Yes" if s.verified else "No")
st.markdown(f"Source: [{s.source}]({s.source})")
if not s.verified:
    st.warning("This schedule has not been checked against an official source: treat its estimates as "
               "approximate.", icon=":material/warning:")
if s.notes:
    st.caption(s.notes)

st.markdown("**Charges**")
st.dataframe(pd.DataFrame(_rate_rows(s)), hide_index=True, width="stretch")

if s.categories:
    st.markdown("**House categories** (billable area rounded to whole square feet)")
    low = 0
    rows = []
    for cat in s.categories:
        band = (f"{low:,} – {cat.max_sqft:,} sq ft" if cat.max_sqft is not None else f"{low:,} sq ft and up")
        rows.append({"Category": cat.name.capitalize(), "Billable area": band,
                     "Billed as": "" if cat.billed_sqft is None else f"{cat.billed_sqft:,} sq ft",
                     "Confirmed": "yes" if cat.verified else "no: placeholder"})
        low = (cat.max_sqft or 0) + 1
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

if s.billable_types:
    st.markdown("**Which surfaces count**")
    counted = [type_label(t) for t, v in s.billable_types.items() if v]
    not_counted = [type_label(t) for t, v in s.billable_types.items() if not v]
    st.markdown("Counted: " + ", ".join(counted) + ".")
    if not_counted:
        st.markdown("Not counted: " + ", ".join(not_counted) + ".")
    st.caption(c.DOCK_RULE)
    if s.check_types:
        st.caption("Check with your utility: " + ", ".join(type_label(t) for t in sorted(s.check_types)) + ".")
