"""Real-browser test of staff review: Debian's chromium + Playwright against ``streamlit run app.py``.

A staff member signs in, opens a request from the sample queue, records a
decision and sees the letter; the database then holds the decision. A
screenshot goes to ``test-artifacts/e2e-staff-decision.png``. Same browser
set-up as ``test_browser.py``: no browser download, skipped with the reason
when ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.conftest import (
    ARTIFACTS,
    STAFF_PASSWORD,
    choose,
    chromium_page,
    require_browser,
    staff_app,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory):
    """``streamlit run app.py`` on a request database holding the sample queue and staff 'alice'."""
    require_browser()
    from sba.requests.sample_queue import seed_sample

    db = tmp_path_factory.mktemp("staff") / "requests.sqlite"
    with staff_app(db, seed_sample) as url:
        yield url, db


@pytest.fixture
def page(staff_server):
    with chromium_page(1400, 900) as page:
        yield page



def _sign_in(page, url: str) -> None:
    """Open the app, follow the Staff menu to the sign-in and sign in as alice."""
    page.goto(url)
    page.get_by_text("Your lot's stormwater billable area").wait_for()
    page.get_by_role("link", name="Review requests").click()
    page.get_by_text("Staff sign-in").wait_for()
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Category change requests").wait_for()
    wait_idle(page)


def test_staff_browser__sign_in_open_a_request_and_decide(page, staff_server):
    url, db = staff_server
    _sign_in(page, url)  # 1. the Staff section of the menu asks for a sign-in

    # 2. open the request for R100040 from the queue
    box = page.get_by_label("Open a request")
    choose(page, box, page.get_by_role("option", name=re.compile("R100040")))
    page.get_by_text("Request 2: tax lot R100040").wait_for()
    wait_idle(page)
    page.get_by_text("Feature by feature").wait_for()
    page.locator('iframe[title="streamlit_folium.st_folium"]').first.wait_for()
    page.get_by_text("Request 2: tax lot R100040").scroll_into_view_if_needed()
    time.sleep(1.0)  # let the map draw
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-staff-request.png"))

    # 3. accept it with a reason
    reason = page.get_by_label("Reason (goes in the letter; required to reject or adjust)")
    reason.fill("The photo shows the patio was removed.")
    reason.press("Control+Enter")  # commit the text before the click (a blur would rerun the page)
    wait_idle(page)
    page.get_by_role("button", name="Record decision").click()
    try:
        page.get_by_text(re.compile("Request 2 recorded as accepted")).wait_for()
        page.get_by_text("Decision: your request is accepted.").wait_for()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "e2e-staff-failed.png"), full_page=True)
        raise
    page.screenshot(path=str(ARTIFACTS / "e2e-staff-decision.png"), full_page=True)

    from sba.requests import RequestStore

    with RequestStore.open(db) as store:
        req = store.get(2)
        assert (req.status, req.decided_category, req.decided_by) == ("accepted", "small", "alice")
        assert req.decision_reason == "The photo shows the patio was removed."
        assert [a["action"] for a in store.audit_log(2)] == ["import", "decide"]


def test_staff_browser__a_choice_made_on_one_request_never_decides_the_next(page, staff_server):
    """Reject chosen on request 3, then request 4 opened and decided: 4 gets its own default (accept)."""
    url, db = staff_server
    _sign_in(page, url)

    def open_request(lot: str, title: str) -> None:
        choose(page, page.get_by_label("Open a request"), page.get_by_role("option", name=re.compile(lot)))
        page.get_by_text(title).wait_for()
        wait_idle(page)

    open_request("R100077", "Request 3: tax lot R100077")
    page.get_by_text("Reject: the category stays standard").click()
    wait_idle(page)
    open_request("R100075", "Request 4: tax lot R100075")
    page.get_by_role("button", name="Record decision").click()
    try:
        page.get_by_text(re.compile("Request 4 recorded as accepted")).wait_for()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "e2e-staff-switch-failed.png"), full_page=True)
        raise
    assert page.get_by_text("is not a decision").count() == 0

    from sba.requests import RequestStore

    with RequestStore.open(db) as store:
        assert (store.get(4).status, store.get(4).decided_category) == ("accepted", "small")
        assert store.get(3).status == "submitted"
