"""Benchmark: the full Gridline callback pipeline against a bare verify/decrypt/reply baseline.

Starts two servers on free 127.0.0.1 ports, in this one invocation:

  full      `gridline db upgrade` then `gridline serve` (FastAPI, middleware, dispatcher,
            database) on a fresh temporary SQLite file, or on --database-url;
  baseline  bench/baseline.py: the same FastAPI stack and middleware with an endpoint that
            only checks the signature, decrypts, parses (bot.channels.WeComApp) and answers
            with Replier.render(help): no dispatcher, no database; same uvicorn settings.

The senders are first put in the roster (a grid unit, one person and one WeCom identity
each), because the product only serves known people; --strangers skips that and measures
the refusal path instead. Each server is warmed up, then driven with --messages encrypted WeCom text messages (distinct
MsgIds, --senders distinct userids) by --concurrency keep-alive connections, each with one
request in flight (a closed loop; --rate makes it an open loop at that many messages/s).
All requests are built and encrypted before the clock starts, and replies are checked
(HTTP 200, MsgSignature, decryption, addressee, a text that is not the apology; the mix
of reply texts is reported) only after it stops, so the
client spends little CPU inside the measured window. Both servers are stopped at the end,
also on errors and Ctrl-C. Traffic goes to 127.0.0.1 only; every phase is time-bounded.

    .venv/bin/python bench/callback.py --messages 3000 --concurrency 100
    .venv/bin/python bench/callback.py --workers 2 --json
    .venv/bin/python bench/callback.py --database-url postgresql+psycopg://u:p@127.0.0.1/gridline_bench

Columns: msgs/s counts correct replies only; latency is per request, send to last byte
(open loop: from the request's due time); "srv CPU" is user+system CPU of the server's
whole process group (a database server's own processes are not included) per measured
message, and its utilisation in cores; "cli CPU" is this client's. Note that in a closed
loop latency and throughput are tied (Little's law: mean latency = concurrency / rate), so
p99 < 100 ms at 100 in flight needs well over 1000 msgs/s.

With --database-url the schema is upgraded there and the bench rows are left in it
(MsgIds are unique per run, so runs do not collide). Exit status: 0 all replies correct,
1 some were not, 2 a server failed to start, 130 interrupted.
"""

import argparse
import asyncio
import base64
import http.client
import json
import math
import re
import os
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.settings import Settings  # noqa: E402
from handlers import texts  # noqa: E402
from bot.wire import read_fields  # noqa: E402
from bot.wirecrypto import Envelope, sign  # noqa: E402

HOST = "127.0.0.1"
TOKEN = "gridlinebenchtoken"
AES_KEY = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")  # 43 characters
CORP_ID = "wwbenchcorp0000001"
AGENT_ID = "1000002"
REPLY_BUDGET_S = Settings.model_fields["reply_budget_s"].default  # the dispatcher's, as the server runs it
MAX_MESSAGE_AGE_S = 300  # the product's default; requests are built fresh before each phase
TARGET_P99_MS, TARGET_CONCURRENCY = 100.0, 100
# full / baseline throughput each mix should reach (issue 16); the ack burst is judged by its budget alone.
TARGET_RATIO = {"draft": 0.5, "filing": 0.10, "ack": None}


# ---------------------------------------------------------------- servers


