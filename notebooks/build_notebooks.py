"""Write, execute and save the example notebooks (with their outputs).

    python notebooks/build_notebooks.py          # all notebooks
    python notebooks/build_notebooks.py 02       # those whose name starts with 02

The cells are defined here, once; ``tests/test_notebooks.py`` checks that the
committed ``.ipynb`` files hold exactly these cells and that they execute on
the bundled sample. Outputs are kept small: cells tagged ``no-stored-output``
(the inline web map) are executed but their output is not saved.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
KERNEL = "python3"
STRIP_TAG = "no-stored-output"

SETUP = '''\
import tempfile
import warnings
from pathlib import Path

import pandas as pd

import landgis
from landgis.errors import LandgisWarning

# Every warning landgis raises is also recorded in result.problems, shown below.
warnings.simplefilter("ignore", LandgisWarning)
pd.set_option("display.max_colwidth", 90)

# The bundled sample county, from notebooks/ (or from the repository root).
SAMPLE = next(p for p in (Path("../data/sample_county.toml"), Path("data/sample_county.toml")) if p.exists())
OUT = Path(tempfile.mkdtemp(prefix="landgis-"))   # a scratch folder: nothing is written into the repository
landgis.__version__'''


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(text: str, *tags: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


QUICKSTART = [
    md("""
# 01 · Quickstart: screen the sample county

Screen every parcel of the bundled sample county (桂南县, 418 parcels) with the
`guilin` profile named in its project file, read the result as tables, look at the
map, and write every output `landgis screen` writes. The equivalent command line is

```sh
landgis screen data/sample_county.toml --out out
```
"""),
    code(SETUP),
    md("""
## Screen

`landgis.screen` takes the project file (or a `Project`) and returns a `ScreeningResult`.
A progress bar follows the stages (load, one overlay per layer, rules, inventory). The
result displays as a summary: parcels and areas by verdict in m² and 亩, the most frequent
reasons with their source articles, historical-legacy land and the input problems found.
"""),
    code('''\
result = landgis.screen(SAMPLE)
result'''),
    md("""
## Counts and areas by verdict

`eligible` (可入市), `conditional` (有条件入市: a procedure can cure what fired) and
`ineligible` (不可入市). Areas are planar in the working CRS (CGCS2000 Gauss-Krüger),
1 亩 = 10000/15 m².
"""),
    code('''result.summary()["by_verdict"]'''),
    code('''result.summary()["by_town"]'''),
    md("""
## The most frequent reasons

Each rule that fires on a parcel is listed in its `reasons` (rule ids) and `reasons_zh`
(Chinese title and source article). A parcel can have several.
"""),
    code('''\
titles = {r.id: r.title_zh for r in result.profile.rules}
by_rule = result.summary()["by_rule"]
by_rule.assign(title=by_rule["rule"].map(titles)).head(8)'''),
    md("""
## The inventory is a GeoDataFrame

One row per input parcel, in input order, never dropped; the contract columns first.
"""),
    code('''\
inv = result.inventory
print(type(inv).__name__, len(inv), "parcels, CRS", inv.crs.to_string())
inv[["parcel_id", "town", "area_m2", "area_mu", "verdict", "reasons", "legacy",
     "farmland_m2", "redline_m2", "udb_m2", "planned_use", "survey_class"]].head()'''),
    md("""
## Why is a parcel ineligible?

Filter the table as any GeoDataFrame. Here the ineligible parcels that touch permanent basic
farmland (永久基本农田), with the reasons in Chinese and the overlap behind them.
"""),
    code('''\
farm = inv[(inv["verdict"] == "ineligible") & inv["reasons"].str.contains("FARMLAND")]
farm[["parcel_id", "town", "farmland_m2", "farmland_share", "reasons", "reasons_zh"]]'''),
    code('''print(farm.iloc[0]["parcel_id"], farm.iloc[0]["verdict"])
print(farm.iloc[0]["reasons_zh"].replace("；", "\\n"))'''),
    md("""
