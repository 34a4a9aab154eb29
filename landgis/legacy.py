"""Historical-legacy land (历史遗留) from the 2nd national land survey.

The categories are data (``[[legacy]]`` in the profiles, domain.md §3.3); this
module evaluates them in the profile's precedence order, writes the evidence an
analyst needs to defend each flag in front of the village committee, and
derives ``unapproved``: current construction land with no approval that no
legacy category covers.

>>> import pandas as pd
>>> from landgis.profiles import load_profile
>>> facts = pd.DataFrame({"approved": [False, False, True], "formed_year": [2005, 2009, 2001],
...                       "survey_2009_legacy_m2": [400.0, 400.0, 400.0], "survey_2009_other_m2": [0.0] * 3,
...                       "survey_construction_m2": [400.0, 400.0, 400.0], "area_m2": [400.0] * 3})
>>> out = classify_legacy(facts, load_profile("national"), tolerance=1.0)
>>> out["legacy"].tolist(), out["unapproved"].tolist()
(['L1', '', ''], [False, True, False])

A category whose facts are missing (no 二调 layer) cannot be told: a parcel it
could cover gets no category, ``legacy_open`` names the category, and
``unapproved`` is unknown (NA) there, never guessed; the rules then report
UNAPPROVED and LEGACY as not checked for those parcels. Land the category
cannot cover (formed in 2009 or later) is still unapproved:

>>> no_2009 = facts.drop(columns=["survey_2009_legacy_m2", "survey_2009_other_m2"])
>>> out = classify_legacy(no_2009, load_profile("national"), 1.0)
>>> out["legacy"].tolist(), out["legacy_open"].tolist(), out["unapproved"].tolist()
(['', '', ''], ['L1', '', ''], [<NA>, True, False])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from landgis.conditions import categories_used, evaluate_bounds, facts_used
from landgis.distinct import map_distinct
from landgis.profiles import EVIDENCE_ITEMS, LegacyCategory, Profile
from landgis.schema import ATTRIBUTE_FACTS

__all__ = ["classify_legacy", "ATTRIBUTE_FACTS", "DERIVED_FACTS", "unknown_derived", "untold_categories"]

#: facts :func:`classify_legacy` derives; unknown on the parcels ``legacy_open`` names a category for
DERIVED_FACTS = ("legacy", "unapproved")

#: what a missing layer-derived fact lacks, by fact prefix, for the evidence text
_MISSING_ZH = (("survey_2009", "二调图层 [layers.survey_2009]"), ("survey", "现状调查图层 [layers.survey]"))


def classify_legacy(facts: pd.DataFrame, profile: Profile, tolerance: float) -> pd.DataFrame:
    """Legacy category, its evidence, and the ``unapproved`` flag, per parcel.

    Returns a frame aligned to ``facts`` with ``legacy`` (category id or ""),
    ``legacy_basis`` (the grounds, in Chinese, with numbers), ``legacy_open``
    (the profile's categories that could cover a parcel with no category but
    could not be told, ``;``-separated in precedence order, or "") and
    ``unapproved`` (NA where ``legacy_open`` leaves it unknown). A category
    whose layer-derived facts are missing is evaluated with those facts
    unknown (:func:`~landgis.conditions.evaluate_bounds`); an attribute the
    parcels lack counts as blank for every parcel (the condition's ``missing``
    policy applies).
    """
    if "approved" not in facts:  # no approval information: nothing can be said (contract §3)
        return pd.DataFrame(index=facts.index)
    work = with_attribute_columns(facts)
    n = len(facts)
    bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for cat in profile.legacy:
        bounds[cat.id] = evaluate_bounds(cat.when, work, tolerance, legacy_bounds=bounds)
    legacy = np.full(n, "", dtype=object)
    for cat in profile.legacy_categories:  # precedence order
        legacy = np.where((legacy == "") & bounds[cat.id][0], cat.id, legacy)
    untold = np.full(n, "", dtype=object)
    for cat in profile.legacy_categories:
        lo, hi = bounds[cat.id]
        could = (legacy == "") & hi & ~lo
        untold[could] = np.where(untold[could] == "", cat.id, untold[could] + ";" + cat.id)
    missing = untold_categories(facts, profile)
    by_id = {c.id: c for c in profile.legacy}
    basis = np.full(n, "", dtype=object)
    for i in np.flatnonzero(legacy != ""):
        basis[i] = legacy[i] + "：" + "；".join(_basis_parts(by_id[legacy[i]], work.iloc[i]))
    open_rows = np.flatnonzero((legacy == "") & (untold != ""))
    if len(open_rows):
        # a county without its 二调 layer has ~20k such parcels, of a few dozen kinds: each text once
        sub = work.iloc[open_rows]
        approved = (map_distinct(sub["approved"], lambda v: _fmt_bool(v, "y", "n", ""), missing="")
                    if "approved" in sub else np.full(len(sub), "", dtype=object))
        year = (map_distinct(sub["formed_year"], lambda y: f"{int(y)}年形成", missing="形成年份未记载")
                if "formed_year" in sub else np.full(len(sub), "形成年份未记载", dtype=object))
        key = pd.Series(untold[open_rows].astype(str)) + "|" + approved.astype(str) + "|" + year.astype(str)
        codes, kinds = pd.factorize(key)
        texts = np.array([_untold_text(k, missing) for k in kinds], dtype=object)
        basis[open_rows] = texts[codes]
    out = pd.DataFrame({"legacy": legacy, "legacy_basis": basis, "legacy_open": untold}, index=facts.index)
    if "survey_construction_m2" in facts:
        unapproved = ((facts["survey_construction_m2"].to_numpy() > tolerance)
                      & ~facts["approved"].to_numpy(dtype=bool) & (legacy == ""))
        unknown = unapproved & (untold != "")
        if unknown.any():  # a category that could not be told could cover them: not guessed
            unapproved = pd.array(unapproved, dtype="boolean")
            unapproved[unknown] = pd.NA
        out["unapproved"] = unapproved
    return out


def untold_categories(facts: pd.DataFrame, profile: Profile) -> dict[str, tuple[str, ...]]:
    """The profile's legacy categories that cannot be fully evaluated, with the facts they lack.

    A category lacks the facts its own condition reads that ``facts`` does not
    have (parcel attributes excepted: those are blank, not unknown) and those
    of the categories it refers to.

    >>> import pandas as pd
    >>> from landgis.profiles import load_profile
    >>> untold_categories(pd.DataFrame({"approved": [False]}), load_profile("taian"))
    {'L4': ('survey_2009_legacy_m2', 'survey_2009_other_m2'), 'L1': ('survey_2009_legacy_m2', 'survey_2009_other_m2')}
    """
    by_id = {c.id: c for c in profile.legacy}
    have = set(facts.columns) | set(ATTRIBUTE_FACTS)

    def lacks(cid: str, seen: frozenset[str]) -> set[str]:
        cat = by_id.get(cid)
        if cat is None or cid in seen:
            return set()
        own = {f for f in facts_used(cat.when) if f not in have}
        return own.union(*(lacks(r, seen | {cid}) for r in categories_used(cat.when)))

    out = {c.id: tuple(sorted(lacks(c.id, frozenset()))) for c in profile.legacy_categories}
    return {cid: fs for cid, fs in out.items() if fs}


def unknown_derived(facts: pd.DataFrame) -> Mapping[str, np.ndarray]:
    """Per derived fact (:data:`DERIVED_FACTS`), the parcels where it could not be told.

    Empty when every legacy category could be evaluated (the usual case), so
    the rules then evaluate as two-valued logic.
    """
    if "legacy_open" not in facts:
        return {}
    untold = facts["legacy_open"].fillna("").to_numpy(dtype=object) != ""
    if not untold.any():
        return {}
    out = {"legacy": untold}
    if "unapproved" in facts:
        out["unapproved"] = facts["unapproved"].isna().to_numpy(dtype=bool)
    return out


def _missing_zh(fact: str) -> str:
    for prefix, text in _MISSING_ZH:
        if fact.startswith(prefix + "_"):
            return text
    return f"事实 {fact}"


def with_attribute_columns(facts: pd.DataFrame) -> pd.DataFrame:
    """``facts`` with every absent parcel attribute added as all-unknown."""
    missing = [a for a in ATTRIBUTE_FACTS if a not in facts]
    if not missing:
        return facts
    extra = pd.DataFrame({a: pd.array([pd.NA] * len(facts), dtype="object") for a in missing}, index=facts.index)
    return pd.concat([facts, extra], axis=1)


def _fmt_bool(value: object, yes: str, no: str, unknown: str) -> str:
    if value is True or value is np.True_:
        return yes
    if value is False or value is np.False_:
        return no
    return unknown


def _untold_text(key: str, missing: Mapping[str, tuple[str, ...]]) -> str:
    """The basis of a parcel whose categories could not be told, from ``"ids|approved y/n|year text"``.

    >>> _untold_text("L1|n|2005年形成", {"L1": ("survey_2009_construction_m2",)})
    'L1 未能判定（缺少二调图层 [layers.survey_2009]）：无批准文号，未落在已批准用地上；2005年形成'
    """
    ids, approved, year = key.split("|")
    cats = ids.split(";")
    lacks = sorted({_missing_zh(f) for c in cats for f in missing.get(c, ())})
    parts = (["无批准文号，未落在已批准用地上"] if approved == "n" else []) + [year]
    return f"{'、'.join(cats)} 未能判定（缺少{'、'.join(lacks)}）：" + "；".join(parts)


def _basis_parts(cat: LegacyCategory, row: pd.Series) -> list[str]:
    """The category's evidence items (profile data) as phrases, those that say nothing left out."""
    return [p for p in (_evidence(EVIDENCE_ITEMS[item], row) for item in cat.evidence) if p]


