"""Map scale benchmark: a county of 150k parcels made by tiling the sample county 360 times.

Run: python bench/map_scale.py [copies] [outdir]   (writes nothing into the repository)
Prints, for the sample and the tiled county: map.html's size and build time, and in headless
Chromium the load event, the first contentful paint, the page script's time to its first
drawing, and what it drew (parcels as polygons and as dots, each layer's features).
The tiled county carries 192k farmland patches (the sample's density, far above a real
county's): its constraint layers are simplified to fit the page's budget, as the legend says.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import landgis  # noqa: E402
from landgis.maps import map_data, web_map  # noqa: E402
from tests.test_maps_web import Chromium, chromium_path  # noqa: E402


def tiled(result, copies: int):
    data = map_data(result)
    x0, y0, x1, y1 = data.inventory.total_bounds
    w, h = (x1 - x0) + 200, (y1 - y0) + 200
    side = math.ceil(math.sqrt(copies))

    def tile(frame: gpd.GeoDataFrame, ids: bool) -> gpd.GeoDataFrame:
        parts = []
        for k in range(copies):
            dx, dy = (k % side) * w, (k // side) * h
            f = frame.copy()
            f["geometry"] = shapely.transform(frame.geometry.values, lambda xy, dx=dx, dy=dy: xy + (dx, dy))
            if ids and "parcel_id" in f:
                f["parcel_id"] = f["parcel_id"].astype(str) + f"-{k:03d}"
            parts.append(f)
        return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=frame.crs)

    data.inventory = tile(data.inventory, True)
    data.conflicts = tile(data.conflicts, True)
    data.layers = {k: tile(v, False) for k, v in data.layers.items()
                   if k in ("farmland", "redline", "udb", "zoning", "admin")}
    return data


def measure(label: str, data, out: Path, browser) -> None:
    t = time.perf_counter()
    page = web_map(data)
    build = time.perf_counter() - t
    path = page.save(out / f"{label}.html")
    load = browser.open(path)
    deadline = time.monotonic() + 120
    while not browser.eval("!!(window.landgis && window.landgis.ready)") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    info = browser.eval("({fd: window.landgis.firstDrawMs, fcp: (performance.getEntriesByType('paint')"
                        ".filter(function(e){return e.name==='first-contentful-paint'})[0]||{}).startTime || -1,"
                        " stats: window.landgis.stats()})")
    browser.screenshot(out / f"{label}.png")
    print(f"{label}: {len(data.inventory):,} parcels; map.html {path.stat().st_size / 1e6:.1f} MB built in "
          f"{build:.1f} s; load event {load:.1f} s, first contentful paint {info.get('fcp', -1):.0f} ms, "
          f"page script to first draw {info['fd']:.0f} ms; drawn {info['stats']}; errors {browser.errors}")


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 360
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/landgis-bench")
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = landgis.screen(ROOT / "data" / "sample_county.toml")
    browser = Chromium(chromium_path())
    try:
        measure("sample", map_data(result), out, browser)
        measure("large", tiled(result, copies), out, browser)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
