"""The convex clipper against GEOS: areas equal to 1e-6 m² on concave, holed, multi-part subjects."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landgis.overlay import overlay_layer
from landgis.overlay.clip import convex_overlap_areas, convex_overlaps, convex_pieces
from landgis.overlay.parts import clip_parts, convex_rings

# zone-prefixed Gauss-Krüger eastings (zone 37): the products must not lose the metres
X0, Y0 = 37_420_000.0, 2_790_000.0


def _star(cx: float, cy: float, radius: float, points: int, rng: np.random.Generator) -> shapely.Polygon:
    angle = np.sort(rng.uniform(0, 2 * np.pi, points))
    r = radius * rng.uniform(0.3, 1.0, points)
    return shapely.Polygon(np.column_stack([cx + r * np.cos(angle), cy + r * np.sin(angle)]))


def _subject(rng: np.random.Generator) -> shapely.Geometry:
    """A concave star, sometimes with a hole, sometimes two parts; made valid like a loaded layer."""
    g = shapely.make_valid(_star(X0 + rng.uniform(-30, 30), Y0 + rng.uniform(-30, 30), rng.uniform(5, 60),
                                 int(rng.integers(3, 40)), rng))
    if rng.random() < 0.3:
        c = g.representative_point()
        g = g.difference(shapely.Point(c.x, c.y).buffer(rng.uniform(0.5, 4)))
    if rng.random() < 0.3:
        g = g.union(shapely.box(X0 + 70, Y0 - 5, X0 + 80, Y0 + 5))
    return shapely.make_valid(g)


def _clip(rng: np.random.Generator) -> shapely.Geometry:
    """A convex parcel: the hull of random points, or a rotated rectangle."""
    if rng.random() < 0.5:
        pts = rng.uniform(-40, 40, (int(rng.integers(3, 30)), 2)) + [X0, Y0]
        return shapely.convex_hull(shapely.MultiPoint(pts))
    box = shapely.box(X0 - rng.uniform(1, 40), Y0 - rng.uniform(1, 40), X0 + rng.uniform(1, 40), Y0 + rng.uniform(1, 40))
    return shapely.affinity.rotate(box, rng.uniform(0, 180))


def _every_pair(n_clips: int, n_subjects: int) -> tuple[np.ndarray, np.ndarray]:
    """(clip, subject) positions of every pair."""
    ci, si = np.meshgrid(np.arange(n_clips), np.arange(n_subjects), indexing="ij")
    return ci.ravel(), si.ravel()


def _hooked(x: float, y: float) -> shapely.Geometry:
    """A 30 m square with an L-shaped slot cut in from its left side: the pocket its hull adds is concave."""
    slot = shapely.union(shapely.box(x - 1, y + 15, x + 20, y + 20), shapely.box(x + 15, y + 5, x + 20, y + 20))
    return shapely.box(x, y, x + 30, y + 30).difference(slot)


def _comb(x: float, y: float, teeth: int = 20) -> shapely.Polygon:
    """A bar with ``teeth`` teeth: a pocket between every two teeth."""
    top = [(x + 10 * i + dx, y + h) for i in range(teeth) for dx, h in ((0, 30), (5, 30), (5, 10), (10, 10))]
    return shapely.Polygon([(x, y), (x + 10 * teeth, y), *top[::-1][1:]])


def _non_convex(rng: np.random.Generator) -> shapely.Geometry:
    """A parcel that is not convex but is made of signed convex parts: an L, a C, a courtyard, a star,
    two parts, an L-shaped courtyard. Rotated, a C's notch corners no longer lie exactly on the
    hull's edge: its pocket carries thin spikes along the edge, cut again (its hull less two triangles)."""
    w, h = rng.uniform(10, 40), rng.uniform(10, 40)
    box = shapely.box(X0, Y0, X0 + w, Y0 + h)
    kind = rng.integers(0, 6)
    if kind == 0:      # an L: a corner cut away
        g = box.difference(shapely.box(X0 + w * rng.uniform(0.2, 0.8), Y0 + h * rng.uniform(0.2, 0.8), X0 + w + 1, Y0 + h + 1))
    elif kind == 1:    # a C: a notch through one side
        g = box.difference(shapely.box(X0 + w * 0.3, Y0 + h * 0.3, X0 + w + 1, Y0 + h * 0.7))
    elif kind == 2:    # a courtyard: a hole
        g = box.difference(shapely.box(X0 + w * 0.2, Y0 + h * 0.2, X0 + w * 0.6, Y0 + h * 0.7))
    elif kind == 3:    # a star, its points alternately far and near: a triangular pocket between two points
        k = 2 * int(rng.integers(3, 7))
        angle = np.arange(k) * 2 * np.pi / k
        r = np.where(np.arange(k) % 2 == 0, w / 2, w / 2 * rng.uniform(0.3, 0.8))
        g = shapely.Polygon(np.column_stack([X0 + w / 2 + r * np.cos(angle), Y0 + h / 2 + r * np.sin(angle)]))
    elif kind == 4:    # two convex parts
        g = shapely.MultiPolygon([box, shapely.box(X0 + w + 5, Y0, X0 + w + 15, Y0 + 10)])
    else:              # a concave (L-shaped) courtyard: its hull subtracts, its pocket adds back
        g = box.difference(shapely.box(X0 + w * 0.2, Y0 + h * 0.2, X0 + w * 0.8, Y0 + h * 0.8)
                           .difference(shapely.box(X0 + w * 0.5, Y0 + h * 0.5, X0 + w, Y0 + h)))
    return shapely.affinity.rotate(g, rng.uniform(0, 180), origin=(X0, Y0))


