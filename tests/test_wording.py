"""Unified wording (统一口径): drafted, approved and published in WeCom chat and the admin API,
delivered by run-due through the sandbox, acknowledged with 收到, reminded once, superseded."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from app.sandbox import FakeWeChat
from handlers import texts, wording
from handlers.chats import import_chats
from handlers.roster import import_roster
from handlers.people import holders
from models import ChatIdentity, Job, OutboxMessage, Unit, WordingVersion
from tests import township
from tests.conftest import T0
from tests.test_intake import ADMIN, CORP, KEY, TOKEN, code_in, say
from tests.test_run_due import AGENT, SECRET, run_due
from tests.township import secretary
from tests.wxclient import HTTP, Aes, Peer

# 白水乡 gets a grid worker in every village (one without WeCom: unreachable) and a spokesperson;
# 黑石镇 is a second township.
EXTRA = [
    "白水乡,西岔村,一网格,网格员西岔,13800000001,网格员,,,gw-xicha",
    "白水乡,东山村,一网格,网格员东山,13800000002,网格员,,,gw-dongshan",
    "白水乡,南沟村,一网格,网格员南沟,13800000003,网格员,,,gw-nangou",
    "白水乡,后营村,一网格,网格员后营,13800000004,网格员,,,",
    "白水乡,,,新闻发言人老李,13800000005,新闻发言人,,,spokes",
    "黑石镇,石门村,一网格,网格员外乡,13800000006,网格员,,,gw-out",
    "黑石镇,,,黑石办公室,13800000007,办公室,,,office-hs",
]
CHATS = """乡镇,村,类型,标识
白水乡,,群机器人,robot-baishui-01
白水乡,西岔村,群机器人,robot-xicha-01
白水乡,东山村,应用群聊,dongshanchat
黑石镇,,群机器人,robot-heishi-01
"""
ROBOTS = ("robot-baishui-01", "robot-xicha-01", "robot-heishi-01")
FACTS = "11月18日上午，西岔村两户村民因宅基地边界发生争执，无人受伤。"
MEASURES = "村委会和司法所已到场调解，双方情绪平稳。"
NEXT_STEPS = "由国土所重新测量边界，三日内给出结论。"
CONTACT = "乡党政办 0314-1234567"
BODY = texts.wording_body(FACTS, MEASURES, NEXT_STEPS, CONTACT)
LOCAL = timedelta(hours=8)  # Asia/Shanghai


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


def api(server, method: str, path: str, **kwargs) -> httpx.Response:
    return HTTP.request(method, server.url + "/api/wordings" + path, headers={**ADMIN, **kwargs.pop("headers", {})},
                        **kwargs)


def published(server, units=("白水乡",), roles=(), case_code=None, body=BODY, title="宅基地纠纷") -> int:
    """A wording drafted, approved and published through the API; its number."""
    made = api(server, "POST", "", json={"title": title, "body": body, "case_code": case_code, "actor": "办公室小赵",
                                         "audience": {"units": list(units), "roles": list(roles)}})
    assert made.status_code == 201, made.text
    number = made.json()["id"]
    assert api(server, "POST", f"/{number}/approve", json={"actor": "副乡长"}).status_code == 200
    assert api(server, "POST", f"/{number}/publish", json={"actor": "新闻发言人老李"}).status_code == 200
    return number


def draft_in_chat(wecom, who: str, command: str, scope: str | None = "全部") -> list[str]:
    """Every reply of a guided draft, from the command to 确认."""
    replies = [say(wecom, who, command)]
    for answer in (FACTS, MEASURES, NEXT_STEPS, CONTACT):
        replies.append(say(wecom, who, answer))
    if scope is not None:
        replies.append(say(wecom, who, scope))
    replies.append(say(wecom, who, "确认"))
    return replies


def userids(db, role: str) -> set[str]:
    """WeCom userids of the role's holders in 白水乡."""
    with db() as s:
        baishui = s.scalars(select(Unit.id).where(Unit.name == "白水乡")).one()
        ids = [p.id for p in holders(s, role, baishui)]
        return set(s.scalars(select(ChatIdentity.external_id).where(
            ChatIdentity.person_id.in_(ids), ChatIdentity.channel == "work")))


