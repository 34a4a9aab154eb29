"""Map geometry for the page: simplified for display, converted to lon/lat, encoded as text.

:func:`display_geometries` simplifies a layer's polygons by :data:`SIMPLIFY_M` (in the
working CRS, for display only); :func:`encode_geometries` converts them to lon/lat
(:func:`to_lonlat`) and writes them as compact delta-encoded strings, block by
block, the next block's coordinates converted in a lasting thread meanwhile.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, wait
from functools import cache, lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from landgis.ragged import polygon_ragged
from landgis.threads import run_chunks

__all__ = ["encode_geometries", "display_geometries", "to_lonlat", "SIMPLIFY_M"]

#: display simplification tolerance, in metres
SIMPLIFY_M = 0.5
_SIMPLIFY_ABOVE = 64
_ENCODE_BLOCK = 20_000
_ENCODE_VERTICES = 200_000


def encode_geometries(geoms: np.ndarray, precision: float = 1e6, crs: Any = None,
                      joined: bool = False, chained: bool = False) -> list[str] | str:
    """Polygons as compact lon/lat strings: one per geometry.

    ``geoms`` are in ``crs`` (a CRS, or a Transformer to EPSG:4326; default: already
    lon/lat); their coordinates are converted in one pass, without building converted
    geometries.

    Each ring is a run of zig-zag, delta-encoded integers (coordinate × 10⁶, lon then
    lat) written five bits per character as in Google's polyline algorithm
    (characters ``?``…``~``); rings are separated by a space, polygons by ``!``.
    ``joined=True`` gives them as one string, a newline between geometries (what the
    page is sent: one JSON string instead of a list of 150k).

    ``chained=True`` is the page's tighter form: a ring's closing vertex (its first
    again) is left out, and a ring's first vertex is written as its offset from the
    previous ring's first vertex, so only the very first is absolute. The strings
    are then read in order, one after the other (``decode`` in ``landgis-map.js``).

    >>> import shapely
    >>> encode_geometries(np.array([shapely.box(0, 0, 1e-6, 2e-6)]))
    ['A??C@??BA?']
    """
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return "" if joined else []
    if crs is not None and not isinstance(crs, Transformer):
        crs = to_lonlat(CRS.from_user_input(crs))
    # block by block, of at most _ENCODE_BLOCK geometries and about _ENCODE_VERTICES vertices:
    # the per-character arrays of a county's parcels, or of its red lines, are large all at once
    size = np.cumsum(shapely.get_num_coordinates(geoms))
    cuts = np.unique(np.concatenate([np.arange(_ENCODE_BLOCK, len(geoms), _ENCODE_BLOCK),
                                     np.searchsorted(size, np.arange(_ENCODE_VERTICES, size[-1], _ENCODE_VERTICES))]))
    cuts = cuts[(cuts > 0) & (cuts < len(geoms))]
    if not len(cuts):
        stream, _ = _encode_ragged(*_lonlat_ragged(geoms, crs), precision, chained, None)
        return stream if joined else stream.split("\n")
    # the next block's coordinates are read and converted in a thread (PROJ frees the GIL)
    # while this one is encoded
    blocks = np.split(geoms, cuts)
    streams: list[str] = []
    last = None  # the previous block's last ring start: a chain runs on across blocks
    pool = _lonlat_pool()
    ahead = pool.submit(_lonlat_ragged, blocks[0], crs)
    try:
        for i in range(len(blocks)):
            ragged = ahead.result()
            if i + 1 < len(blocks):
                ahead = pool.submit(_lonlat_ragged, blocks[i + 1], crs)
            stream, last = _encode_ragged(*ragged, precision, chained, last)
            streams.append(stream)
    finally:
        wait([ahead])  # an error here leaves no block converting behind it
    stream = "\n".join(streams)
    return stream if joined else stream.split("\n")


@cache
def _lonlat_pool() -> ThreadPoolExecutor:
    """The one thread that converts the next block's coordinates, kept for the process's life.

    PROJ objects are per thread: pyproj gives each new thread that uses a
    :class:`~pyproj.Transformer` its own copy, built again from the database.
    A thread per call paid that for every layer of every map; this one pays it
    once per CRS.
    """
    return ThreadPoolExecutor(1, thread_name_prefix="landgis-lonlat")


def _lonlat_ragged(geoms: np.ndarray, crs: Transformer | None) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """:func:`landgis.ragged.polygon_ragged` of ``geoms``, coordinates converted to lon/lat."""
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    coords, offsets = polygon_ragged(geoms)
    if crs is not None:
        lon, lat = crs.transform(coords[:, 0], coords[:, 1])
        coords = np.column_stack([lon, lat])
    return coords, offsets


def _encode_ragged(coords: np.ndarray, offsets: tuple[np.ndarray, ...], precision: float,
                   chained: bool = False, origin: np.ndarray | None = None) -> tuple[str, np.ndarray | None]:
    """:func:`encode_geometries` (``joined``) from lon/lat ragged arrays; and the last ring's
    first vertex (quantised), where the next block's chain goes on from (``origin``)."""
    ring_off, poly_off, geom_off = offsets
    q = np.rint(coords * precision).astype(np.int64)
    if chained and len(ring_off) > 1:
        # leave out each ring's closing vertex (the page closes rings itself)
        closing = ring_off[1:][np.diff(ring_off) > 1] - 1
        keep = np.ones(len(q), dtype=bool)
        keep[closing] = False
        q = q[keep]
        ring_off = ring_off - np.concatenate([[0], np.cumsum(np.diff(ring_off) > 1)])
    n = len(q)
    starts = np.zeros(n, dtype=bool)
    starts[ring_off[:-1][np.diff(ring_off) > 0]] = True
    delta = q.copy()
    delta[1:] -= q[:-1]
    delta[starts] = q[starts]
    last = origin
    if chained and starts.any():
        at = np.flatnonzero(starts)
        previous = np.vstack([origin if origin is not None else np.zeros((1, 2), dtype=np.int64), q[at[:-1]]])
        delta[at] = q[at] - previous
        last = q[at[-1:]]
    values = delta.reshape(-1)                       # lon, lat, lon, lat…
    zig = ((values << 1) ^ (values >> 63)).astype(np.uint64)
    # bit length of each value: the binary exponent, exact below 2**53 (deltas of
    # micro-degrees are far smaller; a guard keeps an absurd input from being garbled)
    if len(zig) and int(zig.max()) >= 2**53:
        raise ValueError("coordinates too large to encode (not longitude/latitude?)")
    nbits = np.frexp(zig.astype(np.float64))[1].astype(np.int64)
    nchunks = np.maximum(1, (nbits + 4) // 5)
    owner = np.repeat(np.arange(len(zig)), nchunks)
    first = np.repeat(np.cumsum(nchunks) - nchunks, nchunks)
    k = np.arange(len(owner)) - first
    chunk = ((zig[owner] >> (5 * k).astype(np.uint64)) & np.uint64(31)).astype(np.int64)
    more = k < (nchunks[owner] - 1)
    chars = (chunk | (more * 32)) + 63
    # character offset of each coordinate pair
    per_coord = nchunks.reshape(-1, 2).sum(axis=1)
    coord_char = np.concatenate([[0], np.cumsum(per_coord)])
    ring_char = coord_char[ring_off]
    # separators go into the character stream: " " between rings, "!" between polygons,
    # "\n" between geometries (the encoding alphabet is ?…~, so none of them occurs)
    n_geoms = len(geom_off) - 1
    n_polys_of = np.diff(geom_off)
    n_rings_of = np.diff(poly_off)
    ring_ids = np.arange(len(ring_off) - 1)
    ring_poly = np.repeat(np.arange(len(poly_off) - 1), n_rings_of)
    ring_not_last = ring_ids + 1 < poly_off[1:][ring_poly]
    poly_ids = np.arange(len(poly_off) - 1)
    poly_geom = np.repeat(np.arange(n_geoms), n_polys_of)
    poly_not_last = poly_ids + 1 < geom_off[1:][poly_geom]
    at = np.concatenate([ring_char[1:][ring_not_last],
                         ring_char[poly_off[1:]][poly_not_last],
                         ring_char[poly_off[geom_off[1:-1]]]])
    sep = np.concatenate([np.full(int(ring_not_last.sum()), ord(" ")),
                          np.full(int(poly_not_last.sum()), ord("!")),
                          np.full(n_geoms - 1, ord("\n"))]).astype(np.uint8)
    order = np.argsort(at, kind="stable")
    stream = np.insert(chars.astype(np.uint8), at[order], sep[order])
    out = stream.tobytes().decode("ascii")
    assert out.count("\n") == n_geoms - 1
    return out, last


@lru_cache(maxsize=4)
def to_lonlat(crs: CRS) -> Transformer:
    """The transformer from ``crs`` to lon/lat, built once per CRS: a map has seven layers."""
    return Transformer.from_crs(crs, 4326, always_xy=True)


def display_geometries(frame: gpd.GeoDataFrame, tolerance: float = SIMPLIFY_M, every: bool = False) -> np.ndarray:
    """Geometries simplified (in metres), polygonal parts only, still in the working CRS.

    Only geometries of more than ``_SIMPLIFY_ABOVE`` vertices are simplified: a small
    parcel loses nothing visible at half a metre, and copying a county's parcels is
    not free. ``every=True`` simplifies every geometry (a coarser tolerance, to fit a
    county's farmland patches into the page); a patch smaller than the tolerance is then
    drawn as its bounding box.
    """
    geoms = np.asarray(frame.geometry.values, dtype=object).copy()
    big = np.flatnonzero(shapely.get_num_coordinates(geoms) > (4 if every else _SIMPLIFY_ABOVE))
    if len(big):
        # Douglas-Peucker, not the topology-preserving variant (slower on a red line): a
        # drawing need not be valid; a geometry it collapses keeps its original or, when every
        # geometry is simplified (a coarse tolerance), its bounding box: no patch goes missing
        simple = _simplified(geoms[big], tolerance)
        lost = shapely.is_empty(simple)
        simple[lost] = shapely.envelope(geoms[big][lost]) if every else geoms[big][lost]
        geoms[big] = simple
    parts = geoms
    # drop anything that is not a polygon (simplification can leave lines in a collection)
    poly = shapely.get_type_id(parts)
    bad = ~np.isin(poly, (3, 6))
    if bad.any():
        parts = parts.copy()
        for i in np.flatnonzero(bad):
            sub = [g for g in shapely.get_parts(parts[i]) if shapely.get_type_id(g) in (3, 6)]
            parts[i] = shapely.multipolygons(sub) if sub else shapely.from_wkt("POLYGON EMPTY")
    return parts


def _simplified(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker of ``geoms``' rings, each ring on its own, over threads when there is much to do.

    ``shapely.simplify`` of a polygon simplifies its rings and then proves the result
    valid (GEOS's ``isValid``, a ``buffer(0)`` when it is not): most of the time on a
    county's red line. A drawing need not be valid, so the rings are simplified as they are and put back
    together; whenever GEOS's result is valid, the two are the same vertex for vertex.
    A ring that collapses (fewer than four points left) is dropped: a hole as GEOS
    drops it, a shell with its holes. A geometry with nothing left comes back empty
    (the caller keeps its original). Not polygons: ``shapely.simplify``.

    A county's red line is a few dozen polygons of 50 000 vertices: the threads take
    the rings round-robin by size (GEOS frees the GIL).
    """
    out = np.empty(len(geoms), dtype=object)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    if not polygonal.all():
        out[~polygonal] = shapely.simplify(geoms[~polygonal], tolerance, preserve_topology=False)
    if not polygonal.any():
        return out
    at = np.flatnonzero(polygonal)
    polys, poly_geom = shapely.get_parts(geoms[at], return_index=True)
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    out[at] = shapely.from_wkt("POLYGON EMPTY")
    if not len(rings):
        return out
    size = shapely.get_num_coordinates(rings)
    workers = min(2, os.cpu_count() or 1)
    if workers < 2 or len(rings) < 2 or int(size.sum()) < 200_000:
        simple = shapely.simplify(rings, tolerance, preserve_topology=False)
    else:
        order = np.argsort(-size, kind="stable")
        groups = [order[i::workers] for i in range(workers)]
        simple = np.empty(len(rings), dtype=object)
        for idx, part in zip(groups, run_chunks(lambda i: shapely.simplify(rings[i], tolerance, preserve_topology=False),
                                                groups, workers), strict=True):
            simple[idx] = part
    kept = (shapely.get_type_id(simple) == 2) & ~shapely.is_empty(simple)  # still a LinearRing
    shell = np.r_[True, ring_poly[1:] != ring_poly[:-1]]
    alive = np.zeros(len(polys), dtype=bool)                               # the polygons whose shell is kept
    alive[ring_poly[shell & kept]] = True
    keep = kept & alive[ring_poly]
    # the first ring of each polygon is its shell; indices are made consecutive, as shapely wants them
    rebuilt = shapely.polygons(simple[keep], indices=np.unique(ring_poly[keep], return_inverse=True)[1])
    owner = poly_geom[alive]                                               # rebuilt[i]'s geometry (of ``at``)
    result = out[at]
    multi = shapely.get_type_id(geoms[at]) == 6
    one = ~multi[owner]
    result[owner[one]] = rebuilt[one]
    if not one.all():
        present, index = np.unique(owner[~one], return_inverse=True)
        result[present] = shapely.multipolygons(rebuilt[~one], indices=index)
    out[at] = result
    return out

