"""Markdown, cards and group chats through the real wiring (app/outbound.py) to the sandbox over HTTP;
and the office told of unknown WeCom userids."""

from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from app.outbound import deliver_once
from app.sandbox import FakeWeChat
from bot.outbound.delivery import MAX_DELAY, deliver_due
from bot.outbound.senders import WeComSender, wecom_token
from bot.outbound.tokens import TokenStore
from handlers import notify
from handlers.texts import unreachable
from models import ChatIdentity, ChatTarget, OutboxMessage, Person, PersonRole
from models.outbox import MARKDOWN, TEXT, TEXTCARD, Card
from tests import orgdata
from tests.conftest import make_settings

CORP, SECRET, AGENT = "ww-kinds", "kinds-secret", "1000002"
APPID, APPSECRET, TEMPLATE = "wx-kinds", "mp-secret", "tpl-notice"
ROBOT_VILLAGE, ROBOT_TOWNSHIP = "robot-xicha-0001", "robot-baishui-01"
CHAT_VILLAGE, CHAT_OTHER = "xichachat01", "donggouchat01"
CARD = Card("新口径：西岔村停水", "今晚20:00至次日6:00停水检修，请相互转告。", "https://example.org/w/1", "查看")


@pytest.fixture
def org(db):
    return orgdata.build(db)


@pytest.fixture
def fake(clock, org):
    fake = FakeWeChat(clock, member_limits=False)
    fake.add_work_app(CORP, SECRET, AGENT)
    fake.add_userid(*[orgdata.userid(p[0]) for p in orgdata.PEOPLE])
    fake.add_appchat(CHAT_VILLAGE, ["user1", "user2"]).add_appchat(CHAT_OTHER, ["user3"])
    fake.add_robot(ROBOT_VILLAGE, ROBOT_TOWNSHIP)
    fake.add_mp_account(APPID, APPSECRET).add_template(TEMPLATE, keys=["content"])
    server = fake.serve()
    fake.settings = dict(work_corp_id=CORP, work_secret=SECRET, work_agent_id=AGENT, mp_app_id=APPID,
                         mp_app_secret=APPSECRET, mp_template_id=TEMPLATE, **{
                             k.removeprefix("GRIDLINE_").lower(): v for k, v in server.env().items()})
    yield fake
    server.stop()


@pytest.fixture
def deliver(fake, db, clock, database_url):
    settings = make_settings(database_url, **fake.settings)
    return lambda: deliver_once(settings, db, clock)


def person(s, name) -> Person:
    return s.scalars(select(Person).where(Person.name == name)).one()


def rows(db, **where) -> list[OutboxMessage]:
    with db() as s:
        return list(s.scalars(select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)))


def add_targets(db, org, targets):
    with db.begin() as s:
        for unit, kind, key in targets:
            s.add(ChatTarget(unit_id=org[unit], kind=kind, key=key))


def test_notify_units_reaches_every_chat_of_those_units(db, org, fake, deliver, clock):
    add_targets(db, org, [("西岔村", "robot", ROBOT_VILLAGE), ("西岔村", "appchat", CHAT_VILLAGE),
                          ("白水乡", "robot", ROBOT_TOWNSHIP), ("东沟村", "appchat", CHAT_OTHER)])
    wording = "**统一口径**\n西岔村停水系检修，今晚恢复。"
    for _ in range(2):  # the same key twice: queued once
        with db.begin() as s:
            assert notify.notify_units(s, [org["西岔村"], org["白水乡"]], wording, "wording:1", clock.now(),
                                       MARKDOWN) == 3
    report = deliver()
    assert (report.sent, report.dead) == (3, 0)
    got = {(d.recipient, d.api, d.msgtype, d.content) for d in fake.delivered()}
    assert got == {(CHAT_VILLAGE, "work.appchat.send", "markdown", wording),
                   (ROBOT_VILLAGE, "work.webhook.send", "markdown", wording),
                   (ROBOT_TOWNSHIP, "work.webhook.send", "markdown", wording)}


def test_a_card_to_many_goes_in_one_call_and_as_text_to_official_account_people(db, org, fake, deliver, clock):
    fake.add_openid("o-recent", last_message_at=clock.now()).add_openid("o-quiet")
    with db.begin() as s:
        for n, (name, openid) in enumerate((("公众号甲", "o-recent"), ("公众号乙", "o-quiet"))):
            p = Person(name=name, phone=f"1390000000{n}", unit_id=org["西岔村"])
            s.add(p)
            s.flush()
            s.add(ChatIdentity(person_id=p.id, channel="mp", external_id=openid))
    with db.begin() as s:
        for name in ("网格员甲", "书记乙", "委员丙", "公众号甲", "公众号乙"):
            assert notify.notify_card(s, person(s, name), CARD, f"card:{name}", clock.now())
        notify.notify(s, person(s, "网格员甲"), "# 提醒\n请于**今晚**前签收 [详情](https://example.org/c/9)",
                      "md:1", clock.now(), MARKDOWN)
    assert deliver().sent == 6
    assert fake.calls("work.message.send") == 2  # one for the three cards, one for the markdown
    card = {"title": CARD.title, "description": CARD.description, "url": CARD.url, "btntxt": "查看"}
    for name in ("网格员甲", "书记乙", "委员丙"):
        assert [d.content for d in fake.delivered(orgdata.userid(name)) if d.msgtype == TEXTCARD] == [card]
    [markdown] = [d for d in fake.delivered(orgdata.userid("网格员甲")) if d.msgtype == MARKDOWN]
    assert markdown.content.startswith("# 提醒")
    [custom] = fake.delivered("o-recent")  # no cards on the Official Account: text, the link after it
    assert (custom.api, custom.content) == ("mp.message.custom.send", f"{CARD.title}\n{CARD.description}\n{CARD.url}")
    [template] = fake.delivered("o-quiet")  # outside 48 hours: the template, the link as its own url
    assert template.api == "mp.message.template.send" and template.payload["url"] == CARD.url
    assert template.content == {"content": {"value": f"{CARD.title}\n{CARD.description}"}}