def test_planted_overlaps_have_their_exact_areas():
    # a right triangle parcel of 200 m² at zone-prefixed eastings, legs 20 m along x and y
    triangle = shapely.Polygon([(X0, Y0), (X0 + 20, Y0), (X0, Y0 + 20)])
    # x <= 10 with a 2 × 2 m hole inside the triangle: ∫0..10 (20 - x) dx - 4 = 146 m²
    holed = shapely.box(X0 - 10, Y0 - 10, X0 + 10, Y0 + 30).difference(shapely.box(X0 + 2, Y0 + 2, X0 + 4, Y0 + 4))
    # a C-shape whose notch (x 5..30, y 5..15) bites ∫5..15 (15 - x) dx = 50 m² out of the triangle: 150 m²
    c_shape = shapely.box(X0 - 5, Y0 - 5, X0 + 25, Y0 + 25).difference(shapely.box(X0 + 5, Y0 + 5, X0 + 30, Y0 + 15))
    # two parts: a 1 × 1 m square inside and a square beyond the hypotenuse: 1 m²
    two = shapely.MultiPolygon([shapely.box(X0 + 1, Y0 + 1, X0 + 2, Y0 + 2), shapely.box(X0 + 15, Y0 + 15, X0 + 18, Y0 + 18)])
    subjects = np.array([holed, c_shape, two], dtype=object)
    convex, cx, cy = convex_rings(np.array([triangle]))
    areas = convex_overlap_areas(cx, cy, np.zeros(3, np.int64), subjects, np.arange(3))
    assert areas.tolist() == [146.0, 150.0, 1.0]
    ov = overlay_layer(np.array([triangle]), subjects, keep_pieces=True)
    assert ov.pairs["overlap_m2"].tolist() == [146.0, 150.0, 1.0]
    assert [round(g.area, 9) for g in ov.piece_geoms()] == [146.0, 150.0, 1.0]   # cut when asked for


def _circle(cx: float, cy: float, r: float, n: int) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)])


