"""Measure stormwater billable area per tax lot (SPEC A1).

The one geometry engine behind the app, ``sba measure`` and ``sba reassess``.
It follows the geopandas overlay pattern with shapely 2 array functions: pair
features with lots through a spatial index, then work on whole arrays; no
Python loop runs per lot (the array helpers are in :mod:`gis.overlay`).

For each lot:

* multipart and very large features (a layer dissolved by type) are measured
  part by part, in tiles (:mod:`gis.tiles`), so that no lot pays for a whole
  city's outline;
* features are clipped to the lot line (the part outside is reported);
* overlaps count once (the overlap removed is reported): by exact
  inclusion–exclusion over the overlap graph, with GEOS unions only for the
  rare clusters of four or more mutually overlapping pieces;
* the part over water is removed (reported as overwater);
* overwater structure types (dock, float, floating_home) with no water layer
  are taken to be wholly over water;
* types a utility does not bill are left out (reported as excluded by type);
* the remaining area is split by feature type with a fixed precedence, so the
  per-type areas add up to the billable area.

Areas are returned in international square feet, from the CRS's own unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

from gis.clip import NOISE_AREA, ring_pair_areas
from gis.crs import (
    check_coordinates,
    choose_area_crs,
    layer_bounds,
    sqft_per_crs_unit2,
    to_common_crs,
)
from gis.errors import (
    DuplicateParcelError,
    MissingFieldError,
    NonFiniteCoordinateError,
    NoOverlapError,
    UnknownParcelError,
)
from gis.overlay import (
    BIG_SHAPE,
    area,
    axis_boxes,
    clip_each,
    components,
    dense_groups,
    group_union,
    heavy_components,
    in_sorted,
    intersection,
    intersection_area,
    matches,
    overlaps,
    rect_in_polygon,
    triangle_free_clusters,
    triangles,
)
from gis.pieces import Pieces, Sources
from gis.repair import POLYGON_TYPES, drop_slivers, linear, non_finite, polygonal, repair
from gis.shapes import normalise_types, type_column
from gis.tiles import Tiles, cut_large, split_parts
from gis.validity import is_valid

__all__ = [
    "DEFAULT_RULES",
    "OVERWATER_TYPES",
    "PRECEDENCE",
    "FeatureProblem",
    "Layers",
    "MeasureRules",
    "Measurement",
    "measure_lots",
    "no_overlap_error",
    "normalise_types",
    "prepare_layers",
    "project_layers",
    "require_field",
    "select_parcel",
]

#: Types that are never billable where they stand over water (SPEC A1.1, §2.2).
OVERWATER_TYPES = frozenset({"dock", "float", "floating_home"})

#: Where features of different types overlap, the overlap is credited to the
#: type that comes first here (roofs win, as in Boulder's billing ETL).
PRECEDENCE = (
    "roof", "garage", "carport", "shed", "floating_home", "parking", "driveway",
    "patio", "deck", "porch", "walkway", "pervious_pavement", "pool", "gravel",
    "dock", "float", "other",
)

@dataclass(frozen=True)
class MeasureRules:
    """Which feature types count (a per-utility setting, SPEC A1.6).

    ``billable`` maps type → included; a type not listed is billable (and is
    measured as "other" if it is not a known type).
    """

    billable: Mapping[str, bool] = field(default_factory=dict)
    overwater_types: frozenset[str] = OVERWATER_TYPES
    precedence: tuple[str, ...] = PRECEDENCE

    def is_billable(self, kind: str) -> bool:
        """Whether surfaces of this type count (types the rules do not name do)."""
        return bool(self.billable.get(kind, True))


DEFAULT_RULES = MeasureRules()


@dataclass(frozen=True)
class FeatureProblem:
    """A feature that was repaired, ignored or could not be placed on a lot."""

    row: int
    feature_id: str
    parcel_id: str | None
    kind: str  # "empty", "not_polygon", "repaired", "outside_all_lots"
    message: str


@dataclass
class Measurement:
    """Per-lot results (``lots``) and per-feature problems."""

    lots: pd.DataFrame
    problems: list[FeatureProblem]
    crs: object
    types: tuple[str, ...]

    def lot(self, parcel_id) -> dict:
        """One lot's result as a plain dict with ``by_type`` nested."""
        row = self.lots.loc[self.lots.parcel_id == parcel_id]
        if row.empty:
            raise UnknownParcelError(f"There is no parcel with id {parcel_id!r}.")
        return lot_record(row.iloc[0], self.types)


TYPE_PREFIX = "sqft_"


def lot_record(row: pd.Series, types: tuple[str, ...]) -> dict:
    rec = {k: row[k] for k in row.index if not k.startswith(TYPE_PREFIX)}
    rec["by_type"] = {t: float(row[TYPE_PREFIX + t]) for t in types if row[TYPE_PREFIX + t] > 0}
    return rec


class Layers(NamedTuple):
    """The three layers in one projected CRS fit for measuring area."""

    parcels: gpd.GeoDataFrame
    features: gpd.GeoDataFrame
    water: gpd.GeoDataFrame | None
    #: why areas are not measured in the parcel layer's own CRS (None when they are)
    crs_note: str | None = None


def project_layers(
    parcels: gpd.GeoDataFrame,
    features: gpd.GeoDataFrame,
    water: gpd.GeoDataFrame | None = None,
    *,
    crs: CRS | str | int | None = None,
    names: Mapping[str, str] | None = None,
) -> Layers:
    """Check every layer's coordinates against its CRS and bring all into one CRS for measuring.

    The CRS is ``crs`` when given (the utility's official projection), else
    the parcels' own when it is fit for area, else a local equal-area one
    (:func:`gis.crs.choose_area_crs`).  ``names`` gives the file names used
    in messages: ``{"parcels": ..., "features": ..., "water": ...}``.
    """
    names = names or {}
    lot_bounds = layer_bounds(parcels)
    check_coordinates(parcels, "parcels", names.get("parcels"), bounds=lot_bounds)
    # a layer labelled with the parcels' own CRS needs no check of its own: coordinates
    # that do not fit it do not meet the lots either, and that is refused when measuring
    for gdf, role in ((features, "features"), (water, "water")):
        if gdf is not None and (gdf.crs is None or CRS.from_user_input(gdf.crs) != CRS.from_user_input(parcels.crs)):
            check_coordinates(gdf, role, names.get(role))
    chosen = choose_area_crs(parcels, "parcels", requested=crs, name=names.get("parcels"), bounds=lot_bounds)
    parcels = to_common_crs(parcels, chosen.crs, "parcels")
    features = to_common_crs(features, chosen.crs, "features")
    if water is not None:
        water = to_common_crs(water, chosen.crs, "water")
    return Layers(parcels, features, water, chosen.note)


def prepare_layers(
    parcels: gpd.GeoDataFrame,
    features: gpd.GeoDataFrame,
    water: gpd.GeoDataFrame | None = None,
    *,
    crs: CRS | str | int | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """:func:`project_layers` without the note: the three layers in one CRS fit for area."""
    return tuple(project_layers(parcels, features, water, crs=crs)[:3])


def no_overlap_error(n_features: int, names: Mapping[str, str] | None = None) -> NoOverlapError:
    """The refusal for layers that do not meet: surely a projection or file mix-up."""
    names = names or {}
    feats = repr(names["features"]) if names.get("features") else "the features layer"
    lots = repr(names["parcels"]) if names.get("parcels") else "the parcels layer"
    return NoOverlapError(
        f"None of the {n_features:,} surfaces in {feats} touches a lot in {lots}; "
        "are both in the right map projection?"
    )


def select_parcel(parcels: gpd.GeoDataFrame, parcel_id, id_field: str = "parcel_id") -> gpd.GeoDataFrame:
    """The rows of ``parcels`` whose id equals ``parcel_id`` (compared as text)."""
    require_field(parcels, id_field, "parcels")
    # a missing id never matches (comparing with NA gives NA, not False)
    mask = (parcels[id_field].astype("string") == str(parcel_id)).fillna(False).to_numpy(dtype=bool)
    if mask.sum() > 1:
        raise DuplicateParcelError(
            f"{mask.sum():,} lots are called {parcel_id!r} in the {id_field!r} column; "
            "a lot id must name one lot: fix the parcel layer or choose another id column."
        )
    if not mask.any():
        sample = ", ".join(parcels[id_field].dropna().astype(str).head(5))
        raise UnknownParcelError(
            f"There is no parcel with id {parcel_id!r} in the {id_field!r} column "
            f"(ids look like: {sample}); check the id."
        )
    return parcels[mask]


def require_field(gdf: gpd.GeoDataFrame, name: str, role: str) -> None:
    """Refuse, in one sentence listing the columns there are, a layer without the column ``name``
    or whose column ``name`` is its shapes."""
    cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name) or "(none)"
    if name == gdf.geometry.name:
        raise MissingFieldError(f"{name!r} is the {role} layer's shapes, not a column of values; "
                                f"its columns are: {cols}.")
    if name not in gdf.columns:
        raise MissingFieldError(
            f"The {role} layer has no column called {name!r}; its columns are: {cols}. "
            f"Name the right one with --{'id' if role == 'parcels' else 'type'}-field."
        )


