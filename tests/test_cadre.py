"""Conflict of interest and reporter confidentiality, path by path, through the real callback and API.

白水乡 (tests/township.py) with a grid worker in 西岔村 who is also on its committee (杨委员: 网格员 and
村两委 — common in villages), a plain grid worker there, and group chats for the township and 西岔村.
The accused village is 西岔村: its secretary (sj-xicha), committee member (wy-xicha) and 杨委员
(wg-xicha2) must learn nothing of an accusation against it, by any path.
"""

from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from handlers import access, cases, jobs, texts, weekly
from handlers.chats import import_chats
from handlers.roster import import_roster
from models import Case, CaseEvent, CaseMember, Job, OutboxMessage, Person, Unit
from tests import township
from tests.casework import POLICY
from tests.conftest import T0
from tests.test_intake import ADMIN, CORP, KEY, TOKEN, code_in, say
from tests.test_wording import CHATS, ROBOTS, deliver, sandbox
from tests.wxclient import HTTP, Aes, Peer

EXTRA = [
    "白水乡,西岔村,一网格,杨委员,13800000011,网格员、村两委,,,wg-xicha2",
    "白水乡,西岔村,二网格,网格员西岔,13800000012,网格员,,,gw-xicha",
    "白水乡,,,新闻发言人老李,13800000013,新闻发言人,,,spokes",
    "黑石镇,,,黑石办公室,13800000014,办公室,,,office-hs",
]
ACCUSED = {"sj-xicha", "wy-xicha", "wg-xicha2"}  # 西岔村's committee, whatever else they are
ACCUSATION = "西岔村会计把今年的耕地补贴扣下了一半，说是抵集体的账，账本谁也不让看"
HARMLESS = "西岔村两户为宅基地边界吵起来了，快动手了"
T = datetime.fromtimestamp(T0, UTC)


@pytest.fixture
def server(serve, db):
    with db.begin() as s:
        roster = "\n".join([township.HEADER, *township.roster_rows(), *EXTRA]).encode()
        assert not import_roster(s, "roster.csv", roster).refused
        assert not import_chats(s, "chats.csv", CHATS.encode()).refused
    return serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, admin_token="adm")


@pytest.fixture
def wecom(server):
    return Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)


def file(wecom, text: str, who: str = "gw", answer: str = "不清楚") -> str:
    reply = say(wecom, who, text)
    for _ in range(3):
        if texts.CONFIRM_PROMPT in reply:
            break
        reply = say(wecom, who, answer)
    return code_in(say(wecom, who, "确认"))


def rows(db, code: str) -> list[OutboxMessage]:
    with db() as s:
        case_id = s.scalars(select(Case.id).where(Case.code == code)).one()
        return list(s.scalars(select(OutboxMessage).where(
            (OutboxMessage.case_id == case_id) | OutboxMessage.body.contains(code)).order_by(OutboxMessage.id)))


def to(db, code: str, who: set[str]) -> list[OutboxMessage]:
    return [r for r in rows(db, code) if r.recipient in who]


def the_case(db, code: str) -> Case:
    with db() as s:
        return s.scalars(select(Case).where(Case.code == code)).one()


def run_jobs(db, at: datetime) -> None:
    with db.begin() as s:
        weekly.ensure(s, at, {weekly.UPDATE: weekly.Weekly.parse("FRI 16:00"),
                              weekly.SUMMARY: weekly.Weekly.parse("MON 08:30")}, POLICY.tz)
    jobs.run_due(db, at, POLICY)


def api(server, method: str, path: str, **kw) -> httpx.Response:
    return HTTP.request(method, server.url + path, headers=ADMIN, **kw)


# -- detection in chat: the question, the answer, the correction, the summary ----------------------

def test_an_accusation_goes_to_discipline_and_leaders_and_never_to_the_committee(wecom, db):
    summary = say(wecom, "gw", ACCUSATION)
    assert "涉及村干部：是" in summary
    code = code_in(say(wecom, "gw", "确认"))
    case = the_case(db, code)
    assert case.involves_cadre and case.lead_department == "纪委"
    sent = {r.recipient for r in rows(db, code)}
    assert {township.liaison("纪委"), "leader", "deputy", "bc1"} <= sent
    assert not sent & ACCUSED
    for who in ACCUSED:
        assert say(wecom, who, f"进度 {code}") == texts.NO_SUCH_CASE.format(code=code)
        assert code not in say(wecom, who, "待办") and code not in say(wecom, who, "我的")


