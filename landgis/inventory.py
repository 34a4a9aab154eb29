"""Inventory stage: the per-parcel table, its summaries and the conflict pieces.

Pure functions from facts and verdicts to tables; writing them is
:mod:`landgis.io`'s job. Column order follows contract §3; every input parcel
is one row, in input order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS, Proj, Transformer

from landgis.codes import CodeTable, normalize_codes
from landgis.distinct import map_distinct
from landgis.facts import FactTable
from landgis.overlay import ground_pieces, union_by_parcel, union_kept_pieces
from landgis.profiles import Profile
from landgis.rules import reason_texts
from landgis.threads import in_threads

__all__ = ["CONTRACT_COLUMNS", "COLUMN_NAMES_ZH", "build_inventory", "summaries", "conflict_pieces", "tiled_parcels",
           "ellipsoidal_area", "M2_PER_MU"]

#: 1 亩 = 10000/15 m²
M2_PER_MU = 10000 / 15

CONTRACT_COLUMNS = ("parcel_id", "area_m2", "area_mu", "verdict", "reasons", "legacy",
                    "farmland_m2", "redline_m2", "udb_m2", "planned_use", "survey_class")

_MORE_COLUMNS = (
    "owner", "town", "village", "area_ellipsoid_m2", "reasons_zh", "notes",
    "planned_use_name", "planned_use_tag", "planned_use_share", "planned_use_other_m2",
    "survey_class_name", "survey_class_share", "survey_construction_m2", "survey_agricultural_m2",
    "survey_unused_m2", "survey_homestead_m2", "survey_uncovered_m2",
    "farmland_share", "redline_share", "udb_share", "buildings_m2",
    "approved", "approval_found", "approval_source", "approval_m2",
    "legacy_basis", "survey_2009_class", "survey_2009_class_name", "survey_2009_construction_m2",
    "survey_2009_construction_share", "formed_year", "registered", "restricted", "collective",
    "collective_basis", "survey_state_m2", "max_term_years", "base_price",
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
    "planned_use_name": "规划用途", "planned_use_tag": "规划用途类别", "planned_use_share": "规划用途占比",
    "planned_use_other_m2": "部分规划为其他用途(平方米)",
    "survey_class_name": "现状地类", "survey_class_share": "现状地类占比",
    "survey_construction_m2": "现状建设用地(平方米)", "survey_agricultural_m2": "现状农用地(平方米)",
    "survey_unused_m2": "现状未利用地(平方米)", "survey_homestead_m2": "现状宅基地(平方米)",
    "survey_uncovered_m2": "三调未覆盖(平方米)", "collective_basis": "权属依据", "survey_state_m2": "三调国有土地(平方米)",
    "farmland_share": "永久基本农田占比", "redline_share": "生态保护红线占比", "udb_share": "城镇开发边界内占比",
    "buildings_m2": "建(构)筑物(平方米)", "approved": "已批准", "approval_found": "批准文号",
    "approval_source": "批准依据来源", "approval_m2": "已批准用地(平方米)", "legacy_basis": "历史遗留认定依据",
    "survey_2009_class": "二调地类代码", "survey_2009_class_name": "二调地类",
    "survey_2009_construction_m2": "二调建设用地(平方米)", "survey_2009_construction_share": "二调建设用地占比",
    "formed_year": "形成年份", "registered": "所有权已登记", "restricted": "查封限制", "collective": "集体所有",
    "max_term_years": "最高出让年限(年)", "base_price": "基准地价(元/平方米)",
    "plot_ratio_max": "容积率上限", "building_density_max": "建筑密度上限(%)", "green_ratio_min": "绿地率下限(%)",
    "height_max_m": "建筑限高(米)", "planning_conditions_note": "规划条件说明", "slope_mean_deg": "平均坡度(度)", "slope_max_deg": "最大坡度(度)",
    "slope_steep_share": "陡坡占比", "road_distance_m": "距最近道路(米)", "road_access": "通路", "geometry_status": "图形状态",
}

VERDICT_ZH = {"eligible": "可入市", "conditional": "有条件入市", "ineligible": "不可入市"}

_ROUND = {"_m2": 2, "_mu": 4, "_share": 4, "_deg": 2, "_distance_m": 1}


def build_inventory(parcels: gpd.GeoDataFrame, facts: pd.DataFrame, legacy: pd.DataFrame,
                    verdicts: pd.DataFrame, profile: Profile) -> gpd.GeoDataFrame:
    """One row per input parcel, contract columns first, geometry last."""
    base = pd.concat([facts, legacy.drop(columns=[c for c in legacy if c in facts])], axis=1)
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
    out["reasons_zh"] = reason_texts(verdicts["reasons"], profile)
    out["notes"] = verdicts["notes"]
    for col in _MORE_COLUMNS:
        if col in out:
            continue
        if col in base:
            out[col] = base[col]
        elif col == "geometry_status":
            out[col] = parcels["geometry_status"]
        elif col == "max_term_years":
            sale = profile.terms.get("sale", {})
            tag = base["planned_use_tag"] if "planned_use_tag" in base else pd.Series(pd.NA, index=out.index)
            out[col] = pd.array(map_distinct(tag, lambda t: sale.get(t) if isinstance(t, str) else None,
                                             missing=None), dtype="Int64")
        else:
            out[col] = pd.NA
    for col in out.columns:
        for suffix, digits in _ROUND.items():
            if col.endswith(suffix) and pd.api.types.is_numeric_dtype(out[col]):
                out[col] = out[col].astype(float).round(digits)
    out.loc[out["verdict"] == "eligible", "reasons"] = ""
    return gpd.GeoDataFrame(out, geometry=parcels.geometry.values, crs=parcels.crs)


def ellipsoidal_area(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Area on the CGCS2000 ellipsoid (as 三调 TBMJ is computed), m² per geometry; 0 when missing.

    A parcel is drawn with straight edges in the projection, so its area on the
    ellipsoid is the integral of 1/m over the planar polygon, m being the
    projection's areal scale. m is linear across a parcel to first order, and the
    integral of a linear function is its value at the centroid times the area:
    planar area / m(centroid), exact to about A·L²/(12R²) — 10⁻¹² relative for a
    parcel of tens of metres (a 100 m square agrees with a 40 000-cell quadrature
    to 2e-7 m²). 7× faster than per-ring geodesic areas.

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


def summaries(inventory: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Summary tables: by verdict, by town, by village (the collective that offers the land; within
    its town, as village names repeat across towns), by planned use, by rule, legacy."""
    # only the columns summed or grouped by: a county's whole inventory, copied by the
    # group-bys below, was 130 MB at the peak of writing the spreadsheet
    wanted = ["parcel_id", "verdict", "area_m2", "town", "village", "planned_use_tag", "reasons", "legacy"]
    inv = pd.DataFrame(inventory[[c for c in wanted if c in inventory]])
    out: dict[str, pd.DataFrame] = {}
    by_verdict = (inv.groupby("verdict").agg(parcels=("parcel_id", "size"), area_m2=("area_m2", "sum"))
                  .reindex(["eligible", "conditional", "ineligible"], fill_value=0))
    by_verdict["area_mu"] = by_verdict["area_m2"] / M2_PER_MU
    by_verdict.loc["total"] = by_verdict.sum()
    out["by_verdict"] = by_verdict.reset_index().round({"area_m2": 2, "area_mu": 4})
    for key, cols in (("by_town", ["town"]), ("by_village", ["town", "village"]),
                      ("by_planned_use", ["planned_use_tag"])):
        keyed = inv.assign(**{col: _or_none(inv[col] if col in inv else pd.Series("", index=inv.index))
                              for col in cols})
        area = keyed.pivot_table(index=cols, columns="verdict", values="area_m2", aggfunc="sum", fill_value=0.0)
        count = keyed.pivot_table(index=cols, columns="verdict", values="parcel_id", aggfunc="count", fill_value=0)
        table = pd.DataFrame(index=area.index)
        for v in ("eligible", "conditional", "ineligible"):
            table[f"{v}_parcels"] = count[v] if v in count else 0
            table[f"{v}_mu"] = (area[v] / M2_PER_MU).round(4) if v in area else 0.0
        table["total_parcels"] = count.sum(axis=1)
        table["total_mu"] = (area.sum(axis=1) / M2_PER_MU).round(4)
        out[key] = table.reset_index()
    out["by_rule"] = _rule_counts(inv["reasons"], inv["area_m2"].to_numpy(dtype=float))
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

    Split and counted by Arrow: pandas' ``str.split().explode()`` made a Python list per
    parcel (75 MB and 0.3 s for a county).

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


