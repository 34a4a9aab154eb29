"""A minimal streaming XLSX writer: text always text, no Python code per cell.

openpyxl builds an object per cell, minutes for a county's inventory; this builds each
column's cells as XML text in one Arrow string array (numbers formatted by Arrow's
shortest round-trip cast, text as the number of a shared string, each distinct text
escaped once), and each row by Arrow's element-wise join. Text is always a string cell
(shared, ``t="s"``, or inline, ``t="inlineStr"``), so a cell starting with ``=``, ``+``,
``-`` or ``@`` can never be read as a formula.
"""

from __future__ import annotations

import queue
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from landgis.distinct import map_distinct

__all__ = ["Workbook", "SHEET_ROWS", "add_frame"]

#: rows of data on one sheet (Excel's limit, 1,048,576, less the header)
SHEET_ROWS = 1_048_575
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def add_frame(wb: Workbook, title: str, frame: pd.DataFrame, headers: dict[str, str]) -> None:
    """Add a sheet: bold header, first row and column frozen, one row per frame row.

    A frame longer than a sheet holds continues on sheets titled ``title (2)``, ``(3)``…
    """
    header = [headers.get(c, c) for c in frame.columns]
    for part, start in enumerate(range(0, max(len(frame), 1), SHEET_ROWS), start=1):
        name = title[:31] if part == 1 else f"{title[:25]} ({part})"
        wb.add_sheet(name, header, frame.iloc[start: start + SHEET_ROWS])


_EMPTY = "<c/>"
_YES = '<c t="inlineStr"><is><t>是</t></is></c>'
_NO = '<c t="inlineStr"><is><t>否</t></is></c>'
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text_cell(value: str, style: str = "") -> str:
    text = escape(value, quote=False)
    if _XML_ILLEGAL.search(text):
        text = _XML_ILLEGAL.sub("", text)
    return f'<c t="inlineStr"{style}><is><t xml:space="preserve">{text}</t></is></c>'


