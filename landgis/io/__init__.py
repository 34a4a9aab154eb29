"""Reading input layers and writing outputs — the only package that knows paths, drivers and encodings.

* :mod:`~landgis.io.sources` — vector layers from GeoPackage, Shapefile (also in a .zip),
  GeoJSON, File Geodatabase…; zips read in place through ``/vsizip/``;
* :mod:`~landgis.io.dbf` — a shapefile's text encoding (GBK without ``.cpg`` is normal);
* :mod:`~landgis.io.notes_zh` — what reading assumed, in Chinese for the 数据问题 sheet;
* :mod:`~landgis.io.output` — the output folder, written whole or not at all;
* :mod:`~landgis.io.tables` — ``inventory.csv`` out, an earlier inventory in;
* :mod:`~landgis.io.gpkg` — ``screening.gpkg`` through GDAL's Arrow writer;
* :mod:`~landgis.io.xlsx` — a streaming XLSX writer.
"""

from landgis.io.gpkg import GPKG_WRITE_CONFIG, gdal_config, multipolygon_wkb, write_gpkg
from landgis.io.notes_zh import note_zh
from landgis.io.output import DRAWN_NAMES, OUTPUT_NAMES, check_output_dir, output_dir, writing, written_whole
from landgis.io.sources import list_source_layers, read_vector, resolve_source
from landgis.io.tables import INVENTORY_KEY_COLUMNS, read_inventory, write_csv

__all__ = ["read_vector", "list_source_layers", "resolve_source", "output_dir", "check_output_dir", "OUTPUT_NAMES",
           "DRAWN_NAMES", "written_whole", "writing", "write_csv", "read_inventory", "INVENTORY_KEY_COLUMNS", "write_gpkg", "multipolygon_wkb",
           "gdal_config", "GPKG_WRITE_CONFIG", "note_zh"]
