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
* :mod:`~sba.requests.auth` - staff accounts with scrypt password hashes;
* :mod:`~sba.requests.throttle` - failed sign-ins slow down, then lock, per
  account and per client;
* :mod:`~sba.requests.tokens` - API tokens an administrator makes for scripts;
* :mod:`~sba.requests.chain` - the audit log's hash chain and its check.

Never imports streamlit; the staff pages in ``app_pages/staff_*.py`` and the
``sba requests`` command call into it.
"""

import importlib

#: public name -> the submodule that defines it (imported on first use, so that
#: ``sba --help`` does not load the geometry stack)
_WHERE = {
    "StaffUser": "auth", "add_staff": "auth", "authenticate": "auth", "get_staff": "auth",
    "staff_count": "auth",
    "Comparison": "compare", "FeatureComparison": "compare", "compare_request": "compare",
    "AuthError": "errors", "ConflictError": "errors", "DecisionError": "errors", "IneligibleError": "errors",
    "NotFoundError": "errors", "PackageRejected": "errors", "RequestError": "errors", "StoreError": "errors",
    "SignInThrottled": "errors", "LookupThrottled": "errors", "OpenRequestExists": "errors",
    "authenticate_token": "tokens", "create_token": "tokens", "revoke_token": "tokens",
    "IntakeForm": "intake", "Requester": "intake", "import_geojson": "intake", "import_package": "intake",
    "Records": "records",
    "DECISIONS": "review", "Decision": "review", "add_record_feature": "review", "adjust_feature": "review",
    "decide": "review",
    "ChangeRequestRecord": "store", "RequestStore": "store", "default_db_path": "store",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"sba.requests.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sba.requests' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
