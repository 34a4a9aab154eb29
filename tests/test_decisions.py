"""The collective's decision and its public notice, planted: the two-thirds rule at its boundary, township
land, notices counted in working days by the holiday calendar, and what a missing decision does."""

from __future__ import annotations

import math

import pytest

from tests.planted import Case, screen_cases

NO_DECISION = {k: None for k in ("JCJG", "YDHRS", "DHRS", "TYRS", "JYRQ", "GSQSRQ", "GSJZRQ")}

CASES = [
    Case("two_thirds", attrs={"YDHRS": 30, "DHRS": 28, "TYRS": 20}),         # exactly 2/3: 以上 includes it
    Case("one_short", attrs={"YDHRS": 30, "DHRS": 28, "TYRS": 19}),
    Case("members", attrs={"JCJG": "村民会议", "YDHRS": 301, "DHRS": 290, "TYRS": 200}),   # 200/301 < 2/3
    Case("none", attrs=NO_DECISION),
    Case("contradiction", attrs={"YDHRS": 30, "DHRS": 20, "TYRS": 25}),      # more for than attended
    Case("township", attrs={"QSXZ": "33", "JCJG": "镇党政联席会议", "YDHRS": None, "DHRS": None, "TYRS": None}),
    Case("township_wrong_body", attrs={"QSXZ": "33", "JCJG": "村民代表会议"}),
    Case("township_no_body", attrs={"QSXZ": "33", "JCJG": None, "YDHRS": None, "DHRS": None, "TYRS": None}),
    Case("notice_4", attrs={"GSQSRQ": "2024-03-04", "GSJZRQ": "2024-03-07"}),          # Mon–Thu
    Case("national_day", attrs={"GSQSRQ": "2024年9月27日", "GSJZRQ": "2024年10月9日"}),  # 13 days, 5 worked
    Case("notice_2099", attrs={"GSQSRQ": "2099-03-02", "GSJZRQ": "2099-03-13"}),        # beyond the calendar
    Case("notice_words", attrs={"GSQSRQ": "三月初", "GSJZRQ": "2024-03-08"}),
]


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    out = {}
    for profile in ("national", "yueqing", "taian", "guilin"):
        out[profile] = screen_cases(CASES, tmp_path_factory.mktemp(profile), profile)
    return out


def _reasons(inv, case):
    return (inv.loc[case, "verdict"], inv.loc[case, "reasons"])


@pytest.mark.parametrize("profile", ["national", "yueqing", "taian", "guilin"])
def test_two_thirds_passes_and_one_vote_less_does_not(screened, profile):
    """土地管理法第六十三条第二款 三分之二以上 (民法典第一千二百五十九条: 以上 includes the number); yueqing 第七条:
    到会成员…且通过人数达到应到会成员的三分之二以上."""
    _, inv = screened[profile]
    assert inv.loc["two_thirds", "verdict"] == "eligible"
    assert _reasons(inv, "one_short") == ("conditional", "DECISION")
    assert _reasons(inv, "members") == ("conditional", "DECISION")
    # no decision given, and (yueqing) no notice dates: each not checked, the parcel waits for them
    assert _reasons(inv, "none") == ("conditional", "NODATA-DECISION" + (";NODATA-NOTICE" if profile == "yueqing" else ""))
    assert _reasons(inv, "contradiction") == ("conditional", "NODATA-DECISION")


def test_township_land_is_decided_by_the_township(screened):
    """yueqing 第七条第（二）项, taian 三（三）8（3）: 乡镇（街道）集体土地 by the 党政联席会议 / 党委会."""
    for profile in ("yueqing", "taian"):
        _, inv = screened[profile]
        assert inv.loc["township", "verdict"] == "eligible"
        assert _reasons(inv, "township_wrong_body") == ("conditional", "DECISION")
        assert _reasons(inv, "township_no_body") == ("conditional", "NODATA-DECISION")


def test_notice_is_counted_in_working_days_under_yueqing(screened):
    """第二十七条: 不少于5个工作日公示; the State Council's holidays and worked weekends decide a working day."""
    res, inv = screened["yueqing"]
    days = res.facts["notice_workdays"].tolist()
    by_case = dict(zip([c.name for c in CASES], days, strict=True))
    assert (by_case["two_thirds"], by_case["notice_4"], by_case["national_day"]) == (5.0, 4.0, 5.0)
    assert math.isnan(by_case["notice_2099"]) and math.isnan(by_case["notice_words"])
    assert _reasons(inv, "notice_4") == ("conditional", "NOTICE")
    assert inv.loc["national_day", "verdict"] == "eligible"
    assert _reasons(inv, "notice_2099") == ("conditional", "NODATA-NOTICE")
    # the other profiles set no notice period: the dates decide nothing there
    assert screened["national"][1].loc["notice_4", "verdict"] == "eligible"


def test_what_is_missing_is_said_and_a_bad_value_is_named(screened):
    res, inv = screened["national"]
    text = inv.loc["none", "reasons_zh"]
    assert text.startswith("NODATA-DECISION") and "应到会人数 YDHRS" in text and "同意人数 TYRS" in text
    assert inv.loc["none", "actions"] == "补充数据后重新筛查（县级自然资源主管部门）"
    said = [p for p in res.problems if p.field == "GSQSRQ"]
    assert len(said) == 1 and "三月初" in said[0].message_zh and "日期" in said[0].message_zh
    contradiction = [p for p in res.problems if "表决人数自相矛盾" in p.message_zh]
    assert len(contradiction) == 1 and contradiction[0].features == inv.loc["contradiction", "parcel_id"]
    assert "《中华人民共和国土地管理法》第六十三条第二款" in inv.loc["one_short", "reasons_zh"]


def test_decision_values_read_once_each_as_what_they_are():
    """Each distinct value is read once, but 1 and True, or one instant in two time zones, are not
    one value; a list field (unhashable) is named, not a crash; a notice in a year the holiday
    calendar does not cover is not counted, whatever the span."""
    import datetime as dt

    import numpy as np
    import pandas as pd

    from landgis.decisions import read_decision_fields, working_days_between

    out, problems = pd.DataFrame({"parcel_id": list("abcde")}), []
    raw = pd.DataFrame({"m": [1, True, 2, np.array([1, 2]), 1]})
    read_decision_fields(raw, {"decision_members": "m"}, out, problems)
    assert out["decision_members"].tolist()[::2] == [1.0, 2.0, 1.0] and out["decision_members"].isna().tolist()[1::2] \
        == [True, True]
    assert "True" in problems[0].message and "[1 2]" in problems[0].message and problems[0].features == "b, d"
    shanghai = pd.Timestamp("2024-03-05 00:30", tz="Asia/Shanghai")
    utc = pd.Timestamp("2024-03-04 16:30", tz="UTC")       # the same instant, another day on its own clock
    days = working_days_between([shanghai, utc, dt.date(1, 1, 1), dt.date(2024, 9, 27)],
                                [dt.date(2024, 3, 8)] * 2 + [dt.date(9999, 12, 31), dt.date(2024, 10, 9)])
    assert days[:2].tolist() == [4.0, 5.0] and math.isnan(days[2]) and days[3] == 5.0
