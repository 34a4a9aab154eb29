"""Overlap areas (and pieces) of polygons with convex parcels, in NumPy, without an overlay.

Most overlay pairs only need an area (a planned-use patch under a parcel, say), and
most parcels are convex. For those, :func:`convex_overlap_areas` clips every subject
ring by the parcel's edges, one half-plane at a time over all pairs at once
(Sutherland–Hodgman), and measures what is left with the shoelace formula. Clipping a
ring by a convex polygon this way leaves a closed path that winds once around the
overlap and nowhere else (a concave ring's output may run back along the clip edge,
which adds no area), so the area is exact even though the path is no valid geometry.

A parcel that is not convex is often convex parts added and taken away: an L-shape is
its hull less a triangle, a parcel around a courtyard its outline less the yard.
:func:`clip_parts` finds those parts (:class:`ClipParts`), and the parcel's overlap is
the parts' clipped overlaps added with their signs — exact as well.

Where a piece itself is wanted (the conflict layer), :func:`convex_pieces` builds it
from the same clipped vertices whenever that path provably is a valid polygon — a
ring with no hole that no clip edge crosses more than twice — and leaves the rest
to GEOS.

Coordinates are taken relative to each parcel's first vertex, so zone-prefixed
eastings (39 500 000 m) lose no precision in the products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from landgis.ragged import index_runs, polygon_ragged
from landgis.threads import is_valid

__all__ = ["convex_overlap_areas", "convex_overlaps",
           "convex_pieces"]


def pad_rows(table: np.ndarray, width: int) -> np.ndarray:
    """``table`` widened to ``width`` columns with each row's first vertex (zero-length edges clip nothing)."""
    if table.shape[1] >= width:
        return table
    return np.hstack([table, np.repeat(table[:, :1], width - table.shape[1], axis=1)])


