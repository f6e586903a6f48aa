"""Put on PYTHONPATH to run Python as if numba (the optional ``fast`` extra) were not installed.

``scripts/run-tests`` runs the engine's and the bulk run's tests a second time this way: a plain
``pip install`` has no numba, and those paths must give the same answers in bounded time and memory.
"""

import sys

sys.modules["numba"] = None  # "import numba" now raises ImportError, as where it is not installed