def test_a_harmless_mention_stays_with_the_village_and_the_summary_says_so(wecom, db):
    assert say(wecom, "gw", "西岔村书记帮着两家调解宅基地的事，调了两回还没谈拢") == texts.ASK_GATHERING
    summary = say(wecom, "gw", "没有")
    assert "涉及村干部：否" in summary
    code = code_in(say(wecom, "gw", "确认"))
    assert not the_case(db, code).involves_cadre
    assert township.secretary("西岔村") in {r.recipient for r in rows(db, code)}


@pytest.mark.parametrize("answer, involved", [("不清楚", True), ("是", True), ("否", False), ("没有", False)])
def test_when_unsure_the_reporter_is_asked_once_and_only_a_clear_no_is_no(wecom, db, answer, involved):
    question = say(wecom, "gw", "西岔村村主任说今年的低保名单下周公示")
    assert "村干部" in question and texts.CONFIRM_PROMPT not in question
    summary = say(wecom, "gw", answer)
    assert texts.CONFIRM_PROMPT in summary and ("涉及村干部：是" if involved else "涉及村干部：否") in summary
    assert "不清楚" not in summary.split("情况：")[1].split("\n")[0]  # an answer is not the description
    assert the_case(db, code_in(say(wecom, "gw", "确认"))).involves_cadre is involved


def test_a_grievance_about_village_money_with_nobody_named_is_asked_and_fails_closed(wecom, db):
    question = say(wecom, "gw-xicha", "西岔村修路的补偿款发到手只有一半，说是扣了管理费")
    assert question == texts.ASK_CADRE_UNNAMED
    # moving on without answering: yes — and the claim it reads as is asked about gathering, once
    assert say(wecom, "gw-xicha", "确认") == texts.ASK_GATHERING
    code = code_in(say(wecom, "gw-xicha", "确认"))
    case = the_case(db, code)
    assert case.involves_cadre and (case.category, case.lead_department) == ("信访诉求", "信访办")
    for later in (timedelta(hours=1), timedelta(days=2), timedelta(days=8)):  # a claim's clocks: meet, remind, escalate
        run_jobs(db, T + later)
    assert {"remind", "overdue"} <= {r.idempotency_key.split(":")[0] for r in rows(db, code)}
    assert not ACCUSED & {r.recipient for r in rows(db, code)}


def test_confirming_without_answering_counts_as_yes(wecom, db):
    say(wecom, "gw", "西岔村村主任说今年的低保名单下周公示")
    receipt = say(wecom, "gw", "确认")  # not a clear no: yes
    assert "乡村振兴办牵头" in receipt and the_case(db, code_in(receipt)).involves_cadre


ASKED = "西岔村村主任说今年的低保名单下周公示"  # a cadre named, nobody accused of anything: the detector asks


@pytest.mark.parametrize("answer", ["不清楚", "不知道，名单上有几户条件挺好的", None])
def test_a_reporter_who_cannot_say_keeps_the_texts_category_and_the_village_still_learns_nothing(
        wecom, db, server, answer):
    # 不清楚 (or no answer) fails closed on who may see the case — not on what it is about: nobody
    # accused anyone, so it is the 低保 matter it reads as, led by 乡村振兴办, with 纪委 and the leaders told.
    assert "村干部" in say(wecom, "gw", ASKED)
    if answer is not None:
        summary = say(wecom, "gw", answer)
        assert "类别：涉贫政策（乡村振兴办牵头）" in summary and "涉及村干部：是" in summary
    receipt = say(wecom, "gw", "确认")
    assert "乡村振兴办牵头" in receipt
    code = code_in(receipt)
    case = the_case(db, code)
    assert (case.category, case.lead_department, case.involves_cadre) == ("涉贫政策", "乡村振兴办", True)
    cards = {r.recipient for r in rows(db, code) if r.idempotency_key.startswith("card:")}
    assert {township.liaison("乡村振兴办"), township.liaison("纪委"), "leader", "deputy", "bc1"} <= cards
    assert not to(db, code, ACCUSED)
    for who in ACCUSED:
        assert say(wecom, who, f"进度 {code}") == texts.NO_SUCH_CASE.format(code=code)
        assert code not in say(wecom, who, "待办")
    assert api(server, "GET", f"/api/cases/{code}", params={"as": "西岔村书记"}).status_code == 404


@pytest.mark.parametrize("answers", [["是"], ["不清楚", "涉及村干部 是"]])
def test_a_reporter_who_says_a_cadre_is_accused_sends_it_to_discipline(wecom, db, answers):
    # the reporter's 是, or a correction to it at the summary: who is accused decides the category
    say(wecom, "gw", ASKED)
    for answer in answers:
        summary = say(wecom, "gw", answer)
    assert "类别：违规违纪（纪委牵头）" in summary and "涉及村干部：是" in summary
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert (case.category, case.lead_department, case.involves_cadre) == ("违规违纪", "纪委", True)
    assert not to(db, case.code, ACCUSED)


