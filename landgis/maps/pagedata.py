"""What the map page carries: the screening's layers as compact geometry strings and packed columns.

:func:`page_payload` makes the page's one JSON object from a :class:`MapData`:

- the parcels, every one (their geometry chained and delta-encoded, see
  :func:`~landgis.maps.encode.encode_geometries`; their attributes packed, see
  :mod:`landgis.maps.columns`) — a county of 150 000 parcels in about 8 MB;
- the conflict pieces, a piece that is its parcel's own geometry sent as
  :data:`SAME_AS_PARCEL` and drawn from the parcel's rings;
- the constraint layers (永久基本农田, 生态保护红线, 城镇开发边界, 规划用途), simplified for
  display only as far as the page's size budget needs (the legend says by how much);
- the towns and villages: boundaries from ``[layers.admin]`` and a label for each,
  or, where the admin layer does not draw them, a label at the middle of their
  parcels.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from landgis.distinct import first_positions, map_distinct
from landgis.enterable import piece_rows
from landgis.inventory import data_only
from landgis.maps._data import CONSTRAINT_STYLE, MapData, drawable, text
from landgis.maps.columns import pack_ids, pack_numbers, pack_texts
from landgis.maps.encode import SIMPLIFY_M, display_geometries, encode_geometries, to_lonlat
from landgis.schema import M2_PER_MU, VERDICT_COLOURS, VERDICT_ZH, VERDICTS
from landgis.threads import query_in_threads

__all__ = ["page_payload", "ZONING_CLASSES", "SAME_AS_PARCEL", "DISPLAY_TOLERANCES_M", "admin_level"]

#: 用地用海分类 first-level classes: code → (name, colour) for the planned-use layer
ZONING_CLASSES: dict[str, tuple[str, str]] = {
    "01": ("耕地", "#f5f0a0"), "02": ("园地", "#c8e68c"), "03": ("林地", "#68b35a"),
    "04": ("草地", "#b4dc78"), "05": ("湿地", "#78c8c8"), "06": ("农业设施建设用地", "#d9c08c"),
    "07": ("居住用地", "#ffd966"), "08": ("公共管理与公共服务用地", "#ff7f7f"),
    "09": ("商业服务业用地", "#ff4d4d"), "10": ("工矿用地", "#a67c52"), "11": ("仓储用地", "#9370db"),
    "12": ("交通运输用地", "#a0a0a0"), "13": ("公用设施用地", "#5b9bd5"),
    "14": ("绿地与开敞空间用地", "#00b050"), "15": ("特殊用地", "#7f6000"), "16": ("留白用地", "#ffffff"),
    "17": ("陆地水域", "#9dc3e6"), "23": ("其他土地", "#d9d9d9"),
}
_OTHER_ZONING = ("其他", "#eeeeee")
#: above this many planned-use patches only those touching a parcel are drawn
_ZONING_ALL_LIMIT = 5000
#: the display simplifications tried for the constraint layers, finest first, until the page fits its budget
DISPLAY_TOLERANCES_M = (SIMPLIFY_M, 1.0, 2.0, 5.0, 10.0, 20.0)
#: the geometry line of a conflict piece that is its parcel's own geometry (not in the encoding's alphabet)
SAME_AS_PARCEL = "="


def page_payload(data: MapData, basemap: str, tianditu_token: str | None,
                 size_budget_mb: float) -> dict[str, Any]:
    """The map page's data (see the module's text); ``size_budget_mb`` bounds the constraint layers' share."""
    inv = data.inventory
    ok = drawable(inv)
    idx, enc = _layer_payload(inv)
    sel = inv.iloc[idx]
    parcels = _parcel_columns(sel)
    parcels["g"] = enc
    missing = inv.loc[~np.isin(np.arange(len(inv)), idx)]
    layers: list[dict[str, Any]] = []
    conf = data.conflicts
    if conf is not None and len(conf):
        ci, g, parcel_of = _conflict_payload(conf, sel)
        sub = conf.iloc[ci]
        layers.append({"key": "conflicts", "name": "冲突范围", "kind": "conflicts", "colour": "#111111",
                       "g": g, "show": True, "parcel": pack_numbers(np.where(parcel_of < 0, np.nan, parcel_of), 0),
                       "rule": pack_texts(_texts(sub, "rule")), "m2": pack_numbers(_numbers(sub, "area_m2"), 2)})
    partial = _partly_enterable(data.enterable, sel)
    if partial is not None and len(partial):
        _, g = _layer_payload(partial)
        layers.append({"key": "enterable", "name": "可入市部分", "kind": "enterable", "colour": "#00a651", "g": g,
                       "show": True})
    used = _size(parcels) + sum(_size(layer) for layer in layers)
    constraints, admin_encoded, precision = _constraint_payload(data, inv, ok, max(size_budget_mb * 1e6 - used, 0.0))
    admin, labels, towns_from = _admin_payload(data.layers.get("admin"), admin_encoded, precision, sel)
    layers.extend(admin)
    bounds = _page_bounds(inv, ok, data)
    return {
        "title": data.title, "profile": data.profile, "data_date": data.data_date,
        "map_date": _dt.date.today().isoformat(), "organisation": data.organisation,
        "working_crs": data.crs_label(), "working_epsg": data.crs.to_epsg(),
        "verdicts": _verdict_counts(inv), "towns": _town_counts(inv), "no_town": NO_TOWN, "total": int(len(inv)),
        "not_drawn": _texts(missing, "parcel_id").tolist(),
        "parcels": parcels, "use_names": _use_names(sel),
        "layers": constraints + layers, "labels": labels, "towns_from": towns_from,
        "has_admin": data.layers.get("admin") is not None and len(data.layers["admin"]) > 0,
        "rules": {k: dict(v) for k, v in data.rules.items()},
        "bounds": [[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]],
        "basemap": basemap, "tianditu": tianditu_token or "",
    }


