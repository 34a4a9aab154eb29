"""Static maps (PNG, PDF) of a screening, with Chinese text that renders on a fresh machine.

The CJK font is ``landgis[fonts]``'s Noto Sans CJK SC or a system font
(:mod:`landgis.maps.fonts`). No global matplotlib setting is changed: each figure is
drawn inside ``rc_context``.
PDFs embed a subset of the font (Type 42/CID), so their text can be searched.
"""

from __future__ import annotations

import datetime as _dt
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landgis.maps._data import CONSTRAINT_STYLE, drawable, map_data
from landgis.maps.fonts import cjk_font
from landgis.schema import M2_PER_MU, VERDICT_COLOURS, VERDICT_ZH

__all__ = ["overview_map", "cjk_font", "figure_context", "scale_bar", "north_arrow"]

@contextmanager
def figure_context():
    """matplotlib settings for landgis figures (CJK font, embedded PDF fonts), restored afterwards."""
    import matplotlib

    # text.parse_math off: an owner or id with $ or _ is drawn as written, not as mathtext
    with matplotlib.rc_context({"font.family": [cjk_font(), "DejaVu Sans"], "pdf.fonttype": 42,
                                "axes.unicode_minus": False, "svg.fonttype": "none", "text.parse_math": False}):
        yield


