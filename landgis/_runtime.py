"""What a run needs from its process: memory given back to the OS, and progress shown.

Nothing here knows about parcels: :func:`release_free_memory` and :func:`tune_malloc`
talk to glibc and Arrow, :class:`Progress` to a callback, tqdm or nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

__all__ = ["ProgressArg", "Progress", "tune_malloc", "release_free_memory", "MMAP_THRESHOLD"]

#: What ``progress=`` accepts: a callback given each stage's name, ``True``
#: (always a bar), ``False`` (never) or ``None`` (a bar in Jupyter or a terminal).
ProgressArg = Callable[[str], None] | bool | None


#: blocks of at least this size are mapped from the OS and given back when freed (see :func:`tune_malloc`)
MMAP_THRESHOLD = 4 << 20
_malloc_tuned = False


def tune_malloc() -> None:
    """Make glibc give large freed blocks straight back to the operating system (once per process).

    glibc raises its mmap threshold each time a mapped block is freed (up to 32 MB), so
    a screening's NumPy temporaries of a few MB soon come from the heap, where the
    worker threads' arenas keep them after use. A fixed threshold of 4 MiB keeps them
    mapped, for a little more system time (bench/MEASUREMENTS.md). An explicit
    ``MALLOC_MMAP_THRESHOLD_`` in the environment is left as it is; other C libraries
    are left alone.
    """
    global _malloc_tuned
    if _malloc_tuned or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    _malloc_tuned = True
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    M_MMAP_THRESHOLD = -3
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_free_memory() -> None:
    """Hand memory freed by Python and GEOS back to the operating system (glibc only; else nothing).

    glibc keeps freed small blocks (a county's 450k survey polygons) in its heap, and
    Arrow's pool keeps the writers' buffers, so the next stage would otherwise stack on
    top of memory no one uses.
    """
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


class Progress:
    """Stage-by-stage progress: the caller's callback, a tqdm bar, or nothing.

    Called with each stage's name as it starts; ``close()`` completes the bar.
    """

    def __init__(self, progress: ProgressArg, total: int, desc: str):
        self._callback = progress if callable(progress) else None
        self._bar = None
        self._started = False
        if self._callback is None and (progress is True or (progress is None and _interactive())):
            self._bar = _tqdm()(total=total, desc=desc, unit="step", leave=True,
                                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                           "[{elapsed}]{postfix}")

    def __call__(self, name: str) -> None:
        if self._callback is not None:
            self._callback(name)
        elif self._bar is not None:
            if self._started:
                if self._bar.n + 1 >= self._bar.total:  # more stages than foreseen (optional layers)
                    self._bar.total = self._bar.n + 2
                self._bar.update(1)
            self._started = True
            self._bar.set_postfix_str(name)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._bar.total - self._bar.n)
            self._bar.set_postfix_str("done")
            self._bar.close()
            self._bar = None


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None else None  # type: ignore[attr-defined]
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _interactive() -> bool:
    if _in_jupyter():
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _tqdm():
    """tqdm.auto's choice, without its warning when ipywidgets is missing (then text)."""
    if _in_jupyter():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm
            return tqdm
        except ImportError:
            pass
    from tqdm.std import tqdm
    return tqdm
