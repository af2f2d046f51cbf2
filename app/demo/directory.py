"""Who can be played in the simulator, and the group chats it shows, read from Gridline's tables."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from handlers import org
from models import ChatIdentity, ChatTarget, Department, Person, PersonRole, Unit, VillageCover
from models.org import GRID

CHANNELS = ("work", "mp")  # a person with a WeCom userid chats in WeCom, as Gridline reaches them
# Within a unit, people are listed in the order a visitor would look for them.
LISTING = {role: rank for rank, role in enumerate((
    org.MAIN_LEADER, org.LEADER_IN_CHARGE, org.SPOKESPERSON, org.OFFICE, org.VILLAGE_LEADER, org.LIAISON,
    org.VILLAGE_SECRETARY, org.VILLAGE_COMMITTEE, org.GRID_WORKER))}


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    roles: tuple[str, ...]
    note: str  # grid, department or covered villages: what tells two people of a unit apart
    group: str  # the unit listed under: "镇 村", "镇", or the county for county-level people
    channel: str  # "work" or "mp"
    external_id: str  # userid or openid


@dataclass(frozen=True)
class GroupChat:
    key: str  # robot webhook key or app chat id
    kind: str  # "robot" or "appchat"
    group: str


class _Units:
    def __init__(self, session: Session):
        self.rows = {uid: (kind, name, parent) for uid, kind, name, parent in
                     session.execute(select(Unit.id, Unit.kind, Unit.name, Unit.parent_id))}

    def name(self, unit_id: int) -> str:
        return self.rows[unit_id][1]

    def listing(self, unit_id: int) -> tuple[str, tuple[int, ...]]:
        """The group a unit's people are listed under, and its place: grids fold into their
        village, and the county is named only for its own people."""
        chain = []
        while unit_id is not None:
            kind, _, parent = self.rows[unit_id]
            if kind != GRID:
                chain.append(unit_id)
            unit_id = parent
        chain.reverse()
        return " ".join(self.name(u) for u in chain[1:] or chain), tuple(chain)


def contacts(session: Session) -> list[Contact]:
    """Everyone active with a chat identity; a township's own people before its villages'."""
    units = _Units(session)
    identities: dict[int, dict[str, str]] = {}
    for pid, channel, external in session.execute(
            select(ChatIdentity.person_id, ChatIdentity.channel, ChatIdentity.external_id).where(ChatIdentity.active)):
        identities.setdefault(pid, {})[channel] = external
    roles: dict[int, list[str]] = {}
    for pid, role in session.execute(select(PersonRole.person_id, PersonRole.role)):
        roles.setdefault(pid, []).append(role)
    departments = dict(session.execute(select(Department.id, Department.name)).all())
    covers: dict[int, list[str]] = {}
    for pid, village in session.execute(select(VillageCover.person_id, VillageCover.village_id)
                                        .order_by(VillageCover.village_id)):
        covers.setdefault(pid, []).append(units.name(village))

    listed = []
    for person in session.scalars(select(Person).where(Person.active)):
        channel = next((c for c in CHANNELS if c in identities.get(person.id, {})), None)
        if channel is None:
            continue
        held = tuple(sorted(roles.get(person.id, []), key=lambda role: LISTING.get(role, len(LISTING))))
        grid = units.name(person.unit_id) if units.rows[person.unit_id][0] == GRID else ""
        note = grid or departments.get(person.department_id) or "、".join(covers.get(person.id, []))
        group, place = units.listing(person.unit_id)
        rank = LISTING.get(held[0], len(LISTING)) if held else len(LISTING)
        contact = Contact(person.id, person.name, held, note, group, channel, identities[person.id][channel])
        listed.append(((place, rank, grid, person.id), contact))
    return [contact for _, contact in sorted(listed, key=lambda item: item[0])]


def group_chats(session: Session) -> list[GroupChat]:
    units = _Units(session)
    listed = []
    for key, kind, unit_id in session.execute(select(ChatTarget.key, ChatTarget.kind, ChatTarget.unit_id)):
        group, place = units.listing(unit_id)
        listed.append(((place, kind, key), GroupChat(key, kind, group)))
    return [chat for _, chat in sorted(listed, key=lambda item: item[0])]
