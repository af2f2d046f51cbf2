"""`gridline demo` and the /sandbox chat simulator, over real HTTP: the demo county is seeded once
however often it runs, what a person types reaches Gridline through the real signed and encrypted
callback, and what Gridline pushes shows up in the right person's chat, once."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select

from models.clock import SystemClock
from app.demo.run import build
from app.demo.seed import demo_openid, seed
from handlers import org, texts
from models import (
    Case,
    ChatIdentity,
    ChatTarget,
    Deadline,
    Department,
    InboundRecord,
    Invite,
    OutboxMessage,
    Person,
    PersonRole,
    Unit,
    VillageCover,
)
from tests.conftest import LiveServer

CODE = re.compile(r"XS-\d{8}-\d{4}")
TICK_S = 0.2
# People of the shipped demo county (app/demo/roster.csv).
GRID_WORKER, SECRETARY, LAW_LIAISON = "王建军", "刘国栋", "冯涛"  # 东湾村, WeCom
FOLLOWER, OFFICE_LIAISON = "赵丽娟", "蒋伟"  # 东湾村 grid worker on the Official Account; 党政办


def counts(sessions) -> dict[str, int]:
    tables = (Unit, Department, Person, PersonRole, VillageCover, ChatIdentity, ChatTarget, Invite)
    with sessions() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in tables}


def test_seeding_twice_leaves_the_same_county(database_url, db, clock):
    first = seed(database_url, clock)
    after_first = counts(db)
    second = seed(database_url, clock)
    assert counts(db) == after_first
    assert (second.roster.created, second.roster.updated, second.roster.deactivated) == (0, 0, 0)
    assert second.roster.unchanged == first.roster.created == after_first["people"]
    assert (second.chats.created, second.chats.removed, second.bound) == (0, 0, 0)

    with db() as s:
        held = set(s.scalars(select(PersonRole.role)))
        townships = s.scalars(select(Unit.id).where(Unit.kind == "township")).all()
        liaisons = s.execute(select(Department.township_id, Department.name)
                             .join(Person, Person.department_id == Department.id)).all()
        followers = s.execute(select(Person.phone, ChatIdentity.external_id)
                              .join(ChatIdentity, ChatIdentity.person_id == Person.id)
                              .where(ChatIdentity.channel == "mp")).all()
        kinds = set(s.scalars(select(ChatTarget.kind)))
    assert held == set(org.ROLES)
    every_department = {(t, d) for t in townships for d in ("纪委", "政法委", "信访办", "乡村振兴办", "网信办", "党政办")}
    assert set(liaisons) == every_department
    assert first.bound == len(followers) >= 2
    assert all(openid == demo_openid(phone) for phone, openid in followers)
    assert kinds == {"robot", "appchat"}


@pytest.fixture
def demo(database_url, db):
    # The demo's own clock: APScheduler ticks on real time, and a clock days behind it makes it
    # walk through every tick it "missed" before it can stop.
    clock = SystemClock()
    seed(database_url, clock)
    # reply budget 30 s, as conftest.make_settings: a loaded CI once answered 确认 past the 4 s budget here
    built = build(database_url, clock, _env_file=None, tick_s=TICK_S, log_level="WARNING", reply_budget_s=30)
    server = LiveServer(built.app).start()
    http = httpx.Client(base_url=server.url, timeout=15)
    yield SimpleNamespace(http=http, fake=built.fake, db=db, clock=clock)
    http.close()
    server.stop()
    built.sandbox.stop()


def person(http: httpx.Client, name: str) -> dict:
    people = http.get("/sandbox/api/people").json()["items"]
    return next(p for p in people if p["name"] == name)


def say(http: httpx.Client, name: str, text: str | None = None, **other) -> str | None:
    body = other or {"type": "text", "text": text}
    resp = http.post(f"/sandbox/api/people/{person(http, name)['id']}/messages", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()["reply"]


def chat(http: httpx.Client, name: str) -> list[dict]:
    resp = http.get(f"/sandbox/api/people/{person(http, name)['id']}/messages")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def wait_for(found: Callable[[], list], timeout: float = 10) -> list:
    """Poll until `found()` is not empty, then a few more ticks so a second delivery would show."""
    deadline = time.monotonic() + timeout
    while not found() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(TICK_S * 4)
    return found()


def test_the_page_is_served_whole(demo):
    for path in ("/sandbox", "/sandbox/"):
        resp = demo.http.get(path)
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/html")
        assert "<script>" in resp.text and "/sandbox/api" in resp.text
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", resp.text)  # nothing from a CDN


def test_a_tip_off_reaches_the_village_secretary_once(demo):
    http = demo.http
    summary = say(http, GRID_WORKER, "村委会门口有人打架，好几个人受伤了")
    assert texts.CONFIRM_PROMPT in summary and "东湾村" in summary
    receipt = say(http, GRID_WORKER, "确认")
    assert receipt.startswith("已提交") and CODE.search(receipt)
    code = CODE.search(receipt).group()
    with demo.db() as s:  # Gridline stored both as they came in through /wechat/work, from the userid
        assert s.execute(select(InboundRecord.channel, InboundRecord.sender)).all() == [("work", "wangjianjun")] * 2
    assert [(m["kind"], m.get("text")) for m in chat(http, GRID_WORKER)] == [
        ("sent", "村委会门口有人打架，好几个人受伤了"), ("reply", summary), ("sent", "确认"), ("reply", receipt)]

    cards = wait_for(lambda: [m for m in chat(http, SECRETARY) if m["kind"] == "push"])
    assert len(cards) == 1 and code in cards[0]["text"] and cards[0]["via"] == "work.message.send"
    assert person(http, SECRETARY)["received"] == 1
    assert [m for m in chat(http, LAW_LIAISON) if code in m["text"]]  # the lead department got its card too
    assert not [m for m in chat(http, GRID_WORKER) if m["kind"] == "push"]  # never the reporter's own card


def test_an_official_account_follower_chats_and_is_told_when_it_is_done(demo):
    http = demo.http
    follower = person(http, FOLLOWER)
    assert follower["channel"] == "mp"
    assert say(http, FOLLOWER, type="click", key="REPORT") == texts.ASK_WHAT
    assert say(http, FOLLOWER, type="location", label="东湾村西头垃圾站", latitude=38.05, longitude=114.52)
    assert texts.CONFIRM_PROMPT in say(http, FOLLOWER, "路边垃圾堆了好几天没人清理，臭味很大")
    code = CODE.search(say(http, FOLLOWER, "确认")).group()
    with demo.db() as s:
        phone = s.scalar(select(Person.phone).where(Person.name == FOLLOWER))
        assert set(s.execute(select(InboundRecord.channel, InboundRecord.sender))) == {("mp", demo_openid(phone))}

    assert wait_for(lambda: [m for m in chat(http, OFFICE_LIAISON) if code in m["text"]])
    assert say(http, OFFICE_LIAISON, f"签收 {code}") == texts.DONE["签收"].format(code=code)
    assert say(http, OFFICE_LIAISON, f"办结 {code} 已清运") == texts.DONE["办结"].format(code=code)
    told = wait_for(lambda: [m for m in chat(http, FOLLOWER) if m["kind"] == "push"])
    assert [(m["via"], m["text"]) for m in told] == [
        ("mp.message.custom.send", texts.CLOSED_FOR_REPORTER.format(code=code, note="已清运"))]


REFUSED = [
    ({"type": "text", "text": ""}, 422),
    ({"type": "text", "text": "   \n "}, 422),
    ({"type": "text"}, 422),
    ({"type": "text", "text": 5}, 422),
    ({"type": "text", "text": "字" * 2001}, 413),
    ({"type": "text", "text": "a\x00b"}, 422),
    ({"type": "text", "text": "\ufffe"}, 422),
    ('{"type": "text", "text": "\\ud800"}', 422),  # a lone surrogate: JSON allows it, UTF-8 does not
    ({"type": "voice", "text": "你好"}, 422),
    ({"type": "location", "label": "村口", "latitude": 200, "longitude": 114}, 422),
    ({"type": "location", "label": "", "latitude": 38, "longitude": 114}, 422),
    ({"type": "location", "label": "村口", "latitude": True, "longitude": 114}, 422),
    ('{"type": "location", "label": "村口", "latitude": 1%s, "longitude": 114}' % ("0" * 400), 422),
    ('{"type": "location", "label": "村口", "latitude": NaN, "longitude": 114}', 422),
    ({"type": "click", "key": "no spaces!"}, 422),
    ("not json", 400),
    (["a", "list"], 400),
    ("x" * 20_000, 413),
]


def test_bad_input_is_refused_before_it_reaches_gridline(demo):
    worker = person(demo.http, GRID_WORKER)
    url = f"/sandbox/api/people/{worker['id']}/messages"
    answers = []
    for body, _ in REFUSED:
        resp = demo.http.post(url, content=body) if isinstance(body, str) else demo.http.post(url, json=body)
        explained = resp.headers["content-type"] == "application/json" and bool(resp.json().get("detail"))
        answers.append((resp.status_code, explained))
    assert answers == [(status, True) for _, status in REFUSED]
    with demo.db() as s:
        assert s.scalar(select(func.count()).select_from(InboundRecord)) == 0
    assert chat(demo.http, GRID_WORKER) == []


def test_unknown_people_and_chats_are_not_found(demo):
    for resp in (demo.http.post("/sandbox/api/people/999999/messages", json={"type": "text", "text": "你好"}),
                 demo.http.get("/sandbox/api/people/999999/messages"),
                 demo.http.get("/sandbox/api/chats/no-such-robot/messages")):
        assert resp.status_code == 404 and resp.json()["detail"]
    assert demo.http.get("/sandbox/api/people/abc/messages").status_code == 422


def test_group_chats_show_what_their_robot_was_sent(demo):
    chats = demo.http.get("/sandbox/api/chats").json()["items"]
    assert {c["kind"] for c in chats} == {"robot", "appchat"} and len(chats) == 7
    robot = next(c for c in chats if c["kind"] == "robot" and c["group"] == "柳河镇 东湾村")
    with demo.db.begin() as s:  # Gridline has nothing to say to groups yet: queue as it will
        s.add(OutboxMessage(idempotency_key="demo-robot", channel="robot", account="", recipient=robot["key"],
                            body="【统一口径】东湾村村委会门口纠纷已妥善处置", created_at=demo.clock.now(),
                            next_attempt_at=demo.clock.now()))
    url = f"/sandbox/api/chats/{robot['key']}/messages"
    got = wait_for(lambda: demo.http.get(url).json()["items"])
    assert [(m["via"], m["text"]) for m in got] == [("work.webhook.send", "【统一口径】东湾村村委会门口纠纷已妥善处置")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_demo(tmp_path, database: str) -> None:
    """`gridline demo` as a newcomer runs it: wait for its one line, chat once, stop it with Ctrl+C."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "demo", "--port", str(port), "--database", database],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")})
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/sandbox" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:
            assert http.get("/sandbox").status_code == 200
            assert say(http, GRID_WORKER, "帮助") == texts.HELP
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(20)
        errors = proc.stderr.read()
        assert code in (0, 130) and "Traceback" not in errors, (code, errors)  # 130: stopped by Ctrl+C


