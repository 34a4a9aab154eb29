"""Each parcel's prerequisites of market entry (入市前置条件) and their status: done, missing, not known.

The items are data (``landgis/checklist.toml``): one settled by rules is done when each of its
rules was checked on the parcel and none fired, missing when one fired, not known when one could
not be checked (``NODATA-…``); one settled by a fact (the price floor, the supply plan) is done,
missing or not known as the fact is true, false or blank.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from landgis.distinct import map_distinct
from landgis.rules import NODATA

__all__ = ["STATUS_ZH", "checklist_items", "checklist", "checklist_zh"]

#: status → how the outputs write it
STATUS_ZH: Mapping[str, str] = {"done": "已完成", "missing": "未完成", "unknown": "不详"}


@cache
def _items() -> tuple[dict[str, Any], ...]:
    raw = tomllib.loads(resources.files("landgis").joinpath("checklist.toml").read_text(encoding="utf-8"))
    return tuple(raw["items"])


def checklist_items(rule_ids: set[str]) -> list[dict[str, Any]]:
    """The items that apply under a profile of these rules (an item of rules the profile lacks is left out)."""
    return [i for i in _items() if "fact" in i or set(i["rules"]) & rule_ids]


def checklist(inventory: pd.DataFrame, rule_ids: set[str]) -> pd.DataFrame:
    """One column per item (its id), the status of each parcel: done, missing or unknown.

    >>> inv = pd.DataFrame({"reasons": ["", "DECISION", "NODATA-DECISION;PLAN-GAP"],
    ...                     "in_supply_plan": [True, False, None], "price_floor": [1.0, None, None]})
    >>> checklist(inv, {"OWN-REG", "DECISION", "PLAN-GAP"})[["register", "plan", "decision", "supply_plan"]].values.tolist()
    [['done', 'done', 'done', 'done'], ['done', 'done', 'missing', 'missing'], ['done', 'missing', 'unknown', 'unknown']]
    """
    out = pd.DataFrame(index=inventory.index)
    reasons = inventory["reasons"].fillna("").astype(str)
    for item in checklist_items(rule_ids):
        if "rules" in item:
            mine = [r for r in item["rules"] if r in rule_ids]

            def status(text: str, mine: list[str] = mine) -> str:
                ids = set(filter(None, text.split(";")))
                if ids & set(mine):
                    return "missing"
                if ids & {NODATA + r for r in mine}:
                    return "unknown"
                return "done"

            out[item["id"]] = map_distinct(reasons, status, missing="done")
        else:
            out[item["id"]] = _fact_status(inventory, item["fact"])
    return out


def _fact_status(inventory: pd.DataFrame, fact: str) -> np.ndarray:
    n = len(inventory)
    if fact in ("scheme_approved", "valuation_done"):
        return np.full(n, "unknown", dtype=object)
    if fact == "price_known":
        def known(col: str) -> np.ndarray:
            values = inventory.get(col, pd.Series(np.nan, index=inventory.index))
            return pd.to_numeric(values, errors="coerce").notna().to_numpy()

        # a profile that sets a floor: its floor; one that sets none: the base price it would rest on
        floor_set = "price_basis" in inventory and inventory["price_basis"].fillna("").astype(str).str.contains(
            "不低于|底价未定").any()
        return np.where(known("price_floor") if floor_set else known("base_price"), "done", "unknown").astype(object)
    values = inventory.get(fact, pd.Series([None] * n, index=inventory.index)).astype(object)
    known = values.notna().to_numpy()
    truth = values.where(known, False).astype(bool).to_numpy()
    return np.where(~known, "unknown", np.where(truth, "done", "missing")).astype(object)


def checklist_zh(table: pd.DataFrame, rule_ids: set[str]) -> np.ndarray:
    """Each parcel's checklist in one line: ``集体土地所有权确权登记：已完成；…``."""
    names = {i["id"]: i["name_zh"] for i in checklist_items(rule_ids)}
    cols = [c for c in table.columns if c in names]
    if not cols or not len(table):
        return np.full(len(table), "", dtype=object)
    said = [names[c] + "：" + table[c].map(STATUS_ZH) for c in cols]
    joined = said[0]
    for part in said[1:]:
        joined = joined + "；" + part
    return joined.to_numpy(dtype=object)
