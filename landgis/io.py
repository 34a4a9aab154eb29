"""Reading input layers and writing outputs — the only module that knows paths.

Formats: GeoPackage, Shapefile (also inside a .zip, in any sub-folder), GeoJSON,
File Geodatabase (.gdb folder, also zipped). Shapefiles without a ``.cpg`` (or
with one that lies) are decoded by looking at the DBF bytes: valid UTF-8 stays
UTF-8, otherwise GB18030 (a superset of GBK/GB2312), and the guess is reported.
Zip archives are read in place through GDAL's ``/vsizip/``: nothing is ever
extracted, so an entry named ``../../x`` cannot write anywhere.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import logging
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from landgis.config import LayerSpec, used_fields
from landgis.errors import EncodingGuessWarning, LandgisError, LayerError, OutputError

__all__ = [
    "read_vector",
    "read_inventory",
    "list_source_layers",
    "output_dir",
    "write_csv",
    "write_gpkg",
]

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
# DBF language driver ids that name a Chinese code page
_LDID_CHINESE = {0x4D: "GB18030", 0x7A: "GB18030"}


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
    if path is None or not path.exists():
        raise LayerError(f"layer `{role}`: {path} does not exist; check [layers.{role}] path")
    source, layer_name, dbf_bytes = _resolve_source(spec, notes)
    kwargs: dict = {}
    if layer_name is not None:
        kwargs["layer"] = layer_name
    encoding = spec.encoding
    if encoding is None and dbf_bytes is not None:
        encoding = _detect_dbf_encoding(dbf_bytes(), spec, notes)
    if encoding:
        kwargs["encoding"] = encoding
    source_fields, features = _field_names(source, kwargs)
    if "columns" not in filters and source_fields is not None:
        wanted = used_fields(spec)
        kwargs["columns"] = [f for f in source_fields if f.lower() in wanted]
    if spec.where:
        more = filters.pop("where", None)
        kwargs["where"] = spec.where if more is None else f"({spec.where}) AND ({more})"
    kwargs.update(filters)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = pyogrio.read_dataframe(source, on_invalid="fix", use_arrow=_use_arrow(kwargs, source), **kwargs)
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
    if source_fields is not None:
        frame.attrs["source_fields"] = source_fields
    if spec.where:
        of = f" of {features}" if features is not None and features >= 0 and not filters else ""
        notes.append(f"where = \"{spec.where}\" selected {len(frame)}{of} features")
    return frame, notes


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


def _use_arrow(kwargs: dict, source: str = "") -> bool:
    """Read through Arrow (3–4× faster on large layers) when pyarrow is installed.

    A shapefile read with an explicit or detected encoding (GBK) is read through Arrow
    too: GDAL decodes its DBF (pyogrio ≥ 0.8 hands it the encoding), the same text as the
    classic reader, and a 450k-patch GBK DLTB took 7.6 s instead of 9.1 s. Other formats
    with an encoding keep the classic reader: Arrow takes only UTF-8 from them.

    >>> _use_arrow({"encoding": "GBK"}, "/vsizip/zd.zip/zd.shp"), _use_arrow({"encoding": "GBK"}, "ghyt.tab")
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


def _resolve_source(spec: LayerSpec, notes: list[str]):
    """(GDAL source string, layer name or None, callable returning DBF bytes or None)."""
    path = spec.path
    assert path is not None
    role = spec.role
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _resolve_zip(spec, notes)
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
            dbf = functools.partial(_dbf_bytes, dbf_path.read_bytes, declared)
    return str(path), layer, dbf


def _dbf_bytes(read, declared: str | None) -> _DbfBytes:
    return _DbfBytes(read(), declared)


