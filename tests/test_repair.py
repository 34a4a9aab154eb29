"""Geometry repair: unusable parcel geometries kept as rows, bad constraint features dropped and counted, warned."""

from __future__ import annotations

import warnings

import pytest

import landgis
from landgis.errors import GeometryRepairWarning
from tests.planted import X, Y, feature, geojson, project_file, square

pytestmark = pytest.mark.filterwarnings("ignore::landgis.errors.SkippedRuleWarning")


def test_unusable_parcel_geometries_are_kept_as_geometry_rows(tmp_path):
    spike = [[[X + 300, Y], [X + 320, Y], [X + 320, Y + 20], [X + 310, Y + 20], [X + 310, Y + 40],
              [X + 310, Y + 20], [X + 300, Y + 20], [X + 300, Y]]]
    dup = [[[X + 400, Y], [X + 420, Y], [X + 420, Y], [X + 420, Y + 20], [X + 400, Y + 20], [X + 400, Y]]]
    cw = [[[X + 500, Y], [X + 500, Y + 20], [X + 520, Y + 20], [X + 520, Y], [X + 500, Y]]]
    geojson(tmp_path / "zd.geojson", [
        feature("unclosed", square(X, close=False)), feature("null", None),
        feature("point", [X + 200, Y], "Point"), feature("line", [[X, Y], [X + 5, Y + 5]], "LineString"),
        feature("spike", spike), feature("dup_vertex", dup), feature("clockwise", cw),
        feature("empty", [], "Polygon"),
    ])
    with pytest.warns(GeometryRepairWarning):
        res = landgis.screen(project_file(tmp_path, "zd.geojson"))
    t = res.table.set_index("parcel_id")
    assert list(t.index) == ["unclosed", "null", "point", "line", "spike", "dup_vertex", "clockwise", "empty"]
    assert t.loc["unclosed", "area_m2"] == 400.0 and t.loc["unclosed", "geometry_status"] == "ok"
    assert t.loc["spike", "area_m2"] == 400.0 and t.loc["spike", "geometry_status"] == "repaired"
    assert t.loc["dup_vertex", "area_m2"] == 400.0 and t.loc["clockwise", "area_m2"] == 400.0
    for bad, status in [("null", "null"), ("point", "not_polygon"), ("line", "not_polygon"), ("empty", "empty")]:
        assert t.loc[bad, "verdict"] == "ineligible" and t.loc[bad, "reasons"] == "GEOMETRY", bad
        assert t.loc[bad, "geometry_status"] == status
    notes = " ".join(str(p) for p in res.problems)
    # said once, with the count (GDAL warns once per ring)
    assert [p.message for p in res.problems if "unclosed" in p.message] == \
        ["1 unclosed polygon ring(s) were closed while reading"]
    assert "1 features without geometry" in notes and "null" in notes


def test_bad_geometries_in_a_constraint_layer_are_dropped_and_counted(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X)), feature("B", square(X + 100))])
    geojson(tmp_path / "f.geojson", [feature("1", square(X - 10, Y - 10, 30)), feature("2", None),
                                     feature("3", [X + 100, Y], "Point")])
    res = landgis.screen(project_file(tmp_path, "zd.geojson", '[layers.farmland]\npath = "f.geojson"\n'))
    assert res.table["farmland_m2"].tolist() == [400.0, 0.0]
    text = " ".join(str(p) for p in res.problems if p.layer == "farmland")
    assert "1 features without geometry; left out of the overlay" in text
    assert "1 features that are points or lines" in text


def test_warnings_are_not_swallowed_silently(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", [[[X, Y], [X + 20, Y + 20], [X + 20, Y], [X, Y + 20], [X, Y]]])])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        landgis.screen(project_file(tmp_path, "zd.geojson"))
    assert any(issubclass(w.category, GeometryRepairWarning) for w in caught)


def test_a_coordinate_that_is_not_a_number_is_stated_and_the_parcel_kept(tmp_path):
    """NaN or infinite coordinates (a corrupt export): the parcel stays in the inventory, ineligible
    with GEOMETRY and geometry_status non_finite, and the problem says what and what to do."""
    import warnings

    import geopandas as gpd
    import numpy as np
    import shapely

    import landgis

    with np.errstate(invalid="ignore"):
        corrupt = [shapely.Polygon([(500100, 2790000), (np.nan, 2790000), (500120, 2790020)]),
                   shapely.Polygon([(500200, 2790000), (np.inf, 2790000), (500220, 2790020)])]
    frame = gpd.GeoDataFrame({"ZDDM": ["A1", "A2", "A3"]},
                             geometry=[shapely.box(500000, 2790000, 500020, 2790020), *corrupt], crs="EPSG:4546")
    frame.to_file(tmp_path / "zd.gpkg")
    (tmp_path / "p.toml").write_text('[project]\nname = "x"\nprofile = "national"\n\n[layers.parcels]\n'
                                     'path = "zd.gpkg"\n', encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = landgis.screen(tmp_path / "p.toml", progress=False)
    t = res.table.set_index("parcel_id")
    assert t["geometry_status"].tolist() == ["ok", "non_finite", "non_finite"]
    assert t.loc[["A2", "A3"], "reasons"].tolist() == ["GEOMETRY"] * 2
    said = [p for p in res.problems if "not numbers" in p.message]
    assert len(said) == 1 and said[0].features == "A2, A3"
