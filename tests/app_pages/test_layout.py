"""AppTest of the My lot page's layout pieces that need no browser: tables, the chart, the sidebar."""

from __future__ import annotations

import json

from tests.app_pages.conftest import new_app


def test_layout__the_breakdown_and_the_forms_totals_are_html_tables_not_canvas_grids(app):
    assert not app.dataframe  # canvas grids: screen readers and printing do not see them
    headers = [list(t.value.columns) for t in app.table]
    assert ["Surface type", "Billable sq ft"] in headers
    assert ["Box on the form", "Whole sq ft"] in headers
    assert ["Charge", "How it is worked out", "Amount"] in headers


def test_layout__the_bill_charts_labels_are_never_cut(app):
    charts = [e for e in app.main if e.type in ("vega_lite_chart", "arrow_vega_lite_chart")]
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    axis = spec["encoding"]["y"].get("axis") or {}
    assert axis.get("labelLimit") == 0  # Vega's default cuts labels at 180 px ("Stormwater management charge, on-…")


def test_layout__the_rate_schedule_is_a_radio_whose_whole_titles_wrap_in_the_sidebar():
    at = new_app()
    at.run()
    assert not at.exception
    assert at.radio(key="schedule").options == [
        "Oak Lodge Water Services FY 2025-26", "City of Portland Bureau of Environmental Services FY 2025-26"]
    at.radio(key="schedule").set_value("oak-lodge-fy2025-26").run()
    assert not at.exception
    assert at.radio(key="schedule").value == "oak-lodge-fy2025-26"
