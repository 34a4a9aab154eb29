"""Code-table lookups: exact codes, adjustment letters, lost leading zeros, local sub-codes.

The lookup repairs codes; a repair must never invent a class. Unknown codes stay
unknown (``matched == ""``) so the "class codes not in the table" warning reports them.
"""

import pandas as pd
import pytest

from landgis.codes import CodeTable, code_table, normalize_codes


def _hit(table: str, code: object) -> tuple[str, str, str]:
    info = code_table(table).lookup(code)
    return info.matched, info.name, info.landcat


# --- bug 1: zero padding and prefixes never fall through to a group the padding made ---------------

@pytest.mark.parametrize("code", ["1301", "1302", "2301", "9999", "0000", "13", "1399", "001301", "000000"])
def test_unknown_survey_codes_stay_unknown(code):
    info = code_table("survey").lookup(code)
    assert (info.matched, info.name, info.landcat, info.known) == ("", "", "", False)
    assert info.code == code


@pytest.mark.parametrize("code,expected", [(201.0, ("0201", "果园", "agricultural")),
                                           ("203", ("0203", "橡胶园", "agricultural")),
                                           (204, ("0204", "其他园地", "agricultural"))])
def test_numeric_orchard_codes_keep_their_class(code, expected):
    # a DBF numeric DLBM stores 0201 as 201.0; the 城镇村属性码 201–205 are another field (CZCSXM)
    assert _hit("survey", code) == expected


@pytest.mark.parametrize("code", [1301, 1301.0, "1301.0", 9999.0, 205.0])
def test_unknown_numeric_survey_codes_stay_unknown(code):
    assert _hit("survey", code) == ("", "", "")


def test_unknown_codes_reach_the_warning_path():
    frame = code_table("survey").frame(["1301", "2301", "0702", "508", "0000"])
    assert frame["matched"].to_dict() == {"0000": "", "0702": "0702", "1301": "", "2301": "", "508": "0508"}
    assert frame.loc["1301", "landcat"] == ""


@pytest.mark.parametrize("table,code", [("survey_2009", "1301"), ("survey_2009", "9999"),
                                        ("survey_2009", "0000"), ("zoning", "9999"), ("zoning", "0000"),
                                        ("zoning", "2501"), ("zoning", "1601")])
def test_unknown_codes_in_other_tables(table, code):
    assert _hit(table, code) == ("", "", "")


# --- bug 2: codes a numeric DBF field stored (leading zeros lost) ------------------------------------

@pytest.mark.parametrize("table,code,expected", [
    ("survey_2009", "11", ("011", "水田", "agricultural")),       # not 11 水域及水利设施用地
    ("survey_2009", 11, ("011", "水田", "agricultural")),
    ("survey_2009", 11.0, ("011", "水田", "agricultural")),
    ("survey_2009", "12", ("012", "水浇地", "agricultural")),
    ("survey_2009", "72", ("072", "农村宅基地", "construction")),
    ("survey_2009", 61.0, ("061", "工业用地", "construction")),
    ("survey", 508.0, ("0508", "物流仓储用地", "construction")),
    ("survey", "508", ("0508", "物流仓储用地", "construction")),
    ("survey", 702, ("0702", "农村宅基地", "construction")),
    ("survey", "101", ("0101", "水田", "agricultural")),
    ("zoning", 901, ("0901", "商业用地", "")),
    ("zoning", "901", ("0901", "商业用地", "")),
    ("zoning", 90101.0, ("090101", "零售商业用地", "")),
    ("zoning", "703", ("0703", "农村宅基地", "")),
])
def test_numeric_codes_find_their_zero_padded_class(table, code, expected):
    assert _hit(table, code) == expected


def test_numeric_codes_keep_uses():
    zoning = code_table("zoning")
    assert zoning.lookup(901.0).use == "commercial"
    assert zoning.lookup("703").use == "homestead"
    assert code_table("survey").lookup("702").role == "homestead"


@pytest.mark.parametrize("table,code,expected", [
    ("survey_2009", "10", ("10", "交通运输用地", "construction")),   # no 010: the group itself
    ("survey_2009", "20", ("20", "城镇村及工矿用地", "construction")),  # not 02 园地 via a padded 020
    ("survey_2009", "1", ("01", "耕地", "agricultural")),
    ("survey", "11", ("11", "水域及水利设施用地", "unused")),         # 三调 has no 0011
    ("survey", "5", ("05", "商业服务业用地", "construction")),
    ("zoning", "11", ("11", "仓储用地", "")),
    ("zoning", "10", ("10", "工矿用地", "")),
])
def test_group_codes_without_a_padded_class(table, code, expected):
    assert _hit(table, code) == expected


