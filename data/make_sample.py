#!/usr/bin/env python3
"""Deterministic generator for the landgis sample county 「桂南县」 (450399).

    python data/make_sample.py          # (re)writes data/sample_county.gpkg

Everything is derived from one numpy RNG with a fixed seed; no network access.
The planted test cases are listed as data in ``PLANTED`` below; after writing the
GeoPackage the script re-reads it, verifies every planted relation (and that every
un-planted parcel is clean), prints the measured overlap areas and refreshes the
planted-case table in ``data/README.md`` (between the BEGIN/END PLANTED markers).

Layout: a fictional county in CGCS2000 / 3-degree GK CM 111E (EPSG:4546),
x 414000-426000, y 2785000-2795000 (12 km x 10 km), four towns in quadrants.
"""
from __future__ import annotations

import math
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

# --------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------
SEED = 450399
CRS = "EPSG:4546"
HERE = Path(__file__).resolve().parent
OUT = HERE / "sample_county.gpkg"
README = HERE / "README.md"

X0, Y0, X1, Y1 = 414000.0, 2785000.0, 426000.0, 2795000.0
EXTENT = box(X0, Y0, X1, Y1)
COUNTY = "450399"
CTRL_BUF = 3.0  # parcel footprints are cut into the coverages buffered by this many metres

TOWNS = {  # name: (9-digit code, town seat, seat-zone radius)
    "城关镇": ("450399100", (417800.0, 2791200.0), 720.0),
    "五通镇": ("450399101", (423200.0, 2791300.0), 600.0),
    "会仙镇": ("450399102", (416800.0, 2788300.0), 650.0),
    "两江镇": ("450399103", (423000.0, 2788200.0), 600.0),
}
VILLAGES = [  # town, 3-digit suffix, name, centre
    ("城关镇", "001", "大塘村", (415200.0, 2792300.0)),
    ("城关镇", "002", "新寨村", (419000.0, 2792400.0)),
    ("城关镇", "003", "石门村", (415300.0, 2790650.0)),
    ("城关镇", "004", "龙岩村", (419100.0, 2790650.0)),
    ("五通镇", "001", "白沙村", (421300.0, 2792300.0)),
    ("五通镇", "002", "社山村", (425000.0, 2792400.0)),
    ("五通镇", "003", "东庄村", (421350.0, 2790700.0)),
    ("五通镇", "004", "三合村", (425100.0, 2790600.0)),
    ("会仙镇", "001", "四联村", (415000.0, 2789300.0)),
    ("会仙镇", "002", "古桥村", (418800.0, 2789150.0)),
    ("会仙镇", "003", "莲塘村", (415300.0, 2787100.0)),
    ("两江镇", "001", "高田村", (421300.0, 2789250.0)),
    ("两江镇", "002", "凤凰村", (425000.0, 2789300.0)),
    ("两江镇", "003", "黄泥村", (421500.0, 2787350.0)),
]
UDB_TOWNS = {"城关镇": 880.0, "两江镇": 720.0}  # towns whose seat has a 城镇开发边界 (radius)
MINING = [(424900.0, 2794200.0), (415700.0, 2785700.0)]
TUN = ["上屯", "下屯", "老屋屯", "新屯", "岭脚屯", "塘边屯", "桥头屯", "坡头屯", "大岭屯", "水口屯"]
CN_NUM = "一二三四五六七八九十"

HIGHWAYS = [  # (name, width m, vertices) -> 三调 1003 公路用地
    ("县道X501", 12.0, [(414000, 2790900), (416000, 2791050), (417800, 2791200), (420000, 2791000),
                       (421800, 2791150), (423200, 2791300), (426000, 2791700)]),
    ("县道X502", 10.0, [(417800, 2791200), (417300, 2789800), (416800, 2788300), (418500, 2788000),
                       (420000, 2788100), (421500, 2788250), (423000, 2788200), (426000, 2787800)]),
    ("乡道Y301", 10.0, [(423200, 2791300), (423350, 2789800), (423000, 2788200)]),
    ("乡道Y302", 8.0, [(416800, 2788300), (415400, 2788150), (414000, 2788000)]),
]
RURAL_ROAD_WIDTH = 5.0  # 三调 1006 农村道路

# ---- classification tables ------------------------------------------------------------
DLMC = {  # 三调 (GB/T 21010-2017 + 三调工作分类)
    "0101": "水田", "0102": "水浇地", "0103": "旱地", "0201": "果园", "0301": "乔木林地",
    "0307": "其他林地", "0404": "其他草地", "1006": "农村道路", "1104": "坑塘水面", "1107": "沟渠",
    "0701": "城镇住宅用地", "0702": "农村宅基地", "05H1": "商业服务业设施用地", "0508": "物流仓储用地",
    "0601": "工业用地", "0602": "采矿用地", "08H2": "科教文卫用地", "1003": "公路用地",
    "1004": "城镇村道路用地", "1201": "空闲地",
}
DLMC_2009 = {  # 二调 (TD/T 1010-2007 / GB/T 21010-2007 based)
    "011": "水田", "013": "旱地", "021": "果园", "031": "有林地", "102": "公路用地", "104": "农村道路",
    "114": "坑塘水面", "202": "建制镇", "203": "村庄", "204": "采矿用地",
}
YDYH = {  # 国土空间调查、规划、用途管制用地用海分类 (2023); 070199 is a local extension
    "0101": "水田", "0103": "旱地", "0201": "果园", "0301": "乔木林地", "0703": "农村宅基地",
    "070301": "一类农村宅基地", "1001": "工业用地", "100101": "一类工业用地", "0901": "商业用地",
    "1101": "物流仓储用地", "1002": "采矿用地", "0801": "机关团体用地", "0804": "教育用地",
    "0807": "社会福利用地", "070102": "二类城镇住宅用地", "1202": "公路用地", "1207": "城镇村道路用地",
    "1402": "防护绿地", "1403": "广场用地", "070199": "保障性租赁住房用地",
}
CONSTRUCTION_3D = {"0601", "05H1", "0508"}  # default survey classes under an eligible parcel
DEFAULT_ZONING = {"100101", "1001", "0901", "1101"}

