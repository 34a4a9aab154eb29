"""Write the sample county's DEM, ``sample_dem.tif`` (synthetic, deterministic, no network).

Run after ``make_sample.py`` (it reads the red line and three parcels from
``sample_county.gpkg``)::

    /work/venv/bin/python data/make_dem.py

* a gently tilted plain, 120–180 m, under 1° everywhere;
* hills over the 生态保护红线: ground rises 0.35 m per metre (19.3°) over the
  300 m around it (the generator's "hills" zone), then a plateau;
* three knolls (Gaussian, 45 m high, σ = 70 m, up to ≈ 20°) centred on three
  parcels chosen below, so that the TERRAIN rule (slope > 15° on more than
  10 % of a parcel) fires on clean parcels too.

20 m cells, EPSG:4546, Float32 rounded to 0.1 m, DEFLATE + floating-point
predictor, 256 × 256 tiles (≈ 300 KB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import rasterio
import shapely
from affine import Affine

HERE = Path(__file__).resolve().parent
X0, Y0, X1, Y1 = 414000.0, 2785000.0, 426000.0, 2795000.0
CELL = 20.0
KNOLLS = ("450399100002JC00007", "450399101003JC00005", "450399102002JC00004")


def main() -> None:
    gpkg = HERE / "sample_county.gpkg"
    red = shapely.union_all(pyogrio.read_dataframe(gpkg, layer="stbhhx").geometry.values)
    zd = pyogrio.read_dataframe(gpkg, layer="zd")
    width, height = int((X1 - X0) / CELL), int((Y1 - Y0) / CELL)
    x = X0 + (np.arange(width) + 0.5) * CELL
    y = Y1 - (np.arange(height) + 0.5) * CELL
    xx, yy = np.meshgrid(x, y)
    z = 120.0 + 0.004 * (xx - X0) + 0.002 * (yy - Y0) + 3 * np.sin((xx - X0) / 900) * np.cos((yy - Y0) / 1100)
    dist = shapely.distance(shapely.points(xx.ravel(), yy.ravel()), red).reshape(z.shape)
    z += 0.35 * np.clip(300.0 - dist, 0, 300)
    for pid in KNOLLS:
        c = zd.loc[zd["ZDDM"] == pid].geometry.values[0].centroid
        z += 45.0 * np.exp(-((xx - c.x) ** 2 + (yy - c.y) ** 2) / (2 * 70.0 ** 2))
    z = np.round(z, 1).astype("float32")
    out = HERE / "sample_dem.tif"
    with rasterio.open(out, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs="EPSG:4546", transform=Affine(CELL, 0, X0, 0, -CELL, Y1), nodata=-9999.0,
                       tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=3) as dst:
        dst.write(z, 1)
    print(f"{out.name}: {width} × {height} cells of {CELL:g} m, {out.stat().st_size / 1024:.0f} KB, "
          f"z {z.min():.1f}–{z.max():.1f} m")


if __name__ == "__main__":
    main()