@pytest.mark.parametrize("table,code,expected", [
    ("survey", "509", ""),       # 0509 is no class: not the group 05 the padding would half make
    ("survey", "811", ""),
    ("survey", "110", "11"),     # 0110 is no class either; as written, a local code under 11
    ("zoning", "808", ""),
    ("survey_2009", "130", ""),  # no 二调 class 0130: not 013 旱地
])
def test_padded_codes_find_only_classes(table, code, expected):
    assert code_table(table).lookup(code).matched == expected


def test_a_padded_local_code_takes_its_padded_parent():
    # 070199 (a local 保租房 code) stored as a number: 70199 → 070199 → 0701, not the group 07
    assert _hit("zoning", 70199.0)[0] == "0701"
    # 010199 stored as a number: 10199 → 0101 (the 5 digits are no zoning code), not 10 工矿用地
    assert _hit("zoning", "10199")[0] == "0101"


# --- documented behaviours that must keep working ------------------------------------------------------

@pytest.mark.parametrize("table,code,expected", [
    ("survey", "0201K", ("0201K", "可调整果园", "agricultural")),      # in the table itself
    ("survey", "0201X", ("0201", "果园", "agricultural")),            # an adjustment letter stripped
    ("survey", "0204k", ("0204K", "可调整其他园地", "agricultural")),
    ("survey", "05H1", ("05H1", "商业服务业设施用地", "construction")),
    ("survey", "08H2A", ("08H2A", "高教用地", "construction")),
    ("survey", "08H2B", ("08H2", "科教文卫用地", "construction")),
    ("survey", "0702", ("0702", "农村宅基地", "construction")),
    ("survey", "00", ("00", "湿地", "agricultural")),                 # the group itself is a code
    ("survey", "100301", ("1003", "公路用地", "construction")),       # a local sub-code
    ("survey", 100301.0, ("1003", "公路用地", "construction")),
    ("survey", "0199", ("01", "耕地", "agricultural")),               # a local code under a group
    ("survey", " 1006 ", ("1006", "农村道路", "agricultural")),
    ("survey", 1004.0, ("1004", "城镇村道路用地", "construction")),
    ("survey_2009", "011", ("011", "水田", "agricultural")),
    ("survey_2009", "203", ("203", "村庄", "construction")),
    ("survey_2009", 203.0, ("203", "村庄", "construction")),
    ("survey_2009", "0111", ("011", "水田", "agricultural")),
    ("survey_2009", "11", ("011", "水田", "agricultural")),
    ("zoning", "100199", ("1001", "工业用地", "")),
    ("zoning", "100101", ("100101", "一类工业用地", "")),
    ("zoning", "1001", ("1001", "工业用地", "")),
    ("zoning", "0901", ("0901", "商业用地", "")),
    ("zoning", "1301", ("1301", "供水用地", "")),
    ("zoning", "2301", ("2301", "空闲地", "")),
])
def test_documented_lookups(table, code, expected):
    assert _hit(table, code) == expected


def test_lookup_keeps_the_given_code():
    info = code_table("survey").lookup(508.0)
    assert (info.code, info.matched) == ("508", "0508")
    assert code_table("zoning").lookup("100199").use == "industrial"


def test_blank_codes_are_unknown():
    for code in ("", None, float("nan"), "  "):
        assert code_table("survey").lookup(code).matched == ""


def test_overrides_are_found_exactly_and_by_their_sub_codes():
    zoning = code_table("zoning")
    ov = type("Ov", (), {"name": "保障性租赁住房用地", "use": "rental_housing", "landcat": "", "role": ""})()
    table = zoning.with_overrides({"070199": ov})
    assert (table.lookup("070199").matched, table.lookup("070199").use) == ("070199", "rental_housing")
    assert table.lookup(70199.0).use == "rental_housing"
    assert table.lookup("0701").use == "urban_housing"
    survey = code_table("survey").with_overrides({"1301": type("Ov", (), {"name": "临时用地", "landcat": "unused",
                                                                           "use": "", "role": ""})()})
    assert (survey.lookup("1301").matched, survey.lookup("1301").landcat) == ("1301", "unused")
    assert survey.lookup("130101").matched == "1301"
    assert survey.lookup("1302").matched == ""


def test_a_table_built_from_rows():
    from landgis.codes import CodeInfo
    table = CodeTable("local", [CodeInfo("A1", "甲", "construction", matched="A1"),
                                CodeInfo("0101", "水田", "agricultural", matched="0101")])
    assert table.lookup("A1").matched == "A1"
    assert table.lookup("101").matched == "0101"
    assert table.lookup("B1").matched == ""


def test_normalize_codes():
    values = pd.Series([508.0, "0508", " 0702 ", None, 11, "0201k"], dtype=object)
    assert normalize_codes(values).tolist() == ["508", "0508", "0702", "", "11", "0201K"]