# --------------------------------------------------------------------------------------
# planted cases (data).  site: where the parcel is put; the remaining keys override the
# default "eligible" parcel.  survey/zoning/s2009 are either a code (whole parcel) or
# [(code, share), other_code] where share < 1 is a fraction of the parcel area and
# share >= 1 an area in m^2 (cut off along the parcel's own axis).
# --------------------------------------------------------------------------------------
P = dict  # brevity
PLANTED = [
    # ---- FARMLAND ------------------------------------------------------------------------
    P(key="FARM-300-A", town="城关镇", site="agri", case="FARMLAND", farmland=("strip", 300.0),
      what="永久基本农田图斑伸入宗地约 300 m²", expect="FARMLAND"),
    P(key="FARM-300-B", town="两江镇", site="agri", case="FARMLAND", farmland=("strip", 300.0),
      what="永久基本农田图斑伸入宗地约 300 m²", expect="FARMLAND"),
    P(key="FARM-SLIVER-A", town="五通镇", site="agri", case="FARMLAND (sliver)", farmland=("sliver", 0.5),
      what="永久基本农田仅以 0.5 m² 三角碎片接触宗地 (< min_overlap_m2)", expect="nothing (sliver below tolerance)"),
    P(key="FARM-SLIVER-B", town="会仙镇", site="agri", case="FARMLAND (sliver)", farmland=("sliver", 0.5),
      what="永久基本农田仅以 0.5 m² 三角碎片接触宗地 (< min_overlap_m2)", expect="nothing (sliver below tolerance)"),
    P(key="FARM-DUP-A", town="会仙镇", site="agri", case="FARMLAND (overlapping patches)", farmland=("dup", 400.0),
      what="两块互相重叠的永久基本农田图斑各伸入宗地约 400 m²，二者在宗地内也重叠",
      expect="FARMLAND; overlap area = union (ground counted once), not the sum"),
    P(key="FARM-DUP-B", town="五通镇", site="agri", case="FARMLAND (overlapping patches)", farmland=("dup", 400.0),
      what="两块互相重叠的永久基本农田图斑各伸入宗地约 400 m²，二者在宗地内也重叠",
      expect="FARMLAND; overlap area = union (ground counted once), not the sum"),
    # ---- REDLINE --------------------------------------------------------------------------
    P(key="RED-PART-A", town="城关镇", site="red_edge", case="REDLINE", target=500.0,
      what="部分位于生态保护红线内 (约 500 m²)", expect="REDLINE"),
    P(key="RED-PART-B", town="会仙镇", site="red_edge", case="REDLINE", target=500.0,
      what="部分位于生态保护红线内 (约 500 m²)", expect="REDLINE"),
    P(key="RED-IN-A", town="五通镇", site="red_in", case="REDLINE", what="整宗位于生态保护红线内", expect="REDLINE"),
    P(key="RED-IN-B", town="两江镇", site="red_in", case="REDLINE", what="整宗位于生态保护红线内", expect="REDLINE"),
    P(key="RED-HOLE-A", town="城关镇", site="red_hole", case="REDLINE (hole)",
      what="位于红线多边形的内环(洞)中，与红线不相交", expect="nothing"),
    P(key="RED-HOLE-B", town="五通镇", site="red_hole", case="REDLINE (hole)",
      what="位于红线多边形的内环(洞)中，与红线不相交", expect="nothing"),
    # ---- UDB ------------------------------------------------------------------------------
    P(key="UDB-IN-A", town="城关镇", site="udb_in", case="UDB", what="整宗位于城镇开发边界内", expect="UDB"),
    P(key="UDB-IN-B", town="两江镇", site="udb_in", case="UDB", what="整宗位于城镇开发边界内", expect="UDB"),
    P(key="UDB-PART-A", town="城关镇", site="udb_edge", case="UDB", target=0.40,
      what="约 40% 位于城镇开发边界内", expect="UDB"),
    P(key="UDB-PART-B", town="两江镇", site="udb_edge", case="UDB", target=0.40,
      what="约 40% 位于城镇开发边界内", expect="UDB"),
    # ---- PLAN-USE -------------------------------------------------------------------------
    P(key="PLAN-0801-A", town="五通镇", site="village", case="PLAN-USE", zoning="0801",
      what="规划用途 0801 机关团体用地 (整宗)", expect="PLAN-USE"),
    P(key="PLAN-0801-B", town="两江镇", site="village", case="PLAN-USE", zoning="0801",
      what="规划用途 0801 机关团体用地 (整宗)", expect="PLAN-USE"),
    P(key="PLAN-1403-A", town="会仙镇", site="village", case="PLAN-USE", zoning="1403",
      what="规划用途 1403 广场用地 (整宗)", expect="PLAN-USE"),
    P(key="PLAN-1403-B", town="城关镇", site="village", case="PLAN-USE", zoning="1403",
      what="规划用途 1403 广场用地 (整宗)", expect="PLAN-USE"),
    P(key="PLAN-MIX-A", town="城关镇", site="village", case="PLAN-USE (mixed)", zoning=[("0103", 0.55), "0901"],
      what="规划用途 0103 旱地 55% + 0901 商业用地 45%，主导用途为耕地", expect="PLAN-USE"),
    P(key="PLAN-MIX-B", town="两江镇", site="village", case="PLAN-USE (mixed)", zoning=[("0103", 0.55), "0901"],
      what="规划用途 0103 旱地 55% + 0901 商业用地 45%，主导用途为耕地", expect="PLAN-USE"),
    P(key="PLAN-PART-A", town="五通镇", site="village", case="PLAN-PART", zoning=[("0901", 0.6), "0103"],
      what="规划用途 0901 商业用地 60% + 0103 旱地 40%，主导用途可入市，部分规划为耕地", expect="PLAN-PART"),
    P(key="PLAN-PART-B", town="会仙镇", site="village", case="PLAN-PART", zoning=[("0901", 0.6), "0103"],
      what="规划用途 0901 商业用地 60% + 0103 旱地 40%，主导用途可入市，部分规划为耕地", expect="PLAN-PART"),
    # ---- PLAN-EXTRA -----------------------------------------------------------------------
    P(key="PLAN-1002-A", town="城关镇", site="village", case="PLAN-EXTRA", zoning="1002",
      what="规划用途 1002 采矿用地", expect="PLAN-EXTRA (mining)"),
    P(key="PLAN-1002-B", town="五通镇", site="village", case="PLAN-EXTRA", zoning="1002",
      what="规划用途 1002 采矿用地", expect="PLAN-EXTRA (mining)"),
    P(key="PLAN-070199-A", town="会仙镇", site="village", case="PLAN-EXTRA", zoning="070199",
      what="规划用途 070199 保障性租赁住房用地 (地方扩展代码，项目文件声明)", expect="PLAN-EXTRA (rental_housing)"),
    P(key="PLAN-070199-B", town="两江镇", site="village", case="PLAN-EXTRA", zoning="070199",
      what="规划用途 070199 保障性租赁住房用地 (地方扩展代码，项目文件声明)", expect="PLAN-EXTRA (rental_housing)"),
    P(key="PLAN-0804-A", town="城关镇", site="village", case="PLAN-EXTRA", zoning="0804",
      what="规划用途 0804 教育用地", expect="PLAN-EXTRA (education)"),
    P(key="PLAN-0804-B", town="两江镇", site="village", case="PLAN-EXTRA", zoning="0804",
      what="规划用途 0804 教育用地", expect="PLAN-EXTRA (education)"),
    P(key="PLAN-0807-A", town="五通镇", site="village", case="PLAN-EXTRA", zoning="0807",
      what="规划用途 0807 社会福利用地", expect="PLAN-EXTRA (social welfare)"),
    P(key="PLAN-0807-B", town="会仙镇", site="village", case="PLAN-EXTRA", zoning="0807",
      what="规划用途 0807 社会福利用地", expect="PLAN-EXTRA (social welfare)"),
    # ---- OWN-REG / RESTRICTED / COLLECTIVE --------------------------------------------------
    P(key="OWNREG-A", town="会仙镇", site="village", case="OWN-REG", attrs={"SFQQ": "否"},
      what="SFQQ=否 (未完成所有权确权登记)", expect="OWN-REG"),
    P(key="OWNREG-B", town="五通镇", site="village", case="OWN-REG", attrs={"SFQQ": "否"},
      what="SFQQ=否 (未完成所有权确权登记)", expect="OWN-REG"),
    P(key="RESTR-A", town="城关镇", site="village", case="RESTRICTED", attrs={"SFXZ": "是"},
      what="SFXZ=是 (被查封或限制)", expect="RESTRICTED"),
    P(key="RESTR-B", town="两江镇", site="village", case="RESTRICTED", attrs={"SFXZ": "是"},
      what="SFXZ=是 (被查封或限制)", expect="RESTRICTED"),
    P(key="STATE-A", town="会仙镇", site="village", case="COLLECTIVE", attrs={"QSXZ": "20"},
      what="QSXZ=20 国有土地使用权 (非集体)", expect="COLLECTIVE"),
    P(key="STATE-B", town="五通镇", site="village", case="COLLECTIVE", attrs={"QSXZ": "20"},
      what="QSXZ=20 国有土地使用权 (非集体)", expect="COLLECTIVE"),
    # ---- NEG-AGRI -------------------------------------------------------------------------
    P(key="AGRI-0103-A", town="城关镇", site="agri", case="NEG-AGRI", survey=[("0103", 800.0), "0601"],
      what="三调: 宗地内约 800 m² 为 0103 旱地，其余 0601", expect="NEG-AGRI"),
    P(key="AGRI-0103-B", town="会仙镇", site="agri", case="NEG-AGRI", survey=[("0103", 800.0), "0601"],
      what="三调: 宗地内约 800 m² 为 0103 旱地，其余 0601", expect="NEG-AGRI"),
    P(key="AGRI-0301-A", town="五通镇", site="agri", case="NEG-AGRI", survey="0301",
      what="三调: 整宗 0301 乔木林地", expect="NEG-AGRI"),
    P(key="AGRI-0301-B", town="两江镇", site="agri", case="NEG-AGRI", survey="0301",
      what="三调: 整宗 0301 乔木林地", expect="NEG-AGRI"),
    P(key="AGRI-0404-A", town="会仙镇", site="agri", case="NEG-AGRI", survey="0404",
      what="三调: 整宗 0404 其他草地 (未利用地)", expect="NEG-AGRI"),
    P(key="AGRI-0404-B", town="城关镇", site="agri", case="NEG-AGRI", survey="0404",
      what="三调: 整宗 0404 其他草地 (未利用地)", expect="NEG-AGRI"),
    # ---- NEG-HOMESTEAD / NEG-HOUSING ------------------------------------------------------
    P(key="HOME-0702-A", town="两江镇", site="village", case="NEG-HOMESTEAD", survey="0702",
      what="三调: 整宗 0702 农村宅基地", expect="NEG-HOMESTEAD"),
    P(key="HOME-0702-B", town="五通镇", site="village", case="NEG-HOMESTEAD", survey="0702",
      what="三调: 整宗 0702 农村宅基地", expect="NEG-HOMESTEAD"),
    P(key="HOME-070301-A", town="城关镇", site="village", case="NEG-HOMESTEAD", zoning="070301",
      what="规划: 整宗 070301 一类农村宅基地", expect="NEG-HOMESTEAD"),
    P(key="HOME-070301-B", town="会仙镇", site="village", case="NEG-HOMESTEAD", zoning="070301",
      what="规划: 整宗 070301 一类农村宅基地", expect="NEG-HOMESTEAD"),
    P(key="HOUS-070102-A", town="五通镇", site="village", case="NEG-HOUSING", zoning="070102",
      what="规划: 整宗 070102 二类城镇住宅用地", expect="NEG-HOUSING"),
    P(key="HOUS-070102-B", town="会仙镇", site="village", case="NEG-HOUSING", zoning="070102",
      what="规划: 整宗 070102 二类城镇住宅用地", expect="NEG-HOUSING"),
    # ---- UNAPPROVED -----------------------------------------------------------------------
    P(key="UNAPP-2015-A", town="城关镇", site="village", case="UNAPPROVED", approval="none",
      attrs={"JCNF": 2015}, s2009="013",
      what="JCNF=2015，无 PZWH、无 pzyd，二调 013 旱地", expect="UNAPPROVED"),
    P(key="UNAPP-2015-B", town="两江镇", site="village", case="UNAPPROVED", approval="none",
      attrs={"JCNF": 2015}, s2009="013",
      what="JCNF=2015，无 PZWH、无 pzyd，二调 013 旱地", expect="UNAPPROVED"),
    P(key="UNAPP-2009-A", town="五通镇", site="village", case="UNAPPROVED", approval="none",
      attrs={"JCNF": 2009}, s2009="203",
      what="JCNF=2009，无批准，二调 203 村庄 (2009 不早于 2009，不属 L1)", expect="UNAPPROVED (not LEGACY-L1)"),
    P(key="UNAPP-2009-B", town="会仙镇", site="village", case="UNAPPROVED", approval="none",
      attrs={"JCNF": 2009}, s2009="203",
      what="JCNF=2009，无批准，二调 203 村庄 (2009 不早于 2009，不属 L1)", expect="UNAPPROVED (not LEGACY-L1)"),
    # ---- LEGACY ---------------------------------------------------------------------------
    P(key="L1-2005", town="城关镇", site="village", case="LEGACY-L1", approval="none",
      attrs={"JCNF": 2005}, s2009="203", what="JCNF=2005，无批准，二调整宗 203 村庄", expect="LEGACY-L1"),
    P(key="L1-2008", town="两江镇", site="village", case="LEGACY-L1", approval="none",
      attrs={"JCNF": 2008}, s2009="203", what="JCNF=2008，无批准，二调整宗 203 村庄", expect="LEGACY-L1"),
    P(key="L1-NULL-A", town="五通镇", site="village", case="LEGACY-L1", approval="none",
      attrs={"JCNF": None}, s2009="203", what="JCNF 为空，无批准，二调整宗 203 村庄",
      expect="LEGACY-L1 (by 二调 evidence; JCNF missing)"),
    P(key="L1-NULL-B", town="会仙镇", site="village", case="LEGACY-L1", approval="none",
      attrs={"JCNF": None, "YXBL": "否"}, s2009="203", what="JCNF 为空，无批准，二调整宗 203 村庄；YXBL=否 (规划不保留建筑)",
      expect="LEGACY-L1 (by 二调 evidence; JCNF missing); yueqing: LEGACY-KEEP"),
    P(key="L2-A", town="会仙镇", site="village", case="LEGACY-L2", approval="none",
      attrs={"JCNF": 2012, "FWSYQZ": "房权证字第12号"}, s2009="011",
      what="JCNF=2012，FWSYQZ=房权证字第12号（登记簿记证号），无批准，二调 011 水田",
      expect="LEGACY-L2 (泰安口径; the certificate number quoted)"),
    P(key="L2-B", town="五通镇", site="village", case="LEGACY-L2", approval="none",
      attrs={"JCNF": 2012, "FWSYQZ": "是"}, s2009="011",
      what="JCNF=2012，FWSYQZ=是，无批准，二调 011 水田", expect="LEGACY-L2 (泰安口径)"),
    P(key="L3-A", town="五通镇", site="seat", case="LEGACY-L3", approval="none", zoning="0901", s2009="202",
      attrs={"JCNF": 2011, "SFLJ": "是", "JSYDSYZ": "集用(2001)第5号"},
      what="镇区(三调 CZCSXM=202)临街，SFLJ=是，JSYDSYZ=集用(2001)第5号（证号），规划 0901，JCNF=2011，无批准",
      expect="LEGACY-L3 (泰安口径; the certificate number quoted)"),
    P(key="L3-B", town="会仙镇", site="seat", case="LEGACY-L3", approval="none", zoning="0901", s2009="202",
      attrs={"JCNF": 2011, "SFLJ": "是", "JSYDSYZ": "是"},
      what="镇区(三调 CZCSXM=202)临街，SFLJ=是，JSYDSYZ=是，规划 0901，JCNF=2011，无批准", expect="LEGACY-L3 (泰安口径)"),
    P(key="L4-A", town="城关镇", site="village", case="LEGACY-L4", approval="none",
      attrs={"JCNF": 2006, "CFDW": "否"}, s2009="203",
      what="同 L1 (JCNF=2006，二调 203) 但 CFDW=否 (违法用地未处罚到位)", expect="LEGACY-L4 (penalty not carried out)"),
    P(key="L4-B", town="两江镇", site="village", case="LEGACY-L4", approval="none",
      attrs={"JCNF": 2006, "CFDW": "否"}, s2009="203",
      what="同 L1 (JCNF=2006，二调 203) 但 CFDW=否 (违法用地未处罚到位)", expect="LEGACY-L4 (penalty not carried out)"),
    # ---- SURVEY-GAP (a hole in the 三调 coverage: 图斑 left out of the export) -----------------
    P(key="SURVEY-GAP-A", town="城关镇", site="village", case="SURVEY-GAP", survey_gap=300.0, zoning="0901",
      what="三调图斑缺失：宗地内约 300 m² 不在任何图斑内，其余 0601", expect="SURVEY-GAP"),
    P(key="SURVEY-GAP-B", town="两江镇", site="village", case="SURVEY-GAP", survey_gap=300.0, zoning="0901",
      what="三调图斑缺失：宗地内约 300 m² 不在任何图斑内，其余 0601", expect="SURVEY-GAP"),
    # ---- PLAN-GAP (the plan does not cover the parcel yet: a hole in the 规划用途 coverage) ---
    P(key="PLAN-GAP-A", town="五通镇", site="village", case="PLAN-GAP", zoning_gap=300.0, zoning="0901",
      what="规划未覆盖：宗地内约 300 m² 不在任何规划用途图斑内（村庄规划未编制），其余 0901",
      expect="PLAN-GAP (conditional: 待规划批准)"),
    P(key="PLAN-GAP-B", town="会仙镇", site="village", case="PLAN-GAP", zoning_gap=300.0, zoning="0901",
      attrs={"CNNRGH": "临桂政承〔2024〕3号"},
      what="规划未覆盖约 300 m²，其余 0901；CNNRGH=临桂政承〔2024〕3号（属地政府承诺纳入规划）",
      expect="PLAN-GAP, but for taian: the commitment clears it"),
    # ---- BUILDINGS ------------------------------------------------------------------------
    P(key="BLD-NO-A", town="五通镇", site="village", case="BUILDINGS", building=True, attrs={"YXBL": "否"},
      what="宗地内有建筑 (jzw)，YXBL=否", expect="BUILDINGS"),
    P(key="BLD-NO-B", town="会仙镇", site="village", case="BUILDINGS", building=True, attrs={"YXBL": "否"},
      what="宗地内有建筑 (jzw)，YXBL=否", expect="BUILDINGS"),
    P(key="BLD-YES-A", town="城关镇", site="village", case="BUILDINGS (control)", building=True, attrs={"YXBL": "是"},
      what="宗地内有建筑，YXBL=是", expect="nothing"),
    P(key="BLD-YES-B", town="两江镇", site="village", case="BUILDINGS (control)", building=True, attrs={"YXBL": "是"},
      what="宗地内有建筑，YXBL=是", expect="nothing"),
    P(key="BLD-NONE", town="五通镇", site="village", case="BUILDINGS (edge)", attrs={"YXBL": "否"},
      what="YXBL=否 但宗地内没有建筑", expect="nothing (no building to keep)"),
    # ---- GEOMETRY -------------------------------------------------------------------------
    P(key="GEOM-BOWTIE-A", town="城关镇", site="village", case="GEOMETRY", geom="bowtie",
      what="自相交“领结”多边形 (可修复，make_valid 得两个三角形)", expect="GEOMETRY (repaired, warning)"),
    P(key="GEOM-BOWTIE-B", town="五通镇", site="village", case="GEOMETRY", geom="bowtie",
      what="自相交“领结”多边形 (可修复，make_valid 得两个三角形)", expect="GEOMETRY (repaired, warning)"),
    P(key="GEOM-DEGEN-A", town="会仙镇", site="village", case="GEOMETRY", geom="degenerate",
      what="退化多边形：所有顶点共线，面积 0 (不可修复)", expect="GEOMETRY (unrepairable, error)"),
    P(key="GEOM-DEGEN-B", town="两江镇", site="village", case="GEOMETRY", geom="degenerate",
      what="退化多边形：所有顶点共线，面积 0 (不可修复)", expect="GEOMETRY (unrepairable, error)"),
    P(key="GEOM-MULTI-A", town="城关镇", site="village", case="GEOMETRY (valid)", geom="multi",
      what="两部分组成的多部件宗地 (有效)", expect="nothing"),
    P(key="GEOM-MULTI-B", town="会仙镇", site="village", case="GEOMETRY (valid)", geom="multi",
      what="两部分组成的多部件宗地 (有效)", expect="nothing"),
    P(key="GEOM-HOLE", town="五通镇", site="village", case="GEOMETRY (valid)", geom="hole",
      what="带内天井(洞)的宗地 (有效)", expect="nothing"),
    # ---- approvals through the pzyd layer near the 95 % threshold -------------------------
    P(key="PZYD-96-A", town="两江镇", site="village", case="APPROVAL (layer)", approval="pzyd96",
      what="PZWH 为空；pzyd 图斑覆盖宗地 96%", expect="nothing (approved via layer, ≥95%)"),
    P(key="PZYD-96-B", town="城关镇", site="village", case="APPROVAL (layer)", approval="pzyd96",
      what="PZWH 为空；pzyd 图斑覆盖宗地 96%", expect="nothing (approved via layer, ≥95%)"),
    # ---- HTML escaping --------------------------------------------------------------------
    P(key="ESC-A", town="五通镇", site="village", case="ESCAPE", attrs={"QLR": "白沙村<script>alert(1)</script>合作社"},
      what="QLR 含 <script> 标签", expect="nothing (must be HTML-escaped in reports/maps)"),
    P(key="ESC-B", town="会仙镇", site="village", case="ESCAPE",
      attrs={"QLR": "古桥村<b>第二</b>村民小组 & \"联营\"", "ZL": "桂南县会仙镇古桥村<b>桥头</b>屯 & 沿江路"},
      what="QLR/ZL 含 <b>、& 和引号", expect="nothing (must be HTML-escaped in reports/maps)"),
    # ---- combos ---------------------------------------------------------------------------
    P(key="COMBO-FARM-AGRI-A", town="两江镇", site="agri", case="FARMLAND + NEG-AGRI",
      farmland=("strip", 500.0), survey=[("0103", 500.0), "0601"],
      what="同一条带约 500 m²：既是永久基本农田又是三调 0103 旱地", expect="FARMLAND + NEG-AGRI"),
    P(key="COMBO-FARM-AGRI-B", town="城关镇", site="agri", case="FARMLAND + NEG-AGRI",
      farmland=("strip", 500.0), survey=[("0103", 500.0), "0601"],
      what="同一条带约 500 m²：既是永久基本农田又是三调 0103 旱地", expect="FARMLAND + NEG-AGRI"),
    P(key="COMBO-UDB-OWN-A", town="城关镇", site="udb_in", case="UDB + OWN-REG", attrs={"SFQQ": "否"},
      what="整宗位于城镇开发边界内且 SFQQ=否", expect="UDB + OWN-REG"),
    P(key="COMBO-UDB-OWN-B", town="两江镇", site="udb_in", case="UDB + OWN-REG", attrs={"SFQQ": "否"},
      what="整宗位于城镇开发边界内且 SFQQ=否", expect="UDB + OWN-REG"),
]
N_RANDOM = 330  # un-planted ("default = eligible") parcels

