"""The output folder: written whole in a temporary folder, then moved in place; never overwritten unasked."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from landgis.errors import GdalWriteError, OutputError

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = ["output_dir", "check_output_dir", "written_whole", "writing", "signals_held", "OUTPUT_NAMES", "DRAWN_NAMES"]


@contextlib.contextmanager
def output_dir(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """A temporary folder to write outputs into, moved into ``out`` on success.

    The destination is checked before any work is done: it must not be a file,
    must not hold landgis outputs unless ``overwrite``, and its parent must be
    writable. On any error (or Ctrl-C) the temporary folder is removed and
    ``out`` is left as it was, so a half-written inventory never looks finished.
    On success, the earlier screening's outputs not written again are removed
    (:func:`_remove_stale`): nothing in ``out`` describes another screening.
    """
    out = Path(out)
    check_output_dir(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _one_run(out), _temporary_folder(out) as tmp:
        yield tmp


@contextlib.contextmanager
def _temporary_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside ``out``, its contents moved into ``out`` whole on success, removed always."""
    with signals_held():
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        # the new set moves in whole: a Ctrl-C or SIGTERM now waits until it has
        with signals_held():
            out.mkdir(exist_ok=True)
            written = sorted(tmp.iterdir())
            _swap_in(written, out, tmp)
            _remove_stale(out, {item.name for item in written})
    finally:
        with signals_held():
            shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(written: list[Path], out: Path, tmp: Path) -> None:
    """Move ``written`` into ``out``, all or nothing.

    The earlier outputs are first moved aside into ``tmp`` (a file another program holds open,
    as Excel holds an inventory.xlsx on Windows, cannot be moved: found here, before anything is
    replaced); then the new ones move in. A failure at any step puts every earlier output back
    and names the file.
    """
    aside = tmp / ".earlier"
    aside.mkdir()
    moved_aside: list[Path] = []
    moved_in: list[Path] = []
    try:
        for item in written:
            target = out / item.name
            if target.exists() or target.is_symlink():
                _move(target, aside / item.name)
                moved_aside.append(item)
        for item in written:
            _move(item, out / item.name)
            moved_in.append(item)
    except OutputError:
        for item in moved_in:  # back as they were: the new ones out, the earlier ones in
            with contextlib.suppress(OSError):
                os.replace(out / item.name, item)
        for item in moved_aside:
            os.replace(aside / item.name, out / item.name)
        raise


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as exc:
        held = isinstance(exc, PermissionError) or getattr(exc, "winerror", None) in (5, 32, 33)
        why = ("it is open in another program (an inventory.xlsx in Excel, a GeoPackage in QGIS): close it"
               if held else exc.strerror or str(exc))
        name = target if target.parent.name != ".earlier" else source
        raise OutputError(f"cannot replace {name}: {why}; nothing was replaced, the earlier outputs are as "
                          "they were") from None


@contextlib.contextmanager
def _one_run(out: Path) -> Iterator[None]:
    """One run at a time into ``out``: a lock file beside it names the run (pid, host, start).

    A second run is refused naming the first; the lock of a run that no longer lives (killed)
    is taken over.
    """
    lock = out.parent / f".{out.name}.landgis-lock"
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            other = _lock_holder(lock)
            if other is not None:
                raise OutputError(f"--out {out} is being written by another landgis run (pid {other['pid']} on "
                                  f"{other['host']}, started {other['started']}); wait for it to finish, or "
                                  "choose another folder") from None
            lock.unlink(missing_ok=True)  # its run no longer lives: taken over
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(me, f)
        break
    try:
        yield
    finally:
        with signals_held():
            lock.unlink(missing_ok=True)


