"""``screening.gpkg``: the parcels and conflict layers written through GDAL's Arrow interface."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyogrio

from landgis.errors import GdalWriteError
from landgis.io.sources import use_arrow
from landgis.io.tables import arrow_column

__all__ = ["write_gpkg", "arrow_writer", "multipolygon_wkb", "gdal_config", "GPKG_WRITE_CONFIG"]


#: SQLite settings for writing an output GeoPackage in bulk:
#:
#: * no fsync per transaction (GDAL's advice for bulk loads). An output is written in a
#:   temporary folder and moved in place whole, so a crash mid-write loses nothing;
#: * 16 KiB pages instead of 4 KiB: a parcel row of ~50 columns is several hundred bytes, and
#:   fewer, fuller pages make a smaller file written faster. Any page size from 512 B to
#:   64 KiB is a valid GeoPackage.
#:
#: What each setting measured is in bench/MEASUREMENTS.md.
GPKG_WRITE_CONFIG = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_SQLITE_PRAGMA": "page_size=16384"}


@contextlib.contextmanager
def gdal_config(options: Mapping[str, str]) -> Iterator[None]:
    """GDAL configuration options set for the block, the previous values restored after."""
    before = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(dict(options))
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)  # as pyogrio typed them (OFF reads back as False)


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """Write several layers to one new GeoPackage (polygons promoted to multipolygons).

    Through pyogrio's ``write_arrow`` (GDAL ≥ 3.8, pyarrow): each layer's Arrow batches,
    its geometries made WKB in NumPy (:func:`multipolygon_wkb`); otherwise through
    :func:`pyogrio.write_dataframe`. Either way the bulk settings of
    :data:`GPKG_WRITE_CONFIG` apply while writing. What GDAL refuses (a folder that does
    not exist, a CRS it cannot read) is a :class:`~landgis.errors.GdalWriteError` naming
    the file, the layer and GDAL's reason.
    """
    from pyogrio.errors import DataLayerError, DataSourceError, FeatureError, FieldError, GeometryError

    write_arrow = arrow_writer()
    path.unlink(missing_ok=True)                    # a new file, whatever was there
    with gdal_config(GPKG_WRITE_CONFIG):
        for k, (name, frame) in enumerate(layers.items()):
            failed: list[BaseException] = []
            try:
                if write_arrow is not None:
                    (schema, batches), geom, gtype, crs = _gpkg_batches(frame)
                    write_arrow(pa.RecordBatchReader.from_batches(schema, _reported(batches, failed)), path,
                                layer=name, driver="GPKG", geometry_name=geom, geometry_type=gtype, crs=crs,
                                append=k > 0)
                else:
                    pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG", append=k > 0,
                                            promote_to_multi=True, use_arrow=use_arrow({}))
            except (DataSourceError, DataLayerError, FeatureError, FieldError, GeometryError, RuntimeError) as exc:
                if failed:   # the batches' own error (GDAL says only that a batch could not be read)
                    raise failed[0] from None
                if isinstance(exc, (DataSourceError, DataLayerError, FeatureError, FieldError, GeometryError)):
                    raise GdalWriteError(f"cannot write {path}, layer {name}: {exc}") from exc
                raise


def _reported(batches: Iterable, failed: list[BaseException]) -> Iterator:
    """``batches``, an error raised while making one kept in ``failed`` (pyogrio reports it as its own)."""
    try:
        yield from batches
    except BaseException as exc:
        failed.append(exc)
        raise


def arrow_writer() -> Callable[..., None] | None:
    """pyogrio's ``write_arrow`` where GDAL (≥ 3.8) and pyarrow can write Arrow batches, else None."""
    if not use_arrow({}) or pyogrio.__gdal_version__ < (3, 8, 0):
        return None
    from pyogrio.raw import write_arrow

    return write_arrow


