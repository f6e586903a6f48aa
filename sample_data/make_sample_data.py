#!/usr/bin/env python3
"""Generate the synthetic Portland sample neighbourhood in ``sample_data/``.

Run with the project's Python (geopandas stack installed)::

    python sample_data/make_sample_data.py            # writes next to this file
    python sample_data/make_sample_data.py --check    # also re-reads and verifies

Outputs (all EPSG:2913, NAD83(HARN) / Oregon North, international feet):

* ``parcels.geojson``   80 tax lots, 20 per property class
* ``features.geojson``  the utility's record of impervious features
* ``water.geojson``     the Willamette River (a synthetic strip)
* ``orthophoto.tif``    synthetic RGB "aerial photo", 1 ft pixels
* ``impervious.tif``    0/1 impervious raster, 3 ft pixels
* ``expected_sba.csv``  per-lot exact billable area computed with plain shapely
* ``README.md``         only its per-lot table between the ``expected-sba`` markers

Everything is deterministic: the only randomness is ``random.Random(SEED)``
(Mersenne Twister, stable across Python versions) and a seeded NumPy
``Generator`` (PCG64) for the photo noise.  GeoJSON is written by hand with the
``json`` module so the bytes do not depend on the GDAL version.

The data are synthetic (made up by this script) and dedicated to the public
domain under CC0-1.0.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from pathlib import Path

import numpy as np

import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping, shape

HERE = Path(__file__).resolve().parent
SEED = 2913
EPSG = 2913
CRS_URN = "urn:ogc:def:crs:EPSG::2913"

# South-west corner of the neighbourhood: the east bank of the Willamette near
# Sellwood / Oaks Bottom, SE Portland (about -122.664, 45.466).
X0, Y0 = 7_647_000.0, 664_000.0
STREET = 60.0
BLOCK_W, BLOCK_H = 400.0, 200.0
PITCH_X, PITCH_Y = BLOCK_W + STREET, BLOCK_H + STREET
GRID_X0 = X0 + 210.0  # first block column, east of SE Oaks Pkwy (x0+150..x0+210)
RIVER_WEST = X0 - 1100.0
RIVER_SOUTH, RIVER_NORTH = Y0 - 400.0, Y0 + 1500.0
WATERFRONT_WEST = X0 - 300.0  # riverfront tax lots reach 300 ft into the river
WATERFRONT_EAST = X0 + 150.0

# Overwater types (SPEC A1.1); billable types are everything else.
OVERWATER_TYPES = ("dock", "float", "floating_home")
FEATURE_TYPES = (
    "roof",
    "garage",
    "shed",
    "driveway",
    "parking",
    "walkway",
    "patio",
    "deck",
    "pool",
    "gravel",
    "dock",
    "floating_home",
    "other",
)

# E-W streets south of each block row (row 0 is the southernmost).
EW_STREETS = [
    "SE Tacoma St",
    "SE Spokane St",
    "SE Umatilla St",
    "SE Sellwood Blvd",
    "SE Nehalem St",
]

# Block layout: (row, col) -> block code.  Codes are expanded by BLOCK_LOTS.
# Lots are (class, x, y, w, h, faces) in block coordinates (origin = block's
# south-west corner, x east, y north); faces = "S" (front on the street south
# of the block) or "N".
SF, MF, MU, NR = "single_family", "multifamily", "mixed_use", "non_residential"


def _row(cls, y, h, faces, widths, x=0.0):
    lots = []
    for w in widths:
        lots.append((cls, x, y, w, h, faces))
        x += w
    return lots


BLOCK_LOTS = {
    # 16 single-family lots, 2 rows of 8 (50 x 100)
    "A": _row(SF, 0, 100, "S", [50] * 8) + _row(SF, 100, 100, "N", [50] * 8),
    # 4 single-family + 2 multifamily (100x100) south, 4 multifamily north
    "B": _row(SF, 0, 100, "S", [50] * 4)
    + _row(MF, 0, 100, "S", [100] * 2, x=200)
    + _row(MF, 100, 100, "N", [100] * 4),
    "C": _row(MF, 0, 200, "S", [100] * 4),  # 4 MF 100x200
    "D": _row(MF, 0, 100, "S", [100] * 4) + _row(MF, 100, 100, "N", [100] * 4),
    "E": _row(MF, 0, 200, "S", [100] * 2) + _row(MU, 0, 200, "S", [100] * 2, x=200),
    "F": _row(MU, 0, 100, "S", [100] * 4) + _row(MU, 100, 100, "N", [100] * 4),
    "G": _row(MU, 0, 100, "S", [100] * 4) + _row(MU, 100, 100, "N", [100] * 4),
    "H": _row(MU, 0, 200, "S", [200]) + _row(NR, 0, 200, "S", [200], x=200),
    "I": _row(NR, 0, 100, "S", [200] * 2) + _row(NR, 100, 100, "N", [200] * 2),
    "J": _row(NR, 0, 100, "S", [200] * 2) + _row(NR, 100, 100, "N", [200] * 2),
    "K": _row(NR, 0, 200, "S", [200] * 2),
    "L": _row(NR, 0, 200, "S", [100] * 4),
    "M": _row(NR, 0, 100, "S", [200] * 2) + _row(NR, 100, 100, "N", [200] * 2),
}
# row 0 = south (commercial main street), row 3 = north (houses)
BLOCK_GRID = {
    (0, 0): "H",
    (0, 1): "I",
    (0, 2): "J",
    (0, 3): "M",
    (1, 0): "E",
    (1, 1): "F",
    (1, 2): "G",
    (1, 3): "K",
    (2, 0): "B",
    (2, 1): "C",
    (2, 2): "D",
    (2, 3): "L",
    (3, 0): "A",
    (3, 1): "PARK",
    (3, 2): "PARK",
    (3, 3): "PARK",  # Sellwood Park
}


# --------------------------------------------------------------------------
# geometry helpers
# --------------------------------------------------------------------------


def rnd(g):
    """Round every coordinate to 0.01 ft."""
    return shapely.transform(g, lambda c: np.round(c, 2))


def bank_x(y: float) -> float:
    """x of the river's east bank at northing y (a gentle meander)."""
    t = (y - Y0) / 900.0
    return X0 - 30.0 + 12.0 * math.sin(2 * math.pi * t) + 6.0 * math.sin(5.3 * t + 0.7)


