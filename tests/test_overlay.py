"""The overlay engine against QGIS's results and against hand-checked squares."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from landgis.overlay import class_areas, ground_overlap, overlay_layer, subdivide, union_kept_pieces

QGIS = Path(__file__).resolve().parent / "data" / "qgis-overlay"  # QGIS results, copied with their licence


@pytest.fixture(scope="module")
def nybb():
    boroughs = gpd.read_file(QGIS / "polydf.shp")
    circles = gpd.read_file(QGIS / "polydf2.shp")
    return boroughs, circles


@pytest.mark.parametrize("max_vertices", [0, 64, 256])
def test_pair_areas_match_qgis_intersection(nybb, max_vertices):
    boroughs, circles = nybb
    qgis = gpd.read_file(QGIS / "qgis-intersection.shp")
    expected = qgis.assign(area=qgis.area).groupby(["BoroCode", "value1"])["area"].sum()
    ov = overlay_layer(boroughs.geometry.values, circles.geometry.values, max_vertices=max_vertices)
    got = ov.pairs.assign(BoroCode=boroughs["BoroCode"].to_numpy()[ov.pairs["parcel"]],
                          value1=circles["value1"].to_numpy()[ov.pairs["feature"]])
    got = got.groupby(["BoroCode", "value1"])["overlap_m2"].sum()
    assert sorted(got.index) == sorted(expected.index)
    np.testing.assert_allclose(got.loc[expected.index].to_numpy(), expected.to_numpy(), rtol=1e-6)


def test_complex_layer_subdivided_matches_qgis(nybb):
    """Boroughs (thousands of vertices) as the constraint layer, circles as parcels."""
    boroughs, circles = nybb
    qgis = gpd.read_file(QGIS / "qgis-intersection.shp")
    expected = qgis.assign(area=qgis.area).groupby(["value1", "BoroCode"])["area"].sum()
    assert shapely.get_num_coordinates(boroughs.geometry.values).max() > 256
    ov = overlay_layer(circles.geometry.values, boroughs.geometry.values, max_vertices=128)
    got = ov.pairs.assign(value1=circles["value1"].to_numpy()[ov.pairs["parcel"]],
                          BoroCode=boroughs["BoroCode"].to_numpy()[ov.pairs["feature"]])
    got = got.groupby(["value1", "BoroCode"])["overlap_m2"].sum()
    np.testing.assert_allclose(got.loc[expected.index].to_numpy(), expected.to_numpy(), rtol=1e-6)


def test_ground_counted_once_matches_qgis_difference(nybb):
    """Borough area minus QGIS's difference = ground under the circles (overlaps: see the hypothesis test)."""
    boroughs, circles = nybb
    diff = gpd.read_file(QGIS / "qgis-difference.shp")
    diff_area = diff.assign(a=diff.area).groupby("BoroCode")["a"].sum()
    expected = boroughs.area.to_numpy() - diff_area.reindex(boroughs["BoroCode"]).fillna(0).to_numpy()
    ov = overlay_layer(boroughs.geometry.values, circles.geometry.values, keep_pieces=True)
    got = ground_overlap(ov)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_squares_by_hand():
    parcels = np.array([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10), None, shapely.Polygon()])
    layer = np.array([shapely.box(5, 0, 25, 10), shapely.box(-5, -5, 15, 15)])
    ov = overlay_layer(parcels, layer, keep_pieces=True)
    rows = ov.pairs[["parcel", "feature", "overlap_m2", "contained"]].values.tolist()
    assert rows == [[0, 0, 50.0, False], [0, 1, 100.0, True], [1, 0, 50.0, False]]
    assert ground_overlap(ov).tolist() == [100.0, 50.0, 0.0, 0.0]


def test_touching_is_not_overlap():
    ov = overlay_layer(np.array([shapely.box(0, 0, 10, 10)]), np.array([shapely.box(10, 0, 20, 10)]))
    assert len(ov.pairs) == 0


