"""The screening pipeline: load → overlay → facts → legacy → rules → inventory.

:func:`screen` is what ``landgis screen`` runs and what a notebook calls; it
returns a :class:`ScreeningResult` that shows itself in Jupyter, hands out the
inventory as a GeoDataFrame and writes every output the CLI writes.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from landgis import io
from landgis.access import load_deferred_layers, site_facts, vector_layers_only
from landgis.catalogue import allowed_uses
from landgis.config import Project, load_project
from landgis.engines import ENGINES
from landgis.errors import LandgisError, Problem, SkippedRuleWarning
from landgis.facts import CLASS_LAYERS, MEASURE_LAYERS, code_tables_for, compute_overlays, parcel_facts
from landgis.inventory import (
    CONTRACT_COLUMNS,
    build_inventory,
    conflict_piece_masks,
    conflict_pieces,
    ellipsoidal_area,
    ground_conflict_pieces,
    summaries,
)
from landgis.legacy import classify_legacy
from landgis.load import LoadedLayers, load_layers, usable_geometry
from landgis.profiles import Profile, load_profile
from landgis.rules import SkippedRule, evaluate_rules

if TYPE_CHECKING:
    from landgis.comparison import Comparison

__all__ = ["screen", "ScreeningResult", "screen_layers", "KEPT_LAYERS"]

#: input layers a ScreeningResult keeps (for its maps); the others are freed after screening
KEPT_LAYERS = ("farmland", "redline", "udb", "zoning", "admin")

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

#: What ``progress=`` accepts: a callback given each stage's name, ``True``
#: (always a bar), ``False`` (never) or ``None`` (a bar in Jupyter or a terminal).
ProgressArg = Callable[[str], None] | bool | None


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
    facts
        every fact per parcel the rules read (aligned with ``inventory``).
    layers
        the canonical input layers the maps draw (farmland, red line, urban
        development boundary, planned use, admin). The survey layers are not
        kept once screened: at county scale they are the largest layers in
        memory and nothing after screening reads them.

    In Jupyter the result displays as a summary: parcels and areas (m², 亩) by
    verdict, the most frequent reasons, legacy land, input problems and
    rules that could not be checked.

    Examples
    --------
    Screen the bundled sample county (its two unrepairable parcels raise a
    :class:`~landgis.errors.GeometryRepairWarning`; they stay in the
    inventory as ``ineligible``/``GEOMETRY`` and are listed in ``problems``):

    >>> import warnings, landgis
    >>> from pathlib import Path
    >>> sample = Path(landgis.__file__).parents[1] / "data" / "sample_county.toml"
    >>> with warnings.catch_warnings(action="ignore", category=landgis.errors.LandgisWarning):
    ...     result = landgis.screen(sample, progress=False)
    >>> result
    <ScreeningResult {'eligible': 302, 'conditional': 20, 'ineligible': 94} profile=guilin>
    >>> row = result.inventory.set_index("parcel_id").loc["450399100004JC00020"]
    >>> row["verdict"], row["reasons"], float(row["farmland_m2"])
    ('ineligible', 'FARMLAND;PLAN-USE', 300.0)
    >>> [p.features for p in result.problems if p.severity == "warning"][:1]
    ['450399103002JC00014, 450399102002JC00011']
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
        """The inventory without geometry: exactly what ``inventory.csv`` holds.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 302, 'conditional': 20, 'ineligible': 94} profile=guilin>
        >>> list(result.table.columns[:6])
        ['parcel_id', 'area_m2', 'area_mu', 'verdict', 'reasons', 'legacy']
        >>> len(result.table) == len(result.inventory) == 416
        True
        """
        return pd.DataFrame(self.inventory.drop(columns="geometry"))

    def summary(self) -> dict[str, pd.DataFrame]:
        """Summary tables, as in the summary sheets of ``inventory.xlsx``.

        Returns
        -------
        dict of DataFrame
            ``by_verdict``, ``by_town``, ``by_village``, ``by_planned_use``, ``by_rule``
            (parcels per rule id, most frequent first) and ``legacy``.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 302, 'conditional': 20, 'ineligible': 94} profile=guilin>
        >>> sorted(result.summary())
        ['by_planned_use', 'by_rule', 'by_town', 'by_verdict', 'by_village', 'legacy']
        >>> by_rule = result.summary()["by_rule"]
        >>> dict(zip(by_rule["rule"][:2], by_rule["parcels"][:2]))
        {'PLAN-USE': 66, 'NEG-AGRI': 8}
        """
        return summaries(self.inventory)

    def counts(self) -> dict[str, int]:
        """Parcels per verdict.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 302, 'conditional': 20, 'ineligible': 94} profile=guilin>
        >>> result.counts()
        {'eligible': 302, 'conditional': 20, 'ineligible': 94}
        """
        vc = self.inventory["verdict"].value_counts()
        return {v: int(vc.get(v, 0)) for v in ("eligible", "conditional", "ineligible")}

    def write(self, out: str | Path, *, overwrite: bool = False, map_html: bool = True,
              progress: ProgressArg = None, changes: Comparison | None = None) -> Path:
        """Write every output ``landgis screen`` writes into the folder ``out``.

        ``inventory.csv``, ``inventory.xlsx``, ``screening.gpkg``, (unless
        ``map_html=False``) ``map.html`` and (given ``changes``) ``changes.csv``. Outputs appear only when all are
        complete (written in a temporary folder, then moved); an existing
        screening is replaced only with ``overwrite=True``.

        Parameters
        ----------
        out
            the output folder (created if needed).
        overwrite
            replace the outputs of an earlier screening in ``out``. Those not written
            again (its ``map.html`` when ``map_html=False``, the maps ``landgis map``
            drew) are removed: they would show its verdicts beside this inventory.
        map_html
            also write the interactive map.
        progress
            as for :func:`screen`.
        changes
            a :func:`~landgis.comparison.compare` of an earlier screening with this one,
            written as ``changes.csv`` (the parcels that changed, as ``landgis compare --out``).

        Returns
        -------
        Path
            ``out``.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 302, 'conditional': 20, 'ineligible': 94} profile=guilin>
        >>> import tempfile
        >>> out = result.write(Path(tempfile.mkdtemp()) / "out", map_html=False)
        >>> sorted(p.name for p in out.iterdir())
        ['inventory.csv', 'inventory.xlsx', 'screening.gpkg']
        """
        from landgis.report import write_xlsx

        out = Path(out)
        t0 = time.perf_counter()
        step = _Progress(progress, total=3 if map_html else 2, desc="writing")
        try:
            with io.output_dir(out, overwrite=overwrite) as tmp, \
                    ThreadPoolExecutor(1, thread_name_prefix="landgis-write") as pool:
                # two lanes of about equal length on two cores: GDAL writes the GeoPackage
                # (GIL released, landgis._gdal), then the spreadsheet is made, in a thread,
                # while the CSV and the map are made here (a third lane only shared the
                # cores: no faster, and 40 MB more at its peak)
                step("screening.gpkg, inventory.xlsx")
                gpkg = pool.submit(self._timed, "write_gpkg", io.write_gpkg,
                                   {"parcels": self.inventory, "conflicts": self.conflicts}, tmp / "screening.gpkg")
                table = self.table  # one copy for the csv and the spreadsheet, which only read it
                xlsx = pool.submit(self._timed, "write_xlsx", write_xlsx, self, tmp / "inventory.xlsx", table)
                try:
                    step("inventory.csv")
                    io.write_csv(table, tmp / "inventory.csv")
                    if changes is not None:
                        changes.write(tmp / "changes.csv")
                    if map_html:
                        from landgis.maps import web_map
                        step("map.html")
                        web_map(self).save(str(tmp / "map.html"))
                finally:
                    wait([gpkg, xlsx])  # never leave the folder (removed on error) while a thread writes in it
                gpkg.result()
                xlsx.result()
        finally:
            step.close()
        self.timings["write"] = time.perf_counter() - t0
        release_free_memory()
        return out

    def _timed(self, key: str, func: Callable, *args) -> None:
        t = time.perf_counter()
        func(*args)
        self.timings[key] = time.perf_counter() - t

    def map(self):
        """The interactive map (a :class:`~landgis.maps.webmap.WebMap`); displays inline in Jupyter.

        Parcels by verdict, the constraint layers and the conflict pieces;
        ``result.map().save("map.html")`` writes it alone.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 302, 'conditional': 20, 'ineligible': 94} profile=guilin>
        >>> m = result.map()
        >>> hasattr(m, "_repr_html_") and hasattr(m, "save")
        True
        """
        from landgis.maps import web_map
        return web_map(self)

    def text_summary(self) -> str:
        """The plain-text summary ``landgis screen`` prints.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 302, 'conditional': 20, 'ineligible': 94} profile=guilin>
        >>> print(result.text_summary().splitlines()[2])
          eligible        302 parcels      729,341.75 m²    1,094.0126 亩
        """
        c = self.counts()
        by = self.summary()["by_verdict"].set_index("verdict")
        lines = [f"{self.project.name} — profile {self.profile.id} ({self.profile.name_zh})",
                 f"{len(self.inventory)} parcels screened{self._parcel_filter()}:"]
        for v in ("eligible", "conditional", "ineligible"):
            lines.append(f"  {v:<12} {c[v]:>6} parcels  {by.loc[v, 'area_m2']:>14,.2f} m²  "
                         f"{by.loc[v, 'area_mu']:>12,.4f} 亩")
        rules = self.summary()["by_rule"].head(8)
        if len(rules):
            lines.append("most frequent reasons: " + ", ".join(f"{r} ({n})" for r, n in zip(rules["rule"], rules["parcels"], strict=True)))
        for s in self.skipped:
            lines.append(f"not checked: {s.rule} — {s.why}")
        return "\n".join(lines)

    def _parcel_filter(self) -> str:
        """`` (those where = "…")`` when the parcels layer is filtered, else nothing: the count is not the layer's."""
        spec = self.project.layers.get("parcels")
        where = getattr(spec, "where", None)
        return f" (those where = \"{where}\")" if where else ""

    def __repr__(self) -> str:
        return f"<ScreeningResult {self.counts()} profile={self.profile.id}>"

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        from landgis.report import result_html
        return result_html(self)


