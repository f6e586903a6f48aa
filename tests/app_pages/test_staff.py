"""AppTest of the staff pages: sign-in, queue, one request, adjust, decide, import, audit log."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from sba.requests import RequestStore, StaffUser, add_staff, decide
from sba.requests.records import Records
from sba.requests.sample_queue import sample_packages, seed_sample
from tests.app_pages.conftest import ROOT, SAMPLE, texts

REVIEW = str(ROOT / "app_pages" / "staff_review.py")
INTAKE = str(ROOT / "app_pages" / "staff_intake.py")
AUDIT = str(ROOT / "app_pages" / "staff_audit.py")
PASSWORD = "correct horse battery"
ALICE = StaffUser("alice", "Alice Reviewer", True)


@pytest.fixture(scope="module")
def records():
    return Records.load(SAMPLE)


@pytest.fixture(scope="module")
def packages(records):
    return {pid: (data, who) for pid, data, who in sample_packages(records)}


@pytest.fixture
def db(tmp_path, monkeypatch):
    """An empty request database with staff alice (admin) and bob; the pages use it."""
    path = tmp_path / "requests.sqlite"
    monkeypatch.setenv("SBA_REQUESTS_DB", str(path))
    monkeypatch.delenv("SBA_RECORDS_DIR", raising=False)
    with RequestStore.open(path) as store:
        add_staff(store, "alice", PASSWORD, display_name="Alice Reviewer")
        add_staff(store, "bob", PASSWORD, display_name="Bob Reviewer", actor="alice")
    return path


@pytest.fixture
def queue(db, records):
    """The sample queue in the database: lot id -> request number."""
    with RequestStore.open(db) as store:
        seed_sample(store, records)
        return {r["parcel_id"]: r["id"] for r in store.list()}


def frame(at: AppTest, column: str):
    """The first dataframe on the page that has ``column``."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column")


def page(path: str, user: StaffUser | None = ALICE) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    if user is not None:
        at.session_state["staff_user"] = user
    at.run()
    assert not at.exception, at.exception
    return at


def test_staff_review__asks_to_sign_in_and_shows_no_request(queue):
    at = page(REVIEW, user=None)
    assert at.title[0].value == "Staff sign-in"
    assert not at.dataframe
    assert "R100065" not in texts(at.markdown) + texts(at.caption)
    assert [t.key for t in at.text_input] == ["staff_username", "staff_password"]


def test_staff_review__without_accounts_explains_the_first_admin_command(tmp_path, monkeypatch):
    monkeypatch.setenv("SBA_REQUESTS_DB", str(tmp_path / "empty.sqlite"))
    at = page(REVIEW, user=None)
    assert "sba requests add-staff --username NAME --admin" in at.info[0].value
    assert not at.text_input


