"""DEM slope, zonal statistics and raster constraints (landgis.terrain, landgis.zonal).

Exact expectations: a synthetic plane DEM (Horn's method is exact on a plane),
and python-rasterstats' own expectations for its slope raster and zones
(python-rasterstats' test_zonal.py, data in tests/data/rasterstats: counts 75 / 50 and zone-0 mean
14.66 with the cell-centre rule, 95 / 73 with all-touched).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer

import landgis
from landgis import zonal
from landgis.config import LayerSpec, Project
from landgis.errors import GeometryRepairWarning, ProjectError
from landgis.terrain import slope_stats
from landgis.zonal import cell_weights, zonal_stats
from tests.planted import Case, build_project

RS = Path(__file__).resolve().parent / "data" / "rasterstats"  # python-rasterstats data, copied with its licence
GK = "EPSG:4546"  # CGCS2000 / 3-degree GK CM 111E
X0, Y1 = 420_000.0, 2_791_000.0


def write_raster(path: Path, z: np.ndarray, transform: Affine, crs=GK, nodata=-9999.0) -> LayerSpec:
    with rasterio.open(path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1,
                       dtype=z.dtype, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(z, 1)
    return LayerSpec(role="dem", path=path)


def plane(tmp_path: Path, gx: float, gy: float, n: int = 200, cell: float = 5.0) -> LayerSpec:
    """z = gx·x + gy·y (x east, y north, metres) on an n × n grid of ``cell`` m."""
    x = (np.arange(n) + 0.5) * cell
    y = Y1 - (np.arange(n) + 0.5) * cell
    z = (100 + gx * x[None, :] + gy * (y[:, None] - Y1)).astype("float64")
    return write_raster(tmp_path / "plane.tif", z, Affine(cell, 0, X0, 0, -cell, Y1))


# ------------------------------------------------------------------ slope


def test_plane_slope_is_exact(tmp_path):
    spec = plane(tmp_path, 0.3, -0.4)  # gradient 0.5 → atan(0.5)
    want = math.degrees(math.atan(0.5))
    parcels = np.array([shapely.box(X0 + 100, Y1 - 300, X0 + 137, Y1 - 261),          # inside
                        shapely.Polygon([(X0 + 500, Y1 - 500), (X0 + 620, Y1 - 480), (X0 + 560, Y1 - 400)]),
                        shapely.box(X0 + 2000, Y1 - 300, X0 + 2100, Y1 - 200),        # off the DEM
                        None])
    for rule in ("area", "centre", "all_touched"):
        s = slope_stats(parcels, GK, spec, steep_deg=20.0, rule=rule)
        assert s["slope_mean_deg"][:2].tolist() == pytest.approx([want, want], abs=1e-9)
        assert s["slope_max_deg"][:2].tolist() == pytest.approx([want, want], abs=1e-9)
        assert s["slope_steep_share"][:2].tolist() == [1.0, 1.0]
        assert s.loc[2:].isna()[["slope_mean_deg", "slope_max_deg", "slope_steep_share"]].all().all()
    s = slope_stats(parcels, GK, spec, steep_deg=30.0)
    assert s["slope_steep_share"][:2].tolist() == [0.0, 0.0]
    assert s["slope_covered_share"].tolist() == pytest.approx([1.0, 1.0, 0.0, 0.0])


def test_dem_edge_and_nodata_are_excluded(tmp_path):
    z = np.tile(np.arange(20, dtype="float32") * 1.0, (20, 1))  # 1 m per 1 m cell eastwards: 45°
    z[10:, 10:] = -9999.0
    spec = write_raster(tmp_path / "d.tif", z, Affine(1, 0, X0, 0, -1, Y1))
    # parcel over cols 0..5, rows 2..6: column 0 is the DEM edge (no neighbour west) → nodata
    s = slope_stats(np.array([shapely.box(X0, Y1 - 6, X0 + 5, Y1 - 2)]), GK, spec)
    assert s["slope_mean_deg"][0] == pytest.approx(45.0)
    assert s["slope_covered_share"][0] == pytest.approx(4 / 5)
    # parcel over cells rows 8–13 × cols 8–13: a cell is valid only if no 3 × 3 neighbour is nodata
    # (rows ≥ 10 and cols ≥ 10), so rows 9–13 × cols 9–13 (25 of 36 cells) have no slope
    s = slope_stats(np.array([shapely.box(X0 + 8, Y1 - 14, X0 + 14, Y1 - 8)]), GK, spec)
    assert s["slope_covered_share"][0] == pytest.approx(11 / 36)
    assert s["slope_mean_deg"][0] == pytest.approx(45.0)


def test_windows_are_exact_and_small(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    z = np.cumsum(np.cumsum(rng.normal(size=(300, 300)), axis=0), axis=1).astype("float32")
    spec = write_raster(tmp_path / "rough.tif", z, Affine(2, 0, X0, 0, -2, Y1))
    cx = X0 + rng.uniform(20, 580, 60)
    cy = Y1 - rng.uniform(20, 580, 60)
    parcels = shapely.buffer(shapely.points(cx, cy), rng.uniform(5, 30, 60), quad_segs=3)
    whole = slope_stats(parcels, GK, spec, tile=10_000)
    reads = []
    real = zonal._read

    def spy(src, band, rows, cols, halo):
        reads.append((rows[1] - rows[0]) * (cols[1] - cols[0]))
        return real(src, band, rows, cols, halo)

    monkeypatch.setattr(zonal, "_read", spy)
    tiled = slope_stats(parcels, GK, spec, tile=16)
    assert len(reads) > 20 and max(reads) < 300 * 300 / 4
    np.testing.assert_allclose(tiled.to_numpy(), whole.to_numpy(), rtol=0, atol=1e-9)


def test_parcels_are_reprojected_not_the_dem(tmp_path):
    spec = plane(tmp_path, 0.1, 0.0)
    gk = shapely.box(X0 + 200, Y1 - 400, X0 + 260, Y1 - 340)
    to_geo = Transformer.from_crs(GK, 4490, always_xy=True)
    geo = shapely.transform(gk, lambda xy: np.column_stack(to_geo.transform(xy[:, 0], xy[:, 1])))
    a = slope_stats(np.array([gk]), GK, spec)
    b = slope_stats(np.array([geo]), "EPSG:4490", spec)
    assert b["slope_mean_deg"][0] == pytest.approx(a["slope_mean_deg"][0], abs=1e-9)
    assert a["slope_mean_deg"][0] == pytest.approx(math.degrees(math.atan(0.1)), abs=1e-9)


def test_geographic_dem_uses_metres(tmp_path):
    """A DEM in degrees rising 0.1 m per metre northwards: cell size converted at each row's latitude."""
    crs = CRS.from_epsg(4490)
    ell = crs.ellipsoid
    a, e2 = ell.semi_major_metre, 1 - (ell.semi_minor_metre / ell.semi_major_metre) ** 2
    d = 1 / 3600  # one arc-second
    lat = 25.0 - (np.arange(120) + 0.5) * d
    m = a * (1 - e2) / (1 - e2 * np.sin(np.radians(lat)) ** 2) ** 1.5
    north_m = np.concatenate([[0], np.cumsum(m[:-1] * np.radians(d))])[::-1]  # metres from the south row
    z = np.tile((0.1 * north_m)[:, None], (1, 120))
    spec = write_raster(tmp_path / "geo.tif", z, Affine(d, 0, 110.0, 0, -d, 25.0), crs="EPSG:4490")
    parcel = shapely.box(110.0 + 30 * d, 25.0 - 90 * d, 110.0 + 80 * d, 25.0 - 30 * d)
    s = slope_stats(np.array([parcel]), "EPSG:4490", spec)
    assert s["slope_mean_deg"][0] == pytest.approx(math.degrees(math.atan(0.1)), abs=1e-3)


