"""Build tiny real projects with planted cases: one 20 m × 20 m parcel per case.

Each case sits in its own 40 m × 40 m cell of a grid in CGCS2000 / 3-degree GK
CM 111E. By default the cell is covered by a construction survey patch
(0601 工业用地), an industrial zoning patch (100101), a 二调 村庄 patch (203),
and the parcel has a 批准文号 — an eligible parcel. A case changes only what it
plants; the expected areas follow from the boxes by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

X0, Y0 = 420_000.0, 2_790_000.0
CELL = 40.0
CRS = "EPSG:4546"

DEFAULT_ATTRS = {
    "QLR": "大塘村股份经济合作社", "XZMC": "城关镇", "CMC": "大塘村", "QSXZ": "30", "SFQQ": "是",
    "SFXZ": "否", "PZWH": "桂南政土批〔2006〕12号", "JCNF": 2000, "FWSYQZ": "否", "JSYDSYZ": "否",
    "CFDW": "", "SFLJ": "否", "YXBL": "是", "CNNRGH": "", "RSCB": float("nan"), "KGCB": float("nan"),
    # the collective's decision (24 of 30 representatives for) and a notice of 5 working days (Mon 4 – Fri 8 March)
    "JCJG": "村民代表会议", "YDHRS": 30, "DHRS": 27, "TYRS": 24, "JYRQ": "2024-03-01", "GSQSRQ": "2024-03-04",
    "GSJZRQ": "2024-03-08",
}

FIELDS = {
    "town": "XZMC", "village": "CMC", "registered": "SFQQ", "restricted": "SFXZ", "formed_year": "JCNF",
    "house_cert": "FWSYQZ", "land_use_cert": "JSYDSYZ", "penalized": "CFDW", "street_front": "SFLJ",
    "retain_buildings": "YXBL", "plan_committed": "CNNRGH", "entry_cost": "RSCB", "objective_cost": "KGCB",
}


@dataclass
class Case:
    """One planted parcel. Boxes are (x0, y0, x1, y1) in metres relative to the cell origin."""

    name: str
    attrs: dict = field(default_factory=dict)
    parcel: object = None               # shapely geometry relative to the cell, default box(10,10,30,30)
    survey: list = field(default_factory=lambda: [((0, 0, 40, 40), "0601")])
    zoning: list = field(default_factory=lambda: [((0, 0, 40, 40), "100101")])  # (box, code[, attributes])
    survey_2009: list = field(default_factory=lambda: [((0, 0, 40, 40), "203")])
    farmland: list = field(default_factory=list)
    redline: list = field(default_factory=list)   # boxes or shapely geometries
    udb: list = field(default_factory=list)
    buildings: list = field(default_factory=list)
    approvals: list = field(default_factory=list)  # (box, PZWH)
    slope: float = 0.0      # DEM gradient dz/dx inside the cell (0.5 → 26.57°); the DEM is flat elsewhere
    road: bool = True       # a road line along the top of the cell (8 m from the default parcel)


def _geom(spec, ox: float, oy: float):
    g = shapely.box(*spec) if isinstance(spec, tuple) else spec
    return shapely.affinity.translate(g, ox, oy)


def origin(i: int) -> tuple[float, float]:
    return X0 + (i % 10) * CELL * 2, Y0 + (i // 10) * CELL * 2


def write_dem(cases: list[Case], path: Path, cell: float = 2.0) -> None:
    """A flat DEM (50 m) over the case grid, a plane of gradient ``case.slope`` inside sloped cells."""
    import numpy as np
    import rasterio
    from affine import Affine

    xs, ys = zip(*(origin(i) for i in range(len(cases))), strict=True)
    x0, y1 = min(xs) - CELL, max(ys) + 2 * CELL
    width, height = int((max(xs) + 2 * CELL - x0) / cell), int((y1 - min(ys) + CELL) / cell)
    cx = x0 + (np.arange(width) + 0.5) * cell
    cy = y1 - (np.arange(height) + 0.5) * cell
    z = np.full((height, width), 50.0, dtype="float32")
    for i, case in enumerate(cases):
        if case.slope:
            ox, oy = origin(i)
            cols = (cx > ox) & (cx < ox + CELL)
            rows = (cy > oy) & (cy < oy + CELL)
            z[np.ix_(rows, cols)] = (50.0 + case.slope * (cx[cols] - ox))[None, :]
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs=CRS, transform=Affine(cell, 0, x0, 0, -cell, y1), nodata=-9999.0) as dst:
        dst.write(z, 1)


def build_project(cases: list[Case], folder: Path, profile: str = "national", *, approvals_layer: bool = True,
                  extra_toml: str = "", site: bool = True) -> Path:
    """Write ``cases`` as a GeoPackage + project file in ``folder``; return the project path.

    With ``site`` (default) also a DEM (``dem.tif``) and a roads layer (``dl``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / "planted.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    rows = {k: [] for k in ("zd", "dltb", "ghyt", "dltb_2009", "yjjbnt", "stbhhx", "czkfbj", "jzw", "pzyd", "dl")}
    for i, case in enumerate(cases):
        ox, oy = origin(i)
        attrs = {**DEFAULT_ATTRS, **case.attrs}
        parcel = case.parcel if case.parcel is not None else shapely.box(10, 10, 30, 30)
        rows["zd"].append({"ZDDM": f"450399100001JC{i + 1:05d}", "CASE": case.name, **attrs,
                           "geometry": shapely.affinity.translate(parcel, ox, oy)})
        for layer, items, field_name in (("dltb", case.survey, "DLBM"), ("ghyt", case.zoning, "YDYHFLDM"),
                                         ("dltb_2009", case.survey_2009, "DLBM")):
            for box, code, *more in items:  # a third item: more attributes of the patch (规划条件…)
                rows[layer].append({field_name: code, **(more[0] if more else {}), "geometry": _geom(box, ox, oy)})
        for layer, items in (("yjjbnt", case.farmland), ("stbhhx", case.redline), ("czkfbj", case.udb),
                             ("jzw", case.buildings)):
            for spec in items:
                rows[layer].append({"BSM": f"{case.name}-{len(rows[layer])}", "geometry": _geom(spec, ox, oy)})
        if case.road:
            rows["dl"].append({"BSM": f"{case.name}-road", "geometry": _geom(shapely.LineString([(0, 38), (40, 38)]),
                                                                             ox, oy)})
        for box, pzwh in case.approvals:
            rows["pzyd"].append({"PZWH": pzwh, "PZRQ": "2010-01-01", "geometry": _geom(box, ox, oy)})
    schema = {"dltb": ["DLBM"], "ghyt": ["YDYHFLDM"], "dltb_2009": ["DLBM"], "yjjbnt": ["BSM"],
              "stbhhx": ["BSM"], "czkfbj": ["BSM"], "jzw": ["BSM"], "pzyd": ["PZWH", "PZRQ"],
              "dl": ["BSM"]}
    # a far-away patch keeps every layer non-empty without touching any parcel
    far = shapely.box(X0 - 5000, Y0 - 5000, X0 - 4990, Y0 - 4990)
    for name, recs in rows.items():
        if not recs:
            recs.append({**{c: "0" for c in schema[name]},
                         "geometry": far.boundary if name == "dl" else far})
        frame = gpd.GeoDataFrame(pd.DataFrame(recs), geometry="geometry", crs=CRS)
        pyogrio.write_dataframe(frame, gpkg, layer=name, driver="GPKG", append=gpkg.exists(),
                                promote_to_multi=name == "zd")
    layers = [("survey", "dltb"), ("zoning", "ghyt"), ("survey_2009", "dltb_2009"), ("farmland", "yjjbnt"),
              ("redline", "stbhhx"), ("udb", "czkfbj"), ("buildings", "jzw")]
    if approvals_layer:
        layers.append(("approvals", "pzyd"))
    if site:
        layers.append(("roads", "dl"))
        write_dem(cases, folder / "dem.tif")
    toml = [f'[project]\nname = "planted"\nprofile = "{profile}"\ncrs = "{CRS}"\n',
            '[layers.parcels]\npath = "planted.gpkg"\nlayer = "zd"\n[layers.parcels.fields]']
    toml += [f'{k} = "{v}"' for k, v in FIELDS.items()]
    for role, layer in layers:
        toml.append(f'\n[layers.{role}]\npath = "planted.gpkg"\nlayer = "{layer}"')
    if site:
        toml.append('\n[layers.dem]\npath = "dem.tif"')
    toml.append('\n[codes.zoning]\n"070199" = { name = "保障性租赁住房用地", use = "rental_housing" }')
    toml.append(extra_toml)
    path = folder / "planted.toml"
    path.write_text("\n".join(toml) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------ single-layer files for bad-input tests

X, Y = X0, Y0


def screen_cases(cases: list[Case], folder: Path, profile: str = "national", **screen_kw):
    """``cases`` written as a project in ``folder`` and screened (warnings silenced): the result, and
    its inventory indexed by case name."""
    import warnings

    import landgis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = landgis.screen(build_project(cases, folder, profile), **screen_kw)
    names = dict(zip(result.inventory["parcel_id"], [c.name for c in cases], strict=True))
    return result, result.inventory.set_index(result.inventory["parcel_id"].map(names))


def geojson(path: Path, features: list[dict], crs: str | None = "EPSG:4546") -> Path:
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:{crs.replace(':', '::')}"}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def feature(zddm, coords, kind="Polygon"):
    geometry = None if coords is None else {"type": kind, "coordinates": coords}
    return {"type": "Feature", "properties": {"ZDDM": zddm}, "geometry": geometry}


def square(x, y=Y, size=20.0, close=True):
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size]]
    return [ring + [ring[0]]] if close else [ring]


def project_file(folder: Path, parcels: str, extra: str = "") -> Path:
    path = folder / "p.toml"
    path.write_text(f'[project]\nname = "h"\ncrs = "EPSG:4546"\n[layers.parcels]\npath = "{parcels}"\n{extra}',
                    encoding="utf-8")
    return path
