"""``sba reassess --scheduler``: the local run's chunks measured on a dask LocalCluster.

The workers read the GeoParquet layers themselves, so the result must equal
the local run's bit for bit, the driver must never hold a layer, and the
parts of a broken or killed run must resume.  One LocalCluster (2 worker
processes) serves the module.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd

from sba.cli import main
from tests.sba.bulk.test_reassess import CLASS_MAP, reassess

distributed = pytest.importorskip("dask.distributed", reason="dask is an optional extra ([cluster])")


def same_table(a, b) -> bool:
    """Two result files hold the same table, bit for bit (schema, values, floats exactly)."""
    import pyarrow.parquet as pq

    return pq.read_table(a).equals(pq.read_table(b))


PRELOAD = ["sba.bulk.worker_setup"]  # as scripts/dask-local and the README start workers


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, preload=PRELOAD) as c:
        yield c.scheduler_address


def _engine_loaded() -> bool:
    import importlib.util
    import sys

    names = ["sba.bulk.cluster", "gis.measure"]
    if importlib.util.find_spec("numba") is not None:  # the compiled kernels too, where numba is installed
        names.append("sba.bulk.boxes_jit")
    return all(name in sys.modules for name in names)


def test_cluster__a_worker_started_with_the_preload_has_the_engine_loaded_before_any_task():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  preload=PRELOAD) as c, distributed.Client(c) as client:
        assert list(client.run(_engine_loaded).values()) == [True]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c, distributed.Client(c) as client:
        assert list(client.run(_engine_loaded).values()) == [False]  # what the preload saves the first job


def test_cluster__equals_the_local_run(city, cluster, tmp_path, capsys):
    local_summary = reassess(capsys, city, tmp_path / "local.parquet", "--chunk-size", "400")
    summary = reassess(capsys, city, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", cluster)
    assert summary["parcels_in"] == summary["parcels_out"] == 3000
    assert summary["chunks"] == local_summary["chunks"] == 10  # the local run's chunks, the last ones smaller
    local = pd.read_parquet(tmp_path / "local.parquet")
    assert (local.overwater_excluded_sqft > 0).any()  # the water layer is in play
    assert (local.outside_parcel_sqft > 0).sum() > 100  # and features shared across chunks
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")


def test_cluster__chunks_paired_by_their_boxes_equal_the_local_run(city, tmp_path, capsys, monkeypatch):
    """Where numba is installed and a chunk has many candidate surfaces, a worker pairs them with
    its lots by their boxes (the compiled sweep) and decodes only those in play: the same table.
    The sweep's threshold is lowered here, in a cluster of this process's threads, so that this
    small city takes that way."""
    pytest.importorskip("numba")
    from sba.bulk import boxes, pairing

    found = []
    real = boxes.feature_lot_pairs
    monkeypatch.setattr(boxes, "JIT_MIN_ROWS", 0)
    monkeypatch.setattr(boxes, "feature_lot_pairs", lambda *a, **k: found.append(1) or real(*a, **k))
    reassess(capsys, city, tmp_path / "local.parquet", "--chunk-size", "400")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=None) as c:
        reassess(capsys, city, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", c.scheduler_address)
    assert len(found) >= 10  # every chunk was paired by its boxes
    assert pairing.box_pairs(*(np.zeros((1, 4)),) * 2) is not None
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")


def test_cluster__dissolved_candidates_are_split_before_pairing_by_boxes(city, tmp_path, capsys, monkeypatch):
    """With the pairing by boxes switched on for every chunk, a chunk whose candidates include a
    surface dissolved past SPLIT_COORDS vertices still splits it before pairing, as the local
    run does: the same table."""
    pytest.importorskip("numba")
    import shapely

    from gis.tiles import SPLIT_COORDS
    from sba.bulk import boxes, pieces

    features = gpd.read_parquet(city / "features.parquet")
    dissolved = features[["feature_type", "geometry"]].dissolve("feature_type").reset_index()
    for name in ("parcels", "water"):
        (tmp_path / f"{name}.parquet").symlink_to(city / f"{name}.parquet")
    dissolved.to_parquet(tmp_path / "features.parquet")
    monkeypatch.setattr(boxes, "JIT_MIN_ROWS", 0)
    whole = []  # per chunk: the dissolved surfaces it was given whole
    real = pieces.measure_chunk

    def spy(parcels, features, *args):
        geoms = features.geometry.to_numpy()
        whole.append(int(((shapely.get_num_geometries(geoms) > 1)
                          & (shapely.get_num_coordinates(geoms) > SPLIT_COORDS)).sum()))
        return real(parcels, features, *args)

    monkeypatch.setattr(pieces, "measure_chunk", spy)
    reassess(capsys, tmp_path, tmp_path / "local.parquet", "--chunk-size", "400")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=None) as c:
        reassess(capsys, tmp_path, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", c.scheduler_address)
    assert len(whole) >= 10
    assert not any(whole)
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")


def test_cluster__layers_in_several_row_groups_are_read_side_by_side(city, cluster, tmp_path, capsys):
    """Each row group is a piece a worker reads; the lots keep their file order in each chunk."""
    import pyarrow.parquet as pq

    for name, rows in (("parcels", 700), ("features", 2000), ("water", 4)):
        gpd.read_parquet(city / f"{name}.parquet").to_parquet(tmp_path / f"{name}.parquet", row_group_size=rows)
    assert pq.ParquetFile(tmp_path / "parcels.parquet").metadata.num_row_groups == 5
    reassess(capsys, city, tmp_path / "local.parquet", "--chunk-size", "400")
    reassess(capsys, tmp_path, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", cluster)
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")


def test_cluster__the_driver_holds_no_layer(city, cluster, tmp_path, capsys, monkeypatch):
    """Neither reads the parcels or features in the driver nor pulls shapes back from the workers."""
    import pyarrow.parquet as pq

    import geopandas

    import gis
    import gis.io

    big = {str(city / "parcels.parquet"), str(city / "features.parquet")}

    def refuse_reading(real):
        def spy(source, *args, **kwargs):
            assert str(source) not in big, f"the driver read {source}"
            return real(source, *args, **kwargs)
        return spy

    for module, name in [(gis, "read_layer"), (gis.io, "read_layer"), (geopandas, "read_parquet"),
                         (geopandas.io.arrow, "_read_parquet"), (pq, "read_table"), (pd, "read_parquet")]:
        monkeypatch.setattr(module, name, refuse_reading(getattr(module, name)))

    def no_shapes(value):
        if isinstance(value, list | tuple):
            for v in value:
                no_shapes(v)
        assert not isinstance(value, gpd.GeoDataFrame | gpd.GeoSeries), "shapes came back to the driver"
        return value

    real_result, real_gather = distributed.Future.result, distributed.Client.gather
    monkeypatch.setattr(distributed.Future, "result", lambda self, *a, **k: no_shapes(real_result(self, *a, **k)))
    monkeypatch.setattr(distributed.Client, "gather", lambda self, *a, **k: no_shapes(real_gather(self, *a, **k)))
    summary = reassess(capsys, city, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", cluster)
    assert summary["parcels_out"] == 3000


def _break_after(monkeypatch, module, n_parts: int) -> None:
    """Make the run fail once ``n_parts`` parts are written, as a crash would."""
    real = module.write_part

    def write_part(table, folder, k):
        if len(list(folder.glob("chunk-*.arrow"))) >= n_parts:
            raise RuntimeError("the run broke here")
        return real(table, folder, k)

    monkeypatch.setattr(module, "write_part", write_part)


def refused_alike(argv: list[str], cluster: str, capsys) -> str:
    """The local run and the cluster run refuse ``argv`` with the same one line (exit 2); that line."""
    assert main(argv) == 2
    local = capsys.readouterr().err
    assert main([*argv, "--scheduler", cluster]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err == local
    return err


def _run(*args) -> int:
    return main([str(a) for a in args])


def _args(city, out, *extra):
    return ["reassess", "--parcels", city / "parcels.parquet", "--features", city / "features.parquet",
            "--water", city / "water.parquet", "--out", out, "--class-field", "land_use",
            "--class-map", CLASS_MAP, "--format", "json", *extra]


def test_cluster__resume_keeps_the_finished_partitions(city, cluster, tmp_path, capsys, monkeypatch):
    import sba.bulk.cluster

    local = reassess(capsys, city, tmp_path / "local.parquet", "--chunk-size", "300")
    out = tmp_path / "dask.parquet"
    parts = tmp_path / "dask.parquet.parts"
    with monkeypatch.context() as m:
        _break_after(m, sba.bulk.cluster, 3)
        assert _run(*_args(city, out, "--chunk-size", "300", "--scheduler", cluster)) == 1
    assert "the run broke here" in capsys.readouterr().err
    assert len(list(parts.glob("chunk-*.arrow"))) == 3
    assert not out.exists()
    summary = reassess(capsys, city, out, "--chunk-size", "300", "--scheduler", cluster, "--resume")
    assert summary["chunks_resumed"] == 3
    assert summary["chunks"] == local["chunks"] == 13
    assert same_table(tmp_path / "local.parquet", out)
    assert not parts.exists()


def test_cluster__does_not_resume_the_parts_of_a_local_run(city, cluster, tmp_path, capsys, monkeypatch):
    """Local chunks and cluster partitions are cut differently: their parts never mix."""
    import sba.bulk.run

    out = tmp_path / "sba.parquet"
    with monkeypatch.context() as m:
        _break_after(m, sba.bulk.run, 2)
        assert _run(*_args(city, out, "--chunk-size", "300")) == 1
    capsys.readouterr()
    assert len(list((tmp_path / "sba.parquet.parts").glob("chunk-*.arrow"))) == 2
    summary = reassess(capsys, city, out, "--chunk-size", "300", "--scheduler", cluster, "--resume")
    assert summary["chunks_resumed"] == 0
    reassess(capsys, city, tmp_path / "local.parquet", "--chunk-size", "300")
    assert same_table(tmp_path / "local.parquet", out)


def test_cluster__types_in_a_column_called_type_are_read_as_in_the_local_run(city, cluster, tmp_path, capsys):
    """Without feature_type, the types are read from TYPE (as sba measure reads them), on a cluster too."""
    features = gpd.read_parquet(city / "features.parquet")
    features.rename(columns={"feature_type": "TYPE"}).to_parquet(tmp_path / "typed.parquet")
    with_name = reassess(capsys, city, tmp_path / "named.parquet")

    def run(out, *extra):
        args = _args(city, out, *extra)
        args[args.index(city / "features.parquet")] = tmp_path / "typed.parquet"
        assert _run(*args) == 0, capsys.readouterr().err
        return json.loads(capsys.readouterr().out)

    local, remote = run(tmp_path / "local.parquet"), run(tmp_path / "dask.parquet", "--scheduler", cluster)
    assert local["notes"] == remote["notes"] == with_name["notes"]
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")
    assert pd.read_parquet(tmp_path / "dask.parquet").equals(pd.read_parquet(tmp_path / "named.parquet"))


def test_cluster__geopackage_in_and_out_equals_the_local_run(city, cluster, tmp_path, capsys):
    """GeoPackage layers are read by the driver and handed to the workers; a
    GeoPackage output carries the lots' shapes, fetched back for writing."""
    gpkg = tmp_path / "city.gpkg"
    for name in ("parcels", "features", "water"):
        gpd.read_parquet(city / f"{name}.parquet").to_file(gpkg, layer=name, driver="GPKG")

    def run(out, *extra):
        args = ["reassess", "--parcels", gpkg, "--parcels-layer", "parcels", "--features", gpkg,
                "--features-layer", "features", "--water", gpkg, "--water-layer", "water", "--out", out,
                "--class-field", "land_use", "--class-map", CLASS_MAP, "--chunk-size", "500", "--format", "json",
                *extra]
        assert _run(*args) == 0, capsys.readouterr().err
        capsys.readouterr()
        return gpd.read_file(out)

    local = run(tmp_path / "local.gpkg")
    dask = run(tmp_path / "dask.gpkg", "--scheduler", cluster)
    assert len(dask) == 3000
    assert dask.geometry.notna().all()
    pd.testing.assert_frame_equal(local, dask)


