"""Reading every supported file kind, and a clear message for each bad one."""

from __future__ import annotations

import io
import zipfile

import pytest

import shapely

import gis
from tests.conftest import box, layer


@pytest.fixture
def roofs():
    return layer([(box(0, 0, 10, 10), "roof"), (box(20, 0, 30, 10), "patio")], "feature_type")


def _zip_shapefile(gdf, tmp_path, drop=()):
    shp = tmp_path / "shp"
    shp.mkdir()
    gdf.to_file(shp / "roofs.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for part in shp.iterdir():
            if part.suffix not in drop:
                zf.write(part, part.name)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("suffix", "driver"),
    [(".geojson", "GeoJSON"), (".gpkg", "GPKG"), (".fgb", "FlatGeobuf")],
)
def test_read_layer__ogr_formats_keep_crs(roofs, tmp_path, suffix, driver):
    path = tmp_path / f"roofs{suffix}"
    roofs.to_file(path, driver=driver)
    got = gis.read_layer(path, role="features")
    assert got.crs.to_epsg() == 2913
    assert sorted(got.feature_type) == ["patio", "roof"]
    assert got.area.sum() == pytest.approx(200)


def test_read_layer__bytes_upload_same_as_path(roofs, tmp_path):
    path = tmp_path / "roofs.geojson"
    roofs.to_file(path, driver="GeoJSON")
    got = gis.read_layer(path.read_bytes(), "upload.geojson", role="features")
    assert got.area.sum() == pytest.approx(200)


def test_read_layer__kml_is_lonlat(roofs, tmp_path):
    path = tmp_path / "roofs.kml"
    roofs.to_crs(4326).to_file(path, driver="KML")
    got = gis.read_layer(path)
    assert got.crs.to_epsg() == 4326
    assert len(got) == 2


def test_read_layer__geoparquet(roofs, tmp_path):
    path = tmp_path / "roofs.parquet"
    roofs.to_parquet(path)
    got = gis.read_layer(path.read_bytes(), "roofs.parquet")
    assert got.crs.to_epsg() == 2913
    assert len(got) == 2


def test_read_layer__zipped_shapefile_with_prj(roofs, tmp_path):
    got = gis.read_layer(_zip_shapefile(roofs, tmp_path), "roofs.zip")
    assert got.crs.to_epsg() == 2913
    assert got.area.sum() == pytest.approx(200)


def test_read_layer__zipped_shapefile_without_prj_says_include_it(roofs, tmp_path):
    data = _zip_shapefile(roofs, tmp_path, drop=(".prj",))
    with pytest.raises(gis.MissingCRSError, match=r"include the \.prj file"):
        gis.read_layer(data, "roofs.zip")


def test_read_layer__zipped_shapefile_missing_dbf(roofs, tmp_path):
    data = _zip_shapefile(roofs, tmp_path, drop=(".dbf",))
    with pytest.raises(gis.UnreadableFileError, match=r"missing its \.dbf part"):
        gis.read_layer(data, "roofs.zip")


def test_read_layer__csv_with_wkt_lonlat_taken_as_wgs84(roofs):
    ll = roofs.to_crs(4326)
    text = "feature_type,WKT\n" + "".join(f'{t},"{g.wkt}"\n' for t, g in zip(ll.feature_type, ll.geometry, strict=True))
    got = gis.read_layer(text.encode(), "roofs.csv")
    assert got.crs.to_epsg() == 4326
    assert len(got) == 2


def test_read_layer__csv_projected_needs_crs():
    text = f'feature_type,WKT\nroof,"{box(7_600_000, 680_000, 7_600_010, 680_010).wkt}"\n'
    with pytest.raises(gis.MissingCRSError, match="map projection") as refused:
        gis.read_layer(text.encode(), "roofs.csv")
    # the hint fits a CSV, which has no .prj: coordinates that are not lon/lat need a format that names its CRS
    assert ".prj" not in str(refused.value)
    assert "longitude/latitude" in str(refused.value)
    assert "GeoPackage" in str(refused.value)
    got = gis.read_layer(text.encode(), "roofs.csv", crs="EPSG:2913")
    assert got.area.iloc[0] == pytest.approx(100)


def test_read_layer__csv_without_geometry_column():
    with pytest.raises(gis.UnreadableFileError, match="no geometry column"):
        gis.read_layer(b"a,b\n1,2\n", "table.csv")