class Lot:
    """A tax lot with a local frame: u along the frontage, v from the front line."""

    def __init__(self, cls, x, y, w, h, faces, block, row, col):
        self.cls, self.x, self.y, self.w, self.h = cls, x, y, w, h
        self.faces, self.block, self.row, self.col = faces, block, row, col
        self.features: list[tuple[str, object]] = []  # (type, geometry)
        self.geom = box(x, y, x + w, y + h)

    # width along the street and depth away from it
    @property
    def W(self):
        """The lot's width along its street, in feet."""
        return self.w

    @property
    def D(self):
        """The lot's depth away from its street, in feet."""
        return self.h

    def to_world(self, u, v):
        """The map position (ft) of the point ``u`` along the frontage and ``v`` back from the front line."""
        if self.faces == "S":
            return self.x + u, self.y + v
        return self.x + self.w - u, self.y + self.h - v

    def rect(self, u0, v0, u1, v1):
        """A rectangle given in the lot's frame (u0, v0)-(u1, v1), as a map polygon."""
        pts = [self.to_world(u, v) for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))]
        return shapely.orient_polygons(Polygon(pts))

    def rotated_rect(self, uc, vc, du, dv, angle_deg):
        """A ``du`` x ``dv`` rectangle centred at (uc, vc) in the lot's frame, turned by ``angle_deg``."""
        r = box(uc - du / 2, vc - dv / 2, uc + du / 2, vc + dv / 2)
        r = shapely.affinity.rotate(r, angle_deg, origin=(uc, vc))
        pts = [self.to_world(u, v) for u, v in list(r.exterior.coords)[:-1]]
        return shapely.orient_polygons(Polygon(pts))

    def add(self, ftype, geom):
        """Put a feature of type ``ftype`` on the lot."""
        self.features.append((ftype, geom))


# --------------------------------------------------------------------------
# parcels
# --------------------------------------------------------------------------


def make_lots():
    """The 80 tax lots, 20 per property class, each with its local frame."""
    lots = []
    # Riverfront tax lots between the river and SE Oaks Pkwy; they reach into
    # the river like real riverfront lots.
    moorage = Lot(
        NR, WATERFRONT_WEST, Y0, WATERFRONT_EAST - WATERFRONT_WEST, 200, "E", "W", 0, -1
    )
    riverfront_mu = Lot(
        MU,
        WATERFRONT_WEST,
        Y0 + PITCH_Y,
        WATERFRONT_EAST - WATERFRONT_WEST,
        200,
        "E",
        "W",
        1,
        -1,
    )
    lots += [moorage, riverfront_mu]
    for (row, col), code in sorted(BLOCK_GRID.items()):
        if code == "PARK":
            continue
        bx, by = GRID_X0 + col * PITCH_X, Y0 + row * PITCH_Y
        for cls, x, y, w, h, faces in BLOCK_LOTS[code]:
            lots.append(Lot(cls, bx + x, by + y, w, h, faces, code, row, col))
    return lots


def park_polygons():
    """The park blocks of the grid (no tax lots there)."""
    out = []
    for (row, col), code in sorted(BLOCK_GRID.items()):
        if code == "PARK":
            bx, by = GRID_X0 + col * PITCH_X, Y0 + row * PITCH_Y
            out.append(box(bx, by, bx + BLOCK_W, by + BLOCK_H))
    return out


def street_polygons(minx, miny, maxx, maxy):
    """Street rights-of-way: SE Oaks Pkwy plus the grid's 60 ft streets."""
    out = [box(WATERFRONT_EAST, miny, WATERFRONT_EAST + STREET, maxy)]
    for r in range(5):  # E-W streets south of each block row (and north of the last)
        y1 = Y0 + r * PITCH_Y
        out.append(box(WATERFRONT_EAST, y1 - STREET, maxx, y1))
    for c in range(5):  # N-S avenues west of each block column
        x1 = GRID_X0 + c * PITCH_X
        out.append(box(x1 - STREET, miny, x1, maxy))
    return out


