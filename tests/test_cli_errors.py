"""CLI error messages and exit codes for bad layers, project and profile files and --out (no traceback)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

import landgis
from landgis.cli import main
from tests.planted import X, Y, feature, geojson, project_file, square

pytestmark = pytest.mark.filterwarnings("ignore::landgis.errors.SkippedRuleWarning")


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


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


@pytest.mark.parametrize("text, message", [
    ('[project]\nname = 3\n[layers.parcels]\npath = "x.gpkg"\n', "`name` must be a string"),
    ('[project]\n[layers.parcel]\npath = "x.gpkg"\n', "no [layers.parcels]"),
    ('[project]\n[layers.parcels]\npath = "x.gpkg"\n[layers.farmlnd]\npath = "y"\n', "did you mean `farmland`"),
    ('[project]\n[layers.parcels]\npath = "x.gpkg"\n[tolerance]\nmin_overlap_m2 = -1\n', "must be a finite number ≥ 0"),
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


def test_output_path_is_a_file(tmp_path):
    (tmp_path / "o").write_text("x")
    result = cli("screen", Path(__file__).parents[1] / "data" / "sample_county.toml", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "is a file, not a folder" in result.output


def test_a_gbk_console_gets_the_summary_and_the_run_succeeds(tmp_path):
    """A Chinese Windows console (or a scheduled task's redirect) encodes output as GBK, which has no
    ² : the summary prints ``m?`` and the run exits 0 with every output written, not a traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "data" / "sample_county.toml"
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    done = subprocess.run([sys.executable, "-c", "from landgis.cli import main; main()", "screen", str(sample),
                           "--out", str(tmp_path / "out"), "--no-map"], env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode("gbk", "replace")[-2000:]
    text = done.stdout.decode("gbk")
    assert "parcels screened" in text and "m?" in text and "亩" in text
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["inventory.csv", "inventory.xlsx", "screening.gpkg",
                                                                    "screening.json", "supply_plan.csv"]


def test_a_windows_path_in_double_quotes_is_refused_with_the_two_ways_to_write_it(tmp_path):
    from landgis.errors import ProjectError

    path = tmp_path / "p.toml"
    path.write_text('[project]\nname = "x"\n\n[layers.parcels]\npath = "D:\\data\\zd.gpkg"\n', encoding="utf-8")
    with pytest.raises(ProjectError) as exc:
        landgis.load_project(path)
    msg = str(exc.value)
    assert "Unescaped '\\'" in msg and "path = 'D:\\data\\zd.gpkg'" in msg and 'path = "D:/data/zd.gpkg"' in msg


def _validate_errors(path):
    from landgis.validate import validate_project

    return [f"{p.layer}: {p.message}" for p in validate_project(path) if p.severity == "error"]


def test_broken_files_are_named_with_what_is_wrong(tmp_path):
    """A shapefile without its .dbf, an empty file, a profile that is a folder, a truncated DEM: one
    message each, naming the file and the fix, from validate as from screen."""
    frame = gpd.GeoDataFrame({"ZDDM": ["A1"]}, geometry=[shapely.box(X, 2_790_000, X + 20, 2_790_020)], crs=4546)
    frame.to_file(tmp_path / "zd.shp")
    (tmp_path / "zd.dbf").unlink()
    (tmp_path / "empty.gpkg").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    cases = {
        'path = "zd.shp"': "the shapefile zd.shp has no zd.dbf (its attribute table) beside it",
        'path = "empty.gpkg"': "empty.gpkg is an empty file (0 bytes)",
    }
    for layer, message in cases.items():
        (tmp_path / "p.toml").write_text(f'[project]\nname = "x"\nprofile = "national"\n\n[layers.parcels]\n{layer}\n',
                                         encoding="utf-8")
        errors = _validate_errors(tmp_path / "p.toml")
        assert any(message in e for e in errors), errors
        with pytest.raises(landgis.InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            landgis.screen(tmp_path / "p.toml", progress=False)
    (tmp_path / "p.toml").write_text('[project]\nname = "x"\nprofile = "folder"\n\n[layers.parcels]\n'
                                     'path = "empty.gpkg"\n', encoding="utf-8")
    assert any("profile 'folder' is a folder" in e for e in _validate_errors(tmp_path / "p.toml"))


def test_a_truncated_dem_is_found_by_validate_and_before_any_work(tmp_path):
    from tests.planted import Case, build_project

    path = build_project([Case("ok")], tmp_path, profile="taian")
    dem = (tmp_path / "dem.tif").read_bytes()
    (tmp_path / "dem.tif").write_bytes(dem[: len(dem) // 3])
    assert any("dem.tif is truncated or damaged" in e for e in _validate_errors(path))
    with pytest.raises(landgis.InputError, match="dem.tif is truncated or damaged"):
        landgis.screen(path, progress=False)


def test_output_paths_that_cannot_be_written_are_refused_with_the_fix(tmp_path):
    import os

    sample = Path(__file__).resolve().parents[1] / "data" / "sample_county.toml"
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    result = CliRunner().invoke(main, ["screen", str(sample), "--out", str(tmp_path / "dangling")])
    assert result.exit_code == 2 and "is a symbolic link to" in result.output and "does not exist" in result.output
    done = CliRunner().invoke(main, ["screen", str(sample), "--out", str(tmp_path / "out"), "--no-map"])
    assert done.exit_code == 0, done.output
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "out"), str(tmp_path / "out"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is a folder; give the file to write" in result.output
    result = CliRunner().invoke(main, ["map", str(tmp_path / "out"), "--to", str(tmp_path / "out" / "inventory.csv")])
    assert result.exit_code == 2 and "is a file; give a folder to draw the maps in" in result.output


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "cp936"])
def test_validate_map_init_and_rules_run_on_a_chinese_windows_console(tmp_path, encoding):
    """Every command, not only screen, exits 0 whatever the console's code page lacks (², ≥, →, …)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data"
    env = {**os.environ, "PYTHONIOENCODING": encoding}

    def run(*args):
        done = subprocess.run([sys.executable, "-c", "from landgis.cli import main; main()", *map(str, args)],
                              env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, (args, done.stderr.decode(encoding, "replace")[-2000:])
        return done.stdout.decode(encoding) + done.stderr.decode(encoding)

    assert "0 error(s)" in run("validate", data / "sample_county.toml")
    assert "RESTRICTED" in run("rules", "--profile", "yueqing")
    run("screen", data / "sample_county.toml", "--out", tmp_path / "out", "--no-map")
    assert "wrote" in run("map", tmp_path / "out", "--no-overview", "--redline", "--parcels", "450399102003JC00046")
    (tmp_path / "资料").mkdir()
    for name in ("sample_county.gpkg", "sample_dem.tif", "sample_supply_plan.csv"):
        (tmp_path / "资料" / name).write_bytes((data / name).read_bytes())
    assert "wrote" in run("init", tmp_path / "资料")
