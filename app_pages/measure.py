"""My lot: find the lot, trace its hard surfaces on a photo, see the area, category and bill."""

from __future__ import annotations

import hashlib
import json
import re
from functools import partial

import streamlit as st
from streamlit_folium import st_folium

import gis
from app_pages import common as c
from categorize import PropertyClass
from gis import webmap
from gis.repair import linear
from gis.shapes import FEATURE_TYPES, parcel_at, reconcile_drawings, shapes_from_layer, type_label, without_duplicates
from sba import evidence
from sba.addresses import closest_addresses

NEW_SHAPE_TYPES = list(FEATURE_TYPES)
#: The City form's own words for surfaces, after our types, so that typing "breezeway" or
#: "sports court" in the picker finds the type it is measured as
FORM_WORDS = {
    "roof": "house, breezeway", "garage": "attached or detached", "shed": "or farm building",
    "porch": "covered porch", "deck": "covered deck", "patio": "covered patio",
    "pervious_pavement": "pavers, pervious pavement", "other": "sports court and the rest",
}
TYPE_HELP = ("The City's form lists: breezeway (Roof), carport, covered porch, deck or patio (Porch, Deck, "
             "Patio), detached garage (Garage), shed and farm building (Shed), pavers and pervious pavement "
             "(Pervious pavers), sports court (Other hard surface).")


def _picker_label(kind: str) -> str:
    words = FORM_WORDS.get(kind)
    return f"{type_label(kind)} ({words})" if words else type_label(kind)

CATEGORIES = ["", "small", "standard", "large"]
MAX_HISTORY = 50


# --------------------------------------------------------------------------
# shapes kept in session state, per lot


def _shapes(lot_key: str) -> list[dict]:
    return st.session_state.setdefault("shapes", {}).get(lot_key, [])


def _set_shapes(lot_key: str, shapes: list[dict], *, remember: bool = True) -> None:
    store = st.session_state.setdefault("shapes", {})
    if remember:
        hist = st.session_state.setdefault("history", {}).setdefault(lot_key, [])
        hist.append(store.get(lot_key, []))
        del hist[:-MAX_HISTORY]
    store[lot_key] = shapes
    for s in shapes:  # the type picker of each shape follows the shape
        st.session_state[f"type_{s['id']}"] = s["feature_type"]


def _next_id() -> str:
    n = st.session_state.get("next_shape_id", 1)
    st.session_state["next_shape_id"] = n + 1
    return f"s{n}"


def _on_draw(lot_key: str) -> None:
    value = st.session_state.get("draw_map") or {}
    new, changed = reconcile_drawings(
        _shapes(lot_key), value.get("all_drawings"),
        new_id=_next_id, default_type=st.session_state.get("new_type", "roof"),
    )
    if changed:
        _set_shapes(lot_key, new)


def _on_type(lot_key: str, shape_id: str) -> None:
    kind = st.session_state[f"type_{shape_id}"]
    _set_shapes(lot_key, [{**s, "feature_type": kind} if s["id"] == shape_id else s for s in _shapes(lot_key)])


def _on_delete(lot_key: str, shape_id: str) -> None:
    _set_shapes(lot_key, [s for s in _shapes(lot_key) if s["id"] != shape_id])


def _on_undo(lot_key: str) -> None:
    hist = st.session_state.setdefault("history", {}).get(lot_key, [])
    if hist:
        _set_shapes(lot_key, hist.pop(), remember=False)


def _on_reset(lot_key: str) -> None:
    _set_shapes(lot_key, [])


def _on_pick(parcels, id_field: str) -> None:
    clicked = (st.session_state.get("pick_map") or {}).get("last_clicked")
    if not clicked:
        return
    pid = parcel_at(parcels, clicked["lng"], clicked["lat"], id_field)
    if pid is None:
        st.session_state["pick_message"] = "There is no lot where you clicked; click inside a lot line."
    else:
        st.session_state["lot_id"] = pid
        st.session_state.pop("pick_message", None)


def _add_shapes(lot_key: str, loaded: list[dict]) -> int:
    """Add the shapes not already on the lot (loading twice adds nothing); how many were added."""
    fresh = without_duplicates(_shapes(lot_key), loaded)
    if fresh:
        _set_shapes(lot_key, _shapes(lot_key) + fresh)
    return len(fresh)


