"""Load stage: input layers → canonical GeoDataFrames in one projected CRS.

``load_layers`` is the only function here that touches files (through
:mod:`landgis.io`); the rest are pure functions on GeoDataFrames:

* :func:`resolve_layer_crs` — declared CRS, the file's CRS, or an inference
  from zone-prefixed Gauss-Krüger eastings or degrees (loudly warned);
* :func:`working_crs_for` — the CGCS2000 Gauss-Krüger CRS areas are computed in;
* :func:`to_working_crs` — reprojection, or an explicit PROJ pipeline; a
  ballpark datum shift is warned about, naming the layer;
* :func:`clean_polygons` — 2D, valid, polygonal geometry, with a status per row;
* :func:`canonical_parcels` / :func:`canonical_layer` — standard field names,
  booleans in every spelling the contract lists, years as integers.

Every repair and assumption becomes a :class:`~landgis.errors.Problem`, so that
``landgis validate`` and the screening log show it with counts and ids.
"""

from __future__ import annotations

import difflib
import logging
import operator
import re
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from landgis import io
from landgis.threads import in_threads, is_valid
from landgis.config import BOOLEAN_ATTRIBUTES, FEATURE_ID_FIELDS, STANDARD_FIELDS, LayerSpec, Project
from landgis.distinct import factorize_values, map_distinct
from landgis.errors import (
    CRSGuessWarning,
    DatumShiftWarning,
    GeometryRepairWarning,
    InputError,
    LayerError,
    Problem,
)

__all__ = [
    "LoadedLayers",
    "load_layers",
    "read_order",
    "usable_geometry",
    "USABLE_STATUS",
    "resolve_layer_crs",
    "working_crs_for",
    "to_working_crs",
    "clean_polygons",
    "canonical_parcels",
    "canonical_layer",
    "parse_bool",
    "BOOLEAN_ATTRIBUTES",
]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

_TRUE = {"1", "true", "t", "yes", "y", "是", "有", "√"}
_FALSE = {"0", "false", "f", "no", "n", "否", "无", "×"}
_CLASS_ROLES = ("survey", "survey_2009", "zoning")


@dataclass
class LoadedLayers:
    """The canonical layers of a project, all in ``crs``."""

    crs: CRS
    layers: dict[str, gpd.GeoDataFrame]
    problems: list[Problem] = field(default_factory=list)

    @property
    def parcels(self) -> gpd.GeoDataFrame:
        return self.layers["parcels"]


def load_layers(project: Project, *, strict: bool = False,
                reader: Callable[[LayerSpec], tuple[gpd.GeoDataFrame, list[str]]] | None = None) -> LoadedLayers:
    """Read every layer of ``project`` and bring it to canonical form.

    All problems of all layers are collected; if any is an error, one
    :class:`~landgis.errors.InputError` lists them all. With ``strict=True``
    warnings are errors too. ``reader`` replaces :func:`landgis.io.read_vector`
    (the dask engine reads each tile's window of every layer with it).
    """
    # each layer's geometries are tested for validity (GEOS, GIL released) while the
    # next layer is read (GDAL, then WKB decoding, which holds the GIL)
    with ThreadPoolExecutor(1, thread_name_prefix="landgis-validity") as checker:
        return _load_layers(project, strict, reader, checker)


