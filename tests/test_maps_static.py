"""Static overview maps, red-line sheets and `landgis map`: real files, checked for content."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from PIL import Image

import landgis
from landgis.cli import main
from landgis.maps import boundary_points, overview_map, redline_sheets
from landgis.maps.static import cjk_font

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_county.toml"


@pytest.fixture(scope="module")
def result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return landgis.screen(SAMPLE)


def _pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes()))


def _no_tofu(record) -> None:
    missing = [str(w.message) for w in record if "missing from font" in str(w.message)]
    assert missing == []


def test_the_cjk_font_is_the_sc_face_of_the_ofl_collection_landgis_fonts_installs(result, tmp_path):
    """landgis[fonts] (in the test extra) brings Noto Sans CJK as a TrueType collection: its
    Simplified Chinese face is the one registered and the one a PDF embeds, not the first (JP) face."""
    from landgis.maps import fonts

    assert fonts._packaged_collection() is not None and cjk_font() == "Noto Sans CJK SC"
    overview_map(result, tmp_path / "overview.pdf")
    names = set(re.findall(rb"/BaseFont\s*/[A-Z]{6}\+([A-Za-z-]+)", (tmp_path / "overview.pdf").read_bytes()))
    assert names == {b"NotoSansCJKsc-Regular"}


def test_without_landgis_fonts_a_system_font_is_found_even_after_the_font_list_was_made(monkeypatch):
    """No packaged font, and a matplotlib font list made before the system font was installed: the
    system's font folders are searched for CJK font files by name, and the family found is used."""
    from matplotlib import font_manager as fm

    from landgis.maps import fonts

    system = [p for p in fm.findSystemFonts() if fonts._CJK_FILES.match(Path(p).name)]
    if not system:
        pytest.skip("this machine has no system CJK font (fonts-noto-cjk)")
    monkeypatch.setattr(fonts, "_packaged_collection", lambda: None)
    monkeypatch.setattr(fm.fontManager, "ttflist", [e for e in fm.fontManager.ttflist
                                                    if e.name not in fonts.CJK_FAMILIES])
    fonts.cjk_font.cache_clear()
    try:
        assert fonts.cjk_font() in fonts.CJK_FAMILIES
    finally:
        fonts.cjk_font.cache_clear()


def test_no_cjk_font_anywhere_is_one_message_saying_what_to_install(monkeypatch):
    from matplotlib import font_manager as fm

    from landgis.errors import FontError
    from landgis.maps import fonts

    monkeypatch.setattr(fonts, "_packaged_collection", lambda: None)
    monkeypatch.setattr(fm.fontManager, "ttflist", [e for e in fm.fontManager.ttflist
                                                    if e.name not in fonts.CJK_FAMILIES])
    monkeypatch.setattr(fm, "findSystemFonts", lambda *a, **k: [])
    fonts.cjk_font.cache_clear()
    try:
        with pytest.raises(FontError, match=r"pip install 'landgis\[fonts\]' \(Noto Sans CJK, SIL Open Font License\)"):
            fonts.cjk_font()
    finally:
        fonts.cjk_font.cache_clear()


def test_overview_png_and_pdf(result, tmp_path):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        overview_map(result, tmp_path / "overview.png", dpi=80)
        overview_map(result, tmp_path / "overview.pdf")
    _no_tofu(record)
    img = Image.open(tmp_path / "overview.png")
    assert img.size == (round(16.54 * 80), round(11.69 * 80))
    px = np.asarray(img.convert("RGB")).reshape(-1, 3)
    colours = {tuple(c) for c in px[::7]}
    assert (26, 152, 80) in colours and (215, 48, 39) in colours   # eligible and ineligible parcels drawn
    pdf = tmp_path / "overview.pdf"
    assert _pages(pdf) == 1
    assert b"NotoSansCJKsc" in pdf.read_bytes()                       # the CJK font is embedded
    if shutil.which("pdftotext"):
        txt = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        for word in ("入市筛查结论图", "可入市", "永久基本农田", "数据日期", "EPSG:4546"):
            assert word in txt


