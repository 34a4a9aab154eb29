"""Terrain and raster inputs: DEM slope per parcel, raster constraints.

This module is an **I/O edge**, like :mod:`landgis.io`: it opens rasters with
rasterio and reads them window by window, never whole (through
:mod:`landgis.zonal`). Everything it returns is aligned to the parcels it was given.

* :func:`slope_stats` — Horn's slope of a DEM, per parcel: mean, max and the
  share steeper than a threshold. Computed in the DEM's own grid (the parcels
  are reprojected to the DEM's CRS, never the DEM), one window per cluster of
  parcels with a one-cell halo, so window borders are exact. A cell is nodata
  when any of its 3 × 3 neighbours is nodata (GDAL ``gdaldem slope`` without
  ``-compute_edges``); the DEM's outermost ring is therefore nodata too.
  The windows, the cell weights (``cell_rule``) and the grouped sums are
  :mod:`landgis.zonal`'s (its :func:`~landgis.zonal.zonal_stats` is the same
  machinery over any value raster); the slope is computed only at the cells
  that carry weight.
* :func:`raster_constraint_layer` — a constraint given as a classified raster
  (``values`` = the cell values that are the constraint) turned into its
  vector twin: the constraint cells around the parcels as cell-aligned
  polygons, so the overlay engine measures their exact cell coverage.

Elevations are taken to be metres. In a geographic DEM (degrees) the cell size
is converted to metres on the DEM's ellipsoid at each row's latitude.

>>> import numpy as np
>>> z = np.add.outer(np.zeros(4), np.arange(4) * 1.0)      # rises 1 m per 10 m cell eastwards
>>> s, ok = horn_slope(z, np.ones_like(z, bool), 10.0, 10.0)
>>> round(float(s[0, 0]), 4), s.shape                    # atan(0.1) in degrees
(5.7106, (2, 2))
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import CRS

from landgis.config import LayerSpec
from landgis.errors import LayerError
from landgis.schema import usable_geometry
from landgis.zonal import TILE, open_raster, pixel_boxes, raster_crs, to_crs, zonal_sums

__all__ = ["DEFAULT_SLOPE_MAX_DEG", "horn_slope", "slope_stats", "raster_constraint_layer", "terrain_facts"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

#: slope above which ground counts as steep when a profile gives no ``slope_max_deg``:
#: the 15° class limit of the 三调 slope grading (≤2, 2–6, 6–15, 15–25, >25°)
DEFAULT_SLOPE_MAX_DEG = 15.0


# ------------------------------------------------------------------ slope


def horn_slope(z: np.ndarray, valid: np.ndarray, dx: float | np.ndarray,
               dy: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope in degrees by Horn's (1981) method for the inner cells of ``z``.

    ``z`` carries a one-cell halo; the result is two rows and two columns
    smaller. ``dx``/``dy`` are the cell sizes in metres (scalars, or arrays
    broadcasting over the inner rows). A cell is valid only if its whole 3 × 3
    neighbourhood is.
    """
    z = np.where(valid, z, 0.0).astype(np.float64, copy=False)
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * dx)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * dy)
    slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    ok = valid[1:-1, 1:-1].copy()
    for di in (0, 1, 2):
        for dj in (0, 1, 2):
            ok &= valid[di:di + ok.shape[0], dj:dj + ok.shape[1]]
    return slope, ok


def _metre_spacing(crs: CRS, transform: Affine, row0: int, nrows: int) -> tuple[object, object]:
    """Cell size in metres (dx, dy) for rows ``row0 … row0+nrows`` of the grid."""
    if crs.is_geographic:
        ell = crs.ellipsoid
        a_m = ell.semi_major_metre
        e2 = 1 - (ell.semi_minor_metre / a_m) ** 2
        lat = np.radians(transform.f + (np.arange(row0, row0 + nrows) + 0.5) * transform.e)
        w = 1 - e2 * np.sin(lat) ** 2
        n_rad = a_m / np.sqrt(w)                   # prime-vertical radius
        m_rad = a_m * (1 - e2) / w ** 1.5          # meridian radius
        dx = (n_rad * np.cos(lat) * math.radians(abs(transform.a)))[:, None]
        dy = (m_rad * math.radians(abs(transform.e)))[:, None]
        return dx, dy
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return abs(transform.a) * unit, abs(transform.e) * unit


