"""The interactive web map (``map.html``): one self-contained HTML file, no network needed.

Leaflet 1.9.4 (BSD-2, ``assets/LEAFLET-LICENSE``) and the page's own script are
inlined, so the map opens from disk on a laptop with no network. Basemap tiles
are optional: none (default), OpenStreetMap, or 天地图 with the user's token —
all in WGS 84 / CGCS2000 (no GCJ-02 basemap is offered, so no data shift is
needed or made).

Display coordinates are geographic, EPSG:4326 (CGCS2000, EPSG:4490, differs from
it by centimetres), converted from the working Gauss-Krüger CRS and simplified
by 0.5 m for display only; the legend says so.

Safety: every attribute value travels as JSON inside a non-executed
``<script type="application/json">`` block (with ``<``, ``>``, ``&`` escaped; see
:mod:`landgis.maps.pagejson`), and the page script puts it into the document only
with ``textContent`` — an owner name with markup in it shows as text. A
Content-Security-Policy allows only the page's own scripts (by hash), so even an
injected handler would not run.

Scale: geometry is sent as delta-encoded integer strings (about 3 bytes per
coordinate; see :mod:`landgis.maps.encode`), one newline-joined string per layer;
a repetitive column (towns, reasons, class names) as its distinct texts and a
number per row, expanded by the page. The page draws the parcels and constraints
in view as canvas polygons when there are at most ``detail_limit`` of them, and
otherwise draws each parcel as a dot coloured by verdict (county overview), so a
county of 100 000 parcels stays usable.
"""

from __future__ import annotations

import base64
import hashlib
import html
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from landgis.distinct import first_positions, map_distinct, map_factorized
from landgis.inventory import data_only
from landgis.maps._data import CONSTRAINT_STYLE, MapData, drawable, map_data, text
from landgis.maps.encode import SIMPLIFY_M, display_geometries, encode_geometries, to_lonlat
from landgis.maps.pagejson import RawJSON, json_parts_for_html, raw_json
from landgis.schema import M2_PER_MU, VERDICT_ZH
from landgis.threads import query_in_threads

__all__ = ["web_map", "WebMap", "VERDICT_COLOURS", "BASEMAPS"]

VERDICT_COLOURS = {"eligible": "#1a9850", "conditional": "#f28e2b", "ineligible": "#d73027"}
VERDICTS = ("eligible", "conditional", "ineligible")
BASEMAPS = ("none", "osm", "tianditu")

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
_ASSETS = resources.files("landgis.maps") / "assets"


@cache
def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


@cache
def _leaflet_css() -> str:
    css = _asset("leaflet.css")
    for img in ("layers.png", "layers-2x.png", "marker-icon.png"):
        data = base64.b64encode((_ASSETS / "images" / img).read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{img})", f"url(data:image/png;base64,{data})")
    return css


def _layer_payload(frame: gpd.GeoDataFrame, tolerance: float = SIMPLIFY_M) -> tuple[np.ndarray, str]:
    ok = drawable(frame)
    sub = frame.loc[ok]
    geoms = display_geometries(sub, tolerance)
    keep = ~shapely.is_empty(geoms)
    return np.flatnonzero(ok)[keep], encode_geometries(geoms[keep], crs=frame.crs, joined=True)


#: the geometry line of a conflict piece that is its parcel's own geometry (not in the encoding's alphabet)
SAME_AS_PARCEL = "="


def _conflict_payload(conflicts: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame,
                      tolerance: float = SIMPLIFY_M) -> tuple[np.ndarray, str, np.ndarray]:
    """The conflict pieces to draw: (their rows, their geometry lines, each one's parcel on the page).

    ``parcels`` are the parcels as drawn, in the page's order. A piece's parcel is the
    first drawn parcel of its ``parcel_id`` (-1: none is drawn). A piece that is its
    parcel's own geometry, vertex for vertex (a parcel wholly on farmland or in the
    red line, or tiled by agricultural patches: a large share of a county's pieces),
    is sent as :data:`SAME_AS_PARCEL` and drawn from the parcel's decoded
    rings, so the page carries its coordinates once.
    """
    ok = drawable(conflicts)
    sub = conflicts.loc[ok]
    parcel = first_positions(parcels["parcel_id"], sub["parcel_id"])
    same = parcel >= 0
    same[same] = shapely.equals_identical(np.asarray(sub.geometry.values, dtype=object)[same],
                                          np.asarray(parcels.geometry.values, dtype=object)[parcel[same]])
    own = np.flatnonzero(~same)
    geoms = display_geometries(sub.iloc[own], tolerance)
    keep = ~shapely.is_empty(geoms)
    lines = np.full(len(sub), SAME_AS_PARCEL, dtype=object)
    lines[own[keep]] = encode_geometries(geoms[keep], crs=conflicts.crs)
    rows = np.sort(np.concatenate([np.flatnonzero(same), own[keep]]))
    return np.flatnonzero(ok)[rows], "\n".join(lines[rows].tolist()), parcel[rows]


