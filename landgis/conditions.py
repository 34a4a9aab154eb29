"""The small condition language rules and legacy categories are written in.

A condition is a TOML inline table, checked once into frozen dataclasses:

* ``{ fact = "farmland_m2", above = "tolerance" }`` — compare a fact; operators
  ``above``, ``at_least``, ``below``, ``at_most``, ``equals``, ``in``,
  ``not_in``, ``is`` (true/false), ``not_empty``; ``"tolerance"`` stands for
  the project's sliver tolerance in m²;
* ``missing = "pass" | "fire" | "unknown"`` — what an unknown value (blank
  attribute) means; default ``pass`` (the condition does not hold); ``unknown``
  leaves it untold, so a rule on it is not checked on that parcel (``NODATA-``);
* ``{ any = [ … ] }``, ``{ all = [ … ] }``, ``{ not = { … } }``;
* ``{ legacy = ["L1", "L2"] }`` — the parcel meets one of these legacy
  categories' conditions (for categories defined in terms of others).

Evaluation is vectorised: a condition over the fact table gives one boolean
per parcel. :func:`evaluate_bounds` also tells where a condition *might* hold
when some facts are unknown — absent from the table (no 二调 layer) or unknown
for some parcels — with three-valued (Kleene) logic.

>>> import pandas as pd
>>> facts = pd.DataFrame({"farmland_m2": [0.0, 0.5, 300.0]})
>>> cond = parse_condition({"fact": "farmland_m2", "above": "tolerance"}, "FARMLAND")
>>> evaluate(cond, facts, tolerance=1.0).tolist()
[False, False, True]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from landgis.errors import ProfileError

__all__ = ["Condition", "Compare", "AnyOf", "AllOf", "Not", "LegacyRef", "parse_condition",
           "evaluate", "evaluate_bounds", "facts_used", "categories_used", "blank_unknown_facts", "is_blank",
           "OPERATORS"]

OPERATORS = ("above", "at_least", "below", "at_most", "equals", "in", "not_in", "is", "not_empty")


@dataclass(frozen=True)
class Compare:
    fact: str
    op: str
    value: Any
    missing: str = "pass"

    def describe(self) -> str:
        return f"{self.fact} {self.op} {self.value!r}"


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


@dataclass(frozen=True)
class LegacyRef:
    categories: tuple[str, ...]


Condition = Compare | AnyOf | AllOf | Not | LegacyRef


def parse_condition(raw: Any, where: str) -> Condition:
    """Check a condition table and turn it into dataclasses."""
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{where}: `when` must be a table like {{ fact = \"…\", above = … }}, got {raw!r}")
    keys = set(raw)
    if keys <= {"any"} and keys:
        return AnyOf(tuple(parse_condition(c, f"{where}.any[{i}]") for i, c in enumerate(_list(raw["any"], where))))
    if keys <= {"all"} and keys:
        return AllOf(tuple(parse_condition(c, f"{where}.all[{i}]") for i, c in enumerate(_list(raw["all"], where))))
    if keys == {"not"}:
        return Not(parse_condition(raw["not"], f"{where}.not"))
    if keys == {"legacy"}:
        cats = raw["legacy"]
        cats = [cats] if isinstance(cats, str) else cats
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise ProfileError(f"{where}: legacy = […] takes category ids such as [\"L1\", \"L2\"]")
        return LegacyRef(tuple(cats))
    if "fact" not in raw:
        raise ProfileError(f"{where}: a condition needs `fact` (or any / all / not / legacy); got keys "
                           f"{', '.join(sorted(keys))}")
    fact = raw["fact"]
    if not isinstance(fact, str):
        raise ProfileError(f"{where}: fact must be a fact name (string), got {fact!r}")
    ops = [k for k in raw if k in OPERATORS]
    unknown = [k for k in raw if k not in OPERATORS and k not in ("fact", "missing")]
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(unknown)}; operators are {', '.join(OPERATORS)}")
    if len(ops) != 1:
        raise ProfileError(f"{where}: give exactly one operator ({', '.join(OPERATORS)}) for fact {fact}")
    op = ops[0]
    value = raw[op]
    missing = raw.get("missing", "pass")
    if missing not in ("pass", "fire", "unknown"):
        raise ProfileError(f"{where}: missing must be \"pass\", \"fire\" or \"unknown\", got {missing!r}")
    if op in ("above", "at_least", "below", "at_most") and not (
            value == "tolerance" or (isinstance(value, (int, float)) and not isinstance(value, bool)
                                     and math.isfinite(value))):
        raise ProfileError(f"{where}: {op} takes a finite number or \"tolerance\", got {value!r}")
    if op in ("in", "not_in"):
        if not isinstance(value, list):
            raise ProfileError(f"{where}: {op} takes a list, got {value!r}")
        value = tuple(value)
    if op in ("is", "not_empty") and not isinstance(value, bool):
        raise ProfileError(f"{where}: {op} takes true or false, got {value!r}")
    return Compare(fact, op, value, missing)


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list) or not value:
        raise ProfileError(f"{where}: any / all take a non-empty list of conditions")
    return value


def facts_used(cond: Condition) -> set[str]:
    """The fact names a condition reads."""
    if isinstance(cond, Compare):
        return {cond.fact}
    if isinstance(cond, (AnyOf, AllOf)):
        return set().union(*(facts_used(c) for c in cond.items))
    if isinstance(cond, Not):
        return facts_used(cond.item)
    return set()


def blank_unknown_facts(cond: Condition) -> set[str]:
    """The facts a condition leaves untold where blank (``missing = "unknown"``)."""
    if isinstance(cond, Compare):
        return {cond.fact} if cond.missing == "unknown" else set()
    if isinstance(cond, (AnyOf, AllOf)):
        return set().union(*(blank_unknown_facts(c) for c in cond.items))
    if isinstance(cond, Not):
        return blank_unknown_facts(cond.item)
    return set()


def categories_used(cond: Condition) -> set[str]:
    """The legacy category ids a condition refers to (``legacy = […]``)."""
    if isinstance(cond, LegacyRef):
        return set(cond.categories)
    if isinstance(cond, (AnyOf, AllOf)):
        return set().union(*(categories_used(c) for c in cond.items))
    if isinstance(cond, Not):
        return categories_used(cond.item)
    return set()


def evaluate(cond: Condition, facts: pd.DataFrame, tolerance: float,
             legacy_masks: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Whether ``cond`` holds, per row of ``facts`` (a boolean array)."""
    n = len(facts)
    if isinstance(cond, AnyOf):
        out = np.zeros(n, bool)
        for c in cond.items:
            out |= evaluate(c, facts, tolerance, legacy_masks)
        return out
    if isinstance(cond, AllOf):
        out = np.ones(n, bool)
        for c in cond.items:
            out &= evaluate(c, facts, tolerance, legacy_masks)
        return out
    if isinstance(cond, Not):
        return ~evaluate(cond.item, facts, tolerance, legacy_masks)
    if isinstance(cond, LegacyRef):
        masks = legacy_masks or {}
        out = np.zeros(n, bool)
        for cat in cond.categories:
            if cat in masks:
                out |= masks[cat]
        return out
    col = facts[cond.fact]
    value = tolerance if cond.value == "tolerance" else cond.value
    missing = is_blank(col)
    if cond.op == "not_empty":
        text = col.astype(object).where(~missing, "").astype(str).str.strip()
        return ((text != "") == value).to_numpy()
    if cond.op in ("above", "at_least", "below", "at_most"):
        num = pd.to_numeric(col, errors="coerce").astype(float).to_numpy()
        with np.errstate(invalid="ignore"):
            res = {"above": num > value, "at_least": num >= value,
                   "below": num < value, "at_most": num <= value}[cond.op]
    elif cond.op == "is":
        res = (col.astype(object).where(~missing, None) == value).to_numpy(dtype=bool)
    elif cond.op == "equals":
        res = (col.astype(object) == value).to_numpy(dtype=bool)
    elif cond.op == "in":
        res = col.astype(object).isin(value).to_numpy()
    elif cond.op == "not_in":
        res = ~col.astype(object).isin(value).to_numpy()
    else:  # pragma: no cover - parse_condition rejects others
        raise ValueError(cond.op)
    miss = missing.to_numpy()
    return np.where(miss, cond.missing == "fire", res)


