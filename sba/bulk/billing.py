"""Billing columns of a bulk run, exact and fast: the Decimal rules run once per distinct input.

:func:`categorize.billable_sqft`, :func:`categorize.categorize_sfr` and
:func:`categorize.service_units` decide every value; here they are called once
per distinct whole square footage or (class, dwelling units), and the answers
spread over the chunk's arrays.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

import geopandas as gpd

from categorize import PropertyClass, billable_sqft, categorize_sfr, service_units
from categorize.charges.units import MAX_DWELLINGS
from categorize.errors import BillingError
from categorize.schedule import RateSchedule
from sba.bulk.options import ReassessOptions
from sba.engine import class_of

__all__ = ["bill_arrays", "bill_columns", "parcel_classes", "whole_sqft"]


def whole_sqft(area: np.ndarray) -> np.ndarray:
    """The array twin of :func:`categorize.billable_sqft`: half-up whole sq ft, equal to it for
    every value (ties are left to it, so that it alone decides what half-up means)."""
    whole = np.floor(area + 0.5)
    frac = area - np.floor(area)
    near_half = np.abs(frac - 0.5) < 1e-6
    for i in np.flatnonzero(near_half):  # decide ties exactly, as categorize does
        whole[i] = float(billable_sqft(float(area[i])))
    return whole.astype(np.int64)


def bill_columns(
    area: np.ndarray, classes: np.ndarray, dwelling_units: np.ndarray, schedule: RateSchedule
) -> pd.DataFrame:
    """Category and service units per parcel (SPEC A2), with an error text per bad row.

    A lot that could not be measured (area NaN) gets no category, units or
    whole square feet; its error text comes from the measurement.
    """
    whole, measured, category, units, error = bill_arrays(area, classes, dwelling_units, schedule)
    return pd.DataFrame({"billable_sqft_rounded": pd.arrays.IntegerArray(whole, ~measured),
                         "category": category, "service_units": units, "error": error})


def bill_arrays(area: np.ndarray, classes: np.ndarray, dwelling_units: np.ndarray, schedule: RateSchedule):
    """:func:`bill_columns` as arrays ``(whole sq ft, measured, category, service units, error)``.

    The rules run once per distinct input: categories per whole sq ft,
    non-residential units per whole sq ft, other units per (class, dwelling units).
    """
    n = len(area)
    measured = np.isfinite(area)
    whole = np.zeros(n, dtype=np.int64)
    whole[measured] = whole_sqft(area[measured])
    category = np.full(n, None, dtype=object)
    units = np.full(n, None, dtype=object)
    error = np.full(n, None, dtype=object)
    classes = np.where(measured, classes, None)
    # categories depend only on whole sq ft
    sfr = classes == PropertyClass.SINGLE_FAMILY.value
    if sfr.any():
        uniq, inv = np.unique(whole[sfr], return_inverse=True)
        category[sfr] = _objects(_sfr_categories(uniq.tolist(), schedule))[inv]
    # service units depend on (class, units), or on the whole sq ft for non-residential
    nonres = classes == PropertyClass.NON_RESIDENTIAL.value
    rows = np.flatnonzero(~nonres & measured)
    if len(rows):
        c_code, c_names = pd.factorize(classes[rows], use_na_sentinel=False)
        u_code, u_values = pd.factorize(dwelling_units[rows], use_na_sentinel=False)
        groups, inv = np.unique(c_code.astype(np.int64) * len(u_values) + u_code, return_inverse=True)
        for g, key in enumerate(groups.tolist()):
            klass, du = c_names[key // len(u_values)], u_values[key % len(u_values)]
            members = rows[inv == g]
            try:
                su = service_units(PropertyClass.parse(klass), dwelling_units=_du(du), area_sqft=None,
                                   schedule=schedule)
                units[members] = str(su)
            except (BillingError, ValueError) as err:
                error[members] = str(err)
                category[members] = None
    nonres &= measured
    if nonres.any():
        uniq, inv = np.unique(whole[nonres], return_inverse=True)
        known = _memo(_NONRES_UNITS, schedule)
        for w in uniq.tolist():
            if w not in known:
                try:
                    known[w] = (str(service_units(PropertyClass.NON_RESIDENTIAL, dwelling_units=0,
                                                  area_sqft=Decimal(w), schedule=schedule)), None)
                except (BillingError, ValueError) as err:
                    known[w] = (None, str(err))
        got = [known[w] for w in uniq.tolist()]
        units[nonres] = _objects([u for u, _ in got])[inv]
        error[nonres] = _objects([e for _, e in got])[inv]
    return whole, measured, category, units, error


def _objects(values: list) -> np.ndarray:
    """``values`` as a 1-D object array (np.array would make strings a fixed-width string array)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


