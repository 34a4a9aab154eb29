"""How a profile's land may be supplied, and for how long: the ``[supply.<mode>]`` tables.

Each mode is a table of its terms and the article that sets them (``source``, in the
profile's document):

- ``sale`` (出让): the maximum by planned use stays in ``[terms.sale]``; ``source`` cites it;
- ``share`` (作价出资（入股）): ``as_sale = true`` — the sale's maximum by use;
- ``lease`` (出租, 租赁): ``min_years`` (the lease may not be shorter) and ``max_years``;
- ``lease_then_sale`` (先租后让): ``usual_years`` and ``max_years`` of the lease, the lease
  and the sale after it together within the sale's maximum;
- ``resale`` (转让): ``remaining = true`` — the term is what the first contract left.

:func:`parcel_terms` gives each parcel's terms from its planned-use tag, in years, and
:func:`terms_zh` says them in one Chinese line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from landgis.distinct import map_distinct
from landgis.errors import ProfileError

__all__ = ["SupplyMode", "SUPPLY_MODES", "parse_supply", "merge_supply", "parcel_terms", "terms_zh", "parcel_terms_zh",
           "TERM_COLUMNS", "supply_zh"]

#: the supply modes a profile may describe, in the order the outputs say them: mode → Chinese name
SUPPLY_MODES: Mapping[str, str] = MappingProxyType({
    "sale": "出让", "share": "作价出资（入股）", "lease": "出租", "lease_then_sale": "先租后让", "resale": "转让"})
#: the keys each mode's table may hold, besides ``source``
_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "sale": (), "share": ("as_sale",), "lease": ("min_years", "max_years"),
    "lease_then_sale": ("usual_years", "max_years"), "resale": ("remaining",)})
#: the inventory's term columns, in years (Int64; blank where the profile states none)
TERM_COLUMNS = ("max_term_years", "share_max_years", "lease_min_years", "lease_max_years",
                "lease_then_sale_years", "lease_then_sale_max_years")


@dataclass(frozen=True)
class SupplyMode:
    """One supply mode's terms under a profile (years; None where it states none) and its article."""

    mode: str
    source: str = ""
    min_years: float | None = None
    max_years: float | None = None
    usual_years: float | None = None
    as_sale: bool = False
    remaining: bool = False


def parse_supply(raw: Any, where: str) -> Mapping[str, SupplyMode]:
    """The ``[supply]`` section checked; a :class:`~landgis.errors.ProfileError` names what is wrong.

    >>> parse_supply({"lease": {"min_years": 5, "max_years": 20, "source": "第二十一条"}}, "p")["lease"].max_years
    20
    """
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{where}: `supply` must be a table of modes: write [supply.lease] …")
    out = {}
    for mode, table in raw.items():
        if mode not in _KEYS:
            raise ProfileError(f"{where} [supply.{mode}]: no such supply mode; modes: {', '.join(_KEYS)}")
        if not isinstance(table, Mapping):
            raise ProfileError(f"{where} [supply.{mode}] must be a table")
        for key, value in table.items():
            if key == "source":
                if not isinstance(value, str):
                    raise ProfileError(f"{where} [supply.{mode}] source: must be a string (the article)")
            elif key not in _KEYS[mode]:
                keys = ", ".join((*_KEYS[mode], "source"))
                raise ProfileError(f"{where} [supply.{mode}]: unknown key `{key}`; keys: {keys}")
            elif key.endswith("_years"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                        math.isfinite(value) and 0 < value <= 70):
                    raise ProfileError(f"{where} [supply.{mode}] {key} = {value!r}: must be a number of years above 0 "
                                       "and at most 70 (the longest term for state land)")
            elif not isinstance(value, bool):
                raise ProfileError(f"{where} [supply.{mode}] {key} = {value!r}: must be true or false")
        low, high = table.get("min_years", table.get("usual_years")), table.get("max_years")
        if low is not None and high is not None and low > high:
            raise ProfileError(f"{where} [supply.{mode}]: {low} years above the maximum {high}")
        out[mode] = SupplyMode(mode=mode, **{k: v for k, v in table.items()})
    return MappingProxyType(out)


def merge_supply(parent: Mapping[str, Any], child: Mapping[str, Any], new_document: bool) -> dict[str, dict]:
    """A child's ``[supply]`` over its parent's: a mode the child states replaces the parent's whole; a
    parent's ``source`` is dropped under a child with a document of its own (it cites another document)."""
    out = {mode: {k: v for k, v in dict(table).items() if not (new_document and k == "source")}
           for mode, table in parent.items()}
    for mode, table in child.items():
        out[mode] = dict(table)
    return out


