"""The tip-off classifier: corpus accuracy, focused behaviour, a replaceable rule table, refused rule files.

No database, no HTTP: `pytest tests/test_classify.py -q -s` prints the accuracy tables.
"""

import os
import ast
import dataclasses
import json
import re
from pathlib import Path

import pytest

import handlers.classify as classify_module
from handlers.classify import DEFAULT_RULES, Classifier, Labels, RulesError, cn_number

HERE = Path(__file__).resolve().parent
DEV_CORPUS = HERE.parents[1] / "shared" / "corpus" / "tipoffs-dev.jsonl"
EXTRA_CORPUS = HERE / "data" / "tipoffs-extra.jsonl"
FIELDS = ("category", "lead_department", "urgent", "online", "involves_cadre", "village")
# villages that are not the answer of any item: the classifier must not pick them by accident
OTHER_VILLAGES = ["后营村", "白水村", "北坡村", "石门村", "小营村", "西沟子村"]


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


# -- (1) corpus accuracy -------------------------------------------------------------------


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _evaluate(clf: Classifier, path: Path, title: str) -> dict[str, float]:
    items = _load(path)
    villages = sorted({it["expect"]["village"] for it in items if it["expect"]["village"]}
                      | set(OTHER_VILLAGES))
    wrong: dict[str, list[str]] = {f: [] for f in FIELDS}
    details: list[str] = []
    for it in items:
        labels = clf.classify("\n".join(it["messages"]), known_villages=villages)
        for field in FIELDS:
            got, want = getattr(labels, field), it["expect"][field]
            if got != want:
                wrong[field].append(it["id"])
                details.append(f"  {it['id']} {field}: got {got!r}, want {want!r} — {it.get('note', '')}")
    n = len(items)
    print(f"\n{title}: {n} tip-offs ({path.name})")
    print(f"  {'field':<16}{'correct':>9}{'accuracy':>10}  misclassified")
    accuracy = {}
    for field in FIELDS:
        ok = n - len(wrong[field])
        accuracy[field] = ok / n
        print(f"  {field:<16}{ok:>5}/{n:<3}{accuracy[field]:>9.1%}  {', '.join(wrong[field]) or '-'}")
    for line in details:
        print(line)
    return accuracy


# Issue #11, round six: the cadre detector fails closed by structure (wrongdoing about collective things
# with nobody placed outside, a nickname with a strong sign → ask). An asked tip-off counts here as
# "involves a cadre" (and so 违规违纪/纪委) until the reporter answers; that costs the dev corpus 0.95 →
# 0.825 on these three fields. A deliberate trade (a leak is worse than a question), pinned so any
# further loss fails.
DEV_FLOORS = {"category": 0.825, "lead_department": 0.825, "involves_cadre": 0.825}


def test_dev_corpus_accuracy(clf):
    if not DEV_CORPUS.exists():  # ../shared beside the checkout; CI has it, so there it must run
        if os.environ.get("CI"):
            pytest.fail(f"dev corpus not found at {DEV_CORPUS}")
        pytest.skip(f"dev corpus not found at {DEV_CORPUS}")
    accuracy = _evaluate(clf, DEV_CORPUS, "Dev corpus")
    low = {f: (a, DEV_FLOORS.get(f, 0.95)) for f, a in accuracy.items() if a < DEV_FLOORS.get(f, 0.95)}
    assert not low, f"fields below their floor on the dev corpus (accuracy, floor): {low}"


def test_extra_corpus_accuracy(clf):
    accuracy = _evaluate(clf, EXTRA_CORPUS, "Extra tip-offs (written for this test, not from the corpus)")
    low = {f: a for f, a in accuracy.items() if a < 0.85}
    assert not low, f"fields below 85% on the extra tip-offs: {low}"


def test_extra_corpus_is_well_formed():
    items = _load(EXTRA_CORPUS)
    assert len(items) >= 30
    assert len({it["id"] for it in items}) == len(items)
    for it in items:
        assert it["messages"] and all(isinstance(m, str) and m for m in it["messages"])
        assert set(it["expect"]) == set(FIELDS)


# -- (2) focused behaviour (new sentences, not from the corpus) ----------------------------