def test_bounding_box_candidates_are_settled_exactly():
    # candidates come from bounding boxes only: pieces whose boxes meet the parcel's but
    # that are disjoint (a U around it, a triangle past its corner) give no pair; a parcel
    # inside a piece but touching its edge is whole but not "contained"; one strictly
    # inside is contained and gets its own area
    x0, y0 = 37_420_000.0, 3_400_000.0                     # zone-prefixed eastings
    parcel = shapely.box(x0, y0, x0 + 10, y0 + 10)
    u_shape = shapely.box(x0 - 5, y0 - 5, x0 + 15, y0 + 15).difference(shapely.box(x0 - 1, y0 - 1, x0 + 11, y0 + 16))
    triangle = shapely.Polygon([(x0 + 10.5, y0 + 20), (x0 + 30, y0 + 20), (x0 + 30, y0 + 0.5)])
    flush = shapely.box(x0, y0, x0 + 20, y0 + 20)           # shares two edges with the parcel
    around = shapely.box(x0 - 1, y0 - 1, x0 + 11, y0 + 11)
    half = shapely.box(x0 + 5, y0 - 3, x0 + 30, y0 + 30)
    layer = np.array([u_shape, triangle, flush, around, half])
    assert shapely.intersects(shapely.box(*parcel.bounds), shapely.box(*u_shape.bounds))
    for parcels in (np.array([parcel]),                                   # convex: the clipper
                    np.array([shapely.MultiPolygon([parcel, shapely.box(x0 + 100, y0, x0 + 101, y0 + 1)])])):  # GEOS
        ov = overlay_layer(parcels, layer, keep_pieces=True)
        pairs = ov.pairs
        single = len(shapely.get_parts(parcels[0])) == 1   # the far part lies outside `around`
        assert pairs["feature"].tolist() == [2, 3, 4]
        assert pairs["overlap_m2"].tolist() == [100.0, 100.0, 50.0]
        assert pairs["contained"].tolist() == [False, single, False]
        assert ov.candidate_pairs == 3
        pieces = ov.piece_geoms()
        assert shapely.equals(pieces[0], parcel) and shapely.area(pieces[2]) == 50.0


def test_multipart_parcel_and_hole():
    parcel = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)])
    holed = shapely.box(40, 0, 60, 20).difference(shapely.box(45, 5, 55, 15))
    layer = np.array([shapely.box(5, 0, 25, 10), shapely.box(45, 5, 55, 15), shapely.box(40, 0, 60, 20)])
    ov = overlay_layer(np.array([parcel, holed]), layer, keep_pieces=True)
    by = ov.pairs.groupby(["parcel", "feature"])["overlap_m2"].sum().to_dict()
    assert by == {(0, 0): 100.0, (1, 2): 300.0}
    assert ground_overlap(ov).tolist() == [100.0, 300.0]


