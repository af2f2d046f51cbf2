"""Benchmark: one run-due pass over 1,000 due jobs among 1,000,000 open cases, then among 10,000,000.

Target: a pass under 1 s on PostgreSQL, its time growing with the number due, not the number open.

What is built, on a fresh SQLite file or a fresh database on a PostgreSQL server:

  county   20 townships × 10 villages (a grid each), 820 people, imported as a roster (花名册);
  due      600 cases filed through handlers.cases.file_case at NOW−5h (200: each has a reminder that
           runs too late, so moot, and two escalation steps due) and NOW−115…−62 min (400: a live
           reminder each) — 1,000 jobs due at NOW, with the events, outbox rows and misses they write
           (--due 2000: twice as many cases over the same times, and so on);
  open     bulk-inserted open cases (acknowledged / in progress), each as file_case would have left it
           after 签收: three members (verify, lead, inform), two deadlines (ack met, close pending, the
           terms copied from a filed case) and five pending jobs of the close deadline (two reminders,
           three escalation steps), all in the future. Generated inside the database (PostgreSQL:
           generate_series; SQLite: a recursive CTE), in chunks of 500,000 cases. No case history or
           sent outbox rows are generated for them: run-due only appends to those tables.

Each pass is handlers.jobs.run_due(sessions, NOW, policy) with the default policy: claims, handlers,
done marks — outbox delivery excluded. After each pass the due jobs and everything they wrote are
put back, so every pass does the same work. EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL and EXPLAIN
QUERY PLAN on SQLite show the claim query at each size.

    .venv/bin/python bench/run_due.py                                   # SQLite, 1M then 10M open
    .venv/bin/python bench/run_due.py --postgresql postgresql+psycopg://gridline@127.0.0.1:54339/postgres
    .venv/bin/python bench/run_due.py --open 1000000 --runs 7 --engine sqlite
    .venv/bin/python bench/run_due.py --open 1000000 --due 4000 --engine sqlite    # growth with the number due

--postgresql takes a server's URL; the bench creates the database gridline_bench_due there and drops
it at the end (--keep keeps it, and the SQLite file). On PostgreSQL, bulk loading skips foreign-key
triggers (session_replication_role = replica, which needs a superuser): the generated
rows are consistent by construction; SQLite checks them, as it does every write of the product. Memory stays small: rows are made by the database, not in Python.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, delete, event, func, select, text, update  # noqa: E402

from app.db import make_engine, session_factory  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from handlers import jobs as job_runner  # noqa: E402
from handlers.cases import Filing, file_case  # noqa: E402
from handlers.classify import Labels  # noqa: E402
from handlers.policy import Policy  # noqa: E402
from handlers.roster import import_roster  # noqa: E402
from models import (  # noqa: E402
    Case, CaseEvent, CaseMember, Deadline, DeadlineMiss, Department, Job, OutboxMessage, Person, PersonRole, Unit,
    VillageCover,
)

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)  # 17:00 in Asia/Shanghai
TZ = ZoneInfo("Asia/Shanghai")
TOWNSHIPS, VILLAGES = 20, 10
CATEGORIES = [("民生环境", "党政办", "村口垃圾堆放多日无人清运，气味很大，村民意见大"),
              ("涉黑涉法", "政法委", "有人在村里私设赌局，每晚都有外村人开车来"),
              ("涉贫政策", "乡村振兴办", "低保名单里有人家里开着小卖部，还买了小汽车"),
              ("违规违纪", "纪委", "修路的钱有一部分没用在路上，村民怀疑被挪用"),
              ("信访诉求", "信访办", "征地补偿款到现在还没发到户，有几户说要去县里反映")]
DEPARTMENTS = ("纪委", "政法委", "信访办", "乡村振兴办", "网信办", "党政办")
CHUNK = 500_000  # open cases per generated chunk (one transaction)
BENCH_DB = "gridline_bench_due"
SQLITE_CACHE_MB = 2048  # page cache of the SQLite loading connection


# ---------------------------------------------------------------- the county and the due work


def roster_csv() -> bytes:
    rows = ["乡镇,村,网格,姓名,手机号,角色,部门,包联村,企业微信账号"]
    n = 0

    def person(township, village, grid, name, role, dept="", covers=""):
        nonlocal n
        n += 1
        rows.append(f"{township},{village},{grid},{name},138{n:08d},{role},{dept},{covers},u{n:05d}")

    for t in range(1, TOWNSHIPS + 1):
        town = f"第{t}乡"
        villages = [f"{town}{v}村" for v in range(1, VILLAGES + 1)]
        for village in villages:
            person(town, village, "一网格", f"{village}网格员", "网格员")
            person(town, village, "", f"{village}书记", "村书记")
            person(town, village, "", f"{village}委员", "村两委")
        half = VILLAGES // 2
        person(town, "", "", f"{town}包村领导甲", "包村领导", covers="、".join(villages[:half]))
        person(town, "", "", f"{town}包村领导乙", "包村领导", covers="、".join(villages[half:]))
        for dept in DEPARTMENTS:
            person(town, "", "", f"{town}{dept}联络员", "部门联络员", dept=dept)
        person(town, "", "", f"{town}办公室", "办公室")
        person(town, "", "", f"{town}乡长", "主要领导")
        person(town, "", "", f"{town}副乡长", "分管领导")
    return "\n".join(rows).encode()


def places(sessions) -> list[dict]:
    """Per village: its township, grid, grid worker, secretary, 包村领导, and the category it files under
    with that department's liaison (villages take the five categories in turn)."""
    with sessions() as s:
        units = {u.id: u for u in s.scalars(select(Unit))}
        people = s.execute(select(Person.id, Person.unit_id, Person.department_id, PersonRole.role)
                           .join(PersonRole, PersonRole.person_id == Person.id)).all()
        departments = {d.id: d.name for d in s.scalars(select(Department))}
        covers = dict(s.execute(select(VillageCover.village_id, VillageCover.person_id)).all())
    by_role: dict[tuple, int] = {}
    for pid, unit_id, dept_id, role in people:
        by_role.setdefault((role, unit_id, departments.get(dept_id)), pid)
    out = []
    villages = sorted((u for u in units.values() if u.kind == "village"), key=lambda u: u.id)
    for idx, village in enumerate(villages):
        grid = next(u for u in units.values() if u.parent_id == village.id)
        category, department, summary = CATEGORIES[idx % len(CATEGORIES)]
        out.append({
            "idx": idx, "township_id": village.parent_id, "village_id": village.id, "grid_id": grid.id,
            "reporter_id": by_role["网格员", grid.id, None], "secretary_id": by_role["村书记", village.id, None],
            "liaison_id": by_role["部门联络员", village.parent_id, department], "leader_id": covers[village.id],
            "category": category, "department": department, "summary": summary,
        })
    return out


