"""Finding people: by chat identity, by name or phone, and by role under a unit."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select
from sqlmodel import Session

from handlers.orgtree import OrgTree
from models import ChatIdentity, Conversation, Person, PersonRole, Unit, VillageCover


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


@dataclass(frozen=True)
class Caller:
    """Who is behind a chat identity, as read on every message: the person and their conversation
    (None before their first) come in the same query."""

    person: Person
    conversation: Conversation | None
    identity_id: int
    last_message_at: datetime | None


# Built once: these run on every message.
_identities = ChatIdentity.__table__
_CALLER = (
    select(Person, Conversation, ChatIdentity.id, ChatIdentity.last_message_at)
    .join(ChatIdentity, ChatIdentity.person_id == Person.id)
    .outerjoin(Conversation, Conversation.person_id == Person.id)
    .where(ChatIdentity.channel == bindparam("channel"), ChatIdentity.external_id == bindparam("external_id"),
           ChatIdentity.active, Person.active)
)
_SEEN = _identities.update().where(_identities.c.id == bindparam("identity")).values(last_message_at=bindparam("at"))
# last_message_at is for the Official Account's 48-hour window: minute precision is plenty.
SEEN_PRECISION = timedelta(minutes=1)


def by_identity(session: Session, channel: str, external_id: str) -> Caller | None:
    """The active person behind an active chat identity."""
    row = session.execute(_CALLER, {"channel": channel, "external_id": external_id}).first()
    return Caller(*row) if row else None


def seen(session: Session, caller: Caller, at: datetime) -> None:
    """Record that this identity wrote to us (opens the Official Account's 48-hour window)."""
    if caller.last_message_at is None or at - caller.last_message_at >= SEEN_PRECISION:
        session.connection().execute(_SEEN, {"identity": caller.identity_id, "at": at})


def find(session: Session, name_or_phone: str) -> list[Person]:
    """Active people whose phone or name is exactly this."""
    who = name_or_phone.strip()
    return list(session.scalars(
        select(Person).where(Person.active, or_(Person.phone == who, Person.name == who)).order_by(Person.id)
    ))


def subtree(session: Session, unit_id: int) -> set[int]:
    """The unit and every unit below it."""
    return OrgTree.load(session).subtree(unit_id)


def holders(session: Session, role: str | None = None, unit_id: int | None = None,
            tree: OrgTree | None = None) -> list[Person]:
    """Active people holding `role` (any role when None) at or under `unit_id` (anywhere when None);
    `tree`: the unit tree already loaded (handlers/lookups.py)."""
    query = select(Person).where(Person.active).order_by(Person.id)
    if role is not None:
        query = query.join(PersonRole, PersonRole.person_id == Person.id).where(PersonRole.role == role)
    if unit_id is not None:
        query = query.where(Person.unit_id.in_((tree or OrgTree.load(session)).subtree(unit_id)))
    return list(session.scalars(query).unique())


def covering_leaders(session: Session, village_id: int) -> list[Person]:
    """The 包村领导 of a village."""
    return list(session.scalars(select(Person).join(VillageCover, VillageCover.person_id == Person.id)
                                .where(VillageCover.village_id == village_id, Person.active)))


def place_name(session: Session, township_id: int, village_id: int | None) -> str:
    return "".join(session.get(Unit, uid).name for uid in (township_id, village_id) if uid)


PREFERENCE = ("work", "mp")  # how a person is reached: WeCom first, else the Official Account
ADDRESS_CHUNK = 1000  # person ids per lookup: well under any engine's limit on bound parameters


def addresses(session: Session, person_ids: list[int]) -> dict[int, tuple[str, str]]:
    """person id → (channel, account) by PREFERENCE, for those who have an active identity."""
    found: dict[int, dict[str, str]] = {}
    for start in range(0, len(person_ids), ADDRESS_CHUNK):
        for pid, channel, account in session.execute(
                select(ChatIdentity.person_id, ChatIdentity.channel, ChatIdentity.external_id)
                .where(ChatIdentity.person_id.in_(person_ids[start:start + ADDRESS_CHUNK]), ChatIdentity.active)):
            found.setdefault(pid, {})[channel] = account
    reachable = {}
    for pid in person_ids:
        ids = found.get(pid, {})
        channel = next((c for c in PREFERENCE if c in ids), None)
        if channel is not None:
            reachable[pid] = (channel, ids[channel])
    return reachable