def _on_address_search(label_of: dict[str, str]) -> None:
    """Go to the lot whose address is closest to what was typed; keep the other close ones to offer."""
    query = st.session_state.get("addr_query", "").strip()
    found = [lot for lot, _score in closest_addresses(query, label_of)] if query else []
    st.session_state["addr_matches"] = (query, found)
    if found:
        st.session_state["lot_id"] = found[0]


def _choose_lot(lot: str) -> None:
    st.session_state["lot_id"] = lot


def _show_address_matches(label_of: dict[str, str]) -> None:
    query, found = st.session_state.get("addr_matches") or ("", [])
    if not query:
        return
    if not found:
        st.warning(f"No lot has an address like “{query}”. Check the house number and street, or pick the lot "
                   "from the list or on the map.", icon=":material/search_off:")
        return
    others = [lot for lot in found if lot in label_of and lot != st.session_state.get("lot_id")]
    if others:
        st.caption(f"Other addresses like “{query}”:")
        cols = st.columns(min(len(others), 4))
        for i, lot in enumerate(others[:8]):
            cols[i % len(cols)].button(label_of[lot] or lot, key=f"addr_{lot}", on_click=_choose_lot, args=(lot,),
                                       width="stretch")


def _load_record(lot_key: str, record, lot, id_field: str) -> None:
    try:
        loaded = shapes_from_layer(record, lot, id_prefix=f"{_next_id()}r", source="record", id_field=id_field)
    except gis.NonFiniteCoordinateError:  # the homeowner cannot fix the City's file: say what to do instead
        st.session_state["shapes_message"] = (
            "warning", "The City's record for this lot has an outline with a corner that is not a number, so "
                       "it was not loaded. Draw your roof, driveway and other surfaces on the map, or upload them.")
        return
    added = _add_shapes(lot_key, loaded)
    if loaded and not added:
        st.session_state["shapes_message"] = ("info", "The City's record for this lot is already on the map.")
    elif added < len(loaded):
        st.session_state["shapes_message"] = (
            "info", f"Added {added} of the City's outlines; the other {len(loaded) - added} are already on the map.")


def _load_upload(lot_key: str, lot, lot_id: str, id_field: str) -> None:
    """Add the shapes of the uploaded file (a button callback, so Undo and Start over follow at once)."""
    upload = st.session_state.get("features_upload")
    if upload is None:
        return
    try:
        layer = c.read_layer(upload.getvalue(), upload.name, "features", st.session_state.get("features_layer"))
        loaded = shapes_from_layer(layer, lot, id_prefix=f"{_next_id()}u", source="upload",
                                          id_field=id_field)
    except c.errors() as err:
        st.session_state["upload_message"] = ("error", str(err))
        return
    left_out = _points_and_lines(layer)
    if not loaded:
        st.session_state["upload_message"] = ("warning", f"None of the shapes in {upload.name} touch lot {lot_id}."
                                               + left_out)
        return
    added = _add_shapes(lot_key, loaded)
    st.session_state["upload_message"] = (
        ("success", f"Added {len(loaded)} shapes from {upload.name}." + left_out) if added == len(loaded)
        else ("info", f"All {len(loaded)} shapes from {upload.name} are already on the map." + left_out)
        if not added
        else ("success", f"Added {added} shapes from {upload.name}; the other {len(loaded) - added} are "
                         "already on the map." + left_out))


def _points_and_lines(layer) -> str:
    """A sentence on the points and lines of an uploaded layer (only outlines have an area), or ""."""
    n = int(linear(layer.geometry.to_numpy()).sum())
    if not n:
        return ""
    return (" 1 point or line in it was left out" if n == 1 else f" {n:,} points or lines in it were left out") \
        + ": only outlines have an area to count."


def _submit(lot_key: str, lot_id: str, data: bytes) -> None:
    """Store the package as a request (the staff import's checks); remember the number and token."""
    # the request store is imported only once someone submits (0.18 s less on the first page load)
    from app_pages import homeowner_requests as hr

    ss = st.session_state
    try:
        rid, token = hr.submit(data, name=ss.get("submit_name", ""), email=ss.get("submit_email", ""),
                               phone=ss.get("submit_phone", ""), filename=f"sba-evidence-{lot_id}.zip")
    except c.errors() as err:  # one sentence, as text; IneligibleError lists its reasons in it
        ss["submit_error"] = (lot_key, str(err))
        return
    ss.pop("submit_error", None)
    ss["submitted"] = {"lot": lot_key, "id": rid, "token": token}


