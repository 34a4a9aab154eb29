"""The bench county drawn as real deliveries draw it: ``python -m bench`` (``--mode realistic``, the default).

The lattice county (:mod:`bench.generate`) has one clean convex rectangle per 50 m cell and
random land classes under them, so nearly every parcel is ineligible and no parcel shares
an edge. Real registers differ in the ways that decide an overlay's cost:

* **cadastre (ZD)** — villages of street blocks, each block cut into two rows of parcels
  that share their edges exactly. Each neighbour's corner (界址点) is a vertex on the shared
  edge, so most parcels have points on their straight edges; some carry a survey point on
  the street edge as well. One parcel pair in 16 is an L-shape (a front and a back parcel
  joined), one large industrial parcel in 100 lies around a courtyard (a hole holding a
  parcel of its own), and one parcel in 25 has a vertex moved 1–5 cm, leaving a sliver or
  gap against its neighbour, as digitising does. Coordinates are stored to the millimetre,
  so the points on an edge are a hair off the line;
* **survey (DLTB)** — a coverage: one patch per block (or two, the rows apart), whose
  boundary holds every parcel corner on it, so a parcel is one 图斑 or part of one; a
  street patch per village with the blocks as holes; beyond the villages a Voronoi
  coverage whose shared edges are cut every 8 m and bent by one smooth field (neighbours
  keep identical vertices; patches of 10 to several hundred vertices). All 30 fields of
  the 三调 DLTB table;
* **farmland (YJJBNT)** — cultivated survey patches taken whole (coincident boundaries)
  or cut in two, plus strips drawn across the edge of a village block;
* **red lines (STBHHX)** — as the lattice county's (~50k vertices, two holes each), with
  the villages kept out of them but for a few;
* **zoning (GHYT)** — the plan's own partition: the village blocks (a residential block
  planned 农村宅基地, a business block 工业 or 商业, some planned otherwise or by row),
  a few blocks left out of the plan, and a coarser Voronoi partition beyond;
* **UDB (CZKFBJ)** — wavy discs around the first villages, the town seats.

Every choice comes from one RNG seeded with ``seed``: the same scale and seed give the
same layers, bit for bit.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

CRS = "EPSG:4546"
#: parcels per village on average (150k parcels in 1 500 villages at scale 1)
_STREET = 6.0
#: at most one village per square of this side (metres); a village spans ~600 m
_VILLAGE_CELL = 800.0
_MM = 1000.0


def _names(rng: np.random.Generator, count: int, suffix: str) -> list[str]:
    """``count`` distinct two-character Chinese place names with ``suffix``."""
    first = list("高塘石龙新大上下白马黄桥东西南北中竹莲青枫梅杨柳水岭江河湾坪头陂岩洞")
    second = list("田岭坪江头寨洞塘山湾村坡冲口桥屋洲坝源垌圩铺渡家")
    combos = [a + b for a in first for b in second if a != b]
    pick = rng.permutation(len(combos))
    out = [combos[i] + suffix for i in pick[:count]]
    k = 2
    while len(out) < count:    # more villages than two-character names: a third character
        out += [combos[i] + str(k) + suffix for i in pick[: count - len(out)]]
        k += 1
    return out


def _round(xy: np.ndarray) -> np.ndarray:
    return np.round(xy * _MM) / _MM


def _village_parcels(rng: np.random.Generator, centre: np.ndarray, angle: float, quota: int):
    """One village: its parcels' rings, block rings and kinds, in world coordinates (mm)."""
    cols = max(1, int(round(math.sqrt(quota / 10 * 1.4))))
    rows = max(1, math.ceil(quota / 10 / cols))
    widths = rng.uniform(60, 130, cols)
    depths = rng.uniform(36, 64, rows)
    x_edges = np.r_[0.0, np.cumsum(widths + _STREET)]
    y_edges = np.r_[0.0, np.cumsum(depths + _STREET)]
    off = np.array([x_edges[-1], y_edges[-1]]) / 2
    cos, sin = math.cos(angle), math.sin(angle)

    def world(pts) -> np.ndarray:
        p = np.asarray(pts, dtype=float) - off
        return _round(np.column_stack([centre[0] + p[:, 0] * cos - p[:, 1] * sin,
                                       centre[1] + p[:, 0] * sin + p[:, 1] * cos]))

    parcels, blocks = [], []
    for j in range(cols):
        for k in range(rows):
            x0, y0, w, d = x_edges[j], y_edges[k], widths[j], depths[k]
            kind = rng.choice(["house", "industry", "commerce", "public"], p=[0.22, 0.36, 0.34, 0.08])
            single = kind == "industry" and rng.random() < 0.4     # one row of deep factory plots
            split = d if single else d * rng.uniform(0.4, 0.6)
            lo, hi = (20, 55) if kind == "industry" else (9, 26)
            cuts = []
            for _row in range(2):
                c = np.cumsum(rng.uniform(lo, hi, int(w / lo) + 2))
                c = c[c < w - lo / 2]
                cuts.append(np.r_[0.0, c, w])
            front, back = cuts
            if single:
                back = np.array([0.0, w])
            block_parcels = []
            for row, (edge, other) in enumerate(((front, back), (back, front))[: 1 if single else 2]):
                for a, b in zip(edge[:-1], edge[1:], strict=True):
                    inner = other[(other > a) & (other < b)]    # the other row's corners on the shared edge
                    if row == 0:
                        ring = [(a, 0), (b, 0), (b, split), *[(t, split) for t in inner[::-1]], (a, split)]
                        if rng.random() < 0.3:                  # a survey point on the street edge
                            ring.insert(1, ((a + b) / 2, 0))
                    else:
                        ring = [(a, split), *[(t, split) for t in inner], (b, split), (b, d), (a, d)]
                    block_parcels.append((row, np.asarray(ring) + (x0, y0)))
            rows_cut = not single and rng.random() < 0.25
            outline = [(t, 0.0) for t in front[:-1]] + [(w, 0.0)] + ([] if single else [(w, split)]) + \
                [(t, d) for t in back[::-1][:-1]] + [(0.0, d)] + ([] if single else [(0.0, split)])
            both = np.union1d(front, back)
            blocks.append({"ring": world(np.asarray(outline) + (x0, y0)), "kind": kind, "rows_cut": rows_cut,
                           "halves": [world(np.asarray(h) + (x0, y0)) for h in (
                               [(t, 0.0) for t in front] + [(t, split) for t in both[::-1]],
                               [(t, split) for t in both] + [(t, d) for t in back[::-1]])],
                           "street": world([(x0, y0), (x0 + w, y0)])})
            for row, ring in block_parcels:
                parcels.append({"ring": world(ring), "kind": kind, "row": row, "block": len(blocks) - 1})
    outer = world([(-_STREET, -_STREET), (x_edges[-1], -_STREET), (x_edges[-1], y_edges[-1]),
                   (-_STREET, y_edges[-1])])
    return parcels, blocks, outer