VILLAGES = ["西岔村", "东山村", "南沟村", "白水村", "李家庄"]

CASES = [
    # negation
    ("neg-gathering", "村里因为补偿款有意见 但目前没有聚集 也没人去乡里闹",
     {"urgent": False, "category": "信访诉求"}),
    ("neg-petition", "他们说不会去上访 只想把钱要回来", {"urgent": False}),
    ("neg-plan-inside-clause", "大家就是在群里发发牢骚 没有要去闹的意思", {"urgent": False, "online": True}),
    ("neg-online", "这事还没上网 就是村里私下议论", {"online": False}),
    ("neg-cadre", "这事不是村干部干的 是外村一个包工头挪用了工人的钱",
     {"involves_cadre": False, "category": "信访诉求"}),
    ("neg-cadre-after", "先说清楚 跟村两委没关系 是乡财政所一个人在发补贴时吃拿卡要",
     {"involves_cadre": False, "category": "违规违纪", "lead_department": "纪委"}),
    ("neg-category", "不是征地的事 是两家为宅基地边界吵起来了", {"category": "信访诉求"}),
    # the cadre as victim, helper or reporter — and as the accused
    ("cadre-victim", "北坡村会计昨天去收水费 被一户人家拿铁锹打伤了",
     {"involves_cadre": False, "category": "涉黑涉法", "lead_department": "政法委"}),
    ("cadre-victim-active", "有个醉汉在村委会门口殴打了村主任", {"involves_cadre": False, "category": "涉黑涉法"}),
    ("cadre-reporter", "村支书反映 有人在村里放高利贷 利息高得吓人",
     {"involves_cadre": False, "category": "涉黑涉法"}),
    ("cadre-mediator", "村书记帮忙调解了两回 两家还是为宅基地的事吵", {"involves_cadre": False, "category": "信访诉求"}),
    ("cadre-accused-relative", "村主任把低保名额给了他亲家",
     {"involves_cadre": True, "category": "违规违纪", "lead_department": "纪委"}),
    ("cadre-accused-violence", "村主任喝了酒打人 把邻居的门牙打掉了", {"involves_cadre": True, "category": "违规违纪"}),
    ("cadre-other-unit", "信用社的会计说贷款要先交一笔好处费", {"involves_cadre": False}),
    # keyword traps: who is accused of what decides, not the subject words
    ("trap-toilet-embezzled", "村会计把上面拨的改厕补助挪用了 好几户的厕所到现在没修",
     {"category": "违规违纪", "involves_cadre": True}),
    ("trap-toilet-livelihood", "脱贫户老张家的厕所冬天冻裂了 没法用", {"category": "民生环境", "involves_cadre": False}),
    ("trap-relocation-demolition", "易地搬迁户的老房子拆了以后 拆旧补助一直没到", {"category": "涉贫政策"}),
    ("trap-fight-over-land", "为了地边上两垄地 两家男人动起手来 一个胳膊骨折了", {"category": "涉黑涉法"}),
    ("trap-private-boss", "有个外地老板挪用了合作社三十多万", {"involves_cadre": False}),
    ("trap-speculation", "村里人都在猜是不是要修高速征地了 其实没人来说过", {"category": "其他"}),
    ("trap-blocked-drain", "排水沟又堵了 脏水流到路上", {"urgent": False, "category": "民生环境"}),
    ("trap-video-call", "我儿子跟我打视频电话说城里工地欠他工资", {"online": False, "category": "信访诉求"}),
    # crowd sizes in Chinese number words
    ("crowd-30-odd", "今天下午三十来个村民跑到镇政府门口 要找领导", {"urgent": True}),
    ("crowd-hundred", "上百人聚在村口 说要去县里", {"urgent": True}),
    ("crowd-range", "四五十号人在乡政府院里坐着不走", {"urgent": True}),
    ("crowd-tens", "几十户人家商量着一起去县里上访", {"urgent": True}),
    ("crowd-small", "七八个人到村委会问补贴的事", {"urgent": False}),
    ("crowd-no-gathering", "村里有五十多户没领到取暖补贴", {"urgent": False, "severity": "较大"}),
    ("crowd-wedding", "村里办婚礼 来了两三百人 聚集在村口", {"urgent": False, "severity": "一般"}),
    ("urgent-banner", "他们说明天去县政府门口拉横幅", {"urgent": True, "severity": "紧急"}),
    ("urgent-beijing", "那几户嫌拆迁补偿低 听说订了去北京的火车票", {"urgent": True, "category": "信访诉求"}),
    ("urgent-extreme", "老宋说再不给钱就在乡政府门口喝农药", {"urgent": True}),
    ("urgent-road", "村民把通往镇上的路给堵了 车都过不去", {"urgent": True}),
    # online: links, platforms, screen names
    ("online-weibo", "微博上有个网名叫“清水河畔”的发了帖 https://weibo.com/123/abc 说东山村的水库漏了",
     {"online": True, "platform": "微博", "screen_name": "清水河畔", "links": ("https://weibo.com/123/abc",),
          "village": "东山村"}),
    ("online-handle", "抖音号：xiaowang888 发的视频 https://v.douyin.com/XyZ/ 还有 https://www.iesdouyin.com/share/video/1/",
     {"online": True, "platform": "抖音", "screen_name": "xiaowang888",
          "links": ("https://v.douyin.com/XyZ/", "https://www.iesdouyin.com/share/video/1/")}),
    ("online-at", "@乡村小喇叭 在快手上发了我们村垃圾成堆的视频",
     {"online": True, "platform": "快手", "screen_name": "乡村小喇叭", "category": "民生环境"}),
    ("online-called", "头条上有个叫“老街坊”的写了篇文章 说乡里的路修得差", {"platform": "头条", "screen_name": "老街坊"}),
    ("online-nickname", "昵称是 东山一枝花 的那个人在视频号里骂人", {"platform": "视频号", "screen_name": "东山一枝花"}),
    ("online-link-only", "https://m.toutiao.com/is/abc/ 这篇说我们乡征地补偿有问题",
     {"online": True, "platform": "头条", "category": "信访诉求"}),
    ("online-unknown-host", "https://example.org/news/1 这篇说补偿款没到位", {"online": True, "platform": None}),
    ("online-group", "村民群里有人转发说要收养老钱", {"online": True, "platform": "微信群"}),
    ("online-none", "老王家的牛跑丢了", {"online": False, "platform": None, "screen_name": None, "links": ()}),
    # severity
    ("severity-online-discipline", "抖音上有人发视频说村会计做假账",
     {"severity": "较大", "category": "违规违纪", "online": True, "involves_cadre": True}),
    ("severity-amount", "乡里有个站长挪用了二十来万扶贫资金", {"severity": "较大", "category": "违规违纪"}),
    ("severity-plain", "村头路灯坏了一个", {"severity": "一般", "category": "民生环境"}),
    # villages
    ("village-bare", "西岔那边的路塌了 车过不去", {"village": "西岔村"}),
    ("village-township", "白水乡东山村的路灯坏了半年了", {"village": "东山村"}),
    ("village-feature", "我们村南沟子里有人倒垃圾", {"village": None}),
    ("village-negated", "不是东山村 是南沟村的事 路让水冲垮了", {"village": "南沟村"}),
    ("village-correction", "东山村有人在河里电鱼\n刚才说错了 应该是西岔村", {"village": "西岔村"}),
    ("village-own", "西岔村的人跑到我们东山村来闹 说水渠是他们的", {"village": "东山村"}),
    ("village-no-suffix", "李家庄有人家养的狗咬了小孩", {"village": "李家庄"}),
    ("village-none", "我们村的垃圾没人拉", {"village": None}),
    ("village-in-screen-name", "快手上网名叫“白水老哥”的天天骂人", {"village": None}),
    # round four: wrongdoing by officials who are not village cadres; the office's emergencies and 医保
    ("official-rush-fee", "供电所的人接电要收赶工钱 不交就往后排", {"category": "违规违纪"}),
    ("official-overclaimed", "林业站报的造林面积比实际多出一大截", {"category": "违规违纪"}),
    ("official-kept-subsidy", "乡畜牧站领了防疫补贴的钱不发给养殖户", {"category": "违规违纪"}),
    ("official-gift-cards", "镇上卫生所的人来检查 收了诊所两张购物卡", {"category": "违规违纪"}),
    ("official-work-hours", "县里下来的那个干部 上班时间在宾馆打牌", {"category": "违规违纪"}),
    ("official-car", "乡政府那辆面包车 周末拉着他家亲戚去钓鱼下馆子", {"category": "违规违纪"}),
    ("official-contract-kin", "卫生院的食堂包给了院长的外甥", {"category": "违规违纪"}),
    ("office-poisoning", "吃完喜酒十几个人食物中毒 拉到县医院去了", {"category": "其他"}),
    ("office-medical-insurance-price", "今年医保又要多交钱了 不少人说干脆不交", {"category": "其他"}),
    ("poverty-medical-insurance", "监测户的医保代缴今年还有没有 好几家问", {"category": "涉贫政策"}),
]


