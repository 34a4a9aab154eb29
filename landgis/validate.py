"""Validate stage: every input problem of a project, without screening.

``landgis validate`` prints these; :func:`landgis.screen` raises on the errors
among them. Checks: the project file, the profile, each layer's file, layer
name, CRS (declared, found or inferred), fields (mapped or standard, with the
closest names suggested), booleans and years, geometries (invalid, null,
empty, not polygonal), empty layers, layers that miss the parcels, unknown
class codes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from landgis.codes import normalize_codes
from landgis.config import Project, load_project
from landgis.errors import InputError, LandgisError, Problem
from landgis.facts import code_tables_for
from landgis.load import load_layers
from landgis.profiles import load_profile
from landgis.schema import CLASS_LAYERS

__all__ = ["validate_project"]


def validate_project(project: Project | str | Path) -> list[Problem]:
    """All problems found in the project's inputs (errors, warnings, infos)."""
    if not isinstance(project, Project):
        project = load_project(project)
    problems: list[Problem] = []
    try:
        profile = load_profile(project.profile, base_dir=project.base_dir)
        problems.append(Problem("info", "", f"profile {profile.id} ({profile.name_zh}), "
                                f"{len(profile.rules)} rules"))
    except LandgisError as exc:
        problems.append(Problem("error", "", str(exc)))
        profile = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            loaded = load_layers(project)
        except InputError as exc:
            return problems + exc.problems
    problems += loaded.problems
    tables = code_tables_for(project.codes, profile.codes if profile else {})
    for role in CLASS_LAYERS:
        layer = loaded.layers.get(role)
        if layer is None or "class_code" not in layer:
            continue
        codes = normalize_codes(layer["class_code"])
        info = tables[role].frame(codes.unique())
        unknown = info.index[info["matched"] == ""].tolist()
        if unknown:
            counts = codes[codes.isin(unknown)].value_counts()
            listing = ", ".join(f"{c or '(blank)'} ×{n}" for c, n in counts.head(10).items())
            problems.append(Problem("warning", role, f"class codes not in the {tables[role].title} table: "
                                    f"{listing}; declare them in [codes.{role}] of the project",
                                    field="class_code"))
        problems.append(Problem("info", role, f"{len(layer)} features, {codes.nunique()} distinct class codes"))
    if profile is not None and profile.allowed_uses:
        uses = set(tables["zoning"].uses)
        for use in profile.allowed_uses:
            if use not in uses:
                problems.append(Problem("warning", "zoning", f"profile {profile.id} lets planned use `{use}` enter "
                                        "the market, but no code of the 用地用海 table maps to it, so no parcel can "
                                        f"have it: declare the local sub-codes in [codes.zoning] of the project, "
                                        f"e.g. \"070199\" = {{ name = \"保障性租赁住房用地\", use = \"{use}\" }}",
                                        field="class_code"))
    for role, layer in loaded.layers.items():
        if role not in CLASS_LAYERS:
            problems.append(Problem("info", role, f"{len(layer)} features"))
    return problems