def test_read_layer__csv_bad_wkt():
    with pytest.raises(gis.UnreadableFileError, match="not valid WKT"):
        gis.read_layer(b"WKT\nPOLYGON((0 0, 1\n", "bad.csv")


def test_read_layer__geopackage_with_several_layers_asks_which(roofs, tmp_path):
    path = tmp_path / "many.gpkg"
    roofs.to_file(path, layer="roofs")
    roofs.to_file(path, layer="patios")
    with pytest.raises(gis.LayerChoiceError, match="several layers"):
        gis.read_layer(path)
    assert len(gis.read_layer(path, layer="patios")) == 2
    with pytest.raises(gis.LayerChoiceError, match="no layer called 'decks'"):
        gis.read_layer(path, layer="decks")


def test_read_layer__unknown_extension():
    with pytest.raises(gis.UnreadableFileError, match=r"files ending in '\.pdf'"):
        gis.read_layer(b"%PDF-1.4", "roofs.pdf")


def test_read_layer__garbage_with_a_map_extension():
    with pytest.raises(gis.UnreadableFileError, match=r"could not open 'roofs\.geojson'"):
        gis.read_layer(b"this is not json", "roofs.geojson")


def test_read_layer__missing_path():
    with pytest.raises(gis.UnreadableFileError, match="There is no file"):
        gis.read_layer("/nonexistent/roofs.geojson")


def test_read_layer__not_a_zip():
    with pytest.raises(gis.UnreadableFileError, match=r"not a valid \.zip"):
        gis.read_layer(b"nope", "roofs.zip")


def test_read_layer__empty_layer(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(gis.EmptyLayerError, match="has no features"):
        gis.read_layer(path, role="features")


def test_read_layer__points_only():
    pts = layer([shapely.Point(0, 0)])
    data = pts.to_json().encode()
    with pytest.raises(gis.UnsupportedGeometryError, match="only points or lines"):
        gis.read_layer(data, "trees.geojson", crs="EPSG:2913")


def test_read_layer__too_big_upload():
    with pytest.raises(gis.UnreadableFileError, match="larger than"):
        gis.read_layer(b"0" * (gis.io.MAX_UPLOAD_BYTES + 1), "huge.geojson")


def test_read_layer__a_table_read_ahead_by_pyarrow_gives_what_geopandas_reads(roofs, tmp_path):
    """sba reassess reads GeoParquet with pyarrow while it starts up (sba.bulk.prefetch); the
    frame made from that table must be the one geopandas.read_parquet gives."""
    import pyarrow.parquet as pq

    import geopandas as gpd
    from geopandas.testing import assert_geodataframe_equal

    gdf = gpd.GeoDataFrame(  # a row without a shape, and an index geopandas stores as a column
        {"feature_type": ["roof", "patio", "street"], "owner": ["a", None, "b"], "height": [3.5, 4.0, 1.0]},
        geometry=[*roofs.geometry, None], crs=roofs.crs, index=[10, 11, 12])
    path = tmp_path / "roofs.parquet"
    gdf.to_parquet(path)
    cols = ["feature_type", "owner"]
    table = pq.ParquetFile(path).read(columns=[*cols, "geometry"], use_pandas_metadata=True)
    ahead = gis.read_layer(path, role="features", columns=cols, table=table)
    assert_geodataframe_equal(ahead, gis.read_layer(path, role="features", columns=cols))
    assert list(ahead.index) == [10, 11, 12]
    assert ahead.crs == gdf.crs
    # a table geopandas cannot convert is ignored: the file is read again
    plain = pq.read_table(path, columns=["feature_type"])
    assert_geodataframe_equal(gis.read_layer(path, role="features", columns=cols, table=plain), ahead)


@pytest.mark.parametrize(("later", "error", "message"), [
    (box(0, 0, 10, 10), None, None),  # one outline after many points: read
    (shapely.Point(1, 1), gis.UnsupportedGeometryError, "only points or lines"),
    (shapely.Polygon(), gis.UnsupportedGeometryError, "only points or lines"),
])
def test_read_layer__the_first_outline_may_come_late(tmp_path, later, error, message):
    """The layer checks look at the first rows first; an outline after them still counts."""
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(i, 0) for i in range(1500)] + [later], crs="EPSG:2913")
    path = tmp_path / "late.parquet"
    gdf.to_parquet(path)
    if error is None:
        assert len(gis.read_layer(path, role="features")) == 1501
    else:
        with pytest.raises(error, match=message):
            gis.read_layer(path, role="features")


