"""AppTest of the "My lot" page: every widget path by key, bad uploads included."""

from __future__ import annotations

import json

import geopandas as gpd

from gis.shapes import FEATURE_TYPES
from sba.evidence import read_package
from tests.app_pages.conftest import (
    metric,
    new_app,
    sample_bytes,
    texts,
    zipped_shapefile,
)

NEW_TYPES = list(FEATURE_TYPES)
HOUSE = "R100065"  # the sample lot whose record gives the seed worksheet's 2,569 sq ft
FIRST_HOUSE = "R100039"  # the default lot: the first single-family lot


def pick(at, lot_id: str):
    at.selectbox(key="lot_id").set_value(lot_id).run()
    assert not at.exception, at.exception
    return at


def form_box(at, label: str) -> str:
    for table in at.table:
        frame = table.value
        if "Box on the form" in frame.columns:
            row = frame[frame["Box on the form"].str.startswith(label)]
            return str(row["Whole sq ft"].iloc[0])
    raise AssertionError("no form totals table")


def shape_keys(at) -> list[str]:
    return [s.key for s in at.selectbox if s.key and s.key.startswith("type_")]


def test_measure__opens_on_first_house_with_the_utility_record(app):
    assert metric(app, "Billable area") == "2,361 sq ft"
    assert metric(app, "Category") == "Standard"
    assert metric(app, "Estimated bill") == "$35.54"  # $6.31 + $28.78 + Superfund $0.46 (rounded once)
    assert len(shape_keys(app)) > 0
    assert not app.error


def test_measure__picking_a_lot_by_id_shows_its_area_and_category_change_hint(app):
    pick(app, HOUSE)
    assert metric(app, "Billable area") == "2,569 sq ft"
    assert metric(app, "Category") == "Standard"
    assert "Your bill says **large**" in texts(app.success)
    assert "It would become **large** with 132 sq ft more" in texts(app.markdown)


def test_measure__type_change_delete_undo_and_start_over(app):
    pick(app, HOUSE)
    first = shape_keys(app)[0]  # the roof of the house, 1,165 sq ft
    assert form_box(app, "Roofs") == "1,645"
    app.selectbox(key=first).set_value("driveway").run()
    assert not app.exception
    assert form_box(app, "Roofs") == "480"  # 1,645 - 1,165
    assert metric(app, "Billable area") == "2,569 sq ft"
    app.button(key="undo").click().run()
    assert form_box(app, "Roofs") == "1,645"
    app.button(key="del_" + first.removeprefix("type_")).click().run()
    assert not app.exception
    assert metric(app, "Billable area") == "1,434 sq ft"  # the patio under the roof's edge now counts
    assert first not in shape_keys(app)
    app.button(key="reset").click().run()
    assert not app.exception
    assert shape_keys(app) == []
    assert "No shapes yet" in texts(app.info)
    app.button(key="undo").click().run()
    assert metric(app, "Billable area") == "1,434 sq ft"


def test_measure__loading_the_record_twice_adds_no_duplicate_shapes(app):
    n = len(shape_keys(app))
    app.button(key="load_record").click().run()
    assert not app.exception
    assert len(shape_keys(app)) == n
    assert "The City's record for this lot is already on the map." in texts(app.info)
    assert metric(app, "Billable area") == "2,361 sq ft"
    first = shape_keys(app)[0]
    app.button(key="del_" + first.removeprefix("type_")).click().run()
    app.button(key="load_record").click().run()  # only the deleted outline comes back
    assert len(shape_keys(app)) == n
    assert "Added 1 of the City's outlines; the other" in texts(app.info)
    assert metric(app, "Billable area") == "2,361 sq ft"


def test_measure__adding_a_file_twice_adds_no_duplicates_and_undo_and_start_over_enable_at_once():
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    at.file_uploader(key="parcel_upload").set_value(
        ("parcels.geojson", sample_bytes("parcels.geojson"), "application/geo+json"))
    at.run()
    at.selectbox(key="lot_id").set_value(HOUSE).run()
    assert at.button(key="undo").disabled  # nothing on the lot yet
    assert at.button(key="reset").disabled
    at.file_uploader(key="features_upload").set_value(
        ("mine.geojson", sample_bytes("features.geojson"), "application/geo+json"))
    at.run()
    at.button(key="load_upload").click().run()
    assert not at.exception
    assert "Added 6 shapes from mine.geojson." in texts(at.success)
    assert not at.button(key="undo").disabled
    assert not at.button(key="reset").disabled
    at.button(key="load_upload").click().run()
    assert len(shape_keys(at)) == 6
    assert "All 6 shapes from mine.geojson are already on the map." in texts(at.info)
    assert metric(at, "Billable area") == "2,569 sq ft"


