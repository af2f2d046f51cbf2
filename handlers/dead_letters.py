"""Dead letters (messages that could not be delivered after the last try), as the office sees them:
those to people and group chats of its township (county-level people: all), and retrying one."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from handlers.access import viewer
from handlers.people import subtree
from models import ChatIdentity, ChatTarget, OutboxMessage, Person, Unit


@dataclass(frozen=True)
class DeadLetter:
    row: OutboxMessage
    to: str  # a person's name, or a unit's name + 群


def for_person(session: Session, person: Person, limit: int = 200) -> list[DeadLetter]:
    who = viewer(session, person)
    area = None if who.county else subtree(session, who.township_id) if who.township_id else set()
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead")
                           .order_by(OutboxMessage.id.desc()).limit(limit * 5)).all()
    recipients = {r.recipient for r in rows}
    people = {(c, e): (name, unit) for c, e, name, unit in session.execute(
        select(ChatIdentity.channel, ChatIdentity.external_id, Person.name, Person.unit_id)
        .join(Person, Person.id == ChatIdentity.person_id).where(ChatIdentity.external_id.in_(recipients)))}
    chats = {key: unit for key, unit in session.execute(
        select(ChatTarget.key, ChatTarget.unit_id).where(ChatTarget.key.in_(recipients)))}
    names = dict(session.execute(select(Unit.id, Unit.name)).all())
    found = []
    for r in rows:
        if (r.channel, r.recipient) in people:
            to, unit = people[(r.channel, r.recipient)]
        elif r.recipient in chats:
            unit = chats[r.recipient]
            to = names.get(unit, "") + "群"
        else:
            continue  # nobody known any more: the roster's business, not the office's list
        if area is None or unit in area:
            found.append(DeadLetter(r, to))
    return found[:limit]


def retry(session: Session, person: Person, message_id: int, now: datetime) -> bool:
    """Queue a dead letter the person may see again from scratch; False when it is not one."""
    if message_id not in {d.row.id for d in for_person(session, person, limit=10_000)}:
        return False
    requeue(session.get(OutboxMessage, message_id), now)
    return True


def requeue(row: OutboxMessage, now: datetime) -> None:
    """A dead letter goes out again from scratch. A cancelled row (a conflict of interest found
    late, handlers/exposure.py) is not dead and is never requeued."""
    row.status, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, now, None
