"""Acting on cases in chat, through the real callback, with the clocks run by run-due: fair clocks,
退回 and re-dispatch, 合并, 督办 notes, cards and 待办 with context."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from handlers import texts
from handlers.jobs import run_due
from models import Case, Deadline, DeadlineMiss, Job, OutboxMessage
from tests import township
from tests.casework import POLICY
from tests.conftest import T0
from tests.test_chat_commands import NOTES, code_in, offered, say
from tests.township import liaison, secretary
from tests.wxclient import Aes, Peer

TOKEN = "tok"
KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"
ADMIN = {"Authorization": "Bearer adm"}
PETITION = "南沟村二十多户的征地补偿款一直没到，说明天要一起去县里上访"
GARBAGE = "东山村垃圾堆了好几天没人拉，臭得很"


@pytest.fixture
def server(serve, db):
    township.load(db)
    return serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, mp_token=TOKEN, admin_token="adm")


@pytest.fixture
def wecom(server):
    return Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)


def file(wecom, text: str, who: str = "gw") -> str:
    say(wecom, who, text)
    return code_in(say(wecom, who, "确认"))


def later(wecom, clock, **delta) -> None:
    """Time passes for the server and for WeChat's timestamps alike."""
    clock.advance(**delta)
    wecom.timestamp += int(timedelta(**delta).total_seconds())


def clocks(db, code: str) -> list[tuple[str, str]]:
    with db() as s:
        return [tuple(r) for r in s.execute(select(Deadline.kind, Deadline.status).join(Case)
                                            .where(Case.code == code).order_by(Deadline.id))]


def outbox(db, recipient: str, key: str = "") -> list[str]:
    with db() as s:
        return list(s.scalars(select(OutboxMessage.body).where(
            OutboxMessage.recipient == recipient, OutboxMessage.idempotency_key.like(f"{key}%"))
            .order_by(OutboxMessage.id)))


def the_case(db, code: str) -> Case:
    with db() as s:
        return s.scalars(select(Case).where(Case.code == code)).one()


# -- fair clocks ------------------------------------------------------------------------------------

def test_the_lead_meeting_people_before_anyone_signs_records_no_miss(wecom, db, clock):
    code = file(wecom, PETITION)
    lead = liaison("信访办")
    assert the_case(db, code).urgent
    later(wecom, clock, minutes=5)
    assert say(wecom, lead, f"约见 {code}") == texts.DONE["约见"].format(code=code)
    assert dict(clocks(db, code))["ack"] == "met"  # the lead's action acknowledges the case
    for hours in (0.5, 1, 3, 6, 25):  # past every step of the ack and report_urgent clocks
        run_due(db, clock.now() + timedelta(hours=hours), POLICY)
    with db() as s:
        assert s.scalars(select(DeadlineMiss)).all() == []
    assert not outbox(db, lead, "overdue:") and not outbox(db, secretary("南沟村"), "overdue:")
    assert the_case(db, code).supervised is False
    refused = say(wecom, lead, f"签收 {code}")  # too late to sign: the reply says what is left to do
    assert "不能“签收”" in refused and f"“办结 {code} 结果”" in refused


def test_a_reminder_asks_only_for_a_command_the_person_can_still_use(wecom, db, clock):
    code = file(wecom, GARBAGE)
    lead = liaison("党政办")
    assert say(wecom, lead, f"反馈 {code} 已联系保洁公司") == texts.DONE["反馈"].format(code=code)
    run_due(db, clock.now() + timedelta(days=3, hours=13), POLICY)  # half of the 7-day close clock
    [reminder] = outbox(db, lead, "remind:")
    assert "签收" not in reminder
    command = reminder.split("回复“")[1].split("”")[0]
    assert command == f"办结 {code} 结果"
    assert say(wecom, lead, command.replace("结果", NOTES["结果"])) == texts.DONE["办结"].format(code=code)


# -- cards --------------------------------------------------------------------------------------------

