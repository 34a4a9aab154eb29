"""The Chinese font static maps are drawn in: an OFL font installed with ``landgis[fonts]``, else a
system font found by name, else a clear message.

Where it comes from, in order:

1. ``pip install 'landgis[fonts]'`` brings ``noto-cjk-sans-otc``: Noto Sans CJK (SIL Open Font
   License 1.1, Google's upstream release), a TrueType collection whose Simplified Chinese face
   is used. The same font on every machine, so every sheet looks the same.
2. A font of the system, by family name: Noto Sans CJK SC / Source Han Sans SC (Linux:
   ``fonts-noto-cjk``), 微软雅黑 Microsoft YaHei, 等线 DengXian, 黑体 SimHei or 宋体 SimSun
   (Windows), PingFang SC, Hiragino Sans GB or Heiti SC (macOS), WenQuanYi. Where matplotlib's
   font list predates the font's installation, the system's font folders are searched for the
   files of these families and the ones found are added.

Fonts are registered with matplotlib; no global setting is changed. TrueType collections
(``.ttc``) are read face by face (matplotlib ≥ 3.11), so the SC face of a CJK collection is
the one drawn, not its first (Japanese) face.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from landgis.errors import FontError

__all__ = ["cjk_font", "CJK_FAMILIES"]

#: system CJK families, best first (Simplified Chinese sans-serif faces before serif ones)
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "Source Han Sans CN", "Microsoft YaHei",
                "DengXian", "PingFang SC", "Hiragino Sans GB", "Heiti SC", "STHeiti", "SimHei",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimSun", "Noto Serif CJK SC", "Droid Sans Fallback")

#: file names of those families, for a font list made before they were installed
_CJK_FILES = re.compile(r"^(NotoSansCJK|NotoSansSC|NotoSerifCJK|SourceHanSans|msyh|Deng|simhei|simsun|PingFang|"
                        r"Hiragino Sans GB|STHeiti|wqy-|DroidSansFallback)", re.IGNORECASE)

#: the family of the OFL collection ``landgis[fonts]`` installs
_PACKAGED_FAMILY = "Noto Sans CJK SC"


@cache
def cjk_font() -> str:
    """The family name of a CJK font registered with matplotlib (see the module's docstring).

    Raises
    ------
    landgis.errors.FontError
        when no CJK font can be found, saying what to install.
    """
    from matplotlib import font_manager as fm

    packaged = _packaged_collection()
    if packaged is not None:
        fm.fontManager.addfont(str(packaged))
        if _registered(fm, _PACKAGED_FAMILY):
            return _PACKAGED_FAMILY
    family = _first_known(fm)
    if family is None:
        for path in fm.findSystemFonts():
            if _CJK_FILES.match(Path(path).name):
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a broken font file: the next one
                    continue
        family = _first_known(fm)
    if family is None:
        raise FontError("no Chinese (CJK) font found for static maps: pip install 'landgis[fonts]' (Noto Sans "
                        "CJK, SIL Open Font License), or install one of the system's: fonts-noto-cjk (Debian, "
                        "Ubuntu), google-noto-sans-cjk-fonts (Fedora); Windows and macOS have one already")
    return family


def _packaged_collection() -> Path | None:
    try:
        folder = resources.files("noto_cjk_sans_otc")
    except ModuleNotFoundError:
        return None
    path = Path(str(folder)) / "NotoSansCJK-Regular.ttc"
    return path if path.is_file() else None


def _registered(fm, family: str) -> bool:
    return any(entry.name == family for entry in fm.fontManager.ttflist)


def _first_known(fm) -> str | None:
    return next((family for family in CJK_FAMILIES if _registered(fm, family)), None)