def test_gridline_demo_runs_twice_on_its_own_database(tmp_path):
    _run_demo(tmp_path, "var/demo.db")
    _run_demo(tmp_path, "var/demo.db")
    assert (tmp_path / "var" / "demo.db").exists()


def test_the_console_signs_in_as_any_demo_person_and_the_clock_moves_forward(demo):
    import html

    say(demo.http, GRID_WORKER, "村委会门口有人打架，好几个人受伤了")
    code = CODE.search(say(demo.http, GRID_WORKER, "确认")).group()
    browser = httpx.Client(base_url=str(demo.http.base_url), follow_redirects=False, timeout=15)
    qr_page = browser.get(browser.get("/console/login").headers["location"])  # on the demo's own address
    assert "许文静" in qr_page.text  # the demo office worker, listed by name on the fake QR page
    scan = html.unescape(re.search(r'href="([^"]+)">许文静', qr_page.text).group(1))
    signed = browser.get(browser.get(scan).headers["location"])
    assert signed.status_code == 303
    inbox = browser.get("/console").text
    assert code in inbox and "拨快1天" in inbox
    token = re.search(r'name="csrf" value="([^"]+)"', inbox).group(1)
    before = demo.clock.now()
    moved = browser.post("/console/demo/clock", data={"csrf": token, "step": "1d", "back": "/console"})
    assert moved.status_code == 303 and "演示时钟已拨快1天" in browser.get(moved.headers["location"]).text
    # the ticker runs on the moved clock: the acknowledgement is missed (its escalation may wait for morning)
    def missed() -> list:
        with demo.db() as s:
            return s.scalars(select(Deadline.kind).join(Case, Case.id == Deadline.case_id).where(
                Case.code == code, Deadline.status == "missed")).all()
    assert "ack" in wait_for(missed)
    assert code in browser.get("/console", params={"tab": "overdue"}).text
    assert demo.clock.now() - before < timedelta(hours=1)  # the wall clock itself is untouched