Two of the sample's parcels touch farmland only with a 0.5 m² sliver: at or below the
project's tolerance (`[tolerance] min_overlap_m2 = 1.0`) an overlap is reported but never
decisive, so `FARMLAND` does not fire on them (one is ineligible for another reason: its
planned use).
"""),
    code('''\
slivers = inv[(inv["farmland_m2"] > 0) & ~inv["reasons"].str.contains("FARMLAND")]
slivers[["parcel_id", "farmland_m2", "verdict", "reasons"]]'''),
    md("""
## Input problems

Repairs and assumptions are never silent. Here: the working CRS, two self-intersecting parcels
repaired, and two degenerate parcels that could not be repaired (they stay in the inventory as
`ineligible` with reason `GEOMETRY`).
"""),
    code('''pd.DataFrame(result.problems)'''),
    md("""
## The maps

`result.map()` is the briefing page, the `map.html` that `landgis screen` writes: parcels
coloured by verdict, the constraint layers (farmland, red line, urban development boundary)
and the pieces where each parcel conflicts with them, with Leaflet inlined so that it works
offline. It displays inline; its output is not stored in this notebook to keep the
repository small, so run the cell to see it.
"""),
    code('''\
m = result.map()
m''', STRIP_TAG),
    md("""
`result.explore()` gives a `folium.Map` in geopandas' `.explore()` conventions, to compose
with your own layers: parcels by verdict with a legend (or by any `column`), the constraint
layers and the conflict pieces as folium layers. `m=` adds them to a map of your own;
`parcels=` draws some of them; `tiles=None` draws no basemap (offline).
"""),
    code('''\
import folium

fm = folium.Map(tiles=None)
result.explore(fm, parcels=inv["town"] == "城关镇", column="planned_use_tag")
folium.Marker([25.21, 110.2], tooltip="my own layer").add_to(fm)
fm''', STRIP_TAG),
    md("""
## Export

`result.write(folder)` writes what `landgis screen --out folder` writes: `inventory.csv`
(UTF-8 with BOM), `inventory.xlsx` (Chinese headers, summary sheets), `screening.gpkg`
(layers `parcels` and `conflicts`) and `map.html`. An earlier screening is replaced only with
`overwrite=True`.
"""),
    code('''\
out = result.write(OUT / "screening")
pd.DataFrame([(p.name, round(p.stat().st_size / 1024)) for p in sorted(out.iterdir())],
             columns=["file", "KiB"])'''),
    code('''\
csv = pd.read_csv(out / "inventory.csv", dtype={"parcel_id": str, "planned_use": str, "survey_class": str})
assert csv["parcel_id"].tolist() == inv["parcel_id"].tolist()
csv.columns[:11].tolist()'''),
]

CUSTOM = [
    md("""
# 02 · A profile for a new county

Rules are data. A county writes its own profile by extending a built-in one and restating
only what its policy changes. Here a made-up county ("某县") starts from `guilin` and

1. also allows **warehousing (仓储用地)** as a planned use (`PLAN-USE`),
2. treats being inside the **urban development boundary** (城镇开发边界, `UDB`) as a note
   rather than a condition,
3. uses a stricter **sliver tolerance** (0.25 m² instead of 1 m²) in its project file,

and compares the verdicts with the built-in profile.
"""),
    code(SETUP),
    md("""
## The starting point

A `Profile` displays as its rule table; `landgis rules --profile guilin` prints the same with
the policy text, and [docs/rules.md](../docs/rules.md) puts all built-in profiles side by side.
"""),
    code('''\
guilin = landgis.load_profile("guilin")
guilin'''),
    code('''\
from landgis.catalogue import describe_condition

print("PLAN-USE lets through:", guilin.allowed_uses)
print("UDB:", guilin.rule("UDB").outcome, "when", describe_condition(guilin.rule("UDB").when))'''),
    md("""
## Write the profile

A rule with an existing id changes only the keys it gives (`when` is replaced whole);
a new id is appended; `[settings] disable = [...]` removes rules. Unknown keys are refused
with a message naming the key.

The county's reasons cite its own document: `document` names it, each rule's `source` gives
its articles. With a document of its own the profile does not inherit Guilin's articles; a
rule it gives no `source` cites only the national documents it rests on (`national`).
"""),
    code('''\
profile_toml = """
[profile]
id = "my-county"
extends = "guilin"
name_zh = "某县（示例）"
name_en = "An example county"
document = "《某县农村集体经营性建设用地入市管理办法（示例）》"