def _resolve_zip(spec: LayerSpec, notes: list[str]):
    path = spec.path
    assert path is not None
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
        shps = [n for n in safe if n.lower().endswith(".shp")]
        gdbs = sorted({n.split(".gdb/")[0] + ".gdb" for n in safe if ".gdb/" in n.lower()})
        others = [n for n in safe if n.lower().endswith((".gpkg", ".geojson", ".json"))]
        candidates = shps + gdbs + others
        if spec.layer is not None:
            chosen = [n for n in candidates if PurePosixPath(n).stem == spec.layer]
            if not chosen and len(gdbs) + len(others) == 1:
                chosen = gdbs + others
        else:
            chosen = candidates
        if not chosen:
            raise LayerError(f"layer `{role}`: {path.name} holds no layer"
                             + (f" named {spec.layer!r}" if spec.layer else "")
                             + f"; it holds: {', '.join(PurePosixPath(n).name for n in candidates) or 'no GIS files'}")
        if len(chosen) > 1:
            raise LayerError(f"layer `{role}`: {path.name} holds several layers; say which with "
                             f"`layer = \"…\"`: {', '.join(PurePosixPath(n).stem for n in chosen)}")
        member = chosen[0]
        source = f"/vsizip/{path.resolve()}/{member}"
        notes.append(f"read {member} from {path.name}")
        if member.lower().endswith(".shp"):
            base = member[:-4]
            dbf_name = next((n for n in safe if n.lower() == (base + ".dbf").lower()), None)
            cpg_name = next((n for n in safe if n.lower() == (base + ".cpg").lower()), None)
            declared = zf.read(cpg_name).decode("ascii", "replace").strip() if cpg_name else None
            dbf_data = zf.read(dbf_name) if dbf_name else None
            dbf = functools.partial(_DbfBytes, dbf_data, declared) if dbf_data is not None else None
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


class _DbfBytes(bytes):
    """DBF content together with the encoding its .cpg declares (if any)."""

    def __new__(cls, data: bytes, declared: str | None):
        obj = super().__new__(cls, data)
        obj.declared = declared  # type: ignore[attr-defined]
        return obj


_CPG_ALIASES = {
    "UTF-8": "utf-8", "UTF8": "utf-8", "65001": "utf-8",
    "GBK": "gbk", "CP936": "gbk", "936": "gbk", "GB2312": "gb18030", "GB18030": "gb18030",
    "ANSI 936": "gbk", "88591": "latin-1", "ISO-8859-1": "latin-1", "ISO88591": "latin-1",
    "LATIN1": "latin-1", "1252": "cp1252", "ANSI 1252": "cp1252", "BIG5": "big5",
}


def _detect_dbf_encoding(data: bytes, spec: LayerSpec, notes: list[str]) -> str | None:
    """The encoding of a DBF's text, from its field names and records; warn when guessing.

    Field names (in the header) count as much as the records: a layer whose
    field names are Chinese but whose values are all ASCII codes is still GBK.
    """
    declared = getattr(data, "declared", None)
    if len(data) < 32:
        return None
    header_len = int.from_bytes(data[8:10], "little")
    body = bytes(data[header_len:])
    names = _dbf_field_names(data, header_len)
    ldid = data[29]
    in_names = any(b >= 0x80 for name in names for b in name)
    in_body = any(b >= 0x80 for b in body)
    if not (in_names or in_body):
        return None  # pure ASCII: every reading is right
    what = {(True, False): "field names", (False, True): "text",
            (True, True): "field names and text"}[in_names, in_body]
    verb = "they are" if in_names else "it is"

    def decodes(codec: str) -> bool:
        # a name is cut at 10 bytes, possibly inside a character: only a name's end may be incomplete
        return _decodes(body, codec) and all(_decodes(name, codec, partial=True) for name in names)

    name = spec.path.name if spec.path else ""
    utf8_ok = decodes("utf-8")
    if declared:
        key = declared.strip().upper()
        codec = _CPG_ALIASES.get(key) or (f"cp{key}" if key.isdigit() else key.lower())
        single_byte = codec in ("latin-1", "cp1252")
        if decodes(codec) and not (single_byte and (utf8_ok or decodes("gb18030"))):
            return "UTF-8" if codec == "utf-8" else codec.upper()
        actual = "UTF-8" if utf8_ok else "GB18030"
        msg = (f"{name} has a .cpg that says {declared!r}, but its {what} {'are' if in_names else 'is'} "
               f"not {declared}; decoded as {actual}. "
               f"Fix the .cpg or set encoding = \"{actual}\" in [layers.{spec.role}]")
        warnings.warn(f"layer `{spec.role}`: {msg}", EncodingGuessWarning, stacklevel=3)
        notes.append(msg)
        return actual
    if utf8_ok:
        return "UTF-8"
    if decodes("gb18030"):
        why = "its language driver id says so" if ldid in _LDID_CHINESE else f"{verb} not UTF-8"
        msg = (f"{name} has no .cpg; {what} decoded as "
               f"GB18030 (GBK) because {why}. Set encoding = \"GBK\" in [layers.{spec.role}] to say so")
        warnings.warn(f"layer `{spec.role}`: {msg}", EncodingGuessWarning, stacklevel=3)
        notes.append(msg)
        return "GB18030"
    raise LayerError(f"layer `{spec.role}`: cannot tell the text encoding of {spec.path}; "
                     f"set encoding = \"…\" in [layers.{spec.role}] (GBK, UTF-8, BIG5…)")


