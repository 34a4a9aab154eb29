"""Spreadsheet and notebook reports of a screening.

``inventory.xlsx`` has Chinese headers and summary sheets (by verdict, town,
planned use, rule, legacy category), the rules applied with their articles,
and the input problems, written by :mod:`landgis.io.xlsx`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from landgis.catalogue import USE_ZH
from landgis.checklist import STATUS_ZH, checklist, checklist_items
from landgis.distinct import map_distinct
from landgis.inventory import COLUMN_NAMES_ZH
from landgis.io.xlsx import Workbook, add_frame
from landgis.profiles.supply import supply_zh
from landgis.rules import BUILTIN_REASONS, NODATA
from landgis.schema import LAYER_ZH, OUTCOME_ZH, SEVERITY_ZH, VALUE_ZH, VERDICT_COLOURS, VERDICT_ZH, VERDICTS
from landgis.supply_plan import plan_summary

__all__ = ["write_xlsx", "result_html", "SUMMARY_HEADERS_ZH"]

SUMMARY_HEADERS_ZH = {
    "verdict": "筛查结论", "parcels": "宗数", "area_m2": "面积(平方米)", "area_mu": "面积(亩)",
    "town": "乡镇", "village": "村", "planned_use_tag": "规划用途类别", "rule": "规则", "legacy": "历史遗留类别",
    "eligible_parcels": "可入市宗数", "eligible_mu": "可入市面积(亩)",
    "conditional_parcels": "有条件入市宗数", "conditional_mu": "有条件入市面积(亩)",
    "ineligible_parcels": "不可入市宗数", "ineligible_mu": "不可入市面积(亩)",
    "total_parcels": "合计宗数", "total_mu": "合计面积(亩)",
    "title": "规则名称", "data_only_parcels": "其中仅因数据缺失(宗)", "data_only_mu": "其中仅因数据缺失(亩)", "action": "入市前须办理",
}


#: planned-use tag → its Chinese name (用地用海分类)
_USE_NAMES = {**USE_ZH, "other": "其他", "(none)": "（无规划）"}


def _in_chinese(table: pd.DataFrame) -> pd.DataFrame:
    """The values landgis writes in English in the csv, in Chinese for the sheet (planned-use tags,
    approval and road sources, geometry status)."""
    out = table.copy(deep=False)
    if "planned_use_tag" in out:
        out["planned_use_tag"] = map_distinct(out["planned_use_tag"], lambda u: _USE_NAMES.get(u, u), missing="")
    for col, names in VALUE_ZH.items():
        if col in out:
            out[col] = map_distinct(out[col], lambda v, names=names: _value_zh(v, names), missing="")
    return out


def _value_zh(value: object, names: Mapping[str, str]) -> object:
    text = str(value)
    if text in names:
        return names[text]
    if text.startswith("survey "):  # road_source: the survey's road classes
        return "现状调查道路地类 " + text.removeprefix("survey ")
    return value


def _with_total(frame: pd.DataFrame, label: str, by_verdict: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a 合计 row, the counts and 亩 of :func:`~landgis.inventory.summaries`' by-verdict
    table (so every sheet's 合计 is the same number, not a sum of rounded rows)."""
    totals = by_verdict.set_index("verdict")
    row: dict[str, object] = {c: "" for c in frame.columns}
    for v in VERDICTS:
        row[f"{v}_parcels"] = int(totals.loc[v, "parcels"])
        row[f"{v}_mu"] = float(totals.loc[v, "area_mu"])
    row["total_parcels"] = int(totals.loc["total", "parcels"])
    row["total_mu"] = float(totals.loc["total", "area_mu"])
    row[label] = "合计"
    return pd.concat([frame, pd.DataFrame([{c: row[c] for c in frame.columns}])], ignore_index=True)


def _with_titles(by_rule: pd.DataFrame, profile: Any) -> pd.DataFrame:
    """The by-rule counts with each rule's Chinese title beside its id."""
    titles = {r.id: r.title_zh for r in profile.rules}
    titles.update({f"{NODATA}{rid}": f"未能核查“{title}”" for rid, title in list(titles.items())})
    titles.update({rid: text["title_zh"] for rid, text in BUILTIN_REASONS.items() if rid != "NODATA"})
    out = by_rule.copy()
    out.insert(1, "title", out["rule"].map(lambda r: titles.get(r, "")))
    return out