# ------------------------------------------------------- cell weights


def test_area_weights_are_exact_cell_coverage():
    t = Affine(1, 0, 0, 0, -1, 10)
    poly = shapely.Polygon([(0.3, 0.2), (9.1, 1.7), (6.2, 9.6), (2.5, 6.1)], [[(4, 4), (5, 4), (5, 5)]])
    w = cell_weights(poly, t, (0, 10), (0, 10), "area")
    assert w.sum() == pytest.approx(poly.area, abs=1e-9)
    assert w[5, 4] == pytest.approx(shapely.box(4, 4, 5, 5).intersection(poly).area)


# ----------------------------------------------- rasterstats golden values


@pytest.fixture(scope="module")
def zones():
    return pyogrio.read_dataframe(RS / "polygons.shp")


def test_rasterstats_cell_centre_rule(zones):
    s = zonal_stats(zones.geometry, zones.crs, LayerSpec(role="x", path=RS / "slope.tif"), rule="centre")
    assert s["count"].tolist() == [75, 50]
    assert round(s["mean"][0], 2) == 14.66


def test_rasterstats_all_touched(zones):
    s = zonal_stats(zones.geometry, zones.crs, LayerSpec(role="x", path=RS / "slope.tif"), rule="all_touched")
    assert s["count"].tolist() == [95, 73]


