"""map.html in a real browser: headless Chromium, no network, driven over the DevTools pipe.

The DevTools protocol is spoken over ``--remote-debugging-pipe`` (file descriptors
3 and 4, NUL-separated JSON), so no extra package and no port are needed. The
tests check what a person would: the parcels are drawn, no script error, nothing
fetched from the network, a hostile owner name shows as text and runs nothing,
search finds a parcel and its popup shows the reasons with their articles.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

import landgis
from landgis.maps import web_map

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_county.toml"
#: the newest popup's text (a closed popup fades out for 200 ms before it leaves the page)
POPUP_TEXT = "Array.from(document.querySelectorAll('.leaflet-popup-content')).pop().textContent"
EVIL = '<img src=x onerror="window.__pwned=1">"><script>window.__pwned=2</script></script>&amp;村'


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Chromium:
    """A headless Chromium page driven over the DevTools pipe.

    >>> Chromium  # doctest: +ELLIPSIS
    <class '...Chromium'>
    """

    def __init__(self, exe: str, width: int = 1400, height: int = 900):
        self._profile = tempfile.mkdtemp(prefix="landgis-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds() -> None:  # the browser reads commands on fd 3 and answers on fd 4
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={self._profile}", "--remote-debugging-pipe",
                f"--window-size={width},{height}", "about:blank"]
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=child_fds, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._id = 0
        self._replies: dict[int, dict] = {}
        self._events: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.errors: list[str] = []
        self.requests: list[str] = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Runtime.enable", "Page.enable", "Log.enable", "Network.enable"):
            self.send(method, session=True)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=True)

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._replies[-1] = {"closed": True}
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cond:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()
                else:
                    self._on_event(msg)

    def _on_event(self, msg: dict) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = params["exceptionDetails"]
            self.errors.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append("log: " + params["entry"]["text"])
        elif method == "Runtime.consoleAPICalled" and params["type"] == "error":
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                       for a in params["args"]))
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        self._events.put(msg)

    def send(self, method: str, params: dict | None = None, session: bool = False, timeout: float = 60) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._id not in self._replies:
                if -1 in self._replies or time.monotonic() > deadline:
                    raise RuntimeError(f"chromium gave no answer to {method}")
                self._cond.wait(0.1)
            reply = self._replies.pop(self._id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def open(self, path: Path, timeout: float = 120) -> float:
        """Load a file and wait for its load event; seconds taken."""
        t0 = time.perf_counter()
        while not self._events.empty():
            self._events.get_nowait()
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ev = self._events.get(timeout=0.5)
            except queue.Empty:
                continue
            if ev.get("method") == "Page.loadEventFired":
                return time.perf_counter() - t0
        raise RuntimeError(f"{path} did not finish loading in {timeout} s")

    def eval(self, expression: str):
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True}, session=True)
        if "exceptionDetails" in res:
            raise RuntimeError(res["exceptionDetails"].get("exception", {}).get("description", "error"))
        return res["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except RuntimeError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        shutil.rmtree(self._profile, ignore_errors=True)


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample county's input warnings are tested elsewhere
        res = landgis.screen(SAMPLE)
    inv = res.inventory.copy()
    ok = inv.index[inv["geometry_status"] != "unrepairable"]
    # a village record with markup in the owner name, and one in a town name
    inv.loc[ok[0], "owner"] = EVIL
    inv.loc[ok[1], "town"] = "</script><script>window.__pwned=3</script>"
    res.inventory = inv
    return res


@pytest.fixture(scope="module")
def page_path(result, tmp_path_factory):
    path = tmp_path_factory.mktemp("webmap") / "map.html"
    web_map(result).save(path)
    return path


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")
    b = Chromium(exe)
    yield b
    b.close()


@pytest.fixture(scope="module")
def loaded(browser, page_path):
    seconds = browser.open(page_path)
    deadline = time.monotonic() + 30
    while not browser.eval("!!(window.landgis && window.landgis.ready)"):
        if time.monotonic() > deadline:
            raise AssertionError(f"map never became ready; page errors: {browser.errors}")
        time.sleep(0.1)
    return browser, seconds


# ------------------------------------------------------------------ the page itself (no browser)

def test_page_is_self_contained(page_path, result):
    page = page_path.read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in page                      # inlined, not linked
    assert "<script src" not in page and "<link" not in page
    assert EVIL not in page                             # the JSON block holds it escaped
    assert page.count("</script>") == 4                 # boot, leaflet, data, page script: nothing injected
    assert "Content-Security-Policy" in page
    size = page_path.stat().st_size
    assert size < 2_000_000, size


def test_repr_html_and_save(result, tmp_path):
    m = result.map()
    assert "<iframe" in m._repr_html_() and "srcdoc=" in m._repr_html_()
    assert m.save(tmp_path / "x.html").read_text(encoding="utf-8") == m.html


def test_bad_basemap_is_refused(result):
    with pytest.raises(ValueError, match="tianditu_token"):
        web_map(result, basemap="tianditu")
    with pytest.raises(ValueError, match="none, osm, tianditu"):
        web_map(result, basemap="amap")


# ------------------------------------------------------------------ in Chromium

def test_parcels_drawn_without_errors_or_network(loaded, result):
    browser, seconds = loaded
    stats = browser.eval("window.landgis.stats()")
    drawable = int((result.inventory["geometry_status"] != "unrepairable").sum())
    assert stats["parcels_drawn"] == drawable == browser.eval("window.landgis.parcels")
    assert stats["parcel_dots"] == 0
    assert stats["layers"]["farmland"] > 0 and stats["layers"]["conflicts"] > 0
    inv = result.inventory   # the parts partly enterable, outlined (a whole parcel's is its own outline)
    assert stats["layers"]["enterable"] == int(((inv["enterable_m2"] > 0)
                                                & (inv["enterable_m2"] < inv["area_m2"] - 0.005)).sum()) > 0
    assert browser.eval("window.__landgisErrors") == []
    assert browser.errors == []
    assert [u for u in browser.requests if not u.startswith(("file:", "data:"))] == []
    legend = browser.eval("document.querySelector('.lg-legend').textContent")
    for word in ("可入市", "有条件入市", "不可入市", "永久基本农田", "生态保护红线", "城镇开发边界", "EPSG:4326"):
        assert word in legend
    assert browser.eval("document.querySelector('.leaflet-control-scale-line').textContent").endswith("m")
    assert seconds < 30


def test_hostile_owner_is_text_and_runs_nothing(loaded, result):
    browser, _ = loaded
    pid = result.inventory.loc[result.inventory["owner"] == EVIL, "parcel_id"].iloc[0]
    assert browser.eval(f"window.landgis.showParcel({json.dumps(pid)})") is True
    popup = browser.eval(POPUP_TEXT)
    assert EVIL in popup
    assert browser.eval("document.querySelectorAll('.leaflet-popup-content img, .leaflet-popup-content script')"
                        ".length") == 0
    pid2 = result.inventory.loc[result.inventory["town"].str.contains("script"), "parcel_id"].iloc[0]
    assert browser.eval(f"window.landgis.showParcel({json.dumps(pid2)})") is True
    assert "</script><script>" in browser.eval(POPUP_TEXT)
    time.sleep(0.3)
    assert browser.eval("typeof window.__pwned") == "undefined"
    assert browser.errors == []


def test_popup_shows_reasons_with_articles(loaded, result):
    browser, _ = loaded
    inv = result.inventory
    row = inv[inv["reasons"].str.contains("FARMLAND", na=False)].iloc[0]
    rule = next(r for r in result.profile.rules if r.id == "FARMLAND")
    browser.eval(f"window.landgis.showParcel({json.dumps(row['parcel_id'])})")
    popup = browser.eval(POPUP_TEXT)
    for part in (row["parcel_id"], row["owner"], row["town"], "亩", "平方米", "不可入市", rule.title_zh,
                 rule.text_zh, result.profile.citation(rule)):
        assert part in popup, part
    assert f"{row['area_mu']:.4f}" in popup


def test_search_box(loaded, result):
    browser, _ = loaded
    pid = result.inventory["parcel_id"].iloc[5]
    browser.eval(f"""(function(){{var i=document.querySelector('.lg-search'); i.value={json.dumps(pid[-6:])};
        document.querySelector('.lg-btn').click();}})()""")
    hits = browser.eval("Array.from(document.querySelectorAll('.lg-hit')).map(function(e){return e.textContent})")
    assert any(h.startswith(pid) for h in hits)
    browser.eval("document.querySelector('.lg-hit').click()")
    assert browser.eval("Array.from(document.querySelectorAll('.lg-pop-title')).pop().textContent") in \
        [h.split(" ")[0] for h in hits]


def _click(browser: Chromium, x: float, y: float) -> None:
    """A real mouse click at a point of the page (CSS pixels)."""
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        browser.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
                     session=True)


def test_county_extent_draws_every_parcel_and_a_click_finds_it(loaded, result):
    """Zoomed far out, every parcel is drawn (a dot where under two pixels, was: dots only past a count,
    constraint layers not at all); a click on a dot opens that parcel's popup; zoomed in, polygons."""
    browser, _ = loaded
    drawable = int((result.inventory["geometry_status"] != "unrepairable").sum())
    browser.eval("window.landgis.chooseTown(null); void window.landgis.map.setZoom(10, {animate: false})")
    stats = browser.eval("window.landgis.stats()")
    assert stats["parcels_drawn"] + stats["parcel_dots"] == drawable and stats["parcel_dots"] > drawable // 2
    assert stats["layers"]["farmland"] == 535 and stats["layers"]["redline"] == 2 and stats["layers"]["admin"] == 4
    # the parcel under a dot: found by the page and opened by a real click there (dots a pixel apart
    # overlap: the click gets the parcel nearest the pixel clicked, most often the one aimed at)
    ids = result.inventory["parcel_id"].tolist()
    aimed = []
    for pid in ids[::37]:
        at = browser.eval(f"""(function () {{ var m = window.landgis.map, i = {json.dumps(pid)};
            var g = window.landgis.geometry('parcels', window.landgis.index(i))[0], la = 0, ln = 0;
            g.forEach(function (p) {{ la += p[0] / g.length; ln += p[1] / g.length; }});
            var c = m.latLngToContainerPoint([la, ln]).round(), ll = m.containerPointToLatLng(c);
            return [c.x, c.y, window.landgis.parcelAt(ll.lat, ll.lng)]; }})()""")
        assert at[2] is not None
        browser.eval("void window.landgis.map.closePopup()")   # the last popup may cover this point
        time.sleep(0.25)                                         # (it fades out for 0.2 s)
        _click(browser, at[0], at[1])
        time.sleep(0.1)
        assert browser.eval("Array.from(document.querySelectorAll('.lg-pop-title')).pop().textContent") == at[2]
        aimed.append(at[2] == pid)
    assert sum(aimed) > len(aimed) / 2, aimed
    browser.eval("void window.landgis.map.closePopup()")
    assert browser.eval(f"window.landgis.showParcel({json.dumps(ids[3])})") is True
    stats = browser.eval("window.landgis.stats()")
    assert stats["parcels_drawn"] > 0 and stats["parcel_dots"] == 0
    assert browser.errors == []


