"""Shapefile text encoding read from the DBF header's field names as well as its records."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

import landgis
from landgis.config import LayerSpec
from landgis.errors import EncodingGuessWarning, LayerError
from landgis.io import read_vector

pytestmark = pytest.mark.filterwarnings("ignore::landgis.errors.SkippedRuleWarning")

X, Y = 420_000.0, 2_790_000.0
CODES = ["1001", "1001", "0701"]


def zoning_frame(name: str = "用地代码") -> gpd.GeoDataFrame:
    """Three 20 m squares with ASCII codes under a Chinese field name."""
    geoms = [shapely.box(X + i * 100, Y, X + i * 100 + 20, Y + 20) for i in range(3)]
    return gpd.GeoDataFrame({name: CODES, "BSM": ["1", "2", "3"]}, geometry=geoms, crs="EPSG:4546")


def write_shp(frame: gpd.GeoDataFrame, path: Path, encoding: str) -> None:
    """Write a shapefile in ``encoding`` and drop the .cpg GDAL writes next to it."""
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    raw = path.with_suffix(".dbf").read_bytes()
    assert all(b < 0x80 for b in raw[int.from_bytes(raw[8:10], "little"):]), "records must be ASCII"


def zip_shp(src: Path, out: Path, folder: str = "2023年成果/规划") -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(src.parent.glob(src.stem + ".*")):
            zf.write(f, f"{folder}/{f.name}")
    return out


@pytest.mark.parametrize("zipped", [False, True], ids=["shp", "zip"])
def test_gbk_field_names_with_ascii_records_are_detected(tmp_path, zipped):
    shp = tmp_path / "ghyt.shp"
    write_shp(zoning_frame(), shp, "GBK")
    path = zip_shp(shp, tmp_path / "ghyt.zip") if zipped else shp
    spec = LayerSpec(role="zoning", path=path, fields={"class_code": "用地代码"})
    with pytest.warns(EncodingGuessWarning, match=r"layer `zoning`: .*decoded as GB18030"):
        frame, notes = read_vector(spec)
    assert list(frame.columns) == ["用地代码", "BSM", "geometry"]
    assert frame["用地代码"].tolist() == CODES
    enc = [n for n in notes if "GB18030" in n]
    assert len(enc) == 1 and "field names" in enc[0] and 'encoding = "GBK"' in enc[0]
    # the caller prefixes notes with the layer: the note itself must not
    assert not any(n.startswith("layer `") for n in notes)


def test_utf8_field_names_without_cpg_stay_utf8(tmp_path, recwarn):
    shp = tmp_path / "ghyt.shp"
    write_shp(zoning_frame("用地码"), shp, "UTF-8")  # 9 bytes: fits the 10-byte DBF name
    frame, _ = read_vector(LayerSpec(role="zoning", path=shp, fields={"class_code": "用地码"}))
    assert list(frame.columns) == ["用地码", "BSM", "geometry"]
    assert frame.attrs["source_fields"] == ["用地码", "BSM"]
    assert not [w for w in recwarn if issubclass(w.category, EncodingGuessWarning)]


def test_gbk_record_note_has_one_prefix(tmp_path):
    shp = tmp_path / "zd.shp"
    frame = zoning_frame("YDYHFLDM").assign(QLR=["大塘村", "新寨村", "石门村"])
    pyogrio.write_dataframe(frame, shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    with pytest.warns(EncodingGuessWarning, match="decoded as GB18030"):
        got, notes = read_vector(LayerSpec(role="parcels", path=shp))
    assert got["QLR"].tolist() == ["大塘村", "新寨村", "石门村"]
    assert [n for n in notes if "has no .cpg" in n][0].startswith("zd.shp has no .cpg")


def test_wrong_encoding_is_a_layer_error_saying_what_to_do(tmp_path):
    shp = tmp_path / "ghyt.shp"
    write_shp(zoning_frame(), shp, "GBK")
    with pytest.raises(LayerError, match=r"layer `zoning`.*encoding = \"GBK\" in \[layers.zoning\].*\.cpg"):
        read_vector(LayerSpec(role="zoning", path=shp, encoding="UTF-8"))


def test_chinese_zoning_field_is_usable_through_the_field_mapping(tmp_path):
    parcels = zoning_frame("ZDDM").assign(ZDDM=[f"450399100001JC0000{i}" for i in range(1, 4)])
    parcels.to_file(tmp_path / "zd.gpkg", layer="zd")
    write_shp(zoning_frame(), tmp_path / "ghyt.shp", "GBK")
    text = ('[project]\nname = "t"\nprofile = "national"\ncrs = "EPSG:4546"\n'
            '[layers.parcels]\npath = "zd.gpkg"\n'
            '[layers.zoning]\npath = "ghyt.shp"\n[layers.zoning.fields]\nclass_code = "用地代码"\n')
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    with pytest.warns(EncodingGuessWarning, match="decoded as GB18030"):
        res = landgis.screen(tmp_path / "p.toml", progress=False)
    assert res.facts["zoning_covered_m2"].tolist() == [400.0, 400.0, 400.0]
    assert res.table["planned_use"].tolist() == CODES


def test_arrow_encoding_error_becomes_a_layer_error(tmp_path, monkeypatch):
    shp = tmp_path / "ghyt.shp"
    write_shp(zoning_frame(), shp, "GBK")
    pytest.importorskip("pyarrow")
    monkeypatch.setattr("landgis.io.sources.detect_dbf_encoding", lambda *a: None)  # a layer detection misses
    with pytest.raises(LayerError, match=r"^layer `zoning`: .*not UTF-8\. Set encoding = \"GBK\" "
                                         r"in \[layers.zoning\].*add ghyt\.cpg") as info:
        read_vector(LayerSpec(role="zoning", path=shp))
    assert "use_arrow" not in str(info.value)


@pytest.mark.filterwarnings("ignore:Could not decode error message:RuntimeWarning")  # GDAL, while writing
def test_utf8_field_name_cut_inside_a_character(tmp_path):
    shp = tmp_path / "ghyt.shp"
    write_shp(zoning_frame(), shp, "UTF-8")  # 用地代码 is 12 bytes in UTF-8: GDAL keeps 10
    with pytest.raises(LayerError, match="field name may be cut inside a character"):
        read_vector(LayerSpec(role="zoning", path=shp))


def test_a_geopackage_text_not_in_utf8_is_read_as_gbk_and_said(tmp_path):
    """A register written by a GBK tool into a GeoPackage: one owner's bytes are GBK, the others UTF-8.
    Each value is decoded as it was written (was: ArrowException 'Wrapping … failed')."""
    import sqlite3
    import warnings

    import geopandas as gpd
    import pyogrio
    import shapely

    import landgis

    frame = gpd.GeoDataFrame({"ZDDM": ["A1", "A2"], "QLR": ["大塘村", "x"]},
                             geometry=[shapely.box(500000, 2790000, 500020, 2790020),
                                       shapely.box(500100, 2790000, 500120, 2790020)], crs="EPSG:4546")
    pyogrio.write_dataframe(frame, tmp_path / "zd.gpkg", layer="zd", layer_options={"SPATIAL_INDEX": "NO"})
    con = sqlite3.connect(tmp_path / "zd.gpkg")
    con.execute("update zd set QLR = ? where ZDDM = 'A2'", (sqlite3.Binary("黄泥村".encode("gbk")),))
    con.commit()
    con.close()
    (tmp_path / "p.toml").write_text('[project]\nname = "x"\nprofile = "national"\n\n[layers.parcels]\n'
                                     'path = "zd.gpkg"\n', encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(tmp_path / "p.toml", progress=False)
    assert res.table["owner"].tolist() == ["大塘村", "黄泥村"]
    assert any(p.message == "field QLR: 1 value(s) not in UTF-8, read as GB18030 (GBK); fix them at the source"
               for p in res.problems)


def test_a_utf8_dbf_with_a_few_values_in_another_encoding_is_read_value_by_value(tmp_path):
    """A .cpg that says UTF-8 over a DBF where one value is Latin-1 (café) and one GBK (新寨): the UTF-8 values
    stay right (是/否 read), the GBK one reads as GB18030, the Latin-1 one shows U+FFFD, and each is said with
    its field and feature (was: the whole file read as GB18030, every 是 garbled and refused)."""
    import geopandas as gpd
    import shapely

    from landgis.config import LayerSpec
    from landgis.io import read_vector

    owners = ["某村", "XINZHAI", "cafe!", "东庄村"]
    frame = gpd.GeoDataFrame({"ZDDM": ["A1", "A2", "A3", "A4"], "QLR": owners, "SFQQ": ["是", "否", "是", "否"]},
                             geometry=[shapely.box(i * 30, 0, i * 30 + 20, 20) for i in range(4)], crs=4546)
    frame.to_file(tmp_path / "zd.shp", encoding="UTF-8")
    dbf = tmp_path / "zd.dbf"
    raw = dbf.read_bytes()
    raw = raw.replace(b"XINZHAI", "新寨".encode("gbk") + b"   ").replace(b"cafe!", b"caf\xe9 ")
    dbf.write_bytes(raw)
    got, notes = read_vector(LayerSpec("parcels", tmp_path / "zd.shp"), columns=["ZDDM", "QLR", "SFQQ"])
    assert got["SFQQ"].tolist() == ["是", "否", "是", "否"]
    assert got["QLR"].str.strip().tolist() == ["某村", "新寨", "caf\ufffd", "东庄村"]
    assert "zd.shp: 2 of the 4 records holding non-ASCII text are not UTF-8 (the rest are)" in " ".join(notes)
    assert any(n.startswith("field QLR, features A2, A3: 2 value(s) not in UTF-8 (1 read as GB18030 (GBK); "
                            "1 neither UTF-8 nor GB18030") for n in notes), notes


def test_a_chinese_field_name_mapped_in_the_project_is_read_from_a_mixed_encoding_dbf(tmp_path):
    """The value-by-value read goes through the field names too: 确权 (a DBF name holds 10 bytes), mapped as `registered`, is found
    and read (a byte-for-byte name would match nothing and refuse the layer)."""
    import geopandas as gpd
    import shapely

    import landgis

    frame = gpd.GeoDataFrame({"ZDDM": ["A1", "A2", "A3"], "QLR": ["某村", "XINZHAI", "东庄村"],
                              "确权": ["是", "否", "是"]},
                             geometry=[shapely.box(420000 + i * 30, 2790000, 420020 + i * 30, 2790020)
                                       for i in range(3)], crs=4546)
    frame.to_file(tmp_path / "zd.shp", encoding="UTF-8")
    dbf = tmp_path / "zd.dbf"
    dbf.write_bytes(dbf.read_bytes().replace(b"XINZHAI", "新寨".encode("gbk") + b"   "))
    (tmp_path / "p.toml").write_text('[project]\nname = "m"\nprofile = "national"\ncrs = "EPSG:4546"\n'
                                     '[layers.parcels]\npath = "zd.shp"\n[layers.parcels.fields]\n'
                                     'registered = "确权"\n', encoding="utf-8")
    res = landgis.screen(tmp_path / "p.toml", progress=False)
    table = res.table.set_index("parcel_id")
    assert table["registered"].tolist() == [True, False, True]
    assert table.loc["A2", "owner"].strip() == "新寨"
    assert "OWN-REG" in table.loc["A2", "reasons"] and "OWN-REG" not in table.loc["A1", "reasons"]