# --------------------------------------------------------------------------------------
# geometry helpers
# --------------------------------------------------------------------------------------

def blob(rng, cx, cy, rx, ry, n=160, amp=0.12, kmax=12, jitter=0.0, p=1.0):
    """A noisy closed ellipse-like polygon (radius perturbed by random harmonics)."""
    th = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    r = np.ones_like(th)
    for k in range(2, kmax + 1):
        r += amp * rng.uniform(0.3, 1.0) / k ** p * np.sin(k * th + rng.uniform(0, 2 * math.pi))
    x = cx + rx * r * np.cos(th)
    y = cy + ry * r * np.sin(th)
    if jitter:
        x = x + rng.uniform(-jitter, jitter, n)
        y = y + rng.uniform(-jitter, jitter, n)
    return np.column_stack([x, y])


def largest(g):
    if g.geom_type == "Polygon":
        return g
    polys = [p for p in getattr(g, "geoms", []) if p.geom_type == "Polygon"]
    return max(polys, key=lambda p: p.area)


def explode(g):
    if g is None or g.is_empty:
        return []
    if g.geom_type == "Polygon":
        return [g]
    out = []
    for p in getattr(g, "geoms", []):
        out.extend(explode(p))
    return out


def fill_holes(g):
    if g.geom_type == "Polygon":
        return Polygon(g.exterior)
    return shapely.union_all([Polygon(p.exterior) for p in explode(g)])


def local_frame_poly(u_lo, u_hi, v_lo, v_hi, origin, theta):
    """Rectangle given in a local (u along theta, v perpendicular) frame -> world polygon."""
    ux, uy = math.cos(theta), math.sin(theta)
    vx, vy = -uy, ux
    ox, oy = origin
    pts = [(ox + u * ux + v * vx, oy + u * uy + v * vy)
           for u, v in ((u_lo, v_lo), (u_hi, v_lo), (u_hi, v_hi), (u_lo, v_hi))]
    return Polygon(pts)


def halfplane_for_area(geom, theta_deg, target):
    """Half-plane H (a large polygon) with area(geom & H) == target, cut perpendicular to theta."""
    th = math.radians(theta_deg)
    c0 = geom.centroid
    origin = (c0.x, c0.y)
    xy = shapely.get_coordinates(geom) - np.array(origin)
    proj = xy @ np.array([math.cos(th), math.sin(th)])
    lo, hi = proj.min(), proj.max()

    def H(c):
        return local_frame_poly(lo - 2000.0, c, -5000.0, 5000.0, origin, th)

    a, b = lo, hi
    for _ in range(100):
        m = 0.5 * (a + b)
        if geom.intersection(H(m)).area < target:
            a = m
        else:
            b = m
    return H(0.5 * (a + b))


def parcel_template(rng, kind, area):
    """A parcel shape centred on the origin, long axis along x."""
    aspect = rng.uniform(1.0, 2.2)
    if kind == "L":
        fx, fy = rng.uniform(0.3, 0.5), rng.uniform(0.3, 0.5)
        full = area / (1 - fx * fy)
        w = math.sqrt(full * aspect)
        h = full / w
        pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2 - fy * h), (w / 2 - fx * w, h / 2 - fy * h),
               (w / 2 - fx * w, h / 2), (-w / 2, h / 2)]
        g = Polygon(pts)
    else:
        w = math.sqrt(area * aspect)
        h = area / w
        pts = np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
        if kind == "quad":
            pts = pts + rng.uniform(-0.12, 0.12, (4, 2)) * np.array([w, h])
        g = Polygon(pts)
    c = g.centroid
    return affinity.translate(g, -c.x, -c.y)


def place(template, cx, cy, angle_deg):
    return affinity.translate(affinity.rotate(template, angle_deg, origin=(0, 0)), cx, cy)


def control_region(geom):
    """Footprint cut into the coverages: holes filled, buffered by CTRL_BUF (mitre)."""
    if not geom.is_valid or geom.area == 0:
        base = shapely.convex_hull(geom)
    else:
        base = fill_holes(geom)
    return base.buffer(CTRL_BUF, join_style="mitre")


def effective(geom):
    """Geometry used for measuring (repaired where possible)."""
    if geom.is_valid:
        return geom
    g = shapely.make_valid(geom)
    polys = [p for p in explode(g) if p.area > 1e-6]
    return shapely.union_all(polys) if polys else Polygon()


def wet(x, y):
    """Smooth field: > 0.2 means low, wet ground (paddy)."""
    return np.sin(x / 700.0 + 1.3) * np.cos(y / 900.0 + 0.4) + 0.5 * np.sin((x + y) / 1300.0)


# --------------------------------------------------------------------------------------
# the world: towns, zones, roads, red line, UDB
# --------------------------------------------------------------------------------------

