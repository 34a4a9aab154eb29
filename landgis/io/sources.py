"""Input layers read as found on disk: the file, the layer, the encoding, the fields.

Formats: GeoPackage, Shapefile (also inside a .zip, in any sub-folder), GeoJSON,
File Geodatabase (.gdb folder, also zipped). Shapefiles without a ``.cpg`` (or
with one that lies) are decoded by looking at the DBF bytes: valid UTF-8 stays
UTF-8, otherwise GB18030 (a superset of GBK/GB2312), and the guess is reported.
Zip archives are read in place through GDAL's ``/vsizip/``: nothing is ever
extracted, so an entry named ``../../x`` cannot write anywhere.
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from landgis.config import LayerSpec, used_fields
from landgis.errors import LayerError
from landgis.io.dbf import MIXED, DbfBytes, dbf_bytes, decodes, detect_dbf_encoding

__all__ = ["read_vector", "list_source_layers", "resolve_source", "use_arrow"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

_VECTOR_SUFFIXES = (".gpkg", ".shp", ".zip", ".geojson", ".json", ".gdb", ".fgb", ".kml", ".gml", ".tab", ".mif")
#: formats survey and cadastral data still arrive in that GDAL (as pyogrio ships it) cannot read polygons from
_CONVERT_HINTS = {
    ".mdb": ". It is an ESRI personal geodatabase (二调 data is often delivered so), which GDAL reads only through "
            "ODBC: export its feature classes to a file geodatabase (.gdb) or a GeoPackage in ArcGIS, or with an "
            "ogr2ogr that has the PGeo driver (GDAL on Windows): ogr2ogr -f GPKG erdiao.gpkg erdiao.mdb",
    ".dwg": ". It is a CAD drawing, whose parcels are lines, not polygons: export the 宗地 as polygons to a "
            "shapefile or GeoPackage (from CASS or AutoCAD Map, or build the polygons in QGIS or ArcGIS)",
}
_CONVERT_HINTS[".dxf"] = _CONVERT_HINTS[".dwg"]


def read_vector(spec: LayerSpec, **filters) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read a vector layer as found on disk (no reprojection, no repair).

    Returns the frame and notes about what was assumed while reading
    (encoding guessed, zip entry chosen…). Only the fields landgis may use
    (:func:`landgis.config.used_fields`) are read; the names of all the
    layer's fields are in ``frame.attrs["source_fields"]``, for messages.
    ``columns=`` in ``filters`` reads those instead. Only the features the
    layer's ``where`` selects are read (a ``where`` in ``filters`` narrows it
    further), and a note says how many of how many.

    ``filters`` go to :func:`pyogrio.read_dataframe` (``bbox``, ``where``,
    ``fid_as_index``, ``max_features``…): the dask engine reads one window.

    Raises
    ------
    LayerError
        naming the layer role and path, with the layers there are.
    """
    notes: list[str] = []
    role = spec.role
    path = spec.path
    if path is None or not (path.exists() or zip_member(path) is not None):
        raise LayerError(f"layer `{role}`: {path} does not exist; check [layers.{role}] path")
    source, layer_name, dbf_bytes = resolve_source(spec, notes)
    kwargs: dict = {}
    if layer_name is not None:
        kwargs["layer"] = layer_name
    encoding = spec.encoding
    if encoding is None and dbf_bytes is not None:
        encoding = detect_dbf_encoding(dbf_bytes(), spec, notes)
    mixed = encoding == MIXED
    if mixed:
        encoding = "ISO-8859-1"  # every byte a character: the values are decoded one by one below
    if encoding:
        kwargs["encoding"] = encoding
    source_fields, features = _field_names(source, kwargs)
    if mixed and source_fields is not None:  # names read byte for byte: matched and said as UTF-8
        raw_names = dict(zip(map(_utf8_name, source_fields), source_fields, strict=True))
        source_fields = list(raw_names)
        if "columns" in filters:
            filters["columns"] = [raw_names.get(c, c) for c in filters["columns"]]
    if "columns" not in filters and source_fields is not None:
        wanted = used_fields(spec)
        kwargs["columns"] = [f for f in source_fields if f.lower() in wanted]
        if mixed:
            kwargs["columns"] = [raw_names[f] for f in kwargs["columns"]]
    if spec.where:
        more = filters.pop("where", None)
        kwargs["where"] = spec.where if more is None else f"({spec.where}) AND ({more})"
    kwargs.update(filters)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            arrow = use_arrow(kwargs, source)
            try:
                try:
                    frame = pyogrio.read_dataframe(source, on_invalid="fix", use_arrow=arrow, **kwargs)
                    _check_utf8(frame)
                except (pa.ArrowException, UnicodeDecodeError) as exc:
                    # text that is not UTF-8 in a GeoPackage or FileGDB (a register written by a GBK
                    # tool): read as bytes and decoded value by value
                    if "encoding" in kwargs or "bbox" in kwargs or dbf_bytes is not None:
                        raise
                    frame = _read_mixed_text(source, kwargs, notes, exc)
            except NotImplementedError as exc:
                if not arrow or "onlinear" not in str(exc):
                    raise
                # curves (CurvePolygon, CompoundCurve, MultiSurface: FileGDB and GeoPackage deliveries
                # hold them): Arrow passes them on as they are, which shapely cannot read; GDAL's own
                # reader linearises them (arcs in steps of at most 4°, GDAL's OGR_ARC_STEPSIZE)
                frame = pyogrio.read_dataframe(source, on_invalid="fix", use_arrow=False, **kwargs)
                notes.append("curved geometries (circular arcs) were linearised by GDAL, each arc in steps of "
                             "at most 4° (set OGR_ARC_STEPSIZE for finer)")
        unclosed = 0
        for w in caught:
            text = str(w.message)
            if "Non closed ring" in text:
                unclosed += 1  # GDAL says it once per ring, and does not say which feature
            elif "Measured (M)" in text:
                notes.append("M (measure) values were dropped")
            elif issubclass(w.category, (RuntimeWarning, UserWarning)):
                notes.append(f"reader: {text.splitlines()[0]}")
        notes = list(dict.fromkeys(notes))
        if unclosed:
            notes.append(f"{unclosed} unclosed polygon ring(s) were closed while reading")
    except pyogrio.errors.DataLayerError as exc:
        raise LayerError(f"layer `{role}`: cannot read layer {layer_name!r} of {path}: {exc}. "
                         f"{_layers_hint(source)}") from None
    except UnicodeDecodeError as exc:
        raise LayerError(_encoding_error(spec, encoding, exc)) from None
    except (ValueError, OSError) as exc:
        if not spec.where:
            raise
        fields = f"; its fields: {', '.join(source_fields[:25])}" if source_fields else ""
        raise LayerError(f"layer `{role}`: where = \"{spec.where}\" is not a filter GDAL can apply to "
                         f"{path.name} ({exc}). Write it in OGR SQL: field names as in the layer, text in single "
                         f"quotes, e.g. where = \"XZMC = '城关镇'\"{fields}") from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError) as exc:
        if "not encoded in UTF-8" in str(exc):  # the Arrow reader's words for any non-UTF-8 text
            raise LayerError(_encoding_error(spec, encoding, None)) from None
        raise LayerError(f"layer `{role}`: cannot read {path}: {exc}") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise LayerError(f"layer `{role}`: {path} layer {layer_name!r} has no geometry column")
    if mixed:
        _decode_values(frame, notes)
    if len(frame) and shapely.has_z(frame.geometry.values).any():
        notes.append(f"Z (height) values of {int(shapely.has_z(frame.geometry.values).sum())} features were "
                     "dropped: areas and overlaps are measured in the plane")
    if source_fields is not None:
        frame.attrs["source_fields"] = source_fields
    if spec.where:
        of = f" of {features}" if features is not None and features >= 0 and not filters else ""
        notes.append(f"where = \"{spec.where}\" selected {len(frame)}{of} features")
    return frame, notes


