"""Each county cites itself (issue #27 item 4): under a county's profile a reason cites that
county's own document and articles, plus the national documents the rule rests on; under
``national`` only national documents. Checked on planted parcels screened under every
built-in profile: the reason texts (``reasons_zh``) and the xlsx rules sheet (依据条款).
"""

from __future__ import annotations

import warnings

import openpyxl
import pandas as pd
import pytest

import landgis
from landgis import report
from landgis.errors import ProfileError
from landgis.maps._data import _rules_from_reason_texts
from landgis.profiles import builtin_profiles, load_profile
from tests.planted import build_project
from tests.test_rules_planted import CASES

COUNTIES = {"guilin": "桂林", "taian": "台安", "yanbian": "盐边", "yueqing": "乐清", "tianning": "天宁"}
#: the national documents a rule may rest on, by their full titles
NATIONAL_TITLES = ("《中华人民共和国土地管理法》", "《中华人民共和国土地管理法实施条例》", "《中华人民共和国民法典》",
                   "《关于深化农村集体经营性建设用地入市试点工作的意见》（厅字〔2022〕34号）")
GUILIN_DOC = "《桂林市深化农村集体经营性建设用地入市试点工作方案（征求意见稿）》"
YUEQING_DOC = "《乐清市农村集体经营性建设用地入市管理办法（试行）（征求意见稿）》"
YANBIAN_DOC = "《盐边县农村集体经营性建设用地入市管理暂行办法》（盐边府规〔2023〕7号）"
FARMLAND_LAW = "《中华人民共和国土地管理法》第三十五条第一款；《中华人民共和国土地管理法实施条例》第三条第一款"


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    """profile → (reason texts by case, the xlsx rules sheet's 依据条款 by rule / category (and, for
    the rows 依据文件 and 条款编号说明, their text), profile)."""
    folder = tmp_path_factory.mktemp("citations")
    path = build_project(CASES, folder)
    out = {}
    for name in builtin_profiles():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = landgis.screen(path, profile=name, progress=False)
        xlsx = folder / f"{name}.xlsx"
        report.write_xlsx(result, xlsx)
        sheet = openpyxl.load_workbook(xlsx, read_only=True)[f"规则({name})"]
        header, *rows = sheet.iter_rows(values_only=True)
        rows = [dict(zip(header, r, strict=True)) for r in rows]
        cells = {}
        for row in rows:
            key = row["规则"] or row["类别"]
            cells[key] = (row["名称"] if key in ("依据文件", "条款编号说明") else row["依据条款"]) or ""
        reasons = pd.Series(result.table["reasons_zh"].fillna("").to_numpy(), index=[c.name for c in CASES])
        out[name] = (reasons, cells, result.profile)
    return out


def _parts(text: str) -> list[str]:
    """One reason text per rule (a citation holds "；" of its own, inside its parentheses)."""
    rules = _rules_from_reason_texts(pd.DataFrame({"reasons_zh": [text]}))
    return [f"{rid} {r['title_zh']}" + (f"（{r['source']}）" if r["source"] else "") for rid, r in rules.items()]


def _citations(screened, name) -> list[str]:
    """Every citation shown under profile ``name``: in the reasons and in the xlsx rules sheet."""
    reasons, cells, _ = screened[name]
    rules = _rules_from_reason_texts(pd.DataFrame({"reasons_zh": reasons.tolist()}))
    cited = [r["source"] for rid, r in rules.items() if rid != "GEOMETRY"]  # GEOMETRY: landgis's own contract
    return cited + [v for k, v in cells.items() if k not in ("依据文件", "条款编号说明")]


@pytest.mark.parametrize("name", builtin_profiles())
def test_no_reason_or_sheet_cites_another_county(screened, name):
    cited = _citations(screened, name)
    assert cited and any(cited)
    for text in cited:
        assert "§" not in text, text
        for county, place in COUNTIES.items():
            assert county not in text, text
            if county != name:
                assert place not in text, (name, text)


@pytest.mark.parametrize("name", [c for c in COUNTIES])
def test_county_reasons_cite_its_own_document(screened, name):
    reasons, cells, profile = screened[name]
    assert profile.document.startswith("《") and COUNTIES[name] in profile.document
    assert cells["依据文件"] == profile.document
    by_id = {r.id: r for r in profile.rules}
    seen = 0
    for text in reasons:
        for part in _parts(text):
            rid = part.split(" ", 1)[0]
            if rid not in by_id:
                continue
            rule = by_id[rid]
            cited = profile.citation(rule)
            assert part == (f"{rid} {rule.title_zh}（{cited}）" if cited else f"{rid} {rule.title_zh}")
            if rule.source:
                assert f"（{profile.document}{rule.source}" in part
                seen += 1
    assert seen, f"no reason under {name} cites {profile.document}"
    for rule in profile.rules:
        assert cells[rule.id] == profile.citation(rule)