def test_measure__new_type_choice_is_kept(app):
    app.selectbox(key="new_type").set_value("driveway").run()
    assert not app.exception
    assert app.selectbox(key="new_type").value == "driveway"


def test_measure__other_schedule_period_and_class(app):
    app.selectbox(key="period").set_value("quarterly").run()
    # a managed floodplain lot: 18.93 + 11.990 × 2.4 × 3 + Superfund 0.19 × 2.4 × 3, rounded once
    assert metric(app, "Estimated bill (quarterly)") == "$106.63"
    app.radio(key="schedule").set_value("oak-lodge-fy2025-26").run()
    assert not app.exception
    assert "not been checked against an official source" in texts(app.warning)
    app.radio(key="schedule").set_value("portland-bes-fy2025-26").run()
    app.selectbox(key="property_class").set_value("non_residential").run()
    assert not app.exception
    assert metric(app, "Category") == "Measured area"
    app.radio(key="total_policy").set_value("sum_of_rounded_lines").run()
    assert not app.exception


def test_measure__floodplain_sewer_and_clean_river_rewards(app):
    app.toggle(key="floodplain").set_value(True).run()
    assert any("$11.990" in str(v) for v in app.table[-1].value.to_numpy().ravel())
    app.toggle(key="m_sewer").set_value(True).run()
    app.number_input(key="m_ccf").set_value(12.0).run()
    assert not app.exception
    assert any("Sanitary sewer" in str(v) for v in app.table[-1].value.to_numpy().ravel())
    app.radio(key="m_crr").set_value("full").run()
    app.checkbox(key="m_crr_small").check().run()
    app.checkbox(key="m_crr_trees").check().run()
    assert not app.exception
    lines = app.table[-1].value
    assert any("Clean River Rewards" in str(v) for v in lines["Charge"])
    assert "discount is an estimate" in texts(app.warning)


def test_measure__two_dwellings_metered_and_current_category(app):
    app.number_input(key="dwelling_units").set_value(3).run()
    assert not app.exception
    assert "choose multifamily, or say the dwellings are individually metered" in texts(app.error)
    app.checkbox(key="metered").check().run()
    assert not app.exception
    app.number_input(key="dwelling_units").set_value(1).run()
    app.selectbox(key="current_category").set_value("small").run()
    assert not app.exception
    assert "Your bill says **small**" in texts(app.success)


def test_measure__online_photos_and_pick_on_map_do_not_break(app):
    app.checkbox(key="online_photos").check().run()
    app.toggle(key="pick_on_map").set_value(True).run()
    assert not app.exception
    assert not app.error


def test_measure__evidence_package_round_trips(app):
    pick(app, HOUSE)
    app.text_input(key="account_number").input("2861662471").run()
    for key in ("elig_single_family", "elig_one_unit", "elig_one_account", "elig_account_holder"):
        app.checkbox(key=key).check()
    app.file_uploader(key="attachments").set_value(("photo.png", b"\x89PNG\r\n\x1a\n fake", "image/png"))
    app.run()
    app.button(key="make_package").click().run()
    assert not app.exception
    assert not app.error
    data = app.session_state["package"][1]
    pkg = read_package(data)
    assert pkg.parcel_id == HOUSE
    assert pkg.computed_category == "standard"
    assert pkg.current_category == "large"
    assert sum(pkg.form_totals.values()) == 2569
    assert pkg.request["account_number"] == "2861662471"
    assert pkg.request["eligibility"] == dict.fromkeys(
        ("single_family", "one_dwelling_unit", "one_account", "account_holder"), True)
    assert list(pkg.attachments) == ["photo.png"]
    assert pkg.crs_measured == "EPSG:2913"
    assert pkg.report_pdf.startswith(b"%PDF")
    assert app.get("download_button")  # the download is offered


def test_measure__package_refuses_a_fourth_attachment(app):
    files = [(f"p{i}.png", b"x", "image/png") for i in range(4)]
    app.file_uploader(key="attachments").set_value(files)
    app.run()
    app.button(key="make_package").click().run()
    assert not app.exception
    assert "A request can have at most 3 attachments; this one has 4." in texts(app.error)


