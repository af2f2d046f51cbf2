"""One pass of due work, as of the clock's now: jobs (reminders, escalations, the weekly ledger,
follow-ups, the classifier's retrain), then the outbox."""

from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.clock import Clock
from app.outbound import deliver_once
from app.settings import Settings
from bot import replay
from bot.outbound.delivery import Report
from handlers import weekly
from handlers.jobs import JobReport
from handlers.jobs import run_due as run_jobs
from handlers.policy import Policy


@dataclass
class DueReport:
    jobs: JobReport
    delivery: Report


def run_due(settings: Settings, sessions: sessionmaker[Session], clock: Clock, policy: Policy) -> DueReport:
    now = clock.now()
    with sessions.begin() as s:
        weekly.ensure(s, now, settings.weekly_schedules, policy.tz, settings.job_payloads)
        # A callback is refused once its timestamp is out of range; until then its nonce is kept.
        replay.forget(s, now - 2 * replay.window(settings.max_message_age_s))
    # Jobs first: what they queue goes out in the same pass.
    jobs = run_jobs(sessions, now, policy)
    return DueReport(jobs, deliver_once(settings, sessions, clock))
