"""A deterministic synthetic county for benchmarking landgis.

``generate(scale, out_dir)`` writes one GeoPackage per layer plus a landgis
project file (``project.toml``) and a ``manifest.json`` with a content hash of
every layer. Scale 1 is a county: 150k parcels, 450k survey patches, 60k
farmland patches, 20 red-line polygons of ~50k vertices with holes, 100k
zoning patches, a few urban development boundaries. Scale ``s`` multiplies the
feature counts by ``s`` and the county's area by ``s`` (densities stay the
same); the red lines keep their vertex count, so their complexity is the same
at every scale.

Everything comes from one numpy RNG seeded with ``seed``: the same scale and
seed give the same layers, bit for bit (``manifest.json`` proves it).

Shape of the data (what makes a county hard):

* parcels (ZD) cluster around villages, each a rotated rectangle of
  15–34 m on a 50 m lattice (no two overlap); standard fields ZDDM, QLR,
  ZLDWDM, QSXZ, PZWH and the attributes of ``data/sample_county.toml``;
* survey (DLTB) is a Voronoi coverage, denser near villages, with 三调 codes
  drawn by zone (homesteads and industry near villages, paddy, dry land,
  forest, ponds elsewhere) and QSXZ;
* farmland (YJJBNT) is a subset of the cultivated survey patches, plus ~1 %
  overlapping duplicates shifted by a few metres (ground counted once);
* red lines (STBHHX) are star-shaped polygons of ~50k vertices, each with two
  holes, on a coarse grid so they do not overlap;
* zoning (GHYT) is a coarser Voronoi coverage with 用地用海 codes;
* urban development boundaries (CZKFBJ) are wavy discs around town seats.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

__all__ = ["generate", "layer_counts", "GENERATOR_VERSION", "CRS"]

GENERATOR_VERSION = 1
CRS = "EPSG:4546"  # CGCS2000 / 3-degree Gauss-Krüger CM 111E
_X0, _Y0 = 400_000.0, 2_780_000.0
_SIDE_AT_1 = 40_000.0  # metres: a 1600 km² county at scale 1
_LATTICE = 50.0
_REDLINE_VERTICES = 50_000


def layer_counts(scale: float) -> dict[str, int]:
    """Feature counts per layer at ``scale``."""
    return {
        "parcels": max(50, round(150_000 * scale)),
        "survey": max(150, round(450_000 * scale)),
        "farmland": max(20, round(60_000 * scale)),
        "redline": max(2, round(20 * scale)),
        "zoning": max(40, round(100_000 * scale)),
        "udb": max(1, round(6 * scale)),
        "villages": max(3, round(1_500 * scale)),
    }


def generate(scale: float, out_dir: str | Path, *, seed: int = 450300,
             redline_vertices: int = _REDLINE_VERTICES) -> dict:
    """Write the synthetic county at ``scale`` into ``out_dir``; return its manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = layer_counts(scale)
    side = _SIDE_AT_1 * math.sqrt(scale)
    extent = (_X0, _Y0, _X0 + side, _Y0 + side)

    villages = np.column_stack([rng.uniform(extent[0] + 200, extent[2] - 200, n["villages"]),
                                rng.uniform(extent[1] + 200, extent[3] - 200, n["villages"])])
    towns = villages[: n["udb"]]

    layers = {
        "parcels": _parcels(rng, n["parcels"], villages, extent),
        "survey": None,
        "farmland": None,
        "redline": _redlines(rng, n["redline"], extent, redline_vertices),
        "zoning": _zoning(rng, n["zoning"], villages, extent),
        "udb": _udb(rng, towns, side),
    }
    layers["survey"] = _survey(rng, n["survey"], villages, extent)
    layers["farmland"] = _farmland(rng, layers["survey"], n["farmland"])

    manifest = {"generator_version": GENERATOR_VERSION, "scale": scale, "seed": seed,
                "redline_vertices": redline_vertices, "crs": CRS, "extent": list(extent), "layers": {}}
    for name, frame in layers.items():
        path = out / f"{name}.gpkg"
        if path.exists():
            path.unlink()
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
        manifest["layers"][name] = {"file": path.name, "features": len(frame),
                                    "vertices": int(shapely.get_num_coordinates(frame.geometry.values).sum()),
                                    "bytes": path.stat().st_size, "sha256": _digest(frame)}
    (out / "project.toml").write_text(_PROJECT_TOML.format(scale=scale), encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    return manifest


def _digest(frame: gpd.GeoDataFrame) -> str:
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(pd.DataFrame(frame.drop(columns="geometry")), index=False).to_numpy()
             .tobytes())
    for wkb in shapely.to_wkb(frame.geometry.values, output_dimension=2):
        h.update(wkb)
    return h.hexdigest()


