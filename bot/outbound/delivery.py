"""Delivering the outbox: claim what is due, send it in batches, record each outcome.

A claim sets `sending`, the pass that owns it (`claimed_by`) and a deadline; rows are claimed with
FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite has one writer at a time), so several processes never
pick the same row. While a batch is being sent (one HTTP call a message on some channels: minutes for
a big batch) its claim is renewed every third of CLAIM_FOR, so it never runs out under a live sender;
outcomes are recorded only where the claim is still the pass's own. A failed try goes back to `pending` with exponential backoff and jitter; after
MAX_ATTEMPTS it is dead-lettered for the office. A process that dies mid-send leaves its
claim to expire, and the row is tried again: WeChat's API has no idempotency key, so after
a crash (or a timeout on a call that did go through) a message may arrive twice — never zero times.
Whoever must hear of a dead letter (the office, of an unknown WeCom user) is told by `on_dead`,
in the transaction that records it, so the news is given once; should telling fail, the outcomes
are kept all the same (a savepoint) — rows left unrecorded would be sent again.
"""

import logging
import random
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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
                rng: random.Random | None = None, on_dead: OnDead | None = None,
                claim_for: timedelta = CLAIM_FOR) -> Report:
    """One pass: everything due now, channel by channel, in batches of at most BATCH rows (up to
    MAX_BATCHES a channel, so one pass drains a broadcast); a paced sender (`paced = True`, the group
    robots) gets one batch of PACED_BATCH a pass, its pace being per pass."""
    rng = rng or random.Random()
    report = Report()
    owner = uuid.uuid4().hex
    for channel, sender in senders.items():
        paced = getattr(sender, "paced", False)
        size = PACED_BATCH if paced else BATCH
        for _ in range(1 if paced else MAX_BATCHES):
            rows = _claim(sessions, clock, channel, size, owner, claim_for)
            if rows:
                with _renewed(sessions, clock, [r.id for r in rows], owner, claim_for):
                    outcomes = sender.send([Outgoing(r.id, r.recipient, r.body, r.msgtype) for r in rows])
                _record(sessions, clock, channel, rows, outcomes, rng, report, on_dead, owner)
            if len(rows) < size:
                break
    return report


@contextmanager
def _renewed(sessions: sessionmaker[Session], clock: Clock, ids: list[int], owner: str,
             claim_for: timedelta) -> Iterator[None]:
    """Keep the claim on `ids` alive while the block runs: a thread pushes its deadline on every third of
    `claim_for`. A process that dies stops renewing, and its rows are free again `claim_for` later."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(claim_for.total_seconds() / 3):
            try:
                with sessions.begin() as s:
                    mine = (OutboxMessage.claimed_by == owner) & (OutboxMessage.status == "sending")
                    for chunk in _chunks(ids):
                        s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(chunk), mine)
                                  .values(claimed_until=clock.now() + claim_for)
                                  .execution_options(synchronize_session=False))
            except Exception:  # a missed renewal shortens the claim; the next one may still make it
                log.exception("renewing an outbox claim failed")

    thread = threading.Thread(target=renew, name="outbox-claim", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _record(sessions: sessionmaker[Session], clock: Clock, channel: str, rows: list[OutboxMessage],
            outcomes: Mapping[int, Outcome], rng: random.Random, report: Report, on_dead: OnDead | None,
            owner: str) -> None:
    """Each row's outcome, where the claim is still `owner`'s; rows that end alike are updated by one
    statement (a broadcast: one)."""
    now = clock.now()
    alike: dict[tuple, list[int]] = defaultdict(list)  # (tried, values) → row ids
    for row in rows:
        outcome = outcomes[row.id]
        values = {"claimed_until": None, "claimed_by": None, "last_error": outcome.error}
        if outcome.status == SENT:
            values.update(status="sent", sent_at=now)
        elif outcome.status == LATER:  # not tried: no attempt used up
            values.update(status="pending", next_attempt_at=now + outcome.after)
        elif outcome.status == RETRY and row.attempts + 1 < MAX_ATTEMPTS:
            values.update(status="pending", next_attempt_at=now + backoff(row.attempts + 1, rng))
        else:
            values.update(status="dead")
        alike[(outcome.status != LATER, tuple(sorted(values.items())))].append(row.id)
    mine = (OutboxMessage.claimed_by == owner) & (OutboxMessage.status == "sending")
    recorded: set[int] = set()
    with sessions.begin() as s:
        for (tried, values), ids in alike.items():
            statement = update(OutboxMessage).values(dict(values)).returning(OutboxMessage.id)
            if tried:
                statement = statement.values(attempts=OutboxMessage.attempts + 1)
            for chunk in _chunks(ids):
                recorded.update(s.scalars(statement.where(OutboxMessage.id.in_(chunk), mine)
                                          .execution_options(synchronize_session=False)))
        lost = len(rows) - len(recorded)
        if lost:
            log.warning("outbox claim lost before its outcomes were recorded", extra={"rows": lost})
        dead = _tally(channel, [r for r in rows if r.id in recorded], outcomes, report)
        if dead and on_dead is not None:
            try:
                with s.begin_nested():
                    on_dead(s, dead)
            except Exception:
                log.exception("telling of %d dead letters failed", len(dead))


def _tally(channel: str, rows: list[OutboxMessage], outcomes: Mapping[int, Outcome], report: Report) -> list[DeadLetter]:
    """Count the recorded outcomes; the rows that went dead."""
    dead = []
    for row in rows:
        outcome = outcomes[row.id]
        if outcome.status == SENT:
            report.sent += 1
        elif outcome.status == LATER or (outcome.status == RETRY and row.attempts + 1 < MAX_ATTEMPTS):
            report.retried += 1
        else:
            report.dead += 1
            dead.append(DeadLetter(row.id, channel, row.recipient, row.idempotency_key, outcome.error))
        if outcome.error:
            report.errors[outcome.error] += 1
    return dead


def _claim(sessions: sessionmaker[Session], clock: Clock, channel: str, size: int, owner: str,
           claim_for: timedelta) -> list[OutboxMessage]:
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
        claim = update(OutboxMessage).values(status="sending", claimed_until=now + claim_for, claimed_by=owner)
        for chunk in _chunks([r.id for r in rows]):
            s.execute(claim.where(OutboxMessage.id.in_(chunk)).execution_options(synchronize_session=False))
        s.expunge_all()
    return rows


def _chunks(ids: list[int]) -> list[list[int]]:
    """Ids in lists of at most BATCH: an IN list well under SQLite's limit on bound parameters."""
    return [ids[n:n + BATCH] for n in range(0, len(ids), BATCH)]
