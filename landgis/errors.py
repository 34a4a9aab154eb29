"""Exceptions and warnings raised by landgis.

Every exception derives from :class:`LandgisError` and also from the built-in
exception a caller would naturally catch (``ValueError``, ``OSError``), so
``except ValueError`` keeps working for code that does not know landgis.

Warnings are named classes so that a user can accept exactly what they accept::

    import warnings
    from landgis.errors import GeometryRepairWarning
    warnings.simplefilter("ignore", GeometryRepairWarning)
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "LandgisError",
    "ProjectError",
    "ProfileError",
    "LayerError",
    "InputError",
    "OutputError",
    "Problem",
    "LandgisWarning",
    "GeometryRepairWarning",
    "DatumShiftWarning",
    "CRSGuessWarning",
    "EncodingGuessWarning",
    "SkippedRuleWarning",
    "DataQualityWarning",
    "GdalWriteError",
    "FontError",
    "listed_features",
    "warn_problem",
    "Collected",
]


class LandgisError(Exception):
    """Base class of every error landgis raises on purpose."""


class ProjectError(LandgisError, ValueError):
    """The project file is missing, malformed or inconsistent."""


class ProfileError(LandgisError, ValueError):
    """A rule profile is malformed (unknown key, wrong type, unknown fact…)."""


class LayerError(LandgisError, ValueError):
    """A layer cannot be read or used (missing file, field, CRS…)."""


class OutputError(LandgisError, OSError):
    """An output cannot be written (exists, read-only, is a file…)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in the inputs.

    ``severity`` is ``"error"`` (screening cannot proceed), ``"warning"``
    (screening proceeds, the result may need a look) or ``"info"`` (a repair or
    assumption that was made and should be visible).
    """

    severity: str
    layer: str
    message: str
    field: str = ""
    features: str = ""
    #: the message as the Chinese sheets say it (数据问题); ``message`` where none is given
    message_zh: str = ""

    def __str__(self) -> str:
        where = f"layer `{self.layer}`" if self.layer else "project"
        if self.field:
            where += f", field `{self.field}`"
        if self.features:
            where += f", features {self.features}"
        return f"{self.severity}: {where}: {self.message}"


class InputError(LandgisError, ValueError):
    """One or more input problems of severity ``error``; all are reported at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [str(p) for p in errors] or [str(p) for p in self.problems]
        head = f"{len(errors)} input problem(s) prevent screening:" if errors else "input problems:"
        super().__init__("\n".join([head, *("  - " + line for line in lines)]))


class GdalWriteError(LandgisError, RuntimeError):
    """GDAL refused a step of an output's write; the message is GDAL's."""


class FontError(LandgisError, RuntimeError):
    """No Chinese (CJK) font for the static maps and red-line sheets."""


class LandgisWarning(UserWarning):
    """Base class of every warning landgis emits."""


class GeometryRepairWarning(LandgisWarning):
    """Invalid geometries were repaired (or could not be)."""


class DatumShiftWarning(LandgisWarning):
    """A datum change was done with a ballpark (metre-level or worse) shift."""


class CRSGuessWarning(LandgisWarning):
    """A layer's CRS was inferred from its coordinates, not declared."""


class EncodingGuessWarning(LandgisWarning):
    """A shapefile's text encoding was detected, not declared."""


class SkippedRuleWarning(LandgisWarning):
    """A rule could not be checked because the data it needs is missing."""


class PolicyExpiredWarning(LandgisWarning):
    """The profile's policy document was in force until a day before the screening."""


class DataQualityWarning(LandgisWarning):
    """The data is usable but something in it needs an analyst's look."""


def listed_features(frame: pd.DataFrame, mask: np.ndarray | pd.Series, id_col: str | None, limit: int = 8) -> str:
    """The ids of the features ``mask`` selects, for a message: ``a, b, c and 5 more`` (``#n`` without ids)."""
    idx = np.flatnonzero(np.asarray(mask))
    if id_col is not None and id_col in frame:
        labels = [str(v) for v in frame[id_col].iloc[idx[:limit]]]
    else:
        labels = [f"#{i + 1}" for i in idx[:limit]]
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return ", ".join(labels) + more


def warn_problem(problems: list[Problem], role: str, msg: str, category: type[Warning], msg_zh: str = "") -> None:
    """Record a warning about layer ``role`` in ``problems`` (``msg_zh`` for the Chinese sheets) and
    issue it as ``category``."""
    problems.append(Problem("warning", role, msg, message_zh=msg_zh))
    warnings.warn(f"layer `{role}`: {msg}", category, stacklevel=4)


class Collected:
    """The problems of one file (a project, a profile), collected so that all are said at once.

    >>> found = Collected(ProjectError, "the project file")
    >>> with found.check():
    ...     raise ProjectError("a")
    >>> with found.check():
    ...     raise ProjectError("b")
    >>> found.raise_all()
    Traceback (most recent call last):
    ...
    landgis.errors.ProjectError: 2 problems in the project file:
      - a
      - b
    """

    def __init__(self, error: type[LandgisError], what: str) -> None:
        self.error, self.what = error, what
        self.messages: list[str] = []

    @contextlib.contextmanager
    def check(self) -> Iterator[None]:
        """A block whose ``error`` is recorded, and the next block run."""
        try:
            yield
        except self.error as exc:
            self.messages.append(str(exc))

    def raise_all(self) -> None:
        """One ``error`` saying every problem recorded (the message itself when there is one)."""
        if len(self.messages) == 1:
            raise self.error(self.messages[0])
        if self.messages:
            raise self.error(f"{len(self.messages)} problems in {self.what}:\n"
                             + "\n".join(f"  - {m}" for m in self.messages))
