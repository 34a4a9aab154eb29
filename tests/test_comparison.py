"""Comparing two screenings: planted changes, and the sample under two profiles through real files."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import landgis
from landgis.cli import main
from landgis.comparison import compare
from landgis.errors import LandgisError
from landgis.io import read_inventory

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_county.toml"


def read_changes(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def inventory(rows: list[tuple]) -> pd.DataFrame:
    cols = ["parcel_id", "area_m2", "verdict", "reasons", "legacy", "farmland_m2", "planned_use"]
    return pd.DataFrame(rows, columns=cols)


BEFORE = inventory([
    ("0012", 500.0, "eligible", "", "", 0.0, "1001"),         # leading zeros: an id, not a number
    ("NA", 300.0, "eligible", "", "", 0.0, "1001"),           # "NA" is an id, not a missing value
    ("D", 100.0, "ineligible", "FARMLAND", "", 40.0, "0101"),  # the first of two parcels sharing an id
    ("D", 200.0, "eligible", "", "", 0.0, "1001"),            # the second
    ("R", 250.0, "conditional", "LEGACY", "L2", 0.0, "1001"),
    ("S", 120.004, "eligible", "", "", 0.0, "1001"),
    ("T", 80.0, "eligible", "", "", 0.0, "1001"),
    ("GONE", 90.0, "eligible", "", "", 0.0, "1001"),
])
AFTER = inventory([
    ("0012", 500.0, "ineligible", "FARMLAND;PLAN-USE", "", 12.5, "0101"),
    ("NA", 300.0, "eligible", "", "", 0.0, "1001"),
    ("D", 100.0, "ineligible", "FARMLAND", "", 40.0, "0101"),
    ("D", 200.0, "conditional", "UDB", "", 0.0, "1001"),
    ("R", 250.0, "conditional", "LEGACY", "L3", 0.0, "1001"),
    ("S", 120.001, "eligible", "", "", 0.0, "1001"),           # the same to 0.01 m²: no change
    ("T", 80.01, "eligible", "", "", 0.0, "0801"),            # a measure changed, not the verdict
    ("NEW", 60.0, "eligible", "", "", 0.0, "1001"),
])


def test_planted_changes_are_each_of_their_kind():
    cmp = compare(BEFORE, AFTER)
    assert "town" not in cmp.changes  # neither inventory says where its parcels are
    got = cmp.changes.set_index(["parcel_id", "verdict_before"])
    assert cmp.changes["parcel_id"].tolist() == ["0012", "D", "GONE", "NEW", "R", "T"]
    assert cmp.changes["change"].tolist() == ["verdict", "verdict", "removed", "added", "reasons", "measures"]
    assert cmp.counts() == {"added": 1, "removed": 1, "verdict": 2, "reasons": 1, "measures": 1}
    first = got.loc[("0012", "eligible")]
    assert first["verdict_after"] == "ineligible" and first["rules_added"] == "FARMLAND;PLAN-USE"
    assert first["what_changed"] == ("verdict: eligible → ineligible; reasons: (none) → FARMLAND;PLAN-USE; "
                                     "planned_use: 1001 → 0101; farmland_m2: 0 → 12.5")
    # the second D (not the first) changed: parcels sharing an id are matched in order
    d = got.loc[("D", "eligible")]
    assert d["verdict_after"] == "conditional" and d["rules_added"] == "UDB" and d["area_m2_before"] == 200.0
    assert got.loc[("R", "conditional"), "what_changed"] == "legacy: L2 → L3"
    assert got.loc[("T", "eligible"), "what_changed"] == "planned_use: 1001 → 0801; area_m2: 80 → 80.01"
    gone, new = got.loc[("GONE", "eligible")], cmp.changes.set_index("parcel_id").loc["NEW"]
    assert gone["verdict_after"] == "" and new["verdict_before"] == "" and new["verdict_after"] == "eligible"
    assert cmp.by_rule.to_dict("list") == {"rule": ["FARMLAND", "PLAN-USE", "UDB"], "now_fires": [1, 1, 1],
                                           "no_longer_fires": [0, 0, 0]}
    t = cmp.transitions
    assert t.loc["eligible", "ineligible"] == 1 and t.loc["eligible", "conditional"] == 1
    assert t.loc["eligible", "(absent)"] == 1 and t.loc["(absent)", "eligible"] == 1
    assert t.loc["eligible", "eligible"] == 3  # NA, S, T
    assert int(t.to_numpy().sum()) == 9        # 8 rows before, 8 after, 7 matched


def test_changes_round_trip_through_csv_with_ids_and_codes_as_written(tmp_path):
    from landgis import io

    io.write_csv(BEFORE, tmp_path / "before.csv")
    io.write_csv(AFTER, tmp_path / "after.csv")
    from_files = compare(tmp_path / "before.csv", tmp_path / "after.csv")
    in_memory = compare(BEFORE, AFTER)
    pd.testing.assert_frame_equal(from_files.changes, in_memory.changes)
    written = read_changes(from_files.write(tmp_path / "changes.csv"))
    assert written["parcel_id"].tolist() == ["0012", "D", "GONE", "NEW", "R", "T"]
    assert written["what_changed"].tolist() == in_memory.changes["what_changed"].tolist()


@pytest.fixture(scope="module")
def two_profiles(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        guilin = landgis.screen(SAMPLE, progress=False)
        taian = landgis.screen(SAMPLE, profile="taian", progress=False)
    guilin.write(out / "guilin", map_html=False)
    taian.write(out / "taian", map_html=False)
    return out, guilin.table, taian.table


def test_the_sample_under_two_profiles_compared_from_their_output_folders(two_profiles):
    out, a, b = two_profiles
    result = CliRunner().invoke(main, ["compare", str(out / "guilin"), str(out / "taian"), "--out",
                                       str(out / "changes.csv")])
    assert result.exit_code == 0, result.output
    # what changed, worked out here from the two tables (same parcels, same order)
    verdict = a["verdict"].to_numpy() != b["verdict"].to_numpy()
    reasons = ~verdict & ((a["reasons"].to_numpy() != b["reasons"].to_numpy())
                          | (a["legacy"].to_numpy() != b["legacy"].to_numpy()))
    changes = read_changes(out / "changes.csv")
    kinds = dict(zip(changes["parcel_id"], changes["change"], strict=True))
    assert sorted(k for k, v in kinds.items() if v == "verdict") == sorted(a["parcel_id"][verdict])
    assert sorted(k for k, v in kinds.items() if v == "reasons") == sorted(a["parcel_id"][reasons])
    assert set(kinds.values()) == {"verdict", "reasons"}  # one parcels layer, one survey: no area moves
    assert f"{int(verdict.sum())} changed verdict, {int(reasons.sum())} changed reasons only" in result.output
    moved = pd.crosstab(a["verdict"], b["verdict"])
    table = {line.split()[0]: [int(n) for n in line.split()[1:]] for line in result.output.splitlines()
             if line.startswith("  ") and line.split()[0] in moved.index}
    assert table == {v: [int(moved.loc[v].get(w, 0)) for w in ("eligible", "conditional", "ineligible")]
                     for v in moved.index}
    # each row's rules: what taian adds and drops, parcel by parcel
    row = changes.iloc[0]
    i = int(np.flatnonzero(a["parcel_id"].to_numpy() == row["parcel_id"])[0])
    before, after = set(filter(None, a["reasons"].iat[i].split(";"))), set(filter(None, b["reasons"].iat[i].split(";")))
    assert row["rules_added"] == ";".join(sorted(after - before))
    assert row["rules_removed"] == ";".join(sorted(before - after))
    # where each changed parcel is, as the later inventory says
    assert list(changes.columns[:5]) == ["parcel_id", "town", "village", "owner", "change"]
    assert (row["town"], row["village"], row["owner"]) == (b["town"].iat[i], b["village"].iat[i], b["owner"].iat[i])


def test_a_screening_replacing_another_writes_what_changed_since(two_profiles, tmp_path):
    out, a, b = two_profiles
    folder = tmp_path / "county"
    shutil.copytree(out / "guilin", folder)
    runner = CliRunner()
    result = runner.invoke(main, ["screen", str(SAMPLE), "--out", str(folder), "--overwrite", "--no-map",
                                  "--profile", "taian", "--compare-with", str(folder)])
    assert result.exit_code == 0, result.output
    # the screening replaced is compared (read before it was replaced), as `landgis compare` does it
    written = read_changes(folder / "changes.csv")
    expected = compare(out / "guilin", out / "taian").changes
    assert written["parcel_id"].tolist() == expected["parcel_id"].tolist()
    assert written["what_changed"].tolist() == expected["what_changed"].tolist()
    verdict = int((a["verdict"].to_numpy() != b["verdict"].to_numpy()).sum())
    assert f"earlier ({folder}): {len(a)} parcels; after (taian): {len(b)} parcels" in result.output
    assert f"{verdict} changed verdict" in result.output and f"{len(expected)} changed parcels in" in result.output
    assert (folder / "inventory.csv").read_bytes() == (out / "taian" / "inventory.csv").read_bytes()
    # screened again without a comparison: the old changes.csv (of another pair) goes
    again = runner.invoke(main, ["screen", str(SAMPLE), "--out", str(folder), "--overwrite", "--no-map"])
    assert again.exit_code == 0 and "removed changes.csv of the earlier screening" in again.output
    assert not (folder / "changes.csv").exists()
    # what is not a screening is refused before any work, the folder untouched
    before = (folder / "inventory.csv").stat().st_mtime_ns
    bad = runner.invoke(main, ["screen", str(SAMPLE), "--out", str(folder), "--overwrite",
                               "--compare-with", str(tmp_path / "nowhere")])
    assert bad.exit_code == 2 and "does not exist" in bad.output and "Traceback" not in bad.output
    assert (folder / "inventory.csv").stat().st_mtime_ns == before


def test_the_geopackage_gives_the_same_comparison_as_the_csv(two_profiles):
    out, _, _ = two_profiles
    from_csv = compare(out / "guilin", out / "taian").changes
    from_gpkg = compare(out / "guilin" / "screening.gpkg", out / "taian" / "screening.gpkg").changes
    pd.testing.assert_frame_equal(from_gpkg, from_csv, check_dtype=False)


def test_what_is_not_a_screening_is_refused_with_what_to_give(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "empty"), str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "holds neither inventory.csv nor screening.gpkg" in result.output and "Traceback" not in result.output
    pd.DataFrame({"parcel_id": ["A"], "status": ["ok"]}).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(LandgisError, match=r"other.csv has no column verdict, reasons: it is not an inventory"):
        read_inventory(tmp_path / "other.csv")
    with pytest.raises(LandgisError, match="does not exist"):
        compare(tmp_path / "nowhere", BEFORE)


def test_a_notebook_shows_the_transitions_as_a_table_with_labels_escaped():
    old = BEFORE.assign(reasons=BEFORE["reasons"].where(BEFORE["parcel_id"] != "T", "<b>X</b>"))
    cmp = compare(old, AFTER)
    cmp.before_label = "week <1>"
    page = cmp._repr_html_()
    assert page.startswith("<div><p>week &lt;1&gt;: 8 parcels; after: 8 parcels</p><table")
    assert "<td>3</td>" in page and "(absent)" in page and "<script" not in page
    assert "rules no longer firing: &lt;b&gt;X&lt;/b&gt; (1)" in page
    assert cmp.text_summary().splitlines()[-3:] == [
        "2 changed verdict, 2 changed reasons only, 0 changed measures only; 1 added, 1 removed",
        "rules now firing: FARMLAND (1), PLAN-USE (1), UDB (1)", "rules no longer firing: <b>X</b> (1)"]
