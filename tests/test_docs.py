"""Documentation that is generated or promised: the rule catalogue, the rules command, the README links."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from landgis.catalogue import catalogue_markdown, rules_table
from landgis.cli import main
from landgis.profiles import builtin_profiles, load_profile

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = ROOT / "docs" / "rules.md"


def test_committed_catalogue_is_up_to_date():
    fresh = catalogue_markdown()
    committed = RULES_MD.read_text(encoding="utf-8")
    assert committed == fresh, ("docs/rules.md is out of date with landgis/profiles/*.toml; regenerate it with\n"
                                "  landgis rules --catalogue --out docs/rules.md")


def test_catalogue_has_every_rule_of_every_profile():
    md = RULES_MD.read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| rule |"))
    for name in builtin_profiles():
        assert f"`{name}`" in header
        profile = load_profile(name)
        assert profile.document in md and profile.numbering_note in md
        for rule in profile.rules:
            assert f"| `{rule.id}` " in md
            if rule.source:  # the articles of the profile's own document, in the side-by-side table
                assert f"<br>{rule.source} |" in md
            if profile.citation(rule):  # the full citation, under Rule texts
                assert f"依据：{profile.citation(rule)}\n" in md


def test_rules_table_side_by_side():
    table = rules_table()
    assert list(table.columns[:1]) == ["national"] and set(table.columns) == set(builtin_profiles())
    assert table.loc["UDB", "guilin"] == "condition"
    assert table.loc["NEG-AGRI", "tianning"] == "condition"
    assert table.loc["PLAN-EXTRA", "national"] == ""  # not in the baseline


def test_cli_catalogue_matches_file(tmp_path):
    result = CliRunner().invoke(main, ["rules", "--catalogue"])
    assert result.exit_code == 0, result.output
    assert result.output == catalogue_markdown()
    out = tmp_path / "sub" / "rules.md"
    result = CliRunner().invoke(main, ["-q", "rules", "--catalogue", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == RULES_MD.read_bytes()


@pytest.mark.parametrize("name", builtin_profiles())
def test_cli_rules_prints_each_rule(name):
    result = CliRunner().invoke(main, ["rules", "--profile", name])
    assert result.exit_code == 0, result.output
    profile = load_profile(name)
    for rule in profile.rules:
        assert rule.id in result.output and rule.title_zh in result.output
        assert rule.title_en in result.output and f"依据 {profile.citation(rule)}" in result.output
        assert f"[{rule.outcome}] {rule.title_zh} → " in result.output
    for cat in profile.legacy_categories:
        assert cat.title_zh in result.output


def test_cli_rules_user_profile(tmp_path):
    (tmp_path / "mine.toml").write_text('[profile]\nid = "mine"\nextends = "guilin"\n'
                                        '[[rules]]\nid = "UDB"\noutcome = "note"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "--profile", str(tmp_path / "mine.toml")])
    assert result.exit_code == 0, result.output
    assert "extends national → guilin → mine" in result.output
    assert "[note] 位于城镇开发边界内（不征即入） → 提示" in result.output


def test_cli_rules_out_needs_catalogue():
    result = CliRunner().invoke(main, ["rules", "--out", "x.md"])
    assert result.exit_code == 2 and "--catalogue" in result.output


def test_readme_links_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/rules.md" in readme
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f"notebooks/{nb.name}" in readme


def test_every_test_the_bad_input_catalogue_cites_exists():
    """docs/bad-inputs.md pins each row to a test: a renamed or removed test must not leave a row
    that no test proves."""
    import re

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "bad-inputs.md").read_text(encoding="utf-8")
    cited = set(re.findall(r"`(test_\w+\.py)::(test_\w+)`", text))
    assert len(cited) > 100
    missing = [f"{f}::{t}" for f, t in sorted(cited)
               if not re.search(rf"^def {t}\(", (root / "tests" / f).read_text(encoding="utf-8"), re.M)]
    assert missing == []
