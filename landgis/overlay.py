"""Overlay stage: the parcel × layer overlap table, exact and fast.

One spatial-index query per layer and one vectorised intersection give a long
table ``(parcel, feature, overlap_m2, contained)``; everything after it —
constraint overlaps, class breakdowns, dominant classes — is a group-by over
that table. How it stays fast on a county (see ``bench/``):

* the STR-tree is built on the parcels (once per screening) and queried by the
  bounding boxes of the layer's polygons; what boxes cannot tell is settled by the
  convex clipper below, or by GEOS predicates on polygons prepared once;
* a parcel lying wholly inside a polygon (``contains_properly``, prepared) gets
  its own area — no intersection is computed;
* polygons with more than ``max_vertices`` vertices (red lines of 50k vertices)
  are cut into pieces first, like PostGIS ``ST_Subdivide``; the pieces of one
  polygon do not overlap, so per-feature sums stay exact;
* a convex parcel's overlaps are measured by clipping in NumPy
  (:mod:`landgis.clip`), with no intersection geometry, and a clip that leaves no
  vertex proves the pair disjoint; so are a concave or holed parcel's, as signed
  convex parts (:func:`landgis.clip.clip_parts`: its hull less the pockets the hull
  adds, each cut again if concave). A piece the conflict layer needs is made later, only
  for the parcels it shows: for a convex parcel from the clipped vertices where they
  form a valid polygon (:func:`landgis.clip.convex_pieces`), else by GEOS;
* the remaining intersections run in threads over chunks (shapely releases the GIL).

Ground covered by several polygons of one layer (overlapping farmland patches)
is counted once: for a parcel touched by two or more features of a constraint
layer the pieces are unioned before measuring.

Examples
--------
A 10 × 10 parcel, half covered by one farmland patch and wholly by another
that overlaps the first: the overlap is the parcel's 100 m², not 150.

>>> import numpy as np, shapely
>>> parcels = np.array([shapely.box(0, 0, 10, 10)])
>>> farmland = np.array([shapely.box(0, 0, 5, 10), shapely.box(-1, -1, 11, 11)])
>>> ov = overlay_layer(parcels, farmland, keep_pieces=True)
>>> ov.pairs[["parcel", "feature", "overlap_m2", "contained"]].values.tolist()
[[0, 0, 50.0, False], [0, 1, 100.0, True]]
>>> float(ground_overlap(ov, 1)[0])
100.0
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from landgis.clip import ClipParts, clip_parts, convex_pieces
from landgis.threads import in_threads, is_valid, query_in_threads, run_chunks

__all__ = [
    "LayerOverlay",
    "overlay_layer",
    "parcel_index",
    "ground_overlap",
    "ground_pieces",
    "class_areas",
    "subdivide",
    "union_by_parcel",
    "MAX_VERTICES",
]

#: Layer polygons with more vertices than this are subdivided before overlay.
MAX_VERTICES = 256
#: overlaps measured below this (m²) by the convex clipper are measured again by GEOS
TINY_OVERLAP_M2 = 1e-6
_INTERSECT_BLOCK = 50_000
_PREPARE_ABOVE = 64


@dataclass
class LayerOverlay:
    """Overlaps of one layer with the parcels.

    ``pairs`` has one row per (parcel, layer piece) with a positive overlap:
    ``parcel`` and ``feature`` are positions in the inputs (a subdivided
    feature appears once per piece), ``overlap_m2`` the exact overlap and
    ``contained`` whether the parcel lies wholly inside. ``pieces`` (when
    kept) holds the overlap geometries aligned with ``pairs``.

    Kept pieces cost little until asked for: a piece that is a whole parcel refers
    to the parcel's geometry; a piece GEOS cut to measure it is stored as WKB (a
    quarter of a GEOS geometry's memory); a piece the convex clipper measured is
    cut only when asked for (a county's survey keeps ~300k pieces and the conflict
    layer needs a fraction of them). :meth:`piece_geoms` makes the ones asked for.
    """

    pairs: pd.DataFrame
    parcel_count: int
    candidate_pairs: int = 0
    parcels: np.ndarray | None = None   # the parcels' geometries (contained pieces are these)
    kept: np.ndarray | None = None      # per pair: piece kept
    wkb: np.ndarray | None = None       # per pair: WKB of a kept piece GEOS has cut (None: not cut yet)
    layer_pieces: np.ndarray | None = None  # the (subdivided) layer polygons the pairs were cut from
    piece_of_pair: np.ndarray | None = None  # per pair: its polygon in layer_pieces
    convex: ClipParts | None = None  # the parcels' clip tables (clip_parts)

    @property
    def has_pieces(self) -> bool:
        return self.kept is not None

    @property
    def pieces(self) -> np.ndarray | None:
        """Every pair's overlap geometry (``None`` where not kept), or ``None`` without kept pieces."""
        return self.piece_geoms() if self.has_pieces else None

    def piece_geoms(self, sel: np.ndarray | None = None) -> np.ndarray:
        """The overlap geometries of the pairs ``sel`` (a mask or positions; default all)."""
        if not self.has_pieces:
            raise ValueError("the overlay kept no pieces: overlay with keep_pieces=...")
        idx = np.arange(len(self.pairs)) if sel is None else np.arange(len(self.pairs))[sel]
        out = np.full(len(idx), None, dtype=object)
        kept = self.kept[idx]
        whole = kept & self.pairs["contained"].to_numpy()[idx]
        out[whole] = self.parcels[self.pairs["parcel"].to_numpy()[idx[whole]]]
        cut = kept & ~whole
        stored = np.zeros(len(idx), bool)
        stored[cut] = [w is not None for w in self.wkb[idx[cut]]]
        if stored.any():
            out[stored] = shapely.from_wkb(self.wkb[idx[stored]])
        later = np.flatnonzero(cut & ~stored)
        if len(later):
            at = idx[later]
            parcel = self.pairs["parcel"].to_numpy()[at]
            got = np.full(len(at), None, dtype=object)
            if self.convex is not None:  # pairs whose parcel is convex: most pieces need no overlay
                parts = self.convex
                clip = np.flatnonzero(parts.convex[parcel])
                got[clip] = in_threads(lambda c, subject: convex_pieces(parts.x, parts.y, c, self.layer_pieces,
                                                                        subject),
                                       parts.first[parcel[clip]], self.piece_of_pair[at[clip]])
            geos = np.flatnonzero(shapely.is_missing(got))
            if len(geos):
                got[geos] = in_threads(shapely.intersection, self.parcels[parcel[geos]],
                                       self.layer_pieces[self.piece_of_pair[at[geos]]])
            out[later] = got
        return out


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

    GEOS's rectangle clipper is ~30× faster than a full overlay on 50k-vertex
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


