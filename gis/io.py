"""Read parcel, feature and water layers from the file kinds people actually have.

One entry point, :func:`read_layer`, takes a path or the bytes of an upload.
Every failure becomes a :class:`~gis.errors.GISInputError` whose message says
what to do; the technical cause stays chained for ``--debug``.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

from gis.errors import (
    EmptyLayerError,
    LayerChoiceError,
    MissingCRSError,
    UnreadableFileError,
    UnsupportedGeometryError,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["MAX_COLLECTIONS", "SUPPORTED_SUFFIXES", "list_layers", "read_layer", "refuse_nested_collections"]

SUPPORTED_SUFFIXES = (
    ".geojson", ".json", ".zip", ".shp", ".gpkg", ".kml", ".kmz", ".fgb",
    ".parquet", ".geoparquet", ".csv", ".gdb",
)
_KINDS = (
    "a GeoJSON, a GeoPackage, KML, FlatGeobuf, GeoParquet, a CSV with a WKT column, "
    "a .zip holding all parts of a shapefile, or a File Geodatabase (.gdb folder, zipped to upload)"
)
_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: What an uploaded .zip or .kmz may unpack to: a neighbourhood's shapefile is a few MB, and a
#: zip of zeros 1,000 times smaller than what it holds would otherwise fill memory as it is read.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024


def _suffix(name: str) -> str:
    lower = name.lower().rstrip("/\\")
    if lower.endswith(".shp.zip"):
        return ".zip"
    return Path(lower).suffix


def list_layers(source: str | Path | bytes, filename: str | None = None) -> list[str]:
    """Names of the layers in a file (one name for single-layer formats)."""
    import pyogrio  # here, not at the top: GeoParquet-only runs never need GDAL (45 ms)

    with _local_path(source, filename) as path:
        if isinstance(source, bytes | bytearray) and _suffix(_display(source, filename)) in (".zip", ".kmz"):
            _refuse_zip_bomb(path, _display(source, filename))  # GDAL may unpack a member whole to list it
        try:
            return [str(row[0]) for row in pyogrio.list_layers(path)]
        except Exception as err:  # pyogrio raises several DataSourceError kinds
            raise UnreadableFileError(
                f"We could not open {_display(source, filename)!r} as map data. Upload {_KINDS}."
            ) from err


def read_layer(
    source: str | Path | bytes,
    filename: str | None = None,
    *,
    layer: str | None = None,
    role: str = "map",
    crs: str | int | None = None,
    columns: list[str] | None = None,
    table: pa.Table | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer of map data from a path or from uploaded bytes.

    Parameters
    ----------
    source
        A path, or the bytes of an upload (then ``filename`` gives the kind).
    filename
        Name used for the file kind and in messages; defaults to ``source``.
    layer
        Layer name for multi-layer files (GeoPackage, KML).  A GeoPackage with
        several layers and no ``layer`` is refused with the list of names.
    role
        What the layer is ("parcels", "features", "water"); used in messages.
    crs
        Projection to assume when the file does not carry one (CSV).
    columns
        Read only these attribute columns (faster for big files).
    table
        For GeoParquet: the file's table as pyarrow already read it, with
        ``columns`` and the geometry (see :mod:`sba.bulk.prefetch`); it is turned
        into the GeoDataFrame ``geopandas.read_parquet`` gives, and checked
        like a file read here.

    Returns
    -------
    GeoDataFrame
        In the file's own CRS; rows whose geometry is missing are kept (the
        measuring step reports them).
    """
    name = _display(source, filename)
    suffix = _suffix(name)
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFileError(
            f"We cannot read {name!r}: files ending in {suffix or '(no extension)'!r} "
            f"are not map data we know. Use {_KINDS}."
        )
    if isinstance(source, bytes | bytearray) and len(source) > MAX_UPLOAD_BYTES:
        raise UnreadableFileError(
            f"{name!r} is larger than {MAX_UPLOAD_BYTES // 2**20} MB; "
            "cut it down to your neighbourhood or use the command-line tool."
        )
    if isinstance(source, str | Path) and not Path(source).exists():
        raise UnreadableFileError(f"There is no file at {str(source)!r}; check the path and try again.")

    if suffix in (".parquet", ".geoparquet"):
        gdf = _read_parquet(source, name, columns, table)
    elif suffix == ".csv":
        gdf = _read_csv(source, name, crs)
    else:
        gdf = _read_ogr(source, name, suffix, layer, columns)

    if gdf.crs is None and crs is not None:
        gdf = gdf.set_crs(crs)
    if gdf.crs is None:
        hint = ("A CSV cannot say it: we read longitude/latitude coordinates as WGS84; save other "
                "coordinates as GeoPackage or GeoJSON with their projection." if suffix == ".csv"
                else "If it is a shapefile, include the .prj file in the zip.")
        raise MissingCRSError(f"The {role} file {name!r} does not say which map projection it uses. {hint}")
    if len(gdf) == 0:
        raise EmptyLayerError(f"The {role} file {name!r} has no features in it; check you picked the right file.")
    geoms = gdf.geometry.to_numpy()
    # one shape with an area is enough: look at the first rows before all of
    # them (each test visits every shape in memory: ~0.1 s for a city's 344,405)
    if not _has_polygon(geoms[:1000]) and not _has_polygon(geoms):
        if not (~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)).any():
            raise EmptyLayerError(f"Every shape in the {role} file {name!r} is empty; check you picked the right file.")
        raise UnsupportedGeometryError(
            f"The {role} file {name!r} holds only points or lines; draw the outlines as polygons (closed shapes)."
        )
    return gdf


