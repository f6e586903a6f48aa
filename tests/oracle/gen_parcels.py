#!/usr/bin/env python3
# Vendored, verbatim copy of /work/shared/bench/gen_parcels.py: the project's shared
# benchmark data generator (see /work/shared/bench/README.md), copied on 2026-11-27 so
# tests can generate synthetic EPSG:2913 data with any seed when /work/shared is absent.
# Original sha256: 7810cd5337185bb37c7a0076597163dc9a20aaa7e11ee4ba29ac074460c97837
# Only these header lines were added (after the shebang); everything from the next line
# on is byte-identical to the original.  Do not edit here: change the shared copy and
# re-vendor.  Check: tail -n +12 tests/oracle/gen_parcels.py | cmp - <(tail -n +2 ORIG)
# ruff: noqa
# fmt: off
# --- end of vendoring header ---
"""Deterministic synthetic tax-lot data for the stormwater billable-area benchmark.

Builds a Portland-like street grid in EPSG:2913 (NAD83(HARN) / Oregon North,
international feet) and writes three GeoParquet files to --out:

  parcels.parquet   parcel_id, land_use, geometry          (tax lots; they tile each block)
  features.parquet  feature_id, feature_type, geometry     (impervious surfaces)
  water.parquet     water_id, water_type, geometry         (rivers and ponds)

plus manifest.json (counts and parameters) and, with --gpkg, stormwater.gpkg.

City model
  * Blocks of 400 x 200 ft separated by 60 ft streets.  86 % are residential
    blocks of 16 lots (2 rows of 8 lots, 50 x 100 ft = 5,000 sq ft); the rest are
    commercial blocks split into 1, 2 or 4 lots (80,000 / 40,000 / 20,000 sq ft).
  * About 20 % of the internal lot lines of residential rows are irregular:
    a jog (L-shaped neighbours) or a slanted line (trapezoids).  Lots still
    tile the block exactly (shared boundaries use bit-identical coordinates).
  * 1 to 6 features per lot: roof (always), driveway, garage, walkway, patio,
    shed on residential lots; roof, parking, driveway, walkway, patio, garage
    on commercial lots.  Patios sit under roof eaves, driveways and walkways
    run into the street, some driveways are shared across a side lot line,
    some sheds straddle the rear lot line, some roofs and sheds are rotated.
  * One sinuous river every 40 block rows crosses the whole city; lots near it
    get docks and floating homes (feature_type 'roof') over the water.  Some
    commercial lots hold a detention pond (a second kind of water polygon).
  * --invalid K appends K self-intersecting "bowtie" patios (feature_type
    'patio', is_valid false) for robustness tests only; the default is 0 so
    benchmark data is valid.

The same --parcels and --seed always give the same files.

Usage: python gen_parcels.py --parcels 100000 --out data/100k --seed 1
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

CRS = "EPSG:2913"
ORIGIN_X, ORIGIN_Y = 7_650_000.0, 660_000.0  # south-east Portland, ft
COORD_DECIMALS = 2  # coordinates are rounded to 0.01 ft

LOT_W, LOT_D = 50.0, 100.0
LOTS_PER_ROW = 8
BLOCK_W, BLOCK_H = LOTS_PER_ROW * LOT_W, 2 * LOT_D  # 400 x 200 ft
STREET_W = 60.0
PITCH_X, PITCH_Y = BLOCK_W + STREET_W, BLOCK_H + STREET_W
RIVER_EVERY_ROWS = 40

FEATURE_TYPES = ["roof", "garage", "shed", "driveway", "walkway", "patio", "parking", "dock"]
FT = {name: code for code, name in enumerate(FEATURE_TYPES)}
N_SLOTS = 6

# Block kinds: residential (16 lots), commercial whole block / halves / quarters.
KIND_PROB = np.array([0.86, 0.04, 0.05, 0.05])
# Lot templates per kind, in block coordinates: (kind, x_off, width, depth, faces_north).
LOT_TEMPLATES = np.array(
    [(0, k * LOT_W, LOT_W, LOT_D, row) for row in (0, 1) for k in range(LOTS_PER_ROW)]
    + [(1, 0, BLOCK_W, BLOCK_H, 0)]
    + [(2, 0, BLOCK_W / 2, BLOCK_H, 0), (2, BLOCK_W / 2, BLOCK_W / 2, BLOCK_H, 0)]
    + [(3, x, BLOCK_W / 2, LOT_D, row) for row in (0, 1) for x in (0, BLOCK_W / 2)],
    dtype=float,
)


def template_ranges():
    kinds = LOT_TEMPLATES[:, 0].astype(int)
    counts = np.bincount(kinds, minlength=len(KIND_PROB))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return starts, counts


# --------------------------------------------------------------------------- blocks


def layout_blocks(n_parcels: int, rng: np.random.Generator):
    """Block kinds, grid position of each block, and the lot template of each parcel."""
    starts, counts = template_ranges()
    expected = float(KIND_PROB @ counts)
    kinds = np.empty(0, dtype=int)
    while counts[kinds].sum() < n_parcels:
        more = int(math.ceil((n_parcels - counts[kinds].sum()) / expected * 1.1)) + 2
        kinds = np.concatenate([kinds, rng.choice(len(KIND_PROB), size=more, p=KIND_PROB)])
    n_blocks = int(np.searchsorted(np.cumsum(counts[kinds]), n_parcels)) + 1
    kinds = kinds[:n_blocks]

    n_cols = max(1, math.ceil(math.sqrt(n_blocks * PITCH_Y / PITCH_X)))
    n_rows = math.ceil(n_blocks / n_cols)
    block = np.arange(n_blocks)
    block_x = ORIGIN_X + (block % n_cols) * PITCH_X
    block_y = ORIGIN_Y + (block // n_cols) * PITCH_Y

    lot_counts = counts[kinds]
    parcel_block = np.repeat(block, lot_counts)
    first_of_block = np.repeat(np.cumsum(lot_counts) - lot_counts, lot_counts)
    template = np.repeat(starts[kinds], lot_counts) + np.arange(parcel_block.size) - first_of_block
    return kinds, block_x, block_y, n_cols, n_rows, parcel_block[:n_parcels], template[:n_parcels]


def residential_lot_lines(n_blocks: int, rng: np.random.Generator):
    """Lot lines of every residential row, as (block, row, line, 4 points, (x, v)).

    Line k separates lot k-1 and lot k of a row; x is in block coordinates and v is
    the depth from the row's street.  Lines 0 and 8 are the block edges (straight).
    Internal lines are straight (80 %), jogged (10 %) or slanted (10 %); offsets stay
    within 15 ft so that neighbouring lines never cross.
    """
    shape = (n_blocks, 2, LOTS_PER_ROW + 1)
    x_nominal = np.broadcast_to(np.arange(LOTS_PER_ROW + 1) * LOT_W, shape)
    style = rng.choice(3, size=shape, p=[0.8, 0.1, 0.1])
    style[:, :, [0, LOTS_PER_ROW]] = 0
    jog_depth = rng.uniform(30, 70, shape)
    jog_shift = rng.choice([-1, 1], shape) * rng.uniform(5, 15, shape)
    slant = rng.uniform(-10, 10, shape)

    pts = np.empty(shape + (4, 2))
    pts[..., 0] = x_nominal[..., None]
    pts[..., 1] = [0.0, 0.0, LOT_D, LOT_D]  # repeated points are removed later
    jog, tilt = style == 1, style == 2
    pts[jog, 1, 1] = jog_depth[jog]
    pts[jog, 2, 1] = jog_depth[jog]
    pts[jog, 2:, 0] += jog_shift[jog][:, None]
    pts[tilt, :2, 0] -= slant[tilt][:, None]
    pts[tilt, 2:, 0] += slant[tilt][:, None]
    return pts


def make_parcels(n_parcels: int, rng: np.random.Generator):
    kinds, block_x, block_y, n_cols, n_rows, p_block, template = layout_blocks(n_parcels, rng)
    _, x_off, width, depth, north = LOT_TEMPLATES[template].T
    north = north.astype(bool)
    residential = kinds[p_block] == 0

    # Left and right lot lines of every parcel in (block x, depth v); commercial lots are rectangles.
    left = np.empty((n_parcels, 4, 2))
    left[:, :, 0] = x_off[:, None]
    left[:, :, 1] = np.array([0.0, 0.0, 1.0, 1.0]) * depth[:, None]
    right = left.copy()
    right[:, :, 0] += width[:, None]

    lines = residential_lot_lines(len(kinds), rng)
    r = np.flatnonzero(residential)
    lot_in_row = (x_off[r] / LOT_W).astype(int)
    row = north[r].astype(int)
    left[r] = lines[p_block[r], row, lot_in_row]
    right[r] = lines[p_block[r], row, lot_in_row + 1]

    # Ring: front edge, up the right line, back edge, down the left line.
    ring = np.concatenate([left[:, :1], right, left[:, ::-1]], axis=1)
    bx, by = block_x[p_block], block_y[p_block]
    xy = np.empty_like(ring)
    xy[..., 0] = bx[:, None] + ring[..., 0]
    xy[..., 1] = by[:, None] + np.where(north[:, None], BLOCK_H - ring[..., 1], ring[..., 1])
    geoms = shapely.remove_repeated_points(shapely.polygons(np.round(xy, COORD_DECIMALS)))

    lots = pd.DataFrame(
        {
            "block_x": bx,
            "block_y": by,
            "x_off": x_off,
            "width": width,
            "depth": depth,
            "north": north,
            "residential": residential,
        }
    )
    grid = {"blocks": len(kinds), "cols": n_cols, "rows": n_rows}
    return geoms, lots, grid


# --------------------------------------------------------------------------- water


def make_rivers(grid: dict, rng: np.random.Generator):
    """One sinuous river every RIVER_EVERY_ROWS block rows, spanning the whole grid."""
    n_rivers = max(1, grid["rows"] // RIVER_EVERY_ROWS)
    centre_row = np.arange(n_rivers) * RIVER_EVERY_ROWS + min(RIVER_EVERY_ROWS // 2, grid["rows"] // 2)
    rivers = pd.DataFrame(
        {
            "y0": ORIGIN_Y + centre_row * PITCH_Y + rng.uniform(0, STREET_W + BLOCK_H, n_rivers),
            "amplitude": rng.uniform(200, 600, n_rivers),
            "wavelength": rng.uniform(4000, 9000, n_rivers),
            "phase": rng.uniform(0, 2 * np.pi, n_rivers),
            "half_width": rng.uniform(200, 350, n_rivers),
        }
    )
    x = np.arange(ORIGIN_X - 1000, ORIGIN_X + grid["cols"] * PITCH_X + 1000, 50.0)
    polygons = []
    for rv in rivers.itertuples():
        yc = river_centre(rv, x)
        shell = np.concatenate(
            [np.column_stack([x, yc - rv.half_width]), np.column_stack([x[::-1], yc[::-1] + rv.half_width])]
        )
        polygons.append(shapely.Polygon(np.round(shell, COORD_DECIMALS)))
    return polygons, rivers


def river_centre(rv, x):
    return rv.y0 + rv.amplitude * np.sin(2 * np.pi * (x - ORIGIN_X) / rv.wavelength + rv.phase)


def nearest_bank(lots: pd.DataFrame, rivers: pd.DataFrame):
    """Signed distance (ft, negative = in the river) from each lot centre to the
    nearest river, and the local depth v of that river's nearest bank."""
    cx = lots.block_x + lots.x_off + lots.width / 2
    cy = np.where(lots.north, lots.block_y + BLOCK_H - lots.depth / 2, lots.block_y + lots.depth / 2)
    best = np.full(len(lots), np.inf)
    bank_y = np.zeros(len(lots))
    for rv in rivers.itertuples():
        yc = river_centre(rv, cx.to_numpy())
        dist = np.abs(cy - yc) - rv.half_width
        closer = dist < best
        best[closer] = dist[closer]
        bank_y[closer] = (yc + np.sign(cy - yc) * rv.half_width)[closer]
    bank_v = np.where(lots.north, lots.block_y + BLOCK_H - bank_y, bank_y - lots.block_y)
    return best, bank_v