def _col(frame: pd.DataFrame, name: str, shared: bool = True) -> RawJSON:
    """A column as display text (its JSON, see :func:`raw_json`); each distinct value is converted once.

    A repetitive column (towns, verdict reasons, class names: fewer distinct values
    than half its rows) is sent as its distinct texts and one number per row,
    ``{"v": [...], "c": [...]}``, which the page expands (``cols`` in
    ``landgis-map.js``): a county's page is smaller and made faster.
    """
    if name not in frame:
        return raw_json([""] * len(frame))
    factorized = map_factorized(frame[name], text, missing="") if shared else None
    if factorized is None:
        return raw_json(_texts(frame, name).tolist())
    codes, mapped = factorized
    if len(mapped) > len(codes) // 2:
        return raw_json(mapped[codes].tolist())
    return raw_json({"v": mapped.tolist(), "c": codes.tolist()})


def _texts(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as display text, an object array ("" throughout when the column is absent)."""
    if name not in frame:
        return np.full(len(frame), "", dtype=object)
    return map_distinct(frame[name], text, missing="")


def _num(frame: pd.DataFrame, name: str, digits: int) -> RawJSON:
    if name not in frame:
        return raw_json([None] * len(frame))
    vals = pd.to_numeric(frame[name], errors="coerce").round(digits).to_numpy(dtype=float, na_value=np.nan)
    return raw_json(np.where(np.isnan(vals), None, vals).tolist())


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


def _payload(data: MapData, basemap: str, tianditu_token: str | None, detail_limit: int) -> dict[str, Any]:
    inv = data.inventory
    ok = drawable(inv)
    idx, enc = _layer_payload(inv)
    sel = inv.iloc[idx]
    verdict = inv["verdict"].astype(str).to_numpy()
    area = pd.to_numeric(inv["area_m2"], errors="coerce").fillna(0.0).to_numpy()
    counts = {v: {"n": int((verdict == v).sum()), "mu": round(float(area[verdict == v].sum() / M2_PER_MU), 2)}
              for v in VERDICTS}
    if "reasons" in inv:  # conditional only for want of data: said beside the conditional count
        counts["conditional"]["data_only"] = int(data_only(inv).sum())
    parcels = {
        "g": enc,
        "id": _col(sel, "parcel_id"), "owner": _col(sel, "owner"), "town": _col(sel, "town"),
        "village": _col(sel, "village"), "m2": _num(sel, "area_m2", 2), "mu": _num(sel, "area_mu", 4),
        "use": _col(sel, "planned_use"), "use_name": _col(sel, "planned_use_name"),
        "survey": _col(sel, "survey_class_name"),
        "v": np.where((v := pd.Index(VERDICTS).get_indexer(sel["verdict"].astype(object))) < 0, 2, v).tolist(),
        "reasons": _col(sel, "reasons"), "legacy": _col(sel, "legacy"),
        "legacy_basis": _col(sel, "legacy_basis"), "notes": _col(sel, "notes"),
    }
    missing = inv.loc[~np.isin(np.arange(len(inv)), idx)]
    layers: list[dict[str, Any]] = []
    for role, (label, colour) in CONSTRAINT_STYLE.items():
        frame = data.layers.get(role)
        if frame is None or not len(frame):
            continue
        _, g = _layer_payload(frame)
        layers.append({"key": role, "name": label, "colour": colour, "g": g, "show": True,
                       "kind": "constraint"})
    zoning = data.layers.get("zoning")
    zoning_note = ""
    if zoning is not None and len(zoning) > _ZONING_ALL_LIMIT and ok.any():
        # a county's plan has 100k+ patches (tens of MB of page); the briefing needs
        # the planned use of the candidate parcels, so only patches touching a parcel are drawn
        touching = _meeting_any(np.asarray(zoning.geometry.values, dtype=object),
                               np.asarray(inv.geometry.values, dtype=object)[ok])
        zoning_note = f"仅显示与地块相交的 {len(touching):,} 个图斑（共 {len(zoning):,} 个）"
        zoning = zoning.iloc[touching]
    if zoning is not None and len(zoning):
        zi, g = _layer_payload(zoning)
        codes = _texts(zoning.iloc[zi], "class_code")
        from landgis.codes import code_table

        table = code_table("zoning")
        names = {c: table.lookup(c).name for c in set(codes)}
        classes = sorted({c[:2] for c in names if c[:2] in ZONING_CLASSES})
        layers.append({"key": "zoning", "name": "规划用途" + (f"（{zoning_note}）" if zoning_note else ""),
                       "kind": "zoning", "g": g, "show": False,
                       "code": raw_json(codes.tolist()), "code_name": raw_json([names.get(c, "") for c in codes]),
                       "classes": {k: list(ZONING_CLASSES[k]) for k in classes},
                       "other": list(_OTHER_ZONING)})
    conf = data.conflicts
    if conf is not None and len(conf):
        ci, g, parcel_of = _conflict_payload(conf, sel)
        sub = conf.iloc[ci]
        layers.append({"key": "conflicts", "name": "冲突范围", "kind": "conflicts", "colour": "#111111",
                       "g": g, "show": True, "parcel": raw_json(parcel_of.tolist()), "rule": _col(sub, "rule"),
                       "m2": _num(sub, "area_m2", 2)})
    if ok.any():
        lonlat = to_lonlat(CRS.from_user_input(inv.crs))
        bounds = np.array(lonlat.transform_bounds(*shapely.total_bounds(inv.geometry.values[ok])))
    else:
        bounds = np.array([0.0, 0.0, 0.0, 0.0])
    epsg = data.crs.to_epsg()
    return {
        "title": data.title, "profile": data.profile, "data_date": data.data_date,
        "working_crs": data.crs_label(), "working_epsg": epsg,
        "verdicts": [{"key": v, "name": VERDICT_ZH[v], "colour": VERDICT_COLOURS[v], **counts[v]} for v in VERDICTS],
        "total": int(len(inv)), "not_drawn": _col(missing, "parcel_id", shared=False),
        "parcels": parcels, "layers": layers, "rules": {k: dict(v) for k, v in data.rules.items()},
        "bounds": [[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]],
        "basemap": basemap, "tianditu": tianditu_token or "", "detail_limit": int(detail_limit),
    }


class WebMap:
    """A rendered map page: ``.save(path)``, ``.html`` and inline display in Jupyter."""

    def __init__(self, page: str | list[str]):
        self._parts = [page] if isinstance(page, str) else list(page)

    @property
    def html(self) -> str:
        """The whole page as one string."""
        return "".join(self._parts)

    def save(self, path: str | Path) -> Path:
        """Write the page (UTF-8), part by part: the county page is never encoded whole."""
        path = Path(path)
        with open(path, "w", encoding="utf-8", newline="") as out:
            for part in self._parts:
                out.write(part)
        return path

    def _repr_html_(self) -> str:
        return ('<iframe style="width:100%;height:600px;border:1px solid #ccc" '
                f'sandbox="allow-scripts allow-popups" srcdoc="{html.escape(self.html, quote=True)}"></iframe>')

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)


def web_map(result: Any, *, basemap: str = "none", tianditu_token: str | None = None,
            detail_limit: int = 6000) -> WebMap:
    """The interactive map of a screening.

    Parameters
    ----------
    result
        a :class:`~landgis.result.ScreeningResult` or a :class:`~landgis.maps.MapData`.
    basemap
        basemap shown when the page opens: ``"none"`` (default; works offline),
        ``"osm"`` (OpenStreetMap) or ``"tianditu"`` (天地图, needs ``tianditu_token``).
        Every basemap given is offered in the layer switcher; all are WGS 84 / CGCS2000.
    tianditu_token
        a 天地图 key (tk); without it 天地图 is not offered.
    detail_limit
        at most this many features in view are drawn as polygons; beyond it parcels
        show as dots (the county overview) and constraint layers wait for a closer zoom.
    """
    if basemap not in BASEMAPS:
        raise ValueError(f"basemap is {basemap!r}; use one of {', '.join(BASEMAPS)}")
    if basemap == "tianditu" and not tianditu_token:
        raise ValueError("basemap 'tianditu' needs tianditu_token (the tk key issued by 天地图)")
    data = map_data(result)
    from landgis._runtime import release_free_memory

    release_free_memory()
    payload = _payload(data, basemap, tianditu_token, detail_limit)
    return WebMap(render_page_parts(payload, consume=True))


def render_page(payload: dict[str, Any]) -> str:
    """The HTML page for a map payload (everything inlined)."""
    return "".join(render_page_parts(payload))


def render_page_parts(payload: dict[str, Any], consume: bool = False) -> list[str]:
    """:func:`render_page` in parts (head, the data's parts, tail), never copied into one page string.

    ``consume=True`` empties ``payload`` while its JSON is made (see :func:`json_parts_for_html`).
    """
    boot = ("window.__landgisErrors=[];window.addEventListener('error',function(e){"
            "window.__landgisErrors.push(String(e.message||e));});")
    leaflet_js = _asset("leaflet.js")
    page_js = _asset("landgis-map.js")
    scripts = [boot, leaflet_js, page_js]
    for s in scripts:
        assert "</script" not in s.lower()
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
                      for s in scripts)
    csp = (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
           "img-src data: https://tile.openstreetmap.org https://*.tianditu.gov.cn; "
           "connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'")
    title = html.escape(str(payload.get("title", "")) + " — 入市筛查地图")
    head = (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{html.escape(csp)}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{title}</title>\n"
        f"<script>{boot}</script>\n"
        f"<style>{_leaflet_css()}</style>\n<style>{_asset('landgis-map.css')}</style>\n"
        f"<script>{leaflet_js}</script>\n</head>\n<body>\n<div id=\"map\"></div>\n"
        "<script type=\"application/json\" id=\"landgis-data\">"
    )
    data = json_parts_for_html(payload, consume=consume)
    return [head, *data, f"</script>\n<script>{page_js}</script>\n</body>\n</html>\n"]
