"""The dask engine screens spatial tiles on a LocalCluster and gives the local engine's inventory, byte for byte."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import landgis

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed: pip install 'landgis[dask]'")

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_county.toml"


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                           dashboard_address=None)
        with distributed.Client(cluster) as c:
            yield c
        cluster.close()


def _screen(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return landgis.screen(SAMPLE, progress=False, **kw)


def test_dask_inventory_equals_local(client, tmp_path):
    local = _screen()
    tiled = _screen(engine="dask", client=client, tile_parcels=100)  # 412 parcels → 6 tiles
    assert len(tiled.timings["tile_seconds"]) > 1
    local.write(tmp_path / "local", map_html=False)
    tiled.write(tmp_path / "dask", map_html=False)
    assert (tmp_path / "dask" / "inventory.csv").read_bytes() == (tmp_path / "local" / "inventory.csv").read_bytes()
    a = local.conflicts.drop(columns="geometry").reset_index(drop=True)
    b = tiled.conflicts.drop(columns="geometry").reset_index(drop=True)
    assert a.equals(b)
    assert local.counts() == tiled.counts()


def test_tiles_cover_every_parcel_once():
    import pyogrio

    from landgis.config import load_project
    from landgis.engines.dask import _keypoints, parcel_tiles

    tiles = parcel_tiles(load_project(SAMPLE), tile_parcels=50)
    frame = pyogrio.read_dataframe(SAMPLE.parent / "sample_county.gpkg", layer="zd")
    k = _keypoints(np.asarray(frame.geometry.values, dtype=object))
    hits = np.zeros(len(frame), dtype=int)
    for x0, y0, x1, y1, last_x, last_y in tiles:
        hits += ((k[:, 0] >= x0) & ((k[:, 0] < x1) | (last_x & (k[:, 0] <= x1)))
                 & (k[:, 1] >= y0) & ((k[:, 1] < y1) | (last_y & (k[:, 1] <= y1))))
    present = ~np.isnan(k[:, 0])
    assert (hits[present] == 1).all() and (hits[~present] == 0).all()


def test_unknown_engine_is_named():
    with pytest.raises(ValueError, match="engine='spark'"):
        landgis.screen(SAMPLE, engine="spark")


def test_dask_screens_only_the_parcels_a_where_selects_as_the_local_engine_does(client, tmp_path):
    # the workers read the project file themselves: the filter must be in it
    data = SAMPLE.parent
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace('path = "sample_county.gpkg"', f'path = "{data / "sample_county.gpkg"}"')
    text = text.replace('path = "sample_dem.tif"', f'path = "{data / "sample_dem.tif"}"')
    text = text.replace('path = "sample_supply_plan.csv"', f'path = "{data / "sample_supply_plan.csv"}"')
    text = text.replace('[layers.parcels]\n', '[layers.parcels]\nwhere = "ZLDWDM LIKE \'450399100%\'"\n', 1)  # 城关镇
    (tmp_path / "town.toml").write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = landgis.screen(tmp_path / "town.toml", progress=False)
        tiled = landgis.screen(tmp_path / "town.toml", progress=False, engine="dask", client=client, tile_parcels=50)
    assert set(local.table["town"]) == {"城关镇"} and len(local.table) == 97
    assert len(tiled.timings["tile_seconds"]) > 1
    assert tiled.table.equals(local.table)


def test_a_project_changed_after_reading_is_refused_not_silently_screened_as_its_file(client):
    import dataclasses

    project = landgis.load_project(SAMPLE)
    assert _screen_project(project, client).counts() == _screen().counts()  # as read: fine
    stricter = dataclasses.replace(project, min_overlap_m2=0.25)
    with pytest.raises(landgis.LandgisError, match=r"this project differs from .*sample_county.toml, which the "
                                                   r"workers read; write the changes"):
        _screen_project(stricter, client)


def _screen_project(project, client):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return landgis.screen(project, progress=False, engine="dask", client=client, tile_parcels=200)


def test_an_unreachable_scheduler_fails_fast_naming_its_address(monkeypatch):
    import time

    import landgis.engines.dask as engine
    from landgis.errors import LandgisError

    pytest.importorskip("distributed")
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 1.0)
    sample = Path(__file__).resolve().parents[1] / "data" / "sample_county.toml"
    t0 = time.perf_counter()
    with pytest.raises(LandgisError, match=r"cannot reach the dask scheduler at tcp://127.0.0.1:9 within 1 s"):
        engine.screen_dask(sample, client="tcp://127.0.0.1:9")
    assert time.perf_counter() - t0 < 8


def test_dask_draws_the_local_engines_map(client, tmp_path):
    """The constraint layers are read beside the tiles: map.html is the local engine's, byte for byte."""
    local = _screen()
    tiled = _screen(engine="dask", client=client, tile_parcels=100)
    assert sorted(tiled.layers) == ["admin", "farmland", "parcels", "redline", "udb", "zoning"]
    local.write(tmp_path / "local")
    tiled.write(tmp_path / "dask")
    assert (tmp_path / "dask" / "map.html").read_bytes() == (tmp_path / "local" / "map.html").read_bytes()
    assert tiled.record["inputs"].keys() == local.record["inputs"].keys()


def test_a_worker_lost_mid_run_is_recomputed_and_the_inventory_is_the_local_engines():
    """A worker process killed (SIGKILL) while tiles run: dask recomputes its tiles elsewhere (its nanny
    restarts it); the run neither hangs nor differs from the local engine."""
    import os
    import signal
    import threading
    import time

    local = _screen()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
    try:
        got: dict = {}
        run = threading.Thread(target=lambda: got.update(r=_screen(engine="dask", client=client, tile_parcels=10)))
        run.start()
        deadline = time.monotonic() + 60
        while not any(client.processing().values()):  # tiles on the workers
            assert time.monotonic() < deadline, "no tile ever started"
            time.sleep(0.1)
        nanny = next(iter(cluster.workers.values()))
        os.kill(nanny.process.process.pid, signal.SIGKILL)
        run.join(timeout=180)
        assert not run.is_alive(), "the screening hung after a worker was lost"
        assert got["r"].table.equals(local.table)
    finally:
        client.close()
        cluster.close()
