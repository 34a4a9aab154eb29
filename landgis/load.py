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

import logging
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from landgis import io
from landgis.config import LayerSpec, Project
from landgis.crs import (
    check_area_scale,
    converted_as_declared,
    coordinates_fit_crs,
    coordinates_on_earth,
    crs_name_zh,
    resolve_layer_crs,
    to_working_crs,
    working_crs_for,
)
from landgis.decisions import read_decision_fields
from landgis.errors import (
    InputError,
    LandgisWarning,
    LayerError,
    Problem,
    listed_features,
)
from landgis.fields import (
    PLANNING_CONDITIONS,
    ownership_collective,
    parse_amount,
    parse_limits,
    parse_register,
    parse_year,
    resolve_fields,
    source_fields,
    text_values,
)
from landgis.repair import clean_polygons, report_area_changed, report_geometry
from landgis.schema import (
    AMOUNT_ATTRIBUTES,
    BOOLEAN_ATTRIBUTES,
    CLASS_LAYERS,
    DRAWN_LAYERS,
    FEATURE_ID_FIELDS,
    STANDARD_FIELDS,
    USABLE_STATUS,
    usable_geometry,
)
from landgis.terrain import raster_constraint_layer
from landgis.threads import is_valid
from landgis.zonal import open_raster

__all__ = ["LoadedLayers", "load_layers", "load_drawn_layers", "read_order", "read_roads", "canonical_parcels", "canonical_layer", "name_towns"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())



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


