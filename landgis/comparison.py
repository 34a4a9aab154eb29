"""Compare stage: what changed between two screenings of a county.

Analysts screen again whenever a layer is updated (a new 年度变更 survey, a revised
plan) or a rule changes (another profile, a new tolerance), and the first question is
what moved. :func:`compare` matches the two inventories parcel by parcel (by
``parcel_id``; parcels sharing an id are matched in the order they come) and says,
for each parcel that changed, how: it was ``added`` or ``removed``, its ``verdict``
changed, only its ``reasons`` (or legacy category) changed, or only ``measures``
(areas, dominant planned use or survey class) changed. Areas count as changed when
they differ as the inventory rounds them (to 0.01 m²).

:func:`landgis.io.read_inventory` (the I/O edge) reads an inventory from a screening's
output folder, its ``inventory.csv`` or its ``screening.gpkg``; the comparison itself is
pure pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landgis.errors import LandgisError
from landgis.schema import VERDICTS

__all__ = ["compare", "read_screening_table", "Comparison", "CHANGE_KINDS"]

#: kinds of change, most decisive first (a parcel gets the first that applies)
CHANGE_KINDS = ("added", "removed", "verdict", "reasons", "measures")
#: the inventory columns compared: text as is, areas as rounded in the inventory
TEXT_COLUMNS = ("verdict", "reasons", "legacy", "planned_use", "survey_class")
AREA_COLUMNS = ("area_m2", "farmland_m2", "redline_m2", "udb_m2")
#: columns carried, not compared, so that each changed row says where the parcel is (the later screening's)
CONTEXT_COLUMNS = ("town", "village", "owner")
#: columns a compared inventory must have
REQUIRED = ("parcel_id", "verdict", "reasons")
ABSENT = "(absent)"


@dataclass
class Comparison:
    """Two screenings compared: ``changes`` (one row per parcel that changed), ``transitions``
    (parcels by verdict before × after, all parcels) and ``by_rule`` (parcels each rule now
    fires on and no longer fires on)."""

    changes: pd.DataFrame
    transitions: pd.DataFrame
    by_rule: pd.DataFrame
    before_count: int
    after_count: int
    before_label: str = "before"
    after_label: str = "after"

    def counts(self) -> dict[str, int]:
        """Parcels per kind of change (every kind listed, zeros included)."""
        vc = self.changes["change"].value_counts()
        return {kind: int(vc.get(kind, 0)) for kind in CHANGE_KINDS}

    def write(self, path: str | Path) -> Path:
        """Write ``changes`` as CSV (UTF-8 with BOM, as ``inventory.csv``)."""
        from landgis import io

        path = Path(path)
        with io.written_whole(path) as tmp:  # a failed write leaves an earlier file as it was
            io.write_csv(self.changes, tmp)
        return path

    def text_summary(self) -> str:
        """The plain-text summary ``landgis compare`` prints."""
        lines = [self._headline(), "parcels by verdict, before (rows) and after (columns):"]
        table = self._shown_transitions()
        width = max(len(str(v)) for v in [*table.index, *table.columns, "before \\ after"]) + 2
        lines.append("  " + "before \\ after".ljust(width) + "".join(f"{col:>{width}}" for col in table.columns))
        for verdict, row in table.iterrows():
            lines.append("  " + str(verdict).ljust(width) + "".join(f"{int(n):>{width}}" for n in row))
        return "\n".join([*lines, *self._findings()])

    def __repr__(self) -> str:
        return f"<Comparison {self.counts()}>"

    def _repr_html_(self) -> str:
        """Jupyter's view: the text summary, with the verdict transitions as a table."""
        import html

        table = self._shown_transitions().to_html(border=0)  # pandas escapes the cells
        return (f"<div><p>{html.escape(self._headline())}</p>{table}"
                + "".join(f"<p>{html.escape(line)}</p>" for line in self._findings()) + "</div>")

    def _headline(self) -> str:
        return f"{self.before_label}: {self.before_count} parcels; {self.after_label}: {self.after_count} parcels"

    def _findings(self) -> list[str]:
        """The summary's lines under the transitions: counts per kind, rules now and no longer firing."""
        c = self.counts()
        lines = []
        if self.before_count and self.after_count and c["added"] == self.after_count:
            lines.append("no parcel id is in both screenings: check that they screen the same parcels layer")
        lines.append(f"{c['verdict']} changed verdict, {c['reasons']} changed reasons only, "
                     f"{c['measures']} changed measures only; {c['added']} added, {c['removed']} removed")
        for col, words in (("now_fires", "now firing"), ("no_longer_fires", "no longer firing")):
            rows = self.by_rule[self.by_rule[col] > 0].sort_values([col, "rule"], ascending=[False, True])
            if len(rows):
                lines.append(f"rules {words}: " + ", ".join(f"{r} ({n})" for r, n in zip(rows["rule"], rows[col],
                                                                                       strict=True)))
        return lines

    def _shown_transitions(self) -> pd.DataFrame:
        """The transitions, less the (absent) row and column when no parcel was added or removed."""
        table = self.transitions
        if not table.loc[ABSENT].any() and not table[ABSENT].any():
            table = table.drop(index=ABSENT, columns=ABSENT)
        return table


