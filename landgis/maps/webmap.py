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

Scale: the page's data is made by :mod:`landgis.maps.pagedata`: geometry as chained,
delta-encoded integer strings (about 3 bytes per coordinate; see
:mod:`landgis.maps.encode`), attributes as packed columns (:mod:`landgis.maps.columns`).
The page decodes them into typed arrays of Web Mercator coordinates and draws
every layer itself on one canvas: each feature as its polygon wherever it spans
more than two pixels, as a two-pixel dot elsewhere, so a county of 150 000
parcels shows whole at county extent and a click finds its parcel at any zoom.
"""

from __future__ import annotations

import base64
import hashlib
import html
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from landgis.maps._data import map_data
from landgis.maps.pagedata import page_payload
from landgis.maps.pagejson import json_parts_for_html

__all__ = ["web_map", "WebMap", "BASEMAPS"]

BASEMAPS = ("none", "osm", "tianditu")
#: the page scripts, in order: Leaflet, then the page's own
_SCRIPTS = ("leaflet.js", "landgis-map.js")
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
            size_budget_mb: float = 12.0) -> WebMap:
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
    size_budget_mb
        the page's size the constraint layers (永久基本农田, 生态保护红线, 城镇开发边界,
        规划用途) may fill up to: beyond it they are simplified for display by 1, 2, 5, 10
        or 20 m until they fit (the legend says by how much). Parcels and conflict
        pieces are always drawn to 0.5 m.
    """
    if basemap not in BASEMAPS:
        raise ValueError(f"basemap is {basemap!r}; use one of {', '.join(BASEMAPS)}")
    if basemap == "tianditu" and not tianditu_token:
        raise ValueError("basemap 'tianditu' needs tianditu_token (the tk key issued by 天地图)")
    data = map_data(result)
    from landgis._runtime import release_free_memory

    release_free_memory()
    payload = page_payload(data, basemap, tianditu_token, size_budget_mb)
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
    leaflet_js, page_js = (_asset(name) for name in _SCRIPTS)
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