def build_county_and_due(sessions, policy: Policy, due: int) -> list[dict]:
    with sessions.begin() as s:
        report = import_roster(s, "county.csv", roster_csv())
        assert not report.refused, report.summary()
    villages = places(sessions)

    def file(n: int, at: datetime) -> None:
        v = villages[n % len(villages)]
        labels = Labels(category=v["category"], lead_department=v["department"], severity="一般", urgent=False,
                        online=False, involves_cadre=False, village=None, platform=None, screen_name=None, links=())
        with sessions.begin() as s:
            file_case(s, Filing(reporter=s.get(Person, v["reporter_id"]), summary=f"{v['summary']}（{n}）",
                                labels=labels, village_id=v["village_id"]), at, policy)

    k = due / 1000  # 1,000 due: 200 cases with 3 due jobs each, 400 with one; spread over the same times
    for n in range(int(200 * k)):
        file(n * 5, NOW - timedelta(hours=5) - timedelta(seconds=7 * n / k))
    for n in range(int(400 * k)):
        file(n * 5 + 1, NOW - timedelta(minutes=115) + timedelta(seconds=8 * n / k))
    return villages


# ---------------------------------------------------------------- bulk open cases, made by the database


class Dialect:
    def __init__(self, name: str):
        self.name = name

    def series(self, lo: int, hi: int) -> str:
        """A FROM item `g` with one column x = lo…hi."""
        if self.name == "postgresql":
            return f"generate_series({lo}, {hi}) AS g(x)"
        return f"(WITH RECURSIVE s(x) AS (SELECT {lo} UNION ALL SELECT x + 1 FROM s WHERE x < {hi}) SELECT x FROM s) AS g"

    def at(self, seconds: str) -> str:
        """NOW + `seconds` (an integer SQL expression), stored as each engine stores UTCDateTime."""
        if self.name == "postgresql":
            return f"(TIMESTAMPTZ '{NOW.isoformat()}' + ({seconds}) * INTERVAL '1 second')"
        return f"(strftime('%Y-%m-%d %H:%M:%S', '{NOW:%Y-%m-%d %H:%M:%S}', ({seconds}) || ' seconds') || '.000000')"

    def false(self) -> str:
        return "false" if self.name == "postgresql" else "0"


