"""CRS of each layer: declared, read or inferred, and the way into the working CRS.

* :func:`resolve_layer_crs` — declared CRS, the file's CRS, or an inference
  from zone-prefixed Gauss-Krüger eastings or degrees (loudly warned);
* :func:`working_crs_for` — the CGCS2000 Gauss-Krüger CRS areas are computed in;
* :func:`to_working_crs` — reprojection, or an explicit PROJ pipeline, Helmert or
  four parameters; a ballpark datum shift is warned about, naming the layer.

Pure functions on GeoDataFrames; every guess becomes a :class:`~landgis.errors.Problem`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from landgis.config import LayerSpec
from landgis.errors import CRSGuessWarning, DatumShiftWarning, LayerError, Problem, warn_problem
from landgis.repair import non_finite

__all__ = ["finite_bounds", "resolve_layer_crs", "coordinates_fit_crs", "coordinates_on_earth", "check_area_scale",
           "lonlat_extent", "working_crs_for", "to_working_crs", "converted_as_declared",
           "four_param_transform", "helmert_pipeline"]


def finite_bounds(geoms: np.ndarray) -> np.ndarray:
    """The bounds of the geometries whose coordinates are all numbers (NaN where there is none).

    >>> with np.errstate(invalid="ignore"):
    ...     corrupt = shapely.Polygon([(5, 5), (float("nan"), 5), (6, 6)])
    >>> finite_bounds(np.array([shapely.box(0, 0, 1, 1), corrupt])).tolist()
    [0.0, 0.0, 1.0, 1.0]
    """
    geoms = np.asarray(geoms, dtype=object)
    bounds = shapely.bounds(geoms)
    ok = np.isfinite(bounds).all(axis=1) if len(bounds) else np.zeros(0, bool)
    ok &= ~non_finite(geoms)  # GEOS's bounds pass over a NaN
    if not ok.any():
        return np.full(4, np.nan)
    b = bounds[ok]
    return np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])


def layer_bounds(frame: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    """The extent of a layer's present, non-empty geometries over their finite coordinates; None if none."""
    geoms = frame.geometry.values
    live = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not live.any():
        return None
    x0, y0, x1, y1 = finite_bounds(geoms[live])
    return None if np.isnan(x0) else (float(x0), float(y0), float(x1), float(y1))


def converted_as_declared(spec: LayerSpec) -> bool:
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
                                    f"{frame.crs.to_string()}",
                                    message_zh=f"按项目声明的坐标系 {spec.crs} 读取（文件自带 {frame.crs.to_string()}）"))
        return declared
    if frame.crs is not None:
        return CRS.from_user_input(frame.crs)
    if converted_as_declared(spec):
        return None
    bounds = finite_bounds(frame.geometry.values)
    if np.isnan(bounds).any():
        problems.append(Problem("error", role, "has no CRS and no coordinates to infer one from; "
                                f"declare crs = \"EPSG:…\" in [layers.{role}]"))
        return None
    minx, miny, maxx, maxy = bounds
    if -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90:
        msg = (f"has no CRS (.prj missing?); its coordinates are degrees, taken as CGCS2000 "
               f"geographic EPSG:4490. Declare crs = \"EPSG:4490\" in [layers.{role}] to confirm")
        warn_problem(problems, role, msg, CRSGuessWarning,
                     "无坐标系（缺少 .prj？），坐标为经纬度，按 CGCS2000 地理坐标系 EPSG:4490 读取；"
                     f"请在 [layers.{role}] 声明 crs = \"EPSG:4490\" 确认")
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
            warn_problem(problems, role, msg, CRSGuessWarning,
                         f"无坐标系（缺少 .prj？），东坐标带有带号 {zone_lo}，按 {crs.name}（EPSG:{epsg}）读取；"
                         f"如为西安 1980 或北京 1954 坐标系，请在 [layers.{role}] 声明 crs（及 transform）")
            problems.append(Problem("info", role, f"inferred {kind} Gauss-Krüger zone {zone_lo}",
                                    message_zh=f"按带号推断为高斯-克吕格投影第 {zone_lo} 带（{kind}）"))
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


#: northings (m) of China's territory in a Gauss-Krüger projection: from the South China Sea to Mohe
_CHINA_NORTHINGS = (300_000, 6_000_000)
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
    bounds = layer_bounds(frame)
    if bounds is None:
        return True  # no coordinate that is a number: the geometry check says so, feature by feature
    minx, miny, maxx, maxy = bounds
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
    elif (false_easting - _GK_HALF_WIDTH_M <= miny and maxy <= false_easting + _GK_HALF_WIDTH_M
          and _CHINA_NORTHINGS[0] <= minx and maxx <= _CHINA_NORTHINGS[1]):
        # the x column holds northings and the y column eastings: a CAD or survey export's X = north
        message = (f"x and y look swapped: the x values {minx:.0f}…{maxx:.0f} are northings and the y values "
                   f"{miny:.0f}…{maxy:.0f} eastings of {label} (surveyors' X is the northing); swap the two "
                   f"coordinates in the export (in QGIS: Swap X and Y coordinates) and read the layer again")
    else:
        message = (f"eastings {minx:.0f}…{maxx:.0f} cannot be in its CRS {label} (false easting "
                   f"{false_easting:.0f}: eastings lie within {_GK_HALF_WIDTH_M // 1000:.0f} km of it); the "
                   f".prj is wrong: declare the CRS the coordinates are in as crs = \"EPSG:…\" in [layers.{role}]")
    problems.append(Problem("error", role, message, field="crs"))
    return False


