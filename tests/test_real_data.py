"""Right on real data: nothing unchecked is eligible, registers read as they are kept, rules by area.

Planted cases built as a bureau's data would come (certificate numbers in yes/no fields, dates in
every form registers write them, a plan that does not cover a parcel yet, approvals covering part
of a parcel), asserting verdicts, reasons, evidence texts and areas exactly.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import landgis
from landgis.errors import ProfileError
from landgis.fields import parse_register, parse_year
from tests.planted import Case, build_project

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_county.toml"
NO = {"PZWH": ""}
E, C, I = "eligible", "conditional", "ineligible"


def _screen(path, profile=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", landgis.errors.LandgisWarning)
        return landgis.screen(path, profile=profile, progress=False)


def _table(res, cases):
    return res.table.set_index(pd.Index([c.name for c in cases]))


# ------------------------------------------------------------------ nothing unchecked is eligible


def test_the_sample_without_its_2009_survey_has_no_eligible_parcel_without_approval(tmp_path):
    """Without the 二调 layer L1 cannot be told, so neither can UNAPPROVED nor LEGACY: a parcel with no
    approval is never eligible, it waits for the 二调 (NODATA-…) when nothing else puts it out."""
    folder = tmp_path / "sample"
    shutil.copytree(SAMPLE.parent, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    text = (folder / SAMPLE.name).read_text(encoding="utf-8")
    block = '[layers.survey_2009]\npath = "sample_county.gpkg"\nlayer = "dltb_2009"\n'
    assert block in text
    (folder / SAMPLE.name).write_text(text.replace(block, ""), encoding="utf-8")
    res = _screen(folder / SAMPLE.name)
    t = res.table
    unapproved = ~t["approved"].astype(bool)
    assert unapproved.sum() > 0 and (t.loc[unapproved, "verdict"] != "eligible").all()
    waiting = t[t["reasons"].str.contains("NODATA-LEGACY")]
    assert len(waiting) == 4 and set(waiting["verdict"]) == {"conditional"}
    assert set(waiting["reasons"]) == {"NODATA-LEGACY;NODATA-UNAPPROVED"}
    assert (waiting["reasons_zh"].str.count("第二次全国土地调查（二调）地类图斑图层 \\[layers.survey_2009\\]") == 2).all()
    # with the three otherwise clear parcels whose collective decision the sample does not give
    assert (t["reasons"] == "NODATA-DECISION").sum() == 3
    by_verdict = res.summary()["by_verdict"].set_index("verdict")
    assert by_verdict.loc["conditional", "data_only_parcels"] == 4 + 3
    assert "of which 7 conditional only for want of data" in res.text_summary()


def test_an_optional_rule_not_checked_is_a_note(tmp_path):
    """A profile may mark a rule optional: then the data it lacks is a note, not a condition."""
    profile = tmp_path / "mine.toml"
    profile.write_text('[profile]\nid = "mine"\nextends = "taian"\n\n[[rules]]\nid = "TERRAIN"\noptional = true\n',
                       encoding="utf-8")
    path = build_project([Case("flat")], tmp_path / "p", profile="taian", site=False,
                         extra_toml='\n[layers.roads]\npath = "planted.gpkg"\nlayer = "zd"')
    res = _screen(path, profile=profile)
    assert res.table[["verdict", "reasons", "notes", "unchecked"]].values.tolist() == [
        ["eligible", "", "NODATA-TERRAIN", "NODATA-TERRAIN"]]


# ------------------------------------------------------------------ planning gaps


def test_a_parcel_no_plan_covers_waits_for_the_plan_or_the_local_governments_commitment(tmp_path):
    """taian 三（三）3: 「一是符合县、镇(街道)国土空间规划及村庄规划等相关规划,国土空间规划及村庄规划
    未获批前由属地政府承诺纳入相关规划。」 guilin 一（总体要求）: 「加快完成国土空间规划编制特别是实用性
    村庄规划」. A parcel under no planning patch is conditional (PLAN-GAP), not ineligible by PLAN-USE;
    under taian a written commitment (its document number, as registers keep it) clears it."""
    cases = [Case("no_plan", zoning=[]), Case("committed", zoning=[], attrs={"CNNRGH": "临桂政承〔2024〕3号"}),
             Case("half", zoning=[((0, 0, 20, 40), "100101")])]
    path = build_project(cases, tmp_path, profile="taian")
    for name in ("guilin", "taian"):
        t = _table(_screen(path, profile=name), cases)
        assert t["zoning_uncovered_m2"].tolist() == [400.0, 400.0, 200.0]
        want = [(C, "PLAN-GAP"), (E if name == "taian" else C, "" if name == "taian" else "PLAN-GAP"), (C, "PLAN-GAP")]
        assert list(zip(t["verdict"], t["reasons"], strict=True)) == want, name
    taian = _table(_screen(path, profile="taian"), cases)
    assert taian.loc["committed", "register_docs"] == "纳入规划承诺：临桂政承〔2024〕3号"
    assert taian.loc["no_plan", "actions"] == "由属地政府书面承诺纳入相关规划（乡镇人民政府）"
    said = [p.message_zh for p in _screen(path, profile="taian").problems if p.layer == "zoning"]
    assert "3 宗地块部分未落在规划图斑内：共 1000.00 平方米不在规划图斑内，规划（村庄规划 / 国土空间规划）尚未覆盖" \
           "（规则 PLAN-GAP）；如已覆盖，请检查规划图层范围或筛选条件" in said
    conflicts = _screen(path, profile="taian").conflicts
    gap = conflicts[conflicts["rule"] == "PLAN-GAP"]
    assert sorted(gap["area_m2"].tolist()) == [200.0, 400.0]


# ------------------------------------------------------------------ registers as they are kept


def test_register_fields_hold_certificate_numbers_and_say_present():
    present, doc, bad = parse_register(pd.Series(["房权证字第12号", "集用(2001)第5号", "桂南国土罚〔2010〕3号", "否",
                                                  "无", "0", "N", "", None, "已处罚", "未发证", "不详", "随便"]))
    assert present.tolist() == [True, True, True, False, False, False, False, pd.NA, pd.NA, True, False, pd.NA,
                                pd.NA]
    assert doc.tolist()[:3] == ["房权证字第12号", "集用(2001)第5号", "桂南国土罚〔2010〕3号"]
    assert bad.tolist() == [False] * 12 + [True]


def test_years_as_registers_write_them():
    values = pd.Series(["2005", "2005年", "2005-03", "2005/3/1", "20050301", "38443", "二〇〇五年", "二零零五年三月",
                        "2005.0", "05年", "", None])
    years, bad = parse_year(values)
    assert years.tolist() == [2005] * 9 + [pd.NA, pd.NA, pd.NA]
    assert bad.tolist() == [False] * 9 + [True, False, False]


def test_register_statuses_that_say_more_than_yes_or_no_are_read_by_their_meaning():
    """已解除查封 is no longer sealed, 未解除查封 still is; 已申请未登记 says both and a bare 2 (1 = 是 /
    2 = 否 registers) is no document number: those two are refused, never read as yes."""
    present, doc, bad = parse_register(pd.Series(["已解除查封", "解除抵押", "未解除查封", "尚未解除", "已申请未登记",
                                                  "未登记已申请", "2", 2, "3303020012", "集用2001-5"]))
    assert present.tolist() == [False, False, True, True, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA, True]
    assert bad.tolist() == [False] * 4 + [True] * 5 + [False]
    assert doc.tolist()[-1] == "集用2001-5" and set(doc.tolist()[:-1]) == {""}
    # the seal lifted in the other words registers use (解封, 注销, the status after the noun)
    present, _doc, bad = parse_register(pd.Series(["已解封", "已注销查封", "查封已解除", "解封", "尚未解封", "未注销"]))
    assert present.tolist() == [False, False, False, False, True, True] and not bad.any()


@pytest.mark.parametrize("value", ["已申请未登记", "2"])
def test_a_register_status_read_neither_way_is_refused_naming_the_recode(tmp_path, value):
    cases = [Case("ok"), Case("odd", attrs={"SFQQ": value})]
    with pytest.raises(landgis.InputError) as exc:
        _screen(build_project(cases, tmp_path))
    msg = str(exc.value)
    assert "field `SFQQ`" in msg and "450399100001JC00002" in msg and f"values {value} say neither" in msg
    assert "must be recoded" in msg


def test_a_seal_status_left_blank_or_unknown_is_not_read_as_not_sealed(tmp_path):
    """Nothing unchecked is eligible: a blank or 待查 查封 status leaves RESTRICTED unchecked (conditional,
    saying the value is wanted); 未解除查封 is sealed; 已解除查封 is not."""
    cases = [Case("blank", attrs={"SFXZ": ""}), Case("pending", attrs={"SFXZ": "待查"}),
             Case("sealed", attrs={"SFXZ": "未解除查封"}), Case("lifted", attrs={"SFXZ": "已解除查封"}),
             Case("clean")]
    for profile, sealed in (("guilin", (C, "RESTRICTED")), ("taian", (I, "RESTRICTED"))):
        t = _table(_screen(build_project(cases, tmp_path / profile, profile=profile)), cases)
        assert list(zip(t["verdict"], t["reasons"], strict=True)) == [
            (C, "NODATA-RESTRICTED"), (C, "NODATA-RESTRICTED"), sealed, (E, ""), (E, "")], profile
        assert t.loc["blank", "reasons_zh"].endswith("缺少宗地字段“查封或权利受限”（restricted）的取值（为空或不详）")
        assert t.loc["blank", "actions"] == "补充数据后重新筛查（县级自然资源主管部门）"


def test_a_note_not_checked_never_makes_a_parcel_conditional(tmp_path):
    """UDB is only a note under national: without the 城镇开发边界 layer a clean parcel stays eligible, the
    gap said in its notes, and no one is told to collect data no verdict depends on."""
    path = build_project([Case("clean")], tmp_path)
    text = path.read_text(encoding="utf-8")
    block = '\n[layers.udb]\npath = "planted.gpkg"\nlayer = "czkfbj"'
    assert block in text
    path.write_text(text.replace(block, ""), encoding="utf-8")
    res = _screen(path, profile="national")
    assert res.table[["verdict", "reasons", "notes", "actions"]].values.tolist() == [[E, "", "NODATA-UDB", ""]]
    assert res.summary()["by_verdict"].set_index("verdict").loc["eligible", "parcels"] == 1


def test_an_empty_zoning_layer_is_missing_data_not_a_missing_plan(tmp_path):
    """A zoning layer with no feature is an input error: the planning rules are not checked (NODATA, naming the
    zoning layer), never PLAN-GAP, which would state as fact that no plan covers the parcel."""
    path = build_project([Case("a"), Case("b")], tmp_path, profile="guilin")
    gpkg = path.parent / "planted.gpkg"
    import geopandas as gpd
    import pyogrio
    zoning = gpd.read_file(gpkg, layer="ghyt")
    pyogrio.write_dataframe(zoning.iloc[:0], gpkg, layer="ghyt", driver="GPKG")
    t = _screen(path).table
    assert set(t["verdict"]) == {C}
    assert not t["reasons"].str.contains("(?:^|;)PLAN-GAP").any()
    assert t["reasons"].str.contains("NODATA-PLAN-GAP").all() and t["reasons"].str.contains("NODATA-PLAN-PART").all()
    assert "缺少国土空间规划（村庄规划）用途图层 [layers.zoning]" in t["reasons_zh"].iloc[0]
    assert "allowed_uses" not in t["reasons_zh"].iloc[0]


def test_without_approvals_or_the_2009_survey_both_are_named_at_once(tmp_path):
    """A register with no 批准文号 field, no approvals layer and no 二调: the bureau is told both at once,
    not the approvals first and the 二调 only once it has supplied them."""
    import geopandas as gpd
    import pyogrio
    path = build_project([Case("unapproved", attrs=NO)], tmp_path, profile="guilin", approvals_layer=False)
    gpkg = path.parent / "planted.gpkg"
    pyogrio.write_dataframe(gpd.read_file(gpkg, layer="zd").drop(columns="PZWH"), gpkg, layer="zd", driver="GPKG")
    text = path.read_text(encoding="utf-8")
    block = '\n[layers.survey_2009]\npath = "planted.gpkg"\nlayer = "dltb_2009"'
    assert block in text
    path.write_text(text.replace(block, ""), encoding="utf-8")
    t = _screen(path).table
    assert t["reasons"].tolist() == ["NODATA-LEGACY;NODATA-UNAPPROVED"]
    zh = t["reasons_zh"].iloc[0]
    assert zh.count("已批准用地图层 [layers.approvals]") == 2 and zh.count("[layers.survey_2009]") == 2


def test_certificate_numbers_in_a_real_file_enter_the_evidence(tmp_path):
    """taian 三（三）9（2）: 「对于2009年(含2009年)以后经县级人民政府批准或者取得房屋所有权证书尚未取得
    合法土地手续的集体经营性建设用地…」: the house certificate is the evidence; its number is quoted."""
    cases = [Case("cert", attrs={**NO, "JCNF": 2012, "FWSYQZ": "房权证字第12号"}, survey_2009=[((0, 0, 40, 40), "011")]),
             Case("street", attrs={**NO, "JCNF": 2011, "SFLJ": "是", "JSYDSYZ": "集用(2001)第5号"},
                  survey_2009=[((0, 0, 40, 40), "011")], zoning=[((0, 0, 40, 40), "0901")]),
             Case("no_cert", attrs={**NO, "JCNF": 2012, "FWSYQZ": "无"}, survey_2009=[((0, 0, 40, 40), "011")])]
    t = _table(_screen(build_project(cases, tmp_path, profile="taian")), cases)
    assert t["legacy"].tolist() == ["L2", "L3", ""]
    assert t.loc["cert", "legacy_basis"] == "L2：无批准文号，未落在已批准用地上；2012年形成；有房屋所有权证（房权证字第12号）"
    assert t.loc["street", "legacy_basis"] == ("L3：无批准文号，未落在已批准用地上；临街经营性场所；"
                                               "有集体建设用地使用证（集用(2001)第5号）")
    assert t["register_docs"].tolist() == ["房屋所有权证：房权证字第12号", "集体建设用地使用证：集用(2001)第5号", ""]
    assert t.loc["no_cert", "verdict"] == "ineligible" and t.loc["no_cert", "reasons"] == "UNAPPROVED"


def test_an_unreadable_register_value_is_named_with_its_layer_field_and_feature(tmp_path):
    cases = [Case("ok"), Case("odd", attrs={"FWSYQZ": "随便"})]
    with pytest.raises(landgis.InputError) as exc:
        _screen(build_project(cases, tmp_path))
    msg = str(exc.value)
    assert "layer `parcels`, field `FWSYQZ`" in msg and "450399100001JC00002" in msg
    assert "values 随便 say neither yes nor no, nor give a certificate or document number" in msg


# ------------------------------------------------------------------ by area, not by majority


def test_approval_is_by_area_not_by_majority(tmp_path):
    """A parcel half covered by approved land is not approved: its unapproved part decides (here, formed
    in 2015 on 二调 farmland: UNAPPROVED); covered but for a sliver, it is approved."""
    cases = [Case("half", attrs={**NO, "JCNF": 2015}, survey_2009=[((0, 0, 40, 40), "013")],
                  approvals=[((0, 0, 20, 40), "桂南政土批〔2016〕3号")]),
             Case("sliver", attrs={**NO, "JCNF": 2015}, survey_2009=[((0, 0, 40, 40), "013")],
                  approvals=[((10.02, 0, 40, 40), "桂南政土批〔2016〕4号")])]
    t = _table(_screen(build_project(cases, tmp_path)), cases)
    assert t["approved"].tolist() == [False, True]
    assert t["approval_m2"].tolist() == [200.0, 399.6]
    assert t["approval_missing_m2"].tolist() == [200.0, 0.4]
    assert list(zip(t["verdict"], t["reasons"], strict=True)) == [(I, "UNAPPROVED"), (E, "")]


def test_legacy_land_is_told_by_area(tmp_path):
    """taian 三（三）9（1）: 「对于2009年(不含2009年)以前已经形成并经第二次全国土地调查为建设用地、但尚未
    取得合法手续的历史遗留建设用地…」. The parcel itself must have been 二调 construction land: 3 m² of it
    in a 400 m² parcel does not make the parcel legacy land; the part that was not was built since, and
    is unapproved. Roads (二调 102) were construction land but never a collective's operational site."""
    cases = [Case("whole", attrs={**NO, "JCNF": 2005}),
             Case("corner", attrs={**NO, "JCNF": 2005},
                  survey_2009=[((0, 0, 11.7, 11.7), "203"), ((11.7, 0, 40, 40), "013"), ((0, 11.7, 11.7, 40), "013")]),
             Case("road", attrs={**NO, "JCNF": 2005}, survey_2009=[((0, 0, 40, 40), "102")])]
    for profile in ("national", "taian", "guilin"):
        t = _table(_screen(build_project(cases, tmp_path / profile, profile=profile)), cases)
        assert t["legacy"].tolist() == ["L1", "", ""], profile
        # 1.7 m × 1.7 m = 2.89 m² of 二调 村庄 in the corner: above the 1 m² tolerance, but not the parcel
        assert t["survey_2009_other_m2"].tolist() == [0.0, 397.11, 400.0], profile
        assert list(zip(t["verdict"], t["reasons"], strict=True)) == [(C, "LEGACY"), (I, "UNAPPROVED"),
                                                                      (I, "UNAPPROVED")], profile