def town_polygons():
    ys = np.arange(Y0, Y1 + 0.1, 25.0)
    bx = 420000.0 + 130 * np.sin((ys - Y0) / 900.0) + 50 * np.sin(ys / 310.0 + 1.0)
    xs = np.arange(X0, X1 + 0.1, 25.0)
    by = 2790000.0 + 100 * np.sin((xs - X0) / 800.0) + 50 * np.sin(xs / 270.0)
    west = Polygon([(X0, Y0)] + list(zip(bx, ys)) + [(X0, Y1)])
    south = Polygon([(X0, Y0)] + list(zip(xs, by)) + [(X1, Y0)])
    east, north = EXTENT.difference(west), EXTENT.difference(south)
    return {
        "城关镇": west.intersection(north), "五通镇": east.intersection(north),
        "会仙镇": west.intersection(south), "两江镇": east.intersection(south),
    }, (ys, bx)


def build_world(rng):
    W = {}
    W["towns"], W["border"] = town_polygons()
    for name, (code, seat, _) in TOWNS.items():
        assert W["towns"][name].contains(Point(seat)), name
    for t, _, n, c in VILLAGES:
        assert W["towns"][t].contains(Point(c)), n

    # red line 1 (north, with a hole straddling the 城关/五通 border), red line 2 (south)
    shell1 = blob(rng, 420000, 2794500, 3600, 1200, n=2200, amp=0.14, kmax=60, jitter=1.5, p=1.2)
    hole1 = blob(rng, 420000, 2794250, 600, 330, n=500, amp=0.10, kmax=20, jitter=1.0, p=1.2)
    red1 = shapely.make_valid(Polygon(shell1, [hole1[::-1]]))
    shell2 = blob(rng, 421000, 2785300, 3800, 1050, n=2200, amp=0.14, kmax=60, jitter=1.5, p=1.2)
    red2 = shapely.make_valid(Polygon(shell2))
    W["red"] = [largest(red1).intersection(EXTENT), largest(red2).intersection(EXTENT)]
    W["red_hole"] = Polygon(largest(red1).interiors[0])
    W["red_union"] = shapely.union_all(W["red"])

    # 城镇开发边界
    W["udb"] = {}
    for t, r in UDB_TOWNS.items():
        seat = TOWNS[t][1]
        W["udb"][t] = Polygon(blob(rng, seat[0], seat[1], r, r * 0.85, n=320, amp=0.12, kmax=16))
    W["udb_union"] = shapely.union_all(list(W["udb"].values()))

    # zones used to pick land classes
    W["hills"] = W["red_union"].buffer(300).intersection(EXTENT)
    W["mining"] = [Polygon(blob(rng, x, y, 170, 140, n=60, amp=0.15, kmax=6)) for x, y in MINING]
    W["seat_zone"] = {t: Polygon(blob(rng, s[0], s[1], r, r * 0.9, n=120, amp=0.12, kmax=8))
                      for t, (_, s, r) in TOWNS.items()}
    W["village_zone"] = [Polygon(blob(rng, c[0], c[1], rng.uniform(330, 390), rng.uniform(300, 360),
                                      n=100, amp=0.15, kmax=8)) for _, _, _, c in VILLAGES]
    W["village_angle"] = [rng.uniform(-25, 25) for _ in VILLAGES]

    # roads
    hw = []
    for name, width, pts in HIGHWAYS:
        pts = np.array(pts, dtype=float)
        pts[1:-1] += rng.uniform(-40, 40, pts[1:-1].shape)
        hw.append((name, width, LineString(pts)))
    hw_union = shapely.union_all([l for _, _, l in hw])
    rural = []
    for (t, suf, vname, c) in VILLAGES:
        p0 = Point(c)
        p1 = shapely.ops.nearest_points(p0, hw_union)[1]
        mid = np.array([(p0.x + p1.x) / 2, (p0.y + p1.y) / 2]) + rng.uniform(-60, 60, 2)
        rural.append((f"{vname}村道", RURAL_ROAD_WIDTH, LineString([c, tuple(mid), (p1.x, p1.y)])))
    W["highways"], W["rural"] = hw, rural
    W["road_polys"] = []  # (geom, kind)
    for name, width, line in hw:
        W["road_polys"].append((line.buffer(width / 2, cap_style="flat").intersection(EXTENT), "highway"))
    for name, width, line in rural:
        W["road_polys"].append((line.buffer(width / 2, cap_style="flat").intersection(EXTENT), "rural"))
    W["roads_union"] = shapely.union_all([g for g, _ in W["road_polys"]])
    return W


def zone_of(W, x, y):
    p = Point(x, y)
    if any(m.contains(p) for m in W["mining"]):
        return "mining"
    if W["hills"].contains(p):
        return "hill"
    for t, z in W["seat_zone"].items():
        if z.contains(p):
            return "seat:" + t
    for i, z in enumerate(W["village_zone"]):
        if z.contains(p):
            return f"village:{i}"
    return "agri"


def anchor(g):
    """A point for zone/town look-ups that also works for zero-area (degenerate) polygons."""
    if g.area > 0 and g.is_valid:
        return g.representative_point()
    xy = shapely.get_coordinates(g)
    return Point(xy[:, 0].mean(), xy[:, 1].mean())


def town_of(W, g):
    c = anchor(g)
    for t, poly in W["towns"].items():
        if poly.contains(c):
            return t
    # fall back to the largest share
    return max(W["towns"], key=lambda t: W["towns"][t].intersection(g).area)


def village_of(W, town, g):
    c = anchor(g)
    best = min((i for i, v in enumerate(VILLAGES) if v[0] == town),
               key=lambda i: Point(VILLAGES[i][3]).distance(c))
    return best


# --------------------------------------------------------------------------------------
# parcels
# --------------------------------------------------------------------------------------

class Occupancy:
    """Already placed parcels / reserved areas; simple bbox-prefiltered intersects test."""

    def __init__(self):
        self.geoms, self.bounds = [], np.empty((0, 4))

    def add(self, g):
        self.geoms.append(g)
        self.bounds = np.vstack([self.bounds, np.array(g.bounds)[None, :]])

    def hits(self, g):
        if not self.geoms:
            return False
        b = g.bounds
        m = ~((self.bounds[:, 0] > b[2]) | (self.bounds[:, 2] < b[0]) |
              (self.bounds[:, 1] > b[3]) | (self.bounds[:, 3] < b[1]))
        return any(self.geoms[i].intersects(g) for i in np.nonzero(m)[0])


def forbidden_for(W, site):
    parts = [W["roads_union"].buffer(8), EXTENT.exterior.buffer(60)]
    parts += [m.buffer(20) for m in W["mining"]]
    if not site.startswith("red"):
        parts.append(W["red_union"].buffer(40))
    if not site.startswith("udb"):
        parts.append(W["udb_union"].buffer(40))
    g = shapely.union_all(parts)
    shapely.prepare(g)
    return g


def edge_place(rng, W, target_poly, template, target_area, town, forb, occ, tries=400):
    ring = LineString(largest(target_poly).exterior.coords)
    for _ in range(tries):
        d = rng.uniform(0, ring.length)
        p = ring.interpolate(d)
        if EXTENT.exterior.distance(p) < 200 or not W["towns"][town].contains(p):
            continue
        a, b = ring.interpolate(d - 25), ring.interpolate(d + 25)
        tx, ty = b.x - a.x, b.y - a.y
        nrm = math.hypot(tx, ty)
        tx, ty = tx / nrm, ty / nrm
        nx, ny = ty, -tx
        out_pt, in_pt = Point(p.x + 30 * nx, p.y + 30 * ny), Point(p.x - 30 * nx, p.y - 30 * ny)
        if target_poly.contains(out_pt) and not target_poly.contains(in_pt):
            nx, ny = -nx, -ny
        elif target_poly.contains(out_pt) == target_poly.contains(in_pt):
            continue
        shape = place(template, p.x, p.y, math.degrees(math.atan2(ty, tx)))
        L = 120.0

        def f(t):
            return affinity.translate(shape, t * nx, t * ny).intersection(target_poly).area

        if not (f(-L) > target_area > f(L)):
            continue
        lo, hi = -L, L
        for _ in range(80):
            m = 0.5 * (lo + hi)
            if f(m) > target_area:
                lo = m
            else:
                hi = m
        g = affinity.translate(shape, 0.5 * (lo + hi) * nx, 0.5 * (lo + hi) * ny)
        if forb.intersects(g.buffer(10)) or occ.hits(g.buffer(60)) or town_of(W, g) != town:
            continue
        return g, math.degrees(math.atan2(ty, tx))
    raise RuntimeError(f"edge placement failed in {town}")


def site_point(rng, W, site, town):
    """Random candidate centre (and orientation) for a planted site."""
    if site == "village":
        i = rng.choice([k for k, v in enumerate(VILLAGES) if v[0] == town])
        c = VILLAGES[i][3]
        r, a = rng.uniform(110, 320), rng.uniform(0, 2 * math.pi)
        return c[0] + r * math.cos(a), c[1] + r * math.sin(a), W["village_angle"][i] + rng.uniform(-8, 8)
    if site == "seat":
        s = TOWNS[town][1]
        r, a = rng.uniform(120, 420), rng.uniform(0, 2 * math.pi)
        return s[0] + r * math.cos(a), s[1] + r * math.sin(a), rng.uniform(-20, 20)
    if site == "udb_in":
        s = TOWNS[town][1]
        r, a = rng.uniform(100, 500), rng.uniform(0, 2 * math.pi)
        return s[0] + r * math.cos(a), s[1] + r * math.sin(a), rng.uniform(-20, 20)
    bx0, by0, bx1, by1 = W["towns"][town].bounds
    if site == "red_hole":
        bx0, by0, bx1, by1 = W["red_hole"].bounds
    return rng.uniform(bx0, bx1), rng.uniform(by0, by1), rng.uniform(-40, 40)


def site_ok(W, site, g, town):
    if town_of(W, g) != town:
        return False
    if site == "agri":
        c = g.centroid
        return zone_of(W, c.x, c.y) == "agri" and all(
            not z.intersects(g.buffer(60)) for z in
            list(W["village_zone"]) + list(W["seat_zone"].values()) + [W["hills"]])
    if site == "seat":
        return W["seat_zone"][town].buffer(-40).contains(g)
    if site == "udb_in":
        return W["udb"][town].buffer(-40).contains(g)
    if site == "red_in":
        return W["red_union"].buffer(-40).contains(g)
    if site == "red_hole":
        return W["red_hole"].buffer(-30).contains(g)
    return True


def make_geom(rng, kind, cx, cy, ang):
    if kind == "bowtie":
        w, h = rng.uniform(45, 60), rng.uniform(35, 45)
        loc = Polygon([(-w / 2, -h / 2), (w / 2, h / 2), (w / 2, -h / 2), (-w / 2, h / 2)])  # self-intersecting
        return place(loc, cx, cy, ang)
    if kind == "degenerate":
        # all vertices on one horizontal line (exactly collinear, zero area); built in world
        # coordinates because rotating would introduce a tiny non-zero area
        y = round(cy, 3)
        return Polygon([(cx - 30, y), (cx - 10, y), (cx + 15, y), (cx + 30, y)])
    if kind == "multi":
        a = box(-35, -20, -5, 20)
        b = box(7, -15, 35, 18)
        return place(MultiPolygon([a, b]), cx, cy, ang)
    if kind == "hole":
        outer = [(-35, -30), (35, -30), (35, 30), (-35, 30)]
        hole = [(-10, -8), (-10, 8), (12, 8), (12, -8)]
        return place(Polygon(outer, [hole]), cx, cy, ang)
    area = rng.uniform(2000, 4000)
    return place(parcel_template(rng, rng.choice(["rect", "rect", "quad"]), area), cx, cy, ang)


