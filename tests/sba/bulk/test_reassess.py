"""``sba reassess``: whole datasets, bad rows, resume after kill -9, dask, change detection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely

from sba.cli import main
from tests.conftest import ROOT
from tests.oracle.oracle import oracle_billable_area

CLASS_MAP = "residential=single_family,commercial=non_residential"


def reassess(capsys, city, out, *extra):
    args = ["reassess", "--parcels", city / "parcels.parquet", "--features", city / "features.parquet",
            "--water", city / "water.parquet", "--out", out, "--class-field", "land_use",
            "--class-map", CLASS_MAP, "--format", "json", *extra]
    code = main([str(a) for a in args])
    out_text, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out_text)


def test_reassess__one_row_per_parcel_sorted_and_agrees_with_oracle(city, tmp_path, capsys):
    out = tmp_path / "sba.parquet"
    summary = reassess(capsys, city, out, "--chunk-size", "700")
    table = pd.read_parquet(out)
    parcels = gpd.read_parquet(city / "parcels.parquet")
    assert summary["parcels_in"] == summary["parcels_out"] == len(parcels) == len(table)
    assert table.parcel_id.is_monotonic_increasing
    for col in ("parcel_id", "billable_area_sqft", "billable_sqft_rounded", "overlap_sqft", "outside_parcel_sqft",
                "overwater_excluded_sqft", "category", "service_units", "repaired", "error"):
        assert col in table.columns
    oracle = oracle_billable_area(parcels, gpd.read_parquet(city / "features.parquet"),
                                  gpd.read_parquet(city / "water.parquet"))
    diff = (table.set_index("parcel_id").billable_area_sqft - oracle).abs()
    assert diff.max() <= 0.01
    assert table.error.isna().all()
    # categories follow the whole-sq-ft thresholds for houses; commercial lots get service units instead
    res = table[table.property_class == "single_family"]
    expected = np.select([res.billable_sqft_rounded <= 1500, res.billable_sqft_rounded <= 2700],
                         ["small", "standard"], "large")
    assert (res.category.to_numpy() == expected).all()
    com = table[table.property_class == "non_residential"]
    assert com.category.isna().all()
    # SBA / 2,400 rounded half-up to 2 places (12,732 sq ft -> 5.305 -> 5.31, where float round() gives 5.30)
    expected_su = [(Decimal(int(w)) / 2400).quantize(Decimal("0.01"), ROUND_HALF_UP)
                   for w in com.billable_sqft_rounded]  # read back as Decimal, not text
    assert list(com.service_units) == expected_su


def test_reassess__two_workers_equal_one(city, tmp_path, capsys):
    reassess(capsys, city, tmp_path / "one.parquet", "--chunk-size", "500")
    reassess(capsys, city, tmp_path / "two.parquet", "--chunk-size", "500", "--workers", "2")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "one.parquet"), pd.read_parquet(tmp_path / "two.parquet"))


def test_reassess__by_type_columns_add_up_to_the_billable_area(city, tmp_path, capsys):
    """--by-type splits each lot's billable area by feature type (the higher type keeps an
    overlap, water is taken off): the parts add up to the billable area, whatever the chunks."""
    reassess(capsys, city, tmp_path / "chunks.parquet", "--by-type", "--chunk-size", "400", "--workers", "2")
    reassess(capsys, city, tmp_path / "whole.parquet", "--by-type", "--chunk-size", "100000")
    table = pd.read_parquet(tmp_path / "chunks.parquet")
    types = [c for c in table.columns if c.startswith("sqft_")]
    assert {"sqft_roof", "sqft_driveway", "sqft_patio"} <= set(types)
    assert (table[types] >= 0).all().all()
    np.testing.assert_allclose(table[types].sum(axis=1), table.billable_area_sqft, rtol=0, atol=1e-6)
    assert (table.overlap_sqft > 0).sum() > 100  # overlaps and water in play
    assert (table.overwater_excluded_sqft > 0).any()
    pd.testing.assert_frame_equal(table, pd.read_parquet(tmp_path / "whole.parquet"), check_exact=False,
                                  rtol=0, atol=1e-6)


def test_reassess__results_do_not_depend_on_the_chunking(city, tmp_path, capsys):
    """Shared driveways and sheds across a chunk boundary: their part on the
    neighbour's lot is not street (outside_parcel_sqft), whatever the chunks."""
    reassess(capsys, city, tmp_path / "small.parquet", "--chunk-size", "100")
    reassess(capsys, city, tmp_path / "whole.parquet", "--chunk-size", "100000")
    small, whole = pd.read_parquet(tmp_path / "small.parquet"), pd.read_parquet(tmp_path / "whole.parquet")
    assert (small.outside_parcel_sqft > 0).sum() > 100
    pd.testing.assert_frame_equal(small, whole, check_exact=False, atol=1e-6, rtol=0)


