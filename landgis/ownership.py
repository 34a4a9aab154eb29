"""Ownership facts: collective or state land, from the parcel's 权属性质 or, failing it, the survey's.

``collective`` is the parcel's own QSXZ where valid; a parcel without one is state land when
the current survey's state land under it is above tolerance, and of unknown ownership when the
survey covers no more than a sliver of it; ``collective_basis`` says which, with the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from landgis.codes import normalize_codes
from landgis.distinct import map_distinct
from landgis.fields import ownership_collective
from landgis.overlay import LayerOverlay, class_areas

__all__ = ["parcel_ownership", "ownership_facts", "state_land"]


def state_land(survey: gpd.GeoDataFrame, overlay: LayerOverlay, n: int) -> np.ndarray:
    """Per parcel, the survey's state land under it (m²).

    权属性质 is read as the parcels' is (:func:`~landgis.fields.ownership_collective`, each
    distinct value once): 10–29 or text naming 国有 is state land; a DBF's numeric 10.0 reads as "10".
    """
    collective = ownership_collective(normalize_codes(survey["ownership"]))
    state = collective.eq(False).fillna(False).to_numpy(dtype=bool)
    st = class_areas(overlay, state)
    st = st[st["class"].astype(bool)]
    return np.bincount(st["parcel"], weights=st["overlap_m2"], minlength=n)


def parcel_ownership(ownership: pd.Series) -> pd.Series:
    """The parcels' 权属性质 as collective (True), state (False) or unknown (NA).

    Codes are normalised as class codes are (:func:`~landgis.codes.normalize_codes`:
    an Excel round trip's ``"20.0"``, a DBF's ``30.0``), then read as the loader reads
    them: 30–34, 40 or text naming 集体 are collective; 10–29 or 国有 are state.

    >>> parcel_ownership(pd.Series(["20.0", 30.0, " 10 ", "集体土地所有权", "", None, "99"])).tolist()
    [False, True, False, True, <NA>, <NA>, <NA>]
    """
    return ownership_collective(normalize_codes(ownership).reset_index(drop=True)).set_axis(ownership.index)


def ownership_facts(parcels: gpd.GeoDataFrame, measured: Mapping[str, Any], unavailable: dict[str, str],
                     tolerance: float) -> dict[str, Any]:
    """``collective`` and ``collective_basis``: the parcel's own QSXZ where valid, else the survey's, per parcel.

    ``measured`` holds the facts measured so far (``area_m2``, ``survey_state_m2``, ``survey_covered_m2``).
    """
    n = len(parcels)
    if "ownership" in parcels:
        codes = normalize_codes(parcels["ownership"])
        own = pd.array(parcel_ownership(parcels["ownership"]).to_numpy(), dtype="boolean")
    else:  # a frame made without the loader may carry the parsed flag alone
        codes = pd.Series("", index=parcels.index, dtype=object)
        own = pd.array(parcels["collective"].to_numpy() if "collective" in parcels else [pd.NA] * n, dtype="boolean")
    by_parcel = ~own.isna()
    has_survey = "survey_state_m2" in measured
    if not by_parcel.any() and not has_survey:
        unavailable["collective"] = "neither the parcels (QSXZ) nor the survey layer give the ownership"
        return {}
    collective = own.copy()
    # the texts are made once per distinct (code, reading); a county has a handful
    read = pd.Series(np.where(by_parcel, np.where(own.fillna(False).to_numpy(bool), "集体", "国有"), ""),
                     index=parcels.index, dtype=object)
    key = codes.astype(str) + "|" + read
    basis = map_distinct(key, _ownership_text, missing="")
    if has_survey:
        # a parcel without a valid QSXZ: state land above tolerance is not collective; one the
        # survey covers no more than a sliver of has no known ownership
        area = np.asarray(measured["area_m2"])
        state = np.asarray(measured["survey_state_m2"])
        covered = np.asarray(measured["survey_covered_m2"]) if "survey_covered_m2" in measured else area
        todo = ~by_parcel & (area > 0)
        decided = todo & ((state > tolerance) | (covered > tolerance))
        collective[decided] = state[decided] <= tolerance
        share = np.where(area > 0, np.minimum(state / np.where(area > 0, area, 1), 1.0), 0.0)
        rows = np.flatnonzero(decided)
        basis[rows] = [f"{b}；三调国有土地 {m2:.2f} m²（{s * 100:.1f}%）"
                       for b, m2, s in zip(basis[rows], state[rows], share[rows], strict=True)]
        blind = np.flatnonzero(todo & ~decided)
        basis[blind] = [f"{b}；三调未覆盖，权属未知" for b in basis[blind]]
    return {"collective": collective, "collective_basis": basis}


def _ownership_text(key: str) -> str:
    """The basis text of a ``"code|reading"`` key.

    >>> _ownership_text("20|国有"), _ownership_text("99|"), _ownership_text("|")
    ('宗地权属性质 20（国有）', '宗地权属性质 99 无法识别', '宗地未填权属性质')
    """
    code, _, read = key.rpartition("|")
    if read:
        return f"宗地权属性质 {code}（{read}）" if code else f"宗地权属{read}"
    return f"宗地权属性质 {code} 无法识别" if code else "宗地未填权属性质"