def test_towns_are_named_and_the_statistics_panel_filters_by_town(loaded, result):
    browser, _ = loaded
    inv = result.inventory
    browser.eval("window.landgis.chooseTown(null)")
    towns = sorted(set(inv["town"]) - {""})
    named = browser.eval("window.landgis.stats().labels")
    assert {"城关镇", "五通镇", "会仙镇", "两江镇"} <= set(named)
    panel = browser.eval("document.querySelector('.lg-stats').textContent")
    assert panel.startswith("统计（全部地块）") and "合计" in panel and f"{len(inv)}" in panel
    bars = browser.eval("Array.from(document.querySelectorAll('.lg-bar')).map(function (b) { return b.getAttribute('data-town'); })")
    assert sorted(bars) == towns
    # every town's figures are the inventory's, parcels not drawn (invalid geometry) included
    assert (inv["geometry_status"] == "unrepairable").sum() > 0
    for town in towns:
        browser.eval(f"window.landgis.chooseTown({json.dumps(town)})")
        panel = browser.eval("document.querySelector('.lg-stats').textContent")
        mine = inv[inv["town"] == town]
        assert panel.startswith(f"统计：{town}")
        cells = browser.eval("Array.from(document.querySelectorAll('.lg-stat tr')).slice(1).map(function (r) {"
                             " return Array.from(r.children).map(function (c) { return c.textContent; }); })")
        for verdict, row in zip(("eligible", "conditional", "ineligible"), cells, strict=False):
            part = mine[mine["verdict"] == verdict]
            assert row[1:] == [str(len(part)), f"{part['area_m2'].sum() * 15 / 10000:,.2f}"], (town, verdict, row)
        assert cells[3][0] == "合计" and cells[3][1] == str(len(mine))
    town = "五通镇"
    browser.eval(f"document.querySelector('.lg-bar[data-town=\"{town}\"]').click()")
    assert browser.eval("document.querySelector('.lg-stats').textContent").startswith(f"统计：{town}")
    mine = inv[inv["town"] == town]
    # the map zoomed to the town: its parcels are in view, the others' dimmed but drawn
    inside = browser.eval(f"""(function () {{ var b = window.landgis.map.getBounds(); var n = 0;
        {json.dumps(mine['parcel_id'].tolist()[:40])}.forEach(function (id) {{
          var g = window.landgis.geometry('parcels', window.landgis.index(id))[0];
          if (b.contains(g[0])) {{ n++; }} }}); return n; }})()""")
    assert inside == min(40, len(mine))
    browser.eval("document.querySelector('.lg-back').click()")
    assert browser.eval("document.querySelector('.lg-stats').textContent").startswith("统计（全部地块）")
    assert browser.errors == []