def load_drawn_layers(project: Project, crs: CRS | str | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The layers of ``project`` the maps draw (:data:`~landgis.schema.DRAWN_LAYERS`), read and
    repaired as a screening reads them, in the CRS ``crs`` (the screening's; by default the one
    a screening of ``project`` works in): what a map of a
    finished screening, or of a screening made on tiles elsewhere, draws beside its parcels.

    The parcels are read too (the loader checks every layer against them) but not returned; the
    survey layers, the largest, are not read. The repairs and assumptions were reported when the
    layers were screened: they are not warned of a second time.
    """
    drawn = {role: spec for role, spec in project.layers.items() if role in (*DRAWN_LAYERS, "parcels")}
    if len(drawn) == 1:
        return {}
    subset = replace(project, layers=MappingProxyType(drawn),
                     crs=CRS.from_user_input(crs).to_string() if crs is not None else project.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LandgisWarning)
        loaded = load_layers(subset)
    return {role: frame for role, frame in loaded.layers.items() if role in DRAWN_LAYERS}


def _validity(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return geoms, is_valid(geoms)


#: layers of a few polygons of tens of thousands of vertices each: read right after the parcels,
#: so that their validity test (slower than their read) runs while the big layers are read,
#: not after the last of them
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
    # raster layers and roads are read after the polygon layers (see _lines_and_rasters)
    for role in read_order(project.layers):
        spec = project.layers[role]
        try:
            frame, notes = (reader or io.read_vector)(spec)
        except LayerError as exc:
            read_problems[role] = [Problem("error", role, str(exc).removeprefix(f"layer `{role}`: "))]
            continue
        read_problems[role] = [Problem("info", role, n, message_zh=io.note_zh(n)) for n in notes]
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
        layer_crs = crs_by_role[role]
        if layer_crs is not None and not converted_as_declared(spec) and not (
                coordinates_fit_crs(frame, layer_crs, role, problems)
                and coordinates_on_earth(frame, layer_crs, role, problems)):
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
    if crs_by_role["parcels"] is not None:
        check_area_scale(parcels_frame, crs_by_role["parcels"], crs, problems)
    problems.append(Problem("info", "", f"working CRS: {crs.to_string()} ({crs.name})",
                            message_zh=f"工作坐标系：{crs.to_string()}（{crs_name_zh(crs.name)}）"))

    layers: dict[str, gpd.GeoDataFrame] = {}
    for role, (frame, spec) in raw.items():
        src_crs = crs_by_role[role]
        if src_crs is None and not converted_as_declared(spec):
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
    _lines_and_rasters(loaded, project)
    return loaded


#: the planning conditions as the 数据问题 sheet names them
_CONDITION_ZH = {"plot_ratio": "容积率", "building_density": "建筑密度", "green_ratio": "绿地率", "height_limit": "建筑限高"}


def read_roads(spec, crs, problems: list[Problem]) -> gpd.GeoDataFrame:
    """The roads layer in the working CRS: lines or polygons, null and empty features dropped."""
    frame, notes = io.read_vector(spec)
    problems += [Problem("info", "roads", n, message_zh=io.note_zh(n)) for n in notes]
    src = resolve_layer_crs(frame, spec, problems)
    if src is None and spec.transform is None and getattr(spec, "four_param", None) is None:
        raise LayerError("layer `roads`: its CRS is unknown; declare crs = \"EPSG:…\" in [layers.roads]")
    projected = to_working_crs(frame, spec, src, crs, problems)
    geoms = shapely.force_2d(np.asarray(projected.geometry.values, dtype=object))
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if (~keep).any():
        problems.append(Problem("warning", "roads", f"{int((~keep).sum())} features without geometry left out",
                                message_zh=f"{int((~keep).sum())} 条道路要素无图形，未参加计算"))
    problems.append(Problem("info", "roads", f"{int(keep.sum())} road features",
                            message_zh=f"道路要素 {int(keep.sum())} 条"))
    return gpd.GeoDataFrame({"feature_id": [str(i + 1) for i in np.flatnonzero(keep)]},
                            geometry=gpd.GeoSeries(geoms[keep], crs=crs), crs=crs)


def _lines_and_rasters(loaded: LoadedLayers, project: Project) -> None:
    """Read the roads layer and turn raster constraints into their vector twins (in ``loaded``).

    They come after the polygon layers: a raster constraint is vectorised only near the
    parcels, so it needs them canonical first.
    """
    parcels = loaded.parcels
    usable = usable_geometry(parcels)
    geoms = np.where(usable, parcels.geometry.values, None)
    errors: list[Problem] = []
    for role, spec in project.layers.items():
        try:
            if role == "dem":  # read by window when the slope is measured; opened here, before any work
                open_raster(spec).close()
            elif role == "roads":
                loaded.layers[role] = read_roads(spec, loaded.crs, loaded.problems)
            elif spec.is_raster and role != "dem":
                layer = raster_constraint_layer(spec, geoms, loaded.crs)
                loaded.layers[role] = layer
                loaded.problems.append(Problem("info", role, f"raster {spec.path.name}: cells with values "
                                               f"{list(spec.values)} near the parcels → {len(layer)} polygons",
                                               message_zh=f"栅格 {spec.path.name}：地块附近取值为 {list(spec.values)} "
                                                          f"的像元转为 {len(layer)} 个多边形"))
        except LayerError as exc:
            errors.append(Problem("error", role, str(exc).removeprefix(f"layer `{role}`: ")))
    if errors:
        raise InputError(loaded.problems + errors)


def canonical_parcels(frame: gpd.GeoDataFrame, spec: LayerSpec, problems: list[Problem],
                      known_valid: tuple[np.ndarray, np.ndarray] | None = None) -> gpd.GeoDataFrame:
    """The parcels with canonical columns and a ``geometry_status`` per row.

    No row is ever dropped: a parcel whose geometry cannot be used keeps its
    row with ``geometry_status`` saying why (the rules mark it ``GEOMETRY``).
    """
    role = "parcels"
    names = {**STANDARD_FIELDS["parcels"]}
    fields = resolve_fields(frame, spec, names, problems)
    cols = source_fields(frame)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    if "parcel_id" not in fields:
        problems.append(Problem("error", role, "has no parcel id field (ZDDM or BSM); map one with "
                                "[layers.parcels.fields] parcel_id = \"…\"; fields there: "
                                + ", ".join(cols[:25]), field="parcel_id"))
        ids = pd.Series([f"(row {i + 1})" for i in range(len(frame))])
    else:
        ids = text_values(frame[fields["parcel_id"]])
        blank = ids == ""
        if blank.any():
            problems.append(Problem("warning", role, f"{int(blank.sum())} parcel(s) have no id; they are "
                                    "listed as (row N), N counting features from 1",
                                    field=fields["parcel_id"], features=listed_features(out, blank, None),
                                    message_zh=f"{int(blank.sum())} 个地块无宗地代码，以“(row N)”（第 N 个要素）列出"))
            ids[blank] = [f"(row {i + 1})" for i in np.flatnonzero(blank)]
        dup = ids.duplicated(keep=False)
        if dup.any():
            problems.append(Problem("warning", role, f"{int(dup.sum())} parcels share an id; each row is "
                                    "screened and reported on its own", field=fields["parcel_id"],
                                    features=", ".join(sorted(set(ids[dup]))[:8]),
                                    message_zh=f"{int(dup.sum())} 个地块的宗地代码重复；每条记录分别筛查和列出"))
    out["parcel_id"] = ids.astype(object)
    for canon in ("owner", "village", "town", "town_code", "approval_no", "ownership"):
        if canon in fields:
            out[canon] = text_values(frame[fields[canon]])
    if "town" not in out and "town_code" in out:
        out["town"] = out["town_code"].str[:9]
    for canon in BOOLEAN_ATTRIBUTES:
        if canon in fields:
            parsed, doc, bad = parse_register(frame[fields[canon]].reset_index(drop=True))
            if bad.any():
                values = sorted(set(frame[fields[canon]].astype(str).reset_index(drop=True)[bad]))[:5]
                problems.append(Problem("error", role, f"{canon}: values {', '.join(values)} say neither yes nor "
                                        "no, nor give a certificate or document number; write 是/否 (1/0, Y/N), "
                                        "the number (房权证字第12号), 已…/未… (已处罚), or leave it blank if unknown; a "
                                        "status saying both (已申请未登记) or a bare number (1 = 是 / 2 = 否 codes) "
                                        "must be recoded to one of these",
                                        field=fields[canon], features=listed_features(out, bad, "parcel_id")))
            out[canon] = parsed
            if (doc != "").any():
                out[f"{canon}_doc"] = doc
    if "formed_year" in fields:
        years, bad = parse_year(frame[fields["formed_year"]].reset_index(drop=True))
        if bad.any():
            values = sorted(set(frame[fields["formed_year"]].astype(str).reset_index(drop=True)[bad]))[:5]
            problems.append(Problem("error", role, f"formed_year: values {', '.join(values)} are not years "
                                    "(1900–2100, alone or starting a date: 2005, 2005年, 2005-06-01, 2005年6月1日, "
                                    "20050601); correct them or leave them blank", field=fields["formed_year"],
                                    features=listed_features(out, bad, "parcel_id")))
        out["formed_year"] = years
    for canon in AMOUNT_ATTRIBUTES:
        if canon in fields:
            out[canon], bad = parse_amount(frame[fields[canon]].reset_index(drop=True))
            if bad.any():
                shown = ", ".join(sorted(set(frame[fields[canon]].astype(str).reset_index(drop=True)[bad]))[:5])
                problems.append(Problem("warning", role, f"{canon}: values {shown} are not sums of money; those "
                                        "parcels get no price floor: write yuan (1500000, 1,500,000元) or 150万元",
                                        field=fields[canon], features=listed_features(out, bad, "parcel_id"),
                                        message_zh=f"字段 {fields[canon]} 的值 {shown} 不是金额，这些宗地不计底价；"
                                                   "应写作元（1500000、1,500,000元）或 150万元"))
    read_decision_fields(frame, fields, out, problems)
    if "ownership" in out:
        out["collective"] = ownership_collective(out["ownership"])
        unknown = out["collective"].isna() & (out["ownership"] != "")
        if unknown.any():
            problems.append(Problem("warning", role, "ownership values neither collective (30–34, 40, 集体) "
                                    f"nor state (10, 20, 国有): {', '.join(sorted(set(out['ownership'][unknown]))[:5])}",
                                    field=fields["ownership"], features=listed_features(out, unknown, "parcel_id"),
                                    message_zh="权属性质既非集体（30–34、40、集体）也非国有（10、20、国有）："
                                               f"{', '.join(sorted(set(out['ownership'][unknown]))[:5])}"))
    geoms, status = clean_polygons(frame.geometry.values, known_valid)
    report_geometry(problems, role, status, out, "parcel_id", parcels=True)
    report_area_changed(problems, role, frame.geometry.values, geoms, status, out)
    out["geometry_status"] = status
    return gpd.GeoDataFrame(out, geometry=geoms, crs=frame.crs)


def canonical_layer(frame: gpd.GeoDataFrame, spec: LayerSpec, problems: list[Problem],
                    known_valid: tuple[np.ndarray, np.ndarray] | None = None) -> gpd.GeoDataFrame:
    """A constraint or class layer with canonical columns; unusable rows dropped (and counted)."""
    role = spec.role
    names = dict(STANDARD_FIELDS.get(role, {}))
    names.setdefault("feature_id", FEATURE_ID_FIELDS)
    fields = resolve_fields(frame, spec, names, problems)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    if "feature_id" in fields:
        out["feature_id"] = text_values(frame[fields["feature_id"]])
    else:
        out["feature_id"] = [str(i + 1) for i in range(len(frame))]
    for canon in names:
        if canon in fields and canon != "feature_id":
            out[canon] = text_values(frame[fields[canon]])
    for canon, (bound, percent) in PLANNING_CONDITIONS.items():
        if canon in out:
            out[canon], bad = parse_limits(out[canon], bound, percent)
            if bad.any():
                shown = ", ".join(sorted({str(v) for v in frame[fields[canon]].to_numpy()[bad]})[:5])
                example = "≤1.2" if bound == "upper" else "≥30%"
                problems.append(Problem("warning", role, f"{int(bad.sum())} value(s) of {canon} are not a number "
                                        f"or a range of numbers, or bound it the other way ({shown}); those patches "
                                        f"give no {canon}: write e.g. 1.2, {example} or 1.0-1.5", field=fields[canon],
                                        features=listed_features(out, bad, "feature_id"),
                                        message_zh=f"字段 {fields[canon]}（{_CONDITION_ZH[canon]}）有 {int(bad.sum())} 个值"
                                                   f"不是数字或数值范围，或{'上' if bound == 'upper' else '下'}限写反（{shown}），"
                                                   f"这些图斑不给出{_CONDITION_ZH[canon]}；应写作如 1.2、{example} 或 1.0-1.5"))
    if role in CLASS_LAYERS and "class_code" not in out:
        std = " or ".join(STANDARD_FIELDS[role]["class_code"])
        cols = source_fields(frame)
        problems.append(Problem("error", role, f"has no class code field ({std}); map it with "
                                f"[layers.{role}.fields] class_code = \"…\"; fields there: {', '.join(cols[:25])}",
                                field="class_code"))
    if len(frame) == 0:
        problems.append(Problem("warning", role, "is empty: no feature to overlay; check the layer name and filter",
                                message_zh="图层无要素，无法叠加分析；请检查图层名和筛选条件"))
    geoms, status = clean_polygons(frame.geometry.values, known_valid)
    report_geometry(problems, role, status, out, "feature_id", parcels=False)
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
                            "layer (by 9-digit town code, else by location)",
                            message_zh=f"{int(filled.sum())} 个地块的乡镇名称取自行政区图层（按 9 位乡镇代码，否则按位置）"))
    return out


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
                                    f"check crs in [layers.{role}]",
                                    message_zh=f"与宗地完全不相交（图层范围 {lb[0]:.0f},{lb[1]:.0f}…{lb[2]:.0f},"
                                    f"{lb[3]:.0f}，宗地范围 {pb[0]:.0f},{pb[1]:.0f}…{pb[2]:.0f},{pb[3]:.0f}），"
                                    f"疑为坐标系有误，请核对 [layers.{role}] 的 crs"))


