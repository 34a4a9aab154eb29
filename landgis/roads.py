"""Site conditions (开发建设条件): road access, and the terrain facts wired into the pipeline.

taian §三(三)3(五) asks for 通路、通水、通电、土地平整; yueqing §8(4) and
tianning §6 for basic infrastructure. What a GIS can measure of it:

* **road access** — :func:`road_distance`: the distance from each parcel to
  the nearest road, 0 when they touch. Roads come from a ``[layers.roads]``
  layer (lines or polygons) when the project gives one, else from the current
  survey's road classes: 三调 1003 公路用地, 1004 城镇村道路用地 and 1006 农村道路
  (《第三次全国国土调查工作分类》; the code table's role ``road``; a profile may
  name others in ``settings.road_classes``);
* **level land** — slope from the DEM, see :mod:`landgis.terrain`.

Water and power supply are not in any input layer; they stay a site visit.

:func:`landgis.pipeline` adds ``road_distance_m``, ``road_access``, ``road_source``
and the slope facts to the fact table, or records why they are unavailable
(the rules that need them are then skipped with a warning). Everything here is
pure: the roads layer is read by :mod:`landgis.load`.

>>> import shapely
>>> parcels = np.array([shapely.box(0, 0, 10, 10), shapely.box(0, 300, 10, 310), None])
>>> road = np.array([shapely.LineString([(20, -50), (20, 50)])])
>>> road_distance(parcels, road).tolist()
[10.0, 250.19992006393608, nan]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landgis.codes import CodeTable, normalize_codes
from landgis.distinct import map_distinct
from landgis.overlay import subdivide
from landgis.schema import usable_geometry
from landgis.threads import in_threads

__all__ = ["DEFAULT_ROAD_MAX_DISTANCE_M", "road_distance", "survey_roads", "access_facts", "nearest_distance"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

#: road within this distance (m) counts as access when a profile gives no ``road_max_distance_m``
DEFAULT_ROAD_MAX_DISTANCE_M = 200.0


def road_distance(parcel_geoms: np.ndarray, road_geoms: np.ndarray) -> np.ndarray:
    """Planar distance (CRS units) from each parcel to the nearest road; NaN for a missing parcel."""
    parcels = np.asarray(parcel_geoms, dtype=object)
    roads = np.asarray(road_geoms, dtype=object)
    roads = roads[~(shapely.is_missing(roads) | shapely.is_empty(roads))]
    out = np.full(len(parcels), np.nan)
    usable = ~(shapely.is_missing(parcels) | shapely.is_empty(parcels))
    if not usable.any() or not len(roads):
        return out
    # long road patches have thousands of vertices: cut them into small pieces so each
    # nearest-distance test is cheap (the distance to the nearest piece is the distance)
    polygonal = np.isin(shapely.get_type_id(roads), (3, 6))
    if polygonal.any():
        pieces, _ = subdivide(roads[polygonal], 64)
        roads = np.concatenate([pieces, roads[~polygonal]])
    tree = shapely.STRtree(roads)
    idx = np.flatnonzero(usable)
    out[idx] = in_threads(lambda geoms: nearest_distance(tree, geoms), parcels[idx])  # GEOS frees the GIL
    return out


#: search radii (CRS units) tried in turn before a full nearest-neighbour search
_NEAREST_RINGS = (50.0, 200.0, 800.0)


def nearest_distance(tree: shapely.STRtree, geoms: np.ndarray,
                     rings: tuple[float, ...] = _NEAREST_RINGS) -> np.ndarray:
    """Exact distance from each geometry to the nearest geometry of ``tree``.

    GEOS's ``query_nearest`` searches the whole tree for every parcel. Most
    parcels have a road close by, so the search widens in rings instead: the tree
    geometries whose bounds come within ``r`` of a parcel's bounds are its
    candidates, and a parcel whose nearest candidate is ≤ ``r`` away is done — any
    geometry nearer than ``r`` has bounds within ``r``, so none was missed. The few
    left after the last ring get ``query_nearest``.

    Within a ring, candidates are measured nearest bounds first: the distance
    between two bounding boxes is never more than that between the geometries, so
    once a parcel's nearest measured distance is no more than a candidate's box
    distance, that candidate cannot be nearer and is never measured. On the bench
    county that halves the exact distances (370k to 183k) for the same result.

    >>> roads = np.array([shapely.box(0, 0, 1, 100), shapely.box(3000, 0, 3001, 1)])
    >>> parcels = np.array([shapely.box(10, 0, 20, 10), shapely.box(1500, 0, 1510, 10)])
    >>> nearest_distance(shapely.STRtree(roads), parcels).tolist()
    [9.0, 1490.0]
    """
    out = np.full(len(geoms), np.nan)
    todo = np.arange(len(geoms))
    tree_geoms = tree.geometries
    tree_bounds = shapely.bounds(tree_geoms)
    geom_bounds = shapely.bounds(geoms)
    for radius in rings:
        if not len(todo):
            return out
        x0, y0, x1, y1 = geom_bounds[todo].T
        near, found = tree.query(shapely.box(x0 - radius, y0 - radius, x1 + radius, y1 + radius))
        box_dist = _box_distance(geom_bounds[todo[near]], tree_bounds[found])
        keep = box_dist <= radius  # the corners of the widened box reach farther than the radius
        near, found, box_dist = near[keep], found[keep], box_dist[keep]
        order = np.lexsort((box_dist, near))
        near, found, box_dist = near[order], found[order], box_dist[order]
        best = np.full(len(todo), np.inf)
        pending = np.ones(len(near), bool)
        while pending.any():
            # each parcel's unmeasured candidate of least box distance
            at = np.flatnonzero(pending)
            first = at[np.r_[True, near[at[1:]] != near[at[:-1]]]]
            dist = shapely.distance(geoms[todo[near[first]]], tree_geoms[found[first]])
            np.minimum.at(best, near[first], dist)
            pending[first] = False
            pending &= box_dist < best[near]
        done = best <= radius
        out[todo[done]] = best[done]
        todo = todo[~done]
    if len(todo):
        (which, _), dist = tree.query_nearest(geoms[todo], return_distance=True, all_matches=False)
        out[todo[which]] = dist
    return out


def _box_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance between bounding boxes, row by row (``(xmin, ymin, xmax, ymax)`` each); 0 where they meet."""
    dx = np.maximum(0.0, np.maximum(a[:, 0] - b[:, 2], b[:, 0] - a[:, 2]))
    dy = np.maximum(0.0, np.maximum(a[:, 1] - b[:, 3], b[:, 1] - a[:, 3]))
    return np.hypot(dx, dy)


