"""GeoPackage writing through GDAL's Arrow C API, with the GIL released.

pyogrio's ``write_arrow`` holds Python's GIL for the whole write (measured: a
Python loop beside a 150k-parcel GeoPackage write slows by the write's own
duration), so the output GeoPackage — a large part of a county screening — cannot run
beside the spreadsheet and the web map. This module calls the same GDAL
functions pyogrio calls (``GDALCreate``, ``GDALDatasetCreateLayer``,
``OGR_L_CreateFieldFromArrowSchema``, ``OGR_L_WriteArrowBatch``, in one
transaction) on the GDAL library pyogrio ships and has already loaded, through
:mod:`ctypes`, which releases the GIL during each foreign call. The data cross
as Arrow C structures exported by pyarrow, so nothing is converted twice.

:func:`available` says whether the library and its Arrow entry points were
found (GDAL ≥ 3.8); ``landgis.io`` falls back to pyogrio otherwise.
"""

from __future__ import annotations

import ctypes
import functools
import glob
from pathlib import Path

from landgis.errors import GdalWriteError

__all__ = ["available", "write_layers", "library_candidates"]

_OAMS_TRADITIONAL_GIS_ORDER = 0
_WKB_TYPES = {"Polygon": 3, "MultiPolygon": 6, "Point": 1, "LineString": 2, "MultiPoint": 4,
              "MultiLineString": 5, "GeometryCollection": 7, "Unknown": 0}


class _ArrowSchema(ctypes.Structure):
    pass


_ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_char_p),
    ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(_ArrowSchema))),
    ("dictionary", ctypes.POINTER(_ArrowSchema)),
    ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p),
]


class _ArrowArray(ctypes.Structure):
    pass


_ArrowArray._fields_ = [
    ("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("buffers", ctypes.c_void_p), ("children", ctypes.c_void_p), ("dictionary", ctypes.c_void_p),
    ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p),
]

_RELEASE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _release(struct) -> None:
    if struct.release:
        _RELEASE(struct.release)(ctypes.addressof(struct))


def library_candidates(base: Path) -> list[str]:
    """Where a pyogrio wheel keeps the GDAL it loads, given pyogrio's folder ``base``: Linux
    wheels in ``pyogrio.libs/libgdal-….so.N`` (auditwheel), macOS in ``pyogrio/.dylibs``
    (delocate), Windows in ``pyogrio.libs/gdal-….dll`` (delvewheel, the name may carry a hash).
    None found (a conda or source build): the GeoPackage is written through pyogrio instead.

    >>> library_candidates(Path("/nowhere/pyogrio"))
    []
    """
    patterns = [base.parent / "pyogrio.libs" / "libgdal*.so*", base / ".dylibs" / "libgdal*.dylib",
                base.parent / "pyogrio.libs" / "gdal*.dll", base / "gdal*.dll"]
    return [path for pattern in patterns for path in sorted(glob.glob(str(pattern)))]


@functools.cache
def _lib():
    """GDAL as pyogrio loaded it (same handle), with the signatures used here; ``None`` if not found."""
    try:
        import pyogrio
    except ImportError:
        return None
    for path in library_candidates(Path(pyogrio.__file__).parent):
        try:
            lib = ctypes.CDLL(path)  # already loaded by pyogrio: the same handle, not a second GDAL
        except OSError:
            continue
        try:
            _declare(lib)
        except AttributeError:  # GDAL < 3.8: no Arrow writing
            return None
        return lib
    return None


