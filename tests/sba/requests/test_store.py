"""The request database: schema versions, backends, append-only audit log, CSV export."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from sba.requests import RequestStore, StoreError, import_package
from sba.requests.db import MIGRATIONS, Migration, connect, db_errors
from tests.sba.requests.conftest import ROOT

ROOT_RATES = ROOT / "categorize" / "rates"


def test_connect__creates_the_schema_once(db_target):
    with connect(db_target) as db:
        assert db.schema_version() == MIGRATIONS[-1].version
        tables = {"staff", "requests", "features", "files", "audit_log", "schema_migrations"}
        if db.dialect == "sqlite":
            have = {r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        else:
            have = {r["table_name"] for r in db.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
        assert tables <= have
    with connect(db_target) as db:  # re-opening applies nothing
        assert db.migrate() == []


def test_connect__applies_a_new_migration_and_refuses_a_newer_schema(sqlite_target):
    with connect(sqlite_target) as db:
        new = MIGRATIONS[-1].version + 1
        step = Migration(new, "test column", lambda d: ["ALTER TABLE requests ADD COLUMN note TEXT"])
        assert db.migrate([*MIGRATIONS, step]) == [new]
        assert db.schema_version() == new
    with pytest.raises(StoreError, match="newer version of this tool"):
        connect(sqlite_target)


def test_connect__missing_folder_is_explained(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        connect(tmp_path / "no" / "such" / "requests.sqlite")


def test_connect__a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="not a request database"):
        connect(path)


def test_connect__unreachable_postgres_is_one_sentence():
    with pytest.raises(StoreError, match=r"^Could not connect to the request database postgresql://u:\*\*\*@"):
        connect("postgresql://u:secret@/nodb?host=/nonexistent-socket-dir")


def test_postgres__features_have_a_postgis_geometry(pg_url, records, packages, clock):
    from tests.sba.requests.conftest import _open

    store = _open(pg_url, clock)
    try:
        data, who = packages["R100065"]
        rid = import_package(store, data, records, actor="alice", requester=who)
        row = store.db.one(
            "SELECT COUNT(*) AS n, MIN(ST_SRID(geom)) AS srid, "
            "SUM(ST_Area(ST_Transform(geom, 2913))) AS postgis_sqft, "
            "SUM(CAST(area_sqft AS DOUBLE PRECISION)) AS our_sqft FROM features WHERE request_id = ?", (rid,))
        assert row["n"] == 6
        assert row["srid"] == 4326
        # EPSG:2913 is in international feet: PostGIS and our engine agree on the outlines' area
        assert row["postgis_sqft"] == pytest.approx(row["our_sqft"], abs=0.05)
        assert row["our_sqft"] > 2569.18  # whole outlines: the driveway runs 15 ft into the street
    finally:
        store.close()


# --------------------------------------------------------------------------
# audit log


def test_audit__rows_cannot_be_updated_or_deleted(store):
    store.append_audit("alice", "note", detail="first")
    with pytest.raises(db_errors(), match="append-only"):
        store.db.execute("UPDATE audit_log SET actor = 'mallory'")
    with pytest.raises(db_errors(), match="append-only"):
        store.db.execute("DELETE FROM audit_log")
    if store.db.dialect == "postgresql":
        with pytest.raises(db_errors(), match="append-only"):
            store.db.execute("TRUNCATE audit_log")
    rows = store.audit_log()
    assert [r["actor"] for r in rows][-1] == "alice"
    assert rows[-1]["detail"] == "first"


def test_audit__update_inside_a_transaction_rolls_back_the_whole_transaction(sqlite_store):
    before = len(sqlite_store.audit_log())
    def append_then_delete():
        with sqlite_store.db.transaction():
            sqlite_store.append_audit("alice", "note")
            sqlite_store.db.execute("DELETE FROM audit_log")

    with pytest.raises(sqlite3.IntegrityError):
        append_then_delete()
    assert len(sqlite_store.audit_log()) == before


def test_audit__export_csv_has_who_when_what_before_after(store, records, packages):
    data, who = packages["R100040"]
    rid = import_package(store, data, records, actor="alice", requester=who)
    text = store.export_audit_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["id", "at", "actor", "action", "request_id", "before", "after", "detail"]
    imp = [r for r in rows if r["action"] == "import"]
    assert len(imp) == 1
    assert imp[0]["actor"] == "alice"
    assert imp[0]["request_id"] == str(rid)
    assert imp[0]["at"] == "2026-03-02T17:00:00Z"
    assert '"parcel_id": "R100040"' in imp[0]["after"]
    assert [r["action"] for r in rows][:2] == ["add_staff", "add_staff"]
    only = list(csv.DictReader(io.StringIO(store.export_audit_csv(request_id=rid))))
    assert [r["action"] for r in only] == ["import"]


def test_audit__export_to_a_file(sqlite_store, tmp_path):
    out = tmp_path / "audit.csv"
    sqlite_store.export_audit_csv(out)
    assert out.read_text().startswith("id,at,actor,action,request_id,before,after,detail\n")


def test_store__unknown_request_is_a_plain_not_found(sqlite_store):
    from sba.requests import NotFoundError

    with pytest.raises(NotFoundError, match=r"^There is no request number 42\.$"):
        sqlite_store.get(42)
    with pytest.raises(NotFoundError, match="no status"):
        sqlite_store.list("pending")


def test_store__homeowner_sees_only_their_own_request(sqlite_store, records, packages):
    from sba.requests import NotFoundError

    data, who = packages["R100065"]
    rid = import_package(sqlite_store, data, records, actor="alice", requester=who)
    mine = sqlite_store.status_for_requester(rid, "2861662471")
    assert mine["status"] == "submitted"
    assert set(mine) == {
        "id", "parcel_id", "status", "current_category", "decision", "decided_category", "decision_reason",
        "decided_at", "effective_date", "submitted_at"}
    with pytest.raises(NotFoundError) as wrong_account:
        sqlite_store.status_for_requester(rid, "2813017106")
    with pytest.raises(NotFoundError) as wrong_number:
        sqlite_store.status_for_requester(rid + 1, "2861662471")
    assert str(wrong_account.value) == str(wrong_number.value)


def test_store__a_status_token_finds_its_request_and_only_its_hash_is_stored(sqlite_store, records, packages):
    from sba.requests import NotFoundError
    from sba.requests.store import status_token_hash

    data, who = packages["R100065"]
    rid = import_package(sqlite_store, data, records, actor="homeowner (web)", requester=who,
                         status_token="s3cret-token")
    stored = sqlite_store.db.scalar("SELECT status_token_hash FROM requests WHERE id = ?", (rid,))
    assert stored == status_token_hash("s3cret-token") != "s3cret-token"
    assert sqlite_store.status_for_requester(f"#{rid}", token=" s3cret-token ")["parcel_id"] == "R100065"
    answers = set()
    for number, token in [(rid, "wrong"), (rid + 1, "s3cret-token"), (rid, ""), ("9" * 40, "s3cret-token"),
                          ("1; DROP TABLE requests", "s3cret-token"), (rid, None)]:
        with pytest.raises(NotFoundError) as err:
            sqlite_store.status_for_requester(number, token=token)
        answers.add(str(err.value))
    assert answers == {"No request matches that reference number and status token."}


def test_store__default_path_follows_the_environment(monkeypatch, tmp_path):
    from sba.requests.store import default_db_path

    monkeypatch.setenv("SBA_REQUESTS_DB", str(tmp_path / "x.sqlite"))
    assert default_db_path() == str(tmp_path / "x.sqlite")
    monkeypatch.delenv("SBA_REQUESTS_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == str(tmp_path / "data" / "sba" / "requests.sqlite")
    assert (tmp_path / "data" / "sba").is_dir()


def test_store__bad_time_zone_setting_is_explained(monkeypatch, sqlite_target):
    monkeypatch.setenv("SBA_UTILITY_TZ", "Portland")
    with pytest.raises(StoreError, match="not a time zone name"):
        RequestStore.open(sqlite_target)


# --------------------------------------------------------------------------
# tamper evidence: the hash chain, and decisions checked against the log


def _drop_triggers(db) -> None:
    """What an attacker with the database owner's rights does first."""
    if db.dialect == "postgresql":
        db.execute("DROP TRIGGER audit_log_no_change ON audit_log")
    else:
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("DROP TRIGGER audit_log_no_delete")