def _has_polygon(geoms) -> bool:
    """Whether a Polygon, MultiPolygon or GeometryCollection that is not empty is among ``geoms``."""
    kinds = shapely.get_type_id(geoms)  # -1 for a missing shape
    polygonal = (kinds == 3) | (kinds == 6) | (kinds == 7)
    return bool((~shapely.is_empty(geoms[polygonal])).any())


def _display(source: str | Path | bytes, filename: str | None) -> str:
    if filename:
        return Path(filename).name
    if isinstance(source, bytes | bytearray):
        return "upload"
    return Path(source).name


class _local_path:
    """Context manager giving a filesystem path for a path or for bytes."""

    def __init__(self, source: str | Path | bytes, filename: str | None):
        self.source, self.filename = source, filename
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> str:
        if not isinstance(self.source, bytes | bytearray):
            return str(self.source)
        self._tmp = tempfile.TemporaryDirectory(prefix="sba-upload-")
        name = Path(self.filename or "upload.geojson").name
        if len(name.encode("utf-8", "replace")) > 100 or "\x00" in name:  # the system refuses such names
            name = "upload" + Path(name.replace("\x00", "")).suffix[:16]
        path = Path(self._tmp.name) / name
        path.write_bytes(self.source)
        return str(path)

    def __exit__(self, *exc) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _read_ogr(source, name: str, suffix: str, layer: str | None, columns) -> gpd.GeoDataFrame:
    import pyogrio

    with _local_path(source, name) as path:
        if suffix in (".zip", ".kmz") and isinstance(source, bytes | bytearray):
            _refuse_zip_bomb(path, name)
        if suffix == ".zip":
            path = _shapefile_in_zip(path, name)
        try:
            listed = pyogrio.list_layers(path)
            layers, kinds = [str(row[0]) for row in listed], [row[1] for row in listed]
        except Exception as err:
            raise UnreadableFileError(
                f"We could not open {name!r} as map data; it may be damaged or not what its name says. Upload {_KINDS}."
            ) from err
        if not layers:
            raise EmptyLayerError(f"{name!r} holds no map layers; check you picked the right file.")
        if layer is None:
            polygon_layers = _polygon_layers(path, layers, kinds)
            if len(polygon_layers) == 1:
                layer = polygon_layers[0]
            elif len(layers) == 1:
                layer = layers[0]
            else:
                raise LayerChoiceError(
                    f"{name!r} holds several layers ({_some(layers)}); say which one to use."
                )
        elif layer not in layers:
            raise LayerChoiceError(
                f"{name!r} has no layer called {layer!r}; it has: {_some(layers)}."
            )
        try:
            try:
                return pyogrio.read_dataframe(path, layer=layer, columns=columns, use_arrow=True)
            except NotImplementedError:  # arcs: the Arrow path hands GDAL's curves to GEOS, which has none
                return _read_linearised(path, layer, columns)
        except Exception as err:
            raise UnreadableFileError(
                f"We could not read layer {layer!r} of {name!r}; the file may be damaged. Upload {_KINDS}."
            ) from err


