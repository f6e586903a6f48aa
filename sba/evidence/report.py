"""The evidence package's pictures: a map image of the lot and its surfaces, and the PDF report.

Both are drawn with no network (matplotlib, fpdf2 and the fonts matplotlib
ships); an aerial photo goes under the map only from a local file.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd

import gis
from gis.shapes import TYPE_COLOURS, shapes_frame, type_label
from sba.engine import area_str
from sba.evidence.measure import FORM_LABELS

if TYPE_CHECKING:
    import datetime as dt

    from categorize import Bill
    from sba.evidence.measure import LotMeasure
    from sba.evidence.request import ChangeRequest

__all__ = ["map_png", "report_pdf"]


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def map_png(
    measure: LotMeasure,
    shapes: Sequence[Mapping[str, Any]],
    lot: gpd.GeoDataFrame | None,
    water: gpd.GeoDataFrame | None = None,
    ortho_path: str | Path | None = None,
    *,
    dpi: int = 150,
) -> bytes | None:
    """A PNG map of the lot and the shapes, numbered as in the feature table (no network)."""
    if lot is None and not shapes:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from gis.raster import ortho_image

    feats = shapes_frame([s for s in shapes if s.get("geometry")])
    lot_p = gis.to_area_crs(lot, "parcels") if lot is not None else None
    crs = lot_p.crs if lot_p is not None else feats.estimate_utm_crs()
    feats = feats.to_crs(crs)
    fig = Figure(figsize=(6, 5), dpi=dpi)
    ax = fig.add_subplot()
    ax.set_axis_off()
    bounds = (lot_p if lot_p is not None else feats).total_bounds
    if ortho_path is not None:
        img = ortho_image(ortho_path, tuple(bounds), crs, margin=15)
        if img is not None:
            ax.imshow(img[0], extent=img[1], interpolation="bilinear")
    if water is not None and len(water):
        water.to_crs(crs).plot(ax=ax, color="#a6bddb", alpha=0.6)
    if len(feats):
        colours = [TYPE_COLOURS.get(t, "#f781bf") for t in feats["feature_type"]]
        feats.plot(ax=ax, facecolor=colours, edgecolor=colours, alpha=0.45, linewidth=1.5)
        for i, geom in enumerate(feats.geometry, start=1):
            if geom is None or geom.is_empty:
                continue
            pt = geom.representative_point()
            ax.annotate(str(i), (pt.x, pt.y), ha="center", va="center", fontsize=8, weight="bold",
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.85, "lw": 0.5})
    if lot_p is not None:
        lot_p.boundary.plot(ax=ax, color="#ff7800", linewidth=2, linestyle="--")
    pad = 15
    ax.set_xlim(bounds[0] - pad, bounds[2] + pad)
    ax.set_ylim(bounds[1] - pad, bounds[3] + pad)
    ax.set_aspect("equal")
    ax.set_title(f"Lot {measure.parcel_id} (dashed line) and measured surfaces", fontsize=9,
                 parse_math=False)  # the id is the file's text: "$" is no formula
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def report_pdf(measure: LotMeasure, request: ChangeRequest, req: Mapping[str, Any], statement: str,
               shapes: Sequence[Mapping[str, Any]], lot: gpd.GeoDataFrame | None, water: gpd.GeoDataFrame | None,
               bill: Bill | None, ortho_path: str | Path | None, created: dt.datetime, generator: str) -> bytes:
    """The package's ``report.pdf``: ``req`` is the manifest's ``request``, ``generator`` names this program."""
    from fpdf import FPDF

    pdf = FPDF(format="Letter")
    fonts = _font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 9, "Stormwater billable area: evidence for a category change", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, f"Made {created:%Y-%m-%d %H:%M} UTC with {generator}. "
             "This is an estimate for the City to review, not a City decision.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    def row(label, value):
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(62, 6, label)
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(0, 6, str(value), new_x="LMARGIN", new_y="NEXT")

    row("Tax lot (Property ID)", measure.parcel_id)
    if request.address:
        row("Address", request.address)
    if request.account_number:
        row("Account number", request.account_number)
    row("Current category (on the bill)", request.current_category or "not given")
    row("Computed category", req["computed_category"] or "none (not a single-family category)")
    row("Billable area", f"{area_str(measure.billable_area_sqft)} sq ft (whole: {measure.whole_sqft} sq ft)")
    for key, value in req["form_totals"].items():
        row(FORM_LABELS[key], f"{value} sq ft")
    png = map_png(measure, shapes, lot, water, ortho_path)
    if png is not None:
        pdf.ln(2)
        pdf.image(io.BytesIO(png), w=120, x=(pdf.w - 120) / 2)
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "Surfaces", new_x="LMARGIN", new_y="NEXT")
    with pdf.table(col_widths=(10, 60, 30, 35, 35), text_align=("RIGHT", "LEFT", "LEFT", "RIGHT", "RIGHT"),
                   line_height=5.5) as table:
        pdf.set_font("DejaVu", "", 9)
        table.row(["#", "Type", "Source", "Area (sq ft)", "Inside lot (sq ft)"])
        for i, f in enumerate(measure.features, start=1):
            kind = type_label(f.feature_type) + (f" ({f.label})" if f.label else "")
            table.row([str(i), kind, f.source, area_str(f.area_sqft), area_str(f.inside_lot_sqft)])
    pdf.ln(3)
    b = req["breakdown"]
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(
        0, 5,
        f"Overlap counted once: {b['overlap_removed_sqft']} sq ft removed. Outside the lot line: "
        f"{b['outside_lot_sqft']} sq ft. Over water: {b['overwater_excluded_sqft']} sq ft. "
        f"Types not billed: {b['excluded_type_sqft']} sq ft."
        + (" Some outlines crossed themselves and were repaired." if b["repaired"] else ""),
        new_x="LMARGIN", new_y="NEXT",
    )
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "Method", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(0, 5, statement, new_x="LMARGIN", new_y="NEXT")
    if bill is not None:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, f"Estimated charges ({bill.period.name}, {bill.schedule_title or bill.schedule_name})",
                 new_x="LMARGIN", new_y="NEXT")
        with pdf.table(col_widths=(60, 80, 30), text_align=("LEFT", "LEFT", "RIGHT"), line_height=5.5) as table:
            pdf.set_font("DejaVu", "", 9)
            table.row(["Item", "Calculation", "Amount"])
            for line in (*bill.lines, *bill.superfund_lines):
                table.row([line.item, line.calculation, f"${line.amount:,.2f}"])
            table.row(["Total with Superfund", "", f"${bill.grand_total:,.2f}"])
    if req["warnings"]:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, "Please note", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9)
        for w in req["warnings"]:
            pdf.multi_cell(0, 5, f"• {w}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