def sandbox(db, clock) -> FakeWeChat:
    with db() as s:
        ids = s.scalars(select(ChatIdentity.external_id).where(ChatIdentity.channel == "work")).all()
    return (FakeWeChat(clock, member_limits=False).add_work_app(CORP, SECRET, AGENT).add_userid(*ids)
            .add_robot(*ROBOTS).add_appchat("dongshanchat"))


def deliver(database_url, fake: FakeWeChat, at: datetime) -> str:
    server = fake.serve()
    try:
        result = run_due(database_url, server, at=at.isoformat())
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    return result.output


# -- end to end: chat → sandbox → 收到 → API --------------------------------------------------

def test_a_wording_goes_from_draft_to_every_grid_worker_and_acknowledgements_come_back(
        server, wecom, db, database_url, clock):
    replies = draft_in_chat(wecom, "office", "拟口径 关于西岔村宅基地纠纷")
    # facts → measures → next steps → contact → audience, in that order, then the summary
    assert replies[:5] == [texts.wording_question(n, 5) for n in range(5)]
    assert "只写已核实的事实" in replies[0] and "不下结论" in replies[0]
    assert replies[5].startswith("请核对口径草稿") and BODY in replies[5] and "白水乡" in replies[5]
    assert replies[6] == texts.WORDING_SAVED.format(number=1, version=1)
    with db() as s:
        asked = s.scalars(select(OutboxMessage.recipient).where(
            OutboxMessage.idempotency_key.like("wording_draft:%"))).all()
    assert sorted(asked) == ["deputy", "leader"]  # the leaders are asked to approve

    assert say(wecom, "office", "发布口径 1") == texts.WORDING_NOT_NOW.format(
        number=1, version=1, status="草稿", action="发布")
    review = say(wecom, "deputy", "审核口径 1")
    assert FACTS in review and texts.WORDING_APPROVE_HINT.format(number=1) in review
    assert say(wecom, "deputy", "批准口径 1") == texts.WORDING_APPROVED.format(number=1, version=1)
    reply = say(wecom, "spokes", "发布口径 1")
    grid_workers = userids(db, "网格员")
    assert {"gw", "gw2", "gw-xicha", "gw-dongshan", "gw-nangou"} == grid_workers
    with db() as s:
        version = s.scalars(select(WordingVersion)).one()
        recipients = wording.recipients(s, version)
    assert reply == texts.WORDING_PUBLISHED.format(number=1, version=1, people=len(recipients), chats=3)
    assert "网格员后营" in {p.name for p, _ in recipients}  # no WeCom: a recipient that cannot be reached
    assert not {r.reachable for p, r in recipients if p.name == "网格员后营"}.pop()

    fake = sandbox(db, clock)
    deliver(database_url, fake, clock.now() + timedelta(minutes=1))
    again = deliver(database_url, fake, clock.now() + timedelta(minutes=2))
    assert "发送0条" in again
    pushes = [d for d in fake.delivered() if d.text.startswith(texts.wording_head(1, 1))]
    got = Counter(d.recipient for d in pushes)
    assert all(got[uid] == 1 for uid in grid_workers)  # every grid worker of the township, once
    assert got["gw-out"] == 0 and got["robot-heishi-01"] == 0  # not the other township
    assert {secretary(v) for v in township.VILLAGES} <= set(got) and {"bc1", "bc2"} <= set(got)
    assert got["robot-baishui-01"] == got["robot-xicha-01"] == 1  # the township's and the village's robots
    person_text = next(d.text for d in pushes if d.recipient == "gw")
    assert "《关于西岔村宅基地纠纷》" in person_text and "请回复“收到”" in person_text and FACTS in person_text
    assert "收到" not in next(d.text for d in pushes if d.recipient == "robot-xicha-01")
    assert got["dongshanchat"] == 1  # the village's WeCom app group chat, through appchat/send

    assert say(wecom, "gw", "收到") == texts.WORDING_ACKNOWLEDGED.format(number=1, version=1)
    assert say(wecom, "gw", "收到") == texts.NO_PENDING_WORDING
    assert say(wecom, "gw-xicha", "收到") == texts.WORDING_ACKNOWLEDGED.format(number=1, version=1)
    one = api(server, "GET", "/1").json()
    assert (one["version"], one["status"]) == (1, "published")
    acked = {r["name"] for r in one["recipients"] if r["acknowledged_at"]}
    assert acked == {"网格员小王", "网格员西岔"} and one["acknowledged"] == 2
    assert one["pending"] == len(recipients) - 2
    assert [e["action"] for e in one["events"]] == ["起草", "批准", "发布"]
    assert [e["actor"] for e in one["events"]] == ["办公室小赵", "副乡长", "新闻发言人老李"]
    pending = api(server, "GET", "/1/recipients", params={"acknowledged": "false"}).json()
    assert pending["total"] == len(recipients) - 2 and "网格员小王" not in {r["name"] for r in pending["items"]}
    listed = api(server, "GET", "", params={"status": "published"}).json()
    assert listed["total"] == 1 and listed["items"][0]["acknowledged"] == 2
    assert "收到2/" in say(wecom, "office", "口径列表")


