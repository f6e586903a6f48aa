"""The ``sba`` command line: seed bills, measuring, and one clear line for every bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sba.cli import main
from tests.conftest import ROOT, SAMPLE

SBA = [sys.executable, "-m", "sba"]


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args):
    code, out, err = run_cli(capsys, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


# --- seed bills (SPEC §8) -------------------------------------------------


def test_estimate__seed_single_family_standard_quarterly(capsys):
    bill = run_json(capsys, "estimate", "--class", "single_family", "--category", "standard",
                    "--water-use", "12", "--period", "quarterly")
    assert [line["amount"] for line in bill["lines"]] == ["162.48", "18.93", "100.89"]
    assert bill["total"] == "282.30"
    assert bill["category"] == "standard"
    assert bill["service_units"] in ("1", "1.00")


def test_estimate__seed_single_family_from_measured_area(capsys):
    bill = run_json(capsys, "estimate", "--class", "single_family", "--area", "2569.16",
                    "--water-use", "12", "--period", "quarterly")
    assert bill["category"] == "standard"
    assert bill["total"] == "282.30"


def test_estimate__seed_multifamily_35_units(capsys):
    bill = run_json(capsys, "estimate", "--class", "multifamily", "--dwelling-units", "35",
                    "--area", "25000", "--water-use", "350", "--period", "quarterly")
    assert [line["amount"] for line in bill["lines"]] == ["4739.00", "430.66", "1050.98"]
    assert bill["total"] == "6220.63"
    assert bill["service_units"] == "22.75"


def test_estimate__seed_multifamily_sum_of_rounded_lines_policy(capsys):
    bill = run_json(capsys, "estimate", "--class", "multifamily", "--dwelling-units", "35",
                    "--area", "25000", "--water-use", "350", "--period", "quarterly",
                    "--total-policy", "sum_of_rounded_lines")
    assert bill["total"] == "6220.64"


def test_estimate__seed_non_residential_monthly(capsys):
    bill = run_json(capsys, "estimate", "--class", "non_residential", "--area", "40000",
                    "--water-use", "250")
    assert [line["amount"] for line in bill["lines"]] == ["3500.00", "105.19", "572.00"]
    assert bill["total"] == "4177.19"
    assert bill["service_units"] == "16.67"


def test_estimate__unverified_category_value_warns(capsys):
    bill = run_json(capsys, "estimate", "--class", "single_family", "--area", "1200")
    assert bill["category"] == "small"
    assert any("unverified" in w.lower() for w in bill["warnings"])


def test_estimate__text_output_shows_total(capsys):
    code, out, _ = run_cli(capsys, "estimate", "--class", "single_family", "--category", "standard",
                           "--water-use", "12", "--period", "quarterly")
    assert code == 0
    assert "282.30" in out


def test_estimate__money_and_areas_are_strings_in_json(capsys):
    bill = run_json(capsys, "estimate", "--class", "non_residential", "--area", "40000")
    assert isinstance(bill["total"], str)
    assert isinstance(bill["billed_area_sqft"], str)
    assert all(isinstance(line["amount"], str) for line in bill["lines"])


def test_rates__lists_portland_and_an_eru_utility(capsys):
    rows = run_json(capsys, "rates")
    names = {r["name"] for r in rows}
    assert "portland-bes-fy2025-26" in names
    assert any("oak-lodge" in n for n in names)


# --- measure ----------------------------------------------------------------


def _sample_args(*extra):
    return ("measure", "--parcels", SAMPLE / "parcels.geojson", "--features", SAMPLE / "features.geojson",
            "--water", SAMPLE / "water.geojson", *extra)


def test_measure__sample_neighbourhood_all_lots(capsys):
    data = run_json(capsys, *_sample_args())
    lots = data["lots"]
    parcels_count = len(json.loads((SAMPLE / "parcels.geojson").read_text())["features"])
    assert len(lots) == parcels_count
    assert {"parcel_id", "billable_area_sqft", "outside_parcel_sqft", "overlap_sqft",
            "overwater_excluded_sqft", "by_type", "repaired", "category"} <= set(lots[0])
    assert sum(lot["repaired"] for lot in lots) >= 1
    assert all(isinstance(lot["billable_area_sqft"], str) for lot in lots)


def test_lots_that_overlap__sba_measure_marks_a_stacked_lot_in_json_and_in_its_table(capsys, tmp_path):
    import pandas as pd

    import geopandas as gpd

    parcels = gpd.read_file(SAMPLE / "parcels.geojson")
    lot = parcels.parcel_id.iloc[5]
    pd.concat([parcels, parcels.iloc[[5]].assign(parcel_id="TWIN")]).to_file(tmp_path / "stacked.geojson")
    args = ("measure", "--parcels", tmp_path / "stacked.geojson", "--features", SAMPLE / "features.geojson")
    lots = {x["parcel_id"]: x for x in run_json(capsys, *args)["lots"]}
    assert {p for p, x in lots.items() if x["overlaps_another_lot"]} == {lot, "TWIN"}
    assert lots["TWIN"]["billable_area_sqft"] == lots[lot]["billable_area_sqft"]
    code, out, _ = run_cli(capsys, *args)
    assert code == 0
    marked = [line.split()[0] for line in out.splitlines() if line.endswith("(overlaps another lot)")]
    assert sorted(marked) == sorted([lot, "TWIN"])


def test_measure__layers_in_a_file_geodatabase_bill_as_their_geojson(capsys, tmp_path):
    """Esri shops keep parcels and surfaces in one .gdb folder: each layer named, the same bills
    (the geodatabase keeps coordinates on its grid: areas agree to 0.01 sq ft)."""
    import geopandas as gpd

    gdb = tmp_path / "city.gdb"
    for name in ("parcels", "features"):
        gpd.read_file(SAMPLE / f"{name}.geojson").to_file(gdb, layer=name, driver="OpenFileGDB",
                                                             promote_to_multi=True)
    got = run_json(capsys, "measure", "--parcels", gdb, "--parcels-layer", "parcels", "--features", gdb,
                   "--features-layer", "features")["lots"]
    want = run_json(capsys, "measure", "--parcels", SAMPLE / "parcels.geojson", "--features",
                    SAMPLE / "features.geojson")["lots"]
    assert [x["parcel_id"] for x in got] == [x["parcel_id"] for x in want]
    assert [x["category"] for x in got] == [x["category"] for x in want]
    assert max(abs(float(a["billable_area_sqft"]) - float(b["billable_area_sqft"])) for a, b in zip(got, want,
                                                                                               strict=True)) < 0.01


def test_measure__sample_matches_golden_values(capsys):
    import csv

    golden = {r["parcel_id"]: float(r["billable_area_sqft"])
              for r in csv.DictReader((SAMPLE / "expected_sba.csv").open())}
    lots = {lot["parcel_id"]: float(lot["billable_area_sqft"]) for lot in run_json(capsys, *_sample_args())["lots"]}
    assert lots.keys() == golden.keys()
    worst = max(abs(lots[k] - golden[k]) for k in golden)
    assert worst <= 0.01


def test_measure__one_lot_by_id(capsys):
    first = json.loads((SAMPLE / "parcels.geojson").read_text())["features"][0]["properties"]["parcel_id"]
    lot = run_json(capsys, *_sample_args("--parcel-id", first))
    assert lot["parcel_id"] == first
    assert float(lot["billable_area_sqft"]) > 0


def test_measure__text_output(capsys):
    code, out, _ = run_cli(capsys, *_sample_args())
    assert code == 0
    assert "parcel" in out.splitlines()[0]


# --- bad input: one clear line, no traceback -----------------------------------


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "garbage.geojson").write_text("not json at all")
    (d / "empty.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    (d / "notes.txt").write_text("hello")
    (d / "points.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [-122.6, 45.5]}}]}))
    (d / "far.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"feature_type": "roof"}, "geometry": {"type": "Polygon",
         "coordinates": [[[10, 10], [10.001, 10], [10.001, 10.001], [10, 10]]]}}]}))
    (d / "rates.toml").write_text("utility = 'x'\n")
    (d / "broken.toml").write_text("this is = = not toml")
    (d / "nocrs.csv").write_text('WKT\n"POLYGON((7600000 680000, 7600010 680000, 7600010 680010, 7600000 680000))"\n')
    (d / "bad.zip").write_bytes(b"PK not really")
    return d


S = SAMPLE
BAD_INPUTS = {
    "no_command": [],
    "unknown_command": ["bill"],
    "estimate_missing_class": ["estimate"],
    "estimate_unknown_class": ["estimate", "--class", "castle", "--area", "100"],
    "estimate_negative_area": ["estimate", "--class", "non_residential", "--area", "-5"],
    "estimate_area_not_number": ["estimate", "--class", "non_residential", "--area", "lots"],
    "estimate_area_nan": ["estimate", "--class", "non_residential", "--area", "NaN"],
    "estimate_area_too_large": ["estimate", "--class", "single_family", "--area", "1e400"],
    "estimate_area_more_digits_than_decimal_holds": ["estimate", "--class", "non_residential", "--area", "1e27"],
    "estimate_water_too_large": ["estimate", "--class", "single_family", "--area", "2000", "--water-use", "1e400"],
    "estimate_negative_water": ["estimate", "--class", "single_family", "--area", "2000", "--water-use", "-1"],
    "estimate_bad_period": ["estimate", "--class", "single_family", "--area", "2000", "--period", "fortnightly"],
    "estimate_zero_days": ["estimate", "--class", "single_family", "--area", "2000", "--period", "0"],
    "estimate_unknown_schedule": ["estimate", "--class", "single_family", "--area", "2000",
                                  "--rates", "atlantis-fy2099"],
    "estimate_incomplete_schedule": ["estimate", "--class", "single_family", "--area", "2000",
                                     "--rates", "{d}/rates.toml"],
    "estimate_broken_schedule": ["estimate", "--class", "single_family", "--area", "2000",
                                 "--rates", "{d}/broken.toml"],
    "estimate_multifamily_no_units": ["estimate", "--class", "multifamily", "--area", "20000"],
    "estimate_non_residential_no_area": ["estimate", "--class", "non_residential"],
    "estimate_sfr_no_area_no_category": ["estimate", "--class", "single_family"],
    "estimate_unknown_category": ["estimate", "--class", "single_family", "--category", "huge"],
    "estimate_units_not_whole": ["estimate", "--class", "multifamily", "--dwelling-units", "3.5", "--area", "9000"],
    "estimate_negative_units": ["estimate", "--class", "multifamily", "--dwelling-units", "-3", "--area", "9000"],
    "estimate_sfr_many_units": ["estimate", "--class", "single_family", "--dwelling-units", "5", "--area", "2000"],
    "estimate_bad_format": ["estimate", "--class", "single_family", "--area", "2000", "--format", "xml"],
    "measure_missing_parcels_file": ["measure", "--parcels", "/nope/parcels.geojson",
                                     "--features", f"{S}/features.geojson"],
    "measure_garbage_file": ["measure", "--parcels", "{d}/garbage.geojson", "--features", f"{S}/features.geojson"],
    "measure_empty_layer": ["measure", "--parcels", f"{S}/parcels.geojson", "--features", "{d}/empty.geojson"],
    "measure_wrong_extension": ["measure", "--parcels", "{d}/notes.txt", "--features", f"{S}/features.geojson"],
    "measure_points_only": ["measure", "--parcels", f"{S}/parcels.geojson", "--features", "{d}/points.geojson"],
    "measure_no_overlap": ["measure", "--parcels", f"{S}/parcels.geojson", "--parcel-id", "{first}",
                           "--features", "{d}/far.geojson"],
    "measure_unknown_parcel": ["measure", "--parcels", f"{S}/parcels.geojson", "--parcel-id", "R0000000",
                               "--features", f"{S}/features.geojson"],
    "measure_bad_id_field": ["measure", "--parcels", f"{S}/parcels.geojson", "--features", f"{S}/features.geojson",
                             "--id-field", "TAXLOT"],
    "measure_bad_type_field": ["measure", "--parcels", f"{S}/parcels.geojson", "--features", f"{S}/features.geojson",
                               "--type-field", "KIND"],
    "measure_missing_crs": ["measure", "--parcels", f"{S}/parcels.geojson", "--features", "{d}/nocrs.csv"],
    "measure_bad_zip": ["measure", "--parcels", "{d}/bad.zip", "--features", f"{S}/features.geojson"],
    "measure_missing_features_arg": ["measure", "--parcels", f"{S}/parcels.geojson"],
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input__one_clear_line_and_no_traceback(case, bad_files, capsys):
    first = json.loads((SAMPLE / "parcels.geojson").read_text())["features"][0]["properties"]["parcel_id"]
    args = [a.format(d=bad_files, first=first) for a in BAD_INPUTS[case]]
    code, _out, err = run_cli(capsys, *args)
    assert code != 0
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("sba: error: ")
    assert "Traceback" not in err
    assert "internal error" not in err
    assert len(lines[0]) > len("sba: error: ") + 15


def test_bad_input__count_is_at_least_thirty():
    assert len(BAD_INPUTS) >= 30


def test_debug__shows_the_traceback(capsys):
    with pytest.raises(Exception, match="no rate schedule"):
        main(["--debug", "estimate", "--class", "single_family", "--area", "2000", "--rates", "atlantis-fy2099"])


def test_console_script__help_for_each_command():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for cmd in ([], ["estimate"], ["measure"], ["rates"]):
        done = subprocess.run([*SBA, *cmd, "--help"], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
        assert done.returncode == 0, done.stderr
        assert "usage: sba" in done.stdout


def test_console_script__installed_entry_point_works():
    exe = Path(sys.executable).with_name("sba")
    if not exe.exists():
        pytest.skip("the sba console script is not installed in this environment (pip install -e .)")
    done = subprocess.run([str(exe), "estimate", "--class", "non_residential", "--area", "40000",
                           "--water-use", "250", "--format", "json"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == "4177.19"


def test_rates__a_schedule_shows_its_rates_from_its_file(capsys):
    data = run_json(capsys, "rates", "portland-bes-fy2025-26")
    charges = {c["charge"]: c["rate"] for c in data["charges"]}
    assert charges["Stormwater service units (SSU)"] == "$6.310 per unit per 30 days"
    assert charges["Stormwater billable area, floodplain"] == "$11.990 per 1,000 sq ft per 30 days"
    assert [c["name"] for c in data["categories"]] == ["small", "standard", "large"]
    code, out, _ = run_cli(capsys, "rates", "portland-bes-fy2025-26")
    assert code == 0
    assert "category large      above 2,700 sq ft, billed as 3,500 sq ft (placeholder)" in out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_output__a_full_disk_under_stdout_is_one_line_not_a_bug_report(fmt):
    """``sba measure ... > /dev/full``: the write fails with ENOSPC; say so, exit 1, no traceback."""
    if not Path("/dev/full").exists():
        pytest.skip("this system has no /dev/full")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "sba", "measure", "--parcels", str(SAMPLE / "parcels.geojson"),
                               "--features", str(SAMPLE / "features.geojson"), "--format", fmt],
                              stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == "sba: error: the output could not be written: No space left on device."


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("4", "4")])
def test_run__numpy_starts_without_a_pool_of_blas_threads_unless_asked(monkeypatch, given, expected):
    """``sba`` runs its command with OPENBLAS_NUM_THREADS=1 (a user's own setting stands)."""
    import sba.cli.command as command

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", given or "")  # the session's own value comes back afterwards
    if given is None:
        monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    seen = {}

    def fake_main():
        seen["threads"] = os.environ.get("OPENBLAS_NUM_THREADS")
        return 0

    def fake_exit(code):
        raise SystemExit(code)

    monkeypatch.setattr(command, "main", fake_main)
    monkeypatch.setattr(command.os, "_exit", fake_exit)
    with pytest.raises(SystemExit) as ended:
        command.run()
    assert ended.value.code == 0
    assert seen["threads"] == expected


# --- hostile rate schedules and typed values: exit 2, one sentence -------------------------


def _one_line_refusal(capsys, *args) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sba: error: ")
    assert "internal error" not in err
    return lines[0].removeprefix("sba: error: ")


def test_estimate__a_misspelt_schedule_setting_is_refused_not_billed(capsys, tmp_path):
    text = (ROOT / "categorize" / "rates" / "portland-bes-fy2025-26.toml").read_text(encoding="utf-8")
    typo = tmp_path / "typo.toml"
    typo.write_text(text.replace("max_dwelling_units = 2 ", "max_dwelling_unit = 2 ", 1), encoding="utf-8")
    message = _one_line_refusal(capsys, "estimate", "--class", "single_family", "--dwelling-units", "7",
                                "--area", "2000", "--rates", typo)
    assert message == ("The rate schedule file 'typo.toml' has an unknown setting "
                       "'classes.single_family.max_dwelling_unit'; did you mean 'max_dwelling_units'?")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'rate = 1e999999999\n', "has an unknown setting 'rate'"),
        ('utility = "Café"\n'.encode("latin-1"), "is not UTF-8 text"),
        (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
        (b"per_days = " + b"1" * 5000 + b"\n", "holds a number too long to read"),
    ],
)
def test_rates__a_hostile_schedule_file_is_one_sentence(capsys, tmp_path, content, message):
    path = tmp_path / "hostile.toml"
    path.write_bytes(content)
    for args in (["rates", path], ["estimate", "--class", "non_residential", "--area", "2000", "--rates", path]):
        assert message in _one_line_refusal(capsys, *args)