def water_polygon():
    """The river: a strip west of the meandering east bank."""
    ys = np.arange(RIVER_NORTH, RIVER_SOUTH - 1, -20.0)
    bank = [(round(bank_x(y), 2), float(y)) for y in ys]
    ring = [(RIVER_WEST, RIVER_NORTH), *bank, (RIVER_WEST, RIVER_SOUTH)]
    return shapely.orient_polygons(Polygon(ring))


# --------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------


def u(rng, a, b, step=0.5):
    """Uniform on a grid of `step` in [a, b] (keeps dimensions readable)."""
    n = round((b - a) / step)
    return a + step * int(rng.random() * (n + 1))


def sf_features(lot: Lot, size: str, rng: random.Random, opts: dict):
    """Single-family lot, 50 x 100.  size: small | standard | large."""
    W = lot.W
    drive = opts.get("driveway", True)
    if size == "small":
        hw, hd = u(rng, 22, 26), u(rng, 28, 34)
        hu0, hv0 = 15.0, u(rng, 14, 18)
        lot.add("roof", lot.rect(hu0, hv0, hu0 + hw, hv0 + hd))
        if drive:
            lot.add("driveway", lot.rect(2, -15, 11, u(rng, 22, 30)))
        lot.add("walkway", lot.rect(hu0 + 6, 0, hu0 + 10, hv0))
        if rng.random() < 0.6:
            # shed in the back corner
            lot.add("shed", lot.rect(W - 12, 86, W - 3, 96))
        if opts.get("patio", True):
            # patio tucked under the rear eave (2 ft overlap)
            pv = hv0 + hd - 2
            lot.add("patio", lot.rect(hu0 + 2, pv, hu0 + 14, pv + 10))
    elif size == "standard":
        hw, hd = u(rng, 26, 31), u(rng, 34, 42)
        hu0, hv0 = 15.0, u(rng, 12, 16)
        gv0 = u(rng, 68, 74)
        lot.add("roof", lot.rect(hu0, hv0, hu0 + hw, hv0 + hd))
        lot.add("garage", lot.rect(1, gv0, 21, gv0 + 20))
        if drive:
            lot.add("driveway", lot.rect(2, -15, 12, gv0 + 2))  # runs under garage door
        lot.add("walkway", lot.rect(hu0 + 8, 0, hu0 + 12, hv0))
        pv = hv0 + hd - 2
        if opts.get("patio", True):
            lot.add("patio", lot.rect(hu0 + 4, pv, hu0 + 4 + u(rng, 12, 18), pv + 12))
        if rng.random() < 0.4:
            lot.add("shed", lot.rotated_rect(W - 8, 90, 8, 10, u(rng, 8, 20, 1)))
    else:  # large
        hw, hd = u(rng, 32, 34), u(rng, 46, 52)
        hu0, hv0 = 14.0, u(rng, 10, 12)
        gv0 = 74.0
        lot.add("roof", lot.rect(hu0, hv0, hu0 + hw, hv0 + hd))
        lot.add("garage", lot.rect(1, gv0, 23, gv0 + 22))
        if drive:
            lot.add("driveway", lot.rect(2, -15, 13, gv0 + 2))
        lot.add("walkway", lot.rect(hu0 + 10, 0, hu0 + 14, hv0))
        pv = hv0 + hd - 2
        lot.add("patio", lot.rect(hu0 + 2, pv, hu0 + 20, pv + 14))  # under the eave
        lot.add("deck", lot.rect(hu0 + 20, pv + 2, hu0 + 32, pv + 14))  # touches patio


def sf_small_target(lot: Lot):
    """The bowtie lot: 1,46x sq ft valid area; the bowtie adds 96 sq ft when repaired."""
    lot.add("roof", lot.rect(15, 16, 39, 48))  # 24 x 32 = 768
    lot.add("driveway", lot.rect(2, -15, 11, 40))  # 9 x 40 on the lot = 360
    lot.add("walkway", lot.rect(23, 0, 27, 16))  # 64
    lot.add("shed", lot.rect(38, 86, 47, 96))  # 90
    lot.add("patio", lot.rect(17, 46, 29, 60))  # 12 x 14, 2 ft under the eave
    # ~1,450 without the bowtie; bowtie below is added separately


def bowtie(lot: Lot, u0, v0, du, dv):
    """Self-intersecting 'bowtie' ring (invalid); make_valid gives 2 triangles."""
    pts = [
        lot.to_world(a, b)
        for a, b in (
            (u0, v0),
            (u0 + du, v0 + dv),
            (u0 + du, v0),
            (u0, v0 + dv),
            (u0, v0),
        )
    ]
    return Polygon(pts)


def flagstones(lot: Lot, u0, v0, n, rng):
    """``n`` stepping stones about 2 ft square from (u0, v0) back, alternately offset."""
    stones = []
    v = v0
    for k in range(n):
        du, dv = u(rng, 2.0, 2.5, 0.25), u(rng, 1.75, 2.25, 0.25)
        off = (k % 2) * 0.75
        stones.append(lot.rect(u0 + off, v, u0 + off + du, v + dv))
        v += dv + 1.0
    return MultiPolygon(stones)


