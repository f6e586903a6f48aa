"""Geometry engine: read map layers, project them, measure billable area per lot.

Never shows anything on screen; the app, the CLI and bulk runs call into it.
"""

from gis.crs import (
    AreaCRS,
    check_coordinates,
    choose_area_crs,
    parse_crs,
    sqft_per_crs_unit2,
    to_area_crs,
    to_common_crs,
)
from gis.errors import (
    CRSMismatchError,
    DuplicateParcelError,
    EmptyLayerError,
    GISInputError,
    LayerChoiceError,
    MissingCRSError,
    MissingFieldError,
    NonFiniteCoordinateError,
    NoOverlapError,
    UnknownParcelError,
    UnreadableFileError,
    UnsupportedGeometryError,
    row_name,
)
from gis.io import list_layers, read_layer
from gis.measure import (
    DEFAULT_RULES,
    OVERWATER_TYPES,
    PRECEDENCE,
    FeatureProblem,
    Layers,
    Measurement,
    MeasureRules,
    measure_lots,
    no_overlap_error,
    prepare_layers,
    project_layers,
    select_parcel,
)
from gis.shapes import normalise_type, normalise_types
from gis.tape import TapeShape, tape_area_sqft, worksheet_total

__all__ = [
    "DEFAULT_RULES",
    "OVERWATER_TYPES",
    "PRECEDENCE",
    "AreaCRS",
    "CRSMismatchError",
    "DuplicateParcelError",
    "EmptyLayerError",
    "FeatureProblem",
    "GISInputError",
    "LayerChoiceError",
    "Layers",
    "MeasureRules",
    "Measurement",
    "MissingCRSError",
    "MissingFieldError",
    "NoOverlapError",
    "NonFiniteCoordinateError",
    "TapeShape",
    "UnknownParcelError",
    "UnreadableFileError",
    "UnsupportedGeometryError",
    "check_coordinates",
    "choose_area_crs",
    "list_layers",
    "measure_lots",
    "no_overlap_error",
    "normalise_type",
    "normalise_types",
    "parse_crs",
    "prepare_layers",
    "project_layers",
    "read_layer",
    "row_name",
    "select_parcel",
    "sqft_per_crs_unit2",
    "tape_area_sqft",
    "to_area_crs",
    "to_common_crs",
    "worksheet_total",
]