#: rule → (layer role, how to pick that layer's features) for conflict pieces
_CONFLICT_SOURCES = {
    "FARMLAND": ("farmland", None),
    "REDLINE": ("redline", None),
    "UDB": ("udb", None),
    "BUILDINGS": ("buildings", None),
    "NEG-AGRI": ("survey", ("landcat", ("agricultural", "unused"))),
    "NEG-HOMESTEAD": ("survey", ("role", ("homestead",))),
    "NEG-HOUSING": ("zoning", ("use", ("urban_housing",))),
}


def conflict_feature_mask(layer: gpd.GeoDataFrame, table: CodeTable, selector: tuple) -> np.ndarray:
    """Which features of a class layer a conflict rule draws (e.g. agricultural survey patches).

    ``selector`` is (code-table column, values) — the features whose class has one of
    the values — or (column, values, "except"): those whose class has none of them.
    """
    attr, values, *how = selector
    # each distinct code once (a county's survey has 450k patches but a few dozen codes)
    code_of, distinct = pd.factorize(layer["class_code"].astype(object), use_na_sentinel=False)
    codes = normalize_codes(pd.Series(distinct, dtype=object)).to_numpy()
    info = table.frame(codes)
    chosen = info.loc[codes, attr].isin(values).to_numpy()
    return (~chosen if how == ["except"] else chosen)[code_of]