def test_long_rings_lose_their_zone_runs_and_keep_their_exact_areas():
    from landgis.overlay.clip import _cull_zone_runs

    parcel = shapely.box(X0, Y0, X0 + 10, Y0 + 10)                      # 100 m²
    # 400 vertices around the parcel, none in its box: the parcel lies wholly inside
    around = shapely.Polygon(_circle(X0 + 5, Y0 + 5, 100, 400))
    # the same with a hole of 200 vertices that still holds the parcel: nothing of it is covered
    ring = shapely.Polygon(_circle(X0 + 5, Y0 + 5, 100, 400), [_circle(X0 + 5, Y0 + 5, 50, 200)])
    # a ring wholly right of the box, 300 vertices: proven disjoint
    beside = shapely.Polygon(_circle(X0 + 200, Y0 + 5, 20, 300))
    # round the box's lower-left corner: left of the box, below-left, below it, then 60 vertices far
    # away back to the start: the whole box is inside. The shortcut from the first vertex to the
    # third would cut off the box's corner below x + y = 4 m (8 m²), so the middle vertex must stay
    arc = [(X0 + 5 + 80 * np.cos(a), Y0 + 5 + 80 * np.sin(a)) for a in np.linspace(-0.2, 2.9, 60)]
    corner = shapely.Polygon([(X0 - 1, Y0 + 5), (X0 - 5, Y0 - 5), (X0 + 5, Y0 - 1), *arc])
    assert corner.is_valid
    subjects = np.array([around, ring, beside, corner], dtype=object)
    convex, cx, cy = convex_rings(np.array([parcel]))
    area, meets = convex_overlaps(cx, cy, np.zeros(4, np.int64), subjects, np.arange(4))
    want = shapely.area(shapely.intersection(parcel, subjects))
    assert want.tolist() == [100.0, 0.0, 0.0, 100.0]
    assert np.abs(area - want).max() < 1e-9
    assert meets.tolist() == [True, True, False, True]
    # what culling leaves: the 400-vertex ring around the box keeps the two ends of its run in each
    # of the eight zones; the corner path its three corner vertices and the ends of the arc's five zones
    for geom, most in ((around, 16), (corner, 13)):
        xy = shapely.get_coordinates(geom)[:-1] - [X0, Y0]
        x, y, n = _cull_zone_runs(xy[:, 0], xy[:, 1], np.array([len(xy)]), np.zeros(len(xy), np.int64),
                                  cx - X0, cy - Y0)
        assert n[0] <= most
        if geom is corner:
            assert [-5.0, -5.0] in np.column_stack([x, y]).tolist()


def _over_seeds(test):
    """A property test over 60 seeds of a NumPy generator (derandomized: the same seeds on every run)."""
    return settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])(given(st.integers(0, 2**32 - 1))(test))


@_over_seeds
def test_clipped_areas_equal_geos(seed):
    _clipped_areas_equal_geos(seed)


@_over_seeds
def test_clipped_areas_equal_geos_when_every_ring_is_culled_first(seed):
    import landgis.overlay.clip

    cull_above = landgis.overlay.clip._CULL_ABOVE
    landgis.overlay.clip._CULL_ABOVE = 0   # short rings too lose their zone runs before clipping
    try:
        _clipped_areas_equal_geos(seed)
    finally:
        landgis.overlay.clip._CULL_ABOVE = cull_above


def _clipped_areas_equal_geos(seed):
    rng = np.random.default_rng(seed)
    clips = np.array([_clip(rng) for _ in range(6)], dtype=object)
    subjects = np.array([_subject(rng) for _ in range(8)], dtype=object)
    convex, cx, cy = convex_rings(clips)
    assert convex.all()
    ci, si = _every_pair(len(clips), len(subjects))
    got = convex_overlap_areas(cx, cy, ci, subjects, si)
    want = shapely.area(shapely.intersection(clips[ci], subjects[si]))
    assert np.abs(got - want).max() < 1e-6