def _dbf_field_names(data: bytes, header_len: int) -> list[bytes]:
    """The raw field names of a dBase III header (32-byte descriptors up to 0x0D)."""
    names = []
    for at in range(32, min(header_len, len(data)) - 31, 32):
        if data[at] == 0x0D:
            break
        names.append(bytes(data[at:at + 11]).split(b"\0", 1)[0])
    return names


def _decodes(body: bytes, codec: str, partial: bool = False) -> bool:
    """Whether ``body`` is valid ``codec``; with ``partial``, it may end inside a character."""
    try:
        if partial:
            codecs.getincrementaldecoder(codec)().decode(body, final=False)
        else:
            body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


# ---------------------------------------------------------------- outputs


@contextlib.contextmanager
def output_dir(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A temporary folder to write outputs into, moved into ``out`` on success.

    The destination is checked before any work is done: it must not be a file,
    must not hold landgis outputs unless ``overwrite``, and its parent must be
    writable. On any error (or Ctrl-C) the temporary folder is removed and
    ``out`` is left as it was, so a half-written inventory never looks finished.
    On success, the earlier screening's outputs not written again are removed
    (:func:`_remove_stale`): nothing in ``out`` describes another screening.
    """
    out = Path(out)
    check_output_dir(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        out.mkdir(exist_ok=True)
        written = sorted(tmp.iterdir())
        for item in written:
            target = out / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(item, target)
        _remove_stale(out, {item.name for item in written})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


OUTPUT_NAMES = ("inventory.csv", "inventory.xlsx", "screening.gpkg", "map.html", "changes.csv")
#: the maps ``landgis map`` draws from a screening into its folder
DRAWN_NAMES = ("overview.png", "overview.pdf", "redline.pdf")


def _remove_stale(out: Path, written: set[str]) -> list[str]:
    """Remove the outputs of an earlier screening in ``out`` that this one did not write again.

    A map of the earlier screening (``map.html`` when this one ran with ``--no-map``, or
    ``landgis map``'s overviews and red-line sheets) would otherwise sit beside the new
    inventory showing the old verdicts.
    """
    stale = [name for name in (*OUTPUT_NAMES, *DRAWN_NAMES) if name not in written and (out / name).is_file()]
    for name in stale:
        (out / name).unlink()
    if stale:
        log.warning("removed %s of the earlier screening in %s: they describe it, not this one",
                    ", ".join(stale), out)
    return stale


def check_output_dir(out: Path, overwrite: bool) -> None:
    """Fail early, with the fix, if ``out`` cannot receive the outputs."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder; choose another path")
    if out.is_dir():
        existing = [n for n in (*OUTPUT_NAMES, *DRAWN_NAMES) if (out / n).exists()]
        if existing and not overwrite:
            raise OutputError(f"--out {out} already holds {', '.join(existing)}; "
                              "pass --overwrite to replace them, or choose another folder")
    parent = out if out.is_dir() else _existing_parent(out)
    try:  # a real probe: os.access says yes to root on read-only file systems
        fd, probe = tempfile.mkstemp(prefix=".landgis-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write to {parent} ({exc.strerror}); choose another --out") from None


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 with BOM (Excel opens it right), ``\\n`` line ends, stable formatting.

    Written by Arrow's CSV writer (C++, 7× faster than ``DataFrame.to_csv`` on 150k
    inventory rows): text is quoted, numbers are not, booleans are ``true``/``false``,
    missing values are empty. An object column Arrow cannot type (numbers mixed with
    text in a user's attribute) is written as text.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    columns = {str(name): _arrow_column(frame[name]) for name in frame.columns}
    with open(path, "wb") as out:
        out.write(b"\xef\xbb\xbf")
        pa_csv.write_csv(pa.table(columns), out, pa_csv.WriteOptions(quoting_style="needed"))


#: the columns that make a table an inventory written by ``landgis screen``
INVENTORY_KEY_COLUMNS = ("parcel_id", "verdict", "reasons")


def read_inventory(path: str | Path, columns: Collection[str] | None = None,
                   areas: Collection[str] = ("area_m2", "area_mu", "farmland_m2", "redline_m2", "udb_m2")
                   ) -> pd.DataFrame:
    """The inventory of a finished screening: from its output folder, ``inventory.csv`` or ``screening.gpkg``.

    Text stays text as written (parcel ids and codes keep their leading zeros; an empty
    cell is ``""``); the ``areas`` columns are numbers. Only ``columns`` are read (default
    all). ``frame.attrs["label"]`` names the screening (its folder).

    Raises
    ------
    LandgisError
        when there is no such screening, or the file is not an inventory.
    """
    path = Path(path)
    if path.is_dir():
        csv, gpkg = path / "inventory.csv", path / "screening.gpkg"
        if not csv.exists() and not gpkg.exists():
            raise LandgisError(f"{path} holds neither inventory.csv nor screening.gpkg; give the --out folder of "
                               "`landgis screen`, or one of those files")
        path = csv if csv.exists() else gpkg
    if not path.exists():
        raise LandgisError(f"{path} does not exist; give the --out folder of `landgis screen`, its inventory.csv "
                           "or its screening.gpkg")
    wanted = None if columns is None else {*columns, *INVENTORY_KEY_COLUMNS}
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".gpkg"):
        raise LandgisError(f"{path.name} is not an inventory: give inventory.csv, screening.gpkg or their folder")
    try:
        if suffix == ".gpkg":
            fields = pyogrio.read_info(path, layer="parcels")["fields"]
            frame = pd.DataFrame(pyogrio.read_dataframe(
                path, layer="parcels", read_geometry=False,
                columns=[c for c in fields if wanted is None or c in wanted]))
            for col in frame.columns:
                if col not in areas and not pd.api.types.is_numeric_dtype(frame[col]):
                    frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                usecols=None if wanted is None else (lambda c: c in wanted))
    except Exception as exc:  # noqa: BLE001 - a file that is no inventory: say which and why
        raise LandgisError(f"cannot read the inventory {path}: {exc}") from None
    missing = [c for c in INVENTORY_KEY_COLUMNS if c not in frame]
    if missing:
        raise LandgisError(f"{path} has no column {', '.join(missing)}: it is not an inventory written by "
                           "`landgis screen`")
    for col in areas:
        if col in frame:
            frame[col] = pd.to_numeric(frame[col].replace("", np.nan), errors="coerce")
    frame.attrs["label"] = str(path.parent if path.name in ("inventory.csv", "screening.gpkg") else path)
    return frame