def _number_cells(values: np.ndarray, style: str = "") -> pa.Array:
    """``<c><v>…</v></c>`` for each float (with ``style``, e.g. `` s="2"``); NaN and infinities are empty cells."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    digits = pc.cast(pa.array(np.where(finite, values, 0.0)), pa.string())
    cells = pc.binary_join_element_wise(f"<c{style}><v>", digits, "</v></c>", "")
    return pc.if_else(pa.array(finite), cells, _EMPTY)


def _column_cells(values: pd.Series, strings: _SharedStrings | None = None, style: str = "") -> pa.Array:
    """The ``<c>`` elements of one column: bools as 是/否, numbers as numbers, missing empty.

    Text goes into ``strings`` (the workbook's shared strings) when given, else inline.
    """
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        na = values.isna().to_numpy()
        truth = values.fillna(False).to_numpy(dtype=bool)
        return pc.if_else(pa.array(na), _EMPTY, pc.if_else(pa.array(truth), _YES, _NO))
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return _number_cells(pd.to_numeric(values).to_numpy(dtype=float, na_value=np.nan), style)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "empty":
        return pa.array([_EMPTY] * len(values), type=pa.string())
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):  # numbers in an object column
        return _number_cells(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan), style)
    if kind == "string":  # all text: escaped and wrapped by Arrow, no Python per value
        text = _within_a_cell(pa.array(values, type=pa.large_string(), from_pandas=True))
        return strings.cells(text) if strings is not None else _text_cells(text)
    # anything else, as its text: each distinct value converted once
    cells = map_distinct(values, lambda v: _text_cell(_cut(v if isinstance(v, str) else _plain(v))), missing=_EMPTY)
    return pa.array(cells, type=pa.string())


_XML_ILLEGAL_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"  # _XML_ILLEGAL, in RE2's syntax


#: Excel holds at most 32,767 characters in a cell (it refuses the file otherwise): longer text is cut, saying so
CELL_CHARS = 32_767
_CUT_NOTE = "……（超出 Excel 单元格长度，已截断；全文见 inventory.csv）"


def _cut(text: str) -> str:
    """``text`` as a cell holds it: whole, or cut with :data:`_CUT_NOTE` at the end."""
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - len(_CUT_NOTE)] + _CUT_NOTE


def _within_a_cell(text: pa.Array) -> pa.Array:
    """:func:`_cut` of every value of an Arrow string array (the long ones only; usually none)."""
    long = pc.greater(pc.utf8_length(text), CELL_CHARS)
    if not pc.any(long).as_py():
        return text
    cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, CELL_CHARS - len(_CUT_NOTE)),
                                      _lit(_CUT_NOTE), _lit(""))
    return pc.if_else(long, cut, text)


def _column_style(name: str) -> str:
    """The cell style of a column by its unit: shares as percentages, m² to the cent, 亩 to 4 decimals."""
    if name.endswith("_share"):
        return ' s="2"'   # 0.00%
    if name.endswith("_m2"):
        return ' s="3"'   # #,##0.00
    if name.endswith("_mu"):
        return ' s="4"'   # #,##0.0000
    return ""


def _widths(header: list[str], frame: pd.DataFrame, sample: int = 200, most: float = 60.0) -> list[float]:
    """Column widths (in characters, a CJK character counting two) from the header and the first rows."""
    def width(text: str) -> float:
        return sum(2.0 if ord(ch) > 0x2E80 else 1.0 for ch in text)

    head = frame.head(sample)
    out = []
    for title, column in zip(header, head.columns, strict=True):
        values = [width(str(v)) for v in head[column].tolist() if not _blank(v)]
        out.append(min(most, max([width(str(title)), *values, 6.0]) + 2.0))
    return out


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _column_letter(n: int) -> str:
    """Excel's name of column ``n`` (1 → A, 27 → AA)."""
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _lit(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _escaped(text: pa.Array) -> pa.Array:
    """XML text of every value: ``&``, ``<``, ``>`` escaped, characters XML cannot hold dropped."""
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, char, entity)
    if pc.any(pc.match_substring_regex(text, _XML_ILLEGAL_RE2)).as_py():
        text = pc.replace_substring_regex(text, _XML_ILLEGAL_RE2, "")
    return text


def _text_cells(text: pa.Array) -> pa.Array:
    """:func:`_text_cell` of every value of an Arrow string array; nulls are empty cells."""
    cells = pc.binary_join_element_wise(_lit('<c t="inlineStr"><is><t xml:space="preserve">'), _escaped(text),
                                        _lit("</t></is></c>"), _lit(""))
    return pc.fill_null(cells, _lit(_EMPTY))


class _SharedStrings:
    """The workbook's shared-string table (``xl/sharedStrings.xml``), spooled to a temporary file.

    A text cell then holds only the number of its string: the inventory repeats a
    handful of verdicts, reasons, towns and class names 150 000 times, and as inline
    strings they were most of a county's sheet XML. Each block of a
    column adds its distinct values (a value may be listed twice, as the format
    allows); they go to disk as they come, so the table costs no memory.
    """

    def __init__(self) -> None:
        self.count = 0
        self.file = tempfile.TemporaryFile()

    def cells(self, text: pa.Array) -> pa.Array:
        """``<c t="s">`` cells of every value of an Arrow string array; nulls are empty cells."""
        encoded = pc.dictionary_encode(text)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        items = pc.binary_join_element_wise(_lit('<si><t xml:space="preserve">'), _escaped(encoded.dictionary),
                                            _lit("</t></si>"), _lit(""))
        if len(items):
            self.file.write(_string_bytes(items))
        number = pc.cast(pc.add(encoded.indices.cast(pa.int64()), self.count), pa.large_string())
        self.count += len(encoded.dictionary)
        return pc.fill_null(pc.binary_join_element_wise(_lit('<c t="s"><v>'), number, _lit("</v></c>"), _lit("")),
                            _lit(_EMPTY))

    def write_to(self, out) -> None:
        """Write ``xl/sharedStrings.xml`` to the open zip entry ``out``."""
        out.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   f'<sst xmlns="{Workbook._NS}" count="{self.count}" uniqueCount="{self.count}">').encode())
        self.file.seek(0)
        shutil.copyfileobj(self.file, out, 1 << 20)
        out.write(b"</sst>")

    def close(self) -> None:
        self.file.close()


def _plain(value) -> str:
    """A non-text value in a text column: booleans as 是/否, the rest as ``str``."""
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    return str(value)


