"""categorize/ is pure Python: standard library and itself only (STYLE §7)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "categorize"
FORBIDDEN = [
    "geopandas",
    "shapely",
    "pandas",
    "numpy",
    "pyproj",
    "rasterio",
    "streamlit",
    "gis",
    "folium",
]
ALLOWED_TOP_LEVEL = {
    "__future__",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",  # "did you mean" for a misspelt rate-schedule setting (standard library)
    "enum",
    "pathlib",
    "re",  # thousands commas in typed numbers (categorize.numbers)
    "tomllib",
    "typing",
    "zoneinfo",  # checks a schedule's `timezone` (standard library)
    "categorize",
}


def test_import_purity__import_categorize_loads_no_geometry_or_dataframe_library():
    code = (
        "import sys, json; import categorize; "
        "categorize.estimate(schedule=categorize.load_schedule(), "
        "property_class='single_family', area_sqft=2000.5); "
        f"print(json.dumps(sorted(set({FORBIDDEN!r}) & set(sys.modules))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        check=True,
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_import_purity__modules_import_only_stdlib_allowlist(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported <= ALLOWED_TOP_LEVEL, imported - ALLOWED_TOP_LEVEL


def test_import_purity__the_check_reaches_the_modules_of_sub_packages():
    assert {"charges/bill.py", "charges/units.py"} <= {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}


def test_import_purity__rate_files_ship_inside_the_package():
    assert sorted(p.name for p in (PACKAGE / "rates").glob("*.toml")) == [
        "oak-lodge-fy2025-26.toml",
        "portland-bes-fy2025-26.toml",
    ]
