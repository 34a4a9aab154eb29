"""Rules stage: the profile interpreter — facts in, verdicts and reasons out.

Every rule is evaluated over the whole fact table at once. The verdict follows
contract §3: ``ineligible`` if an ``exclude`` rule fires, else ``conditional``
if a ``condition`` rule fires, else ``eligible``; ``note`` rules are listed in
``notes`` only. A parcel whose geometry could not be used is ``ineligible``
with the single reason ``GEOMETRY``. A rule whose layer-derived facts are
missing is skipped and reported — never guessed. So is a rule on the parcels
where a fact it tests could not be told (``legacy`` and ``unapproved`` where a
legacy category lacks its layer, :func:`landgis.legacy.unknown_derived`): it
does not fire there, and it is reported as not checked where it could have.

>>> import pandas as pd
>>> from landgis.profiles import load_profile
>>> facts = pd.DataFrame({"farmland_m2": [0.0, 0.5, 300.0], "area_m2": [900.0] * 3})
>>> v = evaluate_rules(facts, load_profile("national"), tolerance=1.0, only=["FARMLAND"])
>>> v[["verdict", "reasons"]].values.tolist()
[['eligible', ''], ['eligible', ''], ['ineligible', 'FARMLAND']]
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

import numpy as np
import pandas as pd

from landgis.conditions import blank_unknown_facts, evaluate_bounds, is_blank
from landgis.distinct import map_distinct
from landgis.errors import ProfileError
from landgis.legacy import unknown_derived, untold_categories
from landgis.profiles import Profile, Rule
from landgis.schema import known_fact

__all__ = ["evaluate_rules", "reason_texts", "SkippedRule", "GEOMETRY_RULE", "NODATA", "BUILTIN_REASONS"]

GEOMETRY_RULE = "GEOMETRY"
#: the reasons landgis gives of itself (``landgis/reasons.toml``): id → title_zh, title_en, source
BUILTIN_REASONS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    tomllib.loads(resources.files("landgis").joinpath("reasons.toml").read_text(encoding="utf-8")))


@dataclass(frozen=True)
class SkippedRule:
    """A rule that could not be checked on some parcels, and why (English, for the log)."""

    rule: str
    why: str
    parcels: int = 0
    #: what data settles it, in Chinese (the ``NODATA-`` reason's text), for the Chinese outputs
    data_zh: str = ""


#: the reason of a rule not checked on a parcel: ``NODATA-<rule id>``
NODATA = "NODATA-"


def evaluate_rules(facts: pd.DataFrame, profile: Profile, tolerance: float,
                   unavailable: Mapping[str, str] | None = None, geometry_ok: Iterable[bool] | None = None,
                   only: Iterable[str] | None = None) -> pd.DataFrame:
    """Verdict, reasons, notes and actions per parcel, plus one boolean column per rule.

    Every rule is evaluated in three values (:func:`~landgis.conditions.evaluate_bounds`):
    it fires, it does not, or it cannot be told — a fact it tests is missing from the
    table (no layer, no attribute) or unknown on the parcel (a legacy category that cannot
    be told). Nothing unchecked is eligible: a parcel on which a rule cannot be told, and
    which no exclude rule puts out, is ``conditional`` with the reason ``NODATA-<rule>``
    (for a rule its profile marks ``optional``, a note instead).

    Returns a frame aligned to ``facts`` with ``verdict``, ``reasons`` (the fired
    exclude/condition rule ids and ``NODATA-`` reasons, sorted, ``;``-separated),
    ``notes`` (fired note rules; ``NODATA-`` of optional rules, and of every rule on an
    ineligible parcel), ``unchecked`` (every rule not checked on the parcel), ``actions``
    (what cures a conditional parcel, ``；``-separated) and ``fired_<RULE>`` columns;
    ``.attrs["skipped"]`` lists the rules not checked and why, ``.attrs["nodata"]`` the
    data that would settle each (Chinese, for the reasons).
    """
    unavailable = dict(unavailable or {})
    rules = [r for r in profile.rules if only is None or r.id in set(only)]
    for r in rules:
        unknown_facts = [f for f in r.facts if not known_fact(f)]
        if unknown_facts:
            raise ProfileError(f"profile {profile.id} rule {r.id}: unknown fact(s) {', '.join(unknown_facts)}; "
                               "`landgis rules --facts` lists the facts")
    n = len(facts)
    ok = np.ones(n, bool) if geometry_ok is None else np.asarray(list(geometry_ok), dtype=bool)
    unknown = unknown_derived(facts)  # fact → parcels where it could not be told; usually empty
    fired: dict[str, np.ndarray] = {}
    open_: dict[str, np.ndarray] = {}
    skipped: list[SkippedRule] = []
    nodata: dict[str, str] = {}
    for r in rules:
        surely, maybe = evaluate_bounds(r.when, facts, tolerance, unknown)
        fired[r.id] = np.array(surely, dtype=bool)  # fires only where it surely does: never guessed
        untold = np.asarray(maybe, dtype=bool) & ~fired[r.id] & ok
        if untold.any():
            open_[r.id] = untold
            lacking = _lacking(r, facts, unknown, profile)
            blank = {f for f in blank_unknown_facts(r.when) if f in facts}
            nodata[r.id] = "、".join(dict.fromkeys(_data_zh(f, unavailable) + ("的取值（为空或不详）" if f in blank else "")
                                                  for f in lacking))
            skipped.append(SkippedRule(r.id, f"on {int(untold.sum())} parcel(s): "
                                       + "; ".join(sorted({f"{f} is blank or unknown on them" if f in blank
                                                           else _why(f, unavailable) for f in lacking})),
                                       int(untold.sum()), nodata[r.id]))
    by_outcome = {o: [r for r in rules if r.outcome == o] for o in ("exclude", "condition", "note")}
    exclude = _any(fired, by_outcome["exclude"], n)
    # a note cannot change a verdict, so a note not checked is said as a note, never a condition
    required = [r for r in rules if r.id in open_ and not r.optional and r.outcome != "note"]
    need_data = _any(open_, required, n)
    condition = _any(fired, by_outcome["condition"], n) | (need_data & ~exclude)
    verdict = np.where(exclude, "ineligible", np.where(condition, "conditional", "eligible")).astype(object)
    open_ids = {NODATA + rid: arr for rid, arr in open_.items()}
    decisive = {r.id: fired[r.id] for r in by_outcome["exclude"] + by_outcome["condition"]}
    decisive.update({NODATA + r.id: open_[r.id] & ~exclude for r in required})
    noted = {r.id: fired[r.id] for r in by_outcome["note"]}
    noted.update({NODATA + r.id: open_[r.id] & (exclude | r.optional | (r.outcome == "note"))
                  for r in rules if r.id in open_})
    reasons = _join(decisive, sorted(decisive), n)
    notes = _join(noted, sorted(noted), n)
    unchecked = _join(open_ids, sorted(open_ids), n)
    actions = _actions(reasons, profile, verdict)
    if geometry_ok is not None:
        bad = ~ok
        verdict[bad] = "ineligible"
        reasons[bad] = GEOMETRY_RULE
        notes[bad] = ""
        actions[bad] = ""
        for arr in fired.values():
            arr[bad] = False
    out = pd.DataFrame({"verdict": verdict, "reasons": reasons, "notes": notes, "unchecked": unchecked,
                        "actions": actions}, index=facts.index)
    for rid, arr in fired.items():
        out[f"fired_{rid}"] = arr
    out.attrs["skipped"] = skipped
    out.attrs["nodata"] = nodata
    return out


#: what a derived fact is made of: a rule on it lacks these when the fact is missing
_DERIVED_FROM = {"legacy": ("approved",), "unapproved": ("approved", "survey_construction_m2")}


def _lacking(rule: Rule, facts: pd.DataFrame, unknown: Mapping[str, np.ndarray], profile: Profile) -> list[str]:
    """The facts a rule could not be told without: those missing from the table, and for a derived
    fact that could not be told (``legacy``, ``unapproved``), what its legacy categories lack."""
    lacking = sorted({g for f in rule.facts if f not in facts
                      for g in ([i for i in _DERIVED_FROM.get(f, ()) if i not in facts] or [f])})
    derived_absent = {f for f in _DERIVED_FROM if f in rule.facts and f not in facts}
    if rule.facts & unknown.keys() or derived_absent:  # what the legacy categories lack, said at once
        untold = untold_categories(facts, profile)
        lacking += sorted({f for fs in untold.values() for f in fs} - set(lacking))
    lacking += sorted(f for f in blank_unknown_facts(rule.when) if f in facts and f not in lacking
                      and is_blank(facts[f]).any())
    return lacking


def _data_zh(fact: str, unavailable: Mapping[str, str] = MappingProxyType({})) -> str:
    """What data settles a fact that is missing (Chinese, from ``reasons.toml`` [NODATA.data]).

    A planned-use share is settled by the zoning layer when that is what is missing,
    and by ``allowed_uses`` only when the layer is there.
    """
    data = BUILTIN_REASONS["NODATA"]["data"]
    if fact.startswith("planned_use") and "zoning" in unavailable:
        return data["zoning"]
    for key in sorted(data, key=len, reverse=True):
        if fact == key or fact.startswith(key + "_"):
            return data[key]
    return f"事实 {fact}"


def _actions(reasons: np.ndarray, profile: Profile, verdict: np.ndarray) -> np.ndarray:
    """What cures each conditional parcel: the ``action_zh`` of its reasons, once each, ``；``-joined."""
    by_id = {r.id: r.action_zh for r in profile.rules}
    nodata_action = BUILTIN_REASONS["NODATA"]["action_zh"]

    def text(ids: str) -> str:
        acts = [nodata_action if rid.startswith(NODATA) else by_id.get(rid, "") for rid in ids.split(";") if rid]
        return "；".join(dict.fromkeys(a for a in acts if a))

    out = map_distinct(pd.Series(reasons, dtype=object), text, missing="")
    return np.where(verdict == "conditional", out, "").astype(object)


def reason_texts(reasons: pd.Series, profile: Profile, lang: str = "zh",
                 nodata: Mapping[str, str] | None = None) -> pd.Series:
    """``"FARMLAND;PLAN-USE"`` → ``"FARMLAND 占用永久基本农田（《…》二（工作原则）…）；PLAN-USE …"``.

    Each rule: id, title and, in parentheses, what it rests on under ``profile``
    (:meth:`~landgis.profiles.Profile.citation`: the profile's own document and
    articles, then national documents); no parentheses when it cites nothing.
    ``nodata`` gives, per rule not checked, the data that would settle it (``NODATA-<rule>``
    reasons name it).

    >>> from landgis.profiles import load_profile
    >>> yueqing = load_profile("yueqing")
    >>> reason_texts(pd.Series(["OWN-REG"]), yueqing)[0]
    'OWN-REG 集体土地所有权未确权登记（《乐清市农村集体经营性建设用地入市管理办法（试行）（征求意见稿）》第八条第（三）项；《中华人民共和国土地管理法》第六十三条第一款；《中华人民共和国土地管理法实施条例》第三十八条）'
    >>> reason_texts(pd.Series(["LEGACY"]), load_profile("national"))[0]
    'LEGACY 历史遗留建设用地'
    """
    by_id: dict[str, Rule] = {r.id: r for r in profile.rules}
    nodata = nodata or {}

    def text(ids: str) -> str:
        out = []
        for rid in filter(None, ids.split(";")):
            rule = by_id.get(rid)
            if rid.startswith(NODATA) and rid[len(NODATA):] in by_id:
                of = by_id[rid[len(NODATA):]]
                data = nodata.get(of.id, "")
                out.append(f"{rid} 未能核查“{of.title_zh}”" + (f"：缺少{data}" if data else "") if lang == "zh"
                           else f"{rid} not checked: {of.title_en or of.title_zh}")
                continue
            if rule is not None:
                title_zh, title_en, cited = rule.title_zh, rule.title_en or rule.title_zh, profile.citation(rule)
            elif rid in BUILTIN_REASONS:
                builtin = BUILTIN_REASONS[rid]
                title_zh, title_en, cited = builtin["title_zh"], builtin["title_en"], builtin["source"]
            else:  # not in this profile: the id alone, never another rule's words
                out.append(rid)
                continue
            if lang == "zh":
                out.append(f"{rid} {title_zh}（{cited}）" if cited else f"{rid} {title_zh}")
            else:
                out.append(f"{rid} {title_en} ({cited})" if cited else f"{rid} {title_en}")
        return "；".join(out) if lang == "zh" else "; ".join(out)

    # once per distinct combination of rule ids (150k parcels, a few dozen combinations)
    return pd.Series(map_distinct(reasons, lambda ids: text(str(ids)), missing=""), index=reasons.index, dtype=object)


def _why(fact: str, unavailable: Mapping[str, str]) -> str:
    for key in (fact, fact.split("_")[0], "_".join(fact.split("_")[:2])):
        if key in unavailable:
            return unavailable[key]
    if fact in ("legacy", "unapproved") and "approved" in unavailable:
        return unavailable["approved"]
    if fact == "unapproved" and "survey" in unavailable:
        return unavailable["survey"]
    if fact.startswith(("zoning_", "planned_use")):
        return unavailable.get("zoning", f"fact {fact} not computed")
    if fact.startswith("survey_2009"):
        return unavailable.get("survey_2009", f"fact {fact} not computed")
    if fact.startswith("survey_"):
        return unavailable.get("survey", f"fact {fact} not computed")
    return f"fact {fact} is not available"


def _any(fired: Mapping[str, np.ndarray], rules: list[Rule], n: int) -> np.ndarray:
    out = np.zeros(n, bool)
    for r in rules:
        out |= fired[r.id]
    return out


def _join(fired: Mapping[str, np.ndarray], ids: list[str], n: int) -> np.ndarray:
    if not ids:
        return np.full(n, "", dtype=object)
    matrix = np.column_stack([np.asarray(fired[i], dtype=bool) for i in ids])
    names = np.array(ids, dtype=object)
    # each distinct combination of fired rules joined once (150k parcels, a few dozen combinations);
    # rows are packed into byte strings first: np.unique(axis=0) on the bool matrix took a second
    packed = np.packbits(matrix, axis=1)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
    _, first, which = np.unique(keys, return_index=True, return_inverse=True)
    joined = np.array([";".join(names[row]) for row in matrix[first]], dtype=object)
    return joined[np.asarray(which).reshape(-1)]
