"""Errors about user-supplied map data.

Every class here is meant to be shown to a person as-is: ``str(err)`` is one
plain sentence saying what is wrong and what to do.  Each subclass also
inherits the matching builtin (as rasterio does), so callers may catch either
:class:`GISInputError` or the plain Python type.
"""

from __future__ import annotations

from numbers import Integral

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
    "row_name",
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

    ``role`` is the layer ("parcels", "features" or "water") and ``rows`` the positions (from 0) of
    its rows with such an outline, for a caller that measures many lots and sets them aside.
    """

    def __init__(self, message: str, role: str = "", rows=()):
        super().__init__(message)
        self.role, self.rows = role, tuple(int(r) for r in rows)

    @classmethod
    def for_rows(cls, role: str, index, rows,
                 fix: str = "Fix or remove {it} and run again.") -> NonFiniteCoordinateError:
        """The error for these rows (positions) of the ``role`` layer, named by their labels in
        ``index`` (:func:`row_name`); ``fix`` says what to do, ``{it}`` standing for the outlines."""
        labels = [index[r] for r in rows]
        names = ", ".join(row_name(x) for x in labels[:5])
        more = f" and {len(labels) - 5:,} more" if len(labels) > 5 else ""
        one = len(labels) == 1
        shapes, row, it = ("an outline", "row", "it") if one else (f"{len(labels):,} outlines", "rows", "them")
        return cls(f"The {role} layer has {shapes} with a corner that is not a number (NaN or infinite), "
                   f"{row} {names}{more}: {'its shape' if one else 'their shapes'} cannot be known, "
                   f"so nothing is measured. {fix.format(it=it)}", role, rows)

    def __reduce__(self):  # the rows survive pickling (a dask worker's error reaches the client)
        return type(self), (str(self), self.role, self.rows)


class DuplicateParcelError(GISInputError, ValueError):
    """More than one lot carries the parcel id asked for."""


def row_name(label) -> str:
    """How a message names a layer's row by its index label: a whole number as the row's place
    counted from 1, as a spreadsheet does; any other label as itself."""
    return str(int(label) + 1) if isinstance(label, Integral) else repr(label)
