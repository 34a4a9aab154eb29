"""Historical-legacy land (历史遗留) from the 2nd national land survey.

The categories are data (``[[legacy]]`` in the profiles, domain.md §3.3); this
module evaluates them in the profile's precedence order, writes the evidence an
analyst needs to defend each flag in front of the village committee, and
derives ``unapproved``: current construction land with no approval that no
legacy category covers.

>>> import pandas as pd
>>> from landgis.profiles import load_profile
>>> facts = pd.DataFrame({"approved": [False, False, True], "formed_year": [2005, 2009, 2001],
...                       "survey_2009_construction_m2": [400.0, 400.0, 400.0],
...                       "survey_construction_m2": [400.0, 400.0, 400.0], "area_m2": [400.0] * 3})
>>> out = classify_legacy(facts, load_profile("national"), tolerance=1.0)
>>> out["legacy"].tolist(), out["unapproved"].tolist()
(['L1', '', ''], [False, True, False])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from landgis.conditions import evaluate, facts_used
from landgis.profiles import Profile

__all__ = ["classify_legacy", "ATTRIBUTE_FACTS"]

#: attribute facts that, when the layer lacks them, are unknown for every parcel
ATTRIBUTE_FACTS = ("registered", "restricted", "formed_year", "house_cert", "land_use_cert", "penalized",
                   "street_front", "retain_buildings")


def classify_legacy(facts: pd.DataFrame, profile: Profile, tolerance: float) -> pd.DataFrame:
    """Legacy category, its evidence, and the ``unapproved`` flag, per parcel.

    Returns a frame aligned to ``facts`` with ``legacy`` (category id or ""),
    ``legacy_basis`` (the grounds, in Chinese, with numbers) and ``unapproved``.
    Categories whose layer-derived facts are missing are skipped; an attribute
    the parcels lack counts as unknown for every parcel (the condition's
    ``missing`` policy applies).
    """
    if "approved" not in facts:  # no approval information: nothing can be said (contract §3)
        return pd.DataFrame(index=facts.index)
    work = with_attribute_columns(facts)
    n = len(facts)
    legacy = np.full(n, "", dtype=object)
    masks: dict[str, np.ndarray] = {}
    for cat in profile.legacy:
        if any(f not in work for f in facts_used(cat.when)):
            continue  # e.g. no 二调 layer: L1 cannot be told
        masks[cat.id] = evaluate(cat.when, work, tolerance, masks)
    for cat in profile.legacy_categories:  # precedence order
        if cat.id in masks:
            legacy = np.where((legacy == "") & masks[cat.id], cat.id, legacy)
    basis = np.array([_basis(cat, work.iloc[i]) if cat else "" for i, cat in enumerate(legacy)], dtype=object)
    out = pd.DataFrame({"legacy": legacy, "legacy_basis": basis}, index=facts.index)
    if "survey_construction_m2" in facts:
        out["unapproved"] = ((facts["survey_construction_m2"].to_numpy() > tolerance)
                             & ~facts["approved"].to_numpy(dtype=bool) & (legacy == ""))
    return out


def with_attribute_columns(facts: pd.DataFrame) -> pd.DataFrame:
    """``facts`` with every absent parcel attribute added as all-unknown."""
    missing = [a for a in ATTRIBUTE_FACTS if a not in facts]
    if not missing:
        return facts
    extra = pd.DataFrame({a: pd.array([pd.NA] * len(facts), dtype="object") for a in missing}, index=facts.index)
    return pd.concat([facts, extra], axis=1)


def _fmt_bool(value: object, yes: str, no: str, unknown: str) -> str:
    if value is True or value is np.True_:
        return yes
    if value is False or value is np.False_:
        return no
    return unknown


def _basis(cat: str, row: pd.Series) -> str:
    parts = ["无批准文号，未落在已批准用地上"]
    year = row.get("formed_year")
    has_year = year is not None and not pd.isna(year)
    if cat in ("L1", "L4") or (cat == "L2" and has_year):
        parts.append(f"{int(year)}年形成" if has_year else "形成年份未记载（以二调为据）")
    c09 = row.get("survey_2009_construction_m2")
    if c09 is not None and not pd.isna(c09) and float(c09) > 0:
        share = row.get("survey_2009_construction_share", np.nan)
        cls = row.get("survey_2009_class", "")
        name = row.get("survey_2009_class_name", "")
        parts.append(f"二调建设用地 {float(c09):.2f} m²（{float(share) * 100:.1f}%），主要地类 {cls} {name}".rstrip())
    if cat == "L2":
        parts.append(_fmt_bool(row.get("house_cert"), "有房屋所有权证", "无房屋所有权证", "房屋所有权证未记载"))
    if cat == "L3":
        parts.append("临街经营性场所")
        parts.append(_fmt_bool(row.get("land_use_cert"), "有集体建设用地使用证", "无集体建设用地使用证", ""))
        parts.append(_fmt_bool(row.get("house_cert"), "有房屋所有权证", "", ""))
    if cat == "L4":
        parts.append("涉及违法用地，尚未处罚到位")
    return cat + "：" + "；".join(p for p in parts if p)
