"""One benchmark stage, run in a fresh process: ``python -m bench.stages STAGE DATA_DIR OUT_JSON``.

Stages:

``read``      read every input GeoPackage with pyogrio (Arrow), the denominator of the ratios
``read-plain`` the same without Arrow (for reference)
``screen``    the full ``landgis.screen`` of ``DATA_DIR/project.toml`` and every output
              (inventory.csv and map.html, with screening.gpkg then inventory.xlsx written beside them)
``overlay``   landgis's load, then its overlay per layer, with pair counts; writes the
              per (parcel, class) areas to ``overlay_landgis.parquet``
``baseline``  a hand-written ``geopandas.overlay`` + ``groupby`` per layer; writes
              ``overlay_baseline.parquet``
``cpu``       a fixed piece of GEOS and NumPy work (intersections and areas of generated
              polygons), nothing read: the bench runs it alone and as two processes at once,
              to measure how much work this machine's cores do together (see ``bench.__main__``)
``dask``      ``landgis.screen(engine="dask")`` on a LocalCluster (a worker process per CPU),
              seconds per tile, and whether its inventory.csv equals the screen stage's
              (peak RSS is the client's only)

Each stage writes its timings and its own peak RSS (``getrusage(RUSAGE_SELF)``) to OUT_JSON.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

#: layer → the column that names a feature's class (the feature id for constraint layers)
CLASS_FIELDS = {"farmland": "BSM", "redline": "BSM", "udb": "BSM", "survey": "DLBM", "zoning": "YDYHFLDM"}
LAYERS = ("parcels", "farmland", "redline", "udb", "survey", "zoning")


def _peak_mb() -> float:
    """This process's peak resident memory, MiB.

    VmHWM (Linux) belongs to the process's own address space. ``ru_maxrss`` is
    not used where VmHWM exists: Linux carries it across fork and exec, so a stage
    started by a parent that had just generated a county at scale 3 (3 GB)
    reported the parent's peak, not its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_read(data: Path, arrow: bool = True) -> dict:
    import pyogrio
    out = {"layers": {}}
    t0 = time.perf_counter()
    for name in LAYERS:
        t = time.perf_counter()
        frame = pyogrio.read_dataframe(data / f"{name}.gpkg", use_arrow=arrow)
        out["layers"][name] = {"seconds": time.perf_counter() - t, "features": len(frame)}
    out["seconds"] = time.perf_counter() - t0
    return out


def stage_screen(data: Path, out_dir: Path) -> dict:
    """What ``landgis screen project.toml --out out`` does: screen, then every output in one write.

    A thread writes the GeoPackage and then the spreadsheet while the csv and the map are
    made (``ScreeningResult.write``), so the outputs are timed together: the csv's and the
    map's shares are in ``write_parts``, the thread's in ``timings`` (``write_gpkg``, ``write_xlsx``).
    """
    import landgis
    t0 = time.perf_counter()
    cpu0 = time.process_time()   # every thread of this process
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = landgis.screen(data / "project.toml", progress=False)
        t_screen = time.perf_counter() - t0
        t = time.perf_counter()
        parts: dict[str, float] = {}
        clock = {"at": t, "step": None}

        def step(name: str) -> None:  # the write's own progress callback: time per output made here
            now = time.perf_counter()
            if clock["step"] is not None:
                parts[clock["step"]] = now - clock["at"]
            clock.update(at=now, step=name)

        result.write(out_dir, overwrite=True, map_html=True, progress=step)
        step("")
        t_write = time.perf_counter() - t
    sizes = {p.name: p.stat().st_size for p in out_dir.iterdir() if p.is_file()}
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - cpu0,
            "screen": t_screen, "write": t_write,
            "write_parts": {k: v for k, v in parts.items() if k}, "timings": dict(result.timings),
            "counts": result.counts(), "output_bytes": sizes}


def stage_overlay(data: Path) -> dict:
    import landgis
    from landgis.config import load_project
    from landgis.conflicts import conflict_piece_masks
    from landgis.facts import code_tables_for
    from landgis.load import load_layers
    from landgis.overlay import overlay_layer
    from landgis.overlay.parts import clip_parts
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        project = load_project(data / "project.toml")
        loaded = load_layers(project)
    t_load = time.perf_counter() - t0
    parcels = loaded.parcels
    geoms = np.asarray(parcels.geometry.values, dtype=object)
    # the pieces the screening keeps (constraint layers, the survey's agricultural and homestead
    # patches), so the overlay does here what it does in `landgis screen`
    profile = landgis.load_profile(project.profile)
    tables = code_tables_for(project.codes, profile.codes)
    piece_masks = conflict_piece_masks(profile, loaded.layers, tables)
    t = time.perf_counter()
    convex = clip_parts(geoms)
    out: dict = {"load": t_load, "layers": {}, "convex_parcels": time.perf_counter() - t}
    frames = []
    total = out["convex_parcels"]
    for role in ("farmland", "redline", "udb", "survey", "zoning"):
        layer = loaded.layers[role]
        t = time.perf_counter()
        ov = overlay_layer(geoms, np.asarray(layer.geometry.values, dtype=object), convex=convex,
                           keep_pieces=True if role in ("farmland", "redline", "udb") else piece_masks.get(role, False))
        secs = time.perf_counter() - t
        total += secs
        pairs = ov.pairs
        cls = layer["class_code" if role in ("survey", "zoning") else "feature_id"].astype(str).to_numpy()
        long = pd.DataFrame({"parcel": pairs["parcel"].to_numpy(), "class": cls[pairs["feature"].to_numpy()],
                             "area": pairs["overlap_m2"].to_numpy()})
        long = long.groupby(["parcel", "class"], as_index=False)["area"].sum()
        long.insert(0, "layer", role)
        frames.append(long)
        contained = int(pairs["contained"].sum())
        out["layers"][role] = {"seconds": secs, "candidate_pairs": int(ov.candidate_pairs),
                               "pairs": int(len(pairs)), "contained": contained,
                               "boundary_pairs": int(ov.candidate_pairs) - contained,
                               "vertices": int(shapely.get_num_coordinates(layer.geometry.values).sum())}
    out["seconds"] = total
    pd.concat(frames, ignore_index=True).to_parquet(data / "overlay_landgis.parquet")
    return out