def test_rates__a_huge_rate_is_refused_not_printed(capsys, tmp_path):
    text = (ROOT / "categorize" / "rates" / "portland-bes-fy2025-26.toml").read_text(encoding="utf-8")
    path = tmp_path / "huge-rate.toml"
    path.write_text(text.replace("rate = 6.310", "rate = 1e999999999", 1), encoding="utf-8")
    assert _one_line_refusal(capsys, "rates", path) == (
        "The rate schedule file 'huge-rate.toml' has a bad value for 'service_unit.rate': "
        "it must be less than 1,000,000 (got 1E+999999999)."
    )


def test_rates__a_file_name_too_long_for_the_system_is_one_sentence(capsys):
    message = _one_line_refusal(capsys, "rates", "r" * 300 + ".toml")
    assert message.startswith("There is no rate schedule file at 'rrr")
    assert message.endswith("check the path, or use a bundled schedule (oak-lodge-fy2025-26, portland-bes-fy2025-26).")


def test_rates__an_empty_name_is_refused_as_estimate_refuses_it(capsys):
    message = _one_line_refusal(capsys, "rates", "")
    assert message.startswith("There is no rate schedule called ''.")


def test_rates__a_file_over_one_megabyte_is_refused(capsys, tmp_path):
    path = tmp_path / "sparse.toml"
    with path.open("wb") as f:
        f.truncate(1024**3)
    assert _one_line_refusal(capsys, "estimate", "--class", "non_residential", "--area", "2000",
                             "--rates", path) == (
        "The rate schedule file 'sparse.toml' is larger than 1 MB; a rate schedule is a few kilobytes, "
        "so check that this is the right file."
    )