def test_presentation_mode_and_the_printed_sheet(result, tmp_path):
    """演示模式: large type, the search box gone; printed (A3 landscape): title, dates, 制图单位, legend,
    north arrow and scale bar shown, every control hidden."""
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")
    from landgis.maps import map_data

    data = map_data(result)
    data.organisation = "桂南县自然资源局"
    path = web_map(data).save(tmp_path / "brief.html")
    b = Chromium(exe)
    try:
        b.open(path)
        assert b.eval("document.querySelector('.lg-head').textContent").count("制图单位：桂南县自然资源局") == 1
        size = lambda q: float(b.eval(f"parseFloat(getComputedStyle(document.querySelector('{q}')).fontSize)"))
        before = size(".lg-title")
        b.eval("document.querySelector('.lg-present-btn').click()")
        assert b.eval("document.body.classList.contains('lg-present')") is True
        assert size(".lg-title") >= 1.7 * before and size(".lg-stats") >= 16
        assert b.eval("getComputedStyle(document.querySelector('.lg-searchbox')).display") == "none"
        assert b.eval("document.querySelector('.lg-present-btn').textContent") == "退出演示"
        b.eval("document.querySelector('.lg-present-btn').click()")
        assert b.eval("document.body.classList.contains('lg-present')") is False
        b.send("Emulation.setEmulatedMedia", {"media": "print"}, session=True)
        time.sleep(0.2)
        # the map takes the sheet's size (was: the window's, the sheet cut off or half empty)
        assert b.eval("(function () { var s = window.landgis.map.getSize(); return [s.x, s.y]; })()") == b.eval(
            "[document.getElementById('map').clientWidth, document.getElementById('map').clientHeight]")
        shown = lambda q: b.eval(f"getComputedStyle(document.querySelector('{q}')).display") != "none"
        for q in (".leaflet-control-zoom", ".leaflet-control-layers", ".lg-searchbox", ".lg-present-btn"):
            assert not shown(q), q
        for q in (".lg-head", ".lg-legend", ".lg-north", ".leaflet-control-scale", ".lg-stats"):
            assert shown(q), q
        head = b.eval("document.querySelector('.lg-head').textContent")
        assert result.project.name in head and "数据日期" in head and "制图日期" in head
        pdf = b.send("Page.printToPDF", {"landscape": True, "paperWidth": 16.54, "paperHeight": 11.69,
                                         "printBackground": True, "preferCSSPageSize": True}, session=True)
        assert base64.b64decode(pdf["data"]).startswith(b"%PDF")
        assert b.errors == []
    finally:
        b.close()


def test_constraint_layers_are_simplified_to_fit_the_page_budget(result):
    """Past its size budget the page draws the constraint layers simplified (and says by how much);
    parcels and conflict pieces keep their 0.5 m."""
    full = web_map(result)
    small = web_map(result, size_budget_mb=0.07)
    data = {k: json.loads(v.html.split('id="landgis-data">')[1].split("</script>")[0]) for k, v in
            (("full", full), ("small", small))}
    farmland = {k: next(layer for layer in d["layers"] if layer["key"] == "farmland") for k, d in data.items()}
    assert farmland["full"]["simplified_m"] == 0.5 and farmland["full"]["precision"] == 1e6
    assert farmland["small"]["simplified_m"] > 0.5 and farmland["small"]["precision"] < 1e6
    assert len(farmland["small"]["g"]) < 0.6 * len(farmland["full"]["g"])
    assert farmland["small"]["g"].count("\n") == farmland["full"]["g"].count("\n")   # no patch goes missing
    assert data["small"]["parcels"]["g"] == data["full"]["parcels"]["g"]
    assert len(small) < len(full)


