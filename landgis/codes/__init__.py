"""Land-class code tables as data, and lookups over them.

Three tables ship with landgis (see ``SOURCES.md`` beside this file):

* ``survey_2009.csv`` — 2nd national land survey (二调) classes, GB/T 21010-2007
  and the 3-digit 二调 working classes;
* ``survey_2019.csv`` — 3rd national land survey (三调) working classes, also used
  by the annual change survey (年度变更调查), plus GB/T 21010-2017 classes;
* ``landuse_2023.csv`` — 用地用海分类 (2023 guide), 2-, 4- and 6-digit codes.

Each survey class carries ``landcat`` (construction / agricultural / unused) and
``role`` (homestead, road, water); each planning code carries a ``use`` tag
(industrial, commercial, warehouse, mining, urban_housing, homestead, …).
A project or profile may add or re-map codes (``[codes.zoning]`` …).

Examples
--------
>>> zoning = code_table("zoning")
>>> zoning.lookup("100101").use
'industrial'
>>> zoning.lookup("1001").use
'industrial'
>>> code_table("survey").lookup("0702").role
'homestead'
>>> code_table("survey_2009").lookup("203").landcat
'construction'
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from landgis.distinct import map_distinct

__all__ = ["CodeInfo", "CodeTable", "code_table", "normalize_codes", "LANDCATS"]

LANDCATS = ("construction", "agricultural", "unused")

_FILES = {"survey": "survey_2019.csv", "survey_2009": "survey_2009.csv", "zoning": "landuse_2023.csv"}
_TITLES = {
    "survey": "三调工作分类 / GB/T 21010-2017",
    "survey_2009": "二调 / GB/T 21010-2007",
    "zoning": "用地用海分类 (2023)",
}


@dataclass(frozen=True)
class CodeInfo:
    """What the rules need to know about one land-class code."""

    code: str
    name: str = ""
    landcat: str = ""
    role: str = ""
    use: str = ""
    matched: str = ""  # the table code this lookup resolved to ("" if unknown)

    @property
    def known(self) -> bool:
        return bool(self.matched)


class CodeTable:
    """A code table with tolerant lookup.

    A lookup repairs a code but never invents a class: a code it cannot place
    stays unknown (``matched == ""``), which screening reports as "class codes not
    in the table".

    1. **Exact** code (after normalising: ``" 0702 "``, ``702.0`` → ``"0702"``/``"702"``).
    2. **Lost leading zeros.** A DBF numeric field stores ``0508`` as ``508.0`` and
       the loader hands it on as the text ``"508"``, so the lookup cannot tell a
       number from text: every all-digit code may have lost zeros. It is padded
       to the table's code lengths (三调 2/4 digits, 二调 2/3, 用地用海 2/4/6) and the
       **longest padded code in the table** is taken — before the code itself when
       that is only a first-level group (2 digits), since parcels are coded with
       classes: 二调 ``11`` → ``011`` 水田, not ``11`` 水域及水利设施用地; ``12`` → ``012``.
       A group with no padded class stays itself (二调 ``20``, 三调 ``11``).
    3. The code with a trailing **adjustment letter** removed (三调 ``0201X`` →
       ``0201``; ``0201K`` 可调整果园 is itself in the table).
    4. **Ancestors**: ever shorter prefixes that are in the table (a local
       ``100199`` → ``1001``, ``100301`` → ``1003``). A first-level group is an
       ancestor only if the table has codes under it: 三调 ``00`` 湿地 gathers
       classes coded elsewhere (0303, 1105 …), so ``0000`` is unknown, not 湿地.
       A padded code finds only classes, as itself or as their sub-code
       (用地用海 ``70199`` → ``070199`` → ``0701``), never a first-level group,
       whose two digits would be partly padding: ``1301`` is not ``001301`` →
       ``00`` 湿地, 三调 ``110`` is not ``0110`` → ``01`` 耕地. An all-digit code
       whose length is no code length of the table (5 digits in 用地用海, 3 in
       三调) is read padded first, then as written (``10199`` → ``0101``, not ``10``).

    A numeric 三调 DLBM ``203.0`` is 0203 橡胶园 (agricultural): the 城镇村属性码
    201–205 live in their own field (CZCSXM, ``czcsxm.csv``), never in DLBM.

    >>> code_table("survey_2009").lookup("11").matched
    '011'
    >>> code_table("survey").lookup(508.0).matched
    '0508'
    >>> code_table("survey").lookup("1301").matched, code_table("survey").lookup("203").matched
    ('', '0203')
    """

    def __init__(self, name: str, rows: Iterable[CodeInfo], lengths: Iterable[int] | None = None):
        self.name = name
        self.title = _TITLES.get(name, name)
        self._rows: dict[str, CodeInfo] = {r.code: r for r in rows}
        digit_lengths = {len(c) for c in self._rows if c.isdigit()}
        self._lengths = tuple(sorted(set(lengths) if lengths is not None else digit_lengths, reverse=True))
        # first-level groups (2 characters) that codes are nested under by prefix
        self._parents = frozenset(c[:2] for c in self._rows if len(c) > 2)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, code: object) -> bool:
        return code in self._rows

    @property
    def codes(self) -> list[str]:
        return list(self._rows)

    @property
    def uses(self) -> list[str]:
        """Every planned-use tag in the table (sorted)."""
        return sorted({r.use for r in self._rows.values() if r.use})

    def with_overrides(self, overrides: Mapping[str, object]) -> CodeTable:
        """A copy in which the given codes are added or re-mapped.

        ``overrides`` maps code → object with ``name``/``use``/``landcat``/``role``
        attributes (empty strings keep the table's value).
        """
        rows = dict(self._rows)
        for code, ov in overrides.items():
            base = rows.get(code) or self.lookup(code)
            base = replace(base, code=code, matched=code)
            changes = {k: getattr(ov, k) for k in ("name", "use", "landcat", "role") if getattr(ov, k, "")}
            rows[code] = replace(base, **changes)
        return CodeTable(self.name, rows.values(), self._lengths)

    @cache  # noqa: B019 - tables are few and immutable
    def lookup(self, code: str) -> CodeInfo:
        code = _norm(code)
        found = self._resolve(code)
        if found is None:
            return CodeInfo(code=code)
        return replace(self._rows[found], code=code, matched=found)

    def _resolve(self, code: str) -> str | None:
        """The table code ``code`` stands for (see the class docstring), or None."""
        rows = self._rows
        if not code:
            return None
        digits = code.isdigit()
        if code in rows and not (digits and len(code) == 2):
            return code
        # (candidate, leading zeros added), longest first
        padded = [(code.zfill(w), w - len(code)) for w in self._lengths if digits and w > len(code)]
        for cand, _ in padded:
            if cand in rows:
                return cand
        if code in rows:
            return code
        stripped = code[:-1] if len(code) > 2 and code[-1].isalpha() and code[:-1].isalnum() else ""
        if stripped in rows:
            return stripped
        bases = [(code, 0)] + ([(stripped, 0)] if stripped else [])
        bases = padded + bases if digits and len(code) not in self._lengths else bases + padded
        for base, zeros in bases:
            # a padded code only finds classes: a group's two digits would be partly padding
            for n in range(len(base) - 1, max(zeros, 2 if zeros else 1), -1):
                prefix = base[:n]
                if prefix in rows and (n > 2 or prefix in self._parents):
                    return prefix
        return None

    def frame(self, codes: Iterable[str]) -> pd.DataFrame:
        """Lookups for many codes as a DataFrame indexed by the normalised code."""
        uniq = sorted({_norm(c) for c in codes})
        infos = [self.lookup(c) for c in uniq]
        return pd.DataFrame(
            {
                "name": [i.name for i in infos],
                "landcat": [i.landcat for i in infos],
                "role": [i.role for i in infos],
                "use": [i.use for i in infos],
                "matched": [i.matched for i in infos],
            },
            index=pd.Index(uniq, name="code", dtype=object),
        )


def legacy_2009_excluded() -> tuple[str, ...]:
    """二调 construction classes that are not operational legacy land (``legacy_2009.csv``; SOURCES.md says why).

    >>> legacy_2009_excluded()[:3]
    ('10', '101', '102')
    """
    text = resources.files("landgis.codes").joinpath("legacy_2009.csv").read_text(encoding="utf-8")
    return tuple(row.split(",", 1)[0] for row in text.splitlines()[1:] if row.strip())


def normalize_codes(values: pd.Series) -> pd.Series:
    """Codes as clean strings: ``203.0`` → ``"203"``, blanks → ``""``."""
    values = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    return pd.Series(map_distinct(values, _norm, missing=""), index=values.index, dtype=object)


@cache
def code_table(name: str) -> CodeTable:
    """The shipped code table ``survey``, ``survey_2009`` or ``zoning``."""
    if name not in _FILES:
        raise KeyError(f"no code table {name!r}; known: {', '.join(_FILES)}")
    text = resources.files(__package__).joinpath(_FILES[name]).read_text(encoding="utf-8")
    rows = []
    for rec in csv.DictReader(text.splitlines()):
        code = _norm(rec["code"])
        rows.append(CodeInfo(code=code, name=rec.get("name", "") or "",
                             landcat=(rec.get("landcat") or "").strip(),
                             role=(rec.get("role") or "").strip(),
                             use=(rec.get("use") or "").strip(), matched=code))
    table = CodeTable(name, rows)
    if name == "zoning":
        table = _inherit_uses(table)
    return table


def _inherit_uses(table: CodeTable) -> CodeTable:
    """Children without a ``use`` tag inherit their parent's."""
    rows = {}
    for code in table.codes:
        info = table._rows[code]
        if not info.use:
            for n in (4, 2):
                parent = table._rows.get(code[:n]) if len(code) > n else None
                if parent is not None and parent.use:
                    info = replace(info, use=parent.use)
                    break
        rows[code] = info
    return CodeTable(table.name, rows.values(), table._lengths)


_FLOAT_INT = re.compile(r"^(\d+)\.0+$")


def _norm(code: object) -> str:
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return ""
    if isinstance(code, (int, np.integer)):
        return str(int(code))
    s = str(code).strip().upper()
    m = _FLOAT_INT.match(s)
    return m.group(1) if m else s