#: a WKB geometry's first 9 bytes: byte order (1: little-endian), type, and its count of parts or rings
_WKB_HEAD = np.dtype([("order", "u1"), ("type", "<u4"), ("count", "<u4")])


def multipolygon_wkb(geoms: np.ndarray) -> pa.BinaryArray | None:
    """Polygons and multipolygons as 2D little-endian WKB MultiPolygons (what ``shapely.to_wkb`` gives
    after ``shapely.multipolygons``), byte for byte, built from their coordinates; missing ones null.

    ``None`` when a geometry is neither a polygon nor a multipolygon, has Z or M, or the
    block would pass Arrow's 2 GB of binary. WKB is headers and coordinates in order: a
    MultiPolygon's (type 6, its polygon count), then for each polygon its own (type 3,
    ring count) and for each ring its point count and points. The coordinates come
    from :func:`landgis.ragged.polygon_ragged` in that very order, so the headers are
    inserted among their bytes in one pass; no geometry is made or visited in Python.

    >>> import shapely
    >>> square, empty = shapely.box(0, 0, 1, 1), shapely.MultiPolygon()
    >>> wkb = multipolygon_wkb(np.array([square, None, empty])).to_pylist()
    >>> wkb == [shapely.to_wkb(shapely.MultiPolygon([square])), None, shapely.to_wkb(empty)]
    True
    """
    import pyarrow as pa
    import shapely

    from landgis.ragged import index_runs, polygon_ragged

    geoms = np.asarray(geoms, dtype=object)
    present = ~shapely.is_missing(geoms)
    live = geoms[present]
    if (~np.isin(shapely.get_type_id(live), (3, 6))).any() or (shapely.has_z(live) | shapely.has_m(live)).any():
        return None
    coords, (ring_off, poly_off, geom_off) = polygon_ragged(live)
    points, rings, polys = np.diff(ring_off), np.diff(poly_off), np.diff(geom_off)
    ring_bytes = 4 + 16 * points
    ring_sum = np.concatenate([[0], np.cumsum(ring_bytes)])
    poly_bytes = 9 + ring_sum[poly_off[1:]] - ring_sum[poly_off[:-1]]
    poly_sum = np.concatenate([[0], np.cumsum(poly_bytes)])
    geom_bytes = np.zeros(len(geoms), np.int64)
    geom_bytes[present] = 9 + poly_sum[geom_off[1:]] - poly_sum[geom_off[:-1]]
    ends = np.cumsum(geom_bytes)
    if len(ends) and ends[-1] >= 2**31:
        return None
    heads = []
    for kind, count in ((6, polys), (3, rings)):
        head = np.zeros(len(count), _WKB_HEAD)
        head["order"], head["type"], head["count"] = 1, kind, count
        heads.append(head.view(np.uint8))
    heads.append(points.astype("<u4").view(np.uint8))
    # every header goes in front of its first coordinate; at one place, a geometry's before the
    # next one's (an empty geometry or polygon has its place where the next begins), and within
    # one geometry its own, then its polygon's, then the ring's (the order they are listed in:
    # the sort is stable)
    at = ring_off * 16
    geom_of_poly = np.repeat(np.arange(len(live)), polys)
    place = np.concatenate([at[poly_off[geom_off[:-1]]], at[poly_off[:-1]], at[:-1]])
    owner = np.concatenate([np.arange(len(live)), geom_of_poly, geom_of_poly[np.repeat(np.arange(len(rings)), rings)]])
    size = np.repeat(np.array([9, 9, 4]), [len(live), len(rings), len(points)])
    order = np.lexsort((owner, place))
    head_at = np.concatenate([[0], np.cumsum(size)[:-1]])
    data = np.insert(np.ascontiguousarray(coords, dtype="<f8").view(np.uint8).reshape(-1),
                     np.repeat(place[order], size[order]), np.concatenate(heads)[index_runs(head_at[order], size[order])])
    offsets = np.concatenate([[0], ends]).astype(np.int32)
    validity = None if present.all() else pa.array(present).buffers()[1]
    return pa.Array.from_buffers(pa.binary(), len(geoms), [validity, pa.py_buffer(offsets), pa.py_buffer(data)],
                                 null_count=int((~present).sum()))