def farmland_pieces(parcel, ang, spec, roads):
    """Planted 永久基本农田 polygons that reach into the parcel."""
    kind, amount = spec
    reach = parcel.buffer(50, join_style="mitre").difference(roads.buffer(2))
    if kind == "strip":
        return [largest(reach.intersection(halfplane_for_area(parcel, ang + 180, amount)))]
    if kind == "sliver":
        return [largest(reach.intersection(halfplane_for_area(parcel, ang + 225, amount)))]
    if kind == "dup":
        a = largest(reach.intersection(halfplane_for_area(parcel, ang + 180, amount)))
        b = largest(reach.intersection(halfplane_for_area(parcel, ang + 270, amount)))
        return [a, b]
    raise ValueError(kind)


def place_planted(rng, W, occ):
    out = []
    for row in PLANTED:
        site, town = row["site"], row["town"]
        forb = forbidden_for(W, site)
        for attempt in range(5000):
            if site in ("red_edge", "udb_edge"):
                tmpl = parcel_template(rng, "rect", rng.uniform(2200, 3200))
                if site == "red_edge":
                    tgt_poly = [r for r in W["red"] if r.intersects(W["towns"][town])][0]
                    tgt_area = row["target"]
                else:
                    tgt_poly = W["udb"][town]
                    tgt_area = row["target"] * tmpl.area
                g, ang = edge_place(rng, W, tgt_poly, tmpl, tgt_area, town, forb, occ)
                break
            cx, cy, ang = site_point(rng, W, site, town)
            g = make_geom(rng, row.get("geom", "normal"), cx, cy, ang)
            reg = control_region(g)
            if not EXTENT.buffer(-80).contains(reg):
                continue
            if forb.intersects(reg.buffer(10)) or occ.hits(reg.buffer(80)):
                continue
            if not site_ok(W, site, reg, town):
                continue
            break
        else:
            raise RuntimeError(f"could not place {row['key']}")
        rec = dict(row)
        rec.update(geom=g, angle=ang, planted=True, farm=[])
        if "farmland" in row:
            rec["farm"] = farmland_pieces(g, ang, row["farmland"], W["roads_union"])
        occ.add(control_region(g).buffer(60))
        for f in rec["farm"]:
            occ.add(f.buffer(15))
        out.append(rec)
    return out


def place_random(rng, W, occ, n):
    forb = forbidden_for(W, "random")
    hw_lines = [l for _, _, l in W["highways"]]
    hw_w = [w for _, w, _ in W["highways"]]
    lens = np.array([l.length for l in hw_lines])
    seat_towns = [t for t in TOWNS if t not in UDB_TOWNS]
    out, tries = [], 0
    while len(out) < n:
        tries += 1
        if tries > 200000:
            raise RuntimeError("random placement stalled")
        r = rng.random()
        kind = rng.choice(["rect", "rect", "L", "quad"], p=[0.3, 0.25, 0.2, 0.25])
        area = math.exp(rng.uniform(math.log(900), math.log(5500)))
        tmpl = parcel_template(rng, kind, area)
        if r < 0.62:
            i = rng.integers(len(VILLAGES))
            c = VILLAGES[i][3]
            dx, dy = rng.normal(0, 210, 2)
            if math.hypot(dx, dy) > 560:
                continue
            cx, cy, ang = c[0] + dx, c[1] + dy, W["village_angle"][i] + rng.uniform(-10, 10)
        elif r < 0.88:
            k = rng.choice(len(hw_lines), p=lens / lens.sum())
            line = hw_lines[k]
            d = rng.uniform(0, line.length)
            a, b = line.interpolate(max(d - 10, 0)), line.interpolate(min(d + 10, line.length))
            tx, ty = b.x - a.x, b.y - a.y
            nn = math.hypot(tx, ty)
            tx, ty = tx / nn, ty / nn
            ang = math.degrees(math.atan2(ty, tx))
            hb = tmpl.bounds
            off = (hw_w[k] / 2 + 10 + (hb[3] - hb[1]) / 2 + rng.uniform(0, 20)) * rng.choice([-1, 1])
            p = line.interpolate(d)
            cx, cy = p.x - ty * off, p.y + tx * off
        else:
            s = TOWNS[seat_towns[rng.integers(len(seat_towns))]][1]
            dx, dy = rng.normal(0, 280, 2)
            cx, cy, ang = s[0] + dx, s[1] + dy, rng.uniform(-15, 15)
        g = place(tmpl, cx, cy, ang)
        if not (800 <= g.area <= 6000) or not g.is_valid:
            continue
        if not EXTENT.buffer(-50).contains(g):
            continue
        if forb.intersects(g.buffer(CTRL_BUF + 3)) or occ.hits(g.buffer(12)):
            continue
        occ.add(g.buffer(1))
        out.append(dict(key=None, planted=False, geom=g, angle=ang, farm=[], town=None))
    return out


# --------------------------------------------------------------------------------------
# per-parcel specs and attributes
# --------------------------------------------------------------------------------------

def assign_defaults(rng, W, parcels):
    """Fill in the default (eligible) specification, then apply planted overrides."""
    n_pzyd = 0
    for p in parcels:
        g = p["geom"]
        town = town_of(W, g)
        if p["planted"]:
            assert town == p["town"], (p["key"], town)
        p["town"] = town
        p["vidx"] = village_of(W, town, g)
        c = anchor(g)
        p["zone"] = zone_of(W, c.x, c.y)
        a = dict(QSXZ="30", SFQQ="是", SFXZ="否", PZWH="", JCNF=int(rng.integers(1995, 2021)),
                 FWSYQZ="是" if rng.random() < 0.3 else "否", JSYDSYZ="是" if rng.random() < 0.4 else "否",
                 CFDW="", SFLJ="是" if rng.random() < 0.15 else "否", YXBL="是", CNNRGH="")
        if p["planted"]:
            a.update(FWSYQZ="否", JSYDSYZ="否", SFLJ="否")
        approval = p.get("approval", "pzwh" if p["planted"] else ("pzwh" if rng.random() < 0.64 else "pzyd"))
        p["approval"] = approval
        a.update(p.get("attrs", {}))
        if approval == "pzwh":
            yr = a["JCNF"] if a["JCNF"] else 2010
            yr = max(1995, yr - int(rng.integers(0, 3)))
            pre = "桂南政土批" if rng.random() < 0.8 else "桂政土批"
            a["PZWH"] = f"{pre}〔{yr}〕{int(rng.integers(1, 120))}号"
        elif approval.startswith("pzyd"):
            n_pzyd += 1
        p["attrs"] = a
        # layer specs
        if "survey" not in p:
            p["survey"] = rng.choice(["0601", "05H1", "0508"], p=[0.6, 0.3, 0.1])
        if "zoning" not in p:
            p["zoning"] = rng.choice(["100101", "1001", "0901", "1101"], p=[0.35, 0.25, 0.25, 0.15])
        if "s2009" not in p:
            jc = a["JCNF"]
            if p["zone"].startswith("seat"):
                p["s2009"] = "202"
            elif p["zone"].startswith("village") or (jc is not None and jc <= 2009):
                p["s2009"] = "203"
            else:
                p["s2009"] = "013"
        p["building"] = p.get("building", (not p["planted"]) and rng.random() < 0.3)
    return parcels


def split_region(p, region, spec):
    """Split a parcel's control region according to a spec -> list of (geom, code)."""
    if isinstance(spec, str):
        return [(region, spec)]
    (code_a, share), code_b = spec
    g = effective(p["geom"])
    target = share * g.area if share < 1 else share
    H = halfplane_for_area(g, p["angle"] + 180, target)
    a = region.intersection(H)
    return [(a, code_a), (region.difference(a), code_b)]


def write_attrs(W, rng, parcels):
    seqs = defaultdict(int)
    order = sorted(range(len(parcels)), key=lambda i: (parcels[i]["town"], parcels[i]["vidx"],
                                                       -round(parcels[i]["geom"].centroid.y, -1),
                                                       parcels[i]["geom"].centroid.x))
    rows = []
    for i in order:
        p = parcels[i]
        t, suf, vname, _ = VILLAGES[p["vidx"]]
        tcode = TOWNS[t][0]
        vcode = tcode + suf
        seqs[vcode] += 1
        zddm = f"{COUNTY}{tcode[-3:]}{suf}JC{seqs[vcode]:05d}"
        if rng.random() < 0.7:
            qlr, zldwdm = f"{vname}股份经济合作社", vcode + "0000000"
        else:
            grp = int(rng.integers(1, 10))
            qlr, zldwdm = f"{vname}第{CN_NUM[grp - 1]}村民小组", vcode + f"{grp:02d}00000"
        if p["zone"].startswith("seat"):
            zl = f"桂南县{t}{t[:-1]}圩{['解放路', '新街', '建设路', '沿江路'][int(rng.integers(4))]}{int(rng.integers(1, 200))}号"
        else:
            zl = f"桂南县{t}{vname}{TUN[int(rng.integers(len(TUN)))]}"
        a = p["attrs"]
        g = p["geom"]
        zdmj = round(effective(g).area, 2)  # bow-tie: repaired area; degenerate: 0
        row = dict(ZDDM=zddm, QLR=a.get("QLR", qlr), ZL=a.get("ZL", zl), ZLDWDM=zldwdm, ZLDWMC=vname,
                   XZMC=t, CMC=vname, QSXZ=a["QSXZ"], SFQQ=a["SFQQ"], SFXZ=a["SFXZ"], PZWH=a["PZWH"],
                   JCNF=a["JCNF"], FWSYQZ=a["FWSYQZ"], JSYDSYZ=a["JSYDSYZ"], CFDW=a["CFDW"], SFLJ=a["SFLJ"],
                   YXBL=a["YXBL"], CNNRGH=a["CNNRGH"], ZDMJ=zdmj, geometry=g)
        p["ZDDM"] = zddm
        rows.append(row)
    df = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    df["JCNF"] = df["JCNF"].astype("Int64")
    # 入市成本 (RSCB, yanbian 第十七条) and 土地取得的各项客观成本之和 (KGCB, tianning 第二十八条), yuan, for
    # the price floors; from an RNG of their own, so every other value stays as it was. One parcel in six
    # has none yet (the floor is then left blank, never guessed)
    cost_rng = np.random.default_rng(SEED + 1)
    per_m2 = cost_rng.uniform(180.0, 900.0, len(df))
    known = cost_rng.random(len(df)) >= 1 / 6
    df["RSCB"] = np.where(known, np.round(df["ZDMJ"].to_numpy() * per_m2, -2), np.nan)
    df["KGCB"] = np.where(known, np.round(df["RSCB"].to_numpy() * cost_rng.uniform(0.6, 0.9, len(df)), -2), np.nan)
    add_decisions(df)
    return df


#: the collective's decision (土地管理法第六十三条第二款) planted: parcel row → (members, attended, for, notice
#: working days). Two thirds exactly passes (民法典第一千二百五十九条: 以上 includes the number); one short does not
DECISIONS_PLANTED = {4: (30, 28, 20, 5), 13: (30, 28, 19, 5), 16: (45, 40, 29, 5), 15: (300, 260, 200, 4),
                     14: (60, 55, 40, 7)}
#: parcels whose decision the register does not give (the rule is then not checked on them)
DECISIONS_MISSING = (23, 24, 120, 250, 333)


