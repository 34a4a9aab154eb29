"""``landgis.screen``: a project in, a :class:`~landgis.result.ScreeningResult` out, on an engine.

The stages live in :mod:`landgis.pipeline`; the engines (:mod:`landgis.engines`) run them
here or on a dask cluster.
"""

from __future__ import annotations

import datetime as _dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from landgis._runtime import ProgressArg
from landgis.adjustment import adjust_marginal
from landgis.checklist import checklist, checklist_zh
from landgis.config import Project, load_project
from landgis.decisions import decision_text
from landgis.engines import ENGINES
from landgis.engines.local import screen_local
from landgis.enterable import ENTERABLE_COLUMNS, enterable_parts
from landgis.errors import Problem
from landgis.profiles import Profile, builtin_profiles, resolve_profile
from landgis.provenance import screening_record
from landgis.result import ScreeningResult
from landgis.supply_plan import PLAN_COLUMNS, plan_columns, plan_notes, read_plan

__all__ = ["screen", "ScreeningResult"]


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
    {'eligible': 286, 'conditional': 27, 'ineligible': 105}

    The same parcels under another profile:

    >>> with warnings.catch_warnings(action="ignore", category=landgis.errors.LandgisWarning):
    ...     taian = landgis.screen(sample, profile="taian", progress=False)
    >>> taian.profile.id, len(taian.inventory)
    ('taian', 418)
    """
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not one of {', '.join(ENGINES)}")
    if engine == "local" and engine_options:
        raise TypeError(f"options {', '.join(engine_options)} are for engine='dask'")
    if not isinstance(project, Project):
        project = load_project(project)
    # the supply plan is read first: a plan that cannot be read stops the run before it screens
    plan = read_plan(project.tables["supply_plan"]) if "supply_plan" in project.tables else None
    # the inputs are fingerprinted (screening.json) in a thread while they are screened
    with ThreadPoolExecutor(1, thread_name_prefix="landgis-record") as pool:
        record = pool.submit(screening_record, project, _profile_ref(project, profile))
        if engine == "dask":
            from landgis.engines.dask import screen_dask
            result = screen_dask(project, profile=profile, strict=strict,
                                 progress=progress if callable(progress) else None, **engine_options)
        else:
            result = screen_local(project, resolve_profile(project, profile), strict=strict, progress=progress)
        result.record = record.result()
    prof = result.profile
    # the enterable part of each parcel, from the inventory and conflict pieces either engine made
    result.enterable, enterable = enterable_parts(result.inventory, result.conflicts, prof.excluding_rules)
    for col in ENTERABLE_COLUMNS:
        result.inventory[col] = enterable[col]
    adjust_marginal(result.inventory, prof)   # where the profile lets a marginal conflict in on condition
    planned = plan_columns(result.inventory, plan)
    # said in the 数据问题 sheet and the run's summary (a plan's slips do not stop or taint the screening)
    for english, chinese in plan_notes(result.inventory, plan):
        result.problems.append(Problem("warning", "supply_plan", english, message_zh=chinese))
    for col in PLAN_COLUMNS:
        result.inventory[col] = planned[col]
    if result.facts is not None:
        result.inventory["decision_zh"] = decision_text(result.facts.reset_index(drop=True))
    rule_ids = set(prof.rule_ids)
    result.inventory["checklist_zh"] = checklist_zh(checklist(result.inventory, rule_ids), rule_ids)
    # the policy the verdicts rest on, and its term of force as it stood on the day
    result.record["policy"] = {"document": prof.document, "valid_until": prof.valid_until,
                               "valid_source": prof.valid_source,
                               "in_force": not prof.expired_on(_dt.date.today())}
    return result


def _profile_ref(project: Project, override: str | Path | Profile | None) -> str | None:
    """How the profile a screening applies can be found again: a built-in name or a file's absolute
    path; None for a Profile built in memory."""
    ref = override if override is not None else project.profile
    if isinstance(ref, Profile):
        return None
    if str(ref) in builtin_profiles():
        return str(ref)
    path = Path(ref)
    return str((path if path.is_absolute() else project.base_dir / path).absolute())
