"""Rule profiles: TOML files read into frozen dataclasses.

A profile is a list of rules (id, texts, citation, outcome, condition), the
historical-legacy categories, settings and term tables. The built-in
``national`` profile holds the rules every policy shares; each local profile
``extends`` it and restates only what its policy changes. A user profile can
extend any built-in one the same way::

    [profile]
    id = "my-county"
    extends = "guilin"
    [[rules]]
    id = "UDB"
    outcome = "note"          # inside the boundary: report only
    [settings]
    disable = ["PLAN-EXTRA"]

Merging: a rule with an existing id changes only the keys it gives (``when``
is replaced whole); a new id is appended; ``settings.disable`` removes rules.

Citations. Under a profile a rule cites that profile's own document
(``[profile] document``, its full title in 《》) and, where the rule rests on
them, national documents: ``source`` holds the article(s) of the profile's own
document only, in that document's numbering (``"第九条"``; ``""`` when the
document says nothing), ``national`` the national citations
(``["《中华人民共和国土地管理法》第六十三条第一款"]``). :meth:`Profile.citation`
renders the two; every output cites through it. A profile whose ``document``
differs from its parent's does not inherit the parent's ``source`` strings
(they are articles of another document): it restates ``source`` for each rule
its own document supports. ``national`` is inherited.

>>> p = load_profile("tianning")
>>> p.rule("NEG-AGRI").outcome, p.rule("NEG-AGRI").source
('condition', '第九条')
>>> p.citation(p.rule("NEG-AGRI"))
'《常州市天宁区农村集体经营性建设用地入市管理办法（试行）》（常天政规〔2021〕1号）第九条；《中华人民共和国土地管理法》第四十四条第一款'
>>> load_profile("guilin").rule("NEG-AGRI").outcome
'exclude'
"""

from __future__ import annotations

import datetime as _dt
import math
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from landgis.adjustment import parse_adjustment
from landgis.conditions import facts_used, parse_condition
from landgis.config import parse_code_overrides
from landgis.errors import Collected, ProfileError, ProjectError
from landgis.prices import PriceRule, parse_price
from landgis.profiles.model import CITATION_SEP, ConflictSource, LegacyCategory, Profile, Rule
from landgis.profiles.supply import merge_supply, parse_supply
from landgis.schema import FACT_DOCS, OUTCOMES, known_fact, suggest

__all__ = ["Rule", "LegacyCategory", "ConflictSource", "EVIDENCE_ITEMS", "Profile", "CITATION_SEP", "load_profile", "resolve_profile", "builtin_profiles", "OUTCOMES"]

_RULE_KEYS = ("id", "title_zh", "title_en", "text_zh", "source", "national", "outcome", "when", "action_zh",
              "optional")
_LEGACY_KEYS = ("id", "title_zh", "title_en", "source", "national", "when", "evidence")
_PROFILE_KEYS = ("id", "extends", "name_zh", "name_en", "document", "numbering_note", "valid_until", "valid_source")
_TOP_KEYS = ("profile", "settings", "terms", "supply", "price", "boundary_adjustment", "rules", "legacy", "codes",
             "conflicts")
#: [profile] keys that belong to the profile's own document: not inherited by a child citing another
_DOCUMENT_KEYS = ("numbering_note", "valid_until", "valid_source")
_CONFLICT_KEYS = ("rule", "layer", "features", "piece", "cut", "excludes")
_FEATURE_SELECTORS = ("landcat", "role", "use")
_SETTINGS: dict[str, type | tuple[type, ...]] = {
    "legacy_categories": list,
    "disable": list,
    "slope_max_deg": (int, float),        # ground steeper than this is "steep" (slope_steep_share)
    "road_max_distance_m": (int, float),  # road_access: a road within this distance of the parcel
    "road_classes": list,                 # survey (三调) classes that are roads; default: role "road"
    "allowed_uses": list,                 # planned-use tags open to market entry (PLAN-USE, PLAN-PART)
}
#: the evidence items a legacy category's basis may list (``landgis/evidence.toml``): item → how it reads
EVIDENCE_ITEMS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    tomllib.loads(resources.files("landgis").joinpath("evidence.toml").read_text(encoding="utf-8")))
#: the numeric settings' bounds: (above, at most)
_SETTING_RANGES: dict[str, tuple[float, float]] = {"slope_max_deg": (0.0, 90.0),
                   "road_max_distance_m": (0.0, math.inf)}