def test_cards_carry_the_deadline_and_what_is_asked_of_that_person(wecom, db):
    code = file(wecom, GARBAGE)
    with db() as s:
        cards = dict(s.execute(select(OutboxMessage.recipient, OutboxMessage.body)
                               .where(OutboxMessage.idempotency_key.like(f"card:{code}:%"))).all())
    verifier, lead, informed = cards[secretary("东山村")], cards[liaison("党政办")], cards["bc2"]
    assert "您的任务：核实，须在11月18日21:06前签收" in verifier
    assert offered(verifier) == [f"签收 {code}", f"反馈 {code} 进展", f"约见 {code}", f"退回 {code} 原因",
                                 f"进度 {code}"]
    assert "牵头办理，须在11月18日21:06前签收" in lead and f"“办结 {code} 结果”" in lead
    assert "您的任务：知悉\n" in informed and "签收" not in informed and "办结" not in informed


# -- 退回 and re-dispatch ------------------------------------------------------------------------------

def test_a_misrouted_case_is_handed_back_and_dispatched_again_in_chat(server, wecom, db, clock):
    code = file(wecom, GARBAGE)
    old_lead, new_lead = liaison("党政办"), liaison("乡村振兴办")
    assert say(wecom, old_lead, f"退回 {code}") == texts.NEEDS_NOTE["退回"].format(code=code)
    later(wecom, clock, minutes=10)
    assert say(wecom, old_lead, f"退回 {code} 这是低保户的事，归乡村振兴办") == texts.DONE["退回"].format(code=code)
    assert the_case(db, code).status == "submitted"
    assert all(status == "met" for _, status in clocks(db, code))  # no clock runs against anyone meanwhile
    with db() as s:
        ended = {d.kind: d.terms.get("ended_by") for d in s.scalars(select(Deadline).join(Case).where(Case.code == code))}
    assert ended == {"ack": None, "close": "退回"}  # the hand-back acknowledged it; the close clock just ended
    [told] = outbox(db, "office", "return:")  # the office hears at once
    assert "归乡村振兴办" in told and f"分派 {code}" in told
    todo = say(wecom, "office", "待办")
    assert code in todo and "被退回，待重新分派" in todo
    assert say(wecom, old_lead, "待办") == texts.NO_TODO  # off their list: it waits for the office
    assert offered(say(wecom, "office", f"进度 {code}")) == [f"分派 {code} 部门", f"督办 {code} 要求", f"进度 {code}"]
    assert say(wecom, old_lead, f"退回 {code} 再退一次").startswith(f"{code} 当前已上报")

    assert say(wecom, "office", f"分派 {code} 火星办").startswith("请写上牵头部门")
    assert say(wecom, old_lead, f"分派 {code} 乡村振兴办").startswith(f"{code} 的“分派”由办公室办理")
    later(wecom, clock, minutes=20)
    assert say(wecom, "office", f"分派 {code} 乡村振兴办") == texts.dispatched(code, "乡村振兴办")
    case = the_case(db, code)
    assert (case.status, case.lead_department) == ("assigned", "乡村振兴办")
    assert [k for k, s in clocks(db, code) if s == "pending"] == ["ack", "close"]  # started again, for them
    with db() as s:
        ack = s.scalars(select(Deadline).join(Case).where(Case.code == code, Deadline.kind == "ack",
                                                         Deadline.status == "pending")).one()
    assert ack.due_at == clock.now() + timedelta(hours=2)
    [card] = [b for b in outbox(db, new_lead, f"card:{code}:") if "牵头办理" in b]
    assert "须在11月18日21:36前签收" in card
    assert outbox(db, old_lead, f"off:{code}:")  # the old lead is off the case
    assert code not in say(wecom, "office", "待办")

    events = httpx.get(server.url + f"/api/cases/{code}", headers=ADMIN).json()["events"]
    assert [(e["action"], e["actor"]) for e in events][-3:] == [
        ("退回", "党政办联络员"), ("改判", "办公室小赵"), ("分派", "办公室小赵")]
    assert events[-3]["note"] == "这是低保户的事，归乡村振兴办"


def test_a_handed_back_case_is_dispatched_again_by_patch(server, wecom, db):
    code = file(wecom, GARBAGE)
    assert say(wecom, secretary("东山村"), f"退回 {code} 不是我们村的") == texts.DONE["退回"].format(code=code)
    resp = httpx.patch(server.url + f"/api/cases/{code}", json={"village": "后营村"}, headers=ADMIN)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "assigned" and body["village"] == "后营村"
    assert [d["kind"] for d in body["deadlines"] if d["status"] == "pending"] == ["ack", "close"]
    assert any(f"签收 {code}" in b for b in outbox(db, secretary("后营村"), f"card:{code}:"))


