"""Facts: the per-parcel measures that rules and legacy categories test.

:func:`compute_overlays` runs the overlay engine once per layer;
:func:`parcel_facts` turns the overlap tables, the parcel attributes and the
code tables into one DataFrame aligned to the parcels, with units in the
column names. A fact whose data is missing (no farmland layer, no
``registered`` attribute…) is simply absent, and ``unavailable`` says why, so
the rules that need it are skipped with a warning instead of guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landgis.codes import LANDCATS, CodeTable, code_table, legacy_2009_excluded, normalize_codes
from landgis.decisions import decision_facts
from landgis.errors import Problem
from landgis.fields import PLANNING_CONDITIONS, parse_amount
from landgis.overlay import LayerOverlay, class_areas, ground_overlap, overlay_layer, parcel_index
from landgis.overlay.parts import clip_parts
from landgis.ownership import ownership_facts, state_land
from landgis.prices import choose_zones
from landgis.schema import (
    AMOUNT_ATTRIBUTES,
    ATTRIBUTE_FACTS,
    CLASS_LAYERS,
    MEASURE_LAYERS,
    STANDARD_FIELDS,
    usable_geometry,
)

__all__ = ["FactTable", "compute_overlays", "parcel_facts", "code_tables_for", "dominant_rows"]


@dataclass
class FactTable:
    """Facts per parcel plus why some are missing and the conflict pieces' sources."""

    facts: pd.DataFrame
    unavailable: dict[str, str] = field(default_factory=dict)
    overlays: dict[str, LayerOverlay] = field(default_factory=dict)
    class_long: dict[str, pd.DataFrame] = field(default_factory=dict)


def code_tables_for(project_codes: Mapping, profile_codes: Mapping) -> dict[str, CodeTable]:
    """Shipped code tables with the profile's and then the project's overrides."""
    tables = {}
    for name in CLASS_LAYERS:
        table = code_table(name)
        merged = {**profile_codes.get(name, {}), **project_codes.get(name, {})}
        tables[name] = table.with_overrides(merged) if merged else table
    return tables


def compute_overlays(parcels: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame],
                     progress: Callable[[str], None] | None = None,
                     piece_masks: Mapping[str, np.ndarray] | None = None) -> dict[str, LayerOverlay]:
    """Overlay every constraint and class layer with the usable parcels.

    Constraint layers keep their overlap pieces; class layers keep the pieces
    of the features ``piece_masks[role]`` flags (those conflict maps show).
    """
    piece_masks = piece_masks or {}
    geoms = parcels.geometry.values.copy()
    bad = ~usable_geometry(parcels)
    geoms[bad] = None
    geoms = np.asarray(geoms, dtype=object)
    convex = clip_parts(geoms)  # once for every layer
    tree = parcel_index(geoms)
    out = {}
    for role in (*MEASURE_LAYERS, *CLASS_LAYERS, "price_zones"):
        if role not in layers:
            continue
        if progress:
            progress(role)
        out[role] = overlay_layer(geoms, np.asarray(layers[role].geometry.values, dtype=object),
                                  keep_pieces=True if role in MEASURE_LAYERS else piece_masks.get(role, False),
                                  convex=convex, parcel_tree=tree)
    return out