@pytest.mark.parametrize("suffix", [".csv", ".gpkg"])
def test_reassess__output_by_extension(city, tmp_path, capsys, suffix):
    out = tmp_path / f"sba{suffix}"
    reassess(capsys, city, out, "--chunk-size", "1500")
    table = pd.read_csv(out) if suffix == ".csv" else gpd.read_file(out)
    assert len(table) == 3000
    assert not list(tmp_path.glob(".*tmp*"))  # no temp files left behind


def test_reassess__bad_rows_get_an_error_and_the_run_goes_on(city, tmp_path, capsys):
    parcels = gpd.read_parquet(city / "parcels.parquet")
    parcels.loc[5, "land_use"] = "spaceport"
    parcels.loc[7, "geometry"] = None
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    x0, y0 = parcels.geometry.iloc[9].bounds[:2]
    parcels.loc[9, "geometry"] = shapely.affinity.translate(bowtie, x0 + 5, y0 + 5)
    ppath = tmp_path / "parcels.parquet"
    parcels.to_parquet(ppath)
    out = tmp_path / "sba.parquet"
    args = ["reassess", "--parcels", ppath, "--features", city / "features.parquet", "--out", out,
            "--class-field", "land_use", "--class-map", CLASS_MAP, "--format", "json"]
    assert main([str(a) for a in args]) == 0
    summary = json.loads(capsys.readouterr().out)
    table = pd.read_parquet(out).set_index("parcel_id")
    assert len(table) == 3000
    assert summary["errors"] == 2
    assert "spaceport" in table.loc[parcels.parcel_id[5], "error"]
    assert "no shape" in table.loc[parcels.parcel_id[7], "error"]
    for bad in (5, 7):  # an error row bills nothing
        row = table.loc[parcels.parcel_id[bad]]
        assert pd.isna(row.category)
        assert pd.isna(row.service_units)
        assert pd.isna(row.billable_sqft_rounded)
    assert pd.isna(table.loc[parcels.parcel_id[7], "billable_area_sqft"])  # nothing to measure: not 0
    assert bool(table.loc[parcels.parcel_id[9], "repaired"])