def write_supply_plan(zd, path):
    """The county's 年度供应计划 as a bureau keeps it (UTF-8 with BOM): 宗地代码 and 计划年度 of about two parcels
    in five, from an RNG of their own; a few 年度 written 2026年 as registers do."""
    rng = np.random.default_rng(SEED + 3)
    pick = np.flatnonzero(rng.random(len(zd)) < 0.4)
    years = rng.choice([2025, 2026, 2027], len(pick))
    written = [f"{y}年" if k % 7 == 0 else str(y) for k, y in enumerate(years)]
    lines = ["宗地代码,计划年度,备注"] + [f"{zd['ZDDM'].iloc[i]},{w}," for i, w in zip(pick, written)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")


def add_decisions(df):
    """The vote on entering the market (JCJG body, YDHRS members, DHRS attended, TYRS for) and the dates of the
    decision and its notice (JYRQ, GSQSRQ, GSJZRQ), from an RNG of their own: most pass, a few are planted."""
    import chinese_calendar

    rng = np.random.default_rng(SEED + 2)
    n = len(df)
    representatives = rng.random(n) < 0.6
    members = np.where(representatives, rng.integers(25, 61, n), rng.integers(200, 901, n))
    attended = np.ceil(members * rng.uniform(0.85, 0.98, n)).astype(int)
    votes = np.minimum(np.ceil(members * rng.uniform(0.72, 0.95, n)).astype(int), attended)
    days = np.full(n, 5) + rng.integers(0, 6, n)
    for row, (m, a, v, d) in DECISIONS_PLANTED.items():
        representatives[row] = m < 100
        members[row], attended[row], votes[row], days[row] = m, a, v, d
    base = np.datetime64("2024-03-01") + rng.integers(0, 240, n).astype("timedelta64[D]")
    decided, start, end = [], [], []
    for k in range(n):
        day = base[k].astype(object)
        decided.append(day.isoformat())
        first = chinese_calendar.find_workday(1, day)        # the notice starts the next working day
        last = chinese_calendar.find_workday(int(days[k]) - 1, first)
        start.append(first.isoformat())
        end.append(last.isoformat())
    df["JCJG"] = np.where(representatives, "村民代表会议", "村民会议").astype(object)
    df["YDHRS"], df["DHRS"], df["TYRS"] = members, attended, votes
    df["JYRQ"], df["GSQSRQ"], df["GSJZRQ"] = decided, start, end
    for col in ("JCJG", "YDHRS", "DHRS", "TYRS", "JYRQ", "GSQSRQ", "GSJZRQ"):
        df[col] = df[col].astype(object)
        df.loc[list(DECISIONS_MISSING), col] = None
    for col in ("YDHRS", "DHRS", "TYRS"):
        df[col] = df[col].astype("Int64")


# --------------------------------------------------------------------------------------
# coverages
# --------------------------------------------------------------------------------------

def voronoi_cells(rng, n):
    pts = np.column_stack([rng.uniform(X0, X1, n), rng.uniform(Y0, Y1, n)])
    vor = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=EXTENT.buffer(2000))
    cells = [c.intersection(EXTENT) for c in vor.geoms]
    return [c for c in cells if not c.is_empty and c.area > 0]


def build_coverage(cells, overlays, min_area=15.0):
    """cells: list of (geom, attrs); overlays: list of (geom, attrs, locked) in priority order.

    Overlays are made mutually disjoint (earlier wins) and cut out of the cells; the result
    is exploded to single polygons and small unlocked fragments are merged into the
    neighbour they share the longest edge with.  Returns list of (geom, attrs).
    """
    ov = []
    tree_geoms = []
    for g, a, locked in overlays:
        if tree_geoms:
            tr = shapely.STRtree(tree_geoms)
            idx = tr.query(g, predicate="intersects")
            if len(idx):
                g = g.difference(shapely.union_all([tree_geoms[i] for i in idx]))
        if g.is_empty:
            continue
        tree_geoms.append(g)
        ov.append((g, a, locked))
    tr = shapely.STRtree([g for g, _, _ in ov])
    pieces = []
    for g, a in cells:
        idx = tr.query(g, predicate="intersects")
        if len(idx):
            g = g.difference(shapely.union_all([ov[i][0] for i in idx]))
        for part in explode(g):
            pieces.append([part, a, False])
    for g, a, locked in ov:
        for part in explode(g):
            pieces.append([part, a, locked])
    # merge small unlocked fragments
    for _ in range(3):
        geoms = [p[0] for p in pieces]
        tr = shapely.STRtree(geoms)
        small = [i for i, p in enumerate(pieces) if p[0] is not None and p[0].area < min_area and not p[2]]
        if not small:
            break
        dead = set()
        for i in small:
            if i in dead:
                continue
            g = pieces[i][0]
            best, blen = None, 0.0
            for prefer_locked in (False, True):
                for j in tr.query(g.buffer(0.01)):
                    if j == i or j in dead or pieces[j][0] is None or pieces[j][2] != prefer_locked:
                        continue
                    ln = g.boundary.intersection(pieces[j][0].boundary).length
                    if ln > blen + 1e-9:
                        best, blen = j, ln
                if best is not None:
                    break
            if best is None:
                continue
            merged = shapely.union_all([pieces[best][0], g])
            if merged.geom_type != "Polygon":
                continue
            pieces[best][0] = merged
            pieces[i][0] = None
            dead.add(i)
        pieces = [p for p in pieces if p[0] is not None]
    return [(p[0], p[1]) for p in pieces]


def pick(rng, table):
    codes, probs = zip(*table)
    probs = np.array(probs, dtype=float)
    return str(rng.choice(codes, p=probs / probs.sum()))


def base_dltb_attrs(rng, W, zone, x, y):
    if zone == "mining":
        return dict(DLBM="0602", CZCSXM="204", QSXZ="30")
    if zone == "hill":
        code = pick(rng, [("0301", 60), ("0307", 25), ("0404", 10), ("0103", 5)])
        return dict(DLBM=code, CZCSXM="", QSXZ="30" if rng.random() < 0.8 else "10")
    if zone.startswith("seat"):
        code = pick(rng, [("0701", 30), ("05H1", 20), ("08H2", 10), ("1004", 10), ("0601", 10),
                          ("0508", 5), ("1201", 5), ("0702", 10)])
        return dict(DLBM=code, CZCSXM="202", QSXZ="20" if code != "0702" else "30")
    if zone.startswith("village"):
        code = pick(rng, [("0702", 60), ("1004", 8), ("1201", 5), ("0601", 5), ("05H1", 5),
                          ("0103", 7), ("0101", 5), ("1104", 5)])
        built = code in {"0702", "1004", "1201", "0601", "05H1"}
        return dict(DLBM=code, CZCSXM="203" if built else "", QSXZ="30")
    if wet(x, y) > 0.2:
        code = pick(rng, [("0101", 60), ("0102", 10), ("0103", 10), ("1104", 8), ("1107", 5), ("0201", 3),
                          ("1006", 2), ("0307", 2)])
    else:
        code = pick(rng, [("0103", 45), ("0201", 18), ("0101", 10), ("0102", 8), ("0307", 8), ("0301", 5),
                          ("0404", 3), ("1006", 3)])
    return dict(DLBM=code, CZCSXM="", QSXZ="30")


def ctrl_czcsxm(zone, code):
    if code not in CONSTRUCTION_3D and code not in {"0702", "0701", "1004", "1201", "0602", "08H2"}:
        return ""
    if zone.startswith("seat"):
        return "202"
    if zone.startswith("village"):
        return "203"
    return ""


def dldw(W, g):
    c = g.representative_point()
    t = town_of(W, g)
    zone = zone_of(W, c.x, c.y)
    if zone.startswith("seat"):
        return TOWNS[t][0] + "000" + "0000000"
    v = village_of(W, t, g)
    return TOWNS[t][0] + VILLAGES[v][1] + "0000000"


#: the code of a planted survey gap's piece while the coverage is built (no such patch is written)
GAP = "(gap)"


def make_dltb(rng, W, parcels):
    cells = []
    for c in voronoi_cells(rng, 3000):
        p = c.representative_point()
        z = zone_of(W, p.x, p.y)
        cells.append((c, dict(base_dltb_attrs(rng, W, z, p.x, p.y), _base=True)))
    overlays = []
    for g, kind in W["road_polys"]:
        a = dict(DLBM="1003", CZCSXM="", QSXZ="20") if kind == "highway" else dict(DLBM="1006", CZCSXM="", QSXZ="30")
        overlays.append((g, dict(a, _base=False), False))
    for p in parcels:
        # a planted gap is cut out as a locked piece of its own, then left out of the layer
        spec = [(GAP, p["survey_gap"]), p["survey"]] if "survey_gap" in p else p["survey"]
        for g, code in split_region(p, control_region(p["geom"]), spec):
            overlays.append((g, dict(DLBM=code, CZCSXM=ctrl_czcsxm(p["zone"], code), QSXZ="30",
                                     _base=False), True))
    pieces = [(g, a) for g, a in build_coverage(cells, overlays) if a["DLBM"] != GAP]
    rows = []
    for i, (g, a) in enumerate(pieces):
        rows.append(dict(BSM=1000000 + i + 1, DLBM=a["DLBM"], DLMC=DLMC[a["DLBM"]], QSXZ=a["QSXZ"],
                         ZLDWDM=dldw(W, g), CZCSXM=a["CZCSXM"], TBMJ=round(g.area, 2), _base=a["_base"],
                         geometry=g))
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def make_dltb_2009(rng, W, parcels):
    cells = []
    for c in voronoi_cells(rng, 1100):
        p = c.representative_point()
        z = zone_of(W, p.x, p.y)
        if z == "mining":
            code = "204"
        elif z == "hill":
            code = pick(rng, [("031", 85), ("013", 10), ("021", 5)])
        elif z.startswith("seat"):
            code = pick(rng, [("202", 85), ("203", 10), ("013", 5)])
        elif z.startswith("village"):
            code = pick(rng, [("203", 80), ("013", 10), ("011", 10)])
        elif wet(p.x, p.y) > 0.2:
            code = pick(rng, [("011", 70), ("013", 10), ("114", 10), ("021", 5), ("031", 5)])
        else:
            code = pick(rng, [("013", 55), ("021", 20), ("011", 10), ("031", 10), ("114", 5)])
        cells.append((c, dict(DLBM=code)))
    overlays = []
    for g, kind in W["road_polys"]:
        overlays.append((g, dict(DLBM="102" if kind == "highway" else "104"), False))
    for p in parcels:
        for g, code in split_region(p, control_region(p["geom"]), p["s2009"]):
            overlays.append((g, dict(DLBM=code), True))
    pieces = build_coverage(cells, overlays)
    rows = [dict(BSM=2000000 + i + 1, DLBM=a["DLBM"], DLMC=DLMC_2009[a["DLBM"]], geometry=g)
            for i, (g, a) in enumerate(pieces)]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


#: 规划条件 of the planned construction plots, by use: 容积率 RJL, 建筑密度 JZMD (%), 绿地率 LDL (%), 建筑限高 JZXG (m)
PLANNING_CONDITIONS = {
    "0901": (2.0, 40.0, 20.0, 24.0), "1001": (1.2, 45.0, 15.0, 24.0), "100101": (1.5, 50.0, 15.0, 24.0),
    "1101": (1.0, 50.0, 10.0, 18.0), "070199": (2.5, 30.0, 30.0, 45.0),
}


