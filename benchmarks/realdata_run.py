#!/usr/bin/env python3
"""End-to-end ``sba reassess`` runs on the real data sets in ../shared/realdata.

* Cambridge, MA: 13k real parcels × driveways, walkways, parking, patios, decks,
  porches, pools, docks and water bodies (lon/lat in, projected by the tool).
* Portland metro: 564k real building footprints (no tax lots exist in the shared
  data), once against the 842 PLSS quarter sections and once against a generated
  grid of 100 × 100 ft lots laid over every building (so most roofs cross lot lines).

Writes ``benchmarks/results/realdata.md``.  Run from the repository root:

    .venv/bin/python benchmarks/realdata_run.py [--workers 2] [--only cambridge|portland-qs|portland-grid]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import geopandas as gpd
import shapely

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REAL = Path(os.environ.get("SBA_SHARED", REPO.parent / "shared")) / "realdata"
WORK = HERE / "work" / "realdata"
SBA = REPO / ".venv" / "bin" / "sba"

CAMBRIDGE_LAYERS = {"driveways": "driveway", "private_walkways": "walkway", "parking_lots": "parking",
                    "impervious_other": "patio", "decks": "deck", "porches": "porch",
                    "swimming_pools": "pool", "docks": "dock"}


def prepare_cambridge() -> dict:
    out = WORK / "cambridge"
    if not (out / "parcels.parquet").exists():
        out.mkdir(parents=True, exist_ok=True)
        gpkg = REAL / "cambridge_ma" / "cambridge_ma.gpkg"
        parcels = gpd.read_file(gpkg, layer="parcels_fy2013")[["ML", "geometry"]]
        features = pd.concat([gpd.read_file(gpkg, layer=lyr).assign(feature_type=t)[["feature_type", "geometry"]]
                              for lyr, t in CAMBRIDGE_LAYERS.items()], ignore_index=True)
        water = gpd.read_file(gpkg, layer="water_bodies")[["geometry"]]
        parcels.to_parquet(out / "parcels.parquet")
        features.to_parquet(out / "features.parquet")
        water.to_parquet(out / "water.parquet")
    return {"parcels": out / "parcels.parquet", "features": out / "features.parquet",
            "water": out / "water.parquet", "id": "ML"}


def prepare_portland(kind: str) -> dict:
    out = WORK / "portland"
    out.mkdir(parents=True, exist_ok=True)
    feats = out / "buildings.parquet"
    if not feats.exists():
        b = gpd.read_parquet(REAL / "portland_metro_buildings" / "portland_metro_buildings.parquet",
                             columns=["bldg_uid", "building", "geometry"]).to_crs(2913)
        b = b.assign(feature_type=np.where(b.building == "garage", "garage", "roof"))
        b[["bldg_uid", "feature_type", "geometry"]].to_parquet(feats)
    if kind == "qs":
        qs = out / "quarter_sections.parquet"
        if not qs.exists():
            q = gpd.read_parquet(REAL / "portland_metro_buildings" / "portland_metro_quarter_sections.parquet")
            q[["qtr_sec", "geometry"]].to_crs(2913).to_parquet(qs)
        return {"parcels": qs, "features": feats, "water": None, "id": "qtr_sec"}
    grid = out / "lot_grid.parquet"
    if not grid.exists():
        b = gpd.read_parquet(feats, columns=["geometry"])
        bounds = shapely.bounds(b.geometry.to_numpy())
        size = 100.0
        cells = set()
        x0 = np.floor(bounds[:, 0] / size).astype(np.int64)
        x1 = np.floor(bounds[:, 2] / size).astype(np.int64)
        y0 = np.floor(bounds[:, 1] / size).astype(np.int64)
        y1 = np.floor(bounds[:, 3] / size).astype(np.int64)
        for a, b_, c, d in zip(x0, x1, y0, y1, strict=True):
            for i in range(a, b_ + 1):
                for j in range(c, d + 1):
                    cells.add((i, j))
        ij = np.array(sorted(cells), dtype=np.int64)
        geoms = shapely.box(ij[:, 0] * size, ij[:, 1] * size, (ij[:, 0] + 1) * size, (ij[:, 1] + 1) * size)
        gpd.GeoDataFrame({"lot_id": np.arange(1, len(ij) + 1)}, geometry=geoms, crs=2913).to_parquet(grid)
    return {"parcels": grid, "features": feats, "water": None, "id": "lot_id"}


def run(name: str, data: dict, workers: int) -> dict:
    out = WORK / f"{name}.parquet"
    cmd = [str(SBA), "reassess", "--parcels", str(data["parcels"]), "--features", str(data["features"]),
           "--out", str(out), "--id-field", data["id"], "--workers", str(workers), "--no-progress",
           "--format", "json"]
    if data["water"]:
        cmd += ["--water", str(data["water"])]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed: {stderr}")
    summary = json.loads(stdout)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    table = pd.read_parquet(out)
    return {
        "run": name, "parcels": summary["parcels_in"], "features": pq.ParquetFile(data["features"]).metadata.num_rows,
        "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(max(usage.ru_maxrss, children.ru_maxrss) / 1024),
        "parcels_per_s": round(summary["parcels_in"] / wall),
        "billable_total_sqft": round(float(table.billable_area_sqft.sum()), 2),
        "lots_with_area": int((table.billable_area_sqft > 0).sum()),
        "overwater_sqft": round(float(table.overwater_excluded_sqft.sum()), 2),
        "repaired_lots": summary["repaired"], "errors": summary["errors"], "phases": summary["phases"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", choices=["cambridge", "portland-qs", "portland-grid"], nargs="*")
    args = ap.parse_args()
    if not REAL.exists():
        print(f"The shared real data is not at {REAL}; set SBA_SHARED.", file=sys.stderr)
        return 2
    todo = args.only or ["cambridge", "portland-qs", "portland-grid"]
    rows = []
    for name in todo:
        data = prepare_cambridge() if name == "cambridge" else prepare_portland(name.split("-")[1])
        row = run(name, data, args.workers)
        print(json.dumps(row), flush=True)
        rows.append(row)
    lines = ["| run | parcels | features | wall s | CPU s | peak RSS MiB | parcels/s | billable total sq ft | "
             "lots with area | overwater sq ft | repaired lots | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['parcels']:,} | {r['features']:,} | {r['wall_s']} | {r['cpu_s']} | "
                     f"{r['peak_rss_mib']:,} | {r['parcels_per_s']:,} | {r['billable_total_sqft']:,.2f} | "
                     f"{r['lots_with_area']:,} | {r['overwater_sqft']:,.2f} | {r['repaired_lots']} | {r['errors']} |")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "realdata.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
