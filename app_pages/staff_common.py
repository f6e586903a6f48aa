"""Shared pieces of the staff pages: the request database, the records, the sign-in gate.

Holds no review logic: it calls :mod:`sba.requests` and shows what it returns.

Settings (environment variables, read by the server):

* ``SBA_REQUESTS_DB``: SQLite file or ``postgresql://`` URL (default
  ``~/.local/share/sba/requests.sqlite``);
* ``SBA_RECORDS_DIR``: the utility's parcels / features / water / accounts
  (default: the sample neighbourhood);
* ``SBA_UTILITY_TZ``: the utility's time zone for decision dates (may only
  repeat the rate schedule's zone).

A signed-in session ends after :data:`IDLE_MINUTES` without a page run (any
click, choice or reload); the next run shows the sign-in form and says why.
Failed sign-ins are throttled per account and per browser address
(:mod:`sba.requests.throttle`).
"""

from __future__ import annotations

import time

import streamlit as st

from sba.requests import (
    AuthError,
    Records,
    RequestError,
    RequestStore,
    StaffUser,
    authenticate,
    default_db_path,
    get_staff,
    staff_count,
)
from sba.requests.records import default_records_dir

IDLE_MINUTES = 30

#: wall-clock seconds since the epoch ("30 minutes without activity" as staff mean it); tests replace it
clock = time.time

STATUS_LABELS = {
    "submitted": "Waiting for a decision",
    "accepted": "Accepted",
    "adjusted": "Accepted with changes",
    "rejected": "Not accepted",
}


def db_target() -> str:
    """The request database the staff pages open (``$SBA_REQUESTS_DB`` or the default file)."""
    return default_db_path()


@st.cache_resource(show_spinner="Reading the utility's records…")
def records(folder: str) -> Records:
    """The utility's parcels, record layer, water and accounts (shared, read-only)."""
    return Records.load(folder)


def current_records() -> Records:
    """The utility's records from the default records folder (read once, shared)."""
    return records(str(default_records_dir()))


def store() -> RequestStore:
    """This browser session's connection to the request database (opened once per session)."""
    target = db_target()
    held = st.session_state.get("_staff_store")
    if held is None or held[0] != target:
        st.session_state["_staff_store"] = (target, RequestStore.open(target))
    return st.session_state["_staff_store"][1]


def user() -> StaffUser | None:
    """The staff member signed in in this browser session, or ``None``."""
    return st.session_state.get("staff_user")


def client_address() -> str:
    """The browser's address as the server sees it; ``"localhost"`` for a browser on the server
    itself (Streamlit reports no address for loopback connections, nor in tests).

    Behind a reverse proxy every browser may have the proxy's address, so the
    per-client limit then applies to all of them together.
    """
    try:
        return str(st.context.ip_address or "localhost")
    except (AttributeError, RuntimeError):
        return "localhost"


def _sign_in() -> None:
    ss = st.session_state
    try:
        found = authenticate(store(), ss.get("staff_username", ""), ss.get("staff_password", ""),
                             client=client_address(), via="staff pages")
    except AuthError as err:  # SignInThrottled too: its message says how long to wait
        ss["staff_login_error"] = str(err)
        ss["staff_password"] = ""
        return
    ss["staff_user"] = found
    ss["staff_last_seen"] = clock()
    ss.pop("staff_login_error", None)
    ss["staff_password"] = ""


def _sign_out() -> None:
    st.session_state.pop("staff_user", None)
    st.session_state.pop("staff_last_seen", None)


def _still_signed_in(s: RequestStore, who: StaffUser) -> bool:
    """End the session after IDLE_MINUTES without a run, or when the account was deactivated."""
    ss = st.session_state
    now = clock()
    idle = now - float(ss.get("staff_last_seen", now))
    if idle > IDLE_MINUTES * 60:
        _sign_out()
        s.append_audit(who.username, "session_timeout", detail=f"signed out after {int(idle // 60)} idle minutes")
        ss["staff_login_error"] = (f"You were signed out after {IDLE_MINUTES} minutes without activity; "
                                   "sign in again.")
        return False
    if get_staff(s, who.username) is None:
        _sign_out()
        ss["staff_login_error"] = "Your staff account is no longer active."
        return False
    ss["staff_last_seen"] = now
    return True


def flash(kind: str, text: str, request_id: int | None = None) -> None:
    """A message for the next runs, set by a callback.

    A message about a request stays while that request is open (an extra
    rerun, e.g. from the map, must not swallow a conflict message); other
    messages show once.
    """
    st.session_state["staff_flash"] = (kind, text, request_id)


def show_flash(request_id: int | None = None) -> None:
    """Show the message :func:`flash` left, if it is about ``request_id`` (or about no request)."""
    held = st.session_state.get("staff_flash")
    if not held:
        return
    kind, text, about = held
    if about != request_id:
        if request_id is not None:  # another request is open now: the message is stale
            st.session_state.pop("staff_flash", None)
        return
    if about is None:
        st.session_state.pop("staff_flash", None)
    if kind == "success":
        st.success(text, icon=":material/check_circle:")
    elif kind == "error":
        st.error(text, icon=":material/error:")
    elif kind == "warning":
        st.warning(text, icon=":material/warning:")


def require_staff() -> tuple[RequestStore, StaffUser]:
    """The signed-in staff member, or the sign-in form and stop.

    Homeowners never get past this: every staff page calls it first, before
    reading any request.
    """
    try:
        s = store()
    except RequestError as err:
        st.error(str(err), icon=":material/error:")
        st.stop()
    who = user()
    if who is not None and _still_signed_in(s, who):
        with st.sidebar:
            st.caption(f"Signed in as **{who.display_name}** ({who.username})"
                       + (", administrator" if who.is_admin else ""))
            st.button("Sign out", key="staff_sign_out", on_click=_sign_out)
            st.caption(f"Requests database: `{s.db.display()}`")
        return s, who
    st.title("Staff sign-in")
    st.caption("Category change requests are reviewed by utility staff only.")
    if staff_count(s) == 0:
        st.info(
            "There are no staff accounts yet. Create the first administrator on the server with\n\n"
            f"`sba requests add-staff --username NAME --admin --db {s.db.display()}`",
            icon=":material/person_add:",
        )
        st.stop()
    with st.form("staff_login"):
        st.text_input("User name", key="staff_username", autocomplete="username")
        st.text_input("Password", key="staff_password", type="password", autocomplete="current-password")
        st.form_submit_button("Sign in", type="primary", on_click=_sign_in)
    if st.session_state.get("staff_login_error"):
        st.error(st.session_state["staff_login_error"], icon=":material/lock:")
    st.stop()
    raise AssertionError("unreachable")  # st.stop() ends the run