@_over_seeds
def test_clipped_pieces_are_valid_and_equal_geos_intersections(seed):
    rng = np.random.default_rng(seed)
    clips = np.array([_clip(rng) for _ in range(6)], dtype=object)
    # concave stars (some holed or in two parts) and convex hulls of them: the clipper makes the convex
    # ones' pieces always, the others' where no clip edge crosses them more than twice
    stars = [_subject(rng) for _ in range(6)]
    subjects = np.array(stars + [shapely.convex_hull(g) for g in stars], dtype=object)
    convex, cx, cy = convex_rings(clips)
    ci, si = _every_pair(len(clips), len(subjects))
    got = convex_pieces(cx, cy, ci, subjects, si)
    want = shapely.intersection(clips[ci], subjects[si])
    made = ~shapely.is_missing(got)
    assert shapely.is_valid(got[made]).all()
    assert shapely.get_type_id(got[made]).tolist() == [3] * int(made.sum())
    assert (shapely.area(shapely.symmetric_difference(got[made], want[made])) < 1e-6).all()
    # every convex subject's positive overlap is made (its intersection with a convex parcel is convex)
    hull_pair = si >= len(stars)
    assert made[hull_pair & (shapely.area(want) > 1e-6)].all()
    # a hole or a second part always goes to GEOS
    plain = shapely.get_num_interior_rings(subjects) == 0
    plain &= shapely.get_type_id(subjects) == 3
    assert not made[~plain[si]].any()


def test_pieces_the_clipper_cannot_make_are_left_to_geos():
    square = shapely.box(X0, Y0, X0 + 4, Y0 + 4)
    _, cx, cy = convex_rings(np.array([square]))
    cases = {
        # the parcel's top edge line crosses the U's legs four times: clipping alone would join the legs
        "U crossed four times": shapely.Polygon([(X0 + 1, Y0 - 1), (X0 + 2, Y0 - 1), (X0 + 2, Y0 + 5), (X0 + 3, Y0 + 5),
                                                 (X0 + 3, Y0 - 1), (X0 + 5, Y0 - 1), (X0 + 5, Y0 + 6), (X0 + 1, Y0 + 6)]),
        "hole inside the parcel": shapely.box(X0 - 1, Y0 - 1, X0 + 5, Y0 + 5).difference(
            shapely.box(X0 + 1, Y0 + 1, X0 + 2, Y0 + 2)),
        "only touching": shapely.box(X0 + 4, Y0, X0 + 6, Y0 + 4),
        # a vertex exactly on the parcel's right edge, the ring crossing it there: made, without a repeated vertex
        "cut at a vertex": shapely.Polygon([(X0 + 2, Y0 + 1), (X0 + 4, Y0 + 2), (X0 + 6, Y0 + 1), (X0 + 6, Y0 + 3),
                                            (X0 + 2, Y0 + 3)]),
    }
    got = convex_pieces(cx, cy, np.zeros(len(cases), np.int64), np.array(list(cases.values())), np.arange(len(cases)))
    made = dict(zip(cases, (g is not None for g in got), strict=True))
    assert made == {"U crossed four times": False, "hole inside the parcel": False, "only touching": False,
                    "cut at a vertex": True}
    cut = got[3]
    assert cut.area == 3.0 and cut.is_valid
    assert shapely.get_num_coordinates(cut) == 5   # (2,1) (4,2) (4,3) (2,3), closed; (4,2) not repeated