def mf_features(lot: Lot, rng: random.Random, pool: bool = False):
    """Roof, parking and driveway of an apartment lot (and a pool if asked)."""
    W, D = lot.W, lot.D
    if D <= 100:
        bw, bd = u(rng, 56, 70), u(rng, 40, 50)
        lot.add("roof", lot.rect(10, 12, 10 + bw, 12 + bd))
        lot.add("parking", lot.rect(6, 12 + bd + 4, W - 6, D - 4))
        lot.add("driveway", lot.rect(W - 18, -15, W - 6, 12 + bd + 4))
        lot.add("walkway", lot.rect(10 + bw / 2 - 3, 0, 10 + bw / 2 + 3, 12))
        if rng.random() < 0.5:
            lot.add(
                "patio", lot.rect(12, 12 + bd - 3, 30, 12 + bd + 3)
            )  # overlaps roof
    else:
        bw, bd = u(rng, 64, 76), u(rng, 70, 90)
        lot.add("roof", lot.rect(8, 15, 8 + bw, 15 + bd))
        pv = 15 + bd + 6
        lot.add("parking", lot.rect(4, pv, W - 4, D - (32 if pool else 6)))
        if pool:
            lot.add("pool", lot.rect(30, D - 26, 60, D - 8))
            lot.add("patio", lot.rect(26, D - 30, 64, D - 4))  # pool deck around it
        lot.add("driveway", lot.rect(W - 16, -15, W - 4, pv))
        lot.add("walkway", lot.rect(8 + bw / 2 - 4, 0, 8 + bw / 2 + 4, 15))
        lot.add("walkway", lot.rect(2, 15, 7, pv))  # side path
        if rng.random() < 0.5:
            lot.add("deck", lot.rect(20, 15 + bd - 4, 44, 15 + bd + 6))  # overlaps roof


def mu_features(lot: Lot, rng: random.Random):
    """Storefront roof on the lot line, parking and an alley strip of a mixed-use lot."""
    W, D = lot.W, lot.D
    if D <= 100:
        bw, bd = W - 4, u(rng, 58, 68)
        lot.add("roof", lot.rect(2, 0, 2 + bw, bd))  # storefront on the lot line
        lot.add("parking", lot.rect(4, bd + 3, W - 4, D - 3))
        lot.add("driveway", lot.rect(W - 2, bd, W, D))  # narrow alley strip
        if rng.random() < 0.5:
            lot.add("patio", lot.rect(10, bd - 4, 40, bd + 3))  # overlaps roof
    else:
        bd = u(rng, 90, 110)
        lot.add("roof", lot.rect(5, 0, W - 25, bd))
        lot.add("parking", lot.rect(5, bd + 5, W - 5, D - 5))
        lot.add("driveway", lot.rect(W - 20, -15, W - 4, bd + 5))
        lot.add("walkway", lot.rect(5, bd, W - 25, bd + 5))
        lot.add("patio", lot.rect(20, bd - 6, 60, bd + 5))  # overlaps roof and walkway


def nr_features(lot: Lot, rng: random.Random, k: int):
    """Roof, parking and a driveway apron into the street of a non-residential lot."""
    W, D = lot.W, lot.D
    bw = round(W * u(rng, 0.5, 0.7, 0.05))
    bd = round(D * u(rng, 0.45, 0.6, 0.05))
    lot.add("roof", lot.rect(W - bw - 10, 20, W - 10, 20 + bd))
    lot.add("parking", lot.rect(5, 5, W - bw - 15, D - 5))
    lot.add("driveway", lot.rect(10, -15, 34, 5))  # apron into the street
    lot.add("walkway", lot.rect(W - bw - 15, 5, W - 10, 20))
    if k % 3 == 0:
        lot.add("gravel", lot.rect(W - bw - 10, 25 + bd, W - 10, D - 5))
    elif k % 3 == 1:
        lot.add("other", lot.rect(W - 30, 25 + bd, W - 15, 25 + bd + 12))  # pad
    if k % 4 == 2:
        # loading dock canopy overlapping the building edge
        lot.add("roof", lot.rect(W - bw - 18, 30, W - bw - 6, 60))


def moorage_features(lot: Lot):
    """Floating-home moorage on the riverbank (world coordinates: west = river)."""
    y = lot.y
    lot.add("roof", rnd(box(X0 + 60, y + 120, X0 + 110, y + 160)))  # office
    lot.add("parking", rnd(box(X0 + 20, y + 20, X0 + 140, y + 90)))
    lot.add(
        "driveway", rnd(box(X0 + 120, y + 90, X0 + 165, y + 110))
    )  # to SE Oaks Pkwy
    lot.add("walkway", rnd(box(X0 + 10, y + 96, X0 + 60, y + 104)))  # to the dock head
    # the dock: 8 ft wide, from the land (x0+10) across the bank into the river
    lot.add("dock", rnd(box(X0 - 260, y + 96, X0 + 10, y + 104)))
    # a floating home moored north of the dock, wholly over water
    lot.add("floating_home", rnd(box(X0 - 230, y + 110, X0 - 190, y + 140)))


