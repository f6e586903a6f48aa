#!/usr/bin/env python3
"""Benchmark ``sba reassess --scheduler`` against ``--workers N`` on the same data, alternating.

Starts a dask cluster the way users start one (``scripts/dask-local start``:
a ``dask scheduler`` and ``dask worker`` processes), then runs, ROUNDS times
in turn, the local run (``--workers N``) and the cluster run
(``--scheduler tcp://127.0.0.1:8786``) on DIR/parcels.parquet,
features.parquet and water.parquet.  For each run: wall time, CPU seconds of
all its processes (the workers' and the scheduler's during the run), parcels/s,
the phases, and the peak RSS of every process (the ``sba`` command and its
forked children; each dask worker; the scheduler), sampled every 0.1 s with
psutil.  Checks that every output table equals the first local one bit for
bit (pyarrow ``Table.equals``) and prints a Markdown table.

Usage: benchmarks/run_cluster_bench.py DIR [--rounds 2] [--workers 2] [--memory 4GiB] [--only cluster]
       [--kill-worker-after S] [--kill-driver-after CHUNKS]   (then --resume; the table must be the same)
       [--reference TABLE]   (needed when the first run is killed: an uninterrupted run's output)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SBA = ROOT / ".venv" / "bin" / "sba"
ADDRESS = "tcp://127.0.0.1:8786"


class PeakRSS(threading.Thread):
    """Peak RSS of each process in the trees of ``roots`` (pid -> bytes), sampled every 0.1 s."""

    def __init__(self, roots: dict[str, int]):
        super().__init__(daemon=True)
        self.roots, self.peak, self.names, self.cpu, self.cpu0 = roots, {}, {}, {}, {}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for label, pid in self.roots.items():
                try:
                    root = psutil.Process(pid)
                    procs = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                for i, p in enumerate(procs):
                    try:
                        rss = p.memory_info().rss
                        t = p.cpu_times()
                    except psutil.NoSuchProcess:
                        continue
                    key = (label, p.pid)
                    self.cpu0.setdefault(key, t.user + t.system)  # a dask worker's CPU before this run
                    self.cpu[key] = t.user + t.system
                    self.names[key] = label if i == 0 else f"{label} child"
                    self.peak[key] = max(self.peak.get(key, 0), rss)
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) all the watched processes spent during the run (a process's
        time after its last sample, at most 0.1 s, is missed)."""
        return sum(self.cpu[k] - (self.cpu0[k] if self.names[k].startswith(("worker", "scheduler")) else 0.0)
                   for k in self.cpu)

    def cpu_by_label(self) -> dict[str, float]:
        """CPU seconds of the run per label (as :meth:`cpu_seconds`)."""
        out: dict[str, float] = {}
        for k in self.cpu:
            name = self.names[k]
            spent = self.cpu[k] - (self.cpu0[k] if name.startswith(("worker", "scheduler")) else 0.0)
            out[name] = out.get(name, 0.0) + spent
        return out

    def by_label(self) -> dict[str, float]:
        """Largest peak per label, in GiB."""
        out: dict[str, float] = {}
        for key, rss in self.peak.items():
            name = self.names[key]
            out[name] = max(out.get(name, 0.0), rss / 2**30)
        return out


def cluster_pids() -> dict[str, int]:
    run = ROOT / ".dask-local"
    pids = {}
    for f in sorted(run.glob("*.pid")):
        pids[f.stem] = int(f.read_text())
    return pids


def reassess(data: Path, out: Path, extra: list[str], watch: dict[str, int], kill: tuple[str, float] | None = None):
    cmd = [str(SBA), "reassess", "--parcels", str(data / "parcels.parquet"), "--features",
           str(data / "features.parquet"), "--water", str(data / "water.parquet"), "--out", str(out),
           "--no-progress", "--format", "json", *extra]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = PeakRSS({"sba": proc.pid, **watch})
    sampler.start()
    killed = None
    if kill is not None:
        what, after = kill
        if what == "driver":  # once ``after`` chunks are recorded in the parts manifest
            manifest = out.with_name(out.name + ".parts") / "manifest.json"
            while proc.poll() is None:
                try:
                    if len(json.loads(manifest.read_text())["parts"]) >= after:
                        break
                except (OSError, ValueError, KeyError):
                    pass
                time.sleep(0.2)
        else:
            time.sleep(after)
        if what == "driver":
            for p in psutil.Process(proc.pid).children(recursive=True):
                p.kill()
            proc.kill()
        else:  # a dask worker process (the nanny's child): the nanny starts a new one
            nanny = psutil.Process(watch["worker-1"])
            nanny.children()[0].kill()
        killed = what
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t
    sampler.stop.set()
    sampler.join()
    summary = json.loads(stdout) if proc.returncode == 0 else None
    return {"cmd": " ".join(cmd), "wall": wall, "code": proc.returncode, "summary": summary, "stderr": stderr.strip(),
            "rss": sampler.by_label(), "cpu": sampler.cpu_seconds(),
            "cpu_by": sampler.cpu_by_label(), "killed": killed}