# --------------------------------------------------------------------------- features


class Slots:
    """Up to N_SLOTS rectangles per lot in lot-local coordinates.

    u runs along the street frontage (0 = left lot corner), v is the depth from the
    street (0 = front lot line).  Each rectangle is (u0, v0, u1, v1) rotated by
    `angle` degrees about its centre.
    """

    def __init__(self, n: int):
        self.rect = np.zeros((n, N_SLOTS, 4))
        self.angle = np.zeros((n, N_SLOTS))
        self.kind = np.zeros((n, N_SLOTS), dtype=np.int8)
        self.present = np.zeros((n, N_SLOTS), dtype=bool)

    def set(self, rows, slot, kind, u0, v0, u1, v1, present=True, angle=0.0):
        self.rect[rows, slot] = np.column_stack([np.broadcast_to(c, len(rows)) for c in (u0, v0, u1, v1)])
        self.kind[rows, slot] = FT[kind] if isinstance(kind, str) else kind
        self.present[rows, slot] = present
        self.angle[rows, slot] = angle


class Draw:
    """Vectorized random draws, one value per lot."""

    def __init__(self, rng: np.random.Generator, n: int):
        self.rng, self.n = rng, n

    def uniform(self, low, high):
        return self.rng.uniform(low, high, self.n)

    def chance(self, p):
        return self.rng.random(self.n) < p


