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
    """The screening on a ``folium.Map`` (see :meth:`landgis.ScreeningResult.explore`).

    Drawn with folium's own ``GeoJson`` layers (geopandas' ``explore`` would need mapclassify,
    and with it scikit-learn, for what a category colour or a colour ramp does here).
    """
    import folium

    data = map_data(result)
    inv = data.inventory
    frame = inv[_chosen(inv, parcels) & drawable(inv)].copy()
    if len(frame) > MAX_PARCELS:
        raise LandgisError(f"{len(frame):,} parcels are more than a folium map carries well ({MAX_PARCELS:,}); "
                           "draw some: result.explore(parcels=result.inventory['town'] == '城关镇'), or use "
                           "result.map(), the briefing page made for a county")
    if len(frame) > SIMPLIFY_ABOVE:
        frame["geometry"] = frame.geometry.simplify(0.5, preserve_topology=True)
    frame["结论"] = frame["verdict"].map(VERDICT_ZH).fillna(frame["verdict"])
    if "area_mu" not in frame and "area_m2" in frame:
        frame["area_mu"] = frame["area_m2"] / M2_PER_MU
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
            shown = gpd.GeoDataFrame(geometry=layer.geometry.values[drawable(layer)], crs=layer.crs)
            style = {"color": colour, "fillColor": colour, "weight": 1, "fillOpacity": 0.0 if role == "udb" else 0.3,
                     "dashArray": "6 4" if role == "udb" else None}
            _geojson(shown, label, lambda _f, style=style: style).add_to(m)
    if conflicts and data.conflicts is not None and len(data.conflicts):
        pieces = data.conflicts[data.conflicts["parcel_id"].astype(str).isin(set(frame["parcel_id"].astype(str)))]
        if len(pieces):
            _geojson(pieces[["parcel_id", "rule", "area_m2", pieces.geometry.name]], "冲突部分",
                     lambda _f: {"color": "black", "fillColor": "black", "weight": 0.5, "fillOpacity": 0.5},
                     tooltip=["parcel_id", "rule", "area_m2"]).add_to(m)
    tooltip = [c for c in _TOOLTIP if c in frame] if tooltip is None else tooltip
    popup = [c for c in _POPUP if c in frame] if popup is None else popup
    by = column or "结论"
    colours, legend = _colours(frame, by, column is None)
    base = {"color": "#333333", "weight": 1, "fillOpacity": 0.6, **(style_kwds or {})}

    def style(feature: dict) -> dict:
        return {**base, "fillColor": colours(feature["properties"].get(by))}

    name = "入市地块（按结论）" if column is None else f"入市地块（按 {column}）"
    keep = list(dict.fromkeys([*(tooltip or []), *(popup or []), by, frame.geometry.name]))
    _geojson(frame[[c for c in keep if c in frame]], name, style, tooltip=tooltip, popup=popup).add_to(m)
    if legend is not None:
        legend.add_to(m)
    if not any(isinstance(child, folium.LayerControl) for child in m._children.values()):
        folium.LayerControl(collapsed=False).add_to(m)
    return m


def _geojson(frame: gpd.GeoDataFrame, name: str, style: Any, tooltip: Any = None, popup: Any = None) -> Any:
    """A folium GeoJson layer of ``frame`` (in degrees), with tooltip and popup fields."""
    import folium

    shown = _displayable(frame.to_crs(4326))
    fields = [c for c in shown.columns if c != shown.geometry.name]
    tip = folium.GeoJsonTooltip(fields=[f for f in tooltip if f in fields]) if tooltip else None
    pop = folium.GeoJsonPopup(fields=[f for f in popup if f in fields]) if popup else None
    return folium.GeoJson(shown.to_json(drop_id=True), name=name, style_function=style, tooltip=tip, popup=pop,
                          highlight_function=lambda _f: {"weight": 3})


#: colours of categories when a column is not the verdict (matplotlib's tab10)
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf")


def _colours(frame: pd.DataFrame, by: str, verdicts: bool) -> tuple[Any, Any]:
    """A function value → colour for the column ``by``, and its legend (a folium element)."""
    if verdicts:
        palette = {VERDICT_ZH[v]: VERDICT_COLOURS[v] for v in VERDICTS if v in set(frame["verdict"])}
        return (lambda value: palette.get(value, "#999999")), _legend("筛查结论", palette)
    values = frame[by]
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > len(_PALETTE):
        import branca.colormap as cm

        lo, hi = float(values.min()), float(values.max())
        ramp = cm.linear.YlOrRd_09.scale(lo, hi if hi > lo else lo + 1)
        ramp.caption = by
        return (lambda value: ramp(value) if value is not None and np.isfinite(value) else "#999999"), ramp
    cats = [str(v) for v in pd.unique(values.astype(str))][:40]
    palette = {c: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(cats)}
    return (lambda value: palette.get(str(value), "#999999")), _legend(by, palette)


def _legend(caption: str, palette: dict[str, str]) -> Any:
    """A legend box in the map's corner: a swatch and a label per category (text escaped)."""
    from html import escape

    from branca.element import MacroElement, Template

    rows = "".join(f'<div><span style="display:inline-block;width:12px;height:12px;margin-right:4px;'
                   f'background:{escape(colour)};border:1px solid #555"></span>{escape(label)}</div>'
                   for label, colour in palette.items())
    box = (f'<div style="position:absolute;bottom:24px;left:10px;z-index:1000;background:white;padding:6px 8px;'
           f'border:1px solid #999;border-radius:4px;font-size:12px;line-height:18px">'
           f'<b>{escape(caption)}</b>{rows}</div>')
    element = MacroElement()
    element._template = Template("{% macro html(this, kwargs) %}" + box.replace("{", "{{ '{' }}") + "{% endmacro %}")
    return element


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