def riverfront_mu_features(lot: Lot):
    """The riverfront restaurant lot, with a deck reaching over the river (that part is not billed)."""
    y = lot.y
    lot.add("roof", rnd(box(X0 + 20, y + 60, X0 + 120, y + 150)))  # restaurant + flats
    lot.add("parking", rnd(box(X0 + 30, y + 10, X0 + 145, y + 55)))
    lot.add("driveway", rnd(box(X0 + 125, y + 20, X0 + 165, y + 40)))
    # a restaurant deck cantilevered past the bank: the part over water is excluded
    lot.add("deck", rnd(box(X0 - 60, y + 80, X0 + 22, y + 130)))


def make_features(lots):
    """Put the features on every lot (seeded); returns the special lots the README and tests name."""
    rng = random.Random(SEED)
    sf = [lot for lot in lots if lot.cls == SF]
    mf = [lot for lot in lots if lot.cls == MF]
    mu = [lot for lot in lots if lot.cls == MU]
    nr = [lot for lot in lots if lot.cls == NR]
    # single-family size plan (20 lots): 4 small, 12 standard, 4 large
    sizes = [
        "standard",
        "small",
        "standard",
        "large",
        "standard",
        "standard",
        "small",
        "standard",
        "large",
        "standard",
        "standard",
        "small",
        "standard",
        "standard",
        "large",
        "standard",
        "small",
        "standard",
        "large",
        "standard",
    ]
    special = {}
    for i, (lot, size) in enumerate(zip(sf, sizes, strict=True)):
        opts = {}
        if i in (5, 6):  # shared driveway across the side line of SF #5/#6
            opts["driveway"] = False
        if i == 11:  # the bowtie lot: fixed layout near the 1,500 sq ft threshold
            sf_small_target(lot)
            lot.add("patio", rnd(bowtie(lot, 12, 70, 16, 12)))
            special["bowtie"] = lot
            continue
        if i == 9:  # the flagstone lot: no ordinary patio, a stepping-stone path
            opts["patio"] = False
        sf_features(lot, size, rng, opts)
        if i == 9:
            lot.add("walkway", flagstones(lot, 30, 60, 7, rng))
            special["flagstones"] = lot
        if i == 13:
            lot.add("pool", lot.rect(25, 70, 37, 84))
        if i == 16:
            lot.add("gravel", lot.rect(38, 55, 48, 80))  # gravel pad beside the house
    # shared driveway: 10 ft wide, centred on the side line between SF #5 and #6
    a, b = sf[5], sf[6]
    ax, _ = a.to_world(a.W, 0)
    y_front = a.y if a.faces == "S" else a.y + a.D
    sgn = 1 if a.faces == "S" else -1
    shared = box(
        ax - 5,
        min(y_front - 15 * sgn, y_front + 62 * sgn),
        ax + 5,
        max(y_front - 15 * sgn, y_front + 62 * sgn),
    )
    a.add("driveway", shapely.orient_polygons(shared))
    special["shared_driveway"] = (a, b)
    pool_mf = next(lot for lot in mf if lot.D > 100)  # one apartment lot has a pool
    for lot in mf:
        mf_features(lot, rng, pool=lot is pool_mf)
    for lot in mu:
        if lot.block == "W":
            riverfront_mu_features(lot)
        else:
            mu_features(lot, rng)
    for k, lot in enumerate(nr):
        if lot.block == "W":
            moorage_features(lot)
            special["moorage"] = lot
        else:
            nr_features(lot, rng, k)
    special["riverfront_mu"] = next(lot for lot in mu if lot.block == "W")
    return special


# --------------------------------------------------------------------------
# attributes
# --------------------------------------------------------------------------


def address(lot: Lot) -> str:
    """A made-up street address: odd numbers on the north side of a street."""
    if lot.block == "W":
        return f"{8010 + 100 * lot.row} SE Oaks Pkwy"
    street = EW_STREETS[lot.row] if lot.faces == "S" else EW_STREETS[lot.row + 1]
    along = round((lot.x - (GRID_X0 + lot.col * PITCH_X)) / 50.0)
    number = 600 + 200 * lot.col + 10 + 4 * along
    return f"{number + 1 if lot.faces == 'S' else number} {street}"


def category_of(sqft_exact: float) -> str:
    """The single-family category of an exact area (whole sq ft, half-up): small, standard or large."""
    whole = math.floor(sqft_exact + 0.5)
    if whole <= 1500:
        return "small"
    if whole <= 2700:
        return "standard"
    return "large"


# --------------------------------------------------------------------------
# expected SBA (independent, plain shapely)
# --------------------------------------------------------------------------


def expected_sba(parcels_fc, features_fc, water_fc, exclude_overwater_types=False):
    """Exact billable area per lot from the written GeoJSON, with plain shapely.

    union(make_valid(features)) clipped to the lot, minus water; overwater
    types keep only their part on land (or are dropped if
    ``exclude_overwater_types``).
    """
    water = shapely.union_all([shape(f["geometry"]) for f in water_fc["features"]])
    feats = []
    for f in features_fc["features"]:
        if (
            exclude_overwater_types
            and f["properties"]["feature_type"] in OVERWATER_TYPES
        ):
            continue
        feats.append(shapely.make_valid(shape(f["geometry"])))
    out = {}
    for p in parcels_fc["features"]:
        lot = shape(p["geometry"])
        pieces = [shapely.intersection(g, lot) for g in feats if g.intersects(lot)]
        pieces = [g for g in pieces if not g.is_empty]
        if not pieces:
            out[p["properties"]["parcel_id"]] = 0.0
            continue
        u_ = shapely.union_all(pieces)
        u_ = shapely.difference(u_, water)
        # keep only areal parts (intersections can leave slivers of lines)
        out[p["properties"]["parcel_id"]] = float(shapely.area(u_))
    return out