def _declare(lib) -> None:
    vp, cp = ctypes.c_void_p, ctypes.c_char_p
    sigs = {
        "GDALGetDriverByName": (vp, [cp]),
        "GDALCreate": (vp, [vp, cp, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, vp]),
        "GDALClose": (ctypes.c_int, [vp]),
        "GDALDatasetCreateLayer": (vp, [vp, cp, vp, ctypes.c_int, vp]),
        "GDALDatasetStartTransaction": (ctypes.c_int, [vp, ctypes.c_int]),
        "GDALDatasetCommitTransaction": (ctypes.c_int, [vp]),
        "OSRNewSpatialReference": (vp, [cp]),
        "OSRSetFromUserInput": (ctypes.c_int, [vp, cp]),
        "OSRSetAxisMappingStrategy": (None, [vp, ctypes.c_int]),
        "OSRRelease": (None, [vp]),
        "OGR_L_CreateFieldFromArrowSchema": (ctypes.c_bool, [vp, ctypes.POINTER(_ArrowSchema), vp]),
        "OGR_L_WriteArrowBatch": (ctypes.c_bool, [vp, ctypes.POINTER(_ArrowSchema),
                                                  ctypes.POINTER(_ArrowArray), vp]),
        "CPLGetLastErrorMsg": (cp, []),
        "CPLErrorReset": (None, []),
        "CPLPushErrorHandler": (None, [vp]),
        "CPLPopErrorHandler": (None, []),
        "CPLSetThreadLocalConfigOption": (None, [cp, cp]),
        "CPLGetThreadLocalConfigOption": (cp, [cp, cp]),
        "CPLGetConfigOption": (cp, [cp, cp]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args


def available() -> bool:
    """Whether GeoPackages can be written here with the GIL released."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return _lib() is not None


class _Options:
    """A NULL-terminated ``char**`` of ``KEY=VALUE`` strings (kept alive with this object)."""

    def __init__(self, options: dict[str, str] | None):
        items = [f"{k}={v}".encode() for k, v in (options or {}).items()]
        self._array = (ctypes.c_char_p * (len(items) + 1))(*items, None)

    @property
    def ptr(self) -> ctypes.c_void_p:
        return ctypes.cast(self._array, ctypes.c_void_p)


def _fail(lib, what: str):
    msg = lib.CPLGetLastErrorMsg()
    raise GdalWriteError(f"{what}: {(msg or b'').decode(errors='replace') or 'GDAL gave no reason'}")


def write_layers(path: str | Path, layers: list[tuple[str, tuple, str, str, str | None]],
                 config: dict[str, str] | None = None) -> None:
    """Write layers to a new GeoPackage at ``path``.

    ``layers``: ``(name, (pyarrow schema, record batches), geometry column, geometry
    type, CRS)`` each; the batches (any iterable, consumed once) follow the schema,
    the geometry column holds WKB, the geometry type is a name of ``_WKB_TYPES`` and
    the CRS anything ``OSRSetFromUserInput`` reads (``"EPSG:4546"``, WKT). ``config``
    options are set for this thread only while writing (``OGR_SQLITE_SYNCHRONOUS``).
    """
    lib = _lib()
    if lib is None:
        raise GdalWriteError("GDAL's Arrow write API was not found")
    before = {k: lib.CPLGetThreadLocalConfigOption(k.encode(), None) for k in (config or {})}
    for k, v in (config or {}).items():
        lib.CPLSetThreadLocalConfigOption(k.encode(), v.encode())
    # GDAL's messages are collected (CPLGetLastErrorMsg) and raised, not printed on stderr
    lib.CPLPushErrorHandler(ctypes.cast(lib.CPLQuietErrorHandler, ctypes.c_void_p))
    try:
        _write(lib, str(path), layers)
    finally:
        lib.CPLPopErrorHandler()
        for k, v in before.items():
            lib.CPLSetThreadLocalConfigOption(k.encode(), v)


def _write(lib, path: str, layers) -> None:
    driver = lib.GDALGetDriverByName(b"GPKG")
    if not driver:
        _fail(lib, "GDAL has no GPKG driver")
    lib.CPLErrorReset()
    ds = lib.GDALCreate(driver, path.encode(), 0, 0, 0, 0, None)
    if not ds:
        _fail(lib, f"cannot create {path}")
    try:
        for name, (schema, batches), geom, geometry_type, crs in layers:
            _write_layer(lib, ds, name, schema, batches, geom, geometry_type, crs)
    except BaseException:
        lib.GDALClose(ds)  # the error on its way is the one to report
        raise
    if lib.GDALClose(ds) != 0:  # the spatial index is built here
        _fail(lib, f"cannot finish {path}")


def _write_layer(lib, ds, name: str, arrow_schema, batches, geom: str, geometry_type: str,
                 crs: str | None) -> None:
    srs = None
    if crs:
        srs = lib.OSRNewSpatialReference(None)
        if not srs or lib.OSRSetFromUserInput(srs, crs.encode()) != 0:
            if srs:
                lib.OSRRelease(srs)
            _fail(lib, f"layer {name}: GDAL cannot read its CRS {crs[:40]!r}")
    try:
        if srs:
            lib.OSRSetAxisMappingStrategy(srs, _OAMS_TRADITIONAL_GIS_ORDER)
        layer_opts = _Options({"GEOMETRY_NAME": geom, "FID": "fid"})
        layer = lib.GDALDatasetCreateLayer(ds, name.encode(), srs, _WKB_TYPES[geometry_type], layer_opts.ptr)
        if not layer:
            _fail(lib, f"cannot create layer {name}")
    finally:
        if srs:
            lib.OSRRelease(srs)
    if lib.GDALDatasetStartTransaction(ds, 0) != 0:
        _fail(lib, f"layer {name}: cannot start a transaction")
    schema = _ArrowSchema()
    arrow_schema._export_to_c(ctypes.addressof(schema))
    try:
        for i in range(schema.n_children):
            child = schema.children[i]
            if child.contents.name.decode() == geom:
                continue
            if not lib.OGR_L_CreateFieldFromArrowSchema(layer, child, None):
                _fail(lib, f"layer {name}: cannot create field {child.contents.name.decode()!r}")
        write_opts = _Options({"GEOMETRY_NAME": geom})
        for batch in batches:
            if not batch.num_rows:
                continue
            array = _ArrowArray()
            batch._export_to_c(ctypes.addressof(array))
            try:
                if not lib.OGR_L_WriteArrowBatch(layer, ctypes.byref(schema), ctypes.byref(array), write_opts.ptr):
                    _fail(lib, f"layer {name}: cannot write features")
            finally:
                _release(array)
    finally:
        _release(schema)
    if lib.GDALDatasetCommitTransaction(ds) != 0:
        _fail(lib, f"layer {name}: cannot commit")
