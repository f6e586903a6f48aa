"""gis.tiles: features of many vertices are measured in tiles, with the same areas, in bounded time."""

from __future__ import annotations

import time

import numpy as np
import pytest

import geopandas as gpd
import shapely
import shapely.affinity

from gis import measure_lots
from gis.tiles import SPLIT_COORDS, TILE_COORDS, tiled

CRS = "EPSG:2913"  # Oregon North, international feet


def grid_lots(nx: int, ny: int, size: float = 100.0) -> np.ndarray:
    x, y = np.meshgrid(np.arange(nx) * size, np.arange(ny) * size)
    return shapely.box(x.ravel(), y.ravel(), x.ravel() + size, y.ravel() + size)


def paved_network(nx: int, ny: int, size: float = 100.0, hole_vertices: int = 32) -> shapely.Polygon:
    """One polygon over an ``nx`` by ``ny`` grid of lots: everything but a round hole in each
    lot (a dissolved land-cover mask: paving on every lot line, lawns inside), of
    ``4 + nx * ny * hole_vertices`` vertices, crossing every lot line."""
    angle = np.linspace(0, 2 * np.pi, hole_vertices, endpoint=False)
    x, y = np.meshgrid((np.arange(nx) + 0.5) * size, (np.arange(ny) + 0.5) * size)
    r = 0.4 * size
    holes = [np.c_[cx + r * np.cos(angle), cy + r * np.sin(angle)] for cx, cy in zip(x.ravel(), y.ravel(), strict=True)]
    return shapely.Polygon([(0, 0), (nx * size, 0), (nx * size, ny * size), (0, ny * size)], holes)


def test_tiled__features_without_many_vertices_or_parts_are_returned_as_they_are():
    features = np.array([shapely.box(0, 0, 10, 10), None, shapely.Point(1, 1).buffer(5, 64)])
    tiles = tiled(features)
    assert tiles.geoms is features
    assert tiles.source.tolist() == [0, 1, 2]
    assert not tiles.cut.any()


def test_tiled__parts_and_squares_add_up_to_each_feature_and_stay_small():
    network = paved_network(30, 30)
    parts = shapely.MultiPolygon([shapely.box(i * 50, 0, i * 50 + 20, 20) for i in range(40)])
    features = np.array([shapely.box(0, 0, 5, 5), network, None, parts])
    tiles = tiled(features)
    assert np.unique(tiles.source).tolist() == [0, 1, 2, 3]  # each feature's tiles where it was
    assert (np.diff(tiles.source) >= 0).all()
    assert tiles.cut.tolist() == np.isin(tiles.source, [1, 3]).tolist()
    assert tiles.geoms[tiles.source == 2].tolist() == [None]
    area = np.bincount(tiles.source, weights=np.nan_to_num(shapely.area(tiles.geoms)), minlength=4)
    assert area[[0, 1, 3]] == pytest.approx(shapely.area(features[[0, 1, 3]]), rel=1e-12)
    assert (tiles.source == 3).sum() == 40
    assert shapely.get_num_coordinates(network) > 3 * SPLIT_COORDS
    assert shapely.get_num_coordinates(tiles.geoms[tiles.source == 1]).max() <= TILE_COORDS
    assert shapely.union_all(tiles.geoms[tiles.source == 1]).symmetric_difference(network).area < 1e-6
    assert shapely.is_valid(tiles.geoms[tiles.source != 2]).all()


def test_tiled__a_lot_gets_the_same_tiles_whichever_lots_come_with_it():
    """A chunk, a cluster partition or the app sees some of the lots: the tiles they meet are the
    same shapes, bit for bit, as with every lot (so a table does not depend on the chunking)."""
    network = np.array([paved_network(30, 30)])
    lots = grid_lots(30, 30)
    every = set(shapely.to_wkb(tiled(network, lots).geoms))
    some = tiled(network, lots[[3, 4, 50, 51, 899]]).geoms
    assert 0 < len(some) < len(every)
    assert set(shapely.to_wkb(some)) <= every


def test_tiled__parts_and_squares_that_meet_no_lot_are_left_out():
    far = shapely.MultiPolygon([shapely.box(0, 0, 10, 10)] + [shapely.box(5000 + 20 * i, 5000, 5010 + 20 * i, 5010)
                                                              for i in range(20)])
    small = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(5000, 5000, 5010, 5010)])
    tiles = tiled(np.array([far, small]), np.array([shapely.box(-5, -5, 50, 50)]))
    assert [shapely.bounds(g).tolist() for g in tiles.geoms] == [[0.0, 0.0, 10.0, 10.0], list(small.bounds)]
    assert tiles.source.tolist() == [0, 1]
    assert tiles.cut.tolist() == [True, False]  # a multipart of a tile's size is measured whole