def realistic_layers(rng: np.random.Generator, counts: dict[str, int], extent: tuple[float, float, float, float],
                     redline: gpd.GeoDataFrame, udb_of) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the realistic county (``udb_of(towns)`` draws the development boundaries)."""
    n_villages = counts["villages"]
    quota = counts["parcels"] / n_villages
    red = shapely.union_all(redline.geometry.values)
    shapely.prepare(red)
    # village seats: one per 800 m cell at most (a village spans ~600 m), out of the red lines
    # but for one in 40 (old villages inside them)
    nx, ny = (max(1, int((extent[2] - extent[0]) // _VILLAGE_CELL)), max(1, int((extent[3] - extent[1]) // _VILLAGE_CELL)))
    ij = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij"), -1).reshape(-1, 2)
    seats = np.column_stack([extent[0] + (ij[:, 0] + 0.5) * _VILLAGE_CELL, extent[1] + (ij[:, 1] + 0.5) * _VILLAGE_CELL])
    seats += rng.uniform(-80, 80, seats.shape)
    inside = shapely.contains_xy(red, seats[:, 0], seats[:, 1])
    rank = rng.random(len(seats)) + np.where(inside & (rng.random(len(seats)) > 0.025), 1.0, 0.0)
    seats = seats[np.argsort(rank, kind="stable")]
    angles = np.radians(rng.uniform(-35, 35, n_villages))
    town_names = _names(rng, max(1, len(seats) // 40), "镇")
    village_names = _names(rng, len(seats), "村")

    parcels, blocks, outers = [], [], []
    for v in range(len(seats)):
        if len(parcels) >= counts["parcels"] * 1.06:    # L-shapes join some; trimmed to the count below
            break
        ps, bs, outer = _village_parcels(rng, seats[v], angles[v % n_villages], int(round(quota)))
        for p in ps:
            p["village"] = v
            p["block"] += len(blocks)
        for b in bs:
            b["village"] = v
        parcels += ps
        blocks += bs
        outers.append(outer)
    geoms = np.array([shapely.Polygon(p["ring"]) for p in parcels], dtype=object)
    kind = np.array([p["kind"] for p in parcels])
    row = np.array([p["row"] for p in parcels])
    block = np.array([p["block"] for p in parcels])
    village = np.array([p["village"] for p in parcels])
    geoms, kind, block, village, row = _irregular(rng, geoms, kind, block, village, row)
    n = counts["parcels"]
    geoms, kind, block, village, row = geoms[:n], kind[:n], block[:n], village[:n], row[:n]
    villages_geom = shapely.polygons(np.array(outers))
    parcels_frame = _parcel_frame(rng, geoms, kind, village, town_names, village_names, row)

    survey = _survey(rng, counts, extent, blocks, villages_geom, village_names, town_names)
    farmland = _farmland(rng, survey, counts["farmland"], blocks)
    zoning = _zoning(rng, counts, extent, blocks, villages_geom)
    towns = seats[: counts["udb"]]
    return {"parcels": parcels_frame, "survey": survey, "farmland": farmland, "redline": redline,
            "zoning": zoning, "udb": udb_of(towns)}


def _irregular(rng, geoms, kind, block, village, row):
    """L-shapes, courtyards and centimetre slivers, as registers have them."""
    n = len(geoms)
    # L-shapes: a front parcel joined with the back parcel over its left corner
    join = np.zeros(n, bool)
    drop = np.zeros(n, bool)
    front = np.flatnonzero((row == 0) & (rng.random(n) < 1 / 16))
    for i in front:
        if drop[i]:
            continue
        candidates = np.flatnonzero((block == block[i]) & (row == 1) & ~drop & ~join)
        if not len(candidates):
            continue
        touching = candidates[shapely.length(shapely.intersection(geoms[candidates], geoms[i])) > 1.0]
        if not len(touching):
            continue
        j = touching[0]
        merged = shapely.union(geoms[i], geoms[j])
        if shapely.get_type_id(merged) != 3:
            continue
        geoms[i] = merged
        join[i] = True
        drop[j] = True
    # courtyards: a large industrial parcel around a small parcel of its own
    big = np.flatnonzero((kind == "industry") & ~drop & (shapely.area(geoms) > 1200) & (rng.random(n) < 0.03))
    yards = []
    for i in big:
        c = shapely.centroid(geoms[i])
        yard = shapely.Polygon(_round(shapely.get_coordinates(
            shapely.buffer(c, rng.uniform(4, 7), quad_segs=1, cap_style="square"))))
        if not shapely.contains(geoms[i], yard):
            continue
        geoms[i] = shapely.Polygon(shapely.get_coordinates(geoms[i].exterior),
                                   [shapely.get_coordinates(yard.exterior)[::-1]])
        yards.append(i)
    keep = np.flatnonzero(~drop)
    extra = np.asarray(yards, dtype=np.int64)
    # each courtyard's own parcel right after the parcel around it
    order = np.argsort(np.r_[keep.astype(float), extra + 0.5], kind="stable")
    out_geoms = np.concatenate([geoms[keep], np.array([shapely.Polygon(g.interiors[0]) for g in geoms[extra]],
                                                      dtype=object)])[order]
    kind, block, village, row = (np.concatenate([a[keep], a[extra]])[order] for a in (kind, block, village, row))
    # centimetre slivers and gaps: one vertex of one parcel moved
    move = np.flatnonzero(rng.random(len(out_geoms)) < 0.04)
    for i in move:
        g = out_geoms[i]
        ring = shapely.get_coordinates(g.exterior)[:-1]
        k = rng.integers(len(ring))
        step = rng.uniform(0.01, 0.05)
        t = rng.uniform(0, 2 * np.pi)
        ring[k] = _round(ring[k] + step * np.array([math.cos(t), math.sin(t)]))
        moved = shapely.Polygon(ring, [shapely.get_coordinates(h) for h in g.interiors])
        if moved.is_valid:
            out_geoms[i] = moved
    return out_geoms, kind, block, village, row


def _parcel_frame(rng, geoms, kind, village, town_names, village_names, row) -> gpd.GeoDataFrame:
    n = len(geoms)
    town = village // 40
    order = np.argsort(village, kind="stable")
    within = np.empty(n, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(village[order])) + 1]
    within[order] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1
    vname = np.asarray(village_names, dtype=object)[village]
    tname = np.asarray(town_names, dtype=object)[town % len(town_names)]
    groups = rng.integers(1, 12, n)
    yes_no = np.array(["否", "是"], dtype=object)
    business = np.isin(kind, ["industry", "commerce"])
    approved = rng.random(n) < np.where(business, 0.9, 0.6)
    members = rng.integers(25, 80, n)
    attended = np.ceil(members * rng.uniform(0.75, 1.0, n)).astype(int)
    share = np.where(rng.random(n) < 0.95, rng.uniform(0.7, 1.0, n), rng.uniform(0.4, 0.66, n))
    agree = np.minimum(attended, np.ceil(members * share)).astype(int)
    day = pd.Timestamp("2024-01-02") + pd.to_timedelta(rng.integers(0, 330, n), unit="D")
    area = shapely.area(geoms)
    frame = pd.DataFrame({
        "BSM": np.arange(2_000_001, 2_000_001 + n),
        "ZDDM": [f"4503{23 + t % 70:02d}{100 + t % 900:03d}{v % 1000:03d}JC{s:05d}"
                 for t, v, s in zip(town, village, within, strict=True)],
        "QLR": [f"{v}{'股份经济合作社' if g < 4 else f'第{g}村民小组'}" for v, g in zip(vname, groups, strict=True)],
        "ZL": [f"临桂县{t}{v}{g}组" for t, v, g in zip(tname, vname, groups, strict=True)],
        "ZLDWDM": [f"4503{23 + t % 70:02d}{100 + t % 900:03d}{v % 1000:03d}0000000" for t, v in
                   zip(town, village, strict=True)],
        "ZLDWMC": vname, "XZMC": tname, "CMC": vname,
        "QSXZ": np.where(rng.random(n) < 0.985, "30", "20"),
        "SFQQ": yes_no[(rng.random(n) < 0.96).astype(int)],
        "SFXZ": yes_no[(rng.random(n) < 0.01).astype(int)],
        "PZWH": np.where(approved, [f"临政土批〔{2000 + s % 20}〕{s % 997}号" for s in range(n)], ""),
        "JCNF": rng.integers(1995, 2021, n),
        "FWSYQZ": yes_no[(rng.random(n) < 0.3).astype(int)],
        "JSYDSYZ": yes_no[(rng.random(n) < 0.5).astype(int)],
        "CFDW": "",
        "SFLJ": yes_no[(row == 0).astype(int)],
        "YXBL": yes_no[(rng.random(n) < 0.5).astype(int)],
        "ZDMJ": np.round(area, 2),
        "JCJG": np.where(rng.random(n) < 0.97, "村民代表会议", ""),
        "YDHRS": members, "DHRS": attended, "TYRS": agree,
        "JYRQ": day.strftime("%Y-%m-%d"),
        "GSQSRQ": (day + pd.Timedelta(days=1)).strftime("%Y-%m-%d"),
        "GSJZRQ": (day + pd.Timedelta(days=10)).strftime("%Y-%m-%d"),
    })
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=CRS)


# ------------------------------------------------------------------ coverages

#: 三调 DLTB's fields (TD/T 1055-2019 表 A.2)
DLTB_FIELDS = ("BSM", "YSDM", "TBYBH", "TBBH", "DLBM", "DLMC", "QSXZ", "QSDWDM", "QSDWMC", "ZLDWDM", "ZLDWMC",
               "TBMJ", "KCDLBM", "KCXS", "KCMJ", "TBDLMJ", "GDLX", "GDPDJB", "XZDWKD", "TBXHDM", "TBXHMC",
               "ZZSXDM", "ZZSXMC", "GDDB", "FRDBS", "CZCSXM", "SJNF", "MSSM", "HDMC", "BZ")
_DLMC = {"0101": "水田", "0103": "旱地", "0201": "果园", "0301": "乔木林地", "0305": "灌木林地", "0401": "天然牧草地",
         "0404": "其他草地", "0601": "工业用地", "05H1": "商业服务业设施用地", "0508": "物流仓储用地",
         "0702": "农村宅基地", "08H2": "科教文卫用地", "1003": "公路用地", "1006": "农村道路", "1101": "河流水面",
         "1104": "坑塘水面", "1202": "设施农用地"}
_BLOCK_SURVEY = {"house": "0702", "industry": "0601", "commerce": "05H1", "public": "08H2"}
_BLOCK_PLAN = {"house": "070301", "industry": "100101", "commerce": "090101", "public": "0801"}


def _bent(cells: np.ndarray, step: float, amplitude: float, seed: float) -> np.ndarray:
    """The cells' edges cut every ``step`` metres and bent by one smooth field.

    Points are rounded to the millimetre before and after the bend, so two neighbours,
    which cut their shared edge from either end, keep identical vertices."""
    dense = shapely.segmentize(cells, step)

    def bend(xy: np.ndarray) -> np.ndarray:
        xy = _round(xy)
        x, y = xy[:, 0], xy[:, 1]
        dx = amplitude * (np.sin(x / 37.0 + seed) * np.cos(y / 53.0) + 0.4 * np.sin(y / 11.0 + 2 * seed))
        dy = amplitude * (np.cos(x / 41.0) * np.sin(y / 29.0 + seed) + 0.4 * np.cos(x / 13.0 + seed))
        return _round(np.column_stack([x + dx, y + dy]))

    return shapely.transform(dense, bend)


def _voronoi(points: np.ndarray, extent) -> np.ndarray:
    points = np.round(points, 2)
    _, first = np.unique(points, axis=0, return_index=True)
    points = points[np.sort(first)]
    box = shapely.box(*extent)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=box, ordered=True))
    return shapely.intersection(cells, box)


def _outside_villages(cells: np.ndarray, villages: np.ndarray) -> np.ndarray:
    """The cells less the villages' outlines; cells left as nothing are dropped, parts split."""
    tree = shapely.STRtree(villages)
    cell_i, village_i = tree.query(cells, predicate="intersects")
    out = cells.copy()
    for c, vs in pd.Series(village_i).groupby(cell_i):
        out[c] = shapely.difference(out[c], shapely.union_all(villages[vs.to_numpy()]))
    parts = shapely.get_parts(out[~shapely.is_empty(out)])
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[shapely.area(parts) > 1.0]


