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