def test_national_cites_national_documents_only(screened):
    """``national`` has no document of its own: each citation is a national document's."""
    _, cells, profile = screened["national"]
    assert profile.document == "" and "依据文件" not in cells
    assert all(not r.source for r in profile.rules) and all(not c.source for c in profile.legacy)
    for text in _citations(screened, "national"):
        for piece in filter(None, text.split("；")):
            assert piece.startswith(NATIONAL_TITLES), piece


@pytest.mark.parametrize("name", builtin_profiles())
def test_national_lists_hold_national_documents_only(name):
    profile = load_profile(name)
    for item in (*profile.rules, *profile.legacy):
        for cited in item.national:
            assert cited.startswith(NATIONAL_TITLES), (name, item.id, cited)
        assert "《" not in item.source and "§" not in item.source, (name, item.id, item.source)


def test_guilin_cites_its_plan_with_the_inferred_numbers(screened):
    """The Guilin plan prints 「一、总体要求」 and 「六、保障措施」 with their numbers but four headings
    between them without: 「工作原则」, 「试点范围」, 「试点内容」, 「步骤安排」 — 二 to 五 in document order.
    Under 工作原则: 「落实耕地和永久基本农田、生态保护红线、城镇开发边界等空间管控要求」; under 试点内容,
    （二）「探索不同规划用途、不同用地方式的入市方式。」 item 1: 「将入市地块用于工业、商业、采矿和保障性
    租赁住房建设」. So FARMLAND cites 二（工作原则）and PLAN-USE 四（二）1, and the rules sheet says once
    which numbers are inferred."""
    reasons, cells, profile = screened["guilin"]
    assert reasons["farmland_300"] == (f"FARMLAND 占用永久基本农田（{GUILIN_DOC}二（工作原则）、六（二）；{FARMLAND_LAW}）")
    assert reasons["plan_admin"] == (
        f"PLAN-USE 规划用途非工业、商业、采矿或保障性租赁住房（{GUILIN_DOC}四（二）1；"
        "《中华人民共和国土地管理法》第六十三条第一款；《中华人民共和国土地管理法实施条例》第三十八条）")
    assert reasons["udb_inside"] == f"UDB 位于城镇开发边界内（不征即入）（{GUILIN_DOC}四（五）1、二（工作原则））"
    note = cells["条款编号说明"]
    assert note == profile.numbering_note
    assert "“工作原则”“试点范围”“试点内容”“步骤安排”" in note and "二、三、四、五" in note and "（一）、（五）" in note
    assert "三（二）" not in "".join(cells.values())  # the old numbering of 试点内容 as 三


def test_yueqing_cites_its_own_articles(screened):
    """乐清 第八条【入市范围】 lists the conditions, numbered （1）…（6）: 「（3）已依法办理集体土地所有权
    确权登记；」 and 「（6）未被司法机关查封或行政机关限制。」. It never names 永久基本农田: FARMLAND cites
    national law alone."""
    reasons, _, _ = screened["yueqing"]
    assert reasons["own_reg_no"] == (
        f"OWN-REG 集体土地所有权未确权登记（{YUEQING_DOC}第八条第（三）项；"
        "《中华人民共和国土地管理法》第六十三条第一款；《中华人民共和国土地管理法实施条例》第三十八条）")
    assert reasons["restricted"] == f"RESTRICTED 被查封或限制权利（{YUEQING_DOC}第八条第（六）项）"
    assert reasons["farmland_300"] == f"FARMLAND 占用永久基本农田（{FARMLAND_LAW}）"


def test_yanbian_red_line_does_not_cite_the_forestry_bureau(screened):
    """盐边 第三十一条 gives a bureau its approvals — 「县林业局负责审批涉及生态保护区、林地的相关事项。」 —
    no exclusion; the 办法 never names 生态保护红线. REDLINE cites national law alone."""
    reasons, _, _ = screened["yanbian"]
    assert reasons["redline_100"] == ("REDLINE 占用生态保护红线（《中华人民共和国土地管理法实施条例》第三条第一款；"
                                      "《中华人民共和国土地管理法实施条例》第二十二条第一款）")
    assert "第三十一条" not in "".join(reasons)
    assert reasons["restricted"] == f"RESTRICTED 被查封或限制权利（{YANBIAN_DOC}第九条第（三）项）"


def test_udb_is_a_note_and_restricted_a_condition_where_nothing_states_them(screened):
    """Only Guilin's plan speaks of the urban development boundary (四（五）1: 「探索区分城镇开发边界内外，
    根据“不征即入”的原则」); no document guilin or national cites speaks of sealed land, so a sealed
    parcel there is neither excluded by an article nobody wrote nor eligible: it waits for the seal
    to be lifted (conditional, cited to nothing)."""
    for name in builtin_profiles():
        profile = screened[name][2]
        assert profile.rule("UDB").outcome == ("condition" if name == "guilin" else "note"), name
        restricted = "condition" if name in ("national", "guilin") else "exclude"
        assert profile.rule("RESTRICTED").outcome == restricted, name
        if name != "guilin":
            assert profile.citation(profile.rule("UDB")) == ""
    assert screened["taian"][0]["udb_inside"] == ""


