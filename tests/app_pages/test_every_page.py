"""AppTest: every page opens without an exception, the staff pages with every request in the queue.

The queue is the sample queue plus a request for R100072, whose City record
has a patio outline that crosses itself (the records are repaired, so the
Review page shows the request instead of a GEOS traceback).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from sba.requests import RequestStore, StaffUser, add_staff
from sba.requests.intake import import_package
from sba.requests.records import Records
from sba.requests.sample_queue import seed_sample
from tests.app_pages.conftest import ROOT, SAMPLE
from tests.sba.requests.lot_packages import record_package

PASSWORD = "correct horse battery"
HOMEOWNER_PAGES = ["measure.py", "my_request.py", "worksheet.py", "rates.py", "about.py"]
STAFF_PAGES = ["staff_review.py", "staff_intake.py", "staff_audit.py"]


@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    """A database with alice and the sample queue plus R100072: its path and request numbers."""
    path = tmp_path_factory.mktemp("every-page") / "requests.sqlite"
    records = Records.load(SAMPLE)
    with RequestStore.open(path) as store:
        add_staff(store, "alice", PASSWORD, display_name="Alice Reviewer")
        seed_sample(store, records)
        data, who = record_package(records, "R100072")
        import_package(store, data, records, actor="alice", requester=who, filename="evidence-R100072.zip")
        return path, {r["parcel_id"]: r["id"] for r in store.list()}


def _run(page: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / page), default_timeout=90)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    return at


@pytest.mark.parametrize("page", HOMEOWNER_PAGES)
def test_every_page__homeowner_pages_open_without_an_exception(page):
    at = _run(page)
    assert not at.exception, at.exception


def test_every_page__staff_pages_open_with_every_request_without_an_exception(queue, monkeypatch):
    path, ids = queue
    assert sorted(ids) == ["R100040", "R100065", "R100072", "R100075", "R100077"]
    monkeypatch.setenv("SBA_REQUESTS_DB", str(path))
    monkeypatch.delenv("SBA_RECORDS_DIR", raising=False)
    alice = StaffUser("alice", "Alice Reviewer", True)
    failures = []
    for pid, rid in ids.items():
        for page in STAFF_PAGES:
            at = _run(page, staff_user=alice, staff_request=rid, staff_filter="all")
            if at.exception:
                failures.append((page, pid, at.exception[0].message))
            elif page == "staff_review.py":
                assert any(pid in str(el.value) for el in at.markdown) or any(
                    pid in str(el.value) for el in at.subheader), (pid, [m.value for m in at.subheader])
    assert failures == []
