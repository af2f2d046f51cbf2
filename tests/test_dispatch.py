"""Exactly-once effect and the 5-second window, through the real endpoint."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from handlers import texts
from models import InboundRecord, OutboxMessage
from tests.conftest import T0
from tests.wxclient import Aes, Peer

TOKEN = "tok"
KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"
WORK = dict(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP)


class CountingHandler:
    """Counts its effects and answers with the message text; optionally slow."""

    def __init__(self, delay: float = 0.0, fail_first: int = 0):
        self.delay = delay
        self.fail_first = fail_first
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, session, msg, now, lookups):
        with self.lock:
            self.calls += 1
            call = self.calls
        time.sleep(self.delay)
        if call <= self.fail_first:
            raise RuntimeError("database hiccup")
        return f"收到：{msg.text or msg.event}"


def work_peer(server) -> Peer:
    return Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)


def count(db, model) -> int:
    with db() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_sequential_resend_same_reply_one_effect(serve, db):
    handler = CountingHandler()
    peer = work_peer(serve(handler, **WORK))
    doc = peer.message("wangwu", Content="村口有人聚集")
    replies = [peer.open_reply(peer.send(doc)) for _ in range(4)]  # the original and WeChat's 3 resends
    assert {r["Content"] for r in replies} == {"收到：村口有人聚集"}
    assert handler.calls == 1
    assert count(db, InboundRecord) == 1


def test_concurrent_resends_same_reply_one_effect(serve, db):
    handler = CountingHandler(delay=0.3)
    peer = work_peer(serve(handler, **WORK))
    doc = peer.message("wangwu", Content="同时到达")
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: peer.open_reply(peer.send(doc)), range(4)))
    assert [r["Content"] for r in replies] == ["收到：同时到达"] * 4
    assert handler.calls == 1
    assert count(db, InboundRecord) == 1


def test_resends_across_two_server_processes(serve, db):
    """Two servers (separate engines and pools) on one database: still one effect."""
    handler = CountingHandler(delay=0.2)
    # 2 s of handling queued at once: a budget with room for a loaded machine (the budget has tests of its own)
    peers = [work_peer(serve(handler, **WORK, reply_budget_s=8)), work_peer(serve(handler, **WORK, reply_budget_s=8))]
    docs = [peers[0].message(f"u{i}", Content=f"第{i}条") for i in range(10)]
    jobs = [(peers[k % 2], doc) for doc in docs for k in range(4)]
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda job: job[0].open_reply(job[0].send(job[1])), jobs))
    for (_, doc), reply in zip(jobs, replies):
        assert reply["Content"] == f"收到：{doc['Content']}"
    assert handler.calls == 10
    assert count(db, InboundRecord) == 10


def test_distinct_messages_each_take_effect(serve, db):
    handler = CountingHandler()
    peer = work_peer(serve(handler, **WORK))
    for i in range(5):
        peer.send(peer.message("wangwu", Content=f"消息{i}"))
    assert handler.calls == 5 and count(db, InboundRecord) == 5


def test_events_dedupe_on_sender_time_event_and_key(serve, db):
    handler = CountingHandler()
    peer = work_peer(serve(handler, **WORK))
    click = peer.event("wangwu", "click", EventKey="REPORT")
    for _ in range(3):
        assert peer.open_reply(peer.send(click))["Content"] == "收到：click"
    peer.send(peer.event("wangwu", "click", EventKey="MINE"))  # another key: another event
    peer.send(peer.event("wangwu", "click", create_time=T0 + 1, EventKey="REPORT"))  # another second
    peer.send(peer.event("lisi", "click", EventKey="REPORT"))  # another sender
    assert handler.calls == 4
    assert count(db, InboundRecord) == 4


def test_same_msgid_on_the_other_channel_is_another_message(serve, db):
    server = serve(CountingHandler(), **WORK, mp_token=TOKEN, mp_allow_plaintext=True)
    work = work_peer(server)
    mp = Peer(server.url, "mp", TOKEN, timestamp=T0)
    work.send(work.message("u1", Content="a", msg_id=42))
    mp.send(mp.message("u1", Content="a", msg_id=42))
    assert count(db, InboundRecord) == 2


def test_slow_work_answers_empty_within_budget_and_queues_the_reply(serve, db):
    handler = CountingHandler(delay=1.0)
    peer = work_peer(serve(handler, **WORK, reply_budget_s=0.3))
    doc = peer.message("wangwu", Content="很长的处理")
    started = time.monotonic()
    resp = peer.send(doc)
    elapsed = time.monotonic() - started
    assert peer.open_reply(resp) is None and elapsed < 0.9
    # A resend while the work is still running: also empty, no second effect.
    assert peer.open_reply(peer.send(doc)) is None
    deadline = time.monotonic() + 10
    while count(db, OutboxMessage) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    with db() as s:
        queued = s.scalars(select(OutboxMessage)).one()
        record = s.scalars(select(InboundRecord)).one()
    assert (queued.recipient, queued.body, queued.channel) == ("wangwu", "收到：很长的处理", "work")
    assert record.status == "queued"
    # A resend after it finished: the same (empty) answer, nothing queued twice.
    assert peer.open_reply(peer.send(doc)) is None
    assert handler.calls == 1 and count(db, OutboxMessage) == 1


def test_fast_work_is_not_queued(serve, db):
    peer = work_peer(serve(CountingHandler(), **WORK, reply_budget_s=2))
    assert peer.open_reply(peer.send(peer.message("u", Content="快")))["Content"] == "收到：快"
    assert count(db, OutboxMessage) == 0


def test_failed_handler_rolls_back_and_a_resend_retries(serve, db):
    broken = CountingHandler()
    broken.fail_first = 10**6  # fails until mended
    peer = work_peer(serve(broken, **WORK))
    doc = peer.message("wangwu", Content="再试")
    assert peer.open_reply(peer.send(doc))["Content"] == texts.SORRY
    assert count(db, InboundRecord) == 0  # nothing half-written: the resend may try again
    broken.fail_first = 0
    assert peer.open_reply(peer.send(doc))["Content"] == "收到：再试"
    assert count(db, InboundRecord) == 1


def test_a_failing_message_does_not_fail_its_batch_mates(serve, db):
    def picky(session, msg, now, lookups):
        if msg.text == "坏":
            raise RuntimeError("bug")
        session.add(OutboxMessage(idempotency_key=msg.msg_id, channel="work", account="a", recipient="r",
                                  body=msg.text, created_at=now, next_attempt_at=now))
        return msg.text

    peer = work_peer(serve(picky, **WORK))
    texts_sent = ["一", "坏", "二", "三", "坏", "四"] * 3
    with ThreadPoolExecutor(len(texts_sent)) as pool:
        replies = list(pool.map(lambda t: peer.open_reply(peer.send(peer.message("u", Content=t)))["Content"],
                                texts_sent))
    assert replies == [texts.SORRY if t == "坏" else t for t in texts_sent]
    assert count(db, InboundRecord) == count(db, OutboxMessage) == 12


def test_handler_effects_and_stored_message_commit_together(serve, db):
    """A handler that wrote something and then failed leaves neither its writes nor the message."""

    def half_done(session, msg, now, lookups):
        session.add(OutboxMessage(idempotency_key="half", channel="work", account="a", recipient="r",
                                  body="写了一半", created_at=now, next_attempt_at=now))
        session.flush()
        raise RuntimeError("crash mid-way")

    peer = work_peer(serve(half_done, **WORK))
    assert peer.open_reply(peer.send(peer.message("u", Content="x")))["Content"] == texts.SORRY
    assert count(db, OutboxMessage) == 0 and count(db, InboundRecord) == 0


@pytest.mark.parametrize("doc_args, expected", [
    (("text", {"Content": "村口有人拉横幅"}), dict(kind="text", text="村口有人拉横幅")),
    (("image", {"PicUrl": "http://mmbiz/p.jpg", "MediaId": "m1"}), dict(kind="image", media_id="m1", pic_url="http://mmbiz/p.jpg")),
    (("voice", {"MediaId": "v1", "Format": "amr", "Recognition": "有人在村委会门口闹事"}),
     dict(kind="voice", media_id="v1", text="有人在村委会门口闹事")),
    (("video", {"MediaId": "vd", "ThumbMediaId": "t"}), dict(kind="video", media_id="vd")),
    (("shortvideo", {"MediaId": "sv", "ThumbMediaId": "t"}), dict(kind="video", media_id="sv")),
    (("link", {"Title": "某村干部贪污", "Description": "转发", "Url": "https://mp.weixin.qq.com/s/abc"}),
     dict(kind="link")),
    (("location", {"Location_X": "39.9", "Location_Y": "116.3", "Scale": "15", "Label": "西岔村村委会"}),
     dict(kind="location")),
], ids=["text", "image", "voice", "video", "shortvideo", "link", "location"])
def test_every_message_kind_becomes_one_inbound_type(serve, doc_args, expected):
    seen = []
    peer = work_peer(serve(lambda s, m, now, lookups: seen.append(m) or "好", **WORK))
    msg_type, fields = doc_args
    peer.send(peer.message("wangwu", msg_type, **fields))
    (msg,) = seen
    assert (msg.channel, msg.sender, msg.sent_at.timestamp()) == ("work", "wangwu", T0)
    for name, value in expected.items():
        assert getattr(msg, name) == value
    if msg_type == "link":
        assert (msg.link.title, msg.link.url) == ("某村干部贪污", "https://mp.weixin.qq.com/s/abc")
    if msg_type == "location":
        assert (msg.location.latitude, msg.location.longitude, msg.location.label) == (39.9, 116.3, "西岔村村委会")


@pytest.mark.parametrize("channel", ["mp", "work"])
@pytest.mark.parametrize("event, key", [
    ("subscribe", None), ("unsubscribe", None), ("CLICK", "REPORT"), ("VIEW", "https://example.org/menu"),
    ("enter_agent", ""),
])
def test_events(serve, channel, event, key):
    seen = []
    server = serve(lambda s, m, now, lookups: seen.append(m) or "好", **WORK, mp_token=TOKEN, mp_allow_plaintext=True)
    peer = work_peer(server) if channel == "work" else Peer(server.url, "mp", TOKEN, timestamp=T0)
    fields = {"EventKey": key} if key is not None else {}
    assert peer.open_reply(peer.send(peer.event("wangwu", event, **fields)))["Content"] == "好"
    (msg,) = seen
    assert (msg.channel, msg.kind, msg.event, msg.event_key) == (channel, "event", event.lower(), key or None)


def test_reply_text_cannot_break_out_of_cdata(serve):
    peer = work_peer(serve(lambda s, m, now, lookups: "a]]><evil/>b", **WORK))
    assert peer.open_reply(peer.send(peer.message("u", Content="x")))["Content"] == "a]]><evil/>b"


def test_health(serve):
    server = serve()
    resp = httpx.get(server.url + "/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


class FilingsAndHelp:
    """Slow work for every message but 帮助, which it says is quick (as Chat.quick does); records the order."""

    def __init__(self, delay: float):
        self.delay = delay
        self.order: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def quick(self, msg) -> bool:
        return msg.kind == "text" and msg.text == "帮助"

    def __call__(self, session, msg, now, lookups):
        with self.lock:
            self.order.append((msg.sender, msg.text))
        if not self.quick(msg):
            time.sleep(self.delay)
        return f"收到：{msg.text}"


def test_a_quick_reply_is_answered_within_budget_while_filings_queue(serve, db, database_url):
    handler = FilingsAndHelp(delay=0.1)
    peer = work_peer(serve(handler, **WORK, reply_budget_s=2.5))
    for n in range(3):  # the dispatcher learns how long a filing takes
        peer.send(peer.message(f"early{n}", Content="村口河道有人倾倒垃圾"))
    slow = [peer.message(f"gw{n}", Content="村口河道有人倾倒垃圾") for n in range(40)]  # 4 s of work queued
    with ThreadPoolExecutor(len(slow) + 1) as pool:
        filings = [pool.submit(peer.send, doc) for doc in slow]
        time.sleep(0.3)  # the filings are queued and being worked on
        started = time.monotonic()
        help_reply = peer.open_reply(peer.send(peer.message("ack", Content="帮助")))
        waited = time.monotonic() - started
        answered = [peer.open_reply(f.result()) for f in filings]
    assert help_reply["Content"] == "收到：帮助" and waited < 1.5
    # Each filing was answered in time with its own reply or, past the budget, left for later (None).
    assert all(r is None or r["Content"] == "收到：村口河道有人倾倒垃圾" for r in answered)
    deadline = time.monotonic() + 15
    while (count(db, InboundRecord) < 44 or len(handler.order) < 44) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count(db, InboundRecord) == 44 and len(handler.order) == 44
    if database_url.startswith("sqlite"):  # one writer: the help went ahead of 20 filings or more (several
        assert handler.order.index(("ack", "帮助")) < 24  # writers on PostgreSQL may have finished them all by then)


def test_a_quick_message_never_overtakes_the_same_senders_earlier_one(serve, db, database_url):
    """A quick message waits behind the same sender's earlier one. Only with one writer (SQLite): with
    several (PostgreSQL) a sender's messages may already be taken up side by side, quick or not."""
    if not database_url.startswith("sqlite"):
        pytest.skip("several writers take one sender's messages side by side (not ordered before this either)")
    gate = threading.Event()
    handler = FilingsAndHelp(delay=0.0)

    def held(session, msg, now, lookups):  # every filing, once taken up, waits at the gate: the rest pile up
        with handler.lock:
            handler.order.append((msg.sender, msg.text))
        if not handler.quick(msg):
            gate.wait(10)
        return f"收到：{msg.text}"

    held.quick = handler.quick
    server = serve(held, **WORK, reply_budget_s=8)
    dispatcher = server.server.config.app.state.dispatcher
    peer = work_peer(server)
    others = [peer.message(f"gw{n}", Content="村口河道有人倾倒垃圾") for n in range(20)]  # more than the writers
    with ThreadPoolExecutor(len(others) + 2) as pool:
        queued = [pool.submit(peer.send, doc) for doc in others]
        first = pool.submit(peer.send, peer.message("me", Content="后山有人烧秸秆"))
        deadline = time.monotonic() + 10
        while not dispatcher._waiting[("work", "me")] and time.monotonic() < deadline:
            time.sleep(0.01)  # my tip-off is in the dispatcher, waiting
        assert dispatcher._waiting[("work", "me")] == 1
        late_help = pool.submit(peer.send, peer.message("me", Content="帮助"))
        time.sleep(0.2)  # my 帮助 is in the dispatcher too
        gate.set()
        for f in [*queued, first, late_help]:
            f.result()
    assert handler.order.index(("me", "帮助")) > handler.order.index(("me", "后山有人烧秸秆"))


def test_sqlite_commits_are_on_disk_before_the_reply(tmp_path):
    """A reply goes out after its batch commits; on SQLite that commit must survive a power loss too
    (synchronous FULL: 2), not only a crash of the process (NORMAL in WAL mode)."""
    from app.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        engine.dispose()
