"""One chunk of a bulk run: a pure function of its lots, features and water.

:func:`measure_chunk` measures and bills a chunk with :func:`gis.measure_lots`
(the engine the app and ``sba measure`` use), on a forked worker of this
machine or on a dask worker; :func:`chunk_bounds` cuts the lots of a run
(in Hilbert-curve order) into chunks.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

import gis
from categorize.schedule import RateSchedule
from gis.tiles import cut_once
from sba.bulk.billing import bill_arrays, parcel_classes
from sba.bulk.options import ORDER, ReassessOptions
from sba.engine import rules_for, shape_errors

__all__ = ["FEW_LOTS", "TAIL", "chunk_bounds", "chunk_count", "measure_chunk", "split_surfaces", "with_raster_scale"]


def measure_chunk(
    parcels: gpd.GeoDataFrame,
    features: gpd.GeoDataFrame,
    water: gpd.GeoDataFrame | None,
    schedule: RateSchedule,
    opts: ReassessOptions,
    context: gpd.GeoDataFrame | None = None,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
    surfaces: np.ndarray | None = None,
    boxes: tuple | None = None,
) -> pd.DataFrame:
    """Measure and bill one chunk of parcels; bad lots get an ``error`` text, never an exception.

    ``context`` holds the neighbouring lots (in other chunks) that the chunk's
    features also touch: they are measured along but not returned, so that a
    driveway shared with a lot of another chunk is not taken for street.
    ``pairs`` are the (feature, lot) bounding-box pairs, lots counted as
    ``parcels`` then ``context`` (see :func:`gis.measure_lots`); ``surfaces``
    the :data:`gis.tiles.SURFACE` of each feature row, when the run split and cut large surfaces
    itself (:func:`split_surfaces`); ``boxes`` which lots (``parcels`` then ``context``) and
    features are axis-aligned boxes, and their bounds, when the run read them from the WKB
    (:func:`gis.measure_lots`).
    """
    ids = parcels[opts.id_field].to_numpy()
    lots, lot_errors, missing = _measured(parcels, features, water, rules_for(schedule), opts, context, pairs,
                                          surfaces, boxes)
    lot_errors[pd.isna(ids) & pd.isna(lot_errors)] = "The parcel has no id in the parcel layer."
    area = lots.billable_area_sqft.to_numpy(dtype=float).copy()
    area[missing] = np.nan  # nothing was measured: not 0 sq ft
    classes, units, class_errors = parcel_classes(parcels, opts)
    whole, measured, category, service, bill_errors = bill_arrays(area, classes, units, schedule)
    error = lot_errors  # the first of: measurement, class, billing
    for more in (class_errors, bill_errors):
        fill = pd.isna(error)
        error[fill] = more[fill]
    # a row with an error bills nothing: a billing system that ignores the
    # error column must not find a category, service units or whole sq ft
    failed = ~pd.isna(error)
    category[failed], service[failed], measured = None, None, measured & ~failed
    columns = {"parcel_id": ids, "property_class": classes,
               "dwelling_units": pd.array(units, dtype="float64").astype("Int64")}
    for col in ("billable_area_sqft", "overlap_sqft", "outside_parcel_sqft", "overwater_excluded_sqft",
                "excluded_type_sqft", "n_features", "repaired", "overlaps_another_lot"):
        columns[col] = lots[col].to_numpy()
    columns["billable_area_sqft"] = area
    columns.update(billable_sqft_rounded=pd.arrays.IntegerArray(whole, ~measured).to_numpy(), category=category,
                   service_units=service, error=error)
    columns[ORDER] = parcels.index.to_numpy(dtype=np.int64)
    out = pd.DataFrame(columns)
    if opts.raster:
        from gis.cover import RASTER_SCALES, raster_cover_sqft

        if opts.raster_scale == "auto":  # a run decides it before its chunks; this is a lone chunk
            opts = with_raster_scale(opts)
        est = raster_cover_sqft(parcels, opts.raster, scale=RASTER_SCALES[opts.raster_scale])
        vec = out.billable_area_sqft.to_numpy(dtype=float)
        out["raster_impervious_sqft"] = est
        disagree = np.abs(est - vec) > opts.raster_tolerance * np.maximum(vec, 100.0)
        out["raster_disagrees"] = pd.array(np.where(np.isnan(est), None, disagree), dtype="boolean")
    for col in lots.columns:
        if col.startswith(gis.measure.TYPE_PREFIX):
            out[col] = lots[col].to_numpy()
    return out


def _measured(parcels: gpd.GeoDataFrame, features: gpd.GeoDataFrame, water: gpd.GeoDataFrame | None,
              rules: gis.MeasureRules, opts: ReassessOptions, context, pairs, surfaces,
              boxes) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``(lots, errors, unmeasured)``: the engine's table of the chunk's own lots (the arguments as
    :func:`measure_chunk` takes them), why each lot cannot be billed (None where it can), and the
    lots nothing was measured on (no shape, no area, a corner that is not a number: not 0 sq ft)."""
    lots_in = parcels if context is None or not len(context) else pd.concat([parcels, context])
    aside = _SetAside(lots_in, features, water, boxes, pairs)
    try:
        m = aside.measure(lambda lots_in, features, water, boxes: gis.measure_lots(
            lots_in, features, water, id_field=opts.id_field, type_field=opts.type_field, rules=rules,
            by_type=opts.by_type, problems=False, pairs=pairs, surfaces=surfaces, boxes=boxes))
        lots = m.lots.iloc[:len(parcels)].reset_index(drop=True)
        errors = np.full(len(lots), None, dtype=object)
    except shapely.errors.GEOSException:
        lots, errors = _measure_around_failures(aside.lots.iloc[:len(parcels)], aside.features, aside.water,
                                                rules, opts, aside.lots.iloc[len(parcels):], surfaces)
    shape_error = shape_errors(parcels.geometry.to_numpy())
    unmeasured = pd.notna(shape_error)
    errors[unmeasured & pd.isna(errors)] = shape_error[unmeasured & pd.isna(errors)]
    unknown = np.fromiter(aside.errors, dtype=np.int64, count=len(aside.errors))
    unknown = unknown[unknown < len(parcels)]  # the context's lots are recorded in their own chunks
    errors[unknown] = [aside.errors[k] for k in unknown]
    unmeasured[unknown] = True
    return lots, errors, unmeasured


