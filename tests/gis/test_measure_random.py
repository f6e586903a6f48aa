"""Randomized cross-check of every reported area against a lot-by-lot shapely reference.

The engine takes many exact shortcuts (box arithmetic, rectangle tests,
inclusion–exclusion over overlap graphs with triangles, water by the same
sums).  Here dense random scenes — boxes and rotated shapes piled on top of
each other across irregular lot lines, with a river through them — are
measured both ways and must agree on each column, per lot.
"""

from __future__ import annotations

import numpy as np
import pytest

import shapely

import gis
from gis.measure import PRECEDENCE
from tests.conftest import layer

TOL = 1e-6  # sq ft; the scenes are small, so the sums are exact to float rounding
TYPES = ["roof", "garage", "shed", "driveway", "walkway", "patio", "dock"]


def scene(seed: int):
    """A row of six irregular lots, 40 random features, a river across the back."""
    rng = np.random.default_rng(seed)
    cuts = np.cumsum(rng.uniform(35, 65, 7))
    cuts -= cuts[0]
    lots = []
    for i in range(6):
        x0, x1 = cuts[i], cuts[i + 1]
        if i % 3 == 0:  # trapezoid: slanted side lines
            poly = shapely.Polygon([(x0, 0), (x1, 0), (x1 + 4, 100), (x0 + (4 if i else 0), 100)])
        elif i % 3 == 1:  # L-shaped: jogged right line (the next lot gets the jog too)
            poly = shapely.Polygon([(x0 + 4, 0), (x1, 0), (x1, 50), (x1 + 6, 50), (x1 + 6, 100), (x0 + 4, 100)])
        else:
            poly = shapely.box(x0 + 6, 0, x1, 100)
        lots.append(poly)
    # make the lots tile: each lot is what its polygon covers minus the lots before it
    tiled, taken = [], shapely.Polygon()
    for poly in lots:
        part = poly.difference(taken)
        part = max(shapely.get_parts(part), key=lambda g: g.area) if part.geom_type != "Polygon" else part
        tiled.append(part)
        taken = taken.union(part)
    feats = []
    span = float(cuts[-1])
    for _ in range(40):
        x, y = rng.uniform(-10, span + 10), rng.uniform(-20, 115)
        w, h = rng.uniform(3, 40), rng.uniform(3, 40)
        g = shapely.box(x, y, x + w, y + h)
        if rng.random() < 0.3:
            g = shapely.affinity.rotate(g, rng.uniform(5, 80))
        feats.append((g, TYPES[rng.integers(len(TYPES))]))
    river = shapely.Polygon([(-50, 80 + rng.uniform(-5, 5)), (span + 50, 90 + rng.uniform(-5, 5)),
                             (span + 50, 300), (-50, 300)])
    return tiled, feats, river


def reference(lot_shapes, feats, river):
    """Per lot: billable, overlap, overwater, outside and the per-type split, the slow way."""
    all_lots = shapely.union_all(lot_shapes)
    rows = []
    for lot in lot_shapes:
        on = [(g, t) for g, t in feats if g.intersection(lot).area > 0]
        pieces = [(g.intersection(lot), t) for g, t in on]
        union = shapely.union_all([p for p, _ in pieces]) if pieces else shapely.Polygon()
        dry = union.difference(river)
        outside = shapely.union_all([g.difference(all_lots) for g, _ in on]).area if on else 0.0
        split, covered = {}, shapely.Polygon()
        order = sorted(range(len(pieces)), key=lambda i: PRECEDENCE.index(pieces[i][1]))
        for i in order:
            p, t = pieces[i]
            split[t] = split.get(t, 0.0) + p.difference(covered).difference(river).area
            covered = covered.union(p)
        rows.append({
            "billable_area_sqft": dry.area,
            "overlap_sqft": sum(p.area for p, _ in pieces) - union.area,
            "overwater_excluded_sqft": union.area - dry.area,
            "outside_parcel_sqft": outside,
            "split": split,
        })
    return rows


@pytest.mark.parametrize("seed", range(12))
def test_measure__random_dense_scenes_agree_with_shapely_on_every_column(seed):
    assert_agrees_with_reference(*scene(seed), seed)


def assert_agrees_with_reference(lot_shapes, feats, river, seed) -> None:
    """The engine's table for a scene equals :func:`reference` on every column of every lot."""
    parcels = layer([(g, f"L{i}") for i, g in enumerate(lot_shapes)], "parcel_id")
    m = gis.measure_lots(parcels, layer(feats, "feature_type"), layer([(river, "river")], "kind"))
    got = m.lots.set_index("parcel_id")
    for i, ref in enumerate(reference(lot_shapes, feats, river)):
        row = got.loc[f"L{i}"]
        for col in ("billable_area_sqft", "overlap_sqft", "overwater_excluded_sqft", "outside_parcel_sqft"):
            assert row[col] == pytest.approx(ref[col], abs=TOL), (seed, i, col)
        by_type = m.lot(f"L{i}")["by_type"]
        assert by_type == pytest.approx({t: a for t, a in ref["split"].items() if a > TOL}, abs=TOL), (seed, i)
