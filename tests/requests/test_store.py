"""The request database: schema versions, backends, append-only audit log, CSV export."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from sba.requests import RequestStore, StoreError, import_package
from sba.requests.db import MIGRATIONS, Migration, connect, db_errors


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
    from tests.requests.conftest import _open

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
        "id", "parcel_id", "status", "decided_category", "effective_date", "submitted_at"}
    with pytest.raises(NotFoundError) as wrong_account:
        sqlite_store.status_for_requester(rid, "2813017106")
    with pytest.raises(NotFoundError) as wrong_number:
        sqlite_store.status_for_requester(rid + 1, "2861662471")
    assert str(wrong_account.value) == str(wrong_number.value)


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