# ------------------------------------------------------------------ profiles as the seeds say


def test_yanbian_lets_warehousing_enter():
    """yanbian 附件2（入市方案示范文本）: 「用地性质：XX 用地（商业/工业/仓储等）」."""
    yanbian = landgis.load_profile("yanbian")
    assert yanbian.allowed_uses == ["industrial", "commercial", "warehouse"]
    assert "warehouse" not in landgis.load_profile("tianning").allowed_uses


def test_a_profile_naming_an_unknown_fact_is_refused_when_it_loads(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[profile]\nid = "bad"\nextends = "national"\n\n[[rules]]\nid = "FARMLAND"\n'
                   'when = { fact = "farmlnd_m2", above = "tolerance" }\n', encoding="utf-8")
    with pytest.raises(ProfileError, match=re.escape("unknown fact(s) farmlnd_m2 (did you mean `farmland_m2`?)")):
        landgis.load_profile(bad)
    path = build_project([Case("ok")], tmp_path / "p")
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'profile = "\w+"', f'profile = "{bad.as_posix()}"', text), encoding="utf-8")
    from landgis.validate import validate_project

    errors = [p for p in validate_project(path) if p.severity == "error"]
    assert any("farmlnd_m2" in p.message for p in errors)


def test_a_missing_dem_is_found_before_any_work(tmp_path):
    path = build_project([Case("ok")], tmp_path, profile="taian")
    (tmp_path / "dem.tif").unlink()
    from landgis.validate import validate_project

    errors = [p for p in validate_project(path) if p.severity == "error"]
    assert [p.layer for p in errors] == ["dem"] and "does not exist" in errors[0].message
    with pytest.raises(landgis.InputError, match="dem.tif does not exist"):
        _screen(path)


