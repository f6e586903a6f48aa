#!/usr/bin/env python3
"""Benchmark ``sba reassess`` against the peers on real shapes, in the same run, with the agreement check.

The sets come from ``benchmarks/realshape_data.py`` (Cambridge, MA, tiled):

* ``lots``: FY2013 parcels × 20 copies (263,180 lots, 920,060 features);
* ``mirror`` and ``rotate``: the same, mirrored or turned by 30° (the result
  must not depend on the data's orientation: same areas, same ratio ±15 %);
* ``streets``: FY2014 parcels, which hold street right-of-way parcels of
  millions of sq ft, × ``--street-copies`` (default 20).

For each set the shared runner (``../shared/bench/run_peers.py``) runs our
``sba reassess --workers 2`` and the chosen peers on the same files, checks
every peer against the first one parcel by parcel (0.01 sq ft), and records
wall time, CPU time and peak RSS.  This script then writes
``benchmarks/results/realshape.md``: the runner's tables, the ratio of our
parcels/s to each peer's, and the largest per-parcel difference between our
results on ``lots`` and on its mirrored and rotated copies.

Run it with the benchmark venv's Python (duckdb, psycopg2, ...):

    ~/venv-bench/bin/python benchmarks/run_realshape_bench.py [--sets lots streets] [--peers duckdb ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH = Path(os.environ.get("SBA_BENCH", REPO.parent / "shared" / "bench"))
SETS = {"lots": ("lots", "none"), "mirror": ("lots", "mirror"), "rotate": ("lots", "rotate"),
        "streets": ("streets", "none")}
OURS = "sba_2workers_real"
DEFAULT_PEERS = [OURS, "duckdb", "shapely_vectorized_2jobs", "postgis"]


def build(name: str, work: Path, copies: int) -> tuple[Path, int]:
    """The set's data folder, laid out as the runner caches it (``data/<size>-seed1``)."""
    kind, turn = SETS[name]
    src = work / "sets" / f"{name}-x{copies}"
    subprocess.run([str(REPO / ".venv" / "bin" / "python"), str(HERE / "realshape_data.py"), str(src),
                    "--parcels", kind, "--copies", str(copies), "--turn", turn], check=True)
    size = json.loads((src / "manifest.json").read_text())["n_parcels"]
    cached = work / name / "data" / f"{size}-seed1"
    cached.parent.mkdir(parents=True, exist_ok=True)
    if not cached.exists():
        cached.symlink_to(src.resolve(), target_is_directory=True)
    return work / name, size


def run_set(name: str, work: Path, size: int, peers: list[str], timeout: float) -> list[dict]:
    sys.argv = [str(BENCH / "run_peers.py"), "--work", str(work), "--sizes", str(size), "--peers", *peers,
                "--timeout", str(timeout), "--budget", "1e9"]
    import run_peers

    run_peers.main()
    return json.loads((work / "results.json").read_text())


def ratios(name: str, runs: list[dict]) -> list[str]:
    ok = {r["peer"]: r for r in runs if r["status"] == "ok"}
    if OURS not in ok:
        return [f"| {name} | (our run failed) | | |"]
    return [f"| {name} | {peer} | {r['parcels_per_s']:,} | {ok[OURS]['parcels_per_s'] / r['parcels_per_s']:.2f}× |"
            for peer, r in ok.items() if peer != OURS]


def orientation(work: Path, sets: list[str]) -> list[str]:
    """Largest per-parcel difference of our areas on the turned copies against ``lots``."""
    import pandas as pd

    def ours(name: str):
        found = list((work / name / "results").glob(f"*/{OURS}.parquet"))
        return pd.read_parquet(found[0]).set_index("parcel_id").billable_area_sqft if found else None

    base = ours("lots")
    lines = []
    for name in ("mirror", "rotate"):
        other = ours(name) if name in sets else None
        if base is not None and other is not None:
            diff = (base - other.reindex(base.index)).abs()
            lines.append(f"* `{name}` against `lots`: max per-parcel difference {diff.max():.2e} sq ft "
                         f"({(diff > 0.01).sum():,} parcels above 0.01).")
    return lines


def main() -> int:
    if not (BENCH / "run_peers.py").exists():
        print(f"The shared benchmark suite is not at {BENCH}; set SBA_BENCH to its folder.", file=sys.stderr)
        return 2
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", choices=list(SETS), default=["lots", "streets", "mirror", "rotate"])
    ap.add_argument("--peers", nargs="+", default=DEFAULT_PEERS)
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--street-copies", type=int, default=20)
    ap.add_argument("--work", type=Path, default=HERE / "work-real")
    ap.add_argument("--timeout", type=float, default=1800)
    args = ap.parse_args()
    sys.path.insert(0, str(BENCH))
    import run_peers

    run_peers.PEERS[OURS] = [str(HERE / "peer_sba.py"), "--workers", "2", "--real"]
    subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "compileall", "-q", "categorize", "gis", "sba"],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    work = args.work.resolve()
    report = ["# Real-shape benchmark", "", "| set | peer | peer parcels/s | ours ÷ peer |", "|---|---|---:|---:|"]
    tables = []
    for name in args.sets:
        set_work, size = build(name, work, args.street_copies if name == "streets" else args.copies)
        runs = run_set(name, set_work, size, args.peers, args.timeout)
        report += ratios(name, runs)
        tables += ["", f"## {name} ({size:,} parcels)", "", (set_work / "results.md").read_text()]
    report += ["", *orientation(work, args.sets), *tables]
    out = HERE / "results" / "realshape.md"
    out.write_text("\n".join(report) + "\n")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
