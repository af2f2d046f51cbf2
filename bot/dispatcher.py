"""Exactly-once handling of inbound messages, answered inside WeChat's 5-second window.

Each message is handled in a transaction that first inserts its row (unique on channel,
account and dedupe key), then runs the handler, then stores the reply. A resend finds
the key taken — on PostgreSQL after waiting for the first to commit — and gets the stored
reply instead; a failing handler rolls everything of it back, so a resend starts afresh.
When the handler outlives the reply budget, WeChat gets an empty answer at once and the
reply is queued in the outbox instead, in the same transaction.

Writer threads take the messages waiting at that moment as one batch and commit them in
one transaction: a thread hand-off and a commit per message would cost more than the work.
When anything in a batch fails, the batch is rolled back and each message redone alone.

Quick messages (帮助, 收到, lookups: the handler's `quick` says which) go ahead of the others:
when filings queue deep, a 收到 must not wait behind them past the budget. A quick message
never overtakes one of the same sender's still waiting, so a sender's messages keep their order.
A batch of other messages is cut to what should take about SLICE_S (by the time they have been
taking), so a quick message that arrives meanwhile waits for that much at most.
"""

import asyncio
import logging
import itertools
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from models.clock import Clock
from bot.inbound import InboundMessage
from handlers import texts
from handlers.lookups import Lookups
from models import InboundRecord, OutboxMessage
from models.dml import per_dialect

log = logging.getLogger("gridline.dispatch")

# (session, message, now, lookups) → the reply text, or None for no reply. `lookups`: the org as this
# transaction reads it (handlers/lookups.py), shared by the batch's messages.
Handler = Callable[[Session, InboundMessage, datetime, Lookups], str | None]

REPLIED, QUEUED = "replied", "queued"
BATCH = 32
QUICK, NORMAL, STOP = 0, 1, 2  # queue priorities: lower goes first
SLICE_S = 0.25

# Built once: every message runs these, and building SQLAlchemy statements costs more than running them.
_inbound = InboundRecord.__table__
_same_message = (
    (_inbound.c.channel == bindparam("k_channel"))
    & (_inbound.c.account == bindparam("k_account"))
    & (_inbound.c.dedupe_key == bindparam("k_dedupe"))
)
# A resend finds its key taken and inserts nothing (on PostgreSQL, after the first commits).
CLAIM = per_dialect(lambda insert: insert(_inbound).on_conflict_do_nothing().returning(
    _inbound.c.channel, _inbound.c.account, _inbound.c.dedupe_key))
FINISH = _inbound.update().where(_same_message).values(status=bindparam("status"), reply=bindparam("reply"))
STORED = select(_inbound.c.status, _inbound.c.reply).where(_same_message)
QUEUE = OutboxMessage.__table__.insert()


@dataclass(eq=False)
class _Job:
    msg: InboundMessage
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    outcome: str | None = None  # REPLIED or QUEUED, decided once
    lock: threading.Lock = field(default_factory=threading.Lock)
    quick: bool = False

    def settle(self, outcome: str) -> str:
        with self.lock:
            self.outcome = self.outcome or outcome
            return self.outcome