# -- reminders ---------------------------------------------------------------------------------

@pytest.mark.parametrize("published_after, reminded_local", [
    (timedelta(0), "2026-11-18T21:06:40"),  # published 19:06: two hours later
    (timedelta(hours=2), "2026-11-19T07:00:00"),  # published 21:06: 23:06 is quiet, so the morning
])
def test_pending_people_are_reminded_once_outside_quiet_hours(
        server, wecom, db, database_url, clock, published_after, reminded_local):
    clock.advance(seconds=published_after.total_seconds())
    published(server, units=("西岔村",), roles=("网格员", "村书记"))
    due = datetime.fromisoformat(reminded_local).replace(tzinfo=UTC) - LOCAL
    with db() as s:
        assert s.scalars(select(Job.due_at).where(Job.kind == wording.REMIND)).one() == due
    assert say(wecom, "gw-xicha", "收到").startswith("已确认")
    fake = sandbox(db, clock)
    deliver(database_url, fake, due - timedelta(minutes=1))
    reminder = texts.wording_reminder(1, 1, "宅基地纠纷")
    assert reminder not in [d.text for d in fake.delivered()]
    deliver(database_url, fake, due)
    deliver(database_url, fake, due + timedelta(hours=3))
    reminded = [d.recipient for d in fake.delivered() if d.text == reminder]
    assert reminded == [secretary("西岔村")]  # once, and only to whoever has not replied
    assert api(server, "GET", "/1").json()["events"][-1]["action"] == "提醒"


# -- a new version ----------------------------------------------------------------------------