def test_anything_but_an_answer_counts_as_yes_and_is_kept_as_description(wecom, db):
    say(wecom, "gw", "西岔村村主任说今年的低保名单下周公示")
    summary = say(wecom, "gw", "名单上有几户条件挺好的")
    assert "涉及村干部：是" in summary and "条件挺好" in summary


def test_the_summary_corrects_involves_cadre_either_way(wecom, db):
    say(wecom, "gw", HARMLESS)
    assert "涉及村干部：否" in say(wecom, "gw", "没有")
    assert "涉及村干部：是" in say(wecom, "gw", "涉及村干部 是")
    assert "涉及村干部：否" in say(wecom, "gw", "涉及村干部 否")
    assert "涉及村干部" in say(wecom, "gw", "涉及村干部 也许吧吧")  # not 是/否: asked to write it again
    assert "涉及村干部：是" in say(wecom, "gw", "涉及村干部：是")
    code = code_in(say(wecom, "gw", "确认"))
    assert the_case(db, code).involves_cadre and not to(db, code, ACCUSED)


def test_a_committee_member_named_as_the_roster_knows_them(wecom, db):
    # 西岔村委员 is the committee member's roster name: 老西 / 西委员 are not words anyone uses,
    # but the full name is, and a name is a mention like a title.
    code = file(wecom, "西岔村委员把修路的钱拿去给自己家盖房了")
    assert the_case(db, code).involves_cadre


def test_a_committee_member_of_a_village_the_text_does_not_name_is_found_and_shut_out(wecom, db):
    # the reporter is of 北坡村 and names no village: 杨委员 (a 西岔村 committee member on a grid of
    # it) is found by full name among the township's committees, and the case is 西岔村's
    code = file(wecom, "杨委员把修路剩下的水泥拉回了自己家院里")
    case = the_case(db, code)
    assert case.involves_cadre
    with db() as s:
        assert s.get(Unit, case.village_id).name == "西岔村"
    assert not {r.recipient for r in rows(db, code)} & ACCUSED



@pytest.mark.parametrize("text", [
    "西岔村的李专干带了几个人把老郑家的院墙推了，老人被推倒在地",  # a post the table never named
    "西岔村管钱那个把今年的耕地补贴压起不发，已经压了四个月",  # a description of the money's holder
    "西岔村的狗娃把低保户的存折收走了，取了钱只给一半",  # a nickname no roster knows, public money
])
def test_round_ten_structure_reaches_the_committee_never(wecom, db, text):
    """Round ten's structural classes through the real callback: a naive reporter (不清楚) files it, and
    西岔村's committee, whatever else they are, receives nothing about it."""
    code = file(wecom, text)
    assert the_case(db, code).involves_cadre
    assert not to(db, code, ACCUSED)

# -- 举报 ------------------------------------------------------------------------------------

def test_a_confidential_report_goes_to_discipline_and_the_office_only(wecom, db, server):
    assert say(wecom, "gw", "举报") == texts.CONFIDENTIAL_START
    summary = say(wecom, "gw", HARMLESS)  # whatever its words
    assert "举报" in summary and "涉及村干部：是" in summary
    code = code_in(say(wecom, "gw", "确认"))
    case = the_case(db, code)
    assert case.confidential and case.involves_cadre and case.lead_department == "纪委"
    sent = {r.recipient for r in rows(db, code)}
    assert sent == {township.liaison("纪委"), "office"}  # not the village, not its 包村领导
    card = next(r.body for r in rows(db, code) if r.recipient == "office")
    assert card.startswith("【举报】") and "网格员小王" in card  # the office may know the reporter
    for who in (*ACCUSED, "gw-xicha", "bc1"):
        assert say(wecom, who, f"进度 {code}") == texts.NO_SUCH_CASE.format(code=code)
    assert api(server, "GET", f"/api/cases/{code}").json()["confidential"] is True
    patched = api(server, "PATCH", f"/api/cases/{code}", json={"involves_cadre": False})
    assert patched.json()["involves_cadre"] is True  # a 举报 stays away from the village


# -- reporter confidentiality ------------------------------------------------------------------

