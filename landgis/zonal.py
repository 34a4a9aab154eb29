"""Zonal statistics of polygons over a raster: the cells each polygon weighs, read window by window.

This module is an **I/O edge**, like :mod:`landgis.io`: it opens rasters with
rasterio (:func:`open_raster`) and reads them window by window, never whole.
Everything it returns is aligned to the polygons it was given.

* :func:`zonal_stats` — count, mean, min and max of any value raster per
  polygon, checked against python-rasterstats. The polygons are reprojected to
  the raster's CRS, never the raster, and grouped by the tile holding their
  centre: one window read per group (with a halo when the measure needs one,
  as the slope in :mod:`landgis.terrain` does), so window borders are exact.
* :func:`zonal_sums` — the engine under it: per-polygon weighted sums of any
  ``measure`` of the window's cells.
* :func:`cell_weights` — how one polygon weighs the cells of a grid.

Cell weights (``cell_rule``):

``"area"`` (default)
    each cell weighs the exact area of cell ∩ parcel, computed for all the
    parcels of a window at once from their edges (Green's theorem, see
    :func:`_area_coverage`; no per-cell geometry);
``"centre"``
    a cell counts (weight 1) when its centre is inside the parcel — GDAL's
    default rasterisation, as python-rasterstats does;
``"all_touched"``
    every cell the parcel touches counts (weight 1).

For ``"centre"``/``"all_touched"`` the parcels of a window are burnt by GDAL
together, in a few passes that never put two parcels able to burn each other's
cells into one pass. The measure is computed only at the cells that carry
weight, and the statistics are grouped sums over (parcel, cell, weight).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import CRS, Transformer

from landgis.config import LayerSpec
from landgis.errors import LayerError
from landgis.threads import is_valid

__all__ = ["RASTER_SUFFIXES", "CELL_RULES", "TILE", "is_raster_path", "cell_weights", "zonal_stats", "zonal_sums",
           "Measure", "open_raster", "raster_crs", "to_crs", "pixel_boxes"]

#: file suffixes read as rasters
RASTER_SUFFIXES = (".tif", ".tiff", ".img", ".vrt", ".asc")
#: how a parcel weighs the cells it covers
CELL_RULES = ("area", "centre", "all_touched")
#: parcels are grouped by DEM tiles of this many cells a side; one read per group
TILE = 512


def is_raster_path(path: Path | str | None) -> bool:
    """Whether a layer path names a raster (by suffix)."""
    return path is not None and Path(path).suffix.lower() in RASTER_SUFFIXES


# ------------------------------------------------------------ cell weights

#: a cell whose computed coverage is at most this fraction of a cell counts as not covered
#: (rounding residue of the coverage sums is ~1e-13; GEOS's overlay gives such cells area 0)
_COVER_EPS = 1e-10


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ragged ranges of ``counts`` items: (owner of each item, rank of the item within its owner)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    start = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - start[owner]


def _area_coverage(geoms: np.ndarray, r0: np.ndarray, r1: np.ndarray, c0: np.ndarray, c1: np.ndarray,
                   transform: Affine) -> tuple[np.ndarray, ...]:
    """Exact cell ∩ polygon areas for many polygons at once, vectorised (no per-cell geometry).

    Polygon ``k`` is measured over the cells ``r0[k]:r1[k] × c0[k]:c1[k]`` (its
    bounding box, clipped to the grid). By Green's theorem the area of a polygon
    inside the cell ``[j, j+1] × [i, i+1]`` (in cell units, rows downwards) is
    ``Σ_edges ∫ clamp(v - i, 0, 1) du`` over the part of each edge inside the
    column ``j`` (exterior rings one way round, holes the other). Each edge is
    cut into its column pieces; a piece adds its full width to the rows above
    it (a running sum down the column) and is integrated exactly (piecewise
    linear, midpoint rule) over the rows it crosses. The work is proportional to
    the cells the boundary crosses plus the bounding boxes' cells.

    Returns ``(k, row, col, area)`` of the cells with coverage > ``_COVER_EPS``
    of a cell (``row``/``col`` are grid indices, ``area`` in the grid's units²).
    """
    n = len(geoms)
    empty = (np.zeros(0, np.int64),) * 3 + (np.zeros(0),)
    if not n:
        return empty
    parts, owner = shapely.get_parts(geoms, return_index=True)
    parts, sub = shapely.get_parts(parts, return_index=True)  # a collection (from make_valid) may hold multipolygons
    owner = owner[sub]
    poly = shapely.get_type_id(parts) == 3
    parts, owner = shapely.orient_polygons(parts[poly]), owner[poly]  # exteriors anticlockwise, holes clockwise
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, vertex_ring = shapely.get_coordinates(rings, return_index=True)
    if not len(xy):
        return empty
    vk = owner[ring_part[vertex_ring]]
    # cell units relative to each polygon's box corner: u eastwards (columns), v southwards (rows)
    u = (xy[:, 0] - (transform.c + c0[vk] * transform.a)) / transform.a
    v = (xy[:, 1] - (transform.f + r0[vk] * transform.e)) / transform.e
    edge = (vertex_ring[:-1] == vertex_ring[1:]) & (u[:-1] != u[1:])  # vertical edges add nothing
    ua, ub, va, vb, k = u[:-1][edge], u[1:][edge], v[:-1][edge], v[1:][edge], vk[:-1][edge]
    nr, nc = (r1 - r0).astype(np.int64), (c1 - c0).astype(np.int64)
    # ---- edges → pieces in each column j they cross
    umin, umax = np.minimum(ua, ub), np.maximum(ua, ub)
    js = np.clip(np.floor(umin), 0, nc[k]).astype(np.int64)
    je = np.clip(np.ceil(umax), 0, nc[k]).astype(np.int64)
    e, rank = _expand(je - js)
    j = js[e] + rank
    lo, hi = np.clip(umin[e], j, j + 1), np.clip(umax[e], j, j + 1)
    keep = hi > lo
    e, j, lo, hi = e[keep], j[keep], lo[keep], hi[keep]
    ua_, ub_, va_, vb_ = ua[e], ub[e], va[e], vb[e]
    slope_ = (vb_ - va_) / (ub_ - ua_)
    v_lo = np.where(lo == ua_, va_, np.where(lo == ub_, vb_, va_ + (lo - ua_) * slope_))
    v_hi = np.where(hi == ua_, va_, np.where(hi == ub_, vb_, va_ + (hi - ua_) * slope_))
    du = np.where(ub_ > ua_, hi - lo, lo - hi)
    kp = k[e]
    # flat layout: polygon k, column j holds rows 0 … nr[k] (one spare row for the running sums)
    col_len = np.repeat(nr + 1, nc)
    col_start = np.cumsum(col_len) - col_len
    first_col = np.cumsum(nc) - nc
    base = col_start[first_col[kp] + j]
    size = int(col_len.sum())
    vmin, vmax = np.minimum(v_lo, v_hi), np.maximum(v_lo, v_hi)
    top = np.clip(np.floor(vmin), 0, nr[kp]).astype(np.int64)   # rows < top lie wholly above the piece
    bottom = np.clip(np.ceil(vmax), 0, nr[kp]).astype(np.int64)
    step = (np.bincount(base, du, minlength=size)
            - np.bincount(base + top, du, minlength=size))
    run = np.cumsum(step)
    full = run - np.repeat(np.concatenate([[0.0], run[col_start[1:] - 1]]), col_len)
    # ---- rows a piece crosses: ∫ clamp(v - i, 0, 1) du, piecewise linear in the piece's parameter s
    q, rank = _expand(bottom - top)
    i = (top[q] + rank).astype(np.float64)
    p0, dv = v_lo[q], (v_hi - v_lo)[q]
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = np.where(dv != 0, np.clip((i - p0) / dv, 0, 1), 0.0)
        s2 = np.where(dv != 0, np.clip((i + 1 - p0) / dv, 0, 1), 0.0)
    sa, sb = np.minimum(s1, s2), np.maximum(s1, s2)

    def h(s):
        return np.clip(p0 + s * dv - i, 0.0, 1.0)

    mean = sa * h(sa / 2) + (sb - sa) * h((sa + sb) / 2) + (1 - sb) * h((sb + 1) / 2)
    cover = full + np.bincount(base[q] + top[q] + rank, du[q] * mean, minlength=size)
    # ---- back to cells
    col_k = np.repeat(np.arange(n), nc)
    col_j = np.arange(len(col_k)) - first_col[col_k]
    cell_col = np.repeat(np.arange(len(col_len)), col_len)
    cell_i = np.arange(size) - col_start[cell_col]
    hit = (cell_i < nr[col_k][cell_col]) & (cover > _COVER_EPS)
    cc = cell_col[hit]
    kk = col_k[cc]
    return kk, r0[kk] + cell_i[hit], c0[kk] + col_j[cc], cover[hit] * abs(transform.a * transform.e)


def _burn_coverage(geoms: np.ndarray, r0: np.ndarray, r1: np.ndarray, c0: np.ndarray, c1: np.ndarray,
                   transform: Affine, all_touched: bool) -> tuple[np.ndarray, ...]:
    """The cells GDAL burns for each polygon (within its bounding box), for many polygons at once.

    Polygons are rasterised together, in as few passes as possible: two polygons share a pass only if neither can burn a
    cell of the other's box (boxes at least a cell apart for ``all_touched``),
    so overlapping and touching parcels each still get all their cells.
    Returns ``(k, row, col, 1.0)`` like :func:`_area_coverage`.
    """
    from rasterio.features import rasterize

    n = len(geoms)
    pad = 1 if all_touched else 0
    colour = np.zeros(n, np.int64)
    if n > 1:
        boxes = shapely.box(c0, r0, c1 + pad - 0.5, r1 + pad - 0.5)
        a, b = shapely.STRtree(boxes).query(boxes, predicate="intersects")
        clash = a != b
        if clash.any():
            a, b = a[clash], b[clash]
            order = np.argsort(a, kind="stable")
            a, b = a[order], b[order]
            starts = np.searchsorted(a, np.arange(n + 1))
            for p in range(n):
                seen = {int(colour[q]) for q in b[starts[p]:starts[p + 1]] if q < p}
                c = 0
                while c in seen:
                    c += 1
                colour[p] = c
    out = []
    for c in range(int(colour.max()) + 1):
        members = np.flatnonzero(colour == c)
        # burn on the members' joint box only; each member keeps the cells of its own box
        br0, br1 = int(r0[members].min()), int(r1[members].max())
        bc0, bc1 = int(c0[members].min()), int(c1[members].max())
        dtype = "uint8" if len(members) < 255 else "uint16" if len(members) < 65535 else "int32"
        label = rasterize([(geoms[p], q + 1) for q, p in enumerate(members)], out_shape=(br1 - br0, bc1 - bc0),
                          transform=transform @ Affine.translation(bc0, br0), all_touched=all_touched, dtype=dtype)
        nr, nc = r1[members] - r0[members], c1[members] - c0[members]
        q, rank = _expand(nr * nc)
        ii, jj = r0[members][q] + rank // nc[q], c0[members][q] + rank % nc[q]
        hit = label[ii - br0, jj - bc0] == q + 1
        out.append((members[q[hit]], ii[hit], jj[hit]))
    k, ii, jj = (np.concatenate(x).astype(np.int64) for x in zip(*out, strict=True))
    return k, ii, jj, np.ones(len(k))


def cell_weights(geom, transform: Affine, rows: tuple[int, int], cols: tuple[int, int],
                 rule: str = "area") -> np.ndarray:
    """Weights of the cells ``rows × cols`` of a grid for one polygon.

    ``"area"``: cell ∩ polygon area (in the grid's units²); ``"centre"`` /
    ``"all_touched"``: 1 for the cells GDAL would burn, else 0.

    >>> import shapely
    >>> w = cell_weights(shapely.box(0.5, 0, 2, 1.5), Affine(1, 0, 0, 0, -1, 2), (0, 2), (0, 2))
    >>> w.tolist()
    [[0.25, 0.5], [0.5, 1.0]]
    """
    shape = (rows[1] - rows[0], cols[1] - cols[0])
    one = lambda x: np.array([x], dtype=np.int64)
    box = (one(rows[0]), one(rows[1]), one(cols[0]), one(cols[1]))
    if rule == "area":
        _, ii, jj, w = _area_coverage(np.array([geom], dtype=object), *box, transform)
    else:
        _, ii, jj, w = _burn_coverage(np.array([geom], dtype=object), *box, transform, rule == "all_touched")
    out = np.zeros(shape)
    out[ii - rows[0], jj - cols[0]] = w
    return out


# ------------------------------------------------------------ the engine


@dataclass
class _Window:
    rows: tuple[int, int]
    cols: tuple[int, int]
    parcels: np.ndarray


def open_raster(spec: LayerSpec):
    """The raster of ``spec``, opened with rasterio after checking its path, band and north-up grid."""
    import rasterio
    from rasterio.errors import RasterioIOError

    role = spec.role
    if spec.path is None or not Path(spec.path).exists():
        raise LayerError(f"layer `{role}`: {spec.path} does not exist; check [layers.{role}] path")
    try:
        src = rasterio.open(spec.path)
    except RasterioIOError as exc:
        raise LayerError(f"layer `{role}`: cannot read {spec.path} as a raster: {exc}") from None
    if spec.band > src.count:
        src.close()
        raise LayerError(f"layer `{role}`: {Path(spec.path).name} has {src.count} band(s); "
                         f"[layers.{role}] band = {spec.band} does not exist")
    t = src.transform
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        src.close()
        raise LayerError(f"layer `{role}`: {Path(spec.path).name} is rotated or not north-up ({tuple(t)[:6]}); "
                         "warp it to a north-up grid first (gdalwarp)")
    # a file cut short (a copy that did not finish) opens, and fails where its data ends: its last block
    from rasterio.windows import Window

    block_h, block_w = src.block_shapes[spec.band - 1]
    last = Window(max(src.width - block_w, 0), max(src.height - block_h, 0), min(block_w, src.width),
                  min(block_h, src.height))
    try:
        src.read(spec.band, window=last)
    except RasterioIOError as exc:
        src.close()
        raise LayerError(f"layer `{role}`: {Path(spec.path).name} is truncated or damaged (its last block cannot be "
                         f"read: {exc}); copy or export it again") from None
    return src


def raster_crs(src, spec: LayerSpec) -> CRS:
    """The raster's CRS: ``spec.crs`` when the project declares one, else the file's own."""
    if spec.crs:
        return CRS.from_user_input(spec.crs)
    if src.crs is None:
        raise LayerError(f"layer `{spec.role}`: {Path(spec.path).name} has no CRS; declare crs = \"EPSG:…\" "
                         f"in [layers.{spec.role}]")
    return CRS.from_user_input(src.crs.to_wkt())


def to_crs(geoms: np.ndarray, src: CRS, dst: CRS) -> np.ndarray:
    """``geoms`` (in ``src``) reprojected to ``dst``; unchanged when the two are equal."""
    if src.equals(dst):
        return geoms
    tr = Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def pixel_boxes(geoms: np.ndarray, transform: Affine, height: int, width: int, pad: int = 0):
    """Row/column ranges of each geometry's bounding box, clipped to the grid; and which are non-empty."""
    b = shapely.bounds(geoms)
    c0 = np.floor((b[:, 0] - transform.c) / transform.a) - pad
    c1 = np.ceil((b[:, 2] - transform.c) / transform.a) + pad
    r0 = np.floor((b[:, 3] - transform.f) / transform.e) - pad
    r1 = np.ceil((b[:, 1] - transform.f) / transform.e) + pad
    bad = np.isnan(b).any(axis=1)
    c0, c1, r0, r1 = (np.nan_to_num(v).astype(np.int64) for v in (c0, c1, r0, r1))
    c0, c1 = np.clip(c0, 0, width), np.clip(c1, 0, width)
    r0, r1 = np.clip(r0, 0, height), np.clip(r1, 0, height)
    ok = ~bad & (c1 > c0) & (r1 > r0)
    return r0, r1, c0, c1, ok


def _windows(r0, r1, c0, c1, ok, tile: int) -> Iterator[_Window]:
    """Group parcels by the tile holding their centre; one window per group (parcels bigger than a tile alone)."""
    idx = np.flatnonzero(ok)
    if not len(idx):
        return
    big = ((r1 - r0) > tile) | ((c1 - c0) > tile)
    for p in idx[big[idx]]:
        yield _Window((int(r0[p]), int(r1[p])), (int(c0[p]), int(c1[p])), np.array([p]))
    small = idx[~big[idx]]
    if not len(small):
        return
    key = pd.DataFrame({"p": small, "tr": ((r0[small] + r1[small]) // 2) // tile,
                        "tc": ((c0[small] + c1[small]) // 2) // tile})
    for _, group in key.groupby(["tr", "tc"], sort=True):
        p = group["p"].to_numpy()
        yield _Window((int(r0[p].min()), int(r1[p].max())), (int(c0[p].min()), int(c1[p].max())), p)


def _read(src, band: int, rows: tuple[int, int], cols: tuple[int, int], halo: int):
    """Window ``rows × cols`` plus ``halo`` cells, padded as invalid beyond the raster; (values, valid)."""
    from rasterio.errors import RasterioIOError
    from rasterio.windows import Window

    R0, R1 = rows[0] - halo, rows[1] + halo
    C0, C1 = cols[0] - halo, cols[1] + halo
    r0, r1 = max(R0, 0), min(R1, src.height)
    c0, c1 = max(C0, 0), min(C1, src.width)
    try:
        data = src.read(band, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
    except RasterioIOError as exc:
        raise LayerError(f"cannot read {src.name} (rows {r0}–{r1}, columns {c0}–{c1}): {exc}; the file is "
                         "truncated or damaged: copy or export it again") from None
    values = np.asarray(data.data)
    valid = ~np.ma.getmaskarray(data)
    if np.issubdtype(values.dtype, np.floating):
        valid &= np.isfinite(values)
    pad = ((r0 - R0, R1 - r1), (c0 - C0, C1 - c1))
    if any(x for p in pad for x in p):
        values = np.pad(values, pad)
        valid = np.pad(valid, pad, constant_values=False)
    return values, valid


#: ``measure(values, valid, ii, jj, row0)``: the measure (and whether it is valid) at the inner cells
#: ``(ii, jj)`` of a window read with its halo, the window's first row being grid row ``row0``
Measure = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def zonal_sums(geoms: np.ndarray, src, band: int, rule: str, halo: int, measure: Measure,
           thresholds: tuple[float, ...] = (), tile: int = TILE) -> dict[str, np.ndarray]:
    """Per-parcel weighted statistics of ``measure`` over the raster (geoms in the raster's CRS).

    Per window, the weights of all its parcels are computed at once as
    (parcel, cell, weight) triples, the measure only at those cells, and the
    statistics by grouped sums.
    """
    if rule not in CELL_RULES:
        raise ValueError(f"cell rule {rule!r} is not one of {', '.join(CELL_RULES)}")
    n = len(geoms)
    out = {k: np.zeros(n) for k in ("weight", "valid_weight", "sum", "count")}
    out["min"] = np.full(n, np.nan)
    out["max"] = np.full(n, np.nan)
    for t in thresholds:
        out[f"above_{t}"] = np.zeros(n)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not usable.any():
        return out
    safe = np.where(usable, geoms, None)
    invalid = usable & ~is_valid(safe)
    if invalid.any():  # callers pass cleaned parcels; raw ones are repaired here so GEOS can intersect
        safe[invalid] = shapely.make_valid(safe[invalid])
    geoms = safe
    transform = src.transform
    r0, r1, c0, c1, ok = pixel_boxes(safe, transform, src.height, src.width)
    ok &= usable
    for win in _windows(r0, r1, c0, c1, ok, tile):
        raw, raw_valid = _read(src, band, win.rows, win.cols, halo)
        p = win.parcels
        box = (r0[p], r1[p], c0[p], c1[p])
        if rule == "area":
            k, ii, jj, w = _area_coverage(geoms[p], *box, transform)
        else:
            k, ii, jj, w = _burn_coverage(geoms[p], *box, transform, rule == "all_touched")
        m = len(p)
        out["weight"][p] = np.bincount(k, w, minlength=m)
        v, good = measure(raw, raw_valid, ii - win.rows[0], jj - win.cols[0], win.rows[0])
        good &= w > 0
        k, w, v = k[good], w[good], v[good].astype(np.float64)
        out["valid_weight"][p] = np.bincount(k, w, minlength=m)
        out["sum"][p] = np.bincount(k, w * v, minlength=m)
        count = np.bincount(k, minlength=m)
        out["count"][p] = count
        lo, hi = np.full(m, np.inf), np.full(m, -np.inf)
        np.minimum.at(lo, k, v)
        np.maximum.at(hi, k, v)
        has = count > 0
        out["min"][p[has]] = lo[has]
        out["max"][p[has]] = hi[has]
        for t in thresholds:
            above = v > t
            out[f"above_{t}"][p] = np.bincount(k[above], w[above], minlength=m)
    return out


def zonal_stats(geoms: np.ndarray | gpd.GeoSeries, crs, spec: LayerSpec, *, rule: str = "area",
                tile: int = TILE) -> pd.DataFrame:
    """Count, mean, min and max of a raster band per polygon (weighted per ``rule``).

    ``geoms`` are in ``crs`` and are reprojected to the raster's CRS. ``count``
    is the number of valid cells with weight > 0; ``mean`` is weighted;
    ``nodata_share`` is the share of the polygon's weight on nodata cells.
    """
    geoms = np.asarray(geoms.values if isinstance(geoms, gpd.GeoSeries) else geoms, dtype=object)
    with open_raster(spec) as src:
        rcrs = raster_crs(src, spec)
        local = to_crs(geoms, CRS.from_user_input(crs), rcrs)
        stats = zonal_sums(local, src, spec.band, rule, 0, lambda v, ok, ii, jj, row0: (v[ii, jj], ok[ii, jj]),
                       tile=tile)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(stats["valid_weight"] > 0, stats["sum"] / stats["valid_weight"], np.nan)
        nodata = np.where(stats["weight"] > 0, 1 - stats["valid_weight"] / stats["weight"], np.nan)
    return pd.DataFrame({"count": stats["count"].astype(np.int64), "mean": mean, "min": stats["min"],
                         "max": stats["max"], "nodata_share": nodata})
