"""The screening pipeline: load → overlay → facts → legacy → rules → inventory → conflicts.

:func:`screen_layers` is the pure core every engine runs on canonical layers;
:func:`run` reads a project's layers (:func:`landgis.load.load_layers`) and screens
them in this process. Each stage is timed into ``timings``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager

import geopandas as gpd
import numpy as np
import pandas as pd

from landgis._runtime import Progress, ProgressArg, release_free_memory, tune_malloc
from landgis.codes import CodeTable
from landgis.config import Project
from landgis.conflicts import conflict_piece_masks, conflict_pieces, ground_conflict_pieces
from landgis.errors import LandgisError, PolicyExpiredWarning, Problem, SkippedRuleWarning
from landgis.facts import code_tables_for, compute_overlays, parcel_facts
from landgis.inventory import CONTRACT_COLUMNS, build_inventory, ellipsoidal_area
from landgis.legacy import classify_legacy
from landgis.load import LoadedLayers, load_layers
from landgis.profiles import Profile
from landgis.result import ScreeningResult
from landgis.roads import access_facts
from landgis.rules import SkippedRule, evaluate_rules
from landgis.schema import CLASS_LAYERS, DRAWN_LAYERS, MEASURE_LAYERS, usable_geometry
from landgis.terrain import terrain_facts

__all__ = ["run", "screen_layers", "stage"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())


def run(project: Project, profile: Profile, *, strict: bool = False, progress: ProgressArg = None) -> ScreeningResult:
    """Load ``project``'s layers and screen them in this process (the local engine)."""
    tune_malloc()
    n_overlays = sum(role in project.layers for role in (*MEASURE_LAYERS, *CLASS_LAYERS))
    step = Progress(progress, total=3 + n_overlays, desc="screening")
    timings: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        step("load")
        loaded = load_layers(project, strict=strict)
        timings["load"] = time.perf_counter() - t0
        result = screen_layers(loaded, project, profile, progress=step, timings=timings)
        del loaded  # the survey layers and overlay pieces: hundreds of MB at county scale
        release_free_memory()
    finally:
        step.close()
    return result


@contextmanager
def stage(name: str, timings: dict[str, float], step: Callable[[str], None] | None = None) -> Iterator[None]:
    """Time the block into ``timings[name]``, announcing it to ``step`` first (when given)."""
    if step is not None:
        step(name)
    t = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - t


def screen_layers(loaded: LoadedLayers, project: Project, profile: Profile,
                  progress: Callable[[str], None] | None = None,
                  timings: dict[str, float] | None = None) -> ScreeningResult:
    """Screen already-loaded canonical layers: overlay → facts → legacy → rules → inventory → conflicts.

    The pure core every engine runs; ``loaded`` is not changed.
    """
    step = progress or (lambda name: None)
    timings = timings if timings is not None else {}
    problems = list(loaded.problems)
    parcels, layers = loaded.parcels, loaded.layers
    tables = code_tables_for(project.codes, profile.codes)
    tol = project.min_overlap_m2

    with stage("overlay", timings):
        overlays = compute_overlays(parcels, layers, progress=lambda role: step(f"overlay {role}"),
                                    piece_masks=conflict_piece_masks(profile, layers, tables))
    release_free_memory()  # the overlays' intersections

    # the constraint layers' conflict pieces do not depend on the verdicts: GEOS cuts and
    # unions them (GIL released) in a thread while the rules, in pandas, run here
    with ThreadPoolExecutor(1, thread_name_prefix="landgis-pieces") as pool:
        ground = pool.submit(ground_conflict_pieces, profile, overlays)
        try:
            with stage("rules", timings, step):
                ft = parcel_facts(parcels, layers, overlays, tables, profile.settings, problems, tolerance=tol,
                                  allowed_uses=profile.allowed_uses)
                site = _site_facts(parcels, layers, project, profile.settings, tables, ft.unavailable, timings, step)
                geometry_ok = usable_geometry(parcels)
                ellipsoid = pd.DataFrame({"area_ellipsoid_m2": ellipsoidal_area(
                    np.where(geometry_ok, parcels.geometry.values, None), loaded.crs)}, index=parcels.index)
                facts = pd.concat([ft.facts, *site, ellipsoid], axis=1)
                legacy = classify_legacy(facts, profile, tol)
                facts = facts.assign(**{col: legacy[col] for col in legacy})
                verdicts = evaluate_rules(facts, profile, tol, ft.unavailable, geometry_ok=geometry_ok)
                skipped: list[SkippedRule] = verdicts.attrs.get("skipped", [])
                _report_skipped(skipped, problems)
                _report_policy_date(profile, problems)
            release_free_memory()

            with stage("inventory", timings, step):
                inventory = build_inventory(parcels, facts, verdicts, profile)
                # pandas' temporaries of the inventory's columns stay in glibc's heap: given back
                # before the conflict pieces are made on top of them
                release_free_memory()
                conflicts = conflict_pieces(parcels, layers, ft, verdicts, tables, profile, ground=ground.result())
        finally:
            wait([ground])
    if len(inventory) != len(parcels):  # the contract's invariant: nothing is ever dropped
        raise LandgisError(f"internal error: {len(parcels)} parcels in, {len(inventory)} rows out")
    assert list(inventory.columns[: len(CONTRACT_COLUMNS)]) == list(CONTRACT_COLUMNS)
    log.info("screened %d parcels: %s", len(inventory), inventory["verdict"].value_counts().to_dict())
    return ScreeningResult(inventory=inventory, conflicts=conflicts, profile=profile, project=project,
                           problems=problems, skipped=skipped, timings=timings, facts=facts,
                           layers={role: frame for role, frame in layers.items() if role in DRAWN_LAYERS})


def _report_policy_date(profile: Profile, problems: list[Problem]) -> None:
    """A warning when the profile's document was in force until a day before today's screening."""
    today = _dt.date.today()
    if not profile.expired_on(today):
        return
    msg = (f"profile {profile.id}: {profile.document} was in force until {profile.valid_until} "
           f"({profile.valid_source}); screened on {today.isoformat()}: check whether it was extended or replaced, "
           "and screen under the document now in force")
    zh = (f"{profile.document}有效期至{profile.valid_until}（{profile.valid_source}），本次筛查日期{today.isoformat()}"
          "已过有效期：请核实该文件是否延期或已有新文件，按现行文件筛查")
    problems.append(Problem("warning", "profile", msg, message_zh=zh))
    warnings.warn(msg, PolicyExpiredWarning, stacklevel=4)


def _report_skipped(skipped: list[SkippedRule], problems: list[Problem]) -> None:
    for s in skipped:
        msg = f"rule {s.rule} not checked: {s.why}"
        zh = f"规则 {s.rule} 未核查（{s.parcels} 宗地块）" + (f"：缺少{s.data_zh}" if s.data_zh else "")
        problems.append(Problem("warning", "", msg, message_zh=zh))
        warnings.warn(msg, SkippedRuleWarning, stacklevel=5)


def _site_facts(parcels: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame], project: Project,
                settings: Mapping, tables: Mapping[str, CodeTable], unavailable: dict[str, str],
                timings: dict[str, float], step: Callable[[str], None]) -> list[pd.DataFrame]:
    """The terrain (DEM slope) and road-access facts: a frame each, when their data is there."""
    spec = project.layers.get("dem")
    with stage("terrain", timings, step if spec is not None else None):
        terrain = terrain_facts(parcels, spec, settings, unavailable)
    with stage("access", timings):
        roads = access_facts(parcels, layers, tables, settings, unavailable)
    return [f for f in (terrain, roads) if f is not None]
