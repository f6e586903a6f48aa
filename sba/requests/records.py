"""The utility's own data that staff check requests against.

* parcels: tax lots with ``parcel_id``, ``property_class``, ``dwelling_units``,
  ``address``, ``current_category`` and ``account_number``;
* the record layer: the utility's impervious features (``feature_type``);
* water bodies (overwater area is not billable);
* optionally an accounts table (CSV: ``account_number, parcel_id,
  holder_name``) naming each account's holder. Without it, "one account per
  lot" is read from the parcels' ``account_number`` column and "requester =
  account holder" rests on the requester's own confirmation.

By default these are the sample neighbourhood's files (``sample_data/`` and
``sample_data/requests/accounts.csv``); set ``SBA_RECORDS_DIR`` to a folder
holding ``parcels.*``, ``features.*``, optional ``water.*`` and
``accounts.csv`` to use a utility's own.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

import gis
from categorize import DEFAULT_SCHEDULE, RateSchedule, load_schedule
from gis.repair import non_finite, polygonal, repair
from sba.engine import refuse_repeated_inputs
from sba.requests.errors import PackageRejected

__all__ = ["SAMPLE_DIR", "LotRecord", "Records", "default_records_dir", "same_person"]

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
_SUFFIXES = (".geojson", ".gpkg", ".parquet", ".fgb", ".json", ".zip", ".shp")


def default_records_dir() -> Path:
    """``$SBA_RECORDS_DIR`` or the sample neighbourhood."""
    return Path(os.environ.get("SBA_RECORDS_DIR") or SAMPLE_DIR)


def same_person(a: str, b: str) -> bool:
    """Whether two names are the same person's, ignoring case, spacing and punctuation.

    >>> same_person("Dana  O'Neil", "dana oneil"), same_person("Dana Neil", "Dana O'Neil")
    (True, False)
    """
    def norm(s: str) -> str:
        return re.sub(r"[^0-9a-z ]", "", re.sub(r"\s+", " ", str(s).casefold())).replace(" ", "")

    return bool(norm(a)) and norm(a) == norm(b)


@dataclass(frozen=True)
class LotRecord:
    """What the utility's billing data says about one tax lot."""

    parcel_id: str
    property_class: str
    dwelling_units: int | None
    address: str
    current_category: str
    accounts: tuple[str, ...]
    holders: dict[str, str]  # account number -> holder name (may be empty)


