"""Price facts for the 入市方案: the 基准地价 for the parcel's planned use, and the floors a profile sets.

:func:`price_facts` finds each parcel's 基准地价 (yuan/m²): of the price zones of the
parcel's planned use (a zone's ``use``, e.g. 商服 / 工业 / 住宅, matched to the planned-use
tag through :data:`PRICE_CLASSES`), the one covering most of the parcel; where the price
layer says no use, the zone covering most of it, and the basis says the price is for no
particular use.

:func:`price_floors` applies the profile's ``[price]`` table:

- ``floor``: the items the price may not go below, per m² — ``base_price``, ``entry_cost``
  (入市成本, yanbian 第十七条), ``objective_cost`` (土地取得的各项客观成本之和, tianning
  第二十八条); the costs are parcel attributes in yuan for the whole parcel. The floor is
  the highest of them, and blank where one of them is not known (never a guess);
- ``first_purchase_share``: below this share of the base price the government may buy
  first (yueqing 第二十四条第（二）项: 80 %).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from landgis.errors import ProfileError

__all__ = ["PRICE_CLASSES", "PriceRule", "parse_price", "price_class", "choose_zones", "price_floors",
           "PRICE_COLUMNS", "FLOOR_ITEMS"]

#: 基准地价 use classes: class → (its Chinese name, words a zone's use is written with, planned-use tags)
PRICE_CLASSES: Mapping[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = MappingProxyType({
    "commercial": ("商服用地", ("商服", "商业", "商务", "服务业", "commercial", "business"),
                   ("commercial", "community_service")),
    "industrial": ("工业用地", ("工业", "工矿", "仓储", "采矿", "industrial", "warehouse", "mining"),
                   ("industrial", "warehouse", "mining")),
    "residential": ("住宅用地", ("住宅", "居住", "租赁住房", "residential", "housing"),
                    ("rental_housing", "urban_housing")),
    "public": ("公共服务用地", ("公共管理", "公共服务", "公服", "教育", "医疗", "科研", "文化", "体育", "养老", "社会福利",
                            "public"),
               ("administration", "education", "medical", "research", "culture", "sports", "welfare")),
})
#: what a floor may be made of, and how the basis names it
FLOOR_ITEMS: Mapping[str, str] = MappingProxyType({
    "base_price": "基准地价", "entry_cost": "入市成本", "objective_cost": "土地取得的各项客观成本之和"})
#: the inventory's price columns
PRICE_COLUMNS = ("base_price", "base_price_basis", "price_floor", "price_floor_total", "price_floor_total_wan",
                 "first_purchase_price", "price_basis")


@dataclass(frozen=True)
class PriceRule:
    """A profile's ``[price]`` table: the floor's items and article, the first-purchase share and article."""

    floor: tuple[str, ...] = ()
    source: str = ""
    first_purchase_share: float | None = None
    first_purchase_source: str = ""


def parse_price(raw: Any, where: str) -> PriceRule:
    """The ``[price]`` table checked.

    >>> parse_price({"floor": ["base_price", "entry_cost"], "source": "第十七条"}, "p").floor
    ('base_price', 'entry_cost')
    """
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{where}: `price` must be a table: write [price]")
    known = ("floor", "source", "first_purchase_share", "first_purchase_source")
    for key in raw:
        if key not in known:
            raise ProfileError(f"{where} [price]: unknown key `{key}`; keys: {', '.join(known)}")
    floor = raw.get("floor", [])
    if not isinstance(floor, list) or not all(item in FLOOR_ITEMS for item in floor):
        raise ProfileError(f"{where} [price] floor = {floor!r}: a list of {', '.join(FLOOR_ITEMS)}")
    share = raw.get("first_purchase_share")
    if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float))
                              or not (math.isfinite(share) and 0 < share <= 1)):
        raise ProfileError(f"{where} [price] first_purchase_share = {share!r}: a share above 0 and at most 1 (0.8)")
    for key in ("source", "first_purchase_source"):
        if not isinstance(raw.get(key, ""), str):
            raise ProfileError(f"{where} [price] {key}: must be a string (the article)")
    return PriceRule(floor=tuple(floor), source=raw.get("source", ""),
                     first_purchase_share=None if share is None else float(share),
                     first_purchase_source=raw.get("first_purchase_source", ""))


def price_class(value: Any) -> str:
    """The 基准地价 use class a zone's use is written as ("" when none is recognised).

    >>> [price_class(v) for v in ("商服用地", "工业", "II级住宅", "commercial", "其他", None)]
    ['commercial', 'industrial', 'residential', 'commercial', '', '']
    """
    if not isinstance(value, str):
        return ""
    text = value.strip().lower()
    for cls, (_, words, _) in PRICE_CLASSES.items():
        if any(w in text for w in words):
            return cls
    return ""


_CLASS_OF_TAG = {tag: cls for cls, (_, _, tags) in PRICE_CLASSES.items() for tag in tags}


def choose_zones(pairs: pd.DataFrame, zone_price: np.ndarray, zone_use: np.ndarray | None,
                 tags: pd.Series, zone_level: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each parcel's base price (NaN: none) and its basis.

    ``pairs``: the overlay's (parcel, feature, overlap_m2) rows; ``zone_use``: each zone's use as
    written (None: the layer says none); ``tags``: each parcel's planned-use tag; ``zone_level``:
    each zone's 级别 as written (None: the layer says none).

    >>> pairs = pd.DataFrame({"parcel": [0, 0, 1], "feature": [0, 1, 1], "overlap_m2": [80.0, 100.0, 50.0]})
    >>> choose_zones(pairs, np.array([1200.0, 450.0]), np.array(["商服用地", "工业用地"]),
    ...              pd.Series(["commercial", "education"]), np.array(["II", "III"]))
    (array([1200.,   nan]), array(['商服用地基准地价 II级', '基准地价图层中无公共服务用地区段覆盖该宗地'], dtype=object))
    """
    n = len(tags)
    price = np.full(n, np.nan)
    basis = np.full(n, "", dtype=object)
    tag = tags.astype(object).where(tags.notna(), "").to_numpy()
    want = np.array([_CLASS_OF_TAG.get(t, "") for t in tag], dtype=object)
    rows = pairs[["parcel", "feature", "overlap_m2"]]
    if zone_use is not None:
        classes = np.array([price_class(u) for u in zone_use], dtype=object)
        rows = rows[classes[rows["feature"].to_numpy()] == want[rows["parcel"].to_numpy()]]
    rows = rows.assign(_price=zone_price[rows["feature"].to_numpy()])
    rows = rows[rows["_price"] > 0]   # a zone without a price (0, unreadable) prices nothing
    # the zone covering most of the parcel; where two cover as much, the higher price (a floor is never
    # taken below the base price of the parcel's area, yanbian 第十七条)
    best = rows.assign(_m2=rows["overlap_m2"].round(2)).sort_values(
        ["parcel", "_m2", "_price", "feature"], ascending=[True, False, False, True], kind="stable").drop_duplicates("parcel")
    at, feature = best["parcel"].to_numpy(), best["feature"].to_numpy()
    price[at] = zone_price[feature]
    if zone_use is None:
        basis[at] = "基准地价图层未分用途，取覆盖宗地面积最大的区段"
    else:
        basis[at] = [_zone_said(PRICE_CLASSES[want[p]][0], zone_use[f], None if zone_level is None else zone_level[f])
                     for p, f in zip(at, feature, strict=True)]
        none = np.ones(n, dtype=bool)
        none[at] = False
        covered = np.zeros(n, dtype=bool)
        covered[pairs["parcel"].to_numpy()] = True
        basis[none & covered & (want != "")] = [f"基准地价图层中无{PRICE_CLASSES[w][0]}区段覆盖该宗地"
                                                  for w in want[none & covered & (want != "")]]
        # a zone whose use is written in a way not recognised (a code 05, 商住用地): said, not taken for "none"
        odd = pairs[classes[pairs["feature"].to_numpy()] == ""]
        if len(odd):
            odd_uses: dict[int, set[str]] = {}
            for p, f in zip(odd["parcel"].to_numpy(), odd["feature"].to_numpy(), strict=True):
                odd_uses.setdefault(int(p), set()).add(str(zone_use[f]))
            for p, uses in odd_uses.items():
                if none[p] and want[p] != "":
                    basis[p] = (f"基准地价图层的用途“{'、'.join(sorted(uses))}”无法识别为商服、工业、住宅或公共服务用地，"
                                "未取基准地价：请将用途字段写作相应用地名称")
        basis[none & (want == "") & covered & (tag != "")] = "规划用途无相应的基准地价用途"
        basis[none & (tag == "") & covered] = "规划用途不明（无规划图层或未覆盖），无法按用途取基准地价"
    basis[np.isnan(price) & (basis == "")] = "基准地价图层未覆盖该宗地"
    return price, basis


