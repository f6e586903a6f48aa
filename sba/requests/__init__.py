"""Staff review of single-family category change requests (SPEC A4, §3).

Layers, each usable on its own:

* :mod:`~sba.requests.db` - SQLite or PostgreSQL + PostGIS, versioned schema;
* :mod:`~sba.requests.store` - requests, guarded changes (optimistic
  concurrency), append-only audit log, CSV export;
* :mod:`~sba.requests.intake` - checks and all-or-nothing import of evidence
  packages or GeoJSON + form fields;
* :mod:`~sba.requests.compare` - the request against the utility's record
  layer, feature by feature;
* :mod:`~sba.requests.review` - adjust features, accept / adjust / reject;
* :mod:`~sba.requests.letter` - the decision letter (Markdown and PDF);
* :mod:`~sba.requests.auth` - staff accounts with scrypt password hashes.

Never imports streamlit; the staff pages in ``app_pages/staff_*.py`` and the
``sba requests`` command call into it.
"""

from sba.requests.auth import StaffUser, add_staff, authenticate, get_staff, staff_count
from sba.requests.compare import Comparison, FeatureComparison, compare_request
from sba.requests.errors import (
    AuthError,
    ConflictError,
    DecisionError,
    IneligibleError,
    NotFoundError,
    PackageRejected,
    RequestError,
    StoreError,
)
from sba.requests.intake import (
    IntakeForm,
    Requester,
    import_geojson,
    import_package,
)
from sba.requests.records import Records
from sba.requests.review import (
    DECISIONS,
    Decision,
    add_record_feature,
    adjust_feature,
    decide,
)
from sba.requests.store import ChangeRequestRecord, RequestStore, default_db_path

__all__ = [
    "DECISIONS",
    "AuthError",
    "ChangeRequestRecord",
    "Comparison",
    "ConflictError",
    "Decision",
    "DecisionError",
    "FeatureComparison",
    "IneligibleError",
    "IntakeForm",
    "NotFoundError",
    "PackageRejected",
    "Records",
    "RequestError",
    "RequestStore",
    "Requester",
    "StaffUser",
    "StoreError",
    "add_record_feature",
    "add_staff",
    "adjust_feature",
    "authenticate",
    "compare_request",
    "decide",
    "default_db_path",
    "get_staff",
    "import_geojson",
    "import_package",
    "staff_count",
]