def _page_bounds(inv: gpd.GeoDataFrame, ok: np.ndarray, data: MapData) -> np.ndarray:
    """lon/lat bounds the page opens on: the drawn parcels', else the other layers' (nothing of the
    parcels to draw), else a point at 0, 0."""
    frames = [inv.loc[ok]] if ok.any() else [f for f in data.layers.values() if f is not None and len(f)]
    boxes = [shapely.total_bounds(f.geometry.values[drawable(f)]) for f in frames]
    boxes = [b for b in boxes if np.isfinite(b).all()]
    if not boxes or inv.crs is None:
        return np.array([0.0, 0.0, 0.0, 0.0])
    box = np.array(boxes)
    lonlat = to_lonlat(CRS.from_user_input(inv.crs))
    return np.array(lonlat.transform_bounds(box[:, 0].min(), box[:, 1].min(), box[:, 2].max(), box[:, 3].max()))


def _size(obj: Any) -> int:
    """Bytes a payload part takes in the page (its packed texts; numbers and keys are noise)."""
    if isinstance(obj, str):
        return len(obj.encode("utf-8")) if not obj.isascii() else len(obj)
    if isinstance(obj, dict):
        return sum(_size(v) for v in obj.values())
    if isinstance(obj, list):
        return sum(_size(v) for v in obj)
    return 8


def _verdict_index(frame: pd.DataFrame) -> np.ndarray:
    """Each row's verdict as its position in :data:`VERDICTS` (anything else counts as the last)."""
    at = pd.Index(VERDICTS).get_indexer(frame["verdict"].astype(object))
    return np.where(at < 0, len(VERDICTS) - 1, at)


