"""The examples in sba.requests docstrings run (pytest's doctest paths do not include sba/)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["sba.requests.auth", "sba.requests.chain", "sba.requests.compare",
                                    "sba.requests.letter", "sba.requests.records"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