#: the 年度供应计划 sheet's headers
PLAN_HEADERS_ZH = {"town": "乡镇", "use": "规划用途", "year": "计划供应年度", "eligible_parcels": "可入市宗数",
                   "eligible_mu": "可入市面积(亩)", "conditional_parcels": "有条件入市宗数",
                   "conditional_mu": "有条件入市面积(亩)"}


def _checklist_sheet(result: Any) -> pd.DataFrame:
    """Each parcel's prerequisites of entry, one column each, 已完成 / 未完成 / 不详."""
    inv = result.inventory
    rule_ids = set(result.profile.rule_ids)
    table = checklist(inv, rule_ids)
    names = {i["id"]: i["name_zh"] for i in checklist_items(rule_ids)}
    out = pd.DataFrame({"宗地代码": inv["parcel_id"], "乡镇": inv.get("town", ""), "村": inv.get("village", ""),
                        "筛查结论": inv["verdict"].map(lambda v: VERDICT_ZH.get(v, v))})
    for col in table.columns:
        out[names[col]] = table[col].map(STATUS_ZH)
    return out


def write_xlsx(result: Any, path: Path, table: pd.DataFrame | None = None) -> None:
    """The inventory with Chinese headers, plus summary, rule and problem sheets.

    ``table`` is ``result.table`` when the caller has it already (the csv's, in
    :meth:`~landgis.result.ScreeningResult.write`), so it is not made twice.
    """
    wb = Workbook()
    table = result.table if table is None else table
    table = table[[c for c in table.columns if not c.startswith("fired_")]]  # copy-on-write: not copied
    table["verdict"] = map_distinct(table["verdict"], lambda v: f"{VERDICT_ZH.get(v, v)}（{v}）", missing="")
    table = _in_chinese(table)
    add_frame(wb, "入市地块清单", table, COLUMN_NAMES_ZH)
    tables = result.summary()
    by_verdict = tables["by_verdict"].copy()
    by_verdict["verdict"] = by_verdict["verdict"].map(lambda v: VERDICT_ZH.get(v, "合计"))
    add_frame(wb, "按结论汇总", by_verdict, SUMMARY_HEADERS_ZH)
    add_frame(wb, "按乡镇汇总", _with_total(tables["by_town"], "town", tables["by_verdict"]), SUMMARY_HEADERS_ZH)
    add_frame(wb, "按村汇总", _with_total(tables["by_village"], "town", tables["by_verdict"]), SUMMARY_HEADERS_ZH)
    by_use = tables["by_planned_use"].copy()
    by_use["planned_use_tag"] = by_use["planned_use_tag"].map(lambda u: _USE_NAMES.get(u, u))
    add_frame(wb, "按规划用途汇总", _with_total(by_use, "planned_use_tag", tables["by_verdict"]), SUMMARY_HEADERS_ZH)
    add_frame(wb, "规则触发统计", _with_titles(tables["by_rule"], result.profile), SUMMARY_HEADERS_ZH)
    add_frame(wb, "年度供应计划", plan_summary(result.inventory), PLAN_HEADERS_ZH)
    add_frame(wb, "入市前置条件", _checklist_sheet(result), {})
    add_frame(wb, "按办理事项汇总", tables["by_action"], SUMMARY_HEADERS_ZH)
    legacy_rows = table.loc[table["legacy"].fillna("") != "", ["parcel_id", "town", "village", "owner", "area_m2",
                                                               "area_mu", "legacy", "legacy_basis", "verdict",
                                                               "reasons"]]
    add_frame(wb, "历史遗留用地汇总", tables["legacy"], SUMMARY_HEADERS_ZH)
    add_frame(wb, "历史遗留用地清单", legacy_rows, COLUMN_NAMES_ZH)
    profile = result.profile
    rules = pd.DataFrame([{"规则": r.id, "名称": r.title_zh, "英文": r.title_en, "政策原文要点": r.text_zh,
                           "依据条款": profile.citation(r), "结果": OUTCOME_ZH[r.outcome]}
                          for r in profile.rules])
    legacy = pd.DataFrame([{"类别": c.id, "名称": c.title_zh, "依据条款": profile.citation(c)}
                           for c in profile.legacy_categories])
    # the profile's own document, and how its article numbers are written (said once, here)
    about = pd.DataFrame([{"规则": label, "名称": text} for label, text in
                          (("依据文件", profile.document), ("条款编号说明", profile.numbering_note),
                           ("有效期", profile.validity_zh(_dt.date.today())),
                           ("入市方式与年限", supply_zh(profile))) if text])
    parts = [rules] + [f for f in (legacy, about) if len(f)]
    add_frame(wb, f"规则({profile.id})", pd.concat(parts, ignore_index=True).fillna(""), {})
    # a rule not checked is said once, in Chinese, with the data that settles it (the run's log says it in English)
    said = {f"rule {s.rule} not checked: {s.why}" for s in result.skipped}
    problems = pd.DataFrame([{"级别": SEVERITY_ZH.get(p.severity, p.severity), "图层": LAYER_ZH.get(p.layer, p.layer), "字段": p.field,
                              "要素": p.features, "说明": p.message_zh or p.message} for p in result.problems
                             if p.message not in said])
    titles = {r.id: r.title_zh for r in result.profile.rules}
    skipped = pd.DataFrame([{"级别": SEVERITY_ZH["warning"], "图层": "", "字段": "", "要素": "",
                             "说明": (f"{s.rule} 未能核查“{titles.get(s.rule, s.rule)}”（{s.parcels} 宗）：缺少{s.data_zh}"
                                    if s.data_zh else f"{s.rule} 未能核查：{s.why}")} for s in result.skipped])
    add_frame(wb, "数据问题", pd.concat([problems, skipped], ignore_index=True), {})
    wb.save(path)