def test_read_layer__every_shape_empty(tmp_path):
    import geopandas as gpd

    path = tmp_path / "blank.parquet"
    gpd.GeoDataFrame(geometry=[shapely.Polygon()] * 1200 + [None], crs="EPSG:2913").to_parquet(path)
    with pytest.raises(gis.EmptyLayerError, match="is empty"):
        gis.read_layer(path, role="features")


@pytest.mark.parametrize("upload", [False, True])
def test_read_layer__geoparquet_geometry_column_with_another_name(roofs, tmp_path, upload):
    """A GeoParquet whose geometry column is called ``geom`` (DuckDB, GDAL options) reads
    the same when only some columns are asked for, as sba reassess does."""
    path = tmp_path / "roofs.parquet"
    roofs.rename_geometry("geom").to_parquet(path)
    source = path.read_bytes() if upload else path
    got = gis.read_layer(source, "roofs.parquet", role="features", columns=["feature_type"])
    assert list(got.columns) == ["feature_type", "geom"]
    assert got.geometry.area.sum() == pytest.approx(200)


def _curved_geopackage(path, x0: float = 7_650_000.0, y0: float = 680_000.0) -> float:
    """A GeoPackage of one roof drawn with true arcs (a CurvePolygon: a circle of radius sqrt(800)
    ft through four corners, as county parcel layers draw cul-de-sacs) and one plain box; the
    circle's area is returned."""
    import struct

    import numpy as np

    from pyogrio.raw import write

    corners = [(x0 + 10, y0 + 10), (x0 + 50, y0 + 10), (x0 + 50, y0 + 50), (x0 + 10, y0 + 50), (x0 + 10, y0 + 10)]
    arcs = struct.pack("<BII", 1, 8, len(corners)) + b"".join(struct.pack("<dd", *c) for c in corners)
    curve = struct.pack("<BII", 1, 10, 1) + arcs  # ISO WKB: CurvePolygon of one CircularString
    plain = shapely.to_wkb(shapely.box(x0 + 120, y0 + 10, x0 + 150, y0 + 90))
    write(str(path), np.array([curve, plain], dtype=object), field_data=[np.array(["roof", "driveway"], dtype=object)],
          fields=["feature_type"], geometry_type="Unknown", crs="EPSG:2913", driver="GPKG")
    return np.pi * 800


def test_read_layer__curved_outlines_are_read_as_fine_polygons_not_refused_as_damaged(tmp_path):
    """GEOS has no arcs: GDAL turns them into short straight edges, fine enough (0.5°) that a
    curved roof loses no more than 0.002 % of its area (GDAL's default 4° lost 0.08 %)."""
    true_area = _curved_geopackage(tmp_path / "curved.gpkg")
    got = gis.read_layer(tmp_path / "curved.gpkg", role="features")
    assert got.geom_type.tolist() == ["Polygon", "Polygon"]
    assert got.area.iloc[0] == pytest.approx(true_area, rel=2e-5)
    assert got.area.iloc[1] == 30 * 80


def _file_geodatabase(folder, roofs):
    """An Esri File Geodatabase (the OpenFileGDB driver) with a parcels and a features layer."""
    gdb = folder / "city.gdb"
    layer([(box(0, 0, 100, 100), "A")], "parcel_id").to_file(gdb, layer="parcels", driver="OpenFileGDB")
    roofs.to_file(gdb, layer="features", driver="OpenFileGDB")
    return gdb


def test_read_layer__a_file_geodatabase_folder_is_read_by_layer(roofs, tmp_path):
    """Utilities keep their layers in File Geodatabases: the folder is read as GDAL reads it."""
    gdb = _file_geodatabase(tmp_path, roofs)
    got = gis.read_layer(gdb, layer="features", role="features")
    assert got.crs == roofs.crs
    # a geodatabase keeps coordinates on its grid (here 1e-4 ft from an origin far away)
    assert sorted(got.area) == pytest.approx(sorted(roofs.area), rel=1e-6)
    assert sorted(gis.list_layers(gdb)) == ["features", "parcels"]
    with pytest.raises(gis.LayerChoiceError, match="several layers"):
        gis.read_layer(gdb, role="features")


