"""Loading inputs: duplicate and missing parcel ids keep every row; an InputError lists every fault."""

from __future__ import annotations

import pytest

import landgis
from landgis.errors import InputError
from tests.planted import X, feature, geojson, project_file, square

pytestmark = pytest.mark.filterwarnings("ignore::landgis.errors.SkippedRuleWarning")


def test_duplicate_and_missing_ids_keep_every_row(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X)), feature("A", square(X + 100)),
                                      feature(None, square(X + 200))])
    res = landgis.screen(project_file(tmp_path, "zd.geojson"))
    assert res.table["parcel_id"].tolist() == ["A", "A", "(row 3)"]
    text = " ".join(str(p) for p in res.problems)
    assert "2 parcels share an id" in text and "1 parcel(s) have no id" in text


def test_input_error_lists_everything(tmp_path):
    geojson(tmp_path / "zd.geojson", [feature("A", square(X))])
    path = project_file(tmp_path, "zd.geojson", '[layers.farmland]\npath = "a.gpkg"\n[layers.redline]\npath = "b.gpkg"\n')
    with pytest.raises(InputError) as exc:
        landgis.screen(path)
    assert "a.gpkg does not exist" in str(exc.value) and "b.gpkg does not exist" in str(exc.value)
