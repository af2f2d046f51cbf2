"""Who may see what: one policy for chat, API, notifications, lists, wordings and exports alike.

A person holding several roles sees what any of their roles grants — except that the conflict of
interest is decided first: a committee member (村两委, 村书记) of the village a cadre case is about
never sees it, whatever else they are (a 村两委 who is also a 网格员 is common), and nobody of the
village sees a confidential report (举报). Only the reporter is above that rule.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from handlers import org
from handlers.orgtree import UnitRow, chain_of
from handlers.people import Member, member
from models import Case, Department, Person, VillageCover
from models.cases import shut_out
from models.org import COUNTY, TOWNSHIP, VILLAGE


CYBER, DISCIPLINE = "网信办", "纪委"  # departments told of online and cadre cases


@dataclass(frozen=True)
class CaseScope:
    """What the policy needs to know about a case."""

    township_id: int
    village_id: int | None
    reporter_id: int
    involves_cadre: bool
    shut_out_village_ids: frozenset[int] = frozenset()  # Case.shut_out_villages: its village and others named
    lead_department_id: int | None = None
    notified_department_ids: frozenset[int] = field(default_factory=frozenset)
    confidential: bool = False  # 举报: straight to 纪委 and the office, bypassing the village
    discipline_department_id: int | None = None  # the township's 纪委, who may know the reporter


@dataclass(frozen=True)
class Viewer:
    """A member placed in the tree: where they sit and which villages they cover."""

    member: Member
    county: bool  # a county-level person sees the whole county
    township_id: int | None
    village_id: int | None
    covered_village_ids: frozenset[int] = frozenset()


def case_scope(session: Session, case: Case) -> CaseScope:
    """What the policy needs to know about a case, read from it and its township's departments."""
    return scope_of(case, township_departments(session, case.township_id))


def township_departments(session: Session, township_id: int) -> dict[str, int]:
    return dict(session.execute(select(Department.name, Department.id).where(Department.township_id == township_id)).all())


def scope_of(case: Case, departments: dict[str, int]) -> CaseScope:
    """The case's scope, given its township's departments (name → id); `case` may be a row of the columns
    read here (filing's duplicate check reads them with its candidates instead of loading the case)."""
    notified = {CYBER} if case.online else set()
    if case.involves_cadre or case.confidential:
        notified.add(DISCIPLINE)
    return CaseScope(
        township_id=case.township_id, village_id=case.village_id, reporter_id=case.reporter_id,
        involves_cadre=case.involves_cadre or case.confidential, confidential=case.confidential,
        shut_out_village_ids=shut_out(case),
        lead_department_id=departments.get(case.lead_department),
        notified_department_ids=frozenset(departments[d] for d in notified if d in departments),
        discipline_department_id=departments.get(DISCIPLINE),
    )


def visible(session: Session, person: Person, cases: Iterable[Case]) -> list[Case]:
    """The cases of `cases` the policy lets `person` see, in order (lists, the figures and 待办 go
    through here)."""
    return [case for case, _ in shown(session, person, cases)]


def shown(session: Session, person: Person, cases: Iterable[Case]) -> list[tuple[Case, bool]]:
    """The cases `person` may see, each with whether they may know its reporter: one viewer, each
    township's departments read once."""
    seen, departments = viewer(session, person), {}
    found = []
    for case in cases:
        if case.township_id not in departments:
            departments[case.township_id] = township_departments(session, case.township_id)
        scope = scope_of(case, departments[case.township_id])
        if can_see(seen, scope):
            found.append((case, sees_reporter(seen, scope)))
    return found


def viewer(session: Session, person: Person) -> Viewer:
    covered = session.scalars(select(VillageCover.village_id).where(VillageCover.person_id == person.id)).all()
    return placed(member(session, person), chain_of(session, person.unit_id), covered)


def placed(who: Member, chain: dict[str, UnitRow], covered) -> Viewer:
    """A member placed in the tree: `chain` is their unit and its ancestors by kind (handlers/orgtree.py)."""
    home = next(iter(chain.values()), None)  # the unit itself comes first
    return Viewer(
        member=who,
        county=home is not None and home.kind == COUNTY,
        township_id=chain[TOWNSHIP].id if TOWNSHIP in chain else None,
        village_id=chain[VILLAGE].id if VILLAGE in chain else None,
        covered_village_ids=frozenset(covered),
    )


VILLAGE_CADRES = frozenset({org.VILLAGE_COMMITTEE, org.VILLAGE_SECRETARY})
# Besides the reporter and county-level people, who may read the reporter's name (DESIGN step 3).
KNOW_REPORTER = frozenset({org.OFFICE, org.MAIN_LEADER, org.LEADER_IN_CHARGE})


def excluded(viewer: Viewer, case: CaseScope) -> bool:
    """Conflict of interest: the accused village's committee for a cadre case, the whole village for
    a confidential report. Decided before any role is looked at."""
    if viewer.member.id == case.reporter_id or not (case.involves_cadre or case.confidential):
        return False
    if viewer.village_id is None or viewer.village_id not in case.shut_out_village_ids | {case.village_id}:
        return False
    return case.confidential or bool(viewer.member.roles & VILLAGE_CADRES)


def can_see(viewer: Viewer, case: CaseScope) -> bool:
    roles = viewer.member.roles
    if case.reporter_id == viewer.member.id:
        return True
    if excluded(viewer, case):
        return False
    if viewer.county:
        return True
    if case.confidential:  # 举报: the township's office, leaders and 纪委 liaison, no one else
        return viewer.township_id == case.township_id and _knows_reporter(viewer, case)
    if roles & VILLAGE_CADRES and case.village_id == viewer.village_id and not case.involves_cadre:
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


def sees_reporter(viewer: Viewer, case: CaseScope) -> bool:
    """The reporter's name and phone: the reporter, county-level people, and the township's office,
    leaders and 纪委 liaison — of those who may see the case at all. Everyone else reads 网格员."""
    if viewer.member.id == case.reporter_id:
        return True
    if not can_see(viewer, case):
        return False
    if viewer.county:
        return True
    return viewer.township_id == case.township_id and _knows_reporter(viewer, case)


def _knows_reporter(viewer: Viewer, case: CaseScope) -> bool:
    roles = viewer.member.roles
    if roles & KNOW_REPORTER:
        return True
    return (org.LIAISON in roles and case.discipline_department_id is not None
            and viewer.member.department_id == case.discipline_department_id)


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