def stage_baseline(data: Path) -> dict:
    import geopandas as gpd
    import pyogrio
    t0 = time.perf_counter()
    parcels = pyogrio.read_dataframe(data / "parcels.gpkg", use_arrow=True, columns=[])
    parcels["parcel"] = np.arange(len(parcels))
    layers = {role: pyogrio.read_dataframe(data / f"{role}.gpkg", use_arrow=True, columns=[CLASS_FIELDS[role]])
              for role in CLASS_FIELDS}
    out: dict = {"read": time.perf_counter() - t0, "layers": {}}
    frames = []
    total = 0.0
    for role, layer in layers.items():
        layer = layer.rename(columns={CLASS_FIELDS[role]: "class"})
        layer["class"] = layer["class"].astype(str)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pieces = gpd.overlay(parcels, layer, how="intersection", keep_geom_type=True)
        pieces["area"] = pieces.geometry.area
        long = pieces.groupby(["parcel", "class"], as_index=False)["area"].sum()
        secs = time.perf_counter() - t
        total += secs
        long.insert(0, "layer", role)
        frames.append(long)
        out["layers"][role] = {"seconds": secs, "pieces": len(pieces)}
    out["seconds"] = total
    pd.concat(frames, ignore_index=True).to_parquet(data / "overlay_baseline.parquet")
    return out


def stage_cpu(rounds: int = 3) -> dict:
    """The fixed job of the ``cpu`` stage: about 2 s of GEOS and NumPy work on one core, no I/O."""
    rng = np.random.default_rng(20261201)
    centres = rng.uniform(0, 5000, (20_000, 2))
    discs = shapely.buffer(shapely.points(centres), 30.0, quad_segs=8)
    boxes = shapely.box(centres[:, 0] - 10, centres[:, 1] - 40, centres[:, 0] + 45, centres[:, 1] + 5)
    t0 = time.perf_counter()
    total = 0.0
    for _ in range(rounds):
        total += float(shapely.area(shapely.intersection(discs, boxes)).sum())
        total += float(np.sort(rng.uniform(0, 1, 1_000_000)).sum())
    return {"seconds": time.perf_counter() - t0, "check": total}


def stage_dask(data: Path) -> dict:
    """``landgis.screen(engine="dask")`` on a LocalCluster of one single-threaded worker process per CPU.

    Times every tile (what a province's cost is estimated from) and checks the tiled
    inventory against the local engine's ``inventory.csv`` from the screen stage, byte for byte.
    """
    import landgis

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = landgis.screen(data / "project.toml", progress=False, engine="dask")
        t_screen = time.perf_counter() - t0
        out_dir = data / "out-dask"
        result.write(out_dir, overwrite=True, map_html=False)
    local = data / "out" / "inventory.csv"
    same = local.exists() and (out_dir / "inventory.csv").read_bytes() == local.read_bytes()
    tiles = [float(s) for s in result.timings["tile_seconds"]]
    return {"seconds": t_screen, "tiles": len(tiles), "tile_seconds": tiles,
            "tile_parcels": len(result.inventory) / max(len(tiles), 1),
            "gather_seconds": t_screen - result.timings.get("tiles", t_screen),
            "workers": os.cpu_count() or 1, "identical_to_local": bool(same) if local.exists() else None,
            "counts": result.counts()}


def main(argv: list[str]) -> None:
    stage, data, target = argv[0], Path(argv[1]), Path(argv[2])
    if stage == "read":
        res = stage_read(data, arrow=True)
    elif stage == "read-plain":
        res = stage_read(data, arrow=False)
    elif stage == "screen":
        res = stage_screen(data, data / "out")
    elif stage == "overlay":
        res = stage_overlay(data)
    elif stage == "baseline":
        res = stage_baseline(data)
    elif stage == "dask":
        res = stage_dask(data)
    elif stage == "cpu":
        res = stage_cpu()
    else:
        raise SystemExit(f"unknown stage {stage!r}; one of read, read-plain, screen, overlay, baseline, cpu, "
                         "dask")
    res["stage"] = stage
    res["peak_mb"] = _peak_mb()
    target.write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