def test_estimate__an_empty_rates_value_is_refused_not_portland(capsys):
    assert _one_line_refusal(capsys, "estimate", "--class", "non_residential", "--area", "2000",
                             "--rates", "") == (
        "There is no rate schedule called ''. Choose one of: oak-lodge-fy2025-26, portland-bes-fy2025-26, "
        "or give the path of a .toml file."
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--water-use", "1e-900000", "--water-use may have at most 6 decimal places (got '1e-900000')"),
        ("--water-use", "12.1234567", "--water-use may have at most 6 decimal places (got '12.1234567')"),
        ("--area", "1e-900000", "--area may have at most 6 decimal places (got '1e-900000')"),
        ("--area", "1" * 5000, "--area must be a number of at most 40 characters (got '" + "1" * 40 + "…')"),
        ("--period", "³⁰", "Unknown billing period '³⁰'"),
        ("--period", "1" * 5000, "Unknown billing period '" + "1" * 40 + "…'"),
        ("--dwelling-units", "1" * 5000, "--dwelling-units must be a whole number (got '" + "1" * 40 + "…')"),
    ],
)
def test_estimate__typed_values_with_endless_digits_are_refused(capsys, option, value, message):
    args = {"--class": "non_residential", "--area": "2000", option: value}
    if option == "--dwelling-units":
        args["--class"] = "multifamily"
    refusal = _one_line_refusal(capsys, "estimate", *[x for kv in args.items() for x in kv])
    assert message in refusal
    assert len(refusal) < 200


@pytest.mark.parametrize(("value", "kept"), [("12.500000", "12.5"), ("12.1234560", "12.123456"), ("0e-900000", "0")])
def test_estimate__trailing_zeros_do_not_count_as_decimal_places(capsys, value, kept):
    bill = run_json(capsys, "estimate", "--class", "non_residential", "--area", "2000", "--water-use", value)
    sewer = next(line for line in bill["lines"] if line["item"] == "Sanitary sewer")
    assert sewer["calculation"] == f"$14.00 × {kept} ccf"
