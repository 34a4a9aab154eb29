"""What a delivery folder holds: every layer found in it, and which role each may play.

``landgis init`` starts here. :func:`scan` walks a folder (FileGDB folders, GeoPackages,
shapefiles, zips of any of them, GeoTIFF elevation models), reading of each layer only its
field names, feature count, CRS and a sample of its land-class codes, through the reader
the screening uses (so a GBK shapefile without ``.cpg`` is read as screening reads it).
:func:`rank` scores each layer for each role by the hints in ``landgis/delivery.toml``
(standard layer names, folder and file names, standard fields, code lengths, CRS) and
:func:`choose` gives each role its best layer, each layer to one role.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import pyogrio

from landgis.config import LayerSpec
from landgis.errors import LandgisError, LayerError
from landgis.io.sources import _GDB_IN_ZIP

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = ["FoundLayer", "Candidate", "scan", "rank", "choose", "hints", "local_use", "survey_generation", "SCORES",
           "MIN_SCORE"]

#: how much each kind of evidence counts (said in delivery.toml's header too)
SCORES = {"exact_name": 6, "name_in_file": 4, "hint": 2, "field": 1, "decisive": 6, "codes": 6,
          "wrong_codes": -8, "crs": 3, "wrong_year": -4}
#: a layer scoring below this for a role is not taken for it
MIN_SCORE = 5

_VECTOR = (".gpkg", ".shp", ".geojson", ".fgb")
_RASTER = (".tif", ".tiff", ".img")
_CJK = re.compile(r"[\u3400-\u9fff]")
#: a year in a name (2018年度变更调查, DLTB_2009)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
#: an administrative code before a layer name, or a year after it (450399YJJBNTTB, CZKFBJ_2022)
_AFFIXES = re.compile(r"^\d{6,12}[_\-]?|[_\-]?(?:19|20)\d\d$")


def _bare(name: str) -> str:
    """A layer or file name without an administrative-code prefix or a year suffix.

    >>> _bare("450399YJJBNTTB"), _bare("CZKFBJ_2022"), _bare("DLTB")
    ('YJJBNTTB', 'CZKFBJ', 'DLTB')
    """
    return _AFFIXES.sub("", name) or name


#: what separates the words of a file name (sample_dem.tif, 2023-DLTB.shp)
_TOKENS = re.compile(r"[\s_\-.()（）\[\]]+")


@cache
def hints() -> dict[str, Any]:
    """The recognition hints (``landgis/delivery.toml``): per role names, hints, fields…; the
    parcel attributes' usual field names."""
    text = resources.files("landgis").joinpath("delivery.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class FoundLayer:
    """One layer of a delivery, as :func:`scan` saw it."""

    path: Path                  # the file, .gdb folder or .zip
    layer: str | None           # the layer in it (None: a file of one layer)
    geometry: str               # polygon, line, point, raster or none
    fields: tuple[str, ...] = ()
    features: int = -1
    crs: str = ""               # the CRS's name, "" when the layer declares none
    epsg: int | None = None
    codes: tuple[str, ...] = () # its distinct DLBM values, where it has that field
    notes: tuple[str, ...] = () # what reading it assumed (encoding guessed…)
    encoding: str = ""          # the encoding the reader found the text in, where the file does not say
    #: planned-use codes outside the national classification: (code, name, patches)
    local_codes: tuple[tuple[str, str, int], ...] = ()

    def label(self, root: Path) -> str:
        """``三调/2023.gdb:DLTB``: where it is, relative to the scanned folder."""
        try:
            where = self.path.relative_to(root).as_posix()
        except ValueError:
            where = self.path.as_posix()
        return f"{where}:{self.layer}" if self.layer and self.layer != self.path.stem else where

    def has(self, name: str) -> str | None:
        """The layer's field named ``name`` (any case), or None."""
        low = name.lower()
        return next((f for f in self.fields if f.lower() == low), None)


@dataclass
class Candidate:
    """A layer scored for a role, with what counted."""

    found: FoundLayer
    role: str
    score: int
    why: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ scanning (I/O)

def scan(folder: str | Path) -> tuple[list[FoundLayer], list[str]]:
    """Every layer in ``folder`` and its sub-folders; and what could not be read, one line each.

    Tables without geometry (the code tables of a 三调 or 地籍 database) are passed over; a
    layer that cannot be read is said and the others of its dataset are still read.

    Raises
    ------
    LandgisError
        when ``folder`` is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise LandgisError(f"{root} is not a folder; give the folder the data were delivered in")
    found: list[FoundLayer] = []
    unread: list[str] = []
    for path in _datasets(root):
        where = path.relative_to(root).as_posix()
        try:
            layers = list(_layers_in(path))
        except _UNREADABLE as exc:
            unread.append(f"{where}: {_said(exc)}")
            continue
        for source, layer, geometry in layers:
            try:
                found.append(_raster(source) if geometry == "raster" else _vector(source, layer, geometry))
            except _UNREADABLE as exc:
                unread.append(f"{where}{':' + layer if layer else ''}: {_said(exc)}")
    return found, unread


_UNREADABLE = (LayerError, OSError, ValueError, RuntimeError, pyogrio.errors.DataSourceError,
               pyogrio.errors.DataLayerError, zipfile.BadZipFile)


def _said(exc: Exception) -> str:
    return str(exc).removeprefix("layer `scan`: ").splitlines()[0] if str(exc) else type(exc).__name__


def _datasets(root: Path) -> Iterator[Path]:
    """Data files and FileGDB folders under ``root``, in a stable order; hidden folders skipped."""
    for here, dirs, files in os.walk(root):
        dirs.sort()
        base = Path(here)
        for d in list(dirs):
            if d.startswith("."):
                dirs.remove(d)
            elif d.lower().endswith(".gdb"):
                dirs.remove(d)  # a FileGDB is one dataset, not a folder to walk
                yield base / d
        for name in sorted(files):
            if name.startswith("."):
                continue
            suffix = Path(name).suffix.lower()
            if suffix in (*_VECTOR, *_RASTER, ".zip"):
                yield base / name


def _layers_in(path: Path) -> Iterator[tuple[Path, str | None, Any]]:
    """(source path, layer, geometry type) of each layer with geometry in the dataset ``path``;
    inside a zip the source path goes on into it (``成果.zip/三调.gdb``), naming the dataset."""
    suffix = path.suffix.lower()
    if suffix in _RASTER:
        yield path, None, "raster"
    elif suffix == ".zip":
        yield from _zip_layers(path)
    elif suffix in (".gpkg", ".gdb"):
        yield from _spatial_layers(path, str(path))
    else:
        yield path, None, None


def _spatial_layers(path: Path, source: str) -> Iterator[tuple[Path, str | None, Any]]:
    for name, geometry in pyogrio.list_layers(source):
        if geometry is not None:  # a table without geometry (code lists, 权利人 tables): not a layer
            yield path, str(name), geometry


def _zip_layers(path: Path) -> Iterator[tuple[Path, str | None, Any]]:
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    shps = sorted(n for n in names if n.lower().endswith(".shp"))
    gdbs = sorted({m.group(1) for n in names if (m := _GDB_IN_ZIP.match(n))})
    packages = sorted(n for n in names if n.lower().endswith(".gpkg"))
    stems = [PurePosixPath(m).stem for m in shps]
    for member, stem in zip(shps, stems, strict=True):  # by its name where that is unique in the zip
        yield (path, stem, None) if stems.count(stem) == 1 else (path / member, None, None)
    for member in gdbs + packages:  # the dataset named in the path where the zip holds several
        where = path if len(gdbs) + len(packages) == 1 else path / member
        yield from _spatial_layers(where, f"/vsizip/{path.resolve()}/{member}")


def _raster(path: Path) -> FoundLayer:
    import rasterio

    with rasterio.open(path) as src:
        crs = src.crs.to_wkt() if src.crs else ""
        name = _crs_name(crs)
        epsg = src.crs.to_epsg() if src.crs else None
        return FoundLayer(path=path, layer=None, geometry="raster", features=-1, crs=name, epsg=epsg,
                          notes=(f"{src.width} × {src.height} cells of {abs(src.res[0]):g} m, {src.count} band(s)",))


def _vector(path: Path, layer: str | None, geometry: Any) -> FoundLayer:
    from landgis.io import read_vector

    spec = LayerSpec("scan", path, layer)
    frame, notes = read_vector(spec, columns=[], max_features=1)
    fields = tuple(frame.attrs.get("source_fields") or ())
    geometry_type = _geometry_kind(geometry if geometry is not None else
                                   (frame.geometry.geom_type.iloc[0] if len(frame) else None))
    dlbm = next((f for f in fields if f.lower() == "dlbm"), None)
    codes = _distinct_codes(spec, dlbm) if dlbm is not None else ()
    local = _local_codes(spec, fields)
    crs_name, epsg = "", None
    if frame.crs is not None:
        crs_name, epsg = frame.crs.name, frame.crs.to_epsg()
    features = _feature_count(path, layer)
    kept = tuple(n for n in notes if not n.startswith("read ") and "selected" not in n)
    encoding = "GB18030" if any("decoded as GB18030" in n for n in notes) else ""
    return FoundLayer(path=path, layer=layer, geometry=geometry_type, fields=fields, features=features,
                      crs=crs_name, epsg=epsg, codes=codes, notes=kept, local_codes=local,
                      encoding=encoding)


#: a planned-use layer's code and name fields (用地用海分类代码 / 名称)
_ZONING_FIELDS = (("YDYHFLDM", "YDYHFLMC"), ("GHYTDM", "GHYTMC"))


def _local_codes(spec: LayerSpec, fields: tuple[str, ...]) -> tuple[tuple[str, str, int], ...]:
    """The planned-use codes of a layer that the national table does not hold, with their names."""
    from landgis.codes import code_table
    from landgis.io import read_vector

    lower = {f.lower(): f for f in fields}
    pair = next(((lower[c.lower()], lower.get(n.lower())) for c, n in _ZONING_FIELDS if c.lower() in lower), None)
    if pair is None:
        return ()
    code_field, name_field = pair
    frame, _ = read_vector(spec, columns=[f for f in pair if f])
    table = code_table("zoning")
    names = frame[name_field].astype(str).str.strip() if name_field else None
    codes = frame[code_field].astype(str).str.strip()
    out = []
    for code, count in codes.value_counts().sort_index().items():
        if code and table.lookup(code).matched != code:
            name = names[codes == code].mode().iloc[0] if names is not None else ""
            out.append((str(code), str(name), int(count)))
    return tuple(out)


def local_use(name: str) -> str | None:
    """The use a local planned-use code's name says (``[local_use_words]``): one use's words, or None.

    >>> local_use("保障性租赁住房用地"), local_use("商住混合用地"), local_use("工业、商业混合用地")
    ('rental_housing', None, None)
    """
    said = [use for use, words in hints()["local_use_words"].items() if any(w in name for w in words)]
    return said[0] if len(said) == 1 else None


def _distinct_codes(spec: LayerSpec, field_name: str) -> tuple[str, ...]:
    """Every distinct value of a code field, as text (a DBF number 11.0 as ``11``)."""
    from landgis.codes import normalize_codes
    from landgis.io import resolve_source

    source, layer, _ = resolve_source(spec, [])
    frame = pyogrio.read_dataframe(source, layer=layer, columns=[field_name], read_geometry=False)
    return tuple(sorted(set(normalize_codes(frame[field_name])) - {""}))


def survey_generation(codes: tuple[str, ...] | list[str]) -> tuple[str | None, str]:
    """Which survey a layer's DLBM codes are from: ``"三调"`` (GB/T 21010-2017: 4 characters, 0101,
    05H1, 1006, also when a DBF number lost the leading zero: 101, 1006), ``"二调"`` (TD/T 1016-2007:
    3 digits, 011, 203, or 11 as a number), or None; and why, in words.

    A 三调 of a county always holds classes of 4 digits that no zero was lost from (transport
    10xx, water 11xx, other land 12xx) and 二调 codes never have 4: so one code of 4 characters
    says 三调, and a layer of codes of at most 3 digits is a 二调.

    >>> survey_generation(["0101", "0702", "1006"])[0], survey_generation(["101", "702", "1006"])[0]
    ('三调', '三调')
    >>> survey_generation(["011", "203"])[0], survey_generation(["11", "203", "114"])[0], survey_generation([])[0]
    ('二调', '二调', None)
    """
    if not codes:
        return None, ""
    four = [c for c in codes if len(c) >= 4]
    if four:
        return "三调", f"{len(four)} of its {len(codes)} DLBM codes have 4 characters ({', '.join(four[:3])})"
    if all(c.isdigit() for c in codes):
        return "二调", f"its {len(codes)} DLBM codes have at most 3 digits ({', '.join(codes[:3])})"
    return None, f"its DLBM codes are neither 三调's nor 二调's ({', '.join(codes[:3])})"


def _feature_count(path: Path, layer: str | None) -> int:
    from landgis.io import resolve_source

    try:
        source, name, _ = resolve_source(LayerSpec("scan", path, layer), [])
        return int(pyogrio.read_info(source, layer=name)["features"])
    except Exception:  # noqa: BLE001 - a count is for the comments only
        return -1


def _crs_name(wkt: str) -> str:
    if not wkt:
        return ""
    from pyproj import CRS

    return CRS.from_user_input(wkt).name


def _geometry_kind(geometry: Any) -> str:
    text = str(geometry or "").lower()
    if "polygon" in text or "surface" in text:
        return "polygon"
    if "line" in text or "curve" in text:
        return "line"
    if "point" in text:
        return "point"
    return "none"


# ------------------------------------------------------------------ scoring (pure)

def rank(found: list[FoundLayer], root: Path) -> dict[str, list[Candidate]]:
    """Each role's candidates, best first: every layer that scores above 0 for it (those below
    :data:`MIN_SCORE` are not chosen, but said as near misses)."""
    ranked: dict[str, list[Candidate]] = {}
    for role, rule in hints()["roles"].items():
        cands = [c for f in found if (c := _score(f, role, rule, root)) is not None and c.score > 0]
        ranked[role] = sorted(cands, key=lambda c: (-c.score, c.found.label(root)))
    return ranked


def _score(found: FoundLayer, role: str, rule: Mapping[str, Any], root: Path) -> Candidate | None:
    if found.geometry != rule.get("geometry", "polygon"):
        return None
    cand = Candidate(found, role, 0)
    layer = _bare((found.layer or found.path.stem).upper())
    try:
        parts = found.path.relative_to(root).parts
    except ValueError:
        parts = found.path.parts
    words = [p.upper() for p in parts] + ([found.layer.upper()] if found.layer else [])
    for name in rule.get("names", ()):
        name_u = name.upper()
        if layer == name_u or _bare(found.path.stem.upper()) == name_u:
            cand.score += SCORES["exact_name"]
            cand.why.append(f"named {name}")
            break
        if any(name_u in _TOKENS.split(w) for w in words) or \
                ((len(name_u) >= 4 or _CJK.search(name_u)) and any(name_u in w for w in words)):
            cand.score += SCORES["name_in_file"]
            cand.why.append(f"{name} in its name")
            break
    said = [h for h in rule.get("hints", ()) if any(h.upper() in w for w in words)]
    if said:
        cand.score += SCORES["hint"] * min(len(said), 2)
        cand.why.append("in " + "/".join(said))
    fields = [f for f in rule.get("fields", ()) if found.has(f)]
    if fields:
        cand.score += SCORES["field"] * len(fields)
        cand.why.append("fields " + ", ".join(fields))
    decisive = [f for f in rule.get("decisive", ()) if found.has(f)]
    if decisive:
        cand.score += SCORES["decisive"]
        cand.why.append(f"{decisive[0]} marks it")
    if "survey" in rule:
        if not found.has("DLBM"):
            return None
        generation, said_codes = survey_generation(found.codes)
        if generation == rule["survey"]:
            cand.score += SCORES["codes"]
            cand.why.append(said_codes)
        elif generation is not None:
            cand.score += SCORES["wrong_codes"]
            cand.why.append(f"{said_codes}: a {generation}")
    years = [int(y) for w in words for y in _YEAR.findall(w)]
    if "years_from" in rule and years and max(years) < rule["years_from"]:
        cand.score += SCORES["wrong_year"]
        cand.why.append(f"a year before {rule['years_from']} in its name ({max(years)})")
    if "years_before" in rule and years and max(years) >= rule["years_before"] and not said:
        cand.score += SCORES["wrong_year"]
        cand.why.append(f"a year from {rule['years_before']} on in its name ({max(years)})")
    crs_names = [c for c in rule.get("crs", ()) if c.lower() in found.crs.lower()]
    if crs_names:
        cand.score += SCORES["crs"]
        cand.why.append(f"in {found.crs}")
    return cand


def choose(ranked: Mapping[str, list[Candidate]]) -> dict[str, Candidate]:
    """Each role its best candidate, each layer one role: the highest scores are served first."""
    pairs = sorted((c for cands in ranked.values() for c in cands if c.score >= MIN_SCORE), key=lambda c: -c.score)
    chosen: dict[str, Candidate] = {}
    taken: set[tuple[Path, str | None]] = set()
    for cand in pairs:
        key = (cand.found.path, cand.found.layer)
        if cand.role in chosen or key in taken:
            continue
        chosen[cand.role] = cand
        taken.add(key)
    return {role: chosen[role] for role in ranked if role in chosen}
