"""AppTest of a request's life as the homeowner sees it: "Submit to the City" on My lot, then "My request";
and the staff queue's six-week promise."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from sba.requests import NotFoundError, RequestStore, StaffUser, add_staff, decide
from sba.requests.db import utc_text
from sba.requests.intake import import_package
from sba.requests.records import Records
from sba.requests.sample_queue import sample_packages, seed_sample
from sba.requests.store import status_token_hash
from tests.app_pages.conftest import ROOT, SAMPLE, new_app, texts

HOUSE, ACCOUNT, HOLDER = "R100065", "2861662471", "Emery Larch"  # sample_data/requests/accounts.csv
MY_REQUEST = str(ROOT / "app_pages" / "my_request.py")
REVIEW = str(ROOT / "app_pages" / "staff_review.py")


@pytest.fixture(scope="module")
def records():
    return Records.load(SAMPLE)


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "requests.sqlite"
    monkeypatch.setenv("SBA_REQUESTS_DB", str(path))
    monkeypatch.delenv("SBA_RECORDS_DIR", raising=False)
    with RequestStore.open(path) as store:
        add_staff(store, "alice", "correct horse battery", display_name="Alice Reviewer")
    return path


def _package_ready(name: str) -> AppTest:
    """My lot on R100065 (billed large, measures standard), confirmed and with its package prepared."""
    at = new_app()
    at.selectbox(key="lot_id").set_value(HOUSE).run()
    at.text_input(key="account_number").input(ACCOUNT).run()
    for key in ("elig_single_family", "elig_one_unit", "elig_one_account", "elig_account_holder"):
        at.checkbox(key=key).check()
    at.button(key="make_package").click().run()
    assert not at.exception, at.exception
    at.text_input(key="submit_name").input(name)
    at.text_input(key="submit_email").input("emery@example.org")
    return at


def test_submit__the_package_becomes_a_request_in_the_staff_store_with_a_number_and_a_private_token(db):
    at = _package_ready(HOLDER)
    at.button(key="submit_request").click().run()
    assert not at.exception, at.exception
    assert not at.error
    assert "Your reference number is **1**" in texts(at.success)
    assert "Treat it like a password" in texts(at.success)
    link = urlsplit(at.code[0].value)  # AppTest has no browser address: the link is relative to the app
    assert (link.path, sorted(parse_qs(link.query))) == ("my_request", ["ref", "token"])
    assert parse_qs(link.query)["ref"] == ["1"]
    token = parse_qs(link.query)["token"][0]
    assert len(token) >= 20
    with RequestStore.open(db) as store:
        req = store.get(1)
        assert (req.parcel_id, req.current_category, req.claimed_category) == (HOUSE, "large", "standard")
        assert (req.requester_name, req.requester_email) == (HOLDER, "emery@example.org")
        assert store.db.scalar("SELECT status_token_hash FROM requests WHERE id = 1") == status_token_hash(token)
        assert [(a["actor"], a["action"]) for a in store.audit_log(1)] == [("homeowner (web)", "import")]
    assert at.get("button")  # the submit button is gone once submitted
    assert "submit_request" not in [b.key for b in at.button]


def test_submit__a_requester_who_is_not_the_account_holder_is_refused_in_one_message_and_nothing_is_stored(db):
    at = _package_ready("Someone Else")
    at.button(key="submit_request").click().run()
    assert not at.exception, at.exception
    assert len(at.error) == 1
    assert "the requester (Someone Else) is not the holder of the account" in at.error[0].value
    assert not at.code
    with RequestStore.open(db) as store:
        assert store.list() == []
        assert store.audit_log()[-1]["action"] == "import_refused"


def test_submit__a_second_request_for_a_lot_under_review_gets_a_homeowner_sentence(db, records):
    data, who = next((d, w) for pid, d, w in sample_packages(records) if pid == HOUSE)
    with RequestStore.open(db) as store:
        first = import_package(store, data, records, actor="homeowner (web)", requester=who, status_token="tok")
    at = _package_ready(HOLDER)
    at.button(key="submit_request").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["A request for this lot is already being reviewed; see My request."]
    assert not at.code
    with RequestStore.open(db) as store:
        assert [r["id"] for r in store.list()] == [first]


def test_submit__the_status_link_opens_my_request_on_the_status_directly(db):
    at = _package_ready(HOLDER)
    at.button(key="submit_request").click().run()
    query = parse_qs(urlsplit(at.code[0].value).query)
    page = AppTest.from_file(MY_REQUEST, default_timeout=60)
    page.query_params.update({k: v[0] for k, v in query.items()})
    page.run()
    assert not page.exception, page.exception
    assert not page.error
    assert page.header[0].value == f"Request 1: tax lot {HOUSE}"
    assert "**Status:** Waiting for a decision" in texts(page.markdown)
    page.run()  # a later rerun shows it still, without looking it up again
    assert page.header[0].value == f"Request 1: tax lot {HOUSE}"


def _my_request(number: str, token: str) -> AppTest:
    at = AppTest.from_file(MY_REQUEST, default_timeout=60)
    at.run()
    at.text_input(key="my_request_id").input(number)
    at.text_input(key="my_request_token").input(token)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def decided(db, records):
    """R100065 submitted with a token and accepted by alice; R100040 by someone else, undecided."""
    packages = {pid: (data, who) for pid, data, who in sample_packages(records)}
    with RequestStore.open(db) as store:
        data, who = packages[HOUSE]
        mine = import_package(store, data, records, actor="homeowner (web)", requester=who, status_token="tok-mine")
        data, who = packages["R100040"]
        other = import_package(store, data, records, actor="homeowner (web)", requester=who, status_token="tok-other")
        d = decide(store, records, mine, "accept", actor="alice", reason="Matches the **record** [x](y).")
    return mine, other, d


def test_my_request__shows_the_status_decision_effective_date_and_letter(decided):
    mine, _, d = decided
    at = _my_request(str(mine), "tok-mine")
    assert not at.error
    assert at.header[0].value == f"Request {mine}: tax lot {HOUSE}"
    assert "**Status:** Accepted" in texts(at.markdown)
    shown = texts(at.success)
    assert "Decision: your request is accepted." in shown
    assert f"large → standard, effective {d.effective_date.isoformat()}" in shown
    letter = texts(at.expander[0].markdown) if at.expander else texts(at.markdown)
    assert "Matches the \\*\\*record\\*\\* \\[x\\](y)." in letter  # the reviewer's text is escaped
    assert HOLDER in letter
    assert "**Utility account:** ••••••2471" in letter
    assert at.get("download_button")


def test_my_request__the_page_never_shows_the_account_number_the_homeowner_typed(decided):
    mine, _, _ = decided
    at = _my_request(str(mine), "tok-mine")
    every = [texts(at.markdown), texts(at.success), texts(at.expander[0].markdown), texts(at.header),
             texts(at.caption)]
    assert "Utility account" in every[2]
    assert [t for t in every if ACCOUNT in t] == []


def test_my_request__a_wrong_number_or_token_gives_the_same_not_found_and_shows_nothing(decided):
    mine, other, _ = decided
    answers = []
    for number, token in [(str(mine), "tok-other"), (str(other), "tok-mine"), ("99", "tok-mine"),
                          ("9" * 20, "tok-mine"), ("", "")]:
        at = _my_request(number, token)
        assert not at.header
        assert not at.success
        answers.append(at.error[0].value)
    assert set(answers) == {"No request matches that reference number and status token."}


def test_my_request__an_undecided_request_says_it_waits(decided):
    _, other, _ = decided
    at = _my_request(f"#{other}", "tok-other")
    assert "**Status:** Waiting for a decision" in texts(at.markdown)
    assert "has not decided yet" in at.info[0].value


def test_staff_queue__shows_days_waiting_and_puts_overdue_requests_first(db, records):
    with RequestStore.open(db) as store:
        seed_sample(store, records)
        ids = {r["parcel_id"]: r["id"] for r in store.list()}
        for lot, days in (("R100077", 50), ("R100075", 43), ("R100040", 42)):
            noon = dt.datetime.combine(store.today() - dt.timedelta(days=days), dt.time(12), tzinfo=store.tz)
            store.db.execute("UPDATE requests SET submitted_at = ? WHERE id = ?", (utc_text(noon), ids[lot]))
    at = AppTest.from_file(REVIEW, default_timeout=60)
    at.session_state["staff_user"] = StaffUser("alice", "Alice Reviewer", True)
    at.run()
    assert not at.exception, at.exception
    queue = next(df.value for df in at.dataframe if "Tax lot" in df.value.columns)
    assert list(queue["Tax lot"]) == ["R100077", "R100075", "R100065", "R100040"]
    assert list(queue["Waiting (days)"]) == [50, 43, 0, 42]
    assert list(queue["Six weeks"]) == ["overdue by 8 days", "overdue by 1 day", "42 days left", "0 days left"]
    assert at.selectbox(key="staff_request").value == ids["R100077"]  # the most overdue opens first


def test_my_request__a_status_link_with_a_wrong_token_says_not_found_and_is_logged_without_the_token(decided, db):
    mine, _, _ = decided
    at = AppTest.from_file(MY_REQUEST, default_timeout=60)
    at.query_params.update({"ref": str(mine), "token": "tok-guessed"})
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["No request matches that reference number and status token."]
    assert not at.header
    at.run()  # a rerun does not count the same link again
    with RequestStore.open(db) as store:
        failed = [r for r in store.audit_log() if r["action"] == "lookup_failed"]
        assert len(failed) == 1
        assert failed[0]["request_id"] == mine
        assert failed[0]["detail"].startswith(f"reference number {mine} from ")  # AppTest's address is a mock
        assert "tok-guessed" not in repr(store.db.query("SELECT * FROM audit_log"))


def test_my_request__after_too_many_wrong_tries_one_sentence_says_when_to_try_again(decided, db):
    from sba.requests.lookup import status_for_requester
    from sba.requests.throttle import DEFAULT_POLICY

    mine, _, _ = decided
    moment = [dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)]
    with RequestStore.open(db, clock=lambda: moment[0]) as store:  # 10 wrong tries, spaced as the waits allow
        for n in range(DEFAULT_POLICY.lock_after):
            moment[0] += DEFAULT_POLICY.delay(n)
            with pytest.raises(NotFoundError):
                status_for_requester(store, str(mine), f"guess {n}", client=f"10.0.0.{n}")
    at = _my_request(str(mine), "tok-mine")  # the right token, from another computer: not even checked
    assert not at.header
    assert len(at.error) == 1
    assert re.fullmatch(r"Too many wrong tries for this reference number: try again after \d{1,2}:\d\d [AP]M "
                        r"\(in 1[345] minutes\)\.", at.error[0].value), at.error[0].value