def test_boundary_points_clockwise_from_north_west():
    # a parcel with a hole and a second part; X is northing, Y easting
    outer = shapely.Polygon([(500000, 2800000), (500040, 2800000), (500040, 2800030), (500000, 2800030)],
                            [[(500010, 2800010), (500020, 2800010), (500020, 2800020), (500010, 2800020)]])
    geom = shapely.MultiPolygon([outer, shapely.box(500100, 2800000, 500110, 2800010)])
    t = boundary_points(geom)
    assert t["point"].tolist() == ["J1", "J2", "J3", "J4", "J1", "J5", "J6", "J7", "J8", "J5",
                                   "J9", "J10", "J11", "J12", "J9"]
    first = t.iloc[:4]
    assert first[["x_north", "y_east"]].values.tolist() == [[2800030, 500000], [2800030, 500040],
                                                            [2800000, 500040], [2800000, 500000]]
    assert first["edge_m"].tolist() == [40, 30, 40, 30]
    ring = np.column_stack([t.iloc[:5]["y_east"], t.iloc[:5]["x_north"]])
    assert shapely.Polygon(ring).exterior.is_ccw is False               # clockwise
    assert shapely.Polygon(ring).area == 1200


def test_redline_pdf_pages_and_tables(result, tmp_path):
    inv = result.inventory
    n = shapely.get_num_coordinates(inv.geometry.values)
    holed = inv["parcel_id"].iloc[int(n.argmax())]
    ids = ["450399102003JC00046", holed, inv.loc[inv["verdict"] == "eligible", "parcel_id"].iloc[0]]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        batch = redline_sheets(result, tmp_path / "redline.pdf", ids)
    _no_tofu(record)
    assert batch.page_count == 3 == _pages(tmp_path / "redline.pdf")
    assert [p for p, _ in batch.pages] == ids
    for pid in ids:
        geom = inv.loc[inv["parcel_id"] == pid].geometry.iloc[0]
        table = batch.tables[pid]
        coords = {(round(x, 3), round(y, 3)) for x, y in shapely.get_coordinates(geom)}
        assert set(zip(table["y_east"], table["x_north"], strict=True)) == coords   # every vertex, Y=east, X=north
        rings = [g for part in shapely.get_parts(geom) for g in [part.exterior, *part.interiors]]
        assert abs(table["edge_m"].sum() - sum(r.length for r in rings)) < 0.01
    if shutil.which("pdftotext"):
        txt = subprocess.run(["pdftotext", "-layout", str(tmp_path / "redline.pdf"), "-"], capture_output=True,
                             text=True, check=True).stdout
        row = batch.tables["450399102003JC00046"].iloc[0]
        assert f"{row.x_north:.3f}" in txt and f"{row.y_east:.3f}" in txt
        for word in ("界址点坐标表", "莲塘村股份经济合作社", "3.9578 亩", "永久基本农田：重叠 729.29 平方米",
                     "规划条件", "容积率 ≤1.5；建筑密度 ≤50%；绿地率 ≥15%；建筑限高 ≤24 米"):
            assert word in txt, word
    with pytest.raises(KeyError, match="no usable parcel NOPE"):
        redline_sheets(result, tmp_path / "x.pdf", ["NOPE"])


def test_long_table_continues_on_more_pages(result, tmp_path):
    circle = shapely.Point(421000, 2789000).buffer(30, quad_segs=16)       # 64 boundary points
    inv = result.inventory.copy()
    inv.loc[inv.index[0], "geometry"] = circle
    res = landgis.maps.map_data(result)
    res.inventory = inv
    batch = redline_sheets(res, tmp_path / "long.pdf", [inv["parcel_id"].iloc[0]])
    assert len(batch.tables[inv["parcel_id"].iloc[0]]) == 65
    assert batch.page_count == 2 == _pages(tmp_path / "long.pdf")


