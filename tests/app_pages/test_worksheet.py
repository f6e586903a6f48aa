"""AppTest of the tape-measure worksheet page."""

from __future__ import annotations

from tests.app_pages.conftest import metric, new_app, texts


def worksheet():
    at = new_app()
    at.switch_page("app_pages/worksheet.py").run()
    assert not at.exception
    return at


def test_worksheet__starts_empty_and_asks_for_a_surface():
    at = worksheet()
    assert "Add a surface" in texts(at.info)
    assert at.button(key="tape_clear").disabled


def test_worksheet__city_example_is_2569_sqft_standard():
    at = worksheet()
    at.button(key="tape_demo").click().run()
    assert not at.exception
    assert metric(at, "Billable area") == "2,569 sq ft"
    assert metric(at, "Category") == "Standard"
    assert "2,569.16 sq ft" in texts(at.markdown)
    assert "It would become **large** with 132 sq ft more" in texts(at.markdown)
    assert metric(at, "Estimated bill") == "$40.40"  # 6.31 + 14.013 × 2.4 + Superfund 0.19 × 2.4


def test_worksheet__add_measure_change_shape_and_remove_rows():
    at = worksheet()
    at.button(key="tape_add").click().run()
    at.number_input(key="tape_r1_length").set_value(30.0).run()
    at.number_input(key="tape_r1_width").set_value(40.0).run()
    assert metric(at, "Billable area") == "1,200 sq ft"
    assert metric(at, "Category") == "Small"
    assert "1,000" in texts(at.caption)  # billed as the small category's placeholder
    assert "unverified" in texts(at.warning).lower() or "not confirmed" in texts(at.warning).lower() \
        or "placeholder" in texts(at.warning).lower()
    at.text_input(key="tape_label_r1").input("House").run()
    at.selectbox(key="tape_type_r1").set_value("garage").run()
    at.selectbox(key="tape_kind_r1").set_value("circle").run()
    at.number_input(key="tape_r1_diameter").set_value(20.0).run()
    assert not at.exception
    assert metric(at, "Billable area") == "314 sq ft"
    at.button(key="tape_add").click().run()
    at.selectbox(key="tape_kind_r2").set_value("triangle").run()
    at.number_input(key="tape_r2_base").set_value(10.0).run()
    at.number_input(key="tape_r2_height").set_value(5.0).run()
    assert metric(at, "Billable area") == "339 sq ft"
    at.selectbox(key="tape_kind_r2").set_value("l_shape").run()
    for name, v in (("length", 40.0), ("width", 30.0), ("cutout_length", 10.0), ("cutout_width", 10.0)):
        at.number_input(key=f"tape_r2_{name}").set_value(v)
    at.run()
    assert metric(at, "Billable area") == "1,414 sq ft"  # 314 + 1,100
    at.selectbox(key="tape_type_r2").set_value("dock").run()
    assert metric(at, "Billable area") == "314 sq ft"  # docks are not billed
    at.button(key="tape_del_r1").click().run()
    assert not at.exception
    assert metric(at, "Billable area") == "0 sq ft"
    at.button(key="tape_clear").click().run()
    assert "Add a surface" in texts(at.info)


def test_worksheet__l_shape_cutout_too_big_explains():
    at = worksheet()
    at.button(key="tape_add").click().run()
    at.selectbox(key="tape_kind_r1").set_value("l_shape").run()
    at.number_input(key="tape_r1_length").set_value(10.0)
    at.number_input(key="tape_r1_width").set_value(10.0)
    at.number_input(key="tape_r1_cutout_length").set_value(20.0)
    at.run()
    assert not at.exception
    assert "cut-out of an L-shape must be smaller" in texts(at.error)


def test_worksheet__bill_options():
    at = worksheet()
    at.button(key="tape_demo").click().run()
    at.toggle(key="tape_floodplain").set_value(True).run()
    at.toggle(key="t_sewer").set_value(True).run()
    at.number_input(key="t_ccf").set_value(4.0).run()
    at.radio(key="t_crr").set_value("partial").run()
    at.checkbox(key="t_crr_small").check().run()
    at.checkbox(key="t_crr_trees").check().run()
    assert not at.exception
    charges = " ".join(at.table[-1].value["Charge"])
    assert "Sanitary sewer" in charges
    assert "Clean River Rewards" in charges
    assert "$11.990" in " ".join(at.table[-1].value["How it is worked out"])


def test_worksheet__evidence_package_needs_a_lot_id_then_round_trips():
    at = worksheet()
    at.button(key="tape_demo").click().run()
    at.button(key="tape_make_package").click().run()
    assert not at.exception
    assert "Enter your tax lot id" in texts(at.error)
    at.text_input(key="tape_lot_id").input("R123456")
    at.text_input(key="tape_account").input("2800000000")
    at.selectbox(key="tape_current").set_value("large")
    at.button(key="tape_make_package").click().run()
    assert not at.exception
    assert not at.error
    button = at.get("download_button")[0]
    assert button.proto.label == "Download the evidence package (ZIP)"
