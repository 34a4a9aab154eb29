#!/usr/bin/env python3
"""The sample county laid out as a bureau receives it: folders of deliveries, not one GeoPackage.

    python data/make_delivery.py OUT      # writes the folder OUT (about 4 MB), then:
    landgis init OUT --profile guilin     # writes OUT/landgis.toml from what it finds
    landgis screen OUT/landgis.toml --out OUT/筛查结果

The layers are those of ``sample_county.gpkg`` (and ``sample_dem.tif``), written as the
deliveries hold them: the 宗地 export as a GBK shapefile without ``.cpg``; the 三调 and the
二调 as FileGDBs whose land-class layers are both named DLTB; the 三区三线 results as a zip
of shapefiles, one with a Chinese name; the 村庄规划 as a GeoPackage with a Chinese layer
name; and, to be told apart from what landgis needs, a 村级调查区 layer, an orthophoto tile
and a notes file. Nothing here is committed: the folder is made from the sample on demand
(the tests make it in a temporary folder).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pyogrio

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "sample_county.gpkg"
DEM = HERE / "sample_dem.tif"

#: (folder, file, layer written) ← the sample's layer
LAYOUT = {
    "zd": ("01宗地数据", "ZD.shp", None),
    "dltb": ("02三调成果", "2023年度国土变更调查数据库.gdb", "DLTB"),
    "xzq": ("02三调成果", "2023年度国土变更调查数据库.gdb", "XZQ"),
    "dltb_2009": ("03二调成果", "二调数据库.gdb", "DLTB"),
    "ghyt": ("05村庄规划", "村庄规划成果.gpkg", "规划用地用海"),
    "pzyd": ("06报批供地", "批准用地.gpkg", "PZYD"),
    "jzw": ("07房屋建筑", "建筑物.shp", None),
}
#: the 三区三线 results: a zip of shapefiles (member name ← the sample's layer)
ZIPPED = {"yjjbnt": "YJJBNTTB.shp", "stbhhx": "生态保护红线.shp", "czkfbj": "CZKFBJ.shp"}


def make_delivery(out: Path) -> Path:
    """Write the delivery folder ``out`` (which must not exist) and return it."""
    with warnings.catch_warnings():  # FileGDB stores the 64-bit BSM as a double: the ids are small
        warnings.filterwarnings("ignore", message="Field BSM of type Integer64")
        return _make(Path(out))


def _make(out: Path) -> Path:
    if out.exists():
        raise SystemExit(f"{out} exists; give a new folder")
    for layer, (folder, name, written) in LAYOUT.items():
        frame = pyogrio.read_dataframe(SAMPLE, layer=layer)
        target = out / folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".shp"):
            pyogrio.write_dataframe(frame, target, encoding="GBK")
            target.with_suffix(".cpg").unlink(missing_ok=True)  # as many exports leave it: no code page said
        else:
            driver = "OpenFileGDB" if name.endswith(".gdb") else "GPKG"
            pyogrio.write_dataframe(frame, target, layer=written, driver=driver, append=target.exists())
    # a village-level 村级调查区 layer beside XZQ: landgis names towns from XZQ
    xzq = pyogrio.read_dataframe(SAMPLE, layer="xzq")
    cjdcq = xzq.rename(columns={"XZQDM": "ZLDWDM", "XZQMC": "ZLDWMC"})
    pyogrio.write_dataframe(cjdcq, out / "02三调成果" / "2023年度国土变更调查数据库.gdb", layer="CJDCQ",
                            driver="OpenFileGDB", append=True)
    with tempfile.TemporaryDirectory() as tmp:
        for layer, name in ZIPPED.items():
            pyogrio.write_dataframe(pyogrio.read_dataframe(SAMPLE, layer=layer), Path(tmp) / name)
        (out / "04三区三线").mkdir()
        with zipfile.ZipFile(out / "04三区三线" / "三区三线划定成果.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, f"三区三线划定成果/{part.name}")
    (out / "08高程").mkdir()
    shutil.copy(DEM, out / "08高程" / "DEM_20m.tif")
    _orthophoto(out / "09影像" / "DOM_2023.tif")
    (out / "说明.txt").write_text("桂南县入市筛查资料（样例，由 data/make_delivery.py 生成）\n", encoding="utf-8")
    return out


def _orthophoto(path: Path) -> None:
    """A small 3-band image where the elevation model is not: a raster init must not take for the DEM."""
    import rasterio
    from affine import Affine

    path.parent.mkdir(parents=True)
    with rasterio.open(path, "w", driver="GTiff", width=16, height=16, count=3, dtype="uint8", crs="EPSG:4546",
                       transform=Affine(750, 0, 414000, 0, -625, 2795000)) as dst:
        dst.write(np.full((3, 16, 16), 128, dtype="uint8"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(f"wrote {make_delivery(Path(sys.argv[1]))}")
