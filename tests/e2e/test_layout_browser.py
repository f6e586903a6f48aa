"""Real-browser tests of the My lot page's layout, its map and its print style.

Debian's chromium + Playwright against ``streamlit run app.py`` (see conftest.py).
At 1280 × 800 the map and the result share the first screen, side by side; on a
phone they are stacked. A type change or a delete updates the shapes on the map
without reloading it; the pencil shows the handles of one shape at a time; the
page prints its result without the sidebar.
"""

from __future__ import annotations

import io
import re

import pytest

from tests.e2e.conftest import (
    choose,
    chromium_page,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"], iframe[data-sba-map]'
HOUSE = "R100065"  # six record shapes on a 50 ft lot


@pytest.fixture(scope="module")
def server(app_server):
    return app_server


@pytest.fixture
def page(server):
    with chromium_page(1280, 800) as page:
        page.goto(server)
        _ready(page)
        yield page


def _ready(page):
    """The drawing map with its shapes and the result, the script done."""
    page.frame_locator(MAP_FRAME).last.locator(".sba-shape-label").first.wait_for()
    page.locator('[data-testid="stMetric"]', has_text="Billable area").first.wait_for()
    wait_idle(page)


def _box(page, selector: str) -> dict:
    return page.locator(selector).last.bounding_box()


def _metric_box(page) -> dict:
    return page.locator('[data-testid="stMetric"]', has_text="Billable area").first.bounding_box()


def _mark_map(page) -> None:
    """A marker on the map frame's window: it survives only if the frame is not reloaded."""
    page.locator(MAP_FRAME).last.evaluate("f => { f.contentWindow.__sbaKept = 'yes'; }")


def _map_kept(page) -> bool:
    return page.locator(MAP_FRAME).last.evaluate("f => f.contentWindow.__sbaKept === 'yes'")


def _shape_areas(page) -> list[str]:
    texts = page.locator('[data-testid="stMarkdownContainer"]').all_inner_texts()
    return [m.group(1) for t in texts if (m := re.fullmatch(r"\d+\. ([\d,]+\.\d\d)", t.strip()))]


def _choose_lot(page, lot_id: str) -> None:
    box = page.get_by_label("Lot: tax lot id and address (type to search)")
    choose(page, box, page.get_by_role("option", name=re.compile(lot_id)), typed=lot_id)
    page.get_by_text(f"Lot {lot_id}:").wait_for()
    page.wait_for_function(f"() => document.querySelectorAll('{MAP_FRAME}').length === 1")
    _ready(page)


def test_layout__at_1280x800_the_map_and_the_result_share_the_first_screen_side_by_side(page):
    frame, metric = _box(page, MAP_FRAME), _metric_box(page)
    assert frame["y"] + 250 <= 800, frame  # at least 250 px of the map on the first screen
    assert metric["y"] + metric["height"] <= 800, metric  # the billable area too
    assert metric["x"] >= frame["x"] + frame["width"], (frame, metric)  # beside the map, not under it


def test_layout__on_a_phone_the_result_comes_under_the_map_and_nothing_is_wider_than_the_screen(server):
    with chromium_page(390, 844) as phone:
        phone.goto(server)
        _ready(phone)
        frame, metric = _box(phone, MAP_FRAME), _metric_box(phone)
        assert frame["width"] <= 390
        assert metric["y"] >= frame["y"] + frame["height"], (frame, metric)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390


def test_layout__the_result_appearing_does_not_push_the_map_down(page):
    page.get_by_role("button", name="Start over").click()
    page.get_by_text("No shapes yet").wait_for()
    wait_idle(page)
    page.frame_locator(MAP_FRAME).last.locator(".leaflet-draw-draw-polygon").wait_for()
    empty = _box(page, MAP_FRAME)
    page.get_by_role("button", name="Undo").click()  # the shapes come back: the result appears
    _ready(page)
    assert abs(_box(page, MAP_FRAME)["y"] - empty["y"]) <= 2, (empty, _box(page, MAP_FRAME))


def test_map__a_type_change_and_a_delete_update_the_shapes_without_reloading_the_map(page):
    frame = page.frame_locator(MAP_FRAME).last
    patio = 'path[stroke="#ff7f00"]'  # the map's outline colour for patios
    patios = frame.locator(patio).count()
    labels = frame.locator(".sba-shape-label").count()
    _mark_map(page)

    picker = page.get_by_role("combobox", name="Type of shape 1")
    picker.scroll_into_view_if_needed()
    choose(page, picker, page.get_by_role("option", name="Patio", exact=True))
    frame.locator(patio).nth(patios).wait_for()  # shape 1 is drawn as a patio now
    wait_idle(page)
    assert _map_kept(page)

    page.get_by_role("button", name="Delete 2").click()
    page.wait_for_function(
        f"() => document.querySelector('{MAP_FRAME}').contentDocument"
        f".querySelectorAll('.sba-shape-label').length === {labels - 1}")
    wait_idle(page)
    assert _map_kept(page)


def test_map__the_pencil_shows_the_handles_of_the_clicked_shape_only_and_unedited_areas_stay(page):
    _choose_lot(page, HOUSE)
    before = _shape_areas(page)
    assert len(before) == 6
    iframe = page.locator(MAP_FRAME).last
    frame = page.frame_locator(MAP_FRAME).last
    iframe.scroll_into_view_if_needed()
    handles = frame.locator(".leaflet-editing-icon")

    frame.locator(".leaflet-draw-edit-edit").click()
    frame.locator(".leaflet-draw-actions a", has_text="Done").wait_for()
    assert handles.count() == 0  # 48 (6 shapes × 4 corners and 4 mid-points) before this was fixed
    label = frame.locator(".sba-shape-label").first.bounding_box()
    page.mouse.click(label["x"] + label["width"] / 2 + 12, label["y"] + label["height"] / 2 + 12)
    handles.first.wait_for()
    assert handles.count() == 8  # one rectangle: 4 corners and 4 mid-points

    frame.locator(".leaflet-draw-actions a", has_text="Done").click()
    handles.first.wait_for(state="detached")
    wait_idle(page)
    assert _shape_areas(page) == before


def test_print__the_result_prints_without_the_sidebar_and_with_the_whole_bill(page):
    page.emulate_media(media="print")
    assert page.locator('[data-testid="stSidebar"]').is_hidden()
    assert page.locator('[data-testid="stMetric"]', has_text="Billable area").first.is_visible()
    assert page.get_by_role("button", name="Start over").is_hidden()

    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(page.pdf(format="Letter", print_background=True)))
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert "Billable area" in text
    assert "Sewer and stormwater total" in text  # the bill, far below the first screen
    assert "Ask the City to change your category" in text
    assert "Rate schedule (utility and year)" not in text  # the sidebar's settings