def test_villages_of_one_name_in_two_towns_and_towns_coded_in_twelve_digits(result):
    """Two towns' villages both named 新村 are labelled each; an admin layer coded as 统计用区划代码
    (towns 450399101000) draws towns, not villages."""
    from landgis.maps import map_data

    data = map_data(result)
    inv = data.inventory.copy()
    inv.loc[inv["village"] == "大塘村", "village"] = "新村"      # in 城关镇
    inv.loc[inv["village"] == "三合村", "village"] = "新村"      # in 五通镇
    data.inventory = inv
    admin = data.layers["admin"].copy()
    admin["code"] = admin["code"].astype(str) + "000"
    data.layers = {**data.layers, "admin": admin}
    page = json.loads(web_map(data).html.split('id="landgis-data">')[1].split("</script>")[0])
    assert [name for name, level, _, _ in page["labels"]].count("新村") == 2
    assert page["towns_from"] == "admin"
    towns = [n for n, level, _, _ in page["labels"] if level == "town"]
    assert all(towns.count(name) == 1 for name in admin["name"])        # labelled once, from the admin layer


def test_a_conflict_of_a_shared_id_goes_to_the_parcel_it_lies_in():
    import geopandas as gpd

    from landgis.maps import pagedata

    crs = "EPSG:4547"
    parcels = gpd.GeoDataFrame({"parcel_id": ["X", "X"]},
                               geometry=[shapely.box(500_000, 2_800_000, 500_100, 2_800_100),
                                         shapely.box(500_200, 2_800_000, 500_300, 2_800_100)], crs=crs)
    pieces = gpd.GeoDataFrame({"parcel_id": ["X", "X"], "rule": ["FARMLAND"] * 2, "area_m2": [100.0, 100.0]},
                              geometry=[shapely.box(500_250, 2_800_000, 500_260, 2_800_010),
                                        shapely.box(500_000, 2_800_000, 500_010, 2_800_010)], crs=crs)
    _, _, parcel = pagedata._conflict_payload(pieces, parcels)
    assert parcel.tolist() == [1, 0]


def test_nothing_drawable_opens_on_the_other_layers(result):
    from landgis.maps import map_data

    data = map_data(result)
    inv = data.inventory.copy()
    inv["geometry"] = None
    data.inventory = inv
    page = json.loads(web_map(data).html.split('id="landgis-data">')[1].split("</script>")[0])
    (south, west), (north, east) = page["bounds"]
    assert 24 < south < north < 26 and 110 < west < east < 112          # the sample county, not 0°N 0°E
    assert len(page["not_drawn"]) == len(inv)


def test_towns_named_from_the_parcels_without_an_admin_layer(result):
    from landgis.maps import map_data
    from landgis.maps.pagedata import admin_level

    data = map_data(result)
    data.layers = {k: v for k, v in data.layers.items() if k != "admin"}
    page = json.loads(web_map(data).html.split('id="landgis-data">')[1].split("</script>")[0])
    assert page["towns_from"] == "parcels" and not any(layer["kind"] == "admin" for layer in page["layers"])
    towns = {name for name, level, _, _ in page["labels"] if level == "town"}
    assert towns == set(result.inventory["town"]) - {""}
    villages = {name for name, level, _, _ in page["labels"] if level == "village"}
    assert villages == set(result.inventory["village"]) - {""}
    assert [admin_level(c, n) for c, n in (("450399", "桂南县"), ("450399101", "五通镇"), ("450399101203", "龙岩村"),
                                            ("", "城关街道"), ("", "龙岩村"), ("", "五通社区"))] == \
        ["county", "town", "village", "town", "village", "village"]


def test_written_by_screening(tmp_path):
    """ScreeningResult.write still produces map.html through web_map(...).save."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(SAMPLE)
    res.write(tmp_path / "out")
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    assert "landgis-data" in page and res.project.name in json.loads(
        page.split('id="landgis-data">')[1].split("</script>")[0])["title"]
    assert isinstance(pd.read_csv(tmp_path / "out" / "inventory.csv"), pd.DataFrame)


def _varints(ring: str) -> list[int]:
    """A ring's zig-zag integers, five bits per character (characters ?…~)."""
    values, shift, acc = [], 0, 0
    for ch in ring:
        b = ord(ch) - 63
        acc |= (b & 31) << shift
        shift += 5
        if b < 32:
            values.append((acc >> 1) ^ -(acc & 1))
            shift, acc = 0, 0
    return values


def _decode(text: str) -> list[list[list[tuple[float, float]]]]:
    """The page script's decoder, in Python: polygons ('!'), rings (' '), zig-zag 5-bit deltas (× 1e6)."""
    polys = []
    for poly in filter(None, text.split("!")):
        rings = []
        for ring in poly.split(" "):
            values = _varints(ring)
            x = y = 0
            pts = []
            for dx, dy in zip(values[::2], values[1::2], strict=True):
                x, y = (dx, dy) if not pts else (x + dx, y + dy)
                pts.append((x / 1e6, y / 1e6))
            rings.append(pts)
        polys.append(rings)
    return polys


