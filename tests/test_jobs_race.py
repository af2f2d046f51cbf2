"""run-due across processes: each due job handled once, in due order, through a race, a kill and downtime.

Cases are filed through handlers.cases.file_case. To reach thousands of jobs quickly, a filed case is
then copied row for row (case, members, deadlines, jobs) with every instant shifted together, as if the
same tip-off had been filed that much later. A job's effects are found by what it writes: remind →
a "提醒" event and outbox rows keyed remind:JOB:PERSON; escalate → a "逾期" (step 1) or "升级" event and
rows keyed escalate:JOB:PERSON; the first escalation of a deadline also marks it missed and writes one
deadline_misses row per responsible person.
"""

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, create_engine, func, insert, select, text

from handlers import deadlines, texts
from handlers.cases import Filing, file_case
from handlers.classify import Labels
from handlers.jobs import run_due
from handlers.policy import Policy
from models import Case, CaseEvent, CaseMember, Deadline, DeadlineMiss, Job, OutboxMessage, Person, Unit
from tests import township

TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy.load(None, TZ)
T = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)  # 17:00 in Asia/Shanghai: the runs happen outside quiet hours
APP_NAME = "gridline-jobs-race"  # libpq's application_name for the run-due subprocesses (PGAPPNAME)
ACTION = {1: "逾期"}  # escalation step → its case event; later steps are "升级"
KINDS = [("民生环境", "党政办"), ("涉黑涉法", "政法委"), ("涉贫政策", "乡村振兴办"), ("违规违纪", "纪委"),
         ("信访诉求", "信访办")]
SUMMARIES = ["村口垃圾堆放多日无人清运，气味很大", "有人在村里私设赌局，每晚都有人去", "低保名单里有人家里开着小卖部",
             "村会计挪用修路的钱给亲戚盖房", "征地补偿款到现在还没发到户"]
_codes = count(10000)  # copies' case numbers, clear of the ones file_case hands out


# -- building due work -----------------------------------------------------------------------------

def labels(n: int, **flags) -> Labels:
    category, department = KINDS[n % len(KINDS)]
    return Labels(category=category, lead_department=department, severity="紧急" if flags.get("urgent") else "一般",
                  urgent=flags.get("urgent", False), online=flags.get("online", False), involves_cadre=False,
                  village=None, platform=None, screen_name=None, links=())


def file_at(sessions, at: datetime, n: int, **flags) -> int:
    """File tip-off `n` (its kind, village and wording cycle with n) at `at`; the case id."""
    with sessions.begin() as s:
        reporter = s.scalars(select(Person).where(Person.name == "网格员小王")).one()
        villages = s.scalars(select(Unit.id).where(Unit.kind == "village").order_by(Unit.id)).all()
        case = file_case(s, Filing(reporter=reporter, summary=SUMMARIES[n % len(SUMMARIES)], labels=labels(n, **flags),
                                   village_id=villages[n % len(villages)]), at, POLICY)
        return case.id