def parcel_facts(parcels: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame],
                 overlays: Mapping[str, LayerOverlay], tables: Mapping[str, CodeTable],
                 settings: Mapping, problems: list[Problem] | None = None, *,
                 tolerance: float = 1.0, allowed_uses: Sequence[str] | None = None) -> FactTable:
    """All facts per parcel (index aligned to ``parcels``).

    ``tolerance`` is the project's ``[tolerance] min_overlap_m2`` (the rules'
    tolerance): state land and survey gaps at or below it are slivers, never
    decisive for ``collective`` nor reported as gaps. ``allowed_uses`` are the
    planned-use tags the profile's ``PLAN-USE`` lets through
    (:func:`landgis.catalogue.allowed_uses`); without them ``planned_use_other_m2``
    is not computed.
    """
    problems = problems if problems is not None else []
    n = len(parcels)
    usable = usable_geometry(parcels)
    area = np.where(usable, shapely.area(parcels.geometry.values), 0.0)
    unavailable: dict[str, str] = {}
    class_long: dict[str, pd.DataFrame] = {}
    # each fact group gives its columns (in order); the fact table is made of them once, at the end
    cols: dict[str, Any] = {"area_m2": area}

    for role, prefix in MEASURE_LAYERS.items():
        if role in overlays:
            m2 = ground_overlap(overlays[role])
            cols[f"{prefix}_m2"] = m2
            cols[f"{prefix}_share"] = _share(m2, area)
        else:
            unavailable[f"{prefix}_m2"] = f"the project has no [layers.{role}]"

    for role in CLASS_LAYERS:
        if role not in overlays:
            unavailable[role] = f"the project has no [layers.{role}]"
            continue
        layer = layers[role]
        if len(layer) == 0:  # a layer with no feature is an input error, not "no plan" or "no survey"
            unavailable[role] = f"[layers.{role}] holds no usable feature"
            continue
        codes = normalize_codes(layer["class_code"]).to_numpy() if "class_code" in layer else np.full(len(layer), "")
        long = class_areas(overlays[role], codes)
        class_long[role] = long
        cols.update(_class_facts(role, long, tables[role], area, problems, parcels, tolerance, allowed_uses))
        if role == "survey" and "ownership" in layer:
            cols["survey_state_m2"] = state_land(layer, overlays[role], n)

    if "zoning" in overlays and allowed_uses is None:
        for name in ("planned_use_other_m2", "planned_use_other_share"):
            unavailable[name] = ("the profile sets no allowed_uses in [settings] (the planned-use tags open "
                                 "to market entry)")
    cols.update(_attribute_facts(parcels, unavailable))
    cols.update(decision_facts(parcels, unavailable, problems))
    cols.update(ownership_facts(parcels, cols, unavailable, tolerance))
    cols.update(_approval_facts(parcels, layers, overlays, cols, unavailable, tolerance))
    cols.update(_price_facts(n, layers, overlays, unavailable, cols.get("planned_use_tag")))
    cols.update(_planning_facts(n, layers, overlays, unavailable, tolerance))
    facts = pd.DataFrame(cols, index=parcels.index)
    return FactTable(facts, unavailable, dict(overlays), class_long)


