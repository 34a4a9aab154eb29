"""The example notebooks execute top to bottom on the bundled sample, quickly, writing nothing into the repo.

The committed notebooks hold exactly the cells ``notebooks/build_notebooks.py``
defines (regenerate them with ``python notebooks/build_notebooks.py``), with
their outputs stored, small.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
MAX_SECONDS = 60
MAX_STORED_KIB = 200


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebooks", NOTEBOOKS / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _builder()
NAMES = sorted(BUILD.NOTEBOOKS)


def _snapshot() -> dict[str, int]:
    """Files where a notebook could write by mistake (the repo root, notebooks/, data/), with mtimes."""
    paths = [p for p in ROOT.iterdir() if p.is_file()]
    paths += [p for folder in (NOTEBOOKS, ROOT / "data") for p in folder.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts]
    return {str(p.relative_to(ROOT)): p.stat().st_mtime_ns for p in paths}


def test_every_notebook_is_built():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    assert NAMES == ["01-quickstart.ipynb", "02-custom-profile.ipynb", "03-legacy-land.ipynb"]


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_matches_builder(name):
    committed = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(committed)
    expected = BUILD.new_notebook(BUILD.NOTEBOOKS[name])
    assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in expected.cells], \
        f"notebooks/{name} is out of date with build_notebooks.py; run: python notebooks/build_notebooks.py"
    code = [c for c in committed.cells if c.cell_type == "code"]
    stored = [c for c in code if BUILD.STRIP_TAG not in c.metadata.get("tags", [])]
    assert all(c.outputs for c in stored), f"notebooks/{name} is committed without its outputs"
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)
    assert (NOTEBOOKS / name).stat().st_size < MAX_STORED_KIB * 1024


@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    before = _snapshot()
    t0 = time.perf_counter()
    BUILD.execute(nb, timeout=MAX_SECONDS * 2)  # raises CellExecutionError naming the failing cell
    seconds = time.perf_counter() - t0
    assert seconds < MAX_SECONDS, f"{name} took {seconds:.0f} s"
    assert _snapshot() == before, "the notebook wrote into the repository"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    if name.startswith("01"):
        shown = [o for o in nb.cells[3].outputs if "data" in o]
        html = shown[0]["data"]["text/html"]
        assert "可入市" in html and "亩" in html and "most frequent reasons" in html
        map_cell = next(c for c in nb.cells if BUILD.STRIP_TAG in c.metadata.get("tags", []))
        assert any("text/html" in o.get("data", {}) for o in map_cell.outputs)  # the map rendered


# ---------------------------------------------------------------- the notebook API: display and progress

SAMPLE = ROOT / "data" / "sample_county.toml"


@pytest.fixture(scope="module")
def sample_result():
    import warnings

    import landgis
    from landgis.errors import LandgisWarning

    with warnings.catch_warnings(action="ignore", category=LandgisWarning):
        return landgis.screen(SAMPLE, progress=False)


def test_result_html_summarises_and_escapes(sample_result):
    import dataclasses

    from landgis.errors import Problem

    evil = "<script>alert('x')</script>"
    result = dataclasses.replace(
        sample_result, project=dataclasses.replace(sample_result.project, name=evil),
        problems=[*sample_result.problems, Problem("warning", "<b>zd</b>", "bad & <i>worse</i>", "QLR", "A<1>")])
    html = result._repr_html_()
    assert "<script" not in html and "<i>worse" not in html and "<b>zd</b>" not in html
    assert "&lt;script&gt;" in html and "bad &amp; &lt;i&gt;worse&lt;/i&gt;" in html
    by = sample_result.summary()["by_verdict"].set_index("verdict")
    for verdict in ("eligible", "conditional", "ineligible"):
        assert f"{by.loc[verdict, 'area_m2']:,.2f}" in html and f"{by.loc[verdict, 'area_mu']:,.4f}" in html
    # most frequent reason with its citation: Guilin's own plan, then national law
    assert "PLAN-USE" in html and "《桂林市深化农村集体经营性建设用地入市试点工作方案（征求意见稿）》四（二）1；" in html
    assert "450399103002JC00013" in html  # the unrepairable parcel named among the problems


def test_progress_callback_false_and_bar(capsys):
    import warnings

    import landgis
    from landgis.errors import LandgisWarning

    stages = []
    with warnings.catch_warnings(action="ignore", category=LandgisWarning):
        landgis.screen(SAMPLE, progress=stages.append)
        assert stages[0] == "load" and "rules" in stages and stages[-1] == "inventory"
        assert any(s.startswith("overlay ") for s in stages)
        capsys.readouterr()
        landgis.screen(SAMPLE)  # default: no bar when output is captured (tests, pipes)
        assert capsys.readouterr().err == ""
        result = landgis.screen(SAMPLE, progress=True)
    err = capsys.readouterr().err
    assert "screening" in err and "100%" in err and "done" in err
    assert result.counts()["eligible"] > 0
