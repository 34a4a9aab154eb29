"""The result of a screening: the inventory, conflict pieces, summaries, and its outputs.

:class:`ScreeningResult` shows itself in Jupyter, hands out the inventory as a
GeoDataFrame and writes every output the CLI writes (through :mod:`landgis.io`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from landgis import io
from landgis._runtime import Progress, ProgressArg, release_free_memory
from landgis.config import Project
from landgis.errors import Problem
from landgis.inventory import summaries
from landgis.profiles import Profile
from landgis.provenance import RECORD_NAME, write_record
from landgis.rules import SkippedRule
from landgis.schema import VERDICTS
from landgis.supply_plan import plan_summary

if TYPE_CHECKING:
    from landgis.comparison import Comparison

__all__ = ["ScreeningResult"]


@dataclass
class ScreeningResult:
    """Everything a screening produced.

    Attributes
    ----------
    inventory
        GeoDataFrame, one row per input parcel, contract columns first.
    conflicts
        where each fired spatial rule hits each parcel (farmland, red line…).
    profile, project
        what was applied.
    problems
        input problems found (repairs, guesses, warnings), for the record.
    skipped
        rules that could not be checked, and why.
    timings
        seconds per stage.
    facts
        every fact per parcel the rules read (aligned with ``inventory``).
    layers
        the canonical input layers the maps draw (farmland, red line, urban
        development boundary, planned use, admin). The survey layers are not
        kept once screened: at county scale they are the largest layers in
        memory and nothing after screening reads them.
    record
        what the screening read: the project file, the profile and every input file
        with its size, time and SHA-256 (:mod:`landgis.provenance`), written as
        ``screening.json``; None for a result not made by :func:`~landgis.screen`.

    In Jupyter the result displays as a summary: parcels and areas (m², 亩) by
    verdict, the most frequent reasons, legacy land, input problems and
    rules that could not be checked.

    Examples
    --------
    Screen the bundled sample county (its two unrepairable parcels raise a
    :class:`~landgis.errors.GeometryRepairWarning`; they stay in the
    inventory as ``ineligible``/``GEOMETRY`` and are listed in ``problems``):

    >>> import warnings, landgis
    >>> from pathlib import Path
    >>> sample = Path(landgis.__file__).parents[1] / "data" / "sample_county.toml"
    >>> with warnings.catch_warnings(action="ignore", category=landgis.errors.LandgisWarning):
    ...     result = landgis.screen(sample, progress=False)
    >>> result
    <ScreeningResult {'eligible': 286, 'conditional': 27, 'ineligible': 105} profile=guilin>
    >>> row = result.inventory.set_index("parcel_id").loc["450399100004JC00021"]
    >>> row["verdict"], row["reasons"], float(row["farmland_m2"])
    ('ineligible', 'FARMLAND', 300.0)
    >>> [p.features for p in result.problems if p.severity == "warning"][:1]
    ['450399103002JC00013, 450399102003JC00035']
    """

    inventory: gpd.GeoDataFrame
    conflicts: gpd.GeoDataFrame
    profile: Profile
    project: Project
    problems: list[Problem] = field(default_factory=list)
    skipped: list[SkippedRule] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    facts: pd.DataFrame | None = None
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict, repr=False)
    record: dict | None = field(default=None, repr=False)
    #: each parcel's enterable part (parcel_id, enterable_m2, geometry), see :mod:`landgis.enterable`
    enterable: gpd.GeoDataFrame | None = field(default=None, repr=False)

    @property
    def table(self) -> pd.DataFrame:
        """The inventory without geometry: exactly what ``inventory.csv`` holds.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 286, 'conditional': 27, 'ineligible': 105} profile=guilin>
        >>> list(result.table.columns[:6])
        ['parcel_id', 'area_m2', 'area_mu', 'verdict', 'reasons', 'legacy']
        >>> len(result.table) == len(result.inventory) == 418
        True
        """
        return pd.DataFrame(self.inventory.drop(columns="geometry"))

    def summary(self) -> dict[str, pd.DataFrame]:
        """Summary tables, as in the summary sheets of ``inventory.xlsx``.

        Returns
        -------
        dict of DataFrame
            ``by_verdict`` (with the parcels conditional only for want of data), ``by_town``,
            ``by_village``, ``by_planned_use``, ``by_rule`` (parcels per rule id, most frequent
            first), ``by_action`` (parcels per action a conditional parcel needs) and ``legacy``.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 286, 'conditional': 27, 'ineligible': 105} profile=guilin>
        >>> sorted(result.summary())
        ['by_action', 'by_planned_use', 'by_rule', 'by_town', 'by_verdict', 'by_village', 'legacy']
        >>> by_rule = result.summary()["by_rule"]
        >>> dict(zip(by_rule["rule"][:2], by_rule["parcels"][:2]))
        {'PLAN-USE': 75, 'UNAPPROVED': 10}
        """
        return summaries(self.inventory)

    def counts(self) -> dict[str, int]:
        """Parcels per verdict.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 286, 'conditional': 27, 'ineligible': 105} profile=guilin>
        >>> result.counts()
        {'eligible': 286, 'conditional': 27, 'ineligible': 105}
        """
        vc = self.inventory["verdict"].value_counts()
        return {v: int(vc.get(v, 0)) for v in VERDICTS}

    def write(self, out: str | Path, *, overwrite: bool = False, map_html: bool = True,
              progress: ProgressArg = None, changes: Comparison | None = None) -> Path:
        """Write every output ``landgis screen`` writes into the folder ``out``.

        ``inventory.csv``, ``inventory.xlsx``, ``screening.gpkg``, ``screening.json`` (what
        was screened: :mod:`landgis.provenance`), (unless ``map_html=False``) ``map.html``
        and (given ``changes``) ``changes.csv``. Outputs appear only when all are
        complete (written in a temporary folder, then moved); an existing
        screening is replaced only with ``overwrite=True``.

        Parameters
        ----------
        out
            the output folder (created if needed).
        overwrite
            replace the outputs of an earlier screening in ``out``. Those not written
            again (its ``map.html`` when ``map_html=False``, the maps ``landgis map``
            drew) are removed: they would show its verdicts beside this inventory.
        map_html
            also write the interactive map.
        progress
            as for :func:`screen`.
        changes
            a :func:`~landgis.comparison.compare` of an earlier screening with this one,
            written as ``changes.csv`` (the parcels that changed, as ``landgis compare --out``).

        Returns
        -------
        Path
            ``out``.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 286, 'conditional': 27, 'ineligible': 105} profile=guilin>
        >>> import tempfile
        >>> out = result.write(Path(tempfile.mkdtemp()) / "out", map_html=False)
        >>> sorted(p.name for p in out.iterdir())
        ['inventory.csv', 'inventory.xlsx', 'screening.gpkg', 'screening.json', 'supply_plan.csv']
        """
        from landgis.report import write_xlsx

        out = Path(out)
        t0 = time.perf_counter()
        step = Progress(progress, total=3 if map_html else 2, desc="writing")
        try:
            with io.output_dir(out, overwrite=overwrite) as tmp, \
                    ThreadPoolExecutor(1, thread_name_prefix="landgis-write") as pool:
                # two lanes of about equal length on two cores: the GeoPackage, then the
                # spreadsheet, in a thread, while the CSV and the map are made here (a third
                # lane only shares the two cores, and holds more memory at its peak). pyogrio
                # holds the GIL while GDAL writes; a writer that released it was no faster
                # (bench/MEASUREMENTS.md)
                step("screening.gpkg, inventory.xlsx")
                drawn = {"parcels": self.inventory, "conflicts": self.conflicts}
                if self.enterable is not None:
                    drawn["enterable"] = self.enterable
                gpkg = pool.submit(self._timed, "write_gpkg", io.write_gpkg, drawn, tmp / "screening.gpkg")
                table = self.table  # one copy for the csv and the spreadsheet, which only read it
                xlsx = pool.submit(self._timed, "write_xlsx", write_xlsx, self, tmp / "inventory.xlsx", table)
                try:
                    step("inventory.csv")
                    with io.writing(out / "inventory.csv"):
                        io.write_csv(table, tmp / "inventory.csv")
                    with io.writing(out / "supply_plan.csv"):
                        io.write_csv(plan_summary(self.inventory), tmp / "supply_plan.csv")
                    if changes is not None:
                        with io.writing(out / "changes.csv"):
                            changes.write(tmp / "changes.csv")
                    if self.record is not None:
                        with io.writing(out / RECORD_NAME):
                            write_record(self.record, tmp / RECORD_NAME)
                    if map_html:
                        from landgis.maps import web_map
                        step("map.html")
                        with io.writing(out / "map.html"):
                            web_map(self).save(str(tmp / "map.html"))
                finally:
                    wait([gpkg, xlsx])  # never leave the folder (removed on error) while a thread writes in it
                with io.writing(out / "screening.gpkg"):
                    gpkg.result()
                with io.writing(out / "inventory.xlsx"):
                    xlsx.result()
        finally:
            step.close()
        self.timings["write"] = time.perf_counter() - t0
        release_free_memory()
        return out

    def _timed(self, key: str, func: Callable, *args) -> None:
        t = time.perf_counter()
        func(*args)
        self.timings[key] = time.perf_counter() - t

    def explore(self, m=None, *, column: str | None = None, parcels=None, tiles="OpenStreetMap", tooltip=None,
                popup=None, style_kwds: dict | None = None, constraints: bool = True, conflicts: bool = True,
                **kwargs):
        """The screening on a ``folium.Map``, as geopandas' ``GeoDataFrame.explore()`` draws.

        Parcels coloured by verdict with a legend (or by ``column``: ``"town"``,
        ``"planned_use_tag"``…), the constraint layers and the conflict pieces as folium
        layers with a layer control. For composing in Jupyter; ``result.map()`` is the
        briefing page. folium takes Leaflet from a CDN, so this map draws only with a network;
        ``result.map()`` carries its own and works offline.

        Parameters
        ----------
        m
            a ``folium.Map`` to add the layers to (returned); default a new one.
        column
            colour the parcels by this inventory column instead of the verdict.
        parcels
            the parcels to draw: a boolean mask over ``inventory`` or parcel ids; default all.
            Above 5,000 parcels the shapes are simplified to 0.5 m; above 30,000 the call is
            refused, saying how to choose.
        tiles, tooltip, popup, style_kwds, **kwargs
            as for ``GeoDataFrame.explore`` (``tiles=None`` draws no basemap: offline).
        constraints, conflicts
            also draw the constraint layers / the conflict pieces.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 286, 'conditional': 27, 'ineligible': 105} profile=guilin>
        >>> m = result.explore(tiles=None)
        >>> type(m).__name__
        'Map'
        >>> m is result.explore(m, parcels=result.inventory["town"] == "城关镇", column="planned_use_tag")
        True
        """
        from landgis.maps.explore import explore

        return explore(self, m, column=column, parcels=parcels, tiles=tiles, tooltip=tooltip, popup=popup,
                       style_kwds=style_kwds, constraints=constraints, conflicts=conflicts, **kwargs)

    def map(self):
        """The interactive map (a :class:`~landgis.maps.webmap.WebMap`); displays inline in Jupyter.

        Parcels by verdict, the constraint layers and the conflict pieces;
        ``result.map().save("map.html")`` writes it alone.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 286, 'conditional': 27, 'ineligible': 105} profile=guilin>
        >>> m = result.map()
        >>> hasattr(m, "_repr_html_") and hasattr(m, "save")
        True
        """
        from landgis.maps import web_map
        return web_map(self)

    def text_summary(self) -> str:
        """The plain-text summary ``landgis screen`` prints.

        Examples
        --------
        >>> result  # the sample county screened once, as in the ScreeningResult example
        <ScreeningResult {'eligible': 286, 'conditional': 27, 'ineligible': 105} profile=guilin>
        >>> print(result.text_summary().splitlines()[2])
          eligible        286 parcels      701,179.59 m²    1,051.7694 亩
        """
        c = self.counts()
        by = self.summary()["by_verdict"].set_index("verdict")
        lines = [f"{self.project.name} — profile {self.profile.id} ({self.profile.name_zh})",
                 f"{len(self.inventory)} parcels screened{self._parcel_filter()}:"]
        for v in VERDICTS:
            lines.append(f"  {v:<12} {c[v]:>6} parcels  {by.loc[v, 'area_m2']:>14,.2f} m²  "
                         f"{by.loc[v, 'area_mu']:>12,.4f} 亩")
        lacking = int(by.loc["conditional", "data_only_parcels"])
        if lacking:
            lines.append(f"    of which {lacking} conditional only for want of data "
                         f"({by.loc['conditional', 'data_only_mu']:,.4f} 亩): supply it and screen again")
        rules = self.summary()["by_rule"].head(8)
        if len(rules):
            lines.append("most frequent reasons: " + ", ".join(f"{r} ({n})" for r, n in zip(rules["rule"], rules["parcels"], strict=True)))
        for s in self.skipped:
            lines.append(f"not checked: {s.rule} — {s.why}")
        return "\n".join(lines)

    def _parcel_filter(self) -> str:
        """`` (those where = "…")`` when the parcels layer is filtered, else nothing: the count is not the layer's."""
        spec = self.project.layers.get("parcels")
        where = getattr(spec, "where", None)
        return f" (those where = \"{where}\")" if where else ""

    def __repr__(self) -> str:
        return f"<ScreeningResult {self.counts()} profile={self.profile.id}>"

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        from landgis.report import result_html
        return result_html(self)
