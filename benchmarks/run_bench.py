#!/usr/bin/env python3
"""Benchmark ``sba reassess`` against the peers of ../shared/bench, on the same data, in the same run.

Registers this project as two more peers (``sba`` on one process, ``sba_2workers``
on both cores) in the shared runner (``run_peers.py``), runs everything at the
requested sizes, and writes ``benchmarks/results/results.md`` with the shared
table plus the ratio of our parcels/s to each peer's.

Run it with the benchmark venv's Python (it needs duckdb, psycopg2, ...):

    python3 -m venv ~/venv-bench && ~/venv-bench/bin/pip install -r ../shared/bench/requirements.txt
    ~/venv-bench/bin/python benchmarks/run_bench.py --sizes 100000 1000000

``--rounds N`` runs every peer N times in turn (ours, then each peer, then ours
again, ...) and adds the ratio of each round, ours against the peer run next to it,
with their median: this VM's speed drifts by a fifth within an hour, so a single
pair of runs says less than the median of several.

Options not listed here are passed to run_peers.py (e.g. --timeout, --budget).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH = Path(os.environ.get("SBA_BENCH", REPO.parent / "shared" / "bench"))

OURS = {
    "sba": [str(HERE / "peer_sba.py"), "--workers", "1"],
    "sba_2workers": [str(HERE / "peer_sba.py"), "--workers", "2"],
}
DEFAULT_PEERS = ["sba_2workers", "sba", "duckdb", "shapely_vectorized_2jobs", "shapely_vectorized",
                 "postgis", "geopandas_overlay"]


def ratios(runs: list[dict]) -> str:
    lines = ["| parcels | ours | peer | peer parcels/s | our parcels/s | ratio (ours / peer) |",
             "|---:|---|---|---:|---:|---:|"]
    for size in sorted({r["size"] for r in runs}):
        at = {r["peer"]: r for r in runs if r["size"] == size and r["status"] == "ok"}
        for ours in OURS:
            if ours not in at:
                continue
            for peer, r in at.items():
                if peer in OURS:
                    continue
                ratio = at[ours]["parcels_per_s"] / r["parcels_per_s"]
                lines.append(f"| {size:,} | {ours} | {peer} | {r['parcels_per_s']:,} | "
                             f"{at[ours]['parcels_per_s']:,} | {ratio:.2f}× |")
    return "\n".join(lines) + "\n"


def round_ratios(rounds: list[list[dict]]) -> str:
    """Per size and peer: our parcels/s over the peer's in each round, and their median."""
    import statistics

    lines = ["| parcels | ours | peer | rounds | ratio per round | median ratio |", "|---:|---|---|---:|---|---:|"]
    sizes = sorted({r["size"] for runs in rounds for r in runs})
    for size, ours in ((size, ours) for size in sizes for ours in OURS):
        peers = sorted({r["peer"] for runs in rounds for r in runs if r["size"] == size} - set(OURS))
        for peer in peers:
            each = []
            for runs in rounds:
                at = {r["peer"]: r for r in runs if r["size"] == size and r["status"] == "ok"}
                if ours in at and peer in at:
                    each.append(at[ours]["parcels_per_s"] / at[peer]["parcels_per_s"])
            if each:
                lines.append(f"| {size:,} | {ours} | {peer} | {len(each)} | "
                             f"{', '.join(f'{x:.2f}×' for x in each)} | {statistics.median(each):.2f}× |")
    return "\n".join(lines) + "\n"


def main() -> int:
    if not (BENCH / "run_peers.py").exists():
        print(f"The shared benchmark suite is not at {BENCH}; set SBA_BENCH to its folder.", file=sys.stderr)
        return 2
    if not (REPO / ".venv" / "bin" / "sba").exists():
        print("Run scripts/run-tests or scripts/setup-venv first: .venv/bin/sba is missing.", file=sys.stderr)
        return 2
    # as an installed sba would be: its modules compiled once, not on every run
    # (this machine sets PYTHONDONTWRITEBYTECODE; scripts/setup-venv does the same)
    import subprocess

    subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "compileall", "-q", "categorize", "gis", "sba"],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    sys.path.insert(0, str(BENCH))
    import run_peers

    run_peers.PEERS.update(OURS)
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--work", type=Path, default=HERE / "work")
    ap.add_argument("--peers", nargs="+", default=DEFAULT_PEERS)
    ap.add_argument("--rounds", type=int, default=1)
    known, rest = ap.parse_known_args()
    known.work = known.work.resolve()  # the shared runner works from its own folder
    rounds, tables = [], []
    for _ in range(max(known.rounds, 1)):
        sys.argv = [str(BENCH / "run_peers.py"), "--work", str(known.work), "--peers", *known.peers, *rest]
        run_peers.main()
        rounds.append(json.loads((known.work / "results.json").read_text()))
        tables.append((known.work / "results.md").read_text())
    runs = rounds[-1]
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    text = f"## Side by side\n\n{''.join(tables)}\n## Ratio of our parcels/s to each peer\n\n{ratios(runs)}"
    if len(rounds) > 1:
        text += f"\n## Ratio per round (ours against the peer run after it)\n\n{round_ratios(rounds)}"
    (out / "results.md").write_text(text)
    print("\n" + (round_ratios(rounds) if len(rounds) > 1 else ratios(runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
