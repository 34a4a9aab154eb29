"""Maps of a screening: the interactive web map, static overview maps and red-line sheets.

All three take a :class:`~landgis.result.ScreeningResult` or a :class:`MapData`
(what :func:`read_screening` gives back from a finished screening folder).
"""

from landgis.maps._data import MapData, map_data, read_screening
from landgis.maps.webmap import WebMap, web_map

__all__ = ["web_map", "WebMap", "MapData", "map_data", "read_screening", "overview_map", "redline_sheets",
           "boundary_points"]


def __getattr__(name: str):  # matplotlib is imported only when a static map is asked for
    if name == "overview_map":
        from landgis.maps.static import overview_map
        return overview_map
    if name in ("redline_sheets", "boundary_points"):
        from landgis.maps import redline
        return getattr(redline, name)
    raise AttributeError(name)
