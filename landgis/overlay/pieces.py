"""Overlap pieces as geometries: a parcel's ground under a layer, unioned per parcel, for the conflicts layer."""

from __future__ import annotations

import os

import numpy as np
import shapely

from landgis.overlay.table import LayerOverlay
from landgis.threads import in_threads, run_chunks

__all__ = ["ground_overlap", "ground_pieces", "union_kept_pieces", "union_by_parcel"]


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
    thread, so one large block at a time leaves a core idle part of the time (small
    blocks also hold less at once). Blocks are
    independent, each parcel's pieces are in one, and the results keep the blocks' order.

    >>> from landgis.overlay import overlay_layer
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