@pytest.mark.parametrize(
    "extra",
    [
        ["--class-field", "zoning"],
        ["--class-field", "land_use"],  # county codes without --class-map: no lot has a class
        ["--type-field", "kind"],
        ["--features", "{tmp}/nope.parquet"],
        ["--parcels", "{tmp}/plain.parquet"],
    ],
)
def test_cluster__bad_inputs_give_the_local_run_s_one_line(city, cluster, tmp_path, capsys, extra):
    pd.DataFrame({"parcel_id": [1, 2]}).to_parquet(tmp_path / "plain.parquet")  # no geometry metadata
    args = {"--parcels": str(city / "parcels.parquet"), "--features": str(city / "features.parquet"),
            "--out": str(tmp_path / "r.parquet")}
    flat = [a.format(tmp=tmp_path) for a in extra]
    args.update(zip(flat[::2], flat[1::2], strict=True))
    argv = ["reassess", *[x for kv in args.items() for x in kv], "--no-progress"]
    refused_alike(argv, cluster, capsys)


def test_cluster__class_codes_that_are_no_class_are_noted_as_in_the_local_run(city, cluster, tmp_path, capsys):
    argv = ["reassess", "--parcels", city / "parcels.parquet", "--features", city / "features.parquet",
            "--class-field", "land_use", "--class-map", "residential=single_family", "--format", "json"]
    assert _run(*argv, "--out", tmp_path / "local.parquet") == 0
    local = json.loads(capsys.readouterr().out)
    assert _run(*argv, "--out", tmp_path / "dask.parquet", "--scheduler", cluster) == 0
    remote = json.loads(capsys.readouterr().out)
    noted = [n for n in local["notes"] if "no property class: 'commercial'" in n]
    assert noted
    assert noted == [n for n in remote["notes"] if "no property class" in n]


