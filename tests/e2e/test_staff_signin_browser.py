"""Real-browser test of the staff sign-in limits, against ``streamlit run app.py``.

A wrong password from chromium is logged with where it came from (Streamlit reports no
address for a browser on the same machine: "localhost"), and a locked account is refused
even with the right password.
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.conftest import chromium_page, require_browser, streamlit_server

PASSWORD = "correct horse battery"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_staff_signin_browser__failures_are_logged_with_the_address_then_the_account_locks(tmp_path):
    require_browser()
    import datetime as dt

    from sba.requests import AuthError, RequestStore, add_staff, authenticate
    from sba.requests.throttle import DEFAULT_POLICY
    from tests.sba.requests.conftest import Clock

    db = tmp_path / "requests.sqlite"
    with RequestStore.open(db) as store:
        add_staff(store, "alice", PASSWORD, display_name="Alice Reviewer")
    env = {**os.environ, "SBA_REQUESTS_DB": str(db)}
    with streamlit_server(env) as url, chromium_page(1200, 800) as page:
        page.goto(url)
        page.get_by_role("link", name="Review requests").click()
        page.get_by_text("Staff sign-in").wait_for()
        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password", exact=True).fill("a wrong guess")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Wrong user name or password.").wait_for()
        with RequestStore.open(db) as store:
            failed = store.audit_log()[-1]
            assert (failed["actor"], failed["action"]) == ("alice", "login_failed")
            assert failed["detail"] == "from localhost; staff pages"  # Streamlit gives no loopback address
            clock = Clock(dt.datetime.now(dt.UTC))  # nine more failures, spaced as the policy asks
            store.clock = clock
            for n in range(2, 11):
                clock.advance(seconds=DEFAULT_POLICY.delay(n - 1).total_seconds())
                with pytest.raises(AuthError):
                    authenticate(store, "alice", "another guess")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Too many failed sign-ins for this account").wait_for()
        assert page.get_by_role("heading", name="Staff sign-in").count() == 1
        assert page.get_by_role("heading", name="Category change requests").count() == 0