def test_cli_map_redraws_without_screening(tmp_path):
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(main, ["-q", "screen", str(SAMPLE), "--out", str(out), "--no-map"]).exit_code == 0
    res = runner.invoke(main, ["map", str(out), "--project", str(SAMPLE), "--redline",
                               "--parcels", "450399102003JC00046"])
    assert res.exit_code == 0, res.output
    for name in ("map.html", "overview.png", "overview.pdf", "redline.pdf"):
        assert (out / name).stat().st_size > 1000, name
    assert _pages(out / "redline.pdf") == 1
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "永久基本农田" in page and "FARMLAND" in page
    again = runner.invoke(main, ["map", str(out), "--no-overview"])
    assert again.exit_code == 2 and "--overwrite" in again.output and "Traceback" not in again.output
    missing = runner.invoke(main, ["map", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "screening.gpkg" in missing.output
    # screening again into the folder: the maps of the earlier screening go (they show its verdicts),
    # and only with --overwrite; a file of the user's stays
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "inventory.csv").unlink()
    for name in ("inventory.xlsx", "screening.gpkg", "screening.json", "supply_plan.csv"):
        (out / name).unlink()
    refused = runner.invoke(main, ["screen", str(SAMPLE), "--out", str(out), "--no-map"])
    assert refused.exit_code == 2 and "already holds map.html, overview.png, overview.pdf, redline.pdf" in refused.output
    rescreened = runner.invoke(main, ["screen", str(SAMPLE), "--out", str(out), "--no-map", "--overwrite"])
    assert rescreened.exit_code == 0, rescreened.output
    assert "removed map.html, overview.png, overview.pdf, redline.pdf of the earlier screening" in rescreened.output
    assert sorted(p.name for p in out.iterdir()) == ["inventory.csv", "inventory.xlsx", "notes.txt", "screening.gpkg",
                                                   "screening.json", "supply_plan.csv"]


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")
def test_dollar_signs_and_underscores_are_drawn_as_written(result, tmp_path):
    """An owner like ``$A_1$ 合作社`` is text, not mathtext: the sheet shows it character for character."""
    from landgis.maps import map_data

    data = map_data(result)
    pid = data.inventory["parcel_id"].iloc[0]
    data.inventory.loc[data.inventory["parcel_id"] == pid, "owner"] = "$A_1$ 合作社_2"
    redline_sheets(data, tmp_path / "r.pdf", [pid])
    txt = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    assert "$A_1$ 合作社_2" in txt


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")
def test_a_sheet_drawn_without_project_uses_the_recorded_one_and_says_unchecked_once_it_is_gone(tmp_path):
    """`landgis map OUT --redline` without --project draws with the project the screening recorded
    (screening.json): the sheet states the overlap as with --project. With that project gone, the sheet
    says each layer is 未核查, never 邻近限制：无, and the command says how to draw them."""
    from click.testing import CliRunner

    from landgis.cli import main

    data = Path(__file__).resolve().parents[1] / "data"
    for name in ("sample_county.toml", "sample_county.gpkg", "sample_dem.tif", "sample_supply_plan.csv"):
        shutil.copy(data / name, tmp_path / name)
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["screen", str(tmp_path / "sample_county.toml"), "--out", str(out),
                                     "--no-map"]).exit_code == 0
    args = ["map", str(out), "--redline", "--no-html", "--no-overview", "--parcels", "450399102003JC00046"]

    def sheet() -> str:
        return subprocess.run(["pdftotext", str(out / "redline.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout.replace("\n", "")

    drawn = CliRunner().invoke(main, args)
    assert drawn.exit_code == 0, drawn.output
    assert f"constraint layers from {tmp_path / 'sample_county.toml'}, the project the screening recorded" \
        in drawn.output
    assert "永久基本农田：重叠 729.29 平方米；生态保护红线：200 米内无；城镇开发边界：200 米内无" in sheet()
    (tmp_path / "sample_county.toml").rename(tmp_path / "moved.toml")
    result = CliRunner().invoke(main, [*args, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert f"the project it was screened from, {tmp_path / 'sample_county.toml'}, is gone: drawn without the " \
        "constraint layers" in result.output and "--project" in result.output
    assert "永久基本农田：未核查（绘图时无此图层）" in sheet()
    assert "邻近限制无" not in sheet().replace(" ", "")


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")
def test_a_long_action_line_wraps_within_the_sheet_and_the_crs_is_written_in_chinese(result, tmp_path):
    """Two actions and many documents make a value longer than the table is wide: it wraps, every word
    stays on the A4 page (595 pt wide), and the 坐标系 line is Chinese, not EPSG's English name."""
    from landgis.maps import map_data

    data = map_data(result)
    pid = data.inventory["parcel_id"].iloc[0]
    long = "办理集体土地所有权确权登记（村集体经济组织申请，不动产登记机构办理）；调整宗地界线，剔除规划为其他用途的部分，" \
           "或按程序调整规划（村集体经济组织、县级自然资源主管部门）；末尾标记"
    data.inventory.loc[data.inventory["parcel_id"] == pid, "actions"] = long
    redline_sheets(data, tmp_path / "r.pdf", [pid], verdicts=("eligible", "conditional", "ineligible"))
    bbox = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(tmp_path / "r.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    page_width = float(re.search(r'<page width="([\d.]+)"', bbox)[1])
    assert max(float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox)) < page_width - 20
    txt = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                         text=True, check=True).stdout.replace("\n", "").replace(" ", "")
    assert "末尾标记" in txt
    assert "CGCS20003度带高斯-克吕格投影中央经线111°E(EPSG:4546)" in txt and "Gauss" not in txt


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")
def test_a_boundary_of_thousands_of_points_gets_one_sheet_that_says_why_it_lists_none(result, tmp_path):
    """A digitised curve of 5,000 vertices is not 5,000 surveyed 界址点: its sheet is one page saying so
    (was: a table of 53 pages and 5,000 labels); a parcel of surveyed points keeps its full table."""
    from landgis.maps import map_data
    from landgis.maps.redline import MAX_TABLE_POINTS

    data = map_data(result)
    inv = data.inventory.copy()
    pid, other = inv["parcel_id"].iloc[0], inv["parcel_id"].iloc[1]
    c = inv.geometry.iloc[0].centroid
    t = np.linspace(0, 2 * np.pi, 5000, endpoint=False)
    inv.loc[inv["parcel_id"] == pid, "geometry"] = shapely.Polygon(np.c_[c.x + 20 * np.cos(t), c.y + 20 * np.sin(t)])
    data.inventory = inv
    batch = redline_sheets(data, tmp_path / "r.pdf", [pid, other], verdicts=("eligible", "conditional", "ineligible"))
    assert batch.untabled == [pid] and 5000 > MAX_TABLE_POINTS
    assert [p for p, _ in batch.pages].count(pid) == 1
    assert len(batch.tables[pid]) == 5001  # the API still gives every point
    txt = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                         check=True).stdout.replace("\n", "")
    assert f"本宗地边界有 5,000 个点，多于红线图可列的 {MAX_TABLE_POINTS:,} 个" in txt
    assert "图上每 42 点标注一次" in txt
    n_other = batch.tables[other]["point"].nunique()
    assert f"界址点坐标表（共 {n_other} 点；X 为北坐标，Y 为东坐标）" in txt


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")
def test_a_sheet_to_file_names_its_rules_areas_legend_and_maker_and_claims_no_survey(tmp_path):
    """The conclusion gives each rule's Chinese name, the conflicting part its area, every fill and hatch
    drawn a legend entry, the footer the 制图单位 of [project] organisation with places to sign, the subtitle
    no 勘测定界; a 4-point table stays whole in one block (was: split 3 + 2)."""
    import warnings

    data = Path(__file__).resolve().parents[1] / "data"
    for name in ("sample_county.gpkg", "sample_dem.tif", "sample_supply_plan.csv"):
        shutil.copy(data / name, tmp_path / name)
    text = (data / "sample_county.toml").read_text(encoding="utf-8")
    (tmp_path / "p.toml").write_text(text.replace('crs = "EPSG:4546"\n', 'crs = "EPSG:4546"\n'
                                                  'organisation = "桂南县自然资源局"\n', 1), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(tmp_path / "p.toml", progress=False)
    redline_sheets(res, tmp_path / "r.pdf", ["450399102003JC00046"])
    raw = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                         check=True).stdout
    txt = raw.replace("\n", "")
    assert "不可入市：占用永久基本农田（FARMLAND）" in txt
    assert "东至：永久基本农田；南至：规划一类工业用地（100101）；西至：规划一类工业用地（100101）；北至" in txt
    assert "冲突部分面积" in txt and "占用永久基本农田（FARMLAND）729.29 平方米" in txt
    legend = raw[raw.index("本宗地界线"):raw.index("界址点坐标表")].split()[:6]
    assert legend[:4] == ["本宗地界线", "界址点", "永久基本农田", "冲突部分"]  # only what this sheet draws
    assert "生态保护红线" not in legend and "相邻宗地" not in legend
    assert "制图单位：桂南县自然资源局" in txt and "审核：" in txt and "制图：landgis" not in txt
    assert "非勘测定界成果" in txt and "勘测定界红线图" not in txt
    words = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                           check=True).stdout
    table = re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>(J\d)</word>', words)
    title = float(re.search(r'yMin="([\d.]+)"[^>]*>界址点坐标表', words).group(1))
    rows = [(round(float(x)), w) for x, y, w in table if float(y) > title]  # the table's, not the map's labels
    assert [w for _, w in rows] == ["J1", "J2", "J3", "J4", "J1"] and len({x for x, _ in rows}) == 1


def test_split_by_town_writes_one_pdf_per_town_with_a_progress_per_sheet(result, tmp_path):
    """`landgis map --redline --split town`: one redline-<乡镇>.pdf per town holding exactly its parcels; the
    screening folder's stale-map cleanup knows them; redline_sheets reports each sheet to a progress callback."""
    from landgis.maps import map_data
    from landgis.maps.redline import sheet_parcels, split_by_town

    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["-q", "screen", str(SAMPLE), "--out", str(out), "--no-map"]).exit_code == 0
    wanted = sheet_parcels(map_data(result))
    groups = split_by_town(map_data(result), wanted)
    assert sorted(groups) == ["redline-两江镇.pdf", "redline-五通镇.pdf", "redline-会仙镇.pdf", "redline-城关镇.pdf"]
    assert sorted(p for ids in groups.values() for p in ids) == sorted(wanted)
    town = result.inventory.set_index("parcel_id")["town"]
    assert all(set(town[ids]) == {name[8:-4]} for name, ids in groups.items())
    few = {name: ids[:2] for name, ids in groups.items()}
    args = ["map", str(out), "--no-html", "--no-overview", "--redline", "--split", "town",
            "--parcels", ",".join(p for ids in few.values() for p in ids)]
    drawn = CliRunner().invoke(main, args)
    assert drawn.exit_code == 0, drawn.output
    assert sorted(p.name for p in out.glob("redline-*.pdf")) == sorted(few)
    assert all(_pages(out / name) == 2 for name in few)
    again = CliRunner().invoke(main, ["screen", str(SAMPLE), "--out", str(out), "--no-map"])
    assert again.exit_code == 2 and "redline-城关镇.pdf" in again.output  # the earlier maps are not replaced unasked
    seen: list[str] = []
    redline_sheets(result, tmp_path / "r.pdf", wanted[:3], progress=seen.append)
    assert seen == wanted[:3]
    refused = CliRunner().invoke(main, ["map", str(out), "--split", "town", "--no-html", "--no-overview"])
    assert refused.exit_code == 2 and "--split goes with --redline" in refused.output
