"""What reading a layer assumed, in Chinese: the 数据问题 sheet says each note in the bureau's language.

Each English note :func:`landgis.io.read_vector` (and the DBF encoding check) gives has a pattern
here and its Chinese form; a note without one stays as written (and a test keeps the sample's sheet
free of English).
"""

from __future__ import annotations

import re

__all__ = ["note_zh"]

#: (pattern of the English note, its Chinese form with the pattern's groups)
_NOTES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), zh) for p, zh in (
    (r"^curved geometries \(circular arcs\) were linearised by GDAL, each arc in steps of at most 4°",
     "曲线图形（圆弧）已由 GDAL 转为折线，每段圆弧不超过 4°"),
    (r"^M \(measure\) values were dropped$", "已舍弃 M 值（量测值）"),
    (r"^Z \(height\) values of (\d+) features were dropped", "已舍弃 {0} 个要素的 Z 值（高程），面积与叠加按平面计算"),
    (r"^(\d+) unclosed polygon ring\(s\) were closed while reading$", "读取时闭合了 {0} 个未闭合的多边形环"),
    (r'^where = "(.*)" selected (\d+)(?: of \d+)? features$', '筛选条件 where = "{0}" 选中 {1} 个要素'),
    (r"^\.cpg declares (.+)$", ".cpg 文件声明编码为 {0}"),
    (r"^read (.+) from (.+)$", "从 {1} 读取 {0}"),
    (r"^ignored (\d+) zip entries with unsafe paths", "忽略压缩包中 {0} 个路径不安全的条目"),
    (r"^(.+) has no \.cpg; .+ decoded as GB18030 \(GBK\)",
     '{0} 无 .cpg 文件，文字按 GB18030（GBK）解码；如确为 GBK，可在图层设置 encoding = "GBK"'),
    (r"^(.+) has a \.cpg that says '(.+)', but its .+ not .+; decoded as ([^.\s]+)",
     "{0} 的 .cpg 声明为 {1}，但文字并非该编码，已按 {2} 解码；请更正 .cpg 或设置 encoding"),
    (r"^(.+): (\d+) of the (\d+) records holding non-ASCII text are not UTF-8",
     "{0}：含非 ASCII 文字的 {2} 条记录中有 {1} 条不是 UTF-8，已逐值解码（UTF-8、GB18030，均不能解码的字节显示为 \ufffd）"),
    (r"^field (\S+), features (.+?): (\d+) value\(s\) not in UTF-8",
     "字段 {0}（要素 {1}）有 {2} 个值不是 UTF-8 编码，已逐值解码；请在源数据中更正"),
    (r"^field (\S+): (\d+) value\(s\) not in UTF-8", "字段 {0} 有 {1} 个值不是 UTF-8 编码，已逐值解码；请在源数据中更正"),
    (r"^reader: (.+)$", "读取提示：{0}"),
))


def note_zh(note: str) -> str:
    """The Chinese form of a reading note; "" when it has none.

    >>> note_zh("3 unclosed polygon ring(s) were closed while reading")
    '读取时闭合了 3 个未闭合的多边形环'
    >>> note_zh("something new")
    ''
    """
    for pattern, zh in _NOTES:
        m = pattern.search(note)
        if m:
            return zh.format(*m.groups())
    return ""