def test_validate_warns_when_a_profile_allows_a_use_no_code_maps_to(tmp_path):
    """guilin 四（六）and yueqing 第九条 allow 保障性租赁住房, which the national 用地用海 table has no
    code for: a project must declare its local sub-codes (070199…), else no parcel can have that use."""
    from landgis.validate import validate_project

    path = build_project([Case("ok")], tmp_path, profile="guilin")
    declared = validate_project(path)
    text = path.read_text(encoding="utf-8")
    block = '\n[codes.zoning]\n"070199" = { name = "保障性租赁住房用地", use = "rental_housing" }'
    assert block in text
    path.write_text(text.replace(block, ""), encoding="utf-8")
    warned = [p.message for p in validate_project(path) if p.severity == "warning" and p.layer == "zoning"]
    assert len(warned) == 1 and "`rental_housing`" in warned[0] and "[codes.zoning]" in warned[0]
    assert not any("`rental_housing`" in p.message for p in declared)


# ------------------------------------------------------------------ what a conditional parcel needs


def test_each_conditional_parcel_says_what_cures_it_and_who_acts(tmp_path):
    cases = [Case("own_reg", attrs={"SFQQ": "否"}), Case("gap", zoning=[]), Case("ok"),
             Case("both", attrs={"SFQQ": "否"}, zoning=[])]
    res = _screen(build_project(cases, tmp_path))
    t = _table(res, cases)
    reg = "办理集体土地所有权确权登记（村集体经济组织申请，不动产登记机构办理）"
    plan = "加快编制村庄规划并依法批准，将地块纳入规划（乡镇人民政府、县级自然资源主管部门）"
    assert t["actions"].tolist() == [reg, plan, "", f"{reg}；{plan}"]
    by_action = res.summary()["by_action"].set_index("action")
    assert by_action["parcels"].to_dict() == {reg: 2, plan: 2}
    assert by_action.loc[reg, "area_mu"] == round(800 / (10000 / 15), 4)


