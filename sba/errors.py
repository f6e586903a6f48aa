r"""Errors of the ``sba`` runs (outputs, locks, killed runs); ``str(err)`` is shown as-is.

The evidence package's :class:`sba.evidence.EvidencePackageError`, the staff tool's
:class:`sba.requests.RequestError` and the cluster run's :class:`sba.bulk.ClusterError` are
:class:`SbaError`\ s too: one tree, caught by type.

Like :mod:`gis.errors`, each class also inherits the matching builtin, so a
caller may catch :class:`SbaError` or the plain Python type.
"""

from __future__ import annotations

__all__ = ["OutputError", "PreviousResultsError", "RepeatedInputError", "RunKilledError", "RunLockedError",
           "SbaError"]


class SbaError(Exception):
    """Root of the errors of ``sba`` runs; ``str(err)`` is one sentence for the user."""


class OutputError(SbaError, OSError):
    """An output cannot be written: a folder, no permission, a full disk."""


class RunLockedError(OutputError):
    """Another run is writing the same output."""


class RunKilledError(SbaError, RuntimeError):
    """The process doing the run ended without a result (killed, usually for memory)."""


class PreviousResultsError(SbaError, ValueError):
    """Last year's results file (``--previous``) cannot be used: unreadable, a column missing, a parcel twice."""


class RepeatedInputError(SbaError, ValueError):
    """One file (and layer) is given for two of the parcels, features and water layers."""
