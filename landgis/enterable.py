"""Enterable area: the parcel less every part a rule excludes from entering the market.

A conflict source the profile marks ``excludes = true`` (``[[conflicts]]``: farmland,
red line, agricultural or unused survey classes, homesteads, planned urban housing,
planned uses the profile does not allow) cuts its pieces out of the parcel; what
is left could enter once the parcel's boundary is adjusted (调整宗地界线). Pieces exist
only where the rule fired (an overlap above the project's tolerance), so a sliver
below it is not cut. Made from the inventory and the conflict pieces, so both
engines give the same.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landgis.schema import usable_geometry

__all__ = ["enterable_parts", "piece_rows", "ENTERABLE_COLUMNS"]

#: what is left below this (m²) is floating-point residue of a cut, not land
_RESIDUE_M2 = 0.01
#: the inventory's enterable-area columns
ENTERABLE_COLUMNS = ("enterable_m2", "enterable_share")


def enterable_parts(inventory: gpd.GeoDataFrame, conflicts: gpd.GeoDataFrame,
                    excluding: Iterable[str]) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """(the enterable polygon of each parcel with some area left, as the layer ``enterable`` of
    screening.gpkg; the columns :data:`ENTERABLE_COLUMNS` for the inventory).

    ``excluding``: the rules whose conflict pieces are cut out. A parcel whose geometry
    cannot be used gets no enterable area (blank); one with nothing cut keeps its whole area.

    >>> parcels = gpd.GeoDataFrame({"parcel_id": ["A", "B"], "area_m2": [100.0, 100.0],
    ...     "geometry_status": ["ok", "ok"]}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)])
    >>> pieces = gpd.GeoDataFrame({"parcel_id": ["A", "A", "A"], "rule": ["FARMLAND", "NEG-AGRI", "UDB"]},
    ...     geometry=[shapely.box(0, 0, 4, 10), shapely.box(2, 0, 5, 10), shapely.box(0, 0, 10, 10)])
    >>> layer, cols = enterable_parts(parcels, pieces, ["FARMLAND", "NEG-AGRI"])
    >>> cols.values.tolist(), layer["parcel_id"].tolist()
    ([[50.0, 0.5], [100.0, 1.0]], ['A', 'B'])
    """
    geoms = np.asarray(inventory.geometry.values, dtype=object)
    usable = usable_geometry(inventory) if "geometry_status" in inventory else ~(
        shapely.is_missing(geoms) | shapely.is_empty(geoms))
    result = np.where(usable, geoms, None)
    cut = conflicts[conflicts["rule"].isin(list(excluding))] if len(conflicts) else conflicts
    if len(cut):
        row = piece_rows(inventory, cut)
        keep = (row >= 0) & ~shapely.is_missing(np.asarray(cut.geometry.values, dtype=object))
        rows, pieces = row[keep], np.asarray(cut.geometry.values, dtype=object)[keep]
        order = np.argsort(rows, kind="stable")
        rows, pieces = rows[order], pieces[order]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        counts = np.diff(np.r_[starts, len(rows)])
        # a piece is its parcel cut by a layer: one of the parcel's area and bounds (to the
        # millimetre) is all of it, and leaves nothing, without GEOS (which cuts a polygon from
        # its own copy slowly)
        same_area = np.abs(shapely.area(pieces) - shapely.area(result[rows])) <= _RESIDUE_M2
        same_box = (np.abs(shapely.bounds(pieces) - shapely.bounds(result[rows])) <= 1e-3).all(axis=1)
        whole = np.zeros(len(result), bool)
        whole[rows[same_area & same_box]] = True
        result[whole] = shapely.Polygon()
        # the others: each parcel's pieces united (the second piece of every parcel added at
        # once, then the third…), then cut from all the parcels at once
        rank = np.arange(len(rows)) - np.repeat(starts, counts)
        cutter = np.full(len(result), None, dtype=object)
        for k in range(int(counts.max())):
            sel = rank == k
            target = rows[sel]
            cutter[target] = pieces[sel] if k == 0 else shapely.union(cutter[target], pieces[sel])
        target = np.flatnonzero(~whole & ~shapely.is_missing(cutter))
        result[target] = shapely.difference(result[target], cutter[target])
        result = np.where(usable, _polygonal(result), None)
    m2 = np.where(usable, shapely.area(result), np.nan)
    # a difference of a piece that is all of its parcel but for floating-point residue leaves
    # specks of a few mm²: nothing is left
    m2 = np.where(m2 < _RESIDUE_M2, 0.0, m2)
    area = pd.to_numeric(inventory["area_m2"], errors="coerce").to_numpy(dtype=float) if "area_m2" in inventory \
        else shapely.area(geoms)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(area > 0, np.minimum(m2 / np.where(area > 0, area, 1.0), 1.0), np.nan)
    cols = pd.DataFrame({"enterable_m2": np.round(m2, 2), "enterable_share": np.round(share, 4)}, index=inventory.index)
    left = np.flatnonzero(usable & (np.nan_to_num(m2) > 0))
    layer = gpd.GeoDataFrame({"parcel_id": inventory["parcel_id"].to_numpy()[left],
                              "enterable_m2": np.round(m2[left], 2)},
                             geometry=list(result[left]), crs=inventory.crs)
    return layer, cols


def piece_rows(inventory: gpd.GeoDataFrame, pieces: gpd.GeoDataFrame) -> np.ndarray:
    """Each piece's parcel row, by position (-1: none): by ``parcel_id``; where several parcels share the
    id, the one the piece lies in (its ``point_on_surface``), else the first of them. The enterable
    area and the map both place conflict pieces so."""
    ids = inventory["parcel_id"].astype(object).reset_index(drop=True)
    first = pd.Series(np.arange(len(ids)), index=ids)
    first = first[~first.index.duplicated()]
    row = first.reindex(pieces["parcel_id"].astype(object).to_numpy()).fillna(-1).to_numpy(dtype=np.int64).copy()
    shared = set(ids[ids.duplicated(keep=False)])
    if shared:
        geoms = np.asarray(inventory.geometry.values, dtype=object)
        for k in np.flatnonzero(pieces["parcel_id"].astype(object).isin(shared).to_numpy()):
            same = np.flatnonzero((ids == pieces["parcel_id"].iat[k]).to_numpy())
            spot = shapely.point_on_surface(pieces.geometry.values[k])
            inside = same[shapely.intersects(geoms[same], spot)]
            row[k] = inside[0] if len(inside) else same[0]
    return row


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Polygonal parts only (a difference can leave lines or points where pieces touch the boundary)."""
    out = geoms.copy()
    mixed = np.flatnonzero(shapely.get_type_id(out) == 7)
    for i in mixed:
        parts = [p for p in shapely.get_parts(out[i]) if shapely.get_type_id(p) in (3, 6)]
        out[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    return out