def test_measure__features_upload_adds_shapes_and_bad_file_explains(app):
    app.button(key="reset").click().run()
    n = len(shape_keys(app))
    app.file_uploader(key="features_upload").set_value(
        ("mine.geojson", sample_bytes("features.geojson"), "application/geo+json"))
    app.run()
    app.button(key="load_upload").click().run()
    assert not app.exception
    assert "Added" in texts(app.success)
    assert len(shape_keys(app)) > n
    app.file_uploader(key="features_upload").set_value(("roofs.pdf", b"%PDF-1.4", "application/pdf"))
    app.run()
    app.button(key="load_upload").click().run()
    assert not app.exception
    assert "We cannot read 'roofs.pdf'" in texts(app.error)


def test_measure__upload_source_asks_for_a_file():
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    assert not at.exception
    assert "Upload a parcel file" in texts(at.info)


def test_measure__uploaded_parcels_in_lon_lat_and_any_id_column():
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    parcels = gpd.read_file(SAMPLE_PARCELS).to_crs(4326).rename(columns={"parcel_id": "TAXLOT"})
    parcels = parcels[["TAXLOT", "geometry"]]
    at.file_uploader(key="parcel_upload").set_value(
        ("lots.geojson", parcels.to_json(drop_id=True).encode(), "application/geo+json"))
    at.run()
    assert not at.exception
    assert at.selectbox(key="id_field").value == "TAXLOT"
    assert "No shapes yet" in texts(at.info)
    assert "no local aerial photo" in texts(at.info)


def test_measure__bad_parcel_uploads_explain_in_plain_words():
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    parcels = gpd.read_file(SAMPLE_PARCELS)
    cases = [
        ("roofs.pdf", b"%PDF-1.4", "We cannot read 'roofs.pdf'"),
        ("broken.geojson", b"{not json", "could not open 'broken.geojson'"),
        ("lots.zip", zipped_shapefile(parcels, drop=(".prj",)), "has no .prj file"),
        ("lots.zip", b"PK\x03\x04 not really a zip", "not a valid .zip"),
        ("empty.geojson", json.dumps({"type": "FeatureCollection", "features": []}).encode(), "no features"),
    ]
    for name, data, message in cases:
        at.file_uploader(key="parcel_upload").set_value((name, data, "application/octet-stream"))
        at.run()
        assert not at.exception, name
        assert message in texts(at.error), (name, texts(at.error))


def test_measure__water_and_photo_uploads():
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    at.file_uploader(key="parcel_upload").set_value(
        ("parcels.geojson", sample_bytes("parcels.geojson"), "application/geo+json"))
    at.file_uploader(key="water_upload").set_value(
        ("water.geojson", sample_bytes("water.geojson"), "application/geo+json"))
    at.file_uploader(key="photo_upload").set_value(("photo.tif", sample_bytes("orthophoto.tif"), "image/tiff"))
    at.run()
    assert not at.exception
    assert not at.error
    assert "no local aerial photo" not in texts(at.info)
    at.file_uploader(key="water_upload").set_value(("water.kml", b"<kml>", "application/xml"))
    at.run()
    assert not at.exception
    assert "water.kml" in texts(at.error)


SAMPLE_PARCELS = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "sample_data" / "parcels.geojson")


def test_measure__parcels_whose_coordinates_do_not_fit_their_crs_explain_not_traceback():
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    parcels = gpd.read_file(SAMPLE_PARCELS)
    feet_as_degrees = parcels.set_crs(4326, allow_override=True)
    raw = json.loads(parcels.to_json(drop_id=True))
    raw.pop("crs")  # without it, RFC 7946 says the numbers are longitude/latitude
    cases = [("lots.zip", zipped_shapefile(feet_as_degrees)), ("lots.geojson", json.dumps(raw).encode())]
    for name, data in cases:
        at.file_uploader(key="parcel_upload").set_value((name, data, "application/octet-stream"))
        at.run()
        assert not at.exception, name
        assert f"'{name}' says its coordinates are longitude/latitude" in texts(at.error), texts(at.error)


