"""Execution engines for :func:`landgis.screen`.

``local`` (the default) screens in this process; ``dask`` (:mod:`landgis.engines.dask`,
``pip install 'landgis[dask]'``) splits the parcels into spatial tiles and screens
each on a dask.distributed worker that reads its own window of every layer.
"""

ENGINES = ("local", "dask")

__all__ = ["ENGINES"]