def copy_case(sessions, case_id: int, shifts: list[timedelta]) -> None:
    """The filed case again for each shift: its case, members, deadlines and jobs, every instant moved by it."""
    cases, members, clocks, jobs = (m.__table__ for m in (Case, CaseMember, Deadline, Job))
    with sessions.begin() as s:
        db = s.connection()
        case = dict(db.execute(select(cases).where(cases.c.id == case_id)).mappings().one())
        people = db.execute(select(members.c.person_id, members.c.duty).where(members.c.case_id == case_id)).all()
        terms = [dict(d) for d in db.execute(select(clocks).where(clocks.c.case_id == case_id).order_by(clocks.c.id)).mappings()]
        work = [dict(j) for j in db.execute(select(jobs).where(jobs.c.case_id == case_id)).mappings()]
        del case["id"]
        new_cases = []
        for shift in shifts:
            at = case["created_at"] + shift
            new_cases.append({**case, "created_at": at, "code": f"XS-{at.astimezone(TZ):%Y%m%d}-{next(_codes)}"})
        ids = db.execute(insert(cases).returning(cases.c.id, sort_by_parameter_order=True), new_cases).scalars().all()
        db.execute(insert(members), [{"case_id": cid, "person_id": p, "duty": d} for cid in ids for p, d in people])
        new_clocks = [{**{k: v for k, v in d.items() if k != "id"}, "case_id": cid, "due_at": d["due_at"] + shift,
                       "started_at": d["started_at"] + shift} for cid, shift in zip(ids, shifts) for d in terms]
        clock_ids = db.execute(insert(clocks).returning(clocks.c.id, sort_by_parameter_order=True), new_clocks).scalars().all()
        new_id = {(cid, d["id"]): nid for (cid, d), nid in zip(((cid, d) for cid in ids for d in terms), clock_ids)}
        db.execute(insert(jobs), [
            {**{k: v for k, v in j.items() if k != "id"}, "case_id": cid, "deadline_id": new_id[cid, j["deadline_id"]],
             "due_at": j["due_at"] + shift} for cid, shift in zip(ids, shifts) for j in work])


def file_many(sessions, first: datetime, copies: int, every: timedelta, n: int, **flags) -> None:
    """`copies` cases like tip-off `n`, filed `every` apart from `first` on."""
    case_id = file_at(sessions, first, n, **flags)
    copy_case(sessions, case_id, [every * k for k in range(1, copies)])


def due_count(sessions, now: datetime) -> int:
    with sessions() as s:
        return s.scalar(_DUE.params(now=now))


_DUE = select(func.count()).select_from(Job).where(Job.status == "pending", Job.due_at <= bindparam("now"))


def build_race(sessions) -> None:
    """1,000 jobs due at T: 150 cases past their 2-hour acknowledgement (each a reminder that came too late
    and three escalation steps: 600 jobs) and 400 cases half-way through it (a live reminder each)."""
    township.load(sessions)
    # Filed 9½ h to 7 h before T, a minute apart: steps 1–3 of different cases interleave in due order,
    # so the two steps of one deadline land in different batches, run by different processes.
    file_many(sessions, T - timedelta(hours=9, minutes=30), 150, timedelta(minutes=1), 0)
    # Filed 115 to 62 minutes before T, 8 s apart: the reminder at an hour is due, the deadline is not.
    file_many(sessions, T - timedelta(minutes=115), 400, timedelta(seconds=8), 1)
    assert due_count(sessions, T) == 1000


# -- running run-due in its own OS process ---------------------------------------------------------

def start_run_due(database_url: str, now: datetime, cwd) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    # No channel credentials: delivery has no sender for WeCom and touches no network; nothing leaves the machine.
    env.update(GRIDLINE_DATABASE_URL=database_url, GRIDLINE_LOG_LEVEL="WARNING", PGAPPNAME=APP_NAME,
               GRIDLINE_WECOM_API_BASE="http://127.0.0.1:9", GRIDLINE_WECHAT_API_BASE="http://127.0.0.1:9")
    return subprocess.Popen([sys.executable, "-m", "app.cli", "jobs", "run-due", "--now", now.isoformat()],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


_REPORT = re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>\\d+)", re.escape(texts.T_RUN_DUE_JOBS)))


def finish(process: subprocess.Popen, timeout: float = 100) -> dict[str, int]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    assert "job_batch_failed" not in err and "job_failed" not in err, err
    return {k: int(v) for k, v in _REPORT.search(out).groupdict().items()}


def wait_for_backends_gone(sessions) -> None:
    """After a SIGKILL, PostgreSQL rolls the dead client's transaction back once it notices the closed socket."""
    deadline = time.monotonic() + 20
    while True:
        with sessions() as s:
            if s.connection().dialect.name != "postgresql" or not s.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"), {"app": APP_NAME}):
                return
        assert time.monotonic() < deadline, "the killed process's backend is still there"
        time.sleep(0.05)


