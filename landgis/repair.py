"""Geometry repair: 2D, valid, polygonal geometry with a status per row, and what changed said.

:func:`clean_polygons` returns each geometry as it can be used and its status (``ok``,
``repaired``, ``null``, ``empty``, ``not polygonal``, ``unrepairable``);
:func:`report_geometry` and :func:`report_area_changed` turn the statuses into problems
naming the features.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pandas as pd
import shapely

from landgis.errors import GeometryRepairWarning, Problem, listed_features
from landgis.threads import in_threads, is_valid

__all__ = ["MIN_AREA_M2", "clean_polygons", "non_finite", "report_geometry", "report_area_changed"]

#: a (multi)polygon of less area than this (m², the working CRS) has none: "unrepairable"
MIN_AREA_M2 = 0.01


def clean_polygons(geoms: np.ndarray,
                   known_valid: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """2D valid (multi)polygons, and a status per geometry.

    Status is ``ok``, ``repaired`` (was invalid, now valid with area),
    ``null``, ``empty``, ``not_polygon`` (a point or line) or ``unrepairable``
    (nothing polygonal survives repair, e.g. a zero-area sliver, or less than
    :data:`MIN_AREA_M2` is left).

    ``known_valid`` is ``(geometries, is_valid(geometries))`` computed earlier
    (:func:`load_layers` tests each layer while it reads the next); it is used for the
    geometries here that are those very objects (not reprojected, not flattened), the
    others are tested again.

    >>> import shapely
    >>> bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> fixed, status = clean_polygons(np.array([bowtie, shapely.box(0, 0, 1, 1)]))
    >>> list(status), float(shapely.area(fixed[0]))
    (['repaired', 'ok'], 2.0)
    """
    geoms = np.asarray(geoms, dtype=object)
    status = np.full(len(geoms), "ok", dtype=object)
    missing = shapely.is_missing(geoms)
    status[missing] = "null"
    out = geoms.copy()
    flat = ~(shapely.has_z(geoms) | shapely.has_m(geoms))  # missing geometries count as flat
    out[~flat] = shapely.force_2d(geoms[~flat])
    present = ~missing
    empty = present & shapely.is_empty(out)
    status[empty] = "empty"
    live = present & ~empty
    # a coordinate that is not a number (NaN, infinite: a corrupt export) makes no geometry at all
    at = np.flatnonzero(live)[non_finite(out[live])]
    if len(at):
        status[at] = "non_finite"
        out[at] = None
        live[at] = False
    type_id = shapely.get_type_id(out)
    polygonal = live & np.isin(type_id, (3, 6))
    collection = live & (type_id == 7)
    status[live & ~polygonal & ~collection] = "not_polygon"
    check = polygonal | collection
    valid = np.zeros(len(out), bool)
    todo = check
    if known_valid is not None and len(known_valid[0]) == len(out):
        ref, ref_valid = known_valid
        same = check & np.fromiter(map(operator.is_, out, ref), dtype=bool, count=len(out))
        valid[same] = ref_valid[same]
        todo = check & ~same
    if todo.any():
        valid[todo] = in_threads(is_valid, out[todo])
    invalid = check & ~valid
    if invalid.any():
        out[invalid] = shapely.make_valid(out[invalid], method="structure", keep_collapsed=False)
    fix = invalid | collection
    if fix.any():
        out[fix] = _polygonal_part(out[fix])
        # a valid collection can hold polygons that overlap: as one multipolygon they are invalid
        joined = np.flatnonzero(collection & ~invalid)
        joined = joined[~is_valid(out[joined])]
        if len(joined):
            out[joined] = _polygonal_part(shapely.make_valid(out[joined], method="structure", keep_collapsed=False))
            invalid[joined] = True
        area = shapely.area(out[fix])
        status[fix] = np.where(area > 0, np.where(invalid[fix], "repaired", "ok"),
                               np.where(collection[fix] & ~invalid[fix], "not_polygon", "unrepairable"))
    # a polygon with next to no area is a degenerate one (collinear vertices that a
    # reprojection moved apart by nanometres are "valid" with 1e-8 m²): as when repair leaves none
    usable = np.flatnonzero(np.isin(status, ("ok", "repaired")))
    status[usable[shapely.area(out[usable]) < MIN_AREA_M2]] = "unrepairable"
    return out, status


def non_finite(geoms: np.ndarray) -> np.ndarray:
    """Per geometry: whether a coordinate is not a number (NaN, infinite), missing ones False.

    A line's or polygon's length is not finite then (every vertex is on a segment), and is
    found without a copy of a survey's millions of coordinates; those of points and
    collections are looked at one by one.

    >>> with np.errstate(invalid="ignore"):
    ...     bad = [shapely.Polygon([(5, 5), (float("nan"), 5), (6, 6)]), shapely.MultiPoint([(0, 0), (float("inf"), 1)])]
    >>> non_finite(np.array([*bad, shapely.box(0, 0, 1, 1), None])).tolist()
    [True, True, False, False]
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms), bool)
    present = ~shapely.is_missing(geoms)
    pointy = present & np.isin(shapely.get_type_id(geoms), (0, 4, 7))
    lined = present & ~pointy
    out[lined] = ~np.isfinite(shapely.length(geoms[lined]))
    if pointy.any():
        idx = np.flatnonzero(pointy)
        coords, of = shapely.get_coordinates(geoms[idx], return_index=True)
        out[idx[np.unique(of[~np.isfinite(coords).all(axis=1)])]] = True
    return out


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Only the polygons of each geometry (lines and points left by repair are dropped)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3
    result = np.full(len(geoms), None, dtype=object)
    if keep.any():
        shapely.multipolygons(parts[keep], indices=idx[keep], out=result)
    result[shapely.is_missing(result)] = shapely.MultiPolygon()
    single = shapely.get_num_geometries(result) == 1
    result[single] = shapely.get_geometry(result[single], 0)
    return result


