"""Attribute fields as registers keep them, read into canonical values.

Standard field names resolved (:func:`resolve_fields`), yes/no in every spelling
the contract lists (:func:`parse_bool`), evidence as registers keep it — a certificate
or document number means present (:func:`parse_register`), years and dates as
registers write them, Excel serials and Chinese numerals included (:func:`parse_year`),
planning limits (:func:`parse_limits`), ownership codes (:func:`ownership_collective`).
Each parser returns its values and a mask of those it could not read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from landgis.config import LayerSpec
from landgis.distinct import factorize_values, map_distinct
from landgis.errors import Problem

__all__ = ["parse_bool", "parse_register", "parse_year", "parse_amount", "parse_limits", "PLANNING_CONDITIONS", "resolve_fields", "source_fields",
           "text_values", "ownership_collective"]


_TRUE = {"1", "true", "t", "yes", "y", "是", "有", "√"}


_FALSE = {"0", "false", "f", "no", "n", "否", "无", "×"}


def parse_bool(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Booleans from 1/0, true/false, yes/no, Y/N, 是/否 (any case); blanks → NA.

    Returns the parsed series (pandas ``boolean``) and a mask of values that
    could not be read.

    >>> parse_bool(pd.Series(["是", "N", "", "TRUE", 0, "maybe"]))[0].tolist()
    [True, False, <NA>, True, False, <NA>]
    """
    return _per_distinct(values, _parse_bool_distinct)


def _parse_bool_distinct(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
                      else str(int(v)) if isinstance(v, (bool, np.bool_, int, np.integer))
                      else str(v)).astype(object).str.strip().str.lower()
    text = text.str.replace(r"\.0+$", "", regex=True)
    parsed = pd.Series(pd.NA, index=values.index, dtype="boolean")
    parsed[text.isin(_TRUE)] = True
    parsed[text.isin(_FALSE)] = False
    bad = ~(text.isin(_TRUE) | text.isin(_FALSE) | (text == "") | (text == "nan") | (text == "none"))
    return parsed, bad


#: a register's entry that says present without a number (已处罚, 已办理, 已发证…)
_DONE = re.compile(r"^已")
#: … and absent (未处罚, 未办理, 无证, 没有…)
_NOT_DONE = re.compile(r"^(未|无|没有|尚未)")
#: … and unknown, as blank is
_UNKNOWN = {"不详", "不清", "不清楚", "未知", "待查", "待核实", "待定", "?", "？", "-", "—", "/"}
#: a certificate or document reference: a register's marks (字, 号, 证, 第, 〔〕), or a number with
#: text around it (集用2001-5); a bare number (2, as 1 = 是 / 2 = 否 registers code 否) is not one
_DOCUMENT = re.compile(r"[字号證证第〔〕\[\]]|[0-9０-９].*[^\W\d]|[^\W\d].*[0-9０-９]")
#: a restriction lifted (已解除查封, 解除抵押, 已解封, 已注销查封, 查封已解除) means absent; one not
#: lifted (未解除查封, 尚未解封) present
_LIFTED = re.compile(r"^(已经?|均已)?(解除|解封|注销|撤销)|^[^未没]*(已|均已)(解除|解封|注销|撤销)$")
_NOT_LIFTED = re.compile(r"^(未|尚未|没有)(解除|解封|注销|撤销)")
#: a status that says both (已申请未登记, 已立案未处罚): read neither way, it is refused
_MIXED = re.compile(r"^已.*(未|尚未|没有)|^(未|尚未|没有).*已")


