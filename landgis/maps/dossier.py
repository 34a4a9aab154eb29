"""The 入市方案 of a parcel, drafted from its screening: one PDF per parcel, every item the data cannot
give left as a marked blank (【待填：…】) for the bureau and the collective, never invented.

Its contents follow the seeds' lists of what a 入市方案 holds: tianning 第二十九条（一）至（八）(界址、
面积、用途、规划条件; 有偿使用方式、使用期限; 交易方式; 入市价格; 收益分配; 入市主体; 权利义务; 其他),
yueqing 第二十六条 (位置、面积、权属、用途、规划条件、产业准入、开竣工时间和控制指标、入市方式、使用年
限、入市起始价、收益分配), taian 三（三）8（2）, and yanbian 附件2 (its industrial land's 7 % cap on
行政办公及生活服务设施 and "交地之日起1年内开工建设，开工之日起3年内竣工", said under yanbian only).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landgis._runtime import Progress, ProgressArg
from landgis.errors import LandgisError
from landgis.maps._data import MapData, map_data, text
from landgis.maps.redline import planning_text, safe_file_part, sheet_parcels, wrap_wide
from landgis.maps.static import figure_context
from landgis.schema import M2_PER_MU, VERDICT_ZH

__all__ = ["dossiers", "dossier_sections", "BLANK"]

#: how a blank for the bureau is written
BLANK = "【待填：{}】"
_WIDTH = 80          # columns of a value per line (a CJK character counts two)
_LINE = 0.0165       # a line's height, as a share of the page
_TOP, _BOTTOM = 0.90, 0.06


def _blank(what: str) -> str:
    return BLANK.format(what)


def _ownership_doc(row: pd.Series) -> str:
    """The ownership registration as the register gives it: its 集体土地所有权证 number, else a blank for it."""
    for part in text(row.get("register_docs")).split("；"):
        if part.startswith("集体土地所有权证："):
            return part
    if _yes(row.get("registered")):
        return "集体土地所有权已登记，" + _blank("集体土地所有权证号")
    return _blank("集体土地所有权登记")


def _yes(value: Any) -> bool:
    """A yes of the inventory (True, numpy's True, "true"); blank and anything else: no."""
    return value is not None and value is not pd.NA and str(value).strip().lower() in ("true", "1")


def _num(value: Any) -> float | None:
    v = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return None if pd.isna(v) else float(v)


def dossier_sections(row: pd.Series, data: MapData, profile: Any = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The 入市方案's sections for one parcel: (heading, [(item, value)]); a value the data cannot give is a blank."""
    area = _num(row.get("area_m2")) or 0.0
    enterable = _num(row.get("enterable_m2"))
    use = " ".join(filter(None, [text(row.get("planned_use")), text(row.get("planned_use_name"))]))
    industrial = text(row.get("planned_use_tag")) == "industrial"
    yanbian = profile is not None and getattr(profile, "id", "") == "yanbian"
    doc = getattr(profile, "document", "") if profile is not None else ""
    site = [
        ("宗地代码", text(row.get("parcel_id"))),
        ("坐落", " ".join(filter(None, [text(row.get("town")), text(row.get("village"))])) or _blank("坐落")),
        ("土地所有权人（入市主体）", text(row.get("owner")) or _blank("入市主体")),
        ("委托入市实施主体", _blank("如有委托，写明受托组织及授权委托书")),
        ("面积", f"{area:,.2f} 平方米（{area / M2_PER_MU:,.4f} 亩）"),
        ("土地界址", "见入市地块红线图及界址点坐标表；勘测定界成果" + _blank("测绘单位及成果编号")),
        ("现状地类", text(row.get("survey_class_name")) or _blank("现状地类")),
        ("权属及登记", _ownership_doc(row)),
    ]
    if enterable is not None and enterable < area - 0.005:
        site.append(("可入市部分", f"{enterable:,.2f} 平方米（扣除不可入市部分，须调整宗地界线）"))
    planning = [("规划用途", use or _blank("规划用途")),
                ("规划条件", planning_text(row) or _blank("容积率、建筑密度、绿地率、建筑限高（县自然资源主管部门出具）"))]
    if yanbian and industrial:
        planning.append(("配套设施比例", f"工业用地内行政办公及生活服务设施用地面积不得超过项目总用地面积的7%（{doc}附件2 五（六））"))
    planning.append(("产业准入和生态环境保护要求", _blank("县发展改革、生态环境部门意见")))
    terms = [("有偿使用方式", _blank("出让／出租／作价出资（入股）／先租后让")),
             ("使用期限", text(row.get("terms_zh")) or _blank("使用年限"))]
    deal = [("交易方式", _blank("招标／拍卖／挂牌（原则上公开交易）或经批准的协议")),
            ("交地时间", _blank("合同签订后 XX 日内"))]
    if yanbian:
        deal.append(("开竣工时间", f"交地之日起1年内开工建设，开工之日起3年内竣工（{doc}附件2 五（五））"))
    else:
        deal.append(("开竣工时间", _blank("开工、竣工期限及控制指标")))
    base = _num(row.get("base_price"))
    floor = _num(row.get("price_floor"))
    price = [("基准地价", f"{base:,.2f} 元/平方米（{text(row.get('base_price_basis'))}）" if base is not None
              else _blank(f"基准地价（{text(row.get('base_price_basis')) or '无基准地价图层'}）")),
             ("底价依据", text(row.get("price_basis")) or "本配置未规定底价计算方法"),
             ("入市底价", f"{floor:,.2f} 元/平方米，合计 {_num(row.get('price_floor_total')) or 0:,.2f} 元"
                       f"（{_num(row.get('price_floor_total_wan')) or 0:,.4f} 万元）" if floor is not None
              else _blank("土地估价报告及底价")),
             ("评估价格与起始价", _blank("土地估价机构评估结果；起始价"))]
    benefit = [("收益分配方案", _blank("集体组织内部土地经济关系调整、收益分配方案")),
               ("权利义务及违约责任", _blank("入市双方的权利义务、违约责任，期限届满时土地使用权及地上建筑物的处理"))]
    decision = [("集体决议", text(row.get("decision_zh")) or _blank("表决机构、应到会及同意人数、决议日期")),
                ("入市前置条件", text(row.get("checklist_zh")))]
    verdict = text(row.get("verdict"))
    screening = [("筛查结论", VERDICT_ZH.get(verdict, verdict)),
                 ("依据", text(row.get("reasons_zh")) or "未触发任何排除或附条件规则"),
                 ("入市前须办理", text(row.get("actions")) or "无")]
    return [("一、宗地基本情况", site), ("二、规划条件", planning), ("三、有偿使用方式与使用期限", terms),
            ("四、交易方式与开竣工", deal), ("五、入市价格", price), ("六、收益分配与权利义务", benefit),
            ("七、集体决议与前置条件", decision), ("八、筛查结果", screening),
            ("九、其他需要集体决策的内容", [("其他", _blank("其他需要集体决策的内容"))])]


def dossiers(result: Any, folder: str | Path, parcel_ids: Iterable[str] | None = None, *,
             verdicts: Iterable[str] = ("eligible",), profile: Any = None, docx: bool = False,
             progress: ProgressArg = None) -> list[Path]:
    """Write one ``入市方案-<宗地代码>.pdf`` per parcel into ``folder`` (and ``.docx`` with ``docx=True``,
    python-docx: ``pip install landgis[docx]``); return their paths.

    Parameters
    ----------
    result
        a ScreeningResult or :class:`~landgis.maps.MapData` (a finished screening, read back).
    parcel_ids
        the parcels; default: every parcel whose verdict is in ``verdicts`` (default eligible).
    profile
        the profile applied (default: the result's); its document is cited where it sets a term.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    if docx:
        try:
            import docx as _docx  # noqa: F401  (python-docx)
        except ImportError:
            raise LandgisError("the 入市方案 as .docx needs python-docx: pip install 'landgis[docx]'") from None
    data = map_data(result)
    profile = profile if profile is not None else getattr(result, "profile", None)
    inv = data.inventory
    wanted = sheet_parcels(data, parcel_ids, verdicts)
    ids = inv["parcel_id"].astype(str)
    pos = pd.Series(np.arange(len(inv)), index=ids.to_numpy())
    pos = pos[~pos.index.duplicated()]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    names: set[str] = set()
    step = Progress(progress, total=len(wanted), desc="入市方案")
    try:
        with figure_context():
            for pid in wanted:
                step(pid)
                row = inv.iloc[int(pos[pid])]
                name, n = f"入市方案-{safe_file_part(pid, '无宗地代码')}.pdf", 1
                while name.lower() in names:  # two parcels of one id: told apart by a number
                    n += 1
                    name = f"入市方案-{safe_file_part(pid, '无宗地代码')}-{n}.pdf"
                names.add(name.lower())
                path = folder / name
                sections = dossier_sections(row, data, profile)
                with _whole(path) as part:  # a whole file or none: an interrupted run leaves no half document
                    with PdfPages(part, metadata={"Title": f"{pid} 入市方案（草稿）", "Creator": "landgis"}) as pdf:
                        _write(pdf, data, row, sections)
                written.append(path)
                if docx:
                    word = path.with_suffix(".docx")
                    with _whole(word) as part:
                        _write_docx(part, data, pid, sections)
                    written.append(word)
    finally:
        step.close()
    return written


@contextmanager
def _whole(path: Path) -> Iterator[Path]:
    """A file written beside ``path`` and moved there once whole; on any failure removed, ``path`` untouched."""
    part = path.with_name(path.name + ".part")
    try:
        yield part
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def _write(pdf: Any, data: MapData, row: pd.Series, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
    from matplotlib.figure import Figure

    pid = text(row.get("parcel_id"))
    pages: list[Any] = []

    def new_page() -> tuple[Any, float]:
        fig = Figure(figsize=(8.27, 11.69))
        if not pages:
            fig.text(0.5, 0.955, "农村集体经营性建设用地入市方案（草稿）", ha="center", fontsize=16)
            fig.text(0.5, 0.932, "据入市筛查结果生成；【待填】处由入市主体及主管部门填写，未经集体决议和审批不具效力",
                     ha="center", fontsize=8, color="#444444")
        pages.append(fig)
        return fig, _TOP

    fig, y = new_page()
    said = [f"宗地代码：{pid}", f"规则：{data.profile}" if data.profile else "",
            f"编制单位：{data.organisation or _blank('编制单位')}　生成日期：{_dt.date.today().isoformat()}"]
    for line in (s for s in said if s):
        for part in wrap_wide(line, 110).splitlines():
            fig.text(0.08, y, part, fontsize=8.5, color="#222222")
            y -= _LINE
    y -= _LINE * 0.8
    for heading, items in sections:
        wrapped = [(k, wrap_wide(v, _WIDTH)) for k, v in items]
        lines = [max(v.count("\n") + 1, len(wrap_wide(k, 24).splitlines())) for k, v in wrapped]
        need = _LINE * (sum(lines) + 1.6)
        if y - need < _BOTTOM and y < _TOP - 0.01:
            fig, y = new_page()
        fig.text(0.08, y, heading, fontsize=11)
        y -= _LINE * 1.4
        for (key, value), n in zip(wrapped, lines, strict=True):
            if y - _LINE * n < _BOTTOM:
                fig, y = new_page()
            fig.text(0.09, y, wrap_wide(key, 24), fontsize=8.5, va="top", color="#333333")
            fig.text(0.31, y, value, fontsize=8.5, va="top",
                     color="#b00000" if value.startswith("【待填") else "black")
            y -= _LINE * n + 0.004
        y -= _LINE * 0.6
    for k, f in enumerate(pages, start=1):
        f.text(0.5, 0.025, f"{pid}　第 {k} 页 共 {len(pages)} 页", ha="center", fontsize=7, color="#555555")
        pdf.savefig(f)


def _write_docx(path: Path, data: MapData, pid: str, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
    """The same 入市方案 as a Word document: a heading and a two-column table per section, blanks in red."""
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    doc = docx.Document()
    style = doc.styles["Normal"]
    style.font.name, style.font.size = "SimSun", Pt(10.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")  # Chinese text in 宋体 where Word has it
    doc.add_heading("农村集体经营性建设用地入市方案（草稿）", level=0)
    doc.add_paragraph("据入市筛查结果生成；【待填】处由入市主体及主管部门填写，未经集体决议和审批不具效力")
    doc.add_paragraph(f"宗地代码：{pid}　规则：{data.profile}　编制单位：{data.organisation or _blank('编制单位')}　"
                      f"生成日期：{_dt.date.today().isoformat()}")
    for heading, items in sections:
        doc.add_heading(heading, level=1)
        table = doc.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for key, value in items:
            cells = table.add_row().cells
            cells[0].text = key
            run = cells[1].paragraphs[0].add_run(value)
            if value.startswith("【待填"):
                run.font.color.rgb = RGBColor(0xB0, 0, 0)
    doc.save(str(path))
