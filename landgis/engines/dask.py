"""Screening on a dask.distributed cluster, one spatial tile per task.

The parcels' extent is cut into a grid of tiles holding about ``tile_parcels``
parcels each. Every parcel belongs to exactly one tile: the one holding its
representative point (``point_on_surface``; the centre of its bounds for an
invalid geometry), tiles being half-open ``[x0, x1) × [y0, y1)`` except on the
grid's far edges. A task gets only the project file's path and its tile's
bounds; it reads the parcels of its tile with pyogrio's ``bbox`` filter (the
GeoPackage R-tree answers it), then every other layer within the bounds of
those parcels, and runs the same pure core as the local engine
(:func:`landgis.screening.screen_layers`). No geometry is shipped to a worker;
only the finished rows come back, and they are put in input order (by FID).

Parcels no tile can hold (null or empty geometry) are screened by one more
task that reads them by FID; they need no other layer.

Results are identical to the local engine's, row for row: an overlay only
depends on the parcel and the features that touch it, and every feature that
touches a parcel lies in the window read for it. What is per tile is the list of
input problems (merged, duplicates dropped) and checks that look at a whole
layer at once (duplicate parcel ids across tiles are not detected).

Pointing it at a real cluster::

    landgis screen province.toml --out out --engine dask --scheduler tcp://scheduler:8786

Every worker needs landgis installed and the input files at the same path (a
shared file system or object store mounted alike); only paths travel.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from landgis import io
from landgis.config import LayerSpec, Project, load_project, used_fields
from landgis.conflicts import conflict_rules
from landgis.crs import finite_bounds
from landgis.errors import LandgisError, Problem
from landgis.load import load_drawn_layers
from landgis.profiles import resolve_profile
from landgis.schema import usable_geometry
from landgis.threads import is_valid

__all__ = ["screen_dask", "parcel_tiles", "TILE_PARCELS"]

#: parcels per tile by default (a tile of a county takes a few seconds)
TILE_PARCELS = 20_000
#: how long a scheduler address may take to answer before the run gives up, naming it
CONNECT_TIMEOUT_S = 10.0
#: first margin (m) around a tile's parcels within which the survey's roads are read
_ROAD_MARGIN_M = 1000.0


def _require_dask():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise LandgisError("engine 'dask' needs dask.distributed: pip install 'landgis[dask]'") from None


def parcel_tiles(project: Project, tile_parcels: int = TILE_PARCELS) -> list[tuple[float, float, float, float, bool, bool]]:
    """The grid of tiles over the parcels' extent (in the parcels' file CRS).

    Each tile is ``(x0, y0, x1, y1, last_column, last_row)``.
    """
    spec = project.layers["parcels"]
    source, layer, _ = io.resolve_source(spec, [])
    info = pyogrio.read_info(source, layer=layer, force_feature_count=True, force_total_bounds=True)
    x0, y0, x1, y1 = (float(v) for v in info["total_bounds"])
    count = int(info["features"])
    if not all(map(math.isfinite, (x0, y0, x1, y1))) or count == 0:
        return []
    n = max(1, math.ceil(count / tile_parcels))
    w, h = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
    nx = max(1, round(math.sqrt(n * w / h)))
    ny = max(1, math.ceil(n / nx))
    xs, ys = np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1)
    return [(float(xs[i]), float(ys[j]), float(xs[i + 1]), float(ys[j + 1]), i == nx - 1, j == ny - 1)
            for j in range(ny) for i in range(nx)]


def _keypoints(geoms: np.ndarray) -> np.ndarray:
    """A point inside each parcel (bounds centre when invalid); NaN for null or empty."""
    out = np.full((len(geoms), 2), np.nan)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    valid = present & is_valid(geoms)
    if valid.any():
        out[valid] = shapely.get_coordinates(shapely.point_on_surface(geoms[valid]))
    odd = present & ~valid
    if odd.any():
        b = shapely.bounds(geoms[odd])
        out[odd] = np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2])
    return out


def _layer_crs(spec: LayerSpec) -> CRS | None:
    if spec.crs:
        return CRS.from_user_input(spec.crs)
    if spec.transform:
        return None
    try:
        frame, _ = io.read_vector(spec, max_features=1)
    except Exception:  # noqa: BLE001 - the full read will report the problem
        return None
    return CRS.from_user_input(frame.crs) if frame.crs is not None else None


def _window(bounds: np.ndarray, src: CRS | None, dst: CRS | None) -> tuple[float, float, float, float] | None:
    """``bounds`` (in ``src``) as a padded bbox in ``dst``; None = cannot tell, read everything."""
    if src is None or dst is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in bounds)
    if not src.equals(dst):
        x0, y0, x1, y1 = Transformer.from_crs(src, dst, always_xy=True).transform_bounds(
            x0, y0, x1, y1, densify_pts=21)
    pad = 1e-4 if dst.is_geographic else 1.0
    pad = max(pad, 1e-3 * max(x1 - x0, y1 - y0)) if not src.equals(dst) else pad
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)


def _screen_tile(source: str, profile, strict: bool, tile: tuple | None, fids: list[int] | None = None) -> dict:
    """Screen the parcels of one tile (or the listed FIDs); runs on a worker."""
    import warnings

    from landgis.load import load_layers
    from landgis.pipeline import screen_layers

    t0 = time.perf_counter()
    project = load_project(source)
    prof = resolve_profile(project, profile)
    pspec = project.layers["parcels"]
    if tile is not None:
        x0, y0, x1, y1, last_x, last_y = tile
        eps = 1e-6 * max(x1 - x0, y1 - y0, 1.0)
        raw, notes = io.read_vector(pspec, bbox=(x0 - eps, y0 - eps, x1 + eps, y1 + eps), fid_as_index=True)
        raw = raw.sort_index()
        k = _keypoints(np.asarray(raw.geometry.values, dtype=object))
        kx, ky = k[:, 0], k[:, 1]
        inside = ((kx >= x0) & ((kx < x1) | (last_x & (kx <= x1)))
                  & (ky >= y0) & ((ky < y1) | (last_y & (ky <= y1))))
        raw = raw[inside]
    else:
        raw, notes = io.read_vector(pspec, fid_as_index=True)
        raw = raw.sort_index()
        raw = raw[raw.index.isin(fids or [])]
    if len(raw) == 0:
        return {"fids": np.array([], dtype=np.int64), "seconds": time.perf_counter() - t0}
    tile_fids = raw.index.to_numpy()
    raw = raw.reset_index(drop=True)
    present = ~(shapely.is_missing(raw.geometry.values) | shapely.is_empty(raw.geometry.values))
    bounds = finite_bounds(raw.geometry.values[present]) if present.any() else None
    if bounds is not None and np.isnan(bounds).any():
        bounds = None
    parcels_crs = CRS.from_user_input(pspec.crs) if pspec.crs else (
        CRS.from_user_input(raw.crs) if raw.crs is not None else None)

    # Overlays only need the features touching the parcels; the nearest road (the
    # survey's road patches) may lie farther, so the survey is read with a margin
    # that grows until every parcel's nearest road lies inside it.
    road_margin = [_ROAD_MARGIN_M]

    def reader(spec: LayerSpec):
        if spec.role == "parcels":
            return raw, notes
        if bounds is None:  # no parcel geometry here: no other layer is needed
            return io.read_vector(spec, where="1=0")
        margin = road_margin[0] if spec.role in ("survey", "roads") else 0.0
        if margin == math.inf:
            return io.read_vector(spec)
        grown = np.asarray(bounds) + np.array([-margin, -margin, margin, margin])
        window = _window(grown, parcels_crs, _layer_crs(spec))
        if window is None:
            return io.read_vector(spec)
        frame, layer_notes = io.read_vector(spec, bbox=window, fid_as_index=True)
        return frame.sort_index().reset_index(drop=True), layer_notes

    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = load_layers(project, strict=strict, reader=reader)
            result = screen_layers(loaded, project, prof)
        if road_margin[0] == math.inf or "survey" not in project.layers or "roads" in project.layers:
            break
        usable = usable_geometry(result.inventory)
        dist = (result.facts["road_distance_m"].to_numpy(dtype=float) if "road_distance_m" in result.facts
                else np.full(len(usable), np.nan))[usable]
        if not usable.any() or (np.isfinite(dist).all() and (dist < road_margin[0]).all()):
            break
        road_margin[0] = road_margin[0] * 8 if road_margin[0] < 100_000 else math.inf
    conflicts = result.conflicts.copy()
    conflicts["_fid"] = (tile_fids[_positions(result.inventory, conflicts)] if len(conflicts)
                         else np.array([], dtype=np.int64))
    return {"fids": tile_fids, "inventory": result.inventory, "conflicts": conflicts, "facts": result.facts,
            "problems": result.problems, "skipped": result.skipped, "timings": result.timings,
            "seconds": time.perf_counter() - t0}


def _positions(inventory: gpd.GeoDataFrame, conflicts: gpd.GeoDataFrame) -> np.ndarray:
    """Row of each conflict's parcel in the tile's inventory (the first of equal ids)."""
    first = pd.Series(np.arange(len(inventory))).groupby(inventory["parcel_id"].to_numpy()).first()
    return first.reindex(conflicts["parcel_id"].to_numpy()).to_numpy()


def screen_dask(project: Project | str | Path, *, profile=None, strict: bool = False, client=None,
                tile_parcels: int = TILE_PARCELS, progress: Callable[[str], None] | None = None):
    """Screen ``project`` on a dask.distributed cluster; same result as the local engine.

    Parameters
    ----------
    project
        a project file path, or a :class:`~landgis.config.Project` read from one
        (workers re-read the file: only its path travels).
    client
        a ``distributed.Client``, a scheduler address (``tcp://host:8786``), or
        None for the current client or else a LocalCluster of this machine.
    tile_parcels
        about how many parcels one task screens.
    """
    _require_dask()
    from distributed import Client, LocalCluster, get_client

    from landgis.result import ScreeningResult

    step = progress or (lambda name: None)
    if isinstance(project, Project):
        if project.source is None:
            raise LandgisError("engine 'dask' needs a project read from a file (workers re-read it)")
        source = str(project.source)
    else:
        source = str(Path(project).resolve())
    proj = load_project(source)
    if isinstance(project, Project) and project != proj:  # changed after reading: the workers would not see it
        raise LandgisError(f"engine 'dask': this project differs from {source}, which the workers read; write "
                           "the changes (a layer's where, the tolerance…) to a project file and screen that")
    prof = resolve_profile(proj, profile)
    profile_arg = profile if isinstance(profile, (str, Path)) or profile is None else prof
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    own_cluster = None
    if isinstance(client, str):
        address = client
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise LandgisError(f"cannot reach the dask scheduler at {address} within {CONNECT_TIMEOUT_S:g} s "
                               f"({type(exc).__name__}: {exc}); check the address and that the scheduler runs "
                               "(dask scheduler), or leave --scheduler out to use this machine") from None
    elif client is None:
        try:
            client = get_client()
        except ValueError:
            own_cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
            client = Client(own_cluster)
    # the layers the maps draw are read here while the workers screen (this process waits on them)
    drawing = ThreadPoolExecutor(1, thread_name_prefix="landgis-drawn")
    drawn = drawing.submit(load_drawn_layers, proj)
    drawing.shutdown(wait=False)
    try:
        tiles = parcel_tiles(proj, tile_parcels)
        step(f"dask: {len(tiles)} tiles on {len(client.scheduler_info()['workers'])} workers")
        futures = client.map(_screen_tile, [source] * len(tiles), [profile_arg] * len(tiles),
                             [strict] * len(tiles), tiles, pure=False)
        parts = client.gather(futures)
        done = np.concatenate([p["fids"] for p in parts]) if parts else np.array([], dtype=np.int64)
        info_fids = _all_fids(proj)
        rest = np.setdiff1d(info_fids, done)
        if len(rest):
            step(f"dask: {len(rest)} parcels without geometry")
            parts.append(client.submit(_screen_tile, source, profile_arg, strict, None, rest.tolist(),
                                       pure=False).result())
    finally:
        if own_cluster is not None:
            client.close()
            own_cluster.close()
    timings["tiles"] = time.perf_counter() - t0
    timings["tile_seconds"] = [p["seconds"] for p in parts]
    parts = [p for p in parts if len(p["fids"])]
    if not parts:
        raise LandgisError(f"{source}: the parcels layer has no feature to screen")
    fids = np.concatenate([p["fids"] for p in parts])
    if not np.array_equal(np.sort(fids), np.sort(info_fids)):  # the contract: every parcel exactly once
        raise LandgisError(f"internal error: {len(info_fids)} parcels in, {len(fids)} rows out of the tiles")
    order = np.argsort(fids, kind="stable")
    inventory = pd.concat([p["inventory"] for p in parts], ignore_index=True).iloc[order].reset_index(drop=True)
    inventory = gpd.GeoDataFrame(inventory, geometry="geometry", crs=parts[0]["inventory"].crs)
    facts = pd.concat([p["facts"] for p in parts], ignore_index=True).iloc[order].reset_index(drop=True)
    conflicts = pd.concat([p["conflicts"] for p in parts], ignore_index=True)
    rule_rank = {r: i for i, r in enumerate(conflict_rules(prof))}  # the local engine's order: rule, then parcel
    conflicts["_rank"] = conflicts["rule"].map(rule_rank).fillna(len(rule_rank))
    conflicts = conflicts.sort_values(["_rank", "_fid"], kind="stable").drop(columns=["_rank", "_fid"])
    conflicts = gpd.GeoDataFrame(conflicts.reset_index(drop=True), geometry="geometry",
                                 crs=parts[0]["conflicts"].crs)
    problems: list[Problem] = []
    seen = set()
    for p in parts:
        for problem in p["problems"]:
            key = (problem.severity, problem.layer, problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    skipped = list({s.rule: s for p in parts for s in p["skipped"]}.values())
    return ScreeningResult(inventory=inventory, conflicts=conflicts, profile=prof, project=proj,
                           problems=problems, skipped=skipped, timings=timings, facts=facts,
                           layers={"parcels": inventory, **drawn.result()})


def _all_fids(project: Project) -> np.ndarray:
    spec = project.layers["parcels"]
    source, layer, _ = io.resolve_source(spec, [])
    columns: list[str] = []
    if spec.where:  # a shapefile is filtered on the fields read: those the filter names are
        columns = [f for f in pyogrio.read_info(source, layer=layer)["fields"] if f.lower() in used_fields(spec)]
    frame = pyogrio.read_dataframe(source, layer=layer, read_geometry=False, columns=columns, fid_as_index=True,
                                   where=spec.where)
    return np.sort(frame.index.to_numpy())
