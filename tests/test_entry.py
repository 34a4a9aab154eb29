"""From eligible parcel to 入市方案: terms by supply mode and the policy's term of force, planted."""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings

import geopandas as gpd
import openpyxl
import pytest
import shapely

import landgis
from landgis.errors import PolicyExpiredWarning
from tests.planted import CRS, Case, build_project, origin, screen_cases

INDUSTRIAL, COMMERCIAL = "100101", "0901"


@pytest.fixture(scope="module")
def terms(tmp_path_factory):
    """Two parcels, industrial and commercial, screened under every county profile."""
    cases = [Case("industrial"), Case("commercial", zoning=[((0, 0, 40, 40), COMMERCIAL)])]
    out = {}
    for profile in ("yueqing", "tianning", "yanbian", "taian", "guilin"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = landgis.screen(build_project(cases, tmp_path_factory.mktemp(profile), profile))
        out[profile] = res.inventory.set_index(res.inventory["parcel_id"].map(
            dict(zip(res.inventory["parcel_id"], ("industrial", "commercial"), strict=True))))
    return out


#: profile → use → (出让, 作价出资, 出租 least, 出租 most, 先租后让 usual, 先租后让 most), as each seed words it
TERMS = {
    # 第十九条: 工业用地50年, 商业40年, 出让或作价出资（入股）; 租赁一般不低于5年, 最高不超过20年; 第十三条: 一般5年, 最高10年
    "yueqing": {"industrial": (50, 50, 5, 20, 5, 10), "commercial": (40, 40, 5, 20, 5, 10)},
    # 第二十一条: 工业用地30年, 商业用地40年, 出让、作价出资（入股）; 出租不少于5年, 不得超过20年
    "tianning": {"industrial": (30, 30, 5, 20, None, None), "commercial": (40, 40, 5, 20, None, None)},
    # 第十三条: 商业用地40年, 工业用地50年, 作价出资（入股）按出让; 租赁期限最长不超过20年 (no least term)
    "yanbian": {"industrial": (50, 50, None, 20, None, None), "commercial": (40, 40, None, 20, None, None)},
    # 三（三）7: 参照同类用途的国有建设用地 — the state-land maximum, no lease figures of its own
    "taian": {"industrial": (50, None, None, None, None, None), "commercial": (40, None, None, None, None, None)},
    "guilin": {"industrial": (50, None, None, None, None, None), "commercial": (40, None, None, None, None, None)},
}
COLUMNS = ("max_term_years", "share_max_years", "lease_min_years", "lease_max_years", "lease_then_sale_years",
           "lease_then_sale_max_years")


@pytest.mark.parametrize("profile", list(TERMS))
def test_terms_by_supply_mode_as_each_seed_sets_them(terms, profile):
    inv = terms[profile]
    for use, want in TERMS[profile].items():
        got = tuple(None if inv.loc[use, c] is None or str(inv.loc[use, c]) == "<NA>" else int(inv.loc[use, c])
                    for c in COLUMNS)
        assert got == want, (profile, use)


def test_terms_said_in_one_line_per_parcel(terms):
    assert terms["yueqing"].loc["industrial", "terms_zh"] == (
        "出让最高50年；作价出资（入股）最高50年；出租5至20年；先租后让：租赁一般5年、最长10年，租赁与其后出让合计不超过50年")
    assert terms["yanbian"].loc["commercial", "terms_zh"] == "出让最高40年；作价出资（入股）最高40年；出租最长20年"
    assert terms["taian"].loc["industrial", "terms_zh"] == "出让最高50年；转让：原合同约定年限减去已使用年限后的剩余年限"
    assert terms["guilin"].loc["commercial", "terms_zh"] == "出让最高40年"


def test_a_profile_still_declaring_lease_max_years_is_told_where_it_went(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text('[profile]\nid = "old"\nextends = "yanbian"\n[settings]\nlease_max_years = 20\n', encoding="utf-8")
    with pytest.raises(landgis.errors.ProfileError, match=r"lease_max_years has moved.*\[supply.lease\]"):
        landgis.load_profile(path)


def test_the_policy_term_of_force_at_its_boundary():
    yanbian = landgis.load_profile("yanbian")   # 第三十七条: 有效期至2024年12月31日
    guilin = landgis.load_profile("guilin")     # 五: 试点工作为期两年，2024年底结束
    assert (yanbian.valid_until, yanbian.valid_source) == ("2024-12-31", "第三十七条")
    assert (guilin.valid_until, guilin.valid_source) == ("2024-12-31", "五（步骤安排）")
    assert not yanbian.expired_on(dt.date(2024, 12, 31)) and yanbian.expired_on(dt.date(2025, 1, 1))
    for name in ("national", "taian", "tianning", "yueqing"):
        assert landgis.load_profile(name).valid_until == "" and not landgis.load_profile(name).expired_on(dt.date(2099, 1, 1))


def test_a_child_profile_with_its_own_document_does_not_inherit_the_date(tmp_path):
    own = tmp_path / "own.toml"
    own.write_text('[profile]\nid = "own"\nextends = "yanbian"\ndocument = "《某县入市办法》"\n', encoding="utf-8")
    same = tmp_path / "same.toml"
    same.write_text('[profile]\nid = "same"\nextends = "yanbian"\n', encoding="utf-8")
    assert landgis.load_profile(own).valid_until == "" and landgis.load_profile(own).supply["lease"].source == ""
    assert landgis.load_profile(same).valid_until == "2024-12-31"
    assert landgis.load_profile(same).supply["lease"].source == "第十三条"


def test_screening_after_the_policy_expired_warns_and_every_output_says_so(tmp_path):
    project = build_project([Case("one")], tmp_path / "p", "yanbian")
    with pytest.warns(PolicyExpiredWarning, match=r"盐边县农村集体经营性建设用地入市管理暂行办法.*until 2024-12-31"):
        res = landgis.screen(project)
    said = [p for p in res.problems if p.layer == "profile"]
    today = dt.date.today().isoformat()
    assert len(said) == 1 and said[0].message_zh == (
        f"《盐边县农村集体经营性建设用地入市管理暂行办法》（盐边府规〔2023〕7号）有效期至2024-12-31（第三十七条），"
        f"本次筛查日期{today}已过有效期：请核实该文件是否延期或已有新文件，按现行文件筛查")
    out = tmp_path / "out"
    res.write(out)
    record = json.loads((out / "screening.json").read_text(encoding="utf-8"))
    assert record["policy"] == {"document": res.profile.document, "valid_until": "2024-12-31",
                                "valid_source": "第三十七条", "in_force": False}
    book = openpyxl.load_workbook(out / "inventory.xlsx", read_only=True)
    rules = [row for row in book["规则(yanbian)"].iter_rows(values_only=True)]
    assert ("有效期", f"政策有效期至2024-12-31（第三十七条），筛查日{today}已过期") in [r[:2] for r in rules]
    assert any(r[0] == "入市方式与年限" and r[1].startswith("出让：") and "出租：最长20年（第十三条）" in r[1] for r in rules)
    problems = [row[4] for row in book["数据问题"].iter_rows(values_only=True)]
    assert said[0].message_zh in problems
    page = (out / "map.html").read_text(encoding="utf-8")
    data = json.loads(page.split('id="landgis-data">')[1].split("</script>")[0])
    assert data["profile"] == f"yanbian 盐边县（政策有效期至2024-12-31（第三十七条），筛查日{today}已过期）"


def test_a_policy_still_in_force_says_its_date_and_warns_nothing(tmp_path):
    profile = tmp_path / "later.toml"
    profile.write_text('[profile]\nid = "later"\nextends = "yanbian"\nvalid_until = 2099-12-31\n', encoding="utf-8")
    project = build_project([Case("one")], tmp_path / "p", str(profile))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PolicyExpiredWarning)
        res = landgis.screen(project)
    assert not [p for p in res.problems if p.layer == "profile"]
    assert res.profile.validity_zh(dt.date.today()) == "政策有效期至2099-12-31（第三十七条）"


# ------------------------------------------------------------ price floors

PRICED = [Case("dear", attrs={"RSCB": 200_000.0, "KGCB": 160_000.0}),         # 500.00 / 400.00 per m²
          Case("cheap", attrs={"RSCB": 100_000.0, "KGCB": 60_000.0}),         # 250.00 / 150.00 per m²
          Case("unknown"),                                                     # no costs given
          Case("shop", attrs={"RSCB": 200_000.0, "KGCB": 200_000.0}, zoning=[((0, 0, 40, 40), COMMERCIAL)]),
          Case("school", attrs={"RSCB": 1.0, "KGCB": 1.0}, zoning=[((0, 0, 40, 40), "0804")])]


def _priced(tmp_path, profile):
    """PRICED with 基准地价 zones: 工业 456.78 over all, a cheaper 工业 zone (300) over 30 % of the first
    parcel (the larger zone is taken), 商服 1,234.56 over all; no 公共服务 zone."""
    project = build_project(PRICED, tmp_path, profile, extra_toml='\n[layers.price_zones]\npath = "jzdj.gpkg"\n')
    x0, y0 = origin(0)
    everything = shapely.box(x0 - 100, y0 - 100, x0 + 1000, y0 + 1000)
    zones = gpd.GeoDataFrame({"JZDJ": [456.78, 300.0, 1234.56], "YT": ["工业用地", "工业用地", "商服用地"],
                              "JB": ["II", "III", "I"]},
                             geometry=[everything, shapely.box(x0 + 10, y0 + 10, x0 + 16, y0 + 30), everything],
                             crs=CRS)
    zones.to_file(tmp_path / "jzdj.gpkg", engine="pyogrio")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(project)
    return res.inventory.set_index(res.inventory["parcel_id"].map(
        dict(zip(res.inventory["parcel_id"], [c.name for c in PRICED], strict=True))))


def _num(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def test_the_base_price_is_the_zone_of_the_parcels_planned_use(tmp_path):
    inv = _priced(tmp_path, "guilin")
    assert [_num(inv.loc[k, "base_price"]) for k in ("dear", "cheap", "shop", "school")] == [456.78, 456.78, 1234.56, None]
    assert inv.loc["dear", "base_price_basis"] == "工业用地基准地价 II级"        # 70 % of it: the larger zone
    assert inv.loc["shop", "base_price_basis"] == "商服用地基准地价 I级"
    assert inv.loc["school", "base_price_basis"] == "基准地价图层中无公共服务用地区段覆盖该宗地"
    # guilin sets no floor: none is given, and none is invented
    assert inv["price_floor"].isna().all() and set(inv["price_basis"]) == {""}


def test_yanbian_floor_is_the_higher_of_base_price_and_entry_cost(tmp_path):
    """第十七条: 不得低于宗地所在区域的基准地价，也不得低于土地入市成本."""
    inv = _priced(tmp_path, "yanbian")
    got = {k: [_num(inv.loc[k, c]) for c in ("price_floor", "price_floor_total", "price_floor_total_wan")]
           for k in ("dear", "cheap", "unknown", "shop")}
    assert got == {"dear": [500.0, 200_000.0, 20.0], "cheap": [456.78, 182_712.0, 18.2712],
                   "unknown": [None, None, None], "shop": [1234.56, 493_824.0, 49.3824]}
    doc = "《盐边县农村集体经营性建设用地入市管理暂行办法》（盐边府规〔2023〕7号）第十七条"
    assert inv.loc["cheap", "price_basis"] == f"不低于基准地价456.78元/平方米、入市成本250.00元/平方米之高者（{doc}）"
    assert inv.loc["unknown", "price_basis"] == f"底价未定：缺少入市成本（宗地属性“入市成本”，单位元）（{doc}）"
    assert _num(inv.loc["school", "price_floor"]) is None   # no base price for its use: no floor
    assert inv.loc["school", "price_basis"].startswith("底价未定：缺少基准地价")


def test_tianning_floor_is_the_sum_of_objective_costs(tmp_path):
    """第二十八条: 入市宗地的成交价不得低于土地取得的各项客观成本之和."""
    inv = _priced(tmp_path, "tianning")
    assert [_num(inv.loc[k, "price_floor"]) for k in ("dear", "cheap", "unknown", "shop")] == [400.0, 150.0, None, 500.0]
    assert inv.loc["dear", "price_floor_total"] == 160_000.0 and inv.loc["dear", "price_floor_total_wan"] == 16.0


def test_yueqing_gives_the_first_purchase_line_at_80_percent(tmp_path):
    """第二十四条第（二）项: 入市价格低于基准地价80%的，市人民政府有优先购买权."""
    inv = _priced(tmp_path, "yueqing")
    assert [_num(inv.loc[k, "first_purchase_price"]) for k in ("dear", "shop", "school")] == [365.42, 987.65, None]
    assert inv["price_floor"].isna().all()   # it sets no floor of its own
    assert inv.loc["dear", "price_basis"] == ("低于基准地价的80%（365.42元/平方米）时政府有优先购买权"
                                              "（《乐清市农村集体经营性建设用地入市管理办法（试行）（征求意见稿）》第二十四条第（二）项）")


def test_a_cost_that_is_not_a_sum_of_money_is_named(tmp_path):
    cases = [Case("words", attrs={"RSCB": float("nan")}), Case("wan", attrs={"RSCB": float("nan")})]
    project = build_project(cases, tmp_path, "yanbian")
    zd = gpd.read_file(tmp_path / "planted.gpkg", layer="zd")
    zd["RSCB"] = ["约二十万", "20万元"]
    zd.to_file(tmp_path / "planted.gpkg", layer="zd", engine="pyogrio")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(project)
    said = [p for p in res.problems if p.field == "RSCB"]
    assert len(said) == 1 and "约二十万" in said[0].message_zh and said[0].features == "450399100001JC00001"
    assert math.isnan(res.facts["entry_cost"].iloc[0]) and res.facts["entry_cost"].iloc[1] == 200_000.0   # 20万元
    floors = res.inventory.set_index("parcel_id")["price_basis"]
    assert floors["450399100001JC00001"].startswith("底价未定：缺少基准地价、入市成本")


# ------------------------------------------------------------ enterable area

ENTERABLE = [
    # 5 m × 20 m of the 20 m × 20 m parcel on farmland: 300.00 m² left
    Case("edge", farmland=[(0, 0, 15, 40)]),
    # farmland (5 × 20) inside an agricultural survey patch (8 × 20): their union, 160 m², is cut once
    Case("both", farmland=[(0, 0, 15, 40)], survey=[((0, 0, 18, 40), "0103"), ((18, 0, 40, 40), "0601")]),
    # a farmland sliver of 0.5 m² (below the 1 m² tolerance: the rule does not fire, nothing is cut)
    Case("sliver", farmland=[(10, 10, 10.025, 30)]),
    Case("whole", farmland=[(0, 0, 40, 40)]),                   # nothing left
    Case("town", udb=[(0, 0, 40, 40)]),                         # in the urban development boundary: not cut
    Case("clear"),
]


@pytest.fixture(scope="module")
def enterable(tmp_path_factory):
    folder = tmp_path_factory.mktemp("enterable")
    res, by_case = screen_cases(ENTERABLE, folder)
    res.write(folder / "out")
    names = dict(zip(res.inventory["parcel_id"], [c.name for c in ENTERABLE], strict=True))
    return res, by_case, folder / "out", names


def test_enterable_area_is_the_parcel_less_every_excluded_part(enterable):
    _, inv, _, _ = enterable
    got = {k: (inv.loc[k, "enterable_m2"], inv.loc[k, "enterable_share"]) for k in inv.index}
    assert got == {"edge": (300.0, 0.75), "both": (240.0, 0.6), "sliver": (400.0, 1.0), "whole": (0.0, 0.0),
                   "town": (400.0, 1.0), "clear": (400.0, 1.0)}
    assert inv.loc["edge", "verdict"] == "ineligible"   # what could enter after 调整宗地界线 is shown all the same


def test_the_enterable_layer_round_trips_through_the_geopackage(enterable):
    res, _, out, names = enterable
    layer = gpd.read_file(out / "screening.gpkg", layer="enterable")
    assert sorted(names[p] for p in layer["parcel_id"]) == sorted(["edge", "both", "sliver", "town", "clear"])
    x0, y0 = origin(1)   # "both": x 18…30 of its cell is left
    both = layer.loc[layer["parcel_id"].map(names) == "both"].geometry.iloc[0]
    assert both.equals(shapely.box(x0 + 18, y0 + 10, x0 + 30, y0 + 30)) and round(both.area, 2) == 240.0
    assert layer.set_index(layer["parcel_id"].map(names))["enterable_m2"].to_dict()["edge"] == 300.0


def test_the_map_and_the_red_line_sheet_show_the_enterable_part(enterable, tmp_path):
    from landgis.maps import map_data, read_screening
    from landgis.maps.redline import _enterable_text

    res, inv, out, names = enterable
    page = json.loads((out / "map.html").read_text(encoding="utf-8").split('id="landgis-data">')[1]
                      .split("</script>")[0])
    part = next(layer for layer in page["layers"] if layer["kind"] == "enterable")
    assert part["g"].count("\n") + 1 == 2        # the two parcels partly enterable, not the whole ones
    for data in (map_data(res), read_screening(out)):
        assert sorted(names[p] for p in data.enterable["parcel_id"]) == sorted(["edge", "both", "sliver", "town",
                                                                                 "clear"])
    assert _enterable_text(inv.loc["edge"]) == "300.00 平方米（0.4500 亩，75.0%），扣除不可入市部分、调整宗地界线后可入市"
    assert _enterable_text(inv.loc["whole"]) == "无（整宗不可入市）" and _enterable_text(inv.loc["clear"]) == ""


# ------------------------------------------------------------ annual supply plan

def test_the_supply_plan_table_says_which_parcels_a_year_lists(tmp_path):
    """A plan kept as a GBK CSV (as a bureau's Excel saves it), years written 2025 and 2026年."""
    import pandas as pd

    cases = [Case("a"), Case("b"), Case("c", farmland=[(0, 0, 40, 40)]), Case("d")]
    project = build_project(cases, tmp_path, "guilin",
                            extra_toml='\n[tables.supply_plan]\npath = "计划.csv"\n')
    ids = [f"450399100001JC{i:05d}" for i in range(1, 5)]
    (tmp_path / "计划.csv").write_bytes(f"宗地代码,计划年度\n{ids[0]},2025\n{ids[1]},2026年\n{ids[2]},2025\n"
                                        .encode("gb18030"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(project)
    inv = res.inventory.set_index("parcel_id")
    assert [None if pd.isna(v) else int(v) for v in inv["supply_year"]] == [2025, 2026, 2025, None]
    assert [bool(v) for v in inv["in_supply_plan"]] == [True, True, True, False]
    res.write(tmp_path / "out")
    plan = pd.read_csv(tmp_path / "out" / "supply_plan.csv", dtype=str, keep_default_na=False)
    # the ineligible parcel c (all farmland) is no part of what may enter
    rows = plan[plan["town"] != "合计"].set_index("year")
    assert sorted(rows.index) == ["2025", "2026", "未列入计划"]
    assert rows.loc["2025", "eligible_parcels"] == "1" and rows.loc["2025", "eligible_mu"] == "0.6"
    total = plan[plan["town"] == "合计"].iloc[0]
    assert (total["eligible_parcels"], total["eligible_mu"]) == ("3", "1.8")
    book = openpyxl.load_workbook(tmp_path / "out" / "inventory.xlsx", read_only=True)
    header = next(book["年度供应计划"].iter_rows(values_only=True))
    assert header[:4] == ("乡镇", "规划用途", "计划供应年度", "可入市宗数")


def test_a_plan_that_cannot_be_read_stops_before_screening(tmp_path):
    project = build_project([Case("a")], tmp_path, "guilin", extra_toml='\n[tables.supply_plan]\npath = "p.csv"\n')
    (tmp_path / "p.csv").write_text("宗地代码,计划年度\n450399100001JC00001,明年\n", encoding="utf-8")
    with pytest.raises(landgis.errors.InputError, match=r"p.csv: column 计划年度: values 明年 are not years"):
        landgis.screen(project)
    (tmp_path / "p.csv").write_text("编号,年\n1,2025\n", encoding="utf-8")
    with pytest.raises(landgis.errors.InputError, match=r"no parcel_id column \(tried parcel_id, ZDDM, 宗地代码"):
        landgis.screen(project)
    (tmp_path / "p.csv").unlink()
    with pytest.raises(landgis.errors.InputError, match="does not exist"):
        landgis.screen(project)


# ------------------------------------------------------------ pre-entry checklist

def test_each_parcel_carries_its_prerequisites_with_their_status(tmp_path):
    cases = [Case("ready"), Case("short_vote", attrs={"TYRS": 19}), Case("no_register", attrs={"SFQQ": "否"}),
             Case("short_notice", attrs={"GSJZRQ": "2024-03-07"}), Case("unplanned", zoning=[])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(build_project(cases, tmp_path, "yueqing"))
    said = dict(zip([c.name for c in cases], res.inventory["checklist_zh"], strict=True))
    assert said["ready"] == ("集体土地所有权确权登记：已完成；符合国土空间规划（村庄规划）：已完成；集体经济组织入市决议：已完成；"
                             "入市决议公示：已完成；入市底价测算：不详；土地估价报告：不详；纳入年度供应计划：不详；入市方案：不详")
    assert "集体经济组织入市决议：未完成" in said["short_vote"]
    assert "集体土地所有权确权登记：未完成" in said["no_register"]
    assert "入市决议公示：未完成" in said["short_notice"]
    assert "符合国土空间规划（村庄规划）：未完成" in said["unplanned"]
    res.write(tmp_path / "out")
    book = openpyxl.load_workbook(tmp_path / "out" / "inventory.xlsx", read_only=True)
    rows = list(book["入市前置条件"].iter_rows(values_only=True))
    assert rows[0][:5] == ("宗地代码", "乡镇", "村", "筛查结论", "集体土地所有权确权登记")
    assert rows[2][rows[0].index("集体经济组织入市决议")] == "未完成"
    # a profile without a notice rule lists no notice
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        national = landgis.screen(build_project(cases[:1], tmp_path / "n", "national"))
    assert "入市决议公示" not in national.inventory["checklist_zh"].iloc[0]


# ------------------------------------------------------------ the 入市方案 per parcel

def test_the_dossier_fills_what_the_data_gives_and_marks_the_rest(tmp_path):
    from click.testing import CliRunner

    from landgis.cli import main
    from landgis.maps import read_screening
    from landgis.maps.dossier import dossier_sections

    inv = _priced(tmp_path / "p", "yanbian")
    # the screening written, and its dossiers drafted from the folder as a bureau would
    project = tmp_path / "p" / "planted.toml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        landgis.screen(project).write(tmp_path / "out")
    got = CliRunner().invoke(main, ["dossier", str(tmp_path / "out"), "--parcel", inv.loc["dear", "parcel_id"],
                                    "--to", str(tmp_path / "docs"), "--docx"])
    assert got.exit_code == 0, got.output
    word, pdf = sorted((tmp_path / "docs").iterdir())   # .docx, .pdf
    assert pdf.name == f"入市方案-{inv.loc['dear', 'parcel_id']}.pdf" and pdf.read_bytes().startswith(b"%PDF")
    import docx

    cells = [c.text for t in docx.Document(str(word)).tables for r in t.rows for c in r.cells]
    assert "500.00 元/平方米，合计 200,000.00 元（20.0000 万元）" in cells
    assert "【待填：集体组织内部土地经济关系调整、收益分配方案】" in cells
    data = read_screening(tmp_path / "out")
    row = data.inventory.set_index("parcel_id").loc[inv.loc["dear", "parcel_id"]]
    row["parcel_id"] = inv.loc["dear", "parcel_id"]
    sections = dict(dossier_sections(row, data, landgis.load_profile("yanbian")))
    items = {k: v for part in sections.values() for k, v in part}
    assert items["入市底价"] == "500.00 元/平方米，合计 200,000.00 元（20.0000 万元）"
    assert items["面积"] == "400.00 平方米（0.6000 亩）"
    doc = "《盐边县农村集体经营性建设用地入市管理暂行办法》（盐边府规〔2023〕7号）"
    assert items["开竣工时间"] == f"交地之日起1年内开工建设，开工之日起3年内竣工（{doc}附件2 五（五））"
    assert items["配套设施比例"].startswith("工业用地内行政办公及生活服务设施用地面积不得超过项目总用地面积的7%")
    assert items["使用期限"] == "出让最高50年；作价出资（入股）最高50年；出租最长20年"
    assert items["集体决议"].startswith("村民代表会议，2024-03-01；应到会30人，到会27人，同意24人（80.0%）")
    # what no data gives is a marked blank, never a guess
    for key in ("有偿使用方式", "交易方式", "收益分配方案", "评估价格与起始价", "委托入市实施主体"):
        assert items[key].startswith("【待填："), key
    # another county's terms are not said under guilin
    guilin = {k: v for part in dossier_sections(row, data, landgis.load_profile("guilin")) for k, v in part[1]}
    assert "配套设施比例" not in guilin and guilin["开竣工时间"].startswith("【待填")
    # a parcel not in the screening is refused, naming it
    bad = CliRunner().invoke(main, ["dossier", str(tmp_path / "out"), "--parcel", "NOPE", "--to", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "NOPE" in bad.output


def test_a_marginal_conflict_enters_on_condition_where_the_profile_says_so(tmp_path):
    """[boundary_adjustment]: at most 120 m² and 30 % cut → conditional ADJUST-BOUNDARY, FARMLAND kept on record;
    160 m² (40 %) stays ineligible; a parcel all on farmland stays ineligible; built-in profiles set none."""
    profile = tmp_path / "adjust.toml"
    profile.write_text('[profile]\nid = "adjust"\nextends = "national"\ndocument = "《某县入市办法》"\n'
                       '[boundary_adjustment]\nmax_share = 0.3\nmax_m2 = 120\nsource = "第九条"\n', encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(build_project(ENTERABLE, tmp_path / "p", str(profile)))
    inv = res.inventory.set_index(res.inventory["parcel_id"].map(
        dict(zip(res.inventory["parcel_id"], [c.name for c in ENTERABLE], strict=True))))
    assert (inv.loc["edge", "verdict"], inv.loc["edge", "reasons"]) == ("conditional", "FARMLAND;ADJUST-BOUNDARY")
    assert inv.loc["edge", "reasons_zh"].endswith("ADJUST-BOUNDARY 冲突部分不超过120平方米且不超过宗地面积的30%，"
                                                  "调整宗地界线后可入市（《某县入市办法》第九条）")
    assert "调整宗地界线" in inv.loc["edge", "actions"]
    assert inv.loc["both", "verdict"] == "ineligible" and inv.loc["whole", "verdict"] == "ineligible"
    assert all(landgis.load_profile(p).boundary_adjustment is None
               for p in ("national", "guilin", "taian", "tianning", "yanbian", "yueqing"))
    bad = tmp_path / "bad.toml"
    bad.write_text('[profile]\nid = "bad"\nextends = "national"\n[boundary_adjustment]\nmax_share = 0.3\nmax_m2 = 120\n',
                   encoding="utf-8")
    with pytest.raises(landgis.errors.ProfileError, match="source .the article it rests on. is required"):
        landgis.load_profile(bad)



def test_what_real_registers_hold_does_not_stop_the_entry_plan(tmp_path):
    """Review findings, each of which stopped a run or gave a wrong figure: a blank in a date-typed field,
    two parcels of one id both cut by farmland, a project with a supply plan keeping its name, a negative
    cost, a floor of 500.125 per m², two zones covering a parcel alike, a price written 1,200元/平方米."""
    import pandas as pd

    cases = [Case("dup_a", farmland=[(0, 0, 15, 40)]), Case("dup_b", farmland=[(0, 0, 15, 40)]),
             Case("blank_date"), Case("half_fen", attrs={"RSCB": 200_050.0}), Case("negative", attrs={"RSCB": -5.0})]
    project = build_project(cases, tmp_path, "yanbian",
                            extra_toml='\n[tables.supply_plan]\npath = "plan.csv"\n[layers.price_zones]\npath = "z.gpkg"\n')
    (tmp_path / "plan.csv").write_text("宗地代码,计划年度\n450399100001JC00001,2025\n", encoding="utf-8")
    zd = gpd.read_file(tmp_path / "planted.gpkg", layer="zd")
    zd.loc[1, "ZDDM"] = zd.loc[0, "ZDDM"]                                   # two parcels of one id
    zd["GSQSRQ"] = pd.to_datetime(zd["GSQSRQ"])
    zd.loc[2, "GSQSRQ"] = pd.NaT                                            # a blank in a real date field
    zd.to_file(tmp_path / "planted.gpkg", layer="zd", engine="pyogrio")
    x0, y0 = origin(0)
    everything = shapely.box(x0 - 100, y0 - 100, x0 + 1000, y0 + 1000)
    gpd.GeoDataFrame({"JZDJ": ["300", "1,200元/平方米", "0"], "YT": ["工业用地", "工业用地", "工业用地"]},
                     geometry=[everything] * 3, crs=CRS).to_file(tmp_path / "z.gpkg", engine="pyogrio")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(project)
    assert res.project.name == "planted"
    inv = res.inventory
    assert inv["enterable_m2"].tolist()[:2] == [300.0, 300.0]             # each of the shared id cut once
    assert math.isnan(res.facts["notice_workdays"].iloc[2])
    assert inv["base_price"].tolist()[0] == 1200.0                          # the higher of two alike; 0 prices nothing
    assert inv["price_floor"].tolist()[3] == 1200.0
    assert math.isnan(res.facts["entry_cost"].iloc[4]) and math.isnan(inv["price_floor"].iloc[4])
    from landgis.prices import PriceRule, price_floors

    fen = price_floors(pd.DataFrame({"area_m2": [400.0], "base_price": [1.0], "entry_cost": [200_050.0]}),
                       PriceRule(("base_price", "entry_cost"), "第十七条"), "《办法》")
    assert fen["price_floor"].tolist() == [500.13] and fen["price_floor_total"].tolist() == [200_050.0]


def test_the_plans_slips_are_said_and_a_dossier_keeps_to_its_screenings_profile(tmp_path):
    from click.testing import CliRunner

    from landgis.cli import main

    cases = [Case("a"), Case("all_farmland", farmland=[(0, 0, 40, 40)])]
    project = build_project(cases, tmp_path, "guilin", extra_toml='\n[tables.supply_plan]\npath = "p.csv"\n')
    (tmp_path / "p.csv").write_text("宗地代码,计划年度\n450399100001JC00001,2025\n450399100001JC00001,2026\n"
                                    "450399100001JC00002,2025\nNOPE-1,2025\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(project)
    said = sorted(p.message_zh for p in res.problems if p.layer == "supply_plan")
    assert said == ["p.csv：以下宗地列入两个年度，取第一行的年度：450399100001JC00001",
                    "年度供应计划中 1 个宗地代码无对应宗地：NOPE-1",
                    "年度供应计划列入的 1 宗地块筛查结论为不可入市：450399100001JC00002"]
    res.write(tmp_path / "out")
    mixed = CliRunner().invoke(main, ["dossier", str(tmp_path / "out"), "--profile", "yanbian", "--to",
                                      str(tmp_path / "d")])
    assert mixed.exit_code != 0 and "screened under profile guilin" in mixed.output and not (tmp_path / "d").exists()


def test_a_zone_use_not_recognised_is_said_not_taken_for_no_zone():
    import numpy as np
    import pandas as pd

    from landgis.prices import choose_zones

    pairs = pd.DataFrame({"parcel": [0, 1, 1, 2], "feature": [0, 1, 0, 2], "overlap_m2": [80.0, 100.0, 50.0, 9.0]})
    price, basis = choose_zones(pairs, np.array([1200.0, 450.0, 800.0]), np.array(["05", "工业用地", "商业用地"]),
                                pd.Series(["commercial", "industrial", "industrial"]))
    assert np.isnan(price[0]) and price[1] == 450.0 and np.isnan(price[2])
    assert basis[0].startswith("基准地价图层的用途“05”无法识别为商服、工业、住宅或公共服务用地")
    assert basis[2] == "基准地价图层中无工业用地区段覆盖该宗地"   # a recognised zone of another use: none of its own


def test_a_dossier_that_fails_midway_leaves_the_earlier_ones_whole_and_no_part_file(tmp_path, monkeypatch):
    from landgis.maps import dossier as dossier_module

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(build_project([Case("a"), Case("b")], tmp_path / "p", "guilin"))
    ids = res.inventory["parcel_id"].tolist()
    first = dossier_module.dossiers(res, tmp_path / "d", ids, progress=False)
    before = {p.name: p.read_bytes() for p in first}
    calls = []

    def failing(pdf, data, row, sections):
        calls.append(row["parcel_id"])
        raise OSError("disk full")

    monkeypatch.setattr(dossier_module, "_write", failing)
    with pytest.raises(OSError, match="disk full"):
        dossier_module.dossiers(res, tmp_path / "d", ids, progress=False)
    assert calls == ids[:1]
    assert {p.name: p.read_bytes() for p in (tmp_path / "d").iterdir()} == before   # whole, and no .part


def test_enterable_area_cuts_what_lies_in_the_parcel_only():
    """A piece of a parcel's area elsewhere (its id given to another parcel's piece, a copy moved
    1 cm) is cut as GEOS cuts it, not taken for the whole parcel; a missing piece cuts nothing."""
    from landgis.enterable import enterable_parts

    b = shapely.box

    def left(parcels, ids, pieces, owners):
        inv = gpd.GeoDataFrame({"parcel_id": ids, "area_m2": [g.area for g in parcels],
                                "geometry_status": ["ok"] * len(ids)}, geometry=parcels)
        cut = gpd.GeoDataFrame({"parcel_id": owners, "rule": ["FARMLAND"] * len(owners)}, geometry=pieces)
        return enterable_parts(inv, cut, ["FARMLAND"])[1]["enterable_m2"].tolist()

    assert left([b(0, 0, 10, 10), b(20, 0, 30, 10)], ["A", "B"], [b(20, 0, 30, 10)], ["A"]) == [100.0, 100.0]
    assert left([b(0, 0, 30, 30)], ["A"], [b(0.01, 0, 30.01, 30)], ["A"]) == [0.3]
    assert left([b(0, 0, 10, 10)], ["A"], [b(0, 0, 5, 10), None], ["A", "A"]) == [50.0]
    assert left([b(0, 0, 10, 10)], ["A"], [b(0, 0, 10, 10)], ["A"]) == [0.0]