class _SetAside:
    """A chunk's lots, surfaces and water, less those whose outline has a corner that is not a number.

    The engine refuses such an outline (:class:`gis.NonFiniteCoordinateError`, naming its rows:
    its shape cannot be known); a bulk run records the lots concerned as error rows and goes on.
    :meth:`measure` measures again with each outline it refuses taken as no shape, and keeps, per
    lot (a position in ``lots``), why it cannot be billed: its own outline, or a surface or water
    body whose box meets its box (where that lies cannot be known).  The engine checks the lots,
    then the surfaces, then the water, so a chunk is measured at most four times, and once when
    all is well.
    """

    def __init__(self, lots: gpd.GeoDataFrame, features: gpd.GeoDataFrame, water: gpd.GeoDataFrame | None,
                 boxes: tuple | None, pairs: tuple[np.ndarray, np.ndarray] | None):
        self.lots, self.features, self.water, self.boxes, self.pairs = lots, features, water, boxes, pairs
        self.errors: dict[int, str] = {}

    def measure(self, measure):
        """``measure(lots, features, water, boxes)`` of what is left, setting aside what it refuses."""
        for _ in range(3):
            try:
                return measure(self.lots, self.features, self.water, self.boxes)
            except gis.NonFiniteCoordinateError as err:
                if err.role not in ("parcels", "features", "water") or not err.rows:
                    raise
                self._set_aside(err.role, np.asarray(err.rows, dtype=np.int64))
        return measure(self.lots, self.features, self.water, self.boxes)

    def _set_aside(self, role: str, rows: np.ndarray) -> None:
        """Take the ``role`` layer's ``rows`` (positions) as no shape, noting the lots they leave unbilled."""
        if role == "parcels":
            self.lots = _without_shapes(self.lots, rows)
            for k in rows.tolist():
                self.errors[k] = LOT_NOT_A_NUMBER
            self._no_boxes(0, rows)
        elif role == "features":
            self._note_lots_met(self.features, "features", rows, "A surface", self.pairs)
            self.features = _without_shapes(self.features, rows)
            self._no_boxes(2, rows)
        else:
            self._note_lots_met(self.water, "water", rows, "A water body", None)
            self.water = _without_shapes(self.water, rows)

    def _no_boxes(self, at: int, rows: np.ndarray) -> None:
        """A row without a shape is no box and has no bounds (``boxes[at]``, ``boxes[at + 1]``)."""
        if self.boxes is not None:
            self.boxes = tuple(b.copy() if i in (at, at + 1) else b for i, b in enumerate(self.boxes))
            self.boxes[at][rows], self.boxes[at + 1][rows] = False, np.nan

    def _note_lots_met(self, layer: gpd.GeoDataFrame, name: str, rows: np.ndarray, what: str, pairs) -> None:
        """Each lot whose box meets the box of one of ``layer``'s ``rows`` (by the run's ``pairs`` of
        surfaces and lots where given) cannot be billed: say which row of which layer is why."""
        if pairs is not None:
            at = np.flatnonzero(np.isin(pairs[0], rows))
            rows_met, lots_met = pairs[0][at], pairs[1][at]
        else:
            found, lots_met = shapely.STRtree(self.lots.geometry.to_numpy()).query(layer.geometry.to_numpy()[rows])
            rows_met = rows[found]
        for r, lot in zip(rows_met.tolist(), lots_met.tolist(), strict=True):
            self.errors.setdefault(lot, NOT_A_NUMBER_NEAR.format(what=what, layer=name,
                                                                 row=gis.row_name(layer.index[r])))


