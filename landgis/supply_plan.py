"""The annual supply plan: which parcels a year's plan lists, and the area by town, planned use and year.

A project may give the plan as a table keyed by parcel id (``[tables.supply_plan]``: a
``.csv`` or ``.xlsx`` with the parcel id and the plan's year, fields ``ZDDM``/``宗地代码`` and
``JHND``/``年度``, or named under ``fields``). guilin 四（三）1 合理安排入市规模和时序, yueqing
第二十条 and tianning 第十三条 bring entered land into the annual supply plan.

:func:`read_plan` reads it; :func:`plan_columns` gives each parcel ``supply_year`` and
``in_supply_plan`` (blank without a plan: not known); :func:`plan_summary` is the area of the
parcels that may enter (eligible and conditional), by town, planned use and year.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landgis.errors import InputError, Problem

__all__ = ["read_plan", "plan_columns", "plan_notes", "plan_summary", "PLAN_COLUMNS", "NOT_IN_PLAN"]

PLAN_COLUMNS = ("supply_year", "in_supply_plan")
#: the year column of the summary for parcels no plan lists
NOT_IN_PLAN = "未列入计划"
_ID_NAMES = ("parcel_id", "ZDDM", "宗地代码", "宗地编码")
_YEAR_NAMES = ("year", "JHND", "年度", "计划年度", "供应年度")


def read_plan(spec: Mapping[str, Any]) -> pd.DataFrame:
    """The plan as (parcel_id, year): every row with a parcel id; a year that is not one is named.

    ``spec``: the project's ``tables.supply_plan`` (path, sheet, fields).
    """
    path = Path(spec["path"])
    if not path.exists():
        raise _error(f"[tables.supply_plan] {path} does not exist: give the plan's .csv or .xlsx, or remove "
                         "the table (in_supply_plan is then not known)")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raw = pd.read_excel(path, sheet_name=spec.get("sheet") or 0, dtype=object)
    else:
        raw = _read_csv(path)
    fields = spec.get("fields", {})
    cols = {str(c).strip(): c for c in raw.columns}
    pid = fields.get("parcel_id") or next((n for n in _ID_NAMES if n in cols), None)
    year = fields.get("year") or next((n for n in _YEAR_NAMES if n in cols), None)
    for canon, name, tried in (("parcel_id", pid, _ID_NAMES), ("year", year, _YEAR_NAMES)):
        if name is None or name not in cols:
            raise _error(f"[tables.supply_plan] {path.name}: no {canon} column (tried {', '.join(tried)}); "
                             f"name it under [tables.supply_plan.fields] {canon} = \"…\"; columns there: "
                             f"{', '.join(map(str, raw.columns[:20]))}")
    ids = raw[cols[pid]].map(lambda v: "" if pd.isna(v) else str(v).strip().removesuffix(".0"))
    years = pd.to_numeric(raw[cols[year]].map(lambda v: str(v).strip().removesuffix("年").removesuffix("年度")
                                              if not pd.isna(v) else None), errors="coerce")
    bad = years.isna() | (years < 1990) | (years > 2100) | (years % 1 != 0)
    if bad[ids != ""].any():
        shown = ", ".join(sorted({str(v) for v in raw[cols[year]][bad & (ids != "")]})[:5])
        raise _error(f"[tables.supply_plan] {path.name}: column {cols[year]}: values {shown} are not years "
                         f"(rows of parcels {', '.join(ids[bad & (ids != '')].head(5))}); write 2025 or 2025年")
    out = pd.DataFrame({"parcel_id": ids, "year": years.astype("Int64")})
    out = out[out["parcel_id"] != ""]
    out.attrs["notes"] = _plan_notes(path.name, raw[cols[pid]], out)
    kept = out.drop_duplicates("parcel_id", keep="first").reset_index(drop=True)
    kept.attrs["notes"] = out.attrs["notes"]
    return kept


def _plan_notes(name: str, raw_ids: pd.Series, plan: pd.DataFrame) -> list[tuple[str, str]]:
    """(English, Chinese) of what the plan holds that it should not: ids stored as numbers (a spreadsheet keeps
    15 digits of a number: a 19-character 宗地代码 loses its last ones), an id listed in two years."""
    notes = []
    numeric = raw_ids.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and not pd.isna(v))
    if numeric.any():
        notes.append((f"{name}: {int(numeric.sum())} parcel id(s) are stored as numbers, which keep 15 digits: "
                      "store the 宗地代码 column as text", f"{name}：{int(numeric.sum())} 个宗地代码以数字存储（数字只保留15位，"
                      "19位宗地代码会丢失末位），请将宗地代码列设为文本"))
    years = plan.groupby("parcel_id")["year"].nunique()
    twice = years[years > 1].index.tolist()
    if twice:
        notes.append((f"{name}: parcels listed in two years, the first row's year taken: {', '.join(twice[:8])}",
                      f"{name}：以下宗地列入两个年度，取第一行的年度：{'、'.join(twice[:8])}"))
    return notes


def _read_csv(path: Path) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=object, encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise _error(f"[tables.supply_plan] {path.name} is neither UTF-8 nor GB18030 text")


def plan_notes(inventory: pd.DataFrame, plan: pd.DataFrame | None) -> list[tuple[str, str]]:
    """(English, Chinese) of the plan's problems: those it was read with, ids no parcel has, parcels listed that
    may not enter (ineligible)."""
    if plan is None:
        return []
    notes = list(plan.attrs.get("notes", []))
    ids = set(inventory["parcel_id"].astype(str))
    unknown = [p for p in plan["parcel_id"] if p not in ids]
    if unknown:
        notes.append((f"supply plan: {len(unknown)} parcel id(s) match no parcel: {', '.join(unknown[:8])}",
                      f"年度供应计划中 {len(unknown)} 个宗地代码无对应宗地：{'、'.join(unknown[:8])}"))
    listed = inventory["parcel_id"].astype(str).isin(set(plan["parcel_id"])) & (inventory["verdict"] == "ineligible")
    if listed.any():
        shown = inventory.loc[listed, "parcel_id"].astype(str).tolist()
        notes.append((f"supply plan: {len(shown)} parcel(s) it lists are ineligible: {', '.join(shown[:8])}",
                      f"年度供应计划列入的 {len(shown)} 宗地块筛查结论为不可入市：{'、'.join(shown[:8])}"))
    return notes


def plan_columns(inventory: pd.DataFrame, plan: pd.DataFrame | None) -> pd.DataFrame:
    """``supply_year`` and ``in_supply_plan`` per parcel (blank where no plan is given).

    >>> inv = pd.DataFrame({"parcel_id": ["a", "b"]})
    >>> plan_columns(inv, pd.DataFrame({"parcel_id": ["b"], "year": [2025]})).values.tolist()
    [[<NA>, False], [2025, True]]
    """
    out = pd.DataFrame(index=inventory.index)
    if plan is None:
        out["supply_year"] = pd.array([None] * len(inventory), dtype="Int64")
        out["in_supply_plan"] = pd.array([None] * len(inventory), dtype="boolean")
        return out
    year = plan.set_index("parcel_id")["year"]
    found = inventory["parcel_id"].astype(str).map(year)
    out["supply_year"] = pd.array(found.to_numpy(), dtype="Int64")
    out["in_supply_plan"] = pd.array(found.notna().to_numpy(), dtype="boolean")
    return out


def plan_summary(inventory: pd.DataFrame) -> pd.DataFrame:
    """The area (亩) and count of the parcels that may enter (eligible, conditional), by town, planned use
    and year; the parcels no plan lists in a year of their own (:data:`NOT_IN_PLAN`); a 合计 row."""
    may = inventory[inventory["verdict"].isin(["eligible", "conditional"])]
    year = may["supply_year"].astype(object).where(may["supply_year"].notna(), NOT_IN_PLAN) \
        if "supply_year" in may else pd.Series(NOT_IN_PLAN, index=may.index)
    frame = pd.DataFrame({"town": may.get("town", pd.Series("", index=may.index)).fillna("").astype(str),
                          "use": may.get("planned_use_name", pd.Series("", index=may.index)).fillna("").astype(str),
                          "year": year.astype(str), "verdict": may["verdict"],
                          "mu": pd.to_numeric(may["area_m2"], errors="coerce") * 15 / 10000})
    grouped = frame.groupby(["town", "use", "year", "verdict"], sort=True)["mu"].agg(["count", "sum"]).reset_index()
    table = grouped.pivot_table(index=["town", "use", "year"], columns="verdict", values=["count", "sum"],
                                fill_value=0, aggfunc="sum")
    out = pd.DataFrame(index=table.index)
    for verdict in ("eligible", "conditional"):
        out[f"{verdict}_parcels"] = table[("count", verdict)].astype(int) if ("count", verdict) in table else 0
        out[f"{verdict}_mu"] = np.round(table[("sum", verdict)], 2) if ("sum", verdict) in table else 0.0
    out = out.reset_index()
    # the 合计 row from the parcels, not the rounded rows: the same number as 按结论汇总's
    total: dict[str, Any] = {"town": "合计", "use": "", "year": ""}
    for verdict in ("eligible", "conditional"):
        mine = frame["verdict"] == verdict
        total[f"{verdict}_parcels"] = int(mine.sum())
        total[f"{verdict}_mu"] = round(float(frame.loc[mine, "mu"].sum()), 2)
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    for c in ("eligible_mu", "conditional_mu"):
        out[c] = out[c].astype(float).round(2)
    return out


def _error(message: str) -> InputError:
    """The plan's problem, as an input error of the table (the CLI says it and stops)."""
    return InputError([Problem("error", "supply_plan", message)])