#: settings a condition or a conflict source may name instead of writing their list out
_LIST_SETTINGS = ("allowed_uses", "road_classes")


def builtin_profiles() -> list[str]:
    """Names of the profiles that ship with landgis.

    Examples
    --------
    >>> builtin_profiles()
    ['guilin', 'national', 'taian', 'tianning', 'yanbian', 'yueqing']
    """
    return sorted(p.name[:-5] for p in resources.files(__package__).iterdir() if p.name.endswith(".toml"))


def load_profile(name_or_path: str | Path, base_dir: Path | None = None) -> Profile:
    """A built-in profile by name, or a profile file (which may extend a built-in one).

    Parameters
    ----------
    name_or_path
        a name from :func:`builtin_profiles`, or the path of a profile TOML.
    base_dir
        the folder a relative path is taken from (a project's folder).

    Returns
    -------
    Profile
        merged along its ``extends`` chain and checked.

    Raises
    ------
    ProjectError
        when the name is neither built in nor an existing file.
    ProfileError
        naming the section, rule and key that is wrong.

    Examples
    --------
    >>> guilin = load_profile("guilin")
    >>> guilin.chain, guilin.rule("UDB").outcome
    (('national', 'guilin'), 'condition')

    A county's own profile extends a built-in one and restates only what
    changes:

    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "my-county.toml"
    >>> _ = path.write_text('''
    ... [profile]
    ... id = "my-county"
    ... extends = "guilin"
    ... [[rules]]
    ... id = "UDB"
    ... outcome = "note"
    ... ''', encoding="utf-8")
    >>> mine = load_profile(path)
    >>> mine.chain, mine.rule("UDB").outcome, mine.rule("UDB").source
    (('national', 'guilin', 'my-county'), 'note', '四（五）1、二（工作原则）')
    """
    raw, where = _read(name_or_path, base_dir)
    merged, chain = _resolve(raw, where, base_dir, seen=())
    return _build(merged, chain)


def _read(name_or_path: str | Path, base_dir: Path | None) -> tuple[dict, str]:
    name = str(name_or_path)
    if name in builtin_profiles():
        text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
        where = f"profile {name}"
    else:
        path = Path(name)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if path.is_dir():
            raise ProjectError(f"profile {name!r} is a folder ({path}); name a profile file (.toml) or a built-in "
                               f"profile ({', '.join(builtin_profiles())})")
        if not path.exists():
            raise ProjectError(f"profile {name!r} is neither a built-in profile{suggest(name, builtin_profiles())} "
                               f"({', '.join(builtin_profiles())}) nor an existing file")
        text = path.read_text(encoding="utf-8-sig")
        where = f"profile file {path}"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where} is not valid TOML: {exc}") from None
    _check_arrays(raw, where)
    return raw, where


def _resolve(raw: dict, where: str, base_dir: Path | None, seen: tuple[str, ...]) -> tuple[dict, tuple[str, ...]]:
    for key in raw:
        if key not in _TOP_KEYS:
            raise ProfileError(f"{where}: unknown section `{key}`{suggest(key, _TOP_KEYS)}; "
                               f"sections: {', '.join(_TOP_KEYS)}")
    head = raw.get("profile", {})
    if not isinstance(head, Mapping) or "id" not in head:
        raise ProfileError(f"{where}: needs a [profile] table with an `id`")
    for key in head:
        if key not in _PROFILE_KEYS:
            raise ProfileError(f"{where} [profile]: unknown key `{key}`{suggest(key, _PROFILE_KEYS)}")
    pid = head["id"]
    if pid in seen:
        raise ProfileError(f"{where}: `extends` loops back to {pid} ({' → '.join(seen)})")
    parent_name = head.get("extends")
    if not parent_name:
        return raw, (pid,)
    parent_raw, parent_where = _read(parent_name, base_dir)
    parent, chain = _resolve(parent_raw, parent_where, base_dir, seen + (pid,))
    return _merge(parent, raw, where), chain + (pid,)


