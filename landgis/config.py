"""The project file (TOML) read into frozen dataclasses.

A project names the rule profile, the working CRS and the input layers by role.
Everything is checked here, once, with messages that name the key and the fix;
nothing downstream needs to second-guess the configuration.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from landgis.errors import Collected, ProjectError
from landgis.schema import (
    CLASS_LAYERS,
    FEATURE_ID_FIELDS,
    LAYER_ROLES,
    PARCEL_ATTRIBUTES,
    RASTER_ROLES,
    STANDARD_FIELDS,
    suggest,
)

__all__ = [
    "used_fields",
    "LayerSpec",
    "CodeOverride",
    "Project",
    "load_project",
]

#: a name in an attribute filter (Unicode letters: Chinese field names too)
_WORD = re.compile(r"[^\W\d]\w*")


_LAYER_KEYS = ("path", "layer", "fields", "where", "crs", "transform", "four_param", "helmert", "encoding",
               "band", "values", "cell_rule")
_RASTER_SUFFIXES = (".tif", ".tiff", ".img", ".vrt", ".asc")
_CELL_RULES = ("area", "centre", "all_touched")
_FOUR_PARAM_KEYS = ("dx", "dy", "rotation_arcsec", "scale_ppm", "origin_x", "origin_y", "target_crs")
_HELMERT_KEYS = ("dx", "dy", "dz", "rx_arcsec", "ry_arcsec", "rz_arcsec", "scale_ppm", "convention")
_TOP_KEYS = ("project", "layers", "tables", "tolerance", "codes", "settings")
#: tables without geometry a project may give, keyed by parcel id: name → what it holds
TABLES = {"supply_plan": "年度供应计划 (parcel id, year)"}
_TABLE_KEYS = ("path", "sheet", "fields")
_PROJECT_KEYS = ("name", "profile", "crs", "data_date", "organisation")
_TOLERANCE_KEYS = ("min_overlap_m2",)


@dataclass(frozen=True)
class LayerSpec:
    """Where one input layer comes from and how to read it.

    ``fields`` maps canonical names (``parcel_id``, ``class_code``…) to the
    source field names; standard names (ZDDM, DLBM…) need no mapping.
    """

    role: str
    path: Path | None = None
    layer: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    where: str | None = None                  # an OGR SQL attribute filter: only the features it selects
    crs: str | None = None
    transform: str | None = None
    encoding: str | None = None
    band: int = 1
    four_param: Mapping[str, Any] | None = None
    helmert: Mapping[str, Any] | None = None
    values: tuple[float, ...] | None = None   # raster constraint: the cell values that are the constraint
    cell_rule: str = "area"                   # raster cells per parcel: area, centre or all_touched

    @property
    def is_raster(self) -> bool:
        """Whether the layer is a raster (read window by window, see :mod:`landgis.terrain`)."""
        return self.path is not None and self.path.suffix.lower() in _RASTER_SUFFIXES


def used_fields(spec: LayerSpec) -> frozenset[str]:
    """The source fields landgis may read from a vector layer, lower-cased: those mapped under
    ``[layers.<role>.fields]``, the role's standard names and, but for the parcels, a feature id.

    The rest of a layer's attributes are never used, so they are not read: a 三调 DLTB carries
    ~30 fields, of which the screening reads DLBM, QSXZ and BSM. The roads layer (geometry only)
    reads no field unless one is mapped. Every name the layer's ``where`` mentions is kept
    too: GDAL filters a shapefile on the fields it reads, and selects nothing by one it does not.

    >>> sorted(used_fields(LayerSpec(role="survey", fields={"class_code": "dlbm_2023"})))
    ['bsm', 'dlbm', 'dlbm_2023', 'fid', 'objectid', 'qsxz']
    >>> sorted(used_fields(LayerSpec(role="roads")))
    []
    >>> {"xzmc", "用途"} <= used_fields(LayerSpec(role="parcels", where="XZMC = '城关镇' AND 用途 LIKE '05%'"))
    True
    """
    names = [*spec.fields.values(), *_WORD.findall(spec.where or "")]
    for standard in STANDARD_FIELDS.get(spec.role, {}).values():
        names += standard
    if spec.role not in ("parcels", "roads"):
        names += FEATURE_ID_FIELDS
    return frozenset(n.lower() for n in names)


@dataclass(frozen=True)
class CodeOverride:
    """A land-class code declared or re-mapped by the project or a profile."""

    code: str
    name: str = ""
    use: str = ""
    landcat: str = ""
    role: str = ""


@dataclass(frozen=True)
class Project:
    """A screening project: profile, CRS, layers, tolerance and code overrides."""

    name: str
    profile: str
    layers: Mapping[str, LayerSpec]
    crs: str | None = None
    min_overlap_m2: float = 1.0
    codes: Mapping[str, Mapping[str, CodeOverride]] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    data_date: str = ""
    source: Path | None = None
    #: the 制图单位 the maps name (the bureau that files them)
    organisation: str = ""
    #: tables without geometry keyed by parcel id (``[tables.supply_plan]``): name → (path, sheet, fields)
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base_dir: Path | str | None = None,
                  source: Path | None = None) -> Project:
        """Build a project from a parsed TOML mapping, checking every key."""
        base = Path(base_dir) if base_dir is not None else (source.parent if source else Path.cwd())
        where = str(source) if source else "project"
        found = Collected(ProjectError, "the project file")  # every problem of the file, said together
        with found.check():
            _check_keys(data, _TOP_KEYS, where)
        with found.check():
            _check_keys(_table(data, "project", where), _PROJECT_KEYS, f"{where} [project]")
        values: dict[str, Any] = {"name": "landgis screening", "profile": "national", "crs": None, "data_date": "",
                                  "organisation": ""}
        for key, default in list(values.items()):
            with found.check():
                values[key] = _str(_table(data, "project", where), key, "[project]", default=default)
        name, profile, crs, data_date = values["name"], values["profile"], values["crs"], values["data_date"]
        organisation = values["organisation"]

        layers: dict[str, LayerSpec] = {}
        with found.check():
            layers_raw = _table(data, "layers", where)
            if "parcels" not in layers_raw:
                raise ProjectError(
                    f"{where}: no [layers.parcels]; the parcels layer is required, e.g.\n"
                    '  [layers.parcels]\n  path = "data/parcels.gpkg"\n  layer = "zd"'
                )
        layers_table = data.get("layers")
        for role, spec in (layers_table.items() if isinstance(layers_table, Mapping) else ()):
            with found.check():
                if role not in LAYER_ROLES:
                    raise ProjectError(
                        f"{where}: unknown layer role [layers.{role}]{suggest(role, LAYER_ROLES)}; "
                        f"known roles: {', '.join(LAYER_ROLES)}"
                    )
                layers[role] = _layer_spec(role, spec, base, where)

        tables: dict[str, dict[str, Any]] = {}
        for table, spec in _table(data, "tables", where).items() if isinstance(data.get("tables", {}), Mapping) else ():
            with found.check():
                if table not in TABLES:
                    raise ProjectError(f"{where}: unknown table [tables.{table}]{suggest(table, list(TABLES))}; "
                                       f"known: {', '.join(TABLES)}")
                if not isinstance(spec, Mapping) or not isinstance(spec.get("path"), str):
                    raise ProjectError(f"{where} [tables.{table}]: needs path = \"….csv\" or \"….xlsx\"")
                _check_keys(spec, _TABLE_KEYS, f"{where} [tables.{table}]")
                path = Path(spec["path"])
                tables[table] = {"path": path if path.is_absolute() else base / path, "sheet": spec.get("sheet"),
                                "fields": dict(spec.get("fields", {}))}
        min_overlap: Any = 1.0
        with found.check():
            tol = _table(data, "tolerance", where)
            _check_keys(tol, _TOLERANCE_KEYS, f"{where} [tolerance]")
            min_overlap = tol.get("min_overlap_m2", 1.0)
            if isinstance(min_overlap, bool) or not isinstance(min_overlap, (int, float)) \
                    or not math.isfinite(min_overlap) or min_overlap < 0:
                # nan would make every overlap a sliver: FARMLAND and REDLINE would never fire
                raise ProjectError(
                    f"{where}: [tolerance] min_overlap_m2 must be a finite number ≥ 0 (square metres), "
                    f"got {min_overlap!r}"
                )
        codes: Mapping[str, Mapping[str, CodeOverride]] = {}
        with found.check():
            codes = parse_code_overrides(_table(data, "codes", where), f"{where} [codes]")
        settings: dict[str, Any] = {}
        with found.check():
            settings = dict(_table(data, "settings", where))
            if settings:
                raise ProjectError(f"{where}: [settings] ({', '.join(settings)}) belongs to a rule profile, not a "
                                   "project: write a profile that extends yours, e.g. [profile] id = \"my-county\" "
                                   f"extends = \"{profile}\" with your [settings], and name it in [project] profile")
        found.raise_all()
        return cls(name=name, profile=profile, layers=MappingProxyType(layers), crs=crs,
                   min_overlap_m2=float(min_overlap), codes=codes, settings=settings,
                   data_date=data_date, source=source, organisation=organisation,
                   tables=MappingProxyType(tables))


def load_project(path: str | Path) -> Project:
    """Read and check a project file.

    Parameters
    ----------
    path
        the project ``.toml``; layer paths in it are relative to its folder.

    Returns
    -------
    Project
        frozen; ``dataclasses.replace(project, min_overlap_m2=0.5)`` gives a
        changed copy.

    Raises
    ------
    ProjectError
        naming the file, the key and what to change.

    Examples
    --------
    >>> from pathlib import Path
    >>> import landgis
    >>> sample = Path(landgis.__file__).parents[1] / "data" / "sample_county.toml"
    >>> project = load_project(sample)
    >>> project.profile, project.crs, project.min_overlap_m2
    ('guilin', 'EPSG:4546', 1.0)
    >>> project.layers["parcels"].layer, project.layers["parcels"].fields["formed_year"]
    ('zd', 'JCNF')
    """
    path = Path(path)
    if not path.exists():
        raise ProjectError(f"project file {path} does not exist")
    if path.is_dir():
        raise ProjectError(f"{path} is a directory; give the project .toml file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{path} is not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        hint = ""
        if "escape" in str(exc).lower() or "\\" in str(exc):
            hint = ("; a Windows path in double quotes needs its backslashes doubled or turned: write "
                    "path = 'D:\\data\\zd.gpkg' (single quotes keep backslashes) or path = \"D:/data/zd.gpkg\"")
        raise ProjectError(f"{path} is not valid TOML: {exc}{hint}") from None
    return Project.from_dict(data, source=path.resolve())


def parse_code_overrides(raw: Mapping[str, Any], where: str) -> Mapping[str, Mapping[str, CodeOverride]]:
    """``[codes.zoning] "070199" = {name=…, use=…}`` → {table: {code: CodeOverride}}."""
    out: dict[str, dict[str, CodeOverride]] = {}
    for table, entries in raw.items():
        if table not in CLASS_LAYERS:
            raise ProjectError(f"{where}: unknown code table `{table}`{suggest(table, CLASS_LAYERS)}; "
                               f"known: {', '.join(CLASS_LAYERS)}")
        if not isinstance(entries, Mapping):
            raise ProjectError(f"{where}.{table} must be a table of code = {{ name = …, use = … }}")
        out[table] = {}
        for code, spec in entries.items():
            if isinstance(spec, str):
                spec = {"use": spec} if table == "zoning" else {"landcat": spec}
            if not isinstance(spec, Mapping):
                raise ProjectError(f"{where}.{table}.{code} must be a table like "
                                   '{ name = "…", use = "…" }')
            _check_keys(spec, ("name", "use", "landcat", "role"), f"{where}.{table}.{code}")
            out[table][str(code)] = CodeOverride(code=str(code), **{k: str(v) for k, v in spec.items()})
    return MappingProxyType({k: MappingProxyType(v) for k, v in out.items()})


def _layer_spec(role: str, spec: Any, base: Path, where: str) -> LayerSpec:
    key = f"[layers.{role}]"
    if not isinstance(spec, Mapping):
        raise ProjectError(f"{where}: {key} must be a table with at least `path`")
    _check_keys(spec, _LAYER_KEYS, f"{where} {key}")
    path_s = _str(spec, "path", key, default=None)
    if path_s is None:
        raise ProjectError(f'{where}: {key} has no `path`; add e.g. path = "data/{role}.gpkg"')
    path = Path(path_s)
    if not path.is_absolute():
        path = (base / path).resolve()
    fields = spec.get("fields", {})
    if not isinstance(fields, Mapping) or not all(isinstance(v, str) for v in fields.values()):
        raise ProjectError(f"{where}: {key}.fields must map canonical names to source field names "
                           '(strings), e.g. parcel_id = "ZDDM"')
    if role == "parcels":
        for canon in fields:
            if canon not in PARCEL_ATTRIBUTES:
                raise ProjectError(
                    f"{where}: [layers.parcels.fields] `{canon}` is not a parcel attribute"
                    f"{suggest(canon, PARCEL_ATTRIBUTES)}; known: {', '.join(PARCEL_ATTRIBUTES)}")
    band = spec.get("band", 1)
    if isinstance(band, bool) or not isinstance(band, int) or band < 1:
        raise ProjectError(f"{where}: {key}.band must be a positive integer, got {band!r}")
    raster = path.suffix.lower() in _RASTER_SUFFIXES
    if raster and role not in RASTER_ROLES:
        raise ProjectError(f"{where}: {key} path {path.name} is a raster; only {', '.join(RASTER_ROLES)} "
                           "may be rasters, give a vector layer")
    if role == "dem" and not raster:
        raise ProjectError(f"{where}: [layers.dem] path {path.name} is not a raster "
                           f"({', '.join(_RASTER_SUFFIXES)}); give the elevation GeoTIFF")
    values = spec.get("values")
    if values is not None:
        if not raster or role == "dem":
            raise ProjectError(f"{where}: {key}.values is for a raster constraint (the cell values that are "
                               f"{role}); this layer is not one")
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
            raise ProjectError(f"{where}: {key}.values must be a list of cell values, e.g. values = [1]")
        values = tuple(values)
    elif raster and role != "dem":
        raise ProjectError(f"{where}: {key} is a raster; say which cell values are {role} with "
                           "values = [1] (for example)")
    cell_rule = spec.get("cell_rule", "area")
    if cell_rule not in _CELL_RULES:
        raise ProjectError(f"{where}: {key}.cell_rule must be one of {', '.join(_CELL_RULES)} "
                           f"(exact cell areas, cell centres inside, cells touched), got {cell_rule!r}")
    filter_s = _str(spec, "where", key, default=None)
    if filter_s is not None:
        if raster:
            raise ProjectError(f"{where}: {key}.where filters a vector layer's features; {path.name} is a raster")
        if not filter_s.strip():
            raise ProjectError(f"{where}: {key}.where is empty; remove it, or give a filter such as "
                               "where = \"XZMC = '城关镇'\"")
    four = _params(spec, "four_param", _FOUR_PARAM_KEYS, ("dx", "dy"), f"{where} {key}")
    helmert = _params(spec, "helmert", _HELMERT_KEYS, ("dx", "dy", "dz", "convention"), f"{where} {key}")
    given = [k for k in ("transform", "four_param", "helmert") if k in spec]
    if len(given) > 1:
        raise ProjectError(f"{where}: {key} gives {' and '.join(given)}; give one conversion only")
    if helmert is not None:
        if helmert["convention"] not in ("position_vector", "coordinate_frame"):
            raise ProjectError(f"{where}: {key}.helmert.convention must be \"position_vector\" or "
                               "\"coordinate_frame\" (ask the surveyors which one their parameters use)")
        if "crs" not in spec:
            raise ProjectError(f"{where}: {key}.helmert needs the layer's own `crs` (e.g. \"EPSG:2382\" for "
                               "Xian 1980 / 3-degree GK CM 111E)")
    return LayerSpec(role=role, path=path, layer=_str(spec, "layer", key, default=None),
                     four_param=four, helmert=helmert,
                     fields=MappingProxyType(dict(fields)), where=filter_s, crs=_str(spec, "crs", key, default=None),
                     transform=_str(spec, "transform", key, default=None),
                     encoding=_str(spec, "encoding", key, default=None), band=band,
                     values=values, cell_rule=cell_rule)


def _params(spec: Mapping[str, Any], name: str, allowed: tuple[str, ...], required: tuple[str, ...],
            where: str) -> Mapping[str, Any] | None:
    if name not in spec:
        return None
    table = spec[name]
    if not isinstance(table, Mapping):
        raise ProjectError(f"{where}.{name} must be a table, e.g. {name} = {{ dx = -61.2, dy = 38.7 }}")
    _check_keys(table, allowed, f"{where}.{name}")
    for req in required:
        if req not in table:
            raise ProjectError(f"{where}.{name} needs `{req}`; keys: {', '.join(allowed)}")
    for k, v in table.items():
        if k in ("convention", "target_crs"):
            if not isinstance(v, str):
                raise ProjectError(f"{where}.{name}.{k} must be a string, got {v!r}")
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ProjectError(f"{where}.{name}.{k} must be a number, got {v!r}")
    return MappingProxyType(dict(table))


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ProjectError(f"{where}: `{key}` must be a table ([{key}]), got {type(value).__name__}")
    return value


def _str(data: Mapping[str, Any], key: str, where: str, default: Any) -> Any:
    if key not in data:
        return default
    value = data[key]
    if not isinstance(value, str):
        raise ProjectError(f"{where} `{key}` must be a string, got {value!r}")
    return value


def _check_keys(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise ProjectError(f"{where}: unknown key `{key}`{suggest(key, allowed)}; "
                               f"allowed: {', '.join(allowed)}")