def _validity(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return geoms, is_valid(geoms)


#: the ``geometry_status`` of a parcel or feature whose geometry is used (as read, or repaired)
USABLE_STATUS = ("ok", "repaired")


def usable_geometry(frame: pd.DataFrame) -> np.ndarray:
    """Mask of the rows whose ``geometry_status`` is one of :data:`USABLE_STATUS`.

    Arrow's membership test on the text column: ``np.isin`` of its values as Python
    strings took 40 ms for a county's 150k parcels, and the screening asks seven times.

    >>> usable_geometry(pd.DataFrame({"geometry_status": ["ok", "null", "repaired", None]})).tolist()
    [True, False, True, False]
    """
    return frame["geometry_status"].isin(USABLE_STATUS).to_numpy(dtype=bool)


#: layers of a few polygons of tens of thousands of vertices each: read right after the parcels,
#: so that their validity test (0.75 s for a county's 20 red lines, which are read in 0.12 s) runs
#: while the big layers are read, not after the last of them
_FEW_BIG_POLYGONS = ("redline", "udb")


def read_order(layers: Mapping[str, LayerSpec]) -> list[str]:
    """The order :func:`load_layers` reads the vector layers in: the parcels, the layers of few
    big polygons, then the others largest file first (the last layer read is tested last).

    >>> from pathlib import Path
    >>> specs = {r: LayerSpec(r, Path(f"/nowhere/{r}.gpkg")) for r in ("parcels", "survey", "redline", "zoning")}
    >>> read_order(specs)
    ['parcels', 'redline', 'survey', 'zoning']
    """
    vector = [role for role, spec in layers.items()
              if role not in ("dem", "roads") and not getattr(spec, "is_raster", False)]

    def size(role: str) -> int:
        try:
            return layers[role].path.stat().st_size
        except (AttributeError, OSError):
            return 0

    def rank(item: tuple[int, str]) -> tuple:
        at, role = item
        return (role != "parcels", role not in _FEW_BIG_POLYGONS, -size(role), at)

    return [role for _, role in sorted(enumerate(vector), key=rank)]


def _load_layers(project: Project, strict: bool, reader, checker: ThreadPoolExecutor) -> LoadedLayers:
    raw: dict[str, tuple[gpd.GeoDataFrame, LayerSpec]] = {}
    read_problems: dict[str, list[Problem]] = {}
    validity: dict[str, Future] = {}
    # raster layers and roads are read after the parcels (see landgis.access.load_deferred_layers)
    for role in read_order(project.layers):
        spec = project.layers[role]
        try:
            frame, notes = (reader or io.read_vector)(spec)
        except LayerError as exc:
            read_problems[role] = [Problem("error", role, str(exc).removeprefix(f"layer `{role}`: "))]
            continue
        read_problems[role] = [Problem("info", role, n) for n in notes]
        raw[role] = (frame, spec)
        validity[role] = checker.submit(_validity, np.asarray(frame.geometry.values, dtype=object))
    # from here on, layers (and their problems) in the project's order, whatever the reading order
    problems = [p for role in project.layers for p in read_problems.get(role, [])]
    raw = {role: raw[role] for role in project.layers if role in raw}
    if "parcels" not in raw:
        raise InputError(problems)

    crs_by_role: dict[str, CRS | None] = {}
    for role, (frame, spec) in raw.items():
        crs_by_role[role] = resolve_layer_crs(frame, spec, problems,
                                              hint=crs_by_role.get("parcels"))
        if crs_by_role[role] is not None and not _converted_as_declared(spec) and not coordinates_fit_crs(
                frame, crs_by_role[role], role, problems):
            crs_by_role[role] = None  # the error is recorded: the layer is not used
    parcels_frame, parcels_spec = raw["parcels"]
    if len(parcels_frame) == 0:
        what = (f"check its where = \"{parcels_spec.where}\"" if parcels_spec.where
                else "check the layer name or the export")
        problems.append(Problem("error", "parcels", f"{parcels_spec.path} layer {parcels_spec.layer or ''} holds no "
                                f"feature: there is nothing to screen; {what}"))
        raise InputError(problems)
    try:
        crs = working_crs_for(parcels_frame, crs_by_role["parcels"], project.crs)
    except LayerError as exc:
        problems.append(Problem("error", "", str(exc)))
        raise InputError(problems) from None
    problems.append(Problem("info", "", f"working CRS: {crs.to_string()} ({crs.name})"))

    layers: dict[str, gpd.GeoDataFrame] = {}
    for role, (frame, spec) in raw.items():
        src_crs = crs_by_role[role]
        if src_crs is None and not _converted_as_declared(spec):
            continue  # an error was recorded
        try:
            projected = to_working_crs(frame, spec, src_crs, crs, problems)
        except LayerError as exc:
            problems.append(Problem("error", role, str(exc)))
            continue
        if "source_fields" in frame.attrs:  # for messages naming the layer's fields
            projected.attrs["source_fields"] = frame.attrs["source_fields"]
        known = validity[role].result()
        if role == "parcels":
            layers[role] = canonical_parcels(projected, spec, problems, known)
        else:
            layers[role] = canonical_layer(projected, spec, problems, known)
        del known
    if "parcels" in layers:
        _check_overlap_with_parcels(layers, problems)
    errors = [p for p in problems if p.severity == "error" or (strict and p.severity == "warning")]
    if errors:
        raise InputError(problems if not strict else errors)
    if "parcels" in layers and "admin" in layers:
        layers["parcels"] = name_towns(layers["parcels"], layers["admin"], problems)
    loaded = LoadedLayers(crs=crs, layers=layers, problems=problems)
    from landgis.access import load_deferred_layers  # roads (lines) and raster constraints

    load_deferred_layers(loaded, project)
    return loaded


# ------------------------------------------------------------------ CRS


def _converted_as_declared(spec: LayerSpec) -> bool:
    """Whether the layer comes into the working CRS by the conversion its spec declares
    (a PROJ pipeline, or planar four parameters), which needs no source CRS."""
    return bool(spec.transform) or spec.four_param is not None


def resolve_layer_crs(frame: gpd.GeoDataFrame, spec: LayerSpec, problems: list[Problem],
                      hint: CRS | None = None) -> CRS | None:
    """The CRS a layer's coordinates are in, or ``None`` (an error is recorded).

    A declared ``crs`` wins over the file's; a layer with neither is inferred
    from zone-prefixed Gauss-Krüger eastings (8 digits, zone in the first two)
    or from coordinates in degrees, with a :class:`CRSGuessWarning`.
    """
    role = spec.role
    if spec.crs:
        try:
            declared = CRS.from_user_input(spec.crs)
        except CRSError:
            problems.append(Problem("error", role, f"crs = {spec.crs!r} is not a CRS PROJ knows; "
                                    "use an EPSG code such as \"EPSG:4546\"", field="crs"))
            return None
        if frame.crs is not None and not frame.crs.equals(declared):
            problems.append(Problem("info", role, f"declared crs {spec.crs} overrides the file's "
                                    f"{frame.crs.to_string()}"))
        return declared
    if frame.crs is not None:
        return CRS.from_user_input(frame.crs)
    if _converted_as_declared(spec):
        return None
    geoms = frame.geometry.values
    bounds = shapely.total_bounds(geoms[~shapely.is_empty(geoms)]) if len(geoms) else np.full(4, np.nan)
    if np.isnan(bounds).any():
        problems.append(Problem("error", role, "has no CRS and no coordinates to infer one from; "
                                f"declare crs = \"EPSG:…\" in [layers.{role}]"))
        return None
    minx, miny, maxx, maxy = bounds
    if -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90:
        msg = (f"has no CRS (.prj missing?); its coordinates are degrees, taken as CGCS2000 "
               f"geographic EPSG:4490. Declare crs = \"EPSG:4490\" in [layers.{role}] to confirm")
        _warn(problems, role, msg, CRSGuessWarning)
        return CRS.from_epsg(4490)
    zone_lo, zone_hi = int(minx // 1_000_000), int(maxx // 1_000_000)
    if zone_lo == zone_hi and 0 < miny < 6_500_000:
        epsg = _prefixed_gk(zone_lo)
        kind = "3-degree" if zone_lo >= 25 else "6-degree"
        if epsg:
            crs = CRS.from_epsg(epsg)
            msg = (f"has no CRS (.prj missing?); eastings carry the zone prefix {zone_lo}, so it is "
                   f"taken as {crs.name} (EPSG:{epsg}). If it is Xian 1980 or Beijing 1954 instead, "
                   f"declare crs (and a transform) in [layers.{role}]")
            _warn(problems, role, msg, CRSGuessWarning)
            problems.append(Problem("info", role, f"inferred {kind} Gauss-Krüger zone {zone_lo}"))
            return crs
    if 100_000 <= minx and maxx <= 900_000 and 0 < miny < 6_500_000:
        suggestion = (f"the parcels layer is in {hint.to_string()} ({hint.name}); if this layer is too, "
                      f"declare crs = \"{hint.to_string()}\"") if hint is not None else (
            "for CGCS2000 3-degree zones without prefix use EPSG:4534 (CM 75E) … EPSG:4554 (CM 135E), "
            "e.g. EPSG:4546 for CM 111E")
        problems.append(Problem("error", role, "has no CRS (.prj missing?) and its eastings "
                                f"({minx:.0f}…{maxx:.0f}) carry no zone prefix, so the zone cannot be told; "
                                f"{suggestion} in [layers.{role}]", field="crs"))
        return None
    problems.append(Problem("error", role, f"has no CRS and coordinates {minx:.1f},{miny:.1f} … "
                            f"{maxx:.1f},{maxy:.1f} that match no Chinese grid; declare crs = \"EPSG:…\" "
                            f"in [layers.{role}]", field="crs"))
    return None


#: how far from a Gauss-Krüger zone's false easting a county can lie (a 6-degree zone is ~670 km wide)
_GK_HALF_WIDTH_M = 1_000_000


def coordinates_fit_crs(frame: gpd.GeoDataFrame, crs: CRS, role: str, problems: list[Problem]) -> bool:
    """Whether the layer's coordinates can be in ``crs``; if not, an error naming the fix is recorded.

    The common mislabel in this field is the false easting: a CGCS2000 Gauss-Krüger
    layer exported with zone-prefixed eastings (37 xxx xxx) but a ``.prj`` of the
    zone's central-meridian CRS without prefix (500 000 false easting), or the other
    way round. Such a layer lands 37 000 km away: it would meet no parcel, and the
    maps could not draw it. Transverse Mercator eastings must lie within 1 000 km of
    the false easting, degrees within ±180/±90.

    >>> import shapely, geopandas as gpd
    >>> f = gpd.GeoDataFrame(geometry=[shapely.box(37_414_000, 2_780_000, 37_415_000, 2_781_000)], crs=4546)
    >>> problems = []
    >>> coordinates_fit_crs(f, CRS.from_epsg(4546), "farmland", problems)
    False
    >>> print(problems[0].message)  # doctest: +ELLIPSIS
    eastings 37414000…37415000 carry the zone prefix 37, but its CRS ... has none (false easting 500000); ...
    """
    geoms = frame.geometry.values
    live = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not live.any():
        return True
    minx, miny, maxx, maxy = shapely.total_bounds(geoms[live])
    if crs.is_geographic:
        if -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90:
            return True
        problems.append(Problem("error", role, f"coordinates {minx:.0f},{miny:.0f} … {maxx:.0f},{maxy:.0f} are not "
                                f"degrees, but its CRS {crs.to_string()} ({crs.name}) is geographic; declare the "
                                f"projected CRS they are in as crs = \"EPSG:…\" in [layers.{role}]", field="crs"))
        return False
    op = crs.coordinate_operation
    if op is None or op.method_name != "Transverse Mercator":
        return True
    false_easting = next((p.value for p in op.params if p.name == "False easting"), None)
    if false_easting is None or (false_easting - _GK_HALF_WIDTH_M <= minx and maxx <= false_easting + _GK_HALF_WIDTH_M):
        return True
    zone_lo, zone_hi = int(minx // 1_000_000), int(maxx // 1_000_000)
    label = f"{crs.to_string()} ({crs.name})"
    if zone_lo == zone_hi and zone_lo >= 13 and false_easting < 1_000_000:
        prefixed = _prefixed_gk(zone_lo)
        fix = (f"if it is CGCS2000, declare crs = \"EPSG:{prefixed}\" ({CRS.from_epsg(prefixed).name}) in "
               f"[layers.{role}], or export the layer again with the right .prj") if prefixed else (
               f"declare the zone-prefixed CRS as crs = \"EPSG:…\" in [layers.{role}]")
        message = (f"eastings {minx:.0f}…{maxx:.0f} carry the zone prefix {zone_lo}, but its CRS {label} has "
                   f"none (false easting {false_easting:.0f}); {fix}")
    else:
        message = (f"eastings {minx:.0f}…{maxx:.0f} cannot be in its CRS {label} (false easting "
                   f"{false_easting:.0f}: eastings lie within {_GK_HALF_WIDTH_M // 1000:.0f} km of it); the "
                   f".prj is wrong: declare the CRS the coordinates are in as crs = \"EPSG:…\" in [layers.{role}]")
    problems.append(Problem("error", role, message, field="crs"))
    return False


def _prefixed_gk(zone: int) -> int | None:
    """The CGCS2000 Gauss-Krüger CRS with zone-prefixed eastings for a zone number (3- or 6-degree)."""
    if 25 <= zone <= 45:
        return 4513 + zone - 25
    if 13 <= zone <= 23:
        return 4491 + zone - 13
    return None


def working_crs_for(parcels: gpd.GeoDataFrame, parcels_crs: CRS | None, declared: str | None) -> CRS:
    """The projected CRS all areas are computed in.

    The project's ``crs`` if given (must be projected); else the parcels' CRS
    if it is a CGCS2000 Gauss-Krüger CRS; else the CGCS2000 3-degree
    Gauss-Krüger CRS (no zone prefix) whose central meridian is nearest the
    parcels' centre.

    >>> import shapely, geopandas as gpd
    >>> p = gpd.GeoDataFrame(geometry=[shapely.box(110.2, 25.2, 110.21, 25.21)], crs=4490)
    >>> working_crs_for(p, p.crs, None).to_epsg()
    4546
    """
    if declared:
        try:
            crs = CRS.from_user_input(declared)
        except CRSError:
            raise LayerError(f"[project] crs = {declared!r} is not a CRS PROJ knows") from None
        if not crs.is_projected:
            raise LayerError(f"[project] crs = {declared!r} is {crs.name}, not projected; areas need a "
                             "projected CRS such as CGCS2000 Gauss-Krüger (EPSG:4534–4554)")
        return crs
    if parcels_crs is not None and parcels_crs.is_projected and (parcels_crs.to_epsg() or 0) in range(4491, 4555):
        return parcels_crs
    geoms = parcels.geometry.values
    geoms = geoms[~(shapely.is_empty(geoms) | shapely.is_missing(geoms))]
    if parcels_crs is None or len(geoms) == 0:
        return CRS.from_epsg(4546)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    lon, _ = Transformer.from_crs(parcels_crs, 4490, always_xy=True).transform((x0 + x1) / 2, (y0 + y1) / 2)
    cm = int(np.clip(round(lon / 3) * 3, 75, 135))
    return CRS.from_epsg(4534 + (cm - 75) // 3)


def to_working_crs(frame: gpd.GeoDataFrame, spec: LayerSpec, src: CRS | None, dst: CRS,
                   problems: list[Problem]) -> gpd.GeoDataFrame:
    """Bring a layer into ``dst``: an explicit PROJ pipeline, or a reprojection.

    A reprojection PROJ can only do with a "ballpark" datum shift (Xian 1980 or
    Beijing 1954 → CGCS2000 has no published parameters; the error is tens of
    metres) raises a :class:`DatumShiftWarning` naming the layer.
    """
    role = spec.role
    if spec.four_param is not None:
        return _four_param(frame, spec, dst, problems)
    if spec.helmert is not None:
        assert src is not None
        pipeline = helmert_pipeline(src, dst, spec.helmert)
        spec = LayerSpec(role=role, transform=pipeline)
        problems.append(Problem("info", role, "seven-parameter Helmert conversion " + pipeline))
    if spec.transform:
        try:
            tr = Transformer.from_pipeline(spec.transform)
        except ProjError as exc:
            raise LayerError(f"transform = {spec.transform!r} is not a PROJ pipeline PROJ accepts: {exc}") from None
        geoms = shapely.transform(frame.geometry.values, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        problems.append(Problem("info", role, f"converted with the declared pipeline {spec.transform}"))
        return gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=geoms, crs=dst)
    assert src is not None
    frame = frame.set_crs(src, allow_override=True)
    if src.equals(dst):
        return frame.set_crs(dst, allow_override=True)
    tr = Transformer.from_crs(src, dst, always_xy=True)
    if "ballpark" in tr.description.lower() and not (_modern(src) and _modern(dst)):
        msg = (f"converting {src.name} to {dst.name} needs a datum shift PROJ has no parameters for; "
               f"it would use a ballpark shift that can be tens of metres off. Declare the parameters "
               f"you were issued as `transform` in [layers.{role}] (a PROJ pipeline)")
        _warn(problems, role, msg, DatumShiftWarning)
    return frame.to_crs(dst)


def four_param_transform(x: np.ndarray, y: np.ndarray, params: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """Plane four-parameter (similarity) conversion, the one surveyors are issued.

    With ``x`` = easting and ``y`` = northing (GIS order; Chinese surveying calls
    northing X), ``θ`` = ``rotation_arcsec`` (counter-clockwise positive),
    ``k`` = 1 + ``scale_ppm``·10⁻⁶ and an optional origin (x₀, y₀)::

        x' = x₀ + dx + k·((x − x₀)·cos θ − (y − y₀)·sin θ)
        y' = y₀ + dy + k·((x − x₀)·sin θ + (y − y₀)·cos θ)

    >>> four_param_transform(np.array([100.0]), np.array([0.0]), {"dx": 1, "dy": 2, "rotation_arcsec": 324000})
    (array([1.]), array([102.]))
    """
    theta = np.deg2rad(float(params.get("rotation_arcsec", 0.0)) / 3600.0)
    k = 1.0 + float(params.get("scale_ppm", 0.0)) * 1e-6
    x0, y0 = float(params.get("origin_x", 0.0)), float(params.get("origin_y", 0.0))
    c, s = np.cos(theta), np.sin(theta)
    u, v = x - x0, y - y0
    return (x0 + float(params["dx"]) + k * (u * c - v * s)).round(10), (y0 + float(params["dy"]) + k * (u * s + v * c)).round(10)


def _four_param(frame: gpd.GeoDataFrame, spec: LayerSpec, dst: CRS, problems: list[Problem]) -> gpd.GeoDataFrame:
    params = spec.four_param
    assert params is not None
    target = CRS.from_user_input(params["target_crs"]) if "target_crs" in params else dst

    def fn(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(four_param_transform(xy[:, 0], xy[:, 1], params))

    geoms = shapely.transform(frame.geometry.values, fn)
    out = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=geoms, crs=target)
    problems.append(Problem("info", spec.role, "converted with the declared four-parameter transformation "
                            + ", ".join(f"{k}={v}" for k, v in params.items())))
    return out if target.equals(dst) else out.to_crs(dst)


def helmert_pipeline(src: CRS, dst: CRS, p: Mapping) -> str:
    """A PROJ pipeline: src plane → geocentric → 7-parameter Helmert → CGCS2000 → dst plane.

    >>> helmert_pipeline(CRS.from_epsg(2382), CRS.from_epsg(4546), {"dx": 1, "dy": 2, "dz": 3,
    ...                  "convention": "coordinate_frame"}).split(" +step ")[3]
    '+proj=helmert +x=1 +y=2 +z=3 +rx=0 +ry=0 +rz=0 +s=0 +convention=coordinate_frame'
    """
    def proj(crs: CRS) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = crs.to_proj4()
        return " ".join(t for t in text.split() if t not in ("+no_defs", "+type=crs") and not t.startswith("+towgs84"))

    def ellps(crs: CRS) -> str:
        e = crs.ellipsoid
        return f"+a={e.semi_major_metre} +rf={e.inverse_flattening}"

    helmert = (f"+proj=helmert +x={p['dx']} +y={p['dy']} +z={p['dz']} +rx={p.get('rx_arcsec', 0)} "
               f"+ry={p.get('ry_arcsec', 0)} +rz={p.get('rz_arcsec', 0)} +s={p.get('scale_ppm', 0)} "
               f"+convention={p['convention']}")
    return " +step ".join([
        "+proj=pipeline",
        f"+inv {proj(src)}" if src.is_projected else "+proj=unitconvert +xy_in=deg +xy_out=rad",
        f"+proj=cart {ellps(src)}",
        helmert,
        f"+inv +proj=cart {ellps(dst)}",
        proj(dst),
    ])


#: datums that agree with CGCS2000 to a decimetre or better (a "ballpark" between them is harmless)
_MODERN_DATUMS = ("China 2000", "World Geodetic System 1984", "International Terrestrial Reference Frame")


def _modern(crs: CRS) -> bool:
    datum = crs.geodetic_crs.datum.name if crs.geodetic_crs is not None else ""
    return any(name in datum for name in _MODERN_DATUMS)


# ------------------------------------------------------------ geometry


def clean_polygons(geoms: np.ndarray,
                   known_valid: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """2D valid (multi)polygons, and a status per geometry.

    Status is ``ok``, ``repaired`` (was invalid, now valid with area),
    ``null``, ``empty``, ``not_polygon`` (a point or line) or ``unrepairable``
    (nothing polygonal survives repair, e.g. a zero-area sliver, or less than
    :data:`MIN_AREA_M2` is left).

    ``known_valid`` is ``(geometries, is_valid(geometries))`` computed earlier
    (:func:`load_layers` tests each layer while it reads the next); it is used for the
    geometries here that are those very objects (not reprojected, not flattened), the
    others are tested again.

    >>> import shapely
    >>> bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> fixed, status = clean_polygons(np.array([bowtie, shapely.box(0, 0, 1, 1)]))
    >>> list(status), float(shapely.area(fixed[0]))
    (['repaired', 'ok'], 2.0)
    """
    geoms = np.asarray(geoms, dtype=object)
    status = np.full(len(geoms), "ok", dtype=object)
    missing = shapely.is_missing(geoms)
    status[missing] = "null"
    out = geoms.copy()
    flat = ~(shapely.has_z(geoms) | shapely.has_m(geoms))  # missing geometries count as flat
    out[~flat] = shapely.force_2d(geoms[~flat])
    present = ~missing
    empty = present & shapely.is_empty(out)
    status[empty] = "empty"
    live = present & ~empty
    type_id = shapely.get_type_id(out)
    polygonal = live & np.isin(type_id, (3, 6))
    collection = live & (type_id == 7)
    status[live & ~polygonal & ~collection] = "not_polygon"
    check = polygonal | collection
    valid = np.zeros(len(out), bool)
    todo = check
    if known_valid is not None and len(known_valid[0]) == len(out):
        ref, ref_valid = known_valid
        same = check & np.fromiter(map(operator.is_, out, ref), dtype=bool, count=len(out))
        valid[same] = ref_valid[same]
        todo = check & ~same
    if todo.any():
        valid[todo] = in_threads(is_valid, out[todo])
    invalid = check & ~valid
    if invalid.any():
        out[invalid] = shapely.make_valid(out[invalid], method="structure", keep_collapsed=False)
    fix = invalid | collection
    if fix.any():
        out[fix] = _polygonal_part(out[fix])
        # a valid collection can hold polygons that overlap: as one multipolygon they are invalid
        joined = np.flatnonzero(collection & ~invalid)
        joined = joined[~is_valid(out[joined])]
        if len(joined):
            out[joined] = _polygonal_part(shapely.make_valid(out[joined], method="structure", keep_collapsed=False))
            invalid[joined] = True
        area = shapely.area(out[fix])
        status[fix] = np.where(area > 0, np.where(invalid[fix], "repaired", "ok"),
                               np.where(collection[fix] & ~invalid[fix], "not_polygon", "unrepairable"))
    # a polygon with next to no area is a degenerate one (collinear vertices that a
    # reprojection moved apart by nanometres are "valid" with 1e-8 m²): as when repair leaves none
    usable = np.flatnonzero(np.isin(status, ("ok", "repaired")))
    status[usable[shapely.area(out[usable]) < MIN_AREA_M2]] = "unrepairable"
    return out, status


#: a (multi)polygon of less area than this (m², the working CRS) has none: "unrepairable"
MIN_AREA_M2 = 0.01


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Only the polygons of each geometry (lines and points left by repair are dropped)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3
    result = np.full(len(geoms), None, dtype=object)
    if keep.any():
        shapely.multipolygons(parts[keep], indices=idx[keep], out=result)
    result[shapely.is_missing(result)] = shapely.MultiPolygon()
    single = shapely.get_num_geometries(result) == 1
    result[single] = shapely.get_geometry(result[single], 0)
    return result


# ------------------------------------------------------------- fields


def parse_bool(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Booleans from 1/0, true/false, yes/no, Y/N, 是/否 (any case); blanks → NA.

    Returns the parsed series (pandas ``boolean``) and a mask of values that
    could not be read.

    >>> parse_bool(pd.Series(["是", "N", "", "TRUE", 0, "maybe"]))[0].tolist()
    [True, False, <NA>, True, False, <NA>]
    """
    return _per_distinct(values, _parse_bool_distinct)


def _parse_bool_distinct(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
                      else str(int(v)) if isinstance(v, (bool, np.bool_, int, np.integer))
                      else str(v)).astype(object).str.strip().str.lower()
    text = text.str.replace(r"\.0+$", "", regex=True)
    parsed = pd.Series(pd.NA, index=values.index, dtype="boolean")
    parsed[text.isin(_TRUE)] = True
    parsed[text.isin(_FALSE)] = False
    bad = ~(text.isin(_TRUE) | text.isin(_FALSE) | (text == "") | (text == "nan") | (text == "none"))
    return parsed, bad


def _per_distinct(values: pd.Series, parse) -> tuple[pd.Series, pd.Series]:
    """``parse(values)`` computed once per distinct value (a county has 150k rows, a dozen values).

    ``parse`` takes a Series and returns ``(parsed, bad)`` Series. Values equal in
    Python (``1``, ``1.0``, ``True``) share one parse, so ``parse`` must give them
    the same result; missing values are parsed as ``None``.
    """
    codes, uniques = factorize_values(values)
    distinct = pd.Series(uniques + [None], dtype=object)
    parsed, bad = parse(distinct)
    take = np.where(codes < 0, len(distinct) - 1, codes)
    return (pd.Series(parsed.to_numpy()[take], index=values.index, dtype=parsed.dtype),
            pd.Series(bad.to_numpy(dtype=bool)[take], index=values.index))


def _parse_year(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_datetime64_any_dtype(values):
        years = values.dt.year.astype("Int64")
        return years, pd.Series(False, index=values.index)
    return _per_distinct(values, _parse_year_distinct)


#: a year, alone or starting a date: 2005, 2005.0, 2005年, 2005年度, 2005-06, 2005年6月, 2005-06-01,
#: 2005/6/1, 2005.6.1, 2005年6月1日, 20050601, each optionally with a time (2005-06-01 00:00:00)
_YEAR = re.compile(r"^(?P<y>\d{4})(?:\.0+|年度?"
                   r"|(?:[-/.]|年)(?P<m>\d{1,2})月?(?:(?:[-/.]|(?<=月))(?P<d>\d{1,2})日?)?"
                   r"|(?P<m8>\d{2})(?P<d8>\d{2}))?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def _parse_year_distinct(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Years (1900–2100) from years or dates as typed in this field; what is none is ``bad``.

    >>> years, bad = _parse_year_distinct(pd.Series(["2003年", "2003年5月", "2003年度", "20030512", "2003.0",
    ...                                              "2003-05-12 00:00:00", "2003年5月12日", "2003/13/01", "八五年", None]))
    >>> years.tolist(), bad.tolist()
    ([2003, 2003, 2003, 2003, 2003, 2003, 2003, <NA>, <NA>, <NA>], [False, False, False, False, False, False, False, True, True, False])
    """
    def year(v: Any) -> tuple[Any, bool]:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return pd.NA, False
        text = str(v).strip()
        if not text:
            return pd.NA, False
        m = _YEAR.match(text)
        if m is None:
            return pd.NA, True
        month, day = m["m"] or m["m8"], m["d"] or m["d8"]
        if not 1900 <= int(m["y"]) <= 2100 or (month and not 1 <= int(month) <= 12) or (day and not 1 <= int(day) <= 31):
            return pd.NA, True
        return int(m["y"]), False

    pairs = [year(v) for v in values]
    return (pd.Series([y for y, _ in pairs], index=values.index, dtype="Int64"),
            pd.Series([b for _, b in pairs], index=values.index, dtype=bool))


def _find_field(columns: list[str], wanted: str) -> str | None:
    lower = {c.lower(): c for c in columns}
    return lower.get(wanted.lower())


def _source_fields(frame: gpd.GeoDataFrame) -> list[str]:
    """All the fields of the layer as found on disk (:func:`landgis.io.read_vector` reads only those
    landgis uses), else the frame's own."""
    known = frame.attrs.get("source_fields")
    return list(known) if known is not None else [c for c in frame.columns if c != frame.geometry.name]


def _resolve_fields(frame: gpd.GeoDataFrame, spec: LayerSpec, canon_names: Mapping[str, tuple[str, ...]],
                    problems: list[Problem]) -> dict[str, str]:
    cols = [c for c in frame.columns if c != frame.geometry.name]
    everything = _source_fields(frame)
    out: dict[str, str] = {}
    for canon, source in spec.fields.items():
        found = _find_field(cols, source)
        if found is None:
            close = difflib.get_close_matches(source.upper(), [c.upper() for c in everything], n=1, cutoff=0.5)
            hint = f" (did you mean `{_find_field(everything, close[0])}`?)" if close else ""
            problems.append(Problem("error", spec.role,
                                    f"[layers.{spec.role}.fields] {canon} = \"{source}\", but the layer has "
                                    f"no field {source}{hint}; it has {', '.join(everything[:25])}", field=source))
            continue
        out[canon] = found
    for canon, standard in canon_names.items():
        if canon in out or canon in spec.fields:
            continue
        for name in standard:
            found = _find_field(cols, name)
            if found is not None:
                out[canon] = found
                break
    return out


def _ids(frame: pd.DataFrame, mask: np.ndarray | pd.Series, id_col: str | None, limit: int = 8) -> str:
    idx = np.flatnonzero(np.asarray(mask))
    if id_col is not None and id_col in frame:
        labels = [str(v) for v in frame[id_col].iloc[idx[:limit]]]
    else:
        labels = [f"#{i + 1}" for i in idx[:limit]]
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return ", ".join(labels) + more


def canonical_parcels(frame: gpd.GeoDataFrame, spec: LayerSpec, problems: list[Problem],
                      known_valid: tuple[np.ndarray, np.ndarray] | None = None) -> gpd.GeoDataFrame:
    """The parcels with canonical columns and a ``geometry_status`` per row.

    No row is ever dropped: a parcel whose geometry cannot be used keeps its
    row with ``geometry_status`` saying why (the rules mark it ``GEOMETRY``).
    """
    role = "parcels"
    names = {**STANDARD_FIELDS["parcels"]}
    fields = _resolve_fields(frame, spec, names, problems)
    cols = _source_fields(frame)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    if "parcel_id" not in fields:
        problems.append(Problem("error", role, "has no parcel id field (ZDDM or BSM); map one with "
                                "[layers.parcels.fields] parcel_id = \"…\"; fields there: "
                                + ", ".join(cols[:25]), field="parcel_id"))
        ids = pd.Series([f"(row {i + 1})" for i in range(len(frame))])
    else:
        ids = _text(frame[fields["parcel_id"]])
        blank = ids == ""
        if blank.any():
            problems.append(Problem("warning", role, f"{int(blank.sum())} parcel(s) have no id; they are "
                                    "listed as (row N), N counting features from 1",
                                    field=fields["parcel_id"], features=_ids(out, blank, None)))
            ids[blank] = [f"(row {i + 1})" for i in np.flatnonzero(blank)]
        dup = ids.duplicated(keep=False)
        if dup.any():
            problems.append(Problem("warning", role, f"{int(dup.sum())} parcels share an id; each row is "
                                    "screened and reported on its own", field=fields["parcel_id"],
                                    features=", ".join(sorted(set(ids[dup]))[:8])))
    out["parcel_id"] = ids.astype(object)
    for canon in ("owner", "village", "town", "town_code", "approval_no", "ownership"):
        if canon in fields:
            out[canon] = _text(frame[fields[canon]])
    if "town" not in out and "town_code" in out:
        out["town"] = out["town_code"].str[:9]
    for canon in BOOLEAN_ATTRIBUTES:
        if canon in fields:
            parsed, bad = parse_bool(frame[fields[canon]].reset_index(drop=True))
            if bad.any():
                values = sorted(set(frame[fields[canon]].astype(str).reset_index(drop=True)[bad]))[:5]
                problems.append(Problem("error", role, f"{canon}: values {', '.join(values)} are not yes/no; "
                                        "use 1/0, true/false, yes/no, Y/N or 是/否", field=fields[canon],
                                        features=_ids(out, bad, "parcel_id")))
            out[canon] = parsed
    if "formed_year" in fields:
        years, bad = _parse_year(frame[fields["formed_year"]].reset_index(drop=True))
        if bad.any():
            values = sorted(set(frame[fields["formed_year"]].astype(str).reset_index(drop=True)[bad]))[:5]
            problems.append(Problem("error", role, f"formed_year: values {', '.join(values)} are not years "
                                    "(1900–2100, alone or starting a date: 2005, 2005年, 2005-06-01, 2005年6月1日, "
                                    "20050601); correct them or leave them blank", field=fields["formed_year"],
                                    features=_ids(out, bad, "parcel_id")))
        out["formed_year"] = years
    if "ownership" in out:
        out["collective"] = ownership_collective(out["ownership"])
        unknown = out["collective"].isna() & (out["ownership"] != "")
        if unknown.any():
            problems.append(Problem("warning", role, "ownership values neither collective (30–34, 40, 集体) "
                                    f"nor state (10, 20, 国有): {', '.join(sorted(set(out['ownership'][unknown]))[:5])}",
                                    field=fields["ownership"], features=_ids(out, unknown, "parcel_id")))
    geoms, status = clean_polygons(frame.geometry.values, known_valid)
    _report_geometry(problems, role, status, out, "parcel_id", parcels=True)
    _report_area_changed(problems, role, frame.geometry.values, geoms, status, out)
    out["geometry_status"] = status
    return gpd.GeoDataFrame(out, geometry=geoms, crs=frame.crs)


#: 规划条件 a planned-use patch may carry: canonical field → (the bound of a range that is the
#: condition, whether it is a percentage). 容积率 and 建筑限高 are upper limits, 建筑密度 an upper
#: and 绿地率 a lower one (GB 50180, 详细规划 规划条件)
PLANNING_CONDITIONS: Mapping[str, tuple[str, bool]] = MappingProxyType({
    "plot_ratio": ("upper", False), "building_density": ("upper", True),
    "green_ratio": ("lower", True), "height_limit": ("upper", False)})
_LIMIT_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[%％]?\s*(?:-|~|～|—|－|至|到)\s*(\d+(?:\.\d+)?)\s*[%％]?\s*$")
#: a single limit, with the signs of its bound only: ``≥1.0`` is no upper limit of 容积率 (it is a floor)
_LIMIT_ONE = {bound: re.compile(rf"^\s*(?:{signs})?\s*(\d+(?:\.\d+)?)\s*(?:[%％]|米|m)?\s*$", re.IGNORECASE)
              for bound, signs in (("upper", "≤|<=|<|＜|不大于|不高于|不超过"), ("lower", "≥|>=|>|＞|不小于|不低于"))}


def parse_limits(values: pd.Series, bound: str, percent: bool) -> tuple[np.ndarray, np.ndarray]:
    """A planning condition as numbers (NaN where blank), and a mask of the values that are not one.

    A plan writes a limit as a number (``1.2``), with its sign (``≤1.2``, ``不大于24米``) or as a
    range (``1.0-1.5``, ``30%～35%``: its ``bound``, upper or lower). A sign of the other bound
    (``≥1.0`` for an upper limit) is not one. A percentage written as a fraction below 1
    (``0.35``) is read as percent. Each distinct value is read once.

    >>> v, bad = parse_limits(pd.Series(["1.2", "≤1.5", "1.0-2.0", "", None, "高层"]), "upper", False)
    >>> v.tolist()[:4], bad.tolist()
    ([1.2, 1.5, 2.0, nan], [False, False, False, False, False, True])
    >>> parse_limits(pd.Series(["35%", "0.3", "30～35"]), "lower", True)[0].tolist()
    [35.0, 30.0, 30.0]
    """
    def read(text: str) -> float | None:
        if text.strip() == "":
            return np.nan
        if (m := _LIMIT_RANGE.match(text)) is not None:
            low, high = float(m[1]), float(m[2])
            value = max(low, high) if bound == "upper" else min(low, high)
        elif (m := _LIMIT_ONE[bound].match(text)) is not None:
            value = float(m[1])
        else:
            return None  # not a limit
        return value * 100 if percent and 0 < value < 1 and "%" not in text and "％" not in text else value

    read_values = map_distinct(values, read, missing=np.nan)
    bad = np.array([v is None for v in read_values], dtype=bool)
    numbers = np.where(bad, np.nan, read_values).astype(float)
    return numbers, bad


def canonical_layer(frame: gpd.GeoDataFrame, spec: LayerSpec, problems: list[Problem],
                    known_valid: tuple[np.ndarray, np.ndarray] | None = None) -> gpd.GeoDataFrame:
    """A constraint or class layer with canonical columns; unusable rows dropped (and counted)."""
    role = spec.role
    names = dict(STANDARD_FIELDS.get(role, {}))
    names.setdefault("feature_id", FEATURE_ID_FIELDS)
    fields = _resolve_fields(frame, spec, names, problems)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    if "feature_id" in fields:
        out["feature_id"] = _text(frame[fields["feature_id"]])
    else:
        out["feature_id"] = [str(i + 1) for i in range(len(frame))]
    for canon in names:
        if canon in fields and canon != "feature_id":
            out[canon] = _text(frame[fields[canon]])
    for canon, (bound, percent) in PLANNING_CONDITIONS.items():
        if canon in out:
            out[canon], bad = parse_limits(out[canon], bound, percent)
            if bad.any():
                shown = ", ".join(sorted({str(v) for v in frame[fields[canon]].to_numpy()[bad]})[:5])
                problems.append(Problem("warning", role, f"{int(bad.sum())} value(s) of {canon} are not a number "
                                        f"or a range of numbers, or bound it the other way ({shown}); those patches "
                                        f"give no {canon}: write e.g. 1.2, {'≤1.2' if bound == 'upper' else '≥30%'} "
                                        "or 1.0-1.5", field=fields[canon],
                                        features=_ids(out, bad, "feature_id")))
    if role in _CLASS_ROLES and "class_code" not in out:
        std = " or ".join(STANDARD_FIELDS[role]["class_code"])
        cols = _source_fields(frame)
        problems.append(Problem("error", role, f"has no class code field ({std}); map it with "
                                f"[layers.{role}.fields] class_code = \"…\"; fields there: {', '.join(cols[:25])}",
                                field="class_code"))
    if len(frame) == 0:
        problems.append(Problem("warning", role, "is empty: no feature to overlay; check the layer name and filter"))
    geoms, status = clean_polygons(frame.geometry.values, known_valid)
    _report_geometry(problems, role, status, out, "feature_id", parcels=False)
    keep = np.isin(status, USABLE_STATUS)
    result = gpd.GeoDataFrame(out, geometry=geoms, crs=frame.crs)
    return result.loc[keep].reset_index(drop=True)


def name_towns(parcels: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, problems: list[Problem]) -> gpd.GeoDataFrame:
    """Town names for parcels that only carry a 坐落单位代码, from the admin layer.

    Parcels whose ``town`` came from a mapped name field are left alone. Otherwise
    the 9-digit town code (the first 9 digits of ZLDWDM) is looked up in the admin
    layer's XZQDM, and parcels it does not settle take the name of the admin
    polygon holding their representative point.
    """
    if "name" not in admin or not len(admin):
        return parcels
    town = parcels["town"].astype(str) if "town" in parcels else pd.Series("", index=parcels.index)
    coded = town.str.fullmatch(r"\d{9}") | (town == "")
    if not coded.any():
        return parcels
    out = parcels.copy()
    names = pd.Series("", index=parcels.index, dtype=object)
    if "code" in admin:
        by_code = dict(zip(admin["code"].astype(str).str[:9], admin["name"].astype(str), strict=False))
        names = town.map(by_code).fillna("").astype(object)
    todo = coded & (names == "")
    geoms = np.asarray(parcels.geometry.values, dtype=object)
    usable = todo.to_numpy() & ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if usable.any():
        points = shapely.point_on_surface(geoms[usable])
        tree = shapely.STRtree(np.asarray(admin.geometry.values, dtype=object))
        pt, poly = tree.query(points, predicate="within")
        first = pd.Series(poly).groupby(pt).first()
        idx = np.flatnonzero(usable)[first.index.to_numpy()]
        names.iloc[idx] = admin["name"].astype(str).to_numpy()[first.to_numpy()]
    filled = coded & (names != "")
    out.loc[filled, "town"] = names[filled]
    problems.append(Problem("info", "parcels", f"town names for {int(filled.sum())} parcels taken from the admin "
                            "layer (by 9-digit town code, else by location)"))
    return out


def _text(values: pd.Series) -> pd.Series:
    """Attribute values as stripped text; integral floats without ``.0``; missing → ``""``."""
    values = values.reset_index(drop=True)
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return values.astype(str).astype(object)
    if pd.api.types.is_string_dtype(dtype) and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return pd.Series(map_distinct(values, str.strip, missing=""), dtype=object)
    return pd.Series(map_distinct(values, _plain_text, missing=""), dtype=object)


def _plain_text(value: object) -> str:
    """A value as text: integral floats without ``.0`` (codes and ids read as floats), stripped."""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if float(value).is_integer():
            return str(int(value))
    return str(value).strip()


def ownership_collective(ownership: pd.Series) -> pd.Series:
    """权属性质 as collective (True), state (False) or unknown (NA): 30–34, 40 or 集体; 10–29 or 国有."""
    def one(v: str):
        s = re.sub(r"^(\d+)\.0+$", r"\1", str(v).strip())  # "20.0": a code that went through a spreadsheet
        if not s:
            return pd.NA
        if "集体" in s or re.fullmatch(r"3[0-4]|40", s):
            return True
        if "国有" in s or re.fullmatch(r"1[0-9]|2[0-9]", s):
            return False
        return pd.NA
    parsed, _ = _per_distinct(ownership, lambda u: (u.map(one).astype("boolean"), pd.Series(False, index=u.index)))
    return parsed


def _report_geometry(problems: list[Problem], role: str, status: np.ndarray, frame: pd.DataFrame,
                     id_col: str, parcels: bool) -> None:
    labels = {
        "repaired": ("info", "invalid geometries repaired (make_valid, structure method)"),
        "null": ("warning", "features without geometry"),
        "empty": ("warning", "features with empty geometry"),
        "not_polygon": ("warning", "features that are points or lines, not polygons"),
        "unrepairable": ("warning", f"geometries with no area (under {MIN_AREA_M2:g} m²) left after repair"),
    }
    for key, (severity, text) in labels.items():
        mask = status == key
        if not mask.any():
            continue
        consequence = ("screened as ineligible with reason GEOMETRY" if parcels and key != "repaired"
                       else "left out of the overlay" if key != "repaired" else "used as repaired")
        message = f"{int(mask.sum())} {text}; {consequence}"
        problems.append(Problem(severity, role, message, features=_ids(frame, mask, id_col)))
        if key in ("repaired", "unrepairable"):
            warnings.warn(f"layer `{role}`: {message}", GeometryRepairWarning, stacklevel=4)


#: a repair that changes a parcel's area by more than this share is worth a look
_REPAIR_AREA_CHANGE = 0.01


def _report_area_changed(problems: list[Problem], role: str, before: np.ndarray, after: np.ndarray,
                         status: np.ndarray, frame: pd.DataFrame) -> None:
    """A warning naming the repaired parcels whose area the repair changed by more than 1 %.

    Before repair the area is the rings' shoelace sum (what a GIS shows for the
    feature); a corrupt vertex (NaN) or a bow-tie whose lobes were unwound shows here,
    so that a parcel that lost half its area to repair is not screened unremarked.
    """
    repaired = np.flatnonzero(status == "repaired")
    if not len(repaired):
        return
    was = shapely.area(shapely.force_2d(np.asarray(before, dtype=object)[repaired]))
    now = shapely.area(np.asarray(after, dtype=object)[repaired])
    changed = ~(np.abs(now - was) <= _REPAIR_AREA_CHANGE * np.abs(was))  # NaN (a corrupt vertex) counts
    if not changed.any():
        return
    mask = np.zeros(len(status), dtype=bool)
    mask[repaired[changed]] = True
    first = [(f"{w:.2f}" if np.isfinite(w) else "?") + f" → {n:.2f} m²"
             for w, n in zip(was[changed][:3], now[changed][:3], strict=True)]
    problems.append(Problem("warning", role, f"repair changed the area of {int(changed.sum())} parcel(s) by more "
                            f"than {_REPAIR_AREA_CHANGE:.0%} (area of the rings as drawn → repaired: {'; '.join(first)}{'; …' if changed.sum() > 3 else ''}): "
                            "check their boundaries (a corrupt vertex, crossing edges) and correct them at the source",
                            features=_ids(frame, mask, "parcel_id")))


def _check_overlap_with_parcels(layers: dict[str, gpd.GeoDataFrame], problems: list[Problem]) -> None:
    parcels = layers["parcels"].geometry.values
    ok = ~(shapely.is_missing(parcels) | shapely.is_empty(parcels))
    if not ok.any():
        return
    pb = shapely.total_bounds(parcels[ok])
    for role, frame in layers.items():
        if role in ("parcels", "admin", "price_zones") or len(frame) == 0:
            continue
        lb = frame.total_bounds
        if lb[0] > pb[2] or lb[2] < pb[0] or lb[1] > pb[3] or lb[3] < pb[1]:
            problems.append(Problem("warning", role, "does not overlap the parcels at all (its extent "
                                    f"{lb[0]:.0f},{lb[1]:.0f}…{lb[2]:.0f},{lb[3]:.0f} vs parcels "
                                    f"{pb[0]:.0f},{pb[1]:.0f}…{pb[2]:.0f},{pb[3]:.0f}); wrong CRS suspected — "
                                    f"check crs in [layers.{role}]"))


def _warn(problems: list[Problem], role: str, msg: str, category: type[Warning]) -> None:
    problems.append(Problem("warning", role, msg))
    warnings.warn(f"layer `{role}`: {msg}", category, stacklevel=4)