[settings]
# the planned uses open to market entry: PLAN-USE lets them through, PLAN-PART measures the rest
allowed_uses = ["industrial", "commercial", "warehouse", "mining", "rental_housing"]

[[rules]]
id = "PLAN-USE"
title_zh = "规划用途非工业、商业、仓储、采矿或保障性租赁住房"
title_en = "Planned use is not industrial, commercial, warehousing, mining or affordable rental housing"
source = "第三条"
when = { fact = "planned_use_tag", not_in = "allowed_uses" }

[[rules]]
id = "UDB"
outcome = "note"          # inside the boundary: reported in `notes`, verdict unchanged
source = "第五条"
"""
profile_path = OUT / "my-county.toml"
profile_path.write_text(profile_toml, encoding="utf-8")
mine = landgis.load_profile(profile_path)
print(" → ".join(mine.chain))
print("PLAN-USE lets through:", mine.allowed_uses)'''),
    md("""
Side by side with the profile it extends (the rules whose outcome or title differs), with
the articles each cites in its own document:
"""),
    code('''\
from landgis.catalogue import rules_table

outcome = rules_table([guilin, mine])
title = rules_table([guilin, mine], value="title_zh")
source = rules_table([guilin, mine], value="source")
differ = (outcome["guilin"] != outcome["my-county"]) | (title["guilin"] != title["my-county"])
pd.concat({"outcome": outcome, "source": source}, axis=1)[differ]'''),
    code('''\
for rid in ("PLAN-USE", "FARMLAND"):   # what a reason cites under each profile
    print(rid, "guilin:", guilin.citation(guilin.rule(rid)))
    print(rid, "mine:  ", mine.citation(mine.rule(rid)))'''),
    md("""
## A stricter tolerance, in a copy of the project

The tolerance belongs to the project (`[tolerance] min_overlap_m2`), not to the profile. A
`Project` is a frozen dataclass: `dataclasses.replace` gives a changed copy without touching
the file. (In a project file of its own the county writes `profile = "my-county.toml"` and
`[tolerance] min_overlap_m2 = 0.25`.)
"""),
    code('''\
import dataclasses

project = landgis.load_project(SAMPLE)
strict_project = dataclasses.replace(project, name="某县（示例）", min_overlap_m2=0.25)
project.min_overlap_m2, strict_project.min_overlap_m2'''),
    md("""
## Screen both ways and compare
"""),
    code('''\
base = landgis.screen(project, progress=False)                     # guilin, as the project says
custom = landgis.screen(strict_project, profile=mine, progress=False)
custom'''),
    code('''\
comparison = landgis.compare(base, custom)      # parcel by parcel (``landgis compare OUT_A OUT_B`` on disk)
print(comparison.text_summary())'''),
    md("""
Which parcels changed verdict, and why: the reasons before and after, grouped.
"""),
    code('''\
changed = comparison.changes[comparison.changes["change"] == "verdict"]
(changed.groupby(["verdict_before", "reasons_before", "verdict_after", "reasons_after"])
        .size().rename("parcels").reset_index())'''),
    md("""
## Each change on its own

Screening once per change shows what each decision is worth, in parcels and 亩.
"""),
    code('''\
variants = {
    "allow 仓储 (warehouse)": (project, """
[profile]
id = "warehouse-only"
extends = "guilin"
[settings]
allowed_uses = ["industrial", "commercial", "warehouse", "mining", "rental_housing"]
"""),
    "UDB as a note": (project, """
[profile]
id = "udb-note-only"
extends = "guilin"
[[rules]]
id = "UDB"
outcome = "note"
"""),
    "tolerance 0.25 m²": (strict_project, None),
    "all three (my-county)": (strict_project, mine),
}
rows = []
for label, (proj, prof) in variants.items():
    if isinstance(prof, str):
        path = OUT / f"variant-{len(rows)}.toml"
        path.write_text(prof, encoding="utf-8")
        prof = landgis.load_profile(path)
    r = landgis.screen(proj, profile=prof, progress=False)
    moved = r.inventory["verdict"] != base.inventory["verdict"]
    rows.append({"change": label, **r.counts(), "parcels changed": int(moved.sum()),
                 "亩 changed": round(float(r.inventory.loc[moved, "area_mu"].sum()), 4)})
pd.DataFrame(rows).set_index("change")'''),
    md("""
