"""CRS handling: layers in other CRSs (zone-prefixed, geographic) give the same overlap areas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

import landgis
from tests.planted import X, Y, feature, geojson, project_file, square

pytestmark = pytest.mark.filterwarnings("ignore::landgis.errors.SkippedRuleWarning")


def test_mixed_crs_across_layers_give_the_same_areas(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X)), feature("B", square(X + 100))])
    farmland = gpd.GeoDataFrame({"BSM": ["1"]}, geometry=[shapely.box(X - 5, Y - 5, X + 10, Y + 30)], crs=4546)
    farmland.to_crs(4525).to_file(tmp_path / "f_prefixed.gpkg")   # zone-prefixed eastings
    farmland.to_crs(4490).to_file(tmp_path / "f_degrees.gpkg")    # geographic CGCS2000
    for name in ("f_prefixed.gpkg", "f_degrees.gpkg"):
        res = landgis.screen(project_file(tmp_path, "zd.geojson", f'[layers.farmland]\npath = "{name}"\n'))
        np.testing.assert_allclose(res.table["farmland_m2"], [200.0, 0.0], atol=1e-4)


def test_swapped_x_and_y_are_named_as_such(tmp_path):
    """A survey export's X is the northing: x and y swapped put the parcels 2,790 km east. The message
    says they are swapped and how to swap them back, not only that the .prj is wrong."""
    import geopandas as gpd
    import shapely

    from landgis.validate import validate_project

    gpd.GeoDataFrame({"ZDDM": ["A1"]}, geometry=[shapely.box(2790000, 420000, 2790020, 420020)],
                     crs="EPSG:4546").to_file(tmp_path / "zd.gpkg")
    (tmp_path / "p.toml").write_text('[project]\nname = "x"\nprofile = "national"\n\n[layers.parcels]\n'
                                     'path = "zd.gpkg"\n', encoding="utf-8")
    errors = [p.message for p in validate_project(tmp_path / "p.toml") if p.severity == "error"]
    assert len(errors) == 1 and errors[0].startswith("x and y look swapped: the x values 2790000…2790020 are "
                                                     "northings and the y values 420000…420020 eastings")


@pytest.mark.parametrize(("crs", "severity", "scale"), [
    ("EPSG:3857", "error", "1.2217"),     # Web Mercator at 25°N: a 2,500 m² parcel would measure 3,054 m²
    ("EPSG:4549", "error", "1.0244"),     # the Gauss-Krüger zone of 120°E, 10° from the parcels
    ("EPSG:4544", "warning", "1.0068"),   # the zone of 105°E, 5° away: areas 0.68 % too large
    ("EPSG:4545", None, None),            # the neighbouring zone (108°E), 2° away: 0.1 %, as counties do
])
def test_a_working_crs_whose_areas_are_not_the_grounds_is_said(tmp_path, crs, severity, scale):
    from landgis.validate import validate_project

    geojson(tmp_path / "zd.geojson", [feature("A", square(X, size=50.0))])
    path = project_file(tmp_path, "zd.geojson")
    path.write_text(path.read_text(encoding="utf-8").replace('crs = "EPSG:4546"', f'crs = "{crs}"'), encoding="utf-8")
    said = [p for p in validate_project(path) if "the ground's" in p.message]
    if severity is None:
        assert said == []
        return
    assert [p.severity for p in said] == [severity]
    assert said[0].message.startswith(f"areas in the working CRS {crs} (")
    assert f"are {scale}× the ground's at the parcels (110.21°E" in said[0].message
    assert 'crs = "EPSG:4546" (CGCS2000 / 3-degree Gauss-Kruger CM 111E) in [project]' in said[0].message
    assert said[0].message_zh.startswith(f"工作坐标系 {crs} 在地块处的面积比例为 {scale}，面积与实地不符")  # 数据问题


def test_coordinates_their_crs_puts_outside_china_are_refused_naming_where_they_fall(tmp_path):
    """Gauss-Krüger metres under a Web Mercator .prj land in the Gulf of Guinea: an error with the extent in
    degrees and the fix, not a layer that silently meets no parcel; beyond the CRS's own area (a zone's
    strip) but in China, a warning."""
    from landgis.validate import validate_project

    geojson(tmp_path / "zd.geojson", [feature("A", square(X))])
    gpd.GeoDataFrame({"BSM": ["1"]}, geometry=[shapely.box(X, Y, X + 50, Y + 50)], crs=3857).to_file(
        tmp_path / "redline.gpkg")
    gpd.GeoDataFrame({"BSM": ["1"]}, geometry=[shapely.box(900_000, Y, 900_050, Y + 50)], crs=4546).to_file(
        tmp_path / "udb.gpkg")  # 4.1° east of the zone's meridian
    problems = validate_project(project_file(tmp_path, "zd.geojson", '[layers.redline]\npath = "redline.gpkg"\n'
                                             '[layers.udb]\npath = "udb.gpkg"\n'))
    redline = [p for p in problems if p.layer == "redline" and p.severity == "error"]
    assert len(redline) == 1 and redline[0].message.startswith(
        "its coordinates, read in its CRS EPSG:3857 (WGS 84 / Pseudo-Mercator), lie at 3.77–3.77°E, 24.30–24.30°N, "
        "outside China: the CRS is not the one they are in")
    assert redline[0].message_zh.startswith("按其坐标系 EPSG:3857 读取，坐标位于东经 3.77–3.77°、北纬 24.30–24.30°，在中国境外")
    udb = [p for p in problems if p.layer == "udb" and p.severity == "warning" and "beyond" in p.message]
    assert len(udb) == 1 and "beyond where its CRS EPSG:4546 (CGCS2000 / 3-degree Gauss-Kruger CM 111E) is meant " \
        "for (109.5–112.5°E" in udb[0].message
    assert "超出其坐标系 EPSG:4546 的适用范围（东经 109.5–112.5°）" in udb[0].message_zh
