"""The benchmark itself, at a tiny scale: deterministic data, exact areas, the ratio lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import shapely

pytest.importorskip("pyarrow", reason="the bench reads with pyogrio's Arrow path: pip install pyarrow")

from bench.__main__ import report, run
from bench.generate import generate

SCALE = 0.004  # 600 parcels, 1800 survey patches, 2 red lines
#: the digests below were made with GEOS 3.14 (shapely 2.2) and NumPy 2.4; another GEOS may place a
#: Voronoi vertex or a snapped one a hair away, so elsewhere they are not compared
DIGEST_GEOS = (3, 14)
#: the lattice county's layers at SCALE (red lines of 4 000 vertices), as generator version 1 made them
LATTICE_DIGESTS = {"parcels": "922aad3e7b8c731a", "survey": "cdb39a2ba3412dab", "farmland": "3ae42e53072c6794",
                   "redline": "bc1f3f8713e9e6f8", "zoning": "7f5fd37be1e398dd", "udb": "44fdf6b1bf339d9a"}
#: the realistic county's layers at SCALE (red lines of 4 000 vertices), as generator version 2 makes them
REALISTIC_DIGESTS = {"parcels": "d5b3d3bba6113ba9", "survey": "fc4dfb6fe2833891", "farmland": "6ff9da3242f76898",
                     "redline": "0ec62bed42e0bb7c", "zoning": "e87096a28a378e4b", "udb": "9d72d9d0727dee30"}


@pytest.mark.parametrize("mode", ["realistic", "lattice"])
def test_generator_is_deterministic(tmp_path, mode):
    a = generate(SCALE, tmp_path / "a", redline_vertices=4000, mode=mode)
    b = generate(SCALE, tmp_path / "b", redline_vertices=4000, mode=mode)
    assert {k: v["sha256"] for k, v in a["layers"].items()} == {k: v["sha256"] for k, v in b["layers"].items()}
    assert a["layers"]["parcels"]["features"] == 600
    assert (tmp_path / "a" / "project.toml").exists()


@pytest.mark.skipif(shapely.geos_version[:2] != DIGEST_GEOS, reason="the digests were made with GEOS 3.14")
def test_lattice_county_is_the_first_bench_county(tmp_path):
    """The old mode gives the layers it gave before the realistic mode came, bit for bit
    (the digests of generator version 1 at this scale), so earlier ratios stay comparable."""
    m = generate(SCALE, tmp_path, redline_vertices=4000, mode="lattice")
    assert {k: v["sha256"][:16] for k, v in m["layers"].items()} == LATTICE_DIGESTS


@pytest.mark.skipif(shapely.geos_version[:2] != DIGEST_GEOS, reason="the digests were made with GEOS 3.14")
def test_realistic_county_changes_only_with_its_version(tmp_path):
    """The bench reuses a county whose manifest has the generator's version: a change to what the
    realistic mode draws must come with a new version (and new digests here), or the bench would
    time a county the code no longer makes."""
    from bench.generate import GENERATOR_VERSION

    m = generate(SCALE, tmp_path, redline_vertices=4000)
    assert (GENERATOR_VERSION["realistic"], {k: v["sha256"][:16] for k, v in m["layers"].items()}) == \
        (2, REALISTIC_DIGESTS)


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
    saved = json.loads((tmp_path / "results" / f"realistic-scale-{SCALE:g}.json").read_text(encoding="utf-8"))
    assert saved["stages"]["overlay"]["layers"]["redline"]["candidate_pairs"] > 0
    assert Path(tmp_path / f"realistic-scale-{SCALE:g}" / "out" / "inventory.csv").exists()
    base = res["stages"]["baseline"]
    assert res["ratios"]["end_to_end"] == pytest.approx((base["read"] + base["seconds"]) / screen["seconds"])
    # the shapes and the verdict mix beside the timings
    assert "with points on a straight edge (界址点)" in text and "verdicts: eligible" in text


def test_realistic_county_is_drawn_as_registers_draw_it(tmp_path):
    """Parcels that share their edges exactly, with the neighbours' corners on them; L-shapes and
    courtyards; a survey coverage whose block patches hold the parcels; the full DLTB fields; a third
    or more of the parcels on business land of a block planned for it."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from bench.realistic import DLTB_FIELDS

    manifest = generate(0.02, tmp_path, redline_vertices=4000)
    assert manifest["mode"] == "realistic"
    parcels = gpd.read_file(tmp_path / "parcels.gpkg")
    survey = gpd.read_file(tmp_path / "survey.gpkg")
    assert len(parcels) == 3000 and parcels["ZDDM"].is_unique
    geoms = parcels.geometry.values
    shapes = manifest["shapes"]["parcels"]
    assert shapes["collinear_share"] > 0.5 and shapes["shared_edge_share"] > 0.95
    assert 0.9 < shapes["convex_share"] < 0.995 and shapes["holes_share"] > 0    # L-shapes, courtyards
    # a planar partition up to the centimetre slivers: overlaps between neighbours stay under
    # the bench project's 1 m² tolerance (a 5 cm shift along a 26 m edge: 0.65 m²)
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="overlaps")
    sel = a < b
    overlap = shapely.area(shapely.intersection(geoms[a[sel]], geoms[b[sel]]))
    assert overlap.max() < 1.0 and sel.sum() < 0.06 * len(geoms)
    # a courtyard's hole is a parcel of its own, edge for edge
    holed = geoms[shapely.get_num_interior_rings(geoms) > 0]
    yard = shapely.Polygon(holed[0].interiors[0])
    assert any(shapely.equals_exact(g, yard, 1e-9) or shapely.equals(g, yard) for g in geoms)
    # survey: a coverage, the full 三调 field set, most parcels inside one patch (sharing its edges)
    assert set(DLTB_FIELDS) <= set(survey.columns) and len(DLTB_FIELDS) == 30
    # a coverage up to what digitising leaves: a patch in 50 or fewer with an edge its neighbour does
    # not repeat vertex for vertex, overlaps of a few hundredths of a square metre at most
    patches = survey.geometry.values
    assert (~shapely.is_empty(shapely.coverage_invalid_edges(patches))).mean() < 0.02
    a, b = shapely.STRtree(patches).query(patches, predicate="overlaps")
    assert shapely.area(shapely.intersection(patches[a], patches[b])).max() < 0.05
    si, pi = shapely.STRtree(survey.geometry.values).query(geoms, predicate="covered_by")
    assert len(np.unique(si)) > 0.8 * len(geoms)
    counts = manifest["layers"]
    assert counts["survey"]["vertices"] / counts["survey"]["features"] > 10
    assert np.isin(survey["DLBM"], ["0601", "05H1"]).sum() > 0


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
