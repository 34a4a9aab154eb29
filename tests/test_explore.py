"""result.explore(): a folium.Map in geopandas' .explore() conventions, bounded on a county."""

from __future__ import annotations

import json

import folium
import pytest

from landgis.errors import LandgisError


def _names(m: folium.Map) -> list[str]:
    """The names of the map's overlay layers, as its layer control lists them."""
    return [child.layer_name for child in m._children.values() if getattr(child, "layer_name", None)
            and getattr(child, "overlay", False)]


def test_parcels_by_verdict_with_a_legend_and_the_constraint_layers(sample_result):
    m = sample_result.explore(tiles=None)
    assert isinstance(m, folium.Map)
    assert _names(m) == ["永久基本农田", "生态保护红线", "城镇开发边界", "冲突部分", "入市地块（按结论）"]
    html = m.get_root().render()
    assert "筛查结论" in html  # the legend's caption
    for label in ("可入市", "有条件入市", "不可入市"):
        assert label in html or json.dumps(label)[1:-1] in html
    assert "openstreetmap" not in html.lower()  # tiles=None: no basemap requested
    alone = sample_result.explore(tiles=None, conflicts=False).get_root().render()
    assert alone.count('"parcel_id": "450399') == 416  # every parcel but the 2 of no usable geometry


def test_m_adds_to_a_map_of_ones_own_and_returns_it(sample_result):
    own = folium.Map(tiles=None)
    folium.Marker([25.2, 110.2], tooltip="mine").add_to(own)
    back = sample_result.explore(own, parcels=sample_result.inventory["town"] == "城关镇", column="planned_use_tag",
                                 constraints=False, conflicts=False)
    assert back is own
    assert _names(own) == ["入市地块（按 planned_use_tag）"]
    html = own.get_root().render()
    assert "mine" in html
    towns = sample_result.inventory.set_index("parcel_id")["town"]
    drawn = [pid for pid in towns.index if f'"parcel_id": "{pid}"' in html]
    assert drawn and set(towns[drawn]) == {"城关镇"}


def test_a_county_is_simplified_then_refused_with_how_to_choose(sample_result, monkeypatch):
    import landgis.maps.explore as ex

    full = sample_result.explore(tiles=None, constraints=False, conflicts=False).get_root().render()
    monkeypatch.setattr(ex, "SIMPLIFY_ABOVE", 100)
    simple = sample_result.explore(tiles=None, constraints=False, conflicts=False).get_root().render()
    assert len(simple) < len(full)
    monkeypatch.setattr(ex, "MAX_PARCELS", 100)
    with pytest.raises(LandgisError, match=r"416 parcels are more than a folium map carries well \(100\); draw some: "
                                           r"result.explore\(parcels=result.inventory\['town'\] == '城关镇'\)"):
        sample_result.explore()
    assert sample_result.explore(parcels=["450399100004JC00021"], tiles=None) is not None
