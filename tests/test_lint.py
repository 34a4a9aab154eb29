"""The house's linter and type checker, run as tests so CI keeps them clean (config in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(tool: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *tool], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
                    reason="ruff is not installed: pip install -e '.[test]'")
def test_ruff_is_clean():
    done = _run(["ruff", "check", "landgis", "tests", "bench", "data", "conftest.py", "notebooks/build_notebooks.py"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean_on_the_public_api():
    pytest.importorskip("mypy", reason="mypy is not installed: pip install -e '.[test]'")
    done = _run(["mypy"])
    assert done.returncode == 0, done.stdout + done.stderr