def _verdict_counts(inv: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    verdict = _verdict_index(inv)
    area = pd.to_numeric(inv["area_m2"], errors="coerce").to_numpy(dtype=float)
    counts = {v: {"n": int((verdict == k).sum()), "mu": round(float(np.nansum(area[verdict == k]) / M2_PER_MU), 2),
                  "no_area": int(np.isnan(area[verdict == k]).sum())} for k, v in enumerate(VERDICTS)}
    if "reasons" in inv:  # conditional only for want of data: said beside the conditional count
        counts["conditional"]["data_only"] = int(data_only(inv).sum())
    return [{"key": v, "name": VERDICT_ZH[v], "colour": VERDICT_COLOURS[v], **counts[v]} for v in VERDICTS]


#: what the statistics call the parcels whose town is blank
NO_TOWN = "（未注明乡镇）"


def _town_counts(inv: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Parcels and 亩 by verdict for each town, every parcel counted (drawn or not); by total area, largest first."""
    frame = pd.DataFrame({"town": _texts(inv, "town"), "v": _verdict_index(inv),
                          "m2": pd.to_numeric(inv["area_m2"], errors="coerce").to_numpy(dtype=float)})
    frame.loc[frame["town"] == "", "town"] = NO_TOWN
    out = []
    for town, rows in frame.groupby("town", sort=True):
        n = [int((rows["v"] == k).sum()) for k in range(len(VERDICTS))]
        mu = [round(float(np.nansum(rows["m2"][rows["v"] == k])) / M2_PER_MU, 4) for k in range(len(VERDICTS))]
        out.append({"name": town, "n": n, "mu": mu, "no_area": int(rows["m2"].isna().sum())})
    return sorted(out, key=lambda t: -sum(t["mu"]))


def _parcel_columns(sel: gpd.GeoDataFrame) -> dict[str, Any]:
    return {
        "id": pack_ids(_texts(sel, "parcel_id")), "owner": pack_texts(_texts(sel, "owner")),
        "town": pack_texts(_texts(sel, "town")), "village": pack_texts(_texts(sel, "village")),
        "m2": pack_numbers(_numbers(sel, "area_m2"), 4), "enterable": pack_numbers(_numbers(sel, "enterable_m2"), 2),
        "use": pack_texts(_texts(sel, "planned_use")), "survey": pack_texts(_texts(sel, "survey_class_name")),
        "v": pack_numbers(_verdict_index(sel), 0),
        "reasons": pack_texts(_texts(sel, "reasons")), "legacy": pack_texts(_texts(sel, "legacy")),
        "legacy_basis": pack_texts(_texts(sel, "legacy_basis")), "notes": pack_texts(_texts(sel, "notes")),
    }


def _use_names(sel: pd.DataFrame) -> dict[str, str]:
    """Planned-use code → its name, as the inventory gives them (a name per code, not per parcel)."""
    if "planned_use" not in sel or "planned_use_name" not in sel:
        return {}
    pairs = pd.DataFrame({"c": _texts(sel, "planned_use"), "n": _texts(sel, "planned_use_name")})
    pairs = pairs[(pairs["c"] != "") & (pairs["n"] != "")].drop_duplicates("c")
    return dict(zip(pairs["c"], pairs["n"], strict=True))


def _texts(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as display text, an object array ("" throughout when the column is absent)."""
    if name not in frame:
        return np.full(len(frame), "", dtype=object)
    return map_distinct(frame[name], text, missing="")


def _numbers(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _layer_payload(frame: gpd.GeoDataFrame, tolerance: float = SIMPLIFY_M, every: bool = False,
                   precision: float = 1e6) -> tuple[np.ndarray, str]:
    """(the rows drawn, their geometry as one chained string); ``every``: simplify small polygons too."""
    ok = drawable(frame)
    sub = frame.loc[ok]
    geoms = display_geometries(sub, tolerance, every=every)
    keep = ~shapely.is_empty(geoms)
    return np.flatnonzero(ok)[keep], encode_geometries(geoms[keep], precision=precision, crs=frame.crs,
                                                       joined=True, chained=True)


def _conflict_payload(conflicts: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame,
                      tolerance: float = SIMPLIFY_M) -> tuple[np.ndarray, str, np.ndarray]:
    """The conflict pieces to draw: (their rows, their geometry lines, each one's parcel on the page).

    ``parcels`` are the parcels as drawn, in the page's order. A piece's parcel is the
    first drawn parcel of its ``parcel_id`` (-1: none is drawn). A piece that is its
    parcel's own geometry, vertex for vertex (a parcel wholly on farmland or in the
    red line, or tiled by agricultural patches: a large share of a county's pieces),
    is sent as :data:`SAME_AS_PARCEL` and drawn from the parcel's decoded
    rings, so the page carries its coordinates once. The other lines are one chain
    (read in order, the ``=`` lines passed over).
    """
    ok = drawable(conflicts)
    sub = conflicts.loc[ok]
    parcel = piece_rows(parcels, sub)
    same = parcel >= 0
    same[same] = shapely.equals_identical(np.asarray(sub.geometry.values, dtype=object)[same],
                                          np.asarray(parcels.geometry.values, dtype=object)[parcel[same]])
    own = np.flatnonzero(~same)
    geoms = display_geometries(sub.iloc[own], tolerance)
    keep = ~shapely.is_empty(geoms)
    lines = np.full(len(sub), SAME_AS_PARCEL, dtype=object)
    lines[own[keep]] = encode_geometries(geoms[keep], crs=conflicts.crs, chained=True)
    rows = np.sort(np.concatenate([np.flatnonzero(same), own[keep]]))
    return np.flatnonzero(ok)[rows], "\n".join(lines[rows].tolist()), parcel[rows]


def _partly_enterable(enterable: gpd.GeoDataFrame | None, parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The enterable parts that are less than their parcel (a whole parcel's is its own outline)."""
    if enterable is None or not len(enterable) or not len(parcels) or "area_m2" not in parcels:
        return None
    at = first_positions(parcels["parcel_id"], enterable["parcel_id"])
    area = pd.to_numeric(parcels["area_m2"], errors="coerce").to_numpy(dtype=float)
    whole = np.where(at >= 0, area[np.maximum(at, 0)], np.nan)
    less = pd.to_numeric(enterable["enterable_m2"], errors="coerce").to_numpy(dtype=float) < whole - 0.005
    return enterable.loc[less]


def _constraint_payload(data: MapData, inv: gpd.GeoDataFrame, ok: np.ndarray,
                        budget: float) -> tuple[list[dict[str, Any]], tuple[np.ndarray, str] | None, float]:
    """The constraint layers, each simplified by the finest of :data:`DISPLAY_TOLERANCES_M` that keeps
    them and the admin boundaries within ``budget`` bytes (the coarsest when none does); and the
    admin boundaries so encoded (rows, geometry), and the precision they are written in."""
    frames: dict[str, gpd.GeoDataFrame] = {}
    zoning_note = ""
    for role in CONSTRAINT_STYLE:
        frame = data.layers.get(role)
        if frame is not None and len(frame):
            frames[role] = frame
    zoning = data.layers.get("zoning")
    if zoning is not None and len(zoning) > _ZONING_ALL_LIMIT and ok.any():
        # a county's plan has 100k+ patches (tens of MB of page); the briefing needs
        # the planned use of the candidate parcels, so only patches touching a parcel are drawn
        touching = _meeting_any(np.asarray(zoning.geometry.values, dtype=object),
                               np.asarray(inv.geometry.values, dtype=object)[ok])
        zoning_note = f"仅显示与地块相交的 {len(touching):,} 个图斑（共 {len(zoning):,} 个）"
        zoning = zoning.iloc[touching]
    if zoning is not None and len(zoning):
        frames["zoning"] = zoning
    admin = data.layers.get("admin")
    if admin is not None and len(admin):
        frames["admin"] = admin
    tolerance, encoded = _fitted(frames, budget)
    precision = display_precision(tolerance)
    layers: list[dict[str, Any]] = []
    for role, (label, colour) in CONSTRAINT_STYLE.items():
        if role in encoded:
            layers.append({"key": role, "name": label, "colour": colour, "g": encoded[role][1], "show": True,
                           "kind": "constraint", "simplified_m": tolerance, "precision": precision})
    if "zoning" in encoded:
        zi, g = encoded["zoning"]
        codes = _texts(frames["zoning"].iloc[zi], "class_code")
        from landgis.codes import code_table

        table = code_table("zoning")
        names = {c: table.lookup(c).name for c in set(codes.tolist())}
        classes = sorted({c[:2] for c in names if c[:2] in ZONING_CLASSES})
        layers.insert(0, {"key": "zoning", "name": "规划用途", "note": zoning_note, "kind": "zoning", "g": g,
                          "show": False, "simplified_m": tolerance, "precision": precision, "code": pack_texts(codes),
                          "code_names": {c: n for c, n in names.items() if n},
                          "classes": {k: list(ZONING_CLASSES[k]) for k in classes}, "other": list(_OTHER_ZONING)})
    return layers, encoded.get("admin"), precision


def display_precision(tolerance: float) -> float:
    """Units per degree the page's coordinates are written in for a display tolerance (metres):
    10⁶ (0.1 m) up to 1 m; coarser, a step of about half the tolerance, so each vertex costs fewer
    characters (a degree of latitude is about 111 km).

    >>> [display_precision(t) for t in (0.5, 1.0, 2.0, 5.0, 20.0)]
    [1000000.0, 1000000.0, 100000.0, 40000.0, 10000.0]
    """
    return 1e6 if tolerance <= 1.0 else round(2e5 / tolerance, -3)


#: a layer of more features than this has its page size estimated from a sample of them
_SAMPLE_ABOVE = 4000


def _fitted(frames: dict[str, gpd.GeoDataFrame], budget: float) -> tuple[float, dict[str, tuple[np.ndarray, str]]]:
    """(the finest of :data:`DISPLAY_TOLERANCES_M` whose encoding of ``frames`` fits ``budget`` bytes,
    or the coarsest; that encoding). Each tolerance is first judged from a sample of every
    layer's features (every n-th), so a county's farmland is encoded in full once or twice."""
    def encode(frame: gpd.GeoDataFrame, tolerance: float) -> tuple[np.ndarray, str]:
        return _layer_payload(frame, tolerance, every=tolerance > SIMPLIFY_M, precision=display_precision(tolerance))

    encoded: dict[str, tuple[np.ndarray, str]] = {}
    for tolerance in DISPLAY_TOLERANCES_M:
        last = tolerance == DISPLAY_TOLERANCES_M[-1]
        estimate = 0.0
        for frame in frames.values():
            step = max(1, len(frame) // (_SAMPLE_ABOVE // 2)) if len(frame) > _SAMPLE_ABOVE else 1
            estimate += len(encode(frame.iloc[::step], tolerance)[1]) * len(frame) / len(frame.iloc[::step])
        if estimate > budget and not last:
            continue
        encoded = {role: encode(frame, tolerance) for role, frame in frames.items()}
        if sum(len(g) for _, g in encoded.values()) <= budget or last:
            return tolerance, encoded
    return DISPLAY_TOLERANCES_M[-1], encoded


#: 行政区代码 length → level: 县 6, 乡镇 9, 村 12
_LEVEL_BY_CODE = {6: "county", 9: "town", 12: "village"}


def admin_level(code: str, name: str) -> str:
    """"county", "town" or "village" for an admin feature, from its 行政区代码 or, without one, its name.

    >>> admin_level("450399101", "五通镇"), admin_level("", "新村村"), admin_level("", "城关街道")
    ('town', 'village', 'town')
    >>> admin_level("450399101000", "五通镇"), admin_level("450399101201", "龙岩村"), admin_level("450399000000", "桂南县")
    ('town', 'village', 'county')
    """
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) == 12:  # 统计用区划代码: a town is its 9 digits and 000, a county its 6 and 000000
        digits = digits.removesuffix("000000") if digits.endswith("000000") else digits.removesuffix("000")
    if len(digits) in _LEVEL_BY_CODE:
        return _LEVEL_BY_CODE[len(digits)]
    if name.endswith(("村", "社区", "居委会", "村委会")):
        return "village"
    if name.endswith(("县", "区", "市")):
        return "county"
    return "town"


def _admin_payload(admin: gpd.GeoDataFrame | None, encoded: tuple[np.ndarray, str] | None, precision: float,
                   parcels: gpd.GeoDataFrame) -> tuple[list[dict[str, Any]], list[list[Any]], str]:
    """(the admin boundary layer, the labels ``[name, level, lon, lat]``, where the towns come from).

    ``encoded``: the admin layer's rows drawn and their geometry (see :func:`_constraint_payload`).

    Towns and villages the admin layer draws are labelled inside their polygon
    (``point_on_surface``); the others the parcels name are labelled at the middle
    of their parcels (the median of their centres), without a boundary.
    """
    layers: list[dict[str, Any]] = []
    labels: list[list[Any]] = []
    placed: dict[str, list[tuple[str, float, float]]] = {"town": [], "village": []}  # name, x, y (working CRS)
    lonlat = to_lonlat(CRS.from_user_input(parcels.crs)) if parcels.crs is not None else None
    if admin is not None and encoded is not None:
        idx, g = encoded
        sub = admin.iloc[idx]
        names, codes = _texts(sub, "name"), _texts(sub, "code")
        levels = np.array([admin_level(c, n) for c, n in zip(codes, names, strict=True)], dtype=object)
        layers.append({"key": "admin", "name": "行政界线", "kind": "admin", "colour": "#555555", "g": g,
                       "show": True, "precision": precision, "label": pack_texts(names), "level": pack_texts(levels)})
        spots = shapely.point_on_surface(np.asarray(sub.geometry.values, dtype=object))
        seen: set[tuple[str, str]] = set()
        for name, code, level, spot in zip(names, codes, levels, spots, strict=True):
            key = (level, code or name)  # one label per town or village, though drawn in several parts
            if name and level in placed and key not in seen:
                seen.add(key)
                placed[level].append((name, shapely.get_x(spot), shapely.get_y(spot)))
                labels.append([name, level, *_lonlat_of(spot, lonlat)])
    towns_from = "admin" if placed["town"] else "parcels"
    if len(parcels):
        centres = shapely.centroid(shapely.envelope(np.asarray(parcels.geometry.values, dtype=object)))
        frame = pd.DataFrame({"town": _texts(parcels, "town"), "village": _texts(parcels, "village"),
                              "x": shapely.get_x(centres), "y": shapely.get_y(centres)})
        for level, keys in (("town", ["town"]), ("village", ["town", "village"])):
            # a village is its town's: two towns' villages of one name (新村) are labelled each
            middle = frame[frame[keys[-1]] != ""].groupby(keys, sort=True)[["x", "y"]].median()
            for key, row in middle.iterrows():
                name = key if isinstance(key, str) else key[-1]
                if not _labelled_near(placed[level], name, row["x"], row["y"]):
                    labels.append([name, level, *_lonlat_of(shapely.Point(row["x"], row["y"]), lonlat)])
    return layers, labels, towns_from


#: a town or village the admin layer labels within this distance (metres) of the middle of its
#: parcels is not labelled again from the parcels
_SAME_PLACE_M = 5000.0


def _labelled_near(placed: list[tuple[str, float, float]], name: str, x: float, y: float) -> bool:
    return any(n == name and math.hypot(px - x, py - y) <= _SAME_PLACE_M for n, px, py in placed)


def _lonlat_of(point: Any, lonlat: Any) -> list[float]:
    x, y = shapely.get_x(point), shapely.get_y(point)
    if lonlat is not None:
        x, y = lonlat.transform(x, y)
    return [round(float(x), 6), round(float(y), 6)]


def _meeting_any(geoms: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Positions (sorted) of the ``geoms`` that intersect at least one of ``others`` (polygons).

    The answer of ``STRtree(others).query(geoms, "intersects")``, for less work: of the
    pairs whose bounds meet, a pair where ``other``'s first vertex lies in (or on)
    ``geom`` intersects for certain, a cheap point-in-polygon test; only the pairs of
    geometries no such vertex settled are tested in full (most of a plan's patches
    under a county's parcels are settled by a vertex).

    >>> squares = shapely.box(np.arange(4) * 10.0, 0, np.arange(4) * 10.0 + 10, 10)
    >>> _meeting_any(squares, np.array([shapely.box(2, 2, 4, 4), shapely.Point(25, 15).buffer(5.5)])).tolist()
    [0, 2]
    """
    others = others[~(shapely.is_missing(others) | shapely.is_empty(others))]  # no first vertex, nothing to meet
    tree = shapely.STRtree(others)
    geom_at, other_at = query_in_threads(tree, geoms)
    counts = shapely.get_num_coordinates(others)
    first = shapely.get_coordinates(others)[np.cumsum(counts) - counts]
    sure = shapely.intersects_xy(geoms[geom_at], first[other_at, 0], first[other_at, 1])
    settled = np.zeros(len(geoms), dtype=bool)
    settled[geom_at[sure]] = True
    rest = ~settled[geom_at]
    settled[geom_at[rest][shapely.intersects(geoms[geom_at[rest]], others[other_at[rest]])]] = True
    return np.flatnonzero(settled)

