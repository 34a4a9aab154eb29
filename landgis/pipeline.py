"""The screening pipeline: load → overlay → facts → legacy → rules → inventory → conflicts.

:func:`screen_layers` is the pure core every engine runs on canonical layers;
:func:`run` reads a project's layers (:func:`landgis.load.load_layers`) and screens
them in this process. Each stage is timed into ``timings``.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait

import geopandas as gpd
import numpy as np
import pandas as pd

from landgis._runtime import Progress, ProgressArg, release_free_memory, tune_malloc
from landgis.catalogue import allowed_uses
from landgis.codes import CodeTable
from landgis.config import Project
from landgis.errors import LandgisError, Problem, SkippedRuleWarning
from landgis.facts import code_tables_for, compute_overlays, parcel_facts
from landgis.inventory import (
    CONTRACT_COLUMNS,
    build_inventory,
    conflict_piece_masks,
    conflict_pieces,
    ellipsoidal_area,
    ground_conflict_pieces,
)
from landgis.legacy import classify_legacy
from landgis.load import LoadedLayers, load_layers
from landgis.profiles import Profile
from landgis.result import ScreeningResult
from landgis.roads import access_facts
from landgis.rules import SkippedRule, evaluate_rules
from landgis.schema import CLASS_LAYERS, MEASURE_LAYERS, usable_geometry
from landgis.terrain import terrain_facts

__all__ = ["run", "screen_layers", "KEPT_LAYERS"]

#: input layers a ScreeningResult keeps (for its maps); the others are freed after screening
KEPT_LAYERS = ("farmland", "redline", "udb", "zoning", "admin")

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


def screen_layers(loaded: LoadedLayers, project: Project, profile: Profile,
                  progress: Callable[[str], None] | None = None,
                  timings: dict[str, float] | None = None) -> ScreeningResult:
    """Screen already-loaded canonical layers (the pure core of :func:`screen`)."""
    step = progress or (lambda name: None)
    timings = timings if timings is not None else {}
    problems = list(loaded.problems)
    tables = code_tables_for(project.codes, profile.codes)

    t = time.perf_counter()
    overlays = compute_overlays(loaded.parcels, loaded.layers, progress=lambda role: step(f"overlay {role}"),
                                piece_masks=conflict_piece_masks(loaded.layers, tables))
    timings["overlay"] = time.perf_counter() - t
    release_free_memory()  # the overlays' intersections

    # the constraint layers' conflict pieces do not depend on the verdicts: GEOS cuts and
    # unions them (GIL released) in a thread while the rules, in pandas, run here
    with ThreadPoolExecutor(1, thread_name_prefix="landgis-pieces") as pool:
        ground = pool.submit(ground_conflict_pieces, overlays)
        try:
            return _rules_and_inventory(loaded, project, profile, overlays, ground, step, timings, problems, tables)
        finally:
            wait([ground])


def _rules_and_inventory(loaded: LoadedLayers, project: Project, profile: Profile, overlays: dict,
                         ground: Future, step: Callable[[str], None], timings: dict[str, float],
                         problems: list[Problem], tables: Mapping) -> ScreeningResult:
    parcels = loaded.parcels
    tol = project.min_overlap_m2
    t = time.perf_counter()
    step("rules")
    ft = parcel_facts(parcels, loaded.layers, overlays, tables, profile.settings, problems, tolerance=tol,
                      allowed_uses=allowed_uses(profile))
    facts = ft.facts
    _site_facts(facts, ft.unavailable, parcels, loaded.layers, project, profile.settings, tables, timings, step)
    geometry_ok = usable_geometry(parcels)
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
        warnings.warn(msg, SkippedRuleWarning, stacklevel=4)
    timings["rules"] = time.perf_counter() - t
    release_free_memory()

    t = time.perf_counter()
    step("inventory")
    inventory = build_inventory(parcels, facts, legacy, verdicts, profile)
    # pandas' temporaries of 56 columns (consolidations, rounding) stay in glibc's heap: given back
    # before the conflict pieces are made on top of them (the bench county's peak, reached while
    # those are made, fell from 1083 to ~1010 MiB)
    release_free_memory()
    conflicts = conflict_pieces(parcels, loaded.layers, ft, verdicts, tables, tol, ground=ground.result(),
                                allowed_uses=allowed_uses(profile))
    timings["inventory"] = time.perf_counter() - t
    if len(inventory) != len(parcels):  # the contract's invariant: nothing is ever dropped
        raise LandgisError(f"internal error: {len(parcels)} parcels in, {len(inventory)} rows out")
    assert list(inventory.columns[: len(CONTRACT_COLUMNS)]) == list(CONTRACT_COLUMNS)
    log.info("screened %d parcels: %s", len(inventory), inventory["verdict"].value_counts().to_dict())
    return ScreeningResult(inventory=inventory, conflicts=conflicts, profile=profile, project=project,
                           problems=problems, skipped=skipped, timings=timings, facts=facts,
                           layers={role: frame for role, frame in loaded.layers.items() if role in KEPT_LAYERS})


def _site_facts(facts: pd.DataFrame, unavailable: dict[str, str], parcels: gpd.GeoDataFrame,
               layers: Mapping[str, gpd.GeoDataFrame], project: Project, settings: Mapping,
               tables: Mapping[str, CodeTable], timings: dict[str, float] | None = None,
               step: Callable[[str], None] | None = None) -> None:
    """Add the terrain (DEM slope) and road-access facts to ``facts`` in place."""
    step = step or (lambda name: None)
    t = time.perf_counter()
    spec = project.layers.get("dem")
    if spec is not None:
        step("terrain")
    terrain = terrain_facts(parcels, spec, settings, unavailable)
    if terrain is not None:
        for col in terrain:
            facts[col] = terrain[col]
    if timings is not None:
        timings["terrain"] = time.perf_counter() - t
    t = time.perf_counter()
    roads = access_facts(parcels, layers, tables, settings, unavailable)
    if roads is not None:
        for col in roads:
            facts[col] = roads[col]
    if timings is not None:
        timings["access"] = time.perf_counter() - t
