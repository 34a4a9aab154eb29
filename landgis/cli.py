"""The ``landgis`` command line: a thin shell over the library.

``landgis screen PROJECT.toml --out DIR``, ``landgis validate PROJECT.toml``,
``landgis rules [--profile X]``. Bad input exits non-zero with one clear
message and no traceback (``--debug`` shows it).
"""

from __future__ import annotations

import logging
import sys
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


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("landgis")
    root.handlers[:] = [handler]
    root.setLevel(level)


def _run(ctx: _Ctx, func):
    """Run ``func``; landgis errors become one message and exit code 2."""
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
    _setup_logging(verbose, quiet)
    click_ctx.obj = _Ctx(debug, verbose, quiet)


@main.command()
@click.argument("project", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--overwrite", is_flag=True, help="Replace the outputs of an earlier run in --out.")
@click.option("--profile", default=None, help="Override the project's profile (name or file).")
@click.option("--strict", is_flag=True, help="Treat input warnings (guessed CRS, datum shift…) as errors.")
@click.option("--no-map", is_flag=True, help="Skip map.html.")
@click.pass_obj
def screen(ctx: _Ctx, project: Path, out: Path, overwrite: bool, profile: str | None, strict: bool,
           no_map: bool) -> None:
    """Screen every parcel of PROJECT and write the inventory, GeoPackage and map to --out."""
    from landgis import io
    from landgis.screening import screen as run_screen

    def work():
        io.check_output_dir(out, overwrite)  # fail before any work is done
        t0 = time.perf_counter()

        def step(name: str) -> None:
            if not ctx.quiet:
                click.echo(f"[{time.perf_counter() - t0:6.1f}s] {name}…", err=True)

        result = run_screen(project, profile=profile, strict=strict, progress=step)
        step("write outputs")
        result.write(out, overwrite=overwrite, map_html=not no_map)
        if not ctx.quiet:
            for p in result.problems:
                if p.severity == "warning" or (ctx.verbose and p.severity == "info"):
                    click.echo(f"  {p}", err=True)
            click.echo(result.text_summary())
            click.echo(f"outputs in {out} ({time.perf_counter() - t0:.1f} s)")

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
@click.option("--profile", "profile", default="national", help="Profile name or file.")
@click.option("--facts", "show_facts", is_flag=True, help="List the facts rules can test.")
@click.pass_obj
def rules(ctx: _Ctx, profile: str, show_facts: bool) -> None:
    """Print each rule of a profile: id, Chinese and English text, source article, outcome."""
    from landgis.facts import FACT_DOCS
    from landgis.profiles import load_profile

    def work():
        if show_facts:
            for name, doc in FACT_DOCS.items():
                click.echo(f"{name:<28} {doc}")
            click.echo("zoning_<use>_m2, survey_<construction|agricultural|unused|homestead|road>_m2, "
                       "survey_2009_<…>_m2: area by class")
            return
        p = load_profile(profile)
        click.echo(f"{p.id} — {p.name_zh} / {p.name_en}\n{p.document}\n")
        for r in p.rules:
            click.echo(f"{r.id:<14} [{r.outcome}] {r.title_zh}\n{'':<14} {r.title_en}\n{'':<14} 依据 {r.source}")
        if p.legacy_categories:
            click.echo("\nlegacy categories (precedence order):")
            for c in p.legacy_categories:
                click.echo(f"{c.id:<14} {c.title_zh}\n{'':<14} 依据 {c.source}")

    _run(ctx, work)


if __name__ == "__main__":  # pragma: no cover
    main()
