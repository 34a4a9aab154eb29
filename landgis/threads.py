"""Vectorized shapely (and NumPy) work spread over threads: GEOS and most NumPy kernels free the GIL.

Two cores run two chunks at once; the chunks of one call keep their input order.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import shapely

__all__ = ["in_threads", "is_valid", "query_in_threads", "run_chunks", "thread_chunks"]

_MIN_PAIRS_PER_THREAD = 4000


def is_valid(geoms: Any) -> np.ndarray:
    """``shapely.is_valid``, without touching Python's warning filters.

    ``shapely.is_valid`` runs GEOS inside ``warnings.catch_warnings()`` +
    ``simplefilter("ignore")``, which changes the filters of the whole process, not
    of its thread. Run in a worker thread for as long as a layer's test takes, it
    silenced every warning the main thread gave meanwhile (the CRS guess of a layer
    read without a ``.prj``, seen lost in tests), and its exit put back filters the
    main thread had changed since. GEOS's validity test itself warns about nothing.

    >>> is_valid(np.array([shapely.box(0, 0, 1, 1), shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), None])).tolist()
    [True, False, False]
    """
    return shapely.lib.is_valid(geoms)


def in_threads(func: Callable[..., np.ndarray], *arrays: np.ndarray, threads: int | None = None,
               together: np.ndarray | None = None) -> np.ndarray:
    """``func(*arrays)`` on aligned geometry arrays, in chunks over threads when they are long.

    shapely's vectorized functions release the GIL, so chunks run in parallel.
    ``together`` (sorted keys, one per row) keeps rows with equal keys in one chunk:
    a geometry used in several rows must not be used by two threads at once when it
    is prepared.
    """
    n = len(arrays[0])
    workers = _workers(threads, n)
    if workers <= 1:
        return func(*arrays)
    return np.concatenate(run_chunks(lambda idx: func(*(a[idx] for a in arrays)),
                                      thread_chunks(n, workers * 4, together), workers))


def _workers(threads: int | None, n: int) -> int:
    """Threads worth starting for ``n`` rows: the given count (default CPUs, at most 4), or 1."""
    workers = threads or min(4, os.cpu_count() or 1)
    return workers if n >= 2 * _MIN_PAIRS_PER_THREAD else 1


def run_chunks(func: Callable[[np.ndarray], Any], chunks: list[np.ndarray], workers: int) -> list:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, chunks))


def thread_chunks(n: int, count: int, together: np.ndarray | None = None) -> list[np.ndarray]:
    """``count`` runs of positions ``0..n-1`` of near-equal length; rows with equal ``together`` keys
    (sorted) are never split between two runs.

    >>> [c.tolist() for c in thread_chunks(6, 3, np.array([0, 0, 0, 1, 2, 2]))]
    [[0, 1, 2], [3], [4, 5]]
    """
    bounds = np.linspace(0, n, count + 1).astype(np.int64)
    if together is not None and n:
        starts = np.flatnonzero(np.r_[True, together[1:] != together[:-1]])
        cut = np.searchsorted(starts, bounds[1:-1])
        bounds = np.unique(np.r_[0, np.where(cut < len(starts), starts[np.minimum(cut, len(starts) - 1)], n), n])
    return [np.arange(a, b) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()) if b > a]


def query_in_threads(tree: shapely.STRtree, geoms: np.ndarray, predicate: str | None = None,
                     threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query(geoms, predicate)`` over chunks of ``geoms`` in threads: (input positions, tree positions)."""
    workers = _workers(threads, len(geoms))
    if workers <= 1:
        return tree.query(geoms, predicate=predicate)

    def query(idx: np.ndarray) -> np.ndarray:
        found = tree.query(geoms[idx], predicate=predicate)
        return np.vstack([idx[found[0]], found[1]])

    both = np.concatenate(run_chunks(query, thread_chunks(len(geoms), workers * 4), workers), axis=1)
    return both[0], both[1]