def test_the_data_problems_sheet_says_a_rule_not_checked_once_in_chinese(tmp_path):
    """数据问题: a rule not checked is one Chinese row, with its title, the parcels and the data that settles it
    (not the run log's English line as well), and layers are named in Chinese."""
    from click.testing import CliRunner

    from landgis.cli import main

    path = build_project([Case("blank", attrs={"SFXZ": ""}), Case("clean")], tmp_path, profile="guilin")
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["screen", str(path), "--out", str(out), "--no-map"])
    assert run.exit_code == 0, run.output
    assert "rule RESTRICTED not checked: on 1 parcel(s): restricted is blank or unknown on them" in run.output
    sheet = pd.read_excel(out / "inventory.xlsx", sheet_name="数据问题", dtype=str, keep_default_na=False)
    said = [s for s in sheet["说明"] if "RESTRICTED" in s]
    assert said == ["RESTRICTED 未能核查“被查封或限制权利”（1 宗）：缺少宗地字段“查封或权利受限”（restricted）的取值（为空或不详）"]
    assert not any(re.search("[A-Za-z]", v) for v in set(sheet["图层"]) - {""})
    # the planted far-away patches: the common messages are said in Chinese too
    assert any(s.startswith("与宗地完全不相交") and "疑为坐标系有误，请核对 [layers.farmland] 的 crs" in s
               for s in sheet["说明"])
    assert "工作坐标系：EPSG:4546（CGCS2000 3度带高斯-克吕格投影 中央经线111°E）" in set(sheet["说明"])
    assert not any("does not overlap" in s or "working CRS" in s for s in sheet["说明"])
