"""Polygons of many vertices cut into small pieces before an overlay, like PostGIS ``ST_Subdivide``."""

from __future__ import annotations

import os

import numpy as np
import shapely

from landgis.threads import is_valid, run_chunks

__all__ = ["subdivide", "MAX_VERTICES"]

#: Layer polygons with more vertices than this are subdivided before overlay.
MAX_VERTICES = 256


def subdivide(geoms: np.ndarray, max_vertices: int = MAX_VERTICES,
              threads: int | None = None, near: shapely.STRtree | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons into pieces of at most ``max_vertices`` vertices.

    Returns the pieces and, for each, the position of the polygon it came
    from. Pieces of one polygon only share edges, so their areas add up to
    the polygon's.

    With ``near`` (an STR-tree), a big polygon's pieces whose bounds meet no bounds in
    the tree are dropped as soon as they are cut, and cut no further: what an overlay
    with the tree's geometries needs (their descendants' bounds lie inside theirs, so
    none of them could be a candidate pair). The pieces kept are cut exactly as without
    ``near``. Polygons already small enough are returned whatever ``near`` says.

    >>> star = shapely.Point(0, 0).buffer(100, quad_segs=512)
    >>> pieces, owner = subdivide(np.array([star]), 64)
    >>> bool(shapely.get_num_coordinates(pieces).max() <= 64 + 8), len(set(owner))
    (True, 1)
    >>> round(float(shapely.area(pieces).sum() - star.area), 6)
    0.0
    """
    geoms = np.asarray(geoms, dtype=object)
    n_coords = shapely.get_num_coordinates(geoms)
    big = np.flatnonzero(n_coords > max_vertices)
    if not len(big):  # the common case (survey, zoning, farmland): nothing to cut, nothing to copy
        return geoms, np.arange(len(geoms))
    small = np.flatnonzero(n_coords <= max_vertices)
    workers = min(threads or min(4, os.cpu_count() or 1), len(big))
    groups = [big[i::workers] for i in range(workers)]  # big polygons dealt round-robin (GEOS releases the GIL)
    done = run_chunks(lambda idx: _subdivide(geoms[idx], max_vertices, near=near), groups, workers)
    pieces = np.concatenate([geoms[small], *(d[0] for d in done)])
    owners = np.concatenate([small, *(idx[d[1]] for idx, d in zip(groups, done, strict=True))])
    order = np.argsort(owners, kind="stable")
    return pieces[order], owners[order]


def _subdivide(geoms: np.ndarray, max_vertices: int, exact: bool = False,
               near: shapely.STRtree | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Halve polygons along the longer side of their bounds until every piece is small enough.

    GEOS's rectangle clipper is much faster than a full overlay on 50k-vertex
    polygons but does not promise valid output. Every cut is checked by area (the
    halves must add up to the whole); validity is tested once, on the final small
    pieces (testing it at every level on 50k-vertex halves was 80% of the time). A
    polygon with any invalid final piece is cut again with ``exact=True``: halves
    that are invalid or do not add up are recut with a full intersection. The
    clipper may also refuse a half it made invalid itself (GEOS raises); then the
    polygons are cut again exactly too.
    """
    if not exact:
        try:
            pieces, owners = _halve(geoms, max_vertices, exact=False, near=near)
        except shapely.errors.GEOSException:
            return _subdivide(geoms, max_vertices, exact=True, near=near)
        redo = np.unique(owners[~is_valid(pieces)])
        if len(redo):
            keep = ~np.isin(owners, redo)
            again, again_owner = _halve(geoms[redo], max_vertices, exact=True, near=near)
            pieces = np.concatenate([pieces[keep], again])
            owners = np.concatenate([owners[keep], redo[again_owner]])
    else:
        pieces, owners = _halve(geoms, max_vertices, exact=True, near=near)
    order = np.argsort(owners, kind="stable")
    return pieces[order], owners[order]


def _halve(geoms: np.ndarray, max_vertices: int, exact: bool,
           near: shapely.STRtree | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The cutting loop of :func:`_subdivide`: (pieces, position of the polygon each came from)."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    done_geoms: list[np.ndarray] = []
    done_owner: list[np.ndarray] = []
    for _ in range(64):
        if near is not None and len(parts):  # pieces nowhere near the tree's geometries: dropped
            hit = np.zeros(len(parts), bool)
            hit[near.query(parts)[0]] = True
            parts, owner = parts[hit], owner[hit]
        big = shapely.get_num_coordinates(parts) > max_vertices
        done_geoms.append(parts[~big])
        done_owner.append(owner[~big])
        if not big.any():
            break
        todo, todo_owner = parts[big], owner[big]
        x0, y0, x1, y1 = shapely.bounds(todo).T
        wide = (x1 - x0) >= (y1 - y0)
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        # the halves overlap the bounds generously so no sliver is lost at the edges
        pad = np.maximum(x1 - x0, y1 - y0)
        ax1, ay1 = np.where(wide, xm, x1 + pad), np.where(wide, y1 + pad, ym)
        bx0, by0 = np.where(wide, xm, x0 - pad), np.where(wide, y0 - pad, ym)
        half_a = np.array([shapely.clip_by_rect(g, *b) for g, b in
                           zip(todo, np.column_stack([x0 - pad, y0 - pad, ax1, ay1]).tolist(), strict=True)] or [],
                          dtype=object)
        half_b = np.array([shapely.clip_by_rect(g, *b) for g, b in
                           zip(todo, np.column_stack([bx0, by0, x1 + pad, y1 + pad]).tolist(), strict=True)] or [],
                          dtype=object)
        area = shapely.area(todo)
        bad = np.abs(shapely.area(half_a) + shapely.area(half_b) - area) > 1e-9 * area + 1e-9
        if exact:
            bad |= ~(is_valid(half_a) & is_valid(half_b))
        if bad.any():
            half_a[bad] = shapely.intersection(todo[bad], shapely.box(x0[bad] - pad[bad], y0[bad] - pad[bad],
                                                                      ax1[bad], ay1[bad]))
            half_b[bad] = shapely.intersection(todo[bad], shapely.box(bx0[bad], by0[bad], x1[bad] + pad[bad],
                                                                      y1[bad] + pad[bad]))
        halves = np.concatenate([half_a, half_b])
        halves_owner = np.concatenate([todo_owner, todo_owner])
        parts, idx = shapely.get_parts(halves, return_index=True)
        owner = halves_owner[idx]
        poly = shapely.get_type_id(parts) == 3
        parts, owner = parts[poly], owner[poly]
    pieces = np.concatenate(done_geoms) if done_geoms else np.array([], dtype=object)
    owners = np.concatenate(done_owner) if done_owner else np.array([], dtype=np.int64)
    return pieces, owners
