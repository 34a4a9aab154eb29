"""Shared doctest fixtures: the sample county, screened once per test session."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parent / "data" / "sample_county.toml"


@pytest.fixture(scope="session")
def sample_result():
    import landgis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", landgis.errors.LandgisWarning)
        return landgis.screen(SAMPLE, progress=False)


@pytest.fixture(autouse=True)
def _doctest_sample(request, doctest_namespace):
    """Doctests of ScreeningResult methods use ``result``: the screened sample county."""
    if isinstance(request.node, pytest.DoctestItem):
        doctest_namespace["result"] = request.getfixturevalue("sample_result")
        import landgis

        doctest_namespace["landgis"] = landgis
