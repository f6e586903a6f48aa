"""Browser-test plumbing shared by the e2e tests: a Streamlit server and a chromium page.

No browser is downloaded: Debian's ``/usr/bin/chromium`` (or ``SBA_CHROMIUM``) is
driven by the Playwright Python package, and the tests skip, saying why, when it
is missing (``scripts/run-tests`` installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("SBA_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def require_browser() -> None:
    """Skip with the reason when chromium or Playwright is not here."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) "
                    "to run the browser test; scripts/run-tests does this")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(env: dict | None = None, log: Path | None = None):
    """``streamlit run app.py`` on a free local port; yields its URL once healthy.

    ``log``: a file that gets the server's output (to check what it writes).
    """
    port = _free_port()
    streamlit = shutil.which("streamlit", path=str(Path(sys.executable).parent)) or "streamlit"
    out = subprocess.PIPE if log is None else open(log, "wb")  # closed with the server
    proc = subprocess.Popen(
        [streamlit, "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                said = (proc.stdout.read() if proc.stdout else Path(log).read_bytes()).decode(errors="replace")
                pytest.fail(f"streamlit did not start:\n{said[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log is not None:
            out.close()


#: the password of the staff account 'alice' that :func:`staff_app` creates
STAFF_PASSWORD = "correct horse battery"


@contextmanager
def staff_app(db: Path, fill=None, log: Path | None = None):
    """``streamlit run app.py`` on a new request database at ``db`` with staff 'alice' (admin);
    ``fill(store)`` adds what the test needs first; ``log`` gets the server's output.  Yields the app's URL."""
    from sba.requests import RequestStore, add_staff

    with RequestStore.open(db) as store:
        add_staff(store, "alice", STAFF_PASSWORD, display_name="Alice Reviewer")
        if fill is not None:
            fill(store)
    env = {**os.environ, "SBA_REQUESTS_DB": str(db)}
    env.pop("SBA_RECORDS_DIR", None)
    with streamlit_server(env, log) as url:
        yield url


def wait_idle(page) -> None:
    """Until the Streamlit script has finished its rerun."""
    time.sleep(0.3)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'")


def choose(page, box, option, *, typed: str = "") -> None:
    """Open a select ``box``, type ``typed`` to filter it (if given) and click ``option`` (locators),
    once the page is idle.

    A rerun that finishes just after the click redraws the box and closes its list, so the
    list is opened again (at most three times) until the option shows.
    """
    for _ in range(3):
        wait_idle(page)
        box.click()
        if typed:
            box.fill(typed)
        try:
            option.first.wait_for(timeout=5000)
            break
        except Exception:
            page.keyboard.press("Escape")
    option.first.click()


@contextmanager
def chromium_page(width: int, height: int):
    """A headless Debian-chromium page of the given size."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def app_server():
    """``streamlit run app.py`` on the sample data on a free local port, one per test module; yields its URL."""
    require_browser()
    with streamlit_server() as url:
        yield url