def _check_arrays(raw: dict, where: str) -> None:
    """``[[rules]]``, ``[[legacy]]`` and ``[[conflicts]]`` are arrays of tables, each id once in one file."""
    for section, key in (("rules", "id"), ("legacy", "id"), ("conflicts", "rule")):
        items = raw.get(section, [])
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise ProfileError(f"{where}: `{section}` must be an array of tables: write each as [[{section}]], "
                               f"not [{section}]")
        ids = [i.get(key) for i in items]
        twice = sorted({str(i) for i in ids if ids.count(i) > 1})
        if twice:
            raise ProfileError(f"{where}: [[{section}]] {key} {', '.join(twice)} given twice in one file; "
                               "write each once (a profile that extends another restates an id to change it)")
    for section in ("settings", "terms", "supply", "price", "codes", "profile"):
        if section in raw and not isinstance(raw[section], Mapping):
            raise ProfileError(f"{where}: `{section}` must be a table: write [{section}]")


def _merge(parent: dict, child: dict, where: str) -> dict:
    parent_head, child_head = parent.get("profile", {}), child.get("profile", {})
    # a child with a document of its own: the parent's `source` strings are articles of another document
    new_document = "document" in child_head and child_head["document"] != parent_head.get("document", "")
    inherited_head = {k: v for k, v in parent_head.items()
                      if k != "extends" and not (new_document and k in _DOCUMENT_KEYS)}
    out: dict[str, Any] = {"profile": {**inherited_head, **child_head}}
    out["settings"] = {**parent.get("settings", {}), **child.get("settings", {})}
    terms = {k: dict(v) for k, v in parent.get("terms", {}).items()}
    for kind, table in child.get("terms", {}).items():
        terms[kind] = dict(table)  # a child's term table replaces the parent's whole
    out["terms"] = terms
    out["supply"] = merge_supply(parent.get("supply", {}), child.get("supply", {}), new_document)
    # a child's [price] replaces the parent's whole; the parent's articles are another document's
    price = dict(child.get("price", {})) if "price" in child else {
        k: v for k, v in parent.get("price", {}).items() if not (new_document and k.endswith("source"))}
    out["price"] = price
    # a [boundary_adjustment] rests on its document's article: a child citing another document states its own
    adjust = child.get("boundary_adjustment") if "boundary_adjustment" in child else (
        None if new_document else parent.get("boundary_adjustment"))
    if adjust:
        out["boundary_adjustment"] = dict(adjust)
    codes = {k: dict(v) for k, v in parent.get("codes", {}).items()}
    for table, entries in child.get("codes", {}).items():
        codes.setdefault(table, {}).update(entries)
    out["codes"] = codes
    for section in ("rules", "legacy"):
        items = [dict(r) for r in parent.get(section, [])]
        if new_document:
            for item in items:
                item["source"] = ""
        index = {r["id"]: i for i, r in enumerate(items)}
        for r in child.get(section, []):
            if not isinstance(r, Mapping) or "id" not in r:
                raise ProfileError(f"{where}: every [[{section}]] entry needs an `id`")
            if r["id"] in index:
                items[index[r["id"]]].update(r)
            else:
                index[r["id"]] = len(items)
                items.append(dict(r))
        out[section] = items
    conflicts = [dict(c) for c in parent.get("conflicts", [])]
    at = {c.get("rule"): i for i, c in enumerate(conflicts)}
    for c in child.get("conflicts", []):
        if not isinstance(c, Mapping) or "rule" not in c:
            raise ProfileError(f"{where}: every [[conflicts]] entry needs a `rule`")
        if c["rule"] in at:
            conflicts[at[c["rule"]]] = dict(c)
        else:
            at[c["rule"]] = len(conflicts)
            conflicts.append(dict(c))
    out["conflicts"] = conflicts
    return out