The stricter tolerance makes the two 0.5 m² farmland slivers decisive:
"""),
    code('''\
custom.inventory.loc[custom.inventory["farmland_m2"].between(0, 1, inclusive="neither"),
                     ["parcel_id", "farmland_m2", "verdict", "reasons"]]'''),
    md("""
## Use it

* In a project file: `profile = "my-county.toml"` (relative to the project file).
* On the command line: `landgis screen PROJECT.toml --profile my-county.toml --out out`, and
  `landgis rules --profile my-county.toml` prints the merged rules with their articles.
"""),
    code('''\
from landgis.catalogue import profile_text

print(profile_text(mine).split("\\n\\n")[0])'''),
]

LEGACY = [
    md("""
# 03 · Historical-legacy land (历史遗留用地)

Construction land that was never approved is not simply ineligible: policies recognise
*historical-legacy* categories that may enter the market after they are dealt with. The
national baseline knows one (L1: formed before 2009, construction land in the 2nd national
land survey 二调, never approved); 台安 (`taian`) recognises four. This notebook finds the
legacy parcels of the sample county under both profiles, shows the evidence for each — the
二调 class under the parcel, the year it was formed, the approval evidence — and where the
2009 boundary of L1 decides.
"""),
    code(SETUP),
    md("""
## The categories

Each profile lists the categories it uses in order of precedence (the first one a parcel
meets is reported); each is a condition over per-parcel facts.
"""),
    code('''\
from landgis.catalogue import describe_condition

rows = []
for name in ("national", "taian"):
    profile = landgis.load_profile(name)
    for rank, cat in enumerate(profile.legacy_categories, 1):
        rows.append({"profile": name, "rank": rank, "category": cat.id, "title": cat.title_zh,
                     "condition": describe_condition(cat.when), "citation": profile.citation(cat)})
pd.DataFrame(rows)'''),
    md("""
## Screen under both profiles
"""),
    code('''\
national = landgis.screen(SAMPLE, profile="national", progress=False)
taian = landgis.screen(SAMPLE, profile="taian", progress=False)
pd.DataFrame({"national": national.counts(), "taian": taian.counts()})'''),
    code('''\
def legacy_of(result):
    return result.inventory["legacy"].fillna("").replace("", "—")

pd.crosstab(legacy_of(national).rename("national"), legacy_of(taian).rename("taian"))'''),
    md("""
## The evidence

For every legacy parcel: when it was formed (`formed_year`, blank when the cadastre does not
say), the dominant 二调 class under it and how much of it was construction land in 2009, the
approval found (none, for legacy land), and `legacy_basis`, the sentence that states why.
"""),
    code('''\
evidence = ["parcel_id", "town", "legacy", "verdict", "reasons", "formed_year", "survey_2009_class",
            "survey_2009_class_name", "survey_2009_construction_m2", "survey_2009_construction_share",
            "approved", "approval_found"]
leg = taian.inventory[taian.inventory["legacy"].fillna("") != ""]
leg[evidence].sort_values(["legacy", "parcel_id"])'''),
    code('''\
for row in leg.sort_values(["legacy", "parcel_id"]).itertuples():
    print(f"{row.parcel_id}  {row.legacy_basis}")'''),
    md("""
Under `national` only L1 exists: the two L4 parcels (L1 land whose illegal use has not been
penalised) are plain L1 there, and the L2 and L3 parcels (formed after 2009) are not legacy
land at all — they are unapproved construction land, or not even construction land in 二调:
"""),
    code('''\
ids = leg["parcel_id"]
cmp = (taian.inventory.loc[taian.inventory["parcel_id"].isin(ids), ["parcel_id", "legacy", "verdict", "reasons"]]
       .merge(national.inventory[["parcel_id", "legacy", "verdict", "reasons"]], on="parcel_id",
              suffixes=("_taian", "_national")))
cmp.sort_values("legacy_taian")'''),
    md("""
## Where the 2009 boundary bites

