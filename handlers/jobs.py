"""Running what is due: each job once, across processes, in due order.

A job's effects (events, outbox rows, marks) and its `done` mark commit in one transaction,
so a process killed mid-run loses nothing and repeats nothing it committed. Claims take
FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite each transaction holds the one write lock.
A job that raises is tried again later (RETRY_AFTER, growing fourfold) up to MAX_ATTEMPTS times; then it
is failed for good and its township's office is told, since what it should have sent did not go.

Long jobs (the classifier's retrain: tens of seconds of fitting) are not run inside a batch's
transaction, which would hold the database while they work: they are claimed (marked done) in a
short transaction of their own and run after the batches; an error is recorded on the row.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import literal_column, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from handlers import deadlines, followup, learning, weekly, wording, workdays
from handlers.cases import FOLLOW_UP_JOB
from handlers.lookups import Lookups
from handlers.notify import report_failed_job
from handlers.policy import Policy
from models import Case, Deadline, Job

log = logging.getLogger("gridline.jobs")
BATCH = 200
SQLITE_YIELD_S = 0.02
MAX_ATTEMPTS = 4  # the first run and three retries …
RETRY_AFTER = timedelta(minutes=1)  # … 1, 4 and 16 minutes later

# kind → handler(session, job, now, policy, lookups) → True when it had an effect, False when moot
HANDLERS: dict[str, Callable[[Session, Job, datetime, Policy, Lookups], bool]] = {
    deadlines.REMIND: deadlines.remind,
    deadlines.ESCALATE: deadlines.escalate,
    weekly.UPDATE: weekly.ask_for_updates,
    weekly.SUMMARY: weekly.send_summary,
    FOLLOW_UP_JOB: followup.ask,
    wording.REMIND: wording.remind,
}
# kind → handler(sessions, payload, now): runs outside any transaction, once per pass however many
# rows of its kind are due (several missed weeks need one retrain).
LONG_HANDLERS: dict[str, Callable[[sessionmaker[Session], dict, datetime], object]] = {
    learning.RETRAIN: learning.retrain_job,
}


@dataclass
class JobReport:
    done: Counter = field(default_factory=Counter)  # by kind
    moot: int = 0  # due, but the deadline was met or the case closed meanwhile, or nobody to tell
    retried: int = 0  # raised, and will run again later
    failed: int = 0  # raised for the last time: failed for good, the office told

    def add(self, outcomes: list[str | None]) -> None:
        for kind in outcomes:
            if kind is None:
                self.moot += 1
            else:
                self.done[kind] += 1


def run_due(sessions: sessionmaker[Session], now: datetime, policy: Policy) -> JobReport:
    """Everything due at `now`, oldest first, until nothing due is left unclaimed."""
    report = JobReport()
    with sessions.begin() as s:
        workdays.warn_unknown_year(s, now, policy)
    while True:
        ids: list[int] = []
        try:
            with sessions.begin() as s:
                jobs = list(s.scalars(_due(s, now).limit(BATCH)))
                ids = [job.id for job in jobs]
                # Org lookups are made once per batch and its outbox rows written at once (handlers/
                # lookups.py); the batch's cases and deadlines are loaded together and held here, so the
                # handlers' session.get finds them.
                lookups = Lookups(s, gather=True)
                lookups.once(("batch targets",), lambda: _load_targets(s, jobs))  # held for the batch
                deadlines.prepare(lookups, [job for job in jobs if job.kind in (deadlines.REMIND, deadlines.ESCALATE)])
                # The handlers read their own changes from the objects in memory and never query rows
                # they wrote: the batch's ORM writes go out together at commit, not in a flush before
                # each of their queries.
                with s.no_autoflush:
                    outcomes = [_run(s, job, now, policy, lookups) for job in jobs]
                lookups.flush_outbox()
        except OperationalError:
            # The database, not a job: a deadlock, a lost connection. Nothing of the batch is kept;
            # the next pass (the next tick) takes it again.
            log.exception("job batch hit a database error; left for the next pass", extra={"event": "job_batch_db"})
            return report
        except Exception:
            if not ids:
                raise
            # One bad job must not hold up the rest: redo the batch a job at a time.
            log.exception("job batch failed; running its jobs one by one", extra={"event": "job_batch_failed"})
            for job_id in ids:
                if not _run_alone(sessions, job_id, now, policy, report):
                    return report
            continue
        if not ids:
            _run_long(sessions, now, report)
            return report
        report.add(outcomes)
        if sessions.kw["bind"].dialect.name == "sqlite":
            # SQLite's write lock is not fair: a pause between batches lets chat messages in
            # while a long backlog (after downtime) runs.
            time.sleep(SQLITE_YIELD_S)


# A literal, not a bound parameter: only then can a generic plan (psycopg prepares a statement on its
# fifth run) prove ix_jobs_pending_due's WHERE status = 'pending'; with a parameter it is a sequential scan.
PENDING = literal_column("'pending'")


def _due(session: Session, now: datetime):
    query = (select(Job).where(Job.status == PENDING, Job.due_at <= now, Job.kind.not_in(list(LONG_HANDLERS)))
             .order_by(Job.due_at, Job.id))
    if session.connection().dialect.name == "postgresql":
        # Claiming a job claims its case too. Two processes on two jobs of one case (a deadline's first and
        # second escalation, in different batches) would each see the deadline still pending and both count
        # the miss. The case is locked before the job, so whoever holds it gets all of its due jobs, in due
        # order; the others skip them, and never wait (no deadlocks between run-due processes).
        holds_case = select(Case.id).where(Case.id == Job.case_id).with_for_update(skip_locked=True).exists()
        query = query.where(or_(Job.case_id.is_(None), holds_case)).with_for_update(skip_locked=True)
    return query


def _run_long(sessions: sessionmaker[Session], now: datetime, report: JobReport) -> None:
    """The due long jobs: claimed (marked done) in one short transaction, so each runs once across processes,
    then run outside it. A process killed while one runs loses that run, never repeats it."""
    with sessions.begin() as s:
        query = (select(Job).where(Job.status == PENDING, Job.due_at <= now, Job.kind.in_(list(LONG_HANDLERS)))
                 .order_by(Job.due_at, Job.id))
        if s.connection().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed: dict[str, tuple[int, dict]] = {}
        for job in s.scalars(query):
            job.status, job.done_at = "done", now
            claimed[job.kind] = (job.id, dict(job.payload or {}))  # the latest of its kind runs
    for kind, (job_id, payload) in claimed.items():
        try:
            LONG_HANDLERS[kind](sessions, payload, now)
        except Exception as exc:  # what it would have replaced (the old model) goes on serving
            log.exception("long job failed", extra={"event": "job_failed", "job_id": job_id, "kind": kind})
            with sessions.begin() as s:
                job = s.get(Job, job_id)
                job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"[:200]
                report_failed_job(s, job_id, kind, None, now)  # the offices hear: no one else would
            report.failed += 1
        else:
            report.done[kind] += 1


def _load_targets(session: Session, jobs: list[Job]) -> list:
    """The batch's cases and deadlines in two queries instead of two per job. The session's identity map
    holds objects weakly: the caller keeps the list for as long as the batch runs."""
    case_ids = {job.case_id for job in jobs if job.case_id is not None}
    deadline_ids = {job.deadline_id for job in jobs if job.deadline_id is not None}
    return [*session.scalars(select(Case).where(Case.id.in_(case_ids))),
            *session.scalars(select(Deadline).where(Deadline.id.in_(deadline_ids)))]


def _run(session: Session, job: Job, now: datetime, policy: Policy, lookups: Lookups | None = None) -> str | None:
    """Run one claimed job and mark it done; its kind when it had an effect, None when moot."""
    handler = HANDLERS.get(job.kind)
    if handler is None:
        raise LookupError(f"no handler for job kind {job.kind!r}")
    effect = handler(session, job, now, policy, lookups or Lookups(session))
    job.status, job.done_at = "done", now
    return job.kind if effect else None


def _run_alone(sessions: sessionmaker[Session], job_id: int, now: datetime, policy: Policy,
               report: JobReport) -> bool:
    """Run one job in its own transaction; a job that raises is retried later, or failed for good after its
    last attempt. False on a database error: the pass stops and leaves the rest pending."""
    try:
        with sessions.begin() as s:
            job = s.scalars(_due(s, now).where(Job.id == job_id)).one_or_none()
            outcome = [_run(s, job, now, policy)] if job is not None else []  # another process may have it
        report.add(outcome)
    except OperationalError:
        log.exception("job hit a database error; left pending", extra={"event": "job_db", "job_id": job_id})
        return False
    except Exception as exc:
        log.exception("job failed", extra={"event": "job_failed", "job_id": job_id})
        _failed(sessions, job_id, now, f"{type(exc).__name__}: {exc}"[:200], report)
    return True


def _failed(sessions: sessionmaker[Session], job_id: int, now: datetime, error: str, report: JobReport) -> None:
    with sessions.begin() as s:
        job = s.scalars(select(Job).where(Job.id == job_id, Job.status == "pending").with_for_update()).one_or_none()
        if job is None:  # another process has dealt with it meanwhile
            return
        job.attempts, job.error = job.attempts + 1, error
        if job.attempts < MAX_ATTEMPTS:
            job.due_at = now + RETRY_AFTER * 4 ** (job.attempts - 1)
            report.retried += 1
            return
        job.status, job.done_at = "failed", now
        report_failed_job(s, job.id, job.kind, job.case_id, now)
        report.failed += 1