def test_rasterstats_exact_area_weights(zones):
    """Area rule: cells with any coverage are the all-touched ones; mean = Σ value·(cell ∩ zone) / area."""
    spec = LayerSpec(role="x", path=RS / "slope.tif")
    s = zonal_stats(zones.geometry, zones.crs, spec, rule="area")
    assert s["count"].tolist() == [95, 73]
    with rasterio.open(spec.path) as src:
        v = src.read(1).astype(float)
        t = src.transform
    rows, cols = np.indices(v.shape)
    boxes = shapely.box(t.c + cols.ravel() * t.a, t.f + (rows.ravel() + 1) * t.e,
                        t.c + (cols.ravel() + 1) * t.a, t.f + rows.ravel() * t.e)
    for i, zone in enumerate(zones.geometry.values):
        w = shapely.area(shapely.intersection(boxes, zone))
        assert w.sum() == pytest.approx(zone.area, rel=1e-9)
        assert s["mean"][i] == pytest.approx((w * v.ravel()).sum() / w.sum(), rel=1e-9)
        assert s["max"][i] == v.ravel()[w > 0].max()


def test_rasterstats_nodata_is_left_out(tmp_path, zones):
    with rasterio.open(RS / "slope.tif") as src:
        v = src.read(1)
        profile = src.profile
    v[:, : v.shape[1] // 2 + 8] = profile["nodata"]
    with rasterio.open(tmp_path / "half.tif", "w", **profile) as dst:
        dst.write(v, 1)
    full = zonal_stats(zones.geometry, zones.crs, LayerSpec(role="x", path=RS / "slope.tif"), rule="centre")
    half = zonal_stats(zones.geometry, zones.crs, LayerSpec(role="x", path=tmp_path / "half.tif"), rule="centre")
    assert half["count"][0] == 0 and np.isnan(half["mean"][0]) and half["nodata_share"][0] == 1.0
    assert half["count"][1] == full["count"][1]


# -------------------------------------------------- raster constraints


def test_raster_farmland_works_like_its_vector_twin(tmp_path):
    cases = [Case("ok"), Case("farmland_300", farmland=[(10, 10, 25, 30)]),
             Case("farmland_overlapping", farmland=[(10, 10, 20, 30), (15, 10, 25, 30)]),
             Case("multipart", parcel=shapely.MultiPolygon([shapely.box(10, 10, 20, 30), shapely.box(22, 10, 32, 30)]),
                  farmland=[(0, 0, 15, 40)]),
             Case("half_cells", farmland=[(10.5, 10, 20.5, 30)])]
    path = build_project(cases, tmp_path)
    vector = landgis.screen(path).table.set_index("parcel_id")
    # the same farmland as a 0.5 m raster (1 = 永久基本农田), 1 cell of margin
    farm = pyogrio.read_dataframe(tmp_path / "planted.gpkg", layer="yjjbnt")
    x0, y0, x1, y1 = shapely.total_bounds(farm.geometry.values[farm["BSM"] != "0"])
    cell = 0.5
    t = Affine(cell, 0, x0 - 10, 0, -cell, y1 + 10)
    shape = (int((y1 - y0 + 20) / cell), int((x1 - x0 + 20) / cell))
    from rasterio.features import rasterize
    z = rasterize([(g, 1) for g in farm.geometry.values], out_shape=shape, transform=t, dtype="uint8")
    with rasterio.open(tmp_path / "jbnt.tif", "w", driver="GTiff", width=shape[1], height=shape[0], count=1,
                       dtype="uint8", crs=GK, transform=t, nodata=255) as dst:
        dst.write(z, 1)
    text = path.read_text(encoding="utf-8").replace(
        '[layers.farmland]\npath = "planted.gpkg"\nlayer = "yjjbnt"', '[layers.farmland]\npath = "jbnt.tif"\nvalues = [1]')
    (tmp_path / "raster.toml").write_text(text, encoding="utf-8")
    res = landgis.screen(tmp_path / "raster.toml")
    raster = res.table.set_index("parcel_id")
    assert raster["farmland_m2"].tolist() == vector["farmland_m2"].tolist() == [0.0, 300.0, 300.0, 100.0, 200.0]
    assert raster["verdict"].tolist() == vector["verdict"].tolist()
    assert set(res.conflicts["rule"]) == {"FARMLAND"}


def test_raster_layer_keys_are_checked(tmp_path):
    base = {"project": {}, "layers": {"parcels": {"path": "zd.gpkg"}}}
    with pytest.raises(ProjectError, match="values = \\[1\\]"):
        Project.from_dict({**base, "layers": {**base["layers"], "farmland": {"path": "jbnt.tif"}}}, tmp_path)
    with pytest.raises(ProjectError, match="only dem, farmland"):
        Project.from_dict({**base, "layers": {**base["layers"], "survey": {"path": "dltb.tif"}}}, tmp_path)
    with pytest.raises(ProjectError, match="not a raster"):
        Project.from_dict({**base, "layers": {**base["layers"], "dem": {"path": "dem.gpkg"}}}, tmp_path)
    with pytest.raises(ProjectError, match="cell_rule"):
        Project.from_dict({**base, "layers": {**base["layers"], "dem": {"path": "dem.tif", "cell_rule": "mid"}}},
                          tmp_path)
    p = Project.from_dict({**base, "layers": {**base["layers"], "farmland": {"path": "jbnt.tif", "values": [1, 2]}}},
                          tmp_path)
    assert p.layers["farmland"].is_raster and p.layers["farmland"].values == (1, 2)


def test_missing_dem_leaves_terrain_unchecked_with_a_warning(tmp_path):
    path = build_project([Case("a")], tmp_path, profile="taian", site=False,
                         extra_toml='\n[layers.roads]\npath = "planted.gpkg"\nlayer = "zd"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeometryRepairWarning)
        with pytest.warns(landgis.errors.SkippedRuleWarning, match="rule TERRAIN not checked: on 1 parcel\\(s\\): "
                                                                    "the project has no \\[layers.dem\\]"):
            res = landgis.screen(path)
    assert [s.rule for s in res.skipped] == ["TERRAIN"]
    assert res.table["road_distance_m"].tolist() == [0.0]
    # nothing unchecked is eligible: the slope could not be measured, so the parcel waits for the DEM
    assert res.table[["verdict", "reasons", "unchecked"]].values.tolist() == [
        ["conditional", "NODATA-TERRAIN", "NODATA-TERRAIN"]]
    assert res.table["reasons_zh"].tolist() == [f"NODATA-TERRAIN 未能核查“{res.profile.rule('TERRAIN').title_zh}”："
                                                "缺少数字高程模型 [layers.dem]"]


# ------------------------------------------- vectorised weights vs GEOS / GDAL


def _geos_weights(geom, t: Affine, rows, cols):
    """Reference: shapely intersection of every cell box with the polygon."""
    ii, jj = np.indices((rows[1] - rows[0], cols[1] - cols[0]))
    x0 = t.c + (jj.ravel() + cols[0]) * t.a
    y1 = t.f + (ii.ravel() + rows[0]) * t.e
    cells = shapely.box(x0, y1 + t.e, x0 + t.a, y1)
    return shapely.area(shapely.intersection(cells, geom)).reshape(ii.shape)


def test_vectorised_area_weights_match_geos():
    rng = np.random.default_rng(7)
    t = Affine(5, 0, X0, 0, -5, Y1)
    shapes = [shapely.box(X0 + 10, Y1 - 40, X0 + 30, Y1 - 10),                         # on cell edges
              shapely.Polygon([(X0 + 1.3, Y1 - 2.2), (X0 + 61.7, Y1 - 9.1), (X0 + 40.2, Y1 - 57.3),
                               (X0 + 30.1, Y1 - 20.4), (X0 + 8.8, Y1 - 49.9)]),         # concave
              shapely.box(X0 + 3, Y1 - 70, X0 + 70, Y1 - 3).difference(
                  shapely.Point(X0 + 33, Y1 - 37).buffer(17)),                          # hole
              shapely.MultiPolygon([shapely.box(X0 + 2.5, Y1 - 12.5, X0 + 7.5, Y1 - 2.5),
                                    shapely.box(X0 + 40.1, Y1 - 33.3, X0 + 52.2, Y1 - 21.7)]),
              shapely.Polygon([(X0 + 5, Y1 - 5), (X0 + 20, Y1 - 5), (X0 + 20, Y1 - 5.000001), (X0 + 5, Y1 - 20)])]
    for _ in range(20):                                                                 # random rotated boxes
        c = (X0 + rng.uniform(20, 60), Y1 - rng.uniform(20, 60))
        shapes.append(shapely.affinity.rotate(shapely.box(c[0] - rng.uniform(2, 20), c[1] - rng.uniform(2, 20),
                                                          c[0] + rng.uniform(2, 20), c[1] + rng.uniform(2, 20)),
                                              rng.uniform(0, 180), origin=c))
    geoms = np.array(shapes)
    r0, r1, c0, c1, ok = zonal.pixel_boxes(geoms, t, 14, 12)                         # clipped by the grid's edge
    assert ok.all() and (c1 == 12).any()
    k, ii, jj, w = zonal._area_coverage(geoms, r0, r1, c0, c1, t)
    for p, geom in enumerate(geoms):
        want = _geos_weights(geom, t, (r0[p], r1[p]), (c0[p], c1[p]))
        got = np.zeros_like(want)
        got[ii[k == p] - r0[p], jj[k == p] - c0[p]] = w[k == p]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * 25)
        assert ((got > 0) == (want > 1e-10 * 25)).all()
        if c1[p] < 12 and r1[p] < 14:
            assert got.sum() == pytest.approx(geom.area, rel=1e-12)


@pytest.mark.parametrize("rule", ["centre", "all_touched"])
def test_parcels_burnt_together_get_their_own_cells(tmp_path, rule):
    """Overlapping, touching and nested parcels burnt in shared passes: each gets what GDAL burns for it alone."""
    t = Affine(1, 0, X0, 0, -1, Y1)
    a = shapely.box(X0 + 2.2, Y1 - 9.7, X0 + 8.1, Y1 - 3.1)
    parcels = np.array([a, shapely.box(X0 + 8.1, Y1 - 9.7, X0 + 14.6, Y1 - 3.1),        # touches a
                        shapely.box(X0 + 5.5, Y1 - 6.5, X0 + 11.5, Y1 - 1.5),           # overlaps both
                        a.buffer(-1.5),                                                # inside a
                        shapely.box(X0 + 30.2, Y1 - 30.4, X0 + 33.7, Y1 - 27.2)])      # far away
    r0, r1, c0, c1, _ = zonal.pixel_boxes(parcels, t, 50, 50)
    k, ii, jj, w = zonal._burn_coverage(parcels, r0, r1, c0, c1, t, rule == "all_touched")
    for p, geom in enumerate(parcels):
        alone = zonal.cell_weights(geom, t, (r0[p], r1[p]), (c0[p], c1[p]), rule)
        got = np.zeros_like(alone)
        got[ii[k == p] - r0[p], jj[k == p] - c0[p]] = w[k == p]
        assert (got == alone).all() and alone.sum() > 0