def show_submit(lot_key: str, lot_id: str, data: bytes) -> None:
    """"Submit to the City": who is asking, then the button."""
    st.markdown("**Submit to the City.** The City reviews your request and sends you its decision; you can "
                "follow it on **My request**.")
    s1, s2, s3 = st.columns(3)
    s1.text_input("Your name (the account holder, as on the bill)", key="submit_name", max_chars=100)
    s2.text_input("Email (optional)", key="submit_email", max_chars=254)
    s3.text_input("Phone (optional)", key="submit_phone", max_chars=40)
    st.button("Submit to the City", key="submit_request", icon=":material/send:",
              on_click=_submit, args=(lot_key, lot_id, data))
    held = st.session_state.get("submit_error")
    if held and held[0] == lot_key:
        from app_pages import homeowner_requests as hr

        st.error(hr.markdown_text(held[1]), icon=":material/block:")


def show_submitted(done: dict) -> None:
    """Show the reference number and private status link of the request just submitted."""
    from app_pages import homeowner_requests as hr

    hr.show_submitted(done)  # the reference number and the private status link


def _say(key: str) -> None:
    """Show, once, the message a button callback left."""
    held = st.session_state.pop(key, None)
    if held:
        kind, text = held
        getattr(st, kind)(text, icon={"error": ":material/error:", "warning": ":material/warning:",
                                      "info": ":material/info:", "success": ":material/check:"}[kind])


# --------------------------------------------------------------------------
# the drawing column and the shape list

MAP_HEIGHT = 460  # with the rows above it, the map's top and the result fit a 1280 × 800 screen


def show_type_picker() -> None:
    """What the next drawn shape will be (the City form's words find our types)."""
    st.session_state.setdefault("new_type", "roof")
    st.selectbox("What are you drawing next?", NEW_SHAPE_TYPES, format_func=_picker_label, key="new_type",
                 help=TYPE_HELP)


def show_tools(lot_key: str, shapes: list[dict], record, lot, id_field: str) -> None:
    """Load City record / Undo / Start over, under the map."""
    t2, t3, t4 = st.columns(3, vertical_alignment="bottom")
    if record is not None:
        t2.button("Load City record", key="load_record", on_click=_load_record,
                  args=(lot_key, record, lot, id_field), width="stretch",
                  help="Adds the outlines the utility has on file for this lot.")
    t3.button("Undo", key="undo", on_click=_on_undo, args=(lot_key,), icon=":material/undo:",
              disabled=not st.session_state.get("history", {}).get(lot_key), width="stretch")
    t4.button("Start over", key="reset", on_click=_on_reset, args=(lot_key,), icon=":material/delete_sweep:",
              disabled=not shapes, width="stretch", help="Remove every shape from this lot (Undo brings them back).")
    _say("shapes_message")


def show_drawing_help(shapes: list[dict], record, water, ortho, online: bool) -> None:
    """How to draw (under the map, so the map stays in place), docks, and a missing photo."""
    st.caption(
        "On the map, press **⬟** and click each corner of a surface (click the first corner again to finish), "
        "or press **◼** and drag a rectangle. Then say what each shape is. The **pencil** moves corners (click "
        "the shape to change first); the **bin** deletes shapes (press *Done* after)."
        + (" The outlines already there are the utility's record for your lot: check them against the photo."
           if record is not None else "")
    )
    if st.session_state.get("new_type") in gis.OVERWATER_TYPES or any(
            s["feature_type"] in gis.OVERWATER_TYPES for s in shapes):
        st.caption(
            "**Docks and floating homes**: " + (
                "the part over the water (blue on the map) is not counted; any part on land counts, like a deck. "
                "One drawn wholly on land counts in full and is flagged for the City to check."
                if water is not None else
                "there is no water layer, so they are taken to be over water and not counted. Upload the water "
                "bodies in the sidebar to measure them against the shoreline.")
        )
    if ortho is None and not online:
        st.info("There is no local aerial photo for this lot. Turn on **Use online aerial photos** in the sidebar, "
                "upload a GeoTIFF, or use the tape-measure worksheet.", icon=":material/photo:")