def test_markdown_reads_as_plain_text_on_the_official_account(db, org, fake, deliver, clock):
    fake.add_openid("o-md", last_message_at=clock.now())
    with db.begin() as s:
        p = Person(name="公众号丙", phone="13900000009", unit_id=org["西岔村"])
        s.add(p)
        s.flush()
        s.add(ChatIdentity(person_id=p.id, channel="mp", external_id="o-md"))
        notify.notify(s, p, '## 督办\n> 请于<font color="warning">**今晚**</font>前反馈 [XS-1](https://x.org/1)',
                      "md:mp", clock.now(), MARKDOWN)
    deliver()
    assert [d.content for d in fake.delivered("o-md")] == ["督办\n请于今晚前反馈 XS-1 https://x.org/1"]


def test_a_robot_gets_text_and_markdown_merged_separately_in_order(db, org, fake, deliver, clock):
    add_targets(db, org, [("西岔村", "robot", ROBOT_VILLAGE)])
    with db() as s:
        target = s.scalars(select(ChatTarget)).one()
    with db.begin() as s:
        for n, (msgtype, body) in enumerate([(TEXT, "一"), (TEXT, "二"), (MARKDOWN, "**三**"), (TEXTCARD, CARD.body()),
                                             (TEXT, "四")]):
            notify.notify_chat(s, target, body, f"robot:{n}", clock.now(), msgtype)
    assert deliver().sent == 5
    sent = [(d.msgtype, d.content) for d in fake.delivered(ROBOT_VILLAGE)]
    card = f"**{CARD.title}**\n{CARD.description}\n[查看]({CARD.url})"
    assert sent == [("text", "一\n\n二"), ("markdown", f"**三**\n\n{card}"), ("text", "四")]


def test_app_chats_share_the_apps_token_and_unknown_chats_are_dead(db, org, fake, deliver, clock):
    add_targets(db, org, [("西岔村", "appchat", CHAT_VILLAGE), ("东沟村", "appchat", "gonechat01")])
    with db.begin() as s:
        for target in s.scalars(select(ChatTarget)):
            notify.notify_chat(s, target, CARD.body(), f"chat:{target.key}", clock.now(), TEXTCARD)
        notify.notify(s, person(s, "网格员甲"), "你好", "hello", clock.now())
    report = deliver()
    assert (report.sent, report.dead) == (2, 1)
    assert fake.calls("work.gettoken") == 1  # one token for the app's messages and its chats
    [dead] = rows(db, status="dead")
    assert (dead.recipient, dead.last_error) == ("gonechat01", "errcode 86003")
    [card] = fake.delivered(CHAT_VILLAGE)
    assert (card.msgtype, card.content["title"], card.content["btntxt"]) == ("textcard", CARD.title, "查看")


def test_a_rate_limited_chat_is_retried_and_msgtype_survives_the_retry(db, org, fake, deliver, clock):
    add_targets(db, org, [("西岔村", "appchat", CHAT_VILLAGE)])
    with db.begin() as s:
        notify.notify_units(s, [org["西岔村"]], "**停水通知**", "w:2", clock.now(), MARKDOWN)
        notify.notify_card(s, person(s, "书记乙"), CARD, "card:retry", clock.now())
    fake.fail(1.0, kinds=["errcode45009", "http500"], seed=2, endpoints=["work.appchat.send", "work.message.send"])
    assert deliver().retried == 2
    fake.fail(0)
    clock.advance(seconds=MAX_DELAY.total_seconds())
    assert deliver().sent == 2
    assert [(d.msgtype, d.content) for d in fake.delivered(CHAT_VILLAGE)] == [("markdown", "**停水通知**")]
    assert [d.msgtype for d in fake.delivered(orgdata.userid("书记乙"))] == ["textcard"]
    assert {r.msgtype for r in rows(db)} == {"markdown", "textcard"}