def templates(sessions) -> dict:
    """The terms and payloads file_case wrote for a filed case: the generated cases carry the same."""
    with sessions() as s:
        terms = {d.kind: d.terms for d in s.scalars(select(Deadline).where(Deadline.kind.in_(["ack", "close"])))}
        close = s.scalars(select(Deadline.id).where(Deadline.kind == "close")).first()
        payloads = [j.payload for j in s.scalars(select(Job).where(Job.deadline_id == close).order_by(Job.due_at))]
    assert len(payloads) == 5, payloads
    return {"terms": terms, "payloads": payloads}


def add_open_cases(engine, start: int, count: int, villages: list[dict], shapes: dict, log) -> None:
    """Open cases start+1 … start+count (their number x, not their id), in chunks."""
    d = Dialect(engine.dialect.name)
    q = lambda value: "'" + json.dumps(value, ensure_ascii=False).replace("'", "''") + "'"  # noqa: E731
    n_villages = len(villages)
    with engine.connect() as conn:
        ids = {t: conn.scalar(select(func.coalesce(func.max(m.id), 0))) for t, m in
               (("cases", Case), ("deadlines", Deadline), ("jobs", Job))}
    base_case, base_deadline, base_job = ids["cases"] - start, ids["deadlines"] - 2 * start, ids["jobs"] - 5 * start
    # created = NOW − 3.4 d … NOW − 1 h, rising with the case number within each chunk (ids follow filing
    # time): acknowledged, and every job of the 7-day close deadline still ahead. Integer arithmetic that
    # fits PostgreSQL's int4.
    created = f"(-293600 + (g.x % {CHUNK}) * 29 / {CHUNK // 10000})"
    close_offsets = [302400, 601200, 604800, 691200, 777600]  # half, −1h, escalation 0m, 1d, 2d
    for lo in range(start + 1, start + count + 1, CHUNK):
        hi = min(lo + CHUNK - 1, start + count)
        began = time.perf_counter()
        g = d.series(lo, hi)
        statements = [
            f"""INSERT INTO cases (id, code, status, category, severity, lead_department, township_id, village_id,
                    grid_id, reporter_id, urgent, online, involves_cadre, supervised, sensitive, summary, platform,
                    screen_name, links, attachments, created_at)
                SELECT {base_case} + g.x, 'XS-B' || g.x, CASE WHEN g.x % 3 = 0 THEN 'in_progress' ELSE 'acknowledged' END,
                    v.category, '一般', v.department, v.township_id, v.village_id, v.grid_id, v.reporter_id,
                    {d.false()}, {d.false()}, {d.false()}, {d.false()}, {d.false()}, v.summary, NULL, NULL, '[]', '[]',
                    {d.at(created)}
                FROM {g} JOIN bench_villages v ON v.idx = g.x % {n_villages}""",
            *(f"""INSERT INTO case_members (case_id, person_id, duty)
                SELECT {base_case} + g.x, v.{who}, '{duty}' FROM {g} JOIN bench_villages v ON v.idx = g.x % {n_villages}"""
              for who, duty in (("secretary_id", "verify"), ("liaison_id", "lead"), ("leader_id", "inform"))),
            f"""INSERT INTO deadlines (id, case_id, kind, due_at, status, started_at, terms, met_at)
                SELECT {base_deadline} + 2 * g.x - 1, {base_case} + g.x, 'ack', {d.at(created + ' + 7200')}, 'met',
                    {d.at(created)}, {q(shapes['terms']['ack'])}, {d.at(created + ' + 1800')} FROM {g}""",
            f"""INSERT INTO deadlines (id, case_id, kind, due_at, status, started_at, terms, met_at)
                SELECT {base_deadline} + 2 * g.x, {base_case} + g.x, 'close', {d.at(created + ' + 604800')}, 'pending',
                    {d.at(created)}, {q(shapes['terms']['close'])}, NULL FROM {g}""",
            *(f"""INSERT INTO jobs (id, kind, due_at, status, case_id, deadline_id, payload, key, done_at, error)
                SELECT {base_job} + 5 * g.x - {4 - k}, '{'remind' if 'point' in payload else 'escalate'}',
                    {d.at(f'{created} + {offset}')}, 'pending', {base_case} + g.x, {base_deadline} + 2 * g.x,
                    {q(payload)}, NULL, NULL, NULL FROM {g}"""
              for k, (offset, payload) in enumerate(zip(close_offsets, shapes["payloads"]))),
        ]
        with engine.begin() as conn:
            if d.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # no FK triggers: consistent by construction
            else:
                conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_MB * 1024}")  # index pages stay in memory
            for sql in statements:
                conn.exec_driver_sql(sql.replace("%", "%%") if d.name == "postgresql" else sql)  # psycopg's placeholders
            if d.name == "sqlite":
                conn.exec_driver_sql("PRAGMA cache_size = -2000")  # SQLite's default again, for the timed passes
        log(f"  open cases {lo - start:,}…{hi - start:,} of {count:,}: {time.perf_counter() - began:.1f} s")
    if d.name == "postgresql":
        with engine.begin() as conn:
            for table in ("cases", "deadlines", "jobs", "case_members"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def load_villages(engine, villages: list[dict]) -> None:
    columns = ["idx", "township_id", "village_id", "grid_id", "reporter_id", "secretary_id", "liaison_id",
               "leader_id", "category", "department", "summary"]
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_villages")
        conn.exec_driver_sql("CREATE TABLE bench_villages (idx INTEGER PRIMARY KEY, township_id INTEGER, village_id INTEGER,"
                             " grid_id INTEGER, reporter_id INTEGER, secretary_id INTEGER, liaison_id INTEGER,"
                             " leader_id INTEGER, category TEXT, department TEXT, summary TEXT)")
        conn.execute(text(f"INSERT INTO bench_villages VALUES ({', '.join(':' + c for c in columns)})"), villages)


def analyze(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum would have done after such a load
    else:
        raw = engine.raw_connection()  # outside the BEGIN IMMEDIATE the engine's transactions start with
        try:
            raw.execute("PRAGMA analysis_limit = 1000")  # sampled, as PRAGMA optimize would
            raw.execute("ANALYZE")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()


# ---------------------------------------------------------------- a pass, put back afterwards


class Due:
    """The due jobs and a mark in each table run-due writes to, to put everything back after a pass."""

    def __init__(self, sessions):
        with sessions() as s:
            self.jobs = s.scalars(select(Job.id).where(Job.status == "pending", Job.due_at <= NOW)).all()
            self.deadlines = s.scalars(select(Job.deadline_id).where(Job.id.in_(self.jobs)).distinct()).all()
            self.cases = s.scalars(select(Job.case_id).where(Job.id.in_(self.jobs)).distinct()).all()
            self.marks = {m: s.scalar(select(func.coalesce(func.max(m.id), 0))) for m in (CaseEvent, OutboxMessage, DeadlineMiss)}

    def reset(self, sessions) -> None:
        with sessions.begin() as s:
            for model, mark in self.marks.items():
                s.execute(delete(model).where(model.id > mark))
            s.execute(update(Job).where(Job.id.in_(self.jobs)).values(status="pending", done_at=None))
            s.execute(update(Deadline).where(Deadline.id.in_(self.deadlines)).values(status="pending"))
            s.execute(update(Case).where(Case.id.in_(self.cases)).values(supervised=False))


def timed_passes(engine, sessions, policy: Policy, due: Due, runs: int, log) -> tuple[list[float], int]:
    """Each pass's time, and how many statements a pass sends (SQLite's BEGIN IMMEDIATE included)."""
    times, statements = [], []
    count = lambda *_: statements.append(1)  # noqa: E731
    for run in range(runs):
        event.listen(engine, "before_cursor_execute", count)
        began = time.perf_counter()
        report = job_runner.run_due(sessions, NOW, policy)
        times.append(time.perf_counter() - began)
        event.remove(engine, "before_cursor_execute", count)
        handled = sum(report.done.values()) + report.moot + report.failed
        assert handled == len(due.jobs) and not report.failed, report
        log(f"  pass {run + 1}: {times[-1]:.3f} s  ({dict(report.done)}, moot {report.moot}; "
            f"load average {os.getloadavg()[0]:.1f})")
        due.reset(sessions)
    return times, len(statements) // runs


def claim_plan(engine, sessions) -> str:
    """The plan of the claim query run_due sends (its first batch), executed and rolled back."""
    with sessions() as s:
        query = job_runner._due(s, NOW).limit(job_runner.BATCH)
        compiled = query.compile(dialect=engine.dialect)
        params = compiled.construct_params()
        processors = compiled._bind_processors
        values = {k: processors[k](v) if k in processors else v for k, v in params.items()}
        if compiled.positional:
            values = tuple(values[k] for k in compiled.positiontup)
        conn = s.connection()
        if engine.dialect.name == "postgresql":
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, values).scalars().all()
            plan = "\n".join(rows)
        else:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled.string, values).all()
            plan = "\n".join(f"{'  ' * (parent > 0)}{detail}" for _, parent, _, detail in rows)
            began = time.perf_counter()
            got = len(conn.exec_driver_sql(compiled.string, values).all())
            plan += f"\n(ran in {1000 * (time.perf_counter() - began):.2f} ms, {got} rows)"
        s.rollback()
    return plan