#: where a layer of this field can lie, in degrees (China, with a margin)
_CHINA_LONLAT = (70.0, 0.0, 140.0, 56.0)
#: how far (degrees) a layer may reach beyond its CRS's area of use before it is said
_AREA_OF_USE_MARGIN = 1.5
#: the working CRS's area scale at the parcels: beyond 1 ± this a warning; beyond 1 ± 1 % an error
_AREA_SCALE_WARN, _AREA_SCALE_ERROR = 0.002, 0.01


def lonlat_extent(frame: gpd.GeoDataFrame, crs: CRS) -> tuple[float, float, float, float] | None:
    """The layer's extent in CGCS2000 degrees (west, south, east, north); None when it has no finite
    coordinate, (inf, …) when its coordinates cannot be placed on the earth in ``crs``."""
    bounds = layer_bounds(frame)
    if bounds is None:
        return None
    x0, y0, x1, y1 = bounds
    try:
        box = Transformer.from_crs(crs, 4490, always_xy=True).transform_bounds(x0, y0, x1, y1)
    except ProjError:
        return (np.inf, np.inf, np.inf, np.inf)
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def coordinates_on_earth(frame: gpd.GeoDataFrame, crs: CRS, role: str, problems: list[Problem]) -> bool:
    """Whether the layer, read in ``crs``, lies in China; if not, an error naming its extent and the fix.
    Beyond ``crs``'s area of use (but in China), a warning: the CRS may be another zone's.

    >>> import shapely, geopandas as gpd
    >>> f = gpd.GeoDataFrame(geometry=[shapely.box(414_000, 2_785_000, 415_000, 2_786_000)], crs=32650)
    >>> problems = []
    >>> coordinates_on_earth(f, CRS.from_epsg(4546), "zoning", problems), problems
    (True, [])
    >>> coordinates_on_earth(f, CRS.from_epsg(3857), "zoning", problems)  # GK metres read as Web Mercator
    False
    >>> print(problems[0].message)  # doctest: +ELLIPSIS
    its coordinates, read in its CRS EPSG:3857 (WGS 84 / Pseudo-Mercator), lie at 3.72–3.73°E, 24.26–24.27°N, outside China: ...
    """
    extent = lonlat_extent(frame, crs)
    if extent is None:
        return True
    west, south, east, north = extent
    label = f"{crs.to_string()} ({crs.name})"
    cw, cs, ce, cn = _CHINA_LONLAT
    if not (np.all(np.isfinite(extent)) and cw <= west and east <= ce and cs <= south and north <= cn):
        where = (f"lie at {west:.2f}–{east:.2f}°E, {south:.2f}–{north:.2f}°N" if np.all(np.isfinite(extent))
                 else "cannot be placed on the earth")
        where_zh = (f"位于东经 {west:.2f}–{east:.2f}°、北纬 {south:.2f}–{north:.2f}°" if np.all(np.isfinite(extent))
                    else "无法换算到地球上")
        problems.append(Problem("error", role, f"its coordinates, read in its CRS {label}, {where}, outside China: "
                                "the CRS is not the one they are in (another zone, datum or false easting); declare "
                                f"the right one as crs = \"EPSG:…\" in [layers.{role}], or export the layer again "
                                "with its .prj", field="crs",
                                message_zh=f"按其坐标系 {crs.to_string()} 读取，坐标{where_zh}，在中国境外：坐标系有误"
                                           f"（带号、基准或东偏移）；请在 [layers.{role}] 声明正确的 crs 或重新导出 .prj"))
        return False
    area = crs.area_of_use
    m = _AREA_OF_USE_MARGIN
    if area is not None and (west < area.west - m or east > area.east + m or south < area.south - m
                             or north > area.north + m):
        problems.append(Problem("warning", role, f"it lies at {west:.2f}–{east:.2f}°E, {south:.2f}–{north:.2f}°N, "
                                f"beyond where its CRS {label} is meant for ({area.west:g}–{area.east:g}°E, "
                                f"{area.south:g}–{area.north:g}°N): if its .prj names another zone than the data's, "
                                f"declare the right crs in [layers.{role}]", field="crs",
                                message_zh=f"图层位于东经 {west:.2f}–{east:.2f}°，超出其坐标系 {crs.to_string()} 的适用范围"
                                           f"（东经 {area.west:g}–{area.east:g}°）；如 .prj 的带号与数据不符，"
                                           f"请在 [layers.{role}] 声明正确的 crs"))
    return True