#: Degrees of arc per straight edge when GDAL turns a curved outline into a polygon (GDAL's own
#: default, 4°, takes 0.08 % off a circle's area; 0.5° takes 0.001 %).
ARC_STEP_DEGREES = 0.5


def _read_linearised(path: str, layer: str, columns: list[str] | None):
    """The layer read feature by feature, GDAL turning arcs into :data:`ARC_STEP_DEGREES` edges."""
    import pyogrio

    before = pyogrio.get_gdal_config_option("OGR_ARC_STEPSIZE")
    pyogrio.set_gdal_config_options({"OGR_ARC_STEPSIZE": str(ARC_STEP_DEGREES)})
    try:
        return pyogrio.read_dataframe(path, layer=layer, columns=columns, use_arrow=False)
    finally:
        pyogrio.set_gdal_config_options({"OGR_ARC_STEPSIZE": before})


#: Layers of unknown geometry type whose features are counted to find the polygon layer; each
#: count opens the file again (thousands of layers took minutes).
MAX_COUNTED_LAYERS = 16


def _polygon_layers(path: str, layers: list[str], kinds: list) -> list[str]:
    """The layers that hold polygons, by the type the file lists (one look at it), and the first
    :data:`MAX_COUNTED_LAYERS` layers of unknown type that hold any feature."""
    import pyogrio

    found = [lyr for lyr, kind in zip(layers, kinds, strict=True) if "Polygon" in str(kind or "")]
    unknown = [lyr for lyr, kind in zip(layers, kinds, strict=True) if kind in ("Unknown", None, "")]
    for lyr in unknown[:MAX_COUNTED_LAYERS]:
        try:
            if pyogrio.read_info(path, layer=lyr).get("features", 0):
                found.append(lyr)
        except Exception:
            continue
    return found


def _some(names: list[str], shown: int = 10) -> str:
    """The first ``shown`` names (each cut to 60 characters), and how many more."""
    cut = [n if len(n) <= 60 else n[:59] + "…" for n in names[:shown]]
    return ", ".join(cut) + (f" and {len(names) - shown:,} more" if len(names) > shown else "")