@pytest.fixture
def decided(store, records, packages):
    """A store with one request imported and accepted; returns (store, request id, decide row id)."""
    from sba.requests import decide

    data, who = packages["R100065"]
    rid = import_package(store, data, records, actor="alice", requester=who)
    decide(store, records, rid, "accept", actor="alice", pdf=False)
    row = next(r["id"] for r in store.audit_log() if r["action"] == "decide")
    return store, rid, row


def test_audit__every_row_is_chained_and_the_chain_verifies(decided):
    store, _, _ = decided
    report = store.verify_audit()
    assert report.intact
    assert report.rows == len(store.audit_log()) == 4  # add_staff x2, import, decide
    assert report.sentence().startswith("The audit log is intact: 4 rows, each chained to the one before (last row ")
    assert store.verify_decisions() == []


def test_audit__an_edit_after_dropping_the_trigger_names_the_row(decided):
    store, _rid, row = decided
    _drop_triggers(store.db)
    store.db.execute("UPDATE audit_log SET after_json = REPLACE(after_json, '2026-03-02', '2020-01-01') WHERE id = ?",
                     (row,))
    report = store.verify_audit()
    assert (report.intact, report.broken_row) == (False, row)
    assert report.problem == f"Row {row} was changed after it was written (its hash no longer matches its content)."
    assert report.sentence().startswith("The audit log has been tampered with: Row ")