# ------------------------------------------------------------------ parcels


def _clustered_points(rng: np.random.Generator, count: int, centres: np.ndarray, sigma: float,
                      extent: tuple[float, float, float, float], uniform_share: float) -> np.ndarray:
    k = int(count * uniform_share)
    pick = rng.integers(0, len(centres), count - k)
    near = centres[pick] + rng.normal(0, sigma, (count - k, 2))
    far = np.column_stack([rng.uniform(extent[0], extent[2], k), rng.uniform(extent[1], extent[3], k)])
    pts = np.concatenate([near, far])
    out = (pts[:, 0] <= extent[0]) | (pts[:, 0] >= extent[2]) | (pts[:, 1] <= extent[1]) | (pts[:, 1] >= extent[3])
    m = int(out.sum())
    pts[out] = np.column_stack([rng.uniform(extent[0], extent[2], m), rng.uniform(extent[1], extent[3], m)])
    return pts


def _parcels(rng: np.random.Generator, count: int, villages: np.ndarray,
             extent: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    # lattice cells chosen around the villages, each holding at most one parcel
    cells: np.ndarray = np.empty((0, 2), dtype=np.int64)
    nx = int((extent[2] - extent[0]) // _LATTICE)
    ny = int((extent[3] - extent[1]) // _LATTICE)
    while len(cells) < count:
        pts = _clustered_points(rng, count * 2, villages, 260.0, extent, 0.15)
        ij = np.floor((pts - [extent[0], extent[1]]) / _LATTICE).astype(np.int64)
        ij[:, 0] = np.clip(ij[:, 0], 0, nx - 1)
        ij[:, 1] = np.clip(ij[:, 1], 0, ny - 1)
        both = np.concatenate([cells, ij])
        _, first = np.unique(both[:, 0] * (ny + 1) + both[:, 1], return_index=True)
        cells = both[np.sort(first)]
    cells = cells[:count]
    cx = extent[0] + (cells[:, 0] + 0.5) * _LATTICE
    cy = extent[1] + (cells[:, 1] + 0.5) * _LATTICE
    w = rng.uniform(15, 34, count)
    h = rng.uniform(15, 34, count)
    angle = np.radians(rng.uniform(-20, 20, count))
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    dx = corners[None, :, 0] * w[:, None]
    dy = corners[None, :, 1] * h[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    xs = cx[:, None] + dx * cos - dy * sin
    ys = cy[:, None] + dx * sin + dy * cos
    coords = np.stack([xs, ys], axis=-1)
    rings = shapely.linearrings(coords)
    geoms = shapely.polygons(rings)
    # one parcel in 20 loses a corner notch (8 vertices instead of 4)
    notch = rng.random(count) < 0.05
    cut = shapely.box(cx[notch], cy[notch], cx[notch] + w[notch] / 3, cy[notch] + h[notch] / 3)
    geoms[notch] = shapely.difference(geoms[notch], cut)
    geoms = shapely.multipolygons(shapely.get_parts(geoms), indices=np.arange(count))

    village = _nearest(cx, cy, villages)
    town = village % 40
    seq = np.arange(count)
    order = np.argsort(village, kind="stable")
    within = np.empty(count, dtype=np.int64)  # 1, 2, … per village: ZDDM is unique
    starts = np.r_[0, np.flatnonzero(np.diff(village[order])) + 1]
    within[order] = np.arange(count) - np.repeat(starts, np.diff(np.r_[starts, count])) + 1
    zddm = [f"450300{100 + t:03d}{v // 40:03d}JC{s:05d}" for t, v, s in zip(town, village, within, strict=True)]
    yes_no = np.array(["否", "是"], dtype=object)
    approved = rng.random(count) < 0.8
    frame = pd.DataFrame({
        "ZDDM": zddm,
        "QLR": [f"第{v}村股份经济合作社" for v in village],
        "ZLDWDM": [f"450300{100 + t:03d}{v // 40:03d}0000000" for t, v in zip(town, village, strict=True)],
        "ZLDWMC": [f"第{v}村" for v in village],
        "XZMC": [f"第{t}镇" for t in town],
        "CMC": [f"第{v}村" for v in village],
        "QSXZ": np.where(rng.random(count) < 0.98, "30", "20"),
        "SFQQ": yes_no[(rng.random(count) < 0.97).astype(int)],
        "SFXZ": yes_no[(rng.random(count) < 0.01).astype(int)],
        "PZWH": np.where(approved, [f"临政土批〔{2000 + s % 20}〕{s % 997}号" for s in seq], ""),
        "JCNF": rng.integers(1995, 2021, count),
        "FWSYQZ": yes_no[(rng.random(count) < 0.3).astype(int)],
        "JSYDSYZ": yes_no[(rng.random(count) < 0.5).astype(int)],
        "CFDW": "",
        "SFLJ": yes_no[(rng.random(count) < 0.1).astype(int)],
        "YXBL": yes_no[(rng.random(count) < 0.5).astype(int)],
    })
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=CRS)


def _nearest(x: np.ndarray, y: np.ndarray, centres: np.ndarray) -> np.ndarray:
    tree = shapely.STRtree(shapely.points(centres))
    return tree.query_nearest(shapely.points(x, y), return_distance=False, all_matches=False)[1]


# ------------------------------------------------------------- coverages


def _voronoi(points: np.ndarray, extent: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi cells of the (deduplicated, centimetre-rounded) points, clipped to the extent."""
    points = np.round(points, 2)
    _, first = np.unique(points, axis=0, return_index=True)
    points = points[np.sort(first)]
    box = shapely.box(*extent)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=box, ordered=True))
    cells = shapely.intersection(cells, box)
    return points, cells


def _survey(rng: np.random.Generator, count: int, villages: np.ndarray,
            extent: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    pts, cells = _voronoi(_clustered_points(rng, count, villages, 450.0, extent, 0.45), extent)
    count = len(pts)
    cx, cy = pts[:, 0], pts[:, 1]
    d = _distance_to_nearest(cx, cy, villages)
    near = d < 320
    codes_near = np.array(["0702", "0601", "05H1", "0508", "1006", "0103", "0101", "0404"])
    p_near = [0.36, 0.14, 0.05, 0.03, 0.06, 0.18, 0.16, 0.02]
    codes_far = np.array(["0101", "0103", "0301", "0305", "0401", "1104", "1101", "1003", "1006", "0404", "0602"])
    p_far = [0.30, 0.24, 0.20, 0.05, 0.03, 0.06, 0.02, 0.02, 0.04, 0.03, 0.01]
    code = np.where(near, rng.choice(codes_near, count, p=p_near), rng.choice(codes_far, count, p=p_far))
    qsxz = np.where(np.isin(code, ["1003", "1101"]) | (rng.random(count) < 0.02), "20", "30")
    frame = pd.DataFrame({"BSM": np.arange(1_000_001, 1_000_001 + count), "DLBM": code, "QSXZ": qsxz})
    frame["TBMJ"] = np.round(shapely.area(cells), 2)
    return gpd.GeoDataFrame(frame, geometry=cells, crs=CRS)


def _distance_to_nearest(x: np.ndarray, y: np.ndarray, centres: np.ndarray) -> np.ndarray:
    idx = _nearest(x, y, centres)
    return np.hypot(x - centres[idx, 0], y - centres[idx, 1])


def _farmland(rng: np.random.Generator, survey: gpd.GeoDataFrame, count: int) -> gpd.GeoDataFrame:
    cultivated = np.flatnonzero(np.isin(survey["DLBM"].to_numpy(), ["0101", "0103"]))
    dup = max(2, count // 100)
    pick = np.sort(rng.choice(cultivated, min(count - dup, len(cultivated)), replace=False))
    geoms = survey.geometry.values[pick]
    twins = rng.choice(len(pick), dup, replace=False)
    shifted = shapely.transform(geoms[twins], lambda xy: xy + [5.0, 3.0])
    all_geoms = np.concatenate([np.asarray(geoms, dtype=object), shifted])
    m = len(all_geoms)
    frame = pd.DataFrame({"BSM": np.arange(3_000_001, 3_000_001 + m),
                          "JBNTTBBH": [f"JB{i:07d}" for i in range(m)]})
    return gpd.GeoDataFrame(frame, geometry=all_geoms, crs=CRS)


def _zoning(rng: np.random.Generator, count: int, villages: np.ndarray,
            extent: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    pts, cells = _voronoi(_clustered_points(rng, count, villages, 380.0, extent, 0.5), extent)
    count = len(pts)
    d = _distance_to_nearest(pts[:, 0], pts[:, 1], villages)
    near = d < 300
    codes_near = np.array(["070301", "100101", "1001", "0901", "1101", "1207", "0103", "0801", "1403"])
    p_near = [0.34, 0.2, 0.08, 0.12, 0.04, 0.06, 0.12, 0.02, 0.02]
    codes_far = np.array(["0101", "0103", "0301", "1202", "0703", "1001"])
    p_far = [0.35, 0.3, 0.25, 0.04, 0.04, 0.02]
    code = np.where(near, rng.choice(codes_near, count, p=p_near), rng.choice(codes_far, count, p=p_far))
    frame = pd.DataFrame({"BSM": np.arange(7_000_001, 7_000_001 + count), "YDYHFLDM": code})
    return gpd.GeoDataFrame(frame, geometry=cells, crs=CRS)


# ------------------------------------------------------------- red lines, UDB


def _star(rng: np.random.Generator, cx: float, cy: float, radius: float, vertices: int) -> np.ndarray:
    theta = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    k1, k2 = rng.integers(4, 9), rng.integers(20, 40)
    r = radius * (1 + 0.22 * np.sin(k1 * theta + rng.uniform(0, 6)) + 0.08 * np.sin(k2 * theta)
                  + 0.01 * np.sin(997 * theta) + rng.uniform(-0.004, 0.004, vertices))
    ring = np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)])
    return np.vstack([ring, ring[:1]])


def _redlines(rng: np.random.Generator, count: int, extent: tuple[float, float, float, float],
              vertices: int) -> gpd.GeoDataFrame:
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    cw, ch = (extent[2] - extent[0]) / cols, (extent[3] - extent[1]) / rows
    radius = 0.3 * min(cw, ch)
    geoms = []
    for i in range(count):
        c, r = i % cols, i // cols
        cx = extent[0] + (c + 0.5) * cw + rng.uniform(-0.05, 0.05) * cw
        cy = extent[1] + (r + 0.5) * ch + rng.uniform(-0.05, 0.05) * ch
        hole_v = max(16, vertices // 50)
        shell = _star(rng, cx, cy, radius, vertices - 2 * hole_v)
        holes = [_star(rng, cx + dx * radius, cy, 0.1 * radius, hole_v)[::-1] for dx in (-0.3, 0.3)]
        geoms.append(shapely.Polygon(shell, holes))
    frame = pd.DataFrame({"BSM": np.arange(4_000_001, 4_000_001 + count),
                          "HXMC": [f"生态保护红线{i + 1:02d}" for i in range(count)]})
    return gpd.GeoDataFrame(frame, geometry=np.array(geoms, dtype=object), crs=CRS)


def _udb(rng: np.random.Generator, towns: np.ndarray, side: float) -> gpd.GeoDataFrame:
    radius = min(1500.0, side / 12)
    geoms = [shapely.Polygon(_star(rng, x, y, radius, 512)) for x, y in towns]
    frame = pd.DataFrame({"BSM": np.arange(5_000_001, 5_000_001 + len(towns)),
                          "MC": [f"城镇开发边界{i + 1}" for i in range(len(towns))]})
    return gpd.GeoDataFrame(frame, geometry=np.array(geoms, dtype=object), crs=CRS)


_PROJECT_TOML = """\
# generated by `python -m bench --scale {scale}` (bench/generate.py); not committed
[project]
name = "合成县 synthetic county, scale {scale}"
profile = "guilin"
crs = "EPSG:4546"

[layers.parcels]
path = "parcels.gpkg"
layer = "parcels"
[layers.parcels.fields]
town = "XZMC"
village = "CMC"
registered = "SFQQ"
restricted = "SFXZ"
formed_year = "JCNF"
house_cert = "FWSYQZ"
land_use_cert = "JSYDSYZ"
penalized = "CFDW"
street_front = "SFLJ"
retain_buildings = "YXBL"

[layers.survey]
path = "survey.gpkg"
layer = "survey"
[layers.farmland]
path = "farmland.gpkg"
layer = "farmland"
[layers.redline]
path = "redline.gpkg"
layer = "redline"
[layers.udb]
path = "udb.gpkg"
layer = "udb"
[layers.zoning]
path = "zoning.gpkg"
layer = "zoning"

[tolerance]
min_overlap_m2 = 1.0
"""
