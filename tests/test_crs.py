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