def overlay_layer(parcels: np.ndarray, layer: np.ndarray, *, keep_pieces: bool | np.ndarray = False,
                  max_vertices: int = MAX_VERTICES, threads: int | None = None,
                  convex: ClipParts | tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                  parcel_tree: shapely.STRtree | None = None) -> LayerOverlay:
    """Exact overlaps of every parcel with every polygon of ``layer``.

    Parameters
    ----------
    parcels, layer
        arrays of (multi)polygons in the same projected CRS; ``None`` or empty
        parcels are skipped (they get no overlap).
    keep_pieces
        also return the overlap geometries (for conflict maps and exports):
        ``True`` for every pair, or a boolean per layer feature to keep only the
        pieces of those features (the others are ``None``).
    max_vertices
        subdivide layer polygons above this vertex count (0 = never).
    threads
        worker threads for the intersections (default: the CPU count, at most 4).
    convex
        :func:`landgis.clip.clip_parts` of ``parcels`` (or :func:`landgis.clip.convex_rings`,
        convex parcels only), when the caller overlays several layers (made here
        otherwise). A pair whose parcel is convex, or made of signed convex parts
        (an L-shape, a courtyard, a notch), is measured by clipping without an intersection
        geometry (7× faster than one GEOS thread, equal to GEOS to 1.2e-8 m² on the
        bench county); its piece, if kept, is cut when asked for. Overlaps under
        ``TINY_OVERLAP_M2`` are left to GEOS.
    parcel_tree
        :func:`parcel_index` of ``parcels``, when the caller overlays several layers.
    """
    parcels = np.asarray(parcels, dtype=object)
    layer = np.asarray(layer, dtype=object)
    n = len(parcels)
    wanted = isinstance(keep_pieces, np.ndarray) or bool(keep_pieces)
    empty = LayerOverlay(pd.DataFrame({"parcel": np.array([], np.int64), "feature": np.array([], np.int64),
                                       "overlap_m2": np.array([], float), "contained": np.array([], bool)}),
                         n, parcels=parcels, kept=np.array([], bool) if wanted else None,
                         wkb=np.array([], dtype=object) if wanted else None)
    if n == 0 or len(layer) == 0:
        return empty
    tree = parcel_tree if parcel_tree is not None else parcel_index(parcels)
    if max_vertices:  # the pieces of a big polygon that no parcel comes near are not cut further
        pieces, owner = subdivide(layer, max_vertices, near=tree)
    else:
        pieces, owner = layer, np.arange(len(layer))
    # candidates by bounding box only (5× faster than an `intersects` query, which prepares
    # every one of a survey's 450k patches); what the boxes cannot tell is settled below
    piece_idx, parcel_idx = query_in_threads(tree, pieces, None, threads=threads)
    order = np.lexsort((piece_idx, parcel_idx))
    piece_idx, parcel_idx = piece_idx[order], parcel_idx[order]
    n_pairs = len(piece_idx)
    area = np.zeros(n_pairs)
    meets = np.ones(n_pairs, bool)          # False once a pair is proven disjoint
    contained = np.zeros(n_pairs, bool)
    parcel_area = shapely.area(parcels)
    # pairs with a convex parcel, or one made of signed convex parts, are measured by
    # clipping, without cutting (a kept piece of theirs is cut only if the conflict layer asks
    # for it, see piece_geoms); the clipper also proves most bounding-box candidates disjoint
    parts = (clip_parts(parcels) if convex is None else convex if isinstance(convex, ClipParts)
             else ClipParts.of_convex_rings(convex))
    polygonal = np.isin(shapely.get_type_id(pieces), (3, 6))  # a caller's collection goes to GEOS
    fast = np.flatnonzero(parts.clipped[parcel_idx] & polygonal[piece_idx])
    # clipped in the layer's order, not the parcels': each block then reads the coordinates of a
    # run of polygons made one after another, which lie together in memory (get_coordinates on a
    # survey layer is 7x slower in shuffled order; the bench survey overlay takes 14% less time)
    fast = fast[np.argsort(piece_idx[fast], kind="stable")]
    for start in range(0, len(fast), _INTERSECT_BLOCK):  # blocks: the clipper's arrays stay small
        block = fast[start: start + _INTERSECT_BLOCK]
        got = in_threads(lambda clip, subject: np.column_stack(parts.overlaps(clip, pieces, subject)),
                         parcel_idx[block], piece_idx[block], threads=threads)
        area[block], meets[block] = got[:, 0], got[:, 1] > 0
    # GEOS decides the rest: pairs with another parcel, and touching pairs or slivers the
    # clipper measured under TINY_OVERLAP_M2 (whether there is any overlap at all)
    is_fast = np.zeros(n_pairs, bool)
    is_fast[fast] = True
    geos = np.flatnonzero(meets & ~(is_fast & (area >= TINY_OVERLAP_M2)))
    # a parcel the clipper finds (nearly) whole under a polygon may lie wholly inside it
    full = fast[area[fast] >= parcel_area[parcel_idx[fast]] * (1 - 1e-9)]
    slow = geos[~is_fast[geos]]
    # prepared predicates: only polygons with many vertices are prepared (for the 450k small
    # patches of a survey preparing cost 1.2 s and 420 MB and saved nothing); a prepared
    # geometry builds its indexes lazily and is not thread-safe, so each piece's pairs stay
    # in one thread's chunk
    prepared_here = ~shapely.is_prepared(pieces) & (shapely.get_num_coordinates(pieces) > _PREPARE_ABOVE)
    shapely.prepare(pieces[prepared_here])
    try:
        if len(slow):
            meets[slow] = _by_piece(shapely.intersects, pieces, parcels, piece_idx, parcel_idx, slow, threads)
        ask = np.union1d(full, slow[meets[slow]])
        contained[ask] = _by_piece(shapely.contains_properly, pieces, parcels, piece_idx, parcel_idx, ask, threads)
    finally:  # the layer's own geometries are not left prepared (memory, and no surprise for callers)
        shapely.destroy_prepared(pieces[prepared_here])
    area[contained] = parcel_area[parcel_idx[contained]]
    keep = (np.asarray(keep_pieces, dtype=bool)[owner[piece_idx]] if isinstance(keep_pieces, np.ndarray)
            else np.full(n_pairs, wanted))
    wkb = np.full(n_pairs, None, dtype=object) if wanted else None
    todo = geos[meets[geos] & ~contained[geos]]
    # intersections block by block: each block's geometries become areas (and WKB for the
    # kept ones) before the next is cut, so 330k survey intersections are never alive at once
    for start in range(0, len(todo), _INTERSECT_BLOCK):
        block = todo[start: start + _INTERSECT_BLOCK]
        inter = in_threads(shapely.intersection, parcels[parcel_idx[block]], pieces[piece_idx[block]],
                           threads=threads)
        area[block] = shapely.area(inter)
        if wanted and keep[block].any():
            wkb[block[keep[block]]] = shapely.to_wkb(inter[keep[block]])
        del inter
    candidate_pairs = int(meets.sum())
    positive = area > 0
    pairs = pd.DataFrame({
        "parcel": parcel_idx[positive].astype(np.int64),
        "feature": owner[piece_idx[positive]].astype(np.int64),
        "overlap_m2": area[positive],
        "contained": contained[positive],
    })
    return LayerOverlay(pairs, n, candidate_pairs=candidate_pairs, parcels=parcels,
                        kept=keep[positive] if wanted else None, wkb=wkb[positive] if wanted else None,
                        layer_pieces=pieces if wanted else None,
                        piece_of_pair=piece_idx[positive] if wanted else None,
                        convex=parts if wanted else None)