def counts(engine) -> dict:
    with engine.connect() as conn:
        return {
            "open cases": conn.scalar(select(func.count()).select_from(Case)),
            "jobs": conn.scalar(select(func.count()).select_from(Job)),
            "pending jobs": conn.scalar(select(func.count()).select_from(Job).where(Job.status == "pending")),
            "due jobs": conn.scalar(select(func.count()).select_from(Job).where(Job.status == "pending", Job.due_at <= NOW)),
        }


# ---------------------------------------------------------------- main


def run(engine_name: str, url: str, sizes: list[int], runs: int, due_jobs: int, log) -> list[dict]:
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    policy = Policy.load(None, TZ)
    began = time.perf_counter()
    villages = build_county_and_due(sessions, policy, due_jobs)
    filed = int(600 * due_jobs / 1000)
    log(f"{engine_name}: county and {filed:,} filed cases in {time.perf_counter() - began:.1f} s")
    shapes = templates(sessions)
    load_villages(engine, villages)
    due = Due(sessions)
    assert len(due.jobs) == due_jobs, len(due.jobs)
    results, have = [], 0
    for size in sizes:
        began = time.perf_counter()
        add_open_cases(engine, have, size - have - (filed if have == 0 else 0), villages, shapes, log)
        load_s = time.perf_counter() - began
        analyze(engine)
        analyze_s = time.perf_counter() - began - load_s
        have = size
        n = counts(engine)
        log(f"{engine_name} at {n['open cases']:,} open cases ({n['jobs']:,} jobs, {n['pending jobs']:,} pending, "
            f"{n['due jobs']:,} due): loaded in {load_s:.0f} s, {'VACUUM ' if engine_name == 'postgresql' else ''}"
            f"ANALYZE {analyze_s:.0f} s")
        plan = claim_plan(engine, sessions)
        log(plan)
        times, per_pass = timed_passes(engine, sessions, policy, due, runs, log)
        log(f"  {per_pass:,} statements per pass")
        results.append({"engine": engine_name, **n, "load_s": load_s, "analyze_s": analyze_s, "passes_s": times,
                        "median_s": statistics.median(times), "statements": per_pass, "plan": plan})
    engine.dispose()
    return results


