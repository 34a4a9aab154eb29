"""A screening remembers its project (screening.json): `landgis map OUT` draws what `screen` drew, and
says when the project or an input changed since."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from landgis.cli import main
from landgis.provenance import changes_since, layer_files, read_record

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    """The sample county copied to a folder of its own and screened there, with its map."""
    here = tmp_path_factory.mktemp("provenance")
    for name in ("sample_county.toml", "sample_county.gpkg", "sample_dem.tif", "sample_supply_plan.csv"):
        shutil.copy(DATA / name, here / name)
    out = here / "out"
    result = CliRunner().invoke(main, ["screen", str(here / "sample_county.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return here, out


def test_the_record_names_the_project_profile_and_every_input_with_its_hash(screened):
    here, out = screened
    record = json.loads((out / "screening.json").read_text(encoding="utf-8"))
    project = here / "sample_county.toml"
    assert record["project"]["path"] == str(project)
    assert record["project"]["sha256"] == hashlib.sha256(project.read_bytes()).hexdigest()
    assert record["profile"] == "guilin"
    assert sorted(record["inputs"]) == sorted(["parcels", "survey", "survey_2009", "farmland", "redline", "udb",
                                               "zoning", "buildings", "approvals", "admin", "price_zones", "dem"])
    assert record["inputs"]["dem"] == [str(here / "sample_dem.tif")]
    files = {e["path"]: e for e in record["files"]}
    assert sorted(files) == [str(here / "sample_county.gpkg"), str(here / "sample_dem.tif")]  # each hashed once
    gpkg = here / "sample_county.gpkg"
    assert files[str(gpkg)]["size"] == gpkg.stat().st_size
    assert files[str(gpkg)]["sha256"] == hashlib.sha256(gpkg.read_bytes()).hexdigest()
    assert changes_since(record) == []


def test_map_without_project_draws_the_screenings_own_map_byte_for_byte(screened, tmp_path):
    _, out = screened
    result = CliRunner().invoke(main, ["map", str(out), "--to", str(tmp_path), "--no-overview"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "map.html").read_bytes() == (out / "map.html").read_bytes()
    assert "drawn without" not in result.output


def test_a_touched_file_is_unchanged_an_edited_one_is_said(tmp_path):
    for name in ("sample_county.toml", "sample_county.gpkg", "sample_dem.tif", "sample_supply_plan.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["screen", str(tmp_path / "sample_county.toml"), "--out", str(out),
                                     "--no-map"]).exit_code == 0
    record = read_record(out)
    dem = tmp_path / "sample_dem.tif"
    os.utime(dem, ns=(dem.stat().st_atime_ns, dem.stat().st_mtime_ns + 5_000_000_000))  # touched: same bytes
    assert changes_since(record) == []
    raw = bytearray(dem.read_bytes())
    raw[-1] ^= 0xFF  # one byte of the last cell changed, same size
    dem.write_bytes(bytes(raw))
    assert [n.split(" changed")[0] for n in changes_since(record)] == [str(dem)]
    project = tmp_path / "sample_county.toml"
    text = project.read_text(encoding="utf-8")
    project.write_text(text.replace('[layers.buildings]\npath = "sample_county.gpkg"\nlayer = "jzw"\n', ""),
                       encoding="utf-8")
    result = CliRunner().invoke(main, ["map", str(out), "--no-overview"])
    assert result.exit_code == 0, result.output
    said = result.output.replace("\n", " ")
    assert f"since the screening: {project} changed" in said
    assert f"{dem} changed" in said
    assert "layer buildings was screened but is no longer in the project" in said
    assert "screen again to bring them together" in said
    (tmp_path / "sample_dem.tif").unlink()
    assert f"{dem} is gone" in changes_since(read_record(out))


def test_a_profile_file_is_recorded_and_used_for_the_maps(tmp_path):
    for name in ("sample_county.toml", "sample_county.gpkg", "sample_dem.tif", "sample_supply_plan.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "mine.toml").write_text('[profile]\nid = "mine"\nname_zh = "本县细则"\nextends = "taian"\n',
                                        encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["screen", str(tmp_path / "sample_county.toml"), "--out", str(out),
                                       "--no-map", "--profile", "mine.toml"])
    assert result.exit_code == 0, result.output
    record = read_record(out)
    assert record["profile"] == str(tmp_path / "mine.toml")
    assert str(tmp_path / "mine.toml") in {e["path"] for e in record["files"]}
    from landgis.maps import read_screening

    assert read_screening(out).profile == "mine 本县细则"  # the profile screened with, not the project's guilin


def test_layer_files_are_a_shapefile_with_its_sidecars_and_a_filegdb_folder(tmp_path):
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        (tmp_path / f"宗地[1]{ext}").write_bytes(b"x")
    (tmp_path / "宗地[1]_备份.dbf").write_bytes(b"x")  # another file's: not part of it
    (tmp_path / "宗地[1].txt").write_bytes(b"x")
    assert [p.name for p in layer_files(tmp_path / "宗地[1].shp")] == [
        "宗地[1].cpg", "宗地[1].dbf", "宗地[1].prj", "宗地[1].shp", "宗地[1].shx"]
    gdb = tmp_path / "三调.gdb"
    (gdb / "sub").mkdir(parents=True)
    (gdb / "a00000001.gdbtable").write_bytes(b"x")
    (gdb / "sub" / "gdb").write_bytes(b"x")
    assert [p.relative_to(gdb).as_posix() for p in layer_files(gdb)] == ["a00000001.gdbtable", "sub/gdb"]
