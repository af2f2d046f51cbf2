"""Follow-up visits (回访): scheduled on closing, asked of the office, recorded in chat and the admin API."""

from datetime import date

import httpx
import pytest
from sqlalchemy import select

from handlers import cases, ledger, texts
from handlers.jobs import run_due as run_jobs
from handlers.policy import DEFAULT_POLICY, Policy, PolicyError
from models import Case, CaseEvent, Deadline, Holiday, Job, OutboxMessage
from tests import township
from tests.casework import POLICY, TZ, act, file, local, person, status
from tests.conftest import T0
from tests.test_intake import ADMIN, CORP, KEY, TOKEN, code_in, say
from tests.township import liaison, secretary
from tests.wxclient import Aes, Peer

LEAD = liaison("政法委")


@pytest.fixture
def server(serve, db):
    township.load(db)
    return serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, admin_token="adm")


@pytest.fixture
def wecom(server):
    return Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)


def closed_case(wecom) -> str:
    """A gambling tip-off, signed for and closed by 政法委 at T0 (Wednesday 2026-11-18 19:06)."""
    say(wecom, "gw", "西岔村有人私设赌局，每晚都有人去")
    code = code_in(say(wecom, "gw", "确认"))
    assert say(wecom, LEAD, f"签收 {code}") == texts.DONE["签收"].format(code=code)
    assert say(wecom, LEAD, f"办结 {code} 已取缔赌局，没收赌具") == texts.DONE["办结"].format(code=code)
    return code


def follow_up_jobs(db, code: str) -> list[tuple]:
    with db() as s:
        return s.execute(select(Job.due_at, Job.status).join(Case, Case.id == Job.case_id)
                         .where(Case.code == code, Job.kind == "followup").order_by(Job.id)).all()


def told(db, recipient: str, marker: str) -> list[str]:
    with db() as s:
        return [b for b in s.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == recipient))
                if marker in b]


def actions(db, code: str) -> list[str]:
    with db() as s:
        return list(s.scalars(select(CaseEvent.action).join(Case, Case.id == CaseEvent.case_id)
                              .where(Case.code == code).order_by(CaseEvent.id)))


def test_closing_asks_the_office_to_visit_on_the_next_working_day(wecom, db):
    code = closed_case(wecom)
    assert follow_up_jobs(db, code) == [(local("2026-11-19 09:00"), "pending")]  # Thursday morning
    assert not run_jobs(db, local("2026-11-19 08:59"), POLICY).done
    assert run_jobs(db, local("2026-11-19 09:00"), POLICY).done == {"followup": 1}
    [request] = told(db, "office", "【回访】")
    assert code in request and "已取缔赌局" in request and f"回访 {code}" in request
    with db() as s:
        asked = s.scalars(select(OutboxMessage.recipient).where(OutboxMessage.idempotency_key.like("followup:%"))).all()
    assert asked == ["office"]  # the office, and only the office
    assert not run_jobs(db, local("2026-11-19 10:00"), POLICY).done
    assert actions(db, code)[-1] == "回访提醒"


def test_the_visit_skips_weekends_and_office_holidays(wecom, db, clock):
    with db.begin() as s:
        s.add(Holiday(day=date(2026, 11, 23), workday=False, name="调休"))
    clock.advance(days=2)  # Friday evening
    code = closed_case(wecom)
    assert follow_up_jobs(db, code) == [(local("2026-11-24 09:00"), "pending")]  # past the weekend and Monday


def test_satisfied(wecom, db):
    code = closed_case(wecom)
    reply = say(wecom, "office", f"回访 {code} 满意，群众认可处理结果")
    assert reply == texts.FOLLOWUP_DONE.format(code=code, level="满意")
    assert status(db, code) == "reviewed"
    assert follow_up_jobs(db, code) == [(local("2026-11-19 09:00"), "cancelled")]  # recorded before being asked
    assert not run_jobs(db, local("2026-11-19 09:00"), POLICY).done and not told(db, "office", "【回访】")
    with db() as s:
        [row] = ledger.rows(s, local("2026-11-19 09:00"), Case.code == code)
    assert (row.satisfaction, row.outcome) == ("满意", "已取缔赌局，没收赌具")
    assert "已回访" in say(wecom, "gw", f"进度 {code}")
    assert say(wecom, "office", f"回访 {code} 基本满意 再记一次") == texts.not_now("回访", code, "reviewed", ())


def test_unsatisfied_within_three_days_reopens_and_tells_the_lead(wecom, db, clock):
    code = closed_case(wecom)
    clock.advance(days=2, hours=23)
    reply = say(wecom, "office", f"回访 {code} 不满意 群众说赌局换了地方又开了")
    assert reply == texts.FOLLOWUP_REOPENED.format(code=code, lead="政法委")
    assert status(db, code) == "in_progress"
    assert actions(db, code)[-2:] == ["回访", "重办"]
    [notice] = told(db, LEAD, "回访不满意")
    assert code in notice and "换了地方" in notice and "11月28日18:06前办结" in notice  # a new 7-day clock
    assert not told(db, secretary("西岔村"), "回访不满意")  # the lead department, not everyone on the case
    assert told(db, "gw", "已重新办理")  # and the reporter
    with db() as s:
        clocks = s.execute(select(Deadline.status, Deadline.due_at).join(Case, Case.id == Deadline.case_id)
                           .where(Case.code == code, Deadline.kind == "close").order_by(Deadline.id)).all()
    assert [c.status for c in clocks] == ["met", "pending"]
    assert clocks[1].due_at.astimezone(TZ) == local("2026-11-28 18:06:40")
    assert code in say(wecom, LEAD, "待办")
    assert say(wecom, LEAD, f"办结 {code} 新窝点已取缔") == texts.DONE["办结"].format(code=code)
    assert [s for _, s in follow_up_jobs(db, code)] == ["cancelled", "pending"]  # a new visit for the new closing