def residential_features(slots: Slots, rows, W, D, rng):
    n = len(rows)
    draw = Draw(rng, n)

    rw, rd, setback = draw.uniform(24, 34), draw.uniform(28, 48), draw.uniform(12, 25)
    hu0 = 5 + rng.random(n) * (W - rw - 10)
    house_tilt = np.where(draw.chance(0.05), draw.uniform(-6, 6), 0.0)
    slots.set(rows, 0, "roof", hu0, setback, hu0 + rw, setback + rd, angle=house_tilt)

    has_drive, has_garage = draw.chance(0.7), draw.chance(0.5)
    has_garage &= has_drive
    room_right = W - (hu0 + rw) >= hu0
    du0 = np.where(room_right, W - 11, 1.0)
    shared = draw.chance(0.1)  # a driveway shared with the neighbour, centred on the side lot line
    du0 = np.where(shared, np.where(room_right, W - 5, -5.0), du0)
    garage_v0 = D - draw.uniform(26, 32)
    drive_end = np.where(has_garage, garage_v0 + 2, setback + draw.uniform(0.3, 1.0) * rd)
    slots.set(rows, 1, "driveway", du0, -12.0, du0 + 10, drive_end, present=has_drive)
    gu0 = np.clip(du0 - 5, 1, W - 21)
    slots.set(rows, 2, "garage", gu0, garage_v0, gu0 + 20, garage_v0 + 22, present=has_garage)

    wu = hu0 + rw / 2 + draw.uniform(-5, 5)
    slots.set(rows, 3, "walkway", wu - 2, -6.0, wu + 2, setback + 1, present=draw.chance(0.6))

    pw = draw.uniform(12, 20)
    pu0 = hu0 + rng.random(n) * np.maximum(rw - pw, 0)
    patio_end = np.minimum(setback + rd + draw.uniform(8, 16), D - 2)
    slots.set(rows, 4, "patio", pu0, setback + rd - 3, pu0 + pw, patio_end, present=draw.chance(0.5))

    su0 = 1 + rng.random(n) * (W - 10)
    sv0 = np.where(draw.chance(0.2), D - 6, D - 12)  # some sheds straddle the rear lot line
    shed_tilt = np.where(draw.chance(0.5), draw.uniform(-20, 20), 0.0)
    slots.set(rows, 5, "shed", su0, sv0, su0 + 8, sv0 + 10, present=draw.chance(0.25), angle=shed_tilt)


