"""Overlay stage: the parcel × layer overlap table, exact and fast.

One spatial-index query per layer and one vectorised intersection give a long
table ``(parcel, feature, overlap_m2, contained)``; everything after it —
constraint overlaps, class breakdowns, dominant classes — is a group-by over
that table. How it stays fast on a county (see ``bench/``):

* the STR-tree is built on the parcels (once per screening) and queried by the
  bounding boxes of the layer's polygons; what boxes cannot tell is settled by the
  convex clipper below, or by GEOS predicates on polygons prepared once;
* a parcel lying wholly inside a polygon (``contains_properly``, prepared) gets
  its own area — no intersection is computed;
* polygons with more than ``max_vertices`` vertices (red lines of 50k vertices)
  are cut into pieces first, like PostGIS ``ST_Subdivide``; the pieces of one
  polygon do not overlap, so per-feature sums stay exact;
* a convex parcel's overlaps are measured by clipping in NumPy
  (:mod:`landgis.overlay.clip`), with no intersection geometry, and a clip that leaves no
  vertex proves the pair disjoint; so are a concave or holed parcel's, as signed
  convex parts (:func:`landgis.overlay.parts.clip_parts`: its hull less the pockets the hull
  adds, each cut again if concave). A piece the conflict layer needs is made later, only
  for the parcels it shows: for a convex parcel from the clipped vertices where they
  form a valid polygon (:func:`landgis.overlay.clip.convex_pieces`), else by GEOS;
* the remaining intersections run in threads over chunks (shapely releases the GIL).

Ground covered by several polygons of one layer (overlapping farmland patches)
is counted once: for a parcel touched by two or more features of a constraint
layer the pieces are unioned before measuring.

Examples
--------
A 10 × 10 parcel, half covered by one farmland patch and wholly by another
that overlaps the first: the overlap is the parcel's 100 m², not 150.

>>> import numpy as np, shapely
>>> parcels = np.array([shapely.box(0, 0, 10, 10)])
>>> farmland = np.array([shapely.box(0, 0, 5, 10), shapely.box(-1, -1, 11, 11)])
>>> ov = overlay_layer(parcels, farmland, keep_pieces=True)
>>> ov.pairs[["parcel", "feature", "overlap_m2", "contained"]].values.tolist()
[[0, 0, 50.0, False], [0, 1, 100.0, True]]
>>> float(ground_overlap(ov, 1)[0])
100.0
"""

from landgis.overlay.pieces import ground_overlap, ground_pieces, union_by_parcel, union_kept_pieces
from landgis.overlay.subdivide import MAX_VERTICES, subdivide
from landgis.overlay.table import LayerOverlay, class_areas, overlay_layer, parcel_index

__all__ = ["LayerOverlay", "overlay_layer", "parcel_index", "ground_overlap", "ground_pieces", "class_areas",
           "subdivide", "union_by_parcel", "union_kept_pieces", "MAX_VERTICES"]