@pytest.mark.parametrize("text,expected", [pytest.param(t, e, id=i) for i, t, e in CASES])
def test_focused(clf, text, expected):
    labels = clf.classify(text, known_villages=VILLAGES)
    got = {k: getattr(labels, k) for k in expected}
    assert got == expected, f"{text!r}\n{labels}\n{clf.explain(text)}"


def test_lead_department_follows_category(clf):
    labels = clf.classify("有人在村里开赌场 天天有人去赌钱")
    assert (labels.category, labels.lead_department, labels.severity) == ("涉黑涉法", "政法委", "一般")


def test_a_doubt_about_a_cadre_fails_closed_but_the_category_is_the_texts(clf):
    text = "东山村村主任说今年的低保名单下周公示"  # a cadre named, nobody accused: the detector asks
    asked = clf.classify(text, known_villages=VILLAGES)
    assert (asked.cadre_verdict, asked.involves_cadre, asked.cadre_accused) == ("ask", True, False)
    assert (asked.category, asked.lead_department, asked.severity) == ("涉贫政策", "乡村振兴办", "较大")
    unknown = clf.classify(text, known_villages=VILLAGES, cadre_unknown=True)  # the reporter: 不清楚
    assert (unknown.category, unknown.involves_cadre, unknown.cadre_accused) == ("涉贫政策", True, False)
    said = clf.classify(text, known_villages=VILLAGES, involves_cadre=True)  # the reporter: 是
    assert (said.category, said.lead_department, said.involves_cadre, said.cadre_accused) == (
        "违规违纪", "纪委", True, True)
    cleared = clf.classify(text, known_villages=VILLAGES, involves_cadre=False)
    assert (cleared.category, cleared.involves_cadre, cleared.severity) == ("涉贫政策", False, "一般")
    accused = clf.classify("东山村村主任把低保名额给了自己亲戚", known_villages=VILLAGES)  # the detector: yes
    assert (accused.cadre_verdict, accused.category, accused.cadre_accused) == ("yes", "违规违纪", True)