def test_class_areas_and_threads_agree():
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 1000, (3000, 2))
    parcels = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + 15, xy[:, 1] + 12)
    grid = np.array([shapely.box(x, y, x + 50, y + 50) for x in range(0, 1050, 50) for y in range(0, 1050, 50)])
    classes = np.array(["0601", "0103"] * (len(grid) // 2) + ["0601"] * (len(grid) % 2), dtype=object)
    one = overlay_layer(parcels, grid, threads=1)
    two = overlay_layer(parcels, grid, threads=2)
    np.testing.assert_array_equal(one.pairs.to_numpy(), two.pairs.to_numpy())
    long = class_areas(one, classes)
    total = long.groupby("parcel")["overlap_m2"].sum().to_numpy()
    np.testing.assert_allclose(total, shapely.area(parcels)[np.unique(long["parcel"])], rtol=1e-9)


def test_subdivide_keeps_area_and_bounds_vertices():
    star = shapely.Polygon([(np.cos(t) * (100 + 40 * np.sin(9 * t)), np.sin(t) * (100 + 40 * np.sin(9 * t)))
                            for t in np.linspace(0, 2 * np.pi, 5000, endpoint=False)])
    holed = star.difference(shapely.Point(0, 0).buffer(20, quad_segs=200))
    pieces, owner = subdivide(np.array([holed]), 256)
    assert len(pieces) > 10 and set(owner) == {0}
    assert abs(shapely.area(pieces).sum() - holed.area) < 1e-6
    assert shapely.get_num_coordinates(pieces).max() <= 256 + 16


def test_subdivide_near_a_tree_keeps_exactly_the_pieces_that_could_meet_it():
    star = shapely.Polygon([(np.cos(t) * (100 + 40 * np.sin(9 * t)), np.sin(t) * (100 + 40 * np.sin(9 * t)))
                            for t in np.linspace(0, 2 * np.pi, 5000, endpoint=False)])
    small = shapely.box(500, 500, 510, 510)                       # already small: kept, near or not
    parcels = np.array([shapely.box(60, -5, 70, 5), shapely.box(-20, 120, -10, 130), None])
    tree = shapely.STRtree(parcels)
    every, every_owner = subdivide(np.array([star, small]), 64)
    kept, kept_owner = subdivide(np.array([star, small]), 64, near=tree)
    near = np.zeros(len(every), bool)
    near[tree.query(every)[0]] = True
    # the pieces kept are the full subdivision's pieces whose bounds meet a parcel's, vertex for vertex
    assert sorted(shapely.to_wkb(kept[kept_owner == 0]).tolist()) == \
        sorted(shapely.to_wkb(every[near & (every_owner == 0)]).tolist())
    assert 0 < (kept_owner == 0).sum() < (every_owner == 0).sum() / 4
    assert shapely.equals_identical(kept[kept_owner == 1], small).all()
    # so an overlay measures the same areas either way
    per_parcel = overlay_layer(parcels, np.array([star]), max_vertices=64).pairs.groupby("parcel")["overlap_m2"].sum()
    assert per_parcel.index.tolist() == [0, 1]
    np.testing.assert_allclose(per_parcel, shapely.area(shapely.intersection(parcels[:2], star)), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 90), st.floats(0, 90), st.floats(1, 30), st.floats(1, 30)), min_size=1,
                max_size=12), st.integers(0, 3))
def test_overlap_never_exceeds_parcel_and_ignores_order(boxes, rot):
    parcels = np.array([shapely.box(10, 10, 60, 60), shapely.box(40, 40, 100, 70)])
    layer = np.array([shapely.box(x, y, x + w, y + h) for x, y, w, h in boxes])
    ov = overlay_layer(parcels, layer, keep_pieces=True)
    got = ground_overlap(ov)
    assert (got <= shapely.area(parcels) + 1e-9).all()
    shuffled = np.roll(layer, rot)
    again = ground_overlap(overlay_layer(parcels, shuffled, keep_pieces=True))
    np.testing.assert_allclose(got, again, rtol=1e-12, atol=1e-9)
    exact = [shapely.intersection(p, shapely.union_all(layer)).area for p in parcels]
    np.testing.assert_allclose(got, exact, rtol=1e-9, atol=1e-9)


def test_threads_give_the_single_thread_result_and_leave_the_layer_unprepared():
    # 12 000 parcels under two large polygons: every large polygon is in thousands of pairs,
    # which span all thread chunks (a prepared geometry shared by two threads crashed GEOS)
    xs, ys = np.meshgrid(np.arange(120) * 10.0, np.arange(100) * 10.0)
    parcels = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 8, ys.ravel() + 8)
    layer = np.array([shapely.Point(300, 500).buffer(420, quad_segs=64),
                      shapely.box(605, -5, 1300, 1200).difference(shapely.box(900, 400, 1000, 600))])
    one = overlay_layer(parcels, layer, threads=1, max_vertices=0)
    for _ in range(3):
        two = overlay_layer(parcels, layer, threads=2, max_vertices=0)
        assert two.pairs.equals(one.pairs)
    assert not shapely.is_prepared(layer).any()
    assert len(one.pairs) > 9000 and one.pairs["contained"].sum() > 8000
    inside = shapely.intersection(parcels[:, None], layer[None, :])
    assert np.allclose(np.bincount(one.pairs["parcel"], one.pairs["overlap_m2"], minlength=len(parcels)),
                       shapely.area(inside).sum(axis=1), rtol=0, atol=1e-9)