def _survey(rng, counts, extent, blocks, villages, village_names, town_names) -> gpd.GeoDataFrame:
    """Block patches, street patches and the bent Voronoi coverage beyond the villages."""
    geoms, codes = [], []
    for b in blocks:
        code = _BLOCK_SURVEY[b["kind"]]
        if rng.random() < 0.08:         # surveyed as something else: built since, or never built
            code = rng.choice(["0702", "0103", "0601", "1202"])
        if b["rows_cut"]:
            for half in b["halves"]:
                geoms.append(shapely.Polygon(half))
                codes.append(code if rng.random() < 0.7 else rng.choice(["0702", "0103", "0508"]))
        else:
            geoms.append(shapely.Polygon(b["ring"]))
            codes.append(code)
    block_geoms = np.array(geoms, dtype=object)
    rural_count = max(100, counts["survey"] - len(block_geoms) - len(villages))
    near = rng.random(rural_count) < 0.6        # patches small near the villages, large beyond
    around = np.asarray([b["ring"][0] for b in blocks])
    seeds = np.column_stack([rng.uniform(extent[0], extent[2], rural_count),
                             rng.uniform(extent[1], extent[3], rural_count)])
    seeds[near] = around[rng.integers(0, len(around), int(near.sum()))] + rng.normal(0, 500, (int(near.sum()), 2))
    seeds = np.clip(seeds, [extent[0], extent[1]], [extent[2], extent[3]])
    rural = shapely.set_precision(_outside_villages(_bent(_voronoi(seeds, extent), 8.0, 1.5, 0.7), villages),
                                  1 / _MM)
    # a street patch per village: its outline less the blocks, with the vertices the patches around
    # it have on its outline (where their edges cross it), as a topologically clean survey has
    streets = []
    tree = shapely.STRtree(rural)
    by_village = pd.Series(np.arange(len(blocks))).groupby([b["village"] for b in blocks])
    for v, idx in by_village:
        street = shapely.difference(villages[v], shapely.union_all(
            np.array([shapely.Polygon(blocks[i]["ring"]) for i in idx], dtype=object)))
        around = rural[tree.query(villages[v], predicate="intersects")]
        if len(around):
            street = shapely.snap(street, shapely.union_all(shapely.boundary(around)), 2 / _MM)
        streets.append(street)
    street_geoms = np.array(streets, dtype=object)
    p = [0.30, 0.24, 0.05, 0.18, 0.05, 0.02, 0.04, 0.02, 0.05, 0.03, 0.02]
    rural_codes = rng.choice(["0101", "0103", "0201", "0301", "0305", "0401", "0404", "1003", "1104", "1101",
                              "1202"], len(rural), p=p)
    all_geoms = np.concatenate([block_geoms, street_geoms, rural])
    code = np.concatenate([np.asarray(codes, dtype=object), np.full(len(street_geoms), "1006", dtype=object),
                           rural_codes.astype(object)])
    n = len(all_geoms)
    area = np.round(shapely.area(all_geoms), 2)
    qsxz = np.where(np.isin(code, ["1003", "1101"]), "10", np.where(rng.random(n) < 0.03, "20", "30"))
    town = rng.integers(0, len(town_names), n)
    vill = rng.integers(0, len(village_names), n)
    cultivated = np.isin(code, ["0101", "0103"])
    deduct = np.where(cultivated, np.round(rng.choice([0.0, 0.05, 0.08, 0.12], n), 2), 0.0)
    frame = pd.DataFrame({
        "BSM": np.arange(1_000_001, 1_000_001 + n), "YSDM": "2001010100", "TBYBH": "",
        "TBBH": [f"{i % 9999 + 1}" for i in range(n)], "DLBM": code,
        "DLMC": [_DLMC.get(c, "") for c in code], "QSXZ": qsxz,
        "QSDWDM": [f"450323{100 + t:03d}{v % 1000:03d}0000000" for t, v in zip(town, vill, strict=True)],
        "QSDWMC": np.asarray(village_names, dtype=object)[vill],
        "ZLDWDM": [f"450323{100 + t:03d}{v % 1000:03d}0000000" for t, v in zip(town, vill, strict=True)],
        "ZLDWMC": np.asarray(village_names, dtype=object)[vill], "TBMJ": area,
        "KCDLBM": np.where(deduct > 0, "1203", ""), "KCXS": deduct, "KCMJ": np.round(area * deduct, 2),
        "TBDLMJ": np.round(area * (1 - deduct), 2), "GDLX": np.where(cultivated, rng.choice(["TT", "PD"], n), ""),
        "GDPDJB": np.where(cultivated, rng.choice(["1", "2", "3"], n), ""), "XZDWKD": 0.0, "TBXHDM": "",
        "TBXHMC": "", "ZZSXDM": np.where(cultivated, "LS", ""), "ZZSXMC": np.where(cultivated, "粮食作物", ""),
        "GDDB": np.where(cultivated, rng.integers(1, 16, n), 0), "FRDBS": "", "CZCSXM": np.where(
            np.isin(code, ["0702", "0601", "05H1", "08H2", "1006"]), "203", ""),
        "SJNF": 2023, "MSSM": "00", "HDMC": "", "BZ": "",
    })
    return gpd.GeoDataFrame(frame, geometry=all_geoms, crs=CRS)