def _decode_chained(lines: list[str], precision: float = 1e6) -> list[list[list[tuple[float, float]]]]:
    """The page script's decoder of a chained layer: each ring's first vertex from the previous ring's
    first (over all lines in order), no closing vertex (it is given back here), "=" lines passed over."""
    out, start = [], (0, 0)
    for line in lines:
        if line == "=":
            out.append("=")
            continue
        polys = []
        for poly in filter(None, line.split("!")):
            rings = []
            for ring in poly.split(" "):
                values = _varints(ring)
                pts = []
                for dx, dy in zip(values[::2], values[1::2], strict=True):
                    if not pts:
                        start = x, y = start[0] + dx, start[1] + dy
                    else:
                        x, y = x + dx, y + dy
                    pts.append((round(x / precision, 6), round(y / precision, 6)))
                rings.append(pts + pts[:1])
            polys.append(rings)
        out.append(polys)
    return out


def test_chained_strings_round_trip_and_are_shorter(monkeypatch):
    """The page's chained form: no closing vertex, ring starts from the previous ring's, across blocks."""
    from landgis.maps import encode

    square = shapely.box(110.1, 25.2, 110.1003, 25.2004)
    holed = square.difference(shapely.box(110.1001, 25.2001, 110.1002, 25.2002))
    multi = shapely.MultiPolygon([square, shapely.box(110.2, 25.3, 110.2005, 25.3001)])
    geoms = np.array([holed, multi, square, shapely.box(110.3, 25.1, 110.3001, 25.1001)], dtype=object)
    monkeypatch.setattr(encode, "_ENCODE_BLOCK", 3)  # a block boundary falls inside: the chain runs on
    chained = encode.encode_geometries(geoms, chained=True)
    plain = encode.encode_geometries(geoms)
    assert _decode_chained(chained) == [_decode(t) for t in plain]
    assert all(len(c) < len(p) for c, p in zip(chained[1:], plain[1:], strict=True))
    assert sum(map(len, chained)) < 0.8 * sum(map(len, plain))
    # a coarser step (1e-4 degree): the same corners, rounded to it
    (coarse,) = _decode_chained(encode.encode_geometries(geoms[2:3], precision=1e4, chained=True), 1e4)
    assert sorted(set(coarse[0][0])) == [(110.1, 25.2), (110.1, 25.2004), (110.1003, 25.2), (110.1003, 25.2004)]


def test_geometry_strings_round_trip_parts_holes_empties_and_blocks(monkeypatch):
    from landgis.maps import encode

    square = shapely.box(110.1, 25.2, 110.1003, 25.2004)
    holed = square.difference(shapely.box(110.1001, 25.2001, 110.1002, 25.2002))
    multi = shapely.MultiPolygon([square, shapely.box(110.2, 25.3, 110.2005, 25.3001)])
    geoms = np.array([holed, shapely.Polygon(), multi, square], dtype=object)
    monkeypatch.setattr(encode, "_ENCODE_BLOCK", 3)  # four geometries: a block boundary falls inside
    texts = encode.encode_geometries(geoms)
    assert len(texts) == 4 and texts[1] == ""
    for geom, text in zip(geoms, texts, strict=True):
        polys = [geom] if geom.geom_type == "Polygon" else list(geom.geoms)
        want = [[[tuple(round(c, 6) for c in xy) for xy in ring.coords] for ring in (p.exterior, *p.interiors)]
                for p in polys if not p.is_empty]
        assert _decode(text) == want


def test_geometry_strings_from_the_working_crs_are_lon_lat():
    from landgis.maps.encode import encode_geometries

    parcel = shapely.box(420000, 2790000, 420030, 2790020)  # EPSG:4546, CM 111°E
    (text,) = encode_geometries(np.array([parcel]), crs="EPSG:4546")
    (ring,) = _decode(text)[0]
    lon, lat = Transformer.from_crs(4546, 4326, always_xy=True).transform(*parcel.exterior.xy)
    assert ring == [(round(x, 6), round(y, 6)) for x, y in zip(lon, lat, strict=True)]


def test_page_data_made_in_parts_is_the_single_dump():
    from landgis.maps.pagejson import json_for_html, json_parts_for_html

    payload = {"title": "县 </script><!--", "parcels": {"g": ["a<b", "&"], "id": ["1", "2"], "empty": {}},
               "layers": [{"k": "\u2028"}], "n": 2, "none": None}
    whole = json_for_html(payload)
    parts = json_parts_for_html(json.loads(json.dumps(payload)))
    assert "".join(parts) == whole and len(parts) > 3
    assert json.loads(whole) == payload and "</script" not in whole and "<!--" not in whole


def test_polygon_ragged_is_shapelys_ragged_array():
    from landgis.ragged import polygon_ragged

    square = shapely.box(0, 0, 4, 4)
    holed = square.difference(shapely.box(1, 1, 2, 2))
    multi = shapely.MultiPolygon([holed, shapely.box(5, 0, 6, 1)])
    geoms = np.array([square, holed, shapely.box(7, 7, 9, 8), multi, shapely.box(10, 0, 11, 3)], dtype=object)
    _, want_coords, (ring, poly, geom) = shapely.to_ragged_array(geoms)
    coords, offsets = polygon_ragged(geoms)
    assert np.array_equal(coords, want_coords)
    assert [o.tolist() for o in offsets] == [ring.tolist(), poly.tolist(), geom.tolist()]
    # all plain polygons, and none plain: the same arrays as a Polygon-typed ragged array
    for only in (geoms[[0, 2, 4]], geoms[[1]]):
        _, want_coords, (ring, poly) = shapely.to_ragged_array(only)
        coords, offsets = polygon_ragged(only)
        assert np.array_equal(coords, want_coords)
        assert [o.tolist() for o in offsets] == [ring.tolist(), poly.tolist(), list(range(len(only) + 1))]