def test_kept_pieces_are_the_exact_overlaps_whole_parcels_shared():
    parcels = np.array([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10), shapely.box(40, 0, 50, 10)])
    layer = np.array([shapely.box(-5, -5, 35, 20),      # holds parcels 0 and 1 wholly
                      shapely.box(45, 5, 60, 20)])      # cuts parcel 2: 5 × 5 m
    ov = overlay_layer(parcels, layer, keep_pieces=np.array([True, False]))
    assert ov.pairs[["parcel", "feature", "overlap_m2", "contained"]].values.tolist() == [
        [0, 0, 100.0, True], [1, 0, 100.0, True], [2, 1, 25.0, False]]
    pieces = ov.piece_geoms()
    assert pieces[0] is parcels[0] and pieces[1] is parcels[1]  # whole parcels are not copied
    assert pieces[2] is None                                     # feature 1's pieces were not asked for
    cut = overlay_layer(parcels, np.array([shapely.box(5, 5, 25, 20)]), keep_pieces=True)
    geoms = cut.piece_geoms(np.array([True, True]))
    assert [g.normalize().wkt for g in geoms] == [shapely.box(5, 5, 10, 10).normalize().wkt,
                                                  shapely.box(20, 5, 25, 10).normalize().wkt]
    assert cut.pieces[1].equals(geoms[1])


@pytest.mark.parametrize("where", ["every cut", "last cut"])
def test_subdivision_recuts_exactly_when_the_rectangle_clipper_returns_invalid_pieces(monkeypatch, where):
    # "every cut": the clipper later refuses its own invalid halves (GEOS raises);
    # "last cut": only the final small pieces are invalid, found by the one validity test
    star = shapely.Point(0, 0).buffer(1000, quad_segs=256)   # 1,025 vertices
    honest = shapely.clip_by_rect

    def spiky(geom, *bounds):  # the right area, but an invalid ring: a zero-area spike out and back
        out = honest(geom, *bounds)
        if out.geom_type != "Polygon" or out.is_empty or (where == "last cut" and len(out.exterior.coords) > 40):
            return out
        ring = list(out.exterior.coords)
        (x0, y0), (x1, y1) = ring[0], ring[1]
        spike = [ring[0], ((x0 + x1) / 2, (y0 + y1) / 2), (x0 + 3 * (x1 - x0), y0 + 3 * (y1 - y0)),
                 ((x0 + x1) / 2, (y0 + y1) / 2), *ring[1:]]
        return shapely.Polygon(spike, [list(r.coords) for r in out.interiors])

    monkeypatch.setattr(shapely, "clip_by_rect", spiky)
    assert not spiky(shapely.box(0, 0, 1, 1), -1, -1, 2, 2).is_valid
    pieces, owner = subdivide(np.array([star]), 64)
    assert shapely.is_valid(pieces).all() and set(owner) == {0}
    assert shapely.get_num_coordinates(pieces).max() <= 64 + 8
    assert abs(shapely.area(pieces).sum() - star.area) < 1e-6


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1))
def test_dominant_class_per_parcel_is_the_largest_area_ties_to_the_smaller_code(seed):
    from landgis.facts import dominant_rows

    rng = np.random.default_rng(seed)
    # class_areas' rows: one per (parcel, class), sorted by parcel then class; areas from a few
    # values, so that ties within a parcel are common
    key = np.unique(rng.integers(0, 30 * 12, 200))     # (parcel, class rank) pairs, sorted, distinct
    parcel, rank = key // 12, key % 12
    m2 = rng.choice([1.0, 2.5, 2.5, 7.0], len(parcel))
    want_order = np.lexsort((rank, -m2, parcel))
    want = want_order[np.r_[True, parcel[want_order][1:] != parcel[want_order][:-1]]]
    got = dominant_rows(parcel, m2, rank)
    assert got.tolist() == want.tolist()
    # rows in another order are sorted first, with the same answer
    shuffle = rng.permutation(len(parcel))
    assert shuffle[dominant_rows(parcel[shuffle], m2[shuffle], rank[shuffle])].tolist() == want.tolist()
    # an area that is not a number leaves its parcel a dominant row all the same, as lexsort does
    m2[rng.integers(0, len(m2))] = np.nan
    want_order = np.lexsort((rank, -m2, parcel))
    want = want_order[np.r_[True, parcel[want_order][1:] != parcel[want_order][:-1]]]
    assert dominant_rows(parcel, m2, rank).tolist() == want.tolist()