#: rows whose geometries are turned into WKB at a time while a GeoPackage is written
_WKB_BLOCK = 20_000


def _gpkg_batches(frame: gpd.GeoDataFrame) -> tuple:
    """``((Arrow schema, record batches), geometry column, geometry type, CRS)`` of a frame, as pyogrio
    writes it with ``promote_to_multi=True``.

    A layer of one kind of geometry is written multi-part (polygons become
    multipolygons), a layer of mixed kinds as ``Unknown``; text
    that Arrow cannot type (an object column of mixed values) is written as text,
    and a column of nothing but missing values as an empty text column. The
    attributes are converted once (Arrow-backed text without a copy); geometries
    become WKB one block of rows at a time, as GDAL takes each batch, so a county's
    256k conflict pieces are never all WKB at once.
    """
    import pyarrow as pa
    import shapely

    geom_name = frame.geometry.name
    geoms = np.asarray(frame.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    present = set(np.unique(kinds[kinds >= 0]).tolist())
    multi = {0: 4, 1: 5, 2: 5, 3: 6}   # point → multipoint, (linear)ring/linestring → multi…, polygon → multi
    if not present:
        gtype = 0                                     # Unknown: no geometry to tell (as pyogrio)
    elif len(present) == 1:
        (kind,) = present
        gtype = kind if kind > 3 else multi.get(kind, kind)
    elif present <= {1, 5} or present <= {3, 6} or present <= {0, 4}:
        gtype = max(present)
    else:
        gtype = 0                                     # Unknown: a mixed layer, written as it is
    promote = None
    if gtype in (4, 5, 6):
        promote = ({4: 0, 5: 1, 6: 3}[gtype],
                   {4: shapely.multipoints, 5: shapely.multilinestrings, 6: shapely.multipolygons}[gtype])
    columns = {}
    for name in frame.columns:
        if name == geom_name:
            continue
        arr = arrow_column(frame[name])
        columns[str(name)] = arr.cast(pa.string()) if pa.types.is_null(arr.type) else arr  # GDAL has no null type
    attributes = pa.table(columns) if columns else pa.table({"_": pa.nulls(len(frame))}).drop(["_"])
    schema = attributes.schema.append(pa.field(geom_name, pa.binary()))

    def batches():
        for start in range(0, max(len(frame), 1), _WKB_BLOCK):
            block = geoms[start: start + _WKB_BLOCK]
            kinds = shapely.get_type_id(block)
            # mostly polygons to promote (conflict pieces): WKB from their coordinates; rows that
            # are multipolygons already (parcels as stored) GEOS writes faster
            wkb = multipolygon_wkb(block) if gtype == 6 and 2 * np.count_nonzero(kinds == 3) > len(block) else None
            if wkb is None:
                if promote is not None:
                    single = kinds == promote[0]
                    if single.any():
                        block = block.copy()
                        block[single] = promote[1](np.atleast_2d(block[single]), axis=0)
                wkb = pa.array(shapely.to_wkb(block), type=pa.binary())
            part = attributes.slice(start, len(block)).combine_chunks()
            arrays = [col.chunk(0) if col.num_chunks else pa.array([], col.type) for col in part.columns]
            yield pa.RecordBatch.from_arrays([*arrays, wkb], schema=schema)

    names = {0: "Unknown", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
             6: "MultiPolygon", 7: "GeometryCollection"}
    crs = None
    if frame.crs is not None:
        epsg = frame.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg else frame.crs.to_wkt("WKT1_GDAL")
    return (schema, batches()), geom_name, names.get(gtype, "Unknown"), crs