def make_ghyt(rng, W, parcels):
    cells = []
    for c in voronoi_cells(rng, 1000):
        p = c.representative_point()
        z = zone_of(W, p.x, p.y)
        if z == "mining":
            code = "1002"
        elif z == "hill":
            code = pick(rng, [("0301", 95), ("0103", 5)])
        elif z.startswith("seat"):
            code = pick(rng, [("070102", 35), ("0901", 15), ("0804", 6), ("0807", 4), ("0801", 5), ("1207", 12),
                              ("1403", 4), ("1402", 4), ("1001", 6), ("100101", 4), ("070199", 3), ("1101", 2)])
        elif z.startswith("village"):
            code = pick(rng, [("070301", 40), ("0703", 38), ("1207", 10), ("0103", 7), ("0101", 5)])
        else:
            code = pick(rng, [("0101", 50), ("0103", 35), ("0301", 10), ("0201", 5)])
        cells.append((c, dict(YDYHFLDM=code)))
    overlays = [(g, dict(YDYHFLDM="1202"), False) for g, kind in W["road_polys"] if kind == "highway"]
    for p in parcels:
        # a planted plan gap is cut out as a locked piece of its own, then left out of the layer
        spec = [(GAP, p["zoning_gap"]), p["zoning"]] if "zoning_gap" in p else p["zoning"]
        for g, code in split_region(p, control_region(p["geom"]), spec):
            overlays.append((g, dict(YDYHFLDM=code), True))
    pieces = [(g, a) for g, a in build_coverage(cells, overlays) if a["YDYHFLDM"] != GAP]
    none = (None, None, None, None)
    rows = [dict(YDYHFLDM=a["YDYHFLDM"], YDYHFLMC=YDYH[a["YDYHFLDM"]],
                 **dict(zip(("RJL", "JZMD", "LDL", "JZXG"), PLANNING_CONDITIONS.get(a["YDYHFLDM"], none), strict=True)),
                 geometry=g) for g, a in pieces]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


# --------------------------------------------------------------------------------------
# other layers
# --------------------------------------------------------------------------------------

def make_yjjbnt(rng, W, dltb, parcels):
    base = dltb[dltb["_base"] & dltb["DLBM"].isin(["0101", "0102", "0103"])]
    keep = []
    for g in base.geometry:
        c = g.representative_point()
        z = zone_of(W, c.x, c.y)
        if z != "agri" or rng.random() < 0.12:
            continue
        keep.append(g)
    merged = shapely.union_all(keep)
    planted = [f for p in parcels for f in p["farm"]]
    merged = merged.difference(shapely.union_all(planted).buffer(0.0))
    grid = []
    for gx in np.arange(X0, X1, 700.0):
        for gy in np.arange(Y0, Y1, 700.0):
            grid.append(box(gx, gy, gx + 700, gy + 700))
    patches = []
    for cell in grid:
        for part in explode(merged.intersection(cell)):
            if part.area >= 300:
                patches.append(part)
    patches += planted
    rows = [dict(BSM=3000000 + i + 1, JBNTTBBH=f"{i + 1:05d}", geometry=g) for i, g in enumerate(patches)]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def make_stbhhx(W):
    names = ["漓江上游水源涵养生态保护红线", "桂南南部山地水土保持生态保护红线"]
    rows = [dict(BSM=4000001 + i, HXMC=names[i], geometry=g) for i, g in enumerate(W["red"])]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def make_czkfbj(W):
    rows = [dict(BSM=5000001 + i, MC=f"桂南县{t}城镇开发边界", geometry=g) for i, (t, g) in enumerate(W["udb"].items())]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


#: 基准地价 (yuan/m²) by use and 级别 I/II/III: within 800 m of a town seat, within 2 km, the rest of the town
BASE_PRICES = {"商服用地": (1800.0, 1200.0, 800.0), "工业用地": (620.0, 460.0, 330.0),
               "住宅用地": (1500.0, 1000.0, 700.0), "公共服务用地": (900.0, 650.0, 450.0)}
#: the county seat's prices are higher by this factor
SEAT_FACTOR = {"城关镇": 1.2}


def make_jzdj(W):
    """集体建设用地基准地价 zones: per use, three 级别 rings around each town seat, cut to the town."""
    rows = []
    for t, town in W["towns"].items():
        seat = Point(TOWNS[t][1])
        rings = [seat.buffer(800.0, 64), seat.buffer(2000.0, 64).difference(seat.buffer(800.0, 64)),
                 town.difference(seat.buffer(2000.0, 64))]
        for use, prices in BASE_PRICES.items():
            for level, (ring, price) in enumerate(zip(rings, prices, strict=True)):
                piece = ring.intersection(town)
                if piece.is_empty:
                    continue
                rows.append(dict(BSM=6000001 + len(rows), YT=use, JB=["I", "II", "III"][level],
                                 JZDJ=round(price * SEAT_FACTOR.get(t, 1.0), 2), XZMC=t, geometry=piece))
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def make_xzq(W):
    rows = [dict(XZQDM=TOWNS[t][0], XZQMC=t, geometry=g) for t, g in W["towns"].items()]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def make_jzw(rng, W, parcels):
    geoms, names = [], []
    for p in parcels:
        if not p["building"]:
            continue
        g = p["geom"]
        inner = g.buffer(-4)
        n = 1 if p["planted"] else int(rng.integers(1, 3))
        got = 0
        for k in range(n):
            c = inner.representative_point()
            w, h = rng.uniform(12, 30), rng.uniform(10, 20)
            off = (k * 1.3 * w) * np.array([math.cos(math.radians(p["angle"])), math.sin(math.radians(p["angle"]))])
            b = place(box(-w / 2, -h / 2, w / 2, h / 2), c.x + off[0], c.y + off[1], p["angle"]).intersection(inner)
            if b.is_empty:
                continue
            b = largest(b)
            if b.area < 40 or any(b.intersects(o) for o in geoms[-3:]):
                continue
            geoms.append(b)
            names.append(str(rng.choice(["厂房", "仓库", "办公楼", "门面", "综合楼"])))
            got += 1
        if p["planted"]:
            assert got, p["key"]
        p["building"] = got > 0
    # village houses outside parcels
    avoid = shapely.union_all([control_region(p["geom"]).buffer(4) for p in parcels] + [W["roads_union"].buffer(3)])
    shapely.prepare(avoid)
    for i, (_, _, _, c) in enumerate(VILLAGES):
        zone = W["village_zone"][i]
        placed = 0
        for _ in range(400):
            if placed >= 26:
                break
            x, y = c[0] + rng.normal(0, 140), c[1] + rng.normal(0, 140)
            w, h = rng.uniform(9, 16), rng.uniform(8, 13)
            b = place(box(-w / 2, -h / 2, w / 2, h / 2), x, y, W["village_angle"][i] + rng.uniform(-5, 5))
            if not zone.contains(b) or avoid.intersects(b) or any(b.distance(o) < 3 for o in geoms[-40:]):
                continue
            geoms.append(b)
            names.append("民房")
            placed += 1
    rows = [dict(BSM=6000000 + i + 1, JZWMC=n, geometry=g) for i, (g, n) in enumerate(zip(geoms, names))]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def make_pzyd(rng, W, parcels):
    rows = []
    layer_parcels = [p for p in parcels if p["approval"] in ("pzyd", "pzyd96")]
    others = [p["geom"] for p in parcels if p["approval"] not in ("pzyd", "pzyd96")]
    used = set()
    for i, p in enumerate(layer_parcels):
        if i in used:
            continue
        g = p["geom"]
        if p["approval"] == "pzyd96":
            geom = g.buffer(2, join_style="mitre").intersection(halfplane_for_area(g, p["angle"], 0.96 * g.area))
        else:
            geom = g.buffer(2, join_style="mitre")
            # occasionally a batch approval covering a neighbouring layer-approved parcel too
            for j in range(i + 1, len(layer_parcels)):
                q = layer_parcels[j]
                if j in used or q["approval"] != "pzyd" or q["geom"].distance(g) > 30 or rng.random() > 0.5:
                    continue
                hull = shapely.convex_hull(shapely.union_all([geom, q["geom"].buffer(2, join_style="mitre")]))
                if not any(hull.intersects(o.buffer(1)) for o in others) and not any(
                        hull.intersects(r["geom"]) for k, r in enumerate(layer_parcels) if k not in (i, j)):
                    geom = hull
                    used.add(j)
                    break
        yr = p["attrs"]["JCNF"] or 2010
        yr = max(1995, yr - int(rng.integers(0, 3)))
        rows.append(dict(PZWH=f"桂政土批〔{yr}〕{int(rng.integers(1, 200))}号",
                         PZRQ=f"{yr}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}", geometry=geom))
    # a few approvals of urban land inside the UDBs that do not touch any parcel
    allp = shapely.union_all([control_region(p["geom"]).buffer(30) for p in parcels])
    for t in UDB_TOWNS:
        n = 0
        for _ in range(500):
            if n >= 3:
                break
            s = TOWNS[t][1]
            cx, cy = s[0] + rng.normal(0, 300), s[1] + rng.normal(0, 300)
            g = place(box(-rng.uniform(30, 80), -rng.uniform(25, 60), rng.uniform(30, 80), rng.uniform(25, 60)),
                      cx, cy, rng.uniform(-20, 20))
            if not W["udb"][t].contains(g) or g.intersects(allp) or g.intersects(W["roads_union"]):
                continue
            yr = int(rng.integers(2008, 2023))
            rows.append(dict(PZWH=f"桂政土批〔{yr}〕{int(rng.integers(1, 200))}号",
                             PZRQ=f"{yr}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}", geometry=g))
            n += 1
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


# --------------------------------------------------------------------------------------
# verification
# --------------------------------------------------------------------------------------

def check_coverage(name, gdf, expect_area):
    geoms = np.asarray(gdf.geometry.values)
    total = float(shapely.area(geoms).sum())
    union = shapely.union_all(geoms).area
    assert all(shapely.is_valid(geoms)), f"{name}: invalid polygons"
    assert all(shapely.get_type_id(geoms) == 3), f"{name}: non-Polygon features"
    print(f"  {name}: {len(gdf)} patches, sum={total:.3f} union={union:.3f} extent={expect_area:.3f}")
    assert abs(union - expect_area) < 1.0, f"{name}: gaps"
    assert abs(total - union) < 1.0, f"{name}: overlaps"


def composition(layer, field, geom):
    idx = layer.sindex.query(geom, predicate="intersects")
    out = defaultdict(float)
    for i in idx:
        a = layer.geometry.iloc[i].intersection(geom).area
        if a > 1e-6:
            out[layer[field].iloc[i]] += a
    return dict(out)