def screen(project: Project | str | Path, *, profile: str | Path | Profile | None = None,
           strict: bool = False, progress: ProgressArg = None, engine: str = "local",
           **engine_options) -> ScreeningResult:
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
        a callback given the name of each stage as it starts (the CLI's);
        ``True`` for a progress bar (a widget in Jupyter when ipywidgets is
        installed, text otherwise), ``False`` for none; by default a bar is
        shown in Jupyter and in a terminal, never when output is captured.
    engine
        ``"local"`` (this process) or ``"dask"``: spatial tiles screened on a
        dask.distributed cluster (``pip install 'landgis[dask]'``), same rows;
        ``engine_options`` go to :func:`landgis.engines.dask.screen_dask`
        (``client=``, ``tile_parcels=``).

    Returns
    -------
    ScreeningResult
        the inventory (one row per input parcel, none dropped), conflict
        pieces, summaries and problems; ``.write(out)`` writes every output.

    Raises
    ------
    landgis.errors.InputError
        listing every input problem that prevents screening.

    Warns
    -----
    landgis.errors.LandgisWarning
        for each repair or assumption (also recorded in ``result.problems``).

    Examples
    --------
    >>> import warnings, landgis
    >>> from pathlib import Path
    >>> sample = Path(landgis.__file__).parents[1] / "data" / "sample_county.toml"
    >>> with warnings.catch_warnings(action="ignore", category=landgis.errors.LandgisWarning):
    ...     result = landgis.screen(sample, progress=False)
    >>> result.counts()
    {'eligible': 302, 'conditional': 20, 'ineligible': 94}

    The same parcels under another profile:

    >>> with warnings.catch_warnings(action="ignore", category=landgis.errors.LandgisWarning):
    ...     taian = landgis.screen(sample, profile="taian", progress=False)
    >>> taian.profile.id, len(taian.inventory)
    ('taian', 416)
    """
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "dask":
        from landgis.engines.dask import screen_dask
        return screen_dask(project, profile=profile, strict=strict,
                           progress=progress if callable(progress) else None, **engine_options)
    if engine_options:
        raise TypeError(f"options {', '.join(engine_options)} are for engine='dask'")
    if not isinstance(project, Project):
        project = load_project(project)
    prof = _profile(project, profile)
    tune_malloc()
    n_overlays = sum(role in project.layers for role in (*MEASURE_LAYERS, *CLASS_LAYERS))
    step = _Progress(progress, total=3 + n_overlays, desc="screening")
    timings: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        step("load")
        loaded = load_layers(vector_layers_only(project), strict=strict)
        load_deferred_layers(loaded, project)  # roads layer, raster constraints
        timings["load"] = time.perf_counter() - t0
        result = screen_layers(loaded, project, prof, progress=step, timings=timings)
        del loaded  # the survey layers and overlay pieces: hundreds of MB at county scale
        release_free_memory()
    finally:
        step.close()
    return result


#: blocks of at least this size are mapped from the OS and given back when freed (see :func:`tune_malloc`)
MMAP_THRESHOLD = 4 << 20
_malloc_tuned = False


def tune_malloc() -> None:
    """Make glibc give large freed blocks straight back to the operating system (once per process).

    glibc raises its mmap threshold each time a mapped block is freed (up to 32 MB), so
    a screening's NumPy temporaries of a few MB soon come from the heap, where the
    worker threads' arenas keep them after use. A fixed threshold of 4 MiB keeps them
    mapped: the bench county's peak fell from 1119 to 1064 MiB, for ~0.5 s more of
    system time (1 MiB: 1035 MiB, +2 s). An explicit
    ``MALLOC_MMAP_THRESHOLD_`` in the environment is left as it is; other C libraries
    are left alone.
    """
    global _malloc_tuned
    if _malloc_tuned or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    _malloc_tuned = True
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    M_MMAP_THRESHOLD = -3
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_free_memory() -> None:
    """Hand memory freed by Python and GEOS back to the operating system (glibc only; else nothing).

    glibc keeps freed small blocks (a county's 450k survey polygons) in its heap, and
    Arrow's pool keeps the writers' buffers, so the next stage would otherwise stack on
    top of memory no one uses.
    """
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


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
    site_facts(facts, ft.unavailable, parcels, loaded.layers, project, profile.settings, tables, timings, step)
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


class _Progress:
    """Stage-by-stage progress: the caller's callback, a tqdm bar, or nothing.

    Called with each stage's name as it starts; ``close()`` completes the bar.
    """

    def __init__(self, progress: ProgressArg, total: int, desc: str):
        self._callback = progress if callable(progress) else None
        self._bar = None
        self._started = False
        if self._callback is None and (progress is True or (progress is None and _interactive())):
            self._bar = _tqdm()(total=total, desc=desc, unit="step", leave=True,
                                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                           "[{elapsed}]{postfix}")

    def __call__(self, name: str) -> None:
        if self._callback is not None:
            self._callback(name)
        elif self._bar is not None:
            if self._started:
                if self._bar.n + 1 >= self._bar.total:  # more stages than foreseen (optional layers)
                    self._bar.total = self._bar.n + 2
                self._bar.update(1)
            self._started = True
            self._bar.set_postfix_str(name)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._bar.total - self._bar.n)
            self._bar.set_postfix_str("done")
            self._bar.close()
            self._bar = None


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None else None  # type: ignore[attr-defined]
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _interactive() -> bool:
    if _in_jupyter():
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _tqdm():
    """tqdm.auto's choice, without its warning when ipywidgets is missing (then text)."""
    if _in_jupyter():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm
            return tqdm
        except ImportError:
            pass
    from tqdm.std import tqdm
    return tqdm


def _profile(project: Project, override: str | Path | Profile | None) -> Profile:
    if isinstance(override, Profile):
        return override
    return load_profile(override if override is not None else project.profile, base_dir=project.base_dir)