def test_the_reporter_is_named_only_to_the_office_leaders_discipline_and_the_reporter(wecom, db, server):
    code = file(wecom, ACCUSATION)
    cards = {r.recipient: r.body for r in rows(db, code) if r.idempotency_key.startswith("card:")}
    for who in ("office", "leader", "deputy", township.liaison("纪委")):
        assert "上报人：网格员小王" in cards.get(who, "上报人：网格员小王")
    assert "上报人：网格员\n" in cards["bc1"] and "小王" not in cards["bc1"]  # 包村领导: informed, not told who
    assert "网格员小王" in say(wecom, "leader", f"进度 {code}")
    progress = say(wecom, "bc1", f"进度 {code}")
    assert "网格员小王" not in progress and "网格员上报" in progress
    assert "网格员小王" in say(wecom, "gw", f"进度 {code}")
    assert api(server, "GET", f"/api/cases/{code}", params={"as": "包村领导甲"}).json()["reporter"] == "网格员"
    assert api(server, "GET", f"/api/cases/{code}", params={"as": "办公室小赵"}).json()["reporter"] == "网格员小王"


def test_the_reporters_grid_is_not_shown_to_those_who_may_not_know_the_reporter(wecom, server):
    code = file(wecom, HARMLESS, who="gw-xicha")  # 二网格 has one grid worker: naming it names him

    def ledger_grid(who: str | None) -> str | None:
        params = {"as": who} if who else {}
        book = load_workbook(BytesIO(api(server, "GET", "/api/ledger.xlsx", params=params).content))
        head, *rows = book.active.iter_rows(values_only=True)
        return next(row[head.index("网格")] for row in rows if row[0] == code)

    for who in ("西岔村书记", "包村领导甲"):  # they see the case, not who reported it
        shown = api(server, "GET", f"/api/cases/{code}", params={"as": who}).json()
        assert shown["reporter"] == "网格员" and shown["grid"] is None and shown["village"] == "西岔村"
        assert not ledger_grid(who)
    assert api(server, "GET", f"/api/cases/{code}", params={"as": "办公室小赵"}).json()["grid"] == "二网格"
    assert ledger_grid("办公室小赵") == ledger_grid(None) == "二网格"


# -- one policy: the multi-role person, lists, jobs, wordings, ledger, API ----------------------

def test_the_policy_shuts_out_the_committee_first_whatever_else_they_hold(db, server):
    with db() as s:
        people = {p.name: p for p in s.scalars(select(Person))}
        scope = access.CaseScope(township_id=people["杨委员"].unit_id, village_id=access.viewer(
            s, people["杨委员"]).village_id, reporter_id=people["网格员小王"].id, involves_cadre=True)
        both = access.viewer(s, people["杨委员"])
        assert both.member.roles == {"网格员", "村两委"}
        assert access.excluded(both, scope) and not access.can_see(both, scope)
        assert access.can_see(both, scope.__class__(**{**scope.__dict__, "involves_cadre": False}))
        # even as the county would see it: the exclusion comes before any role
        county = access.Viewer(both.member, True, both.township_id, both.village_id)
        assert not access.can_see(county, scope)


def test_reminders_escalations_and_weekly_lists_ask_the_policy(wecom, db):
    code = file(wecom, ACCUSATION)
    with db.begin() as s:  # a stale member row, as if the table were wrong: the policy still decides
        case = s.scalars(select(Case).where(Case.code == code)).one()
        for who in ("西岔村书记", "杨委员"):
            pid = s.scalars(select(Person.id).where(Person.name == who)).one()
            s.add(CaseMember(case_id=case.id, person_id=pid, duty=cases.VERIFY))
    for later in (timedelta(hours=1), timedelta(days=2), timedelta(days=8)):
        run_jobs(db, T + later)
    kinds = {r.idempotency_key.split(":")[0] for r in rows(db, code)}
    assert {"remind", "overdue", "escalate", "weekly_update"} <= kinds  # the jobs did run for the case
    assert not to(db, code, ACCUSED)
    with db() as s:
        summary = s.scalars(select(OutboxMessage.body).where(OutboxMessage.idempotency_key.like("weekly_summary%"),
                                                             OutboxMessage.recipient == "leader")).first()
    assert summary and "违规违纪" in summary  # the Monday summary counts it, for those who may see it
    assert code not in say(wecom, "sj-xicha", "待办")


