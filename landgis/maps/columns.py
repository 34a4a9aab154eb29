"""Attribute columns for the map page, packed: a county's 150k parcels in a few MB.

Each packed column is a small JSON object the page reads row by row without
expanding it (``Packed`` in ``landgis-map.js``):

- :func:`pack_texts` — a text column as its distinct texts and, per row, the
  number of its text written in ``w`` characters of :data:`ALPHABET` (base 88):
  ``{"v": [texts], "w": w, "s": "…"}``. A column of one value has ``w = 0`` and no
  characters per row.
- :func:`pack_numbers` — numbers on a fixed step (``1/scale``) as integers from
  ``min``, ``w`` characters each; the highest number stands for a missing value:
  ``{"scale": scale, "min": min, "w": w, "s": "…"}``.
- :func:`pack_ids` — identifiers front-coded: each row is the length of the part
  it shares with the row before (one character) and the rest, rows separated by
  ``|``: ``{"front": "…"}``. A column holding ``|``, or characters beyond the
  Basic Multilingual Plane (where JavaScript counts two), travels as a plain list.

The alphabet is the printable ASCII from ``#`` to ``~`` less ``\\``, ``<``, ``>``
and ``&`` (what JSON or the page's HTML escaping would lengthen), so a character
costs one byte in the page.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from landgis.distinct import map_factorized
from landgis.maps.pagejson import RawJSON, raw_json

__all__ = ["ALPHABET", "pack_texts", "pack_numbers", "pack_ids", "unpack"]

#: a character outside the Basic Multilingual Plane (two UTF-16 units in the page)
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")

ALPHABET = "".join(chr(c) for c in range(35, 127) if chr(c) not in "\\<>&")
BASE = len(ALPHABET)
_CHARS = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)


def _width(largest: int) -> int:
    """Characters needed for numbers 0…``largest``."""
    w = 0
    while BASE**w <= largest:
        w += 1
    return w


def _digits(codes: np.ndarray, w: int) -> str:
    """``codes`` (non-negative integers) written in ``w`` characters each, most significant first."""
    if w == 0 or not len(codes):
        return ""
    codes = np.asarray(codes, dtype=np.int64)
    powers = BASE ** np.arange(w - 1, -1, -1, dtype=np.int64)
    digits = (codes[:, None] // powers) % BASE
    return _CHARS[digits.reshape(-1)].tobytes().decode("ascii")


def pack_texts(texts: np.ndarray | pd.Series | list) -> RawJSON:
    """A column of display texts (str; no missing values), packed as distinct texts and numbers.

    >>> pack_texts(["镇", "村", "镇"])
    '{"v":["镇","村"],"w":1,"s":"#$#"}'
    >>> pack_texts(["", ""])
    '{"v":[""],"w":0,"s":""}'
    """
    series = pd.Series(np.asarray(texts, dtype=object), dtype=object)
    factorized = map_factorized(series, str, missing="")
    if factorized is None:  # not all text: the texts as they are
        codes, distinct = pd.factorize(series.astype(str))
        values = list(distinct)
    else:
        codes, mapped = factorized
        used = np.unique(codes)
        renumber = np.full(len(mapped), -1, dtype=np.int64)
        renumber[used] = np.arange(len(used))
        codes, values = renumber[codes], mapped[used].tolist()
    if not values:
        values = [""]
    w = _width(len(values) - 1)
    return raw_json({"v": values, "w": w, "s": _digits(codes, w)})


def pack_numbers(values: np.ndarray | pd.Series | list, digits: int) -> RawJSON:
    """Numbers rounded to ``digits`` decimals (missing: NaN or None), packed as integers.

    >>> pack_numbers([1.5, None, 0.25], 2)
    '{"scale":100,"min":25,"w":2,"s":"$K~~##"}'
    >>> import json
    >>> unpack(json.loads(_))
    [1.5, None, 0.25]
    """
    vals = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    scale = 10**digits
    missing = np.isnan(vals)
    ints = np.rint(np.where(missing, 0.0, vals) * scale).astype(np.int64)
    low = int(ints[~missing].min()) if (~missing).any() else 0
    ints -= low
    top = int(ints[~missing].max()) if (~missing).any() else 0
    w = max(_width(top + 1), 1)  # the highest number of w characters is "missing"
    ints[missing] = BASE**w - 1
    return raw_json({"scale": scale, "min": low, "w": w, "s": _digits(ints, w)})


def pack_ids(ids: np.ndarray | pd.Series | list) -> RawJSON:
    """Identifiers (str) front-coded: each as the length it shares with the one before and the rest.

    >>> pack_ids(["450399JC00001", "450399JC00002", "X"])
    '{"front":"#450399JC00001|02|#X"}'
    """
    texts = [str(t) for t in np.asarray(ids, dtype=object).tolist()]
    joined = "".join(texts)
    if "|" in joined or _ASTRAL.search(joined):
        return raw_json(texts)
    n = len(texts)
    if n == 0:
        return raw_json({"front": ""})
    # the prefix each id shares with the one before, for all at once: the ids' first characters
    # (a prefix is at most BASE - 1 long) as a table of code points, each row against the row
    # above, up to the first that differs
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    width = max(min(int(lengths.max()), BASE - 1), 1)
    codes = np.array([t[:width] for t in texts], dtype=f"<U{width}").view(np.uint32).reshape(n, width)
    same = np.zeros((n, width), bool)
    same[1:] = codes[1:] == codes[:-1]
    shared = np.where(same.all(axis=1), width, np.argmin(same, axis=1))
    shared = np.minimum(shared, np.minimum(np.minimum(lengths, np.r_[0, lengths[:-1]]), BASE - 1)).tolist()
    return raw_json({"front": "|".join(ALPHABET[k] + t[k:] for k, t in zip(shared, texts, strict=True))})


def unpack(column: dict | list, rows: int | None = None) -> list:
    """A packed column back as its values (what the page reads; for tests and checks).

    ``rows``: the row count, which a one-value text column (``w = 0``) does not hold.
    """
    if isinstance(column, list):
        return column
    if "front" in column:
        out, before = [], ""
        for row in column["front"].split("|") if column["front"] else []:
            before = before[:ALPHABET.index(row[0])] + row[1:]
            out.append(before)
        return out
    w, s = column["w"], column["s"]
    if "v" in column:
        if w == 0:
            if rows is None:
                raise ValueError("a one-value column does not say its length: unpack it with its row count")
            return [column["v"][0]] * rows
        codes = _read(s, w)
        return [column["v"][c] for c in codes]
    codes = _read(s, w)
    return [None if c == BASE**w - 1 else (c + column["min"]) / column["scale"] for c in codes]


def _read(s: str, w: int) -> list[int]:
    index = {c: i for i, c in enumerate(ALPHABET)}
    out = []
    for k in range(0, len(s), w):
        v = 0
        for ch in s[k:k + w]:
            v = v * BASE + index[ch]
        out.append(v)
    return out
