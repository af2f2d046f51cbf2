"""The command registry through the real callback: help, cards and refusals offer only what a person may do;
questions take answers that stay out of the description; corrections at the summary; greetings file nothing."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.conversation import Chat
from bot.inbound import InboundMessage
from handlers import texts
from handlers.classify import DEFAULT_RULES, Classifier
from handlers.questions import CHOICE, VILLAGE, YES_NO, NotAnAnswer, Question, answer
from models import Case, OutboxMessage, Unit
from tests import township
from tests.casework import POLICY
from tests.conftest import T0
from tests.township import liaison, secretary
from tests.wxclient import Aes, Peer

TOKEN = "tok"
KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"

# The people on a 东山村 livelihood case (党政办 leads), and the office and leaders.
LEAD, VERIFIER = liaison("党政办"), secretary("东山村")
EVERYONE = ("gw", VERIFIER, LEAD, "bc2", "office", "leader", "deputy")
# What to write after a command that needs words.
NOTES = {"进展": "已入户核实", "结果": "已清运完毕", "原因": "不属于本部门职责", "要求": "今晚务必到现场",
         "部门": "乡村振兴办"}


@pytest.fixture
def wecom(serve, db):
    township.load(db)
    server = serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, mp_token=TOKEN, mp_allow_plaintext=True, admin_token="adm")
    return Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)


def say(peer: Peer, sender: str, text: str) -> str | None:
    reply = peer.open_reply(peer.send(peer.message(sender, "text", Content=text)))
    return reply and reply["Content"]


def code_in(receipt: str) -> str:
    return re.search(r"XS-\d{8}-\d{4}", receipt)[0]


def the_case(db, code: str) -> Case:
    with db() as s:
        return s.scalars(select(Case).where(Case.code == code)).one()


def file_case(wecom) -> str:
    say(wecom, "gw", "东山村垃圾堆了好几天没人拉，臭得很")
    return code_in(say(wecom, "gw", "确认"))


def offered(reply: str) -> list[str]:
    """The commands a reply offers (“…” after 您可发送：)."""
    tail = reply.split("您可发送：", 1)[1] if "您可发送：" in reply else ""
    return re.findall(r"“([^”]+)”", tail.split("\n")[0])


# -- help ------------------------------------------------------------------------------------

def test_help_lists_only_the_commands_of_the_askers_roles(wecom):
    assert say(wecom, "gw", "帮助") == texts.HELP
    helps = {who: say(wecom, who, "帮助") for who in EVERYONE}
    for word in ("签收", "反馈", "办结", "督办", "退回", "合并", "待办"):
        assert f"· {word}" not in helps["gw"], word
    assert all(f"· {w}" in helps[VERIFIER] for w in ("签收", "反馈", "约见", "退回", "待办"))
    assert "· 办结" not in helps[VERIFIER] and "· 督办" not in helps[VERIFIER]
    assert all(f"· {w}" in helps[LEAD] for w in ("签收", "办结", "退回"))
    assert "· 督办" in helps["bc2"] and "· 签收" not in helps["bc2"] and "· 办结" not in helps["bc2"]
    assert all(f"· {w}" in helps["office"] for w in ("合并", "回访", "拟口径", "督办"))
    assert "· 督办" in helps["leader"] and "· 合并" not in helps["leader"] and "· 签收" not in helps["leader"]


# -- every command offered is accepted ---------------------------------------------------------

STATES = {
    "assigned": [],
    "acknowledged": [(VERIFIER, "签收 {code}")],
    "in_progress": [(LEAD, "反馈 {code} 已派人清运")],
    "resolved": [(LEAD, "办结 {code} 已清运完毕")],
    "submitted": [(LEAD, "退回 {code} 不归我们管")],
}



def _case_in(wecom, state: str) -> str:
    code = file_case(wecom)
    for who, command in STATES[state]:
        assert code in say(wecom, who, command.format(code=code))
    return code


def _filled(command: str) -> str:
    for placeholder, words in NOTES.items():
        command = command.replace(placeholder, words)
    return command


@pytest.mark.parametrize("state", STATES)
def test_every_command_a_person_is_offered_is_accepted(wecom, db, state):
    """Each role × case state: what 进度 (and the card, when assigned) offers is accepted as offered."""
    code = _case_in(wecom, state)
    assert the_case(db, code).status == state
    with db() as s:
        cards = dict(s.execute(select(OutboxMessage.recipient, OutboxMessage.body)
                               .where(OutboxMessage.idempotency_key.like(f"card:{code}:%"))).all())
    walked = 0
    for who in EVERYONE:
        commands = offered(say(wecom, who, f"进度 {code}")) or [f"进度 {code}"]
        if state == "assigned" and who in cards:
            assert offered(cards[who]) == commands, who  # the card offers what 进度 offers
        for command in commands:
            if command.startswith("进度"):
                continue
            fresh = _case_in(wecom, state)  # each command on its own case in this state
            typed = _filled(command.replace(code, fresh))
            reply = say(wecom, who, typed)
            action = typed.split()[0]
            done = texts.dispatched(fresh, NOTES["部门"]) if action == "分派" else texts.DONE[action].format(code=fresh)
            assert reply == done, (who, state, typed, reply)
            walked += 1
    expected_any = state != "resolved"
    assert (walked > 0) == expected_any


def test_refusals_say_who_may_and_offer_only_what_is_allowed(wecom, db):
    code = file_case(wecom)
    refused = say(wecom, VERIFIER, f"办结 {code} 弄好了")
    assert refused.startswith(f"{code} 的“办结”由牵头部门党政办或办公室办理。")
    assert offered(refused) == [f"签收 {code}", f"反馈 {code} 进展", f"约见 {code}", f"退回 {code} 原因", f"进度 {code}"]
    for command in offered(refused)[:-1]:  # what the refusal offers works, one after the other
        assert say(wecom, VERIFIER, _filled(command)) == texts.DONE[command.split()[0]].format(code=code)
    refused = say(wecom, "gw", f"督办 {code}")
    assert "主要领导" in refused and offered(refused) == [f"进度 {code}"]


def test_case_codes_with_full_width_dashes_and_lower_case(wecom, db):
    code = file_case(wecom)
    typed = code.lower().replace("-", "－")
    assert say(wecom, VERIFIER, f"签收 {typed}") == texts.DONE["签收"].format(code=code)
    assert code in say(wecom, "gw", f"进度 {code.replace('-', '—')}")
    assert the_case(db, code).status == "acknowledged"


# -- questions and answers ---------------------------------------------------------------------

def test_a_no_answers_the_question_and_stays_out_of_the_description(wecom, db):
    assert say(wecom, "gw", "东山村有几户的征地补偿款一直没到账") == texts.ASK_GATHERING
    summary = say(wecom, "gw", "没有")
    assert texts.CONFIRM_PROMPT in summary and "没有" not in summary.split("情况：")[1].split("\n")[0]
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert case.summary == "东山村有几户的征地补偿款一直没到账" and not case.urgent


def test_a_yes_makes_the_case_urgent_and_more_words_after_it_join_the_tip_off(wecom, db):
    assert say(wecom, "gw", "南沟村几户的土地纠纷拖了两年") == texts.ASK_GATHERING
    summary = say(wecom, "gw", "有，说周一去县里")
    assert "紧急" in summary
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert case.urgent and case.severity == "紧急"
    assert case.summary == "南沟村几户的土地纠纷拖了两年\n说周一去县里"


def test_unclear_leaves_it_to_the_classifier_and_is_not_asked_again(wecom, db):
    assert say(wecom, "gw", "后营村两户为宅基地边界吵了半年") == texts.ASK_GATHERING
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "不清楚")
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "另外院墙也倒了一截")  # not asked twice
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert not case.urgent and "不清楚" not in case.summary


def test_the_posters_details_are_an_answer_not_description(wecom, db):
    assert say(wecom, "gw", "有人在网上发帖骂乡里不给修路，转发挺多") == texts.ASK_ONLINE
    summary = say(wecom, "gw", "网名叫“修路难”")
    assert "修路难" in summary  # the online line
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert case.screen_name == "修路难" and "修路难" not in case.summary


def test_a_greeting_while_a_question_waits_asks_it_again(wecom, db):
    assert say(wecom, "gw", "东山村有几户的征地补偿款一直没到账") == texts.ASK_GATHERING
    assert say(wecom, "gw", "👌") == texts.ASK_GATHERING
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "否")


def test_question_kinds_take_their_answers():
    yes_no = Question("involves_cadre", YES_NO, "涉及村干部吗？", unclear=True)
    assert answer(yes_no, "是").value is True and answer(yes_no, "不对").value is False
    assert answer(yes_no, "对的！").value is True and answer(yes_no, "不清楚").value is True
    told = answer(yes_no, "不知道，名单上有几户条件挺好的")  # 不清楚 and more of the tip-off: still 不清楚
    assert (told.value, told.unclear, told.rest) == (True, True, "名单上有几户条件挺好的")
    assert answer(Question("urgent", YES_NO, "有没有人聚集？"), "不清楚，听说有").value is None
    with pytest.raises(NotAnAnswer):
        answer(yes_no, "是村会计干的")  # more of the tip-off, not a yes
    choice = Question("category", CHOICE, "哪一类？", options=("违规违纪", "涉贫政策", "其他"))
    assert answer(choice, "2").value == "涉贫政策" and answer(choice, "２").value == "涉贫政策"
    assert answer(choice, "涉贫政策").value == "涉贫政策" and answer(choice, "二").value == "涉贫政策"
    assert answer(choice, "不清楚").value is None
    for wrong in ("4", "都不是", ""):
        with pytest.raises(NotAnAnswer):
            answer(choice, wrong)
    village = Question("village", VILLAGE, texts.ASK_VILLAGE, options=("东山村", "南沟村"))
    assert answer(village, "南沟").value == "南沟村" and answer(village, "是东山村的事").value == "东山村"
    assert Question.load(village.stored()) == village  # it survives the draft's JSON


# -- corrections at the summary -----------------------------------------------------------------

def test_corrections_change_one_field_and_bring_the_summary_back(wecom, db):
    say(wecom, "gw", "东山村垃圾堆了好几天没人拉，臭得很")
    summary = say(wecom, "gw", "类别 涉贫政策")
    assert "涉贫政策（乡村振兴办牵头）" in summary and summary.endswith(texts.CONFIRM_PROMPT)
    assert "南沟村" in say(wecom, "gw", "村 南沟")
    assert "紧急：是" in say(wecom, "gw", "紧急 是")
    assert say(wecom, "gw", "紧急 也许") == texts.CORRECT_YES_NO.format(word="紧急")
    assert say(wecom, "gw", "类别 乱写").startswith("类别应为：")
    assert say(wecom, "gw", "村 火星村").startswith("本乡镇没有“火星村”")
    assert say(wecom, "gw", "网上：是") == texts.ASK_ONLINE  # online now: where, and who posted it?
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "不清楚")
    assert "涉及村干部：是" in say(wecom, "gw", "涉及村干部 是")
    assert "涉及村干部：否" in say(wecom, "gw", "涉及村干部 否")  # the summary always says it
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert (case.category, case.lead_department, case.urgent, case.online) == ("涉贫政策", "乡村振兴办", True, True)
    assert case.summary == "东山村垃圾堆了好几天没人拉，臭得很"
    with db() as s:
        assert s.get(Unit, case.village_id).name == "南沟村"


# -- intake hygiene -------------------------------------------------------------------------------

def test_a_lone_cadre_title_opens_the_draft_and_keeps_it_from_the_village(wecom, db):
    """村出纳 alone, then what they did: the title must not be dropped as a stray word, or the
    case would lose what keeps it from the accused's committee."""
    assert say(wecom, "gw", "村出纳") == texts.ASK_WHAT
    say(wecom, "gw", "就是管账那个")
    reply = say(wecom, "gw", "他把我们几户的种粮补贴都领走了，说是抵以前的欠款")
    while texts.CONFIRM_PROMPT not in reply:
        reply = say(wecom, "gw", "不清楚")
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert case.involves_cadre
    assert "村出纳" in case.summary