def test_layout__no_selectbox_cuts_its_text_not_even_a_dock_in_the_shape_list(page):
    picker = page.get_by_role("combobox", name="Type of shape 1")
    picker.scroll_into_view_if_needed()
    choose(page, picker, page.get_by_role("option", name="Dock (over water)", exact=True))
    page.wait_for_function("() => [...document.querySelectorAll('input[role=combobox]')]"
                           ".some(i => i.value === 'Dock (over water)')")
    wait_idle(page)
    cut = page.eval_on_selector_all(
        "input[role=combobox]",
        "inputs => inputs.filter(i => i.offsetParent && i.scrollWidth > i.clientWidth + 1)"
        ".map(i => `${i.getAttribute('aria-label')}: ${i.value}`)")
    assert cut == []


def test_map__moving_a_corner_with_the_pencil_changes_that_shape_only(page):
    _choose_lot(page, HOUSE)
    before = _shape_areas(page)
    iframe = page.locator(MAP_FRAME).last
    frame = page.frame_locator(MAP_FRAME).last
    iframe.scroll_into_view_if_needed()
    frame.locator(".leaflet-draw-edit-edit").click()
    label = frame.locator(".sba-shape-label").first.bounding_box()
    page.mouse.click(label["x"] + label["width"] / 2 + 12, label["y"] + label["height"] / 2 + 12)
    corner = frame.locator(".leaflet-editing-icon").first
    corner.wait_for()
    box = corner.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 15, y - 15, steps=5)
    page.mouse.up()
    frame.locator(".leaflet-draw-actions a", has_text="Done").click()
    page.wait_for_function(
        "before => { const now = [...document.querySelectorAll('[data-testid=stMarkdownContainer]')]"
        ".map(e => e.innerText.trim()).filter(t => /^\\d+\\. [\\d,]+\\.\\d\\d$/.test(t)).map(t => t.split(' ')[1]);"
        " return now.length === before.length && now.some((a, i) => a !== before[i]); }", arg=before)
    wait_idle(page)
    after = _shape_areas(page)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [0], (before, after)  # shape 1 only
