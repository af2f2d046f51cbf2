"""A township roster for the chat-flow tests, imported through the real roster import."""

from handlers.roster import import_roster

VILLAGES = ("北坡村", "西岔村", "东山村", "南沟村", "后营村")
DEPARTMENTS = ("纪委", "政法委", "信访办", "乡村振兴办", "网信办", "党政办")
HEADER = "乡镇,村,网格,姓名,手机号,角色,部门,包联村,企业微信账号"
PINYIN = {"北坡村": "beipo", "西岔村": "xicha", "东山村": "dongshan", "南沟村": "nangou", "后营村": "houying",
          "纪委": "jiwei", "政法委": "zhengfa", "信访办": "xinfang", "乡村振兴办": "zhenxing", "网信办": "wangxin",
          "党政办": "dangzheng"}


def secretary(village: str) -> str:
    """WeCom userid of the village's secretary."""
    return f"sj-{PINYIN[village]}"


def committee(village: str) -> str:
    return f"wy-{PINYIN[village]}"


def liaison(department: str) -> str:
    return f"ll-{PINYIN[department]}"


def roster_rows() -> list[str]:
    rows, n = [], 0

    def person(village, grid, name, role, dept="", covers="", userid=None):
        nonlocal n
        n += 1
        rows.append(f"白水乡,{village},{grid},{name},139{n:08d},{role},{dept},{covers},{userid or f'u{n:03d}'}")

    person("北坡村", "一网格", "网格员小王", "网格员", userid="gw")
    person("北坡村", "二网格", "网格员小李", "网格员", userid="gw2")
    for village in VILLAGES:
        person(village, "", f"{village}书记", "村书记", userid=secretary(village))
        person(village, "", f"{village}委员", "村两委", userid=committee(village))
    person("", "", "包村领导甲", "包村领导", covers="西岔村、南沟村", userid="bc1")
    person("", "", "包村领导乙", "包村领导", covers="北坡村、东山村、后营村", userid="bc2")
    for dept in DEPARTMENTS:
        person("", "", f"{dept}联络员", "部门联络员", dept=dept, userid=liaison(dept))
    person("", "", "办公室小赵", "办公室", userid="office")
    person("", "", "乡长", "主要领导", userid="leader")
    person("", "", "副乡长", "分管领导", userid="deputy")
    return rows


def load(sessions) -> None:
    data = "\n".join([HEADER, *roster_rows()]).encode()
    with sessions.begin() as s:
        report = import_roster(s, "roster.csv", data)
        assert not report.refused, [str(e) for e in report.errors]
