"""Evidence package for a single-family category change request (SPEC A4, §3.1, §3.3).

The homeowner app measures and builds the package; the staff review tool reads
it.  The format is the contract between them (see :mod:`sba.evidence.package`):

* :mod:`sba.evidence.measure`: measuring drawn or taped surfaces, the form's totals;
* :mod:`sba.evidence.package`: the package format, :func:`build_package`, :func:`read_package`;
* :mod:`sba.evidence.request`: what the homeowner tells the City (:class:`ChangeRequest`);
* :mod:`sba.evidence.report`: the map image and the PDF report inside it;
* :mod:`sba.evidence.checks`: the reader's limits and JSON schema (a package comes from the public).
"""

from sba.evidence.checks import (
    ATTACHMENT_TYPES,
    MAX_ATTACHMENTS,
    MAX_SHAPES,
    SCHEMA_VERSION,
    EvidencePackageError,
    check_attachments,
)
from sba.evidence.measure import (
    FORM_BUCKETS,
    FORM_LABELS,
    FeatureArea,
    LotMeasure,
    form_totals,
    measure_shapes,
    measure_tape,
)
from sba.evidence.package import (
    ATTACHMENT_SUFFIXES,
    MAX_ATTACHMENT_BYTES,
    EvidencePackage,
    build_package,
    method_statement,
    read_package,
)
from sba.evidence.report import map_png
from sba.evidence.request import CONFIRMATIONS, ChangeRequest, confirmation

__all__ = [
    "ATTACHMENT_SUFFIXES",
    "ATTACHMENT_TYPES",
    "CONFIRMATIONS",
    "FORM_BUCKETS",
    "FORM_LABELS",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_SHAPES",
    "SCHEMA_VERSION",
    "ChangeRequest",
    "EvidencePackage",
    "EvidencePackageError",
    "FeatureArea",
    "LotMeasure",
    "build_package",
    "check_attachments",
    "confirmation",
    "form_totals",
    "map_png",
    "measure_shapes",
    "measure_tape",
    "method_statement",
    "read_package",
]
