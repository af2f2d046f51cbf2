"""Delivering the outbox: claim what is due, send it in batches, record each outcome.

A claim sets `sending` with a deadline; rows are claimed with FOR UPDATE SKIP LOCKED on
PostgreSQL (SQLite has one writer at a time), so several processes never pick the same
row. A failed try goes back to `pending` with exponential backoff and jitter; after
MAX_ATTEMPTS it is dead-lettered for the office. A process that dies mid-send leaves its
claim to expire, and the row is tried again: WeChat's API has no idempotency key, so after
a crash (or a timeout on a call that did go through) a message may arrive twice — never zero times.
Whoever must hear of a dead letter (the office, of an unknown WeCom user) is told by `on_dead`,
in the transaction that records it, so the news is given once; should telling fail, the outcomes
are kept all the same (a savepoint) — rows left unrecorded would be sent again.
"""

import logging
import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.clock import Clock
from bot.outbound.senders import LATER, RETRY, SENT, Outcome, Outgoing
from models import OutboxMessage

log = logging.getLogger("gridline.outbox")

CLAIM_FOR = timedelta(minutes=2)
BATCH = 2000  # two message/send calls of 1,000 userids
MAX_BATCHES = 25  # a channel's rows per pass: 50,000
PACED_BATCH = 10_000  # a paced channel's one batch: a robot's whole pile merges in one pass
MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(minutes=30)


@dataclass(frozen=True)
class DeadLetter:
    id: int
    channel: str
    recipient: str
    idempotency_key: str
    error: str | None


# Called with the session recording the outcomes and the rows that just went dead.
OnDead = Callable[[Session, list[DeadLetter]], None]


@dataclass
class Report:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential, capped, with full jitter so retries from many rows do not arrive together."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** (attempts - 1))
    return ceiling * (0.5 + rng.random() / 2)


def deliver_due(sessions: sessionmaker[Session], clock: Clock, senders: Mapping[str, object],
                rng: random.Random | None = None, on_dead: OnDead | None = None) -> Report:
    """One pass: everything due now, channel by channel, in batches of at most BATCH rows (up to
    MAX_BATCHES a channel, so one pass drains a broadcast); a paced sender (`paced = True`, the group
    robots) gets one batch of PACED_BATCH a pass, its pace being per pass."""
    rng = rng or random.Random()
    report = Report()
    for channel, sender in senders.items():
        paced = getattr(sender, "paced", False)
        size = PACED_BATCH if paced else BATCH
        for _ in range(1 if paced else MAX_BATCHES):
            rows = _claim(sessions, clock, channel, size)
            if rows:
                outcomes = sender.send([Outgoing(r.id, r.recipient, r.body, r.msgtype) for r in rows])
                _record(sessions, clock, channel, rows, outcomes, rng, report, on_dead)
            if len(rows) < size:
                break
    return report


def _record(sessions: sessionmaker[Session], clock: Clock, channel: str, rows: list[OutboxMessage],
            outcomes: Mapping[int, Outcome], rng: random.Random, report: Report, on_dead: OnDead | None) -> None:
    """Each row's outcome; rows that end alike are updated by one statement (a broadcast: one)."""
    now = clock.now()
    alike: dict[tuple, list[int]] = defaultdict(list)  # (tried, values) → row ids
    dead: list[DeadLetter] = []
    for row in rows:
        outcome = outcomes[row.id]
        values = {"claimed_until": None, "last_error": outcome.error}
        if outcome.status == SENT:
            values.update(status="sent", sent_at=now)
            report.sent += 1
        elif outcome.status == LATER:  # not tried: no attempt used up
            values.update(status="pending", next_attempt_at=now + outcome.after)
            report.retried += 1
        elif outcome.status == RETRY and row.attempts + 1 < MAX_ATTEMPTS:
            values.update(status="pending", next_attempt_at=now + backoff(row.attempts + 1, rng))
            report.retried += 1
        else:
            values.update(status="dead")
            report.dead += 1
            dead.append(DeadLetter(row.id, channel, row.recipient, row.idempotency_key, outcome.error))
        if outcome.error:
            report.errors[outcome.error] += 1
        alike[(outcome.status != LATER, tuple(sorted(values.items())))].append(row.id)
    with sessions.begin() as s:
        for (tried, values), ids in alike.items():
            statement = update(OutboxMessage).values(dict(values))
            if tried:
                statement = statement.values(attempts=OutboxMessage.attempts + 1)
            for chunk in _chunks(ids):
                s.execute(statement.where(OutboxMessage.id.in_(chunk)).execution_options(synchronize_session=False))
        if dead and on_dead is not None:
            try:
                with s.begin_nested():
                    on_dead(s, dead)
            except Exception:
                log.exception("telling of %d dead letters failed", len(dead))


def _claim(sessions: sessionmaker[Session], clock: Clock, channel: str, size: int) -> list[OutboxMessage]:
    now = clock.now()
    with sessions.begin() as s:
        due = (
            select(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.next_attempt_at <= now,
                   or_(OutboxMessage.status == "pending",
                       (OutboxMessage.status == "sending") & (OutboxMessage.claimed_until < now)))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(size)
        )
        if s.connection().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = list(s.scalars(due))
        claim = update(OutboxMessage).values(status="sending", claimed_until=now + CLAIM_FOR)
        for chunk in _chunks([r.id for r in rows]):
            s.execute(claim.where(OutboxMessage.id.in_(chunk)).execution_options(synchronize_session=False))
        s.expunge_all()
    return rows


def _chunks(ids: list[int]) -> list[list[int]]:
    """Ids in lists of at most BATCH: an IN list well under SQLite's limit on bound parameters."""
    return [ids[n:n + BATCH] for n in range(0, len(ids), BATCH)]
