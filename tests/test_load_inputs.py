"""Loading inputs: duplicate and missing parcel ids keep every row; an InputError lists every fault."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

import landgis
from landgis.errors import InputError
from tests.planted import X, feature, geojson, project_file, square

pytestmark = pytest.mark.filterwarnings("ignore::landgis.errors.SkippedRuleWarning")


def test_duplicate_and_missing_ids_keep_every_row(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X)), feature("A", square(X + 100)),
                                      feature(None, square(X + 200))])
    res = landgis.screen(project_file(tmp_path, "zd.geojson"))
    assert res.table["parcel_id"].tolist() == ["A", "A", "(row 3)"]
    text = " ".join(str(p) for p in res.problems)
    assert "2 parcels share an id" in text and "1 parcel(s) have no id" in text


def test_input_error_lists_everything(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X))])
    path = project_file(tmp_path, "zd.geojson", '[layers.farmland]\npath = "a.gpkg"\n[layers.redline]\npath = "b.gpkg"\n')
    with pytest.raises(InputError) as exc:
        landgis.screen(path)
    assert "a.gpkg does not exist" in str(exc.value) and "b.gpkg does not exist" in str(exc.value)


def _curved_gpkg(path):
    """A GeoPackage whose parcel A1 is a CURVEPOLYGON (a circle of radius 10 m, two circular arcs), as
    FileGDB and GeoPackage deliveries hold them; written as GeoPackage bytes, since shapely makes no curve."""
    import sqlite3
    import struct

    import pyogrio

    frame = gpd.GeoDataFrame({"ZDDM": ["A1", "A2"]}, geometry=[shapely.box(39420000, 2790000, 39420020, 2790020),
                                                             shapely.box(39420100, 2790000, 39420120, 2790020)],
                             crs="EPSG:4527")
    pyogrio.write_dataframe(frame, path, layer="zd", driver="GPKG", layer_options={"SPATIAL_INDEX": "NO"})
    cx, cy = 39420010.0, 2790010.0
    pts = [(cx - 10, cy), (cx, cy + 10), (cx + 10, cy), (cx, cy - 10), (cx - 10, cy)]
    ring = struct.pack("<BII", 1, 8, len(pts)) + b"".join(struct.pack("<dd", *p) for p in pts)  # CIRCULARSTRING
    con = sqlite3.connect(path)
    srs = con.execute("select srs_id from gpkg_geometry_columns").fetchone()[0]
    blob = b"GP" + bytes([0, 1]) + struct.pack("<i", srs) + struct.pack("<BII", 1, 10, 1) + ring  # CURVEPOLYGON
    con.execute("update zd set geom = ? where ZDDM = 'A1'", (blob,))
    con.execute("update gpkg_geometry_columns set geometry_type_name = 'GEOMETRY'")
    con.commit()
    con.close()


def test_curved_parcels_are_linearised_and_said_so(tmp_path):
    import math
    import warnings

    _curved_gpkg(tmp_path / "zd.gpkg")
    (tmp_path / "p.toml").write_text('[project]\nname = "c"\nprofile = "national"\n\n[layers.parcels]\n'
                                     'path = "zd.gpkg"\n', encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(tmp_path / "p.toml", progress=False)
    area = res.table.set_index("parcel_id")["area_m2"]
    assert area["A2"] == 400.0
    assert abs(area["A1"] - math.pi * 100) < 0.3       # 4° steps: 313.90 of the circle's 314.16
    assert any("curved geometries (circular arcs) were linearised" in p.message for p in res.problems)
    # a project of parcels alone: nothing could be checked, so nothing is eligible
    assert set(res.table["verdict"]) == {"conditional"}


def test_every_note_reading_gives_has_a_chinese_form_for_the_data_problems_sheet(tmp_path):
    """The 数据问题 sheet is filed as it is: each note reading makes (curves linearised, Z dropped, a GBK
    shapefile without .cpg, a .cpg that lies, a few values in another encoding, a filter, a zip member,
    unclosed rings) is written in Chinese, not English."""
    import warnings
    import zipfile

    from landgis.config import LayerSpec
    from landgis.io import note_zh, read_vector

    _curved_gpkg(tmp_path / "curve.gpkg")
    z = gpd.GeoDataFrame({"ZDDM": ["A1", "A2"], "QLR": ["某村", "新寨村"]},
                         geometry=[shapely.force_3d(shapely.box(0, 0, 10, 10), 5.0),
                                   shapely.force_3d(shapely.box(20, 0, 30, 10), 5.0)], crs=4546)
    z.to_file(tmp_path / "gbk.shp", encoding="GBK")
    (tmp_path / "gbk.cpg").unlink(missing_ok=True)
    z.to_file(tmp_path / "lies.shp", encoding="GBK")
    (tmp_path / "lies.cpg").write_text("UTF-8", encoding="ascii")
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        for part in tmp_path.glob("gbk.*"):
            zf.write(part, f"inner/{part.name}")
    (tmp_path / "open.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"ZDDM": "B1"}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10]]]}}]}', encoding="utf-8")
    notes: list[str] = []
    for spec in (LayerSpec("parcels", tmp_path / "curve.gpkg"), LayerSpec("parcels", tmp_path / "gbk.shp",
                                                                        where="ZDDM = 'A1'"),
                 LayerSpec("parcels", tmp_path / "lies.shp"), LayerSpec("parcels", tmp_path / "z.zip"),
                 LayerSpec("parcels", tmp_path / "open.geojson", crs="EPSG:4546")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notes += read_vector(spec)[1]
    kinds = {"linearised", "Z (height)", "has no .cpg", "has a .cpg that says", "selected", "read inner/",
             "unclosed"}
    assert all(any(k in n for n in notes) for k in kinds), notes
    assert [n for n in notes if not note_zh(n)] == []
