"""Exactly-once handling of inbound messages, answered inside WeChat's 5-second window.

Each message is first claimed by inserting its row (unique on channel, account and
dedupe key) and committing. Only the claimant runs the handler; the handler's effects
and the stored reply commit together, so a crash leaves either nothing or everything.
A resend finds the row and gets the stored reply (waiting for it while the first is
still running). When the handler outlives the reply budget, WeChat gets an empty
answer at once and the reply is queued in the outbox instead, in the same transaction.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app.clock import Clock
from handlers import texts
from bot.inbound import InboundMessage
from models import InboundRecord, OutboxMessage

log = logging.getLogger("gridline.dispatch")

# (session, message, now) → the reply text, or None for no reply.
Handler = Callable[[Session, InboundMessage, datetime], str | None]

PROCESSING, REPLIED, QUEUED = "processing", "replied", "queued"


class _Settle:
    """Decides once whether a reply goes out passively or through the outbox."""

    def __init__(self):
        self._lock = threading.Lock()
        self.outcome: str | None = None

    def __call__(self, outcome: str) -> str:
        with self._lock:
            self.outcome = self.outcome or outcome
            return self.outcome


class LostClaim(Exception):
    """Another worker took over this message (ours was presumed dead): roll back."""


class Dispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        handler: Handler,
        *,
        budget_s: float,
        stale_s: float,
        workers: int = 32,
        poll_s: float = 0.02,
    ):
        self.sessions = sessions
        self.clock = clock
        self.handler = handler
        self.budget_s = budget_s
        self.stale = timedelta(seconds=stale_s)
        self.poll_s = poll_s
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="dispatch")

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    async def dispatch(self, msg: InboundMessage, started: float | None = None) -> str | None:
        """The passive reply for `msg` (None: answer empty), the same for every resend."""
        deadline = (started or time.monotonic()) + self.budget_s
        loop = asyncio.get_running_loop()
        while True:
            state, record_id, attempt, reply = await loop.run_in_executor(self.pool, self._claim, msg)
            if state == "mine":
                return await self._run(msg, record_id, attempt, deadline)
            if state == REPLIED:
                return reply
            if state == QUEUED:
                return None
            # Another request is handling it right now: wait for its reply.
            if time.monotonic() + self.poll_s >= deadline:
                return None
            await asyncio.sleep(self.poll_s)

    def _claim(self, msg: InboundMessage) -> tuple[str, int | None, int, str | None]:
        now = self.clock.now()
        try:
            with self.sessions.begin() as s:
                record = InboundRecord(
                    channel=msg.channel, account=msg.account, dedupe_key=msg.dedupe_key, sender=msg.sender,
                    kind=msg.event if msg.kind == "event" else msg.kind, payload=msg.raw,
                    received_at=now, claimed_at=now,
                )
                s.add(record)
                s.flush()
                return "mine", record.id, record.attempt, None
        except IntegrityError:
            pass
        with self.sessions.begin() as s:
            record = s.scalars(
                select(InboundRecord).where(
                    InboundRecord.channel == msg.channel,
                    InboundRecord.account == msg.account,
                    InboundRecord.dedupe_key == msg.dedupe_key,
                )
            ).one_or_none()
            if record is None:  # its claimant failed and let go: claim it afresh
                return "retry", None, 0, None
            if record.status == PROCESSING and now - record.claimed_at > self.stale:
                # Its worker died mid-way (nothing of it committed): take the message over.
                attempt = record.attempt + 1
                taken = s.execute(
                    update(InboundRecord)
                    .where(InboundRecord.id == record.id, InboundRecord.attempt == record.attempt)
                    .values(attempt=attempt, claimed_at=now)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if taken:
                    log.warning("took over stale message", extra={"record": record.id})
                    return "mine", record.id, attempt, None
            return record.status, record.id, record.attempt, record.reply

    async def _run(self, msg: InboundMessage, record_id: int, attempt: int, deadline: float) -> str | None:
        settle = _Settle()
        future = asyncio.get_running_loop().run_in_executor(self.pool, self._work, msg, record_id, attempt, settle)
        done, _ = await asyncio.wait({future}, timeout=max(0.0, deadline - time.monotonic()))
        if not done and settle(QUEUED) == QUEUED:
            future.add_done_callback(_log_failure)
            return None
        try:
            return await future
        except Exception:
            return texts.SORRY

    def _work(self, msg: InboundMessage, record_id: int, attempt: int, settle: _Settle) -> str | None:
        try:
            with self.sessions.begin() as s:
                reply = self.handler(s, msg, self.clock.now())
                outcome = settle(REPLIED)
                finished = s.execute(
                    update(InboundRecord)
                    .where(InboundRecord.id == record_id, InboundRecord.attempt == attempt,
                           InboundRecord.status == PROCESSING)
                    .values(status=outcome, reply=reply)
                ).rowcount
                if not finished:
                    raise LostClaim(record_id)
                if outcome == QUEUED and reply is not None:
                    now = self.clock.now()
                    s.add(OutboxMessage(
                        idempotency_key=f"reply:{record_id}", channel=msg.channel, account=msg.account,
                        recipient=msg.sender, body=reply, created_at=now, next_attempt_at=now,
                    ))
            return reply
        except LostClaim:
            raise
        except Exception:
            log.exception("handler failed", extra={"record": record_id})
            self._release(record_id, attempt)
            raise

    def _release(self, record_id: int, attempt: int) -> None:
        """Let a WeChat resend try again after a failure that rolled everything back."""
        with self.sessions.begin() as s:
            s.execute(
                InboundRecord.__table__.delete().where(
                    InboundRecord.id == record_id, InboundRecord.attempt == attempt,
                    InboundRecord.status == PROCESSING,
                )
            )


def _log_failure(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("late reply lost: %s", future.exception())
