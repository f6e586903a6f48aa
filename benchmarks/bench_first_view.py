"""How long the homeowner's first view takes, and a shape's type change, in a real browser.

Starts ``streamlit run app.py`` on a free port, then opens the app N times, each in a new
browser context (a new Streamlit session, as a new visitor), in Debian's chromium driven by
Playwright, and times from ``page.goto`` to:

* **title**: the page title is shown;
* **map**: the drawing map's toolbar is ready inside its frame;
* **result**: the "Billable area" metric is shown (the default lot has the City's record).

The first load after the server starts (Python imports, caches empty) is reported on its own
as ``cold``; the median is over the N loads after it.

With ``--type-change`` it also times, N times, changing shape 1's type (Roof ↔ Patio) until the
new type's area line is shown, and says whether the map's frame was reloaded (a marker set on
the frame's window must survive).

Usage::

    .venv/bin/python benchmarks/bench_first_view.py [--loads 5] [--type-change]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SBA_CHROMIUM", "/usr/bin/chromium")
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"], iframe[data-sba-map]'
IDLE = ("() => document.querySelector('[data-testid=stApp]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'")


@contextmanager
def server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    streamlit = shutil.which("streamlit", path=str(Path(sys.executable).parent)) or "streamlit"
    proc = subprocess.Popen(
        [streamlit, "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise SystemExit("streamlit did not start in 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def one_load(browser, url: str, width: int, height: int) -> dict[str, float]:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        t0 = time.perf_counter()
        page.goto(url)
        page.get_by_text("Your lot's stormwater billable area").wait_for()
        t_title = time.perf_counter() - t0
        page.frame_locator(MAP_FRAME).last.locator(".leaflet-draw-draw-polygon").wait_for()
        t_map = time.perf_counter() - t0
        page.locator('[data-testid="stMetric"]', has_text="Billable area").first.wait_for()
        t_result = time.perf_counter() - t0
        return {"title": t_title, "map": t_map, "result": t_result}
    finally:
        context.close()


def type_changes(browser, url: str, n: int) -> list[tuple[float, bool]]:
    """(seconds from choosing a type to the new type shown with its area, map frame kept)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(60_000)
    page.goto(url)
    page.frame_locator(MAP_FRAME).last.locator(".sba-shape-label").first.wait_for()
    page.wait_for_function(IDLE)
    out = []
    for i in range(n):
        kind, colour = ("Patio", "#ff7f00") if i % 2 == 0 else ("Roof", "#d7301f")
        frame = page.locator(MAP_FRAME).last
        frame.evaluate("f => { f.contentWindow.__sbaMarker = 1; }")
        coloured = f'path[stroke="{colour}"]'
        before = page.frame_locator(MAP_FRAME).last.locator(coloured).count()
        picker = page.get_by_role("combobox", name="Type of shape 1")
        picker.scroll_into_view_if_needed()
        picker.click()
        t0 = time.perf_counter()
        page.get_by_role("option", name=kind, exact=True).click()
        # shown: one more outline of the new type's colour on the map, and the script done
        page.frame_locator(MAP_FRAME).last.locator(coloured).nth(before).wait_for()
        page.wait_for_function(IDLE)
        seconds = time.perf_counter() - t0
        kept = page.locator(MAP_FRAME).last.evaluate("f => f.contentWindow.__sbaMarker === 1")
        assert picker.input_value() == kind
        out.append((seconds, bool(kept)))
    page.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--type-change", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with server() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        cold = one_load(browser, url, args.width, args.height)
        print("cold  " + "  ".join(f"{k} {v:.2f} s" for k, v in cold.items()))
        loads = [one_load(browser, url, args.width, args.height) for _ in range(args.loads)]
        for k in ("title", "map", "result"):
            values = [r[k] for r in loads]
            print(f"{k:6} median {statistics.median(values):.2f} s  "
                  f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})")
        if args.type_change:
            changes = type_changes(browser, url, args.loads)
            secs = [s for s, _ in changes]
            print(f"type change → shown: median {statistics.median(secs):.2f} s (min {min(secs):.2f}, "
                  f"max {max(secs):.2f}); map frame kept {sum(k for _, k in changes)}/{len(changes)}")
        browser.close()


if __name__ == "__main__":
    main()
