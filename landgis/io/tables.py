"""Tables in and out: ``inventory.csv`` written through Arrow, an earlier inventory read back."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from landgis.errors import LandgisError

__all__ = ["write_csv", "read_inventory", "INVENTORY_KEY_COLUMNS"]


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 with BOM (Excel opens it right), ``\\n`` line ends, stable formatting.

    Written by Arrow's CSV writer (C++, no Python per cell): text is quoted, numbers are not, booleans are ``true``/``false``,
    missing values are empty. An object column Arrow cannot type (numbers mixed with
    text in a user's attribute) is written as text.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    columns = {str(name): arrow_column(frame[name]) for name in frame.columns}
    with open(path, "wb") as out:
        out.write(b"\xef\xbb\xbf")
        pa_csv.write_csv(pa.table(columns), out, pa_csv.WriteOptions(quoting_style="needed"))


#: the columns that make a table an inventory written by ``landgis screen``
INVENTORY_KEY_COLUMNS = ("parcel_id", "verdict", "reasons")


def read_inventory(path: str | Path, columns: Collection[str] | None = None,
                   areas: Collection[str] = ("area_m2", "area_mu", "farmland_m2", "redline_m2", "udb_m2")
                   ) -> pd.DataFrame:
    """The inventory of a finished screening: from its output folder, ``inventory.csv`` or ``screening.gpkg``.

    Text stays text as written (parcel ids and codes keep their leading zeros; an empty
    cell is ``""``); the ``areas`` columns are numbers. Only ``columns`` are read (default
    all). ``frame.attrs["label"]`` names the screening (its folder).

    Raises
    ------
    LandgisError
        when there is no such screening, or the file is not an inventory.
    """
    path = Path(path)
    if path.is_dir():
        csv, gpkg = path / "inventory.csv", path / "screening.gpkg"
        if not csv.exists() and not gpkg.exists():
            raise LandgisError(f"{path} holds neither inventory.csv nor screening.gpkg; give the --out folder of "
                               "`landgis screen`, or one of those files")
        path = csv if csv.exists() else gpkg
    if not path.exists():
        raise LandgisError(f"{path} does not exist; give the --out folder of `landgis screen`, its inventory.csv "
                           "or its screening.gpkg")
    wanted = None if columns is None else {*columns, *INVENTORY_KEY_COLUMNS}
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".gpkg"):
        raise LandgisError(f"{path.name} is not an inventory: give inventory.csv, screening.gpkg or their folder")
    try:
        if suffix == ".gpkg":
            fields = pyogrio.read_info(path, layer="parcels")["fields"]
            frame = pd.DataFrame(pyogrio.read_dataframe(
                path, layer="parcels", read_geometry=False,
                columns=[c for c in fields if wanted is None or c in wanted]))
            for col in frame.columns:
                if col not in areas and not pd.api.types.is_numeric_dtype(frame[col]):
                    frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                usecols=None if wanted is None else (lambda c: c in wanted))
    except Exception as exc:  # noqa: BLE001 - a file that is no inventory: say which and why
        raise LandgisError(f"cannot read the inventory {path}: {exc}") from None
    missing = [c for c in INVENTORY_KEY_COLUMNS if c not in frame]
    if missing:
        raise LandgisError(f"{path} has no column {', '.join(missing)}: it is not an inventory written by "
                           "`landgis screen`")
    for col in areas:
        if col in frame:
            frame[col] = pd.to_numeric(frame[col].replace("", np.nan), errors="coerce")
    frame.attrs["label"] = str(path.parent if path.name in ("inventory.csv", "screening.gpkg") else path)
    return frame


def arrow_column(col: pd.Series):
    """A column as an Arrow array; an object column Arrow cannot type (numbers mixed with
    text in a user's attribute) as text, missing values as nulls."""
    import pyarrow as pa

    try:
        return pa.array(col, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(col.map(lambda v: None if _missing(v) else str(v)), type=pa.string())


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array: not missing
        return False
