"""Historical-legacy land: category boundaries per profile, evidence, and Xian 1980 二调 data."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from pyproj import CRS, Transformer

import landgis
from landgis.crs import four_param_transform, helmert_pipeline
from landgis.errors import DatumShiftWarning, ProjectError, SkippedRuleWarning
from tests.planted import Case, build_project

pytestmark = pytest.mark.filterwarnings("ignore::landgis.errors.SkippedRuleWarning")

NO = {"PZWH": ""}
C203 = [((0, 0, 40, 40), "203")]
C011 = [((0, 0, 40, 40), "011")]

CASES = [
    Case("f2008", attrs={**NO, "JCNF": 2008}),
    Case("f2009", attrs={**NO, "JCNF": 2009}),
    Case("f2010", attrs={**NO, "JCNF": 2010}),
    Case("f2008_approved", attrs={"JCNF": 2008}),
    Case("f2008_approved_layer", attrs={**NO, "JCNF": 2008}, approvals=[((0, 0, 40, 40), "台政地〔2008〕5号")]),
    Case("f2008_not_construction_2009", attrs={**NO, "JCNF": 2008}, survey_2009=C011),
    Case("cert_only_2012", attrs={**NO, "JCNF": 2012, "FWSYQZ": "是"}, survey_2009=C011),
    Case("no_cert_2012", attrs={**NO, "JCNF": 2012}, survey_2009=C011),
    Case("street_land_cert", attrs={**NO, "JCNF": 2015, "SFLJ": "是", "JSYDSYZ": "是"}, survey_2009=C011),
    Case("street_house_cert", attrs={**NO, "JCNF": 2015, "SFLJ": "是", "FWSYQZ": "是"}, survey_2009=C011),
    Case("street_no_cert", attrs={**NO, "JCNF": 2015, "SFLJ": "是"}, survey_2009=C011),
    Case("l1_penalty_pending", attrs={**NO, "JCNF": 2005, "CFDW": "否"}),
    Case("l1_penalty_settled", attrs={**NO, "JCNF": 2005, "CFDW": "是"}),
    Case("l2_penalty_pending", attrs={**NO, "JCNF": 2012, "FWSYQZ": "是", "CFDW": "否"}, survey_2009=C011),
    Case("l1_but_farmland", attrs={**NO, "JCNF": 2005}, farmland=[(0, 0, 40, 40)]),
]

# case → {profile: legacy category}; "" = none. Profiles other than taian use L1 only; yanbian none: its
# 第十二条 (「未经审批的存量集体建设用地，按照相关规定处置后进行确权登记。」) defines no category, so its
# unapproved stock land of any age is UNAPPROVED (curable there), never the Tai'an L1.
EXPECTED = {
    "f2008": {"*": "L1", "yanbian": ""},
    "f2009": {"*": ""},
    "f2010": {"*": ""},
    "f2008_approved": {"*": ""},
    "f2008_approved_layer": {"*": ""},
    "f2008_not_construction_2009": {"*": ""},
    "cert_only_2012": {"*": "", "taian": "L2"},
    "no_cert_2012": {"*": ""},
    "street_land_cert": {"*": "", "taian": "L3"},
    "street_house_cert": {"*": "", "taian": "L2"},  # L2 precedes L3 in taian's order; both ground a flag
    "street_no_cert": {"*": ""},
    "l1_penalty_pending": {"*": "L1", "taian": "L4", "yanbian": ""},
    "l1_penalty_settled": {"*": "L1", "yanbian": ""},
    "l2_penalty_pending": {"*": "", "taian": "L4"},
    "l1_but_farmland": {"*": "L1", "yanbian": ""},
}
PROFILES = ("national", "guilin", "taian", "yanbian", "yueqing", "tianning")
UNAPPROVED_CURABLE = ("yanbian", "tianning")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = build_project(CASES, tmp_path_factory.mktemp("legacy"))
    out = {}
    for profile in PROFILES:
        res = landgis.screen(path, profile=profile)
        out[profile] = res.table.set_index(np.array([c.name for c in CASES]))
    return out


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", list(EXPECTED))
def test_category_and_verdict(results, profile, case):
    row = results[profile].loc[case]
    want = EXPECTED[case].get(profile, EXPECTED[case]["*"])
    assert row["legacy"] == want
    reasons = set(filter(None, row["reasons"].split(";")))
    if case == "l1_but_farmland":  # legacy (unapproved under yanbian), but another rule excludes it
        assert row["verdict"] == "ineligible"
        assert reasons == ({"FARMLAND", "UNAPPROVED"} if profile == "yanbian" else {"FARMLAND", "LEGACY"})
    elif want:
        assert row["verdict"] == "conditional" and reasons == {"LEGACY"}
    elif case in ("f2008_approved", "f2008_approved_layer"):
        assert row["verdict"] == "eligible" and reasons == set()
    else:  # built without approval and no legacy ground: plain unapproved land, never eligible
        assert reasons == {"UNAPPROVED"}
        assert row["verdict"] == ("conditional" if profile in UNAPPROVED_CURABLE else "ineligible")


def test_evidence_per_category(results):
    taian = results["taian"]
    assert taian.loc["f2008", "legacy_basis"] == ("L1：无批准文号，未落在已批准用地上；2008年形成；"
                                                   "二调建设用地 400.00 m²（100.0%），主要地类 203 村庄")
    assert "有房屋所有权证" in taian.loc["cert_only_2012", "legacy_basis"]
    assert "临街经营性场所" in taian.loc["street_land_cert", "legacy_basis"]
    assert "有集体建设用地使用证" in taian.loc["street_land_cert", "legacy_basis"]
    assert taian.loc["l1_penalty_pending", "legacy_basis"].endswith("涉及违法用地，尚未处罚到位")
    assert results["taian"].loc["f2008_approved_layer", "approval_found"] == "台政地〔2008〕5号"
    assert results["national"].loc["f2008", "survey_2009_construction_share"] == 1.0


def test_profile_wording_in_reasons(results):
    assert "一事一议" in results["yueqing"].loc["f2008", "reasons_zh"]
    yueqing = "《乐清市农村集体经营性建设用地入市管理办法（试行）（征求意见稿）》"
    tianning = "《常州市天宁区农村集体经营性建设用地入市管理办法（试行）》（常天政规〔2021〕1号）"
    yanbian = "《盐边县农村集体经营性建设用地入市管理暂行办法》（盐边府规〔2023〕7号）"
    assert f"{yueqing}第十八条" in results["yueqing"].loc["f2008", "reasons_zh"]
    assert f"{tianning}第五十二条" in results["tianning"].loc["f2008", "reasons_zh"]
    assert f"{tianning}第五十二条" in results["tianning"].loc["f2010", "reasons_zh"]  # UNAPPROVED: pay fees first
    assert f"{yanbian}第十二条" in results["yanbian"].loc["f2010", "reasons_zh"]


# --------------------------------------------------------------- Xian 1980

FOUR = {"dx": -61.2, "dy": 38.7, "rotation_arcsec": 2.5, "scale_ppm": 3.1, "origin_x": 420000.0,
        "origin_y": 2790000.0}


def _inverse_four(x, y, p):
    """Coordinates in the issuing system, so that the declared four parameters bring them back."""
    theta = np.deg2rad(p["rotation_arcsec"] / 3600)
    k = 1 + p["scale_ppm"] * 1e-6
    u, v = (x - p["origin_x"] - p["dx"]) / k, (y - p["origin_y"] - p["dy"]) / k
    c, s = np.cos(theta), np.sin(theta)
    return p["origin_x"] + u * c + v * s, p["origin_y"] - u * s + v * c


def _xian80_project(tmp_path, declare: str):
    cases = [Case("old_village", attrs={**NO, "JCNF": 2005}, survey_2009=[((0, 0, 40, 40), "203")]),
             Case("farm_in_2009", attrs={**NO, "JCNF": 2005}, survey_2009=[((0, 0, 40, 40), "013")])]
    path = build_project(cases, tmp_path)
    gpkg = tmp_path / "planted.gpkg"
    erdiao = pyogrio.read_dataframe(gpkg, layer="dltb_2009")
    # surround each patch by the other class so a shift of tens of metres changes the class under a parcel
    shifted = gpd.GeoDataFrame(erdiao.drop(columns="geometry"), geometry=erdiao.geometry.translate(-61.2, 38.7),
                               crs=erdiao.crs)
    swapped = shifted.assign(DLBM=shifted["DLBM"].map({"203": "013", "013": "203"}).fillna(shifted["DLBM"]))
    both = gpd.GeoDataFrame(pd.concat([erdiao, swapped], ignore_index=True), crs=erdiao.crs)
    x80 = both.copy()
    x80["geometry"] = both.geometry.transform(lambda xy: np.column_stack(_inverse_four(xy[:, 0], xy[:, 1], FOUR)))
    x80 = x80.set_crs(2382, allow_override=True)
    pyogrio.write_dataframe(x80, tmp_path / "erdiao_x80.gpkg", layer="DLTB", driver="GPKG")
    text = path.read_text(encoding="utf-8")
    text = text.replace('[layers.survey_2009]\npath = "planted.gpkg"\nlayer = "dltb_2009"',
                        f'[layers.survey_2009]\npath = "erdiao_x80.gpkg"\nlayer = "DLTB"\ncrs = "EPSG:2382"\n{declare}')
    path.write_text(text, encoding="utf-8")
    return path


def test_four_parameter_transform_makes_categories_right(tmp_path):
    params = ", ".join(f"{k} = {v}" for k, v in FOUR.items())
    path = _xian80_project(tmp_path, f"four_param = {{ {params} }}")
    res = landgis.screen(path)
    assert res.table["legacy"].tolist() == ["L1", ""]
    assert res.table["survey_2009_construction_m2"].tolist() == [400.0, 0.0]
    assert res.table["verdict"].tolist() == ["conditional", "ineligible"]


def test_without_the_transform_the_categories_are_wrong_and_warned(tmp_path):
    path = _xian80_project(tmp_path / "b", "")
    with pytest.warns(DatumShiftWarning, match="layer `survey_2009`"):
        res = landgis.screen(path)
    assert res.table["legacy"].tolist() == ["", "L1"]  # the ballpark shift puts each parcel on its neighbour


def test_four_param_round_trip_and_geometry():
    x, y = np.array([420100.0, 421000.0]), np.array([2790050.0, 2789000.0])
    back = four_param_transform(*_inverse_four(x, y, FOUR), FOUR)
    np.testing.assert_allclose(back, (x, y), atol=1e-6)
    # a pure quarter turn about the origin: (1, 0) → (0, 1), counter-clockwise
    qx, qy = four_param_transform(np.array([1.0]), np.array([0.0]), {"dx": 0, "dy": 0, "rotation_arcsec": 324000})
    np.testing.assert_allclose([qx[0], qy[0]], [0.0, 1.0], atol=1e-9)


def test_helmert_pipeline_equals_towgs84_bound_crs():
    p = {"dx": 24.0, "dy": -123.0, "dz": -94.0, "rx_arcsec": 0.02, "ry_arcsec": -0.25, "rz_arcsec": -0.13,
         "scale_ppm": 1.1, "convention": "position_vector"}
    ours = Transformer.from_pipeline(helmert_pipeline(CRS.from_epsg(2382), CRS.from_epsg(4546), p))
    bound = CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=111 +k=1 +x_0=500000 +y_0=0 +ellps=IAU76 "
                           "+towgs84=24,-123,-94,0.02,-0.25,-0.13,1.1 +units=m")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Transformer.from_crs(bound, CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=111 +k=1 +x_0=500000 "
                                                         "+y_0=0 +ellps=GRS80 +towgs84=0,0,0 +units=m"),
                                   always_xy=True)
    x, y = np.array([419000.0, 430000.0]), np.array([2788000.0, 2800000.0])
    np.testing.assert_allclose(ours.transform(x, y), ref.transform(x, y), atol=1e-3)


def test_conversion_keys_are_checked(tmp_path):
    base = ('[project]\nname="t"\n[layers.parcels]\npath="zd.gpkg"\n[layers.survey_2009]\npath="e.gpkg"\n')
    for extra, message in [
        ('four_param = { dx = 1 }', "four_param needs `dy`"),
        ('four_param = { dx = 1, dy = 2, rotation = 3 }', "unknown key `rotation`"),
        ('crs = "EPSG:2382"\nhelmert = { dx = 1, dy = 2, dz = 3, convention = "bursa" }', "position_vector"),
        ('helmert = { dx = 1, dy = 2, dz = 3, convention = "position_vector" }', "needs the layer's own `crs`"),
        ('transform = "+proj=noop"\nfour_param = { dx = 1, dy = 2 }', "give one conversion only"),
    ]:
        (tmp_path / "p.toml").write_text(base + extra + "\n", encoding="utf-8")
        with pytest.raises(ProjectError, match=message):
            landgis.load_project(tmp_path / "p.toml")



# ------------------------------------------------ legacy categories that cannot be told

def _without_survey_2009(path):
    """The planted project with its [layers.survey_2009] removed (the 二调 layer not supplied)."""
    text = path.read_text(encoding="utf-8")
    block = '\n[layers.survey_2009]\npath = "planted.gpkg"\nlayer = "dltb_2009"'
    assert block in text
    path.write_text(text.replace(block, ""), encoding="utf-8")
    return path


NO_2009_CASES = [
    Case("approved_2005", attrs={"JCNF": 2005}),
    Case("f2005", attrs={**NO, "JCNF": 2005}),
    Case("f2012", attrs={**NO, "JCNF": 2012}),
    Case("no_year", attrs={**NO, "JCNF": None}),
    Case("cert_2012", attrs={**NO, "JCNF": 2012, "FWSYQZ": "是"}),
    Case("street_2005", attrs={**NO, "JCNF": 2005, "SFLJ": "是", "JSYDSYZ": "是"}),
    Case("pending_2005", attrs={**NO, "JCNF": 2005, "CFDW": "否"}),
    Case("f2005_farmland", attrs={**NO, "JCNF": 2005}, farmland=[(0, 0, 40, 40)]),
]
E, C, I = "eligible", "conditional", "ineligible"
# profile → case → (verdict, reasons, legacy, legacy_open). Without a 二调 layer L1 cannot be told: a parcel it
# could cover (no approval, formed before 2009 or in an unknown year) can be told neither UNAPPROVED nor LEGACY,
# and nothing unchecked is eligible: it is conditional, NODATA-LEGACY and NODATA-UNAPPROVED naming the 二调
# layer that would settle it; land it cannot cover (formed from 2009 on) is still UNAPPROVED; categories that
# need no 二调 still hold.
UNTOLD = "NODATA-LEGACY;NODATA-UNAPPROVED"
NO_2009_EXPECTED = {
    "national": {"approved_2005": (E, "", "", ""), "f2005": (C, UNTOLD, "", "L1"), "f2012": (I, "UNAPPROVED", "", ""),
                 "no_year": (C, UNTOLD, "", "L1"), "cert_2012": (I, "UNAPPROVED", "", ""),
                 "street_2005": (C, UNTOLD, "", "L1"), "pending_2005": (C, UNTOLD, "", "L1"),
                 "f2005_farmland": (I, "FARMLAND", "", "L1")},
    "taian": {"approved_2005": (E, "", "", ""), "f2005": (C, UNTOLD, "", "L1"), "f2012": (I, "UNAPPROVED", "", ""),
              "no_year": (C, UNTOLD, "", "L1"), "cert_2012": (C, "LEGACY", "L2", ""),
              "street_2005": (C, "LEGACY", "L3", ""), "pending_2005": (C, UNTOLD, "", "L4;L1"),
              "f2005_farmland": (I, "FARMLAND", "", "L1")},
    "tianning": {"approved_2005": (E, "", "", ""), "f2005": (C, UNTOLD, "", "L1"),
                 "f2012": (C, "UNAPPROVED", "", ""), "no_year": (C, UNTOLD, "", "L1"),
                 "cert_2012": (C, "UNAPPROVED", "", ""), "street_2005": (C, UNTOLD, "", "L1"),
                 "pending_2005": (C, UNTOLD, "", "L1"), "f2005_farmland": (I, "FARMLAND", "", "L1")},
}
NO_2009_EXPECTED["guilin"] = NO_2009_EXPECTED["national"]
NO_2009_WHY = "on {} parcel(s): the project has no [layers.survey_2009]"


@pytest.fixture(scope="module")
def no_2009(tmp_path_factory):
    path = _without_survey_2009(build_project(NO_2009_CASES, tmp_path_factory.mktemp("no2009")))
    out = {}
    for profile in NO_2009_EXPECTED:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            res = landgis.screen(path, profile=profile, progress=False)
        skipped_warnings = sorted(str(w.message) for w in record if issubclass(w.category, SkippedRuleWarning))
        out[profile] = (res, res.table.set_index(np.array([c.name for c in NO_2009_CASES])), skipped_warnings)
    return out


@pytest.mark.parametrize("profile", list(NO_2009_EXPECTED))
def test_without_2009_survey_untold_legacy_is_not_excluded_as_unapproved(no_2009, profile):
    res, table, _ = no_2009[profile]
    got = {case: (row["verdict"], row["reasons"], row["legacy"], res.facts.loc[i, "legacy_open"])
           for i, (case, row) in enumerate(table.iterrows())}
    assert got == NO_2009_EXPECTED[profile]
    unapproved = res.facts["unapproved"].tolist()
    # unknown exactly where a category that could not be told could cover the unapproved construction land
    assert [u is pd.NA for u in unapproved] == [v[3] != "" for v in NO_2009_EXPECTED[profile].values()]


@pytest.mark.parametrize("profile", list(NO_2009_EXPECTED))
def test_without_2009_survey_unapproved_and_legacy_are_reported_not_checked(no_2009, profile):
    res, _, messages = no_2009[profile]
    why = NO_2009_WHY.format(4 if profile == "taian" else 5)
    assert [(s.rule, s.why) for s in res.skipped] == [("UNAPPROVED", why), ("LEGACY", why)]
    assert messages == [f"rule LEGACY not checked: {why}", f"rule UNAPPROVED not checked: {why}"]
    said = sorted(p.message_zh for p in res.problems if p.message.startswith("rule "))   # the 数据问题 sheet's words
    n = 4 if profile == "taian" else 5
    assert said == [f"规则 LEGACY 未核查（{n} 宗地块）：缺少第二次全国土地调查（二调）地类图斑图层 [layers.survey_2009]",
                    f"规则 UNAPPROVED 未核查（{n} 宗地块）：缺少第二次全国土地调查（二调）地类图斑图层 [layers.survey_2009]"]


def test_without_2009_survey_the_evidence_says_what_is_missing(no_2009):
    _, national, _ = no_2009["national"]
    assert national.loc["f2005", "legacy_basis"] == ("L1 未能判定（缺少二调图层 [layers.survey_2009]）："
                                                     "无批准文号，未落在已批准用地上；2005年形成")
    assert national.loc["no_year", "legacy_basis"].endswith("；形成年份未记载")
    assert national.loc["f2012", "legacy_basis"] == ""
    _, taian, _ = no_2009["taian"]
    assert taian.loc["pending_2005", "legacy_basis"].startswith("L4、L1 未能判定（缺少二调图层 [layers.survey_2009]）：")
    assert taian.loc["cert_2012", "legacy_basis"] == "L2：无批准文号，未落在已批准用地上；2012年形成；有房屋所有权证"


def test_untold_rule_is_not_reported_when_every_parcel_could_be_decided(tmp_path):
    # only land formed from 2009 on, or approved: L1 could cover none of it, so nothing is left unchecked
    cases = [Case("approved_2005", attrs={"JCNF": 2005}), Case("f2012", attrs={**NO, "JCNF": 2012})]
    path = _without_survey_2009(build_project(cases, tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedRuleWarning)
        res = landgis.screen(path, profile="national", progress=False)
    assert res.skipped == []
    assert res.table["verdict"].tolist() == ["eligible", "ineligible"]
    assert res.table["reasons"].tolist() == ["", "UNAPPROVED"]


def test_bounds_follow_kleene_logic():
    from landgis.conditions import evaluate_bounds, parse_condition

    facts = pd.DataFrame({"approved": [False, False, True, False], "unapproved": [True, False, False, True]})
    unknown = {"unapproved": np.array([False, False, False, True])}
    cond = parse_condition({"not": {"any": [{"fact": "approved", "is": True},
                                            {"fact": "survey_2009_construction_m2", "above": "tolerance"}]}}, "t")
    surely, maybe = evaluate_bounds(cond, facts, 1.0)          # the 二调 fact is absent: unknown everywhere
    assert surely.tolist() == [False] * 4 and maybe.tolist() == [True, True, False, True]
    rule = parse_condition({"fact": "unapproved", "is": True}, "UNAPPROVED")
    surely, maybe = evaluate_bounds(rule, facts, 1.0, unknown)
    assert surely.tolist() == [True, False, False, False] and maybe.tolist() == [True, False, False, True]


# ------------------------------------------------ taian L2: approved by the county government

def _l2_facts(**columns):
    base = {"approved": [False] * 4, "formed_year": [2012, 2012, 2012, 2008],
            "survey_2009_construction_m2": [0.0] * 4, "survey_2009_legacy_m2": [0.0] * 4,
            "survey_2009_other_m2": [400.0] * 4, "survey_construction_m2": [400.0] * 4, "area_m2": [400.0] * 4}
    return pd.DataFrame({**base, **columns})


def test_l2_county_government_approval_grounds_the_category():
    from landgis.legacy import classify_legacy
    from landgis.profiles import load_profile

    facts = _l2_facts(county_approved=pd.array([True, False, pd.NA, True], dtype="boolean"),
                      house_cert=pd.array([False, False, False, False], dtype="boolean"))
    out = classify_legacy(facts, load_profile("taian"), tolerance=1.0)
    # county approval from 2009 on → L2; not approved, unknown, or before 2009 (L1 needs the 二调) → none
    assert out["legacy"].tolist() == ["L2", "", "", ""]
    assert out["unapproved"].tolist() == [False, True, True, True]
    assert out.loc[0, "legacy_basis"] == "L2：无批准文号，未落在已批准用地上；2012年形成；经县级人民政府批准；无房屋所有权证"
    # national recognises L1 only: county approval is no lawful land approval there
    national = classify_legacy(facts, load_profile("national"), tolerance=1.0)
    assert national["legacy"].tolist() == ["", "", "", ""] and national["unapproved"].tolist() == [True] * 4


def test_l2_keeps_its_title_and_source_and_reads_both_grounds():
    from landgis.conditions import facts_used
    from landgis.profiles import load_profile

    l2 = {c.id: c for c in load_profile("taian").legacy}["L2"]
    assert l2.title_zh == "2009年以后经县级人民政府批准或取得房屋所有权证书、尚未取得合法土地手续"
    assert l2.source == "三（三）9（2）"
    assert {"county_approved", "house_cert", "approved", "formed_year"} == facts_used(l2.when)


def test_county_approved_is_a_parcel_attribute_with_a_default_field(tmp_path):
    from landgis.schema import PARCEL_ATTRIBUTES, STANDARD_FIELDS

    assert "county_approved" in PARCEL_ATTRIBUTES
    assert STANDARD_FIELDS["parcels"]["county_approved"] == ("XZFPZ",)
    path = build_project([Case("a")], tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[layers.parcels.fields]", '[layers.parcels.fields]\ncounty_approved = "XZFPZ"'),
                    encoding="utf-8")
    spec = landgis.load_project(path).layers["parcels"]
    assert spec.fields["county_approved"] == "XZFPZ"


def test_l2_county_approved_end_to_end(tmp_path):
    cases = [Case("county_2012", attrs={**NO, "JCNF": 2012, "XZFPZ": "是"}, survey_2009=C011),
             Case("not_county_2012", attrs={**NO, "JCNF": 2012, "XZFPZ": "否"}, survey_2009=C011)]
    res = landgis.screen(build_project(cases, tmp_path), profile="taian", progress=False)
    assert res.table["legacy"].tolist() == ["L2", ""]
    assert res.table["verdict"].tolist() == ["conditional", "ineligible"]
    assert res.table["reasons"].tolist() == ["LEGACY", "UNAPPROVED"]
    assert res.table["approved"].tolist() == [False, False]