def _refuse_zip_bomb(path: str, name: str) -> None:
    """Refuse an uploaded zip whose members add up to more than :data:`MAX_UNPACKED_BYTES` unpacked.

    The sizes are those the zip declares; its readers (Python's and GDAL's) stop at them.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile:
        return  # not a zip: the reader says so in its own words
    if unpacked > MAX_UNPACKED_BYTES:
        raise UnreadableFileError(
            f"{name!r} unpacks to {unpacked / 2**20:,.0f} MB, more than the {MAX_UNPACKED_BYTES // 2**20} MB "
            "we read from an upload; cut it down to your neighbourhood or use the command-line tool."
        )


def _shapefile_in_zip(path: str, name: str) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
    except zipfile.BadZipFile as err:
        raise UnreadableFileError(f"{name!r} is not a valid .zip file; zip the shapefile's parts again.") from err
    shps = [m for m in members if m.lower().endswith(".shp") and not m.startswith("__MACOSX")]
    others = [m for m in members if _suffix(m) in (".gpkg", ".geojson", ".json", ".kml", ".fgb")]
    others += sorted({m[:m.lower().index(".gdb/") + 4] for m in members if ".gdb/" in m.lower()})  # a geodatabase
    if not shps and others:
        return f"/vsizip/{path}/{others[0]}"
    if not shps:
        raise UnreadableFileError(
            f"{name!r} has no .shp file inside; a zipped shapefile needs its .shp, .shx, .dbf and .prj parts."
        )
    stem = shps[0][:-4]
    present = {m.lower() for m in members}
    missing = [ext for ext in (".shx", ".dbf") if (stem + ext).lower() not in present]
    if missing:
        raise UnreadableFileError(
            f"The shapefile in {name!r} is missing its {' and '.join(missing)} part; "
            "zip all parts of the shapefile together."
        )
    if (stem + ".prj").lower() not in present:
        raise MissingCRSError(
            f"The shapefile in {name!r} has no .prj file, so we cannot tell its map projection; "
            "include the .prj file in the zip."
        )
    return f"/vsizip/{path}/{shps[0]}"


#: Most geometry collections one shape may hold, nested or not.  GEOS reads nested collections
#: recursively and a few kilobytes of them nested 30,000 deep overflow the stack (the process
#: dies of SIGSEGV); no map data nests collections.
MAX_COLLECTIONS = 32

# The type field of a geometry collection in WKB: 7 in plain and ISO WKB (+1000, 2000, 3000 for
# Z, M, ZM), with EWKB's Z, M and SRID flags in its high byte; little- then big-endian.
_COLLECTION_TYPES = [7, 1007, 2007, 3007, *(7 | flags << 24 for flags in (0x80, 0x40, 0xC0, 0x20, 0xA0, 0x60, 0xE0))]
_COLLECTION_HEADERS = ([b"\x01" + t.to_bytes(4, "little") for t in _COLLECTION_TYPES]
                       + [b"\x00" + t.to_bytes(4, "big") for t in _COLLECTION_TYPES])


def refuse_nested_collections(wkb, name: str) -> None:
    """Refuse a column of WKB shapes (a pyarrow binary array or chunked array) in which a shape
    that is a geometry collection holds more than :data:`MAX_COLLECTIONS` collection headers,
    before GEOS reads it.  Only shapes whose own type is a collection are searched."""
    import numpy as np
    import pyarrow as pa

    chunks = wkb.chunks if isinstance(wkb, pa.ChunkedArray) else [wkb]
    for chunk in chunks:
        if isinstance(chunk, pa.ExtensionArray):  # geoarrow.wkb, where its extension type is registered
            chunk = chunk.storage
        if not len(chunk) or not (pa.types.is_binary(chunk.type) or pa.types.is_large_binary(chunk.type)):
            continue
        _, offset_buf, data_buf = chunk.buffers()
        width = np.int64 if pa.types.is_large_binary(chunk.type) else np.int32
        offsets = np.frombuffer(offset_buf, dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
        starts, ends = offsets[:-1], offsets[1:]
        rows = np.flatnonzero(ends - starts >= 5)
        # the type's low byte first (one byte per shape: polygons are passed over at once)
        low = np.where(data[starts[rows]] == 1, data[starts[rows] + 1], data[starts[rows] + 4])
        rows = rows[np.isin(low, np.array([t & 0xFF for t in _COLLECTION_TYPES], dtype=np.uint8))]
        at = starts[rows]
        head = np.stack([data[at + k] for k in range(5)], axis=1).astype(np.uint32)
        little = head[:, 1] | head[:, 2] << 8 | head[:, 3] << 16 | head[:, 4] << 24
        big = head[:, 4] | head[:, 3] << 8 | head[:, 2] << 16 | head[:, 1] << 24
        kind = np.where(head[:, 0] == 1, little, big)
        for row in rows[np.isin(kind, _COLLECTION_TYPES)]:
            blob = data[starts[row]:ends[row]].tobytes()
            if sum(blob.count(h) for h in _COLLECTION_HEADERS) > MAX_COLLECTIONS:
                raise UnreadableFileError(
                    f"Row {int(row) + 1:,} of {name!r} nests more than {MAX_COLLECTIONS} geometry collections "
                    "in one another; no map data does that, so the file is refused."
                )


def _read_parquet(source: str | Path | bytes, name: str, columns: list[str] | None,
                  table: pa.Table | None = None) -> gpd.GeoDataFrame:
    if table is None:  # the shapes are checked before GEOS reads them
        try:
            import pyarrow.parquet as pq

            buf = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
            shapes = pq.read_table(buf, columns=[_geometry_column(buf)]).column(0)
        except Exception:  # unreadable: read_parquet below explains
            shapes = None
        if shapes is not None:
            refuse_nested_collections(shapes, name)
    elif _primary(table) in table.schema.names:
        refuse_nested_collections(table.column(_primary(table)), name)
    if table is not None:
        try:
            # the conversion geopandas.read_parquet does after reading (dask-geopandas calls it too)
            from geopandas.io.arrow import _arrow_to_geopandas

            return _arrow_to_geopandas(table)
        except Exception:  # read the file again below, and explain what is wrong with it
            pass
    buf = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        cols = None if columns is None else [*columns, _geometry_column(buf)]
        return gpd.read_parquet(buf, columns=cols)
    except ValueError as err:
        if "geo" in str(err).lower() or "geometry" in str(err).lower():
            raise UnreadableFileError(
                f"{name!r} is a Parquet table without map geometry metadata; "
                "write it as GeoParquet (geopandas to_parquet)."
            ) from err
        raise UnreadableFileError(f"We could not read {name!r} as GeoParquet; the file may be damaged.") from err
    except Exception as err:
        raise UnreadableFileError(f"We could not read {name!r} as GeoParquet; the file may be damaged.") from err


def _primary(table) -> str:
    """The primary geometry column a GeoParquet table's metadata names ("geometry" if none)."""
    import json

    try:
        return json.loads((table.schema.metadata or {})[b"geo"])["primary_column"]
    except Exception:  # no or bad metadata: reading explains
        return "geometry"