class Records:
    """Parcels, record layer, water and accounts, in the parcels' projected CRS."""

    def __init__(
        self,
        parcels: gpd.GeoDataFrame,
        features: gpd.GeoDataFrame,
        water: gpd.GeoDataFrame | None = None,
        accounts: pd.DataFrame | None = None,
        schedule: RateSchedule | None = None,
        *,
        id_field: str = "parcel_id",
        source: str = "",
    ):
        self.parcels, self.features, self.water = gis.prepare_layers(parcels, features, water)
        # the utility's data is repaired like any upload: one outline crossing
        # itself must not stop every page and command that looks at its lot
        self.parcels, self.features = _repaired(self.parcels), _repaired(self.features)
        self.water = _repaired(self.water) if self.water is not None else None
        self.features = self.features.assign(
            feature_type=gis.normalise_types(self.features["feature_type"])
            if "feature_type" in self.features.columns else "other"
        )
        self.accounts = accounts
        self.schedule = schedule or load_schedule(DEFAULT_SCHEDULE)
        self.id_field = id_field
        self.source = source
        self._ids = self.parcels[id_field].astype(str)

    @classmethod
    def load(
        cls,
        folder: str | Path | None = None,
        *,
        parcels: str | Path | None = None,
        features: str | Path | None = None,
        water: str | Path | None = None,
        accounts: str | Path | None = None,
        schedule: RateSchedule | str | None = None,
    ) -> Records:
        """Read the records from a folder (default :func:`default_records_dir`) or from files.

        Raises
        ------
        gis.GISInputError
            A layer cannot be read.
        sba.errors.RepeatedInputError
            One file is given for two layers.
        """
        folder = Path(folder) if folder is not None else default_records_dir()
        parcels = parcels or _find(folder, "parcels")
        features = features or _find(folder, "features")
        water = water or _find(folder, "water", required=False)
        if accounts is None:
            for candidate in (folder / "accounts.csv", folder / "requests" / "accounts.csv"):
                if candidate.exists():
                    accounts = candidate
                    break
        refuse_repeated_inputs({"parcels": (parcels, None), "features": (features, None), "water": (water, None)})
        p = gis.read_layer(parcels, role="parcels")
        f = gis.read_layer(features, role="features")
        w = gis.read_layer(water, role="water") if water else None
        acc = read_accounts(Path(accounts).read_bytes()) if accounts else None
        if isinstance(schedule, str) or schedule is None:
            schedule = load_schedule(schedule or DEFAULT_SCHEDULE)
        return cls(p, f, w, acc, schedule, source=str(folder))

    # ------------------------------------------------------------------
    def has_lot(self, parcel_id: str) -> bool:
        """True when the parcels layer has this tax lot."""
        return bool((self._ids == str(parcel_id)).any())

    def lot(self, parcel_id: str) -> gpd.GeoDataFrame:
        """The lot (one row, projected CRS).

        Raises
        ------
        PackageRejected
            No such tax lot in the utility's parcels.
        """
        rows = self.parcels[(self._ids == str(parcel_id)).to_numpy()]
        if rows.empty:
            raise PackageRejected(
                f"There is no tax lot {parcel_id!r} in the utility's parcel records; check the Property ID."
            )
        lot = rows.iloc[[0]]
        if non_finite(lot.geometry.to_numpy()).any():
            raise PackageRejected(
                f"The utility's parcel outline of tax lot {parcel_id!r} has a corner that is not a number (NaN or "
                f"infinite), parcels row {gis.row_name(lot.index[0])}: its shape cannot be known, so nothing on it "
                "can be measured. The utility must fix its parcel layer first.")
        area = shapely.area(lot.geometry.to_numpy())[0]
        if not area > 0:  # missing, empty, a line: nothing could be "on" it
            raise PackageRejected(
                f"The utility's parcel outline of tax lot {parcel_id!r} has no area (parcels row "
                f"{gis.row_name(lot.index[0])}), so nothing can be measured on it. The utility must fix its parcel "
                "layer first.")
        return lot

    def lot_record(self, parcel_id: str) -> LotRecord:
        """What the billing data says about a tax lot: class, dwelling units, address, category, accounts.

        Raises :class:`PackageRejected` for a tax lot that is not in the utility's parcels.
        """
        row = self.lot(parcel_id).iloc[0]
        units = row.get("dwelling_units")
        try:
            units = None if units is None or pd.isna(units) else int(units)
        except (TypeError, ValueError):
            units = None
        pid = str(parcel_id)
        if self.accounts is not None:
            mine = self.accounts[self.accounts["parcel_id"].astype(str) == pid]
            accounts = tuple(dict.fromkeys(mine["account_number"].astype(str)))
            holders = ({str(a): str(h) for a, h in zip(mine["account_number"], mine["holder_name"], strict=True)}
                       if "holder_name" in mine.columns else {})
        else:
            rows = self.parcels[(self._ids == pid).to_numpy()]
            col = rows["account_number"] if "account_number" in rows.columns else pd.Series([], dtype=str)
            accounts = tuple(dict.fromkeys(str(a) for a in col if str(a).strip()))
            holders = {}
        return LotRecord(
            parcel_id=pid,
            property_class=str(row.get("property_class") or "single_family"),
            dwelling_units=units,
            address=str(row.get("address") or ""),
            current_category=str(row.get("current_category") or ""),
            accounts=accounts,
            holders=holders,
        )

    def record_features(self, parcel_id: str) -> gpd.GeoDataFrame:
        """The record layer's features that touch the lot (projected CRS)."""
        lot_geom = self.lot(parcel_id).geometry.iloc[0]
        near = np.sort(self.features.sindex.query(lot_geom))  # by boxes: GEOS says no more of a NaN corner
        bad = near[non_finite(self.features.geometry.to_numpy()[near])]
        if len(bad):
            rows = ", ".join(gis.row_name(x) for x in self.features.index[bad[:5]])
            raise PackageRejected(
                f"The City's record has an outline with a corner that is not a number (NaN or infinite) on or "
                f"near tax lot {parcel_id!r}, record features row {rows}: its shape cannot be known, so the lot "
                "cannot be compared with the record. Fix the record layer and load it again.")
        feats = self.features.iloc[near[shapely.intersects(self.features.geometry.to_numpy()[near], lot_geom)]]
        # a feature that only touches the lot line adds no area
        return feats[feats.geometry.intersection(lot_geom).area > 0]


def _repaired(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer with outlines that cross themselves made valid (their polygon parts kept).

    An outline with a corner that is not a number is left as it is: repairing it would drop the
    corner and keep a guess (SPEC A1.4 repairs crossings); the lot it is on refuses it when looked at.
    """
    geoms = layer.geometry.to_numpy()
    bad = ~shapely.is_missing(geoms) & ~shapely.is_valid(geoms)
    bad[bad] = ~non_finite(geoms[bad])
    if not bad.any():
        return layer
    geoms = geoms.copy()
    geoms[bad] = polygonal(repair(geoms[bad]))
    out = layer.copy()
    out[layer.geometry.name] = gpd.GeoSeries(geoms, index=layer.index, crs=layer.crs)
    return out


def _find(folder: Path, stem: str, *, required: bool = True) -> Path | None:
    for suffix in _SUFFIXES:
        path = folder / f"{stem}{suffix}"
        if path.exists():
            return path
    if required:
        raise PackageRejected(f"The records folder {str(folder)!r} has no {stem} layer ({stem}.geojson, ...).")
    return None


def read_accounts(data: bytes) -> pd.DataFrame:
    """An accounts CSV (``account_number, parcel_id[, holder_name]``), all text."""
    text = data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    frame = pd.DataFrame(rows, dtype=str)
    missing = {"account_number", "parcel_id"} - set(frame.columns)
    if missing:
        raise PackageRejected(
            "The accounts table needs the columns account_number and parcel_id "
            f"(missing: {', '.join(sorted(missing))})."
        )
    return frame
