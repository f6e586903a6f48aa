"""Real-browser test: a hostile package cannot run script or fetch anything in a reviewer's browser (issue 13).

Debian's chromium + Playwright against ``streamlit run app.py`` (as in
``test_staff_browser.py``). A staff member signs in and imports, on the Import
page, a package whose surface type is an ``<img onerror>`` (refused: the
refusal quotes it) and one whose address is Markdown with a link and an image
(imported: it is text). A second request holds the issue's hostile text as a
database from before the intake checks may: every surface typed
``<img src=x onerror=alert(document.domain)>``, a Markdown requester name and
method statement. The reviewer opens both and hovers every shape of the
comparison map. Throughout, no dialog may open and no request may leave
127.0.0.1; the hostile text must show as text.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import (
    ARTIFACTS,
    STAFF_PASSWORD,
    chromium_page,
    require_browser,
    staff_app,
    wait_idle,
)
from tests.sba.requests import hostile

SHORT_XSS = "<img src=x onerror=alert(1)>"  # short enough for the schema, so intake quotes it in the refusal

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """The app on a database with staff 'alice' and request 1 (R100065) holding the issue's hostile text."""
    require_browser()
    from sba.requests import Records, import_package
    from sba.requests.sample_queue import sample_packages

    records = Records.load(hostile.SAMPLE)
    good = {pid: (data, who) for pid, data, who in sample_packages(records)}
    folder = tmp_path_factory.mktemp("hostile-browser")

    def hostile_request(store) -> None:  # request 1 holds the hostile text, as an older database would
        data, who = good["R100065"]
        rid = import_package(store, data, records, actor="alice", requester=who)
        store.db.execute("UPDATE features SET feature_type = ? WHERE request_id = ?", (hostile.XSS_TYPE, rid))
        store.db.execute("UPDATE requests SET requester_name = ?, method_statement = ? WHERE id = ?",
                         ("Emery [Larch](https://evil.example/who)",
                          "Traced ![t](https://evil.example/track.png) <script>alert(2)</script>", rid))

    data = good["R100040"][0]
    fc = hostile.feature_collection(data)
    fc["features"][0]["properties"]["feature_type"] = SHORT_XSS
    (folder / "xss-type.zip").write_bytes(hostile.with_features(data, fc))
    (folder / "phish-address.zip").write_bytes(hostile.with_request(data, address=hostile.PHISH_ADDRESS))
    with staff_app(folder / "requests.sqlite", hostile_request) as url:
        yield url, folder


@pytest.fixture
def watched(hostile_server):
    """A chromium page that records every dialog and every request that is not to 127.0.0.1 (and blocks it)."""
    seen = {"dialogs": [], "outside": []}
    with chromium_page(1400, 1000) as page:
        def on_dialog(dialog):
            seen["dialogs"].append(dialog.message)
            dialog.dismiss()

        def route(r):
            parts = urlsplit(r.request.url)
            if parts.scheme in ("data", "blob", "about") or parts.hostname in ("127.0.0.1", "localhost"):
                r.continue_()
            else:
                seen["outside"].append(r.request.url)
                r.abort()

        page.on("dialog", on_dialog)
        page.context.route("**/*", route)
        yield page, seen


def _import(page, path) -> None:
    page.get_by_role("link", name="Import a request").click()
    page.get_by_text("What do you have?").wait_for()
    wait_idle(page)
    page.get_by_label("Name").first.fill("Taylor Spruce")
    page.get_by_label("Name").first.press("Enter")
    wait_idle(page)
    page.locator("input[type=file]").set_input_files(str(path))
    wait_idle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    wait_idle(page)


def _open_request(page, pid: str) -> None:
    """Pick the request for lot ``pid`` in the "Open a request" box (typing filters the options)."""
    for _ in range(3):
        page.get_by_label("Open a request").click()
        page.keyboard.type(pid)
        option = page.get_by_role("option", name=re.compile(pid))
        try:
            option.first.wait_for(timeout=5_000)
        except Exception:  # the box closed again during a rerun: open it once more
            page.keyboard.press("Escape")
            wait_idle(page)
            continue
        option.first.click()
        return
    raise AssertionError(f"no request for {pid} in the box")


def _shown(page, testid: str, pattern: str) -> None:
    page.locator(f"[data-testid={testid}]", has_text=re.compile(pattern)).first.wait_for()


def _hover_every_shape(page) -> list[str]:
    """Hover each shape of the comparison map; returns the tooltip texts seen."""
    frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]').first
    shapes = frame.locator("path.leaflet-interactive")
    shapes.first.wait_for()
    tips = []
    for i in range(shapes.count()):
        shapes.nth(i).hover(force=True)
        time.sleep(0.15)
        tips += frame.locator(".leaflet-tooltip").all_inner_texts()
    return tips


def test_staff_browser__hostile_package_text_never_runs_or_fetches(watched, hostile_server):
    page, seen = watched
    url, folder = hostile_server
    page.goto(url)
    page.get_by_role("link", name="Review requests").click()
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Category change requests").wait_for()
    wait_idle(page)
    try:
        # 1. a package with an <img onerror> surface type is refused; the refusal shows it as text
        _import(page, folder / "xss-type.zip")
        page.get_by_text(f"surface type this tool does not know ('{SHORT_XSS}')", exact=False).wait_for()
        # 2. a package whose address is Markdown is imported; the address stays text
        _import(page, folder / "phish-address.zip")
        page.get_by_text(re.compile("Imported as request 2")).wait_for()

        page.get_by_role("link", name="Review requests").click()
        page.get_by_text("Category change requests").wait_for()
        wait_idle(page)
        for pid, rid in (("R100040", 2), ("R100065", 1)):
            _open_request(page, pid)
            page.get_by_text(f"Request {rid}: tax lot {pid}").wait_for()
            wait_idle(page)
            tips = _hover_every_shape(page)
            assert len(tips) >= 3
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"e2e-staff-hostile-{rid}.png"), full_page=True)
            # the Markdown shows as typed (a word joiner sits invisibly after "https:")
            if rid == 2:
                _shown(page, "stCaptionContainer", r"\[click\]\(https:\u2060?//evil\.example/phish\) !\[t\]")
            else:
                _shown(page, "stMarkdownContainer", r"Emery \[Larch\]\(https:\u2060?//evil\.example/who\)")
                _shown(page, "stMarkdownContainer", r"Traced !\[t\]\(https:\u2060?//evil\.example/track\.png\) "
                                                    r"<script>alert\(2\)</script>")
                assert any("<img src=x onerror=alert(document.domain)>" in t.lower() for t in tips), tips
        links = page.eval_on_selector_all("a[href*='evil.example']", "els => els.length")
        images = page.eval_on_selector_all("img[src*='evil.example']", "els => els.length")
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "e2e-staff-hostile-failed.png"), full_page=True)
        raise
    assert seen["dialogs"] == []
    assert seen["outside"] == []
    assert (links, images) == (0, 0)