def _geometry_column(source) -> str:
    """The primary geometry column a GeoParquet file names in its metadata ("geometry" if none)."""
    import json

    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(source).metadata or {}
        name = json.loads(meta[b"geo"])["primary_column"]
    except Exception:  # no or bad metadata: reading explains
        name = "geometry"
    finally:
        if hasattr(source, "seek"):
            source.seek(0)
    return name


def _read_csv(source, name: str, crs) -> gpd.GeoDataFrame:
    buf = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        df = pd.read_csv(buf, dtype=str, keep_default_na=False)
    except Exception as err:
        raise UnreadableFileError(
            f"We could not read {name!r} as a CSV table; check it is plain comma-separated text."
        ) from err
    lower = {c.lower(): c for c in df.columns}
    col = next((lower[c] for c in _WKT_COLUMNS if c in lower), None)
    if col is None:
        raise UnreadableFileError(
            f"The CSV {name!r} has no geometry column; add a column named WKT holding each shape as well-known text."
        )
    texts = df.pop(col).replace("", None)
    nested = texts.str.upper().str.count("GEOMETRYCOLLECTION").fillna(0) > MAX_COLLECTIONS
    if nested.any():  # before GEOS reads them recursively (see MAX_COLLECTIONS)
        raise UnreadableFileError(
            f"Row {int(nested.to_numpy().argmax()) + 1:,} of {name!r} nests more than {MAX_COLLECTIONS} geometry "
            "collections in one another; no map data does that, so the file is refused."
        )
    try:
        geoms = shapely.from_wkt(texts.to_numpy(), on_invalid="raise")
    except shapely.errors.GEOSException as err:
        raise UnreadableFileError(
            f"Some rows of the {col!r} column in {name!r} are not valid WKT shapes; fix or remove them."
        ) from err
    gdf = gpd.GeoDataFrame(df, geometry=geoms)
    guessed = _guess_csv_crs(gdf) if crs is None else None
    if guessed is not None:
        gdf = gdf.set_crs(guessed)
    return gdf


def _guess_csv_crs(gdf: gpd.GeoDataFrame) -> CRS | None:
    """A CSV carries no projection: lon/lat-looking coordinates are taken as WGS84."""
    valid = gdf.geometry[~gdf.geometry.is_empty & gdf.geometry.notna()]
    if valid.empty:
        return None
    minx, miny, maxx, maxy = valid.total_bounds
    if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        return CRS.from_epsg(4326)
    return None