def commercial_features(slots: Slots, rows, W, D, rng):
    n = len(rows)
    draw = Draw(rng, n)

    bw, bd = W * draw.uniform(0.35, 0.65), D * draw.uniform(0.35, 0.6)
    bu0 = 5 + rng.random(n) * (W - bw - 10)
    bv0 = 10 + rng.random(n) * (D - bd - 15)
    slots.set(rows, 0, "roof", bu0, bv0, bu0 + bw, bv0 + bd)

    front = bv0 >= 25  # park in front of the building when there is room, else behind it
    pv0 = np.where(front, 3.0, bv0 + bd - 4)
    pv1 = np.where(front, bv0 + 4, D - 2)
    slots.set(rows, 1, "parking", 2.0, pv0, W - 2, pv1, present=draw.chance(0.85) & (pv1 - pv0 > 10))

    au0 = 5 + rng.random(n) * (W - 34)
    slots.set(rows, 2, "driveway", au0, -12.0, au0 + 24, 6.0, present=draw.chance(0.7))
    slots.set(rows, 3, "walkway", bu0 - 3, bv0 - 6, bu0 + bw + 3, bv0 + 1, present=draw.chance(0.5))
    slots.set(rows, 4, "patio", bu0 + bw - 2, bv0 + 5, bu0 + bw + 18, bv0 + 20, present=draw.chance(0.3))
    slots.set(rows, 5, "garage", bu0, bv0 + bd - 1, bu0 + 30, bv0 + bd + 19, present=draw.chance(0.3))