@contextmanager
def starting_gate(sessions, waiting: int = 2):
    """On PostgreSQL, the processes started inside it claim their first jobs at the same instant: the
    table is locked until all of them wait for it (a pass takes well under a second, less than a
    process takes to start). SQLite has one writer at a time: no gate."""
    with sessions.begin() as s:
        if s.connection().dialect.name != "postgresql":
            yield
            return
        s.execute(text("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE"))
        yield
        deadline = time.monotonic() + 60
        while True:
            with sessions() as look:
                queued = look.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"
                                          " AND wait_event_type = 'Lock'"), {"app": APP_NAME})
            if queued == waiting:
                return
            assert time.monotonic() < deadline, f"{queued} of {waiting} processes came to the gate"
            time.sleep(0.05)


# -- what the jobs did -----------------------------------------------------------------------------

def job_effects(sessions, now: datetime) -> list[tuple]:
    """(job id, kind, case id, deadline id, status, the case event it writes, who answers for its deadline),
    in due order; the event is None for a job that has nothing to do at `now`."""
    with sessions() as s:
        jobs = s.execute(select(Job.id, Job.kind, Job.case_id, Job.deadline_id, Job.status, Job.payload,
                                Deadline.due_at, Deadline.terms).join(Deadline, Deadline.id == Job.deadline_id)
                         .order_by(Job.due_at, Job.id)).all()
        duties = defaultdict(set)
        for case_id, person_id, duty in s.execute(select(CaseMember.case_id, CaseMember.person_id, CaseMember.duty)):
            duties[case_id, duty].add(person_id)
    effects = []
    for job_id, kind, case_id, deadline_id, status, payload, deadline_due, terms in jobs:
        if kind == deadlines.REMIND:
            # A reminder due after its deadline has nothing true to say (the escalation speaks): moot.
            event = "提醒" if deadline_due > now else None
        else:
            event = ACTION.get(payload["step"], "升级")
        people = set().union(*(duties[case_id, d] for d in terms["responsible"]))
        effects.append((job_id, kind, case_id, deadline_id, status, event, people))
    return effects