def free_port(first: int | None = None) -> int:
    """A free port: any (first None), else the first free one from `first` on (a shared machine's
    allotted range)."""
    for port in ([0] if first is None else range(first, first + 100)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port from {first}")


class Server:
    """A server subprocess in its own process group (uvicorn --workers N forks children)."""

    def __init__(self, name: str, argv: list[str], env: dict, cwd: Path, log_path: Path, ready_path: str):
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.log_path, self.ready_path = log_path, ready_path
        self.port = int(argv[argv.index("--port") + 1])
        self.proc: subprocess.Popen | None = None

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def start(self) -> None:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:  # bounded by the deadline
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", self.ready_path)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
            except OSError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server not ready after {timeout_s:.0f} s ({last})\n{self.log_tail()}")

    def cpu_s(self) -> float:
        """User + system CPU seconds of every live process in the server's process group."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    rest = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(rest[2]) == self.proc.pid:  # pgrp: the group we created with start_new_session
                total += int(rest[11]) + int(rest[12])
        return total / tick

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"  [{self.name}] {line}" for line in text[-lines:])

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)  # only the group this script created
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:  # uvicorn's worker processes may outlive their parent by a moment
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()


# ---------------------------------------------------------------- requests


@dataclass
class Msg:
    sender: str
    path: str  # /wechat/work?msg_signature=..&timestamp=..&nonce=..
    body: bytes
    sender_index: int = 0


def sender_id(run_id: int, k: int) -> str:
    return f"bench{run_id}-{k:05d}"  # WeCom userid; new per run so a kept database takes a fresh roster


MIXES = ("draft", "filing", "ack")
VILLAGE_COUNT = 20  # the county mixes: one township of 20 villages
DEFAULT_SENDERS = {"draft": 1000, "filing": 200, "ack": 2000}
DEFAULT_MESSAGES = {"draft": 5000, "filing": 4000, "ack": 2000}
# Tip-offs the rules file with no question asked (民生环境, no cadre, not online), so 确认 files them.
TIPOFFS = (
    "{village}东头河道有人倾倒建筑垃圾，臭味很大，已经堆了三天，第{i}处",
    "{village}小学门口路灯坏了一排，晚上学生放学很黑，第{i}处",
    "{village}村口的自来水管破裂，路面积水结冰，第{i}处",
    "{village}后山有人烧秸秆，浓烟飘到住户家里，第{i}处",
)


def village_name(k: int) -> str:
    return f"第{k + 1:02d}村"


def sender_village(sender: int) -> int:
    return sender % VILLAGE_COUNT


def mix_text(mix: str, i: int, senders: int, warmup: bool) -> tuple[int, str]:
    """(sender index, text) of the mix's message number i (numbered across phases)."""
    if mix == "draft":  # every message is one more step of the sender's draft
        return i % senders, f"村东头河道有人倾倒垃圾，第{i}条"
    if mix == "ack":  # the warm-up asks for help: a 收到 would use up the sender's one pending wording
        return i % senders, "帮助" if warmup else "收到"
    pair, step = divmod(i, 2)  # filing: a tip-off, then 确认, by the same sender
    sender = pair % senders
    if step:
        return sender, "确认"
    return sender, TIPOFFS[pair % len(TIPOFFS)].format(village=village_name(sender_village(sender)), i=pair)


def build_messages(count: int, first: int, senders: int, run_id: int, mix: str = "draft",
                   warmup: bool = False) -> list[Msg]:
    envelope = Envelope(AES_KEY, CORP_ID, enterprise=True)
    ts = str(int(time.time()))
    out = []
    for i in range(first, first + count):
        k, content = mix_text(mix, i, senders, warmup)
        sender = sender_id(run_id, k)
        msg_id = f"{run_id}{i:08d}"  # digits only, distinct across phases, servers and runs
        plain = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
            f"<FromUserName><![CDATA[{sender}]]></FromUserName>"
            f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>"
        )
        encrypt = envelope.encrypt(plain)
        nonce = str(secrets.randbelow(10**10))
        signature = sign(TOKEN, ts, nonce, encrypt)
        body = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
        ).encode()
        out.append(Msg(sender, f"/wechat/work?msg_signature={signature}&timestamp={ts}&nonce={nonce}", body, k))
    return out


def lanes_for(msgs: list[Msg], mix: str, concurrency: int) -> list[list[int]] | None:
    """The filing mix keeps each sender's messages in order on one connection (确认 after its
    tip-off is answered); the other mixes share one queue of messages among all connections."""
    if mix != "filing":
        return None
    lanes: list[list[int]] = [[] for _ in range(concurrency)]
    for i, m in enumerate(msgs):
        lanes[m.sender_index % concurrency].append(i)
    return lanes


def check_reply(msg: Msg, status: int, body: bytes, envelope: Envelope) -> tuple[str | None, str | None]:
    """(why the reply is wrong or None, its text): a reply must be HTTP 200, carry a valid
    MsgSignature, decrypt, be a text message to the sender, and not be the apology."""
    if status != 200:
        return f"http {status}", None
    if not body:
        # WeCom's "no reply": the product answers empty when the reply budget runs out
        # (the reply then goes to the outbox) or a resend finds its message queued.
        return "empty reply", None
    try:
        outer = read_fields(body.decode("utf-8"))
        encrypt, ts, nonce = outer["Encrypt"], outer["TimeStamp"], outer["Nonce"]
        if sign(TOKEN, ts, nonce, encrypt) != outer["MsgSignature"]:
            return "bad MsgSignature", None
    except Exception:
        return "not an encrypted reply", None
    try:
        inner = read_fields(envelope.decrypt(encrypt))
    except Exception:
        return "does not decrypt", None
    if inner.get("ToUserName") != msg.sender or inner.get("FromUserName") != CORP_ID:
        return "wrong addressee", None
    content = inner.get("Content")
    if inner.get("MsgType") != "text" or not content:
        return "not a text reply", None
    if content == getattr(texts, "SORRY", None):
        return "apology (handler failed)", content
    return None, content