def _build(raw: dict, chain: tuple[str, ...]) -> Profile:
    head = raw["profile"]
    where = f"profile {head['id']}"
    settings: dict[str, Any] = dict(raw.get("settings", {}))
    found = Collected(ProfileError, where)  # every problem of the profile, said together
    if "lease_max_years" in settings:
        with found.check():
            raise ProfileError(f"{where} [settings] lease_max_years has moved: write the lease's terms as "
                               "[supply.lease] min_years = …, max_years = …, source = \"…\" (the article), and remove it")
    if "approval_min_share" in settings:
        with found.check():
            raise ProfileError(f"{where} [settings] approval_min_share is no longer used: approval is by area, not "
                               "by majority (a parcel without a 批准文号 is approved where approved land covers all "
                               "of it but the project's tolerance); remove the key")
    for key, value in settings.items():
        if key in ("approval_min_share", "lease_max_years"):
            continue
        with found.check():
            _check_setting(key, value, where)
    disabled = set(settings.get("disable", []))
    rules = []
    for r in raw.get("rules", []):
        if r.get("id") in disabled:
            continue
        with found.check():
            if isinstance(r, Mapping) and "when" in r:
                r = {**r, "when": _named_lists(r["when"], settings, f"{where} rule {r.get('id', '?')}")}
            rules.append(_rule(r, where))
    unknown_disabled = disabled - {r.get("id") for r in raw.get("rules", [])}
    if unknown_disabled:
        with found.check():
            raise ProfileError(f"{where} [settings] disable: no rule {', '.join(sorted(unknown_disabled))}")
    legacy_list = []
    for c in raw.get("legacy", []):
        with found.check():
            legacy_list.append(_legacy(c, where))
    legacy = tuple(legacy_list)
    known_legacy = {c.id for c in legacy}
    for cat in settings.get("legacy_categories", []):
        if cat not in known_legacy:
            with found.check():
                raise ProfileError(f"{where} [settings] legacy_categories: no category {cat!r}; "
                                   f"defined: {', '.join(sorted(known_legacy))}")
    terms = {}
    for kind, table in raw.get("terms", {}).items():
        if not isinstance(table, Mapping) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 < v <= 70
                for v in table.values()):
            with found.check():
                raise ProfileError(f"{where} [terms.{kind}] must map planned-use tags to years (finite, above 0, at "
                                   "most 70, the longest term for state land); got "
                                   f"{dict(table) if isinstance(table, Mapping) else table!r}")
            continue
        terms[kind] = MappingProxyType(dict(table))
    codes: Mapping[str, Any] = {}
    with found.check():
        codes = parse_code_overrides(raw.get("codes", {}), f"{where} [codes]")
    conflict_list = []
    for c in raw.get("conflicts", []):
        with found.check():
            conflict_list.append(_conflict(c, settings, where))
    conflicts = tuple(c for c in conflict_list if c is not None)
    for key in ("document", "numbering_note", "valid_source"):
        if not isinstance(head.get(key, ""), str):
            with found.check():
                raise ProfileError(f"{where} [profile] {key}: must be a string")
    supply: Mapping[str, Any] = {}
    with found.check():
        supply = parse_supply(raw.get("supply", {}), where)
    price = PriceRule()
    with found.check():
        price = parse_price(raw.get("price", {}), where)
    adjustment = None
    with found.check():
        adjustment = parse_adjustment(raw.get("boundary_adjustment"), where)
    valid_until = ""
    with found.check():
        valid_until = _date(head.get("valid_until", ""), f"{where} [profile] valid_until")
    found.raise_all()
    return Profile(id=head["id"], name_zh=head.get("name_zh", ""), name_en=head.get("name_en", ""),
                   document=head.get("document", ""), rules=tuple(rules), legacy=legacy,
                   settings=MappingProxyType(settings), terms=MappingProxyType(terms), codes=codes,
                   chain=chain, numbering_note=head.get("numbering_note", ""), conflicts=conflicts,
                   supply=supply, price=price, valid_until=valid_until, valid_source=head.get("valid_source", ""),
                   boundary_adjustment=adjustment)