class Dispatcher:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock, handler: Handler, *,
                 budget_s: float, workers: int, quick: Callable[[InboundMessage], bool] | None = None):
        self.sessions = sessions
        self.clock = clock
        self.handler = handler
        self.budget_s = budget_s
        self.quick = quick or (lambda msg: False)
        # (priority, arrival, job): quick messages first, each priority in arrival order.
        self.jobs: queue.PriorityQueue[tuple[int, int, _Job | None]] = queue.PriorityQueue()
        self._arrival = itertools.count()
        self._waiting: Counter[tuple[str, str]] = Counter()  # (channel, sender) → normal messages not done
        self._waiting_lock = threading.Lock()
        self._per_message_s = 0.0  # how long a message of a normal batch has been taking (moving average)
        self.writers = [threading.Thread(target=self._write, name=f"dispatch-{n}", daemon=True)
                        for n in range(workers)]
        for writer in self.writers:
            writer.start()

    def close(self) -> None:
        for _ in self.writers:
            self.jobs.put((STOP, next(self._arrival), None))
        for writer in self.writers:
            writer.join()

    async def dispatch(self, msg: InboundMessage, started: float | None = None) -> str | None:
        """The passive reply for `msg` (None: answer empty), the same for every resend."""
        loop = asyncio.get_running_loop()
        job = _Job(msg, loop, loop.create_future())
        remaining = (started or time.monotonic()) + self.budget_s - time.monotonic()
        timer = loop.call_later(max(0.0, remaining), _out_of_time, job)
        who = (msg.channel, msg.sender)
        with self._waiting_lock:
            job.quick = not self._waiting[who] and self.quick(msg)
            if not job.quick:
                self._waiting[who] += 1
        self.jobs.put((QUICK if job.quick else NORMAL, next(self._arrival), job))
        try:
            return await job.future
        except Exception:  # already logged by the writer
            return texts.SORRY
        finally:
            timer.cancel()

    def _write(self) -> None:
        while (first := self.jobs.get())[2] is not None:
            # A batch is of one priority: quick messages are not held up by a batch of slow ones.
            batch = [first[2]]
            size = BATCH if first[0] == QUICK else max(1, min(BATCH, int(SLICE_S / max(self._per_message_s, 1e-6))))
            while len(batch) < size:
                try:
                    item = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if item[0] != first[0]:
                    self.jobs.put(item)  # another priority (or stop): for the next batch
                    break
                batch.append(item[2])
            started = time.monotonic()
            try:
                results = self._together(batch)
            except Exception:  # a failing handler, or a deadlock: take them one by one
                results = [self._alone(job) for job in batch]
            if first[0] == NORMAL:
                took = (time.monotonic() - started) / len(batch)
                self._per_message_s = took if not self._per_message_s else 0.7 * self._per_message_s + 0.3 * took
            with self._waiting_lock:
                for job in batch:
                    who = (job.msg.channel, job.msg.sender)
                    if not job.quick and self._waiting[who] > 0:
                        self._waiting[who] -= 1
                        if not self._waiting[who]:
                            del self._waiting[who]
            # One wake-up per event loop for the whole batch, not one per message.
            by_loop: dict[asyncio.AbstractEventLoop, list] = {}
            for job, result in zip(batch, results):
                by_loop.setdefault(job.loop, []).append((job.future, result))
            for loop, outcomes in by_loop.items():
                loop.call_soon_threadsafe(_resolve, outcomes)

    def _together(self, batch: list[_Job]) -> list[str | None]:
        """Handle a batch in one transaction; any failure rolls all of it back."""
        now = self.clock.now()
        messages = {_ident(job.msg): job.msg for job in batch}  # a resend may share the batch
        replies: dict[tuple, str | None] = {}
        finished, queued = [], []
        with self.sessions() as s, s.begin():
            db = s.connection()
            # The batch is one transaction: the org is read once for all its messages, not once each.
            lookups = Lookups(s)
            # Store every message first, in one statement; keys already taken are resends.
            claimed = {tuple(row) for row in db.execute(CLAIM[db.dialect.name], [
                {"channel": m.channel, "account": m.account, "dedupe_key": m.dedupe_key, "sender": m.sender,
                 "kind": m.event if m.kind == "event" else m.kind, "payload": m.raw, "received_at": now,
                 "status": REPLIED}
                for m in messages.values()
            ])}
            for job in batch:
                msg, ident = job.msg, _ident(job.msg)
                if ident in replies:
                    continue
                if ident not in claimed:  # a resend: answer as the first delivery was answered
                    status, reply = db.execute(STORED, _key(msg)).one()
                    replies[ident] = reply if status == REPLIED else None
                    continue
                reply = self.handler(s, msg, now, lookups)
                outcome = job.settle(REPLIED)
                replies[ident] = reply if outcome == REPLIED else None
                finished.append({**_key(msg), "status": outcome, "reply": reply})
                if outcome == QUEUED and reply is not None:
                    queued.append({
                        "idempotency_key": f"reply:{msg.channel}:{msg.account}:{msg.dedupe_key}",
                        "channel": msg.channel, "account": msg.account, "recipient": msg.sender,
                        "body": reply, "status": "pending", "attempts": 0, "created_at": now,
                        "next_attempt_at": now,
                    })
            if finished:
                db.execute(FINISH, finished)
            if queued:
                db.execute(QUEUE, queued)
        return [replies[_ident(job.msg)] for job in batch]

    def _alone(self, job: _Job) -> str | None | Exception:
        """Handle one job in its own transaction: its reply, or the exception that failed it."""
        try:
            return self._together([job])[0]
        except Exception as exc:
            log.exception("handler failed", extra={"channel": job.msg.channel, "sender": job.msg.sender})
            return exc


def _ident(msg: InboundMessage) -> tuple[str, str, str]:
    return msg.channel, msg.account, msg.dedupe_key


def _key(msg: InboundMessage) -> dict:
    return {"k_channel": msg.channel, "k_account": msg.account, "k_dedupe": msg.dedupe_key}


def _resolve(outcomes: list[tuple[asyncio.Future, object]]) -> None:
    for future, result in outcomes:
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


def _out_of_time(job: _Job) -> None:
    """The passive-reply window is closing: answer empty now unless the reply is being stored."""
    if job.settle(QUEUED) == QUEUED and not job.future.done():
        job.future.set_result(None)
