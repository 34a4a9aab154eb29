"""Inventory stage: the per-parcel table, its summaries and the conflict pieces.

Pure functions from facts and verdicts to tables; writing them is
:mod:`landgis.io`'s job. Column order follows contract §3; every input parcel
is one row, in input order.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS, Proj, Transformer

from landgis.distinct import map_distinct
from landgis.prices import PriceRule, price_floors
from landgis.profiles import Profile
from landgis.profiles.supply import TERM_COLUMNS, parcel_terms, parcel_terms_zh
from landgis.rules import NODATA, reason_texts
from landgis.schema import M2_PER_MU, VERDICTS

__all__ = ["CONTRACT_COLUMNS", "COLUMN_NAMES_ZH", "build_inventory", "summaries", "data_only", "ellipsoidal_area"]

CONTRACT_COLUMNS = ("parcel_id", "area_m2", "area_mu", "verdict", "reasons", "legacy",
                    "farmland_m2", "redline_m2", "udb_m2", "planned_use", "survey_class")

_MORE_COLUMNS = (
    "owner", "town", "village", "area_ellipsoid_m2", "reasons_zh", "notes", "actions", "unchecked", "register_docs",
    "planned_use_name", "planned_use_tag", "planned_use_share", "planned_use_other_m2",
    "survey_class_name", "survey_class_share", "survey_construction_m2", "survey_agricultural_m2",
    "survey_unused_m2", "survey_homestead_m2", "survey_uncovered_m2", "zoning_uncovered_m2",
    "farmland_share", "redline_share", "udb_share", "enterable_m2", "enterable_share", "supply_year", "in_supply_plan",
    "checklist_zh", "decision_zh",
    "buildings_m2",
    "approved", "approval_found", "approval_source", "approval_m2", "approval_missing_m2",
    "legacy_basis", "survey_2009_class", "survey_2009_class_name", "survey_2009_construction_m2",
    "survey_2009_construction_share", "survey_2009_other_m2", "formed_year", "registered", "restricted", "collective",
    "collective_basis", "survey_state_m2", "max_term_years", "share_max_years", "lease_min_years", "lease_max_years",
    "lease_then_sale_years", "lease_then_sale_max_years", "terms_zh", "base_price", "base_price_basis", "price_floor",
    "price_floor_total", "price_floor_total_wan", "first_purchase_price", "price_basis",
    "plot_ratio_max", "building_density_max", "green_ratio_min", "height_max_m", "planning_conditions_note",
    "slope_mean_deg", "slope_max_deg",
    "slope_steep_share", "road_distance_m", "road_access",
    "geometry_status",
)

COLUMN_NAMES_ZH: Mapping[str, str] = {
    "parcel_id": "宗地代码", "area_m2": "面积(平方米)", "area_mu": "面积(亩)", "verdict": "筛查结论",
    "reasons": "触发规则", "legacy": "历史遗留类别", "farmland_m2": "占永久基本农田(平方米)",
    "redline_m2": "占生态保护红线(平方米)", "udb_m2": "城镇开发边界内(平方米)", "planned_use": "规划用途代码",
    "survey_class": "现状地类代码", "owner": "权利人", "town": "乡镇", "village": "村",
    "area_ellipsoid_m2": "椭球面积(平方米)", "reasons_zh": "规则说明", "notes": "提示",
    "actions": "入市前须办理", "unchecked": "未能核查的规则", "zoning_uncovered_m2": "规划未覆盖(平方米)",
    "register_docs": "登记及批准文件",
    "planned_use_name": "规划用途", "planned_use_tag": "规划用途类别", "planned_use_share": "规划用途占比",
    "planned_use_other_m2": "部分规划为其他用途(平方米)",
    "survey_class_name": "现状地类", "survey_class_share": "现状地类占比",
    "survey_construction_m2": "现状建设用地(平方米)", "survey_agricultural_m2": "现状农用地(平方米)",
    "survey_unused_m2": "现状未利用地(平方米)", "survey_homestead_m2": "现状宅基地(平方米)",
    "survey_uncovered_m2": "三调未覆盖(平方米)", "collective_basis": "权属依据", "survey_state_m2": "三调国有土地(平方米)",
    "farmland_share": "永久基本农田占比", "redline_share": "生态保护红线占比", "udb_share": "城镇开发边界内占比",
    "enterable_m2": "可入市面积(平方米)", "enterable_share": "可入市面积占比",
    "supply_year": "计划供应年度", "in_supply_plan": "已列入年度供应计划", "checklist_zh": "入市前置条件", "decision_zh": "集体决议及公示",
    "buildings_m2": "建(构)筑物(平方米)", "approved": "已批准", "approval_found": "批准文号",
    "approval_source": "批准依据来源", "approval_m2": "已批准用地(平方米)",
    "approval_missing_m2": "未获批准部分(平方米)", "survey_2009_other_m2": "二调非经营性建设用地部分(平方米)", "legacy_basis": "历史遗留认定依据",
    "survey_2009_class": "二调地类代码", "survey_2009_class_name": "二调地类",
    "survey_2009_construction_m2": "二调建设用地(平方米)", "survey_2009_construction_share": "二调建设用地占比",
    "formed_year": "形成年份", "registered": "所有权已登记", "restricted": "查封限制", "collective": "集体所有",
    "max_term_years": "最高出让年限(年)", "share_max_years": "作价出资(入股)最高年限(年)",
    "lease_min_years": "出租最短年限(年)", "lease_max_years": "出租最长年限(年)",
    "lease_then_sale_years": "先租后让租赁年限(一般,年)", "lease_then_sale_max_years": "先租后让租赁年限(最长,年)",
    "terms_zh": "入市年限", "base_price": "基准地价(元/平方米)", "base_price_basis": "基准地价依据",
    "price_floor": "入市底价(元/平方米)", "price_floor_total": "入市底价总额(元)", "price_floor_total_wan": "入市底价总额(万元)",
    "first_purchase_price": "优先购买权价格线(元/平方米)", "price_basis": "底价依据",
    "plot_ratio_max": "容积率上限", "building_density_max": "建筑密度上限(%)", "green_ratio_min": "绿地率下限(%)",
    "height_max_m": "建筑限高(米)", "planning_conditions_note": "规划条件说明", "slope_mean_deg": "平均坡度(度)", "slope_max_deg": "最大坡度(度)",
    "slope_steep_share": "陡坡占比", "road_distance_m": "距最近道路(米)", "road_access": "通路", "geometry_status": "图形状态",
}


_ROUND = {"_m2": 2, "_mu": 4, "_share": 4, "_deg": 2, "_distance_m": 1}


def build_inventory(parcels: gpd.GeoDataFrame, facts: pd.DataFrame, verdicts: pd.DataFrame,
                    profile: Profile) -> gpd.GeoDataFrame:
    """One row per input parcel, contract columns first, geometry last.

    ``facts`` are every fact per parcel, the legacy classification's columns included.
    """
    base = facts
    out = pd.DataFrame(index=parcels.index)
    out["parcel_id"] = parcels["parcel_id"].astype(object)
    out["area_m2"] = base["area_m2"]
    out["area_mu"] = base["area_m2"] / M2_PER_MU
    out["verdict"] = verdicts["verdict"]
    out["reasons"] = verdicts["reasons"]
    out["legacy"] = base["legacy"] if "legacy" in base else pd.Series("", index=out.index, dtype=object)
    for col in ("farmland_m2", "redline_m2", "udb_m2", "planned_use", "survey_class"):
        out[col] = base[col] if col in base else pd.NA
    for col in ("owner", "town", "village"):
        out[col] = parcels[col] if col in parcels else ""
    out["reasons_zh"] = reason_texts(verdicts["reasons"], profile, nodata=verdicts.attrs.get("nodata"))
    out["notes"] = verdicts["notes"]
    out["actions"] = verdicts["actions"] if "actions" in verdicts else ""
    out["unchecked"] = verdicts["unchecked"] if "unchecked" in verdicts else ""
    out["register_docs"] = register_docs(base)
    tag = base["planned_use_tag"] if "planned_use_tag" in base else pd.Series(pd.NA, index=out.index)
    terms = parcel_terms(profile.supply, profile.terms.get("sale", {}), tag)
    for col in TERM_COLUMNS:
        out[col] = terms[col]
    out["terms_zh"] = parcel_terms_zh(profile.supply, profile.terms.get("sale", {}), tag)
    prices = price_floors(base, profile.price or PriceRule(), profile.document)
    for col in prices:
        out[col] = prices[col]
    for col in _MORE_COLUMNS:
        if col in out:
            continue
        if col in base:
            out[col] = base[col]
        elif col == "geometry_status":
            out[col] = parcels["geometry_status"]
        else:
            out[col] = pd.NA
    for col in out.columns:
        for suffix, digits in _ROUND.items():
            if col.endswith(suffix) and pd.api.types.is_numeric_dtype(out[col]):
                out[col] = out[col].astype(float).round(digits)
    out.loc[out["verdict"] == "eligible", "reasons"] = ""
    return gpd.GeoDataFrame(out, geometry=parcels.geometry.values, crs=parcels.crs)


#: the register attributes whose certificate or document numbers the inventory quotes, with their names
_REGISTER_DOCS = {"registered": "集体土地所有权证", "house_cert": "房屋所有权证", "land_use_cert": "集体建设用地使用证",
                  "county_approved": "县级人民政府批准文件", "penalized": "行政处罚决定", "restricted": "查封或限制文书",
                  "plan_committed": "纳入规划承诺"}


def register_docs(facts: pd.DataFrame) -> pd.Series:
    """The certificate and document numbers the parcel's register gave, named: ``房屋所有权证：房权证字第12号；…``.

    >>> register_docs(pd.DataFrame({"house_cert_doc": ["房权证字第12号", ""]})).tolist()
    ['房屋所有权证：房权证字第12号', '']
    """
    out = pd.Series("", index=facts.index, dtype=object)
    for attr, name in _REGISTER_DOCS.items():
        col = f"{attr}_doc"
        if col in facts:
            doc = facts[col].fillna("").astype(str).to_numpy()
            said = doc != ""
            joined = np.where(out.to_numpy() == "", "", out.to_numpy() + "；")
            out[said] = (joined[said] + f"{name}：" + doc[said]).astype(object)
    return out


def ellipsoidal_area(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Area on the CGCS2000 ellipsoid (as 三调 TBMJ is computed), m² per geometry; 0 when missing.

    A parcel is drawn with straight edges in the projection, so its area on the
    ellipsoid is the integral of 1/m over the planar polygon, m being the
    projection's areal scale. m is linear across a parcel to first order, and the
    integral of a linear function is its value at the centroid times the area:
    planar area / m(centroid), exact to about A·L²/(12R²) — 10⁻¹² relative for a
    parcel of tens of metres (a 100 m square agrees with a 40 000-cell quadrature
    to 2e-7 m²), without a geodesic area per ring.

    >>> import shapely
    >>> sq = shapely.box(420000, 2790000, 420100, 2790100)   # 80 km west of CM 111°E: scale 1.00016
    >>> a = ellipsoidal_area(np.array([sq]), CRS.from_epsg(4546))[0]
    >>> round(float(a), 4)
    9998.4222

    Parts and holes count as they are drawn, whatever the ring orientation:

    >>> cw = shapely.Polygon([(420200, 2790000), (420200, 2790100), (420300, 2790100), (420300, 2790000)])
    >>> holed = shapely.Polygon(sq.exterior.coords, [sq.buffer(-25).exterior.coords])
    >>> two, hole = ellipsoidal_area(np.array([shapely.MultiPolygon([sq, cw]), holed]), CRS.from_epsg(4546))
    >>> bool(abs(two - 2 * a) < 0.01), bool(abs(hole - 0.75 * a) < 0.01)
    (True, True)
    """
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise ValueError(f"ellipsoidal_area needs geometries in a projected CRS, not {crs.name}")
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms))
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not usable.any():
        return out
    centre = shapely.centroid(geoms[usable])
    to_geo = Transformer.from_crs(crs, CRS.from_epsg(4490), always_xy=True)
    lon, lat = to_geo.transform(shapely.get_x(centre), shapely.get_y(centre))
    scale = np.asarray(Proj(crs).get_factors(lon, lat).areal_scale, dtype=float)
    out[usable] = shapely.area(geoms[usable]) / scale
    return out


