"""Text from the public: checked on the way in, made inert on the way out.

Everything a homeowner typed (names, addresses, labels, the method
statement) is text, never markup.  On the way in, :func:`check_line` and
:func:`check_person_name` refuse control characters and cap lengths.  On the way
out, :func:`markdown_text` makes a value show as itself in Markdown (no links,
images, HTML or formatting), :func:`html_text` does the same for HTML (map
tooltips), and :func:`spreadsheet_cell` keeps a CSV cell from being run as a
formula when a spreadsheet opens the export.
"""

from __future__ import annotations

import csv
import html
import re
from typing import IO, Any

from sba.evidence.checks import CONTROL_CHARS
from sba.output import spreadsheet_cell
from sba.requests.errors import PackageRejected

__all__ = [
    "check_line",
    "check_person_name",
    "check_text",
    "csv_writer",
    "html_text",
    "markdown_text",
    "mask_account",
    "spreadsheet_cell",
]

_CONTROL = re.compile(f"[{CONTROL_CHARS}]")
_CONTROL_BUT_LINES = re.compile("[" + CONTROL_CHARS.replace("\\x00-\\x1f", "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f") + "]")
#: Letters (any script), digits, spaces and the punctuation names use: "Anne-Marie O'Neil, Jr. & J. Doe (trustee)".
_NAME = re.compile(r"[^\W_](?:[\w .,'’&()-]*[\w.)])?")
#: The characters that open Markdown, HTML, entities or Streamlit's own syntax (:red[...], $math$); CommonMark
#: lets any ASCII punctuation be escaped with a backslash. Links and images need "[" or "<", so "(" ")" "!" may stay.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$&])")
#: At the start of a line these make a list item or a heading underline.
_LINE_START = re.compile(r"\A(\s*)([-+=]|\d+[.)])")
#: Autolinks are found after escapes are undone, so a word joiner goes inside every "://" and "www." instead.
_AUTOLINK = re.compile(r"(?i)(:)(//)|\b(www)(\.)")


def check_line(value: Any, label: str, max_len: int) -> str:
    """``value`` as one line of text (trimmed), or refuse a control character or a text over ``max_len``."""
    return _checked(value, label, max_len, _CONTROL, "a line break or another control character; give it on one line")


def check_text(value: Any, label: str, max_len: int) -> str:
    """Like :func:`check_line`, but line breaks and tabs are allowed."""
    return _checked(value, label, max_len, _CONTROL_BUT_LINES, "a control character that is not text; remove it")


def _checked(value: Any, label: str, max_len: int, forbidden: re.Pattern, why: str) -> str:
    text = str(value or "").strip()
    if forbidden.search(text):
        raise PackageRejected(f"The {label} has {why}.")
    if len(text) > max_len:
        raise PackageRejected(f"The {label} is {len(text):,} characters long; the limit is {max_len:,}.")
    return text


def check_person_name(value: Any, label: str = "requester's name", max_len: int = 100) -> str:
    """A person's name: letters, digits, spaces and ``. , ' - & ( )``, starting with a letter or digit.

    >>> check_person_name("  Anne-Marie O'Neil ")
    "Anne-Marie O'Neil"
    >>> check_person_name("=Emery+Larch")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    sba.requests.errors.PackageRejected: The requester's name can only have letters, digits, spaces
    and . , ' - & ( ) (got '=Emery+Larch').
    """
    text = check_line(value, label, max_len)
    if text and not _NAME.fullmatch(text):
        raise PackageRejected(f"The {label} can only have letters, digits, spaces and . , ' - & ( ) (got {text!r}).")
    return text


def markdown_text(value: Any) -> str:
    r"""``value`` escaped so Markdown (and Streamlit's extensions) shows it literally, on one line.

    >>> markdown_text("**b** [x](y) <i>")
    '\\*\\*b\\*\\* \\[x\\](y) \\<i\\>'
    >>> markdown_text("- a; 1. b (c).")
    '\\- a; 1. b (c).'
    >>> markdown_text("1. first")
    '1\\. first'
    >>> "https://" in markdown_text("https://evil.example").replace("\\", "")
    False
    """
    text = _CONTROL.sub(" ", str(value))
    text = _AUTOLINK.sub(lambda m: f"{m[1]}\u2060{m[2]}" if m[1] else f"{m[3]}\u2060{m[4]}", text)
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: m[1] + "".join("\\" + c if not c.isdigit() else c for c in m[2]), text)


def html_text(value: Any) -> str:
    """``value`` escaped for HTML (quotes too), e.g. for a map tooltip.

    >>> html_text("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    """
    return html.escape("" if value is None else str(value), quote=True)


class _SafeWriter:
    def __init__(self, out: IO[str]):
        self._w = csv.writer(out, lineterminator="\n")

    def writerow(self, row) -> None:
        self._w.writerow([spreadsheet_cell(v) for v in row])


def csv_writer(out: IO[str]) -> _SafeWriter:
    """A ``csv.writer`` (``\\n`` line ends) whose every text cell goes through :func:`spreadsheet_cell`."""
    return _SafeWriter(out)


def mask_account(number: str) -> str:
    """An account number with all but its last 4 characters hidden.

    >>> mask_account("2861662471"), mask_account("123")
    ('••••••2471', '•••')
    """
    number = str(number)
    keep = 4 if len(number) > 4 else 0
    return "•" * (len(number) - keep) + number[len(number) - keep:]
