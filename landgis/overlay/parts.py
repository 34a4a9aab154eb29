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

__all__ = ["convex_rings", "ClipParts", "clip_parts"]


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
    if not good.any():
        return base
    width = max([x.shape[1]] + [t[0].shape[1] for t in tables])
    part_x = np.vstack([pad_rows(t[0], width) for t in tables])
    part_y = np.vstack([pad_rows(t[1], width) for t in tables])
    order = np.argsort(part_owner, kind="stable")
    order = order[good[part_owner[order]]]
    count = base.count.copy()
    first = base.first.copy()
    got = cand[good]
    count[got] = count_of[good]
    first[got] = n + np.cumsum(count[got]) - count[got]
    return ClipParts(convex, np.vstack([pad_rows(x, width), part_x[order]]),
                     np.vstack([pad_rows(y, width), part_y[order]]), first, count,
                     np.concatenate([base.sign, part_sign[order]]))