def test_audit__a_forged_row_is_named_with_or_without_a_hash(decided):
    store, rid, _ = decided
    forged = ("2020-01-01T17:00:00Z", "alice", "decide", rid, None,
              '{"effective_date": "2020-01-01", "status": "accepted"}', "back-dated")
    cols = "at, actor, action, request_id, before_json, after_json, detail"
    store.db.execute(f"INSERT INTO audit_log ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?)", forged)
    bare = store.db.scalar("SELECT MAX(id) FROM audit_log")
    assert store.verify_audit().problem == f"Row {bare} has no hash: it was written outside this tool."
    # with hashes copied from a real row: it does not follow the row before it
    _drop_triggers(store.db)
    store.db.execute("DELETE FROM audit_log WHERE id = ?", (bare,))
    last = store.db.one("SELECT prev_hash, row_hash FROM audit_log ORDER BY id DESC LIMIT 1")
    store.db.execute(f"INSERT INTO audit_log ({cols}, prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (*forged, last["prev_hash"], last["row_hash"]))
    copied = store.db.scalar("SELECT MAX(id) FROM audit_log")
    report = store.verify_audit()
    assert report.broken_row == copied
    assert report.problem.startswith(f"Row {copied} does not follow row ")


def test_audit__a_deleted_row_breaks_the_chain_at_the_next_one(decided):
    store, _, row = decided
    _drop_triggers(store.db)
    store.db.execute("DELETE FROM audit_log WHERE id = ?", (row - 1,))
    report = store.verify_audit()
    assert report.broken_row == row
    assert "a row between them was deleted" in report.problem


def test_audit__a_recomputed_chain_is_caught_by_an_anchor_noted_earlier(decided):
    from sba.requests.chain import GENESIS, row_hash

    store, _, row = decided
    noted = store.verify_audit()
    _drop_triggers(store.db)
    store.db.execute("UPDATE audit_log SET detail = 'accept: forged' WHERE id = ?", (row,))
    prev = GENESIS
    for r in store.db.query("SELECT * FROM audit_log ORDER BY id"):  # the attacker rehashes everything
        digest = row_hash(r, prev)
        store.db.execute("UPDATE audit_log SET prev_hash = ?, row_hash = ? WHERE id = ?", (prev, digest, r["id"]))
        prev = digest
    assert store.verify_audit().intact  # a chain alone cannot see this
    report = store.verify_audit({noted.last_row: noted.last_hash})
    assert report.broken_row == noted.last_row
    assert "no longer has the hash noted for it earlier" in report.problem


def test_audit__a_decision_edited_in_the_requests_table_is_found(decided):
    store, rid, row = decided
    store.db.execute("UPDATE requests SET effective_date = '2020-01-01' WHERE id = ?", (rid,))
    assert store.verify_audit().intact  # the log itself is untouched
    assert store.verify_decisions() == [
        f"Request {rid} does not match its decision in audit row {row}: effective_date '2020-01-01' "
        "(logged '2026-03-02')."]


def test_audit__upgrading_a_version_1_database_hashes_its_rows_and_keeps_the_triggers(sqlite_target):
    from sba.requests.db import connect

    with connect(sqlite_target, migrate=False) as db:
        db.migrate(MIGRATIONS[:1])
        for n in range(3):
            db.execute("INSERT INTO audit_log (at, actor, action, detail) VALUES (?, 'alice', 'login', ?)",
                       (f"2026-01-0{n + 1}T10:00:00Z", f"old row {n}"))
    with RequestStore.open(sqlite_target) as store:
        assert store.db.schema_version() == MIGRATIONS[-1].version
        store.append_audit("alice", "note")
        report = store.verify_audit()
        assert (report.intact, report.rows) == (True, 4)
        assert store.audit_log()[0]["detail"] == "old row 0"
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.db.execute("UPDATE audit_log SET actor = 'mallory'")


def test_audit__concurrent_appends_from_two_connections_keep_one_chain(db_target, clock):
    import threading

    from tests.sba.requests.conftest import _open

    _open(db_target, clock).close()

    def append(n):
        with RequestStore.open(db_target, clock=clock) as s:
            for i in range(15):
                s.append_audit(f"writer{n}", "note", detail=str(i))

    threads = [threading.Thread(target=append, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with RequestStore.open(db_target, clock=clock) as s:
        report = s.verify_audit()
    assert (report.intact, report.rows) == (True, 2 + 45)


def test_postgres__the_app_role_cannot_drop_triggers_or_change_the_log(pg_url, records, packages, clock):
    """docs/postgresql-roles.sql, run as written: the app works, the log can only grow."""
    import uuid

    import psycopg

    from sba.requests import decide
    from tests.sba.requests.conftest import ROOT, _open

    _open(pg_url, clock).close()  # the owner creates the schema and the staff
    role = f"sba_app_{uuid.uuid4().hex[:8]}"
    script = (ROOT / "docs" / "postgresql-roles.sql").read_text().replace("sba_app", role)
    statements = [s.strip() for s in "\n".join(
        line for line in script.splitlines() if not line.startswith("--")).split(";") if s.strip()]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)
    try:
        app_url = pg_url.replace("postgresql://postgres@", f"postgresql://{role}@")
        with RequestStore.open(app_url, clock=clock) as app:
            data, who = packages["R100040"]
            rid = import_package(app, data, records, actor="alice", requester=who)
            decide(app, records, rid, "accept", actor="bob", pdf=True)
            for sql in ("DROP TRIGGER audit_log_no_change ON audit_log",
                        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
                        "UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                        "DELETE FROM files", "UPDATE staff SET is_admin = 1"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    app.db.execute(sql)
            assert app.verify_audit().intact
            assert app.verify_decisions() == []
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


# --------------------------------------------------------------------------
# the SQLite file and its folder


def test_connect__a_new_sqlite_file_is_readable_by_its_owner_only(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = tmp_path / "requests.sqlite"
        with RequestStore.open(path) as store:
            store.append_audit("alice", "note")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    finally:
        os.umask(old)
    assert modes["requests.sqlite"] == 0o600
    assert all(mode == 0o600 for name, mode in modes.items() if name.startswith("requests.sqlite")), modes


def test_store__default_folder_is_private(monkeypatch, tmp_path):
    import stat

    from sba.requests.store import default_db_path

    monkeypatch.delenv("SBA_REQUESTS_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "data" / "sba").mkdir(parents=True, mode=0o755)  # left by an older version
    (tmp_path / "data" / "sba").chmod(0o755)
    default_db_path()
    assert stat.S_IMODE((tmp_path / "data" / "sba").stat().st_mode) == 0o700


# --------------------------------------------------------------------------
# the decision date's time zone


def test_store__a_time_zone_other_than_the_utilitys_is_refused(monkeypatch, sqlite_target):
    monkeypatch.setenv("SBA_UTILITY_TZ", "Pacific/Kiritimati")
    with pytest.raises(StoreError, match=r"^SBA_UTILITY_TZ='Pacific/Kiritimati' is not the time zone of City of "
                                         r"Portland Bureau of Environmental Services \(America/Los_Angeles"):
        RequestStore.open(sqlite_target)


def test_store__the_utilitys_own_zone_may_be_repeated(monkeypatch, sqlite_target):
    monkeypatch.setenv("SBA_UTILITY_TZ", "America/Los_Angeles")
    with RequestStore.open(sqlite_target) as store:
        assert str(store.tz) == "America/Los_Angeles"
    monkeypatch.delenv("SBA_UTILITY_TZ")
    with RequestStore.open(sqlite_target) as store:
        assert str(store.tz) == "America/Los_Angeles"


def test_store__the_zone_comes_from_the_schedule(monkeypatch, tmp_path):
    from categorize import load_schedule
    from categorize.errors import RateScheduleError
    from sba.requests.store import utility_timezone

    monkeypatch.delenv("SBA_UTILITY_TZ", raising=False)
    assert load_schedule("portland-bes-fy2025-26").timezone == "America/Los_Angeles"
    text = (ROOT_RATES / "oak-lodge-fy2025-26.toml").read_text()
    other = tmp_path / "kiritimati-utility.toml"
    other.write_text(text.replace('timezone = "America/Los_Angeles"', 'timezone = "Pacific/Kiritimati"'))
    assert str(utility_timezone(load_schedule(other))) == "Pacific/Kiritimati"
    bad = tmp_path / "bad-zone.toml"
    bad.write_text(text.replace('timezone = "America/Los_Angeles"', 'timezone = "Portland"'))
    with pytest.raises(RateScheduleError, match="bad value for 'timezone'"):
        load_schedule(bad)