def _lock_holder(lock: Path) -> dict | None:
    """The run a lock file names, if it still lives (on this host); None for a stale or unreadable lock."""
    try:
        holder = json.loads(lock.read_text(encoding="utf-8"))
        pid = int(holder["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if holder.get("host") != socket.gethostname():
        return holder  # another machine's run: its liveness cannot be told from here
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return holder
    return holder


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM held back while the block runs (a move of outputs, a cleanup), delivered after.

    Only the main thread receives them, so only there are they held; elsewhere (or where the
    platform has no signal masks) the block runs as it is.
    """
    hold = getattr(signal, "pthread_sigmask", None)
    if hold is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    before = hold(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        hold(signal.SIG_SETMASK, before)


OUTPUT_NAMES = ("inventory.csv", "inventory.xlsx", "screening.gpkg", "screening.json", "map.html", "changes.csv",
                "supply_plan.csv")


#: the maps ``landgis map`` draws from a screening into its folder
DRAWN_NAMES = ("overview.png", "overview.pdf", "redline.pdf")
#: and those it names after a town (``--split town``)
DRAWN_PATTERNS = ("redline-*.pdf",)


def _drawn(out: Path) -> list[str]:
    """The maps of a screening in ``out``: its fixed names, and the files of the patterns."""
    named = [n for n in (*OUTPUT_NAMES, *DRAWN_NAMES) if (out / n).is_file()]
    return named + sorted(p.name for pattern in DRAWN_PATTERNS for p in out.glob(pattern) if p.is_file())


def _remove_stale(out: Path, written: set[str]) -> list[str]:
    """Remove the outputs of an earlier screening in ``out`` that this one did not write again.

    A map of the earlier screening (``map.html`` when this one ran with ``--no-map``, or
    ``landgis map``'s overviews and red-line sheets) would otherwise sit beside the new
    inventory showing the old verdicts.
    """
    stale = [name for name in _drawn(out) if name not in written]
    for name in stale:
        (out / name).unlink()
    if stale:
        log.warning("removed %s of the earlier screening in %s: they describe it, not this one",
                    ", ".join(stale), out)
    return stale


def check_output_dir(out: Path, overwrite: bool) -> None:
    """Fail early, with the fix, if ``out`` cannot receive the outputs."""
    out = Path(out)
    if out.is_symlink() and not out.exists():
        raise OutputError(f"--out {out} is a symbolic link to {os.readlink(out)}, which does not exist; "
                          "remove the link or choose another folder")
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder; choose another path")
    if out.is_dir():
        existing = _drawn(out)
        if existing and not overwrite:
            raise OutputError(f"--out {out} already holds {', '.join(existing)}; "
                              "pass --overwrite to replace them, or choose another folder")
    parent = out if out.is_dir() else _existing_parent(out)
    try:  # a real probe: os.access says yes to root on read-only file systems
        fd, probe = tempfile.mkstemp(prefix=".landgis-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write to {parent} ({exc.strerror}); choose another --out") from None


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


#: what an errno says of a failed write, in words a user can act on
_WRITE_ERRNOS = {28: "the disk is full (no space left on the device)",
                 27: "the file is larger than this system or account allows (a file-size limit)",
                 122: "the disk quota is used up",
                 5: "an input/output error (a failing disk or network share)",
                 30: "the file system is read-only"}


@contextlib.contextmanager
def writing(target: Path, alone: bool = False) -> Iterator[None]:
    """The block that writes ``target``: a full disk, a size limit, an I/O or GDAL write error in
    it becomes one :class:`~landgis.errors.OutputError` naming ``target`` and what to do.

    ``alone``: ``target`` is replaced by itself (a map), not as one of a set of outputs.
    """
    try:
        yield
    except OutputError:
        raise
    except (OSError, GdalWriteError) as exc:
        errno = getattr(exc, "errno", None)
        why = _WRITE_ERRNOS.get(errno) if errno is not None else None
        if why is None:
            text = str(exc)
            why = ("the disk may be full (GDAL: " + text + ")" if "disk I/O error" in text or "full" in text
                   else text or type(exc).__name__)
        kept = (f"the earlier {target.name} is as it was" if alone
                else "nothing was replaced, the earlier outputs are as they were")
        raise OutputError(f"cannot write {target}: {why}; {kept}: free space or choose another folder, and "
                          "run again") from None


@contextlib.contextmanager
def written_whole(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` to write into, moved onto it only when the write finished.

    An error, Ctrl-C or SIGTERM midway removes the temporary file and leaves ``target`` as it was
    (the earlier map, the earlier red-line sheets), never truncated.
    """
    target = Path(target)
    if target.is_dir():
        raise OutputError(f"{target} is a folder; landgis writes a file there: remove or rename the folder")
    with signals_held(), writing(target, alone=True):
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", suffix=target.suffix, dir=target.parent)
        os.close(fd)
    tmp = Path(name)
    try:
        with writing(target, alone=True):
            yield tmp
            with signals_held():
                os.replace(tmp, target)
    finally:
        with signals_held():
            tmp.unlink(missing_ok=True)