def compare(before: Any, after: Any) -> Comparison:
    """Compare two screenings of the same parcels.

    Parameters
    ----------
    before, after
        each a :class:`~landgis.result.ScreeningResult`, an inventory table (as
        ``result.table`` or ``inventory.csv`` read), or the path of a screening's output
        folder, ``inventory.csv`` or ``screening.gpkg``.

    Returns
    -------
    Comparison
        ``changes`` has one row per parcel that changed: ``parcel_id``, where it is (``town``,
        ``village``, ``owner``, when the inventories have them), ``change`` (one of
        :data:`CHANGE_KINDS`), ``verdict_before``/``_after``, ``reasons_before``/``_after``,
        ``rules_added``/``rules_removed`` (``;``-separated), ``what_changed`` (each compared
        column that changed, ``column: before → after``) and every compared column before
        and after; sorted by parcel id.

    Raises
    ------
    landgis.errors.LandgisError
        when an inventory cannot be read or lacks ``parcel_id``, ``verdict`` or ``reasons``.

    Examples
    --------
    >>> old = pd.DataFrame({"parcel_id": ["A", "B", "C"], "verdict": ["eligible", "eligible", "ineligible"],
    ...                     "reasons": ["", "", "FARMLAND"], "farmland_m2": [0.0, 0.0, 300.0]})
    >>> new = pd.DataFrame({"parcel_id": ["A", "B", "D"], "verdict": ["eligible", "ineligible", "eligible"],
    ...                     "reasons": ["", "FARMLAND", ""], "farmland_m2": [0.0, 12.5, 0.0]})
    >>> cmp = compare(old, new)
    >>> cmp.changes[["parcel_id", "change", "rules_added", "what_changed"]].values.tolist()
    [['B', 'verdict', 'FARMLAND', 'verdict: eligible → ineligible; reasons: (none) → FARMLAND; farmland_m2: 0 → 12.5'], \
['C', 'removed', '', ''], ['D', 'added', '', '']]
    >>> cmp.counts()
    {'added': 1, 'removed': 1, 'verdict': 1, 'reasons': 0, 'measures': 0}
    """
    old, old_label = _as_table(before, "before")
    new, new_label = _as_table(after, "after")
    columns = [c for c in (*TEXT_COLUMNS, *AREA_COLUMNS) if c in old and c in new]
    context = [c for c in CONTEXT_COLUMNS if c in old or c in new]
    merged = pd.merge(_keyed(old, columns, context), _keyed(new, columns, context), on=["parcel_id", "_nth"],
                      how="outer", suffixes=("_before", "_after"), indicator=True, sort=False)
    present_before = merged["_merge"].to_numpy() != "right_only"
    present_after = merged["_merge"].to_numpy() != "left_only"
    both = present_before & present_after

    differs = {}
    for col in columns:
        a, b = merged[f"{col}_before"], merged[f"{col}_after"]
        if col in AREA_COLUMNS:
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            differs[col] = both & ~((x == y) | (np.isnan(x) & np.isnan(y)))
        else:
            differs[col] = both & (a.to_numpy() != b.to_numpy())
    change = np.full(len(merged), "", dtype=object)
    measures = np.zeros(len(merged), dtype=bool)
    for col in columns:
        if col not in ("verdict", "reasons", "legacy"):
            measures |= differs[col]
    reasons = differs.get("reasons", np.zeros(len(merged), bool)) | differs.get("legacy", np.zeros(len(merged), bool))
    for kind, mask in (("measures", measures), ("reasons", reasons), ("verdict", differs["verdict"]),
                       ("removed", ~present_after), ("added", ~present_before)):
        change[mask] = kind   # later kinds are more decisive and overwrite earlier ones

    # rules added and dropped, and what changed, for the changed rows only (a county has 150k rows)
    n = len(merged)
    added, removed = np.full(n, "", dtype=object), np.full(n, "", dtype=object)
    moved = np.flatnonzero(differs["reasons"])
    rules_before = [_rules(r) for r in merged["reasons_before"].to_numpy()[moved]]
    rules_after = [_rules(r) for r in merged["reasons_after"].to_numpy()[moved]]
    added[moved] = [";".join(sorted(b - a)) for a, b in zip(rules_before, rules_after, strict=True)]
    removed[moved] = [";".join(sorted(a - b)) for a, b in zip(rules_before, rules_after, strict=True)]
    what = np.full(n, "", dtype=object)
    for col in columns:
        at = np.flatnonzero(differs[col])
        text = [f"{col}: {_shown(x)} → {_shown(y)}" for x, y in zip(merged[f"{col}_before"].to_numpy()[at],
                                                                   merged[f"{col}_after"].to_numpy()[at],
                                                                   strict=True)]
        what[at] = [f"{w}; {t}" if w else t for w, t in zip(what[at], text, strict=True)]

    out = pd.DataFrame({"parcel_id": merged["parcel_id"]})
    for col in context:
        out[col] = merged[f"{col}_after"].where(present_after, merged[f"{col}_before"]).fillna("")
    out = out.assign(**{
        "change": change,
        "verdict_before": merged["verdict_before"].fillna(""), "verdict_after": merged["verdict_after"].fillna(""),
        "reasons_before": merged["reasons_before"].fillna(""), "reasons_after": merged["reasons_after"].fillna(""),
        "rules_added": added, "rules_removed": removed, "what_changed": what,
    })
    for col in columns:
        if col not in ("verdict", "reasons"):
            out[f"{col}_before"] = merged[f"{col}_before"]
            out[f"{col}_after"] = merged[f"{col}_after"]
    order = merged[["parcel_id", "_nth"]].sort_values(["parcel_id", "_nth"], kind="stable").index
    out = out.loc[order]
    transitions = _transitions(np.where(present_before, merged["verdict_before"].fillna(ABSENT), ABSENT),
                               np.where(present_after, merged["verdict_after"].fillna(ABSENT), ABSENT))
    by_rule = _by_rule(rules_before, rules_after)
    return Comparison(changes=out[out["change"].to_numpy() != ""].reset_index(drop=True), transitions=transitions,
                      by_rule=by_rule, before_count=len(old), after_count=len(new),
                      before_label=old_label, after_label=new_label)