def test_read_layer__a_zipped_file_geodatabase_upload_is_read(roofs, tmp_path):
    gdb = _file_geodatabase(tmp_path, roofs)
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        for part in gdb.iterdir():
            zf.write(part, f"city.gdb/{part.name}")
    got = gis.read_layer(data.getvalue(), "city.gdb.zip", layer="features", role="features")
    assert sorted(got.area) == pytest.approx(sorted(roofs.area), rel=1e-6)


def _nested(depth: int) -> str:
    return "GEOMETRYCOLLECTION(" * depth + "POINT(0 0)" + ")" * depth


@pytest.mark.parametrize("depth", [40, 60_000])
def test_read_layer__collections_nested_deep_are_refused_before_geos_reads_them(tmp_path, depth):
    """60,000 nested GEOMETRYCOLLECTIONs (1.2 MB of CSV, 43 KB of GeoParquet) overflowed GEOS's
    recursion and killed the process (SIGSEGV) for every user of the app."""
    csv = b"feature_type,WKT\nroof,\"" + _nested(depth).encode() + b"\"\n"
    with pytest.raises(gis.UnreadableFileError, match="nests more than 32 geometry collections"):
        gis.read_layer(csv, "nested.csv", crs="EPSG:2913")
    # the same as WKB in a GeoParquet file, written without GEOS (which cannot hold it)
    inner = b"\x01\x01\x00\x00\x00" + b"\x00" * 16
    wkb = inner
    for _ in range(depth):
        wkb = b"\x01\x07\x00\x00\x00\x01\x00\x00\x00" + wkb
    import pyarrow as pa
    import pyarrow.parquet as pq

    box_wkb = shapely.to_wkb(box(7_600_000, 680_000, 7_600_010, 680_010))
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": [], "crs": None}}}
    import json

    table = pa.table({"feature_type": ["roof", "roof"], "geometry": pa.array([box_wkb, wkb], pa.binary())})
    table = table.replace_schema_metadata({b"geo": json.dumps(geo).encode()})
    pq.write_table(table, tmp_path / "nested.parquet")
    with pytest.raises(gis.UnreadableFileError, match=r"Row 2 of 'nested\.parquet' nests more than 32"):
        gis.read_layer(tmp_path / "nested.parquet")
    with pytest.raises(gis.UnreadableFileError, match=r"Row 2 of 'nested\.parquet' nests more than 32"):
        gis.read_layer((tmp_path / "nested.parquet").read_bytes(), "nested.parquet")


def test_read_layer__a_collection_of_a_few_levels_is_read():
    csv = b"feature_type,WKT\nroof,\"" + _nested(3).replace("POINT(0 0)", "POLYGON((7600000 680000, 7600010 680000, " \
        "7600010 680010, 7600000 680000))").encode() + b"\"\n"
    assert len(gis.read_layer(csv, "three.csv", crs="EPSG:2913")) == 1


@pytest.mark.parametrize("name", ["我家屋顶和车道的轮廓" * 9 + ".geojson", "roofs\x00.geojson"])
def test_read_layer__an_upload_s_name_the_system_cannot_hold_is_read(roofs, name):
    """A long name in Chinese is over the system's 255 bytes (it was an OSError on the page)."""
    got = gis.read_layer(roofs.to_json().encode(), name)
    assert len(got) == len(roofs)


def test_read_layer__the_layers_of_a_geopackage_are_typed_in_one_look(tmp_path, roofs, monkeypatch):
    """Each layer's type was found by opening the file again: 1,000 layers took over a minute.
    Their types now come from the one listing; only layers of unknown type are opened, 16 at most."""
    import pyogrio

    path = tmp_path / "many.gpkg"
    for i in range(40):
        pyogrio.write_dataframe(roofs.iloc[:1], path, layer=f"layer{i}", append=i > 0)
    opened = []
    read_info = pyogrio.read_info
    monkeypatch.setattr(pyogrio, "read_info", lambda *a, **k: opened.append(k.get("layer")) or read_info(*a, **k))
    with pytest.raises(gis.LayerChoiceError) as refused:
        gis.read_layer(path.read_bytes(), "many.gpkg", role="features")
    assert opened == []
    assert str(refused.value) == ("'many.gpkg' holds several layers (layer0, layer1, layer2, layer3, layer4, layer5, "
                                  "layer6, layer7, layer8, layer9 and 30 more); say which one to use.")
    assert len(gis.read_layer(path, layer="layer39")) == 1
