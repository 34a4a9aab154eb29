"""The screening pipeline: load → overlay → facts → legacy → rules → inventory.

:func:`screen` is what ``landgis screen`` runs and what a notebook calls; it
returns a :class:`ScreeningResult` that shows itself in Jupyter, hands out the
inventory as a GeoDataFrame and writes every output the CLI writes.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from landgis import io
from landgis.config import Project, load_project
from landgis.errors import LandgisError, Problem, SkippedRuleWarning
from landgis.facts import code_tables_for, compute_overlays, parcel_facts
from landgis.inventory import (
    CONTRACT_COLUMNS,
    M2_PER_MU,
    build_inventory,
    conflict_pieces,
    ellipsoidal_area,
    summaries,
)
from landgis.legacy import classify_legacy
from landgis.load import LoadedLayers, load_layers
from landgis.profiles import Profile, load_profile
from landgis.rules import SkippedRule, evaluate_rules

__all__ = ["screen", "ScreeningResult", "screen_layers"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())


@dataclass
class ScreeningResult:
    """Everything a screening produced.

    Attributes
    ----------
    inventory
        GeoDataFrame, one row per input parcel, contract columns first.
    conflicts
        where each fired spatial rule hits each parcel (farmland, red line…).
    profile, project
        what was applied.
    problems
        input problems found (repairs, guesses, warnings), for the record.
    skipped
        rules that could not be checked, and why.
    timings
        seconds per stage.
    """

    inventory: gpd.GeoDataFrame
    conflicts: gpd.GeoDataFrame
    profile: Profile
    project: Project
    problems: list[Problem] = field(default_factory=list)
    skipped: list[SkippedRule] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    facts: pd.DataFrame | None = None
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict, repr=False)

    @property
    def table(self) -> pd.DataFrame:
        """The inventory without geometry (what inventory.csv holds)."""
        return pd.DataFrame(self.inventory.drop(columns="geometry"))

    def summary(self) -> dict[str, pd.DataFrame]:
        """Summary tables by verdict, town, planned use, rule and legacy category."""
        return summaries(self.inventory)

    def counts(self) -> dict[str, int]:
        vc = self.inventory["verdict"].value_counts()
        return {v: int(vc.get(v, 0)) for v in ("eligible", "conditional", "ineligible")}

    def write(self, out: str | Path, *, overwrite: bool = False, map_html: bool = True) -> Path:
        """Write inventory.csv, inventory.xlsx, screening.gpkg and map.html into ``out``.

        Outputs appear only when all are complete (written in a temporary
        folder, then moved); an existing screening is replaced only with
        ``overwrite=True``.
        """
        from landgis.maps import web_map
        from landgis.report import write_xlsx

        out = Path(out)
        t0 = time.perf_counter()
        with io.output_dir(out, overwrite=overwrite) as tmp:
            io.write_csv(self.table, tmp / "inventory.csv")
            write_xlsx(self, tmp / "inventory.xlsx")
            layers = {"parcels": self.inventory, "conflicts": self.conflicts}
            io.write_gpkg(layers, tmp / "screening.gpkg")
            if map_html:
                web_map(self).save(str(tmp / "map.html"))
        self.timings["write"] = time.perf_counter() - t0
        return out

    def map(self):
        """The interactive map (a folium Map; displays inline in Jupyter)."""
        from landgis.maps import web_map
        return web_map(self)

    def text_summary(self) -> str:
        c = self.counts()
        by = self.summary()["by_verdict"].set_index("verdict")
        lines = [f"{self.project.name} — profile {self.profile.id} ({self.profile.name_zh})",
                 f"{len(self.inventory)} parcels screened:"]
        for v in ("eligible", "conditional", "ineligible"):
            lines.append(f"  {v:<12} {c[v]:>6} parcels  {by.loc[v, 'area_m2']:>14,.2f} m²  "
                         f"{by.loc[v, 'area_mu']:>12,.4f} 亩")
        rules = self.summary()["by_rule"].head(8)
        if len(rules):
            lines.append("most frequent reasons: " + ", ".join(f"{r} ({n})" for r, n in zip(rules["rule"], rules["parcels"], strict=True)))
        for s in self.skipped:
            lines.append(f"not checked: {s.rule} — {s.why}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ScreeningResult {self.counts()} profile={self.profile.id}>"

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        from landgis.report import result_html
        return result_html(self)


def screen(project: Project | str | Path, *, profile: str | Path | Profile | None = None,
           strict: bool = False, progress: Callable[[str], None] | None = None) -> ScreeningResult:
    """Screen every parcel of a project.

    Parameters
    ----------
    project
        a :class:`~landgis.config.Project` or the path of a project file.
    profile
        override the project's profile (a built-in name, a file, or a Profile).
    strict
        treat input warnings (guessed CRS, ballpark datum shift…) as errors.
    progress
        called with the name of each stage as it starts (the CLI shows them).

    Raises
    ------
    landgis.errors.InputError
        listing every input problem that prevents screening.
    """
    if not isinstance(project, Project):
        project = load_project(project)
    prof = _profile(project, profile)
    step = progress or (lambda name: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step("load")
    loaded = load_layers(project, strict=strict)
    timings["load"] = time.perf_counter() - t0
    result = screen_layers(loaded, project, prof, progress=step, timings=timings)
    return result


def screen_layers(loaded: LoadedLayers, project: Project, profile: Profile,
                  progress: Callable[[str], None] | None = None,
                  timings: dict[str, float] | None = None) -> ScreeningResult:
    """Screen already-loaded canonical layers (the pure core of :func:`screen`)."""
    step = progress or (lambda name: None)
    timings = timings if timings is not None else {}
    problems = list(loaded.problems)
    parcels = loaded.parcels
    tol = project.min_overlap_m2
    tables = code_tables_for(project.codes, profile.codes)

    t = time.perf_counter()
    overlays = compute_overlays(parcels, loaded.layers, progress=lambda role: step(f"overlay {role}"))
    timings["overlay"] = time.perf_counter() - t

    t = time.perf_counter()
    step("rules")
    ft = parcel_facts(parcels, loaded.layers, overlays, tables, profile.settings, problems)
    facts = ft.facts
    geometry_ok = np.isin(parcels["geometry_status"].to_numpy(), ("ok", "repaired"))
    facts["area_ellipsoid_m2"] = ellipsoidal_area(
        np.where(geometry_ok, parcels.geometry.values, None), loaded.crs)
    legacy = classify_legacy(facts, profile, tol)
    for col in legacy:
        facts[col] = legacy[col]
    verdicts = evaluate_rules(facts, profile, tol, ft.unavailable, geometry_ok=geometry_ok)
    skipped: list[SkippedRule] = verdicts.attrs.get("skipped", [])
    for s in skipped:
        msg = f"rule {s.rule} not checked: {s.why}"
        problems.append(Problem("warning", "", msg))
        warnings.warn(msg, SkippedRuleWarning, stacklevel=3)
    timings["rules"] = time.perf_counter() - t

    t = time.perf_counter()
    step("inventory")
    inventory = build_inventory(parcels, facts, legacy, verdicts, profile)
    conflicts = conflict_pieces(parcels, loaded.layers, ft, verdicts, tables, tol)
    timings["inventory"] = time.perf_counter() - t
    if len(inventory) != len(parcels):  # the contract's invariant: nothing is ever dropped
        raise LandgisError(f"internal error: {len(parcels)} parcels in, {len(inventory)} rows out")
    assert list(inventory.columns[: len(CONTRACT_COLUMNS)]) == list(CONTRACT_COLUMNS)
    log.info("screened %d parcels: %s", len(inventory), inventory["verdict"].value_counts().to_dict())
    return ScreeningResult(inventory=inventory, conflicts=conflicts, profile=profile, project=project,
                           problems=problems, skipped=skipped, timings=timings, facts=facts,
                           layers=loaded.layers)


def _profile(project: Project, override: str | Path | Profile | None) -> Profile:
    if isinstance(override, Profile):
        return override
    return load_profile(override if override is not None else project.profile, base_dir=project.base_dir)


_ = M2_PER_MU  # re-exported for notebooks: landgis.screening.M2_PER_MU
