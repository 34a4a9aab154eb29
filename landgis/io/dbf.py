"""A shapefile's text encoding, from its ``.cpg``, its DBF language driver id or its bytes.

Shapefiles without a ``.cpg`` (or with one that lies) are decoded by looking at the
DBF bytes: valid UTF-8 stays UTF-8, otherwise GB18030 (a superset of GBK/GB2312), and
the guess is reported.
"""

from __future__ import annotations

import codecs
import warnings

from landgis.config import LayerSpec
from landgis.errors import EncodingGuessWarning, LayerError

__all__ = ["DbfBytes", "dbf_bytes", "detect_dbf_encoding", "decodes", "MIXED"]


# DBF language driver ids that name a Chinese code page
_LDID_CHINESE = {0x4D: "GB18030", 0x7A: "GB18030"}


def dbf_bytes(read, declared: str | None) -> DbfBytes:
    return DbfBytes(read(), declared)


class DbfBytes(bytes):
    """DBF content together with the encoding its .cpg declares (if any)."""

    def __new__(cls, data: bytes, declared: str | None):
        obj = super().__new__(cls, data)
        obj.declared = declared  # type: ignore[attr-defined]
        return obj


_CPG_ALIASES = {
    "UTF-8": "utf-8", "UTF8": "utf-8", "65001": "utf-8",
    "GBK": "gbk", "CP936": "gbk", "936": "gbk", "GB2312": "gb18030", "GB18030": "gb18030",
    "ANSI 936": "gbk", "88591": "latin-1", "ISO-8859-1": "latin-1", "ISO88591": "latin-1",
    "LATIN1": "latin-1", "1252": "cp1252", "ANSI 1252": "cp1252", "BIG5": "big5",
}


def detect_dbf_encoding(data: bytes, spec: LayerSpec, notes: list[str]) -> str | None:
    """The encoding of a DBF's text, from its field names and records; warn when guessing.

    Field names (in the header) count as much as the records: a layer whose
    field names are Chinese but whose values are all ASCII codes is still GBK.
    """
    declared = getattr(data, "declared", None)
    if len(data) < 32:
        return None
    header_len = int.from_bytes(data[8:10], "little")
    body = bytes(data[header_len:])
    names = _dbf_field_names(data, header_len)
    ldid = data[29]
    in_names = any(b >= 0x80 for name in names for b in name)
    in_body = any(b >= 0x80 for b in body)
    if not (in_names or in_body):
        return None  # pure ASCII: every reading is right
    what = {(True, False): "field names", (False, True): "text",
            (True, True): "field names and text"}[in_names, in_body]
    verb = "they are" if in_names else "it is"

    def reads(codec: str) -> bool:
        # a name is cut at 10 bytes, possibly inside a character: only a name's end may be incomplete
        return decodes(body, codec) and all(decodes(name, codec, partial=True) for name in names)

    name = spec.path.name if spec.path else ""
    utf8_ok = reads("utf-8")
    declared_codec = _CPG_ALIASES.get(declared.strip().upper(), "") if declared else "utf-8"
    if not utf8_ok and declared_codec == "utf-8" and all(decodes(n, "utf-8", partial=True) for n in names):
        high, good = _utf8_records(data, header_len)
        if good and good * 2 >= high:  # mostly UTF-8: a few values in another encoding, read value by value
            msg = (f"{name}: {high - good} of the {high} records holding non-ASCII text are not UTF-8 (the rest "
                   "are); each value is read as UTF-8, else GB18030, else with \ufffd for the bytes neither "
                   "reads")
            notes.append(msg)
            return MIXED
    if declared:
        key = declared.strip().upper()
        codec = _CPG_ALIASES.get(key) or (f"cp{key}" if key.isdigit() else key.lower())
        single_byte = codec in ("latin-1", "cp1252")
        if reads(codec) and not (single_byte and (utf8_ok or reads("gb18030"))):
            return "UTF-8" if codec == "utf-8" else codec.upper()
        actual = "UTF-8" if utf8_ok else "GB18030"
        msg = (f"{name} has a .cpg that says {declared!r}, but its {what} {'are' if in_names else 'is'} "
               f"not {declared}; decoded as {actual}. "
               f"Fix the .cpg or set encoding = \"{actual}\" in [layers.{spec.role}]")
        warnings.warn(f"layer `{spec.role}`: {msg}", EncodingGuessWarning, stacklevel=3)
        notes.append(msg)
        return actual
    if utf8_ok:
        return "UTF-8"
    if reads("gb18030"):
        why = "its language driver id says so" if ldid in _LDID_CHINESE else f"{verb} not UTF-8"
        msg = (f"{name} has no .cpg; {what} decoded as "
               f"GB18030 (GBK) because {why}. Set encoding = \"GBK\" in [layers.{spec.role}] to say so")
        warnings.warn(f"layer `{spec.role}`: {msg}", EncodingGuessWarning, stacklevel=3)
        notes.append(msg)
        return "GB18030"
    raise LayerError(f"layer `{spec.role}`: cannot tell the text encoding of {spec.path}; "
                     f"set encoding = \"…\" in [layers.{spec.role}] (GBK, UTF-8, BIG5…)")


#: the "encoding" of a DBF whose text is UTF-8 but for a few values: read value by value
MIXED = "mixed"


def _utf8_records(data: bytes, header_len: int) -> tuple[int, int]:
    """(records holding a byte ≥ 0x80, those of them that are valid UTF-8)."""
    record_len = int.from_bytes(data[10:12], "little")
    if record_len <= 0:
        return 0, 0
    high = good = 0
    for at in range(header_len, len(data) - record_len + 1, record_len):
        record = bytes(data[at:at + record_len])
        if any(b >= 0x80 for b in record):
            high += 1
            good += decodes(record, "utf-8")
    return high, good


def _dbf_field_names(data: bytes, header_len: int) -> list[bytes]:
    """The raw field names of a dBase III header (32-byte descriptors up to 0x0D)."""
    names = []
    for at in range(32, min(header_len, len(data)) - 31, 32):
        if data[at] == 0x0D:
            break
        names.append(bytes(data[at:at + 11]).split(b"\0", 1)[0])
    return names


def decodes(body: bytes, codec: str, partial: bool = False) -> bool:
    """Whether ``body`` is valid ``codec``; with ``partial``, it may end inside a character."""
    try:
        if partial:
            codecs.getincrementaldecoder(codec)().decode(body, final=False)
        else:
            body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True
