"""Outbox claims: two processes, a stalling API, 500 messages, each delivered once.

The Official Account sends one HTTP call a message: a batch outlasts a short claim many times over. The
claim is renewed while its sender works, and outcomes are recorded only by the claim's owner.
"""

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from bot.outbound import delivery
from bot.outbound.senders import SENT, Outcome
from models import OutboxMessage

ROOT = Path(__file__).parents[1]
MESSAGES = 500
STALL_S = 0.015  # each send: 500 of them take 7.5 s
BATCH, CLAIM_S = 200, 1  # a batch takes 3 s, three times a claim: only renewal keeps it

WORKER = """
import sys, time
from datetime import timedelta
import httpx
from models.clock import SystemClock
from app.db import make_engine, session_factory
from app.outbound import build_senders
from app.settings import Settings
from bot.outbound import delivery
from sqlalchemy import func, select
from models import OutboxMessage

delivery.BATCH = int(sys.argv[3])
settings = Settings(_env_file=None, database_url=sys.argv[1], mp_app_id="wx-claims", mp_app_secret="s3cret",
                    wechat_api_base=sys.argv[2])
engine = make_engine(settings.database_url)
sessions = session_factory(engine)
clock = SystemClock()
deadline = time.monotonic() + 60
sent = 0
with httpx.Client(timeout=10) as http:
    senders = {"mp": build_senders(settings, sessions, clock, http)["mp"]}
    while time.monotonic() < deadline:
        sent += delivery.deliver_due(sessions, clock, senders, claim_for=timedelta(seconds=float(sys.argv[4]))).sent
        with sessions() as s:
            if not s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")):
                break
        time.sleep(0.1)
engine.dispose()
print(sent)
"""


class StallingApi(BaseHTTPRequestHandler):
    """An Official Account API that answers every send, slowly; it records what it delivered."""

    delivered: Counter = Counter()
    lock = threading.Lock()

    def do_GET(self):  # /cgi-bin/token
        self._json({"access_token": "tok-claims", "expires_in": 7200})

    def do_POST(self):  # /cgi-bin/message/custom/send
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert parse_qs(urlsplit(self.path).query)["access_token"] == ["tok-claims"]
        time.sleep(STALL_S)
        with self.lock:
            self.delivered[(body["touser"], body["text"]["content"])] += 1
        self._json({"errcode": 0, "errmsg": "ok"})

    def _json(self, answer: dict) -> None:
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    StallingApi.delivered = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), StallingApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_two_processes_and_a_stalling_api_deliver_each_message_once(db, database_url, clock, api):
    now = clock.now() - timedelta(days=1)  # due for the processes' own (real) clocks
    with db.begin() as s:
        for n in range(MESSAGES):
            s.add(OutboxMessage(idempotency_key=f"m{n}", channel="mp", account="", recipient=f"o-{n:03d}",
                                body=f"第{n}条", created_at=now, next_attempt_at=now))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, database_url, api, str(BATCH), str(CLAIM_S)],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=90)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    by_worker = [int(out.split()[-1]) for out in outputs]
    assert sum(by_worker) == MESSAGES and min(by_worker) > 0, by_worker  # both did work, each row counted once
    took = time.monotonic() - started
    with db() as s:
        statuses = dict(s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    assert statuses == {"sent": MESSAGES}
    assert len(StallingApi.delivered) == MESSAGES
    twice = {k: n for k, n in StallingApi.delivered.items() if n > 1}
    assert twice == {}, f"{len(twice)} messages went out more than once"
    assert took > BATCH * STALL_S > 2 * CLAIM_S  # a whole batch ran, and it outlasted its claim twice over


def test_only_the_claims_owner_records_an_outcome(db, clock):
    now = clock.now()
    with db.begin() as s:
        s.add(OutboxMessage(idempotency_key="k", channel="mp", account="", recipient="o-1", body="hi",
                            created_at=now, next_attempt_at=now))
    rows = delivery._claim(db, clock, "mp", 10, "owner-a", timedelta(seconds=60))
    clock.advance(seconds=61)  # A stalled past its claim (its renewals lost); B claims the row
    assert [r.id for r in delivery._claim(db, clock, "mp", 10, "owner-b", timedelta(seconds=60))] == [rows[0].id]
    report = delivery.Report()
    delivery._record(db, clock, "mp", rows, {rows[0].id: Outcome(SENT)}, None, report, None, "owner-a")
    assert report.sent == 0  # A's outcome is not recorded …
    with db() as s:
        row = s.get(OutboxMessage, rows[0].id)
        assert (row.status, row.claimed_by, row.attempts) == ("sending", "owner-b", 0)  # … B's claim stands