def test_polygon_ragged_tells_one_ring_from_the_coordinates_alone():
    # polygons and one-part multipolygons, with and without holes, in random order; a hole
    # touching the shell at the shell's first vertex, a repeated first vertex, and empties
    # among them: the arrays of shapely.to_ragged_array every time
    from landgis.ragged import polygon_ragged

    shell = shapely.box(0, 0, 4, 4)                                     # its first vertex is (4, 0)
    touching = shapely.Polygon(shell.exterior.coords, [[(4, 0), (3, 1), (3.5, 2), (4, 0)]])
    repeated = shapely.Polygon([(4, 0), (4, 0), (4, 4), (0, 4), (0, 0), (4, 0)])
    assert touching.is_valid and not shapely.get_num_interior_rings(repeated)
    kinds = [shell, shell.difference(shapely.box(1, 1, 2, 2)), touching, repeated, shapely.Polygon(),
             shapely.MultiPolygon(), shapely.MultiPolygon([shapely.box(5, 0, 6, 1), shapely.box(7, 0, 8, 1)])]
    kinds += [shapely.MultiPolygon([k]) for k in kinds[:4]]
    rng = np.random.default_rng(2)
    for _ in range(20):
        geoms = shapely.transform(np.array([kinds[i] for i in rng.integers(0, len(kinds), 12)], dtype=object),
                                  lambda xy: xy + [37_500_000, 2_800_000])
        promoted = geoms.copy()
        single = shapely.get_type_id(geoms) == 3
        promoted[single] = shapely.multipolygons(np.atleast_2d(geoms[single]), axis=0)
        _, want_coords, want = shapely.to_ragged_array(promoted)
        coords, offsets = polygon_ragged(geoms)
        assert np.array_equal(coords, want_coords)
        assert [o.tolist() for o in offsets] == [o.tolist() for o in want]


def test_display_simplification_of_rings_draws_what_geos_simplify_gives():
    from landgis.maps.encode import _simplified, encode_geometries

    rng = np.random.default_rng(3)

    def star(n, radius, x0=37_500_000, y0=2_800_000):
        angle = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = radius * rng.uniform(0.9, 1.0, n)
        return np.column_stack([x0 + r * np.cos(angle), y0 + r * np.sin(angle)])

    # red-line-like polygons of 30k-60k vertices, in no particular size order (the threaded
    # path), one with two holes, one a multipolygon with a sliver part that collapses, and
    # one whose sliver hole collapses
    sliver = shapely.Polygon([(37_503_000, 2_800_000), (37_503_100, 2_800_000),
                              (37_503_100, 2_800_000.01), (37_503_000, 2_800_000.01)])
    geoms = np.array([
        shapely.Polygon(star(60_000, 1000)),
        shapely.Polygon(star(30_000, 1000), [star(500, 100, x0=37_500_300), star(400, 100, x0=37_499_700)]),
        shapely.MultiPolygon([shapely.Polygon(star(45_000, 1000)), sliver]),
        shapely.Polygon(star(50_000, 1000), [shapely.affinity.translate(sliver, -3000).exterior.coords[::-1]]),
        shapely.MultiPolygon([shapely.Polygon(star(35_000, 1000)), shapely.Polygon(star(300, 50, x0=37_503_000))]),
    ], dtype=object)
    assert shapely.is_valid(geoms).all()
    got = _simplified(geoms, 0.5)
    want = shapely.simplify(geoms, 0.5, preserve_topology=False)
    assert (shapely.get_num_coordinates(got) < shapely.get_num_coordinates(geoms)).all()
    # the same rings vertex for vertex (GEOS gives a single polygon where one part is left)
    assert encode_geometries(got, crs="EPSG:4527") == encode_geometries(want, crs="EPSG:4527")
    assert shapely.get_num_interior_rings(got).tolist() == [0, 2, 0, 0, 0]
    assert shapely.get_num_geometries(got).tolist() == [1, 1, 1, 1, 2]
    # one thread (a small input) gives the same
    assert shapely.equals_identical(_simplified(geoms[4:], 0.5), got[4:]).all()
    # a polygon whose shell collapses comes back empty (the caller keeps the original); lines are
    # simplified as GEOS does
    # (even when, invalid, it has a ring that does not collapse: that is no shell)
    flat = np.array([sliver, shapely.Polygon(sliver.exterior, [shapely.box(0, 0, 10, 10).exterior.coords]),
                     shapely.LineString([(0, 0), (1, 1e-3), (2, 0)])], dtype=object)
    out = _simplified(flat, 0.5)
    assert out[0].is_empty and out[1].is_empty and out[2].equals(shapely.LineString([(0, 0), (2, 0)]))