# -- 合并 ------------------------------------------------------------------------------------------------

def test_the_office_merges_a_duplicate_into_the_first_case(server, wecom, db):
    first = file(wecom, "快手上有人骂乡里 https://v.kuaishou.com/same 网名“老刘”")
    second = file(wecom, "这个视频大家都在转 https://v.kuaishou.com/same", who="gw2")
    todo = say(wecom, "office", "待办")
    assert f"{second} 疑似与{first}重复，待核对合并" in todo
    assert say(wecom, liaison("网信办"), f"合并 {first} {second}").startswith(f"{second} 的“合并”由办公室办理")
    assert say(wecom, "office", f"合并 {first}") == texts.MERGE_USAGE
    assert say(wecom, "office", f"合并 {first} {first}") == texts.MERGE_SAME
    assert say(wecom, "office", f"合并 {first.lower()} {second.replace('-', '－')}") == texts.merged(first, second)

    assert the_case(db, second).status == "withdrawn" and the_case(db, first).status == "assigned"
    assert all(status == "met" for _, status in clocks(db, second))
    with db() as s:
        assert not s.scalars(select(Job).join(Case, Case.id == Job.case_id)
                             .where(Case.code == second, Job.status == "pending")).all()
        assert s.scalars(select(Job).join(Case, Case.id == Job.case_id)
                         .where(Case.code == first, Job.status == "pending")).all()  # the first runs on
    [told] = [b for b in outbox(db, "gw2") if "并入" in b]
    assert first in told and second in told
    progress = say(wecom, "gw2", f"进度 {second}")
    assert "已撤回" in progress and f"合并：并入 {first}" in progress
    assert say(wecom, "office", f"合并 {first} {second}").startswith(f"{second} 当前已撤回")
    assert second not in say(wecom, "office", "待办")

    api = {code: httpx.get(server.url + f"/api/cases/{code}", headers=ADMIN).json() for code in (first, second)}
    assert (api[second]["events"][-1]["action"], api[second]["events"][-1]["note"]) == ("合并", f"并入 {first}")
    assert (api[first]["events"][-1]["action"], api[first]["events"][-1]["note"]) == ("合并", f"{second} 并入本件")


# -- 督办 and 待办 ----------------------------------------------------------------------------------------

def test_the_supervision_note_reaches_those_pressed(wecom, db):
    code = file(wecom, GARBAGE)
    assert say(wecom, "leader", f"督办 {code} 请今晚务必到现场") == texts.DONE["督办"].format(code=code)
    for who in (liaison("党政办"), secretary("东山村")):
        [note] = outbox(db, who, "supervise:")
        assert "乡长" in note and "请今晚务必到现场" in note
    assert not outbox(db, "leader", "supervise:")


def test_todo_shows_what_each_case_is_about_overdue_first(wecom, db, clock):
    lead = liaison("党政办")
    older = file(wecom, GARBAGE)
    later(wecom, clock, hours=1)
    newer = file(wecom, "后营村的路塌了一个大坑，车过不去")
    assert say(wecom, lead, f"签收 {newer}") == texts.DONE["签收"].format(code=newer)
    later(wecom, clock, hours=1, minutes=30)  # the older case's 2-hour ack clock has run out
    todo = say(wecom, lead, "待办")
    assert todo.index(older) < todo.index(newer)
    assert "⚠️已逾期 11月18日21:06前签收" in todo and "东山村垃圾堆了好几天没人拉" in todo
    assert "后营村的路塌了" in todo and "11月25日20:06前办结" in todo
    # The office's 待办: an urgent case nobody signed for.
    urgent = file(wecom, PETITION)
    assert f"{urgent} 紧急，尚无人签收" in say(wecom, "office", "待办")
    assert say(wecom, secretary("南沟村"), f"签收 {urgent}") == texts.DONE["签收"].format(code=urgent)
    assert urgent not in say(wecom, "office", "待办")
    assert say(wecom, "gw", "待办") == texts.NO_TODO