def test_reassess__resume_after_kill_equals_uninterrupted_run(city, tmp_path, capsys):
    full = tmp_path / "full.parquet"
    reassess(capsys, city, full, "--chunk-size", "100")
    out = tmp_path / "resumed.parquet"
    cmd = [sys.executable, "-m", "sba", "reassess", "--parcels", str(city / "parcels.parquet"),
           "--features", str(city / "features.parquet"), "--water", str(city / "water.parquet"),
           "--out", str(out), "--class-field", "land_use", "--class-map", CLASS_MAP, "--chunk-size", "100",
           "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = tmp_path / "resumed.parquet.parts"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(parts.glob("chunk-*.arrow"))) < 4:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(parts.glob("chunk-*.arrow")))
    assert 4 <= done_before < 30, "the run should be killed part-way"
    time.sleep(1.0)  # nothing of the killed run goes on writing chunks
    assert len(list(parts.glob("chunk-*.arrow"))) == done_before
    assert not out.exists()
    # a part is used once the run's parent has recorded it; the one written
    # just before the kill may not be recorded yet, and is measured again
    recorded = len(json.loads((parts / "manifest.json").read_text())["parts"])
    assert done_before - 1 <= recorded <= done_before
    summary = reassess(capsys, city, out, "--chunk-size", "100", "--resume")
    assert summary["chunks_resumed"] == recorded
    pd.testing.assert_frame_equal(pd.read_parquet(full), pd.read_parquet(out))
    assert not parts.exists()


def test_reassess__resume_with_other_inputs_starts_over(city, tmp_path, capsys):
    out = tmp_path / "sba.parquet"
    parts = tmp_path / "sba.parquet.parts"
    parts.mkdir()
    (parts / "manifest.json").write_text('{"fingerprint": "from another run"}')
    (parts / "chunk-00000.arrow").write_bytes(b"stale")
    summary = reassess(capsys, city, out, "--chunk-size", "1000", "--resume")
    assert summary["chunks_resumed"] == 0
    assert len(pd.read_parquet(out)) == 3000


def test_reassess__previous_year_changes_are_reported(city, tmp_path, capsys):
    out = tmp_path / "sba.parquet"
    reassess(capsys, city, out, "--chunk-size", "1500")
    prev = pd.read_parquet(out)[["parcel_id", "category", "billable_area_sqft"]]
    flip = prev.index[prev.category == "small"][:7]
    prev.loc[flip, "category"] = "large"
    prev_path = tmp_path / "last-year.csv"
    prev.to_csv(prev_path, index=False)
    summary = reassess(capsys, city, tmp_path / "this-year.parquet", "--chunk-size", "1500", "--previous", prev_path)
    assert summary["category_changes"] == 7
    changes = pd.read_csv(summary["changes_file"])
    assert set(changes.category_previous) == {"large"}
    assert set(changes.category) == {"small"}


def test_reassess__dask_local_cluster_equals_local_run(city, tmp_path, capsys):
    distributed = pytest.importorskip("dask.distributed", reason="dask is an optional extra ([cluster])")
    reassess(capsys, city, tmp_path / "local.parquet", "--chunk-size", "800")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        summary = reassess(capsys, city, tmp_path / "dask.parquet", "--chunk-size", "800",
                           "--scheduler", cluster.scheduler_address)
    assert summary["parcels_out"] == 3000
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "local.parquet"),
                                  pd.read_parquet(tmp_path / "dask.parquet"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "{tmp}/result.txt"], "must end in .parquet"),
        (["--out", "/no/such/folder/r.parquet"], "does not exist"),
        (["--class-field", "zoning"], "no column called 'zoning'"),
        (["--class-map", "residential"], "CODE=CLASS"),
        (["--workers", "0"], "1 or more"),
        (["--previous", "{tmp}/nope.csv"], "no previous-results file"),
    ],
)
def test_reassess__bad_options_one_clear_line(city, tmp_path, capsys, extra, message):
    args = {"--parcels": str(city / "parcels.parquet"), "--features": str(city / "features.parquet"),
            "--out": str(tmp_path / "r.parquet")}
    flat = [a.format(tmp=tmp_path) for a in extra]
    for k, v in zip(flat[::2], flat[1::2], strict=True):
        args[k] = v
    code = main(["reassess", *[x for kv in args.items() for x in kv], "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_reassess__raster_cross_check_flags_disagreeing_lots(tmp_path, capsys):
    from tests.conftest import SAMPLE

    out = tmp_path / "sba.parquet"
    args = ["reassess", "--parcels", SAMPLE / "parcels.geojson", "--features", SAMPLE / "features.geojson",
            "--water", SAMPLE / "water.geojson", "--out", out, "--class-field", "property_class",
            "--dwelling-units-field", "dwelling_units", "--impervious-raster", SAMPLE / "impervious.tif",
            "--raster-tolerance", "5", "--format", "json"]
    assert main([str(a) for a in args]) == 0
    summary = json.loads(capsys.readouterr().out)
    table = pd.read_parquet(out)
    assert table.raster_impervious_sqft.notna().all()
    share = (table.raster_impervious_sqft / table.billable_area_sqft - 1).abs()
    assert (table.raster_disagrees == (share > 0.05)).all()
    assert summary["raster_disagreements"] == int(table.raster_disagrees.sum()) > 0


def test_reassess__progress_bar_reports_parcels_per_second_from_the_worker_process(city, tmp_path, capsys,
                                                                                    monkeypatch):
    monkeypatch.setenv("SBA_PROGRESS", "1")
    out = tmp_path / "sba.parquet"
    args = ["reassess", "--parcels", city / "parcels.parquet", "--features", city / "features.parquet",
            "--out", out, "--class-field", "land_use", "--class-map", CLASS_MAP, "--chunk-size", "500",
            "--format", "json"]
    assert main([str(a) for a in args]) == 0
    stdout, err = capsys.readouterr()
    assert "3000/3000" in err
    assert "parcels/s" in err
    assert json.loads(stdout)["parcels_out"] == 3000  # the bar never mixes into the results


def test_reassess__errors_come_back_from_the_isolated_run(tmp_path):
    from categorize import DEFAULT_SCHEDULE, load_schedule
    from gis import UnreadableFileError
    from sba.bulk.run import reassess as run
    from sba.errors import OutputError

    with pytest.raises(OutputError, match="must end in"):
        run(tmp_path / "p.parquet", tmp_path / "f.parquet", tmp_path / "out.txt",
            schedule=load_schedule(DEFAULT_SCHEDULE), isolate=True)
    with pytest.raises(UnreadableFileError):
        run(tmp_path / "missing.parquet", tmp_path / "f.parquet", tmp_path / "out.parquet",
            schedule=load_schedule(DEFAULT_SCHEDULE), isolate=True)


def test_reassess__a_run_killed_by_the_system_is_one_clear_line(city, tmp_path, capsys, monkeypatch):
    import sba.bulk.run

    def killed(*args, **kwargs):  # what the kernel's out-of-memory killer does to the run
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(sba.bulk.run, "_reassess", killed)
    args = ["reassess", "--parcels", city / "parcels.parquet", "--features", city / "features.parquet",
            "--out", tmp_path / "sba.parquet"]
    assert main([str(a) for a in args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("sba: error: The reassessment process was killed by signal 9")
    assert "--resume" in err[0]


def test_reassess__geos_failing_on_a_chunk_falls_back_lot_by_lot(city, tmp_path, capsys, monkeypatch):
    """GEOS raising on one lot's shapes costs that lot only: an error text, the rest as usual."""
    import shapely

    import gis

    full = tmp_path / "full.parquet"
    reassess(capsys, city, full, "--chunk-size", "1000")
    poison = int(pd.read_parquet(full).parcel_id.iloc[1234])
    real = gis.measure_lots

    calls = tmp_path / "calls.txt"  # the run happens in a forked process: count in a file

    def fragile(parcels, *args, **kwargs):
        with calls.open("a") as f:
            f.write(f"{len(parcels)}\n")
        if (parcels.parcel_id == poison).any():
            raise shapely.errors.GEOSException("TopologyException: side location conflict")
        return real(parcels, *args, **kwargs)

    monkeypatch.setattr(gis, "measure_lots", fragile)
    out = tmp_path / "fallback.parquet"
    summary = reassess(capsys, city, out, "--chunk-size", "1000")
    assert summary["errors"] == 1
    # the failing lot is found by halving its chunk, not by measuring 1,000 lots one by one
    n_calls = len(calls.read_text().splitlines())
    assert 3 < n_calls < 80, n_calls
    a, b = pd.read_parquet(full).set_index("parcel_id"), pd.read_parquet(out).set_index("parcel_id")
    assert b.loc[poison, "error"].startswith("Geometry could not be measured (TopologyException")
    others = b.index != poison
    for col in ("billable_area_sqft", "overlap_sqft", "overwater_excluded_sqft", "category"):
        pd.testing.assert_series_equal(a.loc[others, col], b.loc[others, col])
    # the failed lot's next-door neighbours are measured alone: only there may the street
    # part differ (their driveway's part on the failed lot counts as outside)
    lots = gpd.read_parquet(city / "parcels.parquet").set_index("parcel_id").geometry
    next_door = set(lots.index[lots.distance(lots.loc[poison]) < 1.0]) - {poison}
    differs = (a.loc[others, "outside_parcel_sqft"] - b.loc[others, "outside_parcel_sqft"]).abs() > 1e-6
    assert set(differs.index[differs]) <= next_door
    assert 2 <= len(next_door) <= 8


def test_reassess__geopackage_layers_give_the_same_result_as_geoparquet(city, tmp_path, capsys):
    gpkg = tmp_path / "city.gpkg"
    for name in ("parcels", "features", "water"):
        gpd.read_parquet(city / f"{name}.parquet").to_file(gpkg, layer=name, driver="GPKG")
    reassess(capsys, city, tmp_path / "from-parquet.parquet", "--chunk-size", "1000")
    args = ["reassess", "--parcels", gpkg, "--parcels-layer", "parcels", "--features", gpkg,
            "--features-layer", "features", "--water", gpkg, "--water-layer", "water",
            "--out", tmp_path / "from-gpkg.parquet", "--class-field", "land_use", "--class-map", CLASS_MAP,
            "--chunk-size", "1000", "--format", "json"]
    assert main([str(a) for a in args]) == 0
    capsys.readouterr()
    a, b = pd.read_parquet(tmp_path / "from-parquet.parquet"), pd.read_parquet(tmp_path / "from-gpkg.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-6, rtol=0)


def test_reassess__layers_read_ahead_give_the_same_table(city, tmp_path):
    """The command line starts reading GeoParquet layers before it has imported the
    rest (sba.bulk.prefetch); the run must give exactly the table of a plain read."""
    from sba.bulk.options import ReassessOptions
    from sba.bulk.prefetch import Prefetch, wanted_columns
    from sba.bulk.run import reassess as run
    from sba.cli import rate_schedule as _schedule

    opts = ReassessOptions(class_field="land_use", class_map=dict(p.split("=") for p in CLASS_MAP.split(",")))
    paths = {role: city / f"{role}.parquet" for role in ("parcels", "features", "water")}
    wanted = wanted_columns(opts.id_field, opts.class_field, opts.dwelling_units_field, opts.type_field)
    ahead = Prefetch({paths[role]: wanted[role] for role in paths})
    ahead.wait()
    assert sorted(ahead._tables) == sorted(str(p) for p in paths.values())
    assert ahead._tables[str(paths["features"])][1].column_names == ["feature_type", "geometry"]
    taken = []
    take = ahead.take
    ahead.take = lambda path, cols: taken.append(take(path, cols)) or taken[-1]
    kw = {"water_path": paths["water"], "schedule": _schedule(None), "opts": opts, "workers": 2}
    run(paths["parcels"], paths["features"], tmp_path / "ahead.parquet", prefetched=ahead, **kw)
    assert len(taken) == 3  # all three layers came from the prefetch
    assert all(t is not None for t in taken)
    run(paths["parcels"], paths["features"], tmp_path / "plain.parquet", **kw)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "ahead.parquet"),
                                  pd.read_parquet(tmp_path / "plain.parquet"))
    # asked for other columns than were read ahead, it reads the file itself
    other = Prefetch({paths["parcels"]: ["parcel_id"]})
    assert other.take(paths["parcels"], ["parcel_id", "land_use"]) is None
    assert Prefetch({tmp_path / "missing.parquet": []}).take(tmp_path / "missing.parquet", []) is None


@pytest.mark.parametrize(("n", "chunk_size"), [(100_000, 20_000), (1_000_000, 20_000), (3_000, 100), (40_000, 20_000)])
def test_reassess__chunks_cover_every_lot_once_and_the_last_ones_are_smaller(n, chunk_size):
    """The local run's chunks: every lot in exactly one, none above --chunk-size,
    and with 8 or more chunks the last four shrink, so the workers finish together."""
    from sba.bulk.chunks import TAIL, chunk_bounds, chunk_count

    bounds = chunk_bounds(n, chunk_size)
    sizes = np.diff(bounds)
    assert bounds[0] == 0
    assert bounds[-1] == n
    assert (sizes > 0).all()
    assert sizes.max() <= chunk_size
    assert len(sizes) >= chunk_count(n, chunk_size) >= 8
    full = sizes[:-len(TAIL)]
    assert full.max() - full.min() <= 1
    assert np.allclose(sizes[-len(TAIL):] / full.mean(), TAIL, atol=2 / full.mean())


@pytest.mark.parametrize("n", [3_000, 10_000, 35_000])
def test_reassess__a_few_chunks_stay_equal(n):
    from sba.bulk.chunks import chunk_bounds

    sizes = np.diff(chunk_bounds(n, 20_000))
    assert len(sizes) < 8
    assert sizes.max() - sizes.min() <= 1


def test_reassess__a_layer_truncated_after_it_was_read_ahead_leaves_the_table_whole(city, tmp_path):
    """The read-ahead memory-maps the file; the table must be pyarrow's own copy, so that a
    file replaced or truncated later (another job rewriting it) cannot change or kill the run
    (a view of a truncated mapping dies with SIGBUS: hence a child process)."""
    import shutil
    import subprocess
    import sys

    import pyarrow.parquet as pq

    copy = tmp_path / "features.parquet"
    shutil.copy(city / "features.parquet", copy)
    script = (
        "import os, sys\n"
        "from sba.bulk.prefetch import read_table\n"
        "table = read_table(sys.argv[1], ['feature_type'])\n"
        "os.truncate(sys.argv[1], 0)\n"
        "print(len(table), sum(map(len, table.column('geometry').to_pylist())))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(copy)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    whole = pq.read_table(city / "features.parquet")
    assert done.stdout.split() == [str(len(whole)), str(sum(map(len, whole.column("geometry").to_pylist())))]
