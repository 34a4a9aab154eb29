"""Per-value conversions done once per distinct value.

A county's columns are long and repetitive: 450k survey patches carry a few
dozen class codes, 150k parcels a few dozen combinations of reasons. Loading,
the spreadsheet, the map and the rule texts all convert values one by one
(text, cells, codes); :func:`map_distinct` calls the conversion once per
distinct value and the rows share the results.

>>> map_distinct(pd.Series(["a", None, "a", "b"]), str.upper, missing="")
array(['A', '', 'A', 'B'], dtype=object)
>>> map_distinct(pd.Series([True, 1, None], dtype=object), repr, missing="-")  # mixed: not merged
array(['True', '1', '-'], dtype=object)
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["map_distinct", "map_factorized", "factorize_values", "first_positions"]


def map_distinct(values: pd.Series | np.ndarray, func: Callable[[Any], Any], missing: Any) -> np.ndarray:
    """``func(v)`` for every value, ``missing`` for missing ones (None, NaN, NA); an object array.

    ``func`` is called once per distinct value when the column is all text or all
    numbers. Anything else (a user's attribute mixing ``True`` and ``1``, which
    hash alike but read differently) is converted value by value.
    """
    values = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    factorized = map_factorized(values, func, missing)
    if factorized is not None:
        codes, mapped = factorized
        return mapped[codes]
    na = pd.isna(values).to_numpy(dtype=bool)
    out = np.empty(len(values), dtype=object)
    out[:] = [missing if n else func(v) for v, n in zip(values.to_numpy(dtype=object).tolist(), na.tolist(),
                                                         strict=True)]
    return out


def map_factorized(values: pd.Series, func: Callable[[Any], Any], missing: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`map_distinct` as ``(codes, mapped)`` (``mapped[codes]`` is the result; the last entry
    of ``mapped`` is ``missing``), or ``None`` for a column of mixed values that cannot be merged.

    >>> codes, mapped = map_factorized(pd.Series(["a", None, "a", "b"]), str.upper, missing="")
    >>> codes.tolist(), mapped.tolist()
    ([0, 2, 0, 1], ['A', 'B', ''])
    """
    dtype = values.dtype
    numeric = isinstance(dtype, np.dtype) and dtype.kind in "iuf"
    if not (numeric or pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty") or _one_plain_type(values)):
        return None
    codes, uniques = factorize_values(values)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [func(u) for u in uniques]
    mapped[-1] = missing
    return np.where(codes < 0, len(uniques), codes), mapped


def factorize_values(values: pd.Series) -> tuple[np.ndarray, list]:
    """``(codes, distinct values)`` of a column, ``-1`` for missing values.

    Arrow-backed text is factorized by Arrow (no Python string per row); anything else
    as Python objects, so values equal in Python (``1``, ``1.0``, ``True``) are one.

    >>> codes, uniques = factorize_values(pd.Series(["b", None, "a", "b"], dtype="str"))
    >>> codes.tolist(), uniques
    ([0, -1, 1, 0], ['b', 'a'])
    """
    if isinstance(values.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        # to_numpy, not list(): iterating an Arrow-backed Index makes each value one at a time
        return np.asarray(codes), uniques.to_numpy(dtype=object).tolist()
    codes, uniques = pd.factorize(values.to_numpy(dtype=object, na_value=None), use_na_sentinel=True)
    return np.asarray(codes), list(uniques)


def first_positions(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """For each of ``values``, the position of its first occurrence in ``keys`` (-1: not there).

    Text is looked up in Arrow's hash table (``index_in``: no Python string is made per
    value); anything else as Python objects, so ``1`` finds ``1.0``. A
    missing value finds the first missing key.

    >>> first_positions(pd.Series(["a", "b", "a", None]), pd.Series(["b", "a", "c", None], dtype="str")).tolist()
    [1, 0, -1, 3]
    >>> first_positions(pd.Series([1, 2.0, "x"], dtype=object), pd.Series([2, "x", 3], dtype=object)).tolist()
    [1, 2, -1]
    """
    if _is_text(keys) and _is_text(values):
        import pyarrow as pa
        import pyarrow.compute as pc

        key_arr = pa.array(keys, from_pandas=True)
        if pa.types.is_null(key_arr.type):
            key_arr = key_arr.cast(pa.string())
        at = pc.index_in(pa.array(values, from_pandas=True).cast(key_arr.type), value_set=key_arr)
        return np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    keys = keys.astype(object)
    first = ~keys.duplicated().to_numpy()
    at = pd.Index(keys.to_numpy()[first]).get_indexer(values.astype(object).to_numpy())
    return np.where(at >= 0, np.flatnonzero(first)[np.maximum(at, 0)], -1)


def _one_plain_type(values: pd.Series) -> bool:
    """Values (missing ones aside) all of one hashable type whose equal values read alike: dates,
    Decimals; not datetimes (one instant in two time zones is equal, and reads as two days).

    >>> import datetime as dt
    >>> _one_plain_type(pd.Series([dt.date(2024, 3, 1), None])), _one_plain_type(pd.Series([1, True]))
    (True, False)
    """
    kinds = {type(v) for v in values.to_numpy(dtype=object).tolist()} - {type(None), type(pd.NaT)}
    if len(kinds) != 1:
        return False
    (kind,) = kinds
    return kind.__hash__ is not None and not issubclass(kind, (_dt.datetime, np.datetime64))


def _is_text(values: pd.Series) -> bool:
    """All text (or nothing but missing values): a column Arrow can hold as strings."""
    return isinstance(values.dtype, pd.StringDtype) or (
        values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"))