def text_name(content: str) -> str:
    """Which bot.texts constant a reply is, for the reply mix."""
    for name, value in vars(texts).items():
        if name.isupper() and value == content:
            return name
    return "other: " + re.sub(r"\d+", "#", content[:16]).replace("\n", " ")  # case codes and times fold


def seed_roster(database_url: str, run_id: int, senders: int) -> str:
    """Make every bench sender a known person with a WeCom identity, so the full server takes
    the path real WeCom users take (strangers only get a refusal). Returns what was done."""
    from sqlalchemy import func, insert, select

    from app.db import make_engine

    try:
        from models import ChatIdentity, Person, Unit
    except ImportError as exc:  # a product without a roster: every sender is served alike
        return f"not seeded ({exc})"
    units, people, identities = Unit.__table__, Person.__table__, ChatIdentity.__table__
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            unit_id = conn.execute(insert(units).values(kind="grid", name=f"压测网格{run_id}")).inserted_primary_key[0]
            base = conn.execute(select(func.coalesce(func.max(people.c.id), 0))).scalar_one()
            conn.execute(insert(people), [
                {"name": f"压测员{k}", "phone": f"19{base + k + 1:09d}", "unit_id": unit_id, "active": True}
                for k in range(senders)
            ])
            ids = conn.execute(select(people.c.id).where(people.c.unit_id == unit_id).order_by(people.c.id)).scalars()
            conn.execute(insert(identities), [
                {"person_id": pid, "channel": "work", "external_id": sender_id(run_id, k), "active": True}
                for k, pid in enumerate(ids)
            ])
    except Exception as exc:
        return f"not seeded ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    finally:
        engine.dispose()
    return f"{senders} people with WeCom identities (one grid unit)"


def seed_county(database_url: str, run_id: int, senders: int, mix: str) -> str:
    """The county mixes: one township of VILLAGE_COUNT villages through the real roster import —
    the senders are grid workers spread over the villages, each village with a secretary and two
    committee members, 包村领导, department liaisons, the office and leaders — so filing routes,
    checks the cadre boundary and looks for duplicates as it would in a county. The ack mix also
    gets one wording published to every grid worker. Needs a database without this roster."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from app.db import make_engine, session_factory
    from handlers.roster import import_roster
    from models import Person, PersonRole, Unit, Wording, WordingRecipient, WordingVersion

    header = "乡镇,村,网格,姓名,手机号,角色,部门,包联村,企业微信账号"
    rows, n = [], 0
    township = f"压测乡{run_id % 10**6}"

    def person(village, grid, name, role, dept="", covers="", userid=""):
        nonlocal n
        n += 1
        rows.append(f"{township},{village},{grid},{name},17{n:09d},{role},{dept},{covers},{userid}")

    for k in range(senders):
        v = sender_village(k)
        person(village_name(v), f"{k % 2 + 1}网格", f"网格员{k}", "网格员", userid=sender_id(run_id, k))
    for v in range(VILLAGE_COUNT):
        person(village_name(v), "", f"村书记{v}", "村书记", userid=f"sj{run_id}-{v}")
        for c in range(2):
            person(village_name(v), "", f"村委{v}-{c}", "村两委", userid=f"wy{run_id}-{v}-{c}")
    for c in range(4):
        covered = "、".join(village_name(v) for v in range(VILLAGE_COUNT) if v % 4 == c)
        person("", "", f"包村领导{c}", "包村领导", covers=covered, userid=f"bc{run_id}-{c}")
    for d, dept in enumerate(("纪委", "政法委", "信访办", "乡村振兴办", "网信办", "党政办")):
        person("", "", f"{dept}联络员", "部门联络员", dept=dept, userid=f"ll{run_id}-{d}")
    for c in range(2):
        person("", "", f"办公室{c}", "办公室", userid=f"bgs{run_id}-{c}")
    person("", "", "乡长", "主要领导", userid=f"zy{run_id}")
    person("", "", "副乡长", "分管领导", userid=f"fg{run_id}")
    engine = make_engine(database_url)
    try:
        with session_factory(engine).begin() as s:
            report = import_roster(s, "bench.csv", "\n".join([header, *rows]).encode())
            if report.refused:
                return f"not seeded (roster refused: {'; '.join(map(str, report.errors[:3]))})"
            if mix == "ack":
                now = datetime.now(UTC)
                unit = s.scalars(select(Unit.id).where(Unit.name == township)).one()
                wording = Wording(created_at=now)
                s.add(wording)
                s.flush()
                version = WordingVersion(wording_id=wording.id, version=1, status="published", title="压测口径",
                                         body="统一口径：以官方通报为准。", unit_ids=[unit], roles=[],
                                         created_at=now, published_at=now)
                s.add(version)
                s.flush()
                grid_workers = s.scalars(select(Person.id).join(PersonRole, PersonRole.person_id == Person.id)
                                         .where(PersonRole.role == "网格员")).all()
                s.execute(insert(WordingRecipient), [{"version_id": version.id, "person_id": pid, "sent_at": now}
                                                     for pid in grid_workers])
    except Exception as exc:
        return f"not seeded ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    finally:
        engine.dispose()
    extra = ", one wording published to them" if mix == "ack" else ""
    return f"{senders} grid workers over {VILLAGE_COUNT} villages of one township ({n} people){extra}"


def product_state() -> str:
    """The commit the servers run, and which product files differ from it."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "app", "bot", "handlers",
                                "models", "migrations"], capture_output=True, text=True, timeout=5).stdout.split("\n")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    changed = [line[3:] for line in dirty if line.strip()]
    return head + (f" + uncommitted: {', '.join(changed)}" if changed else "")


