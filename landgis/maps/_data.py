"""What every map needs from a screening, whether just computed or read back from disk.

:class:`MapData` is the common input of the web map, the static overview map and
the red-line sheets. :func:`map_data` makes one from a
:class:`~landgis.result.ScreeningResult`; :func:`read_screening` makes one from
a finished screening folder (``screening.gpkg``), optionally with the project's
constraint layers and the profile's rule texts, without screening again.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from landgis.crs import crs_name_zh
from landgis.errors import LandgisError
from landgis.provenance import RECORD_NAME, changes_since, read_record

__all__ = ["MapData", "map_data", "read_screening", "drawable"]

#: constraint layers drawn on maps, in drawing order: role → (Chinese label, colour)
CONSTRAINT_STYLE: dict[str, tuple[str, str]] = {
    "farmland": ("永久基本农田", "#e6c700"),
    "redline": ("生态保护红线", "#c51b7d"),
    "udb": ("城镇开发边界", "#2166ac"),
}


@dataclass
class MapData:
    """The screening as the maps see it (working CRS, metres)."""

    inventory: gpd.GeoDataFrame
    conflicts: gpd.GeoDataFrame
    layers: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    rules: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # id → title_zh, text_zh, source
    title: str = "入市地块筛查"
    profile: str = ""
    data_date: str = ""
    #: the project file the constraint layers come from ("" when drawn without them)
    project: str = ""
    #: what the maps of a finished screening should say: the project not found, changed since…
    notes: list[str] = field(default_factory=list)
    #: the 制图单位 ([project] organisation), "" when the project names none
    organisation: str = ""
    #: each parcel's enterable part (parcel_id, enterable_m2, geometry); None when not known
    enterable: gpd.GeoDataFrame | None = None

    @property
    def crs(self) -> CRS:
        return CRS.from_user_input(self.inventory.crs)

    def crs_label(self) -> str:
        """The CRS as a Chinese sheet writes it (CGCS2000 3度带高斯-克吕格投影 中央经线111°E (EPSG:4546))."""
        crs = self.crs
        epsg = crs.to_epsg()
        return crs_name_zh(crs.name) + (f" (EPSG:{epsg})" if epsg else "")


def map_data(source: Any) -> MapData:
    """A :class:`MapData` from a ScreeningResult (or a MapData, returned as is)."""
    if isinstance(source, MapData):
        return source
    project = source.project
    return MapData(inventory=source.inventory, conflicts=source.conflicts, layers=dict(source.layers),
                   rules=named_rules(source.profile, source.inventory), title=project.name,
                   profile=profile_label(source.profile),
                   data_date=project.data_date or _source_date(project),
                   project=str(project.source) if project.source is not None else "",
                   organisation=getattr(project, "organisation", ""), enterable=getattr(source, "enterable", None))


def profile_label(profile: Any) -> str:
    """The profile as the maps name it: its id and name, and its document's term of force if it sets one."""
    validity = profile.validity_zh(_dt.date.today())
    return f"{profile.id} {profile.name_zh}".strip() + (f"（{validity}）" if validity else "")


def named_rules(profile: Any, inventory: pd.DataFrame) -> dict[str, dict[str, str]]:
    """id → title, text and citation: each rule and legacy category of ``profile`` (None: none),
    then the other reasons the inventory gives (GEOMETRY, NODATA-…) as its reason texts name them."""
    rules: dict[str, dict[str, str]] = {}
    if profile is not None:
        rules = {r.id: {"title_zh": r.title_zh, "text_zh": r.text_zh, "source": profile.citation(r)}
                 for r in profile.rules}
        for cat in profile.legacy_categories:
            rules.setdefault(cat.id, {"title_zh": cat.title_zh, "text_zh": "", "source": profile.citation(cat)})
    for rid, named in _rules_from_reason_texts(inventory).items():
        rules.setdefault(rid, named)
    return rules


def _source_date(project: Any) -> str:
    """The date of the newest input layer file (what "数据日期" falls back to)."""
    stamps = []
    for spec in getattr(project, "layers", {}).values():
        path = Path(str(getattr(spec, "path", "")))
        if not path.is_absolute():
            path = project.base_dir / path
        if path.exists():
            stamps.append(path.stat().st_mtime)
    if not stamps:
        return ""
    return _dt.date.fromtimestamp(max(stamps)).isoformat()


