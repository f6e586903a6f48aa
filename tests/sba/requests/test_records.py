"""The utility's records: bad outlines in the City's own data are repaired, not a crash."""

from __future__ import annotations

import io
import sys

import shapely

from sba.cli import main
from sba.requests import RequestStore, add_staff
from sba.requests.intake import import_package
from tests.sba.requests.conftest import PASSWORD
from tests.sba.requests.lot_packages import record_package


def test_records__a_self_intersecting_record_outline_is_repaired_and_keeps_its_area(records):
    feats = records.record_features("R100072")  # its patio F0336 is a bow tie in the sample record
    assert feats.is_valid.all()
    patio = feats[feats["feature_id"] == "F0336"].geometry.iloc[0]
    assert patio.area == 2 * 48.0  # two 8 × 6 ft triangles: the bow tie's two halves
    assert round(float(feats.area.sum()), 2) == 1681.0


def test_records__sba_requests_show_a_request_for_a_lot_with_a_broken_record_outline(records, tmp_path, capsys,
                                                                                        monkeypatch):
    db = tmp_path / "r.sqlite"
    monkeypatch.delenv("SBA_RECORDS_DIR", raising=False)
    with RequestStore.open(db) as store:
        add_staff(store, "alice", PASSWORD)
        data, who = record_package(records, "R100072")
        rid = import_package(store, data, records, actor="alice", requester=who, filename="evidence-R100072.zip")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n"))
    code = main(["requests", "show", str(rid), "--db", str(db), "--staff", "alice", "--password-stdin"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "R100072" in out
    assert shapely.is_valid(records.features.geometry).all()
