"""What a screening was made from: the project file and every input file, fingerprinted.

``landgis screen`` writes the record as ``screening.json`` beside the inventory, so that
``landgis map OUT`` can draw the project's constraint layers without being told the
project again, and can say when the project or one of its inputs changed since.
A file is fingerprinted by its size, modification time and SHA-256; when it is checked
again, a file of the same size and time is taken as unchanged (as ``make`` and ``rsync``
do) and only the others are hashed again.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["RECORD_NAME", "screening_record", "write_record", "read_record", "changes_since", "layer_files"]

#: the record's file name in a screening folder
RECORD_NAME = "screening.json"

#: the files beside a shapefile's ``.shp`` that are part of it
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")



def layer_files(path: Path) -> list[Path]:
    """The files that make one input: a file; a shapefile with its sidecars; every file of a
    FileGDB folder.

    >>> layer_files(Path("/nowhere/zd.gpkg"))
    []
    """
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.suffix.lower() == ".shp":
        return sorted(p for p in path.parent.glob(f"{_glob_escape(path.stem)}.*")
                      if p.suffix.lower() in _SHAPEFILE_PARTS and p.is_file())
    return [path] if path.is_file() else []


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()  # chunked, GIL released


def _fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": _sha256(path)}


def _input_paths(project: Any) -> Iterator[tuple[str, Path]]:
    for role, spec in project.layers.items():
        if spec.path is None:
            continue
        path = Path(spec.path)
        if not path.is_absolute():
            path = project.base_dir / path
        yield role, path.absolute()


def screening_record(project: Any, profile: str | None = None) -> dict[str, Any]:
    """The record of what a screening of ``project`` reads: the project file, every input file
    and the profile (a built-in name, or a profile file's path, fingerprinted too).

    A file shared by several layers (one GeoPackage) is hashed once.
    """
    from landgis import __version__

    source = getattr(project, "source", None)
    project_entry = _fingerprint(Path(source).absolute()) if source is not None and Path(source).is_file() else None
    seen: dict[Path, dict[str, Any]] = {}
    inputs: dict[str, list[str]] = {}
    for role, path in _input_paths(project):
        files = layer_files(path)
        for f in files:
            if f not in seen:
                seen[f] = _fingerprint(f)
        inputs[role] = [str(f) for f in files]
    if profile is not None and Path(profile).is_file():
        seen[Path(profile)] = _fingerprint(Path(profile))
    return {"landgis": __version__, "screened_at": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "project": project_entry, "profile": profile, "inputs": inputs,
            "files": sorted(seen.values(), key=lambda e: e["path"])}


def write_record(record: dict[str, Any], path: Path) -> None:
    """The record as JSON (UTF-8, Chinese paths as they are)."""
    Path(path).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def read_record(folder: Path) -> dict[str, Any] | None:
    """The record in a screening folder; None where there is none (a screening made before
    landgis wrote one) or it cannot be read."""
    try:
        record = json.loads((Path(folder) / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _changed(entry: dict[str, Any]) -> str | None:
    """Why the file ``entry`` fingerprints differs now, or None when it does not."""
    path = Path(entry["path"])
    try:
        stat = path.stat()
    except OSError:
        return f"{path} is gone"
    if stat.st_size == entry.get("size") and stat.st_mtime_ns == entry.get("mtime_ns"):
        return None
    if stat.st_size == entry.get("size") and _sha256(path) == entry.get("sha256"):
        return None  # touched, not changed
    return f"{path} changed ({_dt.datetime.fromtimestamp(stat.st_mtime).isoformat(sep=' ', timespec='seconds')})"


def changes_since(record: dict[str, Any], project: Any | None = None) -> list[str]:
    """What differs now from what the screening ``record`` read: the project file, an input
    file changed or gone, a layer added, dropped or moved in the project (given ``project``,
    as loaded now). An empty list when nothing did."""
    notes = []
    entries: Iterable[dict[str, Any]] = [e for e in [record.get("project")] if e]
    for entry in [*entries, *record.get("files", [])]:
        why = _changed(entry)
        if why:
            notes.append(why)
    if project is not None:
        then = {role: sorted(paths) for role, paths in record.get("inputs", {}).items()}
        now = {role: sorted(str(f) for f in layer_files(path)) for role, path in _input_paths(project)}
        for role in sorted(set(then) | set(now)):
            if role not in now:
                notes.append(f"layer {role} was screened but is no longer in the project")
            elif role not in then:
                notes.append(f"layer {role} is in the project now but was not screened")
            elif now[role] != then[role]:
                notes.append(f"layer {role} is read from other files now")
    return notes
