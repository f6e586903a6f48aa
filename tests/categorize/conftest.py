"""Shared fixtures for the billing-rule tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from categorize import RATES_DIR, RateSchedule, load_schedule

PORTLAND = "portland-bes-fy2025-26"
OAK_LODGE = "oak-lodge-fy2025-26"


@pytest.fixture(scope="session")
def portland() -> RateSchedule:
    """The bundled Portland BES FY 2025-26 schedule (the seed's rates)."""
    return load_schedule(PORTLAND)


@pytest.fixture(scope="session")
def oak_lodge() -> RateSchedule:
    """The bundled Oak Lodge ESU schedule."""
    return load_schedule(OAK_LODGE)


@pytest.fixture
def portland_text() -> str:
    """The Portland TOML file's text, to edit into user schedules."""
    return (RATES_DIR / f"{PORTLAND}.toml").read_text(encoding="utf-8")


@pytest.fixture
def write_schedule(tmp_path: Path):
    """Write TOML text to ``tmp_path/<name>.toml`` and return the path."""

    def write(text: str, name: str = "custom-fy2026") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _replace_once(text: str, pattern: str, repl: str) -> str:
    new, n = re.subn(pattern, repl, text, count=1, flags=re.MULTILINE)
    assert n == 1, f"pattern {pattern!r} not found"
    return new


@pytest.fixture
def replace_once():
    """Replace exactly one regex match (multiline) in a text, failing otherwise."""
    return _replace_once