# ---------------------------------------------------------------- clients


class RawConn:
    """HTTP/1.1 keep-alive over asyncio streams; requests are pre-serialised bytes."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port, limit=1 << 20)
        sock = self.writer.get_extra_info("socket")
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, data: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            body = await self.reader.readexactly(int(lower[at + 17:lower.index(b"\r\n", at + 2)]))
        elif b"\r\ntransfer-encoding: chunked" in lower:
            body = bytearray()
            for _ in range(10_000):  # bounded
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
            body = bytes(body)
        else:
            body = await self.reader.read(1 << 20)
            self.close()
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, body


class RawClient:
    name = "raw"

    def __init__(self, port: int, concurrency: int):
        self.port = port
        self.conns = [RawConn(port) for _ in range(concurrency)]

    def prepare(self, msgs: list[Msg]) -> list[bytes]:
        host = f"{HOST}:{self.port}".encode()
        return [
            b"POST " + m.path.encode() + b" HTTP/1.1\r\nHost: " + host
            + b"\r\nContent-Type: application/xml\r\nContent-Length: " + str(len(m.body)).encode()
            + b"\r\n\r\n" + m.body
            for m in msgs
        ]

    async def connect(self) -> None:
        await asyncio.gather(*(c.open() for c in self.conns))

    async def send(self, slot: int, request: bytes) -> tuple[int, bytes]:
        return await self.conns[slot].request(request)

    def reset(self, slot: int) -> None:
        self.conns[slot].close()

    async def aclose(self) -> None:
        for c in self.conns:
            c.close()


class HttpxClient:
    name = "httpx"

    def __init__(self, port: int, concurrency: int):
        import httpx

        self.client = httpx.AsyncClient(
            base_url=f"http://{HOST}:{port}", trust_env=False, timeout=None,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    def prepare(self, msgs: list[Msg]) -> list[tuple[str, bytes]]:
        return [(m.path, m.body) for m in msgs]

    async def connect(self) -> None:
        pass  # the pool connects on first use (the warm-up)

    async def send(self, slot: int, request: tuple[str, bytes]) -> tuple[int, bytes]:
        path, body = request
        resp = await self.client.post(path, content=body, headers={"Content-Type": "application/xml"})
        return resp.status_code, resp.content

    def reset(self, slot: int) -> None:
        pass

    async def aclose(self) -> None:
        await self.client.aclose()


# ---------------------------------------------------------------- load


@dataclass
class Outcome:
    latencies_s: list = field(default_factory=list)  # of every answered request
    statuses: list = field(default_factory=list)  # per message; 0 = no answer
    bodies: list = field(default_factory=list)
    latency_by_index: list = field(default_factory=list)  # per message; None = no answer
    failures: dict = field(default_factory=dict)  # transport failures: reason -> count
    elapsed_s: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0


async def drive(client, requests: list, concurrency: int, rate: float | None,
                request_timeout_s: float, phase_timeout_s: float, lanes: list[list[int]] | None = None) -> Outcome:
    """Send every request once, `concurrency` at a time; bounded by count and by phase_timeout_s.
    With `lanes`, connection k sends the requests of lanes[k] in order, one after the other."""
    n = len(requests)
    out = Outcome(latencies_s=[], statuses=[0] * n, bodies=[b""] * n, latency_by_index=[None] * n)
    todo = iter(range(n))  # shared by all slots: each index is taken once
    perf = time.perf_counter

    async def slot(k: int) -> None:
        for i in (iter(lanes[k]) if lanes else todo):
            start = perf()
            if rate:  # open loop: due at t0 + i/rate, latency counted from then
                due = t0 + i / rate
                if due > start:
                    await asyncio.sleep(due - start)
                start = due
            try:
                async with asyncio.timeout(request_timeout_s):
                    status, body = await client.send(k, requests[i])
            except TimeoutError:
                out.failures["request timeout"] = out.failures.get("request timeout", 0) + 1
                client.reset(k)
                continue
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                key = f"transport: {type(exc).__name__}"
                out.failures[key] = out.failures.get(key, 0) + 1
                client.reset(k)
                continue
            except Exception as exc:  # httpx's own transport errors
                key = f"transport: {type(exc).__name__}"
                out.failures[key] = out.failures.get(key, 0) + 1
                client.reset(k)
                continue
            out.latencies_s.append(perf() - start)
            out.latency_by_index[i] = out.latencies_s[-1]
            out.statuses[i], out.bodies[i] = status, body

    cpu0 = time.process_time()
    t0 = perf()
    tasks = [asyncio.create_task(slot(k)) for k in range(concurrency)]
    try:
        _done, pending = await asyncio.wait(tasks, timeout=phase_timeout_s)
    finally:  # also when interrupted (the caller's task is cancelled)
        out.elapsed_s = perf() - t0
        out.client_cpu_s = time.process_time() - cpu0
        for t in tasks:
            t.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
        unanswered = sum(1 for s in out.statuses if s == 0) - sum(out.failures.values())
        out.failures["phase timeout"] = out.failures.get("phase timeout", 0) + max(0, unanswered)
    return out


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values) / 100) - 1))
    return sorted_values[rank]  # nearest rank


async def run_target(server: Server, args, run_id: int, first_index: int) -> dict:
    client_cls = RawClient if args.client == "raw" else HttpxClient
    client = client_cls(server.port, args.concurrency)
    try:
        await client.connect()
        if args.warmup:
            warm = build_messages(args.warmup, first_index, args.senders, run_id, args.mix, warmup=True)
            w = await drive(client, client.prepare(warm), args.concurrency, None,
                            args.request_timeout, args.timeout, lanes_for(warm, args.mix, args.concurrency))
            bad_warm = sum(1 for s in w.statuses if s != 200)
            if bad_warm:
                print(f"  warning: {bad_warm} of {args.warmup} warm-up requests to {server.name} failed",
                      file=sys.stderr)
        msgs = build_messages(args.messages, first_index + args.warmup, args.senders, run_id, args.mix)
        requests = client.prepare(msgs)
        cpu0 = server.cpu_s()
        out = await drive(client, requests, args.concurrency, args.rate, args.request_timeout, args.timeout,
                          lanes_for(msgs, args.mix, args.concurrency))
        out.server_cpu_s = server.cpu_s() - cpu0
    finally:
        await client.aclose()

    envelope = Envelope(AES_KEY, CORP_ID, enterprise=True)
    reasons: dict[str, int] = dict(out.failures)
    mix: dict[str, int] = {}
    ok = past_budget = 0
    for msg, status, body, lat in zip(msgs, out.statuses, out.bodies, out.latency_by_index):
        if status == 0:
            continue  # counted in failures
        why, content = check_reply(msg, status, body, envelope)
        # Past the reply budget: answered empty (the reply went to the outbox), or answered too late.
        if why == "empty reply" or (lat is not None and lat > REPLY_BUDGET_S):
            past_budget += 1
        if why is None:
            ok += 1
            name = text_name(content)
            mix[name] = mix.get(name, 0) + 1
        else:
            reasons[why] = reasons.get(why, 0) + 1
    lat_ms = sorted(x * 1000 for x in out.latencies_s)
    n = args.messages
    return {
        "messages": n,
        "ok": ok,
        "errors": n - ok,
        "error_reasons": reasons,
        "past_budget": past_budget,
        "replies": mix,
        "elapsed_s": round(out.elapsed_s, 3),
        "msgs_per_s": round(ok / out.elapsed_s, 1) if out.elapsed_s else 0.0,
        # every HTTP answer, empty ones (past the budget) included: the work the server got through
        "answered_per_s": round(sum(1 for st in out.statuses if st) / out.elapsed_s, 1) if out.elapsed_s else 0.0,
        "p50_ms": round(percentile(lat_ms, 50), 2),
        "p90_ms": round(percentile(lat_ms, 90), 2),
        "p99_ms": round(percentile(lat_ms, 99), 2),
        "max_ms": round(lat_ms[-1], 2) if lat_ms else float("nan"),
        "mean_ms": round(statistics.fmean(lat_ms), 2) if lat_ms else float("nan"),
        "server_cpu_ms_per_msg": round(out.server_cpu_s * 1000 / n, 3),
        "server_cpu_util": round(out.server_cpu_s / out.elapsed_s, 2) if out.elapsed_s else 0.0,
        "client_cpu_ms_per_msg": round(out.client_cpu_s * 1000 / n, 3),
        "client_cpu_util": round(out.client_cpu_s / out.elapsed_s, 2) if out.elapsed_s else 0.0,
    }


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark the WeCom callback: full pipeline vs bare baseline.")
    p.add_argument("--mix", choices=MIXES, default="draft",
                   help="draft: every message a step of the sender's draft (1,000 senders in one grid); "
                        "filing: a tip-off then 确认 per sender, grid workers over 20 villages; "
                        "ack: 收到 to a published wording from every grid worker (default draft)")
    p.add_argument("--messages", type=int, help="measured messages per server (default: 5000 draft, "
                                                "4000 filing, 2000 ack)")
    p.add_argument("--senders", type=int, help="distinct WeCom userids (default: 1000 draft, 200 filing, 2000 ack)")
    p.add_argument("--concurrency", type=int, default=100,
                   help="connections, each with one request in flight (default 100)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers for both servers (default 1)")
    p.add_argument("--writers", type=int, default=0,
                   help="dispatch threads a full-server process (GRIDLINE_DISPATCH_WRITERS; default 0: the server's own)")
    p.add_argument("--port", type=int, help="first port to try for the servers (default: any free port)")
    p.add_argument("--database-url", help="database for the full server (default: fresh temporary SQLite file)")
    p.add_argument("--log-level", default="WARNING", help="GRIDLINE_LOG_LEVEL for both servers (default WARNING)")
    p.add_argument("--warmup", type=int, default=200, help="unmeasured requests per server first (default 200)")
    p.add_argument("--rate", type=float, help="open loop: send at this many messages/s (default: closed loop)")
    p.add_argument("--client", choices=["raw", "httpx"], default="raw",
                   help="raw asyncio streams (default, cheapest) or httpx.AsyncClient")
    p.add_argument("--only", choices=["full", "baseline"], help="run one server only")
    p.add_argument("--strangers", action="store_true",
                   help="do not put the senders in the roster (default: seed them as known WeCom users)")
    p.add_argument("--timeout", type=float, default=180, help="bound on each load phase, s (default 180)")
    p.add_argument("--request-timeout", type=float, default=30, help="bound on one request, s (default 30)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server logs)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    a = p.parse_args(argv)
    a.messages = a.messages if a.messages is not None else DEFAULT_MESSAGES[a.mix]
    a.senders = a.senders if a.senders is not None else DEFAULT_SENDERS[a.mix]
    if a.mix == "filing" and (a.messages % 2 or a.warmup % 2):
        p.error("the filing mix sends pairs (tip-off, 确认): --messages and --warmup must be even")
    if a.mix == "ack" and a.messages > a.senders:
        p.error("the ack mix sends one 收到 per sender: --messages must not exceed --senders")
    for name in ("messages", "senders", "concurrency", "workers"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be at least 1")
    if a.warmup < 0 or (a.rate is not None and a.rate <= 0):
        p.error("--warmup must be >= 0 and --rate > 0")
    if not 0 < a.timeout <= MAX_MESSAGE_AGE_S - 30:
        p.error(f"--timeout must be in (0, {MAX_MESSAGE_AGE_S - 30}] (callbacks older than "
                f"{MAX_MESSAGE_AGE_S} s are refused)")
    if a.messages > 10**6 or a.concurrency > 2000:
        p.error("--messages is capped at 1e6 and --concurrency at 2000")
    return a


def server_env(args, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}  # reproducible
    env.update({
        "GRIDLINE_DATABASE_URL": database_url,
        "GRIDLINE_WORK_TOKEN": TOKEN,
        "GRIDLINE_WORK_AES_KEY": AES_KEY,
        "GRIDLINE_WORK_CORP_ID": CORP_ID,
        "GRIDLINE_WORK_AGENT_ID": AGENT_ID,
        "GRIDLINE_LOG_LEVEL": args.log_level,
        "GRIDLINE_DISPATCH_WRITERS": str(args.writers),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def show_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable url)"


def gridline_argv() -> list[str]:
    exe = Path(sys.executable).with_name("gridline")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("gridline")
    return [found] if found else [sys.executable, "-c", "from app.cli import main; main()"]


def fmt_table(results: dict, args) -> str:
    lines = [f"{'':14} {'msgs/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7} {'late':>5}"
             f" {'srv CPU ms/msg':>14} {'srv CPU util':>12} {'cli CPU ms/msg':>14}"]
    for name, label in (("full", "full pipeline"), ("baseline", "baseline")):
        r = results.get(name)
        if r is None:
            continue
        lines.append(f"{label:14} {r['msgs_per_s']:9.1f} {r['p50_ms']:8.1f} {r['p90_ms']:8.1f} {r['p99_ms']:8.1f}"
                     f" {r['max_ms']:8.1f} {r['errors']:7d} {r['past_budget']:5d} {r['server_cpu_ms_per_msg']:14.3f}"
                     f" {r['server_cpu_util']:12.2f} {r['client_cpu_ms_per_msg']:14.3f}")
        if r["error_reasons"]:
            lines.append(f"{'':14} errors: " + ", ".join(f"{k}: {v}" for k, v in sorted(r["error_reasons"].items())))
        lines.append(f"{'':14} replies: " + (", ".join(f"{k}: {v}" for k, v in sorted(r["replies"].items())) or "none"))
    return "\n".join(lines)


def verdicts(results: dict, args) -> list[str]:
    full, base = results.get("full"), results.get("baseline")
    out = []
    for name, r in results.items():
        if r["client_cpu_util"] > 0.7:
            out.append(f"WARNING: the client used {r['client_cpu_util']:.0%} of a core against {name}: that figure"
                       f" measures the client more than the server" + (" (try --client raw)" if args.client != "raw" else ""))
    if full and base and base["msgs_per_s"] and args.rate:
        out.append(f"ratio full/baseline throughput: {full['msgs_per_s'] / base['msgs_per_s']:.3f}  (open loop: both"
                   f" are offered {args.rate:g} msgs/s, so this compares nothing; run closed loop for the target)")
    elif full and base and base["msgs_per_s"]:
        ratio = full["msgs_per_s"] / base["msgs_per_s"]
        target = TARGET_RATIO[args.mix]
        if target is None:
            out.append(f"ratio full/baseline throughput: {ratio:.3f}  (no target for the {args.mix} mix)")
        else:
            need = target * base["msgs_per_s"]
            out.append(f"ratio full/baseline throughput: {ratio:.3f}  (target >= {target:.2f}: "
                       + ("met)" if ratio >= target else
                          f"MISSED; full needs {need:.0f} msgs/s, {need / max(full['msgs_per_s'], 1e-9):.1f}x its rate)"))
    if full:
        out.append(f"full pipeline replies past the {REPLY_BUDGET_S:g} s reply budget: {full['past_budget']}  "
                   "(target 0: " + ("met)" if not full["past_budget"] else "MISSED)"))
        if args.rate:
            note = f"; measured open loop at {args.rate:g} msgs/s, at most {args.concurrency} in flight"
        elif args.concurrency != TARGET_CONCURRENCY:
            note = f"; measured at concurrency {args.concurrency}"
        else:
            note = ""
        out.append(f"full pipeline p99: {full['p99_ms']:.1f} ms  (target < {TARGET_P99_MS:.0f} ms with "
                   f"{TARGET_CONCURRENCY} concurrent senders{note}: "
                   + ("met)" if full["p99_ms"] < TARGET_P99_MS else
                      f"MISSED by {full['p99_ms'] - TARGET_P99_MS:.1f} ms, {full['p99_ms'] / TARGET_P99_MS:.1f}x)"))
        out.append(f"full pipeline errors: {full['errors']}  (target 0: " + ("met)" if not full["errors"] else "MISSED)"))
    return out


def main(argv: list[str] | None = None) -> int:
    command = shlex.join([sys.executable, *sys.argv] if argv is None else ["bench/callback.py", *argv])
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        import uvloop
        loop_name = "uvloop"
    except ImportError:
        uvloop, loop_name = None, "asyncio"

    def on_signal(signum, _frame):  # outside the event loop: start-up, db upgrade
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    tmp = Path(tempfile.mkdtemp(prefix="gridline-bench-"))
    database_url = args.database_url or f"sqlite:///{tmp / 'gridline.db'}"
    shown_url = show_url(database_url)
    env = server_env(args, database_url)
    run_id = int(time.time() * 1000)  # MsgId prefix: no clash with earlier runs on a kept database
    servers: dict[str, Server] = {}
    results: dict[str, dict] = {}
    roster = "n/a"
    product = product_state()
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    say(f"command: {command}")
    try:
        names = [args.only] if args.only else ["full", "baseline"]
        if "full" in names:
            upgrade = subprocess.run([*gridline_argv(), "db", "upgrade"], env=env, cwd=tmp,
                                     capture_output=True, text=True, timeout=120)
            if upgrade.returncode:
                raise RuntimeError(f"gridline db upgrade failed:\n{upgrade.stdout}{upgrade.stderr}")
            roster = ("strangers (--strangers)" if args.strangers
                      else seed_roster(database_url, run_id, args.senders) if args.mix == "draft"
                      else seed_county(database_url, run_id, args.senders, args.mix))
            servers["full"] = Server(
                "full", [*gridline_argv(), "serve", "--host", HOST, "--port", str(free_port(args.port)),
                         "--workers", str(args.workers)],
                env, tmp, tmp / "full.log", "/healthz")
        if "baseline" in names:
            # Above the full server's port: neither is listening yet, so "free" would find the same one.
            after = servers["full"].port + 1 if "full" in servers and args.port else args.port
            servers["baseline"] = Server(
                "baseline", [sys.executable, str(ROOT / "bench" / "baseline.py"), "--host", HOST,
                             "--port", str(free_port(after)), "--workers", str(args.workers)],
                env, tmp, tmp / "baseline.log", "/healthz")
        for s in servers.values():
            s.start()
        for s in servers.values():
            s.wait_ready(60)
            say(f"{s.name:8} server: {s.command}  (pid {s.proc.pid})")
        say(f"config: mix={args.mix} messages={args.messages} senders={args.senders} concurrency={args.concurrency} "
            f"workers={args.workers} warmup={args.warmup} rate={args.rate or 'closed loop'} client={args.client} "
            f"client_loop={loop_name} log_level={args.log_level} database={shown_url} cpus={os.cpu_count()}")
        say(f"product: {product}; senders: {roster}")

        async def run_all():
            loop, me = asyncio.get_running_loop(), asyncio.current_task()
            for sig in (signal.SIGINT, signal.SIGTERM):  # inside the loop: cancel, then clean up
                loop.add_signal_handler(sig, me.cancel)
            for k, name in enumerate(names):
                say(f"running {name} ...")
                results[name] = await run_target(servers[name], args, run_id, k * 10**7)

        if uvloop is not None:
            uvloop.run(run_all())
        else:
            asyncio.run(run_all())
    except (KeyboardInterrupt, asyncio.CancelledError):
        say("interrupted: stopping servers")
        return 130
    except RuntimeError as exc:
        say(f"error: {exc}")
        return 2
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # the clean-up below is bounded; let it finish
            signal.signal(sig, signal.SIG_IGN)
        for s in servers.values():
            s.stop()
        for s in servers.values():
            tail = s.log_tail() if results.get(s.name, {}).get("errors") else ""
            if tail:
                say(f"last lines of the {s.name} server log:\n{tail}")
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    full, base = results.get("full"), results.get("baseline")
    ratio = round(full["msgs_per_s"] / base["msgs_per_s"], 3) if full and base and base["msgs_per_s"] else None
    if args.json:
        print(json.dumps({
            "command": command,
            "config": {"mix": args.mix, "messages": args.messages, "senders": args.senders, "concurrency": args.concurrency,
                       "workers": args.workers, "warmup": args.warmup, "rate": args.rate, "client": args.client,
                       "client_loop": loop_name, "log_level": args.log_level,
                       "database": "temporary sqlite" if not args.database_url else shown_url,
                       "cpus": os.cpu_count(), "product": product, "roster": roster},
            "servers": {n: s.command for n, s in servers.items()},
            "results": results,
            "ratio_full_over_baseline": ratio,
            "verdicts": verdicts(results, args),
        }, ensure_ascii=False, indent=2))
    else:
        print()
        print(fmt_table(results, args))
        print()
        for line in verdicts(results, args):
            print(line)
    return 0 if all(r["errors"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