def test_a_wording_on_a_cadre_case_skips_the_committee_and_the_village_chats(wecom, db, server):
    code = file(wecom, ACCUSATION)
    other = file(wecom, HARMLESS)
    numbers = {}
    for case_code in (code, other):
        made = api(server, "POST", "/api/wordings", json={
            # the cadre case's code typed as a phone does (lower case, a full-width dash): still that case
            "title": "说明", "body": "一、基本情况：正在核实。", "actor": "办公室小赵",
            "case_code": case_code.lower().replace("-", "－", 1) if case_code == code else case_code,
            "audience": {"units": ["西岔村"], "roles": []}})
        numbers[case_code] = made.json()["id"]
        assert api(server, "POST", f"/api/wordings/{numbers[case_code]}/approve",
                   json={"actor": "副乡长"}).status_code == 200
        assert api(server, "POST", f"/api/wordings/{numbers[case_code]}/publish").status_code == 200
    with db() as s:
        got = lambda n: set(s.scalars(select(OutboxMessage.recipient).where(  # noqa: E731
            OutboxMessage.idempotency_key.like("wording:%"), OutboxMessage.body.contains(f"第{n}号"))))
        cadre_wording, plain_wording = got(numbers[code]), got(numbers[other])
    assert "gw-xicha" in cadre_wording and not cadre_wording & (ACCUSED | {"robot-xicha-01"})
    assert ACCUSED | {"robot-xicha-01"} <= plain_wording  # the exclusion is the conflict, not the wording
    for who in ACCUSED:
        assert say(wecom, who, f"口径 {code}") == texts.NO_SUCH_WORDING.format(what=code)
        assert f"第{numbers[code]}号" not in say(wecom, who, "口径")
        assert say(wecom, who, f"口径 {numbers[code]}") == texts.NO_SUCH_WORDING.format(what=numbers[code])
    run_jobs(db, T + timedelta(hours=3))  # the 收到 reminder
    assert not to(db, code, ACCUSED)


def test_a_cadre_case_shuts_out_every_village_whose_committee_it_names(wecom, db, server):
    """Two villages' cadres named, the accused's second: the case may be filed for the first, but the
    wording to the whole township still skips the accused village's committee and chat."""
    code = file(wecom, "北坡村书记说，西岔村会计把今年的耕地补贴扣下了一半，账本谁也不让看")
    case = the_case(db, code)
    with db() as s:
        xicha = s.scalar(select(Unit.id).where(Unit.name == "西岔村"))
    assert case.involves_cadre and xicha in case.shut_out_villages
    made = api(server, "POST", "/api/wordings", json={
        "title": "说明", "body": "一、基本情况：正在核实。", "case_code": code, "actor": "办公室小赵",
        "audience": {"units": ["白水乡"], "roles": []}})
    number = made.json()["id"]
    assert api(server, "POST", f"/api/wordings/{number}/approve", json={"actor": "副乡长"}).status_code == 200
    assert api(server, "POST", f"/api/wordings/{number}/publish").status_code == 200
    with db() as s:
        got = set(s.scalars(select(OutboxMessage.recipient).where(
            OutboxMessage.idempotency_key.like("wording:%"), OutboxMessage.body.contains(f"第{number}号"))))
    assert "gw-xicha" in got and not got & (ACCUSED | {"robot-xicha-01"})
    for who in ACCUSED:
        assert say(wecom, who, f"口径 {code}") == texts.NO_SUCH_WORDING.format(what=code)


def test_a_case_found_late_to_accuse_a_cadre_shuts_out_every_village_it_names(wecom, db, server):
    code = file(wecom, "北坡村书记和西岔村会计一起帮五保户把漏雨的房子修好了", answer="否")
    with db() as s:
        xicha = s.scalar(select(Unit.id).where(Unit.name == "西岔村"))
    assert not the_case(db, code).involves_cadre and xicha not in the_case(db, code).shut_out_villages
    assert api(server, "PATCH", f"/api/cases/{code}", json={"involves_cadre": True}).status_code == 200
    assert xicha in the_case(db, code).shut_out_villages  # as it would be had it been filed so
    for who in ACCUSED:
        assert say(wecom, who, f"进度 {code}") == texts.NO_SUCH_CASE.format(code=code)


def test_the_admin_api_and_the_ledger_answer_for_a_person(wecom, db, server):
    code = file(wecom, ACCUSATION)
    other = file(wecom, HARMLESS)
    for who in ("西岔村书记", "13800000011"):  # by name or phone
        listed = {c["code"] for c in api(server, "GET", "/api/cases", params={"as": who}).json()["items"]}
        assert other in listed and code not in listed
        assert api(server, "GET", f"/api/cases/{code}", params={"as": who}).status_code == 404
        book = load_workbook(BytesIO(api(server, "GET", "/api/ledger.xlsx", params={"as": who}).content))
        assert code not in {row[0].value for row in book.active.iter_rows(min_row=2)}
    assert code in {c["code"] for c in api(server, "GET", "/api/cases").json()["items"]}  # the office's token
    assert api(server, "GET", "/api/cases", params={"as": "nobody"}).status_code == 404