#: Why a bulk run's lot is not billed when its own outline, or one that meets it, has a corner
#: that is not a number (:class:`_SetAside`).
LOT_NOT_A_NUMBER = ("The parcel's outline has a corner that is not a number (NaN or infinite), so its shape "
                    "cannot be known and it was not measured; fix it in the parcel layer and run again.")
NOT_A_NUMBER_NEAR = ("{what} on or near this parcel, {layer} row {row}, has a corner that is not a number "
                     "(NaN or infinite), so where it lies cannot be known and the parcel was not measured; "
                     "fix or remove it and run again.")


def _without_shapes(layer: gpd.GeoDataFrame, rows: np.ndarray) -> gpd.GeoDataFrame:
    """A copy of ``layer`` with no shape at the positions ``rows``."""
    geoms = layer.geometry.to_numpy().copy()
    geoms[rows] = None
    out = layer.copy(deep=False)
    out[layer.geometry.name] = gpd.GeoSeries(geoms, index=layer.index, crs=layer.crs)
    return out


def split_surfaces(features: gpd.GeoDataFrame, lots: np.ndarray | None = None,
                   threads: int = 1) -> tuple[gpd.GeoDataFrame, np.ndarray | None]:
    """``(features, surfaces)``: every surface of more than :data:`gis.tiles.SPLIT_COORDS`
    coordinates (a layer dissolved by type, an impervious mask of a whole city) as its parts and
    tiles (:func:`gis.tiles.cut_once` on ``threads`` threads; those that meet none of ``lots``,
    the lots' shapes or boxes, are left out), one row each in the surface's place, and each
    row's :data:`gis.tiles.SURFACE` (its position in ``features``, and whether it was repaired
    before it was cut); ``surfaces`` is None when none is that large.

    A bulk run splits them once, before it pairs surfaces with lots, so that a chunk gets only
    the parts and tiles near its lots, as with an undissolved layer (whole, every chunk got every
    such surface and cut it again).  The local run splits the layer, a cluster's worker the
    candidates of a chunk: either way a chunk's lots meet the same tiles.  Smaller multiparts
    (real outlines) are split by :func:`gis.measure_lots` in the chunk, as before.  Cost:
    counting every shape's vertices, and cutting those few.
    """
    cut = cut_once(features.geometry.to_numpy(), lots, threads)
    if cut is None:
        return features, None
    geoms, surfaces = cut
    split = features.iloc[surfaces["surface"]]
    split = split.set_geometry(gpd.GeoSeries(geoms, crs=features.crs, index=split.index), crs=features.crs)
    return split, surfaces


def with_raster_scale(opts: ReassessOptions, parcels: gpd.GeoDataFrame | None = None) -> ReassessOptions:
    """``opts`` with the raster's value scale decided once for the whole run (never per chunk).

    Decided from the raster's values over all the parcels (the whole raster
    without them); an explicit ``fraction``/``percent`` is checked against them.
    """
    if not opts.raster:
        return opts
    from gis.cover import raster_scale

    return replace(opts, raster_scale=raster_scale(opts.raster, parcels, requested=opts.raster_scale))


#: A part of a failing chunk this small is measured lot by lot.
FEW_LOTS = 8