def test_ambiguous_short_village_name_is_not_guessed(clf):
    text = "东山那边的桥塌了"
    assert clf.classify(text, known_villages=["东山村"]).village == "东山村"
    assert clf.classify(text, known_villages=["东山村", "东山社区"]).village is None
    assert clf.classify(text).village is None


def test_empty_text(clf):
    labels = clf.classify("")
    assert dataclasses.replace(labels, category_scores=()) == Labels(
        "其他", "领导小组办公室", "一般", False, False, False, None, None, None, ())
    assert all(score == 0 for _, score in labels.category_scores)


def test_labels_are_frozen(clf):
    labels = clf.classify("村里垃圾没人拉")
    with pytest.raises(dataclasses.FrozenInstanceError):
        labels.category = "其他"  # type: ignore[misc]


@pytest.mark.parametrize("words,value", [
    ("三十", 30), ("五六十", 50), ("四五十", 40), ("几十", 30), ("十几", 13), ("百", 100), ("一两百", 100),
    ("两百", 200), ("三十五", 35), ("一百零五", 105), ("一百二", 120), ("一万二", 12000), ("十几万", 130000),
    ("30", 30), ("1.5", 1), ("八", 8), ("好", None),
])
def test_cn_number(words, value):
    assert cn_number(words) == value


def test_packaged_rules_load_by_path_too(clf):
    assert DEFAULT_RULES.is_file()
    text = "快手上有人说东山村支书吃低保"
    assert Classifier.load(DEFAULT_RULES).classify(text, VILLAGES) == clf.classify(text, VILLAGES)