L1 needs `formed_year < 2009`. Unapproved parcels that were already construction land in 二调
fall on either side of it: formed in 2008 or earlier → L1 (conditional); formed in 2009 →
`UNAPPROVED` (ineligible), although the 二调 evidence is the same. A blank year counts as
before 2009 when 二调 shows construction land (`missing = "fire"`).
"""),
    code('''\
inv = national.inventory
unapproved_built = inv[~inv["approved"].astype(bool) & (inv["survey_2009_construction_m2"] > 1)]
unapproved_built[["parcel_id", "formed_year", "survey_2009_class", "survey_2009_class_name",
                  "legacy", "verdict", "reasons"]].sort_values("formed_year", na_position="first")'''),
    md("""
What if a county drew the line at the end of 2009 instead? A user profile restates L1's
condition (`at_most = 2009`); the two parcels formed in 2009 become legacy land:
"""),
    code('''\
path = OUT / "l1-through-2009.toml"
path.write_text("""
[profile]
id = "l1-through-2009"
extends = "national"
[[legacy]]
id = "L1"
title_zh = "2009年底以前形成、二调为建设用地、尚未取得合法用地手续"
when = { all = [
    { fact = "approved", is = false },
    { fact = "formed_year", at_most = 2009, missing = "fire" },
    { fact = "survey_2009_construction_m2", above = "tolerance" },
] }
""", encoding="utf-8")
through_2009 = landgis.screen(SAMPLE, profile=landgis.load_profile(path), progress=False)
moved = through_2009.inventory["verdict"] != national.inventory["verdict"]
through_2009.inventory.loc[moved, ["parcel_id", "formed_year", "legacy", "verdict", "reasons", "legacy_basis"]]'''),
    md("""
## Approval evidence

A parcel counts as approved by an approval number on the parcel (`PZWH`) or by approved-land
polygons (`pzyd`) covering all of it but the project's tolerance: approval is by area, not by
majority. The part no approval covers (`approval_missing_m2`) is unapproved land, told legacy land
or UNAPPROVED like a parcel with no approval at all. In the sample two parcels without `PZWH` are
only 96 % covered by `pzyd`: not approved.
"""),
    code('''\
inv = taian.inventory
pd.crosstab(inv["approval_source"].replace("", "(none)"), inv["legacy"].fillna("").replace("", "—"))'''),
    code('''\
by_layer = inv[inv["approval_m2"] > 0].copy()
by_layer["covered"] = (by_layer["approval_m2"] / by_layer["area_m2"]).round(3)
by_layer.sort_values("covered")[["parcel_id", "approval_found", "approval_m2", "area_m2", "covered",
                                 "verdict", "reasons"]].head(4)'''),
    md("""
## Export the legacy list

`inventory.xlsx` has a summary sheet (历史遗留用地汇总) and a list (历史遗留用地清单) with
the evidence in Chinese.
"""),
    code('''\
out = taian.write(OUT / "taian", map_html=False, progress=False)
pd.read_excel(out / "inventory.xlsx", sheet_name="历史遗留用地清单").head(10)'''),
]

NOTEBOOKS = {
    "01-quickstart.ipynb": QUICKSTART,
    "02-custom-profile.ipynb": CUSTOM,
    "03-legacy-land.ipynb": LEGACY,
}


def new_notebook(cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.from_dict(dict(c)) for c in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 300) -> float:
    """Run ``nb`` in place from the notebooks folder; returns seconds."""
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, resources={"metadata": {"path": str(HERE)}},
                   record_timing=False).execute()
    return time.perf_counter() - t0


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop the outputs not worth storing (tagged cells), and volatile metadata."""
    for cell in nb.cells:
        if cell.cell_type == "code" and STRIP_TAG in cell.metadata.get("tags", []):
            cell.outputs = []
    nb.metadata.pop("widgets", None)
    return nb


def main(prefixes: list[str]) -> None:
    for name, cells in NOTEBOOKS.items():
        if prefixes and not any(name.startswith(p) for p in prefixes):
            continue
        nb = new_notebook(cells)
        seconds = execute(nb)
        strip(nb)
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        size = (HERE / name).stat().st_size
        print(f"{name}: executed in {seconds:.1f} s, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(sys.argv[1:])