def show_shape_list(lot_key: str, shapes: list[dict], measure) -> None:
    """Each shape's area, its type and a Delete button."""
    if not shapes:
        st.info("No shapes yet: draw your roofs, driveway, patios and paths on the map.", icon=":material/draw:")
        return
    st.markdown("**Your shapes**, in sq ft (measured by this tool, not by the map)")
    areas = {f.feature_id: f for f in measure.features} if measure is not None else {}
    for i, s in enumerate(shapes, start=1):
        st.session_state.setdefault(f"type_{s['id']}", s["feature_type"])
        a, b, d = st.columns([2, 4, 3], vertical_alignment="center", gap="small")
        f = areas.get(s["id"])
        a.markdown(f"**{i}.** {f.area_sqft:,.2f}" if f else f"**{i}.**")
        if f is not None and f.inside_lot_sqft + 0.05 < f.area_sqft:
            a.caption(f"{f.inside_lot_sqft:,.2f} inside the lot")
        options = (NEW_SHAPE_TYPES if s["feature_type"] in NEW_SHAPE_TYPES
                   else [*NEW_SHAPE_TYPES, s["feature_type"]])
        b.selectbox(f"Type of shape {i}", options, key=f"type_{s['id']}", format_func=type_label,
                    on_change=_on_type, args=(lot_key, s["id"]), label_visibility="collapsed")
        d.button(f"Delete {i}", key=f"del_{s['id']}", on_click=_on_delete, args=(lot_key, s["id"]),
                 help=f"Delete shape {i}", width="stretch")  # a name of its own for screen readers


# --------------------------------------------------------------------------
# data

c.keep()
sched, period, policy = c.sidebar_settings()
st.session_state.setdefault("parcel_source", "sample")
st.session_state.setdefault("online_photos", False)
with st.sidebar:
    st.header("Map data")
    source = st.radio(
        "Lot lines (parcels)", ["sample", "upload"], key="parcel_source",
        format_func={"sample": "Sample neighbourhood (Portland, made up)", "upload": "Upload my own parcel file"}.get,
    )
    online = st.checkbox(
        "Use online aerial photos", key="online_photos",
        help="Esri World Imagery. Needs the internet. When off, the app uses the local photo only.",
    )
    uploads, layers = {}, {}
    if source == "upload":
        uploads["parcels"] = st.file_uploader("Parcel file", key="parcel_upload", help=c.UPLOAD_HELP)
        layers["parcels"] = c.pick_layer(uploads["parcels"], "parcels", "parcel_layer")
        uploads["water"] = st.file_uploader("Water bodies (optional)", key="water_upload", help=c.UPLOAD_HELP)
        layers["water"] = c.pick_layer(uploads["water"], "water", "water_layer")
        uploads["photo"] = st.file_uploader("Aerial photo, GeoTIFF (optional)", key="photo_upload",
                                            type=["tif", "tiff"])
        st.text_input(
            "Measure in this map projection (optional)", key="measure_crs", placeholder="e.g. EPSG:2913",
            help="Your utility's official projection, as an EPSG code. Left empty, areas are measured in the "
                 "parcel file's own projection, or, when that distorts areas (longitude/latitude, Web Mercator), "
                 "in an equal-area projection centred on your area.",
        )

c.page_style()
st.title("Your lot's stormwater billable area")
st.caption("Find your lot, trace its roofs and paving on the aerial photo, see your billable area, category and "
           "bill, and ask the City to review it.")

try:
    if source == "sample":
        parcels = c.read_sample("parcels.geojson", "parcels")
        water = c.read_sample("water.geojson", "water")
        record = c.read_sample("features.geojson", "features")
        ortho_path = str(c.SAMPLE_ORTHO)
        imagery_name = "the bundled sample orthophoto (synthetic, local file)"
    else:
        if uploads["parcels"] is None:
            st.info("Upload a parcel file in the sidebar (lot lines with a lot id), or switch back to the "
                    "sample neighbourhood.", icon=":material/upload_file:")
            st.stop()
        parcels = c.read_layer(uploads["parcels"].getvalue(), uploads["parcels"].name, "parcels",
                               layers["parcels"])
        water = (c.read_layer(uploads["water"].getvalue(), uploads["water"].name, "water", layers["water"])
                 if uploads["water"] is not None else None)
        record = None
        ortho_path = None
        imagery_name = "no local photo"
        if uploads["photo"] is not None:
            ortho_path = c.saved_upload(uploads["photo"].getvalue(), ".tif")
            imagery_name = f"the uploaded photo {uploads['photo'].name!r} (local file)"
    parcels_name = uploads["parcels"].name if source == "upload" else "parcels.geojson"
    gis.check_coordinates(parcels, "parcels", parcels_name)
    area_crs = gis.choose_area_crs(parcels, "parcels", name=parcels_name,
                                   requested=(st.session_state.get("measure_crs") or "").strip() or None)
    parcels = gis.to_common_crs(parcels, area_crs.crs, "parcels")
