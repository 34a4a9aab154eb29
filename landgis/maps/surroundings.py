"""What lies around a parcel, as a red-line sheet states it: the constraints near it (邻近限制) and
what borders it on each side (四至).

四至 is read east, south, west and north: from a point inside the parcel a ray goes out of its
far boundary on that side, and what lies :data:`PROBE_M` beyond is named — a parcel of the
screening within :data:`ADJ_M` (its id and owner), else the 永久基本农田 or 生态保护红线 there,
else the planned use of the land there, else "无登记宗地". The survey layers are not kept
after screening, so the current land class beyond a side is not said.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from landgis.maps._data import CONSTRAINT_STYLE, MapData, text

__all__ = ["four_sides", "nearby_constraints", "NEAR_M", "PROBE_M", "ADJ_M"]

#: constraints within this distance (m) are listed as the parcel's 邻近限制
NEAR_M = 200.0
#: how far beyond the boundary (m) a side's neighbour is looked for
PROBE_M = 3.0
#: a parcel within this distance (m) of that point borders the side
ADJ_M = 5.0

_SIDES = (("东", (1.0, 0.0)), ("南", (0.0, -1.0)), ("西", (-1.0, 0.0)), ("北", (0.0, 1.0)))


def nearby_constraints(data: MapData, geom: Any) -> list[str]:
    """The constraint layers near the parcel, each with its overlap or distance; a layer the maps were
    drawn without is said to be unchecked, never "none"."""
    out = []
    for role, (label, _) in CONSTRAINT_STYLE.items():
        layer = data.layers.get(role)
        if layer is None:
            out.append(f"{label}：未核查（绘图时无此图层）")
            continue
        if not len(layer):
            continue
        idx = layer.sindex.query(geom.buffer(NEAR_M))
        if not len(idx):
            out.append(f"{label}：{NEAR_M:g} 米内无")
            continue
        geoms = layer.geometry.values[idx]
        overlap = float(shapely.area(shapely.union_all(shapely.intersection(geoms, geom))))  # ground once
        dist = float(shapely.distance(geoms, geom).min())
        if overlap > 0:
            out.append(f"{label}：重叠 {overlap:,.2f} 平方米")
        elif dist == 0:
            out.append(f"{label}：相接")
        else:
            out.append(f"{label}：相距 {dist:,.1f} 米")
    return out


def four_sides(data: MapData, geom: Any, parcel_id: str, parcels: gpd.GeoDataFrame) -> list[str]:
    """四至: ``["东至：…", "南至：…", "西至：…", "北至：…"]`` (see the module's docstring).

    ``parcels``: the screening's parcels with a usable geometry (``parcel_id``, ``owner``).

    >>> import geopandas as gpd, shapely
    >>> from landgis.maps import MapData
    >>> p = gpd.GeoDataFrame({"parcel_id": ["A", "B"], "owner": ["甲村", "乙村"]},
    ...                      geometry=[shapely.box(0, 0, 20, 20), shapely.box(20, 0, 40, 20)], crs=4546)
    >>> data = MapData(inventory=p, conflicts=p.iloc[:0], layers={"farmland": gpd.GeoDataFrame(
    ...     geometry=[shapely.box(-5, -30, 25, -1)], crs=4546)})
    >>> four_sides(data, p.geometry[0], "A", p)
    ['东至：宗地 B（乙村）', '南至：永久基本农田', '西至：无登记宗地', '北至：无登记宗地']
    """
    if geom is None or geom.is_empty:
        return []
    others = parcels[parcels["parcel_id"].astype(str) != str(parcel_id)]
    inside = shapely.point_on_surface(geom)
    minx, miny, maxx, maxy = geom.bounds
    reach = 2 * max(maxx - minx, maxy - miny) + 10 * PROBE_M
    out = []
    for side, (dx, dy) in _SIDES:
        ray = shapely.LineString([(inside.x, inside.y), (inside.x + dx * reach, inside.y + dy * reach)])
        hits = shapely.get_coordinates(shapely.intersection(ray, geom.boundary))
        if not len(hits):
            out.append(f"{side}至：—")
            continue
        along = (hits[:, 0] - inside.x) * dx + (hits[:, 1] - inside.y) * dy
        x, y = hits[int(np.argmax(along))]
        out.append(f"{side}至：{_what_is_at(data, shapely.Point(x + dx * PROBE_M, y + dy * PROBE_M), others)}")
    return out


def _what_is_at(data: MapData, probe: Any, others: gpd.GeoDataFrame) -> str:
    """What lies at ``probe``: a parcel within ADJ_M, else a red line or farmland, else a planned use."""
    if len(others):
        idx = others.sindex.query(probe.buffer(ADJ_M))
        if len(idx):
            near = others.iloc[idx]
            row = near.iloc[int(np.argmin(shapely.distance(near.geometry.values, probe)))]
            owner = text(row.get("owner"))
            return f"宗地 {text(row['parcel_id'])}" + (f"（{owner}）" if owner else "")
    for role in ("redline", "farmland"):
        layer = data.layers.get(role)
        if layer is not None and len(layer) and len(layer.sindex.query(probe, predicate="intersects")):
            return CONSTRAINT_STYLE[role][0]
    zoning = data.layers.get("zoning")
    if zoning is not None and len(zoning) and "class_code" in zoning:
        idx = zoning.sindex.query(probe, predicate="intersects")
        if len(idx):
            from landgis.codes import code_table

            code = text(zoning["class_code"].iloc[int(idx[0])])
            name = code_table("zoning").lookup(code).name
            return f"规划{name or '用地'}（{code}）" if code else "规划用地"
    return "无登记宗地"
