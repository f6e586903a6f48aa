"""One error tree for sba: every error a user can act on is an SbaError and keeps its builtin type."""

from __future__ import annotations

import pytest

from sba.bulk import ClusterError
from sba.errors import OutputError, RunKilledError, RunLockedError, SbaError
from sba.evidence import EvidencePackageError
from sba.requests.errors import NotFoundError, PackageRejected, RequestError, StoreError


@pytest.mark.parametrize(("error", "builtin"), [
    (OutputError, OSError), (RunLockedError, OSError), (RunKilledError, RuntimeError),
    (ClusterError, RuntimeError), (EvidencePackageError, ValueError), (RequestError, Exception),
    (StoreError, OSError), (PackageRejected, ValueError), (NotFoundError, LookupError),
])
def test_errors__every_sba_error_is_an_sba_error_and_keeps_its_builtin(error, builtin):
    assert issubclass(error, SbaError)
    assert issubclass(error, builtin)


def test_errors__gis_and_billing_errors_stay_outside_the_sba_tree():
    from categorize import BillingError
    from gis import GISInputError

    assert not issubclass(GISInputError, SbaError)
    assert not issubclass(BillingError, SbaError)
