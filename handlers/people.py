"""Finding people: by chat identity, by name or phone, and by role under a unit."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel import Session

from models import ChatIdentity, Person, PersonRole, Unit


@dataclass(frozen=True)
class Member:
    """A person as the rest of the domain sees them: who, where, and in which roles."""

    id: int
    name: str
    unit_id: int
    department_id: int | None
    roles: frozenset[str]


def member(session: Session, person: Person) -> Member:
    roles = session.scalars(select(PersonRole.role).where(PersonRole.person_id == person.id)).all()
    return Member(person.id, person.name, person.unit_id, person.department_id, frozenset(roles))


def by_identity(session: Session, channel: str, external_id: str) -> Person | None:
    """The active person behind an active chat identity."""
    return session.scalars(
        select(Person)
        .join(ChatIdentity, ChatIdentity.person_id == Person.id)
        .where(ChatIdentity.channel == channel, ChatIdentity.external_id == external_id,
               ChatIdentity.active, Person.active)
    ).one_or_none()


def seen(session: Session, channel: str, external_id: str, at: datetime) -> None:
    """Record a message from this identity (opens the Official Account's 48-hour window)."""
    identity = session.scalars(
        select(ChatIdentity).where(ChatIdentity.channel == channel, ChatIdentity.external_id == external_id)
    ).one_or_none()
    if identity is not None:
        identity.last_message_at = at


def find(session: Session, name_or_phone: str) -> list[Person]:
    """Active people whose phone or name is exactly this."""
    who = name_or_phone.strip()
    return list(session.scalars(
        select(Person).where(Person.active, or_(Person.phone == who, Person.name == who)).order_by(Person.id)
    ))


def subtree(session: Session, unit_id: int) -> set[int]:
    """The unit and every unit below it."""
    units = session.execute(select(Unit.id, Unit.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for uid, parent in units:
        children.setdefault(parent, []).append(uid)
    found, todo = set(), [unit_id]
    while todo:
        uid = todo.pop()
        found.add(uid)
        todo.extend(children.get(uid, []))
    return found


def holders(session: Session, role: str | None = None, unit_id: int | None = None) -> list[Person]:
    """Active people holding `role` (any role when None) at or under `unit_id` (anywhere when None)."""
    query = select(Person).where(Person.active).order_by(Person.id)
    if role is not None:
        query = query.join(PersonRole, PersonRole.person_id == Person.id).where(PersonRole.role == role)
    if unit_id is not None:
        query = query.where(Person.unit_id.in_(subtree(session, unit_id)))
    return list(session.scalars(query).unique())
