"""``python -m sba``: the same command line as ``sba``."""

from sba.cli import run

run()
