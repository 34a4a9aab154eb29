"""The benchmark itself, at a tiny scale: deterministic data, exact areas, the ratio lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("pyarrow", reason="the bench reads with pyogrio's Arrow path: pip install pyarrow")

from bench.__main__ import report, run
from bench.generate import generate

SCALE = 0.004  # 600 parcels, 1800 survey patches, 2 red lines


def test_generator_is_deterministic(tmp_path):
    a = generate(SCALE, tmp_path / "a", redline_vertices=4000)
    b = generate(SCALE, tmp_path / "b", redline_vertices=4000)
    assert {k: v["sha256"] for k, v in a["layers"].items()} == {k: v["sha256"] for k, v in b["layers"].items()}
    assert a["layers"]["parcels"]["features"] == 600
    assert (tmp_path / "a" / "project.toml").exists()


def test_bench_run_areas_and_report(tmp_path):
    try:
        import distributed  # noqa: F401
        dask = True
    except ImportError:
        dask = False
    res = run(SCALE, root=tmp_path, dask=dask, pair_scale=SCALE, log=lambda m: None)
    if dask:  # the tiled engine's inventory is the local one, byte for byte
        assert res["stages"]["dask"]["identical_to_local"] is True
        assert res["stages"]["dask"]["tiles"] == len(res["stages"]["dask"]["tile_seconds"]) >= 1
        assert "a province of 50 such counties" in report(res)
    assert res["areas"]["max_abs_m2"] <= 1e-6, res["areas"]
    assert res["areas"]["keys"] > 100
    read = res["stages"]["read"]
    assert len(read["runs"]) == 3 and read["seconds"] == sorted(read["runs"])[1]   # the median read
    # the reads around the screen: one before it, one right after it, one after the overlay
    first, second, third = read["runs_started"]
    assert first < res["stages"]["screen"]["started"] < second < res["stages"]["overlay"]["started"] < third
    text = report(res)
    for line in ("screen / read", "overlay speed-up vs geopandas", "red-line speed-up", "peak memory / input size",
                 "max |area − reference|"):
        assert line in text
    screen = res["stages"]["screen"]
    assert 0 < screen["cpu_seconds"] and f"CPU {screen['cpu_seconds']:.1f} s over {screen['seconds']:.1f} s" in text
    # the cores measured together right before the screen: the fixed job alone, then one per core at once
    cpu = res["stages"]["cpu"]
    assert len(cpu["together"]) == (os.cpu_count() or 1) and cpu["seconds"] == pytest.approx(sum(cpu["alone"]) / 2)
    assert cpu["cores"] == pytest.approx(len(cpu["together"]) * cpu["seconds"] / max(cpu["together"]))
    floor = screen["cpu_seconds"] / cpu["cores"] / read["seconds"]
    assert f"so {cpu['cores']:.2f} cores' worth; {floor:.1f}× the read at that" in text
    # the growth from the stages re-run beside this run's (here on the same county: the data ×1.00)
    paired = res["paired"]["stages"]
    assert set(paired) == {"screen", "overlay"} and res["paired"]["input_bytes"] == res["input_bytes"]
    screen_growth = res["stages"]["screen"]["seconds"] / paired["screen"]["seconds"]
    assert f"data ×1.00, screen ×{screen_growth:.2f}" in text and "run right after its run here" in text
    saved = json.loads((tmp_path / "results" / f"scale-{SCALE:g}.json").read_text(encoding="utf-8"))
    assert saved["stages"]["overlay"]["layers"]["redline"]["candidate_pairs"] > 0
    assert Path(tmp_path / f"scale-{SCALE:g}" / "out" / "inventory.csv").exists()


def test_province_estimate_scales_the_measured_tile_times():
    from bench.__main__ import province_estimate

    lines = province_estimate({"tile_seconds": [2.0, 4.0], "tiles": 2, "tile_parcels": 20_000.0, "seconds": 5.0,
                               "workers": 2, "gather_seconds": 6.0, "identical_to_local": True})
    assert "sum 6.0 core-s" in lines[0] and "identical to the local engine's: True" in lines[0]
    # 10 counties: 20 tiles, 60 core-s = 0.02 core-h; on 2 cores 30 s; merge 60 s
    assert lines[1].startswith("  a province of 10 such counties: 20 tiles, 0.02 core-h → 2 cores 30 s, 64 cores 1 s")
    assert lines[1].endswith("~60 s)")
    # 50 counties: 300 core-s on 2 cores = 150 s = 2.5 min; merge 300 s = 5.0 min
    assert "2 cores 2.5 min" in lines[2] and lines[2].endswith("~5.0 min)")
