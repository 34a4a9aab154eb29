"""The ``landgis`` command line: a thin shell over the library.

``landgis init FOLDER``, ``landgis screen PROJECT.toml --out DIR``, ``landgis validate PROJECT.toml``,
``landgis rules [--profile X]``, ``landgis compare BEFORE AFTER``, ``landgis map OUT``. Bad input exits non-zero with one clear
message and no traceback (``--debug`` shows it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

import click

from landgis import __version__
from landgis.errors import InputError, LandgisError

log = logging.getLogger("landgis")


class _Ctx:
    def __init__(self, debug: bool, verbose: int, quiet: bool):
        self.debug, self.verbose, self.quiet = debug, verbose, quiet


def _console_never_fails() -> None:
    """A console or redirect in a code page without some character (GBK has no ²) gets ``?`` for it:
    the outputs are written whatever the console, so printing them must not fail the run."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (getattr(stream, "errors", "") or "strict") == "strict":
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # a stream already written to in another way: leave it
                pass


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("landgis")
    root.handlers[:] = [handler]
    root.setLevel(level)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``finally`` runs (temporary outputs removed)."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def _run(ctx: _Ctx, func):
    """Run ``func``; landgis errors become one message and exit code 2, Ctrl-C 130, SIGTERM 143.

    SIGTERM is landgis's only while ``func`` runs: the caller's handler is restored after (a test
    runner or an application that calls the CLI in its own process keeps its own).
    """
    before = None
    with contextlib.suppress(ValueError):  # not the main thread (an embedding caller): leave signals alone
        before = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with _signals_never_lost():
            return _run_inside(ctx, func)
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)


@contextlib.contextmanager
def _signals_never_lost():
    """A signal whose exception Python had to ignore is delivered again.

    Python runs a signal handler between any two bytecodes of the main thread, also inside a
    garbage-collection callback (a weakref's ``remove``), where an exception cannot propagate:
    it is printed as "Exception ignored" and the run went on as if no SIGTERM or Ctrl-C had come
    (seen: a red-line batch finished after SIGTERM). Such an exception reaches
    ``sys.unraisablehook``; here it sends the signal again a moment later, when the main thread
    is past the callback.
    """
    previous = sys.unraisablehook

    def redeliver(unraisable) -> None:
        exc = unraisable.exc_value
        if isinstance(exc, (Terminated, KeyboardInterrupt)):
            again = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
            threading.Timer(0.05, os.kill, (os.getpid(), again)).start()
            return
        previous(unraisable)

    sys.unraisablehook = redeliver
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _run_inside(ctx: _Ctx, func):
    if ctx.debug:
        return func()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # warnings reach the user as problems, once
            return func()
    except InputError as exc:
        click.echo(f"landgis: {exc}", err=True)
        sys.exit(2)
    except LandgisError as exc:
        click.echo(f"landgis: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("landgis: interrupted; no output was left half-written", err=True)
        sys.exit(130)
    except Terminated:
        click.echo("landgis: terminated (SIGTERM); no output was left half-written", err=True)
        sys.exit(143)
    except Exception as exc:  # noqa: BLE001 - last resort: say what, not a traceback
        click.echo(f"landgis: unexpected error {type(exc).__name__}: {exc}\n"
                   "Run again with --debug for the traceback, and report it.", err=True)
        sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="landgis")
