"""Tape-measure worksheet: add up measured rectangles, circles and triangles, like the City's worksheet."""

from __future__ import annotations

import dataclasses

import streamlit as st

from app_pages import common as c
from gis.shapes import FEATURE_TYPES, type_label
from gis.tape import SEED_WORKSHEET, SHAPES, TapeShape
from sba import evidence

SHAPE_LABELS = {
    "rectangle": "Rectangle (length × width)",
    "circle": "Circle (across, through the middle)",
    "triangle": "Triangle (base × height ÷ 2)",
    "l_shape": "L-shape (rectangle minus a corner)",
    "custom": "I know the square feet",
}
DIM_LABELS = {
    "length": "Length (ft)", "width": "Width (ft)", "diameter": "Diameter (ft)", "base": "Base (ft)",
    "height": "Height (ft)", "cutout_length": "Corner cut-out length (ft)",
    "cutout_width": "Corner cut-out width (ft)", "sqft": "Area (sq ft)",
}
TYPES = list(FEATURE_TYPES)


def _rows() -> list[str]:
    return st.session_state.setdefault("tape_rows", [])


def _add_row(kind: str = "rectangle", dims=(), feature_type: str = "roof", label: str = "") -> None:
    n = st.session_state.get("tape_next", 1)
    st.session_state["tape_next"] = n + 1
    rid = f"r{n}"
    st.session_state[f"tape_label_{rid}"] = label
    st.session_state[f"tape_kind_{rid}"] = kind
    st.session_state[f"tape_type_{rid}"] = feature_type
    for name, value in zip(SHAPES[kind], dims, strict=False):
        st.session_state[f"tape_{rid}_{name}"] = float(value)
    _rows().append(rid)


def _clear() -> None:
    for rid in _rows():
        for key in [k for k in st.session_state if str(k).startswith((f"tape_{rid}_", f"tape_label_{rid}",
                                                                       f"tape_kind_{rid}", f"tape_type_{rid}"))]:
            del st.session_state[key]
    st.session_state["tape_rows"] = []


def _demo() -> None:
    _clear()
    for shape in SEED_WORKSHEET:
        _add_row(shape.kind, shape.dims, shape.feature_type, shape.label)


def _remove(rid: str) -> None:
    st.session_state["tape_rows"] = [r for r in _rows() if r != rid]


c.keep()
sched, period, policy = c.sidebar_settings()
st.title("Tape-measure worksheet")
st.markdown(
    "No map or photo? Measure each hard surface with a tape measure and enter it here, as the City's "
    "worksheet does: rectangles (length × width), circles (measure across the middle), triangles, or a "
    "square-foot figure you already know."
)
b1, b2, b3 = st.columns(3)
b1.button("Add a surface", key="tape_add", on_click=_add_row, icon=":material/add:", width="stretch")
b2.button("Try the City's example", key="tape_demo", on_click=_demo, icon=":material/lightbulb:",
          width="stretch", help="The worksheet example from the City's rates page: 2,569 sq ft.")
b3.button("Clear all", key="tape_clear", on_click=_clear, icon=":material/delete_sweep:", width="stretch",
          disabled=not _rows())

if not _rows():
    st.info("Add a surface, or try the City's example.", icon=":material/straighten:")
    st.stop()