def _share(m2: np.ndarray, area: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(area > 0, np.minimum(m2 / np.where(area > 0, area, 1), 1.0), 0.0)


def _class_facts(role: str, long: pd.DataFrame, table: CodeTable, area: np.ndarray,
                 problems: list[Problem], parcels: gpd.GeoDataFrame, tolerance: float = 1.0,
                 allowed_uses: Sequence[str] | None = None) -> dict[str, Any]:
    """The facts of one class layer: its dominant class, class areas and shares by land category,
    role or planned use; ``survey_uncovered_*`` for the survey."""
    n = len(area)
    facts: dict[str, Any] = {}
    # the code table is looked up once per distinct code (a county's 330k pairs have a few dozen),
    # and every per-row test below is one on the distinct codes, spread to the rows by `rank`
    # (rank = the code's place in sorted order, for ties broken towards the smaller code)
    rank, classes = pd.factorize(long["class"], sort=True, use_na_sentinel=False)
    info = table.frame(classes).reindex(classes)
    of_class = {col: info[col].fillna("").astype(object).to_numpy()
                for col in ("name", "landcat", "role", "use", "matched")}
    klass = long["class"].to_numpy()
    parcel = long["parcel"].to_numpy()
    m2 = long["overlap_m2"].to_numpy()

    def by(class_mask: np.ndarray) -> np.ndarray:
        """Area per parcel of the rows whose class ``class_mask`` (over the distinct codes) selects."""
        mask = class_mask[rank]
        return np.bincount(parcel[mask], weights=m2[mask], minlength=n)

    covered = np.bincount(parcel, weights=m2, minlength=n)
    prefix = "planned_use" if role == "zoning" else f"{role}_class"
    name_col = f"{prefix}_name"
    first = dominant_rows(parcel, m2, rank)
    code = np.full(n, "", dtype=object)
    name = np.full(n, "", dtype=object)
    share = np.zeros(n)
    # a code that lost its leading zeros in a numeric field (508 for 0508) is given as the table's;
    # one a lookup shortened (a local 100301 read as 1003) stays as the layer has it
    matched = of_class["matched"]
    canonical = np.asarray(classes, dtype=object).copy()
    padded = np.array([isinstance(c, str) and m not in ("", c) and m.lstrip("0") == c.lstrip("0")
                       for m, c in zip(matched, canonical, strict=True)], dtype=bool)
    canonical[padded] = matched[padded]
    code[parcel[first]] = canonical[rank[first]]
    name[parcel[first]] = of_class["name"][rank[first]]
    share[parcel[first]] = _share(m2[first], area[parcel[first]])
    facts[prefix] = code
    facts[name_col] = name
    facts[f"{prefix}_share"] = share
    facts[f"{role}_covered_m2"] = covered
    if role in ("survey", "zoning"):
        facts.update(_coverage_gaps(role, area, covered, parcels, problems, tolerance))

    unknown = (of_class["matched"] == "")[rank]
    if unknown.any():
        bad_codes = sorted(set(klass[unknown]))
        problems.append(Problem("warning", role, f"class codes not in the {table.title} table: "
                                f"{', '.join(map(str, bad_codes[:10]))}; they count as unknown, neither "
                                f"construction nor agricultural. Declare them in [codes.{role}]",
                                field="class_code",
                                message_zh=f"地类代码 {', '.join(map(str, bad_codes[:10]))} 不在{table.title}代码表中，"
                                           f"按未知地类处理；请在 [codes.{role}] 中声明"))
    over = covered > area * (1 + 1e-6) + 0.01
    if over.any():
        problems.append(Problem("warning", role, "patches overlap each other under some parcels "
                                "(class areas add up to more than the parcel); fix the layer's topology",
                                features=", ".join(parcels["parcel_id"].to_numpy()[over][:8]),
                                message_zh="部分地块下的图斑相互重叠（各地类面积之和大于地块面积）；请修正图层拓扑"))

    if role == "zoning":
        tag_of_class = np.where(of_class["use"] == "", "other", of_class["use"]).astype(object)
        tag_names = sorted(set(tag_of_class) | set(table.uses) | {"other"})
        for tag in tag_names:
            facts[f"zoning_{tag}_m2"] = by(tag_of_class == tag)
        # the dominant tag: largest area, ties to the tag first in sorted order
        tag_code = np.searchsorted(np.array(tag_names, dtype=object), tag_of_class)[rank]
        tag_sum = pd.DataFrame({"parcel": parcel, "tag": tag_code, "m2": m2}).groupby(
            ["parcel", "tag"], as_index=False)["m2"].sum()
        tag_dom = tag_sum.sort_values(["parcel", "m2", "tag"], ascending=[True, False, True],
                                      kind="stable").drop_duplicates("parcel")
        dom_tag = np.full(n, "", dtype=object)
        dom_tag[tag_dom["parcel"]] = np.array(tag_names, dtype=object)[tag_dom["tag"].to_numpy()]
        facts["planned_use_tag"] = pd.Series(dom_tag, index=parcels.index).replace("", pd.NA)
        if allowed_uses is not None:
            # a parcel PLAN-USE lets through by its dominant use may still be planned in part for
            # another use (55 % industrial, 45 % paddy): that part cannot enter the market
            allowed = set(allowed_uses)
            other = sum((facts[f"zoning_{tag}_m2"] for tag in tag_names if tag not in allowed),
                        np.zeros(n))
            other = np.where(np.isin(dom_tag, list(allowed)), other, 0.0)
            facts["planned_use_other_m2"] = other
            facts["planned_use_other_share"] = _share(other, area)
        facts["planned_use"] = pd.Series(facts["planned_use"], index=parcels.index).replace("", pd.NA)
        return facts
    landcat_of_class = np.where(np.isin(of_class["landcat"], LANDCATS), of_class["landcat"], "unknown")
    for cat in (*LANDCATS, "unknown"):
        facts[f"{role}_{cat}_m2"] = by(landcat_of_class == cat)
        facts[f"{role}_{cat}_share"] = _share(facts[f"{role}_{cat}_m2"], area)
    facts[f"{role}_nonconstruction_m2"] = facts[f"{role}_agricultural_m2"] + facts[f"{role}_unused_m2"]
    for r in ("homestead", "road", "water"):
        facts[f"{role}_{r}_m2"] = by(of_class["role"] == r)
    if role == "survey_2009":
        # the 二调 construction land that can be operational legacy land, and the rest of the parcel
        # (agricultural, unused, infrastructure classes, unknown codes, or under no 二调 patch)
        excluded = legacy_2009_excluded()
        codes = np.asarray(classes, dtype=object).astype(str)
        legacy_class = (landcat_of_class == "construction") & np.array(
            [not c.startswith(excluded) for c in codes], dtype=bool)
        facts["survey_2009_legacy_m2"] = by(legacy_class)
        facts["survey_2009_other_m2"] = np.maximum(area - facts["survey_2009_legacy_m2"], 0.0)
    return facts


#: what a gap in a class layer's cover means, for the warning naming the parcels with one
_GAP_MEANS = {
    "survey": ("are not fully covered by the current survey (三调 / 年度变更)", "图斑",
               "so their land class cannot be confirmed as construction land (rule SURVEY-GAP); check the survey "
               "layer's extent (a township, map sheet or filter left out?) or supply the missing 图斑"),
    "zoning": ("lie in part under no planned-use patch", "规划图斑",
               "the plan (村庄规划 / 国土空间规划) does not cover them yet (rule PLAN-GAP); if it does, check the "
               "zoning layer's extent or filter"),
}
#: … and in Chinese: what the gap is, and what it means
_GAP_MEANS_ZH = {
    "survey": ("未被现状调查（三调 / 年度变更）图斑完全覆盖", "现状地类无法确认为建设用地（规则 SURVEY-GAP）；"
               "请检查调查图层范围（是否漏了乡镇、图幅或被筛选掉），或补充缺失图斑"),
    "zoning": ("部分未落在规划图斑内", "规划（村庄规划 / 国土空间规划）尚未覆盖（规则 PLAN-GAP）；如已覆盖，"
               "请检查规划图层范围或筛选条件"),
}


def _coverage_gaps(role: str, area: np.ndarray, covered: np.ndarray, parcels: gpd.GeoDataFrame,
                   problems: list[Problem], tolerance: float) -> dict[str, np.ndarray]:
    """``<role>_uncovered_m2``/``_share``, and a warning naming the parcels with a gap above tolerance.

    The gap is the parcel's area less the layer's pieces under it; where patches
    overlap each other (warned about separately) the sum can hide a gap.
    """
    uncovered = np.maximum(area - covered, 0.0)
    facts = {f"{role}_uncovered_m2": uncovered, f"{role}_uncovered_share": _share(uncovered, area)}
    gap = uncovered > tolerance
    if not gap.any():
        return facts
    ids = parcels["parcel_id"].to_numpy()[gap]
    more = f" and {len(ids) - 8} more" if len(ids) > 8 else ""
    what, patch, means = _GAP_MEANS[role]
    problems.append(Problem(
        "warning", role, f"{len(ids)} parcel(s) {what}: {uncovered[gap].sum():.2f} m² of them lie under no "
        f"{patch}, {means}", features=", ".join(map(str, ids[:8])) + more,
        message_zh=f"{len(ids)} 宗地块{_GAP_MEANS_ZH[role][0]}：共 {uncovered[gap].sum():.2f} 平方米不在{patch}内，"
                   f"{_GAP_MEANS_ZH[role][1]}"))
    return facts


def dominant_rows(parcel: np.ndarray, m2: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per parcel, the row of its dominant class: the largest area, ties to the smaller ``rank``.

    Rows come as :func:`~landgis.overlay.class_areas` makes them, one per (parcel, class),
    sorted by parcel: each parcel's largest area and, among the rows that reach it, the
    smallest rank are found run by run (``reduceat``), in one pass each; rows in any other
    order, or with an area that is not a number, are sorted (``lexsort``, slower than the passes).

    >>> dominant_rows(np.array([0, 0, 0, 2, 2]), np.array([5.0, 7.0, 7.0, 1.0, 3.0]), np.array([0, 2, 1, 0, 1])).tolist()
    [2, 4]
    """
    if not len(parcel):
        return np.zeros(0, np.int64)
    if (parcel[1:] < parcel[:-1]).any() or np.isnan(m2).any():  # NaN: no row would reach the max
        order = np.lexsort((rank, -m2, parcel))
        return order[np.r_[True, parcel[order][1:] != parcel[order][:-1]]]
    starts = np.flatnonzero(np.r_[True, parcel[1:] != parcel[:-1]])
    run = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(parcel)]))
    top = m2 == np.maximum.reduceat(m2, starts)[run]
    least = np.minimum.reduceat(np.where(top, rank, np.iinfo(np.int64).max), starts)
    best = np.flatnonzero(top & (rank == least[run]))
    # a (parcel, class) appears once, so one row per run; were a class repeated, its first row
    return best[np.r_[True, run[best][1:] != run[best][:-1]]]


def _attribute_facts(parcels: gpd.GeoDataFrame, unavailable: dict[str, str]) -> dict[str, np.ndarray]:
    """The parcel attributes the rules test, as the loader read them, with the certificate or
    document numbers the register gave for them (``house_cert_doc``…)."""
    facts = {}
    for name in AMOUNT_ATTRIBUTES:  # costs for the price floors: no rule tests them
        if name in parcels:
            facts[name] = parcels[name].to_numpy()
    for name in ATTRIBUTE_FACTS:
        if name in parcels:
            facts[name] = parcels[name].to_numpy()
            if f"{name}_doc" in parcels:  # the certificate or document number the register gave
                facts[f"{name}_doc"] = parcels[f"{name}_doc"].to_numpy()
        else:
            unavailable[name] = (f"the parcels layer has no `{name}` attribute (map it under "
                                 "[layers.parcels.fields])")
    return facts


_PER_M2 = re.compile(r"\s*/\s*(?:平方米|㎡|m²|m2)\s*$")


def _price_facts(n: int, layers: Mapping[str, gpd.GeoDataFrame], overlays: Mapping[str, LayerOverlay],
                 unavailable: dict[str, str], tags: pd.Series | None) -> dict[str, np.ndarray]:
    """基准地价 for each parcel's planned use (yuan/m²) and its basis (:func:`landgis.prices.choose_zones`)."""
    if "price_zones" not in overlays or "price" not in layers["price_zones"]:
        unavailable["base_price"] = "the project has no [layers.price_zones] with a price field (JZDJ)"
        return {}
    zones = layers["price_zones"]
    # a price written as a register writes it (1,200, 1200元/平方米) is read; one that is not, none
    per_m2 = zones["price"].astype(object).map(lambda v: _PER_M2.sub("", v) if isinstance(v, str) else v)
    price = parse_amount(per_m2.reset_index(drop=True))[0].to_numpy(dtype=float)
    use = zones["use"].astype(object).to_numpy() if "use" in zones else None
    level = zones["level"].astype(object).to_numpy() if "level" in zones else None
    tags = tags if tags is not None else pd.Series(pd.NA, index=range(n), dtype=object)
    base, basis = choose_zones(overlays["price_zones"].pairs, price, use, tags.reset_index(drop=True), level)
    return {"base_price": base, "base_price_basis": basis}


#: planning condition (canonical zoning field) → (fact, its name in a note, unit); which bound each is:
#: landgis.load.PLANNING_CONDITIONS
PLANNING_FACTS = {"plot_ratio": ("plot_ratio_max", "容积率", ""), "building_density": ("building_density_max", "建筑密度", "%"),
                  "green_ratio": ("green_ratio_min", "绿地率", "%"), "height_limit": ("height_max_m", "建筑限高", " 米")}


def _planning_facts(n: int, layers: Mapping[str, gpd.GeoDataFrame], overlays: Mapping[str, LayerOverlay],
                    unavailable: dict[str, str], tolerance: float) -> dict[str, np.ndarray]:
    """The 规划条件 of each parcel (the 入市方案's 容积率, 建筑密度, 绿地率, 建筑限高) from its planned-use patches.

    A parcel under patches that set different conditions gets the strictest (the lowest
    upper limit, the highest 绿地率) and a note naming the range; patches it overlaps by no
    more than ``tolerance`` (slivers) do not count.
    """
    zoning = layers.get("zoning")
    present = [c for c in PLANNING_FACTS if zoning is not None and c in zoning]
    for canon, (fact, _, _) in PLANNING_FACTS.items():
        if canon not in present:
            unavailable[fact] = (f"the project's [layers.zoning] has no {canon} field "
                                 f"({' or '.join(STANDARD_FIELDS['zoning'][canon])})")
    if not present or "zoning" not in overlays:
        return {}
    facts: dict[str, np.ndarray] = {}
    pairs = overlays["zoning"].pairs
    pairs = pairs[pairs["overlap_m2"].to_numpy() > tolerance]
    parcel, feature = pairs["parcel"].to_numpy(), pairs["feature"].to_numpy()
    notes = pd.Series("", index=range(n), dtype=object)
    for canon in present:
        fact, label, unit = PLANNING_FACTS[canon]
        value = pd.Series(zoning[canon].to_numpy(dtype=float)[feature]).groupby(parcel)
        low, high = value.min(), value.max()
        strict = low if PLANNING_CONDITIONS[canon][0] == "upper" else high
        out = np.full(n, np.nan)
        out[strict.index.to_numpy()] = strict.to_numpy()
        facts[fact] = out
        differ = (low < high).to_numpy()
        if differ.any():
            at = low.index.to_numpy()[differ]
            notes.iloc[at] += [f"{label} {a:g}–{b:g}{unit}、" for a, b in zip(low[differ], high[differ], strict=True)]
    noted = notes != ""
    notes[noted] = "规划图斑条件不一：" + notes[noted].str.rstrip("、") + "，取最严"
    facts["planning_conditions_note"] = notes.to_numpy()
    return facts


def _approval_facts(parcels: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame],
                    overlays: Mapping[str, LayerOverlay], measured: Mapping[str, Any],
                    unavailable: dict[str, str], tolerance: float) -> dict[str, np.ndarray]:
    """``approved``, ``approval_found`` (the 批准文号 found), ``approval_source`` and
    ``approval_missing_m2``, per parcel.

    Approval is by area, not by majority: a parcel without a 批准文号 of its own is approved
    by the approvals layer only where approved land covers all of it but the tolerance; the
    part above tolerance that no approval covers (``approval_missing_m2``) leaves it
    unapproved, to be told legacy land or UNAPPROVED.
    """
    n = len(parcels)
    has_attr = "approval_no" in parcels
    has_layer = "approvals" in overlays
    if not (has_attr or has_layer):
        unavailable["approved"] = ("the project gives no approval information (no PZWH / approval_no "
                                   "attribute and no [layers.approvals])")
        return {}
    attr = parcels["approval_no"].astype(str).str.strip().to_numpy() if has_attr else np.full(n, "")
    found = attr.astype(object).copy()
    source = np.where(attr != "", "attribute", "")
    approved = attr != ""
    if has_layer:
        missing = np.maximum(np.asarray(measured["area_m2"]) - np.asarray(measured["approval_m2"]), 0.0)
        layer_ok = missing <= tolerance
        pairs = overlays["approvals"].pairs
        layer = layers["approvals"]
        if len(pairs) and "approval_no" in layer:
            best = pairs.sort_values(["parcel", "overlap_m2", "feature"], ascending=[True, False, True],
                                     kind="stable").drop_duplicates("parcel")
            numbers = layer["approval_no"].to_numpy()[best["feature"].to_numpy()]
            layer_no = np.full(n, "", dtype=object)
            layer_no[best["parcel"].to_numpy()] = numbers
        else:
            layer_no = np.full(n, "", dtype=object)
        use_layer = ~approved & layer_ok
        found[use_layer] = np.where(layer_no[use_layer] != "", layer_no[use_layer], "(approvals layer)")
        source = np.where(use_layer, "approvals layer", source)
        approved = approved | layer_ok
    out = {"approved": approved, "approval_found": found, "approval_source": source}
    if has_layer:
        out["approval_missing_m2"] = np.where(attr != "", 0.0, missing)
    return out