def parcel_index(parcels: np.ndarray) -> shapely.STRtree:
    """The STR-tree :func:`overlay_layer` queries: the parcels by position, missing and empty ones left out."""
    parcels = np.asarray(parcels, dtype=object)
    usable = ~(shapely.is_missing(parcels) | shapely.is_empty(parcels))
    return shapely.STRtree(np.where(usable, parcels, None))


def _by_piece(predicate, pieces: np.ndarray, parcels: np.ndarray, piece_idx: np.ndarray,
              parcel_idx: np.ndarray, sel: np.ndarray, threads: int | None) -> np.ndarray:
    """``predicate(piece, parcel)`` for the pairs ``sel``, each piece's pairs in one thread (prepared pieces)."""
    if not len(sel):
        return np.zeros(0, bool)
    order = np.argsort(piece_idx[sel], kind="stable")
    at = sel[order]
    out = np.empty(len(sel), bool)
    out[order] = in_threads(predicate, pieces[piece_idx[at]], parcels[parcel_idx[at]], threads=threads,
                            together=piece_idx[at])
    return out


def ground_overlap(overlay: LayerOverlay, min_features: int = 2) -> np.ndarray:
    """Overlap area per parcel (aligned to the parcels), overlapped ground counted once.

    Parcels touched by ``min_features`` or more distinct features are measured
    on the union of their pieces; the rest are plain sums (pieces of one
    feature never overlap).
    """
    n = overlay.parcel_count
    pairs = overlay.pairs
    total = np.bincount(pairs["parcel"].to_numpy(), weights=pairs["overlap_m2"].to_numpy(), minlength=n)
    if len(pairs) == 0:
        return total
    distinct = pairs.groupby("parcel")["feature"].nunique()
    multi = distinct.index[distinct.to_numpy() >= min_features].to_numpy()
    if len(multi) and not overlay.has_pieces:
        raise ValueError("ground_overlap needs the overlap pieces: overlay with keep_pieces=True")
    if len(multi):
        unions = ground_pieces(overlay, multi)
        total[multi] = shapely.area(unions)
    return total