def test_only_convex_single_ring_polygons_are_clip_polygons():
    square = shapely.box(0, 0, 10, 10)
    cases = {
        "square": square,
        "square as a one-part multipolygon": shapely.MultiPolygon([square]),
        "square with a collinear extra vertex": shapely.Polygon([(0, 0), (5, 0), (10, 0), (10, 10), (0, 10)]),
        "clockwise triangle": shapely.Polygon([(0, 0), (0, 10), (10, 0)]),
        "L shape": shapely.Polygon([(0, 0), (10, 0), (10, 5), (5, 5), (5, 10), (0, 10)]),
        "square with a hole": square.difference(shapely.box(4, 4, 6, 6)),
        "two squares": shapely.MultiPolygon([square, shapely.box(20, 0, 30, 10)]),
        "empty": shapely.Polygon(),
        "missing": None,
    }
    convex, _, _ = convex_rings(np.array(list(cases.values()), dtype=object))
    assert dict(zip(cases, convex.tolist(), strict=True)) == {
        "square": True, "square as a one-part multipolygon": True, "square with a collinear extra vertex": True,
        "clockwise triangle": True, "L shape": False, "square with a hole": False, "two squares": False,
        "empty": False, "missing": False}


@pytest.mark.parametrize("keep", [False, True])
def test_overlay_with_the_clipper_equals_geos_and_cuts_kept_pieces_when_asked(keep):
    rng = np.random.default_rng(7)
    parcels = np.array([_clip(rng) for _ in range(40)]
                       + [shapely.Polygon([(X0, Y0), (X0 + 30, Y0), (X0 + 30, Y0 + 10), (X0 + 10, Y0 + 10),
                                           (X0 + 10, Y0 + 30), (X0, Y0 + 30)]),                # an L: hull less a pocket
                          shapely.box(X0 - 20, Y0 - 20, X0, Y0).difference(shapely.box(X0 - 15, Y0 - 15, X0 - 5, Y0 - 5)),
                          _hooked(X0 + 40, Y0 - 20),                            # a concave pocket: cut again
                          _comb(X0 - 250, Y0 + 40)], dtype=object)   # too many pockets: GEOS
    layer = np.array([_subject(rng) for _ in range(30)]
                     + [shapely.box(X0 + 30, Y0 - 50, X0 + 90, Y0 + 50),                # shares an edge
                        shapely.GeometryCollection([shapely.box(X0 - 5, Y0 - 5, X0 + 5, Y0 + 5),
                                                    shapely.LineString([(X0, Y0), (X0 + 50, Y0 + 50)])])],
                     dtype=object)   # a caller's collection: measured by GEOS
    ov = overlay_layer(parcels, layer, keep_pieces=keep)
    pi, li = np.meshgrid(np.arange(len(parcels)), np.arange(len(layer)), indexing="ij")
    exact = shapely.area(shapely.intersection(parcels[pi.ravel()], layer[li.ravel()]))
    positive = exact > 0
    want = sorted(zip(pi.ravel()[positive].tolist(), li.ravel()[positive].tolist(), strict=True))
    got = list(zip(ov.pairs["parcel"].tolist(), ov.pairs["feature"].tolist(), strict=True))
    assert got == want
    assert np.abs(ov.pairs["overlap_m2"].to_numpy() - exact[positive]).max() < 1e-6
    if keep:
        pieces = ov.piece_geoms()
        expected = shapely.intersection(parcels[ov.pairs["parcel"].to_numpy()], layer[ov.pairs["feature"].to_numpy()])
        whole = ov.pairs["contained"].to_numpy()
        assert shapely.equals(pieces[~whole], expected[~whole]).all()
        assert all(p is parcels[i] for p, i in zip(pieces[whole], ov.pairs["parcel"][whole], strict=True))
    else:
        assert not ov.has_pieces
        with pytest.raises(ValueError, match="kept no pieces"):
            ov.piece_geoms()