def test_duplicates_are_never_paired_across_the_cadre_boundary(wecom, db):
    first = file(wecom, "西岔村会计把耕地补贴扣下了一半，账本谁也不让看")
    second = file(wecom, "西岔村耕地补贴少发了一半，账本谁也不让看", answer="否")
    third = file(wecom, "西岔村耕地补贴少发了一半，账本谁也不让看", answer="否")
    assert the_case(db, first).involves_cadre and not the_case(db, second).involves_cadre
    with db() as s:
        offers = s.scalars(select(OutboxMessage.body).where(OutboxMessage.idempotency_key.like("duplicate:%"))).all()
    assert any(third in o and second in o for o in offers)
    assert not any(first in o for o in offers)


# -- late discovery -----------------------------------------------------------------------------

def test_an_accused_that_no_name_places_shuts_out_every_village_in_play(wecom, db):
    """A bare title settles no village: the 会计 may be the one where the reporter was visiting or the
    reporter's own. Both committees are shut out; the reporter, a grid worker, still follows the case."""
    code = file(wecom, "我在西岔村走亲戚，听说会计把低保名额都给了自家人，名单也不贴出来")
    with db() as s:
        ids = dict(s.execute(select(Unit.name, Unit.id).where(Unit.name.in_(["西岔村", "北坡村"]))).all())
    case = the_case(db, code)
    assert case.involves_cadre and {ids["西岔村"], ids["北坡村"]} <= case.shut_out_villages
    for who in ("sj-beipo", "wy-beipo", *ACCUSED):
        assert not to(db, code, {who}), who
        assert say(wecom, who, f"进度 {code}") == texts.NO_SUCH_CASE.format(code=code)
    assert code in say(wecom, "gw", f"进度 {code}")


def test_late_discovery_reads_the_text_with_the_countys_rule_table(serve, db, tmp_path):
    """A county's rule file may know a post the packaged table does not (杨专干 for 西岔村's 杨委员): the
    office's re-classification reads the text with it, as intake did, and shuts that village out too."""
    packaged = (Path(cases.__file__).parent / "rules.toml").read_text(encoding="utf-8")
    assert packaged.count('name_titles = ["书记"') == 1
    county = tmp_path / "county.toml"
    county.write_text(packaged.replace('name_titles = ["书记"', 'name_titles = ["专干", "书记"'), encoding="utf-8")
    with db.begin() as s:
        roster = "\n".join([township.HEADER, *township.roster_rows(), *EXTRA]).encode()
        assert not import_roster(s, "roster.csv", roster).refused
    server = serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, admin_token="adm", rules_file=str(county))
    peer = Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)
    say(peer, "gw", "修路的钱，杨专干说他能办下来，收了每户两百块")  # names no village: 西岔村 is not in play
    say(peer, "gw", "涉及村干部 否")  # the reporter says no; the office finds otherwise
    code = code_in(say(peer, "gw", "确认"))
    with db() as s:
        xicha = s.scalar(select(Unit.id).where(Unit.name == "西岔村"))
    assert not the_case(db, code).involves_cadre
    assert api(server, "PATCH", f"/api/cases/{code}", json={"involves_cadre": True}).status_code == 200
    assert xicha in the_case(db, code).shut_out_villages
    assert say(peer, "wg-xicha2", f"进度 {code}") == texts.NO_SUCH_CASE.format(code=code)


def test_reclassified_before_delivery_nothing_reaches_them_and_the_office_hears_so(wecom, db, server):
    code = file(wecom, HARMLESS)
    assert {r.recipient for r in to(db, code, ACCUSED)} == {"sj-xicha"}  # its card, still pending
    resp = api(server, "PATCH", f"/api/cases/{code}", json={"involves_cadre": True})
    assert resp.status_code == 200 and resp.json()["involves_cadre"]
    assert {r.status for r in to(db, code, ACCUSED)} == {"cancelled"}
    report = next(r.body for r in rows(db, code) if r.idempotency_key.startswith("exposure:") and r.recipient == "office")
    assert "此前没有收到" in report and "撤回未发出的消息1条" in report
    assert not any(r.idempotency_key.startswith("off:") for r in to(db, code, ACCUSED))  # told nothing
    assert say(wecom, "sj-xicha", f"进度 {code}") == texts.NO_SUCH_CASE.format(code=code)
    for later in (timedelta(hours=1), timedelta(days=2)):
        run_jobs(db, T + later)
    assert {r.status for r in to(db, code, ACCUSED)} == {"cancelled"}