def data_only(inventory: pd.DataFrame) -> np.ndarray:
    """The conditional parcels whose every reason is a rule not checked (``NODATA-…``): conditional
    only for want of data.

    >>> data_only(pd.DataFrame({"verdict": ["conditional", "conditional", "eligible"],
    ...                         "reasons": ["NODATA-FARMLAND;NODATA-LEGACY", "NODATA-LEGACY;OWN-REG", ""]})).tolist()
    [True, False, False]
    """
    def only(ids: str) -> bool:
        parts = [p for p in ids.split(";") if p]
        return bool(parts) and all(p.startswith(NODATA) for p in parts)

    flags = map_distinct(inventory["reasons"].astype(object).fillna(""), only, missing=False).astype(bool)
    return flags & (inventory["verdict"].astype(str).to_numpy() == "conditional")


def summaries(inventory: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Summary tables: by verdict (with the parcels conditional only for want of data), by town, by
    village (the collective that offers the land; within its town, as village names repeat across
    towns), by planned use, by rule, by action (what conditional parcels need), legacy."""
    # only the columns summed or grouped by: the group-bys below copy what they are given
    wanted = ["parcel_id", "verdict", "area_m2", "town", "village", "planned_use_tag", "reasons", "legacy",
              "actions"]
    inv = pd.DataFrame(inventory[[c for c in wanted if c in inventory]])
    out: dict[str, pd.DataFrame] = {}
    by_verdict = (inv.groupby("verdict").agg(parcels=("parcel_id", "size"), area_m2=("area_m2", "sum"))
                  .reindex(list(VERDICTS), fill_value=0))
    by_verdict["area_mu"] = by_verdict["area_m2"] / M2_PER_MU
    lacking = data_only(inv)
    parcel_m2 = inv["area_m2"].to_numpy(dtype=float)
    by_verdict["data_only_parcels"] = 0
    by_verdict["data_only_mu"] = 0.0
    by_verdict.loc["conditional", "data_only_parcels"] = int(lacking.sum())
    by_verdict.loc["conditional", "data_only_mu"] = float(parcel_m2[lacking].sum() / M2_PER_MU)
    by_verdict.loc["total"] = by_verdict.sum()
    out["by_verdict"] = by_verdict.reset_index().round({"area_m2": 2, "area_mu": 4, "data_only_mu": 4})
    for key, cols in (("by_town", ["town"]), ("by_village", ["town", "village"]),
                      ("by_planned_use", ["planned_use_tag"])):
        keyed = inv.assign(**{col: _or_none(inv[col] if col in inv else pd.Series("", index=inv.index))
                              for col in cols})
        area = keyed.pivot_table(index=cols, columns="verdict", values="area_m2", aggfunc="sum", fill_value=0.0)
        count = keyed.pivot_table(index=cols, columns="verdict", values="parcel_id", aggfunc="count", fill_value=0)
        table = pd.DataFrame(index=area.index)
        for v in VERDICTS:
            table[f"{v}_parcels"] = count[v] if v in count else 0
            table[f"{v}_mu"] = (area[v] / M2_PER_MU).round(4) if v in area else 0.0
        table["total_parcels"] = count.sum(axis=1)
        table["total_mu"] = (area.sum(axis=1) / M2_PER_MU).round(4)
        out[key] = table.reset_index()
    out["by_rule"] = _rule_counts(inv["reasons"], inv["area_m2"].to_numpy(dtype=float))
    actions = inv["actions"] if "actions" in inv else pd.Series("", index=inv.index, dtype=object)
    out["by_action"] = _rule_counts(actions.str.replace("；", ";", regex=False), parcel_m2).rename(
        columns={"rule": "action"})
    leg = inv[inv["legacy"].fillna("") != ""]
    if len(leg):
        legacy = (leg.groupby(["legacy", "town"]).agg(parcels=("parcel_id", "size"), area_m2=("area_m2", "sum"))
                  .reset_index())
        legacy["area_mu"] = (legacy["area_m2"] / M2_PER_MU).round(4)
    else:
        legacy = pd.DataFrame(columns=["legacy", "town", "parcels", "area_m2", "area_mu"])
    out["legacy"] = legacy
    return out


def _or_none(values: pd.Series) -> pd.Series:
    """Group keys: a missing or empty value is "(none)", so no parcel falls out of a summary."""
    return values.astype(object).where(values.notna() & (values.astype(str) != ""), "(none)")


def _rule_counts(reasons: pd.Series, area_m2: np.ndarray) -> pd.DataFrame:
    """Parcels and 亩 per rule id of the ``;``-joined ``reasons``, most parcels first (then by id).

    Split and counted by Arrow: pandas' ``str.split().explode()`` makes a Python list per
    parcel.

    >>> _rule_counts(pd.Series(["A;B", "", None, "B"]), np.array([150.0, 1.0, 1.0, 300.0])).values.tolist()
    [['B', 2, 0.675], ['A', 1, 0.225]]
    """
    text = pc.fill_null(pa.array(reasons, type=pa.large_string(), from_pandas=True), "")
    lists = pc.split_pattern(text, ";")
    rule = pc.list_flatten(lists)
    parcel = pc.list_parent_indices(lists).to_numpy()
    named = pc.not_equal(rule, "").to_numpy(zero_copy_only=False)
    encoded = pc.dictionary_encode(rule.filter(pa.array(named)))
    code = encoded.indices.to_numpy(zero_copy_only=False)
    ids = encoded.dictionary.to_pylist()
    parcels = np.bincount(code, minlength=len(ids)).astype(np.int64)
    area = np.bincount(code, weights=area_m2[parcel[named]], minlength=len(ids))
    table = pd.DataFrame({"rule": pd.Series(ids, dtype="str"), "parcels": parcels,
                          "area_mu": (area / M2_PER_MU).round(4)})
    return table.sort_values(["parcels", "rule"], ascending=[False, True]).reset_index(drop=True)