def test_columns_travel_packed_and_come_back_whole():
    from landgis.maps.columns import ALPHABET, pack_ids, pack_numbers, pack_texts, unpack

    assert len(ALPHABET) == 88 and not set(ALPHABET) & set('\\"<>&')
    towns = ["甲镇", "乙镇", "甲镇", "", "甲镇", "乙镇"]
    packed = json.loads(pack_texts(towns))
    assert packed["w"] == 1 and len(packed["s"]) == 6 and unpack(packed) == towns
    many = [f"权利人{i}" for i in range(200)] * 2          # 200 distinct: two characters a row
    packed = json.loads(pack_texts(many))
    assert packed["w"] == 2 and unpack(packed) == many
    assert json.loads(pack_texts(["", ""])) == {"v": [""], "w": 0, "s": ""} and unpack(json.loads(pack_texts(["x"] * 3)), 3) == ["x"] * 3
    mixed = ["True", "1", "1", "", "1.0", "x"]
    assert unpack(json.loads(pack_texts(mixed))) == mixed
    areas = [1234.5678, None, 0.0, 98765432.1, float("nan")]
    assert unpack(json.loads(pack_numbers(areas, 4))) == [1234.5678, None, 0.0, 98765432.1, None]
    assert unpack(json.loads(pack_numbers([None, None], 2))) == [None, None]
    ids = ["450399103001JC00001", "450399103001JC00002", "450399103001JC00010", "", "X|Y"[:1], "450399103001JC00010"]
    packed = json.loads(pack_ids(ids))
    assert "front" in packed and unpack(packed) == ids and packed["front"].startswith("#450399103001JC00001|62|510|#|")
    assert json.loads(pack_ids(["a|b", "c"])) == ["a|b", "c"]     # the separator in an id: a plain list
    assert json.loads(pack_ids(["𠀀1", "𠀀2"])) == ["𠀀1", "𠀀2"]  # beyond the BMP: a plain list
    # a shared prefix is at most 87 characters; one very long id (a field mapped wrongly) costs its
    # own length, not the ids' count times it (a table of 20k × 20,000 code points was 2.4 GB)
    import tracemalloc

    long = [f"450399JC{i:06d}" for i in range(20_000)] + ["Z" * 20_000, "Z" * 20_000 + "a"]
    tracemalloc.start()
    packed = json.loads(pack_ids(long))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert unpack(packed) == long and peak < 50 * 2**20
    assert packed["front"].endswith("|" + ALPHABET[87] + "Z" * (20_000 - 87) + "a")


def test_page_json_with_columns_made_ahead_equals_the_json_of_the_values():
    """Columns serialized early (``raw_json``) sit in the page's JSON exactly where their values would."""
    from landgis.maps.pagejson import json_for_html, json_parts_for_html, raw_json

    def payload(raw):
        wrap = raw_json if raw else (lambda v: v)
        return {"title": "临桂 <县>", "parcels": {"g": wrap("A??\nB"), "id": wrap(["P1", "P2"]),
                                                  "town": wrap({"v": ["甲镇"], "w": 0, "s": ""}), "n": 2},
                "layers": [{"key": "redline", "g": wrap("C@"), "m2": wrap([1.5, None])}, {"key": "udb"}],
                "empty": {}, "flat": [1, 2], "bounds": [[25.1, 110.2], [25.3, 110.4]], "counts": {1: 2, 3: 4}}

    want = json_for_html(payload(raw=False))
    assert "".join(json_parts_for_html(payload(raw=True))) == want
    consumed = payload(raw=True)
    assert "".join(json_parts_for_html(consumed, consume=True)) == want
    assert consumed == {}
    assert json.loads(want)["parcels"]["town"] == {"v": ["甲镇"], "w": 0, "s": ""}
    assert "<" not in want                                       # still safe inside <script>


def test_geometry_blocks_by_vertices_and_joined_strings_are_the_same_encoding():
    from landgis.maps.encode import encode_geometries

    rng = np.random.default_rng(5)
    # two red-line-sized rings (300k vertices: cut into blocks by vertex count) among small parcels
    big = [shapely.Point(37_500_000 + 5000 * i, 2_800_000).buffer(2000, quad_segs=40_000) for i in range(2)]
    small = [shapely.box(37_500_000 + x, 2_790_000, 37_500_000 + x + 30, 2_790_020) for x in rng.uniform(0, 9000, 50)]
    geoms = np.array(small[:20] + big + small[20:], dtype=object)
    one_by_one = [encode_geometries(np.array([g]), crs=4525)[0] for g in geoms]
    assert encode_geometries(geoms, crs=4525) == one_by_one
    assert encode_geometries(geoms, crs=4525, joined=True) == "\n".join(one_by_one)
    assert encode_geometries(np.array([], dtype=object), joined=True) == ""


def test_every_map_converts_its_coordinates_in_one_lasting_thread(monkeypatch):
    """PROJ builds a transformer again in each new thread (0.1 s): the look-ahead thread is kept between maps."""
    import threading

    from landgis.maps import encode

    monkeypatch.setattr(encode, "_ENCODE_BLOCK", 2)
    seen = []
    convert = encode._lonlat_ragged
    monkeypatch.setattr(encode, "_lonlat_ragged", lambda *a: (seen.append(threading.current_thread()), convert(*a))[1])
    geoms = np.array([shapely.box(500_000 + 50 * i, 2_800_000, 500_030 + 50 * i, 2_800_020) for i in range(5)])
    first = encode.encode_geometries(geoms, crs=4547)
    assert encode.encode_geometries(geoms, crs=4547) == first and len(seen) == 6   # three blocks, twice
    lasting = encode._lonlat_pool().submit(threading.current_thread).result()
    assert all(thread is lasting for thread in seen)   # not a thread per map (an ident may be reused, a Thread not)


