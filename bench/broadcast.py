"""Benchmark: one broadcast to 10,000 WeCom users, 200 village robots and a few app group chats,
delivered through the sandbox over real HTTP, on SQLite and on PostgreSQL.

For each engine, in this one invocation: a fresh database is migrated; a county of townships and
villages is seeded with --users people (each a WeCom userid), a group robot per village and an app
group chat for the first --appchats townships; the broadcast is queued the way the product queues
it (handlers.notify: notify_people — a text to every person — and notify_units — a markdown
wording to every chat of every village and township — in one transaction); then the real delivery wiring (app.outbound.deliver_once: tokens,
senders, dead-letter handling) runs passes against the sandbox (app.sandbox FakeWeChat.serve(),
uvicorn in a thread of this process, so its CPU counts in the wall time) until nothing is left.

Each pass is one server tick (app.main runs one every GRIDLINE_TICK_S, default 30 s): while anything
is left, the injected clock is moved on --tick-s and the next pass runs at once — the sandbox
enforces the robots' 20 messages a minute on that same clock. So the wall time is the work itself,
and robot pacing shows as ticks of simulated time. --robot-items queues that many extra short
notices per robot before the broadcast, to show piled-up items merged and paced.

    .venv/bin/python bench/broadcast.py                               # both engines
    .venv/bin/python bench/broadcast.py --engines sqlite --robot-items 60
    .venv/bin/python bench/broadcast.py --pg-url postgresql+psycopg://gridline@127.0.0.1:54332/postgres

PostgreSQL: --pg-url (an admin URL; a scratch database is created and dropped), else
$GRIDLINE_TEST_PG_URL, else scripts/pg.sh starts a throwaway server (port $GRIDLINE_TEST_PG_PORT,
default 54329) and stops it at the end. Exit status 0 when every message arrived exactly once.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from models.clock import FixedClock  # noqa: E402
from app.db import make_engine, session_factory  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.outbound import deliver_once  # noqa: E402
from app.sandbox import FakeWeChat  # noqa: E402
from app.settings import Settings  # noqa: E402
from handlers import notify  # noqa: E402
from models import ChatIdentity, ChatTarget, OutboxMessage, Person, PersonRole, Unit  # noqa: E402
from models.org import COUNTY, TOWNSHIP, VILLAGE  # noqa: E402
from models.outbox import MARKDOWN  # noqa: E402

CORP, SECRET, AGENT = "wwbenchbroadcast01", "bench-secret", "1000002"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TEXT = "【通知】今晚20:00至次日6:00全县网格员在岗值守，请保持手机畅通。"
WORDING = "**统一口径**\n关于西岔村停水：系管网检修，今晚恢复供水。请勿转发不实信息。"
TARGET_USER_CALLS = 10
MAX_PASSES = 500


def seed(url: str, users: int, villages: int, appchats: int) -> tuple[list[str], list[str], list[str]]:
    """The county, its townships and villages, the people and the chats; returns userids, robot keys, chat ids."""
    townships = max(1, villages // 20)
    engine = make_engine(url)
    with engine.begin() as db:
        county = db.execute(insert(Unit.__table__).values(kind=COUNTY, name="压测县")).inserted_primary_key[0]
        db.execute(insert(Unit.__table__), [{"kind": TOWNSHIP, "name": f"乡{t:02d}", "parent_id": county}
                                           for t in range(townships)])
        township_ids = db.execute(select(Unit.id).where(Unit.kind == TOWNSHIP).order_by(Unit.id)).scalars().all()
        db.execute(insert(Unit.__table__), [{"kind": VILLAGE, "name": f"村{v:03d}",
                                             "parent_id": township_ids[v % townships]} for v in range(villages)])
        village_ids = db.execute(select(Unit.id).where(Unit.kind == VILLAGE).order_by(Unit.id)).scalars().all()
        db.execute(insert(Person.__table__), [{"name": f"网格员{n:05d}", "phone": f"19{n:09d}", "active": True,
                                               "unit_id": village_ids[n % villages]} for n in range(users)])
        people = db.execute(select(Person.id).order_by(Person.id)).scalars().all()
        userids = [f"bench{n:05d}" for n in range(users)]
        db.execute(insert(PersonRole.__table__), [{"person_id": p, "role": "网格员"} for p in people])
        db.execute(insert(ChatIdentity.__table__), [{"person_id": p, "channel": "work", "external_id": u,
                                                     "active": True} for p, u in zip(people, userids)])
        robots = [f"bench-robot-{v:04d}" for v in range(villages)]
        chats = [f"benchchat{t:02d}" for t in range(min(appchats, townships))]
        db.execute(insert(ChatTarget.__table__),
                   [{"unit_id": v, "kind": "robot", "key": k} for v, k in zip(village_ids, robots)]
                   + [{"unit_id": t, "kind": "appchat", "key": c} for t, c in zip(township_ids, chats)])
    engine.dispose()
    return userids, robots, chats


def queue(sessions, clock, robot_items: int) -> tuple[int, float]:
    """The broadcast, as the product writes it: one transaction. Returns (rows, seconds)."""
    started = time.perf_counter()
    with sessions.begin() as s:
        now = clock.now()
        villages = s.scalars(select(Unit.id).where(Unit.kind == VILLAGE)).all()
        for n in range(robot_items):  # notices that piled up for the village robots before the broadcast
            notify.notify_units(s, villages, f"第{n + 1}条：本村今日巡查正常，无新增情况。", f"pile:{n}", now)
        notify.notify_people(s, s.scalars(select(Person).order_by(Person.id)).all(), TEXT, "broadcast:1", now)
        units = s.scalars(select(Unit.id).where(Unit.kind.in_((TOWNSHIP, VILLAGE)))).all()
        notify.notify_units(s, units, WORDING, "wording:1", now, MARKDOWN)
        rows = s.scalar(select(func.count()).select_from(OutboxMessage))
    return rows, time.perf_counter() - started


def deliver(settings, sessions, clock, tick: timedelta) -> dict:
    """Server ticks, as the scheduler runs them: one pass each, the clock moved on a tick between."""
    passes, first_pass_s = 0, None
    started = time.perf_counter()
    while passes < MAX_PASSES:
        deliver_once(settings, sessions, clock)
        passes += 1
        first_pass_s = first_pass_s or time.perf_counter() - started
        with sessions() as s:
            waiting = s.scalar(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.status.in_(("pending", "sending"))))
        if not waiting:
            break
        clock.advance(seconds=tick.total_seconds())
    return {"passes": passes, "simulated_s": (passes - 1) * tick.total_seconds(),
            "wall_s": time.perf_counter() - started, "first_pass_s": first_pass_s}


def run(engine_name: str, url: str, args) -> dict:
    upgrade(url)
    userids, robots, chats = seed(url, args.users, args.robots, args.appchats)
    clock = FixedClock(START)
    fake = FakeWeChat(clock)
    fake.add_work_app(CORP, SECRET, AGENT).add_userid(*userids).add_robot(*robots)
    for chat in chats:
        fake.add_appchat(chat, userids[:3])
    server = fake.serve()
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        settings = Settings(_env_file=None, database_url=url, work_corp_id=CORP, work_secret=SECRET,
                            work_agent_id=AGENT, wecom_api_base=server.work_base, log_level="WARNING")
        rows, queue_s = queue(sessions, clock, args.robot_items)
        timing = deliver(settings, sessions, clock, timedelta(seconds=args.tick_s))
        with sessions() as s:
            statuses = dict(s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    finally:
        server.stop()
        engine.dispose()
    got = fake.delivered()
    per_user = Counter(d.recipient for d in got if d.api == "work.message.send")
    per_robot: dict[str, list[datetime]] = defaultdict(list)
    for d in got:
        if d.api == "work.webhook.send":
            per_robot[d.recipient].append(d.at)
    robot_items = [d.text for d in got if d.api == "work.webhook.send"]
    exact = (set(per_user) == set(userids) and set(per_user.values()) == {1}
             and set(per_robot) == set(robots) and {d.recipient for d in got if d.api == "work.appchat.send"} == set(chats)
             and statuses == {"sent": rows} and not fake.dropped())
    return {
        "engine": engine_name, "rows": rows, "queue_s": queue_s, **timing, "statuses": statuses,
        "calls": fake.calls(), "user_calls": fake.calls("work.message.send"),
        "robot_items_arrived": sum(text.count("\n\n") + 1 for text in robot_items),
        "max_per_robot_minute": max((_max_per_minute(ts) for ts in per_robot.values()), default=0),
        "rate_limited": sum(1 for h in fake.history() if h.errcode == 45009),
        "exactly_once": exact,
    }


def _max_per_minute(times: list[datetime]) -> int:
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + timedelta(minutes=1)) for t in times)


def pg_admin(args, stack: list) -> str:
    if args.pg_url or os.environ.get("GRIDLINE_TEST_PG_URL"):
        return args.pg_url or os.environ["GRIDLINE_TEST_PG_URL"]
    started = subprocess.run(["bash", str(ROOT / "scripts/pg.sh"), "start"], capture_output=True, text=True,
                             timeout=180)
    if started.returncode:
        raise SystemExit(f"PostgreSQL could not be started: {started.stderr.strip()}")
    stack.append(lambda: subprocess.run(["bash", str(ROOT / "scripts/pg.sh"), "stop"], capture_output=True, timeout=120))
    return started.stdout.strip()


def scratch_pg(admin: str, stack: list) -> str:
    name = "gridline_bench_" + uuid.uuid4().hex[:8]
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()

    def drop() -> None:
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        engine.dispose()
    stack.append(drop)
    return admin.rsplit("/", 1)[0] + "/" + name


def fmt(r: dict) -> str:
    calls = ", ".join(f"{k} {v}" for k, v in sorted(r["calls"].items()))
    verdict = "met" if r["user_calls"] <= TARGET_USER_CALLS else "MISSED"
    return "\n".join([
        f"{r['engine']}: {r['rows']} outbox rows queued in {r['queue_s']:.2f} s (one transaction)",
        f"  API calls: {calls}",
        f"  message/send calls for the users: {r['user_calls']} (target <= {TARGET_USER_CALLS}: {verdict})",
        f"  wall time: first pass (every user, the app chats, the robots' first messages) {r['first_pass_s']:.2f} s;"
        f" everything {r['wall_s']:.2f} s "
        f"({r['passes']} passes = ticks, {r['simulated_s']:.0f} s of simulated time between the first and last)",
        f"  robots: {r['robot_items_arrived']} items arrived, at most {r['max_per_robot_minute']} sends per robot "
        f"in any minute, {r['rate_limited']} answers 45009",
        f"  outcome: {r['statuses']}; every message exactly once: {'yes' if r['exactly_once'] else 'NO'}",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark a broadcast through the outbox and the sandbox.")
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--robots", type=int, default=200, help="villages, one group robot each (default 200)")
    p.add_argument("--appchats", type=int, default=5, help="township app group chats (default 5)")
    p.add_argument("--robot-items", type=int, default=0, help="notices piled up per robot before the broadcast")
    p.add_argument("--tick-s", type=float, default=30, help="the server's delivery tick (default 30)")
    p.add_argument("--engines", default="sqlite,postgresql")
    p.add_argument("--pg-url", help="PostgreSQL admin URL (default: $GRIDLINE_TEST_PG_URL or scripts/pg.sh)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if min(args.users, args.robots) < 1 or args.appchats < 0 or args.robot_items < 0 or args.tick_s <= 0:
        p.error("--users and --robots must be >= 1; --appchats and --robot-items >= 0; --tick-s > 0")
    results, cleanup = [], []
    try:
        with tempfile.TemporaryDirectory(prefix="gridline-broadcast-") as tmp:
            for engine_name in args.engines.split(","):
                if engine_name == "sqlite":
                    url = f"sqlite:///{tmp}/broadcast.db"
                elif engine_name == "postgresql":
                    url = scratch_pg(pg_admin(args, cleanup), cleanup)
                else:
                    p.error(f"unknown engine {engine_name!r}")
                results.append(run(engine_name, url, args))
                if not args.json:
                    print(fmt(results[-1]), flush=True)
    finally:
        for undo in reversed(cleanup):
            undo()
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 0 if all(r["exactly_once"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