def _date(value: Any, where: str) -> str:
    """A date as ``YYYY-MM-DD`` ("" for none): a TOML date, or a string in that form."""
    if value == "":
        return ""
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value.isoformat()
    try:
        return _dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ProfileError(f"{where} = {value!r}: write a date as 2024-12-31") from None


def _check_setting(key: str, value: Any, where: str) -> None:
    """One [settings] key: known, of its type, within its range."""
    if key not in _SETTINGS:
        raise ProfileError(f"{where} [settings]: unknown key `{key}`{suggest(key, _SETTINGS)}; "
                           f"known: {', '.join(_SETTINGS)}")
    if not isinstance(value, _SETTINGS[key]) or isinstance(value, bool):
        raise ProfileError(f"{where} [settings] {key}: wrong type {type(value).__name__}")
    low, high = _SETTING_RANGES.get(key, (-math.inf, math.inf))
    number = float(value) if isinstance(value, (int, float)) else math.nan
    if key in _SETTING_RANGES and not (math.isfinite(number) and low < number <= high):
        raise ProfileError(f"{where} [settings] {key} = {value!r}: must be a finite number above {low:g}"
                           + (f" and at most {high:g}" if math.isfinite(high) else ""))


def _rule(r: Mapping[str, Any], where: str) -> Rule:
    rid = r.get("id", "?")
    for key in r:
        if key not in _RULE_KEYS:
            raise ProfileError(f"{where} rule {rid}: unknown key `{key}`{suggest(key, _RULE_KEYS)}; "
                               f"keys: {', '.join(_RULE_KEYS)}")
    for key in ("source", "outcome", "when", "title_zh"):
        if key not in r:
            raise ProfileError(f"{where} rule {rid}: missing `{key}`")
    if r["outcome"] not in OUTCOMES:
        raise ProfileError(f"{where} rule {rid}: outcome {r['outcome']!r} is not one of {', '.join(OUTCOMES)}")
    if not isinstance(r.get("optional", False), bool):
        raise ProfileError(f"{where} rule {rid}: optional must be true or false")
    when = parse_condition(r["when"], f"{where} rule {rid}")
    unknown = sorted(f for f in facts_used(when) if not known_fact(f))
    if unknown:
        raise ProfileError(f"{where} rule {rid}: unknown fact(s) {', '.join(unknown)}"
                           f"{suggest(unknown[0], FACT_DOCS)}; `landgis rules --facts` lists the facts")
    return Rule(id=str(rid), title_zh=str(r["title_zh"]), title_en=str(r.get("title_en", "")),
                text_zh=str(r.get("text_zh", "")), source=str(r["source"]), outcome=r["outcome"],
                when=when, action_zh=str(r.get("action_zh", "")), optional=r.get("optional", False),
                national=_national(r, f"{where} rule {rid}"))


def _legacy(c: Mapping[str, Any], where: str) -> LegacyCategory:
    cid = c.get("id", "?")
    for key in c:
        if key not in _LEGACY_KEYS:
            raise ProfileError(f"{where} legacy {cid}: unknown key `{key}`{suggest(key, _LEGACY_KEYS)}")
    if "when" not in c:
        raise ProfileError(f"{where} legacy {cid}: missing `when`")
    evidence = c.get("evidence", [])
    if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
        raise ProfileError(f"{where} legacy {cid}: evidence must be a list of item names")
    unknown = [e for e in evidence if e not in EVIDENCE_ITEMS]
    if unknown:
        raise ProfileError(f"{where} legacy {cid}: no evidence item {', '.join(map(repr, unknown))}"
                           f"{suggest(unknown[0], EVIDENCE_ITEMS)}; items: {', '.join(EVIDENCE_ITEMS)}")
    when = parse_condition(c["when"], f"{where} legacy {cid}")
    unknown_facts = sorted(f for f in facts_used(when) if not known_fact(f))
    if unknown_facts:
        raise ProfileError(f"{where} legacy {cid}: unknown fact(s) {', '.join(unknown_facts)}"
                           f"{suggest(unknown_facts[0], FACT_DOCS)}; `landgis rules --facts` lists the facts")
    return LegacyCategory(id=str(cid), title_zh=str(c.get("title_zh", "")), title_en=str(c.get("title_en", "")),
                          source=str(c.get("source", "")), when=when, evidence=tuple(evidence),
                          national=_national(c, f"{where} legacy {cid}"))