def test_measure__web_mercator_parcels_are_measured_equal_area_and_the_page_says_so():
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    merc = gpd.read_file(SAMPLE_PARCELS).to_crs(3857)
    at.file_uploader(key="parcel_upload").set_value(("lots.gpkg", _gpkg_bytes(merc), "application/geopackage"))
    at.run()
    assert not at.exception
    assert "Pseudo-Mercator" in texts(at.caption)
    at.text_input(key="measure_crs").set_value("EPSG:2913").run()
    assert not at.exception
    assert "NAD83(HARN) / Oregon North" in texts(at.caption)
    at.text_input(key="measure_crs").set_value("EPSG:3857").run()
    assert "changes areas by" in texts(at.error)


def test_measure__a_lot_id_shared_by_two_lots_explains():
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    parcels = gpd.read_file(SAMPLE_PARCELS)
    parcels.loc[parcels.parcel_id == "R100066", "parcel_id"] = HOUSE
    at.file_uploader(key="parcel_upload").set_value(("lots.gpkg", _gpkg_bytes(parcels), "application/geopackage"))
    at.run()
    at.selectbox(key="lot_id").set_value(HOUSE).run()
    assert not at.exception
    assert f"2 lots are called '{HOUSE}'" in texts(at.error)


def _gpkg_bytes(gdf) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lots.gpkg"
        gdf.to_file(path)
        return path.read_bytes()


def test_measure__a_dock_on_land_counts_in_full_and_is_flagged_and_the_page_says_what_docks_do(app):
    pick(app, HOUSE)
    first = shape_keys(app)[0]  # the house roof, on land far from the river
    app.selectbox(key=first).set_value("dock").run()
    assert not app.exception
    assert metric(app, "Billable area") == "2,569 sq ft"  # on land: counted like a deck (SPEC A1.1)
    assert "Shape 1 (a dock) lies wholly on land, so it counts in full" in texts(app.warning)
    assert "the part over the water (blue on the map) is not counted" in texts(app.caption)


def test_measure__without_a_water_layer_a_dock_is_taken_to_be_over_water_and_the_page_says_so():
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    at.file_uploader(key="parcel_upload").set_value(
        ("parcels.geojson", sample_bytes("parcels.geojson"), "application/geo+json"))
    at.run()
    at.selectbox(key="lot_id").set_value(HOUSE).run()
    at.file_uploader(key="features_upload").set_value(
        ("mine.geojson", sample_bytes("features.geojson"), "application/geo+json"))
    at.run()
    at.button(key="load_upload").click().run()
    first = shape_keys(at)[0]
    at.selectbox(key=first).set_value("dock").run()
    assert not at.exception
    assert metric(at, "Billable area") == "1,434 sq ft"  # the 1,165 sq ft roof is not counted; the patio under it is
    assert "there is no water layer, so it is taken to be over water and not counted" in texts(at.warning)
    assert "there is no water layer, so they are taken to be over water" in texts(at.caption)


def _gpkg_layers(**layers) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "city.gpkg"
        for name, gdf in layers.items():
            gdf.to_file(path, layer=name)
        return path.read_bytes()


def test_measure__a_geopackage_with_several_layers_gets_a_layer_picker_for_parcels_water_and_shapes():
    parcels = gpd.read_file(SAMPLE_PARCELS)
    water = gpd.read_file(SAMPLE_PARCELS.replace("parcels", "water"))
    feats = gpd.read_file(SAMPLE_PARCELS.replace("parcels", "features"))
    city = _gpkg_layers(old_copy=parcels.iloc[:3], taxlots=parcels, rivers=water, surfaces=feats)
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    at.file_uploader(key="parcel_upload").set_value(("city.gpkg", city, "application/geopackage"))
    at.file_uploader(key="water_upload").set_value(("city.gpkg", city, "application/geopackage"))
    at.run()
    assert not at.exception
    assert not at.error, texts(at.error)
    picker = at.selectbox(key="parcel_layer")
    assert picker.options == ["old_copy", "taxlots", "rivers", "surfaces"]
    assert picker.value == "taxlots"  # guessed from its name
    assert at.selectbox(key="water_layer").value == "rivers"
    assert len(at.selectbox(key="lot_id").options) == 80
    picker.set_value("old_copy").run()
    assert len(at.selectbox(key="lot_id").options) == 3
    picker.set_value("taxlots").run()
    at.selectbox(key="lot_id").set_value(HOUSE).run()
    at.file_uploader(key="features_upload").set_value(("city.gpkg", city, "application/geopackage"))
    at.run()
    assert at.selectbox(key="features_layer").value == "surfaces"
    at.button(key="load_upload").click().run()
    assert not at.exception
    assert "Added 6 shapes from city.gpkg." in texts(at.success)
    assert metric(at, "Billable area") == "2,569 sq ft"