def evaluate_bounds(cond: Condition, facts: pd.DataFrame, tolerance: float,
                    unknown: Mapping[str, np.ndarray] | None = None,
                    legacy_bounds: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Where ``cond`` surely holds and where it may hold, given what is unknown.

    A fact absent from ``facts`` is unknown for every parcel; ``unknown`` maps a
    fact to the parcels where its value could not be told (a derived fact whose
    inputs are missing). An unknown comparison may or may not hold; ``any``,
    ``all`` and ``not`` combine the two bounds (Kleene logic); ``legacy_bounds``
    gives each category's bounds. Where nothing is unknown both bounds equal
    :func:`evaluate`. A blank *attribute* is unknown here only under
    ``missing = "unknown"``; otherwise its ``missing`` policy decides it, as in
    :func:`evaluate`.

    >>> facts = pd.DataFrame({"approved": [False, False, True], "formed_year": [2005, 2012, 2005]})
    >>> cond = parse_condition({"all": [{"fact": "approved", "is": False},
    ...                                 {"fact": "formed_year", "below": 2009},
    ...                                 {"fact": "survey_2009_construction_m2", "above": "tolerance"}]}, "L1")
    >>> surely, maybe = evaluate_bounds(cond, facts, 1.0)      # no 二调 layer
    >>> surely.tolist(), maybe.tolist()
    ([False, False, False], [True, False, False])
    """
    n = len(facts)
    if isinstance(cond, (AnyOf, AllOf)):
        parts = [evaluate_bounds(c, facts, tolerance, unknown, legacy_bounds) for c in cond.items]
        combine = np.logical_or if isinstance(cond, AnyOf) else np.logical_and
        return (combine.reduce([lo for lo, _ in parts]), combine.reduce([hi for _, hi in parts]))
    if isinstance(cond, Not):
        lo, hi = evaluate_bounds(cond.item, facts, tolerance, unknown, legacy_bounds)
        return ~hi, ~lo
    if isinstance(cond, LegacyRef):
        bounds = legacy_bounds or {}
        lo, hi = np.zeros(n, bool), np.zeros(n, bool)
        for cat in cond.categories:
            if cat in bounds:
                lo, hi = lo | bounds[cat][0], hi | bounds[cat][1]
        return lo, hi
    if cond.fact not in facts:
        return np.zeros(n, bool), np.ones(n, bool)
    value = evaluate(cond, facts, tolerance)
    unsure = (unknown or {}).get(cond.fact)
    if cond.missing == "unknown":
        blank = is_blank(facts[cond.fact]).to_numpy(dtype=bool)
        unsure = blank if unsure is None else np.asarray(unsure, dtype=bool) | blank
    if unsure is None:
        return value, value
    unsure = np.asarray(unsure, dtype=bool)
    return value & ~unsure, value | unsure


def is_blank(col: pd.Series) -> pd.Series:
    """Where an attribute is blank: NA, or text of only spaces."""
    miss = col.isna()
    if isinstance(col.dtype, pd.StringDtype):  # Arrow-backed text: trimmed by Arrow, no Python string made
        return miss | (col.str.strip() == "").to_numpy(dtype=bool, na_value=False)
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        miss = miss | (col.astype(object).where(~miss, "").astype(str).str.strip() == "")
    return miss