@pytest.mark.parametrize("threads", [1, 2])
def test_tiled__tiles_are_exact_where_a_side_runs_along_a_square(monkeypatch, threads):
    """Outlines on round coordinates have sides along the quadtree's squares.  GEOS's fast
    rectangle clipping gives a valid polygon that is the square less the shape there (the W below
    came out as 1,024 of its 3,072 sq ft); the cut is the overlay's, in one thread or two."""
    from gis import tiles as tiles_module

    monkeypatch.setattr(tiles_module, "SPLIT_COORDS", 4)
    monkeypatch.setattr(tiles_module, "TILE_COORDS", 5)
    monkeypatch.setattr(tiles_module, "MAX_LEVELS", 5)
    w = shapely.Polygon([(0, 0), (0, 64), (32, 32), (64, 64), (64, 0)])
    rng = np.random.default_rng(1)
    on_grid = [shapely.make_valid(shapely.Polygon(rng.integers(0, 9, size=(8, 2)) * 8)) for _ in range(400)]
    largest = [max(shapely.get_parts(g), key=shapely.area) for g in on_grid if g.area > 0]
    outlines = np.array([w, *[shapely.Polygon(g.exterior) for g in largest if g.geom_type == "Polygon"]])
    assert len(outlines) > 20
    cut = tiles_module.cut_large(outlines, None, threads)
    assert cut.cut.sum() > 4 * len(outlines)
    area = np.bincount(cut.source, weights=shapely.area(cut.geoms), minlength=len(outlines))
    assert area == pytest.approx(shapely.area(outlines), abs=1e-9)
    for k in (0, *range(1, len(outlines), 7)):
        assert shapely.union_all(cut.geoms[cut.source == k]).symmetric_difference(outlines[k]).area < 1e-9


def test_tiled__a_polygon_of_many_holes_is_cut_with_each_hole_in_its_own_tile_part(monkeypatch):
    """A tile of many holes is cut with only the holes that cross the square's sides; those wholly
    inside are put back into the part that holds them (here a U whose arms fall in separate parts
    of a square), so the tiles are those of the overlay of the whole polygon."""
    from gis import tiles as tiles_module

    monkeypatch.setattr(tiles_module, "SPLIT_COORDS", 1000)
    holes = [shapely.box(x, y, x + 2, y + 2).exterior.coords
             for arm in (0, 200) for x in range(arm + 5, arm + 95, 9) for y in range(61, 299, 9)]
    u = shapely.Polygon([(0, 0), (300, 0), (300, 300), (200, 300), (200, 50), (100, 50), (100, 300), (0, 300)], holes)
    assert u.is_valid
    assert len(holes) > 2 * tiles_module.MANY_HOLES
    split = []
    real = tiles_module._owners

    def owners(parts, holes):  # a square that holds both arms: its holes are put back part by part
        split.append(len(parts))
        return real(parts, holes)

    monkeypatch.setattr(tiles_module, "_owners", owners)
    cut = tiles_module.cut_large(np.array([u]))
    assert max(split) == 2
    assert shapely.is_valid(cut.geoms).all()
    assert shapely.area(cut.geoms).sum() == pytest.approx(u.area, abs=1e-9)
    assert shapely.union_all(cut.geoms).symmetric_difference(u).area < 1e-9
    assert sum(shapely.get_num_interior_rings(shapely.get_parts(cut.geoms))) > 0


