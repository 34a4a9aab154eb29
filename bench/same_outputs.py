"""Prove a refactor left landgis's outputs byte-identical: screen the same inputs with two code trees.

    python -m bench.same_outputs                    # working tree vs HEAD (scale 0.1)
    python -m bench.same_outputs --against HEAD~1   # vs the parent commit
    python -m bench.same_outputs --tree PATH --scale 0.2   # another checkout as the "current" side

REV is checked out by ``git worktree add --detach`` into a temp folder (removed at the end, even
on failure). The bench county is generated once by this tree's ``bench/generate.py``. Each side
runs ``python -m landgis.cli screen PROJECT --out OUT --overwrite`` with ``PYTHONPATH`` and cwd set
to its tree (the tree ``import landgis`` picks is checked) on its ``data/sample_county.toml`` and
on the bench project. Compared per project: ``inventory.csv`` byte for byte; the ``parcels`` and
``conflicts`` layers of ``screening.gpkg`` (attributes by ``assert_frame_equal(check_exact=True)``,
geometries by WKB, CRS); sheet names and cell values of ``inventory.xlsx``. ``map.html`` may embed
a date: only its sizes are shown. Exit 0 only if everything compared is identical, else 1.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import shapely

HERE = Path(__file__).resolve().parents[1]
LAYERS = ("parcels", "conflicts")


class RunFailed(Exception):
    pass


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(HERE), *args], check=True, capture_output=True, text=True).stdout.strip()


def _py(tree: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True)


def screen(tree: Path, project: Path, out: Path) -> float:
    """Run ``landgis screen`` of ``tree`` on ``project`` into ``out``; seconds taken."""
    who = _py(tree, "-c", "import landgis; print(landgis.__file__)")
    if who.returncode or not Path(who.stdout.strip()).resolve().is_relative_to(tree.resolve()):
        raise RunFailed(f"import landgis in {tree} gave {who.stdout.strip() or '?'}\n{who.stderr[-2000:]}")
    t0 = time.perf_counter()
    done = _py(tree, "-m", "landgis.cli", "screen", str(project), "--out", str(out), "--overwrite")
    if done.returncode:
        raise RunFailed(f"landgis screen {project} in {tree} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def compare_csv(a: Path, b: Path) -> tuple[bool, str]:
    x, y = a.read_bytes(), b.read_bytes()
    if x == y:
        return True, f"{len(x)} bytes, sha256 {hashlib.sha256(x).hexdigest()[:12]}"
    xl, yl = x.splitlines(keepends=True), y.splitlines(keepends=True)
    for i, (p, q) in enumerate(zip(xl, yl), 1):
        if p != q:
            head, fp, fq = (next(csv.reader([t.decode("utf-8-sig", "replace")])) for t in (xl[0], p, q))
            col = next((k for k, (u, v) in enumerate(zip(fp, fq)) if u != v), None)
            if i == 1 or col is None or len(fp) != len(fq):
                p, q = (t[:200].decode("utf-8", "replace") for t in (p, q))
                return False, f"line {i}: {p!r} vs {q!r}"
            return False, f"line {i} ({fp[0]}), column {head[col]}: {fp[col]!r} vs {fq[col]!r}"
    return False, f"{len(xl)} vs {len(yl)} lines (one is a prefix of the other)"


def compare_gpkg(a: Path, b: Path, layer: str) -> tuple[bool, str]:
    present = [layer in set(pyogrio.list_layers(p)[:, 0]) for p in (a, b)]
    if not all(present):
        return not any(present), f"layer present: {present[0]} (current) vs {present[1]} (against)"
    x, y = (pyogrio.read_dataframe(p, layer=layer) for p in (a, b))
    if list(x.columns) != list(y.columns):
        return False, f"columns {list(x.columns)} vs {list(y.columns)}"
    if len(x) != len(y):
        return False, f"{len(x)} vs {len(y)} features"
    if x.crs != y.crs:
        return False, f"CRS {x.crs} vs {y.crs}"
    gx, gy = shapely.to_wkb(x.geometry.values), shapely.to_wkb(y.geometry.values)
    if list(gx) != list(gy):
        row = next(i for i, (p, q) in enumerate(zip(gx, gy)) if p != q)
        return False, f"geometry (column {x.geometry.name}) differs, first at row {row}"
    ax, ay = (pd.DataFrame(f.drop(columns=f.geometry.name)) for f in (x, y))
    try:
        pd.testing.assert_frame_equal(ax, ay, check_exact=True)
    except AssertionError as err:
        bad = next((c for c in ax.columns if not ax[c].equals(ay[c]) or ax[c].dtype != ay[c].dtype), None)
        if bad is None:
            return False, str(err).splitlines()[0]
        rows = (ax[bad].astype(object) != ay[bad].astype(object)) & ~(ax[bad].isna() & ay[bad].isna())
        at = f", first at row {rows.to_numpy().nonzero()[0][0]}" if rows.any() else \
            f" (dtype {ax[bad].dtype} vs {ay[bad].dtype})"
        return False, f"column {bad} differs{at}"
    return True, f"{len(x)} features x {len(x.columns)} columns"


def compare_xlsx(a: Path, b: Path) -> tuple[bool, str]:
    books = [openpyxl.load_workbook(p, read_only=True, data_only=True) for p in (a, b)]
    x, y = ({ws.title: list(ws.iter_rows(values_only=True)) for ws in bk.worksheets} for bk in books)
    for bk in books:
        bk.close()
    if list(x) != list(y):
        return False, f"sheets {list(x)} vs {list(y)}"
    for name in x:
        for i, (p, q) in enumerate(zip(x[name], y[name]), 1):
            if p != q:
                k = next((k for k, (u, v) in enumerate(zip(p, q)) if u != v), min(len(p), len(q)))
                u, v = (r[k] if k < len(r) else "(no cell)" for r in (p, q))
                head = x[name][0][k] if k < len(x[name][0]) else "?"
                cell = f"{openpyxl.utils.get_column_letter(k + 1)}{i}"
                return False, f"sheet {name!r} cell {cell} ({head}): {u!r} vs {v!r}"
        if len(x[name]) != len(y[name]):
            return False, f"sheet {name!r}: {len(x[name])} vs {len(y[name])} rows"
    return True, f"{len(x)} sheets, {sum(map(len, x.values()))} rows"


def compare(a: Path, b: Path) -> list[tuple[str, bool | None, str]]:
    """(file, identical? — None when not decisive, detail) for the outputs in folders ``a`` and ``b``."""
    rows: list[tuple[str, bool | None, str]] = []
    checks = [("inventory.csv", compare_csv)]
    checks += [(f"screening.gpkg:{layer}", lambda p, q, lyr=layer: compare_gpkg(p, q, lyr)) for layer in LAYERS]
    checks += [("inventory.xlsx", compare_xlsx)]
    for label, check in checks:
        name = label.split(":")[0]
        pa, pb = a / name, b / name
        if not (pa.exists() and pb.exists()):
            rows.append((label, False, f"missing: current {pa.exists()}, against {pb.exists()}"))
            continue
        try:
            rows.append((label, *check(pa, pb)))
        except Exception as err:  # noqa: BLE001 - a file one side wrote but cannot be read is a difference
            rows.append((label, False, f"{type(err).__name__}: {err}"))
    ma, mb = a / "map.html", b / "map.html"
    if ma.exists() and mb.exists() and ma.read_bytes() == mb.read_bytes():
        rows.append(("map.html", None, f"identical, {ma.stat().st_size} bytes"))
    else:
        sizes = [p.stat().st_size if p.exists() else "missing" for p in (ma, mb)]
        rows.append(("map.html", None, f"not compared: {sizes[0]} vs {sizes[1]} bytes"))
    extra = sorted({p.name for p in a.iterdir()} ^ {p.name for p in b.iterdir()})
    if extra:
        rows.append(("(file set)", False, f"only on one side: {extra}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.same_outputs", description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", default="HEAD", metavar="REV", help="git revision to compare with (default HEAD)")
    ap.add_argument("--scale", type=float, default=0.1, help="bench county scale (default 0.1)")
    ap.add_argument("--tree", type=Path, default=HERE, metavar="PATH",
                    help=f"the 'current' code tree (default this checkout, {HERE})")
    args = ap.parse_args(argv)
    from bench.generate import generate

    current = args.tree.resolve()
    try:
        sha = _git("rev-parse", "--verify", f"{args.against}^{{commit}}")
    except subprocess.CalledProcessError:
        print(f"FAILED: {args.against!r} is not a commit of {HERE}", file=sys.stderr)
        return 1
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="landgis-same-") as tmp_name:
        tmp = Path(tmp_name)
        worktree = tmp / "against"
        _git("worktree", "add", "--detach", str(worktree), sha)
        try:
            t0 = time.perf_counter()
            generate(args.scale, tmp / "bench")
            print(f"bench county at scale {args.scale} generated in {time.perf_counter() - t0:.1f} s")
            projects = {"sample": lambda tree: tree / "data" / "sample_county.toml",
                        f"bench-{args.scale:g}": lambda tree: tmp / "bench" / "project.toml"}
            results: list[tuple[str, str, bool | None, str]] = []
            for name, project in projects.items():
                outs = {side: tmp / "out" / name / side for side in ("current", "against")}
                for side, tree in (("current", current), ("against", worktree)):
                    secs = screen(tree, project(tree), outs[side])
                    print(f"{name:>12}  {side:<8} {secs:6.1f} s  ({tree})")
                results += [(name, *row) for row in compare(outs["current"], outs["against"])]
        except RunFailed as err:
            print(f"FAILED: {err}", file=sys.stderr)
            return 1
        finally:
            gone = subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(worktree)],
                                  capture_output=True, text=True)
            if gone.returncode:
                print(f"warning: git worktree remove {worktree}: {gone.stderr.strip()}", file=sys.stderr)

    print(f"\n{current}  vs  {args.against} ({sha[:10]})\n")
    mark = {True: "identical", False: "DIFFERS", None: "-"}
    width = max(len(r[1]) for r in results)
    for project, label, same, detail in results:
        print(f"{project:<12} {label:<{width}}  {mark[same]:<9}  {detail}")
    ok = all(same is not False for _, _, same, _ in results)
    print(f"\n{'IDENTICAL' if ok else 'DIFFERENT'} outputs; {time.perf_counter() - t_start:.0f} s in all")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
