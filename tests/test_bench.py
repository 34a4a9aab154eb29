"""The benchmark itself, at a tiny scale: deterministic data, exact areas, the ratio lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pyarrow", reason="the bench reads with pyogrio's Arrow path: pip install pyarrow")

from bench.__main__ import report, run  # noqa: E402
from bench.generate import generate  # noqa: E402

SCALE = 0.004  # 600 parcels, 1800 survey patches, 2 red lines


def test_generator_is_deterministic(tmp_path):
    a = generate(SCALE, tmp_path / "a", redline_vertices=4000)
    b = generate(SCALE, tmp_path / "b", redline_vertices=4000)
    assert {k: v["sha256"] for k, v in a["layers"].items()} == {k: v["sha256"] for k, v in b["layers"].items()}
    assert a["layers"]["parcels"]["features"] == 600
    assert (tmp_path / "a" / "project.toml").exists()


def test_bench_run_areas_and_report(tmp_path):
    res = run(SCALE, root=tmp_path, log=lambda m: None)
    assert res["areas"]["max_abs_m2"] <= 1e-6, res["areas"]
    assert res["areas"]["keys"] > 100
    text = report(res)
    for line in ("screen / read", "overlay speed-up vs geopandas", "red-line speed-up", "peak memory / input size",
                 "max |area − reference|"):
        assert line in text
    saved = json.loads((tmp_path / "results" / f"scale-{SCALE:g}.json").read_text(encoding="utf-8"))
    assert saved["stages"]["overlay"]["layers"]["redline"]["candidate_pairs"] > 0
    assert Path(tmp_path / f"scale-{SCALE:g}" / "out" / "inventory.csv").exists()