def parse_args(argv):
    p = argparse.ArgumentParser(description="Benchmark one run-due pass: 1,000 due among many open cases.")
    p.add_argument("--engine", choices=["sqlite", "postgresql", "both"], help="default: both when --postgresql is given")
    p.add_argument("--postgresql", metavar="URL", help="a PostgreSQL server (any database on it); the bench makes its own")
    p.add_argument("--open", type=int, action="append", help="open cases, ascending, repeatable (default 1,000,000 and 10,000,000)")
    p.add_argument("--runs", type=int, default=5, help="timed passes at each size (default 5)")
    p.add_argument("--due", type=int, default=1000, help="jobs due at NOW, a multiple of 500 (default 1,000)")
    p.add_argument("--keep", action="store_true", help="keep the databases")
    p.add_argument("--json", action="store_true", help="print the results as JSON at the end")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sizes = sorted(args.open or [1_000_000, 10_000_000])
    engines = [args.engine] if args.engine and args.engine != "both" else (["sqlite", "postgresql"] if args.postgresql else ["sqlite"])
    if "postgresql" in engines and not args.postgresql:
        print("--postgresql URL is needed for PostgreSQL", file=sys.stderr)
        return 2

    def log(line: str) -> None:
        print(line, flush=True)

    results = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks below clean up
    tmp = Path(tempfile.mkdtemp(prefix="gridline-bench-due-"))
    try:
        for name in engines:
            if name == "sqlite":
                url = f"sqlite:///{tmp / 'gridline.db'}"
            else:
                admin = create_engine(args.postgresql, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
                    conn.exec_driver_sql(f"CREATE DATABASE {BENCH_DB}")
                url = args.postgresql.rsplit("/", 1)[0] + "/" + BENCH_DB
            try:
                results += run(name, url, sizes, args.runs, args.due, log)
            finally:
                if name == "postgresql" and not args.keep:
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
                    admin.dispose()
    finally:
        if args.keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("| engine | open cases | jobs rows | due | load s | (VACUUM) ANALYZE s | pass s (each run) | median s | statements/pass |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['engine']} | {r['open cases']:,} | {r['jobs']:,} | {r['due jobs']:,} | {r['load_s']:.0f} | "
              f"{r['analyze_s']:.0f} | {', '.join(f'{t:.2f}' for t in r['passes_s'])} | {r['median_s']:.3f} | "
              f"{r['statements']:,} |")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