def test_cluster__without_dask_one_clear_line(city, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if not installed
    assert _run(*_args(city, tmp_path / "r.parquet", "--scheduler", "tcp://127.0.0.1:8786")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["sba: error: Running on a cluster needs dask: pip install 'stormwater-billable-area[cluster]'."]


def test_cluster__unreachable_scheduler_one_clear_line(city, tmp_path, capsys):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        assert _run(*_args(city, tmp_path / "r.parquet", "--scheduler", "tcp://127.0.0.1:9")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("sba: error: Could not reach the dask scheduler at 'tcp://127.0.0.1:9'")


def test_cluster__web_mercator_and_repeated_ids_as_in_the_local_run(city, cluster, tmp_path, capsys, monkeypatch):
    """The cluster picks the measuring CRS and marks repeated ids exactly as the local run does
    (its result streamed in batches of 700 rows)."""
    import sba.bulk.result

    monkeypatch.setattr(sba.bulk.result, "BATCH_ROWS", 700)
    parcels = gpd.read_parquet(city / "parcels.parquet").to_crs(3857)
    parcels.loc[[3, 2500], "parcel_id"] = 777_777
    parcels.to_parquet(tmp_path / "parcels.parquet")
    for name in ("features", "water"):
        gpd.read_parquet(city / f"{name}.parquet").to_crs(3857).to_parquet(tmp_path / f"{name}.parquet")
    local = reassess(capsys, tmp_path, tmp_path / "local.parquet", "--chunk-size", "400")
    dask = reassess(capsys, tmp_path, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", cluster)
    assert "Pseudo-Mercator" in local["crs_note"]
    assert dask["crs_note"] == local["crs_note"]
    assert dask["repeated_ids"] == local["repeated_ids"] == 2
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")


def test_cluster__workers_running_other_code_are_refused(city, cluster, tmp_path, capsys):
    import sba.bulk.cluster

    with distributed.Client(cluster) as client:
        client.run(lambda: sba.bulk.cluster._CODE.__setitem__(slice(None), ["from another version"]))
        try:
            code = main([str(a) for a in ["reassess", "--parcels", city / "parcels.parquet", "--features",
                                          city / "features.parquet", "--out", tmp_path / "out.parquet",
                                          "--scheduler", cluster]])
        finally:
            client.run(lambda: sba.bulk.cluster._CODE.clear())
    err = capsys.readouterr().err
    assert code == 2
    assert "2 of the 2 dask workers" in err
    assert "install the same version on every worker" in err
    assert not (tmp_path / "out.parquet").exists()


def _die_on_first_task(marker: str):
    """Installed in each worker: the first partition task anywhere ends its worker process
    (as an out-of-memory kill would), once per test run (``marker`` is a file)."""
    import os

    import sba.bulk.cluster

    real = sba.bulk.cluster._measure_partition

    def measure(*args, **kwargs):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return real(*args, **kwargs)
        os.close(fd)
        os._exit(1)

    sba.bulk.cluster._measure_partition = measure


def test_cluster__a_worker_killed_mid_run_is_replaced_and_the_table_equals_an_uninterrupted_run(
        city, cluster, tmp_path, capsys):
    reassess(capsys, city, tmp_path / "local.parquet", "--chunk-size", "400")
    marker = tmp_path / "killed-once"
    with distributed.Client(cluster) as client:
        client.run(_die_on_first_task, str(marker))
        summary = reassess(capsys, city, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", cluster)
        client.wait_for_workers(2, timeout=60)  # the nanny has started a fresh worker
    assert marker.exists()  # a worker did die
    assert summary["parcels_out"] == 3000
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")


def test_cluster__a_driver_killed_mid_run_resumes_to_the_table_of_an_uninterrupted_run(city, cluster, tmp_path, capsys):
    """kill -9 of the ``sba`` process (the driver) mid-run: ``--resume`` keeps the chunks it
    had recorded, measures the rest on the cluster, and gives the uninterrupted run's table."""
    import json
    import subprocess
    import time

    reassess(capsys, city, tmp_path / "local.parquet", "--chunk-size", "100")
    out = tmp_path / "dask.parquet"
    manifest = tmp_path / "dask.parquet.parts" / "manifest.json"
    argv = [sys.executable, "-m", "sba", *map(str, _args(city, out, "--chunk-size", "100", "--scheduler", cluster,
                                                         "--no-progress"))]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    recorded: dict = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and len(recorded) < 3:
        if manifest.exists():
            recorded = json.loads(manifest.read_text())["parts"]
        time.sleep(0.02)
    proc.kill()  # the forked run dies with it (PR_SET_PDEATHSIG)
    proc.wait()
    assert len(recorded) >= 3, "the run was not killed mid-way"
    assert not out.exists()
    summary = reassess(capsys, city, out, "--chunk-size", "100", "--scheduler", cluster, "--resume")
    assert summary["chunks_resumed"] >= 3
    assert summary["chunks"] == 33  # the local run's chunks of 100 lots, the last ones smaller
    assert same_table(tmp_path / "local.parquet", out)


def test_cluster__a_csv_result_streamed_from_the_parts_is_the_local_run_s_file_byte_for_byte(
        city, cluster, tmp_path, capsys):
    reassess(capsys, city, tmp_path / "local.csv", "--chunk-size", "400")
    with pytest.MonkeyPatch.context() as m:
        import sba.bulk.result

        m.setattr(sba.bulk.result, "BATCH_ROWS", 700)  # several batches, one cut inside a chunk
        m.setattr(sba.bulk.result, "GATHER_ROWS", 1100)  # rows gathered from the parts a column at a time
        reassess(capsys, city, tmp_path / "dask.csv", "--chunk-size", "400", "--scheduler", cluster)
    assert (tmp_path / "local.csv").read_bytes() == (tmp_path / "dask.csv").read_bytes()


def _ids_missing_in_one_row_group(city, folder, pandas_metadata: bool) -> None:
    """The city with its parcels in 5 row groups of 600 lots, integer ids missing for 7 lots of
    the third only (a file from GDAL or a database has no pandas metadata; one from pandas with
    an ``Int64`` column has it)."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(city / "parcels.parquet")
    ids = table.column("parcel_id").to_numpy()
    missing = [1250, 1251, 1300, 1444, 1500, 1501, 1799]
    mask = pd.Series(range(len(ids))).isin(missing).to_numpy()
    column = pa.array(ids, type=pa.int64(), mask=mask)
    table = table.set_column(table.column_names.index("parcel_id"), "parcel_id", column)
    meta = dict(table.schema.metadata)
    if pandas_metadata:
        frame = table.drop_columns(["geometry"]).to_pandas()
        frame["parcel_id"] = frame["parcel_id"].astype("Int64")
        meta[b"pandas"] = pa.Table.from_pandas(frame, preserve_index=False).schema.metadata[b"pandas"]
    else:
        meta.pop(b"pandas", None)
    pq.write_table(table.replace_schema_metadata(meta), folder / "parcels.parquet", row_group_size=600)
    for name in ("features.parquet", "water.parquet"):
        shutil.copy(city / name, folder / name)


@pytest.mark.parametrize("pandas_metadata", [False, True], ids=["int64", "pandas Int64"])
def test_cluster__integer_ids_missing_in_one_row_group_only_give_the_local_run_s_table(
        city, cluster, tmp_path, capsys, pandas_metadata):
    """pandas makes a whole file's integer column with a missing value float (or keeps ``Int64``);
    a chunk's lots from row groups without one must get the same type, not int64 in some parts."""
    import pyarrow.parquet as pq

    _ids_missing_in_one_row_group(city, tmp_path, pandas_metadata)
    assert pq.ParquetFile(tmp_path / "parcels.parquet").metadata.num_row_groups == 5
    local = reassess(capsys, tmp_path, tmp_path / "local.parquet", "--chunk-size", "400")
    dask = reassess(capsys, tmp_path, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", cluster)
    assert local["errors"] == dask["errors"] >= 7  # the lots without an id
    table = pd.read_parquet(tmp_path / "local.parquet")
    assert table.parcel_id.isna().sum() == 7
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")


@pytest.mark.parametrize("scheme", ["file://", "memory://"])
def test_cluster__input_urls_give_one_clear_line(city, cluster, tmp_path, capsys, scheme):
    """Inputs are paths the driver and every worker can open; a URL gets the local run's one line."""
    url = f"{scheme}{city / 'parcels.parquet'}"
    argv = ["reassess", "--parcels", url, "--features", str(city / "features.parquet"), "--out",
            str(tmp_path / "r.parquet"), "--no-progress"]
    local_code = main(argv)
    local = capsys.readouterr().err
    code = main([*argv, "--scheduler", cluster])
    err = capsys.readouterr().err
    assert (local_code, code) == (2, 2)
    assert len(err.strip().splitlines()) == 1
    assert err == local
    assert not (tmp_path / "r.parquet").exists()


def test_cluster__a_geopackage_result_is_written_a_batch_at_a_time_and_equals_the_local_run_s(
        city, cluster, tmp_path, capsys, monkeypatch):
    """The driver fetches the lots' shapes for one batch of the result at a time (it held every
    lot's shape and row: 1.4 GiB at 1M parcels), and the file reads back as the local run's."""
    import sba.bulk.cluster
    import sba.bulk.result

    reassess(capsys, city, tmp_path / "local.gpkg", "--chunk-size", "400")
    log = tmp_path / "fetched.txt"  # the run is a forked child: it tells the test through a file
    real = sba.bulk.cluster._Plan.lot_shapes

    def lot_shapes(self, client, keys):
        with log.open("a") as f:
            f.write(f"{len(keys)}\n")
        return real(self, client, keys)

    monkeypatch.setattr(sba.bulk.cluster._Plan, "lot_shapes", lot_shapes)
    monkeypatch.setattr(sba.bulk.result, "BATCH_ROWS", 700)
    monkeypatch.setattr(sba.bulk.result, "GATHER_ROWS", 1100, raising=False)
    summary = reassess(capsys, city, tmp_path / "dask.gpkg", "--chunk-size", "400", "--scheduler", cluster)
    assert summary["parcels_out"] == 3000
    fetched = [int(line) for line in log.read_text().split()]
    assert sum(fetched) == 3000
    assert max(fetched) <= 700
    local, dask = gpd.read_file(tmp_path / "local.gpkg"), gpd.read_file(tmp_path / "dask.gpkg")
    assert dask.geometry.notna().all()
    pd.testing.assert_frame_equal(local, dask)


def _rewrite_wkb(src, dst, change, row_group_size: int = 1000) -> None:
    """``src`` GeoParquet written to ``dst`` with each row's WKB replaced by ``change(i, wkb)``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(src)
    at = table.schema.get_field_index("geometry")
    wkb = [change(i, w) for i, w in enumerate(table.column(at).to_pylist())]
    table = table.set_column(at, table.schema.field(at), pa.array(wkb, type=table.schema.field(at).type))
    pq.write_table(table, dst, row_group_size=row_group_size)


def _odd_wkb(i: int, wkb: bytes) -> bytes:
    """Every other shape big-endian, every third a MultiPolygon (both byte orders in one), every
    seventh with a Z: what the compiled box reader reads and what it leaves to shapely."""
    import shapely

    shape = shapely.from_wkb(wkb)
    if i % 7 == 0:
        return shapely.to_wkb(shapely.force_3d(shape, 2.5))
    if i % 3 == 0:
        part = shapely.to_wkb(shape, byte_order=i % 2)
        return b"\x01" + (6).to_bytes(4, "little") + (1).to_bytes(4, "little") + part
    return shapely.to_wkb(shape, byte_order=i % 2)


@pytest.fixture
def compiled_box_reader(cluster):
    """The workers read every piece's boxes with the compiled reader (small pieces too)."""
    pytest.importorskip("numba")
    import sba.bulk.boxes

    with distributed.Client(cluster) as client:
        client.run(lambda: setattr(sba.bulk.boxes, "JIT_MIN_ROWS", 0))
        try:
            yield client
        finally:
            client.run(lambda: setattr(sba.bulk.boxes, "JIT_MIN_ROWS", 20_000))


def test_cluster__big_endian_multipolygon_and_z_wkb_read_for_boxes_give_the_local_run_s_table(
        city, cluster, compiled_box_reader, tmp_path, capsys):
    for name in ("parcels", "features", "water"):
        _rewrite_wkb(city / f"{name}.parquet", tmp_path / f"{name}.parquet", _odd_wkb)
    reassess(capsys, tmp_path, tmp_path / "local.parquet", "--chunk-size", "400")
    reassess(capsys, tmp_path, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", cluster)
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")
    assert all(compiled_box_reader.run(lambda: "sba.bulk.boxes_jit" in sys.modules).values())
    table = pd.read_parquet(tmp_path / "local.parquet")
    assert (table.n_features > 0).sum() > 2500


@pytest.mark.parametrize("layer", ["parcels", "features", "water"])
def test_cluster__a_torn_wkb_gives_the_local_run_s_one_line(city, cluster, compiled_box_reader, tmp_path, capsys,
                                                           layer):
    """A shape cut short inside a file: the local run's one line (exit 2), not an internal error."""
    for name in ("parcels", "features", "water"):
        src, dst = city / f"{name}.parquet", tmp_path / f"{name}.parquet"
        torn = name == layer
        _rewrite_wkb(src, dst, lambda i, w, torn=torn: w[:-5] if torn and i == 2 else w)
    argv = ["reassess", "--parcels", str(tmp_path / "parcels.parquet"), "--features",
            str(tmp_path / "features.parquet"), "--water", str(tmp_path / "water.parquet"), "--out",
            str(tmp_path / "r.parquet"), "--no-progress"]
    err = refused_alike(argv, cluster, capsys)
    assert "internal error" not in err
    assert not (tmp_path / "r.parquet").exists()


def test_cluster__a_feature_with_an_infinite_coordinate_gives_the_local_run_s_error_rows(
        city, cluster, tmp_path, capsys):
    """Such an outline is no shape to measure (SPEC A1.4 repairs crossings, not corners that are not
    numbers): the lots its box meets are error rows naming it, and the run goes on. The routing by
    boxes must not trip on it, and the cluster must give the local run's table."""
    import shapely

    for name in ("parcels", "water"):
        gpd.read_parquet(city / f"{name}.parquet").to_parquet(tmp_path / f"{name}.parquet")
    features = gpd.read_parquet(city / "features.parquet")
    geoms = features.geometry.to_numpy().copy()
    corners = shapely.get_coordinates(geoms[5])
    corners[1, 0] = np.inf
    geoms[5] = shapely.Polygon(corners)
    features.set_geometry(geoms).to_parquet(tmp_path / "features.parquet", row_group_size=1000)
    tables = []
    for out, extra in (("local.parquet", []), ("dask.parquet", ["--scheduler", cluster])):
        code = main([str(a) for a in ("reassess", "--parcels", tmp_path / "parcels.parquet", "--features",
                                      tmp_path / "features.parquet", "--water", tmp_path / "water.parquet",
                                      "--out", tmp_path / out, "--chunk-size", "400", "--no-progress", *extra)])
        assert code == 0, capsys.readouterr().err
        tables.append(pd.read_parquet(tmp_path / out))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    errors = tables[0].error.dropna()
    assert len(errors) >= 1
    assert errors.str.contains(r"features row 6\b").all()


@pytest.mark.parametrize("fmt", ["parquet", "gpkg"])
def test_cluster__unknown_and_missing_feature_types_get_the_local_run_s_note(city, cluster, tmp_path, capsys, fmt):
    """A dock someone called "jetty" is billed: the analyst must be told on a cluster as on one machine."""
    features = gpd.read_parquet(city / "features.parquet")
    features["feature_type"] = features.feature_type.astype(object)
    features.loc[:9, "feature_type"] = "jetty"
    features.loc[10:12, "feature_type"] = None
    path = tmp_path / f"features.{fmt}"
    features.to_parquet(path) if fmt == "parquet" else features.to_file(path, driver="GPKG")
    for name in ("parcels", "water"):
        (tmp_path / f"{name}.parquet").symlink_to(city / f"{name}.parquet")

    def run(out, *extra):
        code = _run("reassess", "--parcels", tmp_path / "parcels.parquet", "--features", path, "--water",
                    tmp_path / "water.parquet", "--out", tmp_path / out, "--format", "json", "--no-progress", *extra)
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return json.loads(captured.out)["notes"]

    local = run("local.parquet")
    assert local == [f"10 surfaces in features.{fmt} have a type this rate schedule does not name ('jetty'): "
                     "they count as billable. 3 surfaces have no type: they count as billable 'other'. "
                     "Give them one of the known types (roof, driveway, dock, …) if they are not hard surfaces."]
    assert run("dask.parquet", "--scheduler", cluster) == local


def test_cluster__a_layer_dissolved_by_type_gives_the_local_run_s_table(city, cluster, tmp_path, capsys):
    """Eight multipolygons of thousands of parts, each in every chunk's candidates: the workers cut
    them into the same parts and tiles as the local run (a tile depends only on its feature)."""
    features = gpd.read_parquet(city / "features.parquet")
    dissolved = features[["feature_type", "geometry"]].dissolve("feature_type").reset_index()
    assert dissolved.geometry.count_coordinates().max() > 10_000
    for name in ("parcels", "water"):
        (tmp_path / f"{name}.parquet").symlink_to(city / f"{name}.parquet")
    dissolved.to_parquet(tmp_path / "features.parquet")
    reassess(capsys, tmp_path, tmp_path / "local.parquet", "--chunk-size", "400")
    reassess(capsys, tmp_path, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", cluster)
    assert pd.read_parquet(tmp_path / "local.parquet").billable_area_sqft.sum() > 1e6
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")


@pytest.mark.parametrize("outline", ["valid", "crossed"])
def test_cluster__a_city_wide_polygon_gives_the_local_run_s_table(city, city_mask, crossed_mask, cluster, tmp_path,
                                                                  capsys, outline):
    """The city's surfaces and one polygon over the whole town with a hole a lot (an impervious
    mask; valid, or with a hole that crosses itself), in every chunk's candidates: the workers
    repair and cut it into the same tiles as the local run, which does so once for the whole city."""
    features = gpd.read_parquet(city / "features.parquet")
    mask = gpd.read_parquet((city_mask if outline == "valid" else crossed_mask)[0])
    pd.concat([features, mask], ignore_index=True).to_parquet(tmp_path / "features.parquet")
    for name in ("parcels", "water"):
        (tmp_path / f"{name}.parquet").symlink_to(city / f"{name}.parquet")
    reassess(capsys, tmp_path, tmp_path / "local.parquet", "--chunk-size", "400")
    reassess(capsys, tmp_path, tmp_path / "dask.parquet", "--chunk-size", "400", "--scheduler", cluster)
    local = pd.read_parquet(tmp_path / "local.parquet")
    assert (local.n_features > 1).all()
    assert local.repaired.all() if outline == "crossed" else not local.repaired.all()
    assert same_table(tmp_path / "local.parquet", tmp_path / "dask.parquet")


def test_cluster__stacked_copies_are_refused_as_in_the_local_run(cluster, tmp_path, capsys):
    """2,200 copies of one lot under 2,200 copies of one roof: 4,840,000 box pairs, past the cap of
    4,070,400; each worker counts them in steps as the local run does, and the run is refused
    with the local run's line."""
    import shapely

    n = 2200
    gpd.GeoDataFrame({"parcel_id": [f"L{i}" for i in range(n)]},
                     geometry=[shapely.box(7_650_000, 680_000, 7_650_100, 680_100)] * n,
                     crs="EPSG:2913").to_parquet(tmp_path / "parcels.parquet")
    gpd.GeoDataFrame({"feature_type": ["roof"] * n}, geometry=[shapely.box(7_650_010, 680_010, 7_650_040, 680_040)] * n,
                     crs="EPSG:2913").to_parquet(tmp_path / "features.parquet")
    err = refused_alike(["reassess", "--parcels", str(tmp_path / "parcels.parquet"), "--features",
                         str(tmp_path / "features.parquet"), "--out", str(tmp_path / "r.parquet"), "--no-progress"],
                        cluster, capsys)
    assert "stacked copies" in err
    assert not (tmp_path / "r.parquet").exists()