def test_a_new_version_supersedes_the_old_and_says_so(server, wecom, db, database_url, clock):
    published(server, units=("西岔村", "北坡村"), roles=("网格员",))
    fake = sandbox(db, clock)
    deliver(database_url, fake, clock.now() + timedelta(minutes=1))
    revised = api(server, "POST", "/1/versions", json={"body": BODY + "（更新）", "actor": "办公室小赵",
                                                       "audience": {"units": ["西岔村", "东山村"], "roles": ["网格员"]}})
    assert revised.status_code == 201, revised.text
    assert (revised.json()["version"], revised.json()["status"]) == (2, "draft")
    assert say(wecom, "gw", "口径").startswith(texts.wording_head(1, 1))  # v1 is in force until v2 is published
    assert say(wecom, "deputy", "批准口径 1") == texts.WORDING_APPROVED.format(number=1, version=2)
    assert say(wecom, "office", "发布口径 1").startswith("已发布口径第1号·第2版")
    deliver(database_url, fake, clock.now() + timedelta(minutes=2))
    inbox = {uid: [d.text for d in fake.delivered(uid)] for uid in ("gw", "gw2", "gw-xicha", "gw-dongshan")}
    notice = texts.wording_superseded(1, 1, 2, "宅基地纠纷")
    for uid in ("gw", "gw2"):  # had v1, not in v2's audience: told it is void
        assert inbox[uid][-1] == notice
    assert "本版替代第1版" in inbox["gw-xicha"][-1] and inbox["gw-xicha"][-1].startswith(texts.wording_head(1, 2))
    assert "本版替代第1版" not in inbox["gw-dongshan"][0] and len(inbox["gw-dongshan"]) == 1
    assert "本版替代第1版" in fake.delivered("robot-xicha-01")[-1].text

    one = api(server, "GET", "/1", params={"version": 1}).json()
    assert one["status"] == "superseded" and one["events"][-1]["action"] == "作废"
    assert [v["status"] for v in api(server, "GET", "/1").json()["versions"]] == ["published", "superseded"]
    assert say(wecom, "gw", "口径") == texts.NO_WORDING_IN_FORCE
    assert say(wecom, "gw", "收到") == texts.NO_PENDING_WORDING  # v1 no longer asks for one
    assert say(wecom, "gw-xicha", "收到") == texts.WORDING_ACKNOWLEDGED.format(number=1, version=2)
    deliver(database_url, fake, clock.now() + timedelta(hours=2, minutes=1))  # 21:07, before quiet hours
    reminded = {d.recipient for d in fake.delivered() if d.text.startswith("⏰请确认")}
    assert reminded == {"gw-dongshan"}  # v2's pending only; v1's reminder is moot


def test_revising_in_chat_keeps_title_and_audience(server, wecom, db):
    published(server, units=("西岔村",))
    replies = draft_in_chat(wecom, "office", "修订口径 1", scope=None)
    assert replies[:4] == [texts.wording_question(n, 4) for n in range(4)]
    assert "西岔村" in replies[4] and replies[5] == texts.WORDING_SAVED.format(number=1, version=2)
    versions = api(server, "GET", "/1").json()
    assert (versions["title"], versions["audience"]["units"]) == ("宅基地纠纷", ["西岔村"])


# -- who may do and see what --------------------------------------------------------------------

def test_roles_decide_who_drafts_approves_and_publishes(server, wecom, db):
    assert say(wecom, "gw", "拟口径 测试") == texts.WORDING_ONLY["拟口径"]
    assert say(wecom, "deputy", "拟口径 测试") == texts.WORDING_ONLY["拟口径"]
    draft_in_chat(wecom, "office", "拟口径 测试")
    assert say(wecom, "gw", "批准口径 1") == texts.WORDING_ONLY["批准口径"]
    assert say(wecom, "office", "批准口径 1") == texts.WORDING_ONLY["批准口径"]
    assert say(wecom, "gw", "审核口径 1") == texts.WORDING_ONLY["审核口径"]
    assert say(wecom, "gw", "口径 1") == texts.NO_SUCH_WORDING.format(what="1")  # a draft is the staff's
    assert say(wecom, "leader", "批准口径 1").startswith("已批准")
    assert say(wecom, "gw", "发布口径 1") == texts.WORDING_ONLY["发布口径"]
    assert say(wecom, "deputy", "发布口径 1") == texts.WORDING_ONLY["发布口径"]
    assert say(wecom, "office-hs", "发布口径 1") == texts.WORDING_OUTSIDE.format(name="黑石办公室")
    assert say(wecom, "gw", "口径列表") == texts.WORDING_ONLY["口径列表"]
    assert say(wecom, "office-hs", "口径列表") == texts.WORDING_LIST_EMPTY
    assert "已批准" in say(wecom, "office", "口径列表")
    assert say(wecom, "office", "发布口径 1").startswith("已发布")
    assert say(wecom, "office", "发布口径 1") == texts.WORDING_NOT_NOW.format(
        number=1, version=1, status="已发布", action="发布")