@click.option("--debug", is_flag=True, help="Show tracebacks and warnings as they happen.")
@click.option("-v", "--verbose", count=True, help="More progress detail (-vv for debug logging).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.pass_context
def main(click_ctx: click.Context, debug: bool, verbose: int, quiet: bool) -> None:
    """Screen rural collective construction parcels for market entry (集体经营性建设用地入市)."""
    _console_never_fails()
    _setup_logging(verbose, quiet)
    click_ctx.obj = _Ctx(debug, verbose, quiet)


@main.command()
@click.argument("project", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--overwrite", is_flag=True, help="Replace the outputs of an earlier run in --out.")
@click.option("--profile", default=None, help="Override the project's profile (name or file).")
@click.option("--strict", is_flag=True, help="Treat input warnings (guessed CRS, datum shift…) as errors.")
@click.option("--no-map", is_flag=True, help="Skip map.html.")
@click.option("--compare-with", "compare_with", type=click.Path(path_type=Path), default=None, metavar="EARLIER",
              help="Also write changes.csv: the parcels whose verdict, reasons or measures differ from the "
                   "screening EARLIER (its --out folder, inventory.csv or screening.gpkg; with --overwrite, "
                   "--out itself: the screening being replaced).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="dask: screen spatial tiles on a dask.distributed cluster (pip install 'landgis[dask]').")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="With --engine dask: the scheduler (tcp://host:8786); default a local cluster.")
@click.pass_obj
def screen(ctx: _Ctx, project: Path, out: Path, overwrite: bool, profile: str | None, strict: bool,
           no_map: bool, compare_with: Path | None = None, engine: str = "local",
           scheduler: str | None = None) -> None:
    """Screen every parcel of PROJECT and write the inventory, GeoPackage and map to --out."""
    from landgis import io
    from landgis.comparison import compare, read_screening_table
    from landgis.screening import screen as run_screen

    def work():
        io.check_output_dir(out, overwrite)  # fail before any work is done
        # read now: the earlier screening may be the one in --out that this run replaces
        earlier = read_screening_table(compare_with) if compare_with is not None else None
        if earlier is not None:
            earlier.attrs["label"] = f"earlier ({earlier.attrs['label']})"
        t0 = time.perf_counter()

        def step(name: str) -> None:
            if not ctx.quiet:
                click.echo(f"[{time.perf_counter() - t0:6.1f}s] {name}…", err=True)

        options = {"client": scheduler} if engine == "dask" else {}
        result = run_screen(project, profile=profile, strict=strict, progress=step, engine=engine, **options)
        changes = None
        if earlier is not None:
            step("compare")
            changes = compare(earlier, result)
        step("write outputs")
        result.write(out, overwrite=overwrite, map_html=not no_map, changes=changes)
        if not ctx.quiet:
            for p in result.problems:
                if p.severity == "warning" or (ctx.verbose and p.severity == "info"):
                    click.echo(f"  {p}", err=True)
            click.echo(result.text_summary())
            if changes is not None:
                click.echo(changes.text_summary())
                click.echo(f"{len(changes.changes)} changed parcels in {out / 'changes.csv'}")
            click.echo(f"outputs in {out} ({time.perf_counter() - t0:.1f} s)")

    _run(ctx, work)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="The project file to write (default: FOLDER/landgis.toml); never replaced.")
@click.option("--profile", default="national", show_default=True, help="The rule profile the project names.")
@click.pass_obj
def init(ctx: _Ctx, folder: Path, out: Path | None, profile: str) -> None:
    """Write a commented project file for a delivery FOLDER (三调, 二调, 三区三线, 村庄规划, 宗地…)."""
    from landgis.scaffold import init_project

    def work():
        target, text = init_project(folder, out, profile)
        roles = [line.split("]")[0].removeprefix("[layers.") for line in text.splitlines()
                 if line.startswith("[layers.") and not line.endswith(".fields]")]
        missing = [line.split("]")[0].removeprefix("# [layers.") for line in text.splitlines()
                   if line.startswith("# [layers.")]
        click.echo(f"wrote {target}: {len(roles)} layers ({', '.join(roles)})")
        if missing:
            click.echo(f"not found: {', '.join(missing)} (what the screening then does not check is in the file)")
        ties = text.count("# also seen: SAME SCORE")
        if ties:
            click.echo(f"check: {ties} layer(s) scored as high as the one chosen (SAME SCORE in the file)")
        click.echo(f"next: read it, then landgis validate {target}")

    _run(ctx, work)


@main.command()
@click.argument("project", type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Exit non-zero on warnings too.")
@click.pass_obj
def validate(ctx: _Ctx, project: Path, strict: bool) -> None:
    """Check PROJECT's inputs and print every problem; screen nothing."""
    from landgis.validate import validate_project

    def work():
        problems = validate_project(project)
        for p in problems:
            click.echo(str(p))
        errors = [p for p in problems if p.severity == "error"]
        warns = [p for p in problems if p.severity == "warning"]
        click.echo(f"{len(errors)} error(s), {len(warns)} warning(s)")
        if errors or (strict and warns):
            sys.exit(2)

    _run(ctx, work)


@main.command()
@click.option("--profile", "profile", default="national", show_default=True,
              help="Profile name or file (a user profile is shown merged with what it extends).")
@click.option("--facts", "show_facts", is_flag=True, help="List the facts rules can test.")
@click.option("--catalogue", is_flag=True,
              help="All built-in profiles side by side as Markdown (what docs/rules.md holds).")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="With --catalogue: write the Markdown to this file instead of printing it.")
@click.pass_obj
def rules(ctx: _Ctx, profile: str, show_facts: bool, catalogue: bool, out: Path | None) -> None:
    """Print each rule of a profile: id, Chinese and English text, source article, outcome."""
    from landgis.catalogue import catalogue_markdown, profile_text
    from landgis.profiles import load_profile
    from landgis.schema import FACT_DOCS

    if out is not None and not catalogue:
        raise click.UsageError("--out goes with --catalogue")

    def work():
        if show_facts:
            for name, doc in FACT_DOCS.items():
                click.echo(f"{name:<28} {doc}")
            click.echo("zoning_<use>_m2, survey_<construction|agricultural|unused|homestead|road>_m2, "
                       "survey_2009_<…>_m2: area by class")
            return
        if catalogue:
            text = catalogue_markdown()
            if out is None:
                click.echo(text, nl=False)
            else:
                from landgis import io

                out.parent.mkdir(parents=True, exist_ok=True)
                with io.written_whole(out) as tmp:  # a failed write leaves the earlier catalogue
                    tmp.write_text(text, encoding="utf-8", newline="\n")
                if not ctx.quiet:
                    click.echo(f"rule catalogue written to {out}", err=True)
            return
        click.echo(profile_text(load_profile(profile)))

    _run(ctx, work)


@main.command("compare")
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Write the parcels that changed to this CSV (UTF-8 with BOM).")
@click.pass_obj
def compare_command(ctx: _Ctx, before: Path, after: Path, out: Path | None) -> None:
    """Compare two screenings: which parcels changed verdict, reasons or measures, and how.

    BEFORE and AFTER are each the --out folder of `landgis screen`, its inventory.csv or
    its screening.gpkg. Parcels are matched by parcel id.
    """
    from landgis.comparison import compare

    def work():
        comparison = compare(before, after)
        click.echo(comparison.text_summary())
        if out is not None:
            if out.is_dir():
                raise LandgisError(f"--out {out} is a folder; give the file to write, e.g. {out / 'changes.csv'}")
            comparison.write(out)
            click.echo(f"{len(comparison.changes)} changed parcels written to {out}")

    _run(ctx, work)


@main.command("map")
@click.argument("screening", type=click.Path(path_type=Path))
@click.option("--project", type=click.Path(path_type=Path), default=None,
              help="The project file for the constraint layers (farmland, red line, UDB, planned use) and rule "
                   "texts; default: the one the screening recorded (screening.json).")
@click.option("--profile", default=None, help="Profile name or file for the rule texts (default: the project's).")
@click.option("--to", "to", type=click.Path(path_type=Path), default=None,
              help="Folder for the maps (default: the screening folder).")
@click.option("--html/--no-html", "want_html", default=True, help="map.html (interactive, works offline).")
@click.option("--overview/--no-overview", "want_overview", default=True, help="overview.png and overview.pdf.")
@click.option("--redline", "redline", is_flag=True, help="redline.pdf: one red-line sheet per parcel.")
@click.option("--parcels", default=None, help="Red-line sheets for these parcel ids (comma-separated); "
                                               "default: every eligible and conditional parcel.")
@click.option("--split", type=click.Choice(["town"]), default=None,
              help="With --redline: one PDF per town (redline-<乡镇>.pdf) instead of one redline.pdf.")
@click.option("--basemap", type=click.Choice(["none", "osm", "tianditu"]), default="none",
              help="Basemap shown when map.html opens.")
@click.option("--tianditu-token", default=None, envvar="TIANDITU_TOKEN", help="天地图 key (or $TIANDITU_TOKEN).")
@click.option("--overwrite", is_flag=True, help="Replace maps already in the folder.")
@click.pass_obj
def map_(ctx: _Ctx, screening: Path, project: Path | None, profile: str | None, to: Path | None, want_html: bool,
         want_overview: bool, redline: bool, parcels: str | None, basemap: str, tianditu_token: str | None,
         overwrite: bool, split: str | None = None) -> None:
    """Redraw the maps of a finished screening (SCREENING is its --out folder) without screening again."""
    from landgis import io, maps

    if split and not (redline or parcels):
        raise click.UsageError("--split goes with --redline")

    def work():
        t0 = time.perf_counter()
        data = maps.read_screening(screening, project=project, profile=profile)
        if not ctx.quiet:
            for note in data.notes:
                click.echo(f"landgis: {note}", err=True)
            if data.project and project is None:
                click.echo(f"landgis: constraint layers from {data.project}, the project the screening recorded",
                           err=True)
        out = to or screening
        if out.exists() and not out.is_dir():
            raise LandgisError(f"{out} is a file; give a folder to draw the maps in (--to)")
        out.mkdir(parents=True, exist_ok=True)
        sheets: dict[str, list[str]] = {}
        if redline or parcels:
            from landgis.maps.redline import sheet_parcels, split_by_town

            ids = [p.strip() for p in parcels.split(",") if p.strip()] if parcels else None
            try:
                wanted = sheet_parcels(data, ids)
            except KeyError as exc:
                raise LandgisError(str(exc.args[0])) from None
            sheets = split_by_town(data, wanted) if split else {"redline.pdf": wanted}
        names = (["map.html"] if want_html else []) + (["overview.png", "overview.pdf"] if want_overview else []) \
            + list(sheets)
        existing = [n for n in names if (out / n).exists()]
        if existing and not overwrite:
            raise LandgisError(f"{out} already holds {', '.join(existing)}; add --overwrite to replace them")
        for name in names:  # each written beside its place and moved there whole: an interruption leaves the last
            with io.written_whole(out / name) as tmp:
                if name == "map.html":
                    maps.web_map(data, basemap=basemap, tianditu_token=tianditu_token).save(tmp)
                elif name.startswith("overview"):
                    maps.overview_map(data, tmp)
                else:
                    batch = maps.redline_sheets(data, tmp, sheets[name], progress=False if ctx.quiet else None)
                    if not ctx.quiet:
                        click.echo(f"{name}: {len(batch.tables)} parcels, {batch.page_count} pages", err=True)
                    if batch.untabled:
                        from landgis.maps.redline import MAX_TABLE_POINTS

                        click.echo(f"landgis: {len(batch.untabled)} parcel(s) have more than "
                                   f"{MAX_TABLE_POINTS:,} boundary points, so their sheets list no "
                                   f"界址点坐标表 (they say so): {', '.join(batch.untabled[:10])}; check their "
                                   "boundaries", err=True)
            if not ctx.quiet:
                click.echo(f"wrote {out / name}", err=True)
        if not ctx.quiet:
            click.echo(f"maps in {out} ({time.perf_counter() - t0:.1f} s)")

    _run(ctx, work)


if __name__ == "__main__":  # pragma: no cover
    main()


@main.command("dossier")
@click.argument("screening", type=click.Path(path_type=Path))
@click.option("--parcel", "parcels", multiple=True, help="A parcel id (repeat for several); default: --eligible.")
@click.option("--eligible", "eligible", is_flag=True, help="Every eligible parcel (the default without --parcel).")
@click.option("--conditional", "conditional", is_flag=True, help="Every conditional parcel as well.")
@click.option("--profile", default=None, help="Profile name or file (default: the one the screening applied).")
@click.option("--to", "to", type=click.Path(path_type=Path), default=None,
              help="Folder for the documents (default: the screening folder).")
@click.option("--docx", "docx", is_flag=True, help="A Word .docx of each too (pip install 'landgis[docx]').")
@click.pass_obj
def dossier(ctx: _Ctx, screening: Path, parcels: tuple[str, ...], eligible: bool, conditional: bool,
            profile: str | None, to: Path | None, docx: bool) -> None:
    """Draft the 入市方案 of parcels of a finished screening: 入市方案-<宗地代码>.pdf each, every item the data
    cannot give left as 【待填：…】 for the bureau."""
    from landgis import maps
    from landgis.maps.dossier import dossiers
    from landgis.profiles import load_profile
    from landgis.provenance import read_record

    def work():
        record = read_record(screening) or {}
        recorded = record.get("profile")
        prof = load_profile(profile or recorded or "national")
        if profile and recorded and load_profile(recorded).id != prof.id:
            # the verdicts, prices and terms in the screening are its profile's: a draft under another would mix them
            raise LandgisError(f"{screening} was screened under profile {load_profile(recorded).id}; its verdicts, "
                               f"prices and terms are that profile's. To draft under {prof.id}, screen again with "
                               f"--profile {profile}")
        data = maps.read_screening(screening, profile=profile)
        if parcels and (eligible or conditional):
            raise click.UsageError("give --parcel, or --eligible/--conditional, not both")
        verdicts = ("eligible",) + (("conditional",) if conditional else ())
        try:
            written = dossiers(data, to or screening, list(parcels) or None, verdicts=verdicts, profile=prof,
                               docx=docx, progress=False if ctx.quiet else None)
        except KeyError as exc:
            raise LandgisError(str(exc.args[0])) from None
        if not ctx.quiet:
            click.echo(f"{len(written)} 入市方案 file(s) (drafts) in {to or screening}")

    _run(ctx, work)
