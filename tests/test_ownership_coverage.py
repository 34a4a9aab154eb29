"""Ownership (COLLECTIVE) and current-survey coverage (SURVEY-GAP), on planted parcels.

Each case is one 20 m × 20 m parcel, box(10, 10, 30, 30) in its 40 m cell (400 m²);
survey patches carry a 权属性质 QSXZ (default 30, collective). Expected verdicts,
reasons and areas follow from the planted boxes by hand.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pandas as pd
import pyogrio
import pytest

import landgis
from landgis.facts import parcel_facts
from tests.planted import Case, build_project

PROFILES = ("national", "guilin", "taian", "yanbian", "yueqing", "tianning")
E, C, I = "eligible", "conditional", "ineligible"


def _survey(*patches):
    """Survey patches ``(box, DLBM, QSXZ)``: the boxes for a Case, the QSXZ kept aside."""
    return [(box, code) for box, code, _ in patches], [qsxz for _, _, qsxz in patches]


def _screen_all(cases: list[Case], owners: dict[str, list[str]], folder) -> dict:
    """Build the project, write QSXZ on the survey patches, screen it under every profile."""
    path = build_project(cases, folder)
    gpkg = folder / "planted.gpkg"
    dltb = pyogrio.read_dataframe(gpkg, layer="dltb")
    qsxz = [q for case in cases for q in owners.get(case.name, ["30"] * len(case.survey))]
    dltb["QSXZ"] = qsxz + ["30"] * (len(dltb) - len(qsxz))   # the far patch when no case has one
    pyogrio.write_dataframe(dltb, gpkg, layer="dltb", driver="GPKG")
    out = {}
    for profile in PROFILES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", landgis.errors.LandgisWarning)
            res = landgis.screen(path, profile=profile, progress=False)
        table = res.table.set_index(pd.Index([c.name for c in cases]))
        out[profile] = SimpleNamespace(table=table, facts=res.facts.set_axis(table.index),
                                       problems=res.problems, ids=dict(zip(table.index, table["parcel_id"],
                                                                           strict=True)))
    return out


def _row(res, case):
    row = res.table.loc[case]
    return row["verdict"], row["reasons"] if isinstance(row["reasons"], str) else ""


def _coverage_problems(res):
    return [p for p in res.problems if p.layer == "survey" and "not fully covered" in p.message]


# ----------------------------------------------------------------------------- bugs 1 and 2
# A project where most parcels have a QSXZ: text codes as an Excel round trip leaves them,
# and blank ones, which fall back to the survey's ownership under that parcel.
STATE_SURVEY, STATE_QSXZ = _survey(((0, 0, 40, 40), "0601", "10"))
OWNED_CASES = [
    Case("ok"),
    Case("text_state_20", attrs={"QSXZ": "20.0"}),
    Case("text_state_10", attrs={"QSXZ": "10.0"}),
    Case("text_collective_30", attrs={"QSXZ": "30.0"}),
    Case("blank_on_state_survey", attrs={"QSXZ": ""}, survey=STATE_SURVEY),
    Case("blank_on_collective_survey", attrs={"QSXZ": ""}),
    Case("collective_on_state_survey", attrs={"QSXZ": "30"}, survey=STATE_SURVEY),   # the parcel's own wins
    Case("text_collective_on_state_survey", attrs={"QSXZ": "30.0"}, survey=STATE_SURVEY),
    Case("unknown_code_on_state_survey", attrs={"QSXZ": "99"}, survey=STATE_SURVEY),   # not valid: the survey's
]
OWNED_OWNERS = {"blank_on_state_survey": STATE_QSXZ, "collective_on_state_survey": STATE_QSXZ,
                "text_collective_on_state_survey": STATE_QSXZ, "unknown_code_on_state_survey": STATE_QSXZ}
OWNED_EXPECTED = {  # case → (collective, verdict, reasons, survey_state_m2), the same under every profile
    "ok": (True, E, "", 0.0),
    "text_state_20": (False, I, "COLLECTIVE", 0.0),
    "text_state_10": (False, I, "COLLECTIVE", 0.0),
    "text_collective_30": (True, E, "", 0.0),
    "blank_on_state_survey": (False, I, "COLLECTIVE", 400.0),
    "blank_on_collective_survey": (True, E, "", 0.0),
    "collective_on_state_survey": (True, E, "", 400.0),
    "text_collective_on_state_survey": (True, E, "", 400.0),
    "unknown_code_on_state_survey": (False, I, "COLLECTIVE", 400.0),
}


@pytest.fixture(scope="module")
def owned(tmp_path_factory):
    return _screen_all(OWNED_CASES, OWNED_OWNERS, tmp_path_factory.mktemp("owned"))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", list(OWNED_EXPECTED))
def test_parcel_ownership_text_codes_and_blank_fallback(owned, profile, case):
    _assert_ownership(owned[profile], case, OWNED_EXPECTED[case])


def _assert_ownership(res, case, expected):
    """``expected``: (collective (None: unknown), verdict, reasons, survey_state_m2)."""
    collective, verdict, reasons, state_m2 = expected
    assert _row(res, case) == (verdict, reasons)
    for got in (res.facts.loc[case, "collective"], res.table.loc[case, "collective"]):
        assert pd.isna(got) if collective is None else got == collective
    assert res.facts.loc[case, "survey_state_m2"] == pytest.approx(state_m2, abs=1e-6)


def test_collective_basis_names_the_parcels_code_or_the_surveys_state_land(owned):
    basis = owned["national"].facts["collective_basis"]
    assert basis["text_state_20"] == "宗地权属性质 20（国有）"
    assert basis["blank_on_state_survey"] == "宗地未填权属性质；三调国有土地 400.00 m²（100.0%）"
    assert basis["ok"] == "宗地权属性质 30（集体）"
    assert basis["blank_on_collective_survey"] == "宗地未填权属性质；三调国有土地 0.00 m²（0.0%）"
    assert basis["unknown_code_on_state_survey"] == "宗地权属性质 99 无法识别；三调国有土地 400.00 m²（100.0%）"


def test_fully_covered_parcels_raise_no_coverage_problem(owned):
    for res in owned.values():
        assert _coverage_problems(res) == []
        assert res.facts["survey_uncovered_m2"].max() == pytest.approx(0.0, abs=1e-6)


# ----------------------------------------------------------------------------- bug 3
# No parcel has a QSXZ: the survey decides, and state land above the tolerance (1 m²) is not collective.
HALF_STATE, HALF_STATE_QSXZ = _survey(((0, 0, 19, 40), "0601", "10"), ((19, 0, 40, 40), "0601", "30"))
SLIVER, SLIVER_QSXZ = _survey(((0, 0, 10.04, 40), "0601", "10"), ((10.04, 0, 40, 40), "0601", "30"))
NEAR, NEAR_QSXZ = _survey(((0, 0, 10.075, 40), "0601", "20"), ((10.075, 0, 40, 40), "0601", "30"))
SURVEY_CASES = [
    Case("state_0", attrs={"QSXZ": ""}),
    Case("state_45pct", attrs={"QSXZ": ""}, survey=HALF_STATE),       # x 10..19: 9 × 20 = 180 m² state land
    Case("state_sliver", attrs={"QSXZ": ""}, survey=SLIVER),          # 0.04 × 20 = 0.8 m² ≤ tolerance
    Case("state_1p5", attrs={"QSXZ": ""}, survey=NEAR),               # 0.075 × 20 = 1.5 m² > tolerance
    Case("no_survey_at_all", attrs={"QSXZ": ""}, survey=[]),          # nothing says who owns it
]
SURVEY_OWNERS = {"state_45pct": HALF_STATE_QSXZ, "state_sliver": SLIVER_QSXZ, "state_1p5": NEAR_QSXZ}
SURVEY_EXPECTED = {  # case → (collective, verdict, reasons, survey_state_m2)
    "state_0": (True, E, "", 0.0),
    "state_45pct": (False, I, "COLLECTIVE", 180.0),
    "state_sliver": (True, E, "", 0.8),
    "state_1p5": (False, I, "COLLECTIVE", 1.5),
    "no_survey_at_all": (None, C, "SURVEY-GAP", 0.0),
}


@pytest.fixture(scope="module")
def survey_owned(tmp_path_factory):
    return _screen_all(SURVEY_CASES, SURVEY_OWNERS, tmp_path_factory.mktemp("survey_owned"))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", list(SURVEY_EXPECTED))
def test_survey_state_land_above_tolerance_is_not_collective(survey_owned, profile, case):
    _assert_ownership(survey_owned[profile], case, SURVEY_EXPECTED[case])


def test_collective_basis_shows_the_state_area(survey_owned):
    basis = survey_owned["national"].facts["collective_basis"]
    assert basis["state_45pct"] == "宗地未填权属性质；三调国有土地 180.00 m²（45.0%）"
    assert basis["state_1p5"] == "宗地未填权属性质；三调国有土地 1.50 m²（0.4%）"
    assert basis["no_survey_at_all"] == "宗地未填权属性质；三调未覆盖，权属未知"


def test_parcel_facts_takes_the_projects_tolerance():
    import geopandas as gpd
    import shapely

    from landgis.facts import code_tables_for, compute_overlays

    # one 20 × 20 m parcel, 1.5 m² of it on state land (10), the rest collective (30)
    parcels = gpd.GeoDataFrame({"parcel_id": ["a"], "geometry_status": "ok"},
                               geometry=[shapely.box(0, 0, 20, 20)], crs="EPSG:4546")
    survey = gpd.GeoDataFrame({"class_code": ["0601", "0601"], "ownership": ["10", "30"]},
                              geometry=[shapely.box(0, 0, 0.075, 20), shapely.box(0.075, 0, 20, 20)], crs="EPSG:4546")
    layers = {"survey": survey}
    overlays = compute_overlays(parcels, layers)
    tables = code_tables_for({}, {})
    assert parcel_facts(parcels, layers, overlays, tables, {}).facts["collective"].tolist() == [False]
    assert parcel_facts(parcels, layers, overlays, tables, {}, tolerance=2.0).facts["collective"].tolist() == [True]


# ----------------------------------------------------------------------------- bug 4
AGRI_HALF = [((0, 0, 20, 40), "0101")]
COVER_CASES = [
    Case("covered"),
    Case("no_survey", survey=[]),
    Case("half_survey", survey=[((0, 0, 20, 40), "0601")]),           # x 20..30 uncovered: 200 m²
    Case("half_agri_rest_uncovered", survey=AGRI_HALF),               # 200 m² agricultural, 200 m² uncovered
    Case("gap_sliver", survey=[((0, 0, 29.96, 40), "0601")]),         # 0.04 × 20 = 0.8 m² uncovered
    Case("gap_1p5", survey=[((0, 0, 29.925, 40), "0601")]),           # 0.075 × 20 = 1.5 m² uncovered
]
COVER_EXPECTED = {  # case → (verdict, reasons, survey_uncovered_m2); tianning's NEG-AGRI is a condition
    "covered": (E, "", 0.0),
    "no_survey": (C, "SURVEY-GAP", 400.0),
    "half_survey": (C, "SURVEY-GAP", 200.0),
    "half_agri_rest_uncovered": (I, "NEG-AGRI;SURVEY-GAP", 200.0),
    "gap_sliver": (E, "", 0.8),
    "gap_1p5": (C, "SURVEY-GAP", 1.5),
}


@pytest.fixture(scope="module")
def coverage(tmp_path_factory):
    return _screen_all(COVER_CASES, {}, tmp_path_factory.mktemp("coverage"))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", list(COVER_EXPECTED))
def test_survey_gap_is_a_condition(coverage, profile, case):
    verdict, reasons, uncovered = COVER_EXPECTED[case]
    if profile == "tianning" and verdict == I:
        verdict = C
    res = coverage[profile]
    assert _row(res, case) == (verdict, reasons)
    assert res.facts.loc[case, "survey_uncovered_m2"] == pytest.approx(uncovered, abs=1e-6)
    assert res.facts.loc[case, "survey_uncovered_share"] == pytest.approx(uncovered / 400.0, abs=1e-6)
    assert res.facts.loc[case, "survey_covered_m2"] == pytest.approx(400.0 - uncovered, abs=1e-6)


def test_survey_gap_reason_carries_its_articles(coverage):
    text = coverage["national"].table.loc["no_survey", "reasons_zh"]
    assert text == ("SURVEY-GAP 三调未覆盖，现状地类无法确认"
                    "（《关于深化农村集体经营性建设用地入市试点工作的意见》（厅字〔2022〕34号））")
    text = coverage["taian"].table.loc["no_survey", "reasons_zh"]
    assert "（《台安县农村集体经营性建设用地入市试点工作实施方案》三（一）3、三（三）6；" in text
    # Tianning's joint review checks the land class (第三十二条第（四）项); not 第九条, which is about conversion
    text = coverage["tianning"].table.loc["no_survey", "reasons_zh"]
    assert text.endswith("（《常州市天宁区农村集体经营性建设用地入市管理办法（试行）》（常天政规〔2021〕1号）第三十二条第（四）项）")


def test_survey_gap_warns_naming_the_layer_and_the_parcels(coverage):
    ids = coverage["national"].ids
    for res in coverage.values():
        (problem,) = _coverage_problems(res)
        assert problem.severity == "warning" and problem.layer == "survey"
        named = set(problem.features.split(", "))
        assert named == {ids["no_survey"], ids["half_survey"], ids["half_agri_rest_uncovered"], ids["gap_1p5"]}
        assert "801.50 m²" in problem.message                # 400 + 200 + 200 + 1.5
        assert "图斑" in problem.message and "extent" in problem.message