def _farmland(rng, survey: gpd.GeoDataFrame, count: int, blocks) -> gpd.GeoDataFrame:
    """Cultivated patches whole or cut in two, and strips across the edge of a few village blocks."""
    cultivated = np.flatnonzero(np.isin(survey["DLBM"].to_numpy(), ["0101", "0103"]))
    strips = [b for b in blocks if rng.random() < 0.05]
    take = min(max(0, count - len(strips)), len(cultivated))
    pick = np.sort(rng.choice(cultivated, take, replace=False))
    geoms = np.asarray(survey.geometry.values[pick], dtype=object).copy()
    cut = rng.random(len(geoms)) < 0.2            # the part of a patch a 划定 left in farmland
    for i in np.flatnonzero(cut):
        g = geoms[i]
        x0, y0, x1, y1 = g.bounds
        half = shapely.intersection(g, shapely.box(x0, y0, (x0 + x1) / 2, y1))
        if shapely.get_type_id(half) == 3 and half.area > 1:
            geoms[i] = half
    strip_geoms = []
    for b in strips:    # farmland drawn across the street side of a block: 3–12 m deep
        a, c = b["street"]
        along = (c - a) / np.hypot(*(c - a))
        normal = np.array([-along[1], along[0]])
        depth = rng.uniform(3, 12)
        strip_geoms.append(shapely.Polygon(_round(np.array([a - 2 * normal, c - 2 * normal, c + depth * normal,
                                                            a + depth * normal]))))
    all_geoms = np.concatenate([geoms, np.array(strip_geoms, dtype=object)])
    m = len(all_geoms)
    frame = pd.DataFrame({"BSM": np.arange(3_000_001, 3_000_001 + m), "JBNTTBBH": [f"JB{i:07d}" for i in range(m)],
                          "DLBM": np.r_[survey["DLBM"].to_numpy()[pick], np.full(len(strip_geoms), "0103")],
                          "JBNTMJ": np.round(shapely.area(all_geoms), 2)})
    return gpd.GeoDataFrame(frame, geometry=all_geoms, crs=CRS)