def _everything_shown(at) -> str:
    parts = [texts(getattr(at, kind)) for kind in ("markdown", "caption", "info", "warning", "error", "success",
                                                   "metric", "title", "header", "subheader")]
    parts += [str(w.value) for w in at.text_input] + [str(w.value) for w in at.selectbox]
    parts += [t.value.to_csv() for t in (*at.dataframe, *at.table)]
    return "\n".join(parts)


def test_measure__a_neighbours_account_number_is_never_shown_and_a_typed_one_is_checked(app):
    pick(app, HOUSE)
    assert app.text_input(key="account_number").value == ""
    assert "2861662471" not in _everything_shown(app)  # R100065's account on file
    app.text_input(key="account_number").input("2894551634").run()  # another lot's account
    assert "That is not the account number the utility has for this lot" in texts(app.error)
    assert app.button(key="make_package").disabled
    app.text_input(key="account_number").input("28616").run()
    assert "An account number has 10 digits" in texts(app.error)
    app.text_input(key="account_number").input("286-166-2471").run()
    assert not app.error
    assert not app.button(key="make_package").disabled
    app.button(key="make_package").click().run()
    assert read_package(app.session_state["package"][1]).request["account_number"] == "2861662471"


def test_measure__words_schedule_titles_no_portland_lines_on_oak_lodge_and_a_10_mb_attachment_limit(app):
    assert app.radio(key="schedule").options == [
        "Oak Lodge Water Services FY 2025-26", "City of Portland Bureau of Environmental Services FY 2025-26"]
    assert "Total with Superfund" in app.table[-1].value["Charge"].tolist()
    app.radio(key="schedule").set_value("oak-lodge-fy2025-26").run()
    assert not app.exception
    assert "Category" not in [m.label for m in app.metric]  # Oak Lodge has no house categories
    assert metric(app, "Service units") != ""
    charges = app.table[-1].value["Charge"].tolist()
    assert "Total with Superfund" not in charges
    assert not any("Superfund" in str(c) for c in charges)
    limits = {f.proto.label: f.proto.max_upload_size_mb for f in app.get("file_uploader")}
    assert limits["Photos or documents (up to 3; PDF, JPG or PNG, 10 MB each)"] == 10


def test_measure__the_city_forms_surface_words_find_our_types_and_each_delete_button_has_its_own_name(app):
    labels = dict(zip(app.selectbox(key="new_type").options, NEW_TYPES, strict=True))
    found = {word: next(t for label, t in labels.items() if word in label.lower())
             for word in ("breezeway", "carport", "covered porch", "covered deck", "covered patio", "detached",
                          "shed", "farm building", "pavers", "pervious pavement", "sports court")}
    assert found == {"breezeway": "roof", "carport": "carport", "covered porch": "porch", "covered deck": "deck",
                     "covered patio": "patio", "detached": "garage", "shed": "shed", "farm building": "shed",
                     "pavers": "pervious_pavement", "pervious pavement": "pervious_pavement",
                     "sports court": "other"}
    names = [b.label for b in app.button if (b.key or "").startswith("del_")]
    assert len(names) == len(shape_keys(app)) > 1
    assert len(set(names)) == len(names)


def test_measure__address_search_forgives_street_suffixes_and_spelling_and_offers_close_ones(app):
    app.text_input(key="addr_query").input("639 Southeast Selwood Boulevard").run()
    assert not app.exception
    assert app.selectbox(key="lot_id").value == "R100072"
    assert "Lot R100072: 639 SE Sellwood Blvd" in texts(app.caption)
    app.text_input(key="addr_query").input("Sellwood Boulevard").run()
    offered = [b.label for b in app.button if (b.key or "").startswith("addr_")]
    assert offered
    assert all("SE Sellwood Blvd" in label for label in offered)
    choice = next(b for b in app.button if (b.key or "").startswith("addr_"))
    chosen_lot = choice.key.removeprefix("addr_")
    choice.click().run()
    assert app.selectbox(key="lot_id").value == chosen_lot
    assert f"Lot {chosen_lot}: {choice.label}" in texts(app.caption)
    app.text_input(key="addr_query").input("42 Nowhere Lane").run()
    assert "No lot has an address like “42 Nowhere Lane”" in texts(app.warning)
    assert app.selectbox(key="lot_id").value == chosen_lot


