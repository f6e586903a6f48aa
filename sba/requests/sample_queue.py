"""A sample queue: four category-change requests for the sample lots billed in the wrong category.

The packages are built with :func:`sba.evidence.build_package` from the
sample record layer (``sample_data/features.geojson``), changed the way a
homeowner's drawing would differ from the City's record:

=========  ==========  ====================================================
lot        billed      the homeowner's drawing
=========  ==========  ====================================================
R100065    large       the record's six surfaces as they are (2,569 sq ft,
                       standard): everything matches
R100040    standard    roof traced 1 ft to the east, the patio left out
                       (removed, says the photo attached): small
R100077    standard    the gravel pad called "other", a new 8 × 10 ft shed
                       drawn in the back yard: small
R100075    standard    only the house (drawn smaller) and the walkway; the
                       record says 3,367 sq ft, large: claims small
=========  ==========  ====================================================

The requesters are the account holders named in
``sample_data/requests/accounts.csv`` (synthetic names, written by
:func:`write_accounts`).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import CRS
from shapely import affinity
from shapely.geometry import mapping, shape

import categorize
from gis.shapes import new_shape, shapes_from_layer
from sba import evidence as ev
from sba.requests.intake import Requester, import_package
from sba.requests.records import SAMPLE_DIR, Records
from sba.requests.store import RequestStore

__all__ = ["SAMPLE_LOTS", "sample_packages", "seed_sample", "write_accounts"]

SAMPLE_LOTS = ("R100065", "R100040", "R100077", "R100075")
ACCOUNTS_CSV = SAMPLE_DIR / "requests" / "accounts.csv"
LONLAT = CRS.from_epsg(4326)

_FIRST = ("Avery", "Blake", "Casey", "Dana", "Emery", "Finley", "Gray", "Harper", "Indra", "Jordan",
          "Kai", "Lee", "Morgan", "Noor", "Oakley", "Parker", "Quinn", "Reese", "Sage", "Taylor")
_LAST = ("Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Hawthorn", "Juniper", "Larch", "Maple",
         "Oak", "Pine", "Rowan", "Spruce", "Tamarack", "Willow", "Yew", "Aspen", "Hemlock", "Laurel")


def write_accounts(parcels_path: Path = SAMPLE_DIR / "parcels.geojson", out: Path = ACCOUNTS_CSV) -> Path:
    """Write the synthetic accounts table (one account per lot, a made-up holder name)."""
    import csv

    parcels = gpd.read_file(parcels_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["account_number", "parcel_id", "holder_name"])
        for i, row in enumerate(parcels.itertuples()):
            if row.property_class in ("single_family",):
                holder = f"{_FIRST[i % 20]} {_LAST[(i * 7) % 20]}"
            else:
                holder = f"{_LAST[(i * 3) % 20]} {('Properties', 'Holdings', 'Commons')[i % 3]} LLC"
            w.writerow([row.account_number, row.parcel_id, holder])
    return out


def _png(width: int = 64, height: int = 48) -> bytes:
    """A small real PNG (a grey gradient "photo"), made without any imaging library."""
    raw = b"".join(b"\x00" + bytes((x * 3 + y) % 256 for x in range(width) for _ in range(3))
                   for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _to_proj(geom: dict, crs) -> shapely.Geometry:
    return gpd.GeoSeries([shape(geom)], crs=LONLAT).to_crs(crs).iloc[0]


def _to_ll(geom: shapely.Geometry, crs) -> dict:
    return mapping(gpd.GeoSeries([geom], crs=crs).to_crs(LONLAT).iloc[0])


def _free_spot(lot_geom, taken, w: float, h: float):
    """An axis-aligned w × h box inside the lot that overlaps no existing shape."""
    x0, y0, x1, y1 = lot_geom.bounds
    union = shapely.union_all(taken)
    for fy in (0.06, 0.5, 0.88):
        for fx in (0.08, 0.5, 0.8):
            cx, cy = x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)
            box = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if lot_geom.buffer(-1).contains(box) and not box.intersects(union):
                return box
    raise RuntimeError("no free spot for the sample shed")  # our bug, not the user's


def _shapes_for(pid: str, lot, record, crs) -> list[dict]:
    shapes = shapes_from_layer(record, lot, id_prefix="s", source="drawn")
    if pid == "R100040":
        out = []
        for s in shapes:
            if s["feature_type"] == "patio":
                continue
            if s["feature_type"] == "roof":
                s = {**s, "geometry": _to_ll(affinity.translate(_to_proj(s["geometry"], crs), xoff=1.0), crs)}
            out.append(s)
        return out
    if pid == "R100077":
        out = [{**s, "feature_type": "other"} if s["feature_type"] == "gravel" else s for s in shapes]
        taken = [_to_proj(s["geometry"], crs) for s in out]
        shed = _free_spot(lot.geometry.iloc[0], taken, 8.0, 10.0)
        out.append(new_shape(f"s{len(out) + 1}", _to_ll(shed, crs), "shed"))
        return out
    if pid == "R100075":
        out = []
        for s in shapes:
            if s["feature_type"] == "roof":
                g = _to_proj(s["geometry"], crs)
                out.append({**s, "geometry": _to_ll(affinity.scale(g, 0.8, 0.8, origin="centroid"), crs)})
            elif s["feature_type"] == "walkway":
                out.append(s)
        return out
    return shapes


def sample_packages(records: Records | None = None) -> list[tuple[str, bytes, Requester]]:
    """The four sample packages: ``(parcel id, ZIP bytes, requester)``."""
    records = records or Records.load(SAMPLE_DIR)
    record_ll = records.features
    schedule = records.schedule
    out = []
    for pid in SAMPLE_LOTS:
        lot = records.lot(pid)
        info = records.lot_record(pid)
        shapes = _shapes_for(pid, lot, record_ll, lot.crs)
        m = ev.measure_shapes(lot, shapes, records.water, schedule)
        bill = categorize.estimate(schedule=schedule, property_class="single_family", area_sqft=m.billable_area_sqft)
        account = info.accounts[0]
        holder = info.holders.get(account, "Sample Homeowner")
        req = ev.ChangeRequest(
            pid, account, info.address, current_category=info.current_category,
            imagery="the sample neighbourhood's aerial photo (1 ft pixels)",
            single_family=True, one_dwelling_unit=True, one_account=True, account_holder=True,
        )
        attachments = [("patio-removed.png", _png())] if pid == "R100040" else []
        data = ev.build_package(m, req, shapes=shapes, lot=lot, water=records.water, bill=bill,
                                schedule_name=schedule.name, attachments=attachments)
        email = holder.lower().replace(" ", ".") + "@example.org"
        out.append((pid, data, Requester(holder, email)))
    return out


def seed_sample(store: RequestStore, records: Records | None = None, *, actor: str = "sample-data") -> list[int]:
    """Import the sample packages; lots that already have a request are skipped. Returns the new numbers."""
    records = records or Records.load(SAMPLE_DIR)
    have = {r["parcel_id"] for r in store.list()}
    ids = []
    for pid, data, requester in sample_packages(records):
        if pid in have:
            continue
        ids.append(import_package(store, data, records, actor=actor, requester=requester,
                                  filename=f"evidence-{pid}.zip"))
    return ids


if __name__ == "__main__":  # regenerate sample_data/requests/accounts.csv
    print(write_accounts())
