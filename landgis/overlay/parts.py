"""Convex parts of a parcel: a concave parcel as its hull less its pockets, each part convex, with signs.

:func:`clip_parts` finds them (:class:`ClipParts`), so that the clipper in
:mod:`landgis.overlay.clip` measures a concave parcel's overlap as the signed sum of its
convex parts' overlaps, exact as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from landgis.overlay.clip import convex_overlaps, pad_rows, reverse_rows
from landgis.ragged import index_runs, polygon_ragged
from landgis.threads import in_threads, is_valid

__all__ = ["convex_rings", "ClipParts", "clip_parts", "chain_pockets"]


def convex_rings(geoms: np.ndarray, max_vertices: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The convex polygons among ``geoms`` as counter-clockwise vertex tables.

    A polygon is convex when its area is its convex hull's (to 1e-12): a polygon with a
    hole, a reflex vertex or a second part has a larger hull. Returns ``(convex, x, y)``:
    a mask over ``geoms`` (convex, positive area, a hull of at most ``max_vertices``
    vertices) and per geometry the hull's vertices, counter-clockwise (``x``, ``y``:
    ``len(geoms) ×`` the most vertices of a hull, padded with the first vertex, whose zero-length
    edges clip nothing; rows of the others are zero).

    >>> l_shape = shapely.Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
    >>> triangle = shapely.Polygon([(0, 0), (0, 3), (3, 0)])       # clockwise
    >>> convex, x, y = convex_rings(np.array([shapely.box(0, 0, 2, 1), l_shape, triangle]))
    >>> convex.tolist(), x.tolist(), y.tolist()
    ([True, False, True], [[2.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.0, 3.0]], [[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0]])
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    x = np.zeros((n, max_vertices))
    y = np.zeros((n, max_vertices))
    area = shapely.area(geoms)
    ok = np.isin(shapely.get_type_id(geoms), (3, 6)) & (area > 0)
    idx = np.flatnonzero(ok)
    hull = in_threads(shapely.convex_hull, geoms[idx])
    convex = np.zeros(n, bool)
    convex[idx] = (np.abs(shapely.area(hull) - area[idx]) <= 1e-12 * area[idx]) & \
        (shapely.get_num_coordinates(hull) - 1 <= max_vertices)
    hull = hull[convex[idx]]
    idx = np.flatnonzero(convex)
    if not len(idx):
        return convex, x, y
    coords, (ring_off, _, _) = polygon_ragged(hull)      # one ring each
    count = np.diff(ring_off) - 1                          # the closing vertex dropped
    width = int(count.max())                               # no wider than the largest hull
    x, y = x[:, :width], y[:, :width]
    rows = np.repeat(idx, count)
    col = index_runs(np.zeros(len(count), np.int64), count)     # 0..count-1 per hull
    src = index_runs(ring_off[:-1], count)
    x[rows, col] = coords[src, 0]
    y[rows, col] = coords[src, 1]
    count_row = np.bincount(rows, minlength=n)
    pad = np.arange(width)[None, :] >= count_row[:, None]
    # counter-clockwise: reverse the rows whose signed area (relative to the first vertex) is negative
    rx, ry = np.where(pad, 0.0, x - x[:, :1]), np.where(pad, 0.0, y - y[:, :1])
    signed = (rx * np.roll(ry, -1, axis=1) - np.roll(rx, -1, axis=1) * ry).sum(axis=1)
    flip = np.flatnonzero(signed < 0)
    x[flip] = reverse_rows(x[flip], count_row[flip])
    y[flip] = reverse_rows(y[flip], count_row[flip])
    x = np.where(pad, x[:, :1], x)
    y = np.where(pad, y[:, :1], y)
    return convex, x, y


@dataclass(frozen=True)
class ClipParts:
    """Polygons as signed convex clip polygons: the tables the clipper measures overlaps with.

    A convex polygon is one part: its own row of ``x``, ``y`` (rows ``0 … n-1`` are
    :func:`convex_rings`' table). A polygon that is not convex is convex parts added
    and taken away (:func:`clip_parts`): an L-shaped parcel is its hull less a
    triangle, a parcel around a courtyard its outline less the yard. Its overlap with
    anything is then the parts' overlaps added with their signs — exact, because each
    part taken away lies inside the part it is taken from. Those rows follow the first
    ``n``; ``sign`` is +1 or -1 per row.

    Attributes
    ----------
    convex
        per polygon: one convex ring (its overlap pieces can be cut by clipping too).
    x, y
        counter-clockwise vertex tables, one row per part (see :func:`convex_rings`).
    first, count
        per polygon: its first row and how many rows it has (0: left to GEOS).
    sign
        per row: +1 (adds its overlap) or -1 (subtracts it).
    """

    convex: np.ndarray
    x: np.ndarray
    y: np.ndarray
    first: np.ndarray
    count: np.ndarray
    sign: np.ndarray

    @classmethod
    def of_convex_rings(cls, rings: tuple[np.ndarray, np.ndarray, np.ndarray]) -> ClipParts:
        """The parts of :func:`convex_rings`' result: each convex polygon its own row, the others none."""
        convex, x, y = rings
        return cls(convex, x, y, np.arange(len(convex)), convex.astype(np.int64), np.ones(len(x)))

    @property
    def clipped(self) -> np.ndarray:
        """Per polygon: its overlaps are measured by clipping."""
        return self.count > 0

    def overlaps(self, clip_of_pair: np.ndarray, subjects: np.ndarray,
                 subject_of_pair: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`convex_overlaps` of the polygons ``clip_of_pair`` (positions; each must be :attr:`clipped`).

        ``meets`` is False where the subject is proven disjoint from every part that adds
        (they cover the polygon, so it is disjoint from the polygon too).
        """
        count = self.count[clip_of_pair]
        if (count == 1).all():  # convex polygons only: one part each, nothing to add up
            return convex_overlaps(self.x, self.y, self.first[clip_of_pair], subjects, subject_of_pair)
        n_pairs = len(clip_of_pair)
        part_pair = np.repeat(np.arange(n_pairs), count)
        part = index_runs(self.first[clip_of_pair], count)
        area, meets = convex_overlaps(self.x, self.y, part, subjects, subject_of_pair[part_pair])
        sign = self.sign[part]
        return (np.bincount(part_pair, weights=sign * area, minlength=n_pairs),
                np.bincount(part_pair, weights=meets & (sign > 0), minlength=n_pairs) > 0)


#: pockets of at most this share of the hull are slivers (boundary points off the line), cut by :func:`chain_pockets`
SLIVER_SHARE = 0.01


def chain_pockets(geoms: np.ndarray, max_vertices: int = 32, max_parts: int = 16
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Polygons of one ring as their hull less convex pockets, found in NumPy: no GEOS overlay.

    Real parcels are convex but for their boundary points: a neighbour's corner (界址点) on a
    shared edge, which register coordinates (to the millimetre) leave a hair off the line.
    Such a ring is its convex hull less, between each two consecutive hull vertices, the
    chain of ring vertices that leaves the hull's edge: a pocket, here a sliver. Each pocket
    is the fan of triangles from its first vertex, each triangle signed by its orientation
    (winding numbers add up, so the signed sum is the pocket exactly, concave or not). The
    hull (+1) and the pockets' triangles are the ring exactly, with no GEOS overlay.
    Triangles of no area (points exactly on the edge) are left out. A ring whose pockets are
    more than :data:`SLIVER_SHARE` of its hull (a real notch), or that needs more than
    ``max_parts`` parts, is left to :func:`clip_parts`' other ways.

    Returns ``(done, x, y, sign, owner)``: ``done`` per geometry (its parts found), and the
    parts' counter-clockwise tables (width ``max_vertices``), signs and owning geometry,
    grouped by owner, hull first.

    >>> sq = shapely.Polygon([(0, 0), (5, 0.01), (10, 0), (10, 10), (0, 10)])    # 5 cm bulge: a pocket
    >>> l_shape = shapely.Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
    >>> done, x, y, sign, owner = chain_pockets(np.array([sq, l_shape, shapely.box(0, 0, 1, 1)]))
    >>> done.tolist(), sign.tolist(), owner.tolist()
    ([True, False, True], [1.0, -1.0, 1.0], [0, 0, 2])
    >>> zigzag = shapely.Polygon([(0, 0), (3, 0.005), (6, 0.02), (10, 0), (10, 10), (0, 10)])  # a concave pocket
    >>> done, x, y, sign, owner = chain_pockets(np.array([zigzag]))
    >>> done.tolist(), sign.tolist()
    ([True], [1.0, 1.0, -1.0])
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    empty = (np.zeros(n, bool), np.zeros((0, max_vertices)), np.zeros((0, max_vertices)), np.zeros(0),
             np.zeros(0, np.int64))
    one_ring = (shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0) & \
        (shapely.area(geoms) > 0)
    idx = np.flatnonzero(one_ring)
    if not len(idx):
        return empty
    coords, (ring_off, _, _) = polygon_ragged(geoms[idx])
    nv = np.diff(ring_off) - 1                                     # the closing vertex dropped
    keep = nv <= 4 * max_vertices
    idx, nv = idx[keep], nv[keep]
    if not len(idx):
        return empty
    start = ring_off[:-1][keep]
    src = index_runs(start, nv)
    ring = np.repeat(np.arange(len(idx)), nv)
    x, y = coords[src, 0], coords[src, 1]
    # counter-clockwise: the rings of negative signed area (relative to their first vertex) reversed
    first = np.cumsum(nv) - nv
    local = np.arange(len(x)) - first[ring]
    nxt = np.where(local + 1 < nv[ring], np.arange(len(x)) + 1, first[ring])
    rx, ry = x - x[first[ring]], y - y[first[ring]]
    signed = np.bincount(ring, weights=rx * ry[nxt] - rx[nxt] * ry, minlength=len(idx))
    flip = signed < 0
    order = np.where(flip[ring], first[ring] + nv[ring] - 1 - local, np.arange(len(x)))
    x, y = x[order], y[order]
    # hull vertices: GEOS's hull keeps input coordinates, so they are found by equality
    hulls = in_threads(shapely.convex_hull, geoms[idx])
    hc, (h_off, _, _) = polygon_ragged(hulls)
    hn = np.diff(h_off) - 1
    h_ring = np.repeat(np.arange(len(idx)), np.maximum(hn, 0))
    h_src = index_runs(h_off[:-1], np.maximum(hn, 0))
    key = np.dtype([("r", "<i8"), ("x", "<f8"), ("y", "<f8")])
    on_hull = np.isin(np.rec.fromarrays([ring, x, y], dtype=key),
                      np.rec.fromarrays([h_ring, hc[h_src, 0], hc[h_src, 1]], dtype=key))
    # each ring rotated to start at a hull vertex; a segment is a hull vertex and the non-hull ones after it
    local = np.arange(len(x)) - first[ring]
    hull_pos = np.flatnonzero(on_hull)
    first_hull = np.full(len(idx), np.iinfo(np.int64).max)
    np.minimum.at(first_hull, ring[hull_pos], local[hull_pos])
    ok = first_hull < np.iinfo(np.int64).max
    shift = np.where(ok, first_hull, 0)
    rot = first[ring] + (local + shift[ring]) % nv[ring]
    x, y, on_hull = x[rot], y[rot], on_hull[rot]
    seg = np.cumsum(on_hull) - 1                                  # global segment id (each starts at a hull vertex)
    seg_len = np.bincount(seg, minlength=int(seg[-1]) + 1 if len(seg) else 0)
    seg_start = np.cumsum(seg_len) - seg_len
    seg_ring = ring[seg_start]
    pocket = seg_len >= 2
    # the pocket's closing vertex: the next segment's hull vertex (cyclic within the ring)
    last_seg = np.r_[seg_ring[1:] != seg_ring[:-1], True]
    ring_first_seg = np.r_[True, seg_ring[1:] != seg_ring[:-1]]
    first_seg_of_ring = np.maximum.accumulate(np.where(ring_first_seg, np.arange(len(seg_len)), 0))
    closing = np.where(last_seg, first_seg_of_ring, np.arange(len(seg_len)) + 1)
    # each pocket (its hull vertex c0, the chain c1…cm, the next hull vertex) as the fan of triangles
    # (c0, cj, cj+1): their signed sum is the pocket exactly, whatever its shape (winding numbers add up)
    p_ids = np.flatnonzero(pocket)
    m = seg_len[p_ids] - 1                                        # non-hull vertices of each pocket
    tri_p = np.repeat(np.arange(len(p_ids)), m)
    j = index_runs(np.ones(len(p_ids), np.int64), m)              # 1..m
    c0 = seg_start[p_ids][tri_p]
    c1 = c0 + j
    c2 = np.where(j < m[tri_p], c1 + 1, seg_start[closing[p_ids]][tri_p])
    tx = np.column_stack([x[c0], x[c1], x[c2]])
    ty = np.column_stack([y[c0], y[c1], y[c2]])
    rx, ry = tx - tx[:, :1], ty - ty[:, :1]
    cross = rx[:, 1] * ry[:, 2] - rx[:, 2] * ry[:, 1]             # twice the signed area
    # the pocket enters with -1 and is traversed clockwise: a clockwise triangle subtracts, a
    # counter-clockwise one (a notch in the chain) adds back; each becomes a counter-clockwise table
    tri_sign = np.sign(cross)
    cw = cross < 0
    tx[cw] = tx[cw][:, ::-1]
    ty[cw] = ty[cw][:, ::-1]
    p_ring = seg_ring[p_ids][tri_p]
    real = cross != 0
    p_area = 0.5 * cross
    bad = ~ok.copy()
    n_parts = 1 + np.bincount(p_ring[real], minlength=len(idx))
    bad |= n_parts > max_parts
    # the hulls' tables; the parts must add up to the ring
    h_ok, hx, hy = convex_rings(hulls, max_vertices)
    bad |= ~h_ok
    hull_area = shapely.area(hulls)
    net = hull_area + np.bincount(p_ring[real], weights=p_area[real], minlength=len(idx))
    area = shapely.area(geoms[idx])
    bad |= np.abs(net - area) > 1e-12 * area
    # slivers only: a real notch (an L-shape's corner) is cut more compactly by clip_parts' hull less pockets
    bad |= hull_area - area > SLIVER_SHARE * hull_area
    good = ~bad
    if not good.any():
        return empty
    take = real & good[p_ring]
    hull_rows = np.flatnonzero(good)
    width = max(hx.shape[1], 3)
    part_owner = np.concatenate([hull_rows, p_ring[take]])
    part_x = np.vstack([pad_rows(hx[hull_rows], width), pad_rows(tx[take], width)])
    part_y = np.vstack([pad_rows(hy[hull_rows], width), pad_rows(ty[take], width)])
    part_sign = np.concatenate([np.ones(len(hull_rows)), tri_sign[take]])
    grouped = np.argsort(part_owner, kind="stable")
    done = np.zeros(n, bool)
    done[idx[good]] = True
    return done, part_x[grouped], part_y[grouped], part_sign[grouped], idx[part_owner[grouped]]


def clip_parts(geoms: np.ndarray, max_vertices: int = 32, max_parts: int = 16, max_depth: int = 3) -> ClipParts:
    """:class:`ClipParts` of ``geoms``: convex polygons, and polygons made of signed convex parts.

    Each ring of a polygon that is not convex counts with its sign (+1 an outline, -1
    a hole). A convex ring is one part. A concave ring is its hull, with the ring's
    sign, less its pockets (``hull − ring``, GEOS, once per polygon), with the other
    sign; a pocket that is concave itself is cut the same way, down to ``max_depth``
    levels (a notch whose corners rounding moved off the hull's edge leaves a pocket
    with thin spikes: its hull less two triangles). The parts add up to the polygon
    exactly. A polygon that needs more than ``max_parts`` parts, deeper cuts, or a
    part of more than ``max_vertices`` vertices, and an invalid one, get no row and
    are left to GEOS.

    >>> l_shape = shapely.Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
    >>> yard = shapely.box(0, 0, 4, 4).difference(shapely.box(1, 1, 2, 2))
    >>> star = shapely.Polygon([(0, 0), (2, 1), (4, 0), (3, 2), (4, 4), (2, 3), (0, 4), (1, 2)])
    >>> parts = clip_parts(np.array([shapely.box(0, 0, 1, 1), l_shape, yard, star]))
    >>> parts.convex.tolist(), parts.count.tolist(), parts.sign[parts.first[1]:].tolist()
    ([True, False, False, False], [1, 2, 2, 5], [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, -1.0, -1.0, -1.0])
    >>> subject = np.array([shapely.box(0.5, 0.5, 3, 3)])
    >>> area, meets = parts.overlaps(np.arange(4), subject, np.zeros(4, np.int64))
    >>> area.tolist() == [float(shapely.area(shapely.intersection(g, subject[0])))
    ...                   for g in (shapely.box(0, 0, 1, 1), l_shape, yard, star)]
    True
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    convex, x, y = convex_rings(geoms, max_vertices)
    base = ClipParts.of_convex_rings((convex, x, y))
    area = shapely.area(geoms)
    cand = np.flatnonzero(~convex & np.isin(shapely.get_type_id(geoms), (3, 6)) & (area > 0))
    if len(cand):
        cand = cand[is_valid(geoms[cand])]
    if not len(cand):
        return base
    # most concave parcels are convex but for boundary points a hair off their edges: hull less
    # convex pockets, found in NumPy; the others are cut by GEOS below
    quick, qx, qy, qsign, qowner = chain_pockets(geoms[cand], max_vertices, max_parts)
    quick_owner = cand[qowner]
    cand = cand[~quick]
    if not len(cand):
        return _with_parts(base, n, [(qx, qy, qsign, quick_owner)])
    m = len(cand)
    # level 0: every ring of the candidates as a polygon, with its sign and its geometry (a position in cand)
    polys, poly_owner = shapely.get_parts(geoms[cand], return_index=True)
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    items = shapely.polygons(rings)
    sign = np.where(np.r_[True, ring_poly[1:] != ring_poly[:-1]], 1.0, -1.0)   # a polygon's first ring: its outline
    owner = poly_owner[ring_poly]
    failed = np.zeros(m, bool)
    tables, part_sign, part_owner, part_area = [], [], [], []
    for depth in range(max_depth + 1):
        ok, ix, iy = convex_rings(items, max_vertices)
        tables.append((ix[ok], iy[ok]))
        part_sign.append(sign[ok])
        part_owner.append(owner[ok])
        part_area.append(shapely.area(items[ok]))
        rest = np.flatnonzero(~ok)
        if depth == max_depth:
            failed[owner[rest]] = True
        if depth == max_depth or not len(rest):
            break
        # a concave item: its hull with its sign, each pocket with the other (both cut again if need be)
        hull = in_threads(shapely.convex_hull, items[rest])
        pockets, of = shapely.get_parts(in_threads(shapely.difference, hull, items[rest]), return_index=True)
        polygonal = shapely.get_type_id(pockets) == 3
        pockets, of = pockets[polygonal], rest[of[polygonal]]
        items = np.concatenate([hull, pockets])
        sign = np.concatenate([sign[rest], -sign[of]])
        owner = np.concatenate([owner[rest], owner[of]])
    part_sign = np.concatenate(part_sign)
    part_owner = np.concatenate(part_owner)
    count_of = np.bincount(part_owner, minlength=m)
    net = np.bincount(part_owner, weights=part_sign * np.concatenate(part_area), minlength=m)
    # measured by its parts: nothing left uncut, few enough parts, and they add up to it
    good = ~failed & (count_of <= max_parts) & (np.abs(net - area[cand]) <= 1e-12 * area[cand])
    width = max([x.shape[1]] + [t[0].shape[1] for t in tables])
    part_x = np.vstack([pad_rows(t[0], width) for t in tables])
    part_y = np.vstack([pad_rows(t[1], width) for t in tables])
    keep = good[part_owner]
    return _with_parts(base, n, [(qx, qy, qsign, quick_owner),
                                 (part_x[keep], part_y[keep], part_sign[keep], cand[part_owner[keep]])])


def _with_parts(base: ClipParts, n: int, groups: list[tuple[np.ndarray, ...]]) -> ClipParts:
    """``base`` (the convex rings' one row each) with rows added for the polygons of ``groups``:
    (x, y, sign, owner) tables of their signed parts."""
    groups = [g for g in groups if len(g[3])]
    if not groups:
        return base
    width = max([base.x.shape[1]] + [g[0].shape[1] for g in groups])
    part_x = np.vstack([pad_rows(g[0], width) for g in groups])
    part_y = np.vstack([pad_rows(g[1], width) for g in groups])
    part_sign = np.concatenate([g[2] for g in groups])
    part_owner = np.concatenate([g[3] for g in groups])
    order = np.argsort(part_owner, kind="stable")
    count_of = np.bincount(part_owner, minlength=n)
    got = np.flatnonzero(count_of)
    count = base.count.copy()
    first = base.first.copy()
    count[got] = count_of[got]
    first[got] = n + np.cumsum(count[got]) - count[got]
    return ClipParts(base.convex, np.vstack([pad_rows(base.x, width), part_x[order]]),
                     np.vstack([pad_rows(base.y, width), part_y[order]]), first, count,
                     np.concatenate([base.sign, part_sign[order]]))
