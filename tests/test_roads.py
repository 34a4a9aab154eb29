"""Road access (landgis.roads): distances to the nearest road, from a roads layer or the survey's road classes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import landgis
from landgis.codes import code_table
from landgis.roads import access_facts, nearest_distance, road_distance, survey_roads
from tests.planted import Case, build_project


def test_road_distance_by_hand():
    parcels = np.array([shapely.box(0, 0, 10, 10), shapely.box(100, 0, 110, 10), shapely.box(0, 0, 1, 1), None,
                        shapely.Polygon()])
    roads = np.array([shapely.LineString([(20, -50), (20, 50)]),      # 10 m east of the first parcel
                      shapely.box(0, 30, 200, 35)])                   # a road patch 20 m north of the second
    assert road_distance(parcels, roads)[:3].tolist() == [10.0, 20.0, 19.0]
    assert np.isnan(road_distance(parcels, roads)[3:]).all()
    assert np.isnan(road_distance(parcels, np.array([], dtype=object))).all()


def test_ring_search_equals_geos_nearest():
    # parcels at every range: touching a road, inside each search ring, and beyond the last ring
    # (those fall back to query_nearest); roads are patches, lines and a multipolygon
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 5000, (3000, 2))
    xy[:100] += 20_000                                                # far from every road
    parcels = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + rng.uniform(5, 60, 3000), xy[:, 1] + 20)
    rxy = rng.uniform(0, 5000, (200, 2))
    roads = np.concatenate([
        shapely.box(rxy[:150, 0], rxy[:150, 1], rxy[:150, 0] + 400, rxy[:150, 1] + 6),
        shapely.linestrings(np.stack([rxy[150:], rxy[150:] + [30, 500]], axis=1)),
        [shapely.MultiPolygon([shapely.box(0, 0, 5, 5), shapely.box(900, 900, 905, 2000)])],
    ])
    got = nearest_distance(shapely.STRtree(roads), parcels)
    (which, _), dist = shapely.STRtree(roads).query_nearest(parcels, return_distance=True, all_matches=False)
    expected = np.full(len(parcels), np.nan)
    expected[which] = dist
    assert (got[:100] > 800).all() and (got == 0).any()               # both ends of the search were taken
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(road_distance(parcels, roads), expected)


def test_nearest_by_box_distance_still_measures_every_nearer_candidate():
    # a diagonal road whose box touches the parcel's but that runs 30 m off its corner is measured
    # first (box distance 0); the patch 10 m east (box distance 10 < 30) must still be measured
    # and win, and a line 12 m west, not less than the best once the patch is measured, must not change it
    parcel = shapely.box(0, 0, 10, 10)
    corner = 30 / np.sqrt(2)
    diagonal = shapely.LineString([(10 + corner - 200, 10 + corner + 200), (10 + corner + 200, 10 + corner - 200)])
    roads = np.array([diagonal, shapely.box(20, -5, 25, 15), shapely.LineString([(-12, -50), (-12, 50)])])
    assert shapely.distance(parcel, diagonal) == pytest.approx(30) and shapely.intersects(
        shapely.box(*parcel.bounds), shapely.box(*diagonal.bounds))
    for rings in ((50.0,), (5.0, 11.0), (5.0,)):                      # found in a ring, in the second, by GEOS
        assert nearest_distance(shapely.STRtree(roads), np.array([parcel]), rings).tolist() == [10.0]


def test_survey_road_classes_are_1003_1004_1006():
    table = code_table("survey")
    codes = ["1003", "1004", "1006", "1001", "0601", "1005", None, "", 1004.0, " 1006 ", "100301"]
    survey = gpd.GeoDataFrame({"class_code": codes},
                              geometry=[shapely.box(i * 10, 0, i * 10 + 5, 5) for i in range(len(codes))])

    def which(roads):  # positions of the patches picked, from their boxes
        return (shapely.bounds(roads)[:, 0] // 10).astype(int).tolist()

    assert which(survey_roads(survey, table)) == [0, 1, 2, 8, 9, 10]  # 1004.0 and " 1006 " normalised, 100301 a 1003
    assert which(survey_roads(survey, table, ["1003"])) == [0, 10]        # and the sub-code 100301
    assert which(survey_roads(survey, table, ["0601", "1005"])) == [4, 5]


def _facts(parcels, layers, settings):
    frame = gpd.GeoDataFrame({"parcel_id": [str(i) for i in range(len(parcels))],
                              "geometry_status": ["ok"] * len(parcels)}, geometry=list(parcels))
    unavailable: dict[str, str] = {}
    out = access_facts(frame, layers, {"survey": code_table("survey")}, settings, unavailable)
    return out, unavailable


def test_access_threshold_and_sources():
    parcels = [shapely.box(0, 0, 10, 10), shapely.box(0, 500, 10, 510)]
    survey = gpd.GeoDataFrame({"class_code": ["1006", "0101"]}, geometry=[shapely.box(0, 150, 10, 160),
                                                                           shapely.box(0, 520, 10, 560)])
    out, _ = _facts(parcels, {"survey": survey}, {})
    assert out["road_distance_m"].tolist() == [140.0, 340.0]
    assert out["road_access"].tolist() == [True, False]               # default 200 m
    assert out["road_source"].tolist() == ["survey 1003/1004/1006"] * 2
    out, _ = _facts(parcels, {"survey": survey}, {"road_max_distance_m": 100})
    assert out["road_access"].tolist() == [False, False]
    roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(-5, 505), (50, 505)])])
    out, _ = _facts(parcels, {"survey": survey, "roads": roads}, {})  # a roads layer wins
    assert out["road_distance_m"].tolist() == [495.0, 0.0]
    assert out["road_source"].tolist() == ["roads layer"] * 2
    out, why = _facts(parcels, {"survey": survey.iloc[1:]}, {})
    assert out is None and "no road in the survey" in why["road"]
    out, why = _facts(parcels, {}, {})
    assert out is None and "[layers.roads]" in why["road"]


def test_planted_roads_layer_and_inventory_columns(tmp_path):
    cases = [Case("near"), Case("far", road=False, parcel=shapely.box(10, 5010, 30, 5030),
                                survey=[((0, 5000, 40, 5040), "0601")], zoning=[((0, 5000, 40, 5040), "100101")],
                                survey_2009=[((0, 5000, 40, 5040), "203")]), Case("steep", slope=0.5)]
    path = build_project(cases, tmp_path, profile="taian")
    res = landgis.screen(path)
    t = res.table.set_index(pd.Index([c.name for c in cases]))
    assert t.loc["near", "road_distance_m"] == 8.0 and t.loc["near", "verdict"] == "eligible"
    assert t.loc["far", "reasons"] == "ACCESS" and not t.loc["far", "road_access"]
    assert t.loc["steep", "reasons"] == "TERRAIN" and t.loc["steep", "slope_steep_share"] == 1.0
    assert "ACCESS 周边无道路" in t.loc["far", "reasons_zh"]
    assert "《台安县农村集体经营性建设用地入市试点工作实施方案》三（三）3“五是”、三（二）2" in t.loc["far", "reasons_zh"]
    assert res.timings["terrain"] >= 0 and res.timings["access"] >= 0
    from landgis.inventory import COLUMN_NAMES_ZH
    for col in ("slope_mean_deg", "slope_max_deg", "slope_steep_share", "road_distance_m", "road_access"):
        assert col in res.table.columns and col in COLUMN_NAMES_ZH


def test_roads_from_survey_when_no_roads_layer(tmp_path):
    cases = [Case("a", survey=[((0, 0, 40, 34), "0601"), ((0, 34, 40, 40), "1004")])]
    path = build_project(cases, tmp_path, profile="yueqing", site=False)
    res = landgis.screen(path)  # yueqing needs no DEM; its ACCESS rule uses the survey's 1004 patch
    assert res.table["road_distance_m"].tolist() == [4.0]
    assert res.table["verdict"].tolist() == ["eligible"]
