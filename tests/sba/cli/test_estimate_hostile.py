"""``sba estimate`` on numbers people and scripts really type: one line, never an internal error."""

from __future__ import annotations

import pytest

from sba.cli import main


@pytest.mark.parametrize(
    ("area", "message"),
    [
        ("1e999999999", "Billable area of 1E+999999999 square feet is too large to be real"),  # was decimal.Overflow
        ("12,5", "--area must be a number, like 2400 (got '12,5')"),  # a decimal comma: 12.5 or 125?
    ],
)
def test_estimate__an_area_too_large_or_with_a_decimal_comma_is_one_line(capsys, area, message):
    code = main(["estimate", "--class", "non_residential", "--area", area])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_estimate__thousands_commas_and_minus_zero_are_read_as_written(capsys):
    assert main(["estimate", "--class", "non_residential", "--area", "2,400", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert '"measured_area_sqft": "2400"' in out
    assert main(["estimate", "--class", "non_residential", "--area", "-0", "--format", "json"]) == 0
    assert '"measured_area_sqft": "0"' in capsys.readouterr().out