def parse_register(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """An evidence attribute as registers keep it: (present, document, unreadable).

    A certificate or document number means present, and is kept as the document
    (``房权证字第12号``, ``集用(2001)第5号``, ``桂南政土批〔2006〕12号``); an explicit yes or
    no in any spelling :func:`parse_bool` reads, or a register's 已…/未… (已处罚, 未发证),
    means present or absent; a blank, 不详 or 待查 is unknown (NA). Anything else is unreadable.

    A lifted restriction (已解除查封) is absent and one not lifted (未解除查封) present; a
    status that says both (已申请未登记) and a bare number (``2``, where 1 = 是 / 2 = 否)
    are unreadable: refused, never guessed.

    >>> present, doc, bad = parse_register(pd.Series(["房权证字第12号", "集用(2001)第5号", "否", "无", "", "已处罚",
    ...                                              "未办理", "是", "不详", "maybe"]))
    >>> present.tolist()
    [True, True, False, False, <NA>, True, False, True, <NA>, <NA>]
    >>> doc.tolist()[:3], bad.tolist()[-3:]
    (['房权证字第12号', '集用(2001)第5号', ''], [False, False, True])
    >>> present, doc, bad = parse_register(pd.Series(["已解除查封", "未解除查封", "已申请未登记", "2", "集用2001-5",
    ...                                              "已解封", "已注销查封", "查封已解除", "尚未解封"]))
    >>> present.tolist(), bad.tolist()
    ([False, True, <NA>, <NA>, True, False, False, False, True], [False, False, True, True, False, False, False, False, False])
    """
    codes, uniques = factorize_values(values)
    distinct = pd.Series(uniques + [None], dtype=object)
    parsed, bad = _parse_bool_distinct(distinct)
    text = distinct.map(lambda v: "" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                        else str(v).strip())
    docs = pd.Series("", index=distinct.index, dtype=object)
    for i in np.flatnonzero(bad.to_numpy(dtype=bool)):
        value = text.iloc[i]
        if value in _UNKNOWN:
            bad.iloc[i] = False
        elif _LIFTED.match(value):
            parsed.iloc[i], bad.iloc[i] = False, False
        elif _NOT_LIFTED.match(value):
            parsed.iloc[i], bad.iloc[i] = True, False
        elif _MIXED.search(value):
            continue
        elif _NOT_DONE.match(value):
            parsed.iloc[i], bad.iloc[i] = False, False
        elif _DOCUMENT.search(value):
            parsed.iloc[i], bad.iloc[i], docs.iloc[i] = True, False, value
        elif _DONE.match(value):
            parsed.iloc[i], bad.iloc[i] = True, False
    take = np.where(codes < 0, len(distinct) - 1, codes)
    return (pd.Series(parsed.to_numpy()[take], index=values.index, dtype="boolean"),
            pd.Series(docs.to_numpy()[take], index=values.index, dtype=object),
            pd.Series(bad.to_numpy(dtype=bool)[take], index=values.index))


def _per_distinct(values: pd.Series, parse) -> tuple[pd.Series, pd.Series]:
    """``parse(values)`` computed once per distinct value (a county has 150k rows, a dozen values).

    ``parse`` takes a Series and returns ``(parsed, bad)`` Series. Values equal in
    Python (``1``, ``1.0``, ``True``) share one parse, so ``parse`` must give them
    the same result; missing values are parsed as ``None``.
    """
    codes, uniques = factorize_values(values)
    distinct = pd.Series(uniques + [None], dtype=object)
    parsed, bad = parse(distinct)
    take = np.where(codes < 0, len(distinct) - 1, codes)
    return (pd.Series(parsed.to_numpy()[take], index=values.index, dtype=parsed.dtype),
            pd.Series(bad.to_numpy(dtype=bool)[take], index=values.index))


#: a sum of money: 1500000, 1,500,000, 1500000元, 150万元, 150万
_AMOUNT = re.compile(r"^\s*(?P<n>\d[\d,]*(?:\.\d+)?)\s*(?P<wan>万)?\s*元?\s*$")


def parse_amount(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Sums of money in yuan (NaN where blank), and a mask of the values that are not one.

    >>> amounts, bad = parse_amount(pd.Series([1500000, "150万元", "1,200.5元", "", None, "约100万"]))
    >>> amounts.tolist(), bad.tolist()
    ([1500000.0, 1500000.0, 1200.5, nan, nan, nan], [False, False, False, False, False, True])
    """
    def parse(distinct: pd.Series) -> tuple[pd.Series, pd.Series]:
        out, bad = [], []
        for v in distinct:
            if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
                out.append(np.nan)
                bad.append(False)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append(float(v) if v >= 0 else np.nan)
                bad.append(v < 0)
            else:
                m = _AMOUNT.match(str(v))
                out.append(float(m["n"].replace(",", "")) * (1e4 if m["wan"] else 1.0) if m else np.nan)
                bad.append(m is None)
        return pd.Series(out, dtype=float), pd.Series(bad, dtype=bool)

    return _per_distinct(values, parse)


def parse_year(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_datetime64_any_dtype(values):
        years = values.dt.year.astype("Int64")
        return years, pd.Series(False, index=values.index)
    return _per_distinct(values, _parse_year_distinct)


#: a year, alone or starting a date: 2005, 2005.0, 2005年, 2005年度, 2005-06, 2005年6月, 2005-06-01,
#: 2005/6/1, 2005.6.1, 2005年6月1日, 20050601, each optionally with a time (2005-06-01 00:00:00)
_YEAR = re.compile(r"^(?P<y>\d{4})(?:\.0+|年度?"
                   r"|(?:[-/.]|年)(?P<m>\d{1,2})月?(?:(?:[-/.]|(?<=月))(?P<d>\d{1,2})日?)?"
                   r"|(?P<m8>\d{2})(?P<d8>\d{2}))?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


_CN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_CN_TENS = re.compile(r"([一二三四五六七八九]?)十([一二三四五六七八九]?)")


def _arabic(text: str) -> str:
    """Chinese numerals as registers write dates (二〇〇五年三月十二日) in Arabic digits (2005年3月12日).

    >>> _arabic("二〇〇五年十二月三十一日"), _arabic("二零零五年"), _arabic("2005年")
    ('2005年12月31日', '2005年', '2005年')
    """
    if not any("〇" <= c <= "零" or c in "一二三四五六七八九十" for c in text):
        return text

    def tens(m: re.Match) -> str:
        return str(int(m[1].translate(_CN_DIGITS) or 1) * 10 + int(m[2].translate(_CN_DIGITS) or 0))

    return _CN_TENS.sub(tens, text).translate(_CN_DIGITS)


#: an Excel date serial (days since 1899-12-30) of a date from 1900 to 2100, as a spreadsheet round trip leaves one
_SERIAL = re.compile(r"^(\d{3,5})(?:\.0+)?$")


def _excel_serial_year(text: str) -> int | None:
    """The year of an Excel date serial (``38443`` → 2005); None for anything else, a year included.

    >>> _excel_serial_year("38443"), _excel_serial_year("38443.0"), _excel_serial_year("2005"), _excel_serial_year("12")
    (2005, 2005, None, None)
    """
    m = _SERIAL.match(text)
    if m is None:
        return None
    days = int(m[1])
    if 1900 <= days <= 2100 or not 367 <= days <= 73050:  # a year, or no date of 1901–2100
        return None
    return (pd.Timestamp("1899-12-30") + pd.Timedelta(days=days)).year


def _parse_year_distinct(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Years (1900–2100) from years or dates as typed in this field; what is none is ``bad``.

    >>> years, bad = _parse_year_distinct(pd.Series(["2003年", "2003年5月", "2003年度", "20030512", "2003.0",
    ...                                              "2003-05-12 00:00:00", "2003年5月12日", "2003/13/01", "八五年", None]))
    >>> years.tolist(), bad.tolist()
    ([2003, 2003, 2003, 2003, 2003, 2003, 2003, <NA>, <NA>, <NA>], [False, False, False, False, False, False, False, True, True, False])
    >>> _parse_year_distinct(pd.Series(["2005-03", "2005/3/1", 38443, "二〇〇五年", "二〇〇五年三月一日"]))[0].tolist()
    [2005, 2005, 2005, 2005, 2005]
    """
    def year(v: Any) -> tuple[Any, bool]:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return pd.NA, False
        text = _arabic(str(v).strip())
        if not text:
            return pd.NA, False
        serial = _excel_serial_year(text)
        if serial is not None:
            return serial, False
        m = _YEAR.match(text)
        if m is None:
            return pd.NA, True
        month, day = m["m"] or m["m8"], m["d"] or m["d8"]
        if not 1900 <= int(m["y"]) <= 2100 or (month and not 1 <= int(month) <= 12) or (day and not 1 <= int(day) <= 31):
            return pd.NA, True
        return int(m["y"]), False

    pairs = [year(v) for v in values]
    return (pd.Series([y for y, _ in pairs], index=values.index, dtype="Int64"),
            pd.Series([b for _, b in pairs], index=values.index, dtype=bool))


def _find_field(columns: list[str], wanted: str) -> str | None:
    lower = {c.lower(): c for c in columns}
    return lower.get(wanted.lower())


def source_fields(frame: gpd.GeoDataFrame) -> list[str]:
    """All the fields of the layer as found on disk (:func:`landgis.io.read_vector` reads only those
    landgis uses), else the frame's own."""
    known = frame.attrs.get("source_fields")
    return list(known) if known is not None else [c for c in frame.columns if c != frame.geometry.name]


def resolve_fields(frame: gpd.GeoDataFrame, spec: LayerSpec, canon_names: Mapping[str, tuple[str, ...]],
                    problems: list[Problem]) -> dict[str, str]:
    cols = [c for c in frame.columns if c != frame.geometry.name]
    everything = source_fields(frame)
    out: dict[str, str] = {}
    for canon, source in spec.fields.items():
        found = _find_field(cols, source)
        if found is None:
            close = difflib.get_close_matches(source.upper(), [c.upper() for c in everything], n=1, cutoff=0.5)
            hint = f" (did you mean `{_find_field(everything, close[0])}`?)" if close else ""
            problems.append(Problem("error", spec.role,
                                    f"[layers.{spec.role}.fields] {canon} = \"{source}\", but the layer has "
                                    f"no field {source}{hint}; it has {', '.join(everything[:25])}", field=source))
            continue
        out[canon] = found
    for canon, standard in canon_names.items():
        if canon in out or canon in spec.fields:
            continue
        for name in standard:
            found = _find_field(cols, name)
            if found is not None:
                out[canon] = found
                break
    return out


#: 规划条件 a planned-use patch may carry: canonical field → (the bound of a range that is the
#: condition, whether it is a percentage). 容积率 and 建筑限高 are upper limits, 建筑密度 an upper
#: and 绿地率 a lower one (GB 50180, 详细规划 规划条件)
PLANNING_CONDITIONS: Mapping[str, tuple[str, bool]] = MappingProxyType({
    "plot_ratio": ("upper", False), "building_density": ("upper", True),
    "green_ratio": ("lower", True), "height_limit": ("upper", False)})


_LIMIT_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[%％]?\s*(?:-|~|～|—|－|至|到)\s*(\d+(?:\.\d+)?)\s*[%％]?\s*$")


#: a single limit, with the signs of its bound only: ``≥1.0`` is no upper limit of 容积率 (it is a floor)
_LIMIT_ONE = {bound: re.compile(rf"^\s*(?:{signs})?\s*(\d+(?:\.\d+)?)\s*(?:[%％]|米|m)?\s*$", re.IGNORECASE)
              for bound, signs in (("upper", "≤|<=|<|＜|不大于|不高于|不超过"), ("lower", "≥|>=|>|＞|不小于|不低于"))}


def parse_limits(values: pd.Series, bound: str, percent: bool) -> tuple[np.ndarray, np.ndarray]:
    """A planning condition as numbers (NaN where blank), and a mask of the values that are not one.

    A plan writes a limit as a number (``1.2``), with its sign (``≤1.2``, ``不大于24米``) or as a
    range (``1.0-1.5``, ``30%～35%``: its ``bound``, upper or lower). A sign of the other bound
    (``≥1.0`` for an upper limit) is not one. A percentage written as a fraction below 1
    (``0.35``) is read as percent. Each distinct value is read once.

    >>> v, bad = parse_limits(pd.Series(["1.2", "≤1.5", "1.0-2.0", "", None, "高层"]), "upper", False)
    >>> v.tolist()[:4], bad.tolist()
    ([1.2, 1.5, 2.0, nan], [False, False, False, False, False, True])
    >>> parse_limits(pd.Series(["35%", "0.3", "30～35"]), "lower", True)[0].tolist()
    [35.0, 30.0, 30.0]
    """
    def read(text: str) -> float | None:
        if text.strip() == "":
            return np.nan
        if (m := _LIMIT_RANGE.match(text)) is not None:
            low, high = float(m[1]), float(m[2])
            value = max(low, high) if bound == "upper" else min(low, high)
        elif (m := _LIMIT_ONE[bound].match(text)) is not None:
            value = float(m[1])
        else:
            return None  # not a limit
        return value * 100 if percent and 0 < value < 1 and "%" not in text and "％" not in text else value

    read_values = map_distinct(values, read, missing=np.nan)
    bad = np.array([v is None for v in read_values], dtype=bool)
    numbers = np.where(bad, np.nan, read_values).astype(float)
    return numbers, bad


def text_values(values: pd.Series) -> pd.Series:
    """Attribute values as stripped text; integral floats without ``.0``; missing → ``""``."""
    values = values.reset_index(drop=True)
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return values.astype(str).astype(object)
    if pd.api.types.is_string_dtype(dtype) and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return pd.Series(map_distinct(values, str.strip, missing=""), dtype=object)
    return pd.Series(map_distinct(values, _plain_text, missing=""), dtype=object)


def _plain_text(value: object) -> str:
    """A value as text: integral floats without ``.0`` (codes and ids read as floats), stripped."""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if float(value).is_integer():
            return str(int(value))
    return str(value).strip()


def ownership_collective(ownership: pd.Series) -> pd.Series:
    """权属性质 as collective (True), state (False) or unknown (NA): 30–34, 40 or 集体; 10–29 or 国有."""
    def one(v: str):
        s = re.sub(r"^(\d+)\.0+$", r"\1", str(v).strip())  # "20.0": a code that went through a spreadsheet
        if not s:
            return pd.NA
        if "集体" in s or re.fullmatch(r"3[0-4]|40", s):
            return True
        if "国有" in s or re.fullmatch(r"1[0-9]|2[0-9]", s):
            return False
        return pd.NA
    parsed, _ = _per_distinct(ownership, lambda u: (u.map(one).astype("boolean"), pd.Series(False, index=u.index)))
    return parsed
