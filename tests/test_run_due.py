"""`gridline jobs run-due` delivers what the product queued, through the sandbox, over real HTTP."""

import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from app.sandbox import FakeWeChat
from models import ChatIdentity, OutboxMessage, Person
from tests import township
from tests.conftest import T0
from tests.test_intake import CORP, KEY, TOKEN, code_in, say
from tests.wxclient import Aes, Peer

SECRET, AGENT, APPID, APPSECRET = "corp-secret", "1000002", "wx-sandbox", "mp-secret"


def run_due(database_url, fake_server, at="2026-11-18T11:10:00+00:00"):  # just after T0: no deadline due yet
    env = {"GRIDLINE_DATABASE_URL": database_url, "GRIDLINE_WORK_CORP_ID": CORP, "GRIDLINE_WORK_SECRET": SECRET,
           "GRIDLINE_WORK_AGENT_ID": AGENT, "GRIDLINE_MP_APP_ID": APPID, "GRIDLINE_MP_APP_SECRET": APPSECRET,
           "GRIDLINE_MP_TEMPLATE_ID": "tpl-1", **fake_server.env()}
    return CliRunner().invoke(cli, ["jobs", "run-due", "--now", at], env=env)


def test_case_cards_reach_the_assignees_once(serve, db, database_url, clock):
    township.load(db)
    server = serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP)
    wecom = Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)
    say(wecom, "gw", "西岔村有人在村委会门口打架，好几个人受伤了")
    code = code_in(say(wecom, "gw", "确认"))
    fake = FakeWeChat(clock, member_limits=False)
    with db() as s:
        userids = s.scalars(select(ChatIdentity.external_id).where(ChatIdentity.channel == "work")).all()
        queued = s.scalars(select(OutboxMessage.recipient)).all()
    fake.add_work_app(CORP, SECRET, AGENT).add_userid(*userids)
    fake_server = fake.serve()
    try:
        result = run_due(database_url, fake_server)
        assert result.exit_code == 0, result.output
        assert f"发送{len(queued)}条" in result.output
        again = run_due(database_url, fake_server)  # nothing twice
        assert "发送0条" in again.output
    finally:
        fake_server.stop()
    got = {d.recipient: d.text for d in fake.delivered()}
    assert set(got) == set(queued) and township.secretary("西岔村") in got
    assert all(code in text for text in got.values())


def test_official_account_uses_the_template_outside_48_hours(db, database_url, clock):
    fake = FakeWeChat(clock)
    fake.add_mp_account(APPID, APPSECRET).add_template("tpl-1", keys=["content"])
    fake.add_openid("o-recent", last_message_at=clock.now() - timedelta(hours=1))
    fake.add_openid("o-old", last_message_at=clock.now() - timedelta(hours=72))
    now = clock.now()
    with db.begin() as s:
        for who in ("o-recent", "o-old"):
            s.add(OutboxMessage(idempotency_key=who, channel="mp", account="", recipient=who, body=f"给{who}",
                                created_at=now, next_attempt_at=now))
    fake_server = fake.serve()
    try:
        result = run_due(database_url, fake_server, at=now.isoformat())
    finally:
        fake_server.stop()
    assert result.exit_code == 0, result.output
    by_api = {d.recipient: d.api for d in fake.delivered()}
    assert by_api == {"o-recent": "mp.message.custom.send", "o-old": "mp.message.template.send"}


def _mp_rows(db, now, who_last_wrote: dict[str, object]) -> None:
    """Official Account followers with what Gridline recorded of their last message, one outbox row each."""
    township.load(db)
    with db.begin() as s:
        people = s.scalars(select(Person).order_by(Person.id).limit(len(who_last_wrote))).all()
        for person, (openid, last) in zip(people, who_last_wrote.items(), strict=True):
            s.add(ChatIdentity(person_id=person.id, channel="mp", external_id=openid, last_message_at=last))
            s.add(OutboxMessage(idempotency_key=openid, channel="mp", account="", recipient=openid,
                                body=f"给{openid}", created_at=now, next_attempt_at=now))


def test_a_follower_silent_for_48_hours_gets_the_template_without_a_refused_call(db, database_url, clock):
    now = clock.now()
    fake = FakeWeChat(clock)
    fake.add_mp_account(APPID, APPSECRET).add_template("tpl-1", keys=["content"])
    fake.add_openid("o-quiet", last_message_at=now - timedelta(hours=50))
    fake.add_openid("o-unknown", last_message_at=now - timedelta(hours=1))
    _mp_rows(db, now, {"o-quiet": now - timedelta(hours=50), "o-unknown": None})
    fake_server = fake.serve()
    try:
        assert run_due(database_url, fake_server, at=now.isoformat()).exit_code == 0
    finally:
        fake_server.stop()
    by_api = {d.recipient: d.api for d in fake.delivered()}
    assert by_api == {"o-quiet": "mp.message.template.send", "o-unknown": "mp.message.custom.send"}
    assert fake.calls("mp.message.custom.send") == 1  # none wasted on the silent follower


def test_a_used_up_customer_service_quota_falls_back_to_the_template(db, database_url, clock):
    now = clock.now()
    fake = FakeWeChat(clock, custom_quota=0)
    fake.add_mp_account(APPID, APPSECRET).add_template("tpl-1", keys=["content"])
    fake.add_openid("o-chatty", last_message_at=now - timedelta(hours=1))
    _mp_rows(db, now, {"o-chatty": now - timedelta(hours=1)})
    fake_server = fake.serve()
    try:
        result = run_due(database_url, fake_server, at=now.isoformat())
    finally:
        fake_server.stop()
    assert "发送1条" in result.output
    assert [d.api for d in fake.delivered()] == ["mp.message.template.send"]


def test_run_due_refuses_a_bad_time(database_url):
    result = CliRunner().invoke(cli, ["jobs", "run-due", "--now", "明天"], env={"GRIDLINE_DATABASE_URL": database_url})
    assert result.exit_code == 2


def test_the_server_delivers_on_its_own_tick(serve, db, clock):
    township.load(db)
    fake = FakeWeChat(clock, member_limits=False)
    with db() as s:
        userids = s.scalars(select(ChatIdentity.external_id).where(ChatIdentity.channel == "work")).all()
    fake.add_work_app(CORP, SECRET, AGENT).add_userid(*userids)
    fake_server = fake.serve()
    try:
        server = serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, work_secret=SECRET, work_agent_id=AGENT,
                       wecom_api_base=fake_server.work_base, tick_s=0.2)
        wecom = Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)
        say(wecom, "gw", "南沟村有人私设赌局，每晚都有人去")
        code = code_in(say(wecom, "gw", "确认"))
        deadline = time.monotonic() + 30  # generous: a loaded CI machine delays ticks
        while not fake.delivered() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # a few more ticks: nothing may go twice
    finally:
        fake_server.stop()
    got = Counter(d.recipient for d in fake.delivered())
    assert got[township.secretary("南沟村")] == 1 and set(got.values()) == {1}
    assert all(code in d.text for d in fake.delivered())
