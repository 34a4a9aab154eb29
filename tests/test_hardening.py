"""The bad-input catalogue: each entry's behaviour, message and exit code (no traceback)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import landgis
import landgis.report
from landgis.cli import main
from landgis.config import load_project
from landgis.errors import GeometryRepairWarning, InputError, OutputError
from landgis.load import load_layers
from landgis.pipeline import screen_layers
from tests.planted import Case, build_project

pytestmark = pytest.mark.filterwarnings("ignore::landgis.errors.SkippedRuleWarning")

X, Y = 420_000.0, 2_790_000.0


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def geojson(path: Path, features: list[dict], crs: str | None = "EPSG:4546") -> Path:
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:{crs.replace(':', '::')}"}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def feature(zddm, coords, kind="Polygon"):
    geometry = None if coords is None else {"type": kind, "coordinates": coords}
    return {"type": "Feature", "properties": {"ZDDM": zddm}, "geometry": geometry}


def square(x, y=Y, size=20.0, close=True):
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]
    return [ring + [ring[0]]] if close else [ring]


def project_file(folder: Path, parcels: str, extra: str = "") -> Path:
    path = folder / "p.toml"
    path.write_text(f'[project]\nname = "h"\ncrs = "EPSG:4546"\n[layers.parcels]\npath = "{parcels}"\n{extra}',
                    encoding="utf-8")
    return path


# ------------------------------------------------------------ geometries


def test_unusable_parcel_geometries_are_kept_as_geometry_rows(tmp_path):
    spike = [[[X + 300, Y], [X + 320, Y], [X + 320, Y + 20], [X + 310, Y + 20], [X + 310, Y + 40],
              [X + 310, Y + 20], [X + 300, Y + 20], [X + 300, Y]]]
    dup = [[[X + 400, Y], [X + 420, Y], [X + 420, Y], [X + 420, Y + 20], [X + 400, Y + 20], [X + 400, Y]]]
    cw = [[[X + 500, Y], [X + 500, Y + 20], [X + 520, Y + 20], [X + 520, Y], [X + 500, Y]]]
    geojson(tmp_path / "zd.geojson", [
        feature("unclosed", square(X, close=False)), feature("null", None),
        feature("point", [X + 200, Y], "Point"), feature("line", [[X, Y], [X + 5, Y + 5]], "LineString"),
        feature("spike", spike), feature("dup_vertex", dup), feature("clockwise", cw),
        feature("empty", [], "Polygon"),
    ])
    with pytest.warns(GeometryRepairWarning):
        res = landgis.screen(project_file(tmp_path, "zd.geojson"))
    t = res.table.set_index("parcel_id")
    assert list(t.index) == ["unclosed", "null", "point", "line", "spike", "dup_vertex", "clockwise", "empty"]
    assert t.loc["unclosed", "area_m2"] == 400.0 and t.loc["unclosed", "geometry_status"] == "ok"
    assert t.loc["spike", "area_m2"] == 400.0 and t.loc["spike", "geometry_status"] == "repaired"
    assert t.loc["dup_vertex", "area_m2"] == 400.0 and t.loc["clockwise", "area_m2"] == 400.0
    for bad, status in [("null", "null"), ("point", "not_polygon"), ("line", "not_polygon"), ("empty", "empty")]:
        assert t.loc[bad, "verdict"] == "ineligible" and t.loc[bad, "reasons"] == "GEOMETRY", bad
        assert t.loc[bad, "geometry_status"] == status
    notes = " ".join(str(p) for p in res.problems)
    # said once, with the count (GDAL warns once per ring)
    assert [p.message for p in res.problems if "unclosed" in p.message] == \
        ["1 unclosed polygon ring(s) were closed while reading"]
    assert "1 features without geometry" in notes and "null" in notes


def test_bad_geometries_in_a_constraint_layer_are_dropped_and_counted(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X)), feature("B", square(X + 100))])
    geojson(tmp_path / "f.geojson", [feature("1", square(X - 10, Y - 10, 30)), feature("2", None),
                                     feature("3", [X + 100, Y], "Point")])
    res = landgis.screen(project_file(tmp_path, "zd.geojson", '[layers.farmland]\npath = "f.geojson"\n'))
    assert res.table["farmland_m2"].tolist() == [400.0, 0.0]
    text = " ".join(str(p) for p in res.problems if p.layer == "farmland")
    assert "1 features without geometry; left out of the overlay" in text
    assert "1 features that are points or lines" in text


# ------------------------------------------------------------ ids, fields, layers


def test_duplicate_and_missing_ids_keep_every_row(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X)), feature("A", square(X + 100)),
                                      feature(None, square(X + 200))])
    res = landgis.screen(project_file(tmp_path, "zd.geojson"))
    assert res.table["parcel_id"].tolist() == ["A", "A", "(row 3)"]
    text = " ".join(str(p) for p in res.problems)
    assert "2 parcels share an id" in text and "1 parcel(s) have no id" in text


def test_no_id_field_suggests_mapping(tmp_path):
    frame = gpd.GeoDataFrame({"DKBH": ["1"]}, geometry=[shapely.box(X, Y, X + 20, Y + 20)], crs=4546)
    frame.to_file(tmp_path / "zd.gpkg")
    result = cli("screen", project_file(tmp_path, "zd.gpkg"), "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert "no parcel id field (ZDDM or BSM)" in result.output and "DKBH" in result.output


def test_empty_parcels_layer_is_an_error(tmp_path):
    gpd.GeoDataFrame({"ZDDM": []}, geometry=gpd.GeoSeries([], crs=4546)).to_file(tmp_path / "zd.gpkg")
    result = cli("validate", project_file(tmp_path, "zd.gpkg"))
    assert result.exit_code == 2 and "holds no feature: there is nothing to screen" in result.output


def test_empty_and_far_away_layers_are_warned(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X))])
    gpd.GeoDataFrame({"BSM": []}, geometry=gpd.GeoSeries([], crs=4546)).to_file(tmp_path / "e.gpkg")
    geojson(tmp_path / "far.geojson", [feature("1", square(X + 50_000))])
    path = project_file(tmp_path, "zd.geojson", '[layers.farmland]\npath = "e.gpkg"\n'
                                                 '[layers.redline]\npath = "far.geojson"\n')
    result = cli("validate", path)
    assert result.exit_code == 0
    assert "layer `farmland`: is empty" in result.output
    assert "layer `redline`: does not overlap the parcels at all" in result.output
    assert "wrong CRS suspected" in result.output


def test_missing_file_and_missing_layer(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X))])
    result = cli("validate", project_file(tmp_path, "zd.geojson", '[layers.farmland]\npath = "nope.gpkg"\n'))
    assert result.exit_code == 2 and "nope.gpkg does not exist" in result.output and "[layers.farmland]" in result.output
    gpd.GeoDataFrame({"BSM": ["1"]}, geometry=[shapely.box(X, Y, X + 1, Y + 1)], crs=4546).to_file(
        tmp_path / "two.gpkg", layer="jbnt")
    gpd.GeoDataFrame({"BSM": ["1"]}, geometry=[shapely.box(X, Y, X + 1, Y + 1)], crs=4546).to_file(
        tmp_path / "two.gpkg", layer="hx")
    result = cli("validate", project_file(tmp_path, "zd.geojson", '[layers.farmland]\npath = "two.gpkg"\n'))
    assert result.exit_code == 2 and "holds 2 layers" in result.output and "jbnt, hx" in result.output


@pytest.mark.parametrize(("name", "says"), [
    ("erdiao.mdb", "ESRI personal geodatabase (二调 data is often delivered so)"),
    ("zd.dwg", "a CAD drawing, whose parcels are lines, not polygons"),
])
def test_formats_gdal_cannot_read_polygons_from_say_how_to_convert_them(tmp_path, name, says):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X))])
    (tmp_path / name).write_bytes(b"\0" * 64)
    result = cli("validate", project_file(tmp_path, "zd.geojson", f'[layers.survey_2009]\npath = "{name}"\n'))
    assert result.exit_code == 2 and f"layer `survey_2009`: {name} is not a vector format landgis reads" in result.output
    assert says in result.output and ("ogr2ogr -f GPKG" in result.output or "export the 宗地 as polygons" in result.output)


def test_mixed_crs_across_layers_give_the_same_areas(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X)), feature("B", square(X + 100))])
    farmland = gpd.GeoDataFrame({"BSM": ["1"]}, geometry=[shapely.box(X - 5, Y - 5, X + 10, Y + 30)], crs=4546)
    farmland.to_crs(4525).to_file(tmp_path / "f_prefixed.gpkg")   # zone-prefixed eastings
    farmland.to_crs(4490).to_file(tmp_path / "f_degrees.gpkg")    # geographic CGCS2000
    for name in ("f_prefixed.gpkg", "f_degrees.gpkg"):
        res = landgis.screen(project_file(tmp_path, "zd.geojson", f'[layers.farmland]\npath = "{name}"\n'))
        np.testing.assert_allclose(res.table["farmland_m2"], [200.0, 0.0], atol=1e-4)


# ------------------------------------------------------------ project and profile files


@pytest.mark.parametrize("text, message", [
    ('[project]\nname = 3\n[layers.parcels]\npath = "x.gpkg"\n', "`name` must be a string"),
    ('[project]\n[layers.parcel]\npath = "x.gpkg"\n', "no [layers.parcels]"),
    ('[project]\n[layers.parcels]\npath = "x.gpkg"\n[layers.farmlnd]\npath = "y"\n', "did you mean `farmland`"),
    ('[project]\n[layers.parcels]\npath = "x.gpkg"\n[tolerance]\nmin_overlap_m2 = -1\n', "must be a number ≥ 0"),
    ('[project\n', "is not valid TOML"),
])
def test_project_file_errors(tmp_path, text, message):
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    result = cli("validate", tmp_path / "p.toml")
    assert result.exit_code == 2 and message in result.output


@pytest.mark.parametrize("profile, message", [
    ('[profile]\nid = "x"\nextends = "guilin"\n[[rules]]\nid = "UDB"\noutcome = "maybe"\n', "outcome 'maybe'"),
    ('[profile]\nid = "x"\nextends = "guilin"\n[[rules]]\nid = "NEW"\ntitle_zh = "新"\nsource = "x"\n'
     'outcome = "exclude"\nwhen = { fact = "farmland_m3", above = 1 }\n', "unknown fact(s) farmland_m3"),
    ('[profile]\nid = "x"\nextends = "guilin"\n[[rules]]\nid = "UDB"\nwhen = { fact = "udb_m2", abov = 1 }\n',
     "unknown key(s) abov"),
    ('[profile]\nid = "x"\nextends = "guilin"\n[settings]\ndisable = ["NOPE"]\n', "disable: no rule NOPE"),
    ('[profile]\nid = "x"\nextends = "guilni"\n', "did you mean `guilin`"),
])
def test_profile_file_errors(tmp_path, profile, message):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X))])
    (tmp_path / "mine.toml").write_text(profile, encoding="utf-8")
    path = project_file(tmp_path, "zd.geojson")
    path.write_text(path.read_text(encoding="utf-8").replace('name = "h"', 'name = "h"\nprofile = "mine.toml"'),
                    encoding="utf-8")
    result = cli("screen", path, "--out", tmp_path / "o")
    assert result.exit_code == 2 and message in result.output


# ------------------------------------------------------------ outputs and faults


def test_output_path_is_a_file(tmp_path):
    (tmp_path / "o").write_text("x")
    result = cli("screen", Path(__file__).parents[1] / "data" / "sample_county.toml", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "is a file, not a folder" in result.output


def test_unwritable_destination_fails_before_any_work():
    with pytest.raises(OutputError, match="cannot write to /proc"):
        landgis.io.check_output_dir(Path("/proc/landgis-out"), overwrite=False)


def test_interrupted_write_leaves_nothing_that_looks_finished(tmp_path, monkeypatch):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X))])
    res = landgis.screen(project_file(tmp_path, "zd.geojson"))

    def boom(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr("landgis.report.write_xlsx", boom)
    with pytest.raises(KeyboardInterrupt):
        res.write(tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


def test_spreadsheet_cells_are_never_formulas(tmp_path):
    frame = gpd.GeoDataFrame({"ZDDM": ["=1+1", "+SUM(A1)", "-2", "@cmd"], "QLR": ["=HYPERLINK(\"x\")", "a", "b", "c"]},
                             geometry=[shapely.box(X + i * 50, Y, X + i * 50 + 20, Y + 20) for i in range(4)], crs=4546)
    frame.to_file(tmp_path / "zd.gpkg")
    res = landgis.screen(project_file(tmp_path, "zd.gpkg"))
    res.write(tmp_path / "out", map_html=False)
    ws = openpyxl.load_workbook(tmp_path / "out" / "inventory.xlsx")["入市地块清单"]
    ids = [ws.cell(row=r, column=1) for r in range(2, 6)]
    assert [c.value for c in ids] == ["=1+1", "+SUM(A1)", "-2", "@cmd"]
    assert all(c.data_type == "s" for c in ids)
    owner_col = [c.value for c in ws[1]].index("权利人") + 1
    assert ws.cell(row=2, column=owner_col).data_type == "s"


def test_spreadsheet_text_round_trips_markup_and_drops_control_characters(tmp_path):
    owners = ["A&B <村> 'x' \"y\"", "tab\there", "bell\x07gone", None, "张三 &amp; 李四"]
    frame = gpd.GeoDataFrame({"ZDDM": [f"P{i}" for i in range(5)], "QLR": owners},
                             geometry=[shapely.box(X + i * 50, Y, X + i * 50 + 20, Y + 20) for i in range(5)], crs=4546)
    frame.to_file(tmp_path / "zd.gpkg")
    res = landgis.screen(project_file(tmp_path, "zd.gpkg"))
    res.write(tmp_path / "out", map_html=False)
    ws = openpyxl.load_workbook(tmp_path / "out" / "inventory.xlsx")["入市地块清单"]
    owner_col = [c.value for c in ws[1]].index("权利人") + 1
    assert [ws.cell(row=r, column=owner_col).value for r in range(2, 7)] == [
        "A&B <村> 'x' \"y\"", "tab\there", "bellgone", "", "张三 &amp; 李四"]  # a missing owner loads as ""


def test_spreadsheet_error_while_making_rows_reaches_the_caller(tmp_path, monkeypatch):
    # the sheet XML is made in a helper thread; its failure must surface, not hang or vanish
    geojson(tmp_path / "zd.geojson", [feature("A", square(X))])
    res = landgis.screen(project_file(tmp_path, "zd.geojson"))

    def broken(values, strings=None):
        raise RuntimeError("cell maker broke")

    monkeypatch.setattr("landgis.io.xlsx._column_cells", broken)
    with pytest.raises(RuntimeError, match="cell maker broke"):
        landgis.report.write_xlsx(res, tmp_path / "x.xlsx")
    assert not [t for t in threading.enumerate() if t.name == "xlsx-xml"]


def test_geopackage_bulk_settings_are_restored_even_when_the_write_fails(tmp_path, monkeypatch):
    import pyogrio

    from landgis import io
    from landgis.io import _gdal

    frame = gpd.GeoDataFrame(geometry=[shapely.box(X, Y, X + 20, Y + 20)], crs=4546)
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "FULL"})
    seen = {}
    try:
        if _gdal.available():  # GDAL called directly: the settings are the writing thread's own
            lib = _gdal._lib()

            def failing_gdal(*args, **kwargs):
                seen.update({key: lib.CPLGetConfigOption(key.encode(), None) for key in io.GPKG_WRITE_CONFIG})
                raise OSError("disk full")

            monkeypatch.setattr(_gdal, "_write", failing_gdal)
            with pytest.raises(OSError, match="disk full"):
                io.write_gpkg({"parcels": frame}, tmp_path / "s.gpkg")
            assert seen == {"OGR_SQLITE_SYNCHRONOUS": b"OFF", "OGR_SQLITE_PRAGMA": b"page_size=16384"}  # while writing
            assert lib.CPLGetThreadLocalConfigOption(b"OGR_SQLITE_SYNCHRONOUS", None) is None
            assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == "FULL"  # the caller's, back
            seen.clear()
            monkeypatch.setattr(_gdal, "available", lambda: False)

        def failing_write(*args, **kwargs):
            seen.update({key: pyogrio.get_gdal_config_option(key) for key in io.GPKG_WRITE_CONFIG})
            raise OSError("disk full")

        monkeypatch.setattr(pyogrio, "write_dataframe", failing_write)
        with pytest.raises(OSError, match="disk full"):
            io.write_gpkg({"parcels": frame}, tmp_path / "s.gpkg")
        assert seen == {"OGR_SQLITE_SYNCHRONOUS": False, "OGR_SQLITE_PRAGMA": "page_size=16384"}  # while writing
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == "FULL"  # the caller's, back
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": None})


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1))
def test_multipolygon_wkb_is_geos_wkb_byte_for_byte(seed):
    # polygons with and without holes, multipolygons of up to three parts, empties and missing
    # geometries in any order, at zone-prefixed eastings: the same bytes as GEOS's writer
    from landgis.io.gpkg import multipolygon_wkb

    rng = np.random.default_rng(seed)

    def polygon():
        x, y = 37_500_000 + rng.uniform(0, 1e4), 2_800_000 + rng.uniform(0, 1e4)
        shell = shapely.Point(x, y).buffer(rng.uniform(5, 50), quad_segs=int(rng.integers(1, 9)))
        return shell.difference(shapely.Point(x, y).buffer(2)) if rng.random() < 0.3 else shell

    def geometry():
        kind = rng.integers(0, 6)
        if kind == 0:
            return [None, shapely.Polygon(), shapely.MultiPolygon()][int(rng.integers(0, 3))]
        if kind < 3:
            return shapely.MultiPolygon([polygon() for _ in range(int(rng.integers(1, 4)))])
        return polygon()

    geoms = np.array([geometry() for _ in range(int(rng.integers(1, 30)))], dtype=object)
    promoted = geoms.copy()
    single = shapely.get_type_id(geoms) == 3
    promoted[single] = shapely.multipolygons(np.atleast_2d(geoms[single]), axis=0)
    assert multipolygon_wkb(geoms).to_pylist() == shapely.to_wkb(promoted).tolist()


def test_multipolygon_wkb_leaves_what_it_cannot_write_to_geos():
    from landgis.io.gpkg import multipolygon_wkb

    assert multipolygon_wkb(np.array([shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (1, 1)])])) is None
    assert multipolygon_wkb(np.array([shapely.Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 2)])])) is None


def test_geopackage_written_by_gdal_directly_equals_pyogrios(sample_result, tmp_path, monkeypatch):
    # the GIL-free writer (landgis._gdal) and pyogrio.write_dataframe give the same layers:
    # fields and their types, geometry type, CRS, every value and every vertex
    import pyogrio

    from landgis import io
    from landgis.io import _gdal

    if not _gdal.available():
        pytest.skip("GDAL's Arrow write API is not reachable here; pyogrio writes (covered elsewhere)")
    layers = {"parcels": sample_result.inventory, "conflicts": sample_result.conflicts}

    def not_here(*args, **kwargs):
        raise AssertionError("pyogrio wrote the GeoPackage: the direct writer was not used")

    with monkeypatch.context() as direct_only:
        direct_only.setattr(pyogrio, "write_dataframe", not_here)
        io.write_gpkg(layers, tmp_path / "direct.gpkg")
    monkeypatch.setattr(_gdal, "available", lambda: False)
    io.write_gpkg(layers, tmp_path / "pyogrio.gpkg")
    for name, source in layers.items():
        a = pyogrio.read_info(tmp_path / "direct.gpkg", layer=name)
        b = pyogrio.read_info(tmp_path / "pyogrio.gpkg", layer=name)
        for key in ("fields", "dtypes", "geometry_type", "crs", "features", "encoding"):
            assert np.array_equal(a[key], b[key]) if key in ("fields", "dtypes") else a[key] == b[key], key
        assert a["features"] == len(source) and a["geometry_type"] == "MultiPolygon"
        direct = pyogrio.read_dataframe(tmp_path / "direct.gpkg", layer=name)
        ref = pyogrio.read_dataframe(tmp_path / "pyogrio.gpkg", layer=name)
        pd.testing.assert_frame_equal(direct.drop(columns="geometry"), ref.drop(columns="geometry"))
        assert shapely.equals_exact(direct.geometry.values, ref.geometry.values, 0).all()
    for written in ("direct", "pyogrio"):  # the bulk settings reached SQLite either way
        with contextlib.closing(sqlite3.connect(tmp_path / f"{written}.gpkg")) as db:
            assert db.execute("PRAGMA page_size").fetchone() == (16384,), written
    # an empty layer (no conflicts) and a mixed one are typed as pyogrio types them
    odd = {"empty": sample_result.conflicts.iloc[:0],
           "mixed": gpd.GeoDataFrame({"n": [1, 2]}, geometry=[shapely.box(X, Y, X + 1, Y + 1), shapely.Point(X, Y)],
                                     crs=4546),
           "geometry_only": gpd.GeoDataFrame(geometry=[shapely.box(X, Y, X + 1, Y + 1), None], crs=4546)}
    monkeypatch.undo()
    io.write_gpkg(odd, tmp_path / "odd-direct.gpkg")
    monkeypatch.setattr(_gdal, "available", lambda: False)
    io.write_gpkg(odd, tmp_path / "odd-pyogrio.gpkg")
    for name in odd:
        a = pyogrio.read_info(tmp_path / "odd-direct.gpkg", layer=name)
        b = pyogrio.read_info(tmp_path / "odd-pyogrio.gpkg", layer=name)
        assert (a["geometry_type"], a["features"], list(a["fields"])) == (b["geometry_type"], b["features"],
                                                                         list(b["fields"])), name
    # a spatial index, as pyogrio makes, for QGIS on a county's 150k parcels
    assert pyogrio.read_info(tmp_path / "direct.gpkg", layer="parcels")["capabilities"]["fast_spatial_filter"]


def test_geopackage_write_errors_name_the_file_and_gdals_reason(tmp_path):
    from landgis import io
    from landgis.io import _gdal

    if not _gdal.available():
        pytest.skip("GDAL's Arrow write API is not reachable here")
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(X, Y, X + 20, Y + 20)], crs=4546)
    with pytest.raises(landgis.errors.GdalWriteError, match=r"cannot create .*nowhere/s\.gpkg"):
        io.write_gpkg({"parcels": frame}, tmp_path / "nowhere" / "s.gpkg")
    # an error inside a layer is the one reported, not a later one from closing the file
    (schema, batches), geom, gtype, _ = io.gpkg._gpkg_batches(frame)
    with pytest.raises(landgis.errors.GdalWriteError, match="layer parcels: GDAL cannot read its CRS 'not a CRS'"):
        _gdal.write_layers(tmp_path / "bad.gpkg", [("parcels", (schema, batches), geom, gtype, "not a CRS")])


# ------------------------------------------------------------ invariants


PROP_CASES = [Case("ok"), Case("agri", survey=[((0, 0, 20, 40), "0103"), ((20, 0, 40, 40), "0601")]),
              Case("farm", farmland=[(10, 10, 25, 30)]), Case("udb", udb=[(0, 0, 18, 40)]),
              Case("legacy", attrs={"PZWH": "", "JCNF": 2005}),
              Case("mixed_zoning", zoning=[((0, 0, 19, 40), "0901"), ((19, 0, 40, 40), "100101")])]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = build_project(PROP_CASES, tmp_path_factory.mktemp("prop"))
    project = load_project(path)
    return project, load_layers(project)


def _run(project, loaded_layers):
    res = screen_layers(loaded_layers, project, landgis.load_profile("national"))
    return res.table.set_index("parcel_id")


def test_row_order_vertex_order_and_start_vertex_do_not_matter(loaded):
    project, base = loaded
    ref = _run(project, base)
    layers = dict(base.layers)
    parcels = layers["parcels"].iloc[::-1].reset_index(drop=True)
    parcels["geometry"] = [shapely.reverse(shapely.Polygon(np.roll(np.asarray(g.exterior.coords)[:-1], 2, axis=0)))
                           if g.geom_type == "Polygon" else g for g in parcels.geometry]
    layers["parcels"] = parcels
    for role in ("survey", "zoning", "farmland"):
        layers[role] = layers[role].iloc[::-1].reset_index(drop=True)
    got = _run(project, type(base)(crs=base.crs, layers=layers, problems=[]))
    cols = ["verdict", "reasons", "area_m2", "farmland_m2", "udb_m2", "planned_use", "survey_class", "legacy"]
    assert got.loc[ref.index, cols].equals(ref[cols])


def test_shares_and_overlaps_are_bounded(loaded):
    project, base = loaded
    res = screen_layers(base, project, landgis.load_profile("national"))
    f = res.facts
    for col in ("farmland_m2", "udb_m2", "survey_covered_m2", "zoning_covered_m2"):
        assert (f[col] <= f["area_m2"] + 1e-6).all(), col
    covered = sum(f[f"survey_{c}_m2"] for c in ("construction", "agricultural", "unused", "unknown"))
    np.testing.assert_allclose(covered, f["survey_covered_m2"], atol=1e-6)


def test_another_projected_crs_changes_areas_only_by_scale_error(tmp_path):
    path = build_project(PROP_CASES, tmp_path)
    ref = landgis.screen(path).table
    text = path.read_text(encoding="utf-8").replace('crs = "EPSG:4546"', 'crs = "EPSG:32649"', 1)  # UTM 49N
    path.write_text(text, encoding="utf-8")
    got = landgis.screen(path).table
    assert got["verdict"].tolist() == ref["verdict"].tolist()
    ratio = got["area_m2"][ref["area_m2"] > 0] / ref["area_m2"][ref["area_m2"] > 0]
    assert (abs(ratio - 1) < 2e-3).all()  # UTM k0 = 0.9996 and ~80 km off its meridian


RANK = {"eligible": 0, "conditional": 1, "ineligible": 2}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 40), st.floats(0, 40), st.floats(0.5, 30)),
                min_size=1, max_size=4))
def test_adding_a_constraint_never_makes_a_parcel_more_eligible(loaded, boxes):
    project, base = loaded
    ref = _run(project, base)
    layers = dict(base.layers)
    extra = []
    for cell, x, y, size in boxes:
        ox, oy = X + (cell % 10) * 80, Y + (cell // 10) * 80
        extra.append(shapely.box(ox + x, oy + y, ox + x + size, oy + y + size))
    farmland = layers["farmland"]
    added = gpd.GeoDataFrame({"feature_id": [f"x{i}" for i in range(len(extra))]}, geometry=extra, crs=farmland.crs)
    layers["farmland"] = gpd.GeoDataFrame(pd.concat([farmland, added], ignore_index=True), crs=farmland.crs)
    got = _run(project, type(base)(crs=base.crs, layers=layers, problems=[]))
    assert (got["verdict"].map(RANK) >= ref.loc[got.index, "verdict"].map(RANK)).all()


def test_warnings_are_not_swallowed_silently(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", [[[X, Y], [X + 20, Y + 20], [X + 20, Y], [X, Y + 20], [X, Y]]])])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        landgis.screen(project_file(tmp_path, "zd.geojson"))
    assert any(issubclass(w.category, GeometryRepairWarning) for w in caught)


def test_input_error_lists_everything(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X))])
    path = project_file(tmp_path, "zd.geojson", '[layers.farmland]\npath = "a.gpkg"\n[layers.redline]\npath = "b.gpkg"\n')
    with pytest.raises(InputError) as exc:
        landgis.screen(path)
    assert "a.gpkg does not exist" in str(exc.value) and "b.gpkg does not exist" in str(exc.value)



def test_base_price_from_the_price_zone_covering_most_of_the_parcel(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X)), feature("B", square(X + 100))])
    zones = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4546"}},
             "features": [
                 {"type": "Feature", "properties": {"JZDJ": 320.0, "YT": "工业"}, "geometry": {"type": "Polygon",
                  "coordinates": square(X - 10, Y - 10, 25)}},       # covers 15 × 15 of A
                 {"type": "Feature", "properties": {"JZDJ": 560.0, "YT": "商服"}, "geometry": {"type": "Polygon",
                  "coordinates": [[[X + 15, Y - 10], [X + 150, Y - 10], [X + 150, Y + 30], [X + 15, Y + 30],
                                   [X + 15, Y - 10]]]}},             # 5 × 20 of A, all of B
             ]}
    (tmp_path / "jzdj.geojson").write_text(json.dumps(zones, ensure_ascii=False), encoding="utf-8")
    res = landgis.screen(project_file(tmp_path, "zd.geojson", '[layers.price_zones]\npath = "jzdj.geojson"\n'))
    assert res.table["base_price"].tolist() == [320.0, 560.0]
    assert res.facts["base_price_use"].tolist() == ["工业", "商服"]


def test_town_names_from_the_admin_layer(tmp_path):
    feats = [feature("A", square(X)), feature("B", square(X + 1000))]
    feats[0]["properties"]["ZLDWDM"] = "4503991000010000000"   # code of 城关镇 in the admin layer
    feats[1]["properties"]["ZLDWDM"] = ""                       # no code: found by location
    geojson(tmp_path / "zd.geojson", feats)
    admin = gpd.GeoDataFrame({"XZQDM": ["450399100", "450399101"], "XZQMC": ["城关镇", "五通镇"]},
                             geometry=[shapely.box(X - 50, Y - 50, X + 500, Y + 50),
                                       shapely.box(X + 500, Y - 50, X + 1500, Y + 50)], crs=4546)
    admin.to_file(tmp_path / "xzq.gpkg")
    res = landgis.screen(project_file(tmp_path, "zd.geojson", '[layers.admin]\npath = "xzq.gpkg"\n'))
    assert res.table["town"].tolist() == ["城关镇", "五通镇"]


def test_a_failing_writer_beside_the_others_fails_the_write_and_leaves_nothing(sample_result, tmp_path, monkeypatch):
    # the GeoPackage and then the spreadsheet are written in a thread beside the csv and the
    # map: an error in either lane reaches the caller, the other lane is waited for, and no
    # output appears
    from landgis import io

    def broken_gpkg(layers, path):
        raise OSError("disk full while writing the GeoPackage")

    monkeypatch.setattr(io, "write_gpkg", broken_gpkg)
    with pytest.raises(OSError, match="disk full while writing the GeoPackage"):
        sample_result.write(tmp_path / "a", map_html=False)
    monkeypatch.undo()

    def broken_xlsx(result, path, table=None):
        raise RuntimeError("spreadsheet broke")

    monkeypatch.setattr("landgis.report.write_xlsx", broken_xlsx)
    with pytest.raises(RuntimeError, match="spreadsheet broke"):
        sample_result.write(tmp_path / "b", map_html=False)
    monkeypatch.undo()

    def broken_map(result, **kw):
        raise RuntimeError("map broke")

    monkeypatch.setattr("landgis.maps.web_map", broken_map)
    with pytest.raises(RuntimeError, match="map broke"):
        sample_result.write(tmp_path / "c", map_html=True)
    assert not [p for p in "abc" if (tmp_path / p).exists()]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]           # no temporary folder left
    assert not [t for t in threading.enumerate() if t.name.startswith("landgis-write")]


def test_malloc_is_tuned_once_per_process_and_an_explicit_setting_is_kept(monkeypatch):
    import landgis._runtime as screening

    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(screening.ctypes, "CDLL", lambda name: FakeLibc())
    monkeypatch.setattr(screening, "_malloc_tuned", False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    screening.tune_malloc()
    screening.tune_malloc()
    assert calls == [(-3, 4 << 20)]        # M_MMAP_THRESHOLD, 4 MiB, once
    monkeypatch.setattr(screening, "_malloc_tuned", False)
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    screening.tune_malloc()
    assert calls == [(-3, 4 << 20)]        # the user's own setting wins
