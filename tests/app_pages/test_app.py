"""AppTest of the router and the two information pages."""

from __future__ import annotations

from tests.app_pages.conftest import new_app, texts


def test_app__router_lists_the_homeowner_pages_and_opens_my_lot():
    at = new_app()
    assert at.title[0].value == "Your lot's stormwater billable area"
    assert not at.error


def test_app__every_page_opens_without_error():
    at = new_app()
    for page in ("app_pages/worksheet.py", "app_pages/rates.py", "app_pages/about.py", "app_pages/measure.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert not at.error, page


def test_app__settings_survive_a_page_switch():
    at = new_app()
    at.selectbox(key="period").set_value("quarterly").run()
    at.selectbox(key="lot_id").set_value("R100065").run()
    at.switch_page("app_pages/worksheet.py").run()
    assert at.selectbox(key="period").value == "quarterly"
    at.switch_page("app_pages/measure.py").run()
    assert not at.exception
    assert at.selectbox(key="lot_id").value == "R100065"


def test_rates__shows_each_schedule_with_source_and_unconfirmed_figures():
    at = new_app()
    at.switch_page("app_pages/rates.py").run()
    assert at.selectbox(key="rates_schedule").value == "portland-bes-fy2025-26"
    assert "portland.gov" in texts(at.markdown)
    cats = at.dataframe[1].value
    assert list(cats["Category"]) == ["Small", "Standard", "Large"]
    assert list(cats["Confirmed"]) == ["no: placeholder", "yes", "no: placeholder"]
    at.selectbox(key="rates_schedule").set_value("oak-lodge-fy2025-26").run()
    assert not at.exception
    assert "not been checked against an official source" in texts(at.warning)


def test_about__explains_offline_use():
    at = new_app()
    at.switch_page("app_pages/about.py").run()
    assert not at.exception
    assert "Using it with no internet" in [h.value for h in at.header]
