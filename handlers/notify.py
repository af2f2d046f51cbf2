"""Telling a person something: a row in the outbox, written in the caller's transaction.

A person is reached through WeCom when they have an active userid, else through the
Official Account; someone with neither cannot be reached in chat and is skipped (the
office sees every case in the admin API). The outbound sender fills in the account.
"""

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from models import ChatIdentity, OutboxMessage, Person
from models.dml import per_dialect

PREFERENCE = ("work", "mp")

_outbox = OutboxMessage.__table__
_QUEUE = per_dialect(lambda insert: insert(_outbox).on_conflict_do_nothing())


# A caller that runs many short pieces of work in one transaction (run-due's batches) may put a dict
# under this key in session.info: lookups that cannot change within the transaction's work are then
# made once in it (here: a person's chat identities), and with a list under QUEUED in it, the outbox
# rows are gathered there for the caller to write at once with write_queued(). Without it, every call
# looks up and writes for itself.
BATCH_CACHE, QUEUED = "batch_cache", "queued"


def notify(session: Session, person: Person, text: str, key: str, now: datetime, at: datetime | None = None) -> bool:
    """Queue `text` for `person` once per `key`, to go at `at` (default now); False when they cannot be reached."""
    identities = shared(session, ("identities", person.id), lambda: dict(session.execute(
        select(ChatIdentity.channel, ChatIdentity.external_id)
        .where(ChatIdentity.person_id == person.id, ChatIdentity.active)).all()))
    channel = next((c for c in PREFERENCE if c in identities), None)
    if channel is None:
        return False
    row = {"idempotency_key": key, "channel": channel, "account": "", "recipient": identities[channel],
           "body": text, "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": at or now}
    queued = session.info.get(BATCH_CACHE, {}).get(QUEUED)
    if queued is not None:
        queued.append(row)
    else:
        write_queued(session, [row])
    return True


def write_queued(session: Session, rows: list[dict]) -> None:
    """Outbox rows in one statement (executemany), in order; a key already queued is left as it was."""
    if rows:
        db = session.connection()
        db.execute(_QUEUE[db.dialect.name], rows)


def shared(session: Session, key: tuple, compute):
    """compute(), once per `key` in the session's batch cache when there is one."""
    cache = session.info.get(BATCH_CACHE)
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]