except c.errors() as err:
    st.error(str(err), icon=":material/error:")
    st.stop()

columns = [col for col in parcels.columns if col != parcels.geometry.name]
if "parcel_id" in columns:
    id_field = "parcel_id"
else:
    if st.session_state.get("id_field") not in columns:
        st.session_state["id_field"] = columns[0] if columns else None
    if not columns:
        st.error("The parcel file has no columns, so its lots have no ids; add a lot id column.")
        st.stop()
    id_field = st.selectbox("Which column holds the lot id?", columns, key="id_field")

# --------------------------------------------------------------------------
# 1. find the lot

st.header("1. Find your lot")
ids = parcels[id_field].astype(str).tolist()
addresses = (parcels["address"].astype(str).tolist() if "address" in parcels.columns else [""] * len(ids))
label_of = dict(zip(ids, addresses, strict=True))
if st.session_state.get("lot_id") not in label_of:
    houses = (parcels[parcels["property_class"].astype(str) == "single_family"][id_field].astype(str).tolist()
              if "property_class" in parcels.columns else [])
    st.session_state["lot_id"] = houses[0] if houses else ids[0]
f1, f2 = st.columns([3, 2], vertical_alignment="bottom")
lot_id = f1.selectbox(
    "Lot: tax lot id and address (type to search)", ids, key="lot_id",
    format_func=lambda i: f"{i} – {label_of[i]}" if label_of.get(i) else i,
)
f2.text_input("Or search by address", key="addr_query", on_change=_on_address_search, args=(label_of,),
              max_chars=200,
              placeholder="e.g. 639 Sellwood Boulevard",
              help="Spelling need not be exact: Street/St, Boulevard/Blvd, Southeast/SE are the same.")
_show_address_matches(label_of)
p1, p2 = st.columns([1, 2], vertical_alignment="center")
if p1.toggle("Pick my lot on a map instead", key="pick_on_map"):
    st.caption("Click inside your lot; it turns orange.")
    pick_map = webmap.use_local_assets(
        webmap.neighbourhood_map(parcels, lot_id, id_field=id_field, online_photos=online), c.VENDOR_DIR
    )
    st_folium(pick_map, key="pick_map", returned_objects=["last_clicked"], height=380, use_container_width=True,
              on_change=partial(_on_pick, parcels, id_field))
    if st.session_state.get("pick_message"):
        st.warning(st.session_state["pick_message"])

if area_crs.note:
    st.caption(area_crs.note)
try:
    lot = gis.select_parcel(parcels, lot_id, id_field)
except c.errors() as err:  # an id shared by several lots, say
    st.error(str(err), icon=":material/error:")
    st.stop()
row = lot.iloc[0]
lot_key = f"{source}:{lot_id}"

if st.session_state.get("_details_for") != lot_key:  # defaults from the parcel data
    klass = str(row.get("property_class", "") or "single_family")
    try:
        klass = PropertyClass.parse(klass).value
    except c.errors():
        klass = "single_family"
    st.session_state["property_class"] = klass
    units = row.get("dwelling_units", 1)
    st.session_state["dwelling_units"] = int(units) if units == units and units is not None else 1
    st.session_state["floodplain"] = bool(row.get("managed_floodplain", False) or False)
    current = str(row.get("current_category", "") or "").strip().lower()
    st.session_state["current_category"] = current if current in CATEGORIES else ""
    st.session_state["_details_for"] = lot_key
    st.session_state.pop("package", None)

