"""axe-core on every page of the app, in Debian chromium: no moderate, serious or critical accessibility violations.

axe-core comes bundled in the ``axe-playwright-python`` package (dev extra);
Playwright drives ``/usr/bin/chromium`` (no browser download). The homeowner
pages are checked at 1280×800 and 390×844 (a phone), My request both empty and
opened by a status link on a decided request; the staff pages signed in, at
1280×800. Content inside iframes (the folium map) is not checked: axe only
runs in the page it is injected into.

No rule is switched off. The one exception is Streamlit's own sidebar menu,
which we cannot change: its ``<ul>`` holds a ``<div>`` per menu section (the
section's ``<header>`` and its ``<li>`` links), so axe reports ``list`` on the
``<ul>`` and ``listitem`` on every ``<li>``. Only those two rules, and only on
those elements, are excused (:data:`STREAMLIT_OWN`); every other rule still
runs on the menu.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.conftest import (
    STAFF_PASSWORD,
    choose,
    chromium_page,
    require_browser,
    staff_app,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

#: moderate too: heading order, landmarks (minor findings are not failures)
IMPACTS = ("moderate", "serious", "critical")
TOKEN = "axe-test-status-token-0123456789"  # the decided request's status token

#: (axe rule, CSS selector of the elements excused from it): Streamlit's markup, not ours.
#: The sidebar menu's sections (streamlit/streamlit PR #8681, "Support Navigation Sections in the Sidebar
#: for MPAv2") put a <div> with the section <header> between the <ul> and its <li> items. No Streamlit issue
#: for this exact markup was found; the open accessibility issue is streamlit/streamlit#8399.
STREAMLIT_OWN = (
    ("list", '[data-testid="stSidebarNavItems"]'),
    ("listitem", '[data-testid="stSidebarNavItems"] > div > li'),
)
HOMEOWNER = {"My lot": "", "My request": "my_request", "My request (status link)": f"my_request?ref=1&token={TOKEN}",
             "Tape-measure worksheet": "worksheet", "Rate schedules": "rates", "How it works": "about"}
STAFF = ("Review requests", "Import a request", "Audit log")


def _fill(store) -> None:
    """The sample queue; request 1 (R100065) has a status token and is accepted, with its letter."""
    from sba.requests import decide
    from sba.requests.records import Records
    from sba.requests.sample_queue import SAMPLE_DIR, seed_sample
    from sba.requests.store import status_token_hash

    records = Records.load(SAMPLE_DIR)
    seed_sample(store, records)
    store.db.execute("UPDATE requests SET status_token_hash = ? WHERE id = 1", (status_token_hash(TOKEN),))
    decide(store, records, 1, "accept", actor="alice", reason="The record's shapes match the measurement.")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python (dev extra) is not installed")
    where = tmp_path_factory.mktemp("axe")
    log = where / "server.log"
    with staff_app(where / "requests.sqlite", _fill, log=log) as url:
        yield url, log


def violations(page, excused_by_rule=STREAMLIT_OWN) -> list[str]:
    """axe-core's moderate, serious and critical violations on the page as it is now, one line per element;
    Streamlit's own (:data:`STREAMLIT_OWN`) left out."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    lines = []
    for rule in found:
        if rule["impact"] not in IMPACTS:
            continue
        excused = [sel for rid, sel in excused_by_rule if rid == rule["id"]]
        for node in rule["nodes"]:
            target = node["target"][0]
            if excused and page.evaluate("([t, s]) => !!document.querySelector(t)?.matches(s)", [target, excused[0]]):
                continue
            lines.append(f"{rule['id']} ({rule['impact']}): {target}: {node['failureSummary']!r} "
                         f"in {node['html'][:200]}")
    return lines


def _settle(page) -> None:
    page.locator("h1").first.wait_for()
    wait_idle(page)
    time.sleep(1.0)  # maps and tables draw after the script has run


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_axe__homeowner_pages_have_no_moderate_serious_or_critical_violations(server, width, height):
    url, _ = server
    found = {}
    with chromium_page(width, height) as page:
        for name, path in HOMEOWNER.items():
            page.goto(f"{url}/{path}")
            _settle(page)
            if name == "My request (status link)":
                page.get_by_text("Decision: your request is accepted.").first.wait_for()
            found[name] = violations(page)
    assert found == {name: [] for name in HOMEOWNER}


def test_axe__staff_pages_signed_in_have_no_moderate_serious_or_critical_violations(server):
    url, _ = server
    found = {}
    with chromium_page(1280, 800) as page:
        page.goto(f"{url}/staff_review")
        page.get_by_text("Staff sign-in").wait_for()
        _settle(page)
        found["Staff sign-in"] = violations(page)
        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password", exact=True).fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name=re.compile("Sign out")).first.wait_for()
        for name in STAFF:
            page.get_by_role("link", name=name).click()
            _settle(page)
            if name == "Review requests":  # request 2 (R100040) has a photo attached
                request_2 = page.get_by_role("option", name=re.compile("R100040"))
                choose(page, page.get_by_label("Open a request"), request_2)
                page.get_by_text("Request 2: tax lot R100040").wait_for()
                wait_idle(page)
                page.locator("img[src*='/media/']").first.wait_for()
            title = {"Review requests": "Category change requests"}.get(name, name)
            assert page.locator("h1").first.inner_text() == title  # signed in: the page itself
            found[name] = violations(page)
    assert found == {name: [] for name in ("Staff sign-in", *STAFF)}


def test_axe__the_check_finds_our_own_broken_markup_and_excuses_only_streamlits_menu(server):
    url, _ = server
    with chromium_page(1280, 800) as page:
        page.goto(f"{url}/rates")
        _settle(page)
        menu = violations(page, excused_by_rule=())
        assert sum(line.startswith("list (serious)") for line in menu) == 1
        assert sum(line.startswith("listitem (serious)") for line in menu) == len(HOMEOWNER) - 1 + len(STAFF)
        assert violations(page) == []
        page.evaluate("""() => {  // what a page of ours could get wrong: a list like the menu's, an image
            const main = document.querySelector('[data-testid="stMain"]');
            main.insertAdjacentHTML('beforeend',
                                    '<ul id="ours"><div><li>one</li></div></ul><img id="pic" src="data:,">');
        }""")
        found = violations(page)
    assert [line.split(":")[0] for line in found] == ["image-alt (critical)", "list (serious)", "listitem (serious)"]
    assert "#pic" in found[0]
    assert "#ours" in found[1]


def test_axe__the_status_link_token_is_not_in_the_server_output(server):
    url, log = server
    with chromium_page(1280, 800) as page:  # the link, and a wrong one, each opened in a new session
        for token in (TOKEN, "wrong-token-for-the-log-check"):
            page.goto(f"{url}/my_request?ref=1&token={token}")
            _settle(page)
    said = log.read_text(errors="replace")
    assert "Uvicorn server started" in said or "You can now view" in said  # the log is the server's
    assert TOKEN not in said
    assert "wrong-token-for-the-log-check" not in said