def test_greetings_thanks_emoji_and_lone_words_file_nothing(wecom, db):
    for text in ("你好", "谢谢！", "👍👍", "🙏", "查一下", "...", "在吗？", "西岔村"):
        assert say(wecom, "gw", text) == texts.FILLER_PROMPT, text
    assert say(wecom, "gw", "确认") == texts.NOTHING_TO_CONFIRM
    summary_before = say(wecom, "gw", "东山村垃圾堆了好几天没人拉，臭得很")
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "谢谢")  # the summary again, thanks not added
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert case.summary == "东山村垃圾堆了好几天没人拉，臭得很" and texts.CONFIRM_PROMPT in summary_before


def test_a_draft_is_capped(wecom, db):
    say(wecom, "gw", "上报")
    full = texts.DRAFT_FULL.format(messages=20, chars=2000)
    replies = [say(wecom, "gw", f"第{n}条：东山村的情况还在继续") for n in range(21)]
    assert replies[-1] == full and full not in replies[:-1]
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert case.summary.count("东山村的情况") == 20
    assert say(wecom, "gw", "东山村" + "很长的情况" * 450) == texts.TOO_LONG.format(chars=2000)


@pytest.mark.parametrize("text, quick", [
    ("帮助", True), ("收到", True), ("我的", True), ("口径", True), ("口径 3", True), ("口径列表", True),
    ("进度 xs-20261118-0001", True), ("进度", True),
    ("确认", False), ("签收 XS-20261118-0001", False), ("待办", False), ("村口的桥塌了一半", False),
])
def test_the_dispatchers_quick_lane_is_the_registrys_quick_commands(text, quick):
    chat = Chat(Classifier.load(DEFAULT_RULES), POLICY)
    message = InboundMessage(channel="work", account="a", sender="u", kind="text", sent_at=datetime.fromtimestamp(T0, UTC), text=text)
    assert chat.quick(message) is quick