def _arrow_column(col: pd.Series):
    """A column as an Arrow array; an object column Arrow cannot type (numbers mixed with
    text in a user's attribute) as text, missing values as nulls."""
    import pyarrow as pa

    try:
        return pa.array(col, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(col.map(lambda v: None if _missing(v) else str(v)), type=pa.string())


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array: not missing
        return False


#: SQLite settings for writing an output GeoPackage in bulk:
#:
#: * no fsync per transaction (GDAL's advice for bulk loads; 6.0 s -> 5.2 s for a county's
#:   197 MB). An output is rewritten whole by the next run, so a crash mid-write loses nothing;
#: * 16 KiB pages instead of 4 KiB: a parcel row of 53 columns is ~470 bytes, and fewer,
#:   fuller pages made the bench county's file 188 MB instead of 198 MB and its write
#:   3.2 s instead of 4.1 s (medians of 8 alternating runs; 64 KiB: no better, and a window
#:   read 8 % slower). Any page size from 512 B to 64 KiB is a valid GeoPackage.
#:
#: (A 512 MB page cache saved 0.4 s more but raised the run's peak memory by 30 MB, to 5.05×
#: the inputs.)
GPKG_WRITE_CONFIG = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_SQLITE_PRAGMA": "page_size=16384"}


@contextlib.contextmanager
def gdal_config(options: Mapping[str, str]) -> Iterator[None]:
    """GDAL configuration options set for the block, the previous values restored after."""
    before = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(dict(options))
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)  # as pyogrio typed them (OFF reads back as False)


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """Write several layers to one new GeoPackage (polygons promoted to multipolygons).

    GDAL writes the rows with Python's GIL released where it can
    (:mod:`landgis._gdal`), so a caller may make the spreadsheet and the map in
    other threads meanwhile; otherwise through :func:`pyogrio.write_dataframe`.
    Either way the bulk settings of :data:`GPKG_WRITE_CONFIG` apply while writing.
    """
    from landgis import _gdal

    if not _gdal.available():
        with gdal_config(GPKG_WRITE_CONFIG):
            for name, frame in layers.items():
                pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG",
                                        append=path.exists(), promote_to_multi=True, use_arrow=_use_arrow({}))
        return
    tables = [(name, *_gpkg_batches(frame)) for name, frame in layers.items()]
    _gdal.write_layers(path, tables, config=GPKG_WRITE_CONFIG)


