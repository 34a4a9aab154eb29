"""Maps of a screening: the interactive web map (static maps and red-line sheets follow)."""

from landgis.maps.webmap import web_map

__all__ = ["web_map"]