def _measure_around_failures(parcels: gpd.GeoDataFrame, features: gpd.GeoDataFrame, water: gpd.GeoDataFrame | None,
                             rules: gis.MeasureRules, opts: ReassessOptions,
                             context: gpd.GeoDataFrame | None = None,
                             surfaces: np.ndarray | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Fallback when GEOS fails on a chunk: find the failing lots by halving, and record them.

    The chunk's lots (in Hilbert order, so each half is one neighbourhood)
    are halved until a part measures or is down to a few lots, which are
    then measured one by one.  A part or lot is measured with the features
    near it and the lots those reach, so shared features are split as in a
    whole run.  A neighbour that GEOS cannot measure is left out of the
    others' context; a lot that cannot be measured itself gets an error text
    and the run goes on.  One bad lot in a 12,500-lot chunk took 30
    measurements (0.58 s) where lot by lot took 12,501 (53.5 s).
    """
    everyone = parcels if context is None or not len(context) else pd.concat([parcels, context])
    F, G = features.geometry.to_numpy(), everyone.geometry.to_numpy()
    ftree, ptree = shapely.STRtree(F), shapely.STRtree(G)
    kw = {"id_field": opts.id_field, "type_field": opts.type_field, "rules": rules, "by_type": opts.by_type,
          "problems": False}
    bad: set[int] = set()  # lots GEOS cannot measure, left out of their neighbours' context

    def near(rows: list[int]) -> tuple[np.ndarray, list[int]]:
        """The features near these lots, and the other lots those features reach."""
        feats = np.unique(ftree.query(G[rows])[1])
        reach = np.unique(ptree.query(F[feats])[1])
        reach = reach[~np.isin(reach, rows)]
        return feats, [int(p) for p in reach if int(p) not in bad]

    def measure(rows: list[int], others: list[int], feats: np.ndarray) -> pd.DataFrame:
        result = gis.measure_lots(everyone.iloc[[*rows, *others]], features.iloc[feats], water, **kw,
                                  surfaces=None if surfaces is None else surfaces[feats])
        return result.lots.iloc[:len(rows)]

    def lot(i: int) -> tuple[pd.DataFrame, str | None]:
        feats, others = near([i])
        try:
            return measure([i], others, feats), None
        except shapely.errors.GEOSException:
            pass
        for p in others:  # which neighbour is it?
            try:
                measure([p], [], near([p])[0])
            except shapely.errors.GEOSException:
                bad.add(p)
        try:
            return measure([i], [p for p in others if p not in bad], feats), None
        except shapely.errors.GEOSException as err:
            bad.add(i)
            return pd.DataFrame({
                "parcel_id": parcels[opts.id_field].to_numpy()[[i]], "billable_area_sqft": [np.nan],
                "outside_parcel_sqft": [np.nan], "overlap_sqft": [np.nan], "overwater_excluded_sqft": [np.nan],
                "excluded_type_sqft": [np.nan], "n_features": [0], "repaired": [False],
                "overlaps_another_lot": [False]}), \
                f"Geometry could not be measured ({err}); check this lot's shapes."

    def part(rows: list[int]) -> list[tuple[pd.DataFrame, list]]:
        feats, others = near(rows)
        try:
            return [(measure(rows, others, feats), [None] * len(rows))]
        except shapely.errors.GEOSException:
            if len(rows) <= FEW_LOTS:
                return [(frame, [error]) for frame, error in map(lot, rows)]
            return part(rows[:len(rows) // 2]) + part(rows[len(rows) // 2:])

    done = part(list(range(len(parcels))))
    lots = pd.concat([frame for frame, _ in done], ignore_index=True)
    errors = [e for _, errs in done for e in errs]
    return lots.fillna({c: 0.0 for c in lots.columns if c.startswith("sqft_")}), np.array(errors, dtype=object)


#: Relative sizes of a local run's last chunks (the others are 1).  The chunks
#: are handed out in order, and the run ends when the last one does: with
#: equal chunks one worker was still on its last chunk while the other had
#: been idle for up to a whole chunk (0.38 s of a 3 s run at 100,000 lots).
TAIL = (0.75, 0.5, 0.35, 0.25)


def chunk_bounds(n: int, chunk_size: int) -> np.ndarray:
    """Where a local run cuts ``n`` lots (in Hilbert order) into chunks: at least
    :func:`chunk_count` of them, none above ``chunk_size``, the last ones smaller
    (:data:`TAIL`) when there are 8 or more.  Like the count, they do not depend on --workers (resume)."""
    k = chunk_count(n, chunk_size)
    while True:
        weights = np.ones(k)
        if k >= 2 * len(TAIL):  # fewer chunks stay equal: each worker gets the same few
            weights[k - len(TAIL):] = TAIL
        if n / weights.sum() <= chunk_size:
            break
        k += 1
    return np.round(np.r_[0.0, np.cumsum(weights)] / weights.sum() * n).astype(int)


def chunk_count(n: int, chunk_size: int) -> int:
    """Chunks of at most ``chunk_size`` lots, and enough of them (up to 8) to
    keep every core busy to the end; the count does not depend on --workers,
    so a run can be resumed with another number of workers."""
    return max(1, -(-n // chunk_size), min(8, n // 5_000))