def test_an_unknown_userid_is_reported_to_the_persons_office_once(db, org, fake, deliver, clock):
    fake.remove_userid(orgdata.userid("委员丙"), orgdata.userid("书记乙"))
    with db.begin() as s:
        for name in ("委员丙", "书记乙", "网格员甲"):
            notify.notify(s, person(s, name), "请签收新线索", f"card:{name}", clock.now())
    report = deliver()
    assert (report.sent, report.dead) == (1, 2)
    [told] = rows(db, status="pending")
    assert told.recipient == orgdata.userid("办公室己")  # 白水乡's office, not 黑石镇's nor the county's
    assert told.body == "书记乙、委员丙的企业微信账号无效，消息未送达。请核对花名册和企业微信通讯录。"
    deliver()
    deliver()
    assert [d.text for d in fake.delivered(orgdata.userid("办公室己"))] == [told.body]
    assert Counter(r.status for r in rows(db)) == Counter({"sent": 2, "dead": 2})


def test_a_report_that_dies_itself_is_not_reported_again(db, org, fake, deliver, clock):
    with db.begin() as s:  # a second office member, whose userid WeCom does not know either
        p = Person(name="办公室二", phone="13900000002", unit_id=org["白水乡"])
        s.add(p)
        s.flush()
        s.add(PersonRole(person_id=p.id, role="办公室"))
        s.add(ChatIdentity(person_id=p.id, channel="work", external_id="office-two"))
    fake.remove_userid(orgdata.userid("委员丙"))
    with db.begin() as s:
        notify.notify(s, person(s, "委员丙"), "请签收新线索", "card:1", clock.now())
    deliver()  # 委员丙 dead: both office members told
    deliver()  # 办公室己 gets it; the report to 办公室二 dies — and stops there
    deliver()
    with db() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 3
    assert [d.text for d in fake.delivered(orgdata.userid("办公室己"))] == [
        "委员丙的企业微信账号无效，消息未送达。请核对花名册和企业微信通讯录。"]


def test_a_row_whose_body_is_not_its_msgtype_is_dead_and_the_rest_goes(db, org, fake, deliver, clock):
    now = clock.now()
    with db.begin() as s:
        for n, body in enumerate(["不是卡片", CARD.body()]):
            s.add(OutboxMessage(idempotency_key=f"raw:{n}", channel="work", account="", recipient="user0",
                                msgtype=TEXTCARD, body=body, created_at=now, next_attempt_at=now))
    report = deliver()
    assert (report.sent, report.dead) == (1, 1)
    [dead] = rows(db, status="dead")
    assert dead.body == "不是卡片" and dead.last_error.startswith("not a card")
    with db.begin() as s, pytest.raises(ValueError):
        notify.notify(s, person(s, "网格员甲"), "x", "bad", now, msgtype="news")


def test_notify_people_queues_a_broadcast_once_per_person_by_their_channel(db, org, clock):
    with db.begin() as s:
        nobody = Person(name="无账号", phone="13900000007", unit_id=org["西岔村"])
        mp_only = Person(name="公众号丁", phone="13900000008", unit_id=org["西岔村"])
        s.add_all([nobody, mp_only])
        s.flush()
        s.add(ChatIdentity(person_id=mp_only.id, channel="mp", external_id="o-ding"))
        both = person(s, "网格员甲")  # a WeCom userid wins over an openid
        s.add(ChatIdentity(person_id=both.id, channel="mp", external_id="o-jia"))
        everyone = s.scalars(select(Person).order_by(Person.id)).all()
        for _ in range(2):
            assert notify.notify_people(s, everyone, "今晚在岗值守", "duty:1", clock.now()) == len(everyone) - 1
    queued = {(r.channel, r.recipient) for r in rows(db)}
    assert len(queued) == len(rows(db)) == len(orgdata.PEOPLE) + 1
    assert ("mp", "o-ding") in queued and ("work", orgdata.userid("网格员甲")) in queued
    assert ("mp", "o-jia") not in queued


def test_the_office_report_names_ten_and_counts_the_rest():
    names = [f"人{n}" for n in range(12)]
    assert unreachable(names).startswith("、".join(names[:10]) + "等12人的企业微信账号无效")


def test_outcomes_are_kept_when_telling_of_dead_letters_fails(db, org, fake, clock):
    def broken(session, dead):
        notify.notify(session, person(session, "办公室己"), "报告", "report:1", clock.now())
        raise RuntimeError("a bug in the report")

    fake.remove_userid(orgdata.userid("委员丙"))
    with db.begin() as s:
        for name in ("委员丙", "网格员甲"):
            notify.notify(s, person(s, name), "请签收", f"card:{name}", clock.now())
    with httpx.Client(timeout=5) as http:
        tokens = TokenStore(db, clock, f"work:{CORP}:{AGENT}", wecom_token(http, fake.settings["wecom_api_base"],
                                                                            CORP, SECRET))
        report = deliver_due(db, clock, {"work": WeComSender(http, fake.settings["wecom_api_base"], AGENT, tokens)},
                             on_dead=broken)
    assert (report.sent, report.dead) == (1, 1)
    assert Counter(r.status for r in rows(db)) == Counter({"sent": 1, "dead": 1})  # the half-written report is gone