def test_cut_large__an_island_in_a_hole_of_a_many_holed_part_is_cut_as_the_overlay_cuts_it(monkeypatch):
    """A mask as one MultiPolygon: a paved network with a hole a lot, and a paved island inside
    one of the holes (a courtyard).  Leaving out the holes within a square must not leave the
    island inside its part's shell (nested shells: GEOS raised, or could count it twice)."""
    from gis import tiles as tiles_module

    monkeypatch.setattr(tiles_module, "SPLIT_COORDS", 1000)
    net = paved_network(10, 10, hole_vertices=16)
    island = shapely.box(545, 545, 555, 555)  # inside the round hole of lot (5, 5)
    mask = shapely.MultiPolygon([net, island])
    assert mask.is_valid
    assert not net.intersects(island)
    handed, trimmed = [], []
    real, real_meeting = tiles_module._intersections, tiles_module._meeting
    monkeypatch.setattr(tiles_module, "_meeting", lambda *a: trimmed.append(1) or real_meeting(*a))

    def intersections(a, b, threads):  # GEOS's overlay is only defined for valid shapes
        handed.append(shapely.is_valid(a).all())
        return real(a, b, threads)

    monkeypatch.setattr(tiles_module, "_intersections", intersections)
    cut = tiles_module.cut_large(np.array([mask]))
    assert all(handed)
    assert trimmed  # the network's holes were still cut square by square
    assert shapely.is_valid(cut.geoms).all()
    assert shapely.area(cut.geoms).sum() == pytest.approx(mask.area, abs=1e-6)
    assert shapely.union_all(cut.geoms).symmetric_difference(mask).area < 1e-6


def test_measure_lots__dissolved_surfaces_over_hundreds_of_lots_measure_in_bounded_time():
    """Two overlapping paved-network polygons of 28,804 vertices each over 900 lots, as a layer
    dissolved by type gives them.  Each lot pays for the tiles it meets, not for whole polygons:
    measured whole, every lot measured the two networks' overlap at their full size (28 s here,
    against 4.9 s for 400 lots: the cost grew faster than the lots)."""
    nx = ny = 30
    lots = gpd.GeoDataFrame({"parcel_id": np.arange(nx * ny)}, geometry=grid_lots(nx, ny), crs=CRS)
    network = paved_network(nx, ny)
    shifted = shapely.affinity.translate(network, 7, 3)
    features = gpd.GeoDataFrame({"feature_type": ["parking", "walkway", "roof"]},
                                geometry=[network, shifted, shapely.box(10, 10, 30, 30)], crs=CRS)
    start = time.perf_counter()
    got = measure_lots(lots, features).lots
    seconds = time.perf_counter() - start
    expected = [shapely.union_all([shapely.clip_by_rect(g, *lot.bounds) for g in features.geometry]).area
                for lot in lots.geometry]
    assert got.billable_area_sqft.to_numpy() == pytest.approx(expected, abs=1e-6)
    assert got.n_features.tolist() == [3] + [2] * (nx * ny - 1)  # a surface counts once, however many tiles
    assert seconds < 10, f"{seconds:.1f} s"


def test_measure_lots__a_multipart_surface_counts_once_and_reports_its_own_row():
    """Parts far from every lot are left out before cleaning (a bowtie among them is not repaired
    nor reported); a bowtie on a lot is repaired and reported once, for its feature's row; a
    multipart wholly off the lots is reported as outside every lot."""
    lots = gpd.GeoDataFrame({"parcel_id": ["a", "b"]}, geometry=grid_lots(2, 1), crs=CRS)

    def bowtie(x, y):
        return shapely.Polygon([(x, y), (x + 10, y + 10), (x + 10, y), (x, y + 10)])

    far_boxes = [shapely.box(900 + 20 * i, 900, 910 + 20 * i, 910) for i in range(14)]
    walk = shapely.MultiPolygon([shapely.box(10, 10, 20, 20), shapely.box(30, 10, 40, 20),
                                 shapely.box(150, 10, 160, 20), bowtie(900, 800), *far_boxes])
    patio = shapely.MultiPolygon([bowtie(50, 50), shapely.box(150, 50, 160, 60), *far_boxes])
    gone = shapely.MultiPolygon(far_boxes)
    assert min(shapely.get_num_coordinates([walk, patio, gone])) > TILE_COORDS
    features = gpd.GeoDataFrame({"feature_id": ["far", "walk", "patio", "gone"],
                                 "feature_type": ["patio", "walkway", "patio", "deck"]},
                                geometry=[shapely.box(5000, 5000, 5001, 5001), walk, patio, gone], crs=CRS)
    got = measure_lots(lots, features, problems=True)
    assert got.lots.billable_area_sqft.tolist() == [250.0, 200.0]  # the bowtie's two triangles: 50 sq ft
    assert got.lots.n_features.tolist() == [2, 2]
    assert got.lots.repaired.tolist() == [True, False]
    assert sorted((p.feature_id, p.kind) for p in got.problems) == [
        ("far", "outside_all_lots"), ("gone", "outside_all_lots"), ("patio", "repaired")]
