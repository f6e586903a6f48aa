"""Intake: good packages are stored whole, bad ones are refused whole with a plain reason."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

import geopandas as gpd
import shapely

from sba.requests import (
    IneligibleError,
    IntakeForm,
    PackageRejected,
    Requester,
    import_geojson,
    import_package,
)
from sba.requests.db import db_errors
from sba.requests.intake import check_attachments
from tests.sba.requests.conftest import SAMPLE, counts, repack


def _image(fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 120, 40)).save(buf, fmt)
    return buf.getvalue()


def _pdf() -> bytes:
    from pypdf import PdfWriter

    writer, buf = PdfWriter(), io.BytesIO()
    writer.add_blank_page(612, 792)
    writer.write(buf)
    return buf.getvalue()


PNG, JPG, PDF = _image("PNG"), _image("JPEG"), _pdf()  # real files: attachments are decoded


def test_import_package__stores_request_features_files_and_audit(store, records, packages):
    data, who = packages["R100040"]
    rid = import_package(store, data, records, actor="alice", requester=who, filename="evidence-R100040.zip")
    req = store.get(rid)
    assert (req.parcel_id, req.account_number, req.requester_name) == ("R100040", "2813017106", "Taylor Spruce")
    assert (req.current_category, req.claimed_category, req.status, req.version) == (
        "standard", "small", "submitted", 1)
    assert req.form_totals == {"roofs": 720, "driveway_parking": 252, "other_hard_surfaces": 62}
    assert req.submitted_at == "2026-03-02T17:00:00Z"
    assert "EPSG:2913" in req.method_statement
    assert req.crs_measured == "EPSG:2913"
    assert [f.feature_type for f in req.features] == ["roof", "driveway", "walkway"]
    assert all(f.geometry["type"] == "Polygon" for f in req.features)
    kinds = sorted((f.kind, f.name, f.media_type) for f in req.files)
    assert kinds == [("attachment", "patio-removed.png", "image/png"),
                     ("package", "evidence-R100040.zip", "application/zip")]
    png = next(f for f in req.files if f.kind == "attachment")
    assert store.file_data(rid, png.id).startswith(b"\x89PNG")
    audit = store.audit_log(rid)
    assert [(a["actor"], a["action"]) for a in audit] == [("alice", "import")]
    assert audit[0]["after"]["claimed_category"] == "small"


def test_import_geojson__with_form_fields_is_measured_by_the_engine(sqlite_store, records):
    feats = gpd.read_file(SAMPLE / "features.geojson")
    mine = feats[feats.parcel_id == "R100065"][["feature_id", "feature_type", "geometry"]]
    form = IntakeForm("R100065", "2861662471", "large", Requester("Emery Larch", "emery@example.org"),
                      method_statement="Traced on the 2025 aerial photo.", imagery="2025 photo",
                      single_family=True, one_dwelling_unit=True, one_account=True, account_holder=True)
    rid = import_geojson(sqlite_store, mine.to_json().encode(), form, records, actor="alice",
                         attachments=[("survey.pdf", PDF)])
    req = sqlite_store.get(rid)
    assert req.source == "geojson"
    assert req.claimed_category == "standard"
    assert req.claimed_sqft == "2569"
    assert req.form_totals == {"roofs": 1645, "driveway_parking": 720, "other_hard_surfaces": 204}
    assert len(req.features) == 6
    assert req.features[0].geometry["type"] == "Polygon"
    assert [f.kind for f in req.files] == ["attachment"]


# --------------------------------------------------------------------------
# refused packages: one plain sentence, nothing stored


def _refused(store, records, data, who, match, kind=PackageRejected):
    before = counts(store)
    with pytest.raises(kind, match=match) as err:
        import_package(store, data, records, actor="alice", requester=who, filename="bad.zip")
    assert counts(store) == before, "a refused package left rows behind"
    last = store.audit_log()[-1]
    assert last["action"] == "import_refused"
    assert last["detail"] == str(err.value)
    return str(err.value)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"account_number": None}, "10-digit utility account number"),
        ({"account_number": "12345"}, r"10-digit utility account number .*'12345'"),
        ({"current_category": None}, "category printed on the bill: small, standard, large"),
        ({"current_category": "huge"}, "'huge'"),
        ({"form_totals": {"roofs": "720", "driveway_parking": "252"}}, "missing the other hard surfaces total"),
        ({"form_totals": {"roofs": "7.5", "driveway_parking": "252", "other_hard_surfaces": "62"}},
         "roofs \\(all structures\\) total must be a whole number"),
        ({"parcel_id": ""}, "which tax lot"),
        ({"parcel_id": "R999999"}, "no tax lot 'R999999'"),
    ],
    ids=["no-account", "short-account", "no-category", "bad-category", "no-total", "fraction", "no-lot",
         "unknown-lot"],
)
def test_import__missing_or_bad_fields_are_refused(sqlite_store, records, packages, change, match):
    data, who = packages["R100040"]
    _refused(sqlite_store, records, repack(data, request=change), who, match)


def test_import__a_request_for_the_category_already_billed_is_refused(sqlite_store, records, packages):
    data, who = packages["R100040"]
    claimed = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))["request"]["computed_category"]
    message = _refused(sqlite_store, records, repack(data, request={"current_category": claimed}), who,
                       "the one already on the bill")
    assert message.startswith(f"The request claims the {claimed} category")


def test_import__no_requester_is_refused(sqlite_store, records, packages):
    data, _ = packages["R100040"]
    assert "who is asking" in _refused(sqlite_store, records, data, Requester(""), "requester's name")


def test_import__no_method_statement_is_refused(sqlite_store, records, packages):
    data, who = packages["R100040"]
    bad = repack(data, drop=("method.txt",), request={"method": {"how": "drawn"}})
    _refused(sqlite_store, records, bad, who, "no method statement")


def test_import__not_a_zip_and_tampered_packages_are_refused(sqlite_store, records, packages):
    data, who = packages["R100040"]
    _refused(sqlite_store, records, b"%PDF-1.4 not a zip", who, "not a ZIP file")
    # a roof relabelled a shed after the package was made: the checksum no longer matches
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w") as zout:
        for n in zin.namelist():
            blob = zin.read(n)
            zout.writestr(n, blob.replace(b"roof", b"shed") if n == "features.geojson" else blob)
    _refused(sqlite_store, records, buf.getvalue(), who, "changed after it was made")


@pytest.mark.parametrize(
    ("name", "blob", "match"),
    [
        ("photo.png", b"MZ\x90\x00 this is a windows program", "named like a PNG image but its content is not"),
        ("scan.pdf", PNG, "named like a PDF but its content is not"),
        ("photo.jpg", b"\xff\xd8 not quite a jpeg", "named like a JPEG image"),
        ("notes.txt", b"hello", "is not a PDF, JPG or PNG file"),
        ("big.jpg", b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024), "limit is 10 MB"),
        ("empty.png", b"", "named like a PNG image but its content is not"),
    ],
    ids=["exe-as-png", "png-as-pdf", "bad-jpeg", "text", "oversize", "empty"],
)
def test_import__bad_attachments_are_refused_by_content(sqlite_store, records, packages, name, blob, match):
    data, who = packages["R100040"]
    bad = repack(data, add={f"attachments/{name}": blob}, request={"attachments": [name]})
    _refused(sqlite_store, records, bad, who, match)


def test_import__more_than_three_attachments_are_refused(sqlite_store, records, packages):
    data, who = packages["R100040"]
    extra = {f"attachments/p{i}.png": PNG for i in range(3)}  # + the package's own photo = 4
    _refused(sqlite_store, records, repack(data, add=extra), who, "at most 3 attachments; this one has 4")


def test_check_attachments__accepts_the_three_kinds_and_sizes_up_to_10mb():
    ok = check_attachments([("a.PNG", PNG), ("b.jpeg", JPG), ("c.pdf", PDF + b"\x00" * (10 * 1024 * 1024 - len(PDF)))])
    assert [m for _, _, m in ok] == ["image/png", "image/jpeg", "application/pdf"]
    with pytest.raises(PackageRejected, match=r"Two attachments are called 'A\.png'"):
        check_attachments([("a.png", PNG), ("A.png", PNG)])


def _features(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return json.loads(zf.read("features.geojson"))


def test_import__geometry_outside_the_lot_is_refused(sqlite_store, records, packages):
    data, who = packages["R100040"]
    fc = _features(data)
    neighbour = records.lot("R100039").to_crs(4326).geometry.iloc[0].centroid.buffer(0.00002, cap_style="square")
    fc["features"][1]["geometry"] = shapely.geometry.mapping(neighbour)
    msg = _refused(sqlite_store, records, repack(data, features=fc), who, "Feature 2 \\(driveway\\) lies outside")
    assert msg == ("Feature 2 (driveway) lies outside tax lot R100040; only surfaces on the lot can be part of "
                   "the request.")


@pytest.mark.parametrize(
    ("geometry", "match"),
    [
        ({"type": "LineString", "coordinates": [[-122.66, 45.47], [-122.6601, 45.4701]]}, "not an area"),
        ({"type": "Polygon", "coordinates": [[[7647000, 664500], [7647050, 664500], [7647050, 664550],
                                              [7647000, 664500]]]}, "not in longitude/latitude"),
        ({"type": "Polygon", "coordinates": "garbage"}, "broken outline"),
        (None, "has no outline"),
    ],
    ids=["line", "projected", "garbage", "null"],
)
def test_import__unusable_geometry_is_refused(sqlite_store, records, packages, geometry, match):
    data, who = packages["R100040"]
    fc = _features(data)
    fc["features"][0]["geometry"] = geometry
    _refused(sqlite_store, records, repack(data, features=fc), who, match)


def test_import__no_features_is_refused(sqlite_store, records, packages):
    data, who = packages["R100040"]
    _refused(sqlite_store, records, repack(data, features={"type": "FeatureCollection", "features": []}), who,
             "no measured surfaces")


# --------------------------------------------------------------------------
# eligibility


def _geojson_form(pid, account, who, **kw):
    answers = {"single_family": True, "one_dwelling_unit": True, "one_account": True, "account_holder": True}
    answers.update(kw)
    return IntakeForm(pid, account, "standard", Requester(who), method_statement="Traced on the photo.", **answers)


def _lot_geojson(records, pid):
    f = records.record_features(pid)
    return f[["feature_id", "feature_type", "geometry"]].to_json().encode()


@pytest.mark.parametrize(
    ("pid", "account", "who", "answers", "reason"),
    [
        ("R100041", "2839327953", "Avery Alder", {}, "the lot has 2 dwelling units"),
        ("R100017", None, None, {}, "recorded as multifamily"),
        ("R100040", "2861662471", "Taylor Spruce", {}, "account 2861662471 is not the utility account of this lot"),
        ("R100040", "2813017106", "Someone Else", {}, "the requester (Someone Else) is not the holder"),
        ("R100040", "2813017106", "Taylor Spruce", {"one_account": False},
         "did not confirm that there is only one utility account"),
    ],
    ids=["two-units", "multifamily", "wrong-account", "not-holder", "unconfirmed"],
)
def test_import__ineligible_requests_say_why(sqlite_store, records, pid, account, who, answers, reason):
    info = records.lot_record(pid)
    account = account or info.accounts[0]
    who = who or info.holders[account]
    form = _geojson_form(pid, account, who, **answers)
    before = counts(sqlite_store)
    with pytest.raises(IneligibleError) as err:
        import_geojson(sqlite_store, _lot_geojson(records, pid), form, records, actor="alice")
    assert counts(sqlite_store) == before
    msg = str(err.value)
    assert msg.startswith(f"Tax lot {pid} is not eligible for a single-family category change: ")
    assert reason in msg
    assert msg.endswith("call customer service at 503-823-7770.")
    assert any(reason in r for r in err.value.reasons)


def test_import__holder_names_are_compared_loosely(sqlite_store, records):
    form = _geojson_form("R100040", "2813-017-106", "  taylor  SPRUCE ")
    rid = import_geojson(sqlite_store, _lot_geojson(records, "R100040"), form, records, actor="alice")
    assert sqlite_store.get(rid).account_number == "2813017106"


def test_import__a_second_open_request_for_the_lot_is_refused(store, records, packages):
    data, who = packages["R100065"]
    rid = import_package(store, data, records, actor="alice", requester=who)
    msg = _refused(store, records, data, who, "already has an undecided request")
    assert f"(number {rid})" in msg


def test_import__a_second_request_racing_past_the_open_check_is_refused_by_the_index(store, records, packages,
                                                                                     monkeypatch):
    """Two imports at once: both see no open request, the database's unique index stops the second."""
    data, who = packages["R100065"]
    rid = import_package(store, data, records, actor="alice", requester=who)
    real = type(store).open_request_for
    calls = []

    def not_yet(self, parcel_id):  # the first look happens before the other import commits
        calls.append(parcel_id)
        return None if len(calls) == 1 else real(self, parcel_id)

    monkeypatch.setattr(type(store), "open_request_for", not_yet)
    with pytest.raises(PackageRejected, match="already has an undecided request") as caught:
        import_package(store, data, records, actor="bob", requester=who)
    monkeypatch.undo()
    assert f"(number {rid})" in str(caught.value)
    assert counts(store)["requests"] == 1


def test_import__a_database_failure_that_is_not_the_open_request_index_is_not_reworded(store, records, packages,
                                                                                       monkeypatch):
    data, who = packages["R100065"]

    def refused(self, *args, **kwargs):
        raise db_errors()[0]("CHECK constraint failed: roofs_sqft >= 0")

    monkeypatch.setattr(type(store), "insert_request", refused)
    with pytest.raises(db_errors()) as caught:
        import_package(store, data, records, actor="alice", requester=who)
    assert "CHECK constraint failed" in str(caught.value)


def test_import__a_failure_half_way_leaves_nothing(store, records, packages, monkeypatch):
    """Request and features written, then the attachment insert fails: all rolled back."""
    data, who = packages["R100040"]
    before = counts(store)

    def broken(self, request_id, f):
        raise OSError("disk full")

    monkeypatch.setattr(type(store), "_insert_file", broken)
    with pytest.raises(OSError, match="disk full"):
        import_package(store, data, records, actor="alice", requester=who)
    assert counts(store) == before
    assert store.audit_log()[-1]["action"] == "add_staff"  # no import row either
    monkeypatch.undo()
    assert import_package(store, data, records, actor="alice", requester=who) >= 1
