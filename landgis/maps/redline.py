"""Red-line sheets (入市地块红线图): one page per parcel, one PDF per batch. They are drawn from the
parcel's geometry and the screening, not from a survey, and say so (no 勘测定界 claimed).

Each sheet shows the parcel boundary with its numbered boundary points (J1, J2, …:
from the point nearest the north-west corner, clockwise, as cadastral practice
numbers them; holes and further parts continue the numbering), the boundary-point
coordinate table (界址点坐标表: X = northing, Y = easting, metres to 3 decimals, as
Chinese surveying writes them, in the working Gauss-Krüger CRS), the area in m² and
亩, the neighbouring constraints, and the parcel's id, owner and location. A long
table continues on further pages (续表).
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.polygon import orient

from landgis._runtime import Progress, ProgressArg
from landgis.facts import PLANNING_FACTS
from landgis.fields import PLANNING_CONDITIONS
from landgis.maps._data import CONSTRAINT_STYLE, MapData, drawable, map_data, text
from landgis.maps.static import figure_context, north_arrow, scale_bar
from landgis.maps.surroundings import four_sides, nearby_constraints
from landgis.schema import M2_PER_MU, VERDICT_ZH

__all__ = ["boundary_points", "redline_sheets", "RedlineBatch", "safe_file_part", "sheet_parcels", "wrap_wide"]

_ROWS_FIRST = 24      # coordinate-table rows on a sheet's first page (two blocks of 12)
_ROWS_MORE = 96       # rows on a continuation page (two blocks of 48)
#: the most boundary points a sheet lists: a boundary of more is a digitised curve, not surveyed 界址点
#: (2,000 points fill 21 pages); its sheet says so instead of printing a table of thousands of pages
MAX_TABLE_POINTS = 2000
#: the most points labelled J… on the map; beyond, every k-th (and each ring's first) is labelled
_MAX_LABELS = 120


def boundary_points(geom: Any) -> pd.DataFrame:
    """The boundary-point table of a polygon: 点号, X (northing), Y (easting), 边长.

    Rings are taken clockwise from the vertex nearest the north-west corner of the
    ring's bounding box; every ring ends by repeating its first point, and ``edge_m``
    is the length from a point to the next one.

    >>> import shapely
    >>> t = boundary_points(shapely.box(500000, 2800000, 500030, 2800020))
    >>> t[["point", "x_north", "y_east", "edge_m"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['J1', 2800020.0, 500000.0, 30.0], ['J2', 2800020.0, 500030.0, 20.0],
     ['J3', 2800000.0, 500030.0, 30.0], ['J4', 2800000.0, 500000.0, 20.0],
     ['J1', 2800020.0, 500000.0, nan]]
    """
    rows: list[tuple[int, str, float, float, float]] = []
    n = 0
    for part_no, poly in enumerate(shapely.get_parts(geom)):
        poly = orient(poly, sign=-1.0)   # exterior clockwise, holes anticlockwise
        for ring_no, ring in enumerate([poly.exterior, *poly.interiors]):
            xy = np.asarray(ring.coords)[:-1, :2]
            keep = np.r_[True, np.any(np.diff(xy, axis=0) != 0, axis=1)]
            xy = xy[keep]
            if len(xy) < 3:
                continue
            minx, maxy = xy[:, 0].min(), xy[:, 1].max()
            start = int(np.argmin(np.hypot(xy[:, 0] - minx, xy[:, 1] - maxy)))
            xy = np.roll(xy, -start, axis=0)
            edge = np.hypot(*(np.roll(xy, -1, axis=0) - xy).T)
            first = n + 1
            for k, (x, y) in enumerate(xy):
                n += 1
                rows.append((part_no * 1000 + ring_no, f"J{n}", float(y), float(x), float(edge[k])))
            rows.append((part_no * 1000 + ring_no, f"J{first}", float(xy[0, 1]), float(xy[0, 0]), np.nan))
    out = pd.DataFrame(rows, columns=["ring", "point", "x_north", "y_east", "edge_m"])
    return out.round({"x_north": 3, "y_east": 3, "edge_m": 3})


@dataclass
class RedlineBatch:
    """What a red-line PDF holds: its path, pages per parcel and each parcel's table."""

    path: Path
    pages: list[tuple[str, int]] = field(default_factory=list)    # (parcel_id, page number from 1)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: parcels of more than MAX_TABLE_POINTS boundary points, whose sheets list none (and say so)
    untabled: list[str] = field(default_factory=list)

    @property
    def page_count(self) -> int:
        return len(self.pages)


def _reason_names(data: MapData, row: pd.Series) -> str:
    """``reasons`` with each rule's Chinese title: 地块部分规划为其他用途（PLAN-PART）；…"""
    ids = [r for r in text(row.get("reasons")).split(";") if r]
    return "；".join(f"{data.rules.get(r, {}).get('title_zh') or r}（{r}）" for r in ids)


def _conflict_areas(data: MapData, pid: str) -> str:
    """The area of each conflicting part of a parcel, by rule: 占用永久基本农田（FARMLAND）729.29 平方米；…"""
    conf = data.conflicts
    if conf is None or not len(conf) or "area_m2" not in conf:
        return ""
    mine = conf[conf["parcel_id"].astype(str) == pid]
    if not len(mine):
        return ""
    by_rule = mine.groupby("rule", sort=False)["area_m2"].sum()
    return "；".join(f"{data.rules.get(r, {}).get('title_zh') or r}（{r}）{a:,.2f} 平方米" for r, a in by_rule.items())


#: the enterable part's outline on the sheet (as on the web map)
ENTERABLE_COLOUR = "#00a651"


def _enterable_text(row: pd.Series) -> str:
    """The enterable part, when less than the parcel: 2,127.70 平方米（81.0%），调整宗地界线后可入市."""
    m2, area = pd.to_numeric(pd.Series([row.get("enterable_m2"), row.get("area_m2")]), errors="coerce")
    if pd.isna(m2) or pd.isna(area) or m2 >= area - 0.005:
        return ""
    if m2 <= 0:
        return "无（整宗不可入市）"
    return f"{m2:,.2f} 平方米（{m2 / M2_PER_MU:,.4f} 亩，{m2 / area:.1%}），扣除不可入市部分、调整宗地界线后可入市"


def _enterable_part(data: MapData, pid: str, row: pd.Series) -> Any:
    """The enterable polygon of the parcel, from the screening's layer (None when it has none)."""
    if data.enterable is None or not len(data.enterable):
        return None
    mine = data.enterable[data.enterable["parcel_id"].astype(str) == pid]
    return mine.geometry.values[0] if len(mine) else None


def _legend(ax: Any, drawn_roles: list[str], drawn_conflicts: bool, drawn_neighbours: bool,
            drawn_enterable: bool = False) -> None:
    """A legend for every line, fill and hatch the sheet draws (and only those)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color="red", linewidth=2.0, label="本宗地界线"),
               Line2D([], [], marker="o", linestyle="none", mfc="white", mec="red", label="界址点")]
    if drawn_neighbours:
        handles.append(Line2D([], [], color="#777777", linewidth=0.6, label="相邻宗地"))
    for role, (label, colour) in CONSTRAINT_STYLE.items():
        if role in drawn_roles:
            handles.append(Patch(facecolor="none" if role == "udb" else colour, alpha=1 if role == "udb" else 0.35,
                                 edgecolor=colour, linestyle="--" if role == "udb" else "-", label=label))
    if drawn_conflicts:
        handles.append(Patch(facecolor="none", edgecolor="black", hatch="////", linewidth=0.3, label="冲突部分"))
    if drawn_enterable:
        handles.append(Line2D([], [], color=ENTERABLE_COLOUR, linewidth=1.6, linestyle="--", label="可入市部分"))
    ax.legend(handles=handles, loc="lower right", fontsize=6.5, framealpha=0.85, borderpad=0.4, handlelength=1.6)


def _table(ax: Any, rows: pd.DataFrame, blocks: int, title: str, row_h: float) -> None:
    """The rows in ``blocks`` side by side, each filled before the next (a table that fits one block
    stays whole in it)."""
    ax.axis("off")
    ax.set_title(title, fontsize=11, loc="left")
    per = max(1, int(round(1 / row_h)) - 1)
    header = ["点号", "X（米）", "Y（米）", "边长（米）"]
    for b in range(blocks):
        part = rows.iloc[b * per:(b + 1) * per]
        if not len(part) and b:
            continue
        cells = [[r.point, f"{r.x_north:.3f}", f"{r.y_east:.3f}", "" if np.isnan(r.edge_m) else f"{r.edge_m:.3f}"]
                 for r in part.itertuples()]
        w = 1.0 / blocks
        height = min(1.0, (len(cells) + 1) * row_h)
        t = ax.table(cellText=cells or [[""] * 4], colLabels=header, loc="upper left",
                     bbox=(b * w + 0.005, 1 - height, w - 0.01, height),
                     cellLoc="center", colWidths=[0.16, 0.32, 0.32, 0.20])
        _style_table(t, 8, shade=lambda row, _col: row == 0, colour="#eeeeee")


#: the information table: value column width in half-width characters at 8.5 pt, and one line's height
_VALUE_WIDTH = 92
_LINE_H = 0.013


def wrap_wide(value: str, width: int) -> str:
    r"""``value`` broken into lines of at most ``width`` columns, a CJK character counting two.

    >>> wrap_wide("补充数据后重新筛查" * 3, 20)
    '补充数据后重新筛查补\n充数据后重新筛查补充\n数据后重新筛查'
    """
    out, line, used = [], "", 0
    for ch in value:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width and line:
            out.append(line)
            line, used = "", 0
        line, used = line + ch, used + w
    return "\n".join([*out, line])


def _style_table(table: Any, fontsize: float, shade: Any, colour: str) -> None:
    """Thin rules, a fixed font size, and shaded header cells (``shade(row, col)``)."""
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    for (row, col), cell in table.get_celld().items():
        cell.set_linewidth(0.4)
        if shade(row, col):
            cell.set_facecolor(colour)


def planning_text(row: pd.Series) -> str:
    """The parcel's planning conditions in one line ("" when the plan gives none), its note after.

    >>> planning_text(pd.Series({"plot_ratio_max": 1.2, "green_ratio_min": 15.0, "height_max_m": None}))
    '容积率 ≤1.2；绿地率 ≥15%'
    """
    parts = []
    for canon, (col, label, unit) in PLANNING_FACTS.items():
        sign = "≤" if PLANNING_CONDITIONS[canon][0] == "upper" else "≥"
        value = pd.to_numeric(row.get(col), errors="coerce")
        if value is not None and not pd.isna(value):
            parts.append(f"{label} {sign}{float(value):g}{unit}")
    note = text(row.get("planning_conditions_note"))
    return "；".join(parts) + (f"（{note}）" if parts and note else "")


def _sheet(pdf: Any, data: MapData, row: pd.Series, geom: Any, table: pd.DataFrame, neighbours: list[str],
           others: gpd.GeoDataFrame, sheet_no: int) -> int:
    from matplotlib.figure import Figure

    pid = text(row.get("parcel_id"))
    fig = Figure(figsize=(8.27, 11.69))
    fig.suptitle("集体经营性建设用地入市地块红线图", fontsize=17, y=0.975)
    fig.text(0.5, 0.938, "（据宗地图形与入市筛查结果编制，非勘测定界成果）", ha="center", fontsize=9)
    area = float(row.get("area_m2") or shapely.area(geom))
    verdict = text(row.get("verdict"))
    info = [
        ("宗地代码", pid), ("权利人", text(row.get("owner"))),
        ("坐落", " ".join(filter(None, [text(row.get("town")), text(row.get("village"))]))),
        ("面积", f"{area:,.2f} 平方米（{area / M2_PER_MU:,.4f} 亩）"),
        ("规划用途", " ".join(filter(None, [text(row.get("planned_use")), text(row.get("planned_use_name"))]))),
        *([("规划条件", conditions)] if (conditions := planning_text(row)) else []),
        ("筛查结论", VERDICT_ZH.get(verdict, verdict) + (f"：{reasons}" if (reasons := _reason_names(data, row)) else "")),
        *([("冲突部分面积", parts)] if (parts := _conflict_areas(data, pid)) else []),
        *([("可入市部分", enterable)] if (enterable := _enterable_text(row)) else []),
        *([("入市前须办理", text(row.get("actions")))] if text(row.get("actions")) else []),
        *([("历史遗留依据", text(row.get("legacy_basis")))] if text(row.get("legacy_basis")) else []),
        *([("登记及批准文件", text(row.get("register_docs")))] if text(row.get("register_docs")) else []),
        ("四至", "；".join(four_sides(data, geom, pid, others))),
        ("邻近限制", "；".join(neighbours) or "无"),
        ("坐标系", data.crs_label()),
    ]
    # a long value (two actions, many documents) wraps within the sheet; the map gives up the height
    wrapped = [(k, wrap_wide(v, _VALUE_WIDTH)) for k, v in info]
    lines = [v.count("\n") + 1 for _k, v in wrapped]
    info_h = min(_LINE_H * max(sum(lines), len(info)), 0.30)
    info_ax = fig.add_axes((0.07, 0.93 - info_h, 0.86, info_h))
    info_ax.axis("off")
    t = info_ax.table(cellText=[[k, v] for k, v in wrapped], bbox=(0, 0, 1, 1), cellLoc="left",
                      colWidths=[0.14, 0.86])
    for (r, _c), cell in t.get_celld().items():
        cell.set_height(lines[r])
    _style_table(t, 8.5, shade=lambda _row, col: col == 0, colour="#f2f2f2")

    ax = fig.add_axes((0.07, 0.33, 0.86, 0.91 - info_h - 0.33))
    minx, miny, maxx, maxy = geom.bounds
    span = max(maxx - minx, maxy - miny, 20.0)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = span * 0.75
    ratio = 0.45 * 11.69 / (0.86 * 8.27)
    view = shapely.box(cx - half, cy - half * ratio, cx + half, cy + half * ratio)
    drawn_roles: list[str] = []
    for role, (_label, colour) in CONSTRAINT_STYLE.items():
        layer = data.layers.get(role)
        if layer is None or not len(layer):
            continue
        g = layer.geometry.values[layer.sindex.query(view)]
        g = shapely.intersection(g, view)
        g = g[~shapely.is_empty(g)]
        if len(g):
            drawn_roles.append(role)
            gpd.GeoSeries(g).plot(ax=ax, facecolor="none" if role == "udb" else colour,
                                  alpha=1 if role == "udb" else 0.35, edgecolor=colour,
                                  linestyle="--" if role == "udb" else "-", linewidth=1.0, zorder=1)
    near = others.iloc[others.sindex.query(view)]
    near = near[near["parcel_id"].astype(str) != pid]
    if len(near):
        near.boundary.plot(ax=ax, color="#777777", linewidth=0.6, zorder=2)
        for nid, g in zip(near["parcel_id"], near.geometry.values, strict=True):
            p = shapely.point_on_surface(g)
            if shapely.contains(view, p):
                ax.text(p.x, p.y, text(nid)[-5:], fontsize=6, color="#555555", ha="center", va="center", zorder=3)
    conf = data.conflicts
    if conf is not None and len(conf):
        mine = conf[conf["parcel_id"].astype(str) == pid]
        if len(mine):
            mine.plot(ax=ax, facecolor="none", edgecolor="black", hatch="////", linewidth=0.3, zorder=4)
    part = _enterable_part(data, pid, row) if enterable else None
    if part is not None:
        gpd.GeoSeries([part]).boundary.plot(ax=ax, color=ENTERABLE_COLOUR, linewidth=1.6, linestyle="--", zorder=5.5)
    gpd.GeoSeries([geom]).boundary.plot(ax=ax, color="red", linewidth=2.0, zorder=5)
    pts = table.drop_duplicates("point")
    cxy = shapely.centroid(geom)
    every = max(1, -(-len(pts) // _MAX_LABELS))
    ax.plot(pts["y_east"], pts["x_north"], "o", ms=3.5 if every == 1 else 1.0, mfc="white", mec="red",
            mew=1.0 if every == 1 else 0.4, zorder=6, linestyle="none")
    starts = ~pts["ring"].duplicated().to_numpy()
    labelled = pts[(np.arange(len(pts)) % every == 0) | starts]
    for r in labelled.itertuples():
        dx, dy = r.y_east - cxy.x, r.x_north - cxy.y
        d = np.hypot(dx, dy) or 1.0
        off = span * 0.035
        ax.text(r.y_east + dx / d * off, r.x_north + dy / d * off, r.point, fontsize=8, color="#b00000",
                ha="center", va="center", zorder=7)
    ax.set_xlim(view.bounds[0], view.bounds[2])
    ax.set_ylim(view.bounds[1], view.bounds[3])
    ax.set_aspect("equal", adjustable="box")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(labelsize=6)
    ax.set_xlabel("Y（米）", fontsize=7)
    ax.set_ylabel("X（米）", fontsize=7)
    scale_bar(ax, fraction=0.25)
    north_arrow(ax, loc=(0.94, 0.84), size=0.09)
    _legend(ax, drawn_roles, drawn_conflicts=conf is not None and bool((conf["parcel_id"].astype(str) == pid).any()),
            drawn_neighbours=len(near) > 0, drawn_enterable=part is not None)
    # nominal scale on an A4 sheet: ground width / printed width, rounded to a "nice" ratio
    denom = (view.bounds[2] - view.bounds[0]) / (0.86 * 8.27 * 0.0254)
    nice = next((s for s in (200, 500, 1000, 2000, 2500, 5000, 10000, 25000, 50000) if s >= denom), round(denom))
    ax.text(0.02, 0.97, f"比例尺 约 1:{nice:,}", transform=ax.transAxes, ha="left", va="top", fontsize=8,
            zorder=20, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5})

    tax = fig.add_axes((0.07, 0.05, 0.86, 0.21))
    if len(pts) > MAX_TABLE_POINTS:
        table = table.iloc[:0]
        tax.axis("off")
        tax.text(0, 0.9, f"界址点坐标表：本宗地边界有 {len(pts):,} 个点，多于红线图可列的 {MAX_TABLE_POINTS:,} 个，"
                 "应为数字化曲线而非实测界址点，未列坐标表。\n请核查宗地图形（简化或按实测界址点重建）后重新出图；"
                 f"图上每 {every} 点标注一次。", fontsize=8.5, va="top", wrap=True)
    else:
        suffix = f"；图上每 {every} 点标注一次" if every > 1 else ""
        _table(tax, table.iloc[:_ROWS_FIRST], 2, f"界址点坐标表（共 {len(pts)} 点；X 为北坐标，Y 为东坐标{suffix}）",
               1 / (_ROWS_FIRST // 2 + 1))
    foot = (f"制图单位：{data.organisation or '＿＿＿＿＿＿'}　制图：＿＿＿＿　审核：＿＿＿＿　"
            f"数据日期：{data.data_date or '未注明'}　制图日期：{_dt.date.today().isoformat()}　第 {sheet_no} 号")
    fig.text(0.07, 0.025, foot, fontsize=7.5)
    pdf.savefig(fig)
    pages = 1
    rest = table.iloc[_ROWS_FIRST:]
    while len(rest):
        chunk, rest = rest.iloc[:_ROWS_MORE], rest.iloc[_ROWS_MORE:]
        more = Figure(figsize=(8.27, 11.69))
        more.suptitle(f"界址点坐标表（续） 宗地代码 {pid}", fontsize=13, y=0.97)
        _table(more.add_axes((0.07, 0.05, 0.86, 0.88)), chunk, 2, "", 1 / (_ROWS_MORE // 2 + 1))
        pdf.savefig(more)
        pages += 1
    return pages


def sheet_parcels(result: Any, parcel_ids: Iterable[str] | None = None,
                  verdicts: Iterable[str] = ("eligible", "conditional")) -> list[str]:
    """The parcels red-line sheets are drawn for: ``parcel_ids`` in their order, or every parcel whose
    verdict is in ``verdicts``; only parcels with a usable geometry.

    Raises
    ------
    KeyError
        naming the parcel ids that are not in the screening or have no usable geometry.
    """
    inv = map_data(result).inventory
    ok = drawable(inv)
    ids = inv["parcel_id"].astype(str)
    if parcel_ids is None:
        return ids[ok & inv["verdict"].isin(list(verdicts)).to_numpy()].tolist()
    wanted = [str(p) for p in parcel_ids]
    unknown = [p for p in wanted if p not in set(ids[ok])]
    if unknown:
        raise KeyError(f"no usable parcel {', '.join(unknown[:8])}" + (" …" if len(unknown) > 8 else "")
                       + " in this screening (check the id, or the parcel's geometry_status)")
    return wanted


#: characters no file name may hold on Windows (and "/" nowhere), and its reserved device names
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM\d|LPT\d)(\..*)?$", re.IGNORECASE)


def safe_file_part(name: str, fallback: str) -> str:
    """``name`` made safe as part of a file name on every system (no / \\ : * ? " < > |, control
    characters, trailing dots, device names; at most 60 characters); ``fallback`` when nothing is left.

    >>> safe_file_part("A/B:镇.", "x"), safe_file_part("CON", "x"), safe_file_part("..", "x")
    ('A_B_镇', '_CON', 'x')
    """
    safe = _UNSAFE.sub("_", name).strip().rstrip(". ")[:60] or fallback
    return "_" + safe if _RESERVED.match(safe) else safe


def split_by_town(result: Any, parcel_ids: list[str]) -> dict[str, list[str]]:
    """``redline-<town>.pdf`` → its parcels, in order: one PDF per town (坐落乡镇). A town name is made
    safe as a file name on every system (no / \\ : * ? " < > |, control characters, trailing dots,
    device names; at most 60 characters); parcels of no town go to ``redline-未注明乡镇.pdf``; two
    towns that come out the same are told apart by a number.

    >>> import geopandas as gpd, shapely
    >>> inv = gpd.GeoDataFrame({"parcel_id": ["a", "b", "c", "d"], "verdict": ["eligible"] * 4,
    ...                         "town": ["城关镇", "A/B 镇", "", "A:B 镇"]},
    ...                        geometry=[shapely.box(0, 0, 1, 1)] * 4, crs=4546)
    >>> from landgis.maps import MapData
    >>> split_by_town(MapData(inventory=inv, conflicts=inv.iloc[:0]), ["a", "b", "c", "d"])
    {'redline-城关镇.pdf': ['a'], 'redline-A_B 镇.pdf': ['b'], 'redline-未注明乡镇.pdf': ['c'], 'redline-A_B 镇-2.pdf': ['d']}
    """
    inv = map_data(result).inventory
    town_of = dict(zip(inv["parcel_id"].astype(str), inv.get("town", pd.Series([""] * len(inv))).map(text),
                       strict=True))
    by_town: dict[str, list[str]] = {}
    for pid in parcel_ids:
        by_town.setdefault(town_of.get(pid, "") or "未注明乡镇", []).append(pid)
    out: dict[str, list[str]] = {}
    for town, ids in by_town.items():
        safe = safe_file_part(town, "未注明乡镇")
        name, n = f"redline-{safe}.pdf", 1
        while name.lower() in {k.lower() for k in out}:
            n += 1
            name = f"redline-{safe}-{n}.pdf"
        out[name] = ids
    return out


def redline_sheets(result: Any, path: str | Path, parcel_ids: Iterable[str] | None = None, *,
                   verdicts: Iterable[str] = ("eligible", "conditional"),
                   progress: ProgressArg = None) -> RedlineBatch:
    """Write one multi-page PDF of red-line sheets.

    Parameters
    ----------
    result
        a ScreeningResult or :class:`~landgis.maps.MapData`.
    path
        the PDF to write.
    parcel_ids
        the parcels, in this order; default: every parcel whose verdict is in ``verdicts``.
    verdicts
        used when ``parcel_ids`` is not given (default: eligible and conditional — the
        parcels a market-entry plan may include).
    progress
        as for :func:`landgis.screen`: a bar of the sheets drawn (by default in a terminal or
        Jupyter), a callback given each parcel id, or ``False``.

    Raises
    ------
    KeyError
        naming the parcel ids that are not in the screening or have no usable geometry.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    data = map_data(result)
    inv = data.inventory
    ok = drawable(inv)
    ids = inv["parcel_id"].astype(str)
    wanted = sheet_parcels(data, parcel_ids, verdicts)
    pos = pd.Series(np.arange(len(inv)), index=ids.to_numpy())
    pos = pos[~pos.index.duplicated()]
    others = inv.loc[ok, [c for c in ("parcel_id", "owner", "geometry") if c in inv]]
    path = Path(path)
    batch = RedlineBatch(path=path)
    step = Progress(progress, total=len(wanted), desc="红线图")
    try:
        with figure_context(), PdfPages(path, metadata={"Title": f"{data.title} 入市地块红线图",
                                                        "Creator": "landgis"}) as pdf:
            for n, pid in enumerate(wanted, start=1):
                step(pid)
                row = inv.iloc[int(pos[pid])]
                geom = row.geometry
                table = boundary_points(geom)
                pages = _sheet(pdf, data, row, geom, table, nearby_constraints(data, geom), others, n)
                if table["point"].nunique() > MAX_TABLE_POINTS:
                    batch.untabled.append(pid)
                start = len(batch.pages)
                batch.pages += [(pid, start + k + 1) for k in range(pages)]
                batch.tables[pid] = table
    finally:
        step.close()
    return batch
