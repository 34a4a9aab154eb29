"""The names landgis's stages share: roles, verdicts, outcomes, fields, facts.

A leaf module (it imports no other landgis module): every stage takes its vocabulary
from here, so a verdict's Chinese label, a layer role or a standard field is written
once.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "LAYER_ROLES", "LAYER_ZH", "DRAWN_LAYERS", "RASTER_ROLES", "CLASS_LAYERS", "MEASURE_LAYERS", "CONSTRAINT_LAYERS",
    "PARCEL_ATTRIBUTES", "BOOLEAN_ATTRIBUTES", "AMOUNT_ATTRIBUTES", "ATTRIBUTE_FACTS", "STANDARD_FIELDS", "FEATURE_ID_FIELDS",
    "VERDICTS", "VERDICT_ZH", "VERDICT_COLOURS", "OUTCOMES", "OUTCOME_ZH", "M2_PER_MU", "VALUE_ZH", "SEVERITY_ZH",
    "FACT_DOCS", "known_fact", "USABLE_STATUS", "usable_geometry", "suggest",
]

# ------------------------------------------------------------------ layers

#: Input layer roles a project may declare, with a one-line description.
LAYER_ROLES: Mapping[str, str] = MappingProxyType(
    {
        "parcels": "candidate parcels (宗地 / 拟入市地块) — required",
        "survey": "current land survey (三调 + 年度变更 DLTB)",
        "survey_2009": "2nd national land survey (二调 DLTB)",
        "farmland": "永久基本农田 permanent basic farmland",
        "redline": "生态保护红线 ecological protection red line",
        "udb": "城镇开发边界 urban development boundary",
        "zoning": "planned land use (用地用海分类)",
        "buildings": "existing buildings and structures",
        "approvals": "land with legal approval (批准文号)",
        "price_zones": "基准地价 zones",
        "admin": "乡镇 / 村 boundaries",
        "dem": "elevation raster (GeoTIFF; slope for 土地平整)",
        "roads": "roads (lines or polygons) for 通路 road access",
    }
)

#: input layers the maps draw, which a ScreeningResult keeps; the others are freed after screening
DRAWN_LAYERS = ("farmland", "redline", "udb", "zoning", "admin")

#: each role's name in a Chinese sheet
LAYER_ZH: Mapping[str, str] = MappingProxyType({
    "parcels": "宗地图层", "survey": "现状调查（三调）图层", "survey_2009": "二调图层", "farmland": "永久基本农田图层",
    "redline": "生态保护红线图层", "udb": "城镇开发边界图层", "zoning": "规划用途图层", "buildings": "建（构）筑物图层",
    "approvals": "已批准用地图层", "price_zones": "基准地价图层", "admin": "行政区图层", "dem": "数字高程模型",
    "supply_plan": "年度供应计划表",
    "roads": "道路图层", "project": "项目文件", "profile": "配置文件",
})

#: Canonical parcel attributes a profile may use (contract §2).
PARCEL_ATTRIBUTES: tuple[str, ...] = (
    "parcel_id",
    "owner",
    "town",
    "village",
    "ownership",
    "registered",
    "restricted",
    "approval_no",
    "formed_year",
    "house_cert",
    "land_use_cert",
    "penalized",
    "street_front",
    "retain_buildings",
    "county_approved",
    "plan_committed",
    "entry_cost",
    "objective_cost",
    "decision_body",
    "decision_members",
    "decision_attended",
    "decision_for",
    "decision_date",
    "notice_start",
    "notice_end",
)

#: the parcel attributes read as yes/no (是/否, 1/0, Y/N …)
BOOLEAN_ATTRIBUTES: tuple[str, ...] = ("registered", "restricted", "house_cert", "county_approved", "land_use_cert",
                                       "penalized", "street_front", "retain_buildings", "plan_committed")
#: the parcel attributes read as sums of money (yuan; "…万元" is read as ten thousands): the costs a
#: price floor rests on (入市成本 yanbian 第十七条, 客观成本 tianning 第二十八条)
AMOUNT_ATTRIBUTES: tuple[str, ...] = ("entry_cost", "objective_cost")
#: the parcel attributes the rules test as facts; one the parcels layer lacks is blank for every parcel
ATTRIBUTE_FACTS: tuple[str, ...] = ("formed_year", *BOOLEAN_ATTRIBUTES)

#: Canonical field → national standard source field names tried in order (where the standard
#: has none, the default name landgis recognises).
STANDARD_FIELDS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "parcels": {
            "parcel_id": ("ZDDM", "BSM"),
            "owner": ("QLR", "QLRMC"),
            "town_code": ("ZLDWDM",),
            "village": ("ZLDWMC",),
            "ownership": ("QSXZ", "QLXZ"),
            "approval_no": ("PZWH",),
            # 经县级人民政府批准 (taian §三(三)9(2)); no national standard field: landgis's default name
            "county_approved": ("XZFPZ",),
            # 属地政府承诺纳入规划 (taian §三(三)3); no national standard field: landgis's default name
            "plan_committed": ("CNNRGH",),
            # the collective's decision and its notice (土地管理法第六十三条第二款; yueqing 第二十七条): no national
            # standard fields, landgis's default names
            "decision_body": ("JCJG",), "decision_members": ("YDHRS",), "decision_attended": ("DHRS",),
            "decision_for": ("TYRS",), "decision_date": ("JYRQ",), "notice_start": ("GSQSRQ",),
            "notice_end": ("GSJZRQ",),
        },
        "survey": {"class_code": ("DLBM",), "ownership": ("QSXZ",)},
        "survey_2009": {"class_code": ("DLBM",)},
        # 规划条件 of a planned plot (详细规划 / 村庄规划 地块): 容积率, 建筑密度, 绿地率, 建筑限高
        "zoning": {"class_code": ("YDYHFLDM", "GHYTDM", "YTDM"), "plot_ratio": ("RJL",),
                   "building_density": ("JZMD",), "green_ratio": ("LDL",), "height_limit": ("JZXG", "JZGD")},
        "approvals": {"approval_no": ("PZWH",), "approval_date": ("PZRQ",)},
        "price_zones": {"price": ("JZDJ", "DJ"), "use": ("YT", "TDYT"), "level": ("JB", "TDJB")},
        "admin": {"code": ("XZQDM",), "name": ("XZQMC",)},
    }
)

#: roles whose layer may be a raster: the DEM and constraints measured as ground covered
RASTER_ROLES = ("dem", "farmland", "redline", "udb", "buildings", "approvals")
#: constraint layers measured as "ground covered", role → fact prefix
MEASURE_LAYERS: Mapping[str, str] = {"farmland": "farmland", "redline": "redline", "udb": "udb",
                                     "approvals": "approval", "buildings": "buildings"}
#: class layers broken down by class code
CLASS_LAYERS = ("survey", "survey_2009", "zoning")
#: the constraint layers a map draws under the parcels
CONSTRAINT_LAYERS = ("farmland", "redline", "udb", "zoning")

#: a constraint or class layer feature's id: the first of these fields it has (else its position)
FEATURE_ID_FIELDS: tuple[str, ...] = ("BSM", "OBJECTID", "FID")


# ------------------------------------------------------------------ verdicts and outcomes

#: a parcel's verdict, best first
VERDICTS = ("eligible", "conditional", "ineligible")
VERDICT_ZH: Mapping[str, str] = MappingProxyType(
    {"eligible": "可入市", "conditional": "有条件入市", "ineligible": "不可入市"})
VERDICT_COLOURS: Mapping[str, str] = MappingProxyType(
    {"eligible": "#1a9850", "conditional": "#f28e2b", "ineligible": "#d73027"})
#: what a rule that fires does to the verdict: exclude → ineligible, condition → conditional, note → nothing
OUTCOMES = ("exclude", "condition", "note")
OUTCOME_ZH: Mapping[str, str] = MappingProxyType({"exclude": "不可入市", "condition": "有条件入市", "note": "提示"})

#: how the spreadsheet writes the values landgis itself puts in a column (a Chinese sheet has no English)
VALUE_ZH: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "approval_source": {"attribute": "宗地批准文号", "approvals layer": "已批准用地图层"},
    "approval_found": {"(approvals layer)": "（已批准用地图层，无文号）"},
    "geometry_status": {"ok": "正常", "repaired": "已修复", "null": "无图形", "empty": "空图形",
                        "not_polygon": "非面状图形", "unrepairable": "无法修复",
                        "non_finite": "坐标非数值"},
    "road_source": {"roads layer": "道路图层"},
})
#: severities of an input problem
SEVERITY_ZH: Mapping[str, str] = MappingProxyType({"error": "错误", "warning": "警告", "info": "信息"})

#: square metres per 亩 (1 亩 = 10000/15 m²)
M2_PER_MU = 10000 / 15

# ------------------------------------------------------------------ facts

#: Documented facts (dynamic ones: ``zoning_<use>_m2``, ``survey_<landcat|role>_m2``, ``survey_2009_<landcat>_m2``).
FACT_DOCS: Mapping[str, str] = {
    "area_m2": "parcel area, planar in the working CRS (m²)",
    "farmland_m2": "ground covered by 永久基本农田 (m², overlapping patches counted once)",
    "redline_m2": "ground covered by 生态保护红线 (m²)",
    "udb_m2": "ground inside 城镇开发边界 (m²)",
    "approval_m2": "ground covered by approved land (m²)",
    "buildings_m2": "ground covered by buildings (m²)",
    "survey_class": "dominant current survey class (DLBM)",
    "survey_nonconstruction_m2": "current agricultural + unused land (m²)",
    "survey_covered_m2": "area covered by the current survey (m²)",
    "survey_uncovered_m2": "parcel area no current survey patch covers (m²): its land class is unknown",
    "survey_uncovered_share": "share of the parcel no current survey patch covers",
    "zoning_uncovered_m2": "parcel area no planned-use patch covers (m²): the plan does not cover it yet",
    "zoning_uncovered_share": "share of the parcel no planned-use patch covers",
    "plan_committed": "the local government's written commitment to bring the parcel into the plan (bool)",
    "survey_state_m2": "current survey land of state ownership, QSXZ 10–29 or 国有, read as a parcel's is (m²)",
    "survey_2009_class": "dominant 二调 class",
    "survey_2009_legacy_m2": ("二调 construction land that can be operational legacy land (m²): construction classes "
                              "but transport and water works (codes/legacy_2009.csv)"),
    "survey_2009_other_m2": ("parcel area that was not such land in the 二调 (m²): agricultural, unused, "
                             "infrastructure classes, unknown codes, or under no 二调 patch"),
    "planned_use": "dominant planned-use code (用地用海分类)",
    "planned_use_tag": "dominant planned-use tag (industrial, commercial, …)",
    "planned_use_other_m2": ("where the dominant planned use is one the profile's PLAN-USE allows, the part of "
                             "the parcel planned for other uses or for codes of no known use (m²); 0 elsewhere"),
    "planned_use_other_share": "planned_use_other_m2 as a share of the parcel",
    "registered": "collective ownership registered (bool)",
    "restricted": "sealed or restricted (bool)",
    "collective": ("collectively owned (bool; the parcel's QSXZ where valid, else false when the survey's "
                   "state land under it is above tolerance, unknown when no survey covers it)"),
    "collective_basis": "where `collective` came from: the parcel's QSXZ, or the survey's state land (m², %)",
    "approved": "has a 批准文号, or approved land covers all of it but the tolerance (bool)",
    "approval_missing_m2": ("the part of a parcel without a 批准文号 that no approved land covers (m²); "
                            "above tolerance, the parcel is not approved"),
    "formed_year": "year the construction land was formed",
    "house_cert": "holds a house ownership certificate (bool)",
    "county_approved": ("approved by the county-level people's government (县级人民政府批准; bool), "
                        "not a legal land-use approval (taian §三(三)9(2))"),
    "land_use_cert": "holds a collective construction land use certificate (bool)",
    "penalized": "illegal land use penalised (bool; blank = no illegal use)",
    "street_front": "street-facing commercial site (bool)",
    "retain_buildings": "the plan allows keeping the buildings (bool)",
    "legacy": "historical-legacy category (L1…L4) or empty",
    "base_price": "基准地价 of the price zone covering most of the parcel (yuan/m²)",
    "plot_ratio_max": "容积率 upper limit the plan sets (the strictest of the planned-use patches over the parcel)",
    "building_density_max": "建筑密度 upper limit, % (the strictest of the planned-use patches over the parcel)",
    "green_ratio_min": "绿地率 lower limit, % (the strictest of the planned-use patches over the parcel)",
    "height_max_m": "建筑限高, m (the strictest of the planned-use patches over the parcel)",
    "planning_conditions_note": "where the planned-use patches over the parcel set different conditions: which",
    "unapproved": "construction land with no approval and no legacy category (bool)",
    "decision_short": ("the collective's decision falls short (bool): fewer than two thirds of the voting body's "
                       "members for it, two thirds included as passing; for a township collective's land, not "
                       "its 党政联席会议 or leadership meeting; blank when the parcel's decision data says nothing"),
    "notice_workdays": "working days the decision was publicly noticed, first and last day included (holiday calendar)",
    "slope_mean_deg": "mean DEM slope over the parcel (degrees, Horn's method, cell-area weighted)",
    "slope_max_deg": "steepest DEM cell touching the parcel (degrees)",
    "slope_steep_share": "share of the parcel steeper than the profile's slope_max_deg (default 15°)",
    "slope_covered_share": "share of the parcel with a valid DEM slope (nodata and DEM edge excluded)",
    "road_distance_m": "distance to the nearest road (m; roads layer, else survey 1003/1004/1006)",
    "road_access": "a road within the profile's road_max_distance_m (default 200 m) (bool)",
    "road_source": "where the roads came from (roads layer or survey classes)",
}


def known_fact(name: str) -> bool:
    """Whether ``name`` is a fact landgis can compute (for profile checks)."""
    if name in FACT_DOCS:
        return True
    for prefix in ("zoning_", "survey_2009_", "survey_"):
        if name.startswith(prefix) and (name.endswith("_m2") or name.endswith("_share")):
            return True
    return name in ("survey_class_share", "planned_use_share", "survey_2009_class_share",
                    "legacy_basis", "approval_no", "approval_found")


# ------------------------------------------------------------------ geometry

#: the ``geometry_status`` of a parcel or feature whose geometry is used (as read, or repaired)
USABLE_STATUS = ("ok", "repaired")


def usable_geometry(frame: pd.DataFrame) -> np.ndarray:
    """Mask of the rows whose ``geometry_status`` is one of :data:`USABLE_STATUS`.

    Arrow's membership test on the text column (the screening asks it of every stage).

    >>> usable_geometry(pd.DataFrame({"geometry_status": ["ok", "null", "repaired", None]})).tolist()
    [True, False, True, False]
    """
    return frame["geometry_status"].isin(USABLE_STATUS).to_numpy(dtype=bool)



def suggest(word: str, options: Any) -> str:
    """`` (did you mean `x`?)`` for the closest of ``options``, else nothing.

    >>> suggest("farmlnd", ["farmland", "redline"])
    ' (did you mean `farmland`?)'
    """
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""
