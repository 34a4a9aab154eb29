"""The command line on the bundled sample county: outputs, determinism, validate, messages."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

import landgis
from landgis.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_county.toml"


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "out"
    result = CliRunner().invoke(main, ["screen", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def test_outputs_written(screened):
    out, result = screened
    assert sorted(p.name for p in out.iterdir()) == ["inventory.csv", "inventory.xlsx", "map.html", "screening.gpkg",
                                                   "screening.json", "supply_plan.csv"]
    raw = (out / "inventory.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    inv = pd.read_csv(out / "inventory.csv", dtype={"parcel_id": str, "planned_use": str, "survey_class": str})
    assert list(inv.columns[:11]) == ["parcel_id", "area_m2", "area_mu", "verdict", "reasons", "legacy",
                                      "farmland_m2", "redline_m2", "udb_m2", "planned_use", "survey_class"]
    zd = pyogrio.read_dataframe(ROOT / "data" / "sample_county.gpkg", layer="zd", read_geometry=False)
    assert inv["parcel_id"].tolist() == zd["ZDDM"].tolist()  # every input parcel, in input order
    assert set(inv["verdict"]) == {"eligible", "conditional", "ineligible"}
    assert (inv["area_mu"] - inv["area_m2"] * 15 / 10000).abs().max() < 1e-4
    assert "eligible" in result.output and "亩" in result.output


def test_gpkg_and_xlsx(screened):
    out, _ = screened
    layers = [name for name, _ in pyogrio.list_layers(out / "screening.gpkg")]
    assert layers == ["parcels", "conflicts", "enterable"]
    parcels = pyogrio.read_dataframe(out / "screening.gpkg", layer="parcels")
    assert len(parcels) == 418 and parcels.crs.to_epsg() == 4546
    conflicts = pyogrio.read_dataframe(out / "screening.gpkg", layer="conflicts")
    farm = conflicts[(conflicts["rule"] == "FARMLAND") & (conflicts["parcel_id"] == "450399102003JC00046")]
    assert farm["area_m2"].tolist() == [729.29]  # two overlapping farmland patches, ground counted once
    wb = openpyxl.load_workbook(out / "inventory.xlsx", read_only=True)
    assert wb.sheetnames[:6] == ["入市地块清单", "按结论汇总", "按乡镇汇总", "按村汇总", "按规划用途汇总", "规则触发统计"]
    header = next(wb["入市地块清单"].iter_rows(values_only=True))
    assert header[:4] == ("宗地代码", "面积(平方米)", "面积(亩)", "筛查结论")
    # per village within its town: the counts and 亩 of the inventory's own rows
    head, *rows, total = wb["按村汇总"].iter_rows(values_only=True)
    assert total[0] == "合计" and total[-2] == 418
    assert head[:4] == ("乡镇", "村", "可入市宗数", "可入市面积(亩)") and head[-2:] == ("合计宗数", "合计面积(亩)")
    inv = pd.read_csv(out / "inventory.csv", dtype=str, keep_default_na=False)
    assert len(rows) == len(inv.groupby(["town", "village"])) == 14 and sum(r[-2] for r in rows) == 418
    town, village, n, mu = rows[0][:4]
    eligible = inv[(inv["town"] == town) & (inv["village"] == village) & (inv["verdict"] == "eligible")]
    assert (n, mu) == (len(eligible), round(eligible["area_m2"].astype(float).sum() / (10000 / 15), 4))


def test_same_inputs_give_byte_identical_csv(screened, tmp_path):
    out, _ = screened
    again = tmp_path / "again"
    result = CliRunner().invoke(main, ["-q", "screen", str(SAMPLE), "--out", str(again), "--no-map"])
    assert result.exit_code == 0, result.output
    assert (again / "inventory.csv").read_bytes() == (out / "inventory.csv").read_bytes()


def test_existing_output_needs_overwrite(screened):
    out, _ = screened
    before = (out / "inventory.csv").stat().st_mtime_ns
    result = CliRunner().invoke(main, ["screen", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 2
    assert "already holds inventory.csv" in result.output and "--overwrite" in result.output
    assert "Traceback" not in result.output
    assert (out / "inventory.csv").stat().st_mtime_ns == before


def test_validate_sample():
    result = CliRunner().invoke(main, ["validate", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output
    assert "2 geometries with no area (under 0.01 m²) left after repair" in result.output


def test_rules_command_lists_articles():
    result = CliRunner().invoke(main, ["rules", "--profile", "tianning"])
    assert result.exit_code == 0
    assert "NEG-AGRI" in result.output and "[condition]" in result.output
    assert "依据 《常州市天宁区农村集体经营性建设用地入市管理办法（试行）》（常天政规〔2021〕1号）第九条；" in result.output


def test_missing_field_message_names_layer_field_and_fix(tmp_path):
    for name in ("sample_county.gpkg", "sample_supply_plan.csv"):
        shutil.copy(ROOT / "data" / name, tmp_path / name)
    text = SAMPLE.read_text(encoding="utf-8").replace('registered = "SFQQ"', 'registered = "SFQG"')
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "p.toml")])
    assert result.exit_code == 2
    assert "layer `parcels`" in result.output and "SFQG" in result.output and "did you mean `SFQQ`" in result.output
    assert "Traceback" not in result.output


def test_unknown_layer_name_lists_layers(tmp_path):
    text = SAMPLE.read_text(encoding="utf-8").replace('layer = "yjjbnt"', 'layer = "jbnt"')
    text = text.replace('path = "sample_supply_plan.csv"', f'path = "{ROOT / "data" / "sample_supply_plan.csv"}"')
    (tmp_path / "p.toml").write_text(text.replace('path = "sample_county.gpkg"',
                                                  f'path = "{ROOT / "data" / "sample_county.gpkg"}"'), encoding="utf-8")
    result = CliRunner().invoke(main, ["screen", str(tmp_path / "p.toml"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no layer 'jbnt'" in result.output and "yjjbnt" in result.output
    assert not (tmp_path / "o").exists()


#: the sample's planted SURVEY-GAP and PLAN-PART parcels (data/README.md), each conditional on that rule alone
GAP_PARCELS = ("450399100002JC00020", "450399103001JC00007")
PART_PARCELS = ("450399101004JC00037", "450399102003JC00042")


def test_survey_gaps_and_partly_other_planned_use_are_drawn_where_they_are(screened):
    out, _ = screened
    inv = pd.read_csv(out / "inventory.csv", dtype=str, keep_default_na=False).set_index("parcel_id")
    rows = inv.loc[[*GAP_PARCELS, *PART_PARCELS]]
    assert rows["verdict"].tolist() == ["conditional"] * 4
    assert rows["reasons"].tolist() == ["SURVEY-GAP"] * 2 + ["PLAN-PART"] * 2
    assert rows["survey_uncovered_m2"].astype(float).tolist() == [300.0, 300.0, 0.0, 0.0]
    # the planted plan: 0901 commerce over 60 % of the parcel, 0103 dry land over the rest
    part = rows.loc[list(PART_PARCELS)]
    assert part["planned_use"].tolist() == ["0901"] * 2
    assert part["planned_use_other_m2"].astype(float).tolist() == [1035.6, 815.14]
    assert part["area_m2"].astype(float).tolist() == [2589.0, 2037.86]

    conflicts = pyogrio.read_dataframe(out / "screening.gpkg", layer="conflicts")
    drawn = conflicts[conflicts["rule"].isin(["SURVEY-GAP", "PLAN-PART"])].set_index("parcel_id")
    assert sorted(drawn.index) == sorted([*GAP_PARCELS, *PART_PARCELS])
    assert drawn.loc[list(GAP_PARCELS), "area_m2"].tolist() == [300.0, 300.0]
    assert drawn.loc[list(PART_PARCELS), "area_m2"].tolist() == [1035.6, 815.14]
    survey = pyogrio.read_dataframe(ROOT / "data" / "sample_county.gpkg", layer="dltb")
    zoning = pyogrio.read_dataframe(ROOT / "data" / "sample_county.gpkg", layer="ghyt")
    parcels = pyogrio.read_dataframe(out / "screening.gpkg", layer="parcels").set_index("parcel_id")
    for pid in GAP_PARCELS:  # the piece is the parcel's ground under no 图斑: inside it, off every patch
        gap = drawn.loc[pid, "geometry"]
        assert gap.difference(parcels.loc[pid, "geometry"]).area < 1e-6
        assert survey.geometry.intersection(gap).area.sum() < 1e-6
    for pid in PART_PARCELS:  # the piece lies on the dry-land patches of the plan
        piece = drawn.loc[pid, "geometry"]
        under = zoning[zoning.intersects(piece)]
        assert abs(under.geometry.intersection(piece).area[under["YDYHFLDM"] == "0103"].sum() - piece.area) < 1e-6


def test_every_rule_fires_in_the_sample_under_every_profile():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for profile in landgis.builtin_profiles():
            res = landgis.screen(SAMPLE, profile=profile)
            # a note rule (UDB outside guilin, RESTRICTED in guilin and national) fires into `notes`
            fired = set(";".join([*res.table["reasons"], *res.table["notes"]]).split(";")) - {""}
            assert set(res.profile.rule_ids) <= fired, (profile, set(res.profile.rule_ids) - fired)
            assert set(res.table["verdict"]) == {"eligible", "conditional", "ineligible"}


def test_spreadsheet_cells_keep_their_types_and_long_tables_continue(monkeypatch, tmp_path):
    from landgis import report
    from landgis.io import xlsx

    with warnings.catch_warnings(action="ignore", category=landgis.errors.LandgisWarning):
        result = landgis.screen(SAMPLE, progress=False)
    monkeypatch.setattr(xlsx, "SHEET_ROWS", 150)  # Excel's 1,048,575 rows, scaled down
    report.write_xlsx(result, tmp_path / "x.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "x.xlsx", read_only=True)
    assert wb.sheetnames[:3] == ["入市地块清单", "入市地块清单 (2)", "入市地块清单 (3)"]
    rows = [r for name in wb.sheetnames[:3] for r in list(wb[name].iter_rows(values_only=True))[1:]]
    assert [r[0] for r in rows] == result.inventory["parcel_id"].tolist()  # 150 + 150 + 112, in order
    header = next(wb["入市地块清单 (3)"].iter_rows(values_only=True))
    first = dict(zip(header, rows[0]))
    inv = result.inventory.iloc[0]
    assert first["面积(平方米)"] == inv["area_m2"] and isinstance(first["面积(平方米)"], float)
    assert first["形成年份"] == inv["formed_year"] and isinstance(first["形成年份"], int)
    assert first["所有权已登记"] == ("是" if inv["registered"] else "否")
    assert first["距最近道路(米)"] == pytest.approx(inv["road_distance_m"])


def test_csv_writes_odd_values_exactly(tmp_path):
    from landgis.io import write_csv

    frame = pd.DataFrame({
        "id": ["a", "b,c", 'q"x', None], "area": [1.5, float("nan"), 0.1 + 0.2, 2.0],
        "mixed": [1, "两", None, 2.5],  # a user's attribute with numbers and text: written as text
        "ok": pd.array([True, None, False, True], dtype="boolean"),
        "n": pd.array([1, None, 3, 4], dtype="Int64"), "text": ["=SUM(A1)", "两行\n文字", "", "x"]})
    write_csv(frame, tmp_path / "x.csv")
    raw = (tmp_path / "x.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    back = pd.read_csv(tmp_path / "x.csv", keep_default_na=False, dtype=str)
    assert back["id"].tolist() == ["a", "b,c", 'q"x', ""]
    assert back["area"].tolist() == ["1.5", "", "0.30000000000000004", "2"]  # shortest round-trip digits
    assert back["mixed"].tolist() == ["1", "两", "", "2.5"]
    assert back["ok"].tolist() == ["true", "", "false", "true"]
    assert back["n"].tolist() == ["1", "", "3", "4"]
    assert back["text"].tolist() == ["=SUM(A1)", "两行\n文字", "", "x"]


def test_unusable_geometry_rows_carry_the_geometry_reason_with_its_source(screened):
    out, _ = screened
    inv = pd.read_csv(out / "inventory.csv", dtype=str, keep_default_na=False).set_index("parcel_id")
    bad = inv.loc[["450399103002JC00013", "450399102003JC00035"]]
    assert bad["verdict"].tolist() == ["ineligible"] * 2 and bad["reasons"].tolist() == ["GEOMETRY"] * 2
    # a data defect, not a policy's rule: cited to nothing (a bureau files no reference to a software contract)
    assert bad["reasons_zh"].tolist() == ["GEOMETRY 宗地图形无效，无法计算"] * 2
    assert (inv["reasons"] != "").sum() == (inv["verdict"] != "eligible").sum()  # every other verdict has a reason


def test_spreadsheet_text_is_shared_strings_that_round_trip_across_blocks(monkeypatch, tmp_path):
    import zipfile

    from landgis import report
    from landgis.io import xlsx

    with warnings.catch_warnings(action="ignore", category=landgis.errors.LandgisWarning):
        result = landgis.screen(SAMPLE, progress=False)
    monkeypatch.setattr(xlsx.Workbook, "BLOCK_ROWS", 100)  # five blocks, each adding its own strings
    report.write_xlsx(result, tmp_path / "x.xlsx")
    with zipfile.ZipFile(tmp_path / "x.xlsx") as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
        sst = zf.read("xl/sharedStrings.xml").decode("utf-8")
    # text is shared, not inline (only the header row and 是/否 are inline); the verdict text is listed
    # once per block of the parcel sheet (and once in the legacy sheet if a legacy parcel is ineligible)
    body_xml = sheet.split("</row>", 1)[1]
    assert body_xml.count('t="inlineStr"') == body_xml.count(">是<") + body_xml.count(">否<")
    legacy_ineligible = int(((result.inventory["legacy"] != "") & (result.inventory["verdict"] == "ineligible")).any())
    assert sst.count("不可入市（ineligible）") == 5 + legacy_ineligible
    wb = openpyxl.load_workbook(tmp_path / "x.xlsx", read_only=True)
    rows = list(wb["入市地块清单"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    inv = result.inventory
    for col, zh in (("parcel_id", "宗地代码"), ("reasons", "触发规则"), ("town", "乡镇"), ("reasons_zh", "规则说明")):
        got = [r[header.index(zh)] for r in body]
        assert got == inv[col].fillna("").astype(str).tolist(), col


def test_constraint_pieces_cut_beside_the_rules_equal_those_cut_after_them(monkeypatch):
    import shapely

    import landgis.pipeline

    with warnings.catch_warnings(action="ignore", category=landgis.errors.LandgisWarning):
        beside = landgis.screen(SAMPLE, progress=False)
        monkeypatch.setattr(landgis.pipeline, "ground_conflict_pieces", lambda profile, overlays: {})
        after = landgis.screen(SAMPLE, progress=False)
    a, b = beside.conflicts, after.conflicts
    assert set(a["rule"]) >= {"FARMLAND", "REDLINE"}
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert shapely.equals(a.geometry.values, b.geometry.values).all()


def test_the_chinese_sheets_hold_no_english_value_and_every_summary_adds_up(screened):
    """A bureau files the spreadsheet as it is: values landgis writes itself are Chinese, each summary
    has its 合计 row equal to 按结论汇总's, and the rule counts name their rules."""
    out, _ = screened
    sheets = pd.read_excel(out / "inventory.xlsx", sheet_name=None, dtype=str, keep_default_na=False)
    parcels = sheets["入市地块清单"]
    for column in ("规划用途类别", "批准依据来源", "图形状态"):
        values = set(parcels[column]) - {""}
        assert values and not any(re.search("[A-Za-z]", v) for v in values), (column, values)
    assert set(parcels["图形状态"]) == {"正常", "已修复", "无法修复"}
    assert set(sheets["数据问题"]["级别"]) <= {"错误", "警告", "信息"}
    # the sample's input problems are said in Chinese: only codes, ids and units are Latin
    codes = r"EPSG:\d+|CGCS2000|make_valid|structure|[A-Z]+(?:-[A-Z]+)*|m²|\d+°E|\[layers\.\w+\]"
    english = [s for s in sheets["数据问题"]["说明"] if re.search("[A-Za-z]", re.sub(codes, "", s))]
    assert len(sheets["数据问题"]) >= 5 and english == []
    total = sheets["按结论汇总"].set_index("筛查结论").loc["合计"]
    for name in ("按乡镇汇总", "按村汇总", "按规划用途汇总"):
        last = sheets[name].iloc[-1]
        assert last.iloc[0] == "合计", name
        assert (last["合计宗数"], last["合计面积(亩)"]) == (total["宗数"], total["面积(亩)"]), name
        assert last["可入市宗数"] == sheets["按结论汇总"].set_index("筛查结论").loc["可入市", "宗数"]
    rules = sheets["规则触发统计"].set_index("规则")
    assert rules.loc["FARMLAND", "规则名称"] == "占用永久基本农田"
    assert "（无规划）" in set(sheets["按规划用途汇总"]["规划用途类别"]) and "工业用地" in set(
        sheets["按规划用途汇总"]["规划用途类别"])


def test_the_sheets_open_filtered_with_units_and_widths(screened):
    """Every sheet opens with an autofilter on its header, shares as percentages, m² to the cent,
    亩 to four decimals, and columns wide enough for their Chinese headers."""
    out, _ = screened
    wb = openpyxl.load_workbook(out / "inventory.xlsx")
    ws = wb["入市地块清单"]
    header = [c.value for c in ws[1]]
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}419"
    fmt = {name: ws.cell(2, header.index(name) + 1).number_format for name in ("永久基本农田占比", "面积(平方米)", "面积(亩)")}
    assert fmt == {"永久基本农田占比": "0.00%", "面积(平方米)": "#,##0.00", "面积(亩)": "#,##0.0000"}
    assert ws.column_dimensions["A"].width >= 19          # a 19-character parcel id
    assert all(wb[name].auto_filter.ref for name in wb.sheetnames)