def test_kept_pieces_unioned_in_parallel_blocks_equal_geos_unions_parcel_by_parcel():
    # 400 parcels on a grid under a layer of overlapping discs: most parcels are cut by
    # several discs, some lie wholly in one, some meet none; blocks of 7 parcels run two at a time
    rng = np.random.default_rng(5)
    x, y = np.meshgrid(np.arange(20) * 12.0, np.arange(20) * 12.0)
    parcels = shapely.box(x.ravel(), y.ravel(), x.ravel() + 10, y.ravel() + 10)
    layer = shapely.buffer(shapely.points(rng.uniform(0, 240, (60, 2))), rng.uniform(4, 30, 60), quad_segs=6)
    ov = overlay_layer(parcels, layer, keep_pieces=True)
    sel = ov.pairs["feature"].to_numpy() % 3 != 0            # the pieces of two features in three
    hit, unions = union_kept_pieces(ov, sel, block_parcels=7)
    pairs = ov.pairs[sel]
    assert hit.tolist() == sorted(set(pairs["parcel"].tolist())) and len(hit) == 299
    expected = [shapely.union_all(shapely.intersection(parcels[p], layer[pairs["feature"][pairs["parcel"] == p]]))
                for p in hit]
    assert np.allclose(shapely.area(unions), shapely.area(expected), rtol=0, atol=1e-9)
    assert (shapely.area(shapely.symmetric_difference(unions, expected)) < 1e-9).all()
    serial = union_kept_pieces(ov, sel, block_parcels=7, threads=1)
    assert serial[0].tolist() == hit.tolist() and shapely.equals_identical(serial[1], unions).all()


def test_parcels_sharing_curved_edges_with_a_coverage_are_measured_as_geos_measures_them():
    """A disc of parcels (sectors: straight shared edges, an arc of 64 points) under a survey
    coverage cut from the same disc another way, and a farmland half-disc sharing the arc, at
    zone-prefixed eastings: every pair's area is GEOS's, and a parcel that only touches a patch
    (a shared edge, a shared point) makes no pair, though the clipper measures it near zero."""
    x0, y0 = 37_415_000.0, 2_785_000.0
    disc = shapely.Point(x0, y0).buffer(100, quad_segs=16)
    ring = np.asarray(disc.exterior.coords)[:-1]

    def sector(a: int, b: int) -> shapely.Polygon:
        return shapely.Polygon([(x0, y0), *ring[a:b + 1]])

    n = len(ring)
    parcels = np.array([sector(k, k + 8) for k in range(0, n - 8, 8)], dtype=object)   # convex sectors
    survey = np.array([sector(k, k + 16) for k in range(4, n - 16, 16)]
                      + [shapely.box(x0 - 300, y0 - 300, x0 + 300, y0 + 300).difference(disc)], dtype=object)
    farmland = np.array([shapely.Polygon([(x0, y0), *ring[: n // 2 + 1]])], dtype=object)
    for layer in (survey, farmland):
        ov = overlay_layer(parcels, layer)
        pairs = ov.pairs
        exact = shapely.area(shapely.intersection(parcels[pairs["parcel"]], layer[pairs["feature"]]))
        assert np.abs(pairs["overlap_m2"].to_numpy() - exact).max() < 1e-6
        # every pair of positive GEOS area is there, and no other
        i, j = np.meshgrid(np.arange(len(parcels)), np.arange(len(layer)), indexing="ij")
        every = shapely.area(shapely.intersection(parcels[i.ravel()], layer[j.ravel()]))
        expected = {(int(a), int(b)) for a, b, m2 in zip(i.ravel(), j.ravel(), every, strict=True) if m2 > 1e-6}
        assert set(zip(pairs["parcel"].tolist(), pairs["feature"].tolist(), strict=True)) == expected
    # the ring outside the disc touches every parcel along its arc: no pair
    assert not (overlay_layer(parcels, survey).pairs["feature"] == len(survey) - 1).any()