def parcel_terms(supply: Mapping[str, SupplyMode], sale: Mapping[str, float], tags: pd.Series) -> pd.DataFrame:
    """Each parcel's terms in years (:data:`TERM_COLUMNS`) from its planned-use tag.

    ``lease_then_sale_years`` is the usual lease of 先租后让, ``lease_then_sale_max_years`` its
    longest; the sale after it may run the sale's maximum less the lease.

    >>> modes = parse_supply({"share": {"as_sale": True}, "lease": {"min_years": 5, "max_years": 20}}, "p")
    >>> parcel_terms(modes, {"industrial": 50}, pd.Series(["industrial", None])).iloc[0].tolist()
    [50, 50, 5, 20, <NA>, <NA>]
    """
    def years(value: Any) -> Any:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(round(value))

    sale_max = np.array([years(sale.get(t)) if isinstance(t, str) else None for t in tags.astype(object)],
                        dtype=object)
    out = pd.DataFrame(index=tags.index)
    out["max_term_years"] = pd.array(sale_max, dtype="Int64")
    share = supply.get("share")
    out["share_max_years"] = out["max_term_years"] if share is not None and share.as_sale else pd.array(
        [None] * len(tags), dtype="Int64")
    for column, mode, attr in (("lease_min_years", "lease", "min_years"), ("lease_max_years", "lease", "max_years"),
                               ("lease_then_sale_years", "lease_then_sale", "usual_years"),
                               ("lease_then_sale_max_years", "lease_then_sale", "max_years")):
        value = getattr(supply[mode], attr) if mode in supply else None
        out[column] = pd.array([years(value)] * len(tags), dtype="Int64")
    return out


def terms_zh(row: Mapping[str, Any], supply: Mapping[str, SupplyMode]) -> str:
    """A parcel's terms in one line, each mode the profile states (row: :func:`parcel_terms`'s columns).

    >>> modes = parse_supply({"lease": {"min_years": 5, "max_years": 20},
    ...                       "lease_then_sale": {"usual_years": 5, "max_years": 10}}, "p")
    >>> terms_zh({"max_term_years": 50, "lease_min_years": 5, "lease_max_years": 20,
    ...           "lease_then_sale_years": 5, "lease_then_sale_max_years": 10}, modes)
    '出让最高50年；出租5至20年；先租后让：租赁一般5年、最长10年，租赁与其后出让合计不超过50年'
    """
    def given(key: str) -> Any:
        value = row.get(key)
        return None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else value

    parts = []
    if given("max_term_years") is not None:
        parts.append(f"出让最高{given('max_term_years')}年")
    if given("share_max_years") is not None:
        parts.append(f"作价出资（入股）最高{given('share_max_years')}年")
    low, high = given("lease_min_years"), given("lease_max_years")
    if low is not None or high is not None:
        parts.append("出租" + (f"{low}至{high}年" if low is not None and high is not None
                               else f"不少于{low}年" if low is not None else f"最长{high}年"))
    usual, longest = given("lease_then_sale_years"), given("lease_then_sale_max_years")
    if usual is not None or longest is not None:
        lease = "、".join(p for p in (f"一般{usual}年" if usual is not None else "",
                                     f"最长{longest}年" if longest is not None else "") if p)
        total = given("max_term_years")
        parts.append(f"先租后让：租赁{lease}" + (f"，租赁与其后出让合计不超过{total}年" if total is not None else ""))
    if "resale" in supply and supply["resale"].remaining:
        parts.append("转让：原合同约定年限减去已使用年限后的剩余年限")
    return "；".join(parts)


def parcel_terms_zh(supply: Mapping[str, SupplyMode], sale: Mapping[str, float], tags: pd.Series) -> np.ndarray:
    """:func:`terms_zh` for each parcel, made once per planned-use tag."""
    def line(tag: Any) -> str:
        return terms_zh(parcel_terms(supply, sale, pd.Series([tag], dtype=object)).iloc[0].to_dict(), supply)

    return map_distinct(tags, line, missing=line(None))


def supply_zh(profile: Any) -> str:
    """The supply modes a profile states, each with its terms and article, in one Chinese line ("" for none).

    >>> from landgis.profiles import load_profile
    >>> supply_zh(load_profile("tianning"))  # doctest: +ELLIPSIS
    '出让：最高年限按规划用途（第二十一条）；作价出资（入股）：最高年限同出让（第二十一条）；出租：5至20年（第二十一条）'
    """
    said = {"sale": lambda m: "最高年限按规划用途",
            "share": lambda m: "最高年限同出让" if m.as_sale else "",
            "lease": lambda m: (f"{_y(m.min_years)}至{_y(m.max_years)}年" if m.min_years and m.max_years
                                else f"不少于{_y(m.min_years)}年" if m.min_years else f"最长{_y(m.max_years)}年"),
            "lease_then_sale": lambda m: "租赁" + "、".join(p for p in (
                f"一般{_y(m.usual_years)}年" if m.usual_years else "", f"最长{_y(m.max_years)}年" if m.max_years else "")
                if p) + "，与其后出让年期合计不超过该用途的最高出让年限",
            "resale": lambda m: "原合同约定年限减去已使用年限后的剩余年限" if m.remaining else ""}
    parts = []
    for mode, name in SUPPLY_MODES.items():
        m = profile.supply.get(mode)
        if m is not None:
            parts.append(f"{name}：{said[mode](m)}" + (f"（{m.source}）" if m.source else ""))
    return "；".join(parts)


def _y(years: float | None) -> str:
    return f"{years:g}" if years is not None else ""
