"""The interactive web map (``map.html``): parcels coloured by verdict, constraints as layers.

Every attribute value is escaped before it reaches the page, so an owner name
with markup in it shows as text. Geometry is shown in CGCS2000 geographic
coordinates (EPSG:4490, which Leaflet treats as WGS 84: they differ by
centimetres), simplified to 0.5 m for display only.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from landgis.inventory import VERDICT_ZH

if TYPE_CHECKING:
    from landgis.screening import ScreeningResult

__all__ = ["web_map", "VERDICT_COLOURS"]

VERDICT_COLOURS = {"eligible": "#1a9850", "conditional": "#fdae61", "ineligible": "#d73027"}
_LAYER_STYLE = {
    "farmland": ("永久基本农田", "#f1d54a"),
    "redline": ("生态保护红线", "#c51b7d"),
    "udb": ("城镇开发边界", "#4575b4"),
}
_SIMPLIFY_M = 0.5


def _display(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.copy()
    out["geometry"] = out.geometry.simplify(_SIMPLIFY_M, preserve_topology=True)
    return out.to_crs(4326)


def _escape_frame(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        values = frame[col].astype(object) if col in frame else pd.Series("", index=frame.index)
        out[col] = [escape("" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v))
                    for v in values]
    return out


def web_map(result: ScreeningResult) -> folium.Map:
    """A folium map of the screening (``.save("map.html")`` writes it)."""
    inv = result.inventory
    ok = ~(inv.geometry.isna() | inv.geometry.is_empty)
    shown = _display(inv.loc[ok])
    bounds = shown.total_bounds
    fmap = folium.Map(location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], zoom_start=13,
                      tiles=None, control_scale=True)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=False).add_to(fmap)
    for role, (label, colour) in _LAYER_STYLE.items():
        layer = result.layers.get(role)
        if layer is None or not len(layer):
            continue
        folium.GeoJson(_display(layer[["geometry"]]).__geo_interface__, name=label,
                       style_function=lambda _f, c=colour: {"color": c, "weight": 1, "fillColor": c,
                                                             "fillOpacity": 0.25}).add_to(fmap)
    cols = ["parcel_id", "owner", "town", "village", "area_m2", "area_mu", "planned_use", "verdict", "reasons_zh",
            "legacy"]
    props = _escape_frame(shown, cols)
    props["verdict_zh"] = [escape(VERDICT_ZH.get(v, v)) for v in shown["verdict"]]
    props["colour"] = [VERDICT_COLOURS.get(v, "#777") for v in shown["verdict"]]
    data = gpd.GeoDataFrame(props, geometry=shown.geometry.values, crs=shown.crs)
    folium.GeoJson(
        data.__geo_interface__, name="入市筛查结论",
        style_function=lambda f: {"color": "#333", "weight": 1, "fillColor": f["properties"]["colour"],
                                  "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(["parcel_id", "verdict_zh", "area_mu"], aliases=["宗地代码", "结论", "面积(亩)"]),
        popup=folium.GeoJsonPopup(["parcel_id", "owner", "town", "village", "area_m2", "area_mu", "planned_use",
                                   "verdict_zh", "reasons_zh", "legacy"],
                                  aliases=["宗地代码", "权利人", "乡镇", "村", "面积(平方米)", "面积(亩)", "规划用途",
                                           "结论", "原因", "历史遗留"]),
    ).add_to(fmap)
    if len(result.conflicts):
        conf = _display(result.conflicts)
        folium.GeoJson(gpd.GeoDataFrame(_escape_frame(conf, ["parcel_id", "rule", "area_m2"]),
                                        geometry=conf.geometry.values, crs=conf.crs).__geo_interface__,
                       name="冲突范围", style_function=lambda _f: {"color": "#000", "weight": 1, "fillColor": "#000",
                                                               "fillOpacity": 0.4},
                       tooltip=folium.GeoJsonTooltip(["parcel_id", "rule", "area_m2"],
                                                     aliases=["宗地代码", "规则", "面积(平方米)"])).add_to(fmap)
    legend = "".join(f"<div><span style='background:{c};width:12px;height:12px;display:inline-block'></span> "
                     f"{VERDICT_ZH[v]}</div>" for v, c in VERDICT_COLOURS.items())
    fmap.get_root().html.add_child(folium.Element(
        f"<div style='position:fixed;bottom:24px;right:12px;z-index:9999;background:white;padding:6px;"
        f"border:1px solid #999;font-size:13px'><b>筛查结论</b>{legend}<div style='font-size:11px'>"
        f"坐标系：CGCS2000 (EPSG:4490)</div></div>"))
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return fmap
