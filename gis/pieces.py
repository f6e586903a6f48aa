"""The pieces of features on lots, with shapes made only where a shape is needed.

A piece is a feature's part on one lot.  Most pieces are the feature itself
(it lies wholly inside its lot); the others are kept without a shape until
something needs one:

* a box made here (a box feature cut at a lot's bounds) is known by its bounds
  (``as_bounds``) and becomes ``shapely.box`` when needed;
* the part of a feature that crosses a lot line, when the compiled kernel of
  :mod:`gis.clip` measured its area (``later``), becomes the GEOS overlay
  ``feature ∩ lot`` when needed: near water, in a union, for excluded types.

Overlap AREAS of a ``later`` piece need no shape: a piece lies within its
lot, so for any shape ``q`` within the same lot ``area(piece ∩ q) =
area(feature ∩ q)``, and the whole feature stands in for the piece
(:meth:`Pieces.stand_ins`).  Only where both sides of an overlap are
``later`` pieces must one of them be made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import shapely

from gis.overlay import intersection, polygonal

__all__ = ["Pieces", "Sources"]


@dataclass(frozen=True)
class Sources:
    """The cleaned features and lots the pieces are cut from, with their box flags and bounds."""

    F: np.ndarray
    P: np.ndarray
    f_box: np.ndarray
    f_bnd: np.ndarray
    p_box: np.ndarray
    p_bnd: np.ndarray


@dataclass
class Pieces:
    """Pieces of features on lots: ``feat`` on ``lot``, its shape, area, box flag, bounds.

    ``geom`` is None for pieces kept ``as_bounds`` or cut ``later`` (see the
    module's docstring); their ``bnd`` then bound the piece (for a ``later``
    piece: the feature's bounds cut to the lot's), and ``box`` is False for
    ``later`` pieces.  The arrays are changed in place as shapes are made.
    """

    feat: np.ndarray
    lot: np.ndarray
    geom: np.ndarray
    area: np.ndarray
    box: np.ndarray
    bnd: np.ndarray
    as_bounds: np.ndarray
    later: np.ndarray
    src: Sources

    def subset(self, mask: np.ndarray) -> Pieces:
        """The pieces ``mask`` selects, as a new set (copied arrays: shapes made in one are not in the other)."""
        return Pieces(self.feat[mask], self.lot[mask], self.geom[mask], self.area[mask], self.box[mask],
                      self.bnd[mask], self.as_bounds[mask], self.later[mask], self.src)

    def give_shapes(self, rows: np.ndarray) -> None:
        """Make the shapes of the pieces among ``rows`` (a mask or indices) that have none yet.

        Cost: arithmetic for boxes, one GEOS overlay per ``later`` piece.
        """
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.unique(rows)
        boxes = rows[self.as_bounds[rows]]
        if len(boxes):
            self.geom[boxes] = shapely.box(*self.bnd[boxes].T)
            self.as_bounds[boxes] = False
        cuts = rows[self.later[rows]]
        if len(cuts):
            s, f, p = self.src, self.feat[cuts], self.lot[cuts]
            self.geom[cuts] = polygonal(intersection(s.F[f], s.P[p], (s.f_box[f], s.f_bnd[f]),
                                                     (s.p_box[p], s.p_bnd[p])))
            self.later[cuts] = False

    def stand_ins(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(geoms, is_box, bounds)`` with each ``later`` piece's whole feature in its place.

        For overlap areas with shapes that lie within the piece's lot (other
        pieces of that lot, the lot's water clipped to it) the feature gives
        the piece's own overlap.  Boxes kept ``as_bounds`` get their shapes.
        """
        self.give_shapes(self.as_bounds)
        geoms, box, bnd = self.geom.copy(), self.box.copy(), self.bnd.copy()
        lazy = np.flatnonzero(self.later)
        f = self.feat[lazy]
        geoms[lazy], box[lazy], bnd[lazy] = self.src.F[f], self.src.f_box[f], self.src.f_bnd[f]
        return geoms, box, bnd

    def make_one_of_each(self, a: np.ndarray, b: np.ndarray) -> None:
        """For pairs ``(a, b)`` of pieces of one lot, make a shape where neither side has one.

        Then every pair has a side within the lot, and :meth:`stand_ins` give its overlap.
        """
        both = self.later[a] & self.later[b]
        if both.any():
            self.give_shapes(a[both])