def read_screening_table(source: str | Path) -> pd.DataFrame:
    """The columns :func:`compare` uses of a finished screening (its folder, ``inventory.csv`` or
    ``screening.gpkg``), read now: ``landgis screen --compare-with`` reads the screening it is
    about to replace before replacing it. ``attrs["label"]`` names it.

    Raises
    ------
    landgis.errors.LandgisError
        when there is no such screening or it is not an inventory.
    """
    from landgis import io

    return io.read_inventory(source, columns=(*REQUIRED, *CONTEXT_COLUMNS, *TEXT_COLUMNS, *AREA_COLUMNS),
                             areas=AREA_COLUMNS)


def _as_table(source: Any, label: str) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        frame = pd.DataFrame(source.drop(columns="geometry", errors="ignore"))
        text = source.attrs.get("label", label)
    elif hasattr(source, "table") and hasattr(source, "inventory"):  # a ScreeningResult
        frame = source.table
        text = f"{label} ({source.profile.id})"
    else:
        frame = read_screening_table(source)
        text = frame.attrs.get("label", label)
    missing = [c for c in REQUIRED if c not in frame]
    if missing:
        raise LandgisError(f"the {label} inventory has no column {', '.join(missing)}")
    return frame, text


def _keyed(frame: pd.DataFrame, columns: list[str], context: list[str]) -> pd.DataFrame:
    """The compared and carried columns, keyed by parcel id and its occurrence (0 for the first row of an
    id, 1 the next…); a carried column the frame lacks is blank."""
    out = pd.DataFrame({"parcel_id": frame["parcel_id"].astype(str).to_numpy()})
    out["_nth"] = out.groupby("parcel_id").cumcount().to_numpy()
    for col in context:
        out[col] = frame[col].astype(object).where(frame[col].notna(), "").astype(str).to_numpy() if col in frame \
            else ""
    for col in columns:
        values = frame[col]
        if col in AREA_COLUMNS:
            out[col] = np.round(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float), 2)
        else:
            out[col] = values.astype(object).where(values.notna(), "").astype(str).to_numpy()
    return out


def _rules(reasons: str) -> frozenset[str]:
    return frozenset(r for r in str(reasons).split(";") if r)


def _shown(value: Any) -> str:
    """A compared value as ``what_changed`` shows it: areas as written in the inventory, nothing as (none)."""
    if isinstance(value, (float, np.floating)):
        return "(none)" if np.isnan(value) else repr(float(value)).removesuffix(".0")
    return str(value) if value != "" else "(none)"


def _transitions(before: np.ndarray, after: np.ndarray) -> pd.DataFrame:
    order = [*VERDICTS, ABSENT]
    extra = sorted((set(before) | set(after)) - set(order))  # a verdict landgis does not write: shown, not dropped
    labels = [*VERDICTS, *extra, ABSENT]
    table = pd.crosstab(pd.Categorical(before, categories=labels), pd.Categorical(after, categories=labels),
                        dropna=False)
    table.index.name, table.columns.name = "before", "after"
    return table.astype(int)


def _by_rule(before: list[frozenset[str]], after: list[frozenset[str]]) -> pd.DataFrame:
    now: dict[str, int] = {}
    gone: dict[str, int] = {}
    for a, b in zip(before, after, strict=True):
        for r in b - a:
            now[r] = now.get(r, 0) + 1
        for r in a - b:
            gone[r] = gone.get(r, 0) + 1
    rules = sorted(set(now) | set(gone))
    return pd.DataFrame({"rule": rules, "now_fires": [now.get(r, 0) for r in rules],
                         "no_longer_fires": [gone.get(r, 0) for r in rules]}, columns=["rule", "now_fires",
                                                                                       "no_longer_fires"])
