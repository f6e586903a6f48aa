#!/usr/bin/env python3
"""Peer adapter: run ``sba reassess`` the way ../shared/bench/run_peers.py runs its peers.

Takes ``--data DIR --out FILE`` like the other peers, runs this project's
``sba reassess`` (from the repository's .venv) on DIR/parcels.parquet,
features.parquet and water.parquet, and prints the ``PHASES {json}`` line the
runner reads.  The output table has parcel_id and billable_area_sqft, so the
runner's agreement check applies unchanged.

Usage: python peer_sba.py --data DIR --out FILE.parquet [--workers 2] [--real]

``--real`` is for the real-shape sets (``benchmarks/realshape_data.py``): they
have no land-use column, and their CRS is in US survey feet, in which the
peers report their areas; our international square feet are converted back to
the CRS's squared unit (÷ 1.000004) so that the runner's agreement check
(0.01 sq ft) compares like with like.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SBA = REPO / ".venv" / "bin" / "sba"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--chunk-size", type=int, default=None, help="default: sba reassess's own")
    ap.add_argument("--real", action="store_true", help="a real-shape set: no land use, areas in CRS units")
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(SBA), "reassess", "--parcels", str(args.data / "parcels.parquet"),
           "--features", str(args.data / "features.parquet"), "--water", str(args.data / "water.parquet"),
           "--out", str(args.out), "--workers", str(args.workers), "--no-progress", "--format", "json"]
    if not args.real:
        cmd += ["--class-field", "land_use", "--class-map", "residential=single_family,commercial=non_residential"]
    if args.chunk_size:
        cmd += ["--chunk-size", str(args.chunk_size)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return done.returncode
    summary = json.loads(done.stdout)
    if args.real:
        _to_crs_units(args.out, args.data / "parcels.parquet")
    print("PHASES " + json.dumps({"peer": f"sba_{args.workers}workers", "seconds": summary.get("phases", {}),
                                  "parcels": summary["parcels_in"], "jobs": args.workers}))
    return 0


def _to_crs_units(out: Path, parcels: Path) -> None:
    """Rewrite ``out``'s areas in the parcels CRS's squared unit, as the peers give them.

    The runner times this script as a whole, rewrite included (a fraction of a second).
    """
    import pandas as pd
    import pyarrow.parquet as pq

    from pyproj import CRS

    meta = json.loads(pq.read_schema(parcels).metadata[b"geo"])
    column = meta["columns"][meta["primary_column"]]
    unit = CRS.from_json_dict(column["crs"]).axis_info[0].unit_conversion_factor
    factor = (unit / 0.3048) ** 2
    table = pd.read_parquet(out, columns=["parcel_id", "billable_area_sqft"])
    table["billable_area_sqft"] = table.billable_area_sqft / factor
    table.to_parquet(out, index=False)


if __name__ == "__main__":
    raise SystemExit(main())
