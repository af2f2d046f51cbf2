"""Who may see what: one policy for chat, API and notifications alike.

A person holding several roles sees what any of their roles grants.
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from handlers import org
from handlers.people import Member, member
from models import Person, Unit, VillageCover
from models.org import COUNTY, TOWNSHIP, VILLAGE


@dataclass(frozen=True)
class CaseScope:
    """What the policy needs to know about a case."""

    township_id: int
    village_id: int | None
    reporter_id: int
    involves_cadre: bool
    lead_department_id: int | None = None
    notified_department_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Viewer:
    """A member placed in the tree: where they sit and which villages they cover."""

    member: Member
    county: bool  # a county-level person sees the whole county
    township_id: int | None
    village_id: int | None
    covered_village_ids: frozenset[int] = frozenset()


def viewer(session: Session, person: Person) -> Viewer:
    ancestors: dict[str, int] = {}
    unit = session.get(Unit, person.unit_id)
    while unit is not None:
        ancestors.setdefault(unit.kind, unit.id)
        unit = session.get(Unit, unit.parent_id) if unit.parent_id else None
    covered = session.scalars(select(VillageCover.village_id).where(VillageCover.person_id == person.id)).all()
    home = session.get(Unit, person.unit_id)
    return Viewer(
        member=member(session, person),
        county=home is not None and home.kind == COUNTY,
        township_id=ancestors.get(TOWNSHIP),
        village_id=ancestors.get(VILLAGE),
        covered_village_ids=frozenset(covered),
    )


def can_see(viewer: Viewer, case: CaseScope) -> bool:
    roles = viewer.member.roles
    if case.reporter_id == viewer.member.id:
        return True
    if viewer.county:
        return True
    if roles & {org.VILLAGE_COMMITTEE, org.VILLAGE_SECRETARY}:
        # Conflict of interest: a case accusing a cadre of their own village is hidden from them.
        if case.village_id == viewer.village_id and not case.involves_cadre:
            return True
    if org.VILLAGE_LEADER in roles and case.village_id in viewer.covered_village_ids:
        return True
    if org.LIAISON in roles and viewer.member.department_id is not None:
        dept = viewer.member.department_id
        if dept == case.lead_department_id or dept in case.notified_department_ids:
            return True
    if roles & set(org.TOWNSHIP_WIDE) and viewer.township_id == case.township_id:
        return True
    return False


@dataclass(frozen=True)
class WordingScope:
    """Where a wording applies: its audience units with everything below them, and their townships."""

    unit_ids: frozenset[int]
    township_ids: frozenset[int]
    county_wide: bool  # an audience unit is the county itself


def can_see_wording(viewer: Viewer, scope: WordingScope) -> bool:
    """People at or under the audience units, 包村领导 of villages there, and the township-wide
    roles of those townships (county-level people: everything)."""
    if viewer.county:
        return True
    if viewer.member.unit_id in scope.unit_ids or viewer.covered_village_ids & scope.unit_ids:
        return True
    return bool(viewer.member.roles & set(org.TOWNSHIP_WIDE)) and viewer.township_id in scope.township_ids


def manages_wording(viewer: Viewer, scope: WordingScope) -> bool:
    """Whether the viewer's staff roles reach the whole audience: one township's staff manage
    wordings for that township alone; county-level staff manage any."""
    if viewer.county:
        return True
    return not scope.county_wide and scope.township_ids == {viewer.township_id}