def test_measure__an_upload_with_a_corner_that_is_not_a_number_is_explained_not_billed(app):
    """SPEC A1.4 repairs outlines that cross themselves; a corner that is not a number leaves the
    shape unknown: the homeowner is told which outline, and nothing is added to the bill."""
    app.button(key="reset").click().run()
    n, before = len(shape_keys(app)), texts(app.metric)
    mine = _sample_shapes_of_the_lot(app)
    assert len(mine) >= 2
    mine[1]["geometry"]["coordinates"][0][1][0] = float("nan")  # json writes NaN
    _load_upload(app, mine)
    said = texts(app.error)
    assert "corner that is not a number" in said
    assert "row 2:" in said
    assert "in the file and load it again" in said
    assert len(shape_keys(app)) == n
    assert texts(app.metric) == before


def test_measure__a_city_record_with_a_corner_that_is_not_a_number_is_not_loaded_and_says_so(monkeypatch):
    """The homeowner cannot fix the City's file: the page opens, says why the record is not on the
    map, and asks them to draw instead (no traceback, no guessed shape)."""
    import gis
    import gis.shapes

    def broken_record(features, lot, **kw):
        if kw.get("source") == "record":
            raise gis.NonFiniteCoordinateError.for_rows("features", features.index, [0])
        return real(features, lot, **kw)

    real = gis.shapes.shapes_from_layer
    monkeypatch.setattr(gis.shapes, "shapes_from_layer", broken_record)
    at = new_app()
    assert "The City's record for this lot has an outline with a corner that is not a number" in texts(at.warning)
    assert shape_keys(at) == []


def test_measure__a_zipped_file_geodatabase_gets_the_same_layer_picker():
    import io
    import tempfile
    import zipfile
    from pathlib import Path

    parcels = gpd.read_file(SAMPLE_PARCELS)
    water = gpd.read_file(SAMPLE_PARCELS.replace("parcels", "water"))
    data = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(data, "w") as zf:
        gdb = Path(tmp) / "city.gdb"
        for name, gdf in (("taxlots", parcels), ("rivers", water)):
            gdf.to_file(gdb, layer=name, driver="OpenFileGDB", promote_to_multi=True)
        for part in gdb.iterdir():
            zf.write(part, f"city.gdb/{part.name}")
    at = new_app()
    at.radio(key="parcel_source").set_value("upload").run()
    at.file_uploader(key="parcel_upload").set_value(("city.gdb.zip", data.getvalue(), "application/zip"))
    at.run()
    assert not at.exception
    assert not at.error, texts(at.error)
    assert at.selectbox(key="parcel_layer").value == "taxlots"
    assert len(at.selectbox(key="lot_id").options) == 80


def test_measure__an_upload_says_how_many_points_and_lines_it_left_out(app):
    """Only outlines have an area; a walkway drawn as a line must not vanish without a word."""
    app.button(key="reset").click().run()
    mine = _sample_shapes_of_the_lot(app)
    ring = mine[0]["geometry"]["coordinates"][0]
    line = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": ring[:2]},
            "properties": {"feature_type": "walkway", "parcel_id": mine[0]["properties"]["parcel_id"]}}
    _load_upload(app, [*mine, line])
    said = texts(app.success)
    assert f"Added {len(mine)} shapes from mine.geojson" in said
    assert "1 point or line in it was left out" in said


def _sample_shapes_of_the_lot(app) -> list[dict]:
    """The sample record's GeoJSON features on the lot the page shows."""
    upload = json.loads(sample_bytes("features.geojson"))
    return [f for f in upload["features"] if f["properties"]["parcel_id"] == app.session_state["lot_id"]]


def _load_upload(app, features: list[dict]) -> None:
    """Upload these GeoJSON features (in the sample record's CRS) as mine.geojson and press Load;
    the page must not fail."""
    data = json.dumps({**json.loads(sample_bytes("features.geojson")), "features": features}).encode()
    app.file_uploader(key="features_upload").set_value(("mine.geojson", data, "application/geo+json"))
    app.run()
    app.button(key="load_upload").click().run()
    assert not app.exception