_MAX_LISTED = 10


def result_html(result: Any) -> str:
    """A compact HTML summary of a screening, shown by Jupyter for a result.

    Parcels and areas (m², 亩) by verdict, the most frequent reasons with
    their Chinese titles, outcome and source articles, historical-legacy land,
    input problems (warnings and errors with the features concerned; the
    repairs and assumptions folded away) and rules that could not be checked.
    Every value from the data, the project or the profile is HTML-escaped.

    Parameters
    ----------
    result
        a :class:`~landgis.result.ScreeningResult`.

    Returns
    -------
    str
        an HTML fragment (no scripts, no external resources).

    Examples
    --------
    >>> result  # the sample county screened once, as in the ScreeningResult example
    <ScreeningResult {'eligible': 286, 'conditional': 27, 'ineligible': 105} profile=guilin>
    >>> html = result_html(result)
    >>> "可入市" in html and "亩" in html and "<script" not in html
    True
    """
    e = _esc
    tables = result.summary()
    by = tables["by_verdict"]
    total_m2 = float(by.loc[by["verdict"] == "total", "area_m2"].sum()) or 1.0
    rows = []
    for r in by.itertuples():
        colour = VERDICT_COLOURS.get(r.verdict, "inherit")
        bold = " style='font-weight:bold;border-top:1px solid #888'" if r.verdict == "total" else ""
        rows.append(f"<tr{bold}><td style='text-align:left'><span style='color:{colour}'>&#9632;</span> "
                    f"{e(VERDICT_ZH.get(r.verdict, '合计'))} <code>{e(r.verdict)}</code></td>"
                    f"<td>{int(r.parcels):,}</td><td>{r.area_m2:,.2f}</td><td>{r.area_mu:,.4f}</td>"
                    f"<td>{100 * r.area_m2 / total_m2:.1f}%</td></tr>")
    parts = [
        "<div class='landgis-result'>",
        f"<h4 style='margin:0.3em 0'>{e(result.project.name)}</h4>",
        f"<p style='margin:0.2em 0'>profile <b>{e(result.profile.id)}</b> — {e(result.profile.name_zh)}"
        f"{' (' + e(result.profile.name_en) + ')' if result.profile.name_en else ''}; "
        f"{len(result.inventory):,} parcels{e(result._parcel_filter())}; tolerance {e(f'{result.project.min_overlap_m2:g}')} m²</p>",
        "<table><thead><tr><th style='text-align:left'>verdict 筛查结论</th><th>parcels 宗数</th>"
        "<th>m²</th><th>亩</th><th>area</th></tr></thead><tbody>", *rows, "</tbody></table>",
    ]
    by_rule = tables["by_rule"]
    if len(by_rule):
        titles = {r.id: r for r in result.profile.rules}
        rule_rows = []
        for r in by_rule.head(_MAX_LISTED).itertuples():
            rule = titles.get(r.rule)
            title = rule.title_zh if rule else ""
            outcome = f"{OUTCOME_ZH.get(rule.outcome, rule.outcome)} ({rule.outcome})" if rule else ""
            source = result.profile.citation(rule) if rule else ""
            rule_rows.append(f"<tr><td style='text-align:left'><code>{e(r.rule)}</code></td>"
                             f"<td style='text-align:left'>{e(title)}</td><td style='text-align:left'>{e(outcome)}"
                             f"</td><td>{int(r.parcels):,}</td><td>{r.area_mu:,.4f}</td>"
                             f"<td style='text-align:left'>{e(source)}</td></tr>")
        more = f" (top {_MAX_LISTED} of {len(by_rule)})" if len(by_rule) > _MAX_LISTED else ""
        parts += [f"<p style='margin:0.6em 0 0.2em'><b>most frequent reasons</b>{e(more)}</p>",
                  "<table><thead><tr><th style='text-align:left'>rule</th><th style='text-align:left'>规则</th>"
                  "<th style='text-align:left'>outcome</th><th>parcels</th><th>亩</th>"
                  "<th style='text-align:left'>source</th></tr></thead><tbody>", *rule_rows, "</tbody></table>"]
    legacy = result.inventory["legacy"].fillna("")
    legacy = legacy[legacy != ""]
    if len(legacy):
        counts = legacy.value_counts().sort_index()
        cats = {c.id: c.title_zh for c in result.profile.legacy}
        items = "".join(f"<li><code>{e(k)}</code> {e(cats.get(k, ''))}: {int(n)} parcels</li>"
                        for k, n in counts.items())
        parts.append(f"<p style='margin:0.6em 0 0.2em'><b>historical-legacy land 历史遗留</b></p><ul>{items}</ul>")
    serious = [p for p in result.problems if p.severity in ("error", "warning")]
    infos = [p for p in result.problems if p.severity not in ("error", "warning")]
    if serious:
        items = "".join(f"<li>{_problem_html(p)}</li>" for p in serious[:_MAX_LISTED])
        more = f"<li>… and {len(serious) - _MAX_LISTED} more (see <code>result.problems</code>)</li>" \
            if len(serious) > _MAX_LISTED else ""
        parts.append(f"<p style='margin:0.6em 0 0.2em'><b>input problems 数据问题</b> ({len(serious)})</p>"
                     f"<ul>{items}{more}</ul>")
    if infos:
        items = "".join(f"<li>{_problem_html(p)}</li>" for p in infos[:_MAX_LISTED])
        parts.append(f"<details><summary>{len(infos)} repair(s) and assumption(s)</summary><ul>{items}</ul>"
                     "</details>")
    if result.skipped:
        items = "".join(f"<li><code>{e(s.rule)}</code>: {e(s.why)}</li>" for s in result.skipped)
        parts.append(f"<p style='margin:0.6em 0 0.2em'><b>rules not checked</b></p><ul>{items}</ul>")
    parts.append("<p style='margin:0.6em 0 0;color:#666'><code>.inventory</code> GeoDataFrame · "
                 "<code>.summary()</code> tables · <code>.map()</code> interactive map · "
                 "<code>.write(out)</code> every output of <code>landgis screen</code></p></div>")
    return "".join(parts)


def _esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _problem_html(p) -> str:
    where = f"layer <code>{_esc(p.layer)}</code>" if p.layer else "project"
    if p.field:
        where += f", field <code>{_esc(p.field)}</code>"
    feats = str(p.features or "")
    ids = [f.strip() for f in feats.split(",") if f.strip()]
    if len(ids) > 5:
        feats = ", ".join(ids[:5]) + f", … ({len(ids)} features)"
    feats_html = f" <small>({_esc(feats)})</small>" if feats else ""
    return f"<b>{_esc(p.severity)}</b> {where}: {_esc(p.message)}{feats_html}"
