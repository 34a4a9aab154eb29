"""Coordinates and offsets of many polygons at once (``shapely.to_ragged_array``, faster).

A leaf: the clipper, the GeoPackage writer and the web map's encoder all read polygons
through :func:`polygon_ragged`.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["polygon_ragged", "index_runs"]


def _multipolygon_offsets(gtype: shapely.GeometryType, offsets: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    if gtype == shapely.GeometryType.POLYGON:
        ring_off, poly_off = offsets
        return ring_off, poly_off, np.arange(len(poly_off))
    if gtype == shapely.GeometryType.MULTIPOLYGON:
        return offsets
    raise ValueError(f"polygons expected, not {gtype.name}")


def index_runs(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions ``starts[i] .. starts[i] + counts[i] - 1`` for every i, concatenated."""
    total = int(counts.sum())
    return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)


def polygon_ragged(geoms: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``shapely.to_ragged_array`` of polygons as MultiPolygons: (x/y coordinates, (ring, polygon, geometry offsets)).

    The same arrays, made faster: a plain polygon (one ring, as a polygon or a
    multipolygon of one part: most of a county's parcels and pieces) is read with
    ``get_coordinates``, and a one-part multipolygon is found to have one ring from its
    coordinates, never opened; only polygons with holes, multipolygons of several parts
    and empties go through ``to_ragged_array``, which makes a geometry of every ring.

    >>> g = np.array([shapely.box(0, 0, 1, 1), shapely.MultiPolygon([shapely.box(2, 0, 3, 1), shapely.box(4, 0, 5, 1)])])
    >>> coords, (ring_off, poly_off, geom_off) = polygon_ragged(g)
    >>> len(coords), ring_off.tolist(), poly_off.tolist(), geom_off.tolist()
    (15, [0, 5, 10, 15], [0, 1, 2, 3], [0, 1, 3])
    """
    geoms = np.asarray(geoms, dtype=object)
    # plain: a polygon, or a multipolygon of one polygon (as parcels are often stored), with one ring
    gtype = shapely.get_type_id(geoms)
    single = ((gtype == shapely.GeometryType.POLYGON)
              | ((gtype == shapely.GeometryType.MULTIPOLYGON) & (shapely.get_num_geometries(geoms) == 1)))
    s_idx = np.flatnonzero(single)
    s_count = shapely.get_num_coordinates(geoms[s_idx]).astype(np.int64)
    s_coords = shapely.get_coordinates(geoms[s_idx])
    end = np.cumsum(s_count)
    one_ring = s_count >= 4                                  # not empty
    is_polygon = gtype[s_idx] == shapely.GeometryType.POLYGON
    one_ring[is_polygon] &= shapely.get_num_interior_rings(geoms[s_idx[is_polygon]]) == 0
    # a one-part multipolygon's rings are told from its coordinates, without opening it
    # (get_geometry would make a geometry of each): one ring's first vertex comes
    # back exactly once, as the last. A shell that closes earlier, with a hole after it,
    # repeats its first vertex before the end, as does a hole touching it there; those go
    # the general way
    mp = np.flatnonzero(one_ring & ~is_polygon)
    if len(mp):
        xy = s_coords[index_runs(end[mp] - s_count[mp], s_count[mp])]
        own = np.repeat(np.arange(len(mp)), s_count[mp])
        first = s_coords[end[mp] - s_count[mp]]
        again = (xy[:, 0] == first[own, 0]) & (xy[:, 1] == first[own, 1])
        one_ring[mp] = (np.bincount(own, weights=again, minlength=len(mp)) == 2) & again[np.cumsum(s_count[mp]) - 1]
    plain = np.zeros(len(geoms), bool)
    plain[s_idx[one_ring]] = True
    p_idx, r_idx = np.flatnonzero(plain), np.flatnonzero(~plain)
    p_count = s_count[one_ring]
    p_coords = s_coords if one_ring.all() else s_coords[np.repeat(one_ring, s_count)]
    if len(r_idx):
        gtype, r_coords, offsets = shapely.to_ragged_array(geoms[r_idx], include_z=False)
        r_ring, r_poly, r_geom = _multipolygon_offsets(gtype, offsets)
    else:
        r_coords, r_ring, r_poly, r_geom = np.empty((0, 2)), np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64)
    polys_of_geom = np.ones(len(geoms), np.int64)
    polys_of_geom[r_idx] = np.diff(r_geom)
    geom_off = np.concatenate([[0], np.cumsum(polys_of_geom)])
    # each polygon's place, then each ring's, then each coordinate's, in the merged arrays
    r_poly_at = index_runs(geom_off[r_idx], np.diff(r_geom))
    rings_of_poly = np.ones(int(geom_off[-1]), np.int64)
    rings_of_poly[r_poly_at] = np.diff(r_poly)
    poly_off = np.concatenate([[0], np.cumsum(rings_of_poly)])
    p_ring_at = poly_off[geom_off[p_idx]]
    r_ring_at = index_runs(poly_off[r_poly_at], np.diff(r_poly))
    coords_of_ring = np.empty(int(poly_off[-1]), np.int64)
    coords_of_ring[p_ring_at] = p_count
    coords_of_ring[r_ring_at] = np.diff(r_ring)
    ring_off = np.concatenate([[0], np.cumsum(coords_of_ring)])
    coords = np.empty((int(ring_off[-1]), 2))
    coords[index_runs(ring_off[p_ring_at], p_count)] = p_coords
    coords[index_runs(ring_off[r_ring_at], np.diff(r_ring))] = r_coords
    return coords, (ring_off, poly_off, geom_off)