def test_code_holds_no_domain_words():
    """Every word the office may want to change lives in rules.toml; the code only has numerals and
    punctuation (docstrings and comments aside)."""
    found = set()
    for path in sorted(Path(classify_module.__file__).parent.glob("*.py")):
        found |= _code_characters(ast.parse(path.read_text(encoding="utf-8")))
    allowed = set("零〇一二两三四五六七八九十百千万几数多来余元块") | set("，。！？；：、“”‘’「」『』《》【】（）…～\u3000")
    assert found <= allowed, f"domain words in the code: {sorted(found - allowed)}"


def _code_characters(tree: ast.AST) -> set[str]:
    """The CJK characters of a module's string constants, docstrings aside."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found |= {ch for ch in node.value if re.match(r"[\u3000-\u9fff\uff00-\uffef]", ch)}
    return found


# -- (3) a custom rule table replaces the defaults -----------------------------------------

CUSTOM_RULES = """
[classify]
default_category = "其他"
min_score = 1
priority = ["治安", "其他"]
[classify.weights]
strong = 3
words = 2
weak = 1
patterns = 3

[negation]
before = ["没有"]
window = 4

[[category]]
name = "治安"
lead_department = "政法委"
strong = ["放鞭炮"]
patterns = ['烧[^，。\\s]{0,3}秸秆']

[[category]]
name = "其他"
lead_department = "网信办"

[online]
words = ["论坛"]
[online.platforms]
"本地论坛" = ["论坛"]

[screen_name]
markers = ["外号"]
connectors = ["叫"]
unquoted_stops = ["的"]

[urgent]
cues = ["敲锣"]
[urgent.crowd]
threshold = 5
units = ["人"]
measures = ["个"]
actions = ["广场"]
window_before = 5
window_after = 10

[cadre]
category = "治安"
titles = ["网格长"]
strong = ["贪污"]

[village]