def check_each_done_job_had_its_effects_once(sessions, now: datetime) -> dict[str, int]:
    """Every done job's effects exist exactly once, no pending job has any; counts of jobs by status."""
    with sessions() as s:
        keys = s.scalars(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.idempotency_key.like("remind:%") | OutboxMessage.idempotency_key.like("escalate:%"))).all()
        events = Counter(s.execute(select(CaseEvent.case_id, CaseEvent.action).where(
            CaseEvent.action.in_(["提醒", "逾期", "升级"]))).all())
        misses = Counter(s.execute(select(DeadlineMiss.deadline_id, DeadlineMiss.person_id)).all())
        missed = set(s.scalars(select(Deadline.id).where(Deadline.status == "missed")))
        statuses = dict(s.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    rows_of = Counter(key.rsplit(":", 1)[0] for key in keys)  # "remind:17" → how many people it went to
    expected_events, expected_misses, escalated = Counter(), Counter(), set()
    for job_id, kind, case_id, deadline_id, status, event, people in job_effects(sessions, now):
        effect = status == "done" and event is not None
        assert (rows_of[f"{kind}:{job_id}"] > 0) == effect, (job_id, kind, status, event)
        if effect:
            expected_events[case_id, event] += 1
        if status == "done" and kind == deadlines.ESCALATE and deadline_id not in escalated:
            escalated.add(deadline_id)
            expected_misses.update((deadline_id, p) for p in people)
    assert events == expected_events  # one event per job: none missing, none twice
    assert missed == escalated
    assert misses == expected_misses  # one per responsible person and missed deadline: the first escalation's
    return statuses


# -- the tests -------------------------------------------------------------------------------------

def test_two_processes_race_over_1000_due_jobs_and_each_is_handled_once(db, database_url, tmp_path):
    build_race(db)
    with starting_gate(db):
        processes = [start_run_due(database_url, T, tmp_path) for _ in range(2)]
    reports = [finish(p) for p in processes]
    handled = [sum(r.values()) for r in reports]
    assert sum(handled) == 1000 and all(r["failed"] == 0 for r in reports)
    if database_url.startswith("postgresql"):
        # SQLite has one writer at a time, and the process that holds the lock usually takes it again
        # before the waiting one wakes up: there, one process may do it all. Either way, once each.
        assert all(handled), f"one process did everything ({handled}): there was no race to test"
    assert sum(r["moot"] for r in reports) == 150  # the late reminders
    assert sum(r["remind"] for r in reports) == 400 and sum(r["escalate"] for r in reports) == 450
    assert check_each_done_job_had_its_effects_once(db, T)["done"] == 1000
    assert due_count(db, T) == 0


@pytest.fixture
def watch(database_url):
    """A connection that reads without BEGIN IMMEDIATE (the product's SQLite sessions take the write lock
    up front, and a writer that commits and begins again at once would starve them until it is done)."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")
    engine.dispose()


def test_a_process_killed_mid_run_loses_nothing_and_repeats_nothing(db, database_url, tmp_path, watch):
    township.load(db)
    # Filed 5 s apart from 07:00 the day before T (at most 10.8 h of filing, all in the day, so every
    # acknowledgement has its reminder and three escalation steps due by T).
    created, done_before, first, every = 0, 0, T - timedelta(hours=34), timedelta(seconds=5)
    for n, size in enumerate((600, 1800, 5400)):  # cases, 4 due jobs each: more when the machine outran the kill
        file_many(db, first, size, every, n)
        first += every * size
        created += 4 * size
        due = created - done_before
        assert due_count(db, T) == due
        process = start_run_due(database_url, T, tmp_path)
        while process.poll() is None and watch.scalar(_DUE, {"now": T}) == due:  # until its first batch is committed
            time.sleep(0.01)
        time.sleep(random.uniform(0, 0.3))  # then somewhere in a later batch
        process.send_signal(signal.SIGKILL)
        process.wait()
        wait_for_backends_gone(db)
        left = due_count(db, T)
        if 0 < left < due:
            break
        assert process.returncode == 0 and left == 0, (process.returncode, left, due)  # it finished before the kill
        done_before = created
    else:
        pytest.fail("could not kill run-due in the middle of its run")
    assert process.returncode == -signal.SIGKILL
    # What it committed is whole: each done job's effects once, each pending job untouched.
    assert check_each_done_job_had_its_effects_once(db, T)["done"] == created - left

    report = finish(start_run_due(database_url, T, tmp_path))
    assert sum(report.values()) == left and report["failed"] == 0  # the rest, and none of the done ones again
    assert check_each_done_job_had_its_effects_once(db, T)["done"] == created
    assert due_count(db, T) == 0


def test_after_downtime_jobs_due_at_many_past_instants_run_once_in_due_order(db):
    township.load(db)
    # Three days without a run: a tip-off every 47 minutes, some urgent, some online, petitions among them.
    start = T - timedelta(days=3)
    for n in range(90):
        file_at(db, start + timedelta(minutes=47 * n), n, urgent=n % 9 == 4, online=n % 7 == 3)
    due = due_count(db, T)
    with db() as s:
        instants = s.scalar(select(func.count(Job.due_at.distinct())).where(Job.status == "pending", Job.due_at <= T))
    assert due > 300 and instants > 200

    report = run_due(db, T, POLICY)
    assert sum(report.done.values()) + report.moot == due and report.failed == 0
    assert check_each_done_job_had_its_effects_once(db, T)["done"] == due
    assert run_due(db, T, POLICY).done == Counter()  # a second pass finds nothing

    with db() as s:
        rows = s.execute(select(OutboxMessage.idempotency_key, OutboxMessage.id).where(
            OutboxMessage.idempotency_key.like("remind:%") | OutboxMessage.idempotency_key.like("escalate:%"))).all()
        history = s.execute(select(CaseEvent.case_id, CaseEvent.action).where(
            CaseEvent.action.in_(["提醒", "逾期", "升级"])).order_by(CaseEvent.id)).all()
    first_row = defaultdict(lambda: float("inf"))
    for key, row_id in rows:
        job = key.rsplit(":", 1)[0]
        first_row[job] = min(first_row[job], row_id)
    effects = [e for e in job_effects(db, T) if e[4] == "done" and e[5] is not None]
    # Done in due order: each job's first message was written after those of every job due before it.
    written = [first_row[f"{kind}:{job_id}"] for job_id, kind, *_ in effects]
    assert len(written) > 200 and written == sorted(written)
    # And each case's history tells them in that order.
    expected, told = defaultdict(list), defaultdict(list)
    for _, _, case_id, _, _, event, _ in effects:
        expected[case_id].append(event)
    for case_id, action in history:
        told[case_id].append(action)
    assert told == expected


def test_a_reminder_run_after_its_deadline_says_nothing_the_escalation_speaks(db):
    township.load(db)
    file_at(db, T - timedelta(hours=5), 0)  # acknowledge by T-3h: its reminder (T-4h) runs too late
    file_at(db, T - timedelta(minutes=80), 1)  # acknowledge by T+40m: its reminder (T-20m) is still true
    report = run_due(db, T, POLICY)
    assert report.moot == 1 and report.done == Counter(remind=1, escalate=2)  # escalated at T-3h and T-1h
    with db() as s:
        reminders = s.scalars(select(OutboxMessage.body).where(OutboxMessage.idempotency_key.like("remind:%"))).all()
    assert reminders and all(f"还剩{texts.time_left(40)}" in body for body in reminders)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: one writer, nothing to skip
def test_a_job_whose_case_another_transaction_holds_is_skipped_not_waited_for(db):
    township.load(db)
    held, free = file_at(db, T - timedelta(hours=7), 0), file_at(db, T - timedelta(hours=7), 1)
    with db.begin() as s:  # e.g. a chat command on the case, or another run-due process on its jobs
        s.execute(select(Case.id).where(Case.id == held).with_for_update())
        started = time.monotonic()
        report = run_due(db, T, POLICY)
        assert time.monotonic() - started < 5
        assert report.moot == 1 and report.done == Counter(escalate=3)  # the free case's jobs
    with db() as s:
        pending = s.scalars(select(Job.case_id).where(Job.status == "pending", Job.due_at <= T)).all()
    assert set(pending) == {held} and len(pending) == 4
    report = run_due(db, T, POLICY)  # once the holder is done, its jobs run
    assert report.moot == 1 and report.done == Counter(escalate=3)
    assert check_each_done_job_had_its_effects_once(db, T)["done"] == 8


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_claim_uses_the_partial_index_in_a_prepared_generic_plan(db):
    from handlers.jobs import BATCH, _due

    with db() as s:
        # The plan PostgreSQL may settle on for a statement psycopg prepared (on its fifth run); with the
        # partial index usable it is an index scan even on an empty table once sequential scans are off.
        s.execute(text("SET plan_cache_mode = force_generic_plan"))
        s.execute(text("SET enable_seqscan = off"))
        for _ in range(6):
            s.execute(_due(s, T).limit(BATCH)).all()
        name, types = s.execute(text("SELECT name, parameter_types::text[] FROM pg_prepared_statements"
                                     " WHERE statement LIKE 'SELECT jobs.id%FOR UPDATE SKIP LOCKED'")).one()
        value = {"character varying": "'pending'", "timestamp with time zone": f"'{T.isoformat()}'"}
        args = ", ".join(value.get(t, str(BATCH)) for t in types)
        plan = "\n".join(s.connection().exec_driver_sql(f"EXPLAIN EXECUTE {name}({args})").scalars())
    assert "Index Scan using ix_jobs_pending_due on jobs" in plan, plan