def _nice(length: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ not above ``length``."""
    exp = 10 ** math.floor(math.log10(length))
    for m in (5, 2, 1):
        if m * exp <= length:
            return m * exp
    return exp


def scale_bar(ax: Any, *, fraction: float = 0.2, loc: tuple[float, float] = (0.04, 0.04),
              segments: int = 4) -> float:
    """Draw an alternating black/white scale bar (axes in metres); returns its length in m."""
    from matplotlib.patches import Rectangle

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice((x1 - x0) * fraction)
    seg = length / segments
    bx = x0 + (x1 - x0) * loc[0]
    by = y0 + (y1 - y0) * loc[1]
    h = (y1 - y0) * 0.008
    for i in range(segments):
        ax.add_patch(Rectangle((bx + i * seg, by), seg, h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=20))
    unit, div = ("km", 1000.0) if length >= 1000 else ("m", 1.0)
    for i in (0, segments // 2, segments):
        v = i * seg / div
        label = f"{v:g}" + (f" {unit}" if i == segments else "")
        ax.text(bx + i * seg, by + h * 1.8, label, ha="center", va="bottom", fontsize=7, zorder=20)
    return length


def north_arrow(ax: Any, *, loc: tuple[float, float] = (0.95, 0.88), size: float = 0.07) -> None:
    """A north arrow in axes coordinates (grid north; the map is in a projected CRS)."""
    from matplotlib.patches import Polygon

    x, y = loc
    w = size * 0.32
    ax.add_patch(Polygon([(x, y + size), (x - w, y), (x, y + size * 0.28)], closed=True, transform=ax.transAxes,
                         facecolor="black", edgecolor="black", linewidth=0.8, zorder=20))
    ax.add_patch(Polygon([(x, y + size), (x + w, y), (x, y + size * 0.28)], closed=True, transform=ax.transAxes,
                         facecolor="white", edgecolor="black", linewidth=0.8, zorder=20))
    ax.text(x, y + size * 1.08, "北\nN", transform=ax.transAxes, ha="center", va="bottom", fontsize=9,
            zorder=20, linespacing=0.95)


def _plot(ax: Any, geoms: np.ndarray | gpd.GeoSeries, **style: Any) -> None:
    geoms = gpd.GeoSeries(np.asarray(geoms, dtype=object))
    geoms = geoms[~(geoms.isna() | geoms.is_empty)]
    if len(geoms):
        geoms.plot(ax=ax, **style)


def overview_map(result: Any, path: str | Path | None = None, *, title: str | None = None,
                 size: tuple[float, float] = (16.54, 11.69), dpi: int = 150) -> Any:
    """The overview map of a screening: parcels by verdict over the constraints.

    Parameters
    ----------
    result
        a ScreeningResult or :class:`~landgis.maps.MapData`.
    path
        where to save it (``.png`` or ``.pdf``, by suffix); the figure is returned either way.
    title
        the map title (default: the project name + 入市筛查结论图).
    size
        inches (default A3 landscape).
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    data = map_data(result)
    inv = data.inventory
    ok = drawable(inv)
    with figure_context():
        fig = Figure(figsize=size, dpi=dpi)
        fig.patch.set_facecolor("white")
        ax = fig.add_axes((0.03, 0.06, 0.70, 0.82))
        side = fig.add_axes((0.75, 0.06, 0.23, 0.82))
        side.axis("off")
        bounds = inv.loc[ok].total_bounds if ok.any() else np.array([0.0, 0.0, 1.0, 1.0])
        pad = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) * 0.03
        view = shapely.box(bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
        tol = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 4000  # ≈ a pixel at this size

        def clip(frame: gpd.GeoDataFrame) -> np.ndarray:
            g = frame.geometry.values
            g = g[shapely.intersects(g, view)]
            return shapely.simplify(g, tol, preserve_topology=True)

        legend: list[Any] = []
        zorder = 1
        for role, (label, colour) in CONSTRAINT_STYLE.items():
            layer = data.layers.get(role)
            if layer is None or not len(layer):
                continue
            if role == "udb":
                _plot(ax, clip(layer), facecolor="none", edgecolor=colour, linewidth=1.4, linestyle="--",
                      zorder=zorder + 2)
                legend.append(Line2D([], [], color=colour, linestyle="--", linewidth=1.4, label=label))
            else:
                _plot(ax, clip(layer), facecolor=colour, alpha=0.35, edgecolor=colour, linewidth=0.3,
                      zorder=zorder)
                legend.append(Patch(facecolor=colour, alpha=0.35, edgecolor=colour, label=label))
            zorder += 1
        admin = data.layers.get("admin")
        if admin is not None and len(admin):
            _plot(ax, clip(admin), facecolor="none", edgecolor="#555555", linewidth=0.8, linestyle="-.", zorder=5)
            if "name" in admin:
                for name, g in zip(admin["name"], admin.geometry.values, strict=True):
                    if name and shapely.intersects(g, view):
                        p = shapely.point_on_surface(g)
                        ax.text(p.x, p.y, str(name), fontsize=11, color="#333333", ha="center", va="center",
                                alpha=0.8, zorder=6)
            legend.append(Line2D([], [], color="#555555", linestyle="-.", linewidth=0.8, label="乡镇界"))
        verdict = inv["verdict"].astype(str).to_numpy()
        area = pd.to_numeric(inv["area_m2"], errors="coerce").fillna(0.0).to_numpy()
        vlegend = []
        for v, colour in VERDICT_COLOURS.items():
            sel = ok & (verdict == v)
            _plot(ax, inv.geometry.values[sel], facecolor=colour, edgecolor="#222222", linewidth=0.25, zorder=10)
            n = int((verdict == v).sum())
            vlegend.append(Patch(facecolor=colour, edgecolor="#222222", linewidth=0.5,
                                 label=f"{VERDICT_ZH[v]}　{n} 宗　{area[verdict == v].sum() / M2_PER_MU:,.2f} 亩"))
        if data.conflicts is not None and len(data.conflicts):
            _plot(ax, data.conflicts.geometry.values, facecolor="none", edgecolor="black", hatch="////",
                  linewidth=0.3, zorder=11)
            legend.append(Patch(facecolor="white", edgecolor="black", hatch="////", label="冲突范围"))
        if "legacy" in inv:
            leg = ok & (inv["legacy"].fillna("").astype(str).to_numpy() != "")
            if leg.any():
                _plot(ax, inv.geometry.values[leg], facecolor="none", edgecolor="#6a3d9a", linewidth=1.2,
                      zorder=12)
                legend.append(Line2D([], [], color="#6a3d9a", linewidth=1.2, label="历史遗留用地"))
        ax.set_xlim(view.bounds[0], view.bounds[2])
        ax.set_ylim(view.bounds[1], view.bounds[3])
        ax.set_aspect("equal", adjustable="box")
        ax.tick_params(labelsize=7)
        ax.ticklabel_format(useOffset=False, style="plain")
        for lab in ax.get_yticklabels():
            lab.set_rotation(90)
            lab.set_va("center")
        ax.set_xlabel("Y（东坐标，米）", fontsize=8)
        ax.set_ylabel("X（北坐标，米）", fontsize=8)
        scale_bar(ax)
        north_arrow(ax)
        fig.suptitle(title or f"{data.title}\n入市筛查结论图", fontsize=18, y=0.975, linespacing=1.3)
        first = side.legend(handles=vlegend, title="筛查结论", loc="upper left", fontsize=10, title_fontsize=11,
                            frameon=False, alignment="left")
        side.add_artist(first)
        side.legend(handles=legend, title="图例", loc="upper left", bbox_to_anchor=(0, 0.80), fontsize=10,
                    title_fontsize=11, frameon=False, alignment="left")
        total = area.sum() / M2_PER_MU
        info = [f"地块总数：{len(inv)} 宗，{total:,.2f} 亩"]
        if (~ok).any():
            info.append(f"图形无效未绘制：{int((~ok).sum())} 宗")
        if data.profile:
            info.append(f"筛查规则：{data.profile}")
        info += [f"数据日期：{data.data_date or '未注明'}", f"制图日期：{_dt.date.today().isoformat()}",
                 f"坐标系：{data.crs_label()}", "高斯-克吕格投影，面积为平面面积",
                 f"制图单位：{data.organisation}" if data.organisation else "制图：landgis 入市筛查"]
        side.text(0, 0.0, "\n".join(info), fontsize=9, va="bottom", ha="left", transform=side.transAxes,
                  linespacing=1.6)
        if path is not None:
            path = Path(path)
            fig.savefig(path, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png",
                        metadata=_metadata(path, data.title))
    return fig


def _metadata(path: Path, title: str) -> dict[str, str]:
    if path.suffix.lower() == ".pdf":
        return {"Title": title, "Creator": "landgis"}
    return {"Title": title, "Software": "landgis"}
