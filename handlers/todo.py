"""待办: what waits for a person — their open cases, and for office staff what waits for dispatch.

Each item carries the case's next running deadline; overdue items come first, then the soonest due.
The office also sees, in its township (county-level staff: everywhere), cases handed back (退回)
waiting to be dispatched again, duplicates waiting to be merged, and urgent cases nobody signed for.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from handlers import org
from handlers.access import viewer, visible
from handlers.people import member
from models import Case, CaseEvent, CaseMember, Deadline, Person
from models.cases import ASSIGNED, OPEN, SUBMITTED

DUPLICATE_EVENT = "疑似重复"  # written by handlers/cases.py when a case repeats an open one
RETURNED, DUPLICATE, UNSIGNED = "returned", "duplicate", "unsigned"  # what the office is asked to do


@dataclass(frozen=True)
class Item:
    case: Case
    task: str  # a duty (verify, lead, inform) or an office task (returned, duplicate, unsigned)
    deadline: Deadline | None  # the case's next running clock
    overdue: bool
    other: str | None = None  # a duplicate's twin


def todo(session: Session, person: Person, now: datetime) -> list[Item]:
    """Everything waiting for `person`, overdue first, then by the next deadline."""
    tasks: dict[int, tuple[Case, str, str | None]] = {}
    # A case handed back (submitted) waits for the office, not for those still on it.
    for case, duty in session.execute(
            select(Case, CaseMember.duty).join(CaseMember, CaseMember.case_id == Case.id)
            .where(CaseMember.person_id == person.id, Case.status.in_(OPEN), Case.status != SUBMITTED)):
        tasks[case.id] = (case, duty, None)
    if org.OFFICE in member(session, person).roles:
        for case, task, other in awaiting_office(session, person):
            tasks[case.id] = (case, task, other)  # the office's task says more than its duty
    shown = {c.id for c in visible(session, person, [t[0] for t in tasks.values()])}  # the policy decides,
    tasks = {cid: t for cid, t in tasks.items() if cid in shown}  # whatever the members table says
    clocks: dict[int, list[Deadline]] = {}
    for deadline in session.scalars(select(Deadline).where(
            Deadline.case_id.in_(tasks), Deadline.met_at.is_(None)).order_by(Deadline.due_at)):
        clocks.setdefault(deadline.case_id, []).append(deadline)
    items = []
    for case_id, (case, task, other) in tasks.items():
        running = clocks.get(case_id, [])
        overdue = any(d.is_late(now) for d in running)
        items.append(Item(case, task, running[0] if running else None, overdue, other))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(items, key=lambda i: (not i.overdue, i.deadline.due_at if i.deadline else far, i.case.id))


def awaiting_office(session: Session, person: Person) -> list[tuple[Case, str, str | None]]:
    """What waits for the office to dispatch (待分派), in the person's township: cases handed back,
    urgent cases nobody signed for, duplicates whose twin is still open — the office's 待办 in chat
    and the console's 待分派 tab alike."""
    where = viewer(session, person)
    township = [] if where.county else [Case.township_id == where.township_id]
    found: list[tuple[Case, str, str | None]] = []
    for case in session.scalars(select(Case).where(*township, Case.status == SUBMITTED)):
        found.append((case, RETURNED, None))
    for case in session.scalars(select(Case).where(*township, Case.status == ASSIGNED, Case.urgent)):
        found.append((case, UNSIGNED, None))
    flagged = session.execute(select(Case, CaseEvent.note).join(CaseEvent, CaseEvent.case_id == Case.id).where(
        *township, Case.status.in_(OPEN), CaseEvent.action == DUPLICATE_EVENT))
    flagged = list(flagged)
    still_open = set(session.scalars(select(Case.code).where(
        Case.code.in_({twin for _, twin in flagged}), Case.status.in_(OPEN))))
    found += [(case, DUPLICATE, twin) for case, twin in flagged if twin in still_open]
    return found