def verify(parcels, path):
    L = {n: gpd.read_file(path, layer=n) for n in
         ["zd", "dltb", "dltb_2009", "yjjbnt", "stbhhx", "czkfbj", "ghyt", "jzw", "pzyd", "xzq"]}
    print("verification:")
    for n in ["dltb_2009", "xzq"]:
        check_coverage(n, L[n], EXTENT.area)
    # the 三调 and the plan cover the county but for the planted gaps (each a hole cut along its parcel's axis)
    for n, key in (("dltb", "survey_gap"), ("ghyt", "zoning_gap")):
        gaps = shapely.union_all(L[n].geometry.values).symmetric_difference(EXTENT)
        gap_parcels = [p for p in parcels if key in p]
        check_coverage(n, L[n], EXTENT.area - gaps.area)
        assert all(gaps.intersects(effective(p["geom"])) for p in gap_parcels) and \
            sum(g.area > 1.0 for g in explode(gaps)) == len(gap_parcels), f"{n}: gaps other than the planted ones"
    for n, f in [("zd", "ZDDM"), ("dltb", "BSM"), ("dltb_2009", "BSM"), ("yjjbnt", "BSM"), ("jzw", "BSM"),
                 ("yjjbnt", "JBNTTBBH")]:
        assert L[n][f].is_unique, f"{n}.{f} not unique"
    assert all(len(z) == 19 for z in L["zd"]["ZDDM"]) and all(len(z) == 19 for z in L["zd"]["ZLDWDM"])
    assert all(L[n].crs.to_epsg() == 4546 for n in L)
    zd = L["zd"].set_index("ZDDM")
    farm_u = shapely.union_all(L["yjjbnt"].geometry.values)
    red_u = shapely.union_all(L["stbhhx"].geometry.values)
    udb_u = shapely.union_all(L["czkfbj"].geometry.values)
    meas = {}
    fails = []
    for p in parcels:
        g = effective(zd.loc[p["ZDDM"], "geometry"])
        m = dict(area=g.area)
        m["farm_union"] = g.intersection(farm_u).area
        m["farm_sum"] = sum(composition(L["yjjbnt"], "BSM", g).values())
        m["red"] = g.intersection(red_u).area
        m["udb"] = g.intersection(udb_u).area
        m["survey"] = composition(L["dltb"], "DLBM", g)
        m["s2009"] = composition(L["dltb_2009"], "DLBM", g)
        m["zoning"] = composition(L["ghyt"], "YDYHFLDM", g)
        m["pzyd"] = g.intersection(shapely.union_all(L["pzyd"].geometry.values)).area
        bi = L["jzw"].sindex.query(g, predicate="intersects")
        m["buildings"] = len(bi)
        meas[p["ZDDM"]] = m
        a = zd.loc[p["ZDDM"]]
        key = p["key"] or "default"

        def need(cond, msg):
            if not cond:
                fails.append(f"{key} {p['ZDDM']}: {msg}")

        if g.area == 0:
            continue
        dom = lambda d: max(d, key=d.get)
        # generic expectations, relaxed by what was planted
        if "farmland" not in p:
            need(m["farm_union"] < 1e-6, f"unexpected farmland {m['farm_union']:.3f}")
        site = p.get("site", "random")
        if not site.startswith("red"):
            need(m["red"] < 1e-6, f"unexpected redline {m['red']:.3f}")
        if not site.startswith("udb"):
            need(m["udb"] < 1e-6, f"unexpected udb {m['udb']:.3f}")
        sv = p["survey"]
        if isinstance(sv, str):
            need(set(m["survey"]) == {sv}, f"survey {m['survey']}")
        zn = p["zoning"]
        if isinstance(zn, str):
            need(set(m["zoning"]) == {zn}, f"zoning {m['zoning']}")
        need(set(m["s2009"]) == {p["s2009"]}, f"2009 {m['s2009']}")
        if p["approval"] == "pzwh":
            need(a["PZWH"] != "" and m["pzyd"] < 1e-6, "pzwh")
        elif p["approval"] == "none":
            need(a["PZWH"] in ("", None) and m["pzyd"] < 1e-9, f"approval leak pzyd={m['pzyd']}")
        elif p["approval"] == "pzyd":
            need(a["PZWH"] in ("", None) and m["pzyd"] >= 0.95 * g.area, "pzyd coverage")
        elif p["approval"] == "pzyd96":
            need(abs(m["pzyd"] / g.area - 0.96) < 1e-3, f"pzyd96 {m['pzyd'] / g.area}")
        need((m["buildings"] > 0) == bool(p["building"]), f"buildings {m['buildings']}")
        if m["buildings"] and not p["planted"]:
            need(a["YXBL"] == "是", "YXBL")
        # planted specifics
        fl = p.get("farmland")
        if fl:
            kind, amt = fl
            if kind == "sliver":
                need(abs(m["farm_union"] - 0.5) < 0.01, f"sliver {m['farm_union']}")
            elif kind == "dup":
                need(m["farm_sum"] - m["farm_union"] > 1.0, "dup not overlapping inside parcel")
                need(abs(m["farm_sum"] - 2 * amt) < 0.5, f"dup sum {m['farm_sum']}")
            else:
                need(abs(m["farm_union"] - amt) < 0.5, f"strip {m['farm_union']}")
        if p["planted"]:
            s = p["site"]
            if s == "red_edge":
                need(abs(m["red"] - p["target"]) < 0.5, f"red edge {m['red']}")
            elif s == "red_in":
                need(abs(m["red"] - g.area) < 1e-3, "red in")
            elif s == "red_hole":
                need(m["red"] == 0 and W_HOLE[0].contains(g), "red hole")
            elif s == "udb_in":
                need(abs(m["udb"] - g.area) < 1e-3, "udb in")
            elif s == "udb_edge":
                need(abs(m["udb"] / g.area - p["target"]) < 1e-3, f"udb edge {m['udb'] / g.area}")
            elif s == "seat":
                czc = composition(L["dltb"], "CZCSXM", g)
                need(set(czc) == {"202"}, f"seat CZCSXM {czc}")
            if isinstance(zn, list):
                (code, share), other = zn
                need(abs(m["zoning"].get(code, 0) / g.area - share) < 1e-3 and dom(m["zoning"]) == code,
                     f"zoning mix {m['zoning']}")
            if isinstance(sv, list):
                (code, share), other = sv
                need(abs(m["survey"].get(code, 0) - share) < 0.5, f"survey mix {m['survey']}")
        for layer, key in (("survey", "survey_gap"), ("zoning", "zoning_gap")):
            uncovered = g.area - sum(m[layer].values())
            if key in p:
                need(abs(uncovered - p[key]) < 0.5, f"{layer} gap {uncovered}")
            else:
                need(uncovered < 1e-3, f"unexpected {layer} gap {uncovered:.3f}")
    # sanity on the whole zd layer
    print(f"  zd: {len(zd)} parcels; QSXZ=30: {(zd['QSXZ'] == '30').sum()}, with PZWH: {(zd['PZWH'] != '').sum()}, "
          f"layer-approved: {sum(p['approval'].startswith('pzyd') for p in parcels)}")
    valid = [g for g in zd.geometry if g.is_valid and g.area > 0]
    inter = 0.0
    tr = shapely.STRtree(valid)
    for i, j in zip(*tr.query(valid, predicate="intersects")):
        if i < j:
            inter += valid[i].intersection(valid[j]).area
    assert inter < 1e-6, f"parcels overlap: {inter}"
    areas = np.array([g.area for g in valid if g.geom_type == "Polygon" or len(g.geoms) == 1])
    print(f"  parcel areas: min {areas.min():.1f} max {areas.max():.1f} m2; invalid: {(~zd.geometry.is_valid).sum()}")
    print(f"  farmland pair overlap (dup): {[round(m['farm_sum'] - m['farm_union'], 2) for p in parcels if p.get('farmland', ('',))[0] == 'dup' for m in [meas[p['ZDDM']]]]}")
    if fails:
        print("FAILED:\n  " + "\n  ".join(fails))
        raise SystemExit(1)
    print("  all planted relations hold; all default parcels clean")
    return meas


W_HOLE = []


def fmt_planted(p, m):
    parts = []
    fl = p.get("farmland")
    if fl:
        if fl[0] == "dup":
            parts.append(f"永农重叠 union={m['farm_union']:.2f} m², sum={m['farm_sum']:.2f} m²")
        else:
            parts.append(f"永农重叠 {m['farm_union']:.2f} m²")
    if p["site"].startswith("red"):
        parts.append(f"红线重叠 {m['red']:.2f} m²")
    if p["site"].startswith("udb"):
        parts.append(f"开发边界内 {m['udb']:.2f} m² ({100 * m['udb'] / m['area']:.1f}%)")
    if isinstance(p["survey"], list):
        parts.append("三调 " + ", ".join(f"{k} {v:.2f} m²" for k, v in sorted(m["survey"].items())))
    if "zoning_gap" in p:
        parts.append(f"规划未覆盖 {m['area'] - sum(m['zoning'].values()):.2f} m²")
    if "survey_gap" in p:
        parts.append(f"三调未覆盖 {m['area'] - sum(m['survey'].values()):.2f} m², "
                     + ", ".join(f"{k} {v:.2f} m²" for k, v in sorted(m["survey"].items())))
    if isinstance(p["zoning"], list):
        parts.append("规划 " + ", ".join(f"{k} {100 * v / m['area']:.1f}%" for k, v in sorted(m["zoning"].items())))
    row = next(r for r in PLANTED if r["key"] == p["key"])
    pct = lambda d: ", ".join(f"{k} {100 * v / m['area']:.1f}%" for k, v in sorted(d.items()))
    if isinstance(row.get("survey"), str):
        parts.append("三调 " + pct(m["survey"]))
    if isinstance(row.get("zoning"), str):
        parts.append("规划 " + pct(m["zoning"]))
    if "s2009" in row:
        parts.append("二调 " + pct(m["s2009"]))
    if p["approval"] == "none":
        parts.append(f"pzyd 重叠 {m['pzyd']:.2f} m²")
    if "building" in row or "YXBL" in row.get("attrs", {}):
        parts.append(f"建筑 {m['buildings']} 栋")
    if p["approval"] == "pzyd96":
        parts.append(f"pzyd 覆盖 {m['pzyd']:.2f}/{m['area']:.2f} m² ({100 * m['pzyd'] / m['area']:.1f}%)")
    return "；".join(parts)


def update_readme(parcels, meas):
    lines = ["| ZDDM | 乡镇 | key | case | planted | measured | should fire |", "|---|---|---|---|---|---|---|"]
    for row in PLANTED:
        p = next(q for q in parcels if q["key"] == row["key"])
        m = meas[p["ZDDM"]]
        esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
        lines.append(f"| `{p['ZDDM']}` | {p['town']} | {p['key']} | {p['case']} | {esc(p['what'])} | "
                     f"{esc(fmt_planted(p, m))} | {esc(p['expect'])} |")
    block = "\n".join(lines)
    if not README.exists():
        print(block)
        return
    text = README.read_text(encoding="utf-8")
    new = re.sub(r"(<!-- BEGIN PLANTED -->).*?(<!-- END PLANTED -->)",
                 lambda mm: mm.group(1) + "\n" + block + "\n" + mm.group(2), text, flags=re.S)
    assert new != text or block in text, "README markers missing"
    README.write_text(new, encoding="utf-8")
    print(f"  README planted table refreshed ({len(PLANTED)} rows)")


# --------------------------------------------------------------------------------------

def main():
    rng = np.random.default_rng(SEED)
    W = build_world(rng)
    W_HOLE[:] = [W["red_hole"]]
    occ = Occupancy()
    planted = place_planted(rng, W, occ)
    randoms = place_random(rng, W, occ, N_RANDOM)
    parcels = assign_defaults(rng, W, planted + randoms)
    zd = write_attrs(W, rng, parcels)
    dltb = make_dltb(rng, W, parcels)
    layers = {
        "zd": zd,
        "dltb": dltb.drop(columns="_base"),
        "dltb_2009": make_dltb_2009(rng, W, parcels),
        "yjjbnt": make_yjjbnt(rng, W, dltb, parcels),
        "stbhhx": make_stbhhx(W),
        "czkfbj": make_czkfbj(W),
        "ghyt": make_ghyt(rng, W, parcels),
        "jzw": make_jzw(rng, W, parcels),
        "pzyd": make_pzyd(rng, W, parcels),
        "xzq": make_xzq(W),
        "jzdj": make_jzdj(W),
    }
    if OUT.exists():
        OUT.unlink()
    for name, gdf in layers.items():
        gdf.to_file(OUT, layer=name, driver="GPKG", engine="pyogrio")
        print(f"wrote {name:10s} {len(gdf):5d} features")
    con = sqlite3.connect(OUT)  # compact the file (free pages left by the layer writes)
    con.execute("VACUUM")
    con.close()
    print(f"{OUT.name}: {OUT.stat().st_size / 1e6:.2f} MB")
    write_supply_plan(zd, OUT.parent / "sample_supply_plan.csv")
    meas = verify(parcels, OUT)
    update_readme(parcels, meas)


if __name__ == "__main__":
    main()
