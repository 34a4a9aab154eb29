"""The map page's data as JSON that is safe inside an HTML ``<script>`` element, made in parts.

:func:`json_for_html` escapes ``<``, ``>``, ``&`` and the JavaScript line separators,
so no ``</script>`` or ``<!--`` can occur. A big column can be made into its JSON
early (:func:`raw_json`, a :class:`RawJSON`), and :func:`json_parts_for_html` gives
the JSON of a whole payload as a list of parts with those values in place, never
copied into one string.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["json_for_html", "RawJSON", "raw_json", "json_parts_for_html"]


def json_for_html(obj: Any) -> str:
    """JSON safe inside an HTML ``<script>`` element (no ``</script>``, no ``<!--``)."""
    raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        if char in raw:  # a county's page is not copied for a character it does not hold
            raw = raw.replace(char, escaped)
    return raw


class RawJSON(str):
    """A value already made into page-safe JSON by :func:`json_for_html`: the page takes it as it is."""


def raw_json(obj: Any) -> RawJSON:
    """``obj`` as page-safe JSON now, so its Python objects (the strings of a county column) can go.

    The payload holds each big column as this text, far less memory than the list it
    was made from; :func:`json_parts_for_html` emits it unchanged.
    """
    return RawJSON(json_for_html(obj))


def json_parts_for_html(obj: Any, consume: bool = False) -> list[str]:
    """``json_for_html(obj)`` as a list of parts, :class:`RawJSON` values emitted as they are.

    Joined, the parts are the JSON of ``obj`` with every raw value in its place, exactly
    what ``json.dumps`` (compact) would give for the original values. ``consume=True``
    empties the dicts of ``obj`` as it goes, so a value's memory can go once it is a part.
    """
    parts: list[str] = []
    _emit(obj, parts, consume)
    return parts


def _emit(obj: Any, parts: list[str], consume: bool) -> None:
    if isinstance(obj, RawJSON):
        parts.append(obj)
    elif isinstance(obj, dict) and obj and all(isinstance(k, str) for k in obj):  # json.dumps's own key rules otherwise
        parts.append("{")
        for i, key in enumerate(list(obj)):
            value = obj.pop(key) if consume else obj[key]
            parts.append(("," if i else "") + json_for_html(key) + ":")
            _emit(value, parts, consume)
            del value
        parts.append("}")
    elif isinstance(obj, list) and any(isinstance(v, (dict, list, RawJSON)) for v in obj):
        parts.append("[")
        for i, value in enumerate(obj):
            if i:
                parts.append(",")
            _emit(value, parts, consume)
        parts.append("]")
    else:
        parts.append(json_for_html(obj))
