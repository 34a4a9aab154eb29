"""Spreadsheet and notebook reports of a screening.

``inventory.xlsx`` has Chinese headers and summary sheets (by verdict, town,
planned use, rule, legacy category), the rules applied with their articles,
and the input problems. Text is always written as text: a cell starting with
``=``, ``+``, ``-`` or ``@`` never becomes a formula.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from landgis.inventory import COLUMN_NAMES_ZH, VERDICT_ZH

if TYPE_CHECKING:
    from landgis.screening import ScreeningResult

__all__ = ["write_xlsx", "result_html", "SUMMARY_HEADERS_ZH"]

SUMMARY_HEADERS_ZH = {
    "verdict": "筛查结论", "parcels": "宗数", "area_m2": "面积(平方米)", "area_mu": "面积(亩)",
    "town": "乡镇", "planned_use_tag": "规划用途类别", "rule": "规则", "legacy": "历史遗留类别",
    "eligible_parcels": "可入市宗数", "eligible_mu": "可入市面积(亩)",
    "conditional_parcels": "有条件入市宗数", "conditional_mu": "有条件入市面积(亩)",
    "ineligible_parcels": "不可入市宗数", "ineligible_mu": "不可入市面积(亩)",
    "total_parcels": "合计宗数", "total_mu": "合计面积(亩)",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_xlsx(result: ScreeningResult, path: Path) -> None:
    """The inventory with Chinese headers, plus summary, rule and problem sheets."""
    wb = Workbook(write_only=True)
    table = result.table
    table = table[[c for c in table.columns if not c.startswith("fired_")]].copy()
    table["verdict"] = table["verdict"].map(lambda v: f"{VERDICT_ZH.get(v, v)}（{v}）")
    _sheet(wb, "入市地块清单", table, COLUMN_NAMES_ZH)
    tables = result.summary()
    by_verdict = tables["by_verdict"].copy()
    by_verdict["verdict"] = by_verdict["verdict"].map(lambda v: VERDICT_ZH.get(v, "合计"))
    _sheet(wb, "按结论汇总", by_verdict, SUMMARY_HEADERS_ZH)
    _sheet(wb, "按乡镇汇总", tables["by_town"], SUMMARY_HEADERS_ZH)
    _sheet(wb, "按规划用途汇总", tables["by_planned_use"], SUMMARY_HEADERS_ZH)
    _sheet(wb, "规则触发统计", tables["by_rule"], SUMMARY_HEADERS_ZH)
    legacy_rows = table.loc[table["legacy"].fillna("") != "", ["parcel_id", "town", "village", "owner", "area_m2",
                                                               "area_mu", "legacy", "legacy_basis", "verdict",
                                                               "reasons"]]
    _sheet(wb, "历史遗留用地汇总", tables["legacy"], SUMMARY_HEADERS_ZH)
    _sheet(wb, "历史遗留用地清单", legacy_rows, COLUMN_NAMES_ZH)
    rules = pd.DataFrame([{"规则": r.id, "名称": r.title_zh, "英文": r.title_en, "政策原文要点": r.text_zh,
                           "依据条款": r.source, "结果": {"exclude": "不可入市", "condition": "有条件入市",
                                                       "note": "提示"}[r.outcome]}
                          for r in result.profile.rules])
    legacy = pd.DataFrame([{"类别": c.id, "名称": c.title_zh, "依据条款": c.source}
                           for c in result.profile.legacy_categories])
    _sheet(wb, f"规则({result.profile.id})", pd.concat([rules, legacy], ignore_index=True).fillna(""), {})
    problems = pd.DataFrame([{"级别": p.severity, "图层": p.layer, "字段": p.field, "要素": p.features,
                              "说明": p.message} for p in result.problems])
    skipped = pd.DataFrame([{"级别": "warning", "图层": "", "字段": "", "要素": "", "说明": f"{s.rule} 未检查：{s.why}"}
                            for s in result.skipped])
    _sheet(wb, "数据问题", pd.concat([problems, skipped], ignore_index=True), {})
    wb.save(path)


def _sheet(wb: Workbook, title: str, frame: pd.DataFrame, headers: dict[str, str]) -> None:
    ws = wb.create_sheet(title=title[:31])
    bold = Font(bold=True)
    header = []
    for col in frame.columns:
        cell = WriteOnlyCell(ws, value=headers.get(col, col))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    columns = [frame[c].to_numpy(dtype=object) for c in frame.columns]
    for i in range(len(frame)):
        ws.append([_cell(ws, col[i]) for col in columns])
    ws.freeze_panes = "B2"


def _cell(ws, value):
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (np.bool_, bool)):
        return "是" if value else "否"
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, str):
        cell = WriteOnlyCell(ws, value=value)
        if value.startswith(_FORMULA_START):
            cell.data_type = "s"  # text, never a formula
        return cell
    return str(value)


def result_html(result: ScreeningResult) -> str:
    """A compact HTML summary for notebooks (every value escaped)."""
    by = result.summary()["by_verdict"]
    colours = {"eligible": "#1a9850", "conditional": "#fdae61", "ineligible": "#d73027", "total": "#444"}
    rows = "".join(
        f"<tr><td style='color:{colours.get(r.verdict, '#000')}'><b>{escape(VERDICT_ZH.get(r.verdict, '合计'))}"
        f"</b> {escape(str(r.verdict))}</td><td>{int(r.parcels)}</td><td>{r.area_m2:,.2f}</td>"
        f"<td>{r.area_mu:,.4f}</td></tr>" for r in by.itertuples())
    rules = result.summary()["by_rule"].head(10)
    rule_rows = "".join(f"<tr><td>{escape(str(r.rule))}</td><td>{int(r.parcels)}</td></tr>" for r in rules.itertuples())
    probs = [p for p in result.problems if p.severity != "info"]
    prob_html = "".join(f"<li>{escape(str(p))}</li>" for p in probs[:10])
    skipped = "".join(f"<li>{escape(s.rule)}: {escape(s.why)}</li>" for s in result.skipped)
    return (f"<div><h4>{escape(result.project.name)}</h4>"
            f"<p>profile <b>{escape(result.profile.id)}</b> — {escape(result.profile.name_zh)}; "
            f"{len(result.inventory)} parcels</p>"
            f"<table><tr><th>verdict</th><th>parcels</th><th>m²</th><th>亩</th></tr>{rows}</table>"
            f"<p>most frequent reasons</p><table><tr><th>rule</th><th>parcels</th></tr>{rule_rows}</table>"
            + (f"<p>input problems</p><ul>{prob_html}</ul>" if prob_html else "")
            + (f"<p>rules not checked</p><ul>{skipped}</ul>" if skipped else "")
            + "</div>")