with p2.expander("Property details (from the parcel data; correct them if they are wrong)"):
    d1, d2 = st.columns(2)
    property_class = d1.selectbox("Kind of property", list(c.CLASS_LABELS), format_func=c.CLASS_LABELS.get,
                                  key="property_class")
    dwelling_units = d2.number_input("Homes (dwelling units) on the lot", min_value=0, max_value=100000, step=1,
                                     key="dwelling_units")
    metered = False
    if property_class == "single_family" and dwelling_units >= 3:
        metered = d1.checkbox("Each home has its own water meter", key="metered")
    current_category = d2.selectbox(
        "Category printed on your bill", CATEGORIES, key="current_category",
        format_func=lambda v: v.capitalize() if v else "I don't know / not a house",
    )
    floodplain = d1.toggle("In a managed floodplain (former drainage district)", key="floodplain")

# --------------------------------------------------------------------------
# 2. draw (left) and 3. the result (right): side by side on a wide screen, one above the other on a phone

if lot_key not in st.session_state.setdefault("shapes", {}):
    st.session_state["shapes"][lot_key] = []
    if record is not None:
        _load_record(lot_key, record, lot, id_field)
        st.session_state.setdefault("history", {})[lot_key] = []
shapes = _shapes(lot_key)
ortho = None
if ortho_path is not None:
    try:
        ortho = c.ortho_for(ortho_path, tuple(float(v) for v in lot.total_bounds), lot.crs.to_wkt())
    except c.errors() as err:
        st.error(str(err), icon=":material/error:")
imagery = " and ".join(
    [imagery_name] * (ortho is not None) + ["Esri World Imagery (online)"] * bool(online)
) or "no photo"

map_col, side_col = st.columns([5, 4], gap="medium")
with map_col:
    st.header("2. Trace your hard surfaces")
    show_type_picker()
    # The map is the same from one rerun to the next while the lot is (no shapes in it), so the browser
    # keeps it; the shapes come as a layer that is swapped in place.
    draw_map = webmap.use_local_assets(
        webmap.lot_map(lot, [], ortho=ortho, online_photos=online, water=water), c.VENDOR_DIR
    )
    st_folium(draw_map, key="draw_map", returned_objects=["all_drawings"], height=MAP_HEIGHT,
              use_container_width=True, feature_group_to_add=webmap.shapes_layer(shapes),
              on_change=partial(_on_draw, lot_key))
    c.name_map_frames(["Map of the neighbourhood: click inside your lot to choose it",
                       f"Map of lot {lot_id} on the aerial photo, with the drawing tool for your shapes"])
    show_tools(lot_key, shapes, record, lot, id_field)
    show_drawing_help(shapes, record, water, ortho, online)
    with st.expander("Add shapes from a file (your own drawing or survey)"):
        feature_file = st.file_uploader("Shapes file", key="features_upload", help=c.UPLOAD_HELP)
        c.pick_layer(feature_file, "features", "features_layer")
        st.button("Add the shapes from this file", key="load_upload", disabled=feature_file is None,
                  on_click=_load_upload, args=(lot_key, lot, lot_id, id_field))
        _say("upload_message")

measure = None
with side_col:
    st.header("3. Your result")
    st.caption(
        f"Lot {lot_id}{': ' + label_of[lot_id] if label_of.get(lot_id) else ''}. {c.CLASS_LABELS[property_class]}, "
        f"{dwelling_units} home{'s' if dwelling_units != 1 else ''}"
        + (f"; category on the bill: {current_category}" if current_category else "")
        + ("; managed floodplain" if floodplain else "") + "."
    )
    try:
        if shapes:
            measure = evidence.measure_shapes(lot, shapes, water, sched, id_field=id_field)
    except c.errors() as err:
        st.error(str(err), icon=":material/error:")
    top = st.container()
    details = st.container()
    show_shape_list(lot_key, shapes, measure)

bill = None
if measure is None:
    with top:
        st.caption("Your billable area, category and bill appear here once there is at least one shape on "
                   "your lot.")
