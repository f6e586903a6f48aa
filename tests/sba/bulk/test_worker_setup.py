"""A dask worker made ready at start (:mod:`sba.bulk.worker_setup`, ``dask worker --preload``).

Each check runs in a fresh interpreter: what a worker has loaded before its first task.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# the kernels numba has loaded, by name, and how many versions (signatures) of each
LOADED = """
def loaded():
    import sys
    out = {}
    for name in ("sba.bulk.boxes_jit", "gis.clip_jit", "gis.valid_jit"):
        for key, value in getattr(sys.modules.get(name), "__dict__", {}).items():
            if getattr(value, "signatures", None):
                out[f"{name}.{key}"] = len(value.signatures)
    return out
"""

# warm(), then the engine's own calls on a real GeoParquet row group of 30,000 shapes: the loaded
# kernels before and after (the same when warm() called them with a real call's array types)
REAL_CALLS = LOADED + """
import json, sys
import numpy as np, shapely, geopandas as gpd
from sba.bulk.worker_setup import warm
warm()
before = loaded()
i = np.arange(30_000)
shapes = shapely.box(3.0 * (i % 300), 3.0 * (i // 300), 3.0 * (i % 300) + 2.0, 3.0 * (i // 300) + 2.5)
gpd.GeoDataFrame({"feature_type": ["roof"] * len(i)}, geometry=shapes, crs="EPSG:2913").to_parquet(sys.argv[1])
from sba.bulk.pieces import load_piece
from sba.bulk import boxes
from gis import clip, overlay, validity
piece = load_piece((sys.argv[1], 0), ["feature_type"], 0)
box = np.column_stack([piece["table"].column(c).to_numpy() for c in ("minx", "miny", "maxx", "maxy")])
boxes.boxes_meeting(box, box[::7])
boxes.feature_lot_pairs(box, box[::7])
validity.is_valid(shapes)
overlay.rect_in_polygon(shapes, box[:, [0, 1, 2, 3]] + [0.5, 0.5, -0.1, -0.1])
clip.intersection_areas(shapes, shapely.transform(shapes, lambda xy: xy + 1.0))
rings, k = clip.rings_of(shapes), np.arange(len(shapes))
clip.ring_triple_areas(rings, k, rings, k[::-1].copy(), rings, k)
print(json.dumps([before, loaded()]))
"""


def _run(script: str, *args: str):
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_warm__loads_every_kernel_a_measuring_task_uses_with_a_real_call_s_types(tmp_path):
    pytest.importorskip("numba", reason="the compiled kernels need numba (the [fast] extra)")
    before, after = _run(REAL_CALLS, str(tmp_path / "boxes.parquet"))
    assert set(before) >= {  # (compiling afresh, numba lists the helpers the kernels call too)
        "sba.bulk.boxes_jit.read_boxes", "sba.bulk.boxes_jit.finite_span", "sba.bulk.boxes_jit.grid_slots",
        "sba.bulk.boxes_jit.lot_grid", "sba.bulk.boxes_jit.feature_lots", "sba.bulk.boxes_jit.grid_pairs",
        "gis.clip_jit.pair_areas", "gis.clip_jit.single_rings", "gis.clip_jit.ring_stats",
        "gis.clip_jit.rects_in_rings", "gis.clip_jit.triple_areas", "gis.valid_jit.simple_rings"}
    assert after == before  # no kernel loaded (or compiled) again for the real calls' types


def test_warm__a_fresh_process_has_loaded_nothing_before():
    assert _run(LOADED + "\nimport json; import sba.bulk.cluster; print(json.dumps(loaded()))") == {}


def test_warm__without_numba_imports_the_engine_and_nothing_compiled():
    script = LOADED + (
        "\nimport json, sys\nsys.modules['numba'] = None  # as if it were not installed\n"
        "from sba.bulk.worker_setup import warm\nwarm()\n"
        "print(json.dumps([loaded(), 'sba.bulk.cluster' in sys.modules, 'sba.bulk.boxes_jit' in sys.modules]))"
    )
    assert _run(script) == [{}, True, False]