[severity]
major_if_involves_cadre = false
major_count = 1000
major_amount = 1000000
"""


def test_custom_rules_replace_the_defaults(tmp_path, clf):
    path = tmp_path / "rules.toml"
    path.write_text(CUSTOM_RULES, encoding="utf-8")
    custom = Classifier.load(path)

    text = "村口有人放鞭炮"
    assert (clf.classify(text).category, clf.classify(text).lead_department) == ("其他", "领导小组办公室")
    assert (custom.classify(text).category, custom.classify(text).lead_department) == ("治安", "政法委")
    assert custom.classify("有人在地里烧了秸秆").category == "治安"

    text = "村书记贪污了扶贫款"  # no discipline category and no such title in the custom table
    assert (clf.classify(text).category, clf.classify(text).involves_cadre) == ("违规违纪", True)
    labels = custom.classify(text)
    assert (labels.category, labels.lead_department, labels.involves_cadre) == ("其他", "网信办", False)
    labels = custom.classify("网格长贪污")
    assert (labels.category, labels.involves_cadre, labels.severity) == ("治安", True, "一般")

    text = "论坛上有个外号叫老八的在发帖"
    assert custom.classify(text).online and custom.classify(text).platform == "本地论坛"
    assert custom.classify(text).screen_name == "老八"
    assert clf.classify("论坛里有人在说").online is False

    assert custom.classify("有人在村口敲锣").urgent and not clf.classify("有人在村口敲锣").urgent
    assert custom.classify("六个人在广场上").urgent and not clf.classify("六个人在广场上").urgent
    assert not custom.classify("没有敲锣").urgent
    assert custom.classify("三十多个人在乡政府门口").urgent is False  # not this table's gathering word
    assert custom.classify("西岔村", known_villages=["西岔村"]).village == "西岔村"


# -- (4) a bad rule file is refused with a useful message ----------------------------------

DEFAULT_TEXT = DEFAULT_RULES.read_text(encoding="utf-8")


def _edit(old: str, new: str):
    def apply(text: str) -> str:
        assert old in text, f"test edit target vanished from rules.toml: {old!r}"
        return text.replace(old, new, 1)
    return apply


def _drop_section(header: str):
    def apply(text: str) -> str:
        start = text.index(header)
        nxt = text.find("\n[", start + len(header))
        return text[:start] + (text[nxt:] if nxt != -1 else "")
    return apply


BAD_EDITS = [
    ("misspelt-key", _edit("min_score = 2", "min_scor = 2"), "unknown key(s) min_scor"),
    ("wrong-type", _edit("min_score = 2", 'min_score = "二"'), "min_score must be a number"),
    ("not-a-list", _edit('weak = ["名额", "指标", "公示", "评议"]', 'weak = "名额"'), "weak must be a list of strings"),
    ("bad-department", _edit('lead_department = "纪委"', 'lead_department = "纪检组"'), "'纪检组' is not a department"),
    ("no-department", _edit('lead_department = "纪委"\n', ""), "[category 违规违纪] is missing lead_department"),
    ("bad-regex", _edit("'动(起|了)手',", "'动(起|了手',"), "bad regular expression"),
    ("cadre-pattern-without-title", _edit("'{C}[^，,。\\s被]{0,16}(调解", "'[^，,。\\s被]{0,16}(调解"), "{C}"),
    ("cadre-strong-missing", _edit('strong = [\n  "贪", "挪用"', 'strongest = [\n  "贪", "挪用"'),
     "[cadre] has unknown key(s) strongest"),
    ("cadre-bad-sign", _edit('money = [', 'money = 3\nmoney2 = ['), "[cadre.signs] money must be a list of strings"),
    ("unknown-default", _edit('default_category = "其他"', 'default_category = "其它"'), "default_category names '其它', which is not a category"),
    ("unknown-priority", _edit('priority = ["违规违纪",', 'priority = ["违纪",'), "priority names '违纪'"),
    ("missing-section", _drop_section("[severity]"), "missing section [severity]"),
    ("missing-crowd", _drop_section("[urgent.crowd]"), "missing section [urgent.crowd]"),
    ("negative-threshold", _edit("threshold = 10", "threshold = -1"), "threshold must be a number ≥ 1"),
    ("not-toml", lambda t: t + "\n[classify\n", "is not valid TOML"),
    ("no-categories", lambda t: re.sub(r"\[\[category\]\]", "[[categoryx]]", t), "unknown key(s) categoryx"),
]


@pytest.mark.parametrize("edit,message", [pytest.param(e, m, id=i) for i, e, m in BAD_EDITS])
def test_bad_rules_are_refused(tmp_path, edit, message):
    path = tmp_path / "office-rules.toml"
    path.write_text(edit(DEFAULT_TEXT), encoding="utf-8")
    with pytest.raises(RulesError) as err:
        Classifier.load(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_and_unreadable_rules_files(tmp_path):
    assert issubclass(RulesError, ValueError)
    with pytest.raises(RulesError, match="not found"):
        Classifier.load(tmp_path / "nope.toml")
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes(DEFAULT_TEXT.encode("gbk", errors="replace"))
    with pytest.raises(RulesError, match="not UTF-8"):
        Classifier.load(gbk)
    with pytest.raises(RulesError, match="cannot be read"):
        Classifier.load(tmp_path)  # a directory
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(RulesError, match="missing section"):
        Classifier.load(empty)


def test_a_reading_is_reused_only_for_the_same_text_roster_answer_and_model():
    from handlers.classify import Classifier
    from handlers.classify.combine import Combined

    combined = Combined(Classifier.load(None))
    text = "北坡村的村书记王大海收了低保户的钱"
    first = combined.read(text, ["北坡村"], {"北坡村": ["王大海"]})
    assert combined.read(text, ["北坡村"], {"北坡村": ["王大海"]}) is first  # 确认 on an unchanged draft
    assert first.labels.involves_cadre
    # The roster changed (another committee) or the reporter answered: read afresh.
    other = combined.read(text, ["北坡村"], {"北坡村": ["李四"]})
    assert other is not first
    assert combined.read(text, ["北坡村"], {"北坡村": ["王大海"]}, involves_cadre=False) is not first
    assert combined.read(text, ["北坡村"], {"北坡村": ["王大海"]}, cadre_unknown=True) is not first
    assert combined.read(text + "。", ["北坡村"], {"北坡村": ["王大海"]}) is not first
