"""The decision letter, in Markdown and as a one-page PDF (fpdf2).

Both come from one :class:`LetterInfo`, so they always say the same thing:
the decision, the three totals as reported and as determined, the category
before and after, the effective date (= decision date, never earlier), the
reason, and that the City's determination is final (SPEC §3.1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sba.evidence import FORM_BUCKETS, FORM_LABELS
from sba.requests.text import markdown_text, mask_account

if TYPE_CHECKING:
    from sba.requests.compare import Comparison
    from sba.requests.store import ChangeRequestRecord

__all__ = ["LetterInfo", "letter_markdown", "letter_pdf", "long_date"]

CUSTOMER_SERVICE = "503-823-7770"
HEADLINES = {
    "accept": "Decision: your request is accepted.",
    "adjust": "Decision: your request is accepted with changes made by our staff.",
    "reject": "Decision: your request is not accepted.",
}


def long_date(day: dt.date) -> str:
    """A date as letters write it.

    >>> long_date(dt.date(2026, 3, 2))
    'March 2, 2026'
    """
    return f"{day:%B} {day.day}, {day.year}"


@dataclass(frozen=True)
class LetterInfo:
    """Everything the letter says."""

    request_id: int
    parcel_id: str
    address: str
    account_number: str
    requester_name: str
    requester_email: str
    submitted_on: dt.date
    decided_on: dt.date
    decision: str
    old_category: str
    new_category: str
    effective: dt.date
    reason: str
    decided_by: str
    reported: dict[str, int]
    reported_total: Decimal
    determined: dict[str, Decimal]
    determined_total: Decimal
    determined_label: str
    reported_category: str = ""
    determined_category: str = ""

    @classmethod
    def from_request(cls, req: ChangeRequestRecord, cmp: Comparison, *, decision: str, new_category: str,
                     effective: dt.date, reason: str, decided_by: str, decided_on: dt.date,
                     submitted_on: dt.date) -> LetterInfo:
        """The letter's content; dates are the utility's local dates."""
        reject = decision == "reject"
        reported_total = Decimal(req.claimed_sqft) if req.claimed_sqft else Decimal(sum(req.form_totals.values()))
        return cls(
            request_id=req.id, parcel_id=req.parcel_id, address=req.address,
            account_number=mask_account(req.account_number),  # letters go by post: the last 4 digits only
            requester_name=req.requester_name, requester_email=req.requester_email,
            submitted_on=submitted_on, decided_on=decided_on, decision=decision,
            old_category=req.current_category, new_category=new_category, effective=effective, reason=reason,
            decided_by=decided_by, reported=dict(req.form_totals), reported_total=reported_total,
            determined=dict(cmp.record_totals if reject else cmp.request_totals),
            determined_total=cmp.record_whole if reject else cmp.request_whole,
            determined_label="City's record (sq ft)" if reject else "Our determination (sq ft)",
            reported_category=req.claimed_category or "",
            determined_category=cmp.record_category if reject else new_category,
        )

    @property
    def outcome(self) -> str:
        """The letter's sentence on the category: the change and its date, or that it stays."""
        if self.old_category != self.new_category:
            return (f"Your stormwater category changes from **{self.old_category}** to **{self.new_category}**, "
                    f"effective **{long_date(self.effective)}**, the date of this decision. The change is not "
                    "retroactive: bills for service before that date stay as they are.")
        return f"Your stormwater category stays **{self.old_category}**."

    def table(self) -> list[tuple[str, str, str]]:
        """The letter's table: each form line as reported and as determined (sq ft), the total and the category."""
        rows = [(FORM_LABELS[k], f"{self.reported.get(k, 0):,}", f"{self.determined.get(k, Decimal(0)):,}")
                for k in FORM_BUCKETS]
        rows.append(("Billable area", f"{self.reported_total:,}", f"{self.determined_total:,}"))
        rows.append(("Category", self.reported_category or "-", self.determined_category or "-"))
        return rows


def letter_markdown(info: LetterInfo) -> str:
    """The letter as Markdown text; what the requester or staff typed is escaped, so it shows as typed."""
    md = markdown_text
    lines = [
        "# Stormwater category decision",
        "",
        f"**Date:** {long_date(info.decided_on)}  ",
        f"**Request:** number {info.request_id}, received {long_date(info.submitted_on)}  ",
        f"**Tax lot (Property ID):** {md(info.parcel_id)}  ",
        *([f"**Address:** {md(info.address)}  "] if info.address else []),
        f"**Utility account:** {md(info.account_number)}",
        "",
        f"Dear {md(info.requester_name)},",
        "",
        "We have reviewed your request to change the stormwater category of the property above, "
        "comparing each surface you measured with the City's records.",
        "",
        f"**{HEADLINES[info.decision]}**",
        "",
        f"| | You reported (sq ft) | {info.determined_label} |",
        "|---|---:|---:|",
        *[f"| {a} | {b} | {c} |" for a, b, c in info.table()],
        "",
        info.outcome,
        "",
    ]
    if info.reason:
        lines += [f"**Reason:** {md(info.reason)}", ""]
    lines += [
        "The City makes the final determination of the measured or estimated area of each surface, by the "
        "methods it deems appropriate; this determination is not appealable. If you have questions about this "
        f"letter, call customer service at {CUSTOMER_SERVICE}.",
        "",
        "Sincerely,",
        "",
        f"{md(info.decided_by)}  ",
        "Stormwater billing review",
        "",
    ]
    return "\n".join(lines)


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def letter_pdf(info: LetterInfo) -> bytes:
    """The letter as a one-page PDF."""
    from fpdf import FPDF

    pdf = FPDF(format="Letter")
    fonts = _font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Stormwater category decision, request {info.request_id}")
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 10, "Stormwater category decision", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    head = [
        ("Date", f"{long_date(info.decided_on)}"),
        ("Request", f"number {info.request_id}, received {long_date(info.submitted_on)}"),
        ("Tax lot (Property ID)", info.parcel_id),
        *([("Address", info.address)] if info.address else []),
        ("Utility account", info.account_number),
    ]
    for label, value in head:
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(48, 6, label)
        pdf.set_font("DejaVu", "", 10)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    def para(text: str, size: int = 10, *, markdown: bool = True) -> None:
        """A paragraph; ``markdown=False`` for text someone typed (fpdf would read ** and [..](..) in it)."""
        pdf.set_font("DejaVu", "", size)
        pdf.multi_cell(0, 5.5, text, markdown=markdown, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    para(f"Dear {info.requester_name},", markdown=False)
    para("We have reviewed your request to change the stormwater category of the property above, "
         "comparing each surface you measured with the City's records.")
    para(f"**{HEADLINES[info.decision]}**", 11)
    with pdf.table(col_widths=(70, 45, 55), text_align=("LEFT", "RIGHT", "RIGHT"), line_height=6) as table:
        pdf.set_font("DejaVu", "", 10)
        table.row(["", "You reported (sq ft)", info.determined_label])
        for row in info.table():
            table.row(list(row))
    pdf.ln(3)
    para(info.outcome)
    if info.reason:
        para(f"Reason: {info.reason}", markdown=False)
    para("The City makes the final determination of the measured or estimated area of each surface, by the "
         "methods it deems appropriate; this determination is not appealable. If you have questions about this "
         f"letter, call customer service at {CUSTOMER_SERVICE}.", 9)
    pdf.ln(2)
    para("Sincerely,")
    para(f"{info.decided_by}\nStormwater billing review", markdown=False)
    return bytes(pdf.output())
