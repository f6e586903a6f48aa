"""The ``sba`` command line and the glue that joins ``gis`` (geometry) and ``categorize`` (billing)."""