def drawable(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Mask of rows with a geometry to draw (present, not empty, not marked unrepairable).

    Validity is not tested again: the loader repaired every layer, and a drawing
    does not need a valid polygon anyway.
    """
    geoms = frame.geometry.values
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if "geometry_status" in frame:
        ok &= ~frame["geometry_status"].isin(["unrepairable"]).to_numpy(dtype=bool)
    return np.asarray(ok, dtype=bool)


_REASON = re.compile(r"^(?P<id>\S+)\s+(?P<rest>.*)$")


def _split_reason(part: str) -> tuple[str, str, str] | None:
    """``"ID 标题（依据）"`` → (id, title, citation); the citation is the balanced （…） that
    ends the text (it may hold （…） of its own: 《…（征求意见稿）》四（二）1), "" when none."""
    m = _REASON.match(part)
    if m is None:
        return None
    rest = m["rest"]
    if rest.endswith("）"):
        depth = 0
        for i in range(len(rest) - 1, -1, -1):
            depth += {"）": 1, "（": -1}.get(rest[i], 0)
            if depth == 0:
                if i > 0:  # a title of its own before the citation
                    return m["id"], rest[:i], rest[i + 1:-1]
                break
    return m["id"], rest, ""


def _rules_from_reason_texts(inventory: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Rule titles and citations recovered from ``reasons_zh`` ("ID 标题（依据）；…").

    A citation holds "；" between its documents, so the reasons are split only at a
    "；" outside parentheses.
    """
    rules: dict[str, dict[str, str]] = {}
    if "reasons_zh" not in inventory:
        return rules
    for text in inventory["reasons_zh"].dropna().astype(str).unique():
        for part in _reason_parts(text):
            parsed = _split_reason(part)
            if parsed and parsed[0] not in rules:
                rid, title, cited = parsed
                rules[rid] = {"title_zh": title, "text_zh": "", "source": cited}
    return rules


def _reason_parts(text: str) -> list[str]:
    """``reasons_zh`` cut into one text per rule: at "；" outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "（":
            depth += 1
        elif ch == "）":
            depth = max(depth - 1, 0)
        elif ch == "；" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def read_screening(folder: str | Path, project: str | Path | None = None,
                   profile: str | Path | None = None) -> MapData:
    """Read a finished screening (``screening.gpkg`` in ``folder``) for drawing maps again.

    Parameters
    ----------
    folder
        the ``--out`` folder of ``landgis screen``.
    project
        the project file, to draw its constraint layers (farmland, red line, urban
        development boundary, planned use) and name its rules; by default the one the
        screening recorded in ``screening.json``, if it is still there.
    profile
        a profile name or file for the rule texts (default: the one the screening applied).
    """
    import pyogrio

    folder = Path(folder)
    gpkg = folder / "screening.gpkg"
    if not gpkg.exists():
        raise LandgisError(f"{folder} holds no screening.gpkg; run `landgis screen PROJECT --out {folder}` first")
    layers = [name for name, _ in pyogrio.list_layers(gpkg)]
    if "parcels" not in layers:
        raise LandgisError(f"{gpkg} has no layer `parcels` (it has {', '.join(layers) or 'none'})")
    inventory = pyogrio.read_dataframe(gpkg, layer="parcels")
    for col in ("parcel_id", "planned_use", "survey_class", "reasons", "legacy", "owner", "town", "village"):
        if col in inventory:
            inventory[col] = inventory[col].astype(object).where(inventory[col].notna(), "")
    if "conflicts" in layers:
        conflicts = pyogrio.read_dataframe(gpkg, layer="conflicts")
    else:
        conflicts = gpd.GeoDataFrame({"parcel_id": [], "rule": [], "layer": [], "area_m2": []},
                                     geometry=gpd.GeoSeries([], crs=inventory.crs), crs=inventory.crs)
    enterable = pyogrio.read_dataframe(gpkg, layer="enterable") if "enterable" in layers else None
    title = "入市地块筛查"
    organisation = ""
    prof_label = ""
    data_date = ""
    constraint_layers: dict[str, gpd.GeoDataFrame] = {}
    record = read_record(folder)
    notes: list[str] = []
    if project is None:
        project, notes = _recorded_project(folder, record)
    proj = None
    if project is not None:
        from landgis.config import load_project
        from landgis.load import load_drawn_layers

        proj = load_project(project)
        title, data_date = proj.name, proj.data_date or _source_date(proj)
        organisation = proj.organisation
        constraint_layers = load_drawn_layers(proj, inventory.crs)
        if record is not None:
            changed = changes_since(record, proj)
            if changed:
                notes.append("since the screening: " + "; ".join(changed) + ". The layers are drawn as they are "
                             "now, the verdicts as they were: screen again to bring them together")
    if profile is None and record is not None and record.get("profile"):
        profile = record["profile"]
    prof = None
    if profile is not None or proj is not None:
        from landgis.profiles import load_profile

        prof = load_profile(profile if profile is not None else proj.profile,
                            base_dir=proj.base_dir if proj is not None else None)
        prof_label = profile_label(prof)
    rules = named_rules(prof, inventory)
    if not data_date:
        data_date = _dt.date.fromtimestamp(gpkg.stat().st_mtime).isoformat()
    return MapData(inventory=inventory, conflicts=conflicts, layers=constraint_layers, rules=rules,
                   title=title, profile=prof_label, data_date=data_date,
                   project=str(Path(project).absolute()) if project is not None else "", notes=notes,
                   organisation=organisation, enterable=enterable)


def _recorded_project(folder: Path, record: dict | None) -> tuple[Path | None, list[str]]:
    """The project a screening recorded (screening.json), if it is still there; and what to say if not."""
    entry = (record or {}).get("project") or {}
    path = Path(entry["path"]) if entry.get("path") else None
    if path is not None and path.is_file():
        return path, []
    if record is None:
        why = f"{folder} holds no {RECORD_NAME} naming the project it was screened from"
    elif path is None:
        why = "the screening was made from a project not read from a file"
    else:
        why = f"the project it was screened from, {path}, is gone"
    return None, [f"{why}: drawn without the constraint layers (永久基本农田, 生态保护红线, 城镇开发边界, 规划用途); "
                  "give --project PROJECT.toml to draw them and measure each parcel's distance to them; "
                  "the red-line sheets say 未核查 for each"]


def text(value: Any) -> str:
    """A cell as display text ("" for missing)."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value)