def waterfront_features(slots: Slots, rows, W, D, bank_v, in_river, rng):
    """Docks across the nearest bank and floating homes on lots near or in a river."""
    n = len(rows)
    length, dock_w = rng.uniform(30, 60, n), rng.uniform(6, 8, n)
    du0 = 2 + rng.random(n) * (W - 12)
    centre = np.clip(bank_v, length / 2 - 5, D + 5 - length / 2)
    slots.set(rows, 4, "dock", du0, centre - length / 2, du0 + dock_w, centre + length / 2)

    hu0 = 2 + rng.random(n) * (W - 28)
    hv0 = 5 + rng.random(n) * (D - 50)
    home = in_river & (rng.random(n) < 0.6)
    second_dock = ~in_river & (rng.random(n) < 0.5)
    d2 = np.clip(du0 + 15, 2, W - 10)
    u0 = np.where(home, hu0, d2)
    v0 = np.where(home, hv0, centre - length / 3)
    u1 = np.where(home, hu0 + 24, d2 + dock_w)
    v1 = np.where(home, hv0 + 40, centre + length / 3)
    kind = np.where(home, FT["roof"], FT["dock"])
    slots.set(rows, 5, kind, u0, v0, u1, v1, present=home | second_dock)


def local_to_world(lots: pd.DataFrame, idx, u, v):
    """Lot-local (u, v) to EPSG:2913 x, y; u and v are (n, k) arrays for lots idx."""
    x = (lots.block_x.to_numpy()[idx] + lots.x_off.to_numpy()[idx])[:, None] + u
    north = lots.north.to_numpy()[idx][:, None]
    by = lots.block_y.to_numpy()[idx][:, None]
    y = by + np.where(north, BLOCK_H - v, v)
    return x, y


def rectangles(lots, idx, rect, angle, bowtie=False):
    """Polygons for rectangles (n, 4) = (u0, v0, u1, v1) rotated by angle (deg) about their centre."""
    u0, v0, u1, v1 = rect.T
    order = [(0, 0), (1, 1), (1, 0), (0, 1)] if bowtie else [(0, 0), (1, 0), (1, 1), (0, 1)]
    cu = np.column_stack([np.where(a, u1, u0) for a, _ in order])
    cv = np.column_stack([np.where(b, v1, v0) for _, b in order])
    theta = np.radians(angle)[:, None]
    mu, mv = (u0 + u1)[:, None] / 2, (v0 + v1)[:, None] / 2
    ru = mu + (cu - mu) * np.cos(theta) - (cv - mv) * np.sin(theta)
    rv = mv + (cu - mu) * np.sin(theta) + (cv - mv) * np.cos(theta)
    x, y = local_to_world(lots, idx, ru, rv)
    ring = np.stack([x, y], axis=-1)
    return shapely.polygons(np.round(ring, COORD_DECIMALS))


def make_features(lots: pd.DataFrame, rivers: pd.DataFrame, rng):
    n = len(lots)
    W, D = lots.width.to_numpy(), lots.depth.to_numpy()
    slots = Slots(n)
    res = np.flatnonzero(lots.residential)
    com = np.flatnonzero(~lots.residential)
    residential_features(slots, res, W[res], D[res], rng)
    commercial_features(slots, com, W[com], D[com], rng)

    dist, bank_v = nearest_bank(lots, rivers)
    wet = np.flatnonzero(dist < 100)
    waterfront_features(slots, wet, W[wet], D[wet], bank_v[wet], dist[wet] < 0, rng)

    parcel_idx, slot = np.nonzero(slots.present)  # row-major: grouped by parcel
    geoms = rectangles(lots, parcel_idx, slots.rect[parcel_idx, slot], slots.angle[parcel_idx, slot])
    kinds = slots.kind[parcel_idx, slot]
    return geoms, kinds, dist


def make_bowties(lots: pd.DataFrame, n: int, rng):
    """Self-intersecting 'patio' polygons on n random residential lots."""
    lot = rng.choice(np.flatnonzero(lots.residential), size=n, replace=False)
    W, D = lots.width.to_numpy()[lot], lots.depth.to_numpy()[lot]
    rect = np.column_stack(np.broadcast_arrays(10.0, 70.0, W - 10, D - 5))
    return rectangles(lots, lot, rect, np.zeros(n), bowtie=True)


