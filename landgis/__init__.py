"""landgis — screen rural collective construction parcels for market entry.

农村集体经营性建设用地入市筛查: load cadastral, survey (三调, 二调) and planning
layers, overlay parcels with permanent basic farmland, the ecological red line,
the urban development boundary and planned use, flag historical-legacy land,
and export inventories and maps.

>>> import landgis
>>> result = landgis.screen("data/sample_county.toml")        # doctest: +SKIP
>>> result.write("out", overwrite=True)                         # doctest: +SKIP
"""

__version__ = "0.1.0"

from landgis.comparison import Comparison, compare
from landgis.config import Project, load_project
from landgis.errors import InputError, LandgisError, Problem
from landgis.profiles import Profile, builtin_profiles, load_profile
from landgis.screening import ScreeningResult, screen

__all__ = [
    "__version__",
    "screen",
    "ScreeningResult",
    "compare",
    "Comparison",
    "load_project",
    "Project",
    "load_profile",
    "builtin_profiles",
    "Profile",
    "Problem",
    "LandgisError",
    "InputError",
]