def _national(item: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = item.get("national", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProfileError(f"{where}: `national` must be a list of citations "
                           f"(e.g. [\"《中华人民共和国土地管理法》第六十三条第一款\"])")
    return tuple(value)


def resolve_profile(project: Any, override: str | Path | Profile | None = None) -> Profile:
    """The profile a screening of ``project`` applies: ``override`` (a Profile, a built-in name
    or a file, relative to the project's folder), else the project's own."""
    if isinstance(override, Profile):
        return override
    return load_profile(override if override is not None else project.profile, base_dir=project.base_dir)


def _named_lists(cond: Any, settings: Mapping[str, Any], where: str) -> Any:
    """``cond`` with each ``in``/``not_in`` that names a list setting (``not_in = "allowed_uses"``) given its list."""
    if isinstance(cond, Mapping):
        out = {}
        for key, value in cond.items():
            if key in ("in", "not_in") and isinstance(value, str):
                if value not in _LIST_SETTINGS:
                    raise ProfileError(f"{where}: `{key} = \"{value}\"` names no list setting; "
                                       f"write the list, or one of {', '.join(_LIST_SETTINGS)}")
                if value not in settings:
                    raise ProfileError(f"{where}: `{key} = \"{value}\"` but [settings] has no `{value}`")
                value = list(settings[value])
            else:
                value = _named_lists(value, settings, where)
            out[key] = value
        return out
    if isinstance(cond, list):
        return [_named_lists(c, settings, where) for c in cond]
    return cond


def _conflict(c: Mapping[str, Any], settings: Mapping[str, Any], where: str) -> ConflictSource | None:
    """A ``[[conflicts]]`` entry; None when it names a list setting the profile does not set."""
    rule = str(c.get("rule", "?"))
    at = f"{where} [[conflicts]] {rule}"
    for key in c:
        if key not in _CONFLICT_KEYS:
            raise ProfileError(f"{at}: unknown key `{key}`{suggest(key, _CONFLICT_KEYS)}")
    if not isinstance(c.get("layer"), str):
        raise ProfileError(f"{at}: `layer` (an input layer role) is required")
    piece, cut = c.get("piece", "ground"), c.get("cut", "overlay")
    if piece not in ("ground", "uncovered"):
        raise ProfileError(f"{at}: piece = {piece!r}; one of ground, uncovered")
    if cut not in ("overlay", "after"):
        raise ProfileError(f"{at}: cut = {cut!r}; one of overlay, after")
    if not isinstance(c.get("excludes", False), bool):
        raise ProfileError(f"{at}: excludes = {c['excludes']!r}; true (its pieces are cut from the enterable area) "
                           "or false")
    classes = None
    if "features" in c:
        sel = dict(c["features"])
        exclude = bool(sel.pop("except", False))
        if len(sel) != 1 or next(iter(sel)) not in _FEATURE_SELECTORS:
            raise ProfileError(f"{at}: features = {{ {' | '.join(_FEATURE_SELECTORS)} = [...], except = false }}")
        attr, values = next(iter(sel.items()))
        if isinstance(values, str):
            if values not in settings:
                return None
            values = settings[values]
        classes = (attr, tuple(str(v) for v in values), exclude)
    return ConflictSource(rule=rule, layer=c["layer"], classes=classes, piece=piece, cut=cut,
                          excludes=c.get("excludes", False))
