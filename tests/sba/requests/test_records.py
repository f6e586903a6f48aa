"""The utility's records: bad outlines in the City's own data are repaired, not a crash."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

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


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # shapely, on the NaN coordinate
def test_a1_4_repair__a_parcel_with_a_corner_that_is_not_a_number_is_refused_when_looked_at_not_guessed(records):
    """The layer still loads (one bad lot must not stop every page), the bad lot is not repaired
    into a guess, and looking at it says which parcels row the utility must fix."""
    from sba.requests import PackageRejected
    from sba.requests.records import Records

    parcels = records.parcels.copy()
    at = parcels.index.get_loc(parcels.index[parcels.parcel_id == "R100065"][0])
    geoms = parcels.geometry.to_numpy().copy()
    ring = np.array(shapely.get_coordinates(geoms[at].exterior))
    ring[2, 1] = np.nan
    geoms[at] = shapely.Polygon(ring)
    broken = Records(parcels.set_geometry(geoms), records.features, records.water, records.accounts,
                     records.schedule)
    with pytest.raises(PackageRejected, match=rf"R100065.*not a number.*parcels row {at + 1}:"):
        broken.lot("R100065")
    assert broken.lot("R100040").geometry.iloc[0].equals(records.lot("R100040").geometry.iloc[0])


@pytest.mark.parametrize("outline", ["line", "empty", "missing"])
def test_records__a_parcel_whose_outline_has_no_area_blames_the_records_not_the_drawing(records, outline):
    """A homeowner's drawing on a lot whose City outline is a line, empty or missing was refused
    as "Feature 1 lies outside tax lot …": the fault is the utility's data, and it says so."""
    from sba.requests import PackageRejected
    from sba.requests.records import Records

    parcels = records.parcels.copy()
    at = parcels.index.get_loc(parcels.index[parcels.parcel_id == "R100065"][0])
    geoms = parcels.geometry.to_numpy().copy()
    x0, y0, x1, y1 = geoms[at].bounds
    geoms[at] = {"line": shapely.Polygon([(x0, y0), ((x0 + x1) / 2, (y0 + y1) / 2), (x1, y1), (x0, y0)]),
                 "empty": shapely.Polygon(), "missing": None}[outline]
    broken = Records(parcels.set_geometry(geoms), records.features, records.water, records.accounts,
                     records.schedule)
    with pytest.raises(PackageRejected, match=rf"utility's parcel outline of tax lot 'R100065' has no area "
                                              rf"\(parcels row {at + 1}\).*The utility must fix"):
        broken.lot("R100065")
    with pytest.raises(PackageRejected, match="has no area"):
        broken.record_features("R100065")
    assert broken.lot("R100040").geometry.iloc[0].equals(records.lot("R100040").geometry.iloc[0])