def same_table(a: Path, b: Path) -> bool:
    import pyarrow.parquet as pq

    return pq.read_table(a).equals(pq.read_table(b))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory", default="4GiB", help="dask worker --memory-limit")
    ap.add_argument("--only", choices=["local", "cluster"], default=None)
    ap.add_argument("--chunk-size", default=None)
    ap.add_argument("--kill-worker-after", type=float, default=None)
    ap.add_argument("--kill-driver-after", type=int, default=None, help="kill -9 the driver once this many chunks are "
                    "recorded, then run again with --resume")
    ap.add_argument("--reference", type=Path, default=None, help="a table the outputs must equal")
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/sba-cluster-bench"))
    args = ap.parse_args()
    first_killed = args.kill_driver_after is not None or (args.kill_worker_after is not None and args.only == "cluster")
    if first_killed and args.reference is None:  # the first output would be the table the others are checked against
        ap.error("a run that is killed needs --reference TABLE: the output of an uninterrupted run to compare it with")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    extra = ["--chunk-size", args.chunk_size] if args.chunk_size else []
    subprocess.run([str(ROOT / "scripts" / "dask-local"), "stop"], check=False)
    subprocess.run([str(ROOT / "scripts" / "dask-local"), "start", str(args.workers), args.memory], check=True,
                   stdout=subprocess.DEVNULL)
    rows = []
    reference = args.reference
    try:
        print(f"uptime: {os.popen('uptime').read().strip()}", file=sys.stderr)
        for r in range(args.rounds):
            for kind in ("local", "cluster"):
                if args.only and kind != args.only:
                    continue
                out = args.out_dir / f"{kind}-{r}.parquet"
                watch = cluster_pids() if kind == "cluster" else {}
                run_extra = [*extra, *(["--workers", str(args.workers)] if kind == "local" else
                                       ["--scheduler", ADDRESS])]
                kill = None
                if kind == "cluster" and args.kill_worker_after is not None:
                    kill = ("worker", args.kill_worker_after)
                if args.kill_driver_after is not None:
                    kill = ("driver", args.kill_driver_after)
                res = reassess(args.data, out, run_extra, watch, kill)
                if kill is not None and kill[0] == "driver":
                    first = res
                    res = reassess(args.data, out, [*run_extra, "--resume"], watch)
                    res["killed"] = (f"driver killed at {first['wall']:.0f} s with {kill[1]}+ chunks done, "
                                     f"then --resume ({res['summary']['chunks_resumed']} chunks resumed)")
                if res["code"] != 0:
                    print(res["stderr"], file=sys.stderr)
                    return 1
                if reference is None:
                    reference = out
                res["same"] = same_table(reference, out)
                res.update(kind=kind, round=r, uptime=os.getloadavg()[0])
                rows.append(res)
                s = res["summary"]
                print(f"{kind:8s} round {r}: {res['wall']:7.2f} s  {s['parcels_in'] / res['wall']:9,.0f} parcels/s  "
                      f"CPU {res['cpu']:.1f} s  phases {s['phases']}  same table: {res['same']}  "
                      f"load {res['uptime']:.1f}  "
                      f"killed: {res['killed']}  "
                      f"CPU s {json.dumps({k: round(v, 1) for k, v in res['cpu_by'].items()})}  "
                      f"peak RSS GiB {json.dumps({k: round(v, 2) for k, v in res['rss'].items()})}",
                      file=sys.stderr)
    finally:
        subprocess.run([str(ROOT / "scripts" / "dask-local"), "stop"], check=False)
    print("| run | round | wall s | CPU s | parcels/s | phases s (read, prepare, compute, write) | same table | "
          "peak RSS GiB per process | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for res in rows:
        s = res["summary"]
        ph = ", ".join(f"{v:.1f}" for v in s["phases"].values())
        rss = "; ".join(f"{k} {v:.2f}" for k, v in sorted(res["rss"].items()))
        label = res["kind"] + (f" ({res['killed']} killed)" if res["killed"] and "driver" not in res["killed"]
                               else f" ({res['killed']})" if res["killed"] else "")
        rate = s["parcels_in"] / res["wall"]
        print(f"| {label} | {res['round']} | {res['wall']:.2f} | {res['cpu']:.1f} | {rate:,.0f} | {ph} | "
              f"{res['same']} | {rss} | {res['uptime']:.1f} |")
    return 0 if all(r["same"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