_CATEGORIES: dict[int, tuple[RateSchedule, dict[int, str]]] = {}
_NONRES_UNITS: dict[int, tuple[RateSchedule, dict[int, tuple[str | None, str | None]]]] = {}


def _memo(store: dict, schedule: RateSchedule) -> dict:
    """A per-schedule memo of rule results, kept for the next chunks of the run
    (neighbouring chunks share most whole-sq-ft values)."""
    kept = store.get(id(schedule))
    if kept is None or kept[0] is not schedule:
        kept = store[id(schedule)] = (schedule, {})
    return kept[1]


def _sfr_categories(wholes: list[int], schedule: RateSchedule) -> list[str]:
    """``categorize_sfr(whole).name`` for each whole sq ft."""
    known = _memo(_CATEGORIES, schedule)
    for w in wholes:
        if w not in known:
            known[w] = categorize_sfr(Decimal(w), schedule).name
    return [known[w] for w in wholes]


def _du(v):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    return int(v)


def parcel_classes(parcels: gpd.GeoDataFrame, opts: ReassessOptions):
    """Each lot's property class (``--class-field`` through ``--class-map``, else the default) and its error.

    Parsed once per distinct value (:meth:`categorize.PropertyClass.from_code`: spaces
    around a code are not part of it); a value that is no known class, or none, gives that
    lot an error sentence instead of a class.
    """
    n = len(parcels)
    errors = np.full(n, None, dtype=object)
    if opts.class_field:
        col = parcels[opts.class_field]
        if isinstance(col.dtype, pd.CategoricalDtype):  # as sba reassess reads it: a few codes
            codes = col.cat.codes.to_numpy()
            names = np.array([*map(str, col.cat.categories), ""], dtype=object)
            present, inv = np.unique(codes, return_inverse=True)
            uniq = names[present]  # code -1 (no value) is the last name, ""
        else:
            raw = col.astype("string").fillna("").to_numpy(dtype=object)
            uniq, inv = np.unique(raw.astype(str), return_inverse=True)
        found = [class_of(code, opts.class_map, hint=" or pass --class-map") for code in uniq]
        parsed, texts = [k and k.value for k, _ in found], [e for _, e in found]
        classes, errors = _objects(parsed)[inv], _objects(texts)[inv]
    else:
        classes = np.full(n, opts.default_class, dtype=object)
    if opts.dwelling_units_field:
        units = pd.to_numeric(parcels[opts.dwelling_units_field], errors="coerce").to_numpy()
        # more than any lot holds is a typo (1e300 passes a float's whole-number test, and
        # would not fit the result's integer column)
        bad = np.isnan(units) | (units < 0) | (units != np.floor(units)) | (units > MAX_DWELLINGS)
        units = np.where(bad, np.nan, units)
        errors[bad & pd.isna(errors)] = (f"The dwelling-units value is missing, not a whole number, or more than "
                                         f"{MAX_DWELLINGS:,}.")
    else:
        units = np.where(classes == PropertyClass.SINGLE_FAMILY.value, 1.0, np.nan)
    return classes, units, errors
