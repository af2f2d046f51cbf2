"""Telling a person or a group chat something: a row in the outbox, written in the caller's transaction.

A person is reached through WeCom when they have an active userid, else through the
Official Account; someone with neither cannot be reached in chat and is skipped (the
office sees every case in the admin API). A group chat is a ChatTarget: a group robot
(channel "robot", the webhook key) or a WeCom app group chat ("appchat", the chat id).
The outbound sender fills in the account.
"""

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from models import ChatIdentity, ChatTarget, OutboxMessage, Person
from models.dml import per_dialect

PREFERENCE = ("work", "mp")

_outbox = OutboxMessage.__table__
_QUEUE = per_dialect(lambda insert: insert(_outbox).on_conflict_do_nothing())


def notify(session: Session, person: Person, text: str, key: str, now: datetime, at: datetime | None = None) -> bool:
    """Queue `text` for `person` once per `key`, to go at `at` (default now); False when they cannot be reached."""
    identities = dict(session.execute(
        select(ChatIdentity.channel, ChatIdentity.external_id)
        .where(ChatIdentity.person_id == person.id, ChatIdentity.active)).all())
    channel = next((c for c in PREFERENCE if c in identities), None)
    if channel is None:
        return False
    _queue(session, channel, identities[channel], text, key, now, at or now)
    return True


def notify_chat(session: Session, target: ChatTarget, text: str, key: str, now: datetime) -> None:
    """Queue `text` for a group chat once per `key`."""
    _queue(session, target.kind, target.key, text, key, now, now)


def _queue(session: Session, channel: str, recipient: str, text: str, key: str, now: datetime, at: datetime) -> None:
    db = session.connection()
    db.execute(_QUEUE[db.dialect.name], {
        "idempotency_key": key, "channel": channel, "account": "", "recipient": recipient,
        "body": text, "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": at,
    })
