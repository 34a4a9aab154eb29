"""A marginal conflict turned into a condition: 调整宗地界线, where a profile allows it.

A profile's ``[boundary_adjustment]`` (``max_share`` of the parcel, ``max_m2``, and the
``source`` it rests on) lets a parcel that is ineligible only by rules whose pieces are cut
from the enterable area (farmland, red line… ``excludes = true``) enter on condition that its
boundary is adjusted, when the part cut is at most both limits and some of it is left. The
built-in profiles set none: none of their documents says so. The reason ``ADJUST-BOUNDARY``
is added beside the rules that fired, which stay on record.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from landgis.errors import ProfileError

__all__ = ["parse_adjustment", "adjust_marginal", "ADJUST"]

#: the reason of a parcel let in on condition of adjusting its boundary
ADJUST = "ADJUST-BOUNDARY"
_ACTION = "调整宗地界线，扣除不可入市部分（县级自然资源主管部门、村集体经济组织）"


def parse_adjustment(raw: Any, where: str) -> dict[str, Any] | None:
    """``[boundary_adjustment]`` checked (None when the profile sets none).

    >>> parse_adjustment({"max_share": 0.1, "max_m2": 200, "source": "第九条"}, "p")
    {'max_share': 0.1, 'max_m2': 200.0, 'source': '第九条'}
    """
    if not raw:
        return None
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{where}: `boundary_adjustment` must be a table")
    unknown = set(raw) - {"max_share", "max_m2", "source"}
    if unknown:
        raise ProfileError(f"{where} [boundary_adjustment]: unknown key {', '.join(sorted(unknown))}; "
                           "keys: max_share, max_m2, source")
    share, m2, source = raw.get("max_share"), raw.get("max_m2"), raw.get("source")
    for key, value, top in (("max_share", share, 1.0), ("max_m2", m2, math.inf)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and
                                                                                 0 < value <= top):
            raise ProfileError(f"{where} [boundary_adjustment] {key} = {value!r}: a number above 0"
                               + (" and at most 1" if top == 1.0 else ""))
    if not isinstance(source, str) or not source.strip():
        raise ProfileError(f"{where} [boundary_adjustment]: source (the article it rests on) is required: a marginal "
                           "conflict is let in only where the county's document says so")
    return {"max_share": float(share), "max_m2": float(m2), "source": source}


def adjust_marginal(inventory: pd.DataFrame, profile: Any) -> np.ndarray:
    """Mark the marginal parcels conditional (in place); return their positions.

    The inventory needs ``verdict``, ``reasons``, ``area_m2`` and ``enterable_m2``.
    """
    rule = getattr(profile, "boundary_adjustment", None)
    if not rule or not len(inventory):
        return np.array([], dtype=np.int64)
    outcome = {r.id: r.outcome for r in profile.rules}
    cut = set(profile.excluding_rules)
    area = pd.to_numeric(inventory["area_m2"], errors="coerce").to_numpy(dtype=float)
    left = pd.to_numeric(inventory["enterable_m2"], errors="coerce").to_numpy(dtype=float)
    lost = area - left

    def only_cut(text: str) -> bool:
        ids = [r for r in str(text).split(";") if r]
        excluding = [r for r in ids if outcome.get(r) == "exclude" or r.startswith("GEOMETRY")]
        return bool(excluding) and all(r in cut for r in excluding)

    with np.errstate(invalid="ignore"):
        marginal = ((inventory["verdict"] == "ineligible").to_numpy()
                    & inventory["reasons"].fillna("").map(only_cut).to_numpy(dtype=bool)
                    & (left > 0) & (lost <= rule["max_m2"]) & (lost <= rule["max_share"] * area))
    at = np.flatnonzero(marginal)
    if not len(at):
        return at
    said = (f"{ADJUST} 冲突部分不超过{rule['max_m2']:g}平方米且不超过宗地面积的{rule['max_share']:.0%}，"
            f"调整宗地界线后可入市（{profile.document}{rule['source']}）")
    idx = inventory.index[at]
    inventory.loc[idx, "verdict"] = "conditional"
    inventory.loc[idx, "reasons"] = inventory.loc[idx, "reasons"].astype(str) + ";" + ADJUST
    if "reasons_zh" in inventory:
        inventory.loc[idx, "reasons_zh"] = inventory.loc[idx, "reasons_zh"].astype(str) + "；" + said
    if "actions" in inventory:
        before = inventory.loc[idx, "actions"].fillna("").astype(str)
        inventory.loc[idx, "actions"] = np.where(before == "", _ACTION, before + "；" + _ACTION)
    return at