def ground_pieces(overlay: LayerOverlay, parcels: np.ndarray | None = None) -> np.ndarray:
    """The union of each parcel's overlap pieces, for the parcels asked for (default: all with overlap)."""
    pairs = overlay.pairs
    assert overlay.has_pieces, "overlay with keep_pieces=True"
    if parcels is None:
        parcels = np.unique(pairs["parcel"].to_numpy())
    hit, unions = union_kept_pieces(overlay, np.isin(pairs["parcel"].to_numpy(), parcels))
    out = np.empty(len(parcels), dtype=object)
    out[np.searchsorted(hit, parcels)] = unions
    return out


def union_kept_pieces(overlay: LayerOverlay, sel: np.ndarray, block_parcels: int = 2_500,
                      threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`union_by_parcel` of the kept pieces of the pairs ``sel`` (a mask), made a block of
    parcels at a time (a county's 300k survey pieces are never all geometries at once).

    Two blocks are made at once, one per thread: a block's own steps (decoding stored
    pieces, clipping, unioning) each wait for their slowest chunk and decode in one
    thread, so one block of 15 000 at a time left a core idle a third of the time (the
    bench county's agricultural conflict pieces: 1.3–1.7 s → 1.2–1.3 s, for 30 % more
    CPU; blocks of 2 500 hold less at once than one of 15 000 did). Blocks are
    independent, each parcel's pieces are in one, and the results keep the blocks' order.

    >>> ov = overlay_layer(shapely.box(np.arange(3) * 20.0, 0, np.arange(3) * 20.0 + 10, 10),
    ...                    np.array([shapely.box(5, 5, 65, 20), shapely.box(-5, -5, 25, 8)]), keep_pieces=True)
    >>> hit, unions = union_kept_pieces(ov, np.ones(len(ov.pairs), bool), block_parcels=1)
    >>> hit.tolist(), shapely.area(unions).tolist()
    ([0, 1, 2], [90.0, 75.0, 50.0])
    """
    parcel = overlay.pairs["parcel"].to_numpy()
    idx = np.flatnonzero(sel)
    idx = idx[np.argsort(parcel[idx], kind="stable")]   # each parcel's pairs in one run
    _, starts = np.unique(parcel[idx], return_index=True)
    bounds = np.r_[starts[::block_parcels], len(idx)]
    blocks = [idx[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    def block_union(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return union_by_parcel(parcel[block], overlay.piece_geoms(block))

    workers = min(threads or 2, os.cpu_count() or 1, len(blocks))
    made = run_chunks(block_union, blocks, workers) if workers > 1 else [block_union(b) for b in blocks]
    return (np.concatenate([np.array([], np.int64), *(hit for hit, _ in made)]),
            np.concatenate([np.array([], dtype=object), *(union for _, union in made)]))


def union_by_parcel(parcel: np.ndarray, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of each parcel's geometries: (sorted distinct parcels, one geometry each).

    A parcel with one piece keeps it as is; the others are unioned row-wise in
    C, in chunks spread over threads (GEOS frees the GIL).

    >>> hit, g = union_by_parcel(np.array([3, 1, 3]), np.array([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6),
    ...                                                         shapely.box(1, 0, 2, 1)]))
    >>> hit.tolist(), [float(x.area) for x in g]
    ([1, 3], [1.0, 2.0])
    """
    order = np.argsort(parcel, kind="stable")
    parcel, geoms = parcel[order], geoms[order]
    hit, starts, counts = np.unique(parcel, return_index=True, return_counts=True)
    out = np.empty(len(hit), dtype=object)
    single = counts == 1
    out[single] = geoms[starts[single]]
    multi = np.flatnonzero(~single)
    # Each parcel's pieces go in one row of a None-padded 2-D array and shapely.union_all(axis=1)
    # unions every row in C (a Python call per parcel was most of the time). Rows are grouped
    # by piece count in powers of two, so padding at most doubles the array.
    width_class = np.ceil(np.log2(counts[multi])).astype(int) if len(multi) else np.array([], int)
    for wc in np.unique(width_class):
        rows = multi[width_class == wc]
        width = int(counts[rows].max())
        table = np.full((len(rows), width), None, dtype=object)
        row_of = np.repeat(np.arange(len(rows)), counts[rows])
        col_of = np.arange(len(row_of)) - np.repeat(np.cumsum(counts[rows]) - counts[rows], counts[rows])
        table[row_of, col_of] = geoms[np.repeat(starts[rows], counts[rows]) + col_of]
        out[rows] = in_threads(lambda t: shapely.union_all(t, axis=1), table)
    return hit, out


def class_areas(overlay: LayerOverlay, feature_class: np.ndarray) -> pd.DataFrame:
    """Overlap area per (parcel, class) — long format, sorted by parcel then class.

    ``feature_class`` gives each layer feature's class (a code or a category).
    """
    pairs = overlay.pairs
    classes = np.asarray(feature_class, dtype=object)[pairs["feature"].to_numpy()]
    frame = pd.DataFrame({"parcel": pairs["parcel"].to_numpy(), "class": classes,
                          "overlap_m2": pairs["overlap_m2"].to_numpy()})
    out = frame.groupby(["parcel", "class"], sort=True, as_index=False)["overlap_m2"].sum()
    return out
