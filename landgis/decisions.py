"""The collective's decision to enter the market, and its public notice, as parcel attributes.

The parcels layer (or a table joined to it) may carry, per parcel:

- ``decision_members`` 应到会人数 (the members, or the representatives, of the body that voted),
  ``decision_attended`` 到会人数, ``decision_for`` 同意人数 — counts;
- ``decision_body`` 决策机构 (村民会议, 村民代表会议, 成员（代表）会议, 党政联席会议…);
- ``decision_date`` 决议日期, ``notice_start`` and ``notice_end`` 公示起止日期 — dates.

:func:`decision_facts` gives the facts the rules test:

- ``decision_short`` — the decision given falls short: for land of a village collective,
  fewer than two thirds of the body's members voted for (土地管理法第六十三条第二款:
  三分之二以上, which counts the number itself, 民法典第一千二百五十九条: exactly two thirds
  passes); for land of a township collective (权属性质 33, or an owner named so), a body other
  than its 党政联席会议 or leadership meeting decided. Blank where the data does not say.
- ``notice_workdays`` — the working days of the public notice, first and last day included,
  as the State Council's holiday calendar makes them (weekends worked in exchange count;
  ``chinese_calendar``); blank where a date is missing or lies beyond the calendar's years.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from landgis.distinct import map_distinct
from landgis.errors import Problem, listed_features

__all__ = ["DECISION_COUNTS", "DECISION_DATES", "read_decision_fields", "decision_facts", "working_days",
           "working_days_between",
           "TOWNSHIP_BODIES", "decision_text"]

#: the counts of a vote
DECISION_COUNTS = ("decision_members", "decision_attended", "decision_for")
#: the dates of a decision and its notice
DECISION_DATES = ("decision_date", "notice_start", "notice_end")
#: the bodies that decide for a township collective's land (yueqing 第七条第（二）项: 乡镇（街道）党政联席会议
#: 或领导班子办公会议; taian 三（三）8（3）: 镇（街道）政府党委会)
TOWNSHIP_BODIES = ("党政联席会议", "领导班子", "班子会议", "办公会议", "党委会")
#: an owner that is a township collective (权属性质 33 is the code)
_TOWNSHIP_OWNER = re.compile(r"(?:乡|镇|街道)(?:农民)?(?:集体经济组织|经济联合社|联合社|集体)$")
_COUNT = re.compile(r"^\s*(\d+)(?:\.0+)?\s*(人|名)?\s*$")
_DATE = re.compile(r"^\s*(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?\s*$|^\s*(\d{4})(\d{2})(\d{2})\s*$")


def _blank(value: Any) -> bool:
    """None, NaN, NaT, pd.NA, or only spaces."""
    try:
        if pd.isna(value):
            return True
    except (TypeError, ValueError):
        pass
    return str(value).strip() == ""


def _count(value: Any) -> tuple[float, bool]:
    """(a head count, or NaN when blank; whether the value is not one)."""
    if _blank(value):
        return np.nan, False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value), False) if float(value) >= 0 and float(value) == int(value) else (np.nan, True)
    m = _COUNT.match(str(value))
    return (float(m[1]), False) if m else (np.nan, True)


def _date(value: Any) -> tuple[Any, bool]:
    """(a date, or None when blank; whether the value is not one)."""
    if _blank(value):
        return None, False
    if isinstance(value, (_dt.datetime, pd.Timestamp)):
        return value.date(), False
    if isinstance(value, _dt.date):
        return value, False
    text = str(value).strip()
    m = _DATE.match(re.split(r"[ T]", text)[0] if ":" in text else text)   # a time after the date: its date
    if not m:
        return None, True
    y, mo, d = (m[1], m[2], m[3]) if m[1] else (m[4], m[5], m[6])
    try:
        return _dt.date(int(y), int(mo), int(d)), False
    except ValueError:
        return None, True


def read_decision_fields(frame: pd.DataFrame, fields: Mapping[str, str], out: pd.DataFrame,
                         problems: list[Problem]) -> None:
    """The decision attributes the parcels layer carries, read into ``out``; a value that is not a
    count or a date is named (layer, field, parcels) and read as blank."""
    readers = {**{c: (_count, "人数（整数，如 25 或 25人）") for c in DECISION_COUNTS},
               **{c: (_date, "日期（如 2024-03-15 或 2024年3月15日）") for c in DECISION_DATES}}
    for canon, (read, kind) in readers.items():
        if canon not in fields:
            continue
        raw = frame[fields[canon]].reset_index(drop=True)
        parsed = map_distinct(raw.astype(object), read, missing=read(None)).tolist()   # once per distinct value
        value = np.array([v for v, _ in parsed], dtype=object)
        bad = np.array([b for _, b in parsed], dtype=bool)
        out[canon] = pd.Series(value, dtype=float if canon in DECISION_COUNTS else object)
        if bad.any():
            shown = ", ".join(sorted({str(v) for v in raw[bad]})[:5])
            problems.append(Problem("warning", "parcels", f"{canon}: values {shown} are not "
                                    f"{'head counts' if canon in DECISION_COUNTS else 'dates'}; read as blank "
                                    "(the rule they settle is then not checked on those parcels)",
                                    field=fields[canon], features=listed_features(out, bad, "parcel_id"),
                                    message_zh=f"字段 {fields[canon]} 的值 {shown} 不是{kind}，按空值处理（相应规则"
                                               "对这些宗地未能核查）"))
    if "decision_body" in fields:
        out["decision_body"] = frame[fields["decision_body"]].reset_index(drop=True).astype(object).where(
            frame[fields["decision_body"]].reset_index(drop=True).notna(), "").astype(str).str.strip()


def township_owned(parcels: pd.DataFrame) -> np.ndarray:
    """Land of a township (乡镇、街道) collective: 权属性质 33, or an owner named so."""
    n = len(parcels)
    code = parcels["ownership"].astype(str).str.strip().to_numpy() if "ownership" in parcels else np.full(n, "")
    owner = parcels["owner"].astype(str).str.strip() if "owner" in parcels else pd.Series([""] * n)
    return (code == "33") | owner.str.contains(_TOWNSHIP_OWNER).to_numpy(dtype=bool)


def decision_facts(parcels: pd.DataFrame, unavailable: dict[str, str],
                   problems: list[Problem] | None = None) -> dict[str, Any]:
    """``decision_short`` (bool, NA: not said) and ``notice_workdays`` (NaN: not said) per parcel.

    >>> frame = pd.DataFrame({"parcel_id": list("abcde"), "decision_members": [30, 30, 30, None, 31],
    ...                       "decision_for": [20, 19, 25, 10, 21]})
    >>> decision_facts(frame, {})["decision_short"].tolist()   # 20/30 is two thirds: it passes
    [False, True, False, <NA>, False]
    """
    n = len(parcels)
    problems = problems if problems is not None else []
    # the vote and the dates as given, for the 入市方案 (decision_text)
    facts: dict[str, Any] = {c: parcels[c].to_numpy() for c in (*DECISION_COUNTS, *DECISION_DATES, "decision_body")
                             if c in parcels}
    if "decision_members" in parcels and "decision_for" in parcels or "decision_body" in parcels:
        members = pd.to_numeric(parcels.get("decision_members", pd.Series(np.nan, index=parcels.index)),
                                errors="coerce").to_numpy(dtype=float)
        votes = pd.to_numeric(parcels.get("decision_for", pd.Series(np.nan, index=parcels.index)),
                              errors="coerce").to_numpy(dtype=float)
        attended = pd.to_numeric(parcels.get("decision_attended", pd.Series(np.nan, index=parcels.index)),
                                 errors="coerce").to_numpy(dtype=float)
        body = parcels["decision_body"].astype(str).to_numpy() if "decision_body" in parcels else np.full(n, "")
        township = township_owned(parcels)
        # counts that contradict each other (more for than attended, more attended than members) say nothing
        wrong = (votes > np.where(np.isnan(attended), members, attended)) | (attended > members) | (members <= 0)
        if wrong.any():
            problems.append(Problem("warning", "parcels", f"{int(wrong.sum())} parcel(s) have vote counts that "
                                    "contradict each other (more for than attended, more attended than members, "
                                    "or no members): the decision rule is not checked on them",
                                    features=listed_features(parcels, wrong, "parcel_id"),
                                    message_zh=f"{int(wrong.sum())} 宗地块的表决人数自相矛盾（同意人数多于到会人数、"
                                               "到会人数多于应到会人数或应到会人数为0），未能核查集体决议"))
        counted = ~np.isnan(members) & ~np.isnan(votes) & ~wrong
        # two thirds or more, the number itself included: 3 × for ≥ 2 × members, in whole numbers
        short_vote = 3 * np.nan_to_num(votes) < 2 * np.nan_to_num(members)
        said_body = body != ""
        right_body = pd.Series(body).str.contains("|".join(TOWNSHIP_BODIES), regex=True).to_numpy(dtype=bool)
        short = pd.array([pd.NA] * n, dtype="boolean")
        village = ~township & counted
        short[village] = short_vote[village]
        town = township & said_body
        short[town] = ~right_body[town]
        facts["decision_short"] = short
    else:
        unavailable["decision_short"] = ("the parcels layer has no decision counts (map decision_members and "
                                         "decision_for under [layers.parcels.fields])")
    if "notice_start" in parcels and "notice_end" in parcels:
        facts["notice_workdays"] = working_days_between(parcels["notice_start"], parcels["notice_end"])
    else:
        unavailable["notice_workdays"] = ("the parcels layer has no notice dates (map notice_start and notice_end "
                                          "under [layers.parcels.fields])")
    return facts


def working_days(start: Any, end: Any) -> float:
    """Working days from ``start`` to ``end``, both included, by the holiday calendar (NaN: not known).

    >>> working_days(_dt.date(2024, 9, 27), _dt.date(2024, 10, 9))  # 国庆: 10-1…7 off, Sunday 9-29 worked
    5.0
    >>> working_days(_dt.date(2024, 3, 4), _dt.date(2024, 3, 8)), working_days(None, _dt.date(2024, 3, 8))
    (5.0, nan)
    """
    return float(working_days_between([start], [end])[0])


def working_days_between(starts: Any, ends: Any) -> np.ndarray:
    """:func:`working_days` of each pair: one calendar of the days the pairs span, counted by cumulative sums.

    A pair with a day of a year the holiday calendar does not cover, a missing day, or an end
    before its start gives NaN. Each day is looked up in the calendar once, not once per parcel.

    >>> working_days_between([_dt.date(2024, 9, 27), None, _dt.date(2024, 3, 8)],
    ...                      [_dt.date(2024, 10, 9), _dt.date(2024, 3, 8), _dt.date(2024, 3, 4)]).tolist()
    [5.0, nan, nan]
    """
    def days(values: Any) -> np.ndarray:
        def day(v: Any) -> np.datetime64:
            return np.datetime64(pd.Timestamp(v).date(), "D") if isinstance(v, _dt.date) and not _blank(v) \
                else np.datetime64("NaT")

        return np.array(map_distinct(pd.Series(list(values), dtype=object), day, missing=np.datetime64("NaT"))
                        .tolist(), dtype="datetime64[D]")

    start, end = days(starts), days(ends)
    out = np.full(len(start), np.nan)
    ok = ~np.isnat(start) & ~np.isnat(end) & (end >= start)
    if not ok.any():
        return out
    import chinese_calendar

    # the years the pairs start and end in, each asked of the calendar once; a pair in a year it
    # does not cover is not counted (its coverage is one run of years, so a pair between two
    # covered years lies in covered years), and no calendar is built across absurd spans
    def year(days: np.ndarray) -> np.ndarray:
        return days.astype("datetime64[Y]").astype(int) + 1970

    covered = {}
    for y in np.unique(np.r_[year(start[ok]), year(end[ok])]).tolist():
        try:
            chinese_calendar.is_workday(_dt.date(y, 6, 1))
            covered[y] = True
        except (NotImplementedError, ValueError):  # a year the calendar has no holidays for
            covered[y] = False
    ok[ok] = np.array([covered[a] and covered[b] for a, b in zip(year(start[ok]).tolist(), year(end[ok]).tolist(),
                                                                 strict=True)], dtype=bool)
    if not ok.any():
        return out
    first, last = start[ok].min(), end[ok].max()
    span = np.arange(first, last + 1)
    work = np.array([chinese_calendar.is_workday(d) for d in span.astype(object).tolist()], dtype=bool)
    work_sum = np.r_[0, np.cumsum(work)]
    i = (start[ok] - first).astype(int)
    j = (end[ok] - first).astype(int) + 1
    out[ok] = (work_sum[j] - work_sum[i]).astype(float)
    return out


def decision_text(facts: pd.DataFrame) -> np.ndarray:
    """The decision and its notice as the 入市方案 quotes them, one line per parcel ("" when none is given).

    >>> decision_text(pd.DataFrame({"decision_body": ["村民代表会议"], "decision_members": [30.0],
    ...     "decision_attended": [28.0], "decision_for": [20.0], "decision_date": [_dt.date(2024, 3, 1)],
    ...     "notice_start": [_dt.date(2024, 3, 4)], "notice_end": [_dt.date(2024, 3, 8)],
    ...     "notice_workdays": [5.0]}))[0]
    '村民代表会议，2024-03-01；应到会30人，到会28人，同意20人（66.7%）；公示2024-03-04至2024-03-08（5个工作日）'
    """
    n = len(facts)

    def col(name: str) -> np.ndarray:
        return facts[name].to_numpy(dtype=object) if name in facts else np.full(n, None, dtype=object)

    def text(values: np.ndarray, fmt: Callable[[Any], str] = str) -> np.ndarray:
        """Each value as text ("" when blank), each distinct value formatted once."""
        return map_distinct(pd.Series(values, dtype=object), lambda v: "" if _blank(v) else fmt(v), missing="")

    def join(parts: list[np.ndarray], sep: str) -> np.ndarray:
        """The non-empty parts of each row joined by ``sep``."""
        out = np.full(n, "", dtype=object)
        for part in parts:
            out = out + np.where((out != "") & (part != ""), sep, "") + part
        return out

    def whole(v: Any) -> str:
        return str(int(v))

    members_raw, votes_raw = col("decision_members"), col("decision_for")
    counts = join([np.where(t != "", label + t + "人", "") for label, t in
                   (("应到会", text(members_raw, whole)), ("到会", text(col("decision_attended"), whole)),
                    ("同意", text(votes_raw, whole)))], "，")
    members = pd.to_numeric(pd.Series(members_raw), errors="coerce").to_numpy(dtype=float)
    votes = pd.to_numeric(pd.Series(votes_raw), errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(~np.isnan(votes) & ~np.isnan(members) & (members != 0), votes / members, np.nan)
    share_text = text(share, "（{:.1%}）".format)
    counts = np.where(counts != "", counts + share_text, "")
    start, end = text(col("notice_start")), text(col("notice_end"))
    days = text(col("notice_workdays"), lambda v: f"（{int(v)}个工作日）")
    notice = np.where((start != "") | (end != ""), "公示" + np.where(start != "", start, "？") + "至"
                      + np.where(end != "", end, "？") + days, "")
    head = join([text(col("decision_body")), text(col("decision_date"))], "，")
    return join([head, counts, notice], "；")