def _horn_at(z: np.ndarray, valid: np.ndarray, ii: np.ndarray, jj: np.ndarray, dx, dy) -> tuple[np.ndarray, np.ndarray]:
    """:func:`horn_slope` at the inner cells ``(ii, jj)`` only (``z`` with its one-cell halo), bit for bit."""
    width = z.shape[1]
    zf, vf = z.ravel(), valid.ravel()
    at = ii * width + jj  # flat index of the cell's north-west neighbour
    ok = np.ones(len(at), bool)
    n = {}
    for di in (0, 1, 2):
        for dj in (0, 1, 2):
            idx = at + (di * width + dj)
            good = vf[idx]
            ok &= good
            if (di, dj) != (1, 1):
                n[di, dj] = np.where(good, zf[idx], 0.0).astype(np.float64, copy=False)
    a, b, c = n[0, 0], n[0, 1], n[0, 2]
    d, f = n[1, 0], n[1, 2]
    g, h, i = n[2, 0], n[2, 1], n[2, 2]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * dx)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * dy)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy))), ok


def slope_stats(geoms: np.ndarray | gpd.GeoSeries, crs, spec: LayerSpec, *, steep_deg: float = DEFAULT_SLOPE_MAX_DEG,
                rule: str = "area", tile: int = TILE) -> pd.DataFrame:
    """Slope of the DEM ``spec`` per parcel: ``slope_mean_deg``, ``slope_max_deg``, ``slope_steep_share``.

    ``slope_steep_share`` is the (weighted) share of the parcel's measured
    ground steeper than ``steep_deg``; ``slope_covered_share`` is the share of
    the parcel with a valid slope (nodata and the DEM's edge excluded). A
    parcel with no valid cell gets NaN.
    """
    geoms = np.asarray(geoms.values if isinstance(geoms, gpd.GeoSeries) else geoms, dtype=object)
    with open_raster(spec) as src:
        rcrs = raster_crs(src, spec)
        local = to_crs(geoms, CRS.from_user_input(crs), rcrs)
        transform = src.transform

        def measure(z, ok, ii, jj, row0):
            dx, dy = _metre_spacing(rcrs, transform, row0, z.shape[0] - 2)
            if np.ndim(dx):  # geographic: a cell size per row
                dx, dy = np.ravel(dx)[ii], np.ravel(dy)[ii]
            return _horn_at(z, ok, ii, jj, dx, dy)

        stats = zonal_sums(local, src, spec.band, rule, 1, measure, thresholds=(float(steep_deg),), tile=tile)
    usable = ~(shapely.is_missing(local) | shapely.is_empty(local))
    area = np.where(usable, shapely.area(np.where(usable, local, None)), 0.0)
    if rule != "area":
        area = stats["weight"]  # cells are counted, not measured
    vw = stats["valid_weight"]
    with np.errstate(invalid="ignore", divide="ignore"):
        has = vw > 0
        mean = np.where(has, stats["sum"] / vw, np.nan)
        steep = np.where(has, stats[f"above_{float(steep_deg)}"] / vw, np.nan)
        covered = np.where(area > 0, np.minimum(vw / np.where(area > 0, area, 1), 1.0), 0.0)
    return pd.DataFrame({"slope_mean_deg": mean, "slope_max_deg": np.where(has, stats["max"], np.nan),
                         "slope_steep_share": steep, "slope_covered_share": covered})