#: a WKB geometry's first 9 bytes: byte order (1: little-endian), type, and its count of parts or rings
_WKB_HEAD = np.dtype([("order", "u1"), ("type", "<u4"), ("count", "<u4")])


def multipolygon_wkb(geoms: np.ndarray) -> pa.BinaryArray | None:
    """Polygons and multipolygons as 2D little-endian WKB MultiPolygons (what ``shapely.to_wkb`` gives
    after ``shapely.multipolygons``), byte for byte, built from their coordinates; missing ones null.

    ``None`` when a geometry is neither a polygon nor a multipolygon, has Z or M, or the
    block would pass Arrow's 2 GB of binary. WKB is headers and coordinates in order: a
    MultiPolygon's (type 6, its polygon count), then for each polygon its own (type 3,
    ring count) and for each ring its point count and points. The coordinates come
    from :func:`landgis.clip.polygon_ragged` in that very order, so the headers are
    inserted among their bytes in one pass; no geometry is made or visited in Python.
    The bench county's 256k conflict pieces, polygons all but 8k: 0.6 s instead of 1.0–1.5 s.

    >>> import shapely
    >>> square, empty = shapely.box(0, 0, 1, 1), shapely.MultiPolygon()
    >>> wkb = multipolygon_wkb(np.array([square, None, empty])).to_pylist()
    >>> wkb == [shapely.to_wkb(shapely.MultiPolygon([square])), None, shapely.to_wkb(empty)]
    True
    """
    import pyarrow as pa
    import shapely

    from landgis.clip import index_runs, polygon_ragged

    geoms = np.asarray(geoms, dtype=object)
    present = ~shapely.is_missing(geoms)
    live = geoms[present]
    if (~np.isin(shapely.get_type_id(live), (3, 6))).any() or (shapely.has_z(live) | shapely.has_m(live)).any():
        return None
    coords, (ring_off, poly_off, geom_off) = polygon_ragged(live)
    points, rings, polys = np.diff(ring_off), np.diff(poly_off), np.diff(geom_off)
    ring_bytes = 4 + 16 * points
    ring_sum = np.concatenate([[0], np.cumsum(ring_bytes)])
    poly_bytes = 9 + ring_sum[poly_off[1:]] - ring_sum[poly_off[:-1]]
    poly_sum = np.concatenate([[0], np.cumsum(poly_bytes)])
    geom_bytes = np.zeros(len(geoms), np.int64)
    geom_bytes[present] = 9 + poly_sum[geom_off[1:]] - poly_sum[geom_off[:-1]]
    ends = np.cumsum(geom_bytes)
    if len(ends) and ends[-1] >= 2**31:
        return None
    heads = []
    for kind, count in ((6, polys), (3, rings)):
        head = np.zeros(len(count), _WKB_HEAD)
        head["order"], head["type"], head["count"] = 1, kind, count
        heads.append(head.view(np.uint8))
    heads.append(points.astype("<u4").view(np.uint8))
    # every header goes in front of its first coordinate; at one place, a geometry's before the
    # next one's (an empty geometry or polygon has its place where the next begins), and within
    # one geometry its own, then its polygon's, then the ring's (the order they are listed in:
    # the sort is stable)
    at = ring_off * 16
    geom_of_poly = np.repeat(np.arange(len(live)), polys)
    place = np.concatenate([at[poly_off[geom_off[:-1]]], at[poly_off[:-1]], at[:-1]])
    owner = np.concatenate([np.arange(len(live)), geom_of_poly, geom_of_poly[np.repeat(np.arange(len(rings)), rings)]])
    size = np.repeat(np.array([9, 9, 4]), [len(live), len(rings), len(points)])
    order = np.lexsort((owner, place))
    head_at = np.concatenate([[0], np.cumsum(size)[:-1]])
    data = np.insert(np.ascontiguousarray(coords, dtype="<f8").view(np.uint8).reshape(-1),
                     np.repeat(place[order], size[order]), np.concatenate(heads)[index_runs(head_at[order], size[order])])
    offsets = np.concatenate([[0], ends]).astype(np.int32)
    validity = None if present.all() else pa.array(present).buffers()[1]
    return pa.Array.from_buffers(pa.binary(), len(geoms), [validity, pa.py_buffer(offsets), pa.py_buffer(data)],
                                 null_count=int((~present).sum()))


