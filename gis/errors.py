"""Errors about user-supplied map data.

Every class here is meant to be shown to a person as-is: ``str(err)`` is one
plain sentence saying what is wrong and what to do.  Each subclass also
inherits the matching builtin (as rasterio does), so callers may catch either
:class:`GISInputError` or the plain Python type.
"""

from __future__ import annotations

__all__ = [
    "CRSMismatchError",
    "DuplicateParcelError",
    "EmptyLayerError",
    "GISInputError",
    "InvalidDimensionError",
    "LayerChoiceError",
    "MissingCRSError",
    "MissingFieldError",
    "NoOverlapError",
    "NonFiniteCoordinateError",
    "UnknownParcelError",
    "UnreadableFileError",
    "UnsupportedGeometryError",
]


class GISInputError(Exception):
    """Root of errors about user-supplied map files; ``str(err)`` is shown as-is."""


class UnreadableFileError(GISInputError, OSError):
    """A file is missing, of an unknown kind, or cannot be parsed as map data."""


class MissingCRSError(GISInputError, ValueError):
    """A layer does not say which map projection its coordinates are in."""


class EmptyLayerError(GISInputError, ValueError):
    """A layer holds no usable features."""


class LayerChoiceError(GISInputError, ValueError):
    """A file holds several layers and the one asked for is not among them."""


class MissingFieldError(GISInputError, KeyError):
    """A column the user named (id, type, class...) is not in the layer."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class UnknownParcelError(GISInputError, KeyError):
    """The parcel id asked for is not in the parcel layer."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NoOverlapError(GISInputError, ValueError):
    """The features and the parcels do not overlap at all."""


class UnsupportedGeometryError(GISInputError, ValueError):
    """A layer holds no polygons (only points or lines, say)."""


class InvalidDimensionError(GISInputError, ValueError):
    """A tape-measure dimension is missing, negative or not a number."""


class CRSMismatchError(GISInputError, ValueError):
    """A layer's coordinates do not fit its map projection, or the projection asked for is unfit."""


class NonFiniteCoordinateError(GISInputError, ValueError):
    """An outline has a corner that is not a number (NaN or infinite): its shape cannot be known.

    ``role`` is the layer ("parcels" or "features") and ``rows`` the positions (from 0) of
    its rows with such an outline, for a caller that measures many lots and sets them aside.
    """

    def __init__(self, message: str, role: str = "", rows=()):
        super().__init__(message)
        self.role, self.rows = role, tuple(int(r) for r in rows)

    def __reduce__(self):  # the rows survive pickling (a dask worker's error reaches the client)
        return type(self), (str(self), self.role, self.rows)


class DuplicateParcelError(GISInputError, ValueError):
    """More than one lot carries the parcel id asked for."""