# ----------------------------------------------------------------- the data model


def test_citation_forms():
    tianning = load_profile("tianning")
    assert tianning.citation(tianning.rule("ACCESS")) == (
        "《常州市天宁区农村集体经营性建设用地入市管理办法（试行）》（常天政规〔2021〕1号）第六条")
    assert tianning.citation(tianning.rule("FARMLAND")) == FARMLAND_LAW
    assert tianning.citation(tianning.rule("UDB")) == ""
    national = load_profile("national")
    assert national.citation(national.rule("LEGACY")) == ""
    taian = load_profile("taian")
    assert [taian.citation(c) for c in taian.legacy_categories] == [
        f"《台安县农村集体经营性建设用地入市试点工作实施方案》三（三）9（{n}）" for n in "4123"]


def test_a_document_of_its_own_drops_the_parents_articles(tmp_path):
    own = tmp_path / "own.toml"
    own.write_text('[profile]\nid = "own"\nextends = "guilin"\ndocument = "《某县入市管理办法》"\n'
                   '[[rules]]\nid = "PLAN-USE"\nsource = "第三条"\n', encoding="utf-8")
    mine = load_profile(own)
    assert mine.citation(mine.rule("PLAN-USE")).startswith("《某县入市管理办法》第三条；《中华人民共和国土地管理法》")
    assert mine.rule("FARMLAND").source == "" and mine.citation(mine.rule("FARMLAND")) == FARMLAND_LAW
    assert mine.rule("UDB").outcome == "condition" and mine.citation(mine.rule("UDB")) == ""
    assert mine.legacy_categories[0].source == "" and mine.numbering_note == ""
    variant = tmp_path / "variant.toml"  # keeps Guilin's plan: keeps its articles and numbering note
    variant.write_text('[profile]\nid = "variant"\nextends = "guilin"\n[[rules]]\nid = "UDB"\noutcome = "note"\n',
                       encoding="utf-8")
    guilin, var = load_profile("guilin"), load_profile(variant)
    assert [var.citation(r) for r in var.rules] == [guilin.citation(r) for r in guilin.rules]
    assert var.numbering_note == guilin.numbering_note


def test_national_key_is_checked(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[profile]\nid = "bad"\nextends = "taian"\n[[rules]]\nid = "FARMLAND"\n'
                   'national = "《中华人民共和国土地管理法》"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="`national` must be a list"):
        load_profile(bad)
    bad.write_text('[profile]\nid = "bad"\nextends = "taian"\n[[rules]]\nid = "FARMLAND"\nnationl = []\n',
                   encoding="utf-8")
    with pytest.raises(ProfileError, match="national"):
        load_profile(bad)


def test_reason_texts_read_back_for_maps():
    """``landgis map`` on a finished screening reads titles and citations back from ``reasons_zh``:
    citations hold （…） and "；" of their own, and a title may end in （…）."""
    guilin = load_profile("guilin")
    reasons = landgis.rules.reason_texts(pd.Series(["OWN-REG;UDB", "GEOMETRY", "LEGACY"]), guilin)
    national = landgis.rules.reason_texts(pd.Series(["LEGACY"]), load_profile("national"))
    rules = _rules_from_reason_texts(pd.DataFrame({"reasons_zh": [*reasons, *national]}))
    assert rules["OWN-REG"] == {"title_zh": "集体土地所有权未确权登记", "text_zh": "",
                                "source": guilin.citation(guilin.rule("OWN-REG"))}
    assert rules["UDB"]["title_zh"] == "位于城镇开发边界内（不征即入）"
    assert rules["UDB"]["source"] == f"{GUILIN_DOC}四（五）1、二（工作原则）"
    assert rules["GEOMETRY"] == {"title_zh": "宗地图形无效，无法计算", "text_zh": "", "source": ""}
    assert rules["LEGACY"]["source"] == guilin.citation(guilin.rule("LEGACY"))


@pytest.mark.parametrize(("name", "source"), [("tianning", "第六条、第二十六条"), ("yanbian", "第三条"),
                                              ("yueqing", "第八条第（一）项、第二十三条")])
def test_a_parcel_no_plan_covers_cites_the_countys_own_planning_article(name, source):
    """PLAN-GAP rests on each county's own words on planning, not on the baseline's empty source."""
    from landgis.profiles import load_profile

    profile = load_profile(name)
    rule = next(r for r in profile.rules if r.id == "PLAN-GAP")
    assert rule.source == source
    assert profile.citation(rule).startswith(f"{profile.document}{source}")