def test_a_case_wording_is_seen_only_within_the_access_policy(server, wecom, db):
    say(wecom, "gw", "西岔村两户因为宅基地吵起来了，快动手了")
    code = code_in(say(wecom, "gw", "确认"))
    assert say(wecom, "office", f"口径 {code}") == texts.NO_SUCH_WORDING.format(what=code)  # none yet
    published(server, units=("西岔村",), case_code=code)
    for who in ("gw-xicha", secretary("西岔村"), "bc1", "office", "leader", "spokes"):  # there, covering, township staff
        assert say(wecom, who, f"口径 {code.lower()}").startswith(texts.wording_head(1, 1)), who
        assert say(wecom, who, "口径").startswith(texts.wording_head(1, 1)), who
    for who in ("gw", secretary("北坡村"), "bc2", "gw-out", "office-hs"):  # elsewhere, or another township
        assert say(wecom, who, f"口径 {code}") == texts.NO_SUCH_WORDING.format(what=code), who
        assert say(wecom, who, "口径") == texts.NO_WORDING_IN_FORCE, who
        assert say(wecom, who, "口径 1") == texts.NO_SUCH_WORDING.format(what="1"), who
    assert api(server, "GET", "/1").json()["case_code"] == code


def test_help_lists_wording_commands_for_their_roles_only(server, wecom):
    assert say(wecom, "gw", "帮助") == texts.HELP and "收到" in texts.HELP
    office, deputy, spokes = (say(wecom, who, "帮助") for who in ("office", "deputy", "spokes"))
    assert "拟口径" in office and "发布口径" in office and "批准口径" not in office
    assert "批准口径" in deputy and "拟口径" not in deputy and "发布口径" not in deputy
    assert "发布口径" in spokes and "拟口径" not in spokes and "批准口径" not in spokes


# -- bad input gets a clear answer ----------------------------------------------------------------

def test_bad_input_in_chat(server, wecom, db):
    assert say(wecom, "deputy", "批准口径") == texts.WORDING_NUMBER_USAGE.format(action="批准口径")
    assert say(wecom, "deputy", "批准口径 abc") == texts.WORDING_NUMBER_USAGE.format(action="批准口径")
    assert say(wecom, "deputy", "批准口径 9") == texts.NO_SUCH_WORDING.format(what=9)
    assert say(wecom, "gw", "口径 什么") == texts.WORDING_USAGE
    assert say(wecom, "office", "拟口径 XS-20000101-0001") == texts.NO_SUCH_CASE.format(code="XS-20000101-0001")
    assert say(wecom, "office", "拟口径 " + "长" * 41) == texts.WORDING_TITLE_BAD.format(limit=wording.MAX_TITLE)
    say(wecom, "office", "北坡村路灯坏了一半")  # an unfinished tip-off comes first
    assert say(wecom, "office", "拟口径 测试") == texts.WORDING_INTAKE_BUSY
    say(wecom, "office", "取消")

    assert say(wecom, "office", "拟口径") == texts.wording_question(0, 5)
    assert say(wecom, "office", "确认") == texts.wording_question(0, 5)  # not done yet
    assert say(wecom, "office", msg_type="image", PicUrl="http://mmbiz/p.jpg", MediaId="m1") == \
        texts.WORDING_TEXT_ONLY + "\n" + texts.wording_question(0, 5)
    assert say(wecom, "office", "长" * 600).startswith("太长了")
    for answer in (FACTS, MEASURES, NEXT_STEPS, CONTACT):
        say(wecom, "office", answer)
    assert say(wecom, "office", "西岔村、月亮村") == texts.WORDING_UNKNOWN_UNITS.format(names="月亮村") + "\n" + \
        texts.wording_question(4, 5)
    assert say(wecom, "office", "石门村") == texts.WORDING_UNKNOWN_UNITS.format(names="石门村") + "\n" + \
        texts.wording_question(4, 5)  # another township's village
    summary = say(wecom, "office", "西岔村 网格员")
    assert "西岔村的网格员" in summary
    assert say(wecom, "office", "修改") == texts.wording_question(0, 5)
    assert say(wecom, "office", "取消") == texts.WORDING_CANCELLED
    assert say(wecom, "office", "确认") == texts.NOTHING_TO_CONFIRM  # back to idle
    assert api(server, "GET", "").json()["total"] == 0


