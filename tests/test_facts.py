"""Parcel facts from context layers: base price from the price zones, town from the admin layer."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

import landgis
from tests.planted import X, Y, feature, geojson, project_file, square

pytestmark = pytest.mark.filterwarnings("ignore::landgis.errors.SkippedRuleWarning")


def test_base_price_from_the_price_zone_covering_most_of_the_parcel(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X)), feature("B", square(X + 100))])
    zones = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4546"}},
             "features": [
                 {"type": "Feature", "properties": {"JZDJ": 320.0, "YT": "工业"}, "geometry": {"type": "Polygon",
                  "coordinates": square(X - 10, Y - 10, 25)}},       # covers 15 × 15 of A
                 {"type": "Feature", "properties": {"JZDJ": 560.0, "YT": "商服"}, "geometry": {"type": "Polygon",
                  "coordinates": [[[X + 15, Y - 10], [X + 150, Y - 10], [X + 150, Y + 30], [X + 15, Y + 30],
                                   [X + 15, Y - 10]]]}},             # 5 × 20 of A, all of B
             ]}
    (tmp_path / "jzdj.geojson").write_text(json.dumps(zones, ensure_ascii=False), encoding="utf-8")
    res = landgis.screen(project_file(tmp_path, "zd.geojson", '[layers.price_zones]\npath = "jzdj.geojson"\n'))
    # the zones are by use and no plan says the parcels' use: no price is taken for them, and that is said
    assert res.table["base_price"].isna().all()
    assert set(res.table["base_price_basis"]) == {"规划用途不明（无规划图层或未覆盖），无法按用途取基准地价"}
    # a price layer of no particular use: the zone covering most of each parcel
    del zones["features"][0]["properties"]["YT"], zones["features"][1]["properties"]["YT"]
    (tmp_path / "jzdj.geojson").write_text(json.dumps(zones, ensure_ascii=False), encoding="utf-8")
    res = landgis.screen(project_file(tmp_path, "zd.geojson", '[layers.price_zones]\npath = "jzdj.geojson"\n'))
    assert res.table["base_price"].tolist() == [320.0, 560.0]
    assert set(res.table["base_price_basis"]) == {"基准地价图层未分用途，取覆盖宗地面积最大的区段"}


def test_town_names_from_the_admin_layer(tmp_path):
    feats = [feature("A", square(X)), feature("B", square(X + 1000))]
    feats[0]["properties"]["ZLDWDM"] = "4503991000010000000"   # code of 城关镇 in the admin layer
    feats[1]["properties"]["ZLDWDM"] = ""                       # no code: found by location
    geojson(tmp_path / "zd.geojson", feats)
    admin = gpd.GeoDataFrame({"XZQDM": ["450399100", "450399101"], "XZQMC": ["城关镇", "五通镇"]},
                             geometry=[shapely.box(X - 50, Y - 50, X + 500, Y + 50),
                                       shapely.box(X + 500, Y - 50, X + 1500, Y + 50)], crs=4546)
    admin.to_file(tmp_path / "xzq.gpkg")
    res = landgis.screen(project_file(tmp_path, "zd.geojson", '[layers.admin]\npath = "xzq.gpkg"\n'))
    assert res.table["town"].tolist() == ["城关镇", "五通镇"]
