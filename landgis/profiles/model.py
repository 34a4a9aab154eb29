"""What a loaded profile is: its rules, legacy categories, conflict sources and citations.

Frozen dataclasses, made by :func:`landgis.profiles.load_profile` from the TOML files.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from landgis.conditions import Condition, facts_used

__all__ = ["Rule", "LegacyCategory", "ConflictSource", "Profile", "CITATION_SEP"]


#: joins the parts of a citation: the own document's articles, then each national citation
CITATION_SEP = "；"


@dataclass(frozen=True)
class Rule:
    """One eligibility rule: what it checks, where it comes from, what it does.

    ``source``: article(s) of the profile's own document ("" when it says
    nothing); ``national``: the national documents (with articles) the rule
    rests on. :meth:`Profile.citation` renders both.
    """

    id: str
    title_zh: str
    title_en: str
    text_zh: str
    source: str
    outcome: str
    when: Condition
    national: tuple[str, ...] = ()
    #: what cures a parcel this rule makes conditional, and who acts (Chinese)
    action_zh: str = ""
    #: a rule whose data a project may lack: not checked, it is a note, not a condition
    optional: bool = False

    @property
    def facts(self) -> set[str]:
        return facts_used(self.when)


@dataclass(frozen=True)
class LegacyCategory:
    """A historical-legacy (历史遗留) category, the condition that defines it, and the evidence
    its basis lists (items of :data:`landgis.profiles.EVIDENCE_ITEMS`)."""

    id: str
    title_zh: str
    title_en: str
    source: str
    when: Condition
    national: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConflictSource:
    """Where a fired rule hits a parcel, as drawn in the conflicts layer.

    ``piece`` is ``ground`` (the parcel's ground under the layer's features, those of
    ``classes`` only when given), or ``uncovered`` (its ground under no feature of the
    layer). ``classes`` is (code-table column, values, whether the values are excluded).
    ``cut`` is ``overlay`` (pieces kept by the overlay) or ``after`` (cut after the
    verdicts, for the parcels the rule fired on: for selections that are most of a layer).
    """

    rule: str
    layer: str
    classes: tuple[str, tuple[str, ...], bool] | None = None
    piece: str = "ground"
    cut: str = "overlay"
    #: its pieces are cut from the parcel's enterable area (see :mod:`landgis.enterable`)
    excludes: bool = False


@dataclass(frozen=True)
class Profile:
    """A complete, merged rule profile.

    ``document``: the profile's own policy document, full title in 《》 ("" for
    ``national``, which cites national documents only); ``numbering_note``: how
    the document's article numbers are written where the document itself does
    not print them all (said once, not in every citation).
    """

    id: str
    name_zh: str
    name_en: str
    document: str
    rules: tuple[Rule, ...]
    legacy: tuple[LegacyCategory, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    terms: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    codes: Mapping[str, Any] = field(default_factory=dict)
    chain: tuple[str, ...] = ()
    conflicts: tuple[ConflictSource, ...] = ()
    numbering_note: str = ""
    #: supply modes and their terms (``[supply.<mode>]``, see :mod:`landgis.profiles.supply`)
    supply: Mapping[str, Any] = field(default_factory=dict)
    #: the price floor's items and the first-purchase share (``[price]``, see :mod:`landgis.prices`)
    price: Any = None
    #: a marginal conflict let in on condition of adjusting the boundary (see :mod:`landgis.adjustment`)
    boundary_adjustment: Mapping[str, Any] | None = None
    #: the last day the profile's document is in force (``YYYY-MM-DD``; "" when it sets none), and the article
    valid_until: str = ""
    valid_source: str = ""

    def expired_on(self, day: _dt.date) -> bool:
        """Whether ``day`` is after the last day the profile's document is in force (never, when it sets none)."""
        return bool(self.valid_until) and day.isoformat() > self.valid_until

    def validity_zh(self, day: _dt.date) -> str:
        """The document's term of force as the outputs say it ("" when it sets none).

        >>> from landgis.profiles import load_profile
        >>> load_profile("yanbian").validity_zh(_dt.date(2026, 12, 7))
        '政策有效期至2024-12-31（第三十七条），筛查日2026-12-07已过期'
        >>> load_profile("yanbian").validity_zh(_dt.date(2024, 12, 31))
        '政策有效期至2024-12-31（第三十七条）'
        """
        if not self.valid_until:
            return ""
        said = f"政策有效期至{self.valid_until}" + (f"（{self.valid_source}）" if self.valid_source else "")
        return said + (f"，筛查日{day.isoformat()}已过期" if self.expired_on(day) else "")

    def citation(self, item: Rule | LegacyCategory) -> str:
        """What a rule or legacy category rests on, under this profile, in one string.

        ``"《document》source；national1；national2"``; only the national citations
        when the profile's own document says nothing (``source`` empty); ``""``
        when nothing is cited. Every output (reason texts, the xlsx rules sheet,
        maps, the catalogue) cites through this.

        Examples
        --------
        >>> from landgis.profiles import load_profile
        >>> yueqing = load_profile("yueqing")
        >>> yueqing.citation(yueqing.rule("RESTRICTED"))
        '《乐清市农村集体经营性建设用地入市管理办法（试行）（征求意见稿）》第八条第（六）项'
        >>> yueqing.citation(yueqing.rule("FARMLAND"))
        '《中华人民共和国土地管理法》第三十五条第一款；《中华人民共和国土地管理法实施条例》第三条第一款'
        >>> yueqing.citation(yueqing.rule("UDB"))
        ''
        """
        parts = []
        if item.source:
            parts.append(f"{self.document}{item.source}")
        parts += [n for n in item.national if n]
        return CITATION_SEP.join(parts)

    @property
    def excluding_rules(self) -> list[str]:
        """The rules whose conflict pieces are cut from the enterable area (``excludes = true``)."""
        return [c.rule for c in self.conflicts if c.excludes]

    @property
    def allowed_uses(self) -> list[str] | None:
        """The planned-use tags open to market entry (``settings.allowed_uses``), or None."""
        uses = self.settings.get("allowed_uses")
        return None if uses is None else [str(u) for u in uses]

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(f"profile {self.id} has no rule {rule_id!r}")

    @property
    def rule_ids(self) -> list[str]:
        return [r.id for r in self.rules]

    @property
    def legacy_categories(self) -> tuple[LegacyCategory, ...]:
        """The categories this profile uses, in precedence order."""
        wanted = list(self.settings.get("legacy_categories", []))
        by_id = {c.id: c for c in self.legacy}
        return tuple(by_id[c] for c in wanted if c in by_id)

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        from html import escape
        rows = "".join(
            f"<tr><td>{escape(r.id)}</td><td>{escape(r.title_zh)}</td><td>{escape(r.outcome)}</td>"
            f"<td>{escape(self.citation(r))}</td></tr>" for r in self.rules)
        return (f"<b>{escape(self.id)}</b> — {escape(self.name_zh)}<table><tr><th>id</th><th>规则</th>"
                f"<th>outcome</th><th>依据</th></tr>{rows}</table>")
