"""规划条件 (容积率, 建筑密度, 绿地率, 建筑限高) carried from the planned-use patches to each parcel.

Planted parcels of 20 m × 20 m (tests/planted.py); the conditions follow from the boxes by hand.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from landgis.fields import parse_limits
from tests.planted import Case, screen_cases

LIMITS = ("plot_ratio_max", "building_density_max", "green_ratio_min", "height_max_m")
LOW = {"RJL": 1.2, "JZMD": 45.0, "LDL": 15.0, "JZXG": 24.0}
HIGH = {"RJL": 2.0, "JZMD": 45.0, "LDL": 20.0, "JZXG": 36.0}

CASES = [
    # one patch, its conditions written as plans write them
    Case("written", zoning=[((0, 0, 40, 40), "100101",
                             {"RJL": "≤1.2", "JZMD": "0.35", "LDL": "30%-35%", "JZXG": "不超过24米"})]),
    # the parcel (x 10–30) straddles two plots: x < 18 one set, the rest another: the strictest of each
    Case("straddles", zoning=[((0, 0, 18, 40), "100101", LOW), ((18, 0, 40, 40), "0901", HIGH)]),
    # the other plot touches the parcel by 0.4 m² (x 29.98–30): a sliver, not counted
    Case("sliver", zoning=[((0, 0, 29.98, 40), "100101", LOW), ((29.98, 0, 40, 40), "0901", HIGH)]),
    # a value that is no limit gives none; the plot's other conditions still count
    Case("unreadable", zoning=[((0, 0, 40, 40), "100101", {**LOW, "RJL": "高层"})]),
    # no condition written at all
    Case("none"),
]


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conditions")
    result, _ = screen_cases(CASES, folder, profile="national", progress=False)
    out = result.write(folder / "out", map_html=False)
    table = pd.read_csv(out / "inventory.csv", dtype={"planning_conditions_note": str}, keep_default_na=False)
    return result, table.assign(case=[c.name for c in CASES]).set_index("case")


def _limits(row: pd.Series) -> list[float | None]:
    return [None if row[c] == "" or (isinstance(row[c], float) and math.isnan(row[c])) else float(row[c])
            for c in LIMITS]


def test_each_parcel_carries_the_strictest_conditions_of_its_plots(screened):
    _, table = screened
    assert _limits(table.loc["written"]) == [1.2, 35.0, 30.0, 24.0]   # ≤, a fraction, a range's lower bound, 米
    assert _limits(table.loc["straddles"]) == [1.2, 45.0, 20.0, 24.0]  # lowest upper limits, highest 绿地率
    assert table.loc["straddles", "planning_conditions_note"] == \
        "规划图斑条件不一：容积率 1.2–2、绿地率 15–20%、建筑限高 24–36 米，取最严"
    assert _limits(table.loc["sliver"]) == [1.2, 45.0, 15.0, 24.0]
    assert table.loc["sliver", "planning_conditions_note"] == ""
    assert _limits(table.loc["unreadable"]) == [None, 45.0, 15.0, 24.0]
    assert _limits(table.loc["none"]) == [None, None, None, None]
    # conditions describe the plan; they decide no verdict
    assert set(table["verdict"]) == {"eligible"}


def test_an_unreadable_condition_is_named_with_its_layer_field_and_value(screened):
    result, _ = screened
    found = [p for p in result.problems if p.layer == "zoning" and p.field == "RJL"]
    assert len(found) == 1 and found[0].severity == "warning"
    assert "1 value(s) of plot_ratio are not a number" in found[0].message and "高层" in found[0].message
    # the 数据问题 sheet says it in Chinese, naming the field and the value
    assert found[0].message_zh.startswith("字段 RJL（容积率）有 1 个值不是数字或数值范围，或上限写反（") and "高层" in found[0].message_zh


def test_the_spreadsheet_heads_the_conditions_in_chinese(screened, tmp_path):
    import openpyxl

    result, _ = screened
    result.write(tmp_path / "out", map_html=False)
    sheet = openpyxl.load_workbook(tmp_path / "out" / "inventory.xlsx", read_only=True)["入市地块清单"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert {"容积率上限", "建筑密度上限(%)", "绿地率下限(%)", "建筑限高(米)", "规划条件说明"} <= set(header)


@pytest.mark.parametrize(("text", "bound", "percent", "expected"), [
    ("1.0～1.5", "upper", False, 1.5), ("1.0-1.5", "lower", False, 1.0), ("＜2", "upper", False, 2.0),
    ("不低于30%", "lower", True, 30.0), ("0.3", "lower", True, 30.0), ("0.3", "upper", False, 0.3),
    ("24m", "upper", False, 24.0), ("40％", "upper", True, 40.0),
])
def test_limits_are_read_as_plans_write_them(text, bound, percent, expected):
    values, bad = parse_limits(pd.Series([text]), bound, percent)
    assert values.tolist() == [expected] and not bad.any()


@pytest.mark.parametrize(("text", "bound"), [("高层", "upper"), ("1.2/1.5", "upper"), ("1-2-3", "upper"),
                                             ("约1.2", "upper"), ("≥1.0", "upper"), ("不大于30%", "lower")])
def test_what_is_not_a_limit_is_flagged(text, bound):
    values, bad = parse_limits(pd.Series([text]), bound, False)
    assert math.isnan(values[0]) and bad.tolist() == [True]
