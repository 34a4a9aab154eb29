"""The local engine: the whole pipeline in this process (threads for GEOS and GDAL)."""

from __future__ import annotations

from landgis import pipeline
from landgis._runtime import ProgressArg
from landgis.config import Project
from landgis.profiles import Profile
from landgis.result import ScreeningResult

__all__ = ["screen_local"]


def screen_local(project: Project, profile: Profile, *, strict: bool = False,
                 progress: ProgressArg = None) -> ScreeningResult:
    """Screen ``project`` under ``profile`` here; see :func:`landgis.screen`."""
    return pipeline.run(project, profile, strict=strict, progress=progress)
