"""Conflict pieces: where each fired spatial rule hits each parcel, one (multi)polygon per parcel and rule.

Which layer and which of its features each rule's pieces come from is profile data
(``[[conflicts]]``, :class:`~landgis.profiles.ConflictSource`); this module cuts them:
the constraint layers' ground under the parcel (:func:`ground_conflict_pieces`, made
while the rules run, since it does not depend on them), the class layers' features of
the listed classes, and the parcel's ground under no survey patch
(:func:`survey_gap_pieces`).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landgis.codes import CodeTable, normalize_codes
from landgis.facts import FactTable
from landgis.overlay import ground_pieces, union_by_parcel, union_kept_pieces
from landgis.profiles import ConflictSource, Profile
from landgis.threads import in_threads

__all__ = ["conflict_pieces", "conflict_piece_masks", "ground_conflict_pieces", "conflict_feature_mask",
           "tiled_parcels", "survey_gap_pieces", "conflict_rules"]


def conflict_feature_mask(layer: gpd.GeoDataFrame, table: CodeTable, classes: tuple) -> np.ndarray:
    """Which features of a class layer a conflict rule draws (e.g. agricultural survey patches).

    ``classes`` is (code-table column, values, excluded): the features whose class has
    one of the values, or (excluded) none of them.
    """
    attr, values, excluded = classes
    # each distinct code once (a county's survey has 450k patches but a few dozen codes)
    code_of, distinct = pd.factorize(layer["class_code"].astype(object), use_na_sentinel=False)
    codes = normalize_codes(pd.Series(distinct, dtype=object)).to_numpy()
    info = table.frame(codes)
    chosen = info.loc[codes, attr].isin(values).to_numpy()
    return (~chosen if excluded else chosen)[code_of]


def conflict_rules(profile: Profile) -> list[str]:
    """The rules with conflict pieces, in the order the conflicts layer lists them."""
    return [c.rule for c in profile.conflicts]


def conflict_piece_masks(profile: Profile, layers: Mapping[str, gpd.GeoDataFrame],
                         tables: Mapping[str, CodeTable]) -> dict[str, np.ndarray]:
    """Per class layer, the features whose overlap pieces the overlay keeps for the conflicts layer."""
    masks: dict[str, np.ndarray] = {}
    for src in profile.conflicts:
        if src.classes is None or src.cut != "overlay" or src.piece != "ground":
            continue
        role = src.layer
        if role in layers and "class_code" in layers[role]:
            mask = conflict_feature_mask(layers[role], tables[role], src.classes)
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


def ground_conflict_pieces(profile: Profile, overlays: Mapping) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each constraint layer whose whole ground a conflict rule draws: (parcels with overlap, the union
    of their pieces).

    These do not depend on the verdicts, so :func:`landgis.pipeline.screen_layers`
    makes them in a thread while the rules run; :func:`conflict_pieces` picks the
    parcels whose rule fired.
    """
    out = {}
    for src in profile.conflicts:
        role = src.layer
        if src.classes is not None or src.piece != "ground":
            continue
        if role in overlays and role not in out and overlays[role].has_pieces:
            parcels = np.unique(overlays[role].pairs["parcel"].to_numpy())
            out[role] = (parcels, ground_pieces(overlays[role], parcels))
    return out


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
                    verdicts: pd.DataFrame, tables: Mapping[str, CodeTable], profile: Profile,
                    ground: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> gpd.GeoDataFrame:
    """Where each fired spatial rule hits the parcel: one (multi)polygon per parcel and rule.

    ``ground`` is :func:`ground_conflict_pieces` made beforehand (else made here). A
    class rule whose pieces the overlay did not keep (``cut = "after"``: PLAN-PART's, the
    patches of other uses are most of a plan, and the rule fires on few parcels) has them
    cut here, for the parcels it fired on only. An ``uncovered`` piece is where the parcel
    lies under no feature of its layer (:func:`survey_gap_pieces`).
    """
    rows: list[pd.DataFrame] = []
    geoms: list[np.ndarray] = []
    pid = parcels["parcel_id"].to_numpy()
    for src in profile.conflicts:
        col = f"fired_{src.rule}"
        if col not in verdicts or src.layer not in fact_table.overlays:
            continue
        hit = np.flatnonzero(verdicts[col].to_numpy())
        if not len(hit):
            continue
        made = _pieces(src, hit, parcels, layers, fact_table, tables, ground)
        if made is not None:
            _add_pieces(rows, geoms, pid, src.rule, src.layer, *made)
    if not rows:
        return gpd.GeoDataFrame({"parcel_id": [], "rule": [], "layer": [], "area_m2": []},
                                geometry=gpd.GeoSeries([], crs=parcels.crs), crs=parcels.crs)
    frame = pd.concat(rows, ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry=np.concatenate(geoms), crs=parcels.crs)


def _pieces(src: ConflictSource, hit: np.ndarray, parcels: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame],
            fact_table: FactTable, tables: Mapping[str, CodeTable],
            ground: Mapping[str, tuple[np.ndarray, np.ndarray]] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(parcels, their pieces) of one conflict source over the parcels ``hit`` it fired on; None if none."""
    role = src.layer
    overlay = fact_table.overlays[role]
    parcel_geoms = np.asarray(parcels.geometry.values, dtype=object)
    if src.piece == "uncovered":
        if role not in layers:
            return None
        return hit, survey_gap_pieces(parcel_geoms, hit, overlay.pairs,
                                      np.asarray(layers[role].geometry.values, dtype=object))
    if src.classes is None:
        hit = hit[np.isin(hit, overlay.pairs["parcel"].to_numpy())]
        if not len(hit):
            return None
        if ground is not None and role in ground:
            made, made_pieces = ground[role]
            return hit, made_pieces[np.searchsorted(made, hit)]
        return hit, ground_pieces(overlay, hit)
    feature_ok = conflict_feature_mask(layers[role], tables[role], src.classes)
    pairs = overlay.pairs
    sel = np.isin(pairs["parcel"].to_numpy(), hit) & feature_ok[pairs["feature"].to_numpy()]
    sub = pairs[sel]
    if not len(sub):
        return None
    features = np.asarray(layers[role].geometry.values, dtype=object)
    if overlay.has_pieces and overlay.kept[sel].all():  # kept by the overlay for these features
        return _union_or_whole(overlay, sel, fact_table.facts["area_m2"].to_numpy(), features)
    inter = in_threads(shapely.intersection, parcel_geoms[sub["parcel"].to_numpy()], features[sub["feature"].to_numpy()])
    return union_by_parcel(sub["parcel"].to_numpy(), inter)