def _check_utf8(frame: gpd.GeoDataFrame) -> None:
    """Raise ArrowInvalid if an Arrow-backed text column holds bytes that are not UTF-8 (GDAL's Arrow
    reader passes a GeoPackage's text on as it is stored; it fails only when first used)."""
    for name in frame.columns:
        array = getattr(frame[name].array, "_pa_array", None)
        if array is not None and (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            array.validate(full=True)


def _read_mixed_text(source: str, kwargs: Mapping, notes: list[str], error: Exception) -> gpd.GeoDataFrame:
    """The layer read with its text fields as bytes (OGR's SQLite dialect, which any source takes),
    each value decoded as UTF-8, else GB18030, else UTF-8 with replacement characters; said in ``notes``."""
    info = pyogrio.read_info(source, layer=kwargs.get("layer"))
    wanted = kwargs.get("columns")
    fields = [(f, d) for f, d in zip(info["fields"], info["dtypes"], strict=True) if wanted is None or f in wanted]
    geometry = info.get("geometry_name") or "geometry"
    columns = [f'CAST("{f}" AS BLOB) AS "{f}"' if d == "object" else f'"{f}"' for f, d in fields]
    columns.append('"' + geometry + '"')
    sql = f'SELECT {", ".join(columns)} FROM "{info["layer_name"]}"'
    if kwargs.get("where"):
        sql += f" WHERE {kwargs['where']}"
    try:
        frame = pyogrio.read_dataframe(source, sql=sql, sql_dialect="SQLITE", use_arrow=False, on_invalid="fix")
    except Exception:  # noqa: BLE001 - the byte read is a second try: the first error is the one to report
        raise error from None
    for field, dtype in fields:
        if dtype != "object" or field not in frame:
            continue
        said: dict[str, int] = {}
        frame[field] = frame[field].map(lambda value, said=said: _decoded(value, said)).astype(object)
        for how, count in said.items():
            read = ("read as GB18030 (GBK)" if how == "gb18030"
                    else "neither UTF-8 nor GB18030: undecodable bytes shown as \ufffd")
            notes.append(f"field {field}: {count} value(s) not in UTF-8, {read}; fix them at the source")
    return frame


def _decode_values(frame: gpd.GeoDataFrame, notes: list[str]) -> None:
    """A frame read byte for byte (ISO-8859-1) decoded value by value (:func:`_decoded`), each
    value not in UTF-8 said with its field and feature."""
    ids = next((c for c in ("ZDDM", "BSM", "OBJECTID") if c in frame), None)
    for field in frame.columns:
        if field == frame.geometry.name or not pd.api.types.is_string_dtype(frame[field]):
            continue
        raw = frame[field].map(lambda v: v.encode("latin-1") if isinstance(v, str) else v)
        said: dict[str, int] = {}
        decoded = raw.map(lambda v, said=said: _decoded(v, said))
        odd = [i for i, v in enumerate(raw) if isinstance(v, bytes) and not decodes(v, "utf-8")]
        frame[field] = decoded.astype(object)
        if odd:
            labels = [str(frame[ids].iloc[i]) if ids else f"#{i + 1}" for i in odd[:5]]
            how = "; ".join(f"{n} read as GB18030 (GBK)" if k == "gb18030" else f"{n} neither UTF-8 nor GB18030, "
                            "the bytes shown as \ufffd" for k, n in said.items())
            notes.append(f"field {field}, features {', '.join(labels)}{' …' if len(odd) > 5 else ''}: "
                         f"{len(odd)} value(s) not in UTF-8 ({how}); fix them at the source")
    frame.columns = [_utf8_name(c) if isinstance(c, str) else c for c in frame.columns]


def _utf8_name(name: str) -> str:
    """A field name read byte for byte (ISO-8859-1) as the UTF-8 it is."""
    return name.encode("latin-1").decode("utf-8", errors="replace")


def _decoded(value: object, said: dict[str, int]) -> object:
    """Bytes as text: UTF-8, else GB18030, else UTF-8 with replacement characters (counted in ``said``)."""
    if not isinstance(value, (bytes, bytearray)):
        return value
    for codec in ("utf-8", "gb18030"):
        try:
            decoded = bytes(value).decode(codec)
        except UnicodeDecodeError:
            continue
        if codec != "utf-8":
            said[codec] = said.get(codec, 0) + 1
        return decoded
    said["replacement"] = said.get("replacement", 0) + 1
    return bytes(value).decode("utf-8", errors="replace")


def _field_names(source: str, kwargs: Mapping) -> tuple[list[str] | None, int | None]:
    """The layer's attribute fields and feature count; (None, None) when GDAL cannot say (the
    read reports why)."""
    try:
        info = pyogrio.read_info(source, layer=kwargs.get("layer"), encoding=kwargs.get("encoding"))
    except Exception:  # noqa: BLE001 - read_dataframe, next, raises the error worth reporting
        return None, None
    return [str(f) for f in info["fields"]], int(info["features"])


def _encoding_error(spec: LayerSpec, encoding: str | None, exc: UnicodeDecodeError | None) -> str:
    """What to tell a user whose layer's text is not in the encoding it was read with."""
    role, path = spec.role, spec.path
    assert path is not None
    read_as = encoding or "UTF-8"
    cpg = f"{path.stem}.cpg" if path.suffix.lower() == ".shp" else "a .cpg next to the .shp"
    msg = f"layer `{role}`: cannot read {path}: its field names or text are not {read_as}"
    if exc is not None:
        msg += f" ({exc.reason} at byte {exc.start})"
        if exc.reason == "unexpected end of data":
            msg += ("; a field name may be cut inside a character (a DBF field name holds 10 bytes): "
                    "shorten it in the source")
    return msg + (f". Set encoding = \"GBK\" in [layers.{role}] (or the encoding it is in: GB18030, UTF-8, "
                  f"BIG5…), or add {cpg} holding that encoding's name")


def use_arrow(kwargs: dict, source: str = "") -> bool:
    """Read through Arrow (faster on large layers) when pyarrow is installed.

    A shapefile read with an explicit or detected encoding (GBK) is read through Arrow
    too: GDAL decodes its DBF (pyogrio ≥ 0.8 hands it the encoding), the same text as the
    classic reader, and faster. Other formats
    with an encoding keep the classic reader: Arrow takes only UTF-8 from them.

    >>> use_arrow({"encoding": "GBK"}, "/vsizip/zd.zip/zd.shp"), use_arrow({"encoding": "GBK"}, "ghyt.tab")
    (True, False)
    """
    if "encoding" in kwargs and not source.lower().endswith(".shp"):
        return False
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def list_source_layers(path: Path) -> list[str]:
    """Layer names in a data source (for messages and ``landgis validate``)."""
    try:
        return [str(n) for n in pyogrio.list_layers(str(path))[:, 0]]
    except Exception:  # noqa: BLE001 - only used to enrich messages
        return []


def _layers_hint(source: str) -> str:
    names = list_source_layers(Path(source)) if not source.startswith("/vsi") else _vsi_layers(source)
    return f"Layers there: {', '.join(names)}" if names else ""


def _vsi_layers(source: str) -> list[str]:
    try:
        return [str(n) for n in pyogrio.list_layers(source)[:, 0]]
    except Exception:  # noqa: BLE001
        return []


def resolve_source(spec: LayerSpec, notes: list[str]):
    """(GDAL source string, layer name or None, callable returning DBF bytes or None)."""
    path = spec.path
    assert path is not None
    role = spec.role
    suffix = path.suffix.lower()
    inside = zip_member(path)
    if inside is not None:
        return _resolve_zip(spec, notes, *inside)
    if suffix == ".zip":
        return _resolve_zip(spec, notes, path)
    if path.is_file() and path.stat().st_size == 0:
        raise LayerError(f"layer `{role}`: {path} is an empty file (0 bytes): the export or the copy did not "
                         "finish; export it again")
    if suffix == ".shp" and path.is_file():
        for part, what in ((".dbf", "attribute table"), (".shx", "index")):
            if _sibling(path, part) is None:
                raise LayerError(f"layer `{role}`: the shapefile {path.name} has no {path.stem}{part} (its {what}) "
                                 f"beside it; a shapefile is several files: copy {path.stem}{part} (and .prj, .cpg) "
                                 f"into {path.parent}")
    if path.is_dir() and suffix != ".gdb":
        shps = sorted(path.rglob("*.shp"))
        raise LayerError(f"layer `{role}`: {path} is a folder; point `path` at a file"
                         + (f" such as {shps[0]}" if shps else ""))
    if suffix not in _VECTOR_SUFFIXES:
        raise LayerError(f"layer `{role}`: {path.name} is not a vector format landgis reads "
                         f"({', '.join(_VECTOR_SUFFIXES)}){_CONVERT_HINTS.get(suffix, '')}")
    layer = spec.layer
    if layer is None and suffix in (".gpkg", ".gdb"):
        names = list_source_layers(path)
        if len(names) > 1:
            raise LayerError(f"layer `{role}`: {path.name} holds {len(names)} layers; say which with "
                             f"`layer = \"…\"` in [layers.{role}]. Layers there: {', '.join(names)}")
    elif layer is not None:
        names = list_source_layers(path)
        if names and layer not in names:
            raise LayerError(f"layer `{role}`: {path.name} has no layer {layer!r}. "
                             f"Layers there: {', '.join(names)}")
    dbf = None
    if suffix == ".shp":
        dbf_path = _sibling(path, ".dbf")
        cpg = _sibling(path, ".cpg")
        declared = cpg.read_text(encoding="ascii", errors="replace").strip() if cpg is not None else None
        if declared:
            notes.append(f".cpg declares {declared}")
        if dbf_path is not None:
            dbf = functools.partial(dbf_bytes, dbf_path.read_bytes, declared)
    return str(path), layer, dbf


def zip_member(path: Path) -> tuple[Path, str] | None:
    """``成果.zip/三调.gdb`` → (``成果.zip``, ``三调.gdb``): a path that goes on into a zip archive
    (to name one of several datasets in it); None for a path that exists or has no zip on the way.

    >>> zip_member(Path("/nowhere/成果.zip/三调.gdb")) is None  # no such zip
    True
    """
    if path.exists():
        return None
    for parent in path.parents:
        if parent.suffix.lower() == ".zip" and parent.is_file():
            return parent, path.relative_to(parent).as_posix()
    return None


#: a FileGDB folder inside a zip, whatever the case of its suffix (X.gdb/, X.GDB/)
_GDB_IN_ZIP = re.compile(r"^(.*?\.gdb)/", re.IGNORECASE)


def _resolve_zip(spec: LayerSpec, notes: list[str], path: Path, inside: str = ""):
    """The layer ``spec`` names in the zip ``path`` (within its member ``inside``, if given)."""
    role = spec.role
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise LayerError(f"layer `{role}`: {path} is not a readable zip archive") from None
    with zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        safe = [n for n in names if _safe_member(n)]
        unsafe = sorted(set(names) - set(safe))
        if unsafe:
            notes.append(f"ignored {len(unsafe)} zip entries with unsafe paths: {', '.join(unsafe[:5])}")
        if inside:
            stem = inside[:-4] if inside.lower().endswith(".shp") else inside  # a shapefile and its sidecars
            within = [n for n in safe if n.lower().startswith(inside.lower() + "/") or n.lower() == inside.lower()
                      or (stem != inside and n.lower().rsplit(".", 1)[0] == stem.lower())]
            if not within:
                raise LayerError(f"layer `{role}`: {path.name} holds nothing named {inside}")
            safe = within
        shps = [n for n in safe if n.lower().endswith(".shp")]
        gdbs = sorted({m.group(1) for n in safe if (m := _GDB_IN_ZIP.match(n))})
        others = [n for n in safe if n.lower().endswith((".gpkg", ".geojson", ".json"))]
        candidates = shps + gdbs + others
        if spec.layer is not None:
            chosen = [n for n in candidates if PurePosixPath(n).stem == spec.layer]
            if not chosen and len(gdbs) + len(others) == 1:
                chosen = gdbs + others
            elif not chosen:  # several datasets: the ones that hold the layer
                chosen = [n for n in gdbs + others
                          if spec.layer in _vsi_layers(f"/vsizip/{path.resolve()}/{n}")]
        else:
            chosen = candidates
        if not chosen:
            raise LayerError(f"layer `{role}`: {path.name} holds no layer"
                             + (f" named {spec.layer!r}" if spec.layer else "")
                             + f"; it holds: {', '.join(PurePosixPath(n).name for n in candidates) or 'no GIS files'}")
        if len(chosen) > 1:
            what = (f"several datasets with a layer {spec.layer!r}" if spec.layer else "several layers")
            raise LayerError(f"layer `{role}`: {path.name} holds {what}: {', '.join(chosen)}; name one as "
                             f"path = \"{path.name}/{chosen[0]}\"" + (f" with layer = \"{spec.layer}\""
                                                                     if spec.layer else ""))
        member = chosen[0]
        source = f"/vsizip/{path.resolve()}/{member}"
        notes.append(f"read {member} from {path.name}")
        if member.lower().endswith(".shp"):
            base = member[:-4]
            dbf_name = next((n for n in safe if n.lower() == (base + ".dbf").lower()), None)
            cpg_name = next((n for n in safe if n.lower() == (base + ".cpg").lower()), None)
            declared = zf.read(cpg_name).decode("ascii", "replace").strip() if cpg_name else None
            dbf_data = zf.read(dbf_name) if dbf_name else None
            dbf = functools.partial(DbfBytes, dbf_data, declared) if dbf_data is not None else None
            return source, None, dbf
        layer = spec.layer if member.lower().endswith((".gdb", ".gpkg")) else None
        return source, layer, None


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not p.is_absolute() and ".." not in p.parts and not (p.parts and ":" in p.parts[0])


def _sibling(path: Path, suffix: str) -> Path | None:
    for cand in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if cand.exists():
            return cand
    return None



