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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from landgis.conditions import evaluate, evaluate_bounds
from landgis.distinct import map_distinct
from landgis.errors import ProfileError
from landgis.legacy import unknown_derived, untold_categories, with_attribute_columns
from landgis.profiles import Profile, Rule
from landgis.schema import known_fact

__all__ = ["evaluate_rules", "SkippedRule", "VERDICTS", "GEOMETRY_RULE"]

VERDICTS = ("eligible", "conditional", "ineligible")
GEOMETRY_RULE = "GEOMETRY"
#: the built-in GEOMETRY reason (no profile declares it; contract §3 does)
GEOMETRY_TEXT = {"title_zh": "宗地图形无效，无法计算", "title_en": "geometry unusable: null, empty, not a polygon "
                 "or nothing left after repair", "source": "contract §3"}


@dataclass(frozen=True)
class SkippedRule:
    rule: str
    why: str


def evaluate_rules(facts: pd.DataFrame, profile: Profile, tolerance: float,
                   unavailable: Mapping[str, str] | None = None, geometry_ok: Iterable[bool] | None = None,
                   only: Iterable[str] | None = None) -> pd.DataFrame:
    """Verdict, reasons and notes per parcel, plus one boolean column per rule.

    Returns a frame aligned to ``facts`` with ``verdict``, ``reasons``
    (fired exclude/condition rule ids, sorted, ``;``-separated), ``notes``
    (fired note rules) and ``fired_<RULE>`` columns; ``.attrs["skipped"]``
    lists the rules that could not be checked and why.
    """
    unavailable = dict(unavailable or {})
    work = with_attribute_columns(facts)
    rules = [r for r in profile.rules if only is None or r.id in set(only)]
    for r in rules:
        unknown = [f for f in r.facts if not known_fact(f)]
        if unknown:
            raise ProfileError(f"profile {profile.id} rule {r.id}: unknown fact(s) {', '.join(unknown)}; "
                               "`landgis rules --facts` lists the facts")
    n = len(facts)
    ok = np.ones(n, bool) if geometry_ok is None else np.asarray(list(geometry_ok), dtype=bool)
    unknown = unknown_derived(work)  # fact → parcels where it could not be told; usually empty
    fired: dict[str, np.ndarray] = {}
    skipped: list[SkippedRule] = []
    for r in rules:
        missing = [f for f in sorted(r.facts) if f not in work]
        if missing:
            why = "; ".join(sorted({_why(f, unavailable) for f in missing}))
            skipped.append(SkippedRule(r.id, why))
            continue
        if not r.facts & unknown.keys():
            fired[r.id] = np.array(evaluate(r.when, work, tolerance), dtype=bool)
            continue
        surely, maybe = evaluate_bounds(r.when, work, tolerance, unknown)
        fired[r.id] = np.array(surely, dtype=bool)  # fires only where it surely does: never guessed
        if (maybe & ~surely & ok).any():
            skipped.append(SkippedRule(r.id, _why_untold(work, profile, unavailable)))
    by_outcome = {o: [r for r in rules if r.id in fired and r.outcome == o] for o in ("exclude", "condition", "note")}
    exclude = _any(fired, by_outcome["exclude"], n)
    condition = _any(fired, by_outcome["condition"], n)
    verdict = np.where(exclude, "ineligible", np.where(condition, "conditional", "eligible")).astype(object)
    decisive = sorted(r.id for r in by_outcome["exclude"] + by_outcome["condition"])
    notes_ids = sorted(r.id for r in by_outcome["note"])
    reasons = _join(fired, decisive, n)
    notes = _join(fired, notes_ids, n)
    if geometry_ok is not None:
        bad = ~ok
        verdict[bad] = "ineligible"
        reasons[bad] = GEOMETRY_RULE
        notes[bad] = ""
        for arr in fired.values():
            arr[bad] = False
    out = pd.DataFrame({"verdict": verdict, "reasons": reasons, "notes": notes}, index=facts.index)
    for rid, arr in fired.items():
        out[f"fired_{rid}"] = arr
    out.attrs["skipped"] = skipped
    return out


def reason_texts(reasons: pd.Series, profile: Profile, lang: str = "zh") -> pd.Series:
    """``"FARMLAND;PLAN-USE"`` → ``"FARMLAND 占用永久基本农田（《…》二（工作原则）…）；PLAN-USE …"``.

    Each rule: id, title and, in parentheses, what it rests on under ``profile``
    (:meth:`~landgis.profiles.Profile.citation`: the profile's own document and
    articles, then national documents); no parentheses when it cites nothing.

    >>> from landgis.profiles import load_profile
    >>> yueqing = load_profile("yueqing")
    >>> reason_texts(pd.Series(["OWN-REG"]), yueqing)[0]
    'OWN-REG 集体土地所有权未确权登记（《乐清市农村集体经营性建设用地入市管理办法（试行）（征求意见稿）》第八条第（三）项；《中华人民共和国土地管理法》第六十三条第一款；《中华人民共和国土地管理法实施条例》第三十八条）'
    >>> reason_texts(pd.Series(["LEGACY"]), load_profile("national"))[0]
    'LEGACY 历史遗留建设用地'
    """
    by_id: dict[str, Rule] = {r.id: r for r in profile.rules}

    def text(ids: str) -> str:
        out = []
        for rid in filter(None, ids.split(";")):
            rule = by_id.get(rid)
            if rule is not None:
                title_zh, title_en, cited = rule.title_zh, rule.title_en or rule.title_zh, profile.citation(rule)
            elif rid == GEOMETRY_RULE:
                title_zh, title_en, cited = GEOMETRY_TEXT["title_zh"], GEOMETRY_TEXT["title_en"], GEOMETRY_TEXT["source"]
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


def _why_untold(work: pd.DataFrame, profile: Profile, unavailable: Mapping[str, str]) -> str:
    """Why a rule on ``legacy`` / ``unapproved`` is not checked on some parcels (the same in every tile)."""
    untold = untold_categories(work, profile)
    lacks = "; ".join(sorted({_why(f, unavailable) for fs in untold.values() for f in fs}))
    return (f"on the parcels legacy {'category' if len(untold) == 1 else 'categories'} {', '.join(untold)} "
            f"could cover, which cannot be told (legacy_basis names them: 未能判定): {lacks}")


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
