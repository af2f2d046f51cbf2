"""Reporter confidentiality (DESIGN, "Assign"): the reporter's name and phone are shown only to the
reporter, the township's office, leaders and 纪委 liaison, and county-level people; everyone else
sees 网格员. Fails closed: any role not named here sees 网格员.

The cadre branch (#11) brings the same rule into handlers/access.py; at merge this module should
call that one instead of keeping its own copy.
"""

from sqlalchemy import select
from sqlmodel import Session

from handlers import org
from handlers.access import viewer
from handlers.cases import DISCIPLINE
from models import Case, Department, Person

SEES_REPORTER = frozenset({org.OFFICE, org.LEADER_IN_CHARGE, org.MAIN_LEADER})


def may_see_reporter(session: Session, person: Person, case: Case) -> bool:
    if person.id == case.reporter_id:
        return True
    who = viewer(session, person)
    if who.county:
        return True
    if who.township_id != case.township_id:
        return False
    if who.member.roles & SEES_REPORTER:
        return True
    if org.LIAISON in who.member.roles and person.department_id is not None:
        return session.scalar(select(Department.name).where(Department.id == person.department_id)) == DISCIPLINE
    return False
