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

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = ["FoundLayer", "Candidate", "scan", "rank", "choose", "hints", "local_use", "SCORES", "MIN_SCORE"]

#: how much each kind of evidence counts (said in delivery.toml's header too)
SCORES = {"exact_name": 6, "name_in_file": 4, "hint": 2, "field": 1, "decisive": 6, "codes": 6,
          "wrong_codes": -8, "crs": 3}
#: a layer scoring below this for a role is not taken for it
MIN_SCORE = 5

_VECTOR = (".gpkg", ".shp", ".geojson", ".fgb")
_RASTER = (".tif", ".tiff", ".img")
_CODE_SAMPLE = 500
_CJK = re.compile(r"[\u3400-\u9fff]")
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
    codes: tuple[str, ...] = () # a sample of its DLBM values, where it has that field
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
        try:
            found += list(_layers_of(path))
        except (LayerError, OSError, ValueError, pyogrio.errors.DataSourceError, zipfile.BadZipFile) as exc:
            unread.append(f"{path.relative_to(root).as_posix()}: {str(exc).removeprefix('layer `scan`: ')}")
    return found, unread


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


def _layers_of(path: Path) -> Iterator[FoundLayer]:
    suffix = path.suffix.lower()
    if suffix in _RASTER:
        yield _raster(path)
    elif suffix == ".zip":
        yield from _zip_layers(path)
    elif suffix in (".gpkg", ".gdb"):
        for name, geometry in pyogrio.list_layers(str(path)):
            yield _vector(path, str(name), geometry)
    else:
        yield _vector(path, None, None)


def _zip_layers(path: Path) -> Iterator[FoundLayer]:
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    shps = sorted(n for n in names if n.lower().endswith(".shp"))
    gdbs = sorted({n[: n.lower().index(".gdb/") + 4] for n in names if ".gdb/" in n.lower()})
    packages = sorted(n for n in names if n.lower().endswith(".gpkg"))
    for member in shps:
        yield _vector(path, PurePosixPath(member).stem, None)
    for member in gdbs + packages:
        for name, geometry in pyogrio.list_layers(f"/vsizip/{path.resolve()}/{member}"):
            yield _vector(path, str(name), geometry)


def _raster(path: Path) -> FoundLayer:
    import rasterio

    with rasterio.open(path) as src:
        crs = src.crs.to_wkt() if src.crs else ""
        name = _crs_name(crs)
        epsg = src.crs.to_epsg() if src.crs else None
        return FoundLayer(path=path, layer=None, geometry="raster", features=src.width * src.height,
                          crs=name, epsg=epsg)


def _vector(path: Path, layer: str | None, geometry: Any) -> FoundLayer:
    from landgis.io import read_vector

    spec = LayerSpec("scan", path, layer)
    frame, notes = read_vector(spec, columns=[], max_features=1)
    fields = tuple(frame.attrs.get("source_fields") or ())
    geometry_type = _geometry_kind(geometry if geometry is not None else
                                   (frame.geometry.geom_type.iloc[0] if len(frame) else None))
    codes: tuple[str, ...] = ()
    dlbm = next((f for f in fields if f.lower() == "dlbm"), None)
    if dlbm is not None:
        sample, _ = read_vector(spec, columns=[dlbm], max_features=_CODE_SAMPLE)
        codes = tuple(str(v).strip() for v in sample[dlbm].dropna())
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
    """Each role's candidates, best first: the layers scoring at least :data:`MIN_SCORE`."""
    ranked: dict[str, list[Candidate]] = {}
    for role, rule in hints()["roles"].items():
        cands = [c for f in found if (c := _score(f, role, rule, root)) is not None and c.score >= MIN_SCORE]
        ranked[role] = sorted(cands, key=lambda c: (-c.score, c.found.label(root)))
    return ranked


def _score(found: FoundLayer, role: str, rule: Mapping[str, Any], root: Path) -> Candidate | None:
    if found.geometry != rule.get("geometry", "polygon"):
        return None
    cand = Candidate(found, role, 0)
    layer = (found.layer or found.path.stem).upper()
    try:
        parts = found.path.relative_to(root).parts
    except ValueError:
        parts = found.path.parts
    words = [p.upper() for p in parts] + ([found.layer.upper()] if found.layer else [])
    for name in rule.get("names", ()):
        name_u = name.upper()
        if layer == name_u or layer.split(".")[0] == name_u:
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
    if "codes" in rule:
        if not found.has("DLBM"):
            return None
        length = int(rule["codes"])
        share = sum(len(c) == length for c in found.codes) / len(found.codes) if found.codes else 0.0
        if share >= 0.8:
            cand.score += SCORES["codes"]
            cand.why.append(f"DLBM codes of {length} characters ({share:.0%} of {len(found.codes)} read)")
        elif found.codes:
            cand.score += SCORES["wrong_codes"]
            cand.why.append(f"only {share:.0%} of its DLBM codes have {length} characters")
    crs_names = [c for c in rule.get("crs", ()) if c.lower() in found.crs.lower()]
    if crs_names:
        cand.score += SCORES["crs"]
        cand.why.append(f"in {found.crs}")
    return cand


def choose(ranked: Mapping[str, list[Candidate]]) -> dict[str, Candidate]:
    """Each role its best candidate, each layer one role: the highest scores are served first."""
    pairs = sorted((c for cands in ranked.values() for c in cands), key=lambda c: -c.score)
    chosen: dict[str, Candidate] = {}
    taken: set[tuple[Path, str | None]] = set()
    for cand in pairs:
        key = (cand.found.path, cand.found.layer)
        if cand.role in chosen or key in taken:
            continue
        chosen[cand.role] = cand
        taken.add(key)
    return {role: chosen[role] for role in ranked if role in chosen}