def check_area_scale(parcels: gpd.GeoDataFrame, parcels_crs: CRS, working: CRS, problems: list[Problem]) -> None:
    """Areas in the working CRS must be the ground's: its area scale at the parcels' centre, beyond
    1 ± 0.2 % a warning, beyond 1 ± 1 % an error, each naming the CGCS2000 Gauss-Krüger CRS of the
    parcels' zone (a Web Mercator at 25°N gives areas 1.22× the ground's).

    >>> import shapely, geopandas as gpd
    >>> p = gpd.GeoDataFrame(geometry=[shapely.box(110.2, 25.2, 110.21, 25.21)], crs=4490)
    >>> problems = []
    >>> check_area_scale(p, p.crs, CRS.from_epsg(4546), problems); problems
    []
    >>> check_area_scale(p, p.crs, CRS.from_epsg(3857), problems); print(problems[0].message)  # doctest: +ELLIPSIS
    areas in the working CRS EPSG:3857 (WGS 84 / Pseudo-Mercator) are 1.2215× the ground's at the parcels ...
    """
    from pyproj import Proj

    extent = lonlat_extent(parcels, parcels_crs)
    if extent is None or not np.all(np.isfinite(extent)):
        return
    lon, lat = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    try:
        scale = float(Proj(working).get_factors(lon, lat).areal_scale)
    except (ProjError, CRSError, RuntimeError):
        return
    if not np.isfinite(scale) or abs(scale - 1) <= _AREA_SCALE_WARN:
        return
    cm = int(np.clip(round(lon / 3) * 3, 75, 135))
    gk = CRS.from_epsg(4534 + (cm - 75) // 3)
    severity = "error" if abs(scale - 1) > _AREA_SCALE_ERROR else "warning"
    problems.append(Problem(severity, "", f"areas in the working CRS {working.to_string()} ({working.name}) are "
                            f"{scale:.4f}× the ground's at the parcels ({lon:.2f}°E, {lat:.2f}°N); areas are "
                            f"measured in the Gauss-Krüger CRS of the parcels' zone: crs = \"EPSG:{gk.to_epsg()}\" "
                            f"({gk.name}) in [project]", field="crs",
                            message_zh=f"工作坐标系 {working.to_string()} 在地块处的面积比例为 {scale:.4f}，面积与实地不符；"
                                       f"面积应在地块所在带的高斯-克吕格投影中计算：[project] crs = \"EPSG:{gk.to_epsg()}\""))


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
    x0, y0, x1, y1 = finite_bounds(geoms)
    if np.isnan(x0):
        return CRS.from_epsg(4546)
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
        problems.append(Problem("info", role, "seven-parameter Helmert conversion " + pipeline,
                                message_zh="按声明的七参数（布尔莎）转换：" + pipeline))
    if spec.transform:
        try:
            tr = Transformer.from_pipeline(spec.transform)
        except ProjError as exc:
            raise LayerError(f"transform = {spec.transform!r} is not a PROJ pipeline PROJ accepts: {exc}") from None
        geoms = shapely.transform(frame.geometry.values, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        problems.append(Problem("info", role, f"converted with the declared pipeline {spec.transform}",
                                message_zh=f"按声明的转换管道转换：{spec.transform}"))
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
        warn_problem(problems, role, msg, DatumShiftWarning,
                     f"{crs_name_zh(src.name)} 转换到 {crs_name_zh(dst.name)} 需要基准转换参数，PROJ 无此参数，"
                     f"只能作近似转换，误差可达数十米；请在 [layers.{role}] 以 transform（PROJ 管道）声明所发的转换参数")
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
    said = ", ".join(f"{k}={v}" for k, v in params.items())
    problems.append(Problem("info", spec.role, "converted with the declared four-parameter transformation " + said,
                            message_zh="按声明的四参数转换：" + said))
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


#: a Gauss-Krüger CRS's name (EPSG's English) and its Chinese: band width, then zone or central meridian
_GK_NAME = re.compile(r"^(?P<datum>.+?) / (?:(?P<width>[36])-degree )?Gauss-Kruger (?:zone (?P<zone>\d+)|CM (?P<cm>\d+)E)$")


#: the datums of this field by their Chinese names
_DATUM_ZH = {"Xian 1980": "西安1980", "Beijing 1954": "北京1954", "New Beijing": "新北京54"}


def crs_name_zh(name: str) -> str:
    """A Gauss-Krüger CRS name in Chinese; any other name as EPSG gives it.

    >>> crs_name_zh("CGCS2000 / 3-degree Gauss-Kruger CM 111E"), crs_name_zh("CGCS2000 / Gauss-Kruger zone 19")
    ('CGCS2000 3度带高斯-克吕格投影 中央经线111°E', 'CGCS2000 6度带高斯-克吕格投影 第19带')
    >>> crs_name_zh("Xian 1980 / 3-degree Gauss-Kruger CM 111E")
    '西安1980 3度带高斯-克吕格投影 中央经线111°E'
    """
    m = _GK_NAME.match(name)
    if m is None:
        return name
    where = f"第{m['zone']}带" if m["zone"] else f"中央经线{m['cm']}°E"
    return f"{_DATUM_ZH.get(m['datum'], m['datum'])} {m['width'] or '6'}度带高斯-克吕格投影 {where}"