#: rows whose geometries are turned into WKB at a time while a GeoPackage is written
_WKB_BLOCK = 20_000


def _gpkg_batches(frame: gpd.GeoDataFrame) -> tuple:
    """``((Arrow schema, record batches), geometry column, geometry type, CRS)`` of a frame, as pyogrio
    writes it with ``promote_to_multi=True``.

    A layer of one kind of geometry is written multi-part (polygons become
    multipolygons), a layer of mixed kinds as ``Unknown``; text
    that Arrow cannot type (an object column of mixed values) is written as text,
    and a column of nothing but missing values as an empty text column. The
    attributes are converted once (Arrow-backed text without a copy); geometries
    become WKB one block of rows at a time, as GDAL takes each batch, so a county's
    256k conflict pieces are never all WKB at once.
    """
    import pyarrow as pa
    import shapely

    geom_name = frame.geometry.name
    geoms = np.asarray(frame.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    present = set(np.unique(kinds[kinds >= 0]).tolist())
    multi = {0: 4, 1: 5, 2: 5, 3: 6}   # point → multipoint, (linear)ring/linestring → multi…, polygon → multi
    if not present:
        gtype = 0                                     # Unknown: no geometry to tell (as pyogrio)
    elif len(present) == 1:
        (kind,) = present
        gtype = kind if kind > 3 else multi.get(kind, kind)
    elif present <= {1, 5} or present <= {3, 6} or present <= {0, 4}:
        gtype = max(present)
    else:
        gtype = 0                                     # Unknown: a mixed layer, written as it is
    promote = None
    if gtype in (4, 5, 6):
        promote = ({4: 0, 5: 1, 6: 3}[gtype],
                   {4: shapely.multipoints, 5: shapely.multilinestrings, 6: shapely.multipolygons}[gtype])
    columns = {}
    for name in frame.columns:
        if name == geom_name:
            continue
        arr = _arrow_column(frame[name])
        columns[str(name)] = arr.cast(pa.string()) if pa.types.is_null(arr.type) else arr  # GDAL has no null type
    attributes = pa.table(columns) if columns else pa.table({"_": pa.nulls(len(frame))}).drop(["_"])
    schema = attributes.schema.append(pa.field(geom_name, pa.binary()))

    def batches():
        for start in range(0, max(len(frame), 1), _WKB_BLOCK):
            block = geoms[start: start + _WKB_BLOCK]
            kinds = shapely.get_type_id(block)
            # mostly polygons to promote (conflict pieces): WKB from their coordinates; rows that
            # are multipolygons already (parcels as stored) GEOS writes faster (0.2 s for 150k)
            wkb = multipolygon_wkb(block) if gtype == 6 and 2 * np.count_nonzero(kinds == 3) > len(block) else None
            if wkb is None:
                if promote is not None:
                    single = kinds == promote[0]
                    if single.any():
                        block = block.copy()
                        block[single] = promote[1](np.atleast_2d(block[single]), axis=0)
                wkb = pa.array(shapely.to_wkb(block), type=pa.binary())
            part = attributes.slice(start, len(block)).combine_chunks()
            arrays = [col.chunk(0) if col.num_chunks else pa.array([], col.type) for col in part.columns]
            yield pa.RecordBatch.from_arrays([*arrays, wkb], schema=schema)

    names = {0: "Unknown", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
             6: "MultiPolygon", 7: "GeometryCollection"}
    crs = None
    if frame.crs is not None:
        epsg = frame.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg else frame.crs.to_wkt("WKT1_GDAL")
    return (schema, batches()), geom_name, names.get(gtype, "Unknown"), crs
