"""The rule catalogue: every profile's rules side by side, for people.

Generated from the profile files, so it cannot drift from what is applied:
``landgis rules --catalogue --out docs/rules.md`` writes :func:`catalogue_markdown`;
a test checks that the committed ``docs/rules.md`` equals a fresh generation.

>>> table = rules_table(["national", "guilin", "taian"])
>>> table.loc["UDB", "guilin"]
'condition'
>>> load_profile("taian").allowed_uses
['industrial', 'commercial', 'warehouse']
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import replace
from importlib import resources
from typing import Any

import pandas as pd

from landgis.conditions import AllOf, AnyOf, Compare, Condition, LegacyRef, Not
from landgis.profiles import LegacyCategory, Profile, Rule, builtin_profiles, load_profile
from landgis.profiles.supply import SUPPLY_MODES, supply_zh
from landgis.rules import BUILTIN_REASONS
from landgis.schema import OUTCOME_ZH

__all__ = ["rules_table", "describe_condition", "catalogue_markdown", "profile_text",
           "USE_ZH"]

#: Outcome → what it does to the verdict, in Chinese.
#: shown where a rule cites nothing under a profile
_NO_CITATION = "—（所适用的文件未作规定）"

_OPS = {"above": ">", "at_least": "≥", "below": "<", "at_most": "≤", "equals": "=",
        "in": "in", "not_in": "not in", "is": "is", "not_empty": "is set"}
#: Planned-use tags not in the national 用地用海 table (declared by projects).
_EXTRA_USE_ZH = {"rental_housing": "保障性租赁住房用地"}


def _use_names() -> dict[str, str]:
    """Planned-use tag → Chinese name of its broadest 用地用海 class of that use alone."""
    text = resources.files("landgis.codes").joinpath("landuse_2023.csv").read_text(encoding="utf-8-sig")
    rows = [r for r in csv.DictReader(text.splitlines()) if r.get("use")]
    best: dict[str, tuple[int, str]] = {}
    for row in rows:
        code, use = row["code"], row["use"]
        # a class counts only if all its sub-classes have the same use (工矿用地 is industry and mining)
        if any(r["code"].startswith(code) and r["use"] != use for r in rows):
            continue
        if use not in best or len(code) < best[use][0]:
            best[use] = (len(code), row["name"])
    return {**{k: v[1] for k, v in sorted(best.items())}, **_EXTRA_USE_ZH}


#: Planned-use tag → Chinese name (e.g. ``warehouse`` → 仓储用地).
USE_ZH: dict[str, str] = _use_names()


def _profiles(profiles: Iterable[str | Profile] | None) -> list[Profile]:
    names: Sequence[str | Profile] = list(profiles) if profiles is not None else _builtin_order()
    return [p if isinstance(p, Profile) else load_profile(p) for p in names]


def _builtin_order() -> list[str]:
    """``national`` first, then the local profiles alphabetically."""
    names = builtin_profiles()
    return (["national"] if "national" in names else []) + [n for n in names if n != "national"]


def rules_table(profiles: Iterable[str | Profile] | None = None, *, value: str = "outcome") -> pd.DataFrame:
    """Rule ids × profiles: each rule's outcome (or another attribute) per profile.

    Parameters
    ----------
    profiles
        profile names, files or :class:`~landgis.profiles.Profile` objects;
        default every built-in profile, ``national`` first.
    value
        the :class:`~landgis.profiles.Rule` attribute to show: ``outcome``,
        ``source`` (articles of the profile's own document), ``title_zh``,
        ``title_en`` or ``text_zh``; or ``citation``, the rule's full citation
        under the profile (:meth:`~landgis.profiles.Profile.citation`).

    Returns
    -------
    DataFrame
        indexed by rule id (in order of first appearance), one column per
        profile; empty string where a profile has no such rule.

    Examples
    --------
    >>> t = rules_table(["national", "tianning"])
    >>> t.loc["NEG-AGRI"].tolist()
    ['exclude', 'condition']
    >>> rules_table(["guilin"], value="source").loc["PLAN-USE", "guilin"]
    '四（二）1'
    >>> rules_table(["national"], value="citation").loc["FARMLAND", "national"]
    '《中华人民共和国土地管理法》第三十五条第一款；《中华人民共和国土地管理法实施条例》第三条第一款'
    """
    profs = _profiles(profiles)
    ids: list[str] = []
    for p in profs:
        ids += [r for r in p.rule_ids if r not in ids]

    def get(p: Profile, rule_id: str) -> object:
        rule = p.rule(rule_id)
        return p.citation(rule) if value == "citation" else getattr(rule, value)

    data = {p.id: [get(p, r) if r in p.rule_ids else "" for r in ids] for p in profs}
    table = pd.DataFrame(data, index=pd.Index(ids, name="rule"))
    table.columns.name = "profile"
    return table


def describe_condition(cond: Condition) -> str:
    """A rule's ``when`` condition in one line.

    Examples
    --------
    >>> describe_condition(load_profile("national").rule("FARMLAND").when)
    'farmland_m2 > tolerance'
    >>> describe_condition(load_profile("national").rule("OWN-REG").when)
    'registered is false (blank fires)'
    """
    if isinstance(cond, Compare):
        if cond.op == "not_empty":
            text = f"{cond.fact} is set"
        else:
            v = cond.value
            if isinstance(v, bool):
                shown = str(v).lower()
            elif isinstance(v, (list, tuple)):
                shown = "[" + ", ".join(str(x) for x in v) + "]"
            else:
                shown = str(v)
            text = f"{cond.fact} {_OPS.get(cond.op, cond.op)} {shown}"
        return text + (" (blank fires)" if cond.missing == "fire" else "")
    if isinstance(cond, (AnyOf, AllOf)):
        joiner = " or " if isinstance(cond, AnyOf) else " and "
        return joiner.join(_group(c) for c in cond.items)
    if isinstance(cond, Not):
        return f"not {_group(cond.item)}"
    if isinstance(cond, LegacyRef):
        return "legacy in [" + ", ".join(cond.categories) + "]"
    return repr(cond)  # pragma: no cover - no other condition kinds


def _group(cond: Condition) -> str:
    text = describe_condition(cond)
    return f"({text})" if isinstance(cond, (AnyOf, AllOf)) else text


def profile_text(profile: Profile) -> str:
    """A profile's rules as plain text, as ``landgis rules --profile X`` prints them.

    The profile's document (and how its articles are numbered, where the
    document leaves numbers out); each rule: id, outcome, Chinese and English
    titles, the policy text, its citation under this profile and the
    condition; then the historical-legacy categories.

    Examples
    --------
    >>> print(profile_text(load_profile("guilin")).splitlines()[0])
    guilin — 桂林市临桂区 / Guilin (Lingui pilot district), Guangxi
    """
    p = profile
    pad = " " * 15
    lines = [f"{p.id} — {p.name_zh} / {p.name_en}"]
    if p.document:
        lines.append(p.document)
    else:
        lines.append("no document of its own: each rule cites the national documents it rests on")
    if p.numbering_note:
        lines.append(f"条款编号说明：{p.numbering_note}")
    if len(p.chain) > 1:
        lines.append("extends " + " → ".join(p.chain))
    uses = p.allowed_uses
    if uses is not None:
        lines.append("allowed planned uses: " + ", ".join(f"{u} {USE_ZH.get(u, '')}".strip() for u in uses))
    lines.append("")
    for r in p.rules:
        lines.append(f"{r.id:<14} [{r.outcome}] {r.title_zh} → {OUTCOME_ZH[r.outcome]}")
        if r.title_en:
            lines.append(f"{pad}{r.title_en}")
        if r.text_zh:
            lines.append(f"{pad}政策要点 {r.text_zh}")
        lines.append(f"{pad}依据 {p.citation(r) or _NO_CITATION}")
        lines.append(f"{pad}when {describe_condition(r.when)}")
    if p.legacy_categories:
        lines.append("")
        lines.append("legacy categories (precedence order):")
        for c in p.legacy_categories:
            lines.append(f"{c.id:<14} {c.title_zh}")
            if c.title_en:
                lines.append(f"{pad}{c.title_en}")
            lines.append(f"{pad}依据 {p.citation(c) or _NO_CITATION}")
            lines.append(f"{pad}when {describe_condition(c.when)}")
    return "\n".join(lines)


def _own_articles(item: Rule | LegacyCategory) -> str:
    """A catalogue cell's citation: the articles of the profile's own document, else what kind it is."""
    if item.source:
        return _md(item.source)
    return "*national only*" if item.national else "—"


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def catalogue_markdown(profiles: Iterable[str | Profile] | None = None) -> str:
    """The rule catalogue as Markdown: all profiles side by side.

    Sections: the profiles and their documents; every rule id with, per
    profile, its outcome and the articles of that profile's own document;
    allowed planned uses; the historical-legacy categories each profile
    recognises; sale terms; the text and full citation of each rule per
    profile. Each profile cites its own document (and national ones), never
    another's: the comparison across counties is this catalogue's, not a
    reason's. Deterministic: the same profiles give the same text.

    Parameters
    ----------
    profiles
        default every built-in profile, ``national`` first.

    Examples
    --------
    >>> md = catalogue_markdown(["national", "guilin"])
    >>> md.splitlines()[0]
    '# Rule catalogue — 入市筛查规则对照表'
    >>> "| `UDB` 位于城镇开发边界内 | **note**" in md
    True
    """
    profs = _profiles(profiles)
    ids = [p.id for p in profs]
    out: list[str] = [
        "# Rule catalogue — 入市筛查规则对照表",
        "",
        "<!-- Generated from landgis/profiles/*.toml by `landgis rules --catalogue --out docs/rules.md`; "
        "do not edit by hand (a test checks it is up to date). -->",
        "",
        "Every built-in profile side by side. Outcomes: `exclude` → ineligible (不可入市), "
        "`condition` → conditional (有条件入市), `note` → reported only (提示); — where a profile "
        "does not have the rule. \"tolerance\" is the project's `[tolerance] min_overlap_m2`. "
        "`landgis rules --profile ID` prints one profile in full; `landgis rules --facts` lists "
        "what conditions can test.",
        "",
        "## Profiles",
        "",
        "| profile | name | extends | policy document |",
        "|---|---|---|---|",
    ]
    for p in profs:
        parent = " → ".join(p.chain[:-1]) or "—"
        document = _md(p.document) or "— (national documents only, cited per rule)"
        out.append(f"| `{p.id}` | {_md(p.name_zh)}<br>{_md(p.name_en)} | {_md(parent)} | {document} |")
    notes = [p for p in profs if p.numbering_note]
    if notes:
        out.append("")
        out += [f"Numbering, `{p.id}`: {_md(p.numbering_note)}" for p in notes]

    out += ["", "## Rules by profile", "",
            "Each cell: outcome, then the article(s) of that profile's own document (named above, in its "
            "own numbering); *national only* where the rule rests on national documents alone; — where it "
            "cites nothing. Full citations, national documents included, are under Rule texts.", "",
            "| rule | " + " | ".join(f"`{i}`" for i in ids) + " |",
            "|---|" + "---|" * len(ids)]
    outcomes = rules_table(profs)
    by_id = {p.id: p for p in profs}
    titles = {}
    for p in profs:
        for r in p.rules:
            titles.setdefault(r.id, r)
    for rid in outcomes.index:
        r = titles[rid]
        cells = []
        for pid in ids:
            o = outcomes.loc[rid, pid]
            cells.append(f"**{o}**<br>{_own_articles(by_id[pid].rule(rid))}" if o else "—")
        out.append(f"| `{rid}` {_md(r.title_zh)} | " + " | ".join(cells) + " |")

    out += ["", "## Allowed planned uses (`PLAN-USE`)", "",
            "| planned use | " + " | ".join(f"`{i}`" for i in ids) + " |", "|---|" + "---|" * len(ids)]
    allowed = {p.id: p.allowed_uses for p in profs}
    tags: list[str] = []
    for p in profs:
        tags += [t for t in (allowed[p.id] or []) if t not in tags]
    for tag in tags:
        cells = ["—" if allowed[pid] is None else ("✓" if tag in allowed[pid] else "") for pid in ids]
        out.append(f"| `{tag}` {_md(USE_ZH.get(tag, ''))} | " + " | ".join(cells) + " |")

    out += ["", "## Historical-legacy categories (历史遗留)", "",
            "Each cell: the profile's order of precedence (the first category a parcel meets is "
            "reported), then the article(s) of that profile's own document.", "",
            "| category | " + " | ".join(f"`{i}`" for i in ids) + " | condition |",
            "|---|" + "---|" * (len(ids) + 1)]
    cats: dict[str, object] = {}
    for p in profs:
        for c in p.legacy:
            cats.setdefault(c.id, c)
    for cid, c in cats.items():
        cells = []
        for p in profs:
            order = [x.id for x in p.legacy_categories]
            cells.append(f"{order.index(cid) + 1}<br>{_own_articles(p.legacy_categories[order.index(cid)])}"
                         if cid in order else "")
        out.append(f"| `{cid}` {_md(c.title_zh)}<br>{_md(c.title_en)} | " + " | ".join(cells)
                   + f" | {_md(describe_condition(c.when))} |")

    kinds: list[str] = []
    for p in profs:
        kinds += [k for k in p.terms if k not in kinds]
    for kind in kinds:
        out += ["", f"## Terms: `{kind}` (years)", "",
                "| planned use | " + " | ".join(f"`{i}`" for i in ids) + " |", "|---|" + "---|" * len(ids)]
        uses: list[str] = []
        for p in profs:
            uses += [u for u in p.terms.get(kind, {}) if u not in uses]
        for use in uses:
            cells = [f"{p.terms[kind][use]:g}" if use in p.terms.get(kind, {}) else "" for p in profs]
            out.append(f"| `{use}` {_md(USE_ZH.get(use, ''))} | " + " | ".join(cells) + " |")

    out += ["", "## Supply modes and terms (`[supply]`), policy in force until", "",
            "| | " + " | ".join(f"`{i}`" for i in ids) + " |", "|---|" + "---|" * len(ids)]
    for mode, name in SUPPLY_MODES.items():
        cells = [_md(supply_zh(_only(p, mode)).partition("：")[2]) for p in profs]
        if any(cells):
            out.append(f"| `{mode}` {name} | " + " | ".join(cells) + " |")
    out.append("| in force until | " + " | ".join(
        _md(f"{p.valid_until}（{p.valid_source}）" if p.valid_until else "") for p in profs) + " |")

    out += ["", "## Settings", "", "| setting | " + " | ".join(f"`{i}`" for i in ids) + " |",
            "|---|" + "---|" * len(ids)]
    keys: list[str] = []
    for p in profs:
        keys += [k for k in p.settings if k not in keys]
    for key in keys:
        cells = []
        for p in profs:
            v = p.settings.get(key, "")
            cells.append(_md(", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v))
        out.append(f"| `{key}` | " + " | ".join(cells) + " |")

    out += ["", "## Rule texts", "",
            "Per rule, what each profile says; profiles that say the same as the one before are grouped."]
    for rid in outcomes.index:
        out += ["", f"### `{rid}`", ""]
        groups: list[tuple[tuple, list[str]]] = []
        for p in profs:
            if rid not in p.rule_ids:
                continue
            r = p.rule(rid)
            key = (r.title_zh, r.title_en, r.text_zh, p.citation(r), r.outcome, describe_condition(r.when))
            for k, members in groups:
                if k == key:
                    members.append(p.id)
                    break
            else:
                groups.append((key, [p.id]))
        for (title_zh, title_en, text_zh, cited, outcome, when), members in groups:
            out.append(f"- **{', '.join(members)}** — {outcome} ({OUTCOME_ZH[outcome]}): {title_zh}"
                       + (f" / {title_en}" if title_en else ""))
            if text_zh:
                out.append(f"  - 政策要点：{text_zh}")
            out.append(f"  - 依据：{_md(cited) or _NO_CITATION}")
            out.append(f"  - when: `{when}`")
            actions = sorted({p.rule(rid).action_zh for p in profs if p.id in members and p.rule(rid).action_zh})
            out += [f"  - 入市前须办理：{_md(a)}" for a in actions]
    out += _builtin_reasons_markdown()
    return "\n".join(out) + "\n"


def _builtin_reasons_markdown() -> list[str]:
    """The reasons landgis gives of itself, in every profile (``landgis/reasons.toml``)."""
    nodata = BUILTIN_REASONS["NODATA"]
    out = ["", "## Reasons landgis gives of itself", "",
           "Not a policy's rule, so every profile has them; each is cited to nothing.", "",
           f"- `GEOMETRY` {BUILTIN_REASONS['GEOMETRY']['title_zh']} — ineligible: the parcel's geometry is null, "
           "empty, not a polygon or nothing is left after repair; no rule can be measured on it.",
           f"- `NODATA-<rule>` {nodata['title_zh']} — at least conditional (a note for a rule its profile marks "
           "`optional`): the rule could not be checked on the parcel, because a layer or attribute it tests is "
           "missing or a legacy category it rests on cannot be told. Nothing unchecked is eligible. The reason "
           f"names the data that settles it; the action: {nodata['action_zh']}. By the fact the rule lacks:", "",
           "| fact (prefix) | data that settles it |", "|---|---|"]
    out += [f"| `{key}` | {_md(text)} |" for key, text in nodata["data"].items()]
    return out


def _only(profile: Any, mode: str) -> Any:
    """``profile`` with only ``mode`` of its supply modes (to say one mode's terms)."""
    return replace(profile, supply={mode: profile.supply[mode]} if mode in profile.supply else {})