def _zoning(rng, counts, extent, blocks, villages) -> gpd.GeoDataFrame:
    """The plan's partition: the blocks (some planned otherwise, by row, or not at all), then beyond."""
    geoms, codes = [], []
    for b in blocks:
        r = rng.random()
        if r < 0.03:
            continue                                    # a block the village plan does not cover
        code = _BLOCK_PLAN[b["kind"]]
        if b["kind"] in ("industry", "commerce") and r < 0.12:
            code = rng.choice(["070301", "1207", "0103"])
        if b["rows_cut"] and rng.random() < 0.5:       # the rear row planned for something else
            geoms += [shapely.Polygon(h) for h in b["halves"]]
            codes += [code, rng.choice(["070301", "100101", "1403"])]
        else:
            geoms.append(shapely.Polygon(b["ring"]))
            codes.append(code)
    rural_count = max(40, counts["zoning"] - len(geoms))
    seeds = np.column_stack([rng.uniform(extent[0], extent[2], rural_count),
                             rng.uniform(extent[1], extent[3], rural_count)])
    rural = _outside_villages(_voronoi(seeds, extent), villages)
    rural_codes = rng.choice(["0101", "0103", "0301", "1202", "0703", "1001", "1207"], len(rural),
                             p=[0.3, 0.3, 0.28, 0.04, 0.04, 0.02, 0.02])
    all_geoms = np.concatenate([np.array(geoms, dtype=object), rural])
    code = np.concatenate([np.asarray(codes, dtype=object), rural_codes.astype(object)])
    frame = pd.DataFrame({"BSM": np.arange(7_000_001, 7_000_001 + len(all_geoms)), "YDYHFLDM": code})
    return gpd.GeoDataFrame(frame, geometry=all_geoms, crs=CRS)