def test_reclassified_after_delivery_the_office_is_told_who_had_what(wecom, db, server, database_url, clock):
    code = file(wecom, HARMLESS)
    deliver(database_url, sandbox(db, clock), T)  # the secretary's card goes out
    run_jobs(db, T + timedelta(minutes=61))  # the half-time reminder, queued but not delivered
    assert {(r.idempotency_key.split(":")[0], r.status) for r in to(db, code, ACCUSED)} == {
        ("card", "sent"), ("remind", "pending")}
    assert api(server, "PATCH", f"/api/cases/{code}", json={"involves_cadre": True}).status_code == 200
    assert {(r.idempotency_key.split(":")[0], r.status) for r in to(db, code, ACCUSED)} == {
        ("card", "sent"), ("remind", "cancelled")}
    report = next(r.body for r in rows(db, code) if r.idempotency_key.startswith("exposure:") and r.recipient == "office")
    assert "西岔村书记：线索卡片" in report and "撤回未发出的消息1条" in report
    with db() as s:
        assert s.scalars(select(CaseEvent.note).where(CaseEvent.action == texts.EXPOSURE_EVENT)).one() == "西岔村书记"
    for later in (timedelta(hours=3), timedelta(days=2), timedelta(days=8)):
        run_jobs(db, T + later)
    assert {(r.idempotency_key.split(":")[0], r.status) for r in to(db, code, ACCUSED)} == {
        ("card", "sent"), ("remind", "cancelled")}  # nothing further, ever


def test_late_discovery_cancels_dead_and_in_flight_rows_so_nothing_can_go_out_later(wecom, db, server):
    code = file(wecom, HARMLESS)
    [card] = to(db, code, {"sj-xicha"})
    with db.begin() as s:  # the card died (a bad userid), another row is in a delivery pass's hands
        s.get(OutboxMessage, card.id).status = "dead"
        s.add(OutboxMessage(channel=card.channel, account=card.account, recipient="wy-xicha", body=card.body,
                            idempotency_key=f"card:{code}:in-flight", created_at=T, next_attempt_at=T, status="sending",
                            case_id=card.case_id, claimed_by="another-pass", claimed_until=T + timedelta(minutes=2)))
    assert api(server, "PATCH", f"/api/cases/{code}", json={"involves_cadre": True}).status_code == 200
    assert {r.status for r in to(db, code, ACCUSED)} == {"cancelled"}
    assert api(server, "POST", f"/api/outbox/{card.id}/retry").status_code == 409  # no longer a dead letter
    report = next(r.body for r in rows(db, code) if r.idempotency_key.startswith("exposure:") and r.recipient == "office")
    assert "西岔村委员：线索卡片" in report  # in flight: it may have gone out
    assert "撤回未发出的消息1条" in report  # the dead one; the one in flight is reported as maybe received


def test_a_new_wording_version_tells_no_one_shut_out_since_that_the_old_one_is_void(wecom, db, server):
    code = file(wecom, HARMLESS)
    made = api(server, "POST", "/api/wordings", json={
        "title": "说明", "body": "一、基本情况：正在核实。", "case_code": code, "actor": "办公室小赵",
        "audience": {"units": ["西岔村"], "roles": []}}).json()["id"]
    assert api(server, "POST", f"/api/wordings/{made}/approve", json={"actor": "副乡长"}).status_code == 200
    assert api(server, "POST", f"/api/wordings/{made}/publish").status_code == 200
    assert api(server, "PATCH", f"/api/cases/{code}", json={"involves_cadre": True}).status_code == 200
    assert api(server, "POST", f"/api/wordings/{made}/versions", json={
        "body": "一、基本情况：已查实。", "actor": "办公室小赵"}).status_code == 201
    with db() as s:
        ids = s.scalars(select(OutboxMessage.id)).all()
    assert api(server, "POST", f"/api/wordings/{made}/approve", json={"actor": "副乡长"}).status_code == 200
    assert api(server, "POST", f"/api/wordings/{made}/publish").status_code == 200
    with db() as s:
        new = s.scalars(select(OutboxMessage).where(OutboxMessage.id.not_in(ids))).all()
    assert any(r.idempotency_key.startswith("wording:") for r in new)  # version 2 went out, to others
    assert not [r for r in new if r.recipient in ACCUSED | {"robot-xicha-01"}]


# -- routing is one table ------------------------------------------------------------------------

def test_routing_is_one_table_walked_by_route(wecom, db, monkeypatch):
    assert all(r.who[0] in ("village", "township", "department", "covering") for r in cases.ROUTES)
    # a row that would name the accused village's committee is still filtered by the policy
    monkeypatch.setattr(cases, "ROUTES", cases.ROUTES + (
        cases.Route(("cadre",), ("village", "村两委"), cases.INFORM),
        cases.Route(("!cadre",), ("village", "村两委"), cases.INFORM)))
    code = file(wecom, ACCUSATION)
    plain = file(wecom, HARMLESS)
    with db() as s:
        on = lambda c: {p.name for p, _ in cases.members(s, s.scalars(select(Case).where(Case.code == c)).one())}  # noqa: E731
        assert not on(code) & {"西岔村书记", "西岔村委员", "杨委员"}
        assert {"西岔村委员", "杨委员"} <= on(plain)


