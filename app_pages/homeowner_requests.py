"""The homeowner pages' only door to the request store: submit one's own package, read one's own request.

Nothing here lists requests or reads one without its reference number and
status token; the staff pages keep everything else. Same database and
records as the staff pages (``SBA_REQUESTS_DB``, ``SBA_RECORDS_DIR``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin

import streamlit as st

from app_pages import staff_common as sc
from sba.requests import (
    LookupThrottled,
    NotFoundError,
    OpenRequestExists,
    RequestError,
    RequestStore,
)
from sba.requests.intake import Requester, import_package
from sba.requests.letter import HEADLINES, long_date
from sba.requests.lookup import letter_for_requester, status_for_requester
from sba.requests.store import StoredFile
from sba.requests.text import markdown_text

__all__ = [
    "HEADLINES",
    "LINK_NUMBER",
    "LINK_TOKEN",
    "STATUS_LABELS",
    "LookupThrottled",
    "MyRequest",
    "NotFoundError",
    "RequestError",
    "long_date",
    "look_up",
    "markdown_text",
    "show_submitted",
    "status_link",
    "submit",
]

STATUS_LABELS = sc.STATUS_LABELS
ACTOR = "homeowner (web)"  # who the audit log says imported it
#: the My request page's address (from its file name) and the status link's query parameters
MY_REQUEST_PATH, LINK_NUMBER, LINK_TOKEN = "my_request", "ref", "token"
ALREADY_OPEN = "A request for this lot is already being reviewed; see My request."


def status_link(number: int, token: str, page_url: str | None) -> str:
    """The private link to My request for one request, next to ``page_url`` (the page the homeowner is on;
    relative when unknown).

    >>> status_link(12, "abc", "http://127.0.0.1:8501/")
    'http://127.0.0.1:8501/my_request?ref=12&token=abc'
    >>> status_link(12, "abc", "https://example.org/sba/worksheet?x=1")
    'https://example.org/sba/my_request?ref=12&token=abc'
    """
    return urljoin(page_url or "", f"{MY_REQUEST_PATH}?{urlencode({LINK_NUMBER: number, LINK_TOKEN: token})}")


def _page_url() -> str:
    try:
        return str(st.context.url or "")
    except (AttributeError, RuntimeError):
        return ""


def show_submitted(done: dict) -> None:
    """After "Submit to the City": the reference number and the private status link."""
    st.success(f"Submitted. Your reference number is **{done['id']}**. Keep the private status link below: it "
               "opens your request on **My request**. Treat it like a password: anyone with the link can see "
               "your request's status, and the City cannot show it to you again.",
               icon=":material/mark_email_read:")
    st.code(status_link(done["id"], done["token"], _page_url()), language=None)  # with a copy button
    st.page_link("app_pages/my_request.py", label="Open my request", icon=":material/open_in_new:",
                 query_params={LINK_NUMBER: str(done["id"]), LINK_TOKEN: done["token"]})


def submit(data: bytes, *, name: str, email: str, phone: str, filename: str) -> tuple[int, str]:
    """Store an evidence package as a request, with every check a staff import makes.

    Returns the reference number and the private status token (120 random
    bits; the database keeps only its SHA-256).

    Raises
    ------
    RequestError
        Refused (the message says why, in one sentence) or the database is unreachable.
    """
    token = secrets.token_urlsafe(15)
    with RequestStore.open(sc.db_target()) as store:
        try:
            rid = import_package(store, data, sc.current_records(), actor=ACTOR,
                                 requester=Requester(name, email, phone), filename=filename, status_token=token)
        except OpenRequestExists as err:  # worded for staff ("decide that one first")
            raise RequestError(ALREADY_OPEN) from err
    return rid, token


@dataclass(frozen=True)
class MyRequest:
    """What a requester sees of their request: its status, the date received and the decision letter, if any."""

    status: dict[str, Any]
    submitted_on: Any
    letter_md: tuple[StoredFile, bytes] | None
    letter_pdf: tuple[StoredFile, bytes] | None


def look_up(number: str, token: str) -> MyRequest:
    """One request, only for its reference number and token (:class:`NotFoundError` otherwise).

    Wrong tries are throttled per number and per browser address (:class:`LookupThrottled`) and logged;
    the letter comes with the account number masked.
    """
    with RequestStore.open(sc.db_target()) as store:
        found = status_for_requester(store, number, token, client=sc.client_address())
        return MyRequest(found, store.local_date(found["submitted_at"]), letter_for_requester(store, found["id"]),
                         store.latest_file(found["id"], "letter_pdf"))
