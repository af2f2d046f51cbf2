"""Outbox delivery to WeCom through the sandbox: faults, outages and a revoked token."""

import random
import threading
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from app.db import make_engine, session_factory
from app.sandbox import FakeWeChat
from bot.outbound.delivery import MAX_DELAY, deliver_due
from bot.outbound.senders import RobotSender, WeComSender, wecom_token
from bot.outbound.tokens import TokenStore
from models import OutboxMessage

CORP, SECRET, AGENT = "ww-sandbox", "s3cret", "1000002"
USERS = [f"user{n:03d}" for n in range(500)]


@pytest.fixture
def fake(clock):
    fake = FakeWeChat(clock, member_limits=False)
    fake.add_work_app(CORP, SECRET, AGENT).add_userid(*USERS)
    server = fake.serve()
    fake.base = server.work_base
    yield fake
    server.stop()


@pytest.fixture
def deliver(fake, db, clock):
    http = httpx.Client(timeout=0.3)

    tokens = TokenStore(db, clock, f"work:{CORP}:{AGENT}", wecom_token(http, fake.base, CORP, SECRET))
    senders = {"work": WeComSender(http, fake.base, AGENT, tokens)}
    rng = random.Random(7)

    def run(passes: int = 1):
        reports = [deliver_due(db, clock, senders, rng) for _ in range(passes)]
        return reports[-1]

    yield run
    http.close()


def queue(db, clock, recipients, body=None):
    now = clock.now()
    with db.begin() as s:
        for n, who in enumerate(recipients):
            s.add(OutboxMessage(idempotency_key=f"t:{who}:{n}:{body}", channel="work", account="", recipient=who,
                                body=body or f"给{who}的通知", created_at=now, next_attempt_at=now))


def statuses(db) -> Counter:
    with db() as s:
        return Counter(dict(s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()))


def until_done(deliver, db, clock, limit=60):
    for _ in range(limit):
        deliver()
        if statuses(db)["pending"] == 0:
            return
        clock.advance(seconds=MAX_DELAY.total_seconds())
    raise AssertionError(f"still pending after {limit} passes: {statuses(db)}")


def test_500_notifications_arrive_exactly_once_with_30_percent_failing(fake, deliver, db, clock):
    queue(db, clock, USERS[:250])  # each their own text
    queue(db, clock, USERS[250:], body="全体通知：今晚八点开会")  # one text to many: batched
    fake.fail(0.3, kinds=["http500", "errcode-1", "errcode45009", "stall_undelivered"], seed=3, stall_s=0.5,
              endpoints=["work.message.send"])
    until_done(deliver, db, clock)
    got = Counter((d.recipient, d.text) for d in fake.delivered())
    expected = {(u, f"给{u}的通知") for u in USERS[:250]} | {(u, "全体通知：今晚八点开会") for u in USERS[250:]}
    assert set(got) == expected and set(got.values()) == {1}
    assert statuses(db) == Counter({"sent": 500})
    assert len(fake.faults()) > 50  # faults really happened


def test_an_outage_loses_nothing_and_delivery_resumes(fake, deliver, db, clock):
    queue(db, clock, USERS[:20])
    fake.down(True)
    for _ in range(10):  # ten simulated minutes of nothing getting through
        deliver()
        clock.advance(minutes=1)
    assert statuses(db)["sent"] == 0 and statuses(db)["dead"] == 0
    fake.down(False)
    until_done(deliver, db, clock)
    assert statuses(db) == Counter({"sent": 20})
    assert Counter(d.recipient for d in fake.delivered()) == Counter(USERS[:20])


def test_a_revoked_token_is_fetched_again_once(fake, deliver, db, clock):
    queue(db, clock, USERS[:100])
    deliver()
    fake.invalidate_tokens()
    queue(db, clock, USERS[100:300])
    deliver()
    assert fake.calls("work.gettoken") == 2  # once at the start, once after the revocation
    assert statuses(db) == Counter({"sent": 300})


def test_unknown_users_are_dead_lettered_and_the_rest_delivered(fake, deliver, db, clock):
    queue(db, clock, ["user001", "nobody", "user002"], body="通知")
    report = deliver()
    assert (report.sent, report.dead) == (2, 1)
    with db() as s:
        dead = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead")).one()
    assert (dead.recipient, dead.last_error) == ("nobody", "invaliduser")


def test_a_broadcast_to_1000_users_takes_one_call_per_thousand(fake, deliver, db, clock):
    fake.add_userid(*[f"extra{n}" for n in range(1500)])
    queue(db, clock, [f"extra{n}" for n in range(1500)], body="口径通知")
    deliver()
    assert fake.calls("work.message.send") == 2
    assert statuses(db) == Counter({"sent": 1500})