def test_the_roster_refuses_township_roles_on_a_village_row(db):
    data = "\n".join([township.HEADER, *township.roster_rows(),
                      "白水乡,西岔村,,两头兼,13800000099,村两委、办公室,,,",
                      "白水乡,东山村,一网格,又是领导,13800000098,网格员、分管领导,,,"]).encode()
    with db.begin() as s:
        report = import_roster(s, "roster.csv", data)
    assert report.refused
    bad = {(e.row, e.column) for e in report.errors}
    n = len(township.roster_rows())
    assert bad == {(n + 2, "角色"), (n + 3, "角色")}
    assert all("乡镇角色" in e.reason for e in report.errors)


def test_the_office_reclassifies_in_chat_too(wecom, db):
    code = file(wecom, HARMLESS)
    assert say(wecom, "sj-xicha", f"涉及村干部 {code} 是").startswith("只有乡镇办公室")
    assert say(wecom, "office", f"涉及村干部 {code.lower()} 也许").startswith("请写")
    assert say(wecom, "office", f"涉及村干部 {code} 是") == texts.cadre_marked(code, True)
    assert the_case(db, code).involves_cadre
    assert {r.status for r in to(db, code, ACCUSED)} == {"cancelled"}
    assert say(wecom, "sj-xicha", f"进度 {code}") == texts.NO_SUCH_CASE.format(code=code)


def test_follow_up_visits_ask_the_policy_too(wecom, db):
    code = file(wecom, ACCUSATION)
    lead = township.liaison("纪委")
    assert say(wecom, lead, f"签收 {code}").startswith("已签收")
    assert say(wecom, lead, f"办结 {code} 已查实，责令退还") == texts.DONE["办结"].format(code=code)
    run_jobs(db, T + timedelta(days=3))  # the next working day's 回访 request
    asked = [r.recipient for r in rows(db, code) if r.idempotency_key.startswith("followup:")]
    assert asked == ["office"]
    for who in ACCUSED:
        assert say(wecom, who, f"回访 {code} 满意 已电话回访") == texts.NO_SUCH_CASE.format(code=code)
    assert not to(db, code, ACCUSED)


# -- a tip-off told in pieces: the cadre question raised by a first piece -----------------------------------

FIRST_PIECE = "东山村的村主任昨天来我家"  # a title and nothing yet of what he did: the detector asks


def test_a_later_piece_that_casts_the_cadre_as_helper_settles_the_first_pieces_question(wecom, db):
    assert "村干部" in say(wecom, "gw", FIRST_PIECE)
    summary = say(wecom, "gw", "他帮我们修好了院墙")  # more of the tip-off, not an answer
    assert texts.CONFIRM_PROMPT in summary and texts.CADRE_WORD + "：否" in summary
    case = the_case(db, code_in(say(wecom, "gw", "确认")))
    assert not case.involves_cadre and "院墙" in case.summary


def test_a_later_piece_that_accuses_the_cadre_bypasses_the_village(wecom, db):
    assert "村干部" in say(wecom, "gw", FIRST_PIECE)
    summary = say(wecom, "gw", "说低保名单是他定的，谁送钱谁上")
    assert texts.CONFIRM_PROMPT in summary and texts.CADRE_WORD + "：是" in summary
    assert the_case(db, code_in(say(wecom, "gw", "确认"))).involves_cadre


def test_a_question_the_fuller_draft_still_raises_counts_as_yes_when_moved_on_from(wecom, db):
    """Telling more instead of answering is no "否": the question the whole draft still needs defaults to yes,
    and is not asked twice."""
    assert "村干部" in say(wecom, "gw", "东山村的村主任昨天来了")
    reply = say(wecom, "gw", "他说镇上要来检查")
    assert texts.ASK_CADRE.split("（")[0] not in reply
    while texts.CONFIRM_PROMPT not in reply:  # at most a question of another field
        assert "村干部" not in reply, reply
        reply = say(wecom, "gw", "不清楚")
    assert the_case(db, code_in(say(wecom, "gw", "确认"))).involves_cadre


def test_a_naive_reporters_unclear_answer_after_pieces_still_counts_as_yes(wecom, db):
    assert "村干部" in say(wecom, "gw", "东山村的村主任昨天来了")
    reply = say(wecom, "gw", "不清楚")
    while texts.CONFIRM_PROMPT not in reply:
        reply = say(wecom, "gw", "不清楚")
    assert the_case(db, code_in(say(wecom, "gw", "确认"))).involves_cadre
