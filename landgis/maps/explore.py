"""``result.explore()``: the screening as a ``folium.Map``, in geopandas' ``.explore()`` conventions.

For analysts composing maps in Jupyter: parcels by verdict (or by any ``column``) with a legend,
and the constraint layers (永久基本农田, 生态保护红线, 城镇开发边界) and conflict pieces as
folium layers that a layer control turns on and off; ``m=`` adds all of them to a map of
one's own. ``result.map()`` stays the briefing page (:mod:`landgis.maps.webmap`).

A county is tens of thousands of parcels, and folium writes every vertex into the page: above
:data:`SIMPLIFY_ABOVE` parcels the geometries are simplified (to 0.5 m, in the working CRS);
above :data:`MAX_PARCELS` the call is refused, saying how to choose the parcels to draw.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from landgis.errors import LandgisError
from landgis.maps._data import CONSTRAINT_STYLE, drawable, map_data
from landgis.schema import M2_PER_MU, VERDICT_COLOURS, VERDICT_ZH, VERDICTS

__all__ = ["explore", "MAX_PARCELS", "SIMPLIFY_ABOVE"]

#: parcels drawn as they are up to this many; simplified to 0.5 m above
SIMPLIFY_ABOVE = 5_000
#: the most parcels a folium map is made of (a page of this many parcels is ~40 MB)
MAX_PARCELS = 30_000

_TOOLTIP = ["parcel_id", "结论", "reasons", "area_mu"]
_POPUP = ["parcel_id", "owner", "town", "village", "结论", "reasons_zh", "actions", "area_m2", "area_mu",
          "planned_use", "planned_use_name", "survey_class", "farmland_m2", "redline_m2", "udb_m2", "legacy"]


def explore(result: Any, m: Any = None, *, column: str | None = None, parcels: Any = None,
            tiles: Any = "OpenStreetMap", tooltip: Any = None, popup: Any = None,
            style_kwds: dict | None = None, constraints: bool = True, conflicts: bool = True,
            **kwargs: Any) -> Any:
    """The screening on a ``folium.Map`` (see :meth:`landgis.ScreeningResult.explore`)."""
    import folium

    data = map_data(result)
    inv = data.inventory
    chosen = _chosen(inv, parcels)
    frame = inv[chosen & drawable(inv)].copy()
    if len(frame) > MAX_PARCELS:
        raise LandgisError(f"{len(frame):,} parcels are more than a folium map carries well ({MAX_PARCELS:,}); "
                           "draw some: result.explore(parcels=result.inventory['town'] == '城关镇'), or use "
                           "result.map(), the briefing page made for a county")
    if len(frame) > SIMPLIFY_ABOVE:
        frame["geometry"] = frame.geometry.simplify(0.5, preserve_topology=True)
    frame["结论"] = frame["verdict"].map(VERDICT_ZH).fillna(frame["verdict"])
    if "area_mu" not in frame and "area_m2" in frame:
        frame["area_mu"] = frame["area_m2"] / M2_PER_MU
    frame = _displayable(frame)
    if m is None:
        m = folium.Map(tiles=tiles, control_scale=True, **kwargs.pop("map_kwds", {}))
        bounds = frame.to_crs(4326).total_bounds if len(frame) else None
        if bounds is not None and np.isfinite(bounds).all():
            m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    if constraints:
        for role, (label, colour) in CONSTRAINT_STYLE.items():
            layer = data.layers.get(role)
            if layer is None or not len(layer):
                continue
            shown = layer[drawable(layer)]
            shown = gpd.GeoDataFrame(geometry=shown.geometry.values, crs=layer.crs)
            shown.explore(m=m, name=label, color=colour, tooltip=False, highlight=False,
                          style_kwds={"fillOpacity": 0.0 if role == "udb" else 0.3, "weight": 1,
                                      "dashArray": "6 4" if role == "udb" else None})
    if conflicts and data.conflicts is not None and len(data.conflicts):
        pieces = data.conflicts[data.conflicts["parcel_id"].astype(str).isin(set(frame["parcel_id"].astype(str)))]
        if len(pieces):
            _displayable(pieces).explore(m=m, name="冲突部分", color="black", tooltip=["parcel_id", "rule", "area_m2"],
                                         style_kwds={"fillOpacity": 0.5, "weight": 0.5})
    tooltip = [c for c in _TOOLTIP if c in frame] if tooltip is None else tooltip
    popup = [c for c in _POPUP if c in frame] if popup is None else popup
    style = {"weight": 1, "fillOpacity": 0.6, **(style_kwds or {})}
    if column is None:
        present = [VERDICT_ZH[v] for v in VERDICTS if v in set(frame["verdict"])]
        frame.explore(m=m, column="结论", categorical=True, categories=present,
                      cmap=[VERDICT_COLOURS[v] for v in VERDICTS if VERDICT_ZH[v] in present],
                      tooltip=tooltip, popup=popup, style_kwds=style, name="入市地块（按结论）",
                      legend_kwds={"caption": "筛查结论"}, **kwargs)
    else:
        frame.explore(m=m, column=column, tooltip=tooltip, popup=popup, style_kwds=style,
                      name=f"入市地块（按 {column}）", **kwargs)
    if not any(isinstance(child, folium.LayerControl) for child in m._children.values()):
        folium.LayerControl(collapsed=False).add_to(m)
    return m


def _chosen(inv: pd.DataFrame, parcels: Any) -> np.ndarray:
    """The parcels to draw: all, a boolean mask, or parcel ids."""
    if parcels is None:
        return np.ones(len(inv), dtype=bool)
    if isinstance(parcels, (pd.Series, np.ndarray)) and np.asarray(parcels).dtype == bool:
        mask = np.asarray(parcels, dtype=bool)
        if len(mask) != len(inv):
            raise ValueError(f"parcels= is a mask of {len(mask)} values for {len(inv)} parcels")
        return mask
    wanted = {str(p) for p in ([parcels] if isinstance(parcels, str) else parcels)}
    return inv["parcel_id"].astype(str).isin(wanted).to_numpy()


def _displayable(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns folium can write into the page (timestamps as text, no extension dtypes it cannot serialise)."""
    out = frame.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if pd.api.types.is_datetime64_any_dtype(out[col]) or out[col].dtype == object:
            out[col] = out[col].astype(str).where(out[col].notna(), "")
    return out