def survey_roads(survey: gpd.GeoDataFrame, table: CodeTable, classes: list[str] | None = None) -> np.ndarray:
    """Survey patches that are roads: the given class codes (and their sub-codes), else the table's role ``road``."""
    if "class_code" not in survey or not len(survey):
        return np.array([], dtype=object)
    codes = normalize_codes(survey["class_code"]).astype(str)
    # each distinct code once (a survey has hundreds of thousands of patches but a few dozen codes)
    if classes:
        wanted = tuple(str(c) for c in classes)
        mask = map_distinct(codes, lambda c: c.startswith(wanted), missing=False)
    else:
        info = table.frame(codes.unique())
        road = set(info.index[(info["role"].fillna("") == "road").to_numpy()])
        mask = map_distinct(codes, road.__contains__, missing=False)
    return np.asarray(survey.geometry.values[mask.astype(bool)], dtype=object)


def access_facts(parcels: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame],
                 tables: Mapping[str, CodeTable], settings: Mapping,
                 unavailable: dict[str, str]) -> pd.DataFrame | None:
    """``road_distance_m``, ``road_access`` (a road within ``road_max_distance_m``) and ``road_source``."""
    classes = settings.get("road_classes")
    if "roads" in layers:
        roads = np.asarray(layers["roads"].geometry.values, dtype=object)
        source = "roads layer"
    elif "survey" in layers:
        roads = survey_roads(layers["survey"], tables["survey"], classes)
        source = "survey " + ("/".join(map(str, classes)) if classes else "1003/1004/1006")
    else:
        unavailable["road"] = "the project has neither [layers.roads] nor a survey layer with road classes"
        return None
    if not len(roads):
        unavailable["road"] = (f"no road in the {source} (add [layers.roads], or name the survey's road "
                               "classes in the profile's settings.road_classes)")
        return None
    usable = usable_geometry(parcels)
    dist = road_distance(np.where(usable, parcels.geometry.values, None), roads)
    limit = float(settings.get("road_max_distance_m", DEFAULT_ROAD_MAX_DISTANCE_M))
    access = pd.array(np.where(usable, dist <= limit, pd.NA), dtype="boolean")
    return pd.DataFrame({"road_distance_m": dist, "road_access": access,
                         "road_source": np.where(usable, source, "")}, index=parcels.index)