# --------------------------------------------------------------------------
# the engine


def measure_lots(
    parcels: gpd.GeoDataFrame,
    features: gpd.GeoDataFrame,
    water: gpd.GeoDataFrame | None = None,
    *,
    id_field: str = "parcel_id",
    type_field: str | None = "feature_type",
    rules: MeasureRules = DEFAULT_RULES,
    require_overlap: bool = False,
    by_type: bool = True,
    problems: bool = True,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
    surfaces: np.ndarray | None = None,
    boxes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> Measurement:
    """Billable area of every lot in ``parcels``.

    Parameters
    ----------
    parcels, features, water
        GeoDataFrames in one projected CRS (use :func:`prepare_layers`).
    id_field
        Parcel id column.
    type_field
        Feature type column; if None or absent, every feature is "other".
    rules
        Which types are billable.
    require_overlap
        Raise :class:`NoOverlapError` when no feature touches any lot (used for
        a single homeowner lot, where that is surely a mistake).
    by_type
        Also split each lot's area by feature type (``sqft_<type>`` columns).
        Bulk runs that do not need the split save about a third of the time.
    problems
        Collect the per-feature problem list (``Measurement.problems``); bulk
        runs that do not report it skip the cost.
    pairs
        The candidate ``(feature, lot)`` positions whose bounding boxes meet,
        as ``shapely.STRtree(lots).query(features)`` gives them (every such
        pair, sorted by feature); bulk runs that have them already pass them
        instead of building a tree per chunk.
    surfaces
        Per feature row, its :data:`gis.tiles.SURFACE`, for a caller that split
        and cut very large surfaces itself (bulk runs cut a dissolved layer or
        a city-wide mask once, not in every chunk: :func:`gis.tiles.cut_once`):
        the rows of one surface count once per lot in ``n_features``, as the
        parts of a multipart feature do, and rows cut from a surface repaired
        first mark their lots ``repaired``.  Problems are reported per row.
    boxes
        ``(lot_is_box, lot_bounds, feature_is_box, feature_bounds)``, per row of
        ``parcels`` and ``features``, exactly as :func:`gis.overlay.axis_boxes` gives them
        for their shapes: bulk runs read them from the WKB once
        (:func:`sba.bulk.boxes.wkb_boxes`) instead of from the decoded shapes in every chunk.

    Returns
    -------
    Measurement
        ``lots`` has one row per parcel, in input order, with columns
        ``parcel_id, billable_area_sqft, outside_parcel_sqft, overlap_sqft,
        overwater_excluded_sqft, excluded_type_sqft, n_features, repaired`` and
        one ``sqft_<type>`` column per feature type present.
    """
    type_field = _checked_layers(parcels, features, water, id_field, type_field)
    n_lots = len(parcels)
    found = _Problems(features, id_field, enabled=problems)
    if boxes is not None and [len(b) for b in boxes] != [n_lots, n_lots, len(features), len(features)]:
        raise ValueError("boxes= must give a flag and bounds per row of parcels and of features.")
    lot_boxes, feature_boxes = (None, None) if boxes is None else (boxes[:2], boxes[2:])
    P, p_box, p_bnd, lot_repaired = _clean_lots(parcels.geometry.to_numpy(), lot_boxes,
                                                refuse=lambda rows: _refuse_non_finite("parcels", parcels.index, rows))
    feats, pairs = _prepared_features(features, type_field, P, pairs, found.report, feature_boxes)
    if surfaces is not None:  # rows the caller cut from a surface it repaired first
        feats = feats._replace(repaired=_repaired_before(feats, surfaces["repaired"], found.report))
    usable = ~shapely.is_missing(feats.geoms) & ~shapely.is_empty(feats.geoms)
    counted, dock_no_water, excluded = _type_masks(feats.types, usable, rules, has_water=water is not None)
    src = Sources(feats.geoms, P, feats.box, feats.bnd, p_box, p_bnd)
    pcs, cross = _cut_pieces(src, _pair(src, pairs, usable))
    _placed(feats.tiles.source, pcs.feat, usable, len(features), found.report, require_overlap)

    unit2 = sqft_per_crs_unit2(parcels.crs)
    counts = {  # the lot table's columns that need no union of the billable pieces
        "outside": _outside_area(pcs, cross, len(feats.geoms), n_lots),
        "overlapping": _on_overlapping_lots(pcs, len(feats.geoms), n_lots, SHARED_MIN_SQFT / unit2),
        "excluded": _excluded_area(pcs, excluded[pcs.feat], n_lots),
        "n_features": _features_per_lot(*_surface_of(feats.tiles, pcs.feat, surfaces), pcs.lot, n_lots),
        "repaired": _repaired(lot_repaired, pcs.lot, feats.repaired[pcs.feat]),
    }
    cpcs = pcs.subset(counted[pcs.feat])  # the billable pieces
    ranking, ranks = _ranks(feats.types[cpcs.feat], rules)
    sums = _Sums.zeros(n_lots, len(ranking))
    graph, geo = _inclusion_exclusion(cpcs, ranks, sums)
    wet_water = _over_water(water, P, p_bnd, cpcs, geo, graph, ranks, sums.overwater, sums.by_type)
    sums.billable -= sums.overwater
    _geos_unions(cpcs, geo, ranks, wet_water, sums, split=by_type)
    sums.overwater += _docks_without_water(pcs, dock_no_water[pcs.feat], cpcs, n_lots)

    present = [ranking[r] for r in np.flatnonzero(np.bincount(ranks, minlength=len(ranking)))] if by_type else []
    lots = _lot_table(parcels[id_field].to_numpy(), sums, counts, unit2,
                      {t: ranking.index(t) for t in present})
    return Measurement(lots=lots, problems=found.problems, crs=parcels.crs, types=tuple(present))


def _checked_layers(parcels, features, water, id_field: str, type_field: str | None) -> str | None:
    """The type column to read (``type_field``, or the layer's own when the default is absent),
    after refusing a missing id or type column and layers in different CRSs."""
    require_field(parcels, id_field, "parcels")
    if type_field == features.geometry.name:
        require_field(features, type_field, "features")
    if type_field is not None and type_field not in features.columns:
        if type_field != "feature_type":
            require_field(features, type_field, "features")
        type_field = type_column(features.columns)
    if features.crs != parcels.crs or (water is not None and water.crs != parcels.crs):
        raise ValueError("measure_lots needs all layers in the parcels' CRS; call prepare_layers first.")
    return type_field


class _Problems:
    """The per-feature problem list (:class:`FeatureProblem`), rows of ``features``; the
    features' ids are looked up only when there is something to report."""

    def __init__(self, features: gpd.GeoDataFrame, id_field: str, *, enabled: bool):
        self.problems: list[FeatureProblem] = []
        self._features, self._id_field, self._enabled = features, id_field, enabled
        self._ids: tuple | None = None

    def report(self, rows, kind: str, message: str) -> None:
        if not self._enabled or not len(rows):
            return
        if self._ids is None:
            f, id_field = self._features, self._id_field
            owner = f[id_field].astype("string").to_numpy() if id_field in f.columns else None
            self._ids = (_feature_ids(f), owner)
        ids, owner = self._ids
        for r in rows:
            self.problems.append(FeatureProblem(int(r), str(ids[r]), None if owner is None else _s(owner[r]),
                                                kind, message))


class _Features(NamedTuple):
    """The features as measured: tiles (:mod:`gis.tiles`; most features are one tile, themselves)."""

    geoms: np.ndarray  # cleaned shapes
    box: np.ndarray  # is an axis-aligned box
    bnd: np.ndarray  # bounds
    repaired: np.ndarray  # the shape was repaired
    types: np.ndarray  # normalised type
    tiles: Tiles  # which feature each tile comes from, and whether it was cut from it


def _prepared_features(features: gpd.GeoDataFrame, type_field: str | None, P: np.ndarray, pairs,
                       report, boxes=None) -> tuple[_Features, tuple | None]:
    """The features' tiles, cleaned, and the candidate ``pairs`` (if given) as the tiles' pairs.

    A dissolved layer's parts far from the lots ``P`` are left out before they are cleaned;
    problems are reported once, for the feature's own row.  ``boxes``: the features'
    ``axis_boxes``, if known.  Cost: one validity check per tile near the lots, plus the
    cutting of very large parts (:func:`gis.tiles.cut_large`).
    """
    n_feat = len(features)
    if type_field is not None and type_field in features.columns:
        types = normalise_types(features[type_field]).to_numpy(dtype=object)
    else:
        types = np.full(n_feat, "other", dtype=object)
    parts = split_parts(features.geometry.to_numpy().copy(), P)
    if boxes is not None:  # a feature kept whole keeps its row's; the parts of a split one are read
        boxes = boxes[0][parts.source], boxes[1][parts.source]
        if parts.cut.any():
            boxes[0][parts.cut], boxes[1][parts.cut] = axis_boxes(parts.geoms[parts.cut])
    F, f_box, f_bnd, repaired = _clean_features(
        parts.geoms, lambda rows, kind, message: report(np.unique(parts.source[rows]), kind, message), boxes,
        refuse=lambda rows: _refuse_non_finite("features", features.index, np.unique(parts.source[rows])))
    F, f_box, f_bnd, repaired, tiles, pairs = _tiled_features(F, f_box, f_bnd, repaired, parts, P, pairs)
    return _Features(F, f_box, f_bnd, repaired, types[tiles.source], tiles), pairs


def _repaired_before(feats: _Features, repaired: np.ndarray, report) -> np.ndarray:
    """The tiles' ``repaired`` flags with those of the feature rows the caller repaired before it
    cut them (reported as the engine reports its own repairs)."""
    report(np.flatnonzero(repaired), "repaired", "Feature outline crossed itself; it was repaired.")
    return feats.repaired | repaired[feats.tiles.source]


def _placed(source: np.ndarray, f_idx: np.ndarray, usable: np.ndarray, n_feat: int, report,
            require_overlap: bool) -> None:
    """Report the features with a shape but no piece on any lot (``f_idx`` are the pieces'
    tiles, ``source`` each tile's feature); refuse when none is placed and one must be."""
    placed = np.zeros(n_feat, dtype=bool)
    placed[source[f_idx]] = True
    shaped = np.ones(n_feat, dtype=bool)  # a shape left after cleaning, or only parts far from these lots
    shaped[source] = False
    shaped[source[usable]] = True
    report(np.flatnonzero(shaped & ~placed), "outside_all_lots", "Feature lies outside every lot; it was not counted.")
    if require_overlap and not placed.any():
        raise NoOverlapError(
            "None of the drawn or uploaded surfaces fall inside the lot. "
            "Check that the features and the parcel cover the same place."
        )


def _repaired(lot_repaired: np.ndarray, lot: np.ndarray, feature_repaired: np.ndarray) -> np.ndarray:
    """Per lot: its own line or a feature with a piece on it was repaired."""
    repaired = lot_repaired.copy()
    repaired[lot[feature_repaired]] = True
    return repaired


@dataclass
class _Sums:
    """Per lot, in CRS units²: billable area, overlap, area over water, and the billable area
    per precedence rank of type (``by_type[rank, lot]``)."""

    billable: np.ndarray
    overlap: np.ndarray
    overwater: np.ndarray
    by_type: np.ndarray

    @classmethod
    def zeros(cls, n_lots: int, n_ranks: int) -> _Sums:
        return cls(np.zeros(n_lots), np.zeros(n_lots), np.zeros(n_lots), np.zeros((n_ranks, n_lots)))


def _inclusion_exclusion(cpcs: Pieces, ranks: np.ndarray, sums: _Sums) -> tuple[tuple, np.ndarray]:
    """Add the billable pieces ``cpcs`` up per lot, their overlaps counted once: ``(graph, geo)``.

    Most pieces overlap no other piece of their lot and add their plain area.  Overlapping
    pieces (a patio under the eaves, a driveway over a garage and a walkway across both) need
    no union either: inclusion–exclusion over the overlap graph is exact as long as no four
    pieces overlap one another,
      area(union) = sum |p| - sum |p ∩ q| + sum |p ∩ q ∩ r|
    over the edges and triangles of the graph (every 4-fold intersection has zero area).
    Clusters with a 4-clique, piles (hundreds of pieces heaped on each other) and clusters too
    tangled to search for triangles cheaply are left to GEOS unions (``geo``,
    :func:`_geos_unions`), so that the cost stays near-linear in the pieces.

    Precedence splits ``by_type``: the lower rank wins, then the earlier piece; the loser of a
    pair gives up the overlap, and the last of a triangle (beaten by both others) had the
    triple part taken twice and gets it back once.  ``graph`` is ``(pa, pb, loser, tri, last,
    triple_geom)``, for the same arithmetic inside the water (:func:`_over_water`).
    Cost: :func:`_overlap_graph`'s, then linear in the pieces, pairs and triangles.
    """
    cp, carea = cpcs.lot, cpcs.area
    n_lots = len(sums.billable)
    pa, pb, inter, tri, triple, triple_geom, geo = _overlap_graph(cpcs)
    simple = ~geo
    sums.billable += np.bincount(cp[simple], weights=carea[simple], minlength=n_lots)
    np.add.at(sums.by_type, (ranks[simple], cp[simple]), carea[simple])
    loser = np.where(ranks[pa] <= ranks[pb], pb, pa)
    if len(pa):
        lot = cp[pa]
        np.add.at(sums.billable, lot, -inter)
        np.add.at(sums.overlap, lot, inter)
        np.add.at(sums.by_type, (ranks[loser], lot), -inter)
    last = np.zeros(0, dtype=np.int64)
    if len(tri):
        key = ranks[tri] * len(cp) + tri  # total order: rank, then piece index
        last = tri[np.arange(len(tri)), np.argmax(key, axis=1)]
        lot = cp[tri[:, 0]]
        np.add.at(sums.billable, lot, triple)
        np.add.at(sums.overlap, lot, -triple)
        np.add.at(sums.by_type, (ranks[last], lot), triple)
    return (pa, pb, loser, tri, last, triple_geom), geo


def _geos_unions(cpcs: Pieces, geo: np.ndarray, ranks: np.ndarray, wet_water: np.ndarray, sums: _Sums, *,
                 split: bool) -> None:
    """Add the pieces ``geo`` left to GEOS (see :func:`_inclusion_exclusion`) by their union per
    lot: the union's dry part is billable, its part over the lot's water (``wet_water``) is
    overwater.  Cost: one union per lot with such pieces, plus one per type when ``split``."""
    if not geo.any():
        return
    cpcs.give_shapes(geo)
    gp, gpieces = cpcs.lot[geo], cpcs.geom[geo]
    union = group_union(gp, gpieces, len(sums.billable))
    lots_g = np.unique(gp)
    union_area = area(union[lots_g])
    gross_g = np.bincount(gp, weights=cpcs.area[geo], minlength=len(sums.billable))[lots_g]
    sums.overlap[lots_g] += np.maximum(gross_g - union_area, 0.0)
    dry_area = union_area.copy()
    wet = np.flatnonzero(~shapely.is_missing(wet_water[lots_g]))
    if len(wet):
        dry = shapely.difference(union[lots_g[wet]], wet_water[lots_g[wet]])
        dry_area[wet] = area(dry)
    sums.overwater[lots_g] += union_area - dry_area
    sums.billable[lots_g] += dry_area
    if split:
        _split_by_type(gp, ranks[geo], gpieces, len(sums.billable), wet_water, sums.by_type)


def _lot_table(parcel_ids: np.ndarray, sums: _Sums, counts: dict, unit2: float, type_ranks: dict) -> pd.DataFrame:
    """One row per lot, areas in sq ft (``unit2`` sq ft per CRS unit²), a ``sqft_<type>``
    column per type in ``type_ranks`` (type → its row of ``sums.by_type``)."""
    lots = pd.DataFrame({
        "parcel_id": parcel_ids,
        "billable_area_sqft": _sqft(sums.billable, unit2),
        "outside_parcel_sqft": _sqft(counts["outside"], unit2),
        "overlap_sqft": _sqft(sums.overlap, unit2),
        "overwater_excluded_sqft": _sqft(sums.overwater, unit2),
        "excluded_type_sqft": _sqft(counts["excluded"], unit2),
        "n_features": counts["n_features"],
        "repaired": counts["repaired"],
        "overlaps_another_lot": counts["overlapping"],
    })
    for t, r in type_ranks.items():
        lots[TYPE_PREFIX + t] = _sqft(sums.by_type[r], unit2)
    return lots


#: Below this many square feet an area is the rounding residue of a sum and a
#: difference (a roof wholly over water: 5,870.09 - 5,870.09), shown as 0.
RESIDUE_SQFT = 1e-6


def _sqft(area_crs: np.ndarray, unit2: float) -> np.ndarray:
    """CRS units² → sq ft, with residues of the arithmetic (±1e-12) shown as exactly 0."""
    sqft = area_crs * unit2
    return np.where(sqft < RESIDUE_SQFT, 0.0, sqft)


def _ranks(types: np.ndarray, rules: MeasureRules) -> tuple[list[str], np.ndarray]:
    """Precedence rank of each type; unknown types rank after the known ones, by name."""
    inv, uniq = pd.factorize(types) if len(types) else (np.array([], int), np.array([]))
    uniq = [str(t) for t in uniq]
    known = set(rules.precedence)
    ranking = [*rules.precedence, *sorted(t for t in uniq if t not in known)]
    rank_of = {t: i for i, t in enumerate(ranking)}
    return ranking, np.array([rank_of[t] for t in uniq], dtype=np.int64)[inv]


def _over_water(water, P, p_bnd, pcs, geo, graph, ranks, overwater, by_type):
    """Each lot's water (clipped to the lot's bounds: pieces lie on the lot; None where it has
    none), adding the part of the arithmetic pieces over it to ``overwater`` and taking it off
    ``by_type``.  For arithmetic pieces the inclusion–exclusion of the overlap graph holds
    inside the water too: area(union ∩ W) = sum area(p ∩ W) - sum area(p ∩ q ∩ W) + ...

    Pieces left to GEOS unions (``geo``) are done with their union instead.
    Cost: a tree of the few water polygons, queried by the lots near water.
    """
    cp, cpieces, cbox, cbnd = pcs.lot, pcs.geom, pcs.box, pcs.bnd
    pa, pb, loser, tri, last, triple_geom = graph
    tx, ty, tz = tri.T if len(tri) else (np.zeros(0, int),) * 3
    n_lots, n_pieces = len(P), len(cpieces)
    wet_water = np.full(n_lots, None, dtype=object)
    wet_piece = np.zeros(n_pieces, dtype=bool)
    if water is None or not len(water) or not n_pieces:
        return wet_water
    W = _clean_water(water)
    # few, large water polygons against many small pieces: only pieces on
    # lots near the water (a piece lies within its lot's bounds) are tested,
    # first by their bounds against a tree of the water's bounding boxes,
    # then (given a shape) exactly, with each water polygon prepared once
    W, near_lot = _within_reach(W, P, p_bnd)
    wtree = shapely.STRtree(W)
    near = np.flatnonzero(near_lot[cp])
    pcs.give_shapes(near[pcs.as_bounds[near]])
    probe = cpieces[near].copy()  # a piece's shape, else (cut later) the box of its bounds
    bare = shapely.is_missing(probe)
    probe[bare] = shapely.box(*cbnd[near[bare]].T)
    hit_piece, hit_w = wtree.query(probe)
    hit_piece = near[hit_piece]
    shapely.prepare(W)
    lazy = pcs.later[hit_piece]  # a cut piece meets the water only if its whole feature does
    lazy[lazy] = shapely.intersects(W[hit_w[lazy]], pcs.src.F[pcs.feat[hit_piece[lazy]]])
    keep = ~pcs.later[hit_piece] | lazy
    hit_piece, hit_w = hit_piece[keep], hit_w[keep]
    pcs.give_shapes(hit_piece)
    meets = shapely.intersects(W[hit_w], cpieces[hit_piece])
    hit_piece, hit_w = hit_piece[meets], hit_w[meets]
    wet_piece[hit_piece] = True
    if len(hit_w):
        lot_w = np.unique(cp[hit_piece].astype(np.int64) * len(W) + hit_w)
        wet_lot, w_idx = lot_w // len(W), lot_w % len(W)
        wet_water = group_union(wet_lot, polygonal(clip_each(W[w_idx], p_bnd[wet_lot])), n_lots)
    has_water = ~shapely.is_missing(wet_water)  # water that only touched a lot clips to nothing
    wp = np.flatnonzero(wet_piece & ~geo & has_water[cp])
    if len(wp):
        ww = wet_water[cp[wp]]
        wet_part = intersection_area(ww, cpieces[wp], axis_boxes(ww), (cbox[wp], cbnd[wp]))
        np.add.at(overwater, cp[wp], wet_part)
        np.add.at(by_type, (ranks[wp], cp[wp]), -wet_part)
        both = np.flatnonzero(wet_piece[pa] & wet_piece[pb] & has_water[cp[pa]])
        if len(both):
            ea, eb = pa[both], pb[both]
            x = intersection(cpieces[ea], cpieces[eb], (cbox[ea], cbnd[ea]), (cbox[eb], cbnd[eb]))
            x = polygonal(x)
            ww = wet_water[cp[ea]]
            twice = intersection_area(ww, x, axis_boxes(ww), axis_boxes(x))
            np.add.at(overwater, cp[ea], -twice)
            np.add.at(by_type, (ranks[loser[both]], cp[ea]), twice)
        wet3 = np.flatnonzero(wet_piece[tx] & wet_piece[ty] & wet_piece[tz] & has_water[cp[tx]]
                              & ~shapely.is_missing(triple_geom))
        if len(wet3):
            ww, g = wet_water[cp[tx[wet3]]], triple_geom[wet3]
            thrice = intersection_area(ww, g, axis_boxes(ww), axis_boxes(g))
            np.add.at(overwater, cp[tx[wet3]], thrice)
            np.add.at(by_type, (ranks[last[wet3]], cp[tx[wet3]]), -thrice)
    return wet_water


def _clean_water(water: gpd.GeoDataFrame) -> np.ndarray:
    """The water's areas: its polygon parts (a river's centre line or a point holds no water),
    missing and empty ones left out, invalid ones repaired; an outline with a corner that is
    not a number is refused (:class:`NonFiniteCoordinateError`), as a lot's is."""
    W = water.geometry.to_numpy()
    other = np.flatnonzero(~np.isin(shapely.get_type_id(W), (-1, *POLYGON_TYPES)))  # lines, points, collections
    if len(other):
        W = W.copy()
        W[other] = polygonal(W[other])
    present = np.flatnonzero(~shapely.is_missing(W) & ~shapely.is_empty(W))
    W = W[present]
    invalid = np.flatnonzero(~shapely.is_valid(W))
    bad = invalid[non_finite(W[invalid])]
    if len(bad):
        raise NonFiniteCoordinateError.for_rows("water", water.index, present[bad])
    if len(invalid):
        W = W.copy()
        W[invalid] = repair(W[invalid])
    return W


#: A river is cut into tiles of at most this many coordinates: the upper levels of the cut
#: cost the most, and a lot's water is clipped from the few tiles that meet its box.
WATER_TILE_COORDS = 2048


def _within_reach(W: np.ndarray, P: np.ndarray, p_bnd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(W, near_lot)``: the water polygons that a lot's box meets, and which lots they are.

    A river of more than :data:`gis.tiles.SPLIT_COORDS` coordinates (drawn at survey detail,
    a million vertices) is cut into tiles of :data:`WATER_TILE_COORDS` near the lots
    (:func:`gis.tiles.cut_large`), once; the other polygons of more than
    :data:`gis.overlay.BIG_SHAPE` coordinates are cut to the
    box around their lots (the rest of a river is on no piece: every piece lies within its
    lot's bounds).  Each lot's water is then cut from these parts (:func:`_over_water`), not
    from the whole of a river.  Cost: V log V for a river of V coordinates, one checked clip
    for each other large water polygon.
    """
    tiles = cut_large(W, P, tile_coords=WATER_TILE_COORDS)
    W = tiles.geoms
    lot, w = shapely.STRtree(W).query(P)
    near_lot = np.zeros(len(P), dtype=bool)
    near_lot[lot] = True
    near = np.zeros(len(W), dtype=bool)
    near[w] = True
    big = np.flatnonzero(near & ~tiles.cut & (shapely.get_num_coordinates(W) > BIG_SHAPE))  # tiles lie near lots
    if len(big):
        reach = np.empty((len(W), 4))
        reach[:, :2], reach[:, 2:] = np.inf, -np.inf
        np.minimum.at(reach[:, 0], w, p_bnd[lot, 0])
        np.minimum.at(reach[:, 1], w, p_bnd[lot, 1])
        np.maximum.at(reach[:, 2], w, p_bnd[lot, 2])
        np.maximum.at(reach[:, 3], w, p_bnd[lot, 3])
        W = W.copy()
        W[big] = polygonal(clip_each(W[big], reach[big]))
    W = W[near]
    return W[~shapely.is_missing(W) & ~shapely.is_empty(W)], near_lot


def _docks_without_water(pcs: Pieces, d: np.ndarray, cpcs: Pieces, n_lots: int) -> np.ndarray:
    """Per lot: what the overwater structures ``d`` (no water layer given: taken to be over
    water) would have added to the billable pieces' union, reported as overwater."""
    extra_area = np.zeros(n_lots)
    if not d.any():
        return extra_area
    pcs.give_shapes(d)
    dock_union = group_union(pcs.lot[d], pcs.geom[d], n_lots)
    has = np.unique(pcs.lot[d])
    in_dock_lot = np.isin(cpcs.lot, has)
    cpcs.give_shapes(in_dock_lot)
    others = group_union(cpcs.lot[in_dock_lot], cpcs.geom[in_dock_lot], n_lots)[has]
    extra = dock_union[has].copy()
    m = ~shapely.is_missing(others)
    extra[m] = shapely.difference(extra[m], others[m])
    extra_area[has] = area(extra)
    return extra_area


#: A surface counted on two lots over at least this many square feet marks them as overlapping
#: (less is the noise of lot lines digitised a hair apart).
SHARED_MIN_SQFT = 1.0


def _on_overlapping_lots(pcs: Pieces, n_feat: int, n_lots: int, min_area: float) -> np.ndarray:
    """Per lot: whether a surface on it is also counted on another lot that overlaps it, over
    ``min_area`` (CRS units²) or more.

    Lots that tile do not overlap, so a surface's pieces on them add up to its area; where they
    add up to more, the surface lies under two lots at once (stacked condominium units, a lot
    drawn twice) and is billed on each.  The lots whose pieces of such a surface overlap are
    the ones marked.  Cost: a sum over the pieces of surfaces on two lots or more, then one
    overlay per pair of pieces of the (rare) surfaces whose pieces add up to too much.
    """
    marked = np.zeros(n_lots, dtype=bool)
    multi = np.flatnonzero(np.bincount(pcs.feat, minlength=n_feat) > 1)
    if not len(multi):
        return marked
    on_lots = np.bincount(pcs.feat, weights=pcs.area, minlength=n_feat)[multi]
    shared = multi[on_lots - area(pcs.src.F[multi]) >= min_area]
    if not len(shared):
        return marked
    rows = np.flatnonzero(np.isin(pcs.feat, shared))
    pcs.give_shapes(rows)
    a, b, size, _ = overlaps(pcs.feat[rows], pcs.geom[rows], pcs.box[rows], pcs.bnd[rows])
    both = size >= min_area
    marked[pcs.lot[rows[a[both]]]] = marked[pcs.lot[rows[b[both]]]] = True
    return marked


def _excluded_area(pcs: Pieces, ex: np.ndarray, n_lots: int) -> np.ndarray:
    """Per lot: the area of types the utility does not bill (the pieces ``ex``), overlaps once."""
    excluded_sqft = np.zeros(n_lots)
    if ex.any():
        pcs.give_shapes(ex)
        ex_union = group_union(pcs.lot[ex], pcs.geom[ex], n_lots)
        has = np.unique(pcs.lot[ex])
        excluded_sqft[has] = area(ex_union[has])
    return excluded_sqft


def _overlap_graph(pcs: Pieces):
    """The overlaps among the billable pieces of each lot: ``(pa, pb, inter, tri, triple,
    triple_geom, geo)``.

    ``(pa, pb)`` are the overlapping pairs and ``inter`` their overlap areas;
    ``tri`` the triangles of the overlap graph, with the area (``triple``) and
    shape (``triple_geom``) of each triple overlap; ``geo`` marks the pieces
    left to GEOS unions instead (clusters with a 4-clique, piles, tangles), whose
    pairs and triangles are not returned.  Cost: pairs within a lot by
    bounding boxes (an STRtree for crowded lots), then one overlay per
    overlapping pair of general polygons; near-linear in the pieces.
    """
    cp, cpieces, cbox, cbnd = pcs.lot, pcs.geom, pcs.box, pcs.bnd
    n_pieces = len(cp)
    dense = dense_groups(cp, cbnd)[cp] if len(cp) else np.zeros(0, dtype=bool)
    pa, pb, inter = _overlaps_except(dense, pcs)
    comp = components(pa, pb, n_pieces)
    heavy = heavy_components(pa, pb, comp)
    light = ~heavy[pa]
    tri, in_k4 = triangles(pa[light], pb[light], n_pieces)
    union_needed = np.zeros(n_pieces, dtype=bool)
    union_needed[comp[tri[in_k4, 0]]] = True
    geo = union_needed[comp] | heavy | dense
    keep_edge = ~geo[pa]
    pa, pb, inter = pa[keep_edge], pb[keep_edge], inter[keep_edge]
    tri = tri[~geo[tri[:, 0]]]
    tx, ty, tz = tri.T if len(tri) else (np.zeros(0, int),) * 3
    triple = np.zeros(len(tri))
    triple_geom = np.full(len(tri), None, dtype=object)
    if len(tri):
        allbox = cbox[tx] & cbox[ty] & cbox[tz]
        lo = np.maximum(np.maximum(cbnd[tx, :2], cbnd[ty, :2]), cbnd[tz, :2])
        hi = np.minimum(np.minimum(cbnd[tx, 2:], cbnd[ty, 2:]), cbnd[tz, 2:])
        size = np.clip(hi - lo, 0, None)
        triple[allbox] = size[allbox, 0] * size[allbox, 1]
        some = allbox & (triple > 0)
        triple_geom[some] = shapely.box(lo[some, 0], lo[some, 1], hi[some, 0], hi[some, 1])
        rest = ~allbox
        if rest.any():  # the first piece of each triangle given a shape, the others stood in for
            rx, ry, rz = tx[rest], ty[rest], tz[rest]
            pcs.give_shapes(rx)
            g, box, bnd = pcs.stand_ins()
            xy = polygonal(intersection(cpieces[rx], g[ry], (cbox[rx], cbnd[rx]), (box[ry], bnd[ry])))
            g = polygonal(intersection(xy, g[rz], None, (box[rz], bnd[rz])))
            triple[rest] = area(g)
            triple_geom[rest] = g
    return pa, pb, inter, tri, triple, triple_geom, geo


def _type_masks(types: np.ndarray, usable: np.ndarray, rules: MeasureRules, *, has_water: bool):
    """Per feature: ``(counted, dock_no_water, excluded)``, from its type and the utility's rules.

    Overwater structures (dock, float, floating home) are cut by the water line
    when there is a water layer (SPEC A1.1) and taken to be wholly over water
    when there is none; types the utility does not bill are excluded.
    """
    n_feat = len(types)
    t_code, t_names = pd.factorize(types)
    overwater_type = np.isin(t_names, list(rules.overwater_types))[t_code] if n_feat else np.zeros(0, bool)
    billable_type = (np.array([rules.is_billable(t) for t in t_names], dtype=bool)[t_code] if n_feat
                     else np.zeros(0, bool))
    billable_type &= ~overwater_type
    if has_water:
        # with a water layer, overwater structures are cut by the water line (SPEC A1.1)
        billable_type |= overwater_type
    counted = usable & billable_type
    dock_no_water = usable & overwater_type & (not has_water)
    excluded = usable & ~billable_type & ~dock_no_water
    return counted, dock_no_water, excluded


class _Pairs(NamedTuple):
    """The (feature, lot) pairs whose shapes meet, and what is known of each."""

    f_idx: np.ndarray
    p_idx: np.ndarray
    inside: np.ndarray  # the feature lies wholly inside the lot
    bb: np.ndarray  # both are axis-aligned boxes
    rect_piece: np.ndarray  # a box feature whose piece is its box cut to the lot's bounds (``cut``)
    cut: np.ndarray
    lined: np.ndarray  # a lot line runs through the box feature
    later: np.ndarray  # a feature crossing the lot line whose part on the lot the kernel measured (``cut_area``)
    cut_area: np.ndarray


def _pair(src: Sources, pairs, usable) -> _Pairs:
    """Every (feature, lot) pair whose shapes meet (see :class:`_Pairs`).

    Cost: linear in the candidate pairs (``pairs`` or an STRtree query); boxes
    are decided with arithmetic and :func:`gis.overlay.rect_in_polygon`, the
    rest by the kernel's areas or prepared GEOS predicates (:func:`_general_pairs`).
    """
    F, P, f_box, f_bnd, p_box, p_bnd = src.F, src.P, src.f_box, src.f_bnd, src.p_box, src.p_bnd
    # Pair features with lots: bounding boxes first.  Two axis-aligned
    # rectangles (common in surveyed data) are decided with arithmetic; a
    # rectangle on a general lot is cut to the lot's bounds and kept whole
    # when no lot line runs through it (rect_in_polygon); the rest by GEOS.
    f_idx, p_idx = shapely.STRtree(P).query(F) if pairs is None else pairs
    keep = usable[f_idx]
    f_idx, p_idx = f_idx[keep], p_idx[keep]
    bb = f_box[f_idx] & p_box[p_idx]
    fb, pb = f_bnd[f_idx], p_bnd[p_idx]
    inside = np.zeros(len(f_idx), dtype=bool)
    hit = np.ones(len(f_idx), dtype=bool)
    inside[bb] = ((fb[bb, 0] > pb[bb, 0]) & (fb[bb, 1] > pb[bb, 1])
                  & (fb[bb, 2] < pb[bb, 2]) & (fb[bb, 3] < pb[bb, 3]))
    hit[bb] = ((np.minimum(fb[bb, 2], pb[bb, 2]) > np.maximum(fb[bb, 0], pb[bb, 0]))
               & (np.minimum(fb[bb, 3], pb[bb, 3]) > np.maximum(fb[bb, 1], pb[bb, 1])))
    # a box feature on a general polygon lot
    rect_piece = np.zeros(len(f_idx), dtype=bool)  # the piece is the feature's box cut to the lot's bounds
    cut = np.empty((len(f_idx), 4))
    rb = np.flatnonzero(f_box[f_idx] & ~p_box[p_idx] & (shapely.get_type_id(P) == 3)[p_idx])
    if len(rb):
        cut[rb, :2] = np.maximum(fb[rb, :2], pb[rb, :2])
        cut[rb, 2:] = np.minimum(fb[rb, 2:], pb[rb, 2:])
        some = (cut[rb, 2] > cut[rb, 0]) & (cut[rb, 3] > cut[rb, 1])
        hit[rb[~some]] = False
        rb = rb[some]
        where = rect_in_polygon(P, cut[rb], p_idx[rb])
        hit[rb[where == 0]] = False
        within = rb[where == 1]
        rect_piece[within] = True
        inside[within] = (cut[within] == fb[within]).all(axis=1)
    other = ~bb & ~rect_piece & hit
    other[rb] = False  # undecided boxes go straight to the clip below
    lined = np.zeros(len(f_idx), dtype=bool)  # a lot line runs through the box: clip, no more tests
    lined[rb] = True
    later = np.zeros(len(f_idx), dtype=bool)
    cut_area = np.zeros(len(f_idx))
    if other.any():
        _general_pairs(src, f_idx, p_idx, np.flatnonzero(other), hit, inside, later, cut_area)
    keep = hit & ~(later & (cut_area <= 0))
    return _Pairs(f_idx[keep], p_idx[keep], inside[keep], bb[keep], rect_piece[keep], cut[keep], lined[keep],
                  later[keep], cut_area[keep])


def _general_pairs(src: Sources, f_idx, p_idx, rows, hit, inside, later, cut_area) -> None:
    """Decide the (feature, lot) pairs ``rows`` of general shapes, filling the other arguments in place.

    With the compiled kernel (:func:`gis.clip.compiled_kernel`) no GEOS
    predicate and no overlay is needed: the kernel measures ``area(feature ∩
    lot)`` from the rings of each feature and lot, split once; a positive
    area is a hit, the whole feature's area (to :data:`gis.clip.NOISE_AREA`)
    means the feature lies inside the lot, and any other piece is cut
    ``later``, only where a shape is needed.  Without the kernel (numba
    missing, or a small call) prepared GEOS ``intersects`` and
    ``contains_properly`` decide.
    """
    F, P = src.F, src.P
    kernel = src.kernel(len(rows))
    if kernel is None:
        _geos_pairs(P[p_idx[rows]], F[f_idx[rows]], rows, hit, inside)
        return
    # a lot of thousands of vertices (a street parcel, whose blocks are holes) meets every
    # feature in its bounds; the prepared predicate rejects most far cheaper than the kernel
    big = shapely.get_num_coordinates(P)[p_idx[rows]] > BIG_SHAPE
    if big.any():
        pg = P[p_idx[rows[big]]]
        shapely.prepare(pg)
        big[big] = ~shapely.intersects(pg, F[f_idx[rows[big]]])
    hit[rows[big]] = False
    rest = rows[~big]
    fr, pr, _ = src.rings(f_idx[rest], p_idx[rest])
    cut_area[rest] = ring_pair_areas(fr, f_idx[rest], pr, p_idx[rest], kernel)
    # features of no more area than a rounding residue (collapsed outlines) are left to GEOS,
    # which still counts them on their lot
    too_big = np.isnan(cut_area[rest]) | (fr.area[f_idx[rest]] <= NOISE_AREA)
    measured, too_big = rest[~too_big], rest[too_big]
    whole = (cut_area[measured] > 0) & (cut_area[measured] >= fr.area[f_idx[measured]] - NOISE_AREA)
    inside[measured[whole]] = True
    later[measured[~whole]] = True
    if len(too_big):  # GEOS decides, and cuts the piece
        cut_area[too_big] = 0.0
        _geos_pairs(P[p_idx[too_big]], F[f_idx[too_big]], too_big, hit, inside)


def _geos_pairs(lots, feats, rows, hit, inside) -> None:
    """``hit`` and ``inside`` of the pairs ``rows`` by prepared GEOS predicates."""
    shapely.prepare(lots)
    hit[rows] = shapely.intersects(lots, feats)
    inside[rows] = hit[rows] & shapely.contains_properly(lots, feats)


def _cut_pieces(src: Sources, pr: _Pairs) -> tuple[Pieces, np.ndarray]:
    """Each feature's piece on each lot it meets, and its area (pieces of no area dropped).

    Returns the :class:`gis.pieces.Pieces` and ``cross``, which marks pieces of
    features that cross the lot line.  A piece that is a box made here (a box
    feature cut at a box lot's line, or at a lot's bounds) is kept as its
    bounds; a crossing piece the kernel measured is cut ``later``, where a
    shape is needed.  Cost: one clip or overlay per other crossing pair,
    arithmetic for the rest.
    """
    F, P, f_box, f_bnd, p_box, p_bnd = src.F, src.P, src.f_box, src.f_bnd, src.p_box, src.p_bnd
    f_idx, p_idx, inside, bb, rect_piece, cut, lined, later, cut_area = pr
    pieces = F[f_idx]
    piece_box, piece_bnd = f_box[f_idx].copy(), f_bnd[f_idx].copy()
    as_bounds = np.zeros(len(f_idx), dtype=bool)
    cross = ~inside
    rect_cross = cross & rect_piece
    piece_bnd[rect_cross] = cut[rect_cross]
    as_bounds[rect_cross] = True
    clip = cross & ~rect_piece
    two_boxes = clip & bb
    piece_bnd[two_boxes, :2] = np.maximum(f_bnd[f_idx[two_boxes], :2], p_bnd[p_idx[two_boxes], :2])
    piece_bnd[two_boxes, 2:] = np.minimum(f_bnd[f_idx[two_boxes], 2:], p_bnd[p_idx[two_boxes], 2:])
    as_bounds[two_boxes] = True
    pieces[as_bounds] = None
    lined &= clip
    if lined.any():
        pieces[lined] = polygonal(clip_each(P[p_idx[lined]], f_bnd[f_idx[lined]], crossing=True))
    rest = clip & ~lined & ~bb & ~later
    if rest.any():
        fc, pc = f_idx[rest], p_idx[rest]
        pieces[rest] = polygonal(intersection(pieces[rest], P[pc], (f_box[fc], f_bnd[fc]), (p_box[pc], p_bnd[pc])))
    clipped = clip & ~bb & ~later  # a clipped piece is often a box again (a driveway cut at the lot line)
    if clipped.any():
        piece_box[clipped], piece_bnd[clipped] = axis_boxes(pieces[clipped])
    pieces[later] = None
    piece_box[later] = False
    piece_bnd[later, :2] = np.maximum(f_bnd[f_idx[later], :2], p_bnd[p_idx[later], :2])
    piece_bnd[later, 2:] = np.minimum(f_bnd[f_idx[later], 2:], p_bnd[p_idx[later], 2:])
    piece_area = area(pieces)
    side = np.clip(piece_bnd[as_bounds, 2:] - piece_bnd[as_bounds, :2], 0.0, None)
    piece_area[as_bounds] = side[:, 0] * side[:, 1]
    piece_area[later] = cut_area[later]
    k = piece_area > 0
    return Pieces(f_idx[k], p_idx[k], pieces[k], piece_area[k], piece_box[k], piece_bnd[k], as_bounds[k],
                  later[k], inside[k], later[k].copy(), src), cross[k]


def _tiled_features(F, f_box, f_bnd, repaired, parts: Tiles, P, pairs):
    """``(F, f_box, f_bnd, repaired, tiles, pairs)``: the cleaned ``parts``
    (:func:`gis.tiles.split_parts`; ``F``, its box flags, bounds and repair flags) with the
    very large ones cut into tiles (:func:`gis.tiles.cut_large`); ``tiles`` says which
    feature each comes from and whether it was cut from one; the candidate ``pairs``, when
    given, become the tiles' pairs.  Cost: nothing when no feature is split or cut."""
    cut = cut_large(F, P)
    tiles = Tiles(cut.geoms, parts.source[cut.source], parts.cut[cut.source] | cut.cut)
    if not tiles.cut.any():
        return F, f_box, f_bnd, repaired, tiles, pairs
    t_box, t_bnd = f_box[cut.source], f_bnd[cut.source]
    t_box[cut.cut], t_bnd[cut.cut] = axis_boxes(cut.geoms[cut.cut])
    if pairs is not None:
        pairs = _tile_pairs(pairs, tiles, P)
    return cut.geoms, t_box, t_bnd, repaired[cut.source], tiles, pairs


def _tile_pairs(pairs, tiles: Tiles, P):
    """The candidate pairs of the tiles, by tile, then lot: a feature kept whole keeps its pairs;
    a cut feature's tiles take those of its lots whose boxes their own boxes meet."""
    f_idx, p_idx = (np.asarray(a, dtype=np.int64) for a in pairs)
    n_lots = max(len(P), 1)
    tile_of = np.full(len(tiles.source) and int(tiles.source.max()) + 1, -1, dtype=np.int64)
    whole = np.flatnonzero(~tiles.cut)
    tile_of[tiles.source[whole]] = whole
    kept = tile_of[f_idx] >= 0
    rows = np.flatnonzero(tiles.cut)
    t, lot = shapely.STRtree(P).query(tiles.geoms[rows])
    t = rows[t]
    allowed = np.sort(f_idx[~kept] * n_lots + p_idx[~kept])
    ok = in_sorted(allowed, tiles.source[t] * n_lots + lot)
    f_out = np.concatenate([tile_of[f_idx[kept]], t[ok]])
    p_out = np.concatenate([p_idx[kept], lot[ok]])
    order = np.lexsort((p_out, f_out))
    return f_out[order], p_out[order]


def _surface_of(tiles: Tiles, rows: np.ndarray, surfaces: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """For the tiles ``rows``: the surface each is part of, and whether that surface has other
    tiles (a feature cut into tiles, or rows the caller split from one surface: ``surfaces``)."""
    feature, shared = tiles.source[rows], tiles.cut[rows]
    if surfaces is None:
        return feature, shared
    _, dense, count = np.unique(surfaces["surface"], return_inverse=True, return_counts=True)
    return dense[feature], shared | (count[dense] > 1)[feature]


def _features_per_lot(feature: np.ndarray, cut: np.ndarray, lot: np.ndarray, n_lots: int) -> np.ndarray:
    """How many features have a piece on each lot, given each piece's feature and lot and whether
    its feature has other tiles (``cut``: such a feature counts once a lot)."""
    count = np.bincount(lot[~cut], minlength=n_lots)
    if cut.any():
        keys = np.unique(feature[cut].astype(np.int64) * n_lots + lot[cut])
        count += np.bincount(keys % n_lots, minlength=n_lots)
    return count


def _clean_lots(lots: np.ndarray, boxes, refuse) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lots ready to measure: ``(shapes, is_box, bounds, repaired)``; ``boxes``: the
    lots' :func:`gis.overlay.axis_boxes`, if known.

    A lot is its polygon parts: a point or a line has none and measures nothing (callers
    report it).  Invalid lot lines are repaired with ``make_valid`` (and flagged); axis-aligned
    rectangles are valid by construction, so only the rest are checked.  Sliver
    parts are dropped (:func:`gis.repair.drop_slivers`).  ``refuse(rows)`` is called
    with the lots that have a corner that is not a number (:func:`_check_finite`) and must
    raise.  Cost: one validity test per lot that is not a box.
    """
    P = lots.copy()
    p_box, p_bnd = axis_boxes(P) if boxes is None else (boxes[0].copy(), boxes[1].copy())
    other = np.flatnonzero(~np.isin(shapely.get_type_id(P), (-1, *POLYGON_TYPES)))  # points, lines, collections
    if len(other):  # a lot is its polygon parts; a point or a line has none (the caller says so)
        P[other] = polygonal(P[other])
        p_box[other], p_bnd[other] = axis_boxes(P[other])
    repaired = np.zeros(len(P), dtype=bool)
    bad = np.flatnonzero(~p_box)
    bad = bad[~shapely.is_missing(P[bad]) & ~is_valid(P[bad])]
    _check_finite(P, bad, p_box, p_bnd, refuse)
    if len(bad):
        P[bad] = polygonal(repair(P[bad]))
        repaired[bad] = True
        p_box[bad], p_bnd[bad] = axis_boxes(P[bad])
    P, thinned = drop_slivers(P)
    if len(thinned):
        p_box[thinned], p_bnd[thinned] = axis_boxes(P[thinned])
    return P, p_box, p_bnd, repaired


def _clean_features(F: np.ndarray, report, boxes,
                    refuse) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The features ready to measure, in place of ``F``: ``(shapes, is_box, bounds, repaired)``;
    ``boxes``: their :func:`gis.overlay.axis_boxes`, if known.

    Missing and empty shapes, points and lines become None (reported); invalid
    outlines are repaired with ``make_valid`` (reported and flagged); collections
    keep their polygons; sliver parts are dropped.  ``report(rows, kind, message)``
    records a problem for the feature rows given; ``refuse(rows)`` is called with the
    outlines that have a corner that is not a number (:func:`_check_finite`) and must raise.
    """
    missing = shapely.is_missing(F) | shapely.is_empty(F)
    report(np.flatnonzero(missing), "empty", "Feature has no shape; it was ignored.")
    lines = ~missing & linear(F)
    report(np.flatnonzero(lines), "not_polygon", NOT_POLYGON)
    f_box, f_bnd = axis_boxes(F) if boxes is None else boxes
    invalid = ~missing & ~lines & ~f_box
    invalid[invalid] = ~is_valid(F[invalid])
    _check_finite(F, np.flatnonzero(invalid), f_box, f_bnd, refuse)
    repaired = np.zeros(len(F), dtype=bool)
    if invalid.any():
        F[invalid] = polygonal(repair(F[invalid]))
        gone = invalid & (shapely.is_missing(F) | shapely.is_empty(F))  # corners all on one line: no area
        report(np.flatnonzero(gone), "empty", "Feature outline has no area (its corners lie on one line); "
                                              "it was ignored.")
        invalid &= ~gone
        repaired[invalid] = True
        report(np.flatnonzero(invalid), "repaired", "Feature outline crossed itself; it was repaired.")
    F[missing | lines] = None
    collections = np.flatnonzero(shapely.get_type_id(F) == 7)
    if len(collections):
        F[collections] = polygonal(F[collections])
        report(collections[shapely.is_missing(F[collections])], "not_polygon", NOT_POLYGON)
    F, thinned = drop_slivers(F)
    changed = np.union1d(np.union1d(np.flatnonzero(invalid | missing | lines), collections), thinned)
    if len(changed):
        f_box[changed], f_bnd[changed] = axis_boxes(F[changed])
    return F, f_box, f_bnd, repaired


NOT_POLYGON = "Feature is a point or line, not an outline; it was ignored."


def _check_finite(geoms: np.ndarray, invalid: np.ndarray, is_box: np.ndarray, bounds: np.ndarray, refuse) -> None:
    """Call ``refuse(rows)`` if any shape has a coordinate that is not a finite number.

    GEOS finds such a shape invalid, and ``make_valid`` would drop the corner and bill what
    is left: a guess, not a repair (SPEC A1.4 repairs outlines that cross themselves).  Only
    the ``invalid`` rows can hold one, and the boxes, which skip the validity test, show it
    in their bounds: the check costs nothing on valid layers.
    """
    boxes = np.flatnonzero(is_box & ~np.isfinite(bounds).all(axis=1))
    rows = np.union1d(invalid, boxes).astype(np.int64)
    if not len(rows):
        return
    bad = rows[non_finite(geoms[rows])]
    if len(bad):
        refuse(bad)


def _refuse_non_finite(role: str, index: pd.Index, rows: np.ndarray) -> None:
    """Raise :class:`gis.NonFiniteCoordinateError` for these rows (positions) of the ``role`` layer."""
    raise NonFiniteCoordinateError.for_rows(role, index, rows)


def _overlaps_except(skip: np.ndarray, pcs: Pieces):
    """:func:`gis.overlay.overlaps` of the pieces not in ``skip``, as indices into all pieces."""
    rest = np.flatnonzero(~skip)
    a, b, size, _ = overlaps(pcs.lot[rest], pcs.geom[rest], pcs.box[rest], pcs.bnd[rest],
                             pair_area=lambda i, j: pcs.overlap_areas(rest[i], rest[j]))
    return rest[a], rest[b], size


def _find(keys: np.ndarray, by_key: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Position in ``keys`` (distinct; ``by_key`` sorts them) of each query, -1 where absent."""
    sorted_keys = keys[by_key]
    at = np.minimum(np.searchsorted(sorted_keys, queries), max(len(keys) - 1, 0))
    found = sorted_keys[at] == queries if len(keys) else np.zeros(len(queries), dtype=bool)
    return np.where(found, by_key[at], -1)


def _outside_area(pcs: Pieces, cross: np.ndarray, n_feat: int, n_lots: int) -> np.ndarray:
    """Per lot: the part of its crossing features that lies on no lot (a driveway into the street).

    The part on a neighbour's lot counts there.  Lots tile without overlaps, so
    a feature's stray area is its area minus its pieces on the lots it touches.
    Where two crossing features of a lot overlap (a walkway meeting a driveway
    in the street), their overlap off the lots was counted twice: it is
    ``area(f ∩ g)`` minus its parts on the lots both touch, and is taken off
    once (exact while no three of them overlap one another; lots where three
    do are unioned with GEOS instead).
    """
    outside = np.zeros(n_lots)
    if not cross.any():
        return outside
    F, P, f_box, f_bnd = pcs.src.F, pcs.src.P, pcs.src.f_box, pcs.src.f_bnd
    f_idx, p_idx, piece_area = pcs.feat, pcs.lot, pcs.area
    on_lots = np.bincount(f_idx, weights=piece_area, minlength=n_feat)
    stray_area = np.maximum(area(F) - on_lots, 0.0) if n_feat else np.zeros(0)
    c_feat, c_lot = f_idx[cross], p_idx[cross]
    np.add.at(outside, c_lot, stray_area[c_feat])
    piled = dense_groups(c_lot, f_bnd[c_feat])  # per lot: unioned below, never paired
    rest = np.flatnonzero(~piled[c_lot])
    rest_feat = c_feat[rest]
    a, b, x_area, _ = overlaps(c_lot[rest], F[rest_feat], f_box[rest_feat], f_bnd[rest_feat],
                               pair_area=lambda i, j: pcs.src.feature_overlap_areas(rest_feat[i], rest_feat[j]))
    a, b = rest[a], rest[b]
    if not len(a) and not piled.any():
        return outside
    ok = triangle_free_clusters(a, b, len(c_feat))
    tangled = np.union1d(np.unique(c_lot[a[~ok]]), np.flatnonzero(piled))
    a, b, x_area = a[ok], b[ok], x_area[ok]
    if len(a):
        # the lots under f ∩ g are lots both features have a piece on, and
        # f ∩ g ∩ lot is the overlap of their two pieces there
        fa, fb = c_feat[a], c_feat[b]
        order = np.argsort(f_idx, kind="stable")
        k, at = matches(f_idx[order], fa)
        lot = p_idx[order][at]
        # (feature, lot) pairs are distinct and come grouped by feature: a
        # stable sort of the keys is nearly free where np.unique would sort afresh
        keys = f_idx.astype(np.int64) * n_lots + p_idx
        by_key = np.argsort(keys, kind="stable")
        k_a, k_b = order[at], _find(keys, by_key, fb[k].astype(np.int64) * n_lots + lot)
        both = k_b >= 0
        k, k_a, k_b = k[both], k_a[both], k_b[both]
        on = pcs.overlap_areas(k_a, k_b)
        twice = np.maximum(x_area - np.bincount(k, weights=on, minlength=len(a)), 0.0)
        np.add.at(outside, c_lot[a], -twice)
    if len(tangled):
        sel = np.isin(c_lot, tangled)
        feats = np.unique(c_feat[sel])
        pair = np.isin(f_idx, feats)
        # each lot cut to the feature's bounds first: a street parcel of thousands
        # of vertices, touched by thousands of driveways, is then a small piece in
        # each of their unions (whole, it made each union cost its full size)
        near = clip_each(P[p_idx[pair]], f_bnd[f_idx[pair]])
        lots_touched = group_union(f_idx[pair], near, n_feat)
        stray = np.full(n_feat, None, dtype=object)
        stray[feats] = shapely.difference(F[feats], lots_touched[feats])
        per_lot = group_union(c_lot[sel], stray[c_feat[sel]], n_lots)
        outside[tangled] = area(per_lot[tangled])
    return outside


def _split_by_type(lot_idx, ranks, pieces, n_lots, wet_water, by_type) -> None:
    """Fill ``by_type[rank, lot]`` for these lots: each type's area not covered by a higher type."""
    n_types = by_type.shape[0]
    keys = lot_idx * n_types + ranks
    uniq_keys = np.unique(keys)
    merged = group_union(np.searchsorted(uniq_keys, keys), pieces, len(uniq_keys))
    k_lot, k_rank = uniq_keys // n_types, uniq_keys % n_types
    types_per_lot = np.bincount(k_lot, minlength=n_lots)
    wet = ~shapely.is_missing(wet_water)
    covered = np.full(n_lots, None, dtype=object)
    for r in np.unique(k_rank):
        sel = k_rank == r
        lots = k_lot[sel]
        geoms = merged[sel]
        part = geoms.copy()
        need = ~shapely.is_missing(covered[lots])
        if need.any():
            part[need] = shapely.difference(geoms[need], covered[lots[need]])
        w = wet[lots]
        if w.any():
            part[w] = shapely.difference(part[w], wet_water[lots[w]])
        by_type[r, lots] += area(part)
        multi = types_per_lot[lots] > 1  # only lots with more types need the running cover
        if multi.any():
            targets, add = lots[multi], geoms[multi]
            cov = covered[targets]
            m = ~shapely.is_missing(cov)
            add = add.copy()
            add[m] = shapely.union(cov[m], add[m])
            covered[targets] = add


def _feature_ids(features: gpd.GeoDataFrame) -> np.ndarray:
    for name in ("feature_id", "id", "fid", "FID", "OBJECTID"):
        if name in features.columns:
            return features[name].astype(str).to_numpy()
    return np.array([f"row {i + 1}" for i in range(len(features))], dtype=object)


def _s(v) -> str | None:
    return None if v is None or v is pd.NA else str(v)
