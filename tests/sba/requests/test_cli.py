"""``sba requests ...``: every command, and user mistakes as one sentence with exit code 2."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sba.cli import main
from tests.sba.requests.conftest import PASSWORD, ROOT


@pytest.fixture
def sba(tmp_path, capsys, monkeypatch):
    """Run ``sba requests ...`` on a fresh SQLite file; returns (exit code, stdout, stderr)."""
    db = str(tmp_path / "cli.sqlite")
    monkeypatch.delenv("SBA_RECORDS_DIR", raising=False)
    monkeypatch.delenv("SBA_STAFF_TOKEN", raising=False)

    def run(*argv, stdin: str | None = None):
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        args = ["requests", argv[0], "--db", db, *argv[1:]]
        code = main(args)
        out, err = capsys.readouterr()
        return code, out, err

    run.db = db
    return run


def signed_in(sba):
    """``sba`` signed in with --password-stdin: as ``--staff`` if the arguments name one, else alice."""

    def run(*argv, password: str = PASSWORD, stdin: str = ""):
        staff = [] if "--staff" in argv else ["--staff", "alice"]
        return sba(*argv, *staff, "--password-stdin", stdin=f"{password}\n{stdin}")

    run.db = sba.db
    run.raw = sba
    run.db_rows = lambda: _audit_rows(sba.db)
    return run


def _audit_rows(db: str) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]


@pytest.fixture
def seeded(sba):
    """alice (administrator) and bob, and the sample queue; runs commands signed in."""
    assert sba("add-staff", "--username", "alice", "--name", "Alice Reviewer", "--password-stdin",
               stdin=f"{PASSWORD}\n")[0] == 0
    run = signed_in(sba)
    assert run("add-staff", "--username", "bob", stdin=f"{PASSWORD}\n")[0] == 0
    code, out, _ = run("seed-sample")
    assert code == 0
    assert out.startswith("Imported sample requests 1, 2, 3, 4 into ")
    return run


def _user() -> str:
    import getpass

    return getpass.getuser()


def one_sentence(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("sba: error: ")
    return lines[0].removeprefix("sba: error: ")


def test_cli__add_staff_first_admin_and_refusals(sba):
    code, out, _ = sba("add-staff", "--username", "alice", "--password-stdin", stdin="correct horse battery\n")
    assert code == 0
    assert out.startswith("Staff account 'alice' created (administrator) in ")
    code, _, err = signed_in(sba)("add-staff", "--username", "bob", stdin="short\n")
    assert code == 2
    assert one_sentence(err) == "The password must have at least 8 characters."
    code, _, err = sba("add-staff", "--username", "bob", "--staff", "alice")  # stdin is not a terminal
    assert code == 2
    assert "--password-stdin" in one_sentence(err)


def test_cli__list_show_and_json(seeded):
    code, out, _ = seeded("list")
    assert code == 0
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["R100065", "R100040", "R100077", "R100075"]
    code, out, _ = seeded("list", "--format", "json", "--status", "submitted")
    assert [r["claimed_category"] for r in json.loads(out)] == ["standard", "small", "small", "small"]
    code, out, _ = seeded("show", "4")
    assert code == 0
    assert "record 3,367 sq ft (large)" in out
    assert "! The difference of" in out
    assert "missing" in out
    code, out, _ = seeded("show", "2", "--format", "json")
    data = json.loads(out)
    assert data["comparison"]["counts"] == {"matched": 3, "changed": 0, "added": 0, "missing": 1}
    assert data["history"][0]["action"] == "import"


def test_cli__decide_writes_the_letter_and_refuses_mistakes(seeded, tmp_path):
    code, _, err = seeded("decide", "4", "--decision", "reject", "--staff", "alice")
    assert code == 2
    assert one_sentence(err) == "Give a reason to reject the request; it goes in the letter."
    code, _, err = seeded("decide", "1", "--decision", "accept", "--staff", "mallory")
    assert code == 2
    assert one_sentence(err) == "Wrong user name or password."
    letter = tmp_path / "letter.pdf"
    code, out, _ = seeded("decide", "1", "--decision", "accept", "--staff", "alice", "--letter", str(letter))
    assert code == 0
    assert out.splitlines()[0].startswith("Request 1 accepted by alice: category large -> standard from ")
    assert letter.read_bytes().startswith(b"%PDF")
    code, _, err = seeded("decide", "1", "--decision", "reject", "--reason", "no", "--staff", "bob",
                          "--version", "1")
    assert code == 2
    assert "was already decided (accepted) by alice" in one_sentence(err)
    md = tmp_path / "letter.md"
    assert seeded("letter", "1", "--out", str(md))[0] == 0
    assert "**Decision: your request is accepted.**" in md.read_text()
    code, _, err = seeded("letter", "2", "--out", str(md))
    assert code == 2
    assert one_sentence(err) == "Request 2 has no decision letter yet (it is submitted)."


def test_cli__adjust_then_decide_adjust(seeded):
    code, out, _ = seeded("adjust", "3", "--feature", "6", "--type", "gravel", "--reason", "gravel on the photo",
                          "--staff", "bob")
    assert code == 0
    assert out.strip() == "Changed feature 6 of request 3 (now version 2)."
    code, _, err = seeded("adjust", "3", "--feature", "7", "--remove", "--reason", "r", "--staff", "bob",
                          "--version", "1")
    assert code == 2
    assert "was changed by bob (adjust feature) after you opened it" in one_sentence(err)
    code, out, _ = seeded("adjust", "4", "--add-record", "F0351", "--reason", "garage", "--staff", "bob")
    assert code == 0
    code, out, _ = seeded("decide", "3", "--decision", "adjust", "--reason", "gravel counts", "--staff", "bob")
    assert code == 0
    assert "adjusted by bob: category standard -> small" in out


def test_cli__export_audit_and_requests(seeded, tmp_path):
    seeded("decide", "1", "--decision", "accept", "--staff", "alice")
    out_file = tmp_path / "audit.csv"
    code, out, _ = seeded("export", "--out", str(out_file))
    assert code == 0
    rows = list(csv.DictReader(out_file.open()))
    assert out.strip() == f"Wrote {len(rows)} rows to {out_file}."
    assert [r["action"] for r in rows].count("import") == 4
    assert [r["action"] for r in rows][-2:] == ["decide", "login"]  # the export's own sign-in
    assert rows[-2]["actor"] == "alice"
    assert rows[-1]["detail"] == "from command line (root); sba requests export".replace("root", _user())
    code, out, _ = seeded("export", "--what", "requests")
    decided = next(csv.DictReader(io.StringIO(out)))
    assert (decided["parcel_id"], decided["decided_category"], decided["status"]) == ("R100065", "standard", "accepted")


def test_cli__import_package_geojson_and_refusals(sba, tmp_path, packages, records):
    sba("add-staff", "--username", "alice", "--password-stdin", stdin="correct horse battery\n")
    sba = signed_in(sba)
    data, who = packages["R100077"]
    pkg = tmp_path / "evidence.zip"
    pkg.write_bytes(data)
    code, _, err = sba("import", str(pkg), "--staff", "alice", "--requester", "Not The Holder")
    assert code == 2
    assert "is not eligible" in one_sentence(err)
    code, out, _ = sba("import", str(pkg), "--staff", "alice", "--requester", who.name, "--email", who.email)
    assert code == 0
    assert out.startswith("Imported request 1: tax lot R100077, Quinn Rowan, billed standard, claims small")
    code, _, err = sba("import", str(pkg), "--staff", "alice", "--requester", who.name)
    assert "already has an undecided request (number 1)" in one_sentence(err)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    code, _, err = sba("import", str(bad), "--staff", "alice", "--requester", who.name)
    assert code == 2
    assert one_sentence(err) == "This is not an evidence package: it is not a ZIP file."
    gj = tmp_path / "features.geojson"
    gj.write_text(records.record_features("R100065")[["feature_id", "feature_type", "geometry"]].to_json())
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"%PDF-1.4 a pdf named jpg")
    args = ["import", str(gj), "--staff", "alice", "--requester", "Emery Larch", "--parcel-id", "R100065",
            "--account", "2861662471", "--current-category", "large", "--method", "Traced on the photo.",
            "--confirmed"]
    code, _, err = sba(*args, "--attach", str(photo))
    assert code == 2
    assert one_sentence(err).startswith("Attachment 'photo.jpg' is named like a JPEG image but its content is not")
    code, out, _ = sba(*args)
    assert code == 0
    assert "claims standard (6 features, 0 attachments)" in out


def test_cli__unknown_request_and_missing_file(seeded):
    code, _, err = seeded("show", "99")
    assert code == 2
    assert one_sentence(err) == "There is no request number 99."
    code, _, err = seeded("import", "/no/such/file.zip", "--staff", "alice")
    assert code == 2
    assert one_sentence(err).startswith("Cannot read the file '/no/such/file.zip'")


def test_cli__bad_database_is_one_sentence(tmp_path, capsys):
    code = main(["requests", "list", "--db", str(tmp_path / "missing" / "x.sqlite")])
    assert code == 2
    assert "does not exist" in one_sentence(capsys.readouterr().err)


def test_cli__runs_as_a_program(tmp_path):
    """The real entry point, in a subprocess: exit codes and output as a user sees them."""
    db = tmp_path / "p.sqlite"

    def sba(*argv, stdin=""):
        return subprocess.run([sys.executable, "-m", "sba", "requests", *argv, "--db", str(db)], input=stdin,
                              capture_output=True, text=True, cwd=ROOT, timeout=60)

    proc = sba("list")
    assert proc.returncode == 2
    assert proc.stderr.startswith("sba: error: Say who you are with --staff NAME")
    assert sba("add-staff", "--username", "alice", "--password-stdin", stdin=f"{PASSWORD}\n").returncode == 0
    proc = sba("list", "--staff", "alice", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert proc.returncode == 0
    assert proc.stdout.startswith("No requests yet")
    proc = sba("decide", "1")
    assert proc.returncode == 2
    assert proc.stderr.startswith("sba: error: The following arguments are required: --decision.")


# --------------------------------------------------------------------------
# signing in on the command line


@pytest.mark.parametrize("argv", [
    ("list",), ("show", "1"), ("export",), ("verify",), ("letter", "1", "--out", "x.md"),
    ("decide", "1", "--decision", "accept"), ("adjust", "1", "--feature", "1", "--remove", "--reason", "r"),
    ("import", "x.zip"), ("seed-sample",), ("add-token", "--for", "bob"), ("revoke-token", "1"),
    ("add-staff", "--username", "mallory", "--admin"),
])
def test_cli__every_command_needs_a_signed_in_staff_member(seeded, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.zip").write_bytes(b"PK")
    before = seeded.db_rows()
    code, _, err = seeded.raw(*argv)
    assert code == 2
    assert one_sentence(err).startswith("Say who you are with --staff NAME")
    assert seeded.db_rows() == before  # nothing read into the log, nothing written


def test_cli__unknown_staff_and_wrong_passwords_are_refused_and_logged(seeded):
    code, _, err = seeded("decide", "1", "--decision", "accept", "--staff", "mallory")
    assert (code, one_sentence(err)) == (2, "Wrong user name or password.")
    code, _, err = seeded("decide", "1", "--decision", "accept", "--staff", "bob", password="guess")
    assert (code, one_sentence(err)) == (2, "Wrong user name or password.")
    code, out, _ = seeded("list", "--status", "accepted")
    assert out.startswith("No requests with status accepted")
    code, out, _ = seeded("export")
    rows = list(csv.DictReader(io.StringIO(out)))
    failed = [(r["actor"], r["detail"]) for r in rows if r["action"] == "login_failed"]
    assert failed == [("mallory", f"from command line ({_user()}); sba requests decide"),
                      ("bob", f"from command line ({_user()}); sba requests decide")]


def test_cli__only_a_signed_in_administrator_adds_staff(seeded):
    code, _, err = seeded("add-staff", "--username", "mallory", "--admin", "--staff", "bob",
                          stdin="long enough password\n")
    assert (code, one_sentence(err)) == (2, "Only an administrator can add staff accounts.")
    code, out, _ = seeded("add-staff", "--username", "carol", stdin="long enough password\n")
    assert (code, out.split(" in ")[0]) == (0, "Staff account 'carol' created")
    code, _, _ = seeded("list", "--staff", "carol", password="long enough password")
    assert code == 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli__the_password_is_asked_at_the_terminal(seeded, monkeypatch, capsys):
    import getpass

    asked = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt: asked.append(prompt) or PASSWORD)
    monkeypatch.setattr(sys, "stdin", Terminal(""))
    assert main(["requests", "list", "--staff", "alice", "--db", seeded.db]) == 0
    assert asked == ["Password for alice: "]
    assert "R100065" in capsys.readouterr().out


def test_cli__an_api_token_made_by_an_admin_signs_a_script_in_until_revoked(seeded, monkeypatch):
    code, _, err = seeded("add-token", "--for", "bob", "--staff", "bob")
    assert (code, one_sentence(err)) == (2, "Only an administrator can make or revoke API tokens.")
    code, out, _ = seeded("add-token", "--for", "bob", "--label", "nightly export")
    assert code == 0
    first, token = out.splitlines()
    assert first == "API token 1 for bob (valid 90 days; it is not shown again):"
    monkeypatch.setenv("SBA_STAFF_TOKEN", token)
    code, out, _ = seeded.raw("decide", "2", "--decision", "reject", "--reason", "the patio is on the photo")
    assert code == 0
    assert out.startswith("Request 2 rejected by bob:")
    code, _, err = seeded.raw("list", "--staff", "alice")
    assert (code, one_sentence(err)) == (2, "SBA_STAFF_TOKEN acts as 'bob', not 'alice'; leave out --staff.")
    monkeypatch.delenv("SBA_STAFF_TOKEN")
    assert seeded("revoke-token", "1")[0] == 0
    monkeypatch.setenv("SBA_STAFF_TOKEN", token)
    code, _, err = seeded.raw("list")
    assert (code, one_sentence(err)) == (2, "This API token is not valid: it is unknown, expired or revoked.")


def test_cli__failed_sign_ins_slow_down_then_lock(seeded, monkeypatch, clock):
    from sba.cli import requests as cli
    from sba.requests.store import RequestStore

    monkeypatch.setattr(cli, "_store", lambda args: RequestStore.open(args.db, clock=clock))
    messages = [one_sentence(seeded("list", "--staff", "bob", password="guess")[2]) for _ in range(5)]
    assert messages[:4] == ["Wrong user name or password."] * 4
    assert messages[4].startswith("Too many failed sign-ins for this account: wait 1 seconds")
    for n in range(5, 11):
        clock.advance(seconds=2 ** (n - 4))
        seeded("list", "--staff", "bob", password="guess")
    code, _, err = seeded("list", "--staff", "bob")  # the right password, but locked
    assert code == 2
    assert "sign-in is locked for 15 more minutes" in one_sentence(err)
    clock.advance(minutes=15)
    assert seeded("list", "--staff", "bob")[0] == 0


def test_cli__verify_says_the_log_is_intact_then_names_a_tampered_row(seeded):
    code, out, _ = seeded("verify")
    assert code == 0
    assert out.startswith("The audit log is intact: ")
    anchor = out.split("last row ")[1].rstrip(").\n").replace(", hash ", ":")
    assert seeded("decide", "1", "--decision", "accept")[0] == 0
    with sqlite3.connect(seeded.db) as conn:  # someone with the file drops the trigger and back-dates
        conn.execute("DROP TRIGGER audit_log_no_update")
        row = conn.execute("SELECT MAX(id) FROM audit_log WHERE action = 'decide'").fetchone()[0]
        conn.execute("UPDATE audit_log SET detail = 'accept: back-dated to 2020-01-01' WHERE id = ?", (row,))
        conn.execute("UPDATE requests SET effective_date = '2020-01-01' WHERE id = 1")
    code, out, _ = seeded("verify", "--anchor", anchor)
    assert code == 3
    lines = out.splitlines()
    assert lines[0] == (f"The audit log has been tampered with: Row {row} was changed after it was written "
                        "(its hash no longer matches its content).")
    assert lines[1].startswith(f"Request 1 does not match its decision in audit row {row}: effective_date "
                               "'2020-01-01' (logged '")
    code, _, err = seeded("verify", "--anchor", "12:abc")
    assert (code, one_sentence(err).split(" is not")[0]) == (2, "--anchor '12:abc'")


def test_cli__a_server_time_zone_other_than_the_utilitys_cannot_date_a_decision(seeded, monkeypatch):
    monkeypatch.setenv("SBA_UTILITY_TZ", "Pacific/Kiritimati")
    code, _, err = seeded("decide", "1", "--decision", "accept")
    assert code == 2
    assert one_sentence(err).startswith("SBA_UTILITY_TZ='Pacific/Kiritimati' is not the time zone of City of "
                                        "Portland Bureau of Environmental Services (America/Los_Angeles")
    monkeypatch.delenv("SBA_UTILITY_TZ")
    code, out, _ = seeded("list", "--format", "json")
    assert json.loads(out)[0]["status"] == "submitted"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("export", "--out", "{db}"), "is the request database"),
        (("letter", "1", "--out", "{db}"), "is the request database"),
        (("decide", "2", "--decision", "accept", "--letter", "{db}"), "is the request database"),
        (("export", "--out", "{tmp}/audit.sqlite"), "must end in .csv"),
        (("letter", "1", "--out", "{tmp}/letter.txt"), "must end in .md or .pdf"),
        (("decide", "2", "--decision", "accept", "--letter", "{tmp}/letter.doc"), "must end in .md or .pdf"),
    ],
)
def test_cli__an_output_file_never_replaces_the_request_database(seeded, tmp_path, argv, message):
    """``export --out requests.sqlite`` wrote the CSV over the database: every request and the audit log gone."""
    seeded("decide", "1", "--decision", "accept", "--staff", "alice")
    before = Path(seeded.db).read_bytes()
    rows = seeded.db_rows()
    code, _, err = seeded(*[a.format(db=seeded.db, tmp=tmp_path) for a in argv])
    assert code == 2
    assert message in one_sentence(err)
    assert seeded.db_rows() >= rows  # still a database, with its audit log (sign-in rows may be added)
    assert Path(seeded.db).read_bytes()[:16] == before[:16] == b"SQLite format 3\x00"
    if argv[0] == "decide":  # refused before the decision was recorded
        assert json.loads(seeded("show", "2", "--format", "json")[1])["status"] == "submitted"

