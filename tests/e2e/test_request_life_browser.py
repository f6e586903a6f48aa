"""Real-browser test of a request's whole life, through both sides of the app (Debian chromium + Playwright).

A homeowner measures R100065 on My lot, prepares the evidence package and
submits it to the City; a staff member signs in and accepts it; the homeowner
then opens the private status link (My request with the number and token) and
sees the decision and the letter. Screenshot: ``test-artifacts/e2e-my-request.png``.
"""

from __future__ import annotations

import re

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

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``streamlit run app.py`` on an empty request database with staff 'alice'."""
    require_browser()
    db = tmp_path_factory.mktemp("life") / "requests.sqlite"
    with staff_app(db) as url:
        yield url, db


def _type(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")
    wait_idle(page)


def test_request_life_browser__homeowner_submits_staff_decide_homeowner_sees_the_decision(server):
    url, db = server
    with chromium_page(1280, 900) as page:
        try:
            _homeowner_submits(page, url)
            number = int(re.search(r"reference number is (\d+)", page.get_by_text("Your reference number is")
                                   .inner_text())[1])
            link = page.locator('[data-testid="stCode"] code').first.inner_text().strip()
            assert link.startswith(f"{url}/my_request?ref={number}&token=")
            _staff_accept(page, number)
            _homeowner_follows(page, link)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "e2e-my-request-failed.png"), full_page=True)
            raise
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "e2e-my-request.png"), full_page=True)

    from sba.requests import RequestStore

    with RequestStore.open(db) as store:
        req = store.get(number)
        assert (req.parcel_id, req.status, req.decided_category) == ("R100065", "accepted", "standard")
        assert [(a["actor"], a["action"]) for a in store.audit_log(number)] == [
            ("homeowner (web)", "import"), ("alice", "decide")]


def _homeowner_submits(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Your lot's stormwater billable area").wait_for()
    lot_box = page.get_by_label("Lot: tax lot id and address (type to search)")
    choose(page, lot_box, page.get_by_role("option", name=re.compile("R100065")), typed="R100065")
    page.get_by_text("Lot R100065: 611 SE Sellwood Blvd").wait_for()
    wait_idle(page)
    _type(page, "Utility account number (10 digits, on your bill)", "2861662471")
    for text in ("the property is a single-family home", "there is only one home (dwelling unit) on the lot",
                 "there is only one utility account for the lot", "I am the account holder"):
        page.get_by_text(text, exact=True).click()
        wait_idle(page)
    page.get_by_role("button", name="Prepare my evidence package").click()
    page.get_by_role("button", name="Submit to the City").wait_for(timeout=90_000)
    wait_idle(page)
    _type(page, "Your name (the account holder, as on the bill)", "Emery Larch")
    page.get_by_role("button", name="Submit to the City").click()
    page.get_by_text("Your reference number is").wait_for(timeout=60_000)


def _staff_accept(page, number: int) -> None:
    page.get_by_role("link", name="Review requests").click()
    page.get_by_text("Staff sign-in").wait_for()
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Request {number}: tax lot R100065").wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text(re.compile(f"Request {number} recorded as accepted")).wait_for(timeout=60_000)


def _homeowner_follows(page, link: str) -> None:
    page.goto(link)  # a new browser session: the link alone opens the status
    page.get_by_text("Decision: your request is accepted.").first.wait_for()
    # expect() retries until the page has finished rendering (a count() read at once raced the last rerun)
    from playwright.sync_api import expect

    expect(page.get_by_text("Status: Accepted")).to_have_count(1, timeout=30_000)
    decision = re.compile("large → standard, effective \\d{4}-\\d{2}-\\d{2}")
    expect(page.get_by_text(decision)).to_have_count(1, timeout=30_000)
    expect(page.get_by_text("Utility account: ••••••2471")).to_have_count(1, timeout=30_000)
