"""The cadre detector on its own (handlers/cadre.py): mentions, roles, kinds of sign, the verdict.

Sentences written for this test; no database.
"""

import pytest

from handlers.cadre import ASK, NO, YES
from handlers.classify import DEFAULT_RULES, Classifier, RulesError

COMMITTEE = {"柳湾村": ["褚长福", "邝玉珍"], "桃园村": ["欧阳启明"]}


@pytest.fixture(scope="module")
def cadre():
    return Classifier.load().cadre


def test_the_roster_names_as_people_write_them(cadre):
    forms = set(cadre.name_forms(["褚长福", "欧阳启明"]))
    assert {"褚长福", "长福", "老褚", "褚书记", "褚会计", "褚大姐"} <= forms
    assert {"欧阳启明", "老欧阳", "欧阳书记", "启明"} <= forms and "老欧" not in forms


@pytest.mark.parametrize("text, verdict", [
    # named as the roster knows them, by title, colloquially, mistyped
    ("老褚把村里的鱼塘低价包给了他外甥", YES),
    ("欧阳书记家新盖的院墙用的是修路剩下的砖 拉了好几车进他院子", YES),
    ("管账的那个说补贴还没拨下来 可别的村早发了 钱八成是被他扣着", YES),
    ("村里会记收了大伙的合作医疗钱 到现在没交上去", YES),
    ("当家的放话了 谁不签字以后啥补助都别想", YES),
    # the cadre helps, mediates, is the victim, is another unit's, is a place
    ("褚书记连夜带着人去抢修冲坏的水渠", NO),
    ("两家为地界吵了一上午 邝玉珍在中间说和 总算各退一步", NO),
    ("有人半夜把村主任家的玉米偷走了一车", NO),
    ("乡卫生院的会计说报销单据下个月才能批", NO),
    ("几个年轻人在村委会门口喝酒打架 砸了两辆摩托", NO),
    ("这事跟村干部没关系 是外地收购商压价", NO),
    # a mention with one kind of sign: ask
    ("村主任说低保名单下周开会定", ASK),
])
def test_verdicts(cadre, text, verdict):
    assert cadre.judge(text, COMMITTEE).verdict == verdict, cadre.judge(text, COMMITTEE).reason


def test_the_verdict_names_the_accused_village(cadre):
    found = cadre.judge("桃园村那个欧阳启明把集体的山林偷偷卖给了老板", COMMITTEE)
    assert found.verdict == YES and found.villages == ("桃园村",) and found.involves
    assert cadre.judge("路灯坏了好几盏", COMMITTEE).involves is False


def test_unsure_counts_as_involved_until_someone_says_no():
    clf = Classifier.load()
    text = "村主任说低保名单下周开会定"
    assert clf.classify(text).involves_cadre and clf.classify(text).category == "违规违纪"
    said_no = clf.classify(text, involves_cadre=False)
    assert not said_no.involves_cadre and said_no.category == "涉贫政策"


DEFAULT = DEFAULT_RULES.read_text(encoding="utf-8")


@pytest.mark.parametrize("old, new, message", [
    ("'{B}(门口|大门|", "'{B}{C}(门口|大门|", "must contain {C} (a cadre) or {B} (a body) exactly once"),
    ('excused = ["force"]', 'excused = ["fists"]', "excused names 'fists', which is not a kind of [cadre.signs]"),
    ("bodies = [", "bodys = [", "[cadre] has unknown key(s) bodys"),
])
def test_a_bad_cadre_table_is_refused_with_file_and_key(tmp_path, old, new, message):
    assert old in DEFAULT
    path = tmp_path / "rules.toml"
    path.write_text(DEFAULT.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulesError) as refused:
        Classifier.load(path)
    assert message in str(refused.value) and str(path) in str(refused.value)