class Workbook:
    """Sheets collected as XML, written as one .xlsx (zip) by :meth:`save`."""

    _NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    _REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

    def __init__(self) -> None:
        self.sheets: list[tuple[str, Iterator[bytes | memoryview]]] = []
        self.big: list[bool] = []
        self.strings = _SharedStrings()

    #: rows turned into XML at a time: a county's sheet is hundreds of MB of XML, never held whole
    BLOCK_ROWS = 10_000

    def add_sheet(self, title: str, header: list[str], frame: pd.DataFrame) -> None:
        """A sheet of ``frame``'s rows under ``header``; its XML is made while saving, block by block."""
        self.sheets.append((title, self._sheet_xml(header, frame)))
        self.big.append(len(frame) > 200_000)  # may pass 2 GiB of XML: needs a ZIP64 entry

    def _sheet_xml(self, header: list[str], frame: pd.DataFrame) -> Iterator[bytes | memoryview]:
        styles = [_column_style(str(c)) for c in frame.columns]
        widths = _widths(header, frame)
        cols = "".join(f'<col min="{i}" max="{i}" width="{w:.1f}" customWidth="1"/>'
                       for i, w in enumerate(widths, start=1))
        yield ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               f'<worksheet xmlns="{self._NS}"><sheetViews><sheetView workbookViewId="0">'
               '<pane xSplit="1" ySplit="1" topLeftCell="B2" activePane="bottomRight" state="frozen"/>'
               f'</sheetView></sheetViews>{"<cols>" + cols + "</cols>" if cols else ""}<sheetData>'
               '<row r="1">' + "".join(_text_cell(str(h), ' s="1"') for h in header) + "</row>").encode("utf-8")

        for start in range(0, len(frame), self.BLOCK_ROWS):
            block = frame.iloc[start: start + self.BLOCK_ROWS]
            numbers = pc.cast(pa.array(np.arange(start + 2, start + len(block) + 2)), pa.large_string())
            columns = [_column_cells(block[c], self.strings, s).cast(pa.large_string())
                       for c, s in zip(block.columns, styles, strict=True)]
            rows = pc.binary_join_element_wise(_lit('<row r="'), numbers, _lit('">'), *columns, _lit("</row>"),
                                               _lit(""))
            del columns
            for chunk in rows.chunks if isinstance(rows, pa.ChunkedArray) else [rows]:
                yield _string_bytes(chunk)
        filtered = f"A1:{_column_letter(len(header))}{len(frame) + 1}" if header else ""
        yield (f'</sheetData><autoFilter ref="{filtered}"/></worksheet>' if filtered
               else "</sheetData></worksheet>").encode("utf-8")

    def save(self, path: Path | str) -> None:
        n = len(self.sheets)
        sheets = "".join(f'<sheet name="{escape(t)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                         for i, (t, _) in enumerate(self.sheets))
        files = {
            "[Content_Types].xml":
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.'
                'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
                'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/'
                'xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType='
                '"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName='
                '"/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
                'sharedStrings+xml"/>'
                + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
                          'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(n))
                + "</Types>",
            "_rels/.rels":
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
                'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                "</Relationships>",
            "xl/workbook.xml":
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{self._NS}" '
                f'xmlns:r="{self._REL}"><sheets>{sheets}</sheets></workbook>',
            "xl/_rels/workbook.xml.rels":
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
                'openxmlformats.org/package/2006/relationships">'
                + "".join(f'<Relationship Id="rId{i + 1}" Type="{self._REL}/worksheet" '
                          f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(n))
                + f'<Relationship Id="rId{n + 1}" Type="{self._REL}/styles" Target="styles.xml"/>'
                + f'<Relationship Id="rId{n + 2}" Type="{self._REL}/sharedStrings" Target="sharedStrings.xml"/>'
                + "</Relationships>",
            "xl/styles.xml":
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{self._NS}">'
                '<numFmts count="1"><numFmt numFmtId="164" formatCode="#,##0.0000"/></numFmts>'
                '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/>'
                '<name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/>'
                '</fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border>'
                '<left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf '
                'numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="5"><xf '
                'numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" '
                'fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="10" fontId="0" fillId="0" '
                'borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="4" fontId="0" fillId="0" '
                'borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="164" fontId="0" fillId="0" '
                'borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle '
                'name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
        }
        try:
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=DEFLATE_LEVEL) as zf:
                for name, text in files.items():
                    zf.writestr(name, text)
                for i, (_, parts) in enumerate(self.sheets):
                    with zf.open(f"xl/worksheets/sheet{i + 1}.xml", "w", force_zip64=self.big[i]) as out:
                        for part in _made_ahead(parts):
                            out.write(part)
                with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:  # made while the sheets were
                    self.strings.write_to(out)
        finally:
            self.strings.close()


#: zlib's level for the workbook's parts: on a county's inventory sheet level 2 is no slower
#: than level 1 and smaller (level 1's matcher finds fewer of the XML's long repeats); level
#: 3 is smaller still but slower (bench/MEASUREMENTS.md).
DEFLATE_LEVEL = 2


def _made_ahead(parts: Iterator[bytes | memoryview]) -> Iterator[bytes | memoryview]:
    """``parts``, the next one made in a thread while the caller compresses this one.

    zlib and Arrow's string kernels both release the GIL, so on two cores a big
    sheet's XML is made and deflated at once. At most four blocks are alive at once
    (two queued, one being made, one being deflated).
    """
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def make() -> None:
        try:
            for part in parts:
                if stop.is_set():
                    return
                ready.put(("part", part))
            ready.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            ready.put(("error", exc))

    maker = threading.Thread(target=make, name="xlsx-xml", daemon=True)
    maker.start()
    try:
        while True:
            kind, item = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while maker.is_alive():  # unblock a maker waiting on a full queue, then let it finish
            try:
                ready.get_nowait()
            except queue.Empty:
                maker.join(0.01)


def _string_bytes(strings: pa.Array) -> memoryview:
    """All values of an Arrow (large) string array, concatenated: they lie end to end in its data buffer."""
    if strings.null_count:
        strings = pc.fill_null(strings, "")
    width = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    offsets = np.frombuffer(strings.buffers()[1], dtype=width)[strings.offset: strings.offset + len(strings) + 1]
    data = strings.buffers()[2]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]): int(offsets[-1])]
