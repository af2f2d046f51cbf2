"""Delivering the outbox: claim what is due, send it in batches, record each outcome.

A claim sets `sending` with a deadline; rows are claimed with FOR UPDATE SKIP LOCKED on
PostgreSQL (SQLite has one writer at a time), so several processes never pick the same
row. A failed try goes back to `pending` with exponential backoff and jitter; after
MAX_ATTEMPTS it is dead-lettered for the office. A process that dies mid-send leaves its
claim to expire, and the row is tried again: WeChat's API has no idempotency key, so after
a crash (or a timeout on a call that did go through) a message may arrive twice — never zero times.
Whoever must hear of a dead letter (the office, of an unknown WeCom user) is told by `on_dead`,
in the transaction that records it, so the news is never lost nor given twice.
"""

import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.clock import Clock
from bot.outbound.senders import RETRY, SENT, Outgoing
from models import OutboxMessage

CLAIM_FOR = timedelta(minutes=2)
BATCH = 2000
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
    """One pass: everything due now, for the channels we have senders for."""
    rng = rng or random.Random()
    report = Report()
    claimed = _claim(sessions, clock, list(senders))
    by_channel: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in claimed:
        by_channel[row.channel].append(row)
    for channel, rows in by_channel.items():
        outcomes = senders[channel].send([Outgoing(r.id, r.recipient, r.body, r.msgtype) for r in rows])
        now = clock.now()
        with sessions.begin() as s:
            dead: list[DeadLetter] = []
            for row in rows:
                outcome = outcomes[row.id]
                attempts = row.attempts + 1
                values = {"attempts": attempts, "claimed_until": None, "last_error": outcome.error}
                if outcome.status == SENT:
                    values.update(status="sent", sent_at=now)
                    report.sent += 1
                elif outcome.status == RETRY and attempts < MAX_ATTEMPTS:
                    values.update(status="pending", next_attempt_at=now + backoff(attempts, rng))
                    report.retried += 1
                else:
                    values.update(status="dead")
                    report.dead += 1
                    dead.append(DeadLetter(row.id, channel, row.recipient, row.idempotency_key, outcome.error))
                if outcome.error:
                    report.errors[outcome.error] += 1
                s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
                          .execution_options(synchronize_session=False))
            if dead and on_dead is not None:
                on_dead(s, dead)
    return report


def _claim(sessions: sessionmaker[Session], clock: Clock, channels: list[str]) -> list[OutboxMessage]:
    now = clock.now()
    with sessions.begin() as s:
        due = (
            select(OutboxMessage)
            .where(OutboxMessage.channel.in_(channels), OutboxMessage.next_attempt_at <= now,
                   or_(OutboxMessage.status == "pending",
                       (OutboxMessage.status == "sending") & (OutboxMessage.claimed_until < now)))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(BATCH)
        )
        if s.connection().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = list(s.scalars(due))
        for row in rows:
            row.status, row.claimed_until = "sending", now + CLAIM_FOR
        s.flush()
        s.expunge_all()
    return rows
