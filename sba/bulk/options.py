"""The settings and the summary of a bulk run, and the names its chunk tables share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ORDER", "OUTPUT_COLUMNS", "ReassessOptions", "ReassessSummary"]


OUTPUT_COLUMNS = [
    "parcel_id", "property_class", "dwelling_units", "billable_area_sqft", "billable_sqft_rounded",
    "overlap_sqft", "outside_parcel_sqft", "overwater_excluded_sqft", "excluded_type_sqft",
    "n_features", "category", "service_units", "repaired", "overlaps_another_lot", "error",
]
#: the input order of the lots (a sort key) in chunk tables; not written out
ORDER = "_order"


@dataclass(frozen=True)
class ReassessOptions:
    """How a bulk run reads its layers and measures and bills the lots (the ``sba reassess`` flags)."""

    id_field: str = "parcel_id"
    type_field: str = "feature_type"
    class_field: str | None = None
    class_map: dict[str, str] = field(default_factory=dict)
    default_class: str = "single_family"
    dwelling_units_field: str | None = None
    chunk_size: int = 20_000
    by_type: bool = False
    raster: str | None = None  # impervious raster for a cross-check column
    raster_tolerance: float = 0.25  # flag when raster and vector differ by more than this share
    crs: str | None = None  # measure in this CRS (the utility's official projection)
    raster_scale: str = "auto"  # "fraction" (0-1) or "percent" (0-100); "auto" is decided once per run


@dataclass
class ReassessSummary:
    """What a bulk run reports when it ends: counts, categories, timings and notes for the user."""

    parcels_in: int
    parcels_out: int
    seconds: float
    by_category: dict[str, int]
    errors: int
    repaired: int
    chunks: int
    chunks_resumed: int
    out: Path
    changes: int | None = None
    changes_path: Path | None = None
    phases: dict[str, float] = field(default_factory=dict)
    raster_flags: int | None = None
    #: rows whose id other rows share (each has an error and no billing fields)
    repeated_ids: int = 0
    #: in which CRS areas were measured, when not the parcels' own, and why
    crs_note: str | None = None
    #: one sentence per thing the user should know (resumed parts redone, few surfaces on lots)
    notes: list[str] = field(default_factory=list)
    raster_scale: str | None = None  # what the raster's values were read as: "fraction" or "percent"

    @property
    def parcels_per_second(self) -> float:
        """Lots read per second of the whole run."""
        return self.parcels_in / self.seconds if self.seconds else float("inf")
