"""sba.evidence: measuring drawn/taped surfaces and the evidence package format."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal

import pytest

import geopandas as gpd
import shapely.geometry

import categorize
import gis
from gis.shapes import new_shape, shapes_from_layer
from gis.tape import SEED_WORKSHEET, TapeShape
from sba import evidence as ev
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def layers():
    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    record = gpd.read_file(SAMPLE / "features.geojson")
    water = gpd.read_file(SAMPLE / "water.geojson")
    lot = parcels[parcels.parcel_id == "R100065"]
    shapes = shapes_from_layer(record, lot, id_prefix="r", source="record")
    return lot, shapes, water


@pytest.fixture(scope="module")
def schedule():
    return categorize.load_schedule(categorize.DEFAULT_SCHEDULE)


def test_measure_shapes__matches_the_engine_on_the_sample_lot(layers, schedule):
    lot, shapes, water = layers
    m = ev.measure_shapes(lot, shapes, water, schedule)
    assert round(m.billable_area_sqft, 2) == 2569.18  # sample_data/expected_sba.csv
    assert m.whole_sqft == Decimal("2569")
    assert m.crs_measured == "EPSG:2913"
    assert sum(m.form_totals.values()) == 2569
    assert m.form_totals == {"roofs": Decimal("1645"), "driveway_parking": Decimal("720"),
                             "other_hard_surfaces": Decimal("204")}
    assert [f.feature_type for f in m.features][:2] == ["roof", "garage"]
    assert m.method == "uploaded"


def test_measure_shapes__no_shapes_is_zero(layers, schedule):
    lot, _, water = layers
    m = ev.measure_shapes(lot, [], water, schedule)
    assert m.billable_area_sqft == 0
    assert m.whole_sqft == 0


def test_measure_shapes__shapes_elsewhere_are_refused(layers, schedule):
    lot, _, water = layers
    far = new_shape("s1", {"type": "Polygon", "coordinates": [[[0, 0], [0.001, 0], [0.001, 0.001], [0, 0]]]})
    with pytest.raises(gis.NoOverlapError):
        ev.measure_shapes(lot, [far], water, schedule)


def test_measure_tape__seed_worksheet(schedule):
    m = ev.measure_tape(SEED_WORKSHEET, "R1", schedule)
    assert m.whole_sqft == Decimal("2569")
    assert m.method == "tape"
    assert m.features[-1].shape == "circle"


def test_form_totals__buckets():
    assert ev.form_totals({"gravel": 10.4, "parking": 1.5, "carport": 0.5}) == {
        "roofs": Decimal("1"), "driveway_parking": Decimal("2"), "other_hard_surfaces": Decimal("10")}


def build(layers, schedule, **kw):
    lot, shapes, water = layers
    m = ev.measure_shapes(lot, shapes, water, schedule)
    bill = categorize.estimate(schedule=schedule, property_class="single_family", area_sqft=m.billable_area_sqft)
    req = ev.ChangeRequest("R100065", "2861662471", "611 SE Sellwood Blvd", current_category="large",
                           imagery="sample photo", single_family=True, one_dwelling_unit=True)
    return ev.build_package(m, req, shapes=shapes, lot=lot, water=water, bill=bill,
                            ortho_path=SAMPLE / "orthophoto.tif", **kw)


def test_package__round_trip(layers, schedule):
    data = build(layers, schedule, attachments=[("photo.jpg", b"\xff\xd8\xff jpeg")])
    pkg = ev.read_package(data)
    assert pkg.schema_version == ev.SCHEMA_VERSION
    assert pkg.parcel_id == "R100065"
    assert (pkg.computed_category, pkg.current_category) == ("standard", "large")
    assert pkg.request["billable_sqft_whole"] == "2569"
    assert pkg.crs_measured == "EPSG:2913"
    frame = pkg.features_frame()
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == 6
    assert set(frame.columns) >= {"feature_id", "feature_type", "area_sqft", "inside_lot_sqft", "source"}
    assert pkg.lot["features"][0]["geometry"]["type"] == "Polygon"
    assert "EPSG:2913" in pkg.method_statement
    assert pkg.report_pdf.startswith(b"%PDF")
    assert pkg.attachments == {"photo.jpg": b"\xff\xd8\xff jpeg"}
    assert "You have not confirmed that there is only one utility account for the lot." in pkg.request["warnings"]


def test_package__files_and_manifest(layers, schedule):
    with zipfile.ZipFile(io.BytesIO(build(layers, schedule))) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert names == {"manifest.json", "features.geojson", "lot.geojson", "method.txt", "report.pdf"}
    assert manifest["kind"] == "sba-category-change-request"
    assert set(manifest["files"]) == names - {"manifest.json"}


def test_package__tape_measured_has_no_geometry(schedule):
    m = ev.measure_tape(SEED_WORKSHEET, "R1", schedule)
    data = ev.build_package(m, ev.ChangeRequest("R1"))
    pkg = ev.read_package(data)
    assert pkg.request["method"]["how"] == "tape"
    assert all(f["geometry"] is None for f in pkg.features["features"])
    assert pkg.features["features"][0]["properties"]["dimensions_ft"] == ["35", "35"]


PNG_START = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("attachments", "message"), [
    ([("a.png", PNG_START)] * 4, "A request can have at most 3 attachments; this one has 4."),
    ([("a.exe", b"x")], "Attachment 'a.exe' is not a PDF, JPG or PNG file; only those can be attached."),
    ([("big.pdf", b"%PDF-" + b"x" * ev.MAX_ATTACHMENT_BYTES)],
     "Attachment 'big.pdf' is 10.0 MB; the limit is 10 MB per file."),
    ([("photo.png", b"MZ\x90\x00 a windows program")],
     "Attachment 'photo.png' is named like a PNG image but its content is not; attach the real file."),
    ([("a.png", PNG_START), ("A.PNG", PNG_START)], "Two attachments are called 'A.PNG'; rename one."),
], ids=["four", "exe", "over-10-MB", "exe-named-png", "same-name"])
def test_package__the_homeowner_and_intake_refuse_the_same_attachments_in_the_same_words(attachments, message,
                                                                                          schedule):
    """One set of attachment rules: a package the app builds is never refused at intake for its attachments."""
    from sba.requests import PackageRejected
    from sba.requests.intake import check_attachments

    m = ev.measure_tape(SEED_WORKSHEET, "R1", schedule)
    with pytest.raises(ev.EvidencePackageError) as built:
        ev.build_package(m, ev.ChangeRequest("R1"), attachments=attachments)
    with pytest.raises(PackageRejected) as taken:
        check_attachments(attachments)
    assert str(built.value) == str(taken.value) == message


def test_package__an_attachment_given_with_a_windows_path_keeps_its_file_name(schedule):
    m = ev.measure_tape(SEED_WORKSHEET, "R1", schedule)
    data = ev.build_package(m, ev.ChangeRequest("R1"), attachments=[("C:\\Users\\me\\photo.png", PNG_START)])
    assert ev.read_package(data).attachments == {"photo.png": PNG_START}


def rezip(data: bytes, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    files = {n: src.read(n) for n in src.namelist()}
    change(files)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in files.items():
            zf.writestr(n, b)
    return buf.getvalue()


def test_read_package__refuses_damaged_or_foreign_zips(schedule):
    good = ev.build_package(ev.measure_tape(SEED_WORKSHEET, "R1", schedule), ev.ChangeRequest("R1"))

    def newer(files):
        m = json.loads(files["manifest.json"])
        m["schema_version"] = ev.SCHEMA_VERSION + 1
        files["manifest.json"] = json.dumps(m).encode()

    cases = [
        (b"not a zip", "not a ZIP file"),
        (rezip(good, lambda f: f.pop("manifest.json")), "no manifest.json"),
        (rezip(good, newer), "newer than this tool reads"),
        (rezip(good, lambda f: f.update({"method.txt": b"edited"})), "changed after it was made"),
        (rezip(good, lambda f: f.pop("features.geojson")), "missing features.geojson"),
    ]
    for data, message in cases:
        with pytest.raises(ev.EvidencePackageError, match=message):
            ev.read_package(data)


def test_measure_shapes__bowtie_is_repaired_and_reported_by_its_number(layers, schedule):
    lot, _, water = layers
    x0, y0, x1, y1 = lot.to_crs(4326).total_bounds
    bowtie = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}
    m = ev.measure_shapes(lot, [new_shape("s9", bowtie, "patio")], water, schedule)
    assert m.repaired
    assert m.problems == ("Shape 1: Feature outline crossed itself; it was repaired.",)
    assert 0 < m.billable_area_sqft <= m.features[0].area_sqft


def test_measure_shapes__a_dock_over_water_is_not_flagged_one_on_land_is(schedule):
    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    water = gpd.read_file(SAMPLE / "water.geojson")
    wet = water.to_crs(parcels.crs).geometry.iloc[0]
    lot = parcels[parcels.intersects(wet)].iloc[[0]]
    lot_geom = lot.geometry.iloc[0]
    over = lot_geom.intersection(wet).representative_point().buffer(3, cap_style="square")
    dry = lot_geom.difference(wet.buffer(10)).representative_point().buffer(3, cap_style="square")
    shapes = [new_shape(f"s{i}", shapely.geometry.mapping(
        gpd.GeoSeries([g], crs=parcels.crs).to_crs(4326).iloc[0]), "dock") for i, g in enumerate((over, dry), 1)]
    m = ev.measure_shapes(lot, shapes, water, schedule)
    assert [p for p in m.problems if "dock" in p] == [
        "Shape 2 (a dock) lies wholly on land, so it counts in full, like a deck. If it is over water, the water "
        "layer does not show that water; the City will check it (a loading dock on land is billable)."]
    assert m.whole_sqft == 36  # the dock on land, 6 × 6 ft; the one over water is not counted


def test_package_errors_belong_to_the_sba_error_tree_and_stay_value_errors(schedule):
    from sba.errors import SbaError

    m = ev.measure_tape(SEED_WORKSHEET, "R1", schedule)
    with pytest.raises(SbaError, match="not a PDF, JPG or PNG"):
        ev.build_package(m, ev.ChangeRequest("R1"), attachments=[("a.exe", b"x")])
    with pytest.raises(ValueError, match="not a PDF, JPG or PNG"):
        ev.build_package(m, ev.ChangeRequest("R1"), attachments=[("a.exe", b"x")])


def test_package__what_the_staff_side_would_refuse_is_refused_before_the_pdf_is_drawn(schedule, monkeypatch):
    """A lot id of 20,000 characters took 14.6 s and 2.8 GB drawing the map before the manifest
    refused it; a tape label of 10,000 characters ended in fpdf's 'row too high' (a traceback)."""
    import sba.evidence.package as package

    def no_drawing(*args, **kwargs):
        raise AssertionError("drew the report of a package the staff side would refuse")

    monkeypatch.setattr(package, "report_pdf", no_drawing)
    m = ev.measure_tape(SEED_WORKSHEET, "R" * 20_000, schedule)
    with pytest.raises(ev.EvidencePackageError, match="parcel_id"):
        ev.build_package(m, ev.ChangeRequest("R" * 20_000))
    long_label = [TapeShape(s.kind, s.dims, s.feature_type, "x" * 10_000) for s in SEED_WORKSHEET]
    with pytest.raises(ev.EvidencePackageError, match="label"):
        ev.build_package(ev.measure_tape(long_label, "R1", schedule), ev.ChangeRequest("R1"))


def test_package__a_lot_id_with_dollar_signs_is_drawn_as_text(layers, schedule):
    """matplotlib read '$\\frac{$' in the map's title as a formula and raised (a traceback)."""
    lot, shapes, water = layers
    lot = lot.assign(parcel_id="$\\frac{$")
    m = ev.measure_shapes(lot, shapes, water, schedule)
    pkg = ev.read_package(ev.build_package(m, ev.ChangeRequest("$\\frac{$"), shapes=shapes, lot=lot, water=water))
    assert pkg.parcel_id == "$\\frac{$"
    assert pkg.report_pdf.startswith(b"%PDF")