def _zone_said(name: str, use: Any, level: Any) -> str:
    """``商服用地基准地价 II级``; the zone's use as written when it is not the class's name."""
    said = f"{name}基准地价" + (f"（{use}）" if isinstance(use, str) and use.strip() != name else "")
    level = str(level).strip() if isinstance(level, (str, int)) and str(level).strip() else ""
    return said + (f" {level}" + ("" if level.endswith("级") else "级") if level else "")


def price_floors(base: pd.DataFrame, rule: PriceRule, document: str) -> pd.DataFrame:
    """The floor per m² and in total, the first-purchase line, and their basis, from the parcel facts
    ``base_price``, ``area_m2`` and the cost attributes (``entry_cost``, ``objective_cost``: yuan).

    >>> facts = pd.DataFrame({"area_m2": [1000.0, 1000.0], "base_price": [1200.0, 1200.0],
    ...                       "entry_cost": [1_500_000.0, np.nan]})
    >>> out = price_floors(facts, PriceRule(("base_price", "entry_cost"), "第十七条", 0.8, "第二十四条"), "《办法》")
    >>> out[["price_floor", "price_floor_total", "price_floor_total_wan", "first_purchase_price"]].values.tolist()
    [[1500.0, 1500000.0, 150.0, 960.0], [nan, nan, nan, 960.0]]
    """
    n = len(base)
    area = pd.to_numeric(base["area_m2"], errors="coerce").to_numpy(dtype=float)
    per_m2: dict[str, np.ndarray] = {}
    for item in rule.floor:
        values = pd.to_numeric(base[item], errors="coerce").to_numpy(dtype=float) if item in base else np.full(n, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_m2[item] = values if item == "base_price" else np.where(area > 0, values / area, np.nan)
    out = pd.DataFrame(index=base.index)
    if per_m2:
        stacked = np.column_stack(list(per_m2.values()))
        known = ~np.isnan(stacked).any(axis=1)
        floor = np.where(known, np.nanmax(np.where(np.isnan(stacked), -np.inf, stacked), axis=1), np.nan)
    else:
        floor = np.full(n, np.nan)
    # a floor is a least price: rounded up to the fen, never below what it rests on (500.125 → 500.13)
    out["price_floor"] = np.ceil(np.round(floor * 100, 6)) / 100
    out["price_floor_total"] = np.round(floor * area, 2)
    out["price_floor_total_wan"] = np.round(floor * area / 1e4, 4)
    base_price = pd.to_numeric(base.get("base_price", pd.Series(np.nan, index=base.index)), errors="coerce")
    share = rule.first_purchase_share
    out["first_purchase_price"] = np.round(base_price.to_numpy(dtype=float) * share, 2) if share else np.nan
    out["price_basis"] = [_basis({k: v[i] for k, v in per_m2.items()}, rule, document,
                                 out["first_purchase_price"].iat[i] if share else None) for i in range(n)]
    return out


def _basis(items: Mapping[str, float], rule: PriceRule, document: str, first: float | None) -> str:
    parts = []
    if items:
        said = "、".join(f"{FLOOR_ITEMS[k]}{_yuan(v)}" for k, v in items.items())
        missing = [FLOOR_ITEMS[k] for k, v in items.items() if math.isnan(v)]
        head = (f"不低于{said}" + ("之高者" if len(items) > 1 else "")) if not missing else (
            f"底价未定：缺少{'、'.join(missing)}（" + "；".join(_where(k) for k, v in items.items() if math.isnan(v)) + "）")
        parts.append(head + (f"（{document}{rule.source}）" if rule.source else ""))
    if first is not None and not math.isnan(first):
        parts.append(f"低于基准地价的{rule.first_purchase_share:.0%}（{first:,.2f}元/平方米）时政府有优先购买权"
                     + (f"（{document}{rule.first_purchase_source}）" if rule.first_purchase_source else ""))
    return "；".join(parts)


def _yuan(value: float) -> str:
    return "（未知）" if math.isnan(value) else f"{value:,.2f}元/平方米"


def _where(item: str) -> str:
    if item == "base_price":
        return "基准地价图层及其用途字段"
    return f"宗地属性“{FLOOR_ITEMS[item]}”，单位元"