else:
    options = c.bill_options("m_", whole_sqft=measure.whole_sqft)
    try:
        bill = c.make_bill(measure, sched, period=period, policy=policy, property_class=property_class,
                           dwelling_units=int(dwelling_units), floodplain=floodplain,
                           individually_metered=bool(metered), options=options)
    except c.errors() as err:
        st.error(str(err), icon=":material/error:")
    with details:
        c.headline_details(bill, measure)
    with top:
        c.headline(measure, bill, has_categories=bool(sched.categories))
        if bill is not None and current_category and bill.category and current_category != bill.category:
            st.success(f"Your bill says **{current_category}**, but your measurement says **{bill.category}**. "
                       "You can ask the City to change it: see step 4.", icon=":material/published_with_changes:")
        c.show_warnings(bill, measure)
    c.show_measure(measure)
    if bill is not None:
        st.markdown(f"**Estimated charges for one {c.PERIODS[period].split(' (')[0].lower()} period**"
                    if period in c.PERIODS else "**Estimated charges**")
        c.show_bill(bill)

# --------------------------------------------------------------------------
# 4. evidence package

st.header("4. Ask the City to change your category")
if measure is None:
    st.caption("Trace your surfaces first; the package holds your shapes and their areas.")
    st.stop()
if property_class != "single_family":
    st.info("The category change request is for houses with one home on the lot. Other properties ask for a "
            "re-measure instead; the package below still records your measurement.", icon=":material/info:")
st.markdown(
    "The City's form asks for three totals (shown above), the category on your bill and, if your category "
    "would change, photos or documents. The package holds all of that plus your shapes and a PDF report."
)
e1, e2 = st.columns(2)
account = e1.text_input("Utility account number (10 digits, on your bill)", key="account_number", max_chars=14,
                        help="Type it from your bill: it is checked against the utility's records for this lot "
                             "and never shown to anyone else.")
on_file = row.get("account_number") if "account_number" in lot.columns else None
account_problem = c.account_problem(account, "" if on_file is None or on_file != on_file else str(on_file))
if account_problem:
    e1.error(account_problem, icon=":material/error:")
attachments = e2.file_uploader("Photos or documents (up to 3; PDF, JPG or PNG, 10 MB each)", max_upload_size=10,
                               accept_multiple_files=True, key="attachments", type=["pdf", "jpg", "jpeg", "png"])
st.markdown("I confirm that:")
q1, q2 = st.columns(2)
elig = {
    "single_family": q1.checkbox("the property is a single-family home", key="elig_single_family"),
    "one_dwelling_unit": q1.checkbox("there is only one home (dwelling unit) on the lot", key="elig_one_unit"),
    "one_account": q2.checkbox("there is only one utility account for the lot", key="elig_one_account"),
    "account_holder": q2.checkbox("I am the account holder", key="elig_account_holder"),
}
request = evidence.ChangeRequest(
    parcel_id=str(lot_id), account_number=re.sub(r"[\s-]", "", account), address=label_of.get(lot_id, ""),
    property_class=property_class, dwelling_units=int(dwelling_units),
    current_category=current_category or None, imagery=imagery, **elig,
)
files = [(f.name, f.getvalue()) for f in (attachments or [])]
fingerprint = hashlib.sha256(json.dumps(
    [lot_key, shapes, request.__dict__, None if bill is None else bill.to_dict(),
     [(n, hashlib.sha256(b).hexdigest()) for n, b in files]], sort_keys=True, default=str,
).encode()).hexdigest()
if st.button("Prepare my evidence package", key="make_package", type="primary", icon=":material/folder_zip:",
             disabled=bool(account_problem)):
    try:
        with st.spinner("Making the map image and the PDF report…"):
            data = evidence.build_package(
                measure, request, shapes=shapes, lot=lot, water=water, bill=bill, schedule_name=sched.name,
                attachments=files, ortho_path=ortho_path if ortho is not None else None,
            )
    except c.errors() as err:
        st.error(str(err), icon=":material/error:")
    else:
        st.session_state["package"] = (fingerprint, data)
package = st.session_state.get("package")
if package and package[0] == fingerprint:
    st.download_button("Download the evidence package (ZIP)", data=package[1], key="download_package",
                       file_name=f"sba-evidence-{lot_id}.zip", mime="application/zip", icon=":material/download:")
    st.caption("The ZIP holds your shapes (GeoJSON), the three totals, your current and computed category, "
               "a method statement and a PDF report. Submit it to the City below, or send it with the City's "
               "request form.")
    if st.session_state.get("submitted", {}).get("lot") != lot_key:
        show_submit(lot_key, lot_id, package[1])
elif package:
    st.caption("You changed something since the package was made: prepare it again.")
if st.session_state.get("submitted", {}).get("lot") == lot_key:
    show_submitted(st.session_state["submitted"])