def test_unsatisfied_after_three_days_is_recorded_only(wecom, db, clock):
    code = closed_case(wecom)
    clock.advance(days=3, minutes=1)
    reply = say(wecom, "office", f"回访 {code} 不满意 说处理太慢")
    assert reply == texts.FOLLOWUP_TOO_LATE.format(code=code, window="3天")
    assert status(db, code) == "reviewed" and "重办" not in actions(db, code)
    assert not told(db, LEAD, "回访不满意")
    with db() as s:
        assert ledger.rows(s, local("2026-11-22 00:00"), Case.code == code)[0].satisfaction == "不满意"


def test_bad_follow_ups_are_refused_clearly(wecom, db):
    code = closed_case(wecom)
    assert say(wecom, LEAD, f"回访 {code} 满意 好") == texts.FOLLOWUP_NOT_YOURS.format(code=code)
    assert say(wecom, "office", f"回访 {code} 很满意 好") == texts.FOLLOWUP_USAGE
    assert say(wecom, "office", f"回访 {code} 满意") == texts.FOLLOWUP_NEEDS_NOTE.format(code=code, level="满意")
    assert say(wecom, "office", "回访") == texts.FOLLOWUP_USAGE
    assert say(wecom, "office", "回访 XS-20000101-0001 满意 好") == texts.NO_SUCH_CASE.format(code="XS-20000101-0001")
    say(wecom, "gw", "东山村垃圾堆了好几天没人拉")
    still_open = code_in(say(wecom, "gw", "确认"))
    assert say(wecom, "office", f"回访 {still_open} 满意 好") == texts.not_now("回访", still_open, "assigned", ())
    assert status(db, code) == "resolved"  # nothing above changed it
    # A grid worker's tip-off may begin with the word: it is a tip-off, not a command.
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "回访贫困户时听说西岔村有人私设赌局")


def test_help_lists_the_command_for_office_staff_only(wecom):
    office = say(wecom, "office", "帮助")
    assert office.startswith(texts.HELP_HEAD) and "回访 编号" in office
    assert say(wecom, "gw", "帮助") == texts.HELP


def test_the_api_records_follow_ups(server, wecom, db, clock):
    code = closed_case(wecom)
    url = server.url + f"/api/cases/{code}/followup"
    for bad in ({"satisfaction": "很满意", "note": "好"}, {"satisfaction": "满意", "note": "  "}, {"satisfaction": "满意"},
                {"satisfaction": "满意", "note": "好" * 501}):
        assert httpx.post(url, json=bad, headers=ADMIN).status_code == 422, bad
    assert httpx.post(server.url + "/api/cases/XS-20000101-0001/followup", json={"satisfaction": "满意", "note": "好"},
                      headers=ADMIN).status_code == 404
    assert httpx.post(url, json={"satisfaction": "满意", "note": "好"}).status_code == 401
    reopened = httpx.post(url, json={"satisfaction": "不满意", "note": "群众不认可"}, headers=ADMIN)
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert (body["followup"], body["status"]) == ("reopened", "in_progress")
    assert [(e["action"], e["actor"], e["note"]) for e in body["events"][-2:]] == [
        ("回访", None, "不满意：群众不认可"), ("重办", None, texts.REOPEN_NOTE)]
    refused = httpx.post(url, json={"satisfaction": "满意", "note": "好"}, headers=ADMIN)
    assert refused.status_code == 409 and refused.json()["detail"] == texts.not_now("回访", code, "in_progress", ())
    assert told(db, LEAD, "回访不满意")


def test_the_policy_file_sets_when_to_visit(tmp_path, db):
    packaged = DEFAULT_POLICY.read_text(encoding="utf-8")
    custom = tmp_path / "policy.toml"
    custom.write_text(packaged.replace('after_working_days = 1', 'after_working_days = 2')
                      .replace('at = "09:00"', 'at = "14:30"'), encoding="utf-8")
    township.load(db)
    code = file(db, local("2026-11-18 10:00"), "西岔村", "涉黑涉法", "政法委")
    act(db, LEAD, code, "签收", local("2026-11-18 10:30"))
    with db.begin() as s:
        cases.act(s, person(s, LEAD), code, "办结", "已处理", local("2026-11-18 11:00"), Policy.load(custom, TZ))
    assert follow_up_jobs(db, code) == [(local("2026-11-20 14:30"), "pending")]  # the second working day
    custom.write_text(packaged.replace('reopen_within = "3d"', 'reopen_within = "2wd"'), encoding="utf-8")
    with pytest.raises(PolicyError, match="followup.reopen_within"):
        Policy.load(custom, TZ)