def test_patches_meeting_a_parcel_are_those_geos_says_intersect():
    """The vertex shortcut finds exactly the patches an exact intersects query finds, touching ones included."""
    from landgis.maps.pagedata import _meeting_any

    rng = np.random.default_rng(11)
    x, y = rng.uniform(0, 2000, (2, 400))
    w, h = rng.uniform(5, 120, (2, 400))
    parcels = shapely.box(x, y, x + w, y + h)
    parcels[::7] = shapely.buffer(parcels[::7], 3)                     # rounded: a first vertex on an arc
    px, py = rng.uniform(0, 2000, (2, 600))
    patches = np.concatenate([
        shapely.box(px, py, px + rng.uniform(2, 300, 600), py + rng.uniform(2, 300, 600)),
        [shapely.box(x[3] + w[3], y[3] + h[3], x[3] + w[3] + 5, y[3] + h[3] + 5),            # a corner only
         shapely.box(x[4] + w[4], y[4], x[4] + w[4] + 9, y[4] + h[4]),                   # an edge
         shapely.box(x[2] + w[2] * 0.4, y[2] + h[2] * 0.4, x[2] + w[2] * 0.6, y[2] + h[2] * 0.6),   # inside a parcel
         shapely.box(5000, 5000, 5010, 5010),                                                    # far from all
         shapely.box(x[7] - 3, y[7] - 3, x[7] - 2.5, y[7] - 2.5)]])    # in a rounded parcel's bounds, not in it
    reference = np.unique(shapely.STRtree(parcels).query(patches, predicate="intersects")[0])
    got = _meeting_any(patches, parcels)
    np.testing.assert_array_equal(got, reference)
    assert {600, 601, 602} <= set(got.tolist()) and not {603, 604} & set(got.tolist()) and 0 < (got < 600).sum() < 600
    assert shapely.intersects(shapely.box(*parcels[7].bounds), patches[604])   # only the exact test tells
    # an empty or missing geometry among the others (the last one: no first vertex to take) changes nothing
    with_holes = np.concatenate([parcels[:5], [None, shapely.Polygon()], parcels[5:], [shapely.MultiPolygon()]])
    np.testing.assert_array_equal(_meeting_any(patches, with_holes), reference)


def test_conflict_piece_that_is_its_parcel_is_sent_once():
    """A piece equal to its parcel, vertex for vertex, travels as "=" and points at the parcel on the page."""
    import geopandas as gpd

    from landgis.maps import pagedata
    from landgis.maps.encode import encode_geometries

    def box(x: float, w: float = 100.0):
        return shapely.box(500_000 + x, 2_800_000, 500_000 + x + w, 2_800_100)

    crs = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
    parcels = gpd.GeoDataFrame({"parcel_id": ["A", "B", "D", "D"]},
                               geometry=[box(0), box(200), box(400), box(600)], crs=crs)
    half_b = box(200, 50)
    conflicts = gpd.GeoDataFrame({"parcel_id": ["A", "B", "C", "D", "A"], "rule": ["FARMLAND"] * 5,
                                  "area_m2": [1e4, 5e3, 1e4, 1e4, 0.0]},
                                 geometry=[box(0), half_b, box(800), box(600), None], crs=crs)
    rows, g, parcel = pagedata._conflict_payload(conflicts, parcels)
    lines = g.split("\n")
    assert rows.tolist() == [0, 1, 2, 3]                  # the piece with no geometry is not drawn
    assert parcel.tolist() == [0, 1, -1, 3]               # C is not drawn; D's piece lies in the second D
    assert lines[0] == lines[3] == pagedata.SAME_AS_PARCEL  # each its parcel's own geometry
    # the other pieces are one chain, read in order past the "=" lines
    want = [_decode(t) for t in encode_geometries(np.array([half_b, box(800)]), crs=crs)]
    assert _decode_chained(lines) == ["=", *want, "="]


def test_conflict_piece_sent_as_its_parcel_is_drawn_with_its_rings(loaded, result, page_path):
    from landgis.maps.columns import unpack

    browser, _ = loaded
    data = _page_data(page_path)
    spec = next(layer for layer in data["layers"] if layer["kind"] == "conflicts")
    lines = spec["g"].split("\n")
    same = [k for k, line in enumerate(lines) if line == "="]
    assert 0 < len(same) < len(lines)
    ids = unpack(data["parcels"]["id"])
    parcel_of = unpack(spec["parcel"])
    pid = ids[int(parcel_of[same[0]])]
    assert browser.eval(f"window.landgis.showParcel({json.dumps(pid)})") is True
    # the piece is drawn with its parcel's own rings, vertex for vertex
    assert browser.eval(f"window.landgis.conflictParcel({same[0]})") == ids.index(pid)
    piece = browser.eval(f"JSON.stringify(window.landgis.geometry('conflicts', {same[0]}))")
    assert piece == browser.eval(f"JSON.stringify(window.landgis.geometry('parcels', {ids.index(pid)}))")
    assert len(json.loads(piece)[0]) >= 4
    popup = browser.eval(POPUP_TEXT)
    assert "冲突范围" in popup
    assert browser.errors == []


def _page_data(path: Path) -> dict:
    page = path.read_text(encoding="utf-8")
    return json.loads(page.split('id="landgis-data">')[1].split("</script>")[0])


def test_a_basemap_that_cannot_load_is_said_and_print_hides_the_controls(result, tmp_path):
    """Offline, the OpenStreetMap basemap fails tile by tile: the page says so in Chinese (was: a blank
    background without a word). Printed (A3 landscape), the zoom, layer and search controls are hidden."""
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")
    path = tmp_path / "osm.html"
    web_map(result, basemap="osm").save(path)
    b = Chromium(exe)
    try:
        b.open(path)
        deadline = time.monotonic() + 30
        said = ""
        while "无法加载" not in said:
            assert time.monotonic() < deadline, f"no word of the basemap; requests: {b.requests[:3]}"
            time.sleep(0.2)
            said = b.eval("(document.querySelector('.lg-hint') || {}).textContent || ''")
        assert said.startswith("底图“OpenStreetMap”无法加载（离线或网络不通）；地块与各图层照常显示")
        assert b.eval("getComputedStyle(document.querySelector('.lg-hint')).display") != "none"
        hidden = ("'.leaflet-control-zoom'", "'.leaflet-control-layers'", "'.lg-searchbox'", "'.lg-hint'")
        b.send("Emulation.setEmulatedMedia", {"media": "print"}, session=True)
        assert [b.eval(f"getComputedStyle(document.querySelector({q})).display") for q in hidden] == ["none"] * 4
        assert b.eval("getComputedStyle(document.querySelector('.lg-legend')).display") != "none"
    finally:
        b.close()
