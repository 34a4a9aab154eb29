"""``landgis init``: a commented project file from what :mod:`landgis.discover` found in a delivery.

The file says, under each layer, why that source was chosen, the other candidates seen and
the parcel attributes no field was found for (with the names that would fill them); and,
at its end, the roles no layer was found for and which rules the screening then does not
check. It is a starting point to read and correct, then ``landgis validate``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from pathlib import Path

from landgis.discover import MIN_SCORE, Candidate, FoundLayer, choose, hints, local_use, rank, scan
from landgis.errors import LandgisError, OutputError
from landgis.profiles import load_profile
from landgis.schema import LAYER_ROLES, LAYER_ZH, STANDARD_FIELDS

__all__ = ["init_project", "project_text"]

#: the parcel attributes in Chinese, for the comments
_ATTRIBUTE_ZH = {
    "town": "乡镇名称", "village": "村名称", "registered": "是否已确权登记", "restricted": "是否查封或权利受限",
    "formed_year": "建成（形成）年份", "house_cert": "是否有房屋所有权证", "land_use_cert": "是否有集体建设用地使用证",
    "penalized": "违法用地是否处罚到位", "street_front": "是否临街商业用地", "retain_buildings": "规划是否允许保留建筑",
    "county_approved": "是否经县级人民政府批准", "plan_committed": "属地政府是否承诺纳入规划",
}


def init_project(folder: str | Path, out: str | Path | None = None, profile: str = "national") -> tuple[Path, str]:
    """Scan ``folder`` and write a project file for it; return its path and text.

    ``out`` defaults to ``landgis.toml`` in ``folder``. An existing file is never replaced.

    Raises
    ------
    landgis.errors.OutputError
        when ``out`` exists.
    landgis.errors.LandgisError
        when no layer can be the parcels, naming what was found.
    """
    root = Path(folder)
    target = Path(out) if out is not None else root / "landgis.toml"
    if target.is_dir():
        raise OutputError(f"--out {target} is a folder; give the project file to write, e.g. {target / 'landgis.toml'}")
    if target.exists():
        raise OutputError(f"{target} exists; landgis init does not replace a project file: remove it, or give "
                          "another --out")
    load_profile(profile)  # an unknown profile is said before the folder is scanned
    found, unread = scan(root)
    ranked = rank(found, root)
    chosen = choose(ranked)
    if "parcels" not in chosen:
        seen = ", ".join(f.label(root) for f in found[:30]) or "no GIS layer"
        broken = ("; could not read: " + "; ".join(unread[:10])) if unread else ""
        raise LandgisError(f"no layer in {root} looks like the parcels (宗地: a layer named ZD or 宗地, or with "
                           f"the field ZDDM); found: {seen}{broken}. Write the project by hand from "
                           "data/sample_county.toml, or add the parcels to the folder")
    text = project_text(root, target, chosen, ranked, unread, profile)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "x", encoding="utf-8", newline="\n") as f:  # "x": never over a file made meanwhile
        f.write(text)
    return target, text


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _relative(path: Path, start: Path) -> str:
    """``path`` as the project file writes it: relative to its folder where it can be, with ``/``."""
    try:
        return Path(os.path.relpath(path.absolute(), start.absolute())).as_posix()
    except ValueError:  # another drive (Windows)
        return path.absolute().as_posix()


def _describe(found: FoundLayer) -> str:
    bits = [f"{found.features} features" if found.features >= 0 else "", found.crs or "no CRS declared",
            *(n for n in found.notes if "[layers.scan]" not in n)]
    return "; ".join(b for b in bits if b)


def project_text(root: Path, target: Path, chosen: Mapping[str, Candidate],
                 ranked: Mapping[str, list[Candidate]], unread: list[str], profile: str) -> str:
    """The project file's text (see the module's docstring)."""
    base = target.parent
    parcels = chosen["parcels"].found
    lines = [f"# landgis project written by `landgis init` from {root.absolute().as_posix()}",
             f"# on {_dt.date.today().isoformat()}. Read each layer's comments, correct what is wrong, then:",
             f"#   landgis validate {target.name}",
             f"#   landgis screen {target.name} --out OUT",
             "", "[project]", f"name = {_q(root.absolute().name + ' 集体经营性建设用地入市筛查')}",
             f"profile = {_q(profile)}"]
    if parcels.epsg is not None and "Gauss" in parcels.crs:
        lines.append(f"crs = \"EPSG:{parcels.epsg}\"          # the parcels' own: {parcels.crs}")
    else:
        lines.append(f"# crs = \"EPSG:4546\"   # the working CRS: the parcels are in {parcels.crs or 'no declared CRS'};"
                     " name the CGCS2000 Gauss-Krüger zone of the county")
    for role in LAYER_ROLES:
        if role in chosen:
            lines += [""] + _layer_section(role, chosen[role], ranked.get(role, []), root, base)
    if "zoning" in chosen and chosen["zoning"].found.local_codes:
        lines += [""] + _local_code_lines(chosen["zoning"].found.local_codes)
    missing = [role for role in LAYER_ROLES if role not in chosen]
    if missing:
        lines += ["", "# ---- not found in the folder ----"]
        rules = load_profile(profile).rules
        gives = hints().get("gives", {})
        used = {(c.found.path, c.found.layer) for c in chosen.values()}
        for role in missing:
            near = [c for c in ranked.get(role, []) if (c.found.path, c.found.layer) not in used]
            lines += _missing_section(role, gives.get(role, {}), rules, near, root)
    if unread:
        lines += ["", "# ---- could not be read ----"] + [f"# {u}" for u in unread]
    return "\n".join(lines) + "\n"


def _layer_section(role: str, cand: Candidate, others: list[Candidate], root: Path, base: Path) -> list[str]:
    found = cand.found
    lines = [f"# {LAYER_ZH.get(role, role)}: {LAYER_ROLES[role]}",
             f"# chosen: {found.label(root)} (score {cand.score}: {', '.join(cand.why)})",
             f"#   {_describe(found)}"]
    rest = [c for c in others if c.found != found and c.score >= MIN_SCORE][:4]
    for c in rest:
        tie = "SAME SCORE, check which is right: " if c.score == cand.score else ""
        lines.append(f"# also seen: {tie}{c.found.label(root)} (score {c.score}: {', '.join(c.why)}; "
                     f"{_describe(c.found)})")
    lines += [f"[layers.{role}]", f"path = {_q(_relative(found.path, base))}"]
    if found.layer is not None and found.path.suffix.lower() != ".shp":
        lines.append(f"layer = {_q(found.layer)}")
    if found.encoding:
        lines.append(f"encoding = {_q(found.encoding)}   # no code page declared and the text is not UTF-8")
    if found.geometry != "raster":
        lines += _field_lines(role, found)
    return lines


def _field_lines(role: str, found: FoundLayer) -> list[str]:
    standard = STANDARD_FIELDS.get(role, {})
    lines: list[str] = []
    read = [f"{canon} ← {src}" for canon, names in standard.items()
            if (src := next((found.has(n) for n in names if found.has(n)), None))]
    if read:
        lines.insert(0, f"# standard fields read as they are: {', '.join(read)}")
    aliased = hints()["parcel_fields"] if role == "parcels" else {}
    unmapped_std = [f"{canon} ({'/'.join(names)})" for canon, names in standard.items()
                    if not any(found.has(n) for n in names) and canon not in aliased]
    mapped: dict[str, str] = {}
    missing: list[str] = []
    if role == "parcels":
        preferred = hints().get("prefer_over_standard", [])
        for canon, aliases in hints()["parcel_fields"].items():
            if canon in standard and any(found.has(n) for n in standard[canon]) and not (
                    canon in preferred and any(found.has(a) for a in aliases)):
                continue
            src = next((found.has(a) for a in aliases if found.has(a)), None)
            if src is not None:
                mapped[canon] = src
            else:
                missing.append(f"{canon} ({_ATTRIBUTE_ZH.get(canon, '')}; e.g. {', '.join(aliases[:3])})")
    used = {v.lower() for v in mapped.values()} | {n.lower() for names in standard.values() for n in names}
    spare = [f for f in found.fields if f.lower() not in used]
    if unmapped_std:
        lines.append(f"# standard fields not found: {', '.join(unmapped_std)}")
    if missing:
        lines.append(f"# no field found for: {'; '.join(missing)}")
        lines.append("#   the rules reading these treat every parcel as 未核查 (conditional) where they must know "
                     "them: map a field below if the layer has one")
    if spare and (missing or unmapped_std):
        lines.append(f"# fields of the layer not used: {', '.join(spare[:40])}")
    if mapped:
        lines.append(f"[layers.{role}.fields]")
        width = max(len(k) for k in mapped)
        values = {canon: _q(src) for canon, src in mapped.items()}
        pad = max(len(v) for v in values.values())
        lines += [f"{canon:<{width}} = {values[canon]:<{pad}}  # {_ATTRIBUTE_ZH.get(canon, canon)}" for canon in mapped]
    return lines


def _local_code_lines(local: tuple[tuple[str, str, int], ...]) -> list[str]:
    """[codes.zoning] for the planned-use codes outside the national table: those whose name says
    another use than their national ancestor's given it, the others said in a comment."""
    from landgis.codes import code_table

    table = code_table("zoning")
    lines = ["# planned-use codes not in the national 用地用海 classification (local extensions); each is read",
             "# as its nearest national class unless given a use here"]
    entries = []
    for code, name, count in local:
        parent = table.lookup(code)
        as_parent = (f"{parent.matched} {parent.name} ({parent.use or 'no use'})" if parent.known
                     else "no national class (unknown: the planning rules cannot place it)")
        use = local_use(name)
        if use is not None and use != parent.use:
            entries.append(f"{_q(code)} = {{ name = {_q(name)}, use = {_q(use)} }}    # {count} patches: use from "
                           f"its name, CHECK IT; unlisted it would be read as {as_parent}")
        else:
            lines.append(f"#   {code} {name} ({count} patches): read as {as_parent}")
    if entries:
        lines += ["[codes.zoning]", *entries]
    return lines


def _missing_section(role: str, gives: Mapping, rules, near: list[Candidate], root: Path) -> list[str]:
    looked = hints()["roles"].get(role, {}).get("names", [])[:6]
    facts = tuple(gives.get("facts", ()))
    hit = [r for r in rules if facts and any(f.startswith(facts) for f in r.facts) and r.outcome != "note"]
    lines = [f"# [layers.{role}] {LAYER_ZH.get(role, role)} ({LAYER_ROLES[role]}): no layer found"
             + (f" (looked for {', '.join(looked)})" if looked else "")]
    for c in near[:2]:
        lines.append(f"#   nearest: {c.found.label(root)} (score {c.score}, below {MIN_SCORE}: {', '.join(c.why)}); "
                     f"if it is this layer, write [layers.{role}] for it")
    if hit:
        lines.append("#   not checked without it, so no parcel can be eligible before it is given (NODATA-…): "
                     + "; ".join(f"{r.id} {r.title_zh}" for r in hit))
    if gives.get("note"):
        lines.append(f"#   {gives['note']}")
    if not hit and not gives.get("note"):
        lines.append("#   no rule of this profile reads it")
    return lines
