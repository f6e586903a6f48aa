"""``sba reassess --previous``: last year's results are read and checked before the run, not after it."""

from __future__ import annotations

import pandas as pd
import pytest

from sba.cli import main
from tests.sba.bulk.test_reassess import CLASS_MAP


def _run(city, out, previous) -> int:
    args = ["reassess", "--parcels", city / "parcels.parquet", "--features", city / "features.parquet",
            "--water", city / "water.parquet", "--out", out, "--class-field", "land_use",
            "--class-map", CLASS_MAP, "--no-progress", "--previous", previous]
    return main([str(a) for a in args])


def _write(tmp_path, name: str, frame: pd.DataFrame | None = None, raw: bytes | None = None):
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize(
    ("name", "frame", "raw", "message"),
    [
        ("torn.parquet", None, b"PAR1\x00\x01 not a parquet file", "cannot be read as a results table"),
        ("binary.csv", None, b"\xff\xfe\x00\x00garbage\x00\x01\x02", "cannot be read as a results table"),
        ("nocat.csv", pd.DataFrame({"parcel_id": ["R1"], "area": [1]}), None, "columns parcel_id and category"),
        ("twice.csv", pd.DataFrame({"parcel_id": ["R1", "R2", "R1"], "category": ["small", "large", "small"]}),
         None, "lists parcel 'R1' 2 times"),
        ("results.txt", pd.DataFrame({"parcel_id": ["R1"]}), b"parcel_id,category\n", "must end in .csv or .parquet"),
    ],
)
def test_previous__a_bad_previous_results_file_is_refused_before_the_run_in_one_line(city, tmp_path, capsys, name,
                                                                                   frame, raw, message):
    previous = _write(tmp_path, name, frame, raw)
    out = tmp_path / "this-year.parquet"
    code = _run(city, out, previous)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not out.exists()  # refused before any parcel was measured


def test_previous__parquet_results_of_last_year_are_compared(city, tmp_path, capsys):
    out = tmp_path / "last-year.parquet"
    assert _run(city, out, _write(tmp_path, "empty.csv", pd.DataFrame({"parcel_id": [], "category": []}))) == 0
    last = pd.read_parquet(out)[["parcel_id", "category"]].astype({"parcel_id": str})
    gone = pd.DataFrame({"parcel_id": ["R-GONE"], "category": ["small"]})
    previous = _write(tmp_path, "prev.parquet", pd.concat([last, gone]))
    capsys.readouterr()
    assert _run(city, tmp_path / "this-year.parquet", previous) == 0
    changes = pd.read_csv(tmp_path / "this-year.changes.csv", dtype={"parcel_id": str})
    assert changes.parcel_id.tolist() == ["R-GONE"]
    assert changes.change.tolist() == ["parcel gone"]


def test_previous__ids_written_another_way_are_named_in_a_note(city, tmp_path, capsys):
    """Last year's ids zero-padded ('00000001' for 1): no parcel matches, and every one would be
    listed as new and gone; the summary says the ids do not match instead of letting it pass."""
    import json

    out = tmp_path / "last-year.parquet"
    assert _run(city, out, _write(tmp_path, "empty.csv", pd.DataFrame({"parcel_id": [], "category": []}))) == 0
    last = pd.read_parquet(out)[["parcel_id", "category"]]
    last["parcel_id"] = last.parcel_id.map(lambda i: f"{i:08d}")
    previous = _write(tmp_path, "padded.csv", last)
    capsys.readouterr()
    assert main([str(a) for a in ["reassess", "--parcels", city / "parcels.parquet", "--features",
                                  city / "features.parquet", "--out", tmp_path / "this-year.parquet",
                                  "--no-progress", "--previous", previous, "--format", "json"]]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert ("Only 0 of the 3,000 parcels are in the previous results (padded.csv, 3,000 parcels; ids there look "
            "like '00000001', here like '1'): check that both use the same parcel ids.") in notes


def test_previous__a_matching_year_gives_no_id_note(city, tmp_path, capsys):
    import json

    out = tmp_path / "last-year.parquet"
    assert _run(city, out, _write(tmp_path, "empty.csv", pd.DataFrame({"parcel_id": [], "category": []}))) == 0
    capsys.readouterr()
    assert main([str(a) for a in ["reassess", "--parcels", city / "parcels.parquet", "--features",
                                  city / "features.parquet", "--out", tmp_path / "this-year.parquet",
                                  "--no-progress", "--previous", out, "--format", "json"]]) == 0
    assert not [n for n in json.loads(capsys.readouterr().out)["notes"] if "previous results" in n]