def make_ponds(lots: pd.DataFrame, dist, rng, sides=24):
    """Round detention ponds in about 15 % of the commercial lots away from rivers."""
    candidates = np.flatnonzero(~lots.residential & (dist > 100))
    idx = candidates[rng.random(len(candidates)) < 0.15]
    W, D = lots.width.to_numpy()[idx], lots.depth.to_numpy()[idx]
    radius = rng.uniform(12, 30, len(idx))
    cu = radius + 2 + rng.random(len(idx)) * (W - 2 * radius - 4)
    cv = radius + 2 + rng.random(len(idx)) * (D - 2 * radius - 4)
    t = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    u = cu[:, None] + radius[:, None] * np.cos(t)
    v = cv[:, None] + radius[:, None] * np.sin(t)
    x, y = local_to_world(lots, idx, u, v)
    return shapely.polygons(np.round(np.stack([x, y], axis=-1), COORD_DECIMALS))


# --------------------------------------------------------------------------- main


def generate(n_parcels: int, seed: int, n_invalid: int = 0):
    rng = np.random.default_rng(seed)
    parcel_geoms, lots, grid = make_parcels(n_parcels, rng)
    river_geoms, rivers = make_rivers(grid, rng)
    feature_geoms, kinds, dist = make_features(lots, rivers, rng)
    pond_geoms = make_ponds(lots, dist, rng)
    valid = np.ones(len(feature_geoms), dtype=bool)
    if n_invalid:  # separate random stream: the rest of the data equals the run without --invalid
        bowties = make_bowties(lots, n_invalid, np.random.default_rng([seed, 1]))
        feature_geoms = np.concatenate([feature_geoms, bowties])
        kinds = np.concatenate([kinds, np.full(n_invalid, FT["patio"], dtype=kinds.dtype)])
        valid = np.concatenate([valid, np.zeros(n_invalid, dtype=bool)])

    parcels = gpd.GeoDataFrame(
        {
            "parcel_id": np.arange(1, n_parcels + 1, dtype=np.int64),
            "land_use": np.where(lots.residential, "residential", "commercial"),
        },
        geometry=parcel_geoms,
        crs=CRS,
    )
    features = gpd.GeoDataFrame(
        {
            "feature_id": np.arange(1, len(feature_geoms) + 1, dtype=np.int64),
            "feature_type": np.asarray(FEATURE_TYPES)[kinds],
        },
        geometry=feature_geoms,
        crs=CRS,
    )
    if n_invalid:
        features["is_valid"] = valid
    water_geoms = np.concatenate([np.asarray(river_geoms, dtype=object), pond_geoms])
    water = gpd.GeoDataFrame(
        {
            "water_id": np.arange(1, len(water_geoms) + 1, dtype=np.int64),
            "water_type": ["river"] * len(river_geoms) + ["pond"] * len(pond_geoms),
        },
        geometry=water_geoms,
        crs=CRS,
    )
    return parcels, features, water, grid


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parcels", type=int, default=10_000, help="number of parcels (default 10000)")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--invalid", type=int, default=0, help="bowtie features to add (robustness tests only)")
    ap.add_argument("--gpkg", action="store_true", help="also write stormwater.gpkg (slower)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    parcels, features, water, grid = generate(args.parcels, args.seed, args.invalid)
    t1 = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "stormwater.gpkg").unlink(missing_ok=True)
    for name, gdf in (("parcels", parcels), ("features", features), ("water", water)):
        gdf.to_parquet(args.out / f"{name}.parquet", index=False)
        if args.gpkg:
            gdf.to_file(args.out / "stormwater.gpkg", layer=name, driver="GPKG")
    t2 = time.perf_counter()

    manifest = {
        "crs": CRS,
        "seed": args.seed,
        "parcels": len(parcels),
        "features": len(features),
        "water_polygons": len(water),
        "invalid_features": args.invalid,
        "grid": grid,
        "feature_types": features.feature_type.value_counts().to_dict(),
        "bounds": [round(v, 2) for v in parcels.total_bounds.tolist()],
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(
        f"{len(parcels):,} parcels, {len(features):,} features, {len(water):,} water polygons "
        f"-> {args.out}  (generate {t1 - t0:.1f} s, write {t2 - t1:.1f} s)"
    )


if __name__ == "__main__":
    main()