def test_staff_review__wrong_password_then_sign_in(db):
    at = page(REVIEW, user=None)
    at.text_input(key="staff_username").set_value("alice")
    at.text_input(key="staff_password").set_value("wrong password")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong user name or password."
    assert at.title[0].value == "Staff sign-in"
    at.text_input(key="staff_password").set_value(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Category change requests"
    assert "Signed in as **Alice Reviewer**" in texts(at.sidebar.caption)
    at.button(key="staff_sign_out").click().run()
    assert at.title[0].value == "Staff sign-in"


def test_staff_review__empty_queue_loads_the_sample_queue(db):
    at = page(REVIEW)
    assert "The queue is empty" in at.info[0].value
    at.button(key="staff_seed").click().run()
    assert not at.exception
    assert at.success[0].value == "Loaded 4 sample requests."
    assert list(frame(at, "Tax lot")["Tax lot"]) == ["R100065", "R100040", "R100077", "R100075"]


def test_staff_review__request_detail_compares_and_flags_the_threshold(queue):
    at = page(REVIEW)
    at.selectbox(key="staff_request").set_value(queue["R100075"]).run()
    assert not at.exception
    assert at.header[0].value == f"Request {queue['R100075']}: tax lot R100075"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["City's record: large"] == "3,367 sq ft"
    assert metrics["Request: small"].endswith("sq ft")
    assert "Crosses a category threshold" in at.warning[0].value
    feats = frame(at, "Record type")
    assert list(feats["Status"]).count("missing") == 4
    assert "Eligible" in at.success[0].value


def test_staff_review__reject_with_reason_records_the_decision_and_letter(queue):
    at = page(REVIEW)
    rid = queue["R100075"]
    at.selectbox(key="staff_request").set_value(rid).run()
    at.radio(key=f"staff_decision_{rid}").set_value("reject")
    at.button(key="staff_decide").click().run()
    assert at.error[0].value == "Give a reason to reject the request; it goes in the letter."
    at.radio(key=f"staff_decision_{rid}").set_value("reject")
    at.text_area(key=f"staff_reason_{rid}").set_value("The garage and deck are on the photo.")
    at.button(key="staff_decide").click().run()
    assert not at.exception
    assert "recorded as not accepted: the category stays standard" in at.success[0].value
    assert "Your stormwater category stays **standard**." in texts(at.markdown)
    assert not [b for b in at.button if b.key == "staff_decide"]  # decided: no second decision


def test_staff_review__adjust_a_feature_then_decide_adjust(queue):
    at = page(REVIEW)
    rid = queue["R100077"]
    at.selectbox(key="staff_request").set_value(rid).run()
    assert at.radio(key=f"staff_decision_{rid}").options == ["Accept: the category becomes small",
                                                      "Reject: the category stays standard"]
    at.radio(key=f"staff_adj_action_{rid}").set_value("type").run()
    at.selectbox(key=f"staff_adj_feature_{rid}").set_value(6)
    at.selectbox(key=f"staff_adj_type_{rid}").set_value("gravel")
    at.text_input(key=f"staff_adj_reason_{rid}").set_value("It is gravel on the photo.")
    at.button(key="staff_adj_save").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Change saved.")
    assert at.radio(key=f"staff_decision_{rid}").value == "adjust"
    at.text_area(key=f"staff_reason_{rid}").set_value("Gravel counts; the new shed counts.")
    at.button(key="staff_decide").click().run()
    assert "recorded as accepted with changes" in at.success[0].value


def test_staff_review__a_choice_made_on_one_request_never_carries_over_to_the_next(queue):
    """Widget state is kept per request: rejecting A, then opening B, leaves B's own default."""
    at = page(REVIEW)
    first, second = queue["R100075"], queue["R100077"]
    at.selectbox(key="staff_request").set_value(first).run()
    at.radio(key=f"staff_decision_{first}").set_value("reject")
    at.text_area(key=f"staff_reason_{first}").set_value("Not on the photo.")
    at.run()
    at.selectbox(key="staff_request").set_value(second).run()
    assert at.radio(key=f"staff_decision_{second}").value == "accept"
    assert at.text_area(key=f"staff_reason_{second}").value == ""
    at.button(key="staff_decide").click().run()
    assert not at.exception
    assert "recorded as accepted" in at.success[0].value


def test_staff_review__second_reviewer_gets_a_conflict_message(db, queue, records):
    at = page(REVIEW)
    rid = queue["R100065"]
    at.selectbox(key="staff_request").set_value(rid).run()
    with RequestStore.open(db) as other:  # bob decides while alice has the request open
        decide(other, records, rid, "accept", actor="bob")
    at.radio(key=f"staff_decision_{rid}").set_value("accept")
    at.button(key="staff_decide").click().run()
    assert not at.exception
    assert at.error[0].value == (f"Request {rid} was already decided (accepted) by bob on "
                                 f"{at.session_state['_staff_store'][1].today()}; your decision was not saved. "
                                 "Reload the request to see that decision.")
    assert any("by bob" in m.value for m in at.success)  # the page now shows bob's decision


def test_staff_intake__imports_a_package_and_refuses_bad_ones(db, packages):
    at = page(INTAKE)
    data, who = packages["R100040"]
    at.text_input(key="staff_in_name").set_value("Someone Else")
    at.file_uploader(key="staff_in_package").set_value(("evidence.zip", data, "application/zip"))
    at.run()
    at.button(key="staff_in_import").click().run()
    assert "is not eligible" in at.error[0].value
    assert "The requester (Someone Else) is not the holder of the account." in texts(at.markdown)
    at.text_input(key="staff_in_name").set_value(who.name)
    at.button(key="staff_in_import").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Imported as request 1: tax lot R100040")
    at.file_uploader(key="staff_in_package").set_value(("photo.zip", b"\x89PNG not a zip", "application/zip"))
    at.run()
    at.button(key="staff_in_import").click().run()
    assert at.error[0].value == "This is not an evidence package: it is not a ZIP file."


def test_staff_intake__geojson_and_form(db, records):
    at = page(INTAKE)
    at.radio(key="staff_in_kind").set_value("geojson").run()
    feats = records.record_features("R100065")[["feature_id", "feature_type", "geometry"]]
    at.file_uploader(key="staff_in_geojson").set_value(("f.geojson", feats.to_json().encode(), "application/geo+json"))
    at.text_input(key="staff_in_name").set_value("Emery Larch")
    at.text_input(key="staff_in_parcel").set_value("R100065")
    at.text_input(key="staff_in_account").set_value("2861662471")
    at.selectbox(key="staff_in_current").set_value("large")
    at.text_area(key="staff_in_method").set_value("Traced on the 2025 photo.")
    for key in ("staff_in_sf", "staff_in_du", "staff_in_oa", "staff_in_ah"):
        at.checkbox(key=key).check()
    at.run()
    at.button(key="staff_in_import").click().run()
    assert not at.exception
    assert "claims standard" in at.success[0].value


def test_staff_audit__shows_the_log_downloads_csv_and_adds_staff(queue):
    at = page(AUDIT)
    table = frame(at, "What")
    assert list(table["What"]).count("import") == 4
    at.text_input(key="staff_audit_request").set_value(str(queue["R100040"])).run()
    assert list(frame(at, "What")["What"]) == ["import"]
    at.text_input(key="staff_new_username").set_value("carol")
    at.text_input(key="staff_new_password").set_value("another long password")
    next(b for b in at.button if b.label == "Add account").click().run()
    assert not at.exception
    assert "Account 'carol' added." in [m.value for m in at.success]
    assert "carol" in list(frame(at, "User name")["User name"])


def test_staff_audit__changes_read_as_field_old_to_new_not_raw_json(queue, records, db):
    rid = queue["R100040"]
    with RequestStore.open(db) as store:
        decide(store, records, rid, "reject", actor="alice", reason="Not on the photo.")
    at = page(AUDIT)
    at.text_input(key="staff_audit_request").set_value(str(rid)).run()
    table = frame(at, "Change")
    decided = table[table["What"] == "decide"]["Change"].iloc[0]
    assert "status: submitted → rejected" in decided
    assert "decision reason: Not on the photo." in decided
    assert decided.endswith("comparison (in the CSV)")
    assert "None" not in " ".join(table["Change"]) + " ".join(table["Detail"])
    assert "{" not in decided


def test_staff_audit__non_admin_cannot_add_staff(queue):
    at = page(AUDIT, user=StaffUser("bob", "Bob Reviewer", False))
    assert not [t for t in at.text_input if t.key == "staff_new_username"]


def test_homeowner_pages__never_read_requests():
    """The homeowner pages reach the request store only through homeowner_requests (submit one's own
    package, read one's own request with its number and token); never the staff pages or a listing."""
    for name in ("measure.py", "my_request.py", "worksheet.py", "rates.py", "about.py", "common.py"):
        text = (ROOT / "app_pages" / name).read_text()
        assert "sba.requests" not in text, name
        assert "staff_" not in text, name
    door = (ROOT / "app_pages" / "homeowner_requests.py").read_text()
    for reading in (".list(", ".get(", "audit_log", "file_data", "open_request_for"):
        assert reading not in door, reading



def test_app__staff_section_in_the_router_asks_to_sign_in(db):
    from tests.app_pages.conftest import new_app

    at = new_app()
    for path in ("app_pages/staff_review.py", "app_pages/staff_intake.py", "app_pages/staff_audit.py"):
        at.switch_page(path).run()
        assert not at.exception, path
        assert at.title[0].value == "Staff sign-in", path


# --------------------------------------------------------------------------
# sessions, sign-in limits and the audit chain


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="staff_username").set_value(name)
    at.text_input(key="staff_password").set_value(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_staff_review__signs_out_after_thirty_idle_minutes(db, monkeypatch):
    from app_pages import staff_common

    now = [1_800_000_000.0]
    monkeypatch.setattr(staff_common, "clock", lambda: now[0])
    at = sign_in(page(REVIEW, user=None), "alice", PASSWORD)
    assert at.title[0].value == "Category change requests"
    now[0] += 29 * 60
    at.run()
    assert at.title[0].value == "Category change requests"  # 29 minutes: still signed in, and the clock restarts
    now[0] += 30 * 60 + 1
    at.run()
    assert at.title[0].value == "Staff sign-in"
    assert at.error[0].value == "You were signed out after 30 minutes without activity; sign in again."
    with RequestStore.open(db) as store:
        last = store.audit_log()[-1]
    assert (last["actor"], last["action"], last["detail"]) == ("alice", "session_timeout",
                                                              "signed out after 30 idle minutes")


def test_staff_review__a_deactivated_account_is_signed_out_at_the_next_click(db):
    at = page(REVIEW)
    with RequestStore.open(db) as store:
        store.db.execute("UPDATE staff SET active = 0 WHERE username = 'alice'")
    at.run()
    assert at.title[0].value == "Staff sign-in"
    assert at.error[0].value == "Your staff account is no longer active."


def test_staff_review__a_locked_account_cannot_sign_in_even_with_the_right_password(db):
    import datetime as dt

    from sba.requests import AuthError, authenticate
    from sba.requests.throttle import DEFAULT_POLICY
    from tests.sba.requests.conftest import Clock

    clock = Clock(dt.datetime.now(dt.UTC))
    with RequestStore.open(db, clock=clock) as store:
        for n in range(1, 11):
            clock.advance(seconds=DEFAULT_POLICY.delay(n - 1).total_seconds())
            with pytest.raises(AuthError):
                authenticate(store, "alice", "a wrong guess")
    at = sign_in(page(REVIEW, user=None), "alice", PASSWORD)
    assert at.title[0].value == "Staff sign-in"
    assert at.error[0].value.startswith("Too many failed sign-ins for this account: sign-in is locked for ")
    assert at.text_input(key="staff_password").value == ""


def test_staff_audit__says_the_chain_is_intact_then_names_a_changed_row(queue, db):
    at = page(AUDIT)
    assert at.success[0].value.startswith("The audit log is intact: ")
    with RequestStore.open(db) as store:
        store.db.execute("DROP TRIGGER audit_log_no_update")
        store.db.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 3")
    at.run()
    assert at.error[0].value.startswith("The audit log has been tampered with: Row 3 was changed after it was "
                                        "written")


def test_staff_review__clicking_a_queue_row_opens_that_request(queue):
    at = page(REVIEW)
    table = frame(at, "Tax lot")
    row = int(table.index[table["Tax lot"] == "R100077"][0])
    at.session_state["staff_queue"] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert not at.exception
    assert at.selectbox(key="staff_request").value == queue["R100077"]
    assert at.header[0].value == f"Request {queue['R100077']}: tax lot R100077"
