"""Settings checked whole at load: types, NaN and infinities, ranges, duplicates, misplaced tables.

A tolerance of nan made every overlap a sliver (FARMLAND and REDLINE never fired: 17 eligible
instead of 8); these are refused when the file is read, naming file, table and key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import landgis
from landgis.errors import ProfileError, ProjectError

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_county.toml"


def _project(tmp_path, old, new, append=""):
    text = SAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "p.toml"
    path.write_text(text.replace(old, new) + append, encoding="utf-8")
    return path


@pytest.mark.parametrize(("value", "shown"), [("nan", "nan"), ("inf", "inf"), ("-1", "-1")])
def test_a_tolerance_that_is_not_a_finite_area_is_refused(tmp_path, value, shown):
    path = _project(tmp_path, "min_overlap_m2 = 1.0", f"min_overlap_m2 = {value}")
    with pytest.raises(ProjectError, match=rf"\[tolerance\] min_overlap_m2 must be a finite number ≥ 0 .*got {shown}"):
        landgis.load_project(path)


def test_settings_in_a_project_file_are_refused_saying_where_they_belong(tmp_path):
    path = _project(tmp_path, "min_overlap_m2 = 1.0", "min_overlap_m2 = 1.0", "\n[settings]\nslope_max_deg = 10\n")
    with pytest.raises(ProjectError, match=r"\[settings\] \(slope_max_deg\) belongs to a rule profile.*extends = \"guilin\""):
        landgis.load_project(path)


PROFILE = '[profile]\nid = "x"\nextends = "taian"\n'
RULE = '[[rules]]\nid = "A"\ntitle_zh = "甲"\nsource = ""\noutcome = "note"\nwhen = { fact = "farmland_m2", above = 1 }\n'


@pytest.mark.parametrize(("text", "message"), [
    (RULE + RULE, r"\[\[rules\]\] id A given twice in one file"),
    ('[[rules]]\nid = "FARMLAND"\nwhen = { fact = "farmland_m2", above = nan }\n',
     r"rule FARMLAND: above takes a finite number or \"tolerance\", got nan"),
    ("[settings]\nslope_max_deg = -5\n", r"slope_max_deg = -5: must be a finite number above 0 and at most 90"),
    ("[settings]\nlease_max_years = 20\n", r"lease_max_years has moved: write the lease's terms as \[supply.lease\]"),
    ("[supply.lease]\nmax_years = inf\n", r"\[supply.lease\] max_years = inf: must be a number of years above 0 and at most 70"),
    ("[supply.lease]\nmin_years = 30\nmax_years = 20\n", r"\[supply.lease\]: 30 years above the maximum 20"),
    ("[supply.rent]\nmax_years = 20\n", r"\[supply.rent\]: no such supply mode; modes: sale, share, lease"),
    ("[supply.lease]\nmax_year = 20\n", r"\[supply.lease\]: unknown key `max_year`; keys: min_years, max_years, source"),
    ('valid_until = "2024-13-01"\n', r"valid_until = '2024-13-01': write a date as 2024-12-31"),
    ("[settings]\nroad_max_distance_m = nan\n", r"road_max_distance_m = nan: must be a finite number above 0"),
    ("[terms.sale]\nindustrial = -5\n", r"\[terms.sale\] must map planned-use tags to years"),
    ('[rules]\nid = "A"\n', r"`rules` must be an array of tables: write each as \[\[rules\]\]"),
    ('[settings]\nlegacy_categories = ["L9"]\n', r"legacy_categories: no category 'L9'"),
    ("[settings]\napproval_min_share = 1.5\n", r"approval_min_share is no longer used: approval is by area"),
])
def test_a_profile_with_a_bad_setting_is_refused_naming_it(tmp_path, text, message):
    path = tmp_path / "x.toml"
    path.write_text(PROFILE + text, encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        landgis.load_profile(path)


def test_every_problem_of_a_project_or_a_profile_is_said_at_once(tmp_path):
    """Three mistakes in a project file (a misspelt key, a misspelt layer role, tolerance nan) and four in a
    profile are each listed in one message, not one per run."""
    from landgis.config import load_project
    from landgis.errors import ProfileError, ProjectError
    from landgis.profiles import load_profile

    project = tmp_path / "p.toml"
    project.write_text('[project]\nname = "m"\nnmae = "x"\n[tolerance]\nmin_overlap_m2 = nan\n'
                       '[layers.parcels]\npath = "zd.gpkg"\n[layers.farmlnd]\npath = "f.gpkg"\n', encoding="utf-8")
    with pytest.raises(ProjectError) as err:
        load_project(project)
    lines = str(err.value).splitlines()
    assert lines[0] == "3 problems in the project file:"
    assert "unknown key `nmae` (did you mean `name`?)" in lines[1]
    assert "unknown layer role [layers.farmlnd] (did you mean `farmland`?)" in lines[2]
    assert "[tolerance] min_overlap_m2 must be a finite number ≥ 0 (square metres), got nan" in lines[3]

    profile = tmp_path / "prof.toml"
    profile.write_text('[profile]\nid = "m"\nextends = "guilin"\n[settings]\nslope_max_deg = -5\n'
                       '[supply.lease]\nmax_years = inf\n[[rules]]\nid = "FARMLAND"\nabove = nan\n[[rules]]\nid = "XX"\n',
                       encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(profile)
    lines = str(err.value).splitlines()
    assert lines[0] == "4 problems in profile m:"
    assert [line.split(": ")[0] for line in lines[1:]] == [
        "  - profile m [settings] slope_max_deg = -5", "  - profile m rule FARMLAND", "  - profile m rule XX",
        "  - profile m [supply.lease] max_years = inf"]