def test_the_office_sees_dead_letters_and_retries_them(fake, deliver, db, clock, serve):
    queue(db, clock, ["nobody"], body="通知")
    deliver()
    server = serve(admin_token="adm")
    auth = {"Authorization": "Bearer adm"}
    dead = httpx.get(server.url + "/api/outbox", params={"status": "dead"}, headers=auth).json()
    assert dead["total"] == 1 and dead["items"][0]["last_error"] == "invaliduser"
    message_id = dead["items"][0]["id"]
    fake.add_userid("nobody")  # the office fixed the roster in WeCom
    assert httpx.post(server.url + f"/api/outbox/{message_id}/retry", headers=auth).json()["status"] == "pending"
    assert httpx.post(server.url + f"/api/outbox/{message_id}/retry", headers=auth).status_code == 409
    assert deliver().sent == 1
    assert [d.recipient for d in fake.delivered()] == ["nobody"]
    assert httpx.get(server.url + "/api/outbox", params={"status": "lost"}, headers=auth).status_code == 422


def queue_robot(db, clock, key, bodies):
    now = clock.now()
    with db.begin() as s:
        for n, body in enumerate(bodies):
            s.add(OutboxMessage(idempotency_key=f"r:{key}:{n}", channel="robot", account="", recipient=key, body=body,
                                created_at=now, next_attempt_at=now))


@pytest.fixture
def robots(fake, db, clock):
    http = httpx.Client(timeout=0.3)
    senders = {"robot": RobotSender(http, fake.base)}
    yield lambda: deliver_due(db, clock, senders, random.Random(1))
    http.close()


def test_items_piled_up_for_a_robot_go_out_merged(fake, robots, db, clock):
    fake.add_robot("robot-xicha")
    bodies = [f"第{n}条：西岔村今晚停水，请相互转告。" + "详" * 40 for n in range(60)]
    queue_robot(db, clock, "robot-xicha", bodies)
    report = robots()
    assert report.sent == 60
    sent = [d.text for d in fake.delivered("robot-xicha")]
    assert 1 < len(sent) <= 10 and all(len(t.encode()) <= 2048 for t in sent)
    assert "\n\n".join(sent).split("\n\n") == bodies  # every item once, in order


def test_a_long_pile_for_a_robot_goes_out_at_its_pace_and_never_dies_of_waiting(fake, robots, db, clock):
    fake.add_robot("robot-pile")
    bodies = [f"第{n}条" + "详" * 330 for n in range(200)]  # about 1 KB each: two to a message, 100 messages
    queue_robot(db, clock, "robot-pile", bodies)
    passes = 0
    while statuses(db)["pending"]:
        report = robots()
        assert report.dead == 0 and (report.sent, report.retried) == (20, 180 - 20 * passes)
        passes += 1
        clock.advance(seconds=30)  # the server's tick
    assert passes == 10  # 10 messages a pass, 20 a minute: the robot's limit, never answered 45009
    assert not [h for h in fake.history() if h.errcode]
    assert "\n\n".join(d.text for d in fake.delivered("robot-pile")).split("\n\n") == bodies
    with db() as s:  # waiting for the pace is not a failed try
        assert set(s.scalars(select(OutboxMessage.attempts))) == {1}


def test_one_pass_drains_a_broadcast_bigger_than_a_batch(fake, db, clock):
    users = [f"many{n:04d}" for n in range(4500)]
    fake.add_userid(*users).add_robot("robot-x")
    queue_robot(db, clock, "robot-x", ["先到的群通知"])
    queue(db, clock, users, body="全体通知")
    with httpx.Client(timeout=5) as http:
        tokens = TokenStore(db, clock, f"work:{CORP}:{AGENT}", wecom_token(http, fake.base, CORP, SECRET))
        senders = {"robot": RobotSender(http, fake.base), "work": WeComSender(http, fake.base, AGENT, tokens)}
        report = deliver_due(db, clock, senders, random.Random(3))
    assert report.sent == 4501
    assert fake.calls("work.message.send") == 5  # 2,000-row batches of one channel: whole thousands per call


def test_a_rate_limited_robot_is_retried_and_an_unknown_one_dead_lettered(fake, robots, db, clock):
    fake.add_robot("robot-ok")
    fake.fail(1.0, kinds=["errcode45009"], seed=1, endpoints=["work.webhook.send"])
    queue_robot(db, clock, "robot-ok", ["通知一"])
    queue_robot(db, clock, "robot-gone", ["通知二"])
    assert robots().retried == 2
    fake.fail(0)
    clock.advance(seconds=MAX_DELAY.total_seconds())
    report = robots()
    assert (report.sent, report.dead) == (1, 1)
    assert [d.text for d in fake.delivered("robot-ok")] == ["通知一"]


def test_two_processes_delivering_at_once_send_each_message_once(fake, db, clock, database_url):
    queue(db, clock, USERS[:300])

    def process():
        engine = make_engine(database_url)  # its own engine and pool, as another process would have
        sessions = session_factory(engine)
        with httpx.Client(timeout=2) as http:
            tokens = TokenStore(sessions, clock, f"work:{CORP}:{AGENT}", wecom_token(http, fake.base, CORP, SECRET))
            senders = {"work": WeComSender(http, fake.base, AGENT, tokens)}
            for _ in range(5):
                deliver_due(sessions, clock, senders, random.Random())
        engine.dispose()

    threads = [threading.Thread(target=process) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert Counter(d.recipient for d in fake.delivered()) == Counter(USERS[:300])
    assert statuses(db) == Counter({"sent": 300})