shapes: list[TapeShape] = []
for i, rid in enumerate(_rows(), start=1):
    with st.container(border=True):
        h1, h2, h3 = st.columns([3, 3, 1], vertical_alignment="bottom")
        label = h1.text_input(f"Surface {i}: what is it?", key=f"tape_label_{rid}", placeholder="e.g. Main house",
                               max_chars=100)  # as the package's schema allows
        kind = h2.selectbox(f"Shape of surface {i}", list(SHAPES), format_func=SHAPE_LABELS.get,
                            key=f"tape_kind_{rid}")
        h3.button("Remove", key=f"tape_del_{rid}", on_click=_remove, args=(rid,), icon=":material/delete:",
                  help=f"Remove surface {i}")
        names = SHAPES[kind]
        cols = st.columns(len(names) + 1)
        dims = []
        for col, name in zip(cols, names, strict=False):
            st.session_state.setdefault(f"tape_{rid}_{name}", 0.0)
            dims.append(col.number_input(DIM_LABELS[name], min_value=0.0, max_value=1_000_000.0, step=0.5,
                                         key=f"tape_{rid}_{name}", format="%.2f"))
        st.session_state.setdefault(f"tape_type_{rid}", "roof")
        ftype = cols[-1].selectbox(f"Type of surface {i}", TYPES, format_func=type_label,
                                   key=f"tape_type_{rid}")
        shapes.append(TapeShape(kind, tuple(str(d) for d in dims), ftype, label))

try:
    measure = evidence.measure_tape(shapes, schedule=sched)
    rows = [{"#": str(i), "Surface": s.label or type_label(s.feature_type),
             "Type": type_label(s.feature_type), "Shape": SHAPE_LABELS[s.kind].split(" (")[0],
             "Square feet": f"{f.area_sqft:,.2f}"}
            for i, (s, f) in enumerate(zip(shapes, measure.features, strict=True), start=1)]
except c.errors() as err:
    st.error(str(err), icon=":material/error:")
    st.stop()

st.header("Your result")
top = st.container()
with st.expander("The surfaces added up", expanded=False):
    st.dataframe(rows, hide_index=True, width="stretch")
st.session_state.setdefault("tape_floodplain", False)
floodplain = st.toggle("My lot is in a managed floodplain (former drainage district)", key="tape_floodplain")
options = c.bill_options("t_", whole_sqft=measure.whole_sqft)
bill = None
try:
    bill = c.make_bill(measure, sched, period=period, policy=policy, property_class="single_family",
                       dwelling_units=1, floodplain=floodplain, options=options)
except c.errors() as err:
    st.error(str(err), icon=":material/error:")
with top:
    st.markdown(f"Total of the surfaces: **{measure.billable_area_sqft:,.2f} sq ft**, "
                f"rounded to **{measure.whole_sqft:,} sq ft**.")
    c.headline(measure, bill, has_categories=bool(sched.categories))
    c.headline_details(bill)
    c.show_warnings(bill)
c.show_measure(measure)
if bill is not None:
    c.show_bill(bill)

st.header("Ask the City to change your category")
st.caption("The package holds your measurements, the three totals the City's form asks for, your current and "
           "computed category, a method statement and a PDF report.")
w1, w2, w3 = st.columns(3)
lot_id = w1.text_input("Tax lot id (Property ID, e.g. R123456)", key="tape_lot_id")
account = w2.text_input("Utility account number", key="tape_account", max_chars=12)
current = w3.selectbox("Category printed on your bill", ["", "small", "standard", "large"], key="tape_current",
                       format_func=lambda v: v.capitalize() if v else "I don't know")
if st.button("Prepare my evidence package", key="tape_make_package", type="primary", icon=":material/folder_zip:"):
    if not lot_id.strip():
        st.error("Enter your tax lot id first; it is on your bill and on PortlandMaps.", icon=":material/error:")
    else:
        try:
            data = evidence.build_package(
                dataclasses.replace(measure, parcel_id=lot_id.strip()),
                evidence.ChangeRequest(parcel_id=lot_id.strip(), account_number=account.strip(),
                                       current_category=current or None, imagery="tape measure"),
                bill=bill, schedule_name=sched.name,
            )
        except c.errors() as err:
            st.error(str(err), icon=":material/error:")
        else:
            st.download_button("Download the evidence package (ZIP)", data=data, key="tape_download",
                               file_name=f"sba-evidence-{lot_id.strip()}.zip", mime="application/zip",
                               icon=":material/download:")