#: each geometry status as the Chinese sheets say it
_LABELS_ZH = {
    "repaired": "无效图形已修复（make_valid，structure 方法）",
    "null": "要素无图形",
    "empty": "要素图形为空",
    "not_polygon": "要素为点或线，不是面",
    "non_finite": "图形坐标非数值（NaN 或无穷大，导出损坏，请重新导出该图层）",
    "unrepairable": f"图形修复后无面积（小于 {MIN_AREA_M2:g} 平方米）",
}


def report_geometry(problems: list[Problem], role: str, status: np.ndarray, frame: pd.DataFrame,
                     id_col: str, parcels: bool) -> None:
    labels = {
        "repaired": ("info", "invalid geometries repaired (make_valid, structure method)"),
        "null": ("warning", "features without geometry"),
        "empty": ("warning", "features with empty geometry"),
        "not_polygon": ("warning", "features that are points or lines, not polygons"),
        "non_finite": ("warning", "geometries with coordinates that are not numbers (NaN or infinite: a corrupt "
                                  "export; export the layer again)"),
        "unrepairable": ("warning", f"geometries with no area (under {MIN_AREA_M2:g} m²) left after repair"),
    }
    for key, (severity, text) in labels.items():
        mask = status == key
        if not mask.any():
            continue
        consequence = ("screened as ineligible with reason GEOMETRY" if parcels and key != "repaired"
                       else "left out of the overlay" if key != "repaired" else "used as repaired")
        message = f"{int(mask.sum())} {text}; {consequence}"
        consequence_zh = ("按“图形无效”（GEOMETRY）判为不可入市" if parcels and key != "repaired"
                          else "未参加叠加分析" if key != "repaired" else "按修复后的图形使用")
        problems.append(Problem(severity, role, message, features=listed_features(frame, mask, id_col),
                                message_zh=f"{int(mask.sum())} 个{_LABELS_ZH[key]}；{consequence_zh}"))
        if key in ("repaired", "unrepairable"):
            warnings.warn(f"layer `{role}`: {message}", GeometryRepairWarning, stacklevel=4)


#: a repair that changes a parcel's area by more than this share is worth a look
_REPAIR_AREA_CHANGE = 0.01


def report_area_changed(problems: list[Problem], role: str, before: np.ndarray, after: np.ndarray,
                         status: np.ndarray, frame: pd.DataFrame) -> None:
    """A warning naming the repaired parcels whose area the repair changed by more than 1 %.

    Before repair the area is the rings' shoelace sum (what a GIS shows for the
    feature); a corrupt vertex (NaN) or a bow-tie whose lobes were unwound shows here,
    so that a parcel that lost half its area to repair is not screened unremarked.
    """
    repaired = np.flatnonzero(status == "repaired")
    if not len(repaired):
        return
    was = shapely.area(shapely.force_2d(np.asarray(before, dtype=object)[repaired]))
    now = shapely.area(np.asarray(after, dtype=object)[repaired])
    changed = ~(np.abs(now - was) <= _REPAIR_AREA_CHANGE * np.abs(was))  # NaN (a corrupt vertex) counts
    if not changed.any():
        return
    mask = np.zeros(len(status), dtype=bool)
    mask[repaired[changed]] = True
    first = [(f"{w:.2f}" if np.isfinite(w) else "?") + f" → {n:.2f} m²"
             for w, n in zip(was[changed][:3], now[changed][:3], strict=True)]
    problems.append(Problem("warning", role, f"repair changed the area of {int(changed.sum())} parcel(s) by more "
                            f"than {_REPAIR_AREA_CHANGE:.0%} (area of the rings as drawn → repaired: {'; '.join(first)}{'; …' if changed.sum() > 3 else ''}): "
                            "check their boundaries (a corrupt vertex, crossing edges) and correct them at the source",
                            features=listed_features(frame, mask, "parcel_id"),
                            message_zh=f"修复使 {int(changed.sum())} 宗地块面积变化超过 {_REPAIR_AREA_CHANGE:.0%}"
                            f"（原绘制面积 → 修复后面积：{'；'.join(first)}{'；…' if changed.sum() > 3 else ''}）："
                            "请检查其界线（损坏的节点、交叉的边）并在源数据中更正"))