def terrain_facts(parcels: gpd.GeoDataFrame, spec: LayerSpec | None, settings,
                  unavailable: dict[str, str]) -> pd.DataFrame | None:
    """The slope facts of the usable parcels (index aligned), or ``None`` with the reason in ``unavailable``."""
    if spec is None:
        unavailable["slope"] = "the project has no [layers.dem] (elevation raster)"
        return None
    usable = usable_geometry(parcels)
    geoms = np.where(usable, parcels.geometry.values, None)
    steep = float(settings.get("slope_max_deg", DEFAULT_SLOPE_MAX_DEG))
    frame = slope_stats(geoms, parcels.crs, spec, steep_deg=steep, rule=getattr(spec, "cell_rule", "area"))
    frame.index = parcels.index
    none = usable & ~(frame["slope_covered_share"].to_numpy() > 0)
    if none.any():
        log.warning("%d parcels have no valid DEM cell (outside the DEM or nodata): %s", int(none.sum()),
                    ", ".join(map(str, parcels["parcel_id"].to_numpy()[none][:8])))
    return frame


# ------------------------------------------------------- raster constraints


def raster_constraint_layer(spec: LayerSpec, parcel_geoms: np.ndarray, crs, *, tile: int = 256) -> gpd.GeoDataFrame:
    """The constraint cells (value in ``spec.values``) around the parcels, as polygons in ``crs``.

    Only the raster tiles the parcels' bounding boxes touch are read; each is
    polygonised on its own (tiles never overlap, so ground is never counted
    twice). The polygons follow cell edges, so the overlay engine's exact
    intersection gives each parcel its cell-coverage area. Polygons are
    densified to one vertex per cell edge before reprojection.
    """
    from rasterio.features import shapes
    from rasterio.windows import Window

    values = tuple(getattr(spec, "values", None) or ())
    if not values:
        raise LayerError(f"layer `{spec.role}`: a raster constraint needs `values`, the cell values that are "
                         f"{spec.role}, e.g. values = [1] in [layers.{spec.role}]")
    geoms = np.asarray(parcel_geoms, dtype=object)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    pieces: list = []
    ids: list[str] = []
    with open_raster(spec) as src:
        rcrs = raster_crs(src, spec)
        local = to_crs(np.where(usable, geoms, None), CRS.from_user_input(crs), rcrs)
        r0, r1, c0, c1, ok = pixel_boxes(local, src.transform, src.height, src.width, pad=1)
        ok &= usable
        tiles: set[tuple[int, int]] = set()
        for p in np.flatnonzero(ok):
            for tr in range(int(r0[p]) // tile, (int(r1[p]) - 1) // tile + 1):
                for tc in range(int(c0[p]) // tile, (int(c1[p]) - 1) // tile + 1):
                    tiles.add((tr, tc))
        for tr, tc in sorted(tiles):
            win = Window(tc * tile, tr * tile, min(tile, src.width - tc * tile), min(tile, src.height - tr * tile))
            data = src.read(spec.band, window=win, masked=True)
            mask = np.isin(np.asarray(data.data), values) & ~np.ma.getmaskarray(data)
            if not mask.any():
                continue
            wt = src.transform @ Affine.translation(tc * tile, tr * tile)
            for k, (g, _) in enumerate(shapes(mask.astype("uint8"), mask=mask, connectivity=4, transform=wt)):
                pieces.append(shapely.geometry.shape(g))
                ids.append(f"{tr}-{tc}-{k}")
        step = abs(src.transform.a)
    out = np.array(pieces, dtype=object)
    if len(out) and not rcrs.equals(CRS.from_user_input(crs)):
        out = to_crs(shapely.segmentize(out, step), rcrs, CRS.from_user_input(crs))
    return gpd.GeoDataFrame({"feature_id": pd.Series(ids, dtype=object)},
                            geometry=gpd.GeoSeries(out if len(out) else [], crs=crs), crs=crs)