def test_clip_parts_cut_polygons_into_signed_convex_parts():
    square = shapely.box(0, 0, 10, 10)
    cases = {
        "square": square,
        "L shape": shapely.Polygon([(0, 0), (10, 0), (10, 5), (5, 5), (5, 10), (0, 10)]),
        "square with a hole": square.difference(shapely.box(4, 4, 6, 6)),
        "two squares": shapely.MultiPolygon([square, shapely.box(20, 0, 30, 10)]),
        "square with an L-shaped hole": square.difference(
            shapely.Polygon([(2, 2), (8, 2), (8, 5), (5, 5), (5, 8), (2, 8)])),
        "hooked slot": _hooked(0, 0),
        "comb of 20 teeth": _comb(0, 20),
        "bow tie (invalid)": shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]),
        "missing": None,
    }
    parts = clip_parts(np.array(list(cases.values()), dtype=object))
    signs = {name: parts.sign[parts.first[i]: parts.first[i] + parts.count[i]].tolist()
             for i, name in enumerate(cases)}
    assert signs == {"square": [1.0], "L shape": [1.0, -1.0], "square with a hole": [1.0, -1.0],
                     "two squares": [1.0, 1.0], "square with an L-shaped hole": [1.0, -1.0, 1.0],
                     "hooked slot": [1.0, -1.0, 1.0], "comb of 20 teeth": [], "bow tie (invalid)": [],
                     "missing": []}
    assert parts.convex.tolist() == [True] + [False] * 8   # only a convex ring's pieces are cut by clipping
    # the parts add up to each polygon: the overlap with a box over all of it is its area
    measured = np.flatnonzero(parts.clipped)
    area, meets = parts.overlaps(measured, np.array([shapely.box(-1, -1, 31, 31)]), np.zeros(len(measured), np.int64))
    assert area.tolist() == [100.0, 75.0, 96.0, 200.0, 73.0, 750.0] and meets.all()


@_over_seeds
def test_areas_from_signed_convex_parts_equal_geos(seed):
    rng = np.random.default_rng(seed)
    parcels = np.array([_non_convex(rng) for _ in range(6)], dtype=object)
    subjects = np.array([_subject(rng) for _ in range(8)], dtype=object)
    parts = clip_parts(parcels)
    assert parts.clipped.all()
    ci, si = _every_pair(len(parcels), len(subjects))
    area, meets = parts.overlaps(ci, subjects, si)
    want = shapely.intersection(parcels[ci], subjects[si])
    assert np.abs(area - shapely.area(want)).max() < 1e-6
    assert meets[~shapely.is_empty(want)].all()   # never "disjoint" where they meet


def test_convex_parcels_with_boundary_points_are_clipped_exactly_by_the_fast_path():
    """Real 宗地 carry a neighbour's corner (界址点) on their straight edges, a hair off the line at
    the millimetre of register coordinates: convex but for those points. Each is its hull less sliver
    pockets found in NumPy (each pocket a fan of signed triangles), so the NumPy clipper measures it,
    exactly, with no GEOS overlay."""
    from landgis.overlay.parts import chain_pockets

    rng = np.random.default_rng(7)
    parcels = []
    for _ in range(300):
        w, h, a = rng.uniform(15, 40), rng.uniform(15, 40), rng.uniform(0, np.pi)
        corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
        ring = []
        for k in range(4):
            p, q = corners[k], corners[(k + 1) % 4]
            ring.append(p)
            ring += [p + s * (q - p) for s in np.sort(rng.uniform(0.1, 0.9, rng.integers(1, 4)))]
        rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
        parcels.append(shapely.Polygon(np.round(np.array(ring) @ rot + [39_420_000.0, 2_790_000.0], 3)))
    parcels = np.array(parcels)
    convex, _, _ = convex_rings(parcels)
    assert convex.sum() < 10                          # the hull test alone finds almost none convex
    done, *_ = chain_pockets(parcels)
    parts = clip_parts(parcels)
    assert done.all() and parts.clipped.all()         # every one measured by clipping
    subjects = shapely.box(39_420_000.0 - 25, 2_790_000.0 - 25, 39_420_000.0 + rng.uniform(-10, 10, 300),
                           2_790_000.0 + rng.uniform(-10, 10, 300))
    area, _ = parts.overlaps(np.arange(300), subjects, np.arange(300))
    exact = shapely.area(shapely.intersection(parcels, subjects))
    assert np.abs(area - exact).max() < 1e-6
