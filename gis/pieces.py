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

from dataclasses import dataclass, field

import numpy as np

import shapely

from gis.clip import Rings, compiled_kernel, ring_pair_areas, ring_triple_areas, rings_of
from gis.overlay import intersection, intersection_area
from gis.repair import polygonal

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
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def kernel(self, n_pairs: int):
        """The compiled kernel for a call of ``n_pairs`` pairs: once chosen for this chunk, for all its calls."""
        if "kernel" not in self._cache or self._cache["kernel"] is None:
            self._cache["kernel"] = compiled_kernel(n_pairs)
        return self._cache["kernel"]

    def rings(self, f_rows=(), p_rows=()) -> tuple[Rings, Rings, np.ndarray]:
        """Rings (:func:`gis.clip.rings_of`) of the features and lots, split once (at the first call) and kept.

        Split are the features that are not boxes and those in ``f_rows``,
        and the lots in ``p_rows``; the third value marks the features split.
        """
        if "F" not in self._cache:
            has_f = ~self.f_box
            has_f[np.asarray(f_rows, dtype=np.int64)] = True
            has_p = np.zeros(len(self.P), dtype=bool)
            has_p[np.asarray(p_rows, dtype=np.int64)] = True
            self._cache["F"] = rings_of(np.where(has_f, self.F, None))
            self._cache["P"] = rings_of(np.where(has_p, self.P, None))
            self._cache["has_f"] = has_f
        return self._cache["F"], self._cache["P"], self._cache["has_f"]

    def feature_overlap_areas(self, fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
        """``area(F[fa[k]] ∩ F[fb[k]])``: from the rings split once where the compiled kernel is used.

        Pairs of two boxes are box arithmetic, and so is any pair without the
        kernel (:func:`gis.overlay.intersection_area` then).
        """
        fa, fb = np.asarray(fa, dtype=np.int64), np.asarray(fb, dtype=np.int64)
        out = np.full(len(fa), np.nan)
        kernel = self.kernel(len(fa))
        if kernel is not None:
            fr, _, has_f = self.rings()
            ringed = np.flatnonzero(has_f[fa] & has_f[fb] & ~(self.f_box[fa] & self.f_box[fb]))
            out[ringed] = ring_pair_areas(fr, fa[ringed], fr, fb[ringed], kernel)
        rest = np.flatnonzero(np.isnan(out))
        if len(rest):
            boxes = (self.f_box, self.f_bnd)
            out[rest] = intersection_area(self.F, self.F, boxes, boxes, fa[rest], fb[rest])
        return out


@dataclass
class Pieces:
    """Pieces of features on lots: ``feat`` on ``lot``, its shape, area, box flag, bounds.

    ``geom`` is None for pieces kept ``as_bounds`` or cut ``later`` (see the
    module's docstring); their ``bnd`` then bound the piece (for a ``later``
    piece: the feature's bounds cut to the lot's), and ``box`` is False for
    ``later`` pieces.  ``whole`` marks pieces that are their whole feature
    (it lies inside the lot), ``cut`` those that are ``feature ∩ lot`` measured
    by the kernel, whether or not their shape was made since.  The arrays are
    changed in place as shapes are made.
    """

    feat: np.ndarray
    lot: np.ndarray
    geom: np.ndarray
    area: np.ndarray
    box: np.ndarray
    bnd: np.ndarray
    as_bounds: np.ndarray
    later: np.ndarray
    whole: np.ndarray
    cut: np.ndarray
    src: Sources

    def subset(self, mask: np.ndarray) -> Pieces:
        """The pieces ``mask`` selects, as a new set (copied arrays: shapes made in one are not in the other)."""
        return Pieces(self.feat[mask], self.lot[mask], self.geom[mask], self.area[mask], self.box[mask],
                      self.bnd[mask], self.as_bounds[mask], self.later[mask], self.whole[mask],
                      self.cut[mask], self.src)

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
        the piece's own overlap.  Boxes kept ``as_bounds`` stay None: overlap
        areas and intersections take boxes by their flag and bounds.
        """
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

    def overlap_areas(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``area(piece a[k] ∩ piece b[k])`` for pieces of one lot.

        With the compiled kernel, pairs of pieces that are their feature or cut
        ``later`` are measured from the rings of the features and lots, split
        once: ``area(f ∩ g)`` where one lies inside the lot, ``area(f ∩ g ∩
        lot)`` where both cross it (:func:`gis.clip.ring_triple_areas`).  The
        rest, and all pairs without the kernel, are GEOS or array areas of the
        pieces, with a shape made only where neither side has one.
        """
        out = np.full(len(a), np.nan)
        kernel = self.src.kernel(len(a))
        if kernel is not None:
            fr, pr, has_f = self.src.rings()
            backed = (self.whole | self.cut) & has_f[self.feat]
            two = np.flatnonzero(backed[a] & backed[b] & ~(self.cut[a] & self.cut[b]))
            out[two] = ring_pair_areas(fr, self.feat[a[two]], fr, self.feat[b[two]], kernel)
            three = np.flatnonzero(self.cut[a] & self.cut[b])
            fa, fb = self.feat[a[three]], self.feat[b[three]]
            size = np.diff(fr.start[fr.first])
            small = np.where(size[fa] <= size[fb], fa, fb)  # the smaller feature is clipped
            out[three] = ring_triple_areas(fr, small, fr, fa + fb - small, pr, self.lot[a[three]])
        rest = np.flatnonzero(np.isnan(out))
        if len(rest):
            self.make_one_of_each(a[rest], b[rest])
            g, box, bnd = self.stand_ins()
            out[rest] = intersection_area(g, g, (box, bnd), (box, bnd), a[rest], b[rest])
        return out