def _evidence(item: Mapping[str, str], row: pd.Series) -> str:
    """One evidence item of a parcel, as ``landgis/evidence.toml`` writes it.

    >>> row = pd.Series({"formed_year": 2005, "house_cert": pd.NA})
    >>> _evidence(EVIDENCE_ITEMS["formed_year"], row), _evidence(EVIDENCE_ITEMS["house_cert"], row)
    ('2005年形成', '房屋所有权证未记载')

    A register's certificate number is quoted:

    >>> _evidence(EVIDENCE_ITEMS["house_cert"], pd.Series({"house_cert": True, "house_cert_doc": "房权证字第12号"}))
    '有房屋所有权证（房权证字第12号）'
    """
    kind = item["kind"]
    if kind == "text":
        return item["text"]
    value = row.get(item["fact"])
    if kind == "flag":
        said = _fmt_bool(value, item["yes"], item["no"], item["unknown"])
        doc = row.get(f"{item['fact']}_doc")
        quoted = value is True or value is np.True_
        return f"{said}（{doc}）" if said and quoted and isinstance(doc, str) and doc else said
    if kind == "year":
        known = value is not None and not pd.isna(value)
        return item["known"].format(year=int(value)) if known else item["unknown"]
    if value is None or pd.isna(value) or not float(value) > 0:  # measure
        return item.get("none", "")
    return item["template"].format_map(_Facts(row)).rstrip()


class _Facts(dict):
    """A parcel's facts for a template: a fact it lacks or leaves blank is "" (a measure: NaN)."""

    def __init__(self, row: pd.Series):
        super().__init__((k, v) for k, v in row.items() if v is not None and v is not pd.NA)

    def __missing__(self, key: str) -> object:
        return float("nan") if key.endswith(("_m2", "_share")) else ""