# --------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------


def _coords(geom):
    def ring(r):
        return [[round(x, 2), round(y, 2)] for x, y in r.coords]

    if geom.geom_type == "Polygon":
        return {
            "type": "Polygon",
            "coordinates": [ring(geom.exterior)] + [ring(i) for i in geom.interiors],
        }
    if geom.geom_type == "MultiPolygon":
        return {
            "type": "MultiPolygon",
            "coordinates": [
                [ring(p.exterior)] + [ring(i) for i in p.interiors] for p in geom.geoms
            ],
        }
    raise TypeError(geom.geom_type)


def write_geojson(path: Path, name: str, rows):
    """rows: iterable of (properties dict, geometry).  One feature per line."""
    lines = [
        "{",
        '"type": "FeatureCollection",',
        f'"name": "{name}",',
        f'"crs": {{ "type": "name", "properties": {{ "name": "{CRS_URN}" }} }},',
        '"features": [',
    ]
    feats = []
    for props, geom in rows:
        feats.append(
            json.dumps(
                {"type": "Feature", "properties": props, "geometry": _coords(geom)},
                separators=(", ", ": "),
            )
        )
    lines.append(",\n".join(feats))
    lines += ["]", "}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_rasters(lots, water, parks, out_dir: Path):
    """Write ``orthophoto.tif`` (a synthetic RGB aerial photo) and ``impervious.tif`` (0/1) to ``out_dir``."""
    import rasterio
    from rasterio.features import rasterize
    from rasterio.transform import from_origin

    minx = WATERFRONT_WEST - 100
    maxx = GRID_X0 + 3 * PITCH_X + BLOCK_W + 100
    miny = Y0 - 100
    maxy = Y0 + 3 * PITCH_Y + BLOCK_H + 100
    res = 1.0
    width, height = int(maxx - minx), int(maxy - miny)
    transform = from_origin(minx, maxy, res, res)
    shape_ = (height, width)

    # class raster: 0 street, 1 lawn, 2 park/greenway, 3 water, 4 pavement,
    # 5 gravel, 6 deck/dock, 7 pool, 8.. roofs (palette by feature)
    def burn(shapes, value, out):
        shapes = [(g, value) for g in shapes]
        if shapes:
            rasterize(shapes, out=out, transform=transform, all_touched=False)

    streets = street_polygons(minx, miny, maxx, maxy)
    cls = np.full(shape_, 2, dtype=np.uint8)  # unparcelled land: greenway
    burn(streets, 0, cls)
    burn([lot.geom for lot in lots], 1, cls)
    burn(parks, 2, cls)
    burn([water], 3, cls)
    layers = {
        4: ("driveway", "parking", "walkway", "patio", "other"),
        5: ("gravel",),
        6: ("deck", "dock"),
        7: ("pool",),
    }
    for value, types in layers.items():
        burn([g for lot in lots for t, g in lot.features if t in types], value, cls)
    roofs = [
        g
        for lot in lots
        for t, g in lot.features
        if t in ("roof", "garage", "shed", "floating_home")
    ]
    for k, g in enumerate(roofs):
        burn([g], 8 + k % 4, cls)

    palette = np.array(
        [
            (118, 118, 114),  # 0 street asphalt
            (98, 142, 72),  # 1 lawn
            (76, 124, 58),  # 2 park trees/grass
            (48, 78, 104),  # 3 river
            (182, 178, 170),  # 4 concrete / pavement
            (168, 154, 128),  # 5 gravel
            (146, 108, 72),  # 6 wood deck / dock
            (92, 186, 206),  # 7 pool
            (62, 60, 62),  # 8 dark roof
            (112, 74, 62),  # 9 brown roof
            (88, 92, 98),  # 10 grey roof
            (150, 150, 146),  # 11 light membrane roof
        ],
        dtype=np.int16,
    )
    rgb = palette[cls]  # (h, w, 3)
    nrng = np.random.default_rng(SEED)
    # mild low-frequency texture (4 ft cells) so surfaces do not look flat
    coarse = nrng.integers(
        -6, 7, size=(height // 4 + 1, width // 4 + 1), dtype=np.int16
    )
    tex = np.repeat(np.repeat(coarse, 4, axis=0), 4, axis=1)[:height, :width]
    rgb = rgb + tex[..., None]
    # (no per-pixel noise: it would triple the file size)
    rgb = np.clip(rgb, 0, 255).astype(np.uint8).transpose(2, 0, 1)
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 3,
        "dtype": "uint8",
        "crs": f"EPSG:{EPSG}",
        "transform": transform,
        "compress": "deflate",
        "predictor": 2,
        "zlevel": 9,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "photometric": "RGB",
        "interleave": "pixel",
    }
    path = out_dir / "orthophoto.tif"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(rgb)
        dst.update_tags(
            TIFFTAG_DATETIME="2025:01:01 00:00:00",
            SOURCE="synthetic, generated by sample_data/make_sample_data.py",
            LICENSE="CC0-1.0",
        )
        dst.set_band_description(1, "red")
        dst.set_band_description(2, "green")
        dst.set_band_description(3, "blue")

    # impervious 0/1 at 3 ft: all features and streets, minus water
    res3 = 3.0
    w3, h3 = math.ceil((maxx - minx) / res3), math.ceil((maxy - miny) / res3)
    t3 = from_origin(minx, maxy, res3, res3)
    imp = np.zeros((h3, w3), dtype=np.uint8)
    rasterize(
        [(g, 1) for g in streets], out=imp, transform=t3
    )  # streets are impervious
    rasterize(
        [(g, 0) for g in [lot.geom for lot in lots] + parks], out=imp, transform=t3
    )
    feats = [shapely.make_valid(g) for lot in lots for _, g in lot.features]
    rasterize([(g, 1) for g in feats], out=imp, transform=t3)
    rasterize([(water, 0)], out=imp, transform=t3)
    prof3 = {
        "driver": "GTiff",
        "width": w3,
        "height": h3,
        "count": 1,
        "dtype": "uint8",
        "crs": f"EPSG:{EPSG}",
        "transform": t3,
        "compress": "deflate",
        "predictor": 2,
        "zlevel": 9,
        "nodata": None,
    }
    with rasterio.open(out_dir / "impervious.tif", "w", **prof3) as dst:
        dst.write(imp, 1)
        dst.update_tags(
            TIFFTAG_DATETIME="2025:01:01 00:00:00",
            SOURCE="synthetic, generated by sample_data/make_sample_data.py",
            LICENSE="CC0-1.0",
            MEANING="1 = impervious (features and streets) on land, 0 = pervious or water",
        )
        dst.set_band_description(1, "impervious")


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def build(out_dir: Path = HERE, check: bool = False) -> dict:
    """Write every sample layer to ``out_dir``; returns the expected areas, lot attributes and special lots."""
    lots = make_lots()
    special = make_features(lots)
    water = rnd(water_polygon())
    parks = park_polygons()

    # parcel ids in spatial order; account numbers from the seeded stream
    rng = random.Random(SEED + 1)
    parcel_rows = []
    for i, lot in enumerate(lots):
        lot.parcel_id = f"R{100001 + i}"
    sf = [lot for lot in lots if lot.cls == SF]
    # dwelling units
    for lot in lots:
        if lot.cls == SF:
            lot.units = 1
        elif lot.cls == MF:
            lot.units = (
                int(3 + rng.random() * 12)
                if lot.D <= 100
                else int(16 + rng.random() * 25)
            )
        elif lot.cls == MU:
            lot.units = (
                int(2 + rng.random() * 6) if lot.D <= 100 else int(6 + rng.random() * 7)
            )
        else:
            lot.units = 0
    sf[2].units = 2  # house + ADU
    sf[17].units = 2
    for lot in lots:
        lot.account = f"{28 + int(rng.random() * 2)}{int(rng.random() * 1e8):08d}"
    floodplain_ids = {
        special["moorage"].parcel_id,
        special["riverfront_mu"].parcel_id,
        sf[0].parcel_id,
    }

    # features table (ids in lot order)
    feature_rows = []
    n = 0
    for lot in lots:
        for ftype, g in lot.features:
            n += 1
            assert ftype in FEATURE_TYPES, ftype
            feature_rows.append(
                (
                    {
                        "feature_id": f"F{n:04d}",
                        "parcel_id": lot.parcel_id,
                        "feature_type": ftype,
                    },
                    rnd(g),
                )
            )

    # first pass: compute SBA from the geometries as they will be written
    features_fc = {
        "features": [{"properties": p, "geometry": mapping(g)} for p, g in feature_rows]
    }
    parcels_fc = {
        "features": [
            {
                "properties": {"parcel_id": lot.parcel_id},
                "geometry": mapping(rnd(lot.geom)),
            }
            for lot in lots
        ]
    }
    water_fc = {"features": [{"properties": {}, "geometry": mapping(water)}]}
    sba = expected_sba(parcels_fc, features_fc, water_fc)

    # billed (utility) category: right except for 4 deliberate mistakes
    # three billed too high (a change request makes sense), one billed too low
    wrong = {
        sf[4].parcel_id: "large",
        sf[1].parcel_id: "standard",
        sf[16].parcel_id: "standard",
        sf[14].parcel_id: "standard",
    }
    for lot in lots:
        cur = ""
        if lot.cls == SF:
            cur = wrong.get(lot.parcel_id, category_of(sba[lot.parcel_id]))
        parcel_rows.append(
            (
                {
                    "parcel_id": lot.parcel_id,
                    "property_class": lot.cls,
                    "dwelling_units": lot.units,
                    "address": address(lot),
                    "current_category": cur,
                    "managed_floodplain": lot.parcel_id in floodplain_ids,
                    "account_number": lot.account,
                },
                rnd(lot.geom),
            )
        )

    out_dir.mkdir(parents=True, exist_ok=True)
    write_geojson(out_dir / "parcels.geojson", "parcels", parcel_rows)
    write_geojson(out_dir / "features.geojson", "features", feature_rows)
    write_geojson(
        out_dir / "water.geojson",
        "water",
        [
            (
                {"water_id": "W1", "name": "Willamette River", "water_type": "river"},
                water,
            )
        ],
    )
    write_rasters(lots, water, parks, out_dir)

    # expected SBA from the files just written (re-read, independent path)
    pj = json.loads((out_dir / "parcels.geojson").read_text())
    fj = json.loads((out_dir / "features.geojson").read_text())
    wj = json.loads((out_dir / "water.geojson").read_text())
    sba = expected_sba(pj, fj, wj)
    sba_nodock = expected_sba(pj, fj, wj, exclude_overwater_types=True)
    with (out_dir / "expected_sba.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["parcel_id", "billable_area_sqft"])
        for pid in sorted(sba):
            w.writerow([pid, f"{sba[pid]:.2f}"])

    props = {q["properties"]["parcel_id"]: q["properties"] for q in pj["features"]}
    update_readme_table(out_dir / "README.md", sba, props)

    info = {
        "special": {
            "moorage": special["moorage"].parcel_id,
            "riverfront_mu": special["riverfront_mu"].parcel_id,
            "bowtie": special["bowtie"].parcel_id,
            "flagstones": special["flagstones"].parcel_id,
            "shared_driveway": [lt.parcel_id for lt in special["shared_driveway"]],
            "wrong_category": wrong,
            "two_units": [sf[2].parcel_id, sf[17].parcel_id],
            "floodplain": sorted(floodplain_ids),
            "pool_lots": sorted(
                {lt.parcel_id for lt in lots for t, _ in lt.features if t == "pool"}
            ),
        },
        "sba": sba,
        "sba_overwater_types_dropped": sba_nodock,
        "props": {
            p["properties"]["parcel_id"]: p["properties"] for p in pj["features"]
        },
    }
    if check:
        run_checks(out_dir, info)
    return info


README_START = "<!-- expected-sba:start"
README_END = "<!-- expected-sba:end -->"


def update_readme_table(readme: Path, sba: dict, props: dict) -> None:
    """Rewrite the per-lot SBA table between the markers of README.md, if present."""
    if not readme.exists():
        return
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < 0:
        return
    start = text.index("\n", start) + 1
    rows = [
        "| parcel_id | class | dwelling units | billed category | exact SBA (sq ft) "
        "| whole sq ft | measured category |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    for pid in sorted(sba):
        pr = props[pid]
        whole = math.floor(sba[pid] + 0.5)
        cat = category_of(sba[pid]) if pr["property_class"] == SF else ""
        rows.append(
            f"| {pid} | {pr['property_class']} | {pr['dwelling_units']} "
            f"| {pr['current_category']} | {sba[pid]:,.2f} | {whole:,} | {cat} |"
        )
    table = "\n".join(rows) + "\n"
    readme.write_text(text[:start] + table + text[end:], encoding="utf-8")


def run_checks(out_dir: Path, info: dict):
    """Re-read the written layers: check their projection and that no lots overlap, and print a summary."""
    import geopandas as gpd
    from pyproj import Transformer

    for name in ("parcels", "features", "water"):
        g = gpd.read_file(out_dir / f"{name}.geojson")
        assert g.crs.to_epsg() == EPSG, (name, g.crs)
        print(
            f"{name}: {len(g)} rows, CRS EPSG:{g.crs.to_epsg()}, dtypes "
            f"{dict(g.dtypes.astype(str))}"
        )
    p = gpd.read_file(out_dir / "parcels.geojson")
    f = gpd.read_file(out_dir / "features.geojson")
    print(
        "invalid features:",
        list(f.loc[~f.is_valid, "feature_id"]),
        "on",
        list(f.loc[~f.is_valid, "parcel_id"]),
    )
    print("classes:", p.property_class.value_counts().to_dict())
    c = p.union_all().centroid
    t = Transformer.from_crs(EPSG, 4326, always_xy=True)
    print("centroid lon/lat: {:.5f}, {:.5f}".format(*t.transform(c.x, c.y)))
    assert p.union_all().area == p.area.sum(), "lots overlap"


def main(argv=None):
    """Command line: build the sample data (``--out``, ``--check``), print the special lots and each lot's area."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--check", action="store_true", help="re-read outputs and verify")
    args = ap.parse_args(argv)
    info = build(args.out, check=args.check)
    sp = info["special"]
    print("special lots:", json.dumps(sp, indent=1))
    print(
        f"{'parcel':8} {'class':16} {'du':>3} {'billed':9} {'SBA sqft':>11} "
        f"{'category':9} {'(no dock)':>11}"
    )
    for pid in sorted(info["sba"]):
        pr = info["props"][pid]
        a = info["sba"][pid]
        cat = category_of(a) if pr["property_class"] == SF else ""
        print(
            f"{pid:8} {pr['property_class']:16} {pr['dwelling_units']:3d} "
            f"{pr['current_category']:9} {a:11.2f} {cat:9} "
            f"{info['sba_overwater_types_dropped'][pid]:11.2f}"
        )


if __name__ == "__main__":
    main()
