"""No overlap pattern makes the engine blow up: piles of pieces are unioned, not paired.

A lot with hundreds of pieces heaped on each other used to cost the square
(pairs) or the cube (triangles) of its pieces: 300 rotated 6 ft squares took
19 s and 1.7 GB, 600 of them an out-of-memory kill.  The area must still be
exactly the area of the union.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import geopandas as gpd
import shapely

import gis
from gis.overlay import (
    DENSE_PAIRS_PER_PIECE,
    dense_groups,
    group_union,
    heavy_components,
)

X0, Y0 = 7_645_000, 684_000  # Portland, EPSG:2913
ORIGIN = np.array([X0, Y0])


def pile(n: int, *, rotated: bool, seed: int = 1, centre=(50, 50), spread=10.0, side=6.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.uniform(-spread, spread, (n, 2)) + centre
    half = side / 2
    sq = shapely.box(X0 + c[:, 0] - half, Y0 + c[:, 1] - half, X0 + c[:, 0] + half, Y0 + c[:, 1] + half)
    if rotated:
        sq = np.array([shapely.affinity.rotate(g, a) for g, a in zip(sq, rng.uniform(0, 90, n), strict=True)])
    return sq


def layers(squares, lot=None):
    lot = lot if lot is not None else shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    types = np.resize(["roof", "patio", "walkway", "driveway"], len(squares))
    return (gpd.GeoDataFrame({"parcel_id": ["L"]}, geometry=[lot], crs=2913),
            gpd.GeoDataFrame({"feature_type": types}, geometry=squares, crs=2913))


@pytest.mark.parametrize("rotated", [False, True])
def test_a_pile_of_squares_measures_as_its_union(rotated):
    squares = pile(400, rotated=rotated)
    m = gis.measure_lots(*layers(squares))
    lot = m.lots.iloc[0]
    union = shapely.union_all(squares).area
    assert lot.billable_area_sqft == pytest.approx(union, rel=1e-9)
    assert lot.overlap_sqft == pytest.approx(shapely.area(squares).sum() - union, rel=1e-9)
    by_type = sum(lot[c] for c in m.lots.columns if c.startswith("sqft_"))
    assert by_type == pytest.approx(union, rel=1e-9)


def test_a_pile_across_the_lot_line_counts_its_outside_part_once():
    squares = pile(400, rotated=True, centre=(100, 50))  # half of it over the lot line, in the street
    lot_geom = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    m = gis.measure_lots(*layers(squares, lot_geom))
    union = shapely.union_all(squares)
    assert m.lots.billable_area_sqft.iloc[0] == pytest.approx(union.intersection(lot_geom).area, rel=1e-9)
    # the street part of the squares that reach the lot (those wholly in the street are no lot's)
    reaching = squares[shapely.intersects(squares, lot_geom) & ~shapely.touches(squares, lot_geom)]
    outside = shapely.union_all(reaching).difference(lot_geom).area
    assert m.lots.outside_parcel_sqft.iloc[0] == pytest.approx(outside, rel=1e-9)


def test_two_thousand_overlapping_squares_take_under_5_s_and_1_gib():
    """In a fresh process, so that its peak memory is the measurement's own."""
    script = textwrap.dedent(f"""
        import json, resource, sys, time
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).resolve().parents[2])!r})
        import shapely
        import gis
        from tests.gis.test_bounded_cost import layers, pile
        out = {{}}
        for rotated in (False, True):
            squares = pile(2000, rotated=rotated)
            t = time.perf_counter()
            got = gis.measure_lots(*layers(squares)).lots.billable_area_sqft.iloc[0]
            out[str(rotated)] = [time.perf_counter() - t, got, shapely.union_all(squares).area]
        out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    for rotated in ("False", "True"):
        seconds, got, want = res[rotated]
        assert seconds < 5, res
        assert got == pytest.approx(want, rel=1e-9)
    assert res["rss_mib"] < 1024, res


def test_sba_measure_on_600_overlapping_squares_answers_at_once(tmp_path):
    parcels, features = layers(pile(600, rotated=True, side=6.0, spread=3.0))
    parcels.to_file(tmp_path / "parcels.geojson")
    features.to_crs(4326).to_file(tmp_path / "features.geojson")
    done = subprocess.run([sys.executable, "-m", "sba", "measure", "--parcels", str(tmp_path / "parcels.geojson"),
                           "--features", str(tmp_path / "features.geojson"), "--parcel-id", "L",
                           "--format", "json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    want = shapely.union_all(gpd.read_file(tmp_path / "features.geojson").to_crs(2913).geometry.to_numpy()).area
    assert float(json.loads(done.stdout)["billable_area_sqft"]) == pytest.approx(want, abs=0.006)


def test_dense_groups_marks_piles_not_street_parcels():
    pile_bounds = shapely.bounds(pile(300, rotated=False))
    street = shapely.bounds(shapely.box(np.arange(3000) * 30.0, 0, np.arange(3000) * 30.0 + 20, 20))  # a row
    groups = np.r_[np.zeros(300, int), np.ones(3000, int)]
    dense = dense_groups(groups, np.r_[pile_bounds, street])
    assert dense.tolist() == [True, False]
    assert DENSE_PAIRS_PER_PIECE >= 4  # real street parcels meet 2-4 times per piece


def test_heavy_components_flags_only_the_big_tangle():
    star_a, star_b = np.zeros(500, int), np.arange(1, 501)  # one piece over 500 others
    a, b = np.r_[star_a, 600], np.r_[star_b, 601]
    comp = gis.overlay.components(a, b, 700)
    heavy = heavy_components(a, b, comp)
    assert heavy[:501].all()
    assert not heavy[600:].any()


def test_group_union_keeps_the_matrix_narrow_for_one_wide_group():
    wide = shapely.box(np.arange(5000.0), 0, np.arange(5000.0) + 2, 1)  # overlapping strips
    small = shapely.box(np.arange(10.0) * 10, 5, np.arange(10.0) * 10 + 1, 6)
    groups = np.r_[np.zeros(5000, int), np.repeat(np.arange(1, 6), 2)]
    out = group_union(groups, np.r_[wide, small], 6)
    assert out[0].area == pytest.approx(5001.0)
    assert [g.area for g in out[1:]] == pytest.approx([2.0] * 5)


def test_a_street_parcel_with_thousands_of_vertices_and_driveways_agrees_with_the_oracle():
    """A street right-of-way between two rows of lots, its edges in thousands of short
    segments, with driveways and walkways that run into it and overlap there."""
    from tests.oracle.oracle import oracle_billable_area, oracle_outside_and_overlap

    n = 300  # lots per side
    xs = np.linspace(0, 50 * n, 20 * n + 1)  # 6,001 vertices along each edge of the street
    wobble = 0.2 * np.sin(xs)
    south = np.c_[xs, 100 + wobble]
    north = np.c_[xs[::-1], 160 + wobble[::-1]]
    street = shapely.Polygon(np.r_[south, north]).buffer(0)
    lots = [shapely.box(50 * i, 0, 50 * i + 50, 100).difference(street) for i in range(n)]
    lots += [shapely.box(50 * i, 160, 50 * i + 50, 260).difference(street) for i in range(n)]
    shapes = shapely.transform(np.array([*lots, street]), lambda c: c + ORIGIN)
    parcels = gpd.GeoDataFrame({"parcel_id": [f"L{i}" for i in range(2 * n)] + ["street"]},
                               geometry=shapes, crs=2913)
    drives = [shapely.box(50 * i + 10, 60, 50 * i + 22, 125) for i in range(n)]  # 25 ft into the street
    walks = [shapely.box(50 * i + 5, 110, 50 * i + 40, 116) for i in range(n)]  # across the drives
    features = gpd.GeoDataFrame({"feature_type": ["driveway"] * n + ["walkway"] * n},
                                geometry=shapely.transform(np.array(drives + walks), lambda c: c + ORIGIN),
                                crs=2913)
    ours = gis.measure_lots(parcels, features).lots.set_index("parcel_id")
    want = oracle_billable_area(parcels, features, None)
    assert np.allclose(ours.billable_area_sqft, want.reindex(ours.index), atol=0.01)
    side = oracle_outside_and_overlap(parcels, features)
    assert np.allclose(ours.outside_parcel_sqft, side.outside_parcel_sqft.reindex(ours.index), atol=0.01)
    assert ours.billable_area_sqft["street"] > 0


# A walkway and a deck of Cambridge, MA (PDDL; tests/data/LICENSE-cambridge.md), EPSG:2249,
# turned by 30 degrees and repaired as ../shared/bench/tile_realdata.py repairs: the walkway's
# MultiPolygon keeps two zero-area triangles, next to which GEOS finds the deck wholly inside
# the walkway (intersection 49.4 sq ft) although they do not overlap (their union says so).
SLIVER_LOT = (
    'MULTIPOLYGON (((752583.0814531766 2966741.7969927415, 752578.4200349179 2966749.7910665534, '
    '752573.9997877687 2966747.2135802796, 752559.0832548393 2966772.794620105, '
    '752498.1320924766 2966735.1111438246, 752518.987787696 2966704.423522834, '
    '752583.0814531766 2966741.7969927415)))'
)
SLIVER_WALKWAY = (
    'MULTIPOLYGON (((752522.4979991402 2966725.844486202, 752520.5436169403 2966729.1961634764, '
    '752523.4383143382 2966724.2318880726, 752522.4979991402 2966725.844486202)), '
    '((752520.5436169403 2966729.1961634764, 752517.7964231356 2966733.9074768745, '
    '752516.8561079287 2966735.5200750194, 752520.5436169403 2966729.1961634764)), '
    '((752514.0351623098 2966740.3578694505, 752515.2614150294 2966743.23380591, '
    '752514.3210996441 2966744.846403958, 752516.4876672594 2966746.1097424095, '
    '752518.6542347332 2966747.3730810904, 752527.3205032615 2966752.426438186, '
    '752528.5467534302 2966755.3023753827, 752529.7730031144 2966758.1783126174, '
    '752532.5939534896 2966753.340520921, 752519.5945504706 2966745.7604832463, '
    '752518.3682983798 2966742.884546522, 752516.2017304124 2966741.621207867, '
    '752517.1420457953 2966740.0086098234, 752518.0823611785 2966738.39601178, '
    '752516.8561079287 2966735.5200750194, 752515.9157927263 2966737.1326731564, '
    '752514.9754775193 2966738.745271302, 752514.0351623098 2966740.3578694505)))'
)
SLIVER_DECK = (
    'MULTIPOLYGON (((752532.6415744612 2966721.104674231, 752526.9474824279 2966717.7611206286, '
    '752523.1142736793 2966724.410931579, 752525.5423298499 2966725.8366372613, '
    '752526.3144847241 2966726.0687764436, 752528.8935523821 2966727.38580941, '
    '752532.6415744612 2966721.104674231)))'
)


def test_sliver_parts_do_not_make_geos_see_an_overlap_that_is_not_there():
    from gis.repair import drop_slivers

    lot, walkway, deck = (shapely.from_wkt(w) for w in (SLIVER_LOT, SLIVER_WALKWAY, SLIVER_DECK))
    assert shapely.intersection(walkway, deck).area > 49  # what GEOS says next to the slivers
    thin, changed = drop_slivers(np.array([walkway, deck]))
    assert changed.tolist() == [0]
    assert thin[0].area == pytest.approx(walkway.area, abs=1e-6)
    parcels = gpd.GeoDataFrame({"parcel_id": ["L"]}, geometry=[lot], crs=2249)
    features = gpd.GeoDataFrame({"feature_type": ["walkway", "deck"]}, geometry=[walkway, deck], crs=2249)
    got = gis.measure_lots(parcels, features).lots.iloc[0]
    truth = shapely.union_all(shapely.intersection(np.array([walkway, deck]), lot)).area
    unit2 = gis.sqft_per_crs_unit2("EPSG:2249")
    assert got.billable_area_sqft == pytest.approx(truth * unit2, abs=1e-6)
    assert got.overlap_sqft == pytest.approx(0, abs=1e-6)


def test_a_long_lot_line_under_five_thousand_driveways_without_numba_takes_under_3_s_and_1_gib():
    """numba is optional: without it, boxes on a lot are placed against its ring in arrays,
    whose cost is boxes × edges.  A strip lot of 10,000 vertices under 5,000 driveways took
    20 s and 8 GB that way; rings that long are left to GEOS's clip near each box."""
    script = textwrap.dedent(f"""
        import json, resource, sys, time
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).resolve().parents[2])!r})
        import numpy as np, shapely, geopandas as gpd
        import gis, gis.clip
        gis.clip.USE_JIT = False
        t = np.linspace(0, np.pi, 5000)
        side = np.c_[t * 3000, 40 * np.sin(t)]
        strip = shapely.Polygon(np.r_[side, side[::-1] + [0, 60]])
        strip = shapely.affinity.translate(strip, {X0}, {Y0})
        rng = np.random.default_rng(1)
        lo = np.c_[rng.uniform(0, 9400, 5000) + {X0}, rng.uniform(-10, 90, 5000) + {Y0}]
        boxes = shapely.box(*np.c_[lo, lo + rng.uniform(0.5, 12, (5000, 2))].T)
        parcels = gpd.GeoDataFrame({{"parcel_id": [1]}}, geometry=[strip], crs=2913)
        features = gpd.GeoDataFrame({{"feature_type": ["driveway"] * 5000}}, geometry=boxes, crs=2913)
        start = time.perf_counter()
        got = gis.measure_lots(parcels, features).lots.billable_area_sqft.iloc[0]
        seconds = time.perf_counter() - start
        want = shapely.intersection(shapely.union_all(boxes), strip).area
        print(json.dumps({{"seconds": seconds, "got": got, "want": want, "jit": sys.modules.get("numba") is not None,
                          "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    res = json.loads(done.stdout)
    assert not res["jit"], res
    assert res["got"] == pytest.approx(res["want"], rel=1e-9)
    assert res["seconds"] < 3, res
    assert res["rss_mib"] < 1024, res


def clips_counted(monkeypatch) -> list[int]:
    """A list that GEOS's rectangle clipping fills, from now on, with the most coordinates of
    any shape handed to it in each call."""
    handed: list[int] = []
    clip_by_rect = shapely.lib.clip_by_rect

    def counting(geoms, *rect):
        handed.append(int(np.max(shapely.get_num_coordinates(geoms), initial=0)))
        return clip_by_rect(geoms, *rect)

    monkeypatch.setattr(shapely.lib, "clip_by_rect", counting)
    return handed


def right_of_way(n: int, *, turn: float = 0.0, split: bool = False):
    """A city's right-of-way as one lot: a square with a hole for each of n × n blocks (each
    block also a lot), and a walkway over every block's west line, half on the street.
    ``split``: the right-of-way in two parts, west and east of a canal (a MultiPolygon)."""
    xs, ys = (a.ravel() for a in np.meshgrid(np.arange(n) * 100.0, np.arange(n) * 100.0))
    blocks = shapely.box(xs + 2, ys + 2, xs + 98, ys + 98)
    holes = shapely.get_exterior_ring(blocks)
    mid = n // 2 * 100.0
    if split:
        west = shapely.polygons(shapely.get_exterior_ring(shapely.box(-50, -50, mid - 1, n * 100 + 50)),
                                holes=holes[xs < mid])
        east = shapely.polygons(shapely.get_exterior_ring(shapely.box(mid + 1, -50, n * 100 + 50, n * 100 + 50)),
                                holes=holes[xs >= mid])
        street = shapely.MultiPolygon([west, east])
    else:
        street = shapely.polygons(shapely.get_exterior_ring(shapely.box(-50, -50, n * 100 + 50, n * 100 + 50)),
                                  holes=holes)
    walks = shapely.box(xs + 1, ys + 10, xs + 3, ys + 90)
    if turn:
        walks = np.array([shapely.affinity.rotate(w, turn) for w in walks])
    parcels = gpd.GeoDataFrame({"parcel_id": [f"B{i}" for i in range(n * n)] + ["ROW"]},
                               geometry=shapely.transform(np.r_[blocks, street], lambda c: c + ORIGIN), crs=2913)
    features = gpd.GeoDataFrame({"feature_type": ["walkway"] * len(walks)},
                                geometry=shapely.transform(walks, lambda c: c + ORIGIN), crs=2913)
    return parcels, features


@pytest.mark.parametrize(("turn", "split", "batch"), [(0.0, False, 1 << 20), (3.0, False, 1 << 20),
                                                      (0.0, True, 1 << 20), (0.0, True, 64)])
def test_a_right_of_way_with_thousands_of_holes_clips_each_walkway_with_the_holes_near_it(monkeypatch, turn, split,
                                                                                            batch):
    """A city's streets drawn as one lot with a hole for each block: each walkway crossing a
    block line used to be clipped with the whole lot (every hole: pieces times vertices, 15 s
    for 10,000 blocks); the clip is handed only the rings near the walkway, same areas (also
    for a right-of-way in two parts, and made a few rows at a time)."""
    parcels, features = right_of_way(40, turn=turn, split=split)
    street = parcels.geometry.iloc[-1]
    handed = clips_counted(monkeypatch)
    monkeypatch.setattr(gis.overlay, "NEAR_BATCH_COORDS", batch)
    lots = gis.measure_lots(parcels, features).lots.set_index("parcel_id")
    walks = features.geometry.to_numpy()
    want = shapely.union_all(shapely.intersection(walks, street)).area
    assert lots.billable_area_sqft["ROW"] == pytest.approx(want, abs=0.01)
    blocks = parcels.geometry.to_numpy()[:-1]
    assert lots.billable_area_sqft.drop("ROW").to_numpy() == pytest.approx(
        shapely.area(shapely.intersection(walks, blocks)), abs=0.01)
    assert shapely.get_num_coordinates(street) == 5 * (40 * 40 + 1 + split)
    assert handed
    assert max(handed) <= 2 * 5 + 4 * 5, handed  # shells and the few holes near a walkway
    if batch < 1 << 20:
        assert len(handed) > 10  # many batches


def test_a_river_of_a_million_vertices_is_cut_in_tiles_not_clipped_whole_for_each_lot(monkeypatch):
    """A river drawn at survey detail along a row of lots: each lot's water was clipped from
    the whole outline (lots times vertices: 6 s for 1,200 lots); the water is cut into tiles
    near the lots once, and each lot's overwater area stays GEOS's."""
    n = 200
    t = np.linspace(0, n * 50, 200_000)
    bank = np.c_[t, 60 + 5 * np.sin(t / 3.0)]
    river = shapely.Polygon(np.r_[bank, [[n * 50, 200], [0, 200]]])
    lots = shapely.box(np.arange(n) * 50.0, 0, np.arange(n) * 50.0 + 50, 100)
    docks = shapely.box(np.arange(n) * 50.0 + 10, 40, np.arange(n) * 50.0 + 20, 90)
    shift = lambda g: shapely.transform(g, lambda c: c + ORIGIN)  # noqa: E731
    parcels = gpd.GeoDataFrame({"parcel_id": [f"L{i}" for i in range(n)]}, geometry=shift(lots), crs=2913)
    features = gpd.GeoDataFrame({"feature_type": ["roof"] * n}, geometry=shift(docks), crs=2913)
    water = gpd.GeoDataFrame(geometry=[shift(river)], crs=2913)
    handed = clips_counted(monkeypatch)
    lots_out = gis.measure_lots(parcels, features, water).lots
    wet = shapely.area(shapely.intersection(shift(docks), shift(river)))
    assert lots_out.overwater_excluded_sqft.to_numpy() == pytest.approx(wet, abs=0.01)
    assert lots_out.billable_area_sqft.to_numpy() == pytest.approx(500 - wet, abs=0.01)
    assert wet.min() > 0
    assert max(handed, default=0) <= gis.measure.WATER_TILE_COORDS, max(handed)


def test_a_lot_outline_of_two_hundred_thousand_vertices_is_cut_in_tiles_not_clipped_whole_per_feature(monkeypatch):
    """A lot traced at survey detail (one ring of 200,000 vertices) under 2,000 squares across its
    line: each square's piece was clipped from the whole outline (pieces times vertices: 38 s for
    5,000 squares on a million vertices); the outline is cut into tiles near the squares once,
    and the areas stay the oracle's."""
    t = np.linspace(0, 2 * np.pi, 200_000, endpoint=False)
    lot = shapely.Polygon(np.c_[5000 * np.cos(t), 5000 * np.sin(t)])
    rng = np.random.default_rng(7)
    angle, radius = rng.uniform(0, 2 * np.pi, 2000), 5000 + rng.uniform(-8, 3, 2000)
    x, y = radius * np.cos(angle), radius * np.sin(angle)
    squares = shapely.box(x - 3, y - 3, x + 3, y + 3)
    shift = lambda g: shapely.transform(g, lambda c: c + ORIGIN)  # noqa: E731
    parcels = gpd.GeoDataFrame({"parcel_id": ["BIG"]}, geometry=[shift(lot)], crs=2913)
    features = gpd.GeoDataFrame({"feature_type": ["patio"] * len(squares)}, geometry=shift(squares), crs=2913)
    handed = clips_counted(monkeypatch)
    lots = gis.measure_lots(parcels, features).lots
    union = shapely.union_all(squares)
    assert lots.billable_area_sqft.iloc[0] == pytest.approx(union.intersection(lot).area, abs=0.01)
    assert lots.outside_parcel_sqft.iloc[0] == pytest.approx(union.difference(lot).area, abs=0.01)
    assert handed
    assert max(handed) <= 4 * gis.overlay.LONG_RING_TILE_COORDS, max(handed)
