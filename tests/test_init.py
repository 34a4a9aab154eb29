"""`landgis init`: a delivery folder in, a commented project file out that validates and screens."""

from __future__ import annotations

import importlib.util
import tomllib
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

import landgis
from landgis.cli import main
from landgis.scaffold import init_project

ROOT = Path(__file__).resolve().parents[1]

# numeric DLBM written to a FileGDB as a double, as in the deliveries the tests mimic
pytestmark = pytest.mark.filterwarnings("ignore:Field DLBM of type Integer64:RuntimeWarning")


def _make_delivery(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_delivery", ROOT / "data" / "make_delivery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_delivery(out)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    folder = _make_delivery(tmp_path_factory.mktemp("init") / "桂南县资料")
    result = CliRunner().invoke(main, ["init", str(folder), "--profile", "guilin"])
    assert result.exit_code == 0, result.output
    return folder, result.output


def test_every_role_of_the_delivery_is_found_where_it_is(delivery):
    folder, said = delivery
    project = tomllib.loads((folder / "landgis.toml").read_text(encoding="utf-8"))
    found = {role: (spec["path"], spec.get("layer")) for role, spec in project["layers"].items()}
    assert found == {
        "parcels": ("01宗地数据/ZD.shp", None),                       # GBK shapefile, no .cpg
        "survey": ("02三调成果/2023年度国土变更调查数据库.gdb", "DLTB"),   # 4-character codes
        "survey_2009": ("03二调成果/二调数据库.gdb", "DLTB"),             # also DLTB: 3-digit codes, 二调
        "farmland": ("04三区三线/三区三线划定成果.zip", "YJJBNTTB"),
        "redline": ("04三区三线/三区三线划定成果.zip", "生态保护红线"),   # a Chinese file name in a zip
        "udb": ("04三区三线/三区三线划定成果.zip", "CZKFBJ"),
        "zoning": ("05村庄规划/村庄规划成果.gpkg", "规划用地用海"),
        "buildings": ("07房屋建筑/建筑物.shp", None),
        "approvals": ("06报批供地/批准用地.gpkg", "PZYD"),
        "admin": ("02三调成果/2023年度国土变更调查数据库.gdb", "XZQ"),   # towns, not the village CJDCQ
        "dem": ("08高程/DEM_20m.tif", None),                          # not the orthophoto
    }
    assert project["layers"]["parcels"]["encoding"] == "GB18030"
    assert project["layers"]["parcels"]["fields"] == {
        "town": "XZMC", "registered": "SFQQ", "restricted": "SFXZ", "formed_year": "JCNF", "house_cert": "FWSYQZ",
        "land_use_cert": "JSYDSYZ", "penalized": "CFDW", "street_front": "SFLJ", "retain_buildings": "YXBL",
        "village": "CMC"}  # the village field, over the standard ZLDWMC (坐落单位, often a 村民小组)
    assert project["codes"]["zoning"] == {"070199": {"name": "保障性租赁住房用地", "use": "rental_housing"}}
    assert project["project"] == {"name": "桂南县资料 集体经营性建设用地入市筛查", "profile": "guilin",
                                  "crs": "EPSG:4546"}
    text = (folder / "landgis.toml").read_text(encoding="utf-8")
    assert "# also seen: 02三调成果/2023年度国土变更调查数据库.gdb:CJDCQ" in text
    assert "# no field found for: county_approved (是否经县级人民政府批准" in text
    assert "# [layers.price_zones] 基准地价图层" in text and "# [layers.roads] 道路图层" in text
    assert "not found: price_zones, roads" in said


def test_init_then_screen_gives_the_sample_projects_verdicts(delivery, sample_result, tmp_path):
    folder, _ = delivery
    checked = CliRunner().invoke(main, ["validate", str(folder / "landgis.toml")])
    assert checked.exit_code == 0, checked.output
    assert "0 error(s)" in checked.output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", landgis.errors.LandgisWarning)
        result = landgis.screen(folder / "landgis.toml", progress=False)
    mine = result.table.set_index("parcel_id")
    theirs = sample_result.table.set_index("parcel_id")
    assert list(mine.index) == list(theirs.index)
    for column in ("verdict", "reasons", "legacy", "actions", "planned_use_tag", "area_m2", "farmland_m2"):
        pd.testing.assert_series_equal(mine[column], theirs[column], check_names=False)


def test_an_existing_project_file_is_never_replaced(delivery):
    folder, _ = delivery
    before = (folder / "landgis.toml").read_bytes()
    again = CliRunner().invoke(main, ["init", str(folder)])
    assert again.exit_code == 2 and "does not replace a project file" in again.output
    assert (folder / "landgis.toml").read_bytes() == before


def _dltb(path: Path, layer: str, codes: list[str], crs: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = gpd.GeoDataFrame({"BSM": range(len(codes)), "DLBM": codes, "DLMC": ["x"] * len(codes)},
                             geometry=[box(i * 10, 0, i * 10 + 10, 10) for i in range(len(codes))], crs="EPSG:4546")
    frame.to_crs(crs).to_file(path, layer=layer)


def test_two_layers_named_dltb_are_told_apart_by_codes_and_xian_1980(tmp_path):
    """The 二调 DLTB sits in a folder whose name says nothing, in Xian 1980: its 3-digit codes and its CRS
    say 二调; the 三调's 4-character codes say 三调."""
    folder = tmp_path / "资料"
    _dltb(folder / "a" / "data.gpkg", "DLTB", ["011", "203", "201", "114"] * 5, "EPSG:2383")  # Xian 1980 GK CM 114E
    _dltb(folder / "b" / "data.gpkg", "DLTB", ["0101", "0702", "05H1", "1006"] * 5, "EPSG:4546")
    zd = gpd.GeoDataFrame({"ZDDM": ["450399100001JC00001"], "QLR": ["某村"], "QSXZ": ["30"]},
                          geometry=[box(0, 0, 20, 10)], crs="EPSG:4546")
    zd.to_file(folder / "宗地.gpkg", layer="宗地")
    target, text = init_project(folder)
    layers = tomllib.loads(text)["layers"]
    assert layers["survey"]["path"] == "b/data.gpkg" and layers["survey_2009"]["path"] == "a/data.gpkg"
    assert layers["parcels"] == {"path": "宗地.gpkg", "layer": "宗地"}
    assert "in Xian 1980 / 3-degree Gauss-Kruger CM 114E" in text
    assert "its 4 DLBM codes have at most 3 digits (011, 114, 201)" in text
    # what is not found is said, with the rules the screening then does not check
    assert "# [layers.farmland] 永久基本农田图层" in text
    assert "#   not checked without it, so no parcel can be eligible before it is given (NODATA-…): FARMLAND 占用永久基本农田" in text
    checked = CliRunner().invoke(main, ["validate", str(target)])
    assert "0 error(s)" in checked.output, checked.output


def test_a_local_code_whose_name_says_two_uses_is_left_to_its_national_class(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    zd = gpd.GeoDataFrame({"ZDDM": ["450399100001JC00001"]}, geometry=[box(0, 0, 20, 10)], crs="EPSG:4546")
    zd.to_file(folder / "ZD.shp", encoding="UTF-8")
    ghyt = gpd.GeoDataFrame({"YDYHFLDM": ["090199", "100198", "1001"], "YDYHFLMC": ["商住混合用地", "工业仓储用地", "工业用地"]},
                            geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)], crs="EPSG:4546")
    ghyt.to_file(folder / "村庄规划.gpkg", layer="GHYD")
    _, text = init_project(folder)
    assert "[codes.zoning]" not in text  # neither name says one use: no use is guessed
    assert "#   090199 商住混合用地 (1 patches): read as 0901 商业用地 (commercial)" in text
    assert "#   100198 工业仓储用地 (1 patches): read as 1001 工业用地 (industrial)" in text


def test_a_folder_without_parcels_is_refused_naming_what_it_holds(tmp_path):
    _dltb(tmp_path / "三调" / "x.gpkg", "DLTB", ["0101"] * 3, "EPSG:4546")
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "no layer in" in result.output and "looks like the parcels" in result.output
    assert "三调/x.gpkg:DLTB" in result.output
    assert not (tmp_path / "landgis.toml").exists()


def _frame(n: int, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=[box(i * 10, 0, i * 10 + 10, 10) for i in range(n)], crs="EPSG:4546")


def _parcels(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _frame(1, ZDDM=["450399100001JC00001"], QLR=["某村"]).to_file(folder / "宗地.gpkg", layer="ZD")


def test_deliveries_as_found_in_the_field(tmp_path):
    """Forms a new-user review found init missing: code tables beside the layers of a FileGDB, a 三调
    whose DLBM is a DBF integer (101 for 0101), a 二调 stored as numbers (11.0 for 011), 三区三线
    shapefiles named with the county's code and nothing else to go by, a 2018 年度变更 beside the 二调,
    a zip of two FileGDBs each holding a DLTB, one of them upper-case (.GDB)."""
    import zipfile

    import pyogrio

    root = tmp_path / "资料"
    _parcels(root / "宗地")
    gdb = root / "三调" / "国土调查数据库.gdb"
    gdb.parent.mkdir(parents=True)
    codes_2019 = [101, 702, 1006, 301, 1101, 1201]  # integers: 0101 lost its zero
    pyogrio.write_dataframe(_frame(6, DLBM=codes_2019, DLMC=["x"] * 6), gdb, layer="DLTB", driver="OpenFileGDB")
    pyogrio.write_dataframe(pd.DataFrame({"DM": ["10"], "MC": ["国有"]}), gdb, layer="QSDWDMB",
                            driver="OpenFileGDB", append=True)  # a code table: no geometry
    erdiao = root / "二调" / "土地利用现状数据库.gdb"
    erdiao.parent.mkdir(parents=True)
    pyogrio.write_dataframe(_frame(4, DLBM=[11.0, 203.0, 114.0, 31.0]), erdiao, layer="DLTB", driver="OpenFileGDB")
    change = root / "变更" / "2018年度土地变更调查.gdb"
    change.parent.mkdir(parents=True)
    pyogrio.write_dataframe(_frame(4, DLBM=["011", "203", "114", "031"]), change, layer="DLTB", driver="OpenFileGDB")
    (root / "成果").mkdir()
    for name in ("450399YJJBNTTB", "450399STBHHX", "CZKFBJ_2022"):
        _frame(2, BSM=[1, 2]).to_file(root / "成果" / f"{name}.shp")
    target, text = init_project(root)
    layers = tomllib.loads(text)["layers"]
    assert layers["survey"] == {"path": "三调/国土调查数据库.gdb", "layer": "DLTB"}
    assert layers["survey_2009"] == {"path": "二调/土地利用现状数据库.gdb", "layer": "DLTB"}
    assert "also seen: 变更/2018年度土地变更调查.gdb:DLTB" in text and "a year from 2010 on in its name (2018)" in text
    assert layers["farmland"] == {"path": "成果/450399YJJBNTTB.shp"}
    assert layers["redline"] == {"path": "成果/450399STBHHX.shp"} and layers["udb"] == {"path": "成果/CZKFBJ_2022.shp"}
    assert "QSDWDMB" not in text  # a table, not a layer: neither chosen nor "could not be read"
    checked = CliRunner().invoke(main, ["validate", str(target)])
    assert "0 error(s)" in checked.output, checked.output

    two = tmp_path / "zipped"
    _parcels(two)
    with zipfile.ZipFile(two / "国土调查成果.zip", "w") as zf:
        for folder, name in ((gdb, "三调/国土调查数据库.GDB"), (erdiao, "二调/二调.gdb")):
            for part in folder.iterdir():
                zf.write(part, f"{name}/{part.name}")
    target, text = init_project(two)
    layers = tomllib.loads(text)["layers"]
    assert layers["survey"] == {"path": "国土调查成果.zip/三调/国土调查数据库.GDB", "layer": "DLTB"}
    assert layers["survey_2009"] == {"path": "国土调查成果.zip/二调/二调.gdb", "layer": "DLTB"}
    checked = CliRunner().invoke(main, ["validate", str(target)])
    assert "0 error(s)" in checked.output, checked.output
    assert "survey_2009: 4 features" in checked.output.replace("layer `", "").replace("`", "")


def test_what_could_not_be_read_is_said_when_no_parcels_are_found(tmp_path):
    (tmp_path / "ZD.shp").write_bytes(b"")
    (tmp_path / "地籍.gpkg").write_text("not a GeoPackage", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "could not read: ZD.shp: " in result.output and "ZD.shp is an empty file (0 bytes)" in result.output
    assert "地籍.gpkg: " in result.output