def conflict_sources(allowed_uses: Sequence[str] | None = None) -> dict[str, tuple]:
    """Rule → (layer, feature selector or ``None`` for the whole layer) of the conflict pieces.

    With the planned-use tags the profile's PLAN-USE allows, PLAN-PART's pieces too: the
    parcel's part under planning patches of any other use.
    """
    sources = dict(_CONFLICT_SOURCES)
    if allowed_uses is not None:
        sources["PLAN-PART"] = ("zoning", ("use", tuple(allowed_uses), "except"))
    return sources


def conflict_piece_masks(layers: Mapping[str, gpd.GeoDataFrame], tables: Mapping[str, CodeTable]) -> dict:
    """Per class layer, the features whose overlap pieces the conflict layer may need."""
    masks: dict[str, np.ndarray] = {}
    for role, selector in (src for src in _CONFLICT_SOURCES.values() if src[1] is not None):
        if role in layers and "class_code" in layers[role]:
            mask = conflict_feature_mask(layers[role], tables[role], selector)
            masks[role] = masks[role] | mask if role in masks else mask
    return masks


def tiled_parcels(pairs: pd.DataFrame, sel: np.ndarray, area: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Parcels whose pieces ``sel`` (two or more) tile the whole parcel: a mask over the parcels.

    The pieces are parts of the parcel. Their union is the parcel itself when they add
    up to the parcel's area (to 1e-9) *and* no two of them overlap: sums alone cannot
    tell a tiling from patches whose overlap fills the gap they leave, or from a
    duplicated patch. Pieces of one feature (its subdivided parts) never overlap; for
    pieces of two features the features themselves (``features``, the layer's
    geometries by position) must have disjoint interiors, a predicate, not an overlay.

    >>> pairs = pd.DataFrame({"parcel": [0, 0, 1, 1, 2, 2], "feature": [0, 1, 0, 1, 2, 2],
    ...                       "overlap_m2": [60.0, 40.0, 30.0, 20.0, 50.0, 50.0]})
    >>> tiles = np.array([shapely.box(0, 0, 6, 10), shapely.box(6, 0, 10, 10), shapely.box(0, 0, 5, 10)])
    >>> tiled_parcels(pairs, np.ones(6, bool), np.array([100.0, 100.0, 100.0]), tiles).tolist()
    [True, False, True]
    >>> same = np.array([shapely.box(0, 0, 6, 10), shapely.box(4, 0, 10, 10)])  # overlapping by 20
    >>> tiled_parcels(pairs[:2], np.ones(2, bool), np.array([100.0]), same).tolist()
    [False]
    """
    n = len(area)
    parcel = pairs["parcel"].to_numpy()[sel]
    total = np.bincount(parcel, weights=pairs["overlap_m2"].to_numpy()[sel], minlength=n)
    count = np.bincount(parcel, minlength=n)
    tol = 1e-9 * area
    whole = (count >= 2) & (area > 0) & (np.abs(total - area) <= tol)
    if not whole.any():
        return whole
    # every two distinct features under a candidate parcel (a county's parcels have a handful each)
    cand = whole[parcel]
    both = pd.DataFrame({"parcel": parcel[cand], "feature": pairs["feature"].to_numpy()[sel][cand]})
    both = both.drop_duplicates()
    two = both.merge(both, on="parcel", suffixes=("_a", "_b"))
    two = two[two["feature_a"].to_numpy() < two["feature_b"].to_numpy()].sort_values("feature_a", kind="stable")
    if len(two):
        first = two["feature_a"].to_numpy()
        a = np.asarray(features, dtype=object)[first]
        b = np.asarray(features, dtype=object)[two["feature_b"].to_numpy()]
        try:  # interiors meet in an area; a prepared feature stays in one thread (``together``)
            overlap = in_threads(lambda x, y: shapely.relate_pattern(x, y, "2********"), a, b, together=first)
        except shapely.errors.GEOSException:  # a feature GEOS cannot relate: no shortcut, union them all
            overlap = np.ones(len(two), bool)
        whole[two["parcel"].to_numpy()[overlap]] = False
    return whole


def _union_or_whole(overlay, sel: np.ndarray, area: np.ndarray, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per parcel of the pairs ``sel``, the union of its kept pieces: (parcels, geometries).

    A parcel its pieces tile (:func:`tiled_parcels`; on a county, most parcels an
    agricultural rule fires on) is its own geometry: its pieces are neither decoded nor
    unioned.
    """
    whole = tiled_parcels(overlay.pairs, sel, area, features)
    parcel = overlay.pairs["parcel"].to_numpy()
    hit, unions = union_kept_pieces(overlay, sel & ~whole[parcel])
    tiled = np.flatnonzero(whole)
    hit = np.concatenate([hit, tiled])
    order = np.argsort(hit, kind="stable")
    return hit[order], np.concatenate([unions, overlay.parcels[tiled]])[order]


#: the conflict rules whose pieces are a constraint layer's ground under the parcel, whatever the verdict
GROUND_RULES = tuple(rule for rule, (_, selector) in _CONFLICT_SOURCES.items() if selector is None)


def ground_conflict_pieces(overlays: Mapping) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each constraint layer a ground rule draws: (parcels with overlap, the union of their pieces).

    These do not depend on the verdicts, so :func:`landgis.screening.screen_layers`
    makes them in a thread while the rules run; :func:`conflict_pieces` picks the
    parcels whose rule fired.
    """
    out = {}
    for rule in GROUND_RULES:
        role = _CONFLICT_SOURCES[rule][0]
        if role in overlays and role not in out and overlays[role].has_pieces:
            parcels = np.unique(overlays[role].pairs["parcel"].to_numpy())
            out[role] = (parcels, ground_pieces(overlays[role], parcels))
    return out


#: the rule whose conflict pieces are the parcel's ground under *no* feature of its layer (the survey)
GAP_RULE = "SURVEY-GAP"


def survey_gap_pieces(parcels: np.ndarray, hit: np.ndarray, pairs: pd.DataFrame, survey: np.ndarray) -> np.ndarray:
    """The part of each parcel ``parcels[hit]`` that no survey patch covers: the parcel less the patches it meets.

    ``pairs`` are the survey overlay's (parcel, feature) pairs, ``survey`` its patches by
    position. A parcel meeting no patch is wholly a gap. Made for the parcels SURVEY-GAP
    fired on only (few: a gap is a data fault), so the patches are unioned whole.

    >>> parcels = np.array([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)])
    >>> pairs = pd.DataFrame({"parcel": [0], "feature": [0]})
    >>> pieces = survey_gap_pieces(parcels, np.array([0, 1]), pairs, np.array([shapely.box(-5, -5, 7, 15)]))
    >>> [float(g.area) for g in pieces]
    [30.0, 100.0]
    """
    gaps = parcels[hit].copy()
    sel = np.isin(pairs["parcel"].to_numpy(), hit)
    if sel.any():
        met, cover = union_by_parcel(pairs["parcel"].to_numpy()[sel], survey[pairs["feature"].to_numpy()[sel]])
        at = np.searchsorted(hit, met)
        gaps[at] = shapely.difference(gaps[at], cover)
    return gaps


def _add_pieces(rows: list[pd.DataFrame], geoms: list[np.ndarray], pid: np.ndarray, rule: str, role: str,
                hit: np.ndarray, pieces: np.ndarray) -> None:
    area = shapely.area(pieces)
    keep = area > 0
    rows.append(pd.DataFrame({"parcel_id": pid[hit[keep]], "rule": rule, "layer": role,
                              "area_m2": np.round(area[keep], 2)}))
    geoms.append(pieces[keep])


def conflict_pieces(parcels: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame], fact_table: FactTable,
                    verdicts: pd.DataFrame, tables: Mapping[str, CodeTable], tolerance: float,
                    ground: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
                    allowed_uses: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """Where each fired spatial rule hits the parcel: one (multi)polygon per parcel and rule.

    ``ground`` is :func:`ground_conflict_pieces` made beforehand (else made here);
    ``allowed_uses`` as for :func:`conflict_sources`. A class rule whose pieces the overlay
    did not keep (PLAN-PART's: the patches of other uses are most of a plan, and the rule
    fires on few parcels) has them cut here, for the parcels it fired on only. SURVEY-GAP's
    piece is where the parcel lies under no survey patch (:func:`survey_gap_pieces`).
    """
    rows: list[pd.DataFrame] = []
    geoms: list[np.ndarray] = []
    pid = parcels["parcel_id"].to_numpy()
    for rule, (role, selector) in conflict_sources(allowed_uses).items():
        col = f"fired_{rule}"
        if col not in verdicts or role not in fact_table.overlays:
            continue
        hit = np.flatnonzero(verdicts[col].to_numpy())
        if not len(hit):
            continue
        overlay = fact_table.overlays[role]
        if selector is None:
            hit = hit[np.isin(hit, overlay.pairs["parcel"].to_numpy())]
            if not len(hit):
                continue
            if ground is not None and role in ground:
                made, made_pieces = ground[role]
                pieces = made_pieces[np.searchsorted(made, hit)]
            else:
                pieces = ground_pieces(overlay, hit)
        else:
            feature_ok = conflict_feature_mask(layers[role], tables[role], selector)
            pairs = overlay.pairs
            sel = np.isin(pairs["parcel"].to_numpy(), hit) & feature_ok[pairs["feature"].to_numpy()]
            sub = pairs[sel]
            if not len(sub):
                continue
            if overlay.has_pieces and overlay.kept[sel].all():  # kept by the overlay for these features
                hit, pieces = _union_or_whole(overlay, sel, fact_table.facts["area_m2"].to_numpy(),
                                              np.asarray(layers[role].geometry.values, dtype=object))
            else:
                inter = in_threads(shapely.intersection, np.asarray(parcels.geometry.values, dtype=object)[
                    sub["parcel"].to_numpy()], np.asarray(layers[role].geometry.values, dtype=object)[
                    sub["feature"].to_numpy()])
                hit, pieces = union_by_parcel(sub["parcel"].to_numpy(), inter)
        _add_pieces(rows, geoms, pid, rule, role, hit, pieces)
    gap = verdicts.get(f"fired_{GAP_RULE}")
    if gap is not None and "survey" in fact_table.overlays and "survey" in layers and gap.any():
        hit = np.flatnonzero(gap.to_numpy())
        _add_pieces(rows, geoms, pid, GAP_RULE, "survey", hit,
                    survey_gap_pieces(np.asarray(parcels.geometry.values, dtype=object), hit,
                                      fact_table.overlays["survey"].pairs,
                                      np.asarray(layers["survey"].geometry.values, dtype=object)))
    if not rows:
        return gpd.GeoDataFrame({"parcel_id": [], "rule": [], "layer": [], "area_m2": []},
                                geometry=gpd.GeoSeries([], crs=parcels.crs), crs=parcels.crs)
    frame = pd.concat(rows, ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry=np.concatenate(geoms), crs=parcels.crs)