def test_an_idle_wording_draft_is_offered_back(server, wecom, clock):
    say(wecom, "office", "拟口径 测试")
    clock.advance(minutes=31)
    reply = say(wecom, "office", FACTS)
    assert reply == texts.RESUMED_WORDING + "\n" + texts.wording_question(1, 5)


def test_bad_input_in_the_api(server, db):
    def post(**changes):
        body = {"title": "标题", "body": BODY, "audience": {"units": ["白水乡"], "roles": []}, **changes}
        return api(server, "POST", "", json=body)

    assert post(audience={"units": [], "roles": []}).status_code == 422
    unknown = post(audience={"units": ["月亮村"], "roles": []})
    assert unknown.status_code == 422 and "月亮村" in unknown.json()["detail"]
    assert post(audience={"units": ["白水乡"], "roles": ["队长"]}).status_code == 422
    assert post(title="长" * 41).status_code == 422 and post(body="").status_code == 422
    assert post(case_code="XS-20000101-0001").status_code == 422
    assert post(actor="网格员小王").status_code == 403
    assert post(actor="查无此人").status_code == 422
    assert post(actor="黑石办公室").status_code == 403  # 白水乡 is not theirs
    assert api(server, "POST", "", content=b"{oops", headers={"content-type": "application/json"}).status_code == 422

    made = post()
    assert made.status_code == 201 and made.json()["audience"]["roles"] == list(wording.DEFAULT_ROLES)
    number = made.json()["id"]
    assert api(server, "POST", f"/{number}/approve").status_code == 422  # an approval is someone's
    assert api(server, "POST", f"/{number}/approve", json={"actor": "网格员小王"}).status_code == 403
    assert api(server, "POST", f"/{number}/approve", json={"actor": "办公室小赵"}).status_code == 403
    assert api(server, "POST", f"/{number}/publish").status_code == 409  # not approved yet
    assert api(server, "POST", f"/{number}/approve", json={"actor": "乡长"}).status_code == 200
    assert api(server, "POST", f"/{number}/approve", json={"actor": "乡长"}).status_code == 409
    assert api(server, "POST", f"/{number}/publish", json={"actor": "网格员小王"}).status_code == 403
    assert api(server, "POST", f"/{number}/publish").json()["status"] == "published"  # the office, by token
    assert api(server, "GET", "/999").status_code == 404
    assert api(server, "GET", f"/{number}", params={"version": 7}).status_code == 404
    assert api(server, "POST", "/999/approve", json={"actor": "乡长"}).status_code == 404
    assert api(server, "POST", "/999/versions", json={"body": "x"}).status_code == 404
    assert api(server, "GET", "", params={"status": "lost"}).status_code == 422
    assert httpx.get(server.url + "/api/wordings").status_code == 401


def test_the_list_pages(server):
    for n in range(3):
        assert api(server, "POST", "", json={"title": f"口径{n}", "body": BODY,
                                             "audience": {"units": ["白水乡"], "roles": []}}).status_code == 201
    page = api(server, "GET", "", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 3 and [w["title"] for w in page["items"]] == ["口径1", "口径0"]


def test_publishing_twice_at_once_publishes_once(server, wecom, db):
    made = api(server, "POST", "", json={"title": "标题", "body": BODY, "audience": {"units": ["西岔村"], "roles": []}})
    api(server, "POST", f"/{made.json()['id']}/approve", json={"actor": "乡长"})
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda who: say(wecom, who, "发布口径 1"), ["office", "spokes"]))
    refused = texts.WORDING_NOT_NOW.format(number=1, version=1, status="已发布", action="发布")
    assert sorted(r == refused for r in replies) == [False, True] and any(r.startswith("已发布") for r in replies)
    with db() as s:
        pushes = s.scalars(select(OutboxMessage.recipient).where(OutboxMessage.idempotency_key.like("wording:%"))).all()
        assert len(s.scalars(select(Job).where(Job.kind == wording.REMIND)).all()) == 1
    assert len(pushes) == len(set(pushes)) and secretary("西岔村") in pushes
