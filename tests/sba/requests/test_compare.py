"""Comparing a request with the record layer, feature by feature."""

from __future__ import annotations

from decimal import Decimal

import pytest

import shapely

from sba.requests import compare_request, import_package
from sba.requests.compare import compare_features


@pytest.fixture
def queue(sqlite_store, records, packages):
    """The four sample requests imported: lot id -> request number."""
    return {pid: import_package(sqlite_store, data, records, actor="alice", requester=who)
            for pid, (data, who) in packages.items()}


def _cmp(store, records, queue, pid):
    return compare_request(store.get(queue[pid]), records)


def test_compare_features__greedy_pairs_by_iou():
    a = [shapely.box(0, 0, 10, 10), shapely.box(0, 0, 9, 10), shapely.box(100, 0, 110, 10)]
    b = [shapely.box(0, 0, 10, 10), shapely.box(104, 0, 114, 10)]
    pairs, iou = compare_features(a, b)
    assert pairs == [(0, 0)]  # the exact copy wins; the 9-wide box is left over
    assert iou[1, 0] == pytest.approx(0.9)
    assert iou[2, 1] == pytest.approx(60 / 140)  # below 0.5: not a pair
    assert compare_features(a, b, match_iou=0.4)[0] == [(0, 0), (2, 1)]
    assert compare_features([], b)[0] == []


def test_compare__identical_drawing_matches_everything(sqlite_store, records, queue):
    c = _cmp(sqlite_store, records, queue, "R100065")
    assert c.counts == {"matched": 6, "changed": 0, "added": 0, "missing": 0}
    assert all(f.iou == pytest.approx(1.0, abs=1e-4) for f in c.features)  # lon/lat round trip
    assert (c.record_whole, c.request_whole, c.difference_sqft) == (Decimal(2569), Decimal(2569), Decimal(0))
    assert (c.current_category, c.record_category, c.request_category) == ("large", "standard", "standard")
    assert not c.crosses_threshold
    assert not c.billed_matches_record
    assert c.request_totals == {"roofs": 1645, "driveway_parking": 720, "other_hard_surfaces": 204}


def test_compare__shifted_roof_matches_and_left_out_patio_is_missing(sqlite_store, records, queue):
    c = _cmp(sqlite_store, records, queue, "R100040")
    by_status = {f.status: f for f in c.features}
    assert c.counts == {"matched": 3, "changed": 0, "added": 0, "missing": 1}
    roof = next(f for f in c.features if f.request_type == "roof")
    assert roof.iou == pytest.approx(0.915, abs=0.005)  # traced 1 ft off: same area, still a match
    assert by_status["missing"].record_type == "patio"
    assert by_status["missing"].record_sqft == pytest.approx(120.0)
    assert c.difference_sqft == Decimal(-96)  # 120 sq ft patio, 24 of it under the eave
    assert (c.record_category, c.request_category) == ("small", "small")


def test_compare__retyped_gravel_is_changed_and_new_shed_is_added(sqlite_store, records, queue):
    c = _cmp(sqlite_store, records, queue, "R100077")
    changed = [f for f in c.features if f.status == "changed"]
    added = [f for f in c.features if f.status == "added"]
    assert [(f.record_type, f.request_type, f.note) for f in changed] == [("gravel", "other", "type gravel → other")]
    assert [(f.request_type, round(f.request_sqft, 2), f.record_feature) for f in added] == [("shed", 80.0, None)]
    assert c.difference_sqft == Decimal(80)


def test_compare__smaller_drawing_crosses_two_thresholds(sqlite_store, records, queue):
    c = _cmp(sqlite_store, records, queue, "R100075")
    assert c.record_whole == Decimal(3367)  # 3,366.50 rounded half-up
    assert (c.record_category, c.request_category) == ("large", "small")
    assert c.crosses_threshold
    assert "crosses the small/standard line (1,500 sq ft) and the standard/large line (2,700 sq ft)" in c.threshold_note
    assert c.counts["missing"] == 4
    roof = next(f for f in c.features if f.request_type == "roof")
    assert roof.status == "changed"
    assert roof.iou == pytest.approx(0.64, abs=0.01)
    assert roof.note == "area -599.9 sq ft"  # scaled to 0.8 × 0.8 = 64 %
    summary = c.summary()
    assert summary["crosses_threshold"] is True
    assert summary["record_sqft"] == "3367"


def test_compare__layers_for_the_map_are_lon_lat(sqlite_store, records, queue):
    c = _cmp(sqlite_store, records, queue, "R100077")
    assert c.lot.crs.to_epsg() == c.record_layer.crs.to_epsg() == c.request_layer.crs.to_epsg() == 4326
    assert list(c.request_layer["status"]).count("added") == 1
    assert set(c.record_layer["status"]) == {"matched", "changed"}


def test_compare__map_is_built_offline(sqlite_store, records, queue):
    from sba.requests.maps import comparison_map

    html = comparison_map(_cmp(sqlite_store, records, queue, "R100075")).get_root().render()
    assert "City record" in html
    assert "Request" in html


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # shapely, on the NaN coordinate
def test_a1_4_repair__a_record_outline_with_a_corner_that_is_not_a_number_is_not_compared_as_a_guess(
        sqlite_store, records, queue):
    """Staff must not decide on a guessed record: the comparison of that lot says which record row to
    fix; the other lots compare as before (the layer loads, and is not repaired into a guess)."""
    import numpy as np

    from sba.requests import PackageRejected
    from sba.requests.records import Records

    features = records.features.copy()
    on_lot = records.record_features("R100065").index
    geoms = features.geometry.to_numpy().copy()
    ring = np.array(shapely.get_coordinates(geoms[features.index.get_loc(on_lot[0])].exterior))
    ring[1, 0] = np.nan
    geoms[features.index.get_loc(on_lot[0])] = shapely.Polygon(ring)
    broken = Records(records.parcels, features.set_geometry(geoms), records.water, records.accounts,
                     records.schedule)
    with pytest.raises(PackageRejected, match=r"record .*corner that is not a number.*row \d+"):
        compare_request(sqlite_store.get(queue["R100065"]), broken)
    other = compare_request(sqlite_store.get(queue["R100040"]), broken)
    assert other.counts == _cmp(sqlite_store, records, queue, "R100040").counts