def reverse_rows(table: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Each row's first ``count`` values in reverse order (the rest as they are)."""
    col = np.arange(table.shape[1])[None, :]
    src = np.where(col < count[:, None], count[:, None] - 1 - col, col)
    return np.take_along_axis(table, src, axis=1)


def convex_overlap_areas(cx: np.ndarray, cy: np.ndarray, clip_of_pair: np.ndarray,
                         subjects: np.ndarray, subject_of_pair: np.ndarray) -> np.ndarray:
    """Area of ``subjects[subject_of_pair[k]] ∩ clip polygon clip_of_pair[k]``, for every pair k.

    ``cx``, ``cy`` are convex counter-clockwise vertex tables from :func:`convex_rings`
    (rows indexed by ``clip_of_pair``); ``subjects`` are polygons or multipolygons,
    holes allowed.

    >>> cx = np.array([[0.0, 4.0, 4.0, 0.0]]); cy = np.array([[0.0, 0.0, 4.0, 4.0]])
    >>> holed = shapely.box(-2, -2, 2, 2).difference(shapely.box(1, 1, 1.5, 1.5))
    >>> convex_overlap_areas(cx, cy, np.array([0, 0]), np.array([holed, shapely.box(3, 3, 9, 9)]), np.array([0, 1])).tolist()
    [3.75, 1.0]
    """
    return convex_overlaps(cx, cy, clip_of_pair, subjects, subject_of_pair)[0]


def convex_overlaps(cx: np.ndarray, cy: np.ndarray, clip_of_pair: np.ndarray,
                    subjects: np.ndarray, subject_of_pair: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`convex_overlap_areas`, and per pair whether the subject may meet the clip polygon at all.

    ``meets`` is False where clipping left no vertex: every vertex of the subject lay
    outside one edge's half-plane, so the subject is disjoint from the convex clip
    polygon — a proof, not a guess. Where it is True the pair may still only touch
    (a shared edge leaves vertices but no area).

    >>> cx = np.array([[0.0, 4.0, 4.0, 0.0]]); cy = np.array([[0.0, 0.0, 4.0, 4.0]])
    >>> far, touching = shapely.box(5, 5, 6, 6), shapely.box(4, 0, 6, 4)
    >>> area, meets = convex_overlaps(cx, cy, np.array([0, 0]), np.array([far, touching]), np.array([0, 1]))
    >>> area.tolist(), meets.tolist()
    ([0.0, 0.0], [False, True])
    """
    n_pairs = len(clip_of_pair)
    out = np.zeros(n_pairs)
    meets = np.zeros(n_pairs, bool)
    if not n_pairs:
        return out, meets
    subjects = np.asarray(subjects, dtype=object)
    for w, group in _width_groups(cx, cy, clip_of_pair):
        out[group], meets[group] = _clipped_areas(cx[:, :w], cy[:, :w], clip_of_pair[group], subjects,
                                                  subject_of_pair[group])
    return out, meets


def _width_groups(cx: np.ndarray, cy: np.ndarray, clip_of_pair: np.ndarray):
    """(columns, pairs) groups: a clip row needs as many half-plane passes as it has vertices,
    so pairs go in groups of 4, 8, 16… vertices, each clipped with only that many columns."""
    # only the rows of these pairs (the whole table for every chunk of pairs grew with the county squared)
    px, py = cx[clip_of_pair], cy[clip_of_pair]
    moved = (px != px[:, :1]) | (py != py[:, :1])
    vertices = np.where(moved.any(axis=1), cx.shape[1] - np.argmax(moved[:, ::-1], axis=1), 1)
    width = np.minimum(2 ** np.ceil(np.log2(np.maximum(vertices, 4))).astype(np.int64), cx.shape[1])
    for w in np.unique(width):
        yield int(w), np.flatnonzero(width == w)


def _clipped_areas(cx: np.ndarray, cy: np.ndarray, clip_of_pair: np.ndarray,
                   subjects: np.ndarray, subject_of_pair: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n_pairs = len(clip_of_pair)
    c = _clip_rings(cx, cy, clip_of_pair, subjects, subject_of_pair, cull=True)
    left = np.bincount(c.ring_pair, weights=c.ring_len, minlength=n_pairs)   # vertices left per pair
    return np.bincount(c.ring_pair, weights=c.ring_sign * c.ring_area(), minlength=n_pairs), left > 0


@dataclass
class _Clipped:
    """Subject rings clipped by their pairs' convex polygons (coordinates relative to ``ox``, ``oy``)."""

    x: np.ndarray
    y: np.ndarray
    ring_len: np.ndarray    # vertices left per ring (not closed)
    ring_pair: np.ndarray   # the pair each ring belongs to
    ring_sign: np.ndarray   # +1 a shell, -1 a hole
    crossings: np.ndarray   # per ring, the most times one clip edge's line crossed it
    ox: np.ndarray          # per pair, the origin of its coordinates
    oy: np.ndarray

    def ring_area(self) -> np.ndarray:
        """Shoelace area of each clipped ring (unsigned)."""
        nxt = _next_in_ring(self.ring_len)
        twice = self.x * self.y[nxt] - self.x[nxt] * self.y
        return np.abs(np.bincount(np.repeat(np.arange(len(self.ring_len)), self.ring_len), weights=twice,
                                  minlength=len(self.ring_len))) / 2


#: rings of more vertices than this on average are culled before clipping (see _clip_rings)
_CULL_ABOVE = 16


def _clip_rings(cx: np.ndarray, cy: np.ndarray, clip_of_pair: np.ndarray,
                subjects: np.ndarray, subject_of_pair: np.ndarray, cull: bool = False) -> _Clipped:
    """Every ring of each pair's subject, clipped by the pair's convex polygon (Sutherland–Hodgman).

    With ``cull`` (for areas only), long rings first lose the vertices that cannot
    matter: around the clip polygon's bounding box lie eight zones (left, below-left,
    below…), each convex; a vertex whose neighbours on both sides lie in its own zone
    goes, so a run of vertices in one zone becomes the straight edge between its ends,
    which stays in that zone, off the box. The ring's winding number about every point
    of the clip polygon is unchanged (the path and its shortcut bound a region that
    lies in the zone), so the clipped area is too, up to rounding; a ring left with no
    vertex lay in one zone, disjoint from the box. Only areas: the clipped path itself
    differs (a red-line piece of 256 vertices beside a parcel of five keeps a few).
    """
    n_pairs = len(clip_of_pair)
    used, subject_of_pair = np.unique(subject_of_pair, return_inverse=True)
    coords, (ring_off, poly_off, geom_off) = polygon_ragged(subjects[used])
    # the rings of each pair's subject, and whether each is a hole (not its polygon's first ring)
    ring_first = poly_off[geom_off]
    rings_of = ring_first[1:] - ring_first[:-1]
    pair_ring = index_runs(ring_first[subject_of_pair], rings_of[subject_of_pair])
    ring_pair = np.repeat(np.arange(n_pairs), rings_of[subject_of_pair])
    is_first = np.zeros(len(ring_off) - 1, bool)
    is_first[poly_off[:-1][np.diff(poly_off) > 0]] = True
    ring_sign = np.where(is_first[pair_ring], 1.0, -1.0)
    ring_len = np.maximum(ring_off[pair_ring + 1] - ring_off[pair_ring] - 1, 0)   # closing vertex dropped
    src = index_runs(ring_off[pair_ring], ring_len)
    clip = clip_of_pair
    ox, oy = cx[clip, 0], cy[clip, 0]
    vertex_pair = np.repeat(ring_pair, ring_len)
    x = coords[src, 0] - ox[vertex_pair]
    y = coords[src, 1] - oy[vertex_pair]
    px, py = cx[clip] - ox[:, None], cy[clip] - oy[:, None]     # clip vertices, relative
    if cull and len(x) > _CULL_ABOVE * len(ring_len):
        x, y, ring_len = _cull_zone_runs(x, y, ring_len, vertex_pair, px, py)
        vertex_pair = np.repeat(ring_pair, ring_len)
    qx, qy = np.roll(px, -1, axis=1), np.roll(py, -1, axis=1)
    crossings = np.zeros(len(ring_len), np.int64)
    for k in range(cx.shape[1]):
        ex, ey = (qx[:, k] - px[:, k])[vertex_pair], (qy[:, k] - py[:, k])[vertex_pair]
        s = ex * (y - py[vertex_pair, k]) - ey * (x - px[vertex_pair, k])
        x, y, ring_len, crossed = _clip_half_plane(x, y, s, ring_len)
        np.maximum(crossings, crossed, out=crossings)
        vertex_pair = np.repeat(ring_pair, ring_len)
    return _Clipped(x, y, ring_len, ring_pair, ring_sign, crossings, ox, oy)


def _cull_zone_runs(x: np.ndarray, y: np.ndarray, ring_len: np.ndarray, vertex_pair: np.ndarray,
                    px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rings (``x``, ``y``, ``ring_len``) less each vertex that lies, with both its neighbours, in one
    of the eight zones around its pair's clip box (rows of ``px``, ``py``); see :func:`_clip_rings`.

    >>> px, py = np.array([[0.0, 1.0, 1.0, 0.0]]), np.array([[0.0, 0.0, 1.0, 1.0]])
    >>> x = np.array([0.5, 3.0, 4.0, 5.0, 3.0]); y = np.array([0.5, 0.2, 0.5, 0.8, 0.9])  # 4 vertices right of the box
    >>> cx, cy, n = _cull_zone_runs(x, y, np.array([5]), np.zeros(5, np.int64), px, py)
    >>> cx.tolist(), n.tolist()
    ([0.5, 3.0, 3.0], [3])
    """
    right = (x > px.max(axis=1)[vertex_pair]).view(np.int8)
    left = (x < px.min(axis=1)[vertex_pair]).view(np.int8)
    above = (y > py.max(axis=1)[vertex_pair]).view(np.int8)
    below = (y < py.min(axis=1)[vertex_pair]).view(np.int8)
    zone = left + 2 * right + 3 * (below + 2 * above)     # 0 in the box (or on it), 1…8 around it
    nxt = _next_in_ring(ring_len)
    prev = np.empty_like(nxt)
    prev[nxt] = np.arange(len(nxt))
    keep = (zone == 0) | (zone[nxt] != zone) | (zone[prev] != zone)
    vertex_ring = np.repeat(np.arange(len(ring_len)), ring_len)
    return x[keep], y[keep], np.bincount(vertex_ring, weights=keep, minlength=len(ring_len)).astype(np.int64)


def convex_pieces(cx: np.ndarray, cy: np.ndarray, clip_of_pair: np.ndarray,
                  subjects: np.ndarray, subject_of_pair: np.ndarray) -> np.ndarray:
    """``subjects[subject_of_pair[k]] ∩ clip polygon clip_of_pair[k]`` as a polygon, where clipping alone makes it.

    Clipping a simple ring by a half-plane whose line crosses it at most twice leaves
    one simple ring (the chord between the two crossings closes it); a line crossing it
    four times or more would leave a path running back along itself. So a pair whose
    subject is one ring with no hole, crossed at most twice by each of the clip
    polygon's edges, gets its overlap as a polygon built from the clipped vertices —
    no overlay. Every other pair, and any result that is not a valid polygon of
    positive area, is ``None``: left to GEOS. Arguments as for
    :func:`convex_overlap_areas`.

    >>> cx = np.array([[0.0, 4.0, 4.0, 0.0]]); cy = np.array([[0.0, 0.0, 4.0, 4.0]])
    >>> u = shapely.Polygon([(1, -1), (2, -1), (2, 5), (3, 5), (3, -1), (5, -1), (5, 6), (1, 6)])  # crossed 4×
    >>> got = convex_pieces(cx, cy, np.array([0, 0, 0]), np.array([shapely.box(2, 2, 9, 9), u]), np.array([0, 1, 0]))
    >>> got[0].normalize().wkt, got[1], bool(got[2].equals(got[0]))
    ('POLYGON ((2 2, 2 4, 4 4, 4 2, 2 2))', None, True)
    """
    n_pairs = len(clip_of_pair)
    out = np.full(n_pairs, None, dtype=object)
    if not n_pairs:
        return out
    subjects = np.asarray(subjects, dtype=object)
    for w, group in _width_groups(cx, cy, clip_of_pair):
        out[group] = _pieces(_clip_rings(cx[:, :w], cy[:, :w], clip_of_pair[group], subjects,
                                         subject_of_pair[group]), len(group))
    return out


def _pieces(c: _Clipped, n_pairs: int) -> np.ndarray:
    """The polygons of the pairs :func:`convex_pieces` can make from clipped rings (others ``None``)."""
    out = np.full(n_pairs, None, dtype=object)
    rings = np.bincount(c.ring_pair, minlength=n_pairs)
    one = rings[c.ring_pair] == 1
    # consecutive repeated vertices (a cut at a vertex on the clip line) are dropped
    nxt = _next_in_ring(c.ring_len)
    same = (c.x == c.x[nxt]) & (c.y == c.y[nxt])
    vertex_ring = np.repeat(np.arange(len(c.ring_len)), c.ring_len)
    keep_vertex = ~same
    ring_len = np.bincount(vertex_ring, weights=keep_vertex, minlength=len(c.ring_len)).astype(np.int64)
    ok = one & (c.ring_sign > 0) & (c.crossings <= 2) & (ring_len >= 3)
    ok[ok] = c.ring_area()[ok] > 0
    if not ok.any():
        return out
    take = keep_vertex & ok[vertex_ring]
    pair_of_vertex = c.ring_pair[vertex_ring[take]]
    x = c.x[take] + c.ox[pair_of_vertex]
    y = c.y[take] + c.oy[pair_of_vertex]
    ring = np.flatnonzero(ok)
    count = ring_len[ring]
    # closed rings: each ring's first vertex repeated at its end
    first = np.cumsum(count) - count
    at = np.arange(len(x)) + np.repeat(np.arange(len(ring)), count)
    closed = np.empty((len(x) + len(ring), 2))
    closed[at, 0], closed[at, 1] = x, y
    ends = first + count + np.arange(len(ring))
    closed[ends, 0], closed[ends, 1] = x[first], y[first]
    offsets = np.concatenate([[0], np.cumsum(count + 1)])
    polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, closed, (offsets, np.arange(len(ring) + 1)))
    valid = is_valid(polys)
    pairs = c.ring_pair[ring]
    out[pairs[valid]] = polys[valid]
    return out


def _next_in_ring(ring_len: np.ndarray) -> np.ndarray:
    """For each vertex of rings stored one after another (``ring_len`` each, not closed), the next one.

    >>> _next_in_ring(np.array([3, 0, 2])).tolist()
    [1, 2, 0, 4, 3]
    """
    ends = np.cumsum(ring_len)
    nxt = np.arange(1, int(ends[-1]) + 1 if len(ends) else 1)
    nonempty = ring_len > 0
    nxt[ends[nonempty] - 1] = (ends - ring_len)[nonempty]
    return nxt


def _clip_half_plane(x: np.ndarray, y: np.ndarray, s: np.ndarray,
                     ring_len: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One Sutherland–Hodgman step on ragged rings: keep where ``s >= 0``, cut edges that cross.

    Returns the clipped rings (x, y, vertices per ring) and how many edges of each ring crossed the line.
    """
    if not len(x):
        return x, y, ring_len, np.zeros(len(ring_len), np.int64)
    nxt = _next_in_ring(ring_len)
    inside = s >= 0
    crossing = inside != inside[nxt]
    count = inside.astype(np.int64) + crossing
    at = np.cumsum(count) - count
    out_x = np.empty(int(at[-1] + count[-1]))
    out_y = np.empty_like(out_x)
    keep = np.flatnonzero(inside)
    out_x[at[keep]] = x[keep]
    out_y[at[keep]] = y[keep]
    cut = np.flatnonzero(crossing)
    j = nxt[cut]
    t = s[cut] / (s[cut] - s[j])
    cut_at = at[cut] + inside[cut]
    out_x[cut_at] = x[cut] + t * (x[j] - x[cut])
    out_y[cut_at] = y[cut] + t * (y[j] - y[cut])
    vertex_ring = np.repeat(np.arange(len(ring_len)), ring_len)
    new_len = np.bincount(vertex_ring, weights=count, minlength=len(ring_len)).astype(np.int64)
    crossed = np.bincount(vertex_ring, weights=crossing, minlength=len(ring_len)).astype(np.int64)
    return out_x, out_y, new_len, crossed
