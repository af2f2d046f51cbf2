"""Follow-up visits (回访): the office visits the people concerned after a case is closed.

Closing schedules a `followup` job (handlers/cases.py); when it runs, the township office is
asked to visit. The office records the outcome and satisfaction in chat or the admin API:
满意 / 基本满意 closes the case for good (reviewed); 不满意 within the policy's window of
closing (3 days) reopens it and tells the lead department; later, it is only recorded.
"""

from datetime import datetime
from enum import Enum

from sqlalchemy import select, update
from sqlmodel import Session

from handlers import org, texts
from handlers.lookups import Lookups
from handlers.cases import (ASSIGN, CLOSE, FOLLOW_UP, FOLLOW_UP_JOB, LEAD, REOPEN, TRANSITIONS, Refusal, find,
                            may_see, members, place)
from handlers.deadlines import quiet_shifted, start
from handlers.ledger import SATISFACTION, followup_note
from handlers.notify import notify
from handlers.people import holders, member
from handlers.policy import Policy
from models import Case, CaseEvent, Job, Person
from models.cases import RESOLVED

UNSATISFIED = SATISFACTION[-1]


class Recorded(Enum):
    REVIEWED = "reviewed"  # 满意 / 基本满意
    REOPENED = "reopened"  # 不满意 in time: back to the lead department
    TOO_LATE = "too_late"  # 不满意 after the window: recorded, the case stays closed


def ask(session: Session, job: Job, now: datetime, policy: Policy,
        lookups: Lookups | None = None) -> bool:
    """The job handler: ask the township office to visit, unless the case moved on meanwhile."""
    case = session.get(Case, job.case_id)
    if case is None or case.status != RESOLVED:
        return False
    closing = _closing(session, case)
    text = texts.followup_request(case.code, place(session, case), texts.moment(closing.at, policy.tz), closing.note)
    office = [p for p in holders(session, org.OFFICE, case.township_id) if may_see(session, p, case)]
    for person in office:
        notify(session, person, text, f"followup:{job.id}:{person.id}", now, at=quiet_shifted(now, policy),
               case_id=case.id, lookups=lookups)
    session.add(CaseEvent(case_id=case.id, at=now, actor_id=None, action="回访提醒",
                          note="、".join(p.name for p in office)))
    return True


def record(session: Session, person: Person | None, code: str, level: str, note: str, now: datetime,
           policy: Policy) -> tuple[Case, Recorded]:
    """Record the office's visit (`person` None: the admin API), or raise Refusal with the reason."""
    case = find(session, code)
    if case is None or (person is not None and not may_see(session, person, case)):
        raise Refusal(texts.NO_SUCH_CASE.format(code=code))
    if person is not None and org.OFFICE not in member(session, person).roles:
        raise Refusal(texts.FOLLOWUP_NOT_YOURS.format(code=code))
    if level not in SATISFACTION:
        raise Refusal(texts.FOLLOWUP_USAGE)
    if not note:
        raise Refusal(texts.FOLLOWUP_NEEDS_NOTE.format(code=code, level=level))
    if case.status not in TRANSITIONS[FOLLOW_UP]:
        raise Refusal(texts.not_now(FOLLOW_UP, code, case.status, ()))
    actor = person.id if person else None
    session.add(CaseEvent(case_id=case.id, at=now, actor_id=actor, action=FOLLOW_UP, note=followup_note(level, note)))
    # A visit recorded before it was asked for, or a reopened case, needs no reminder any more.
    session.execute(update(Job).where(Job.case_id == case.id, Job.kind == FOLLOW_UP_JOB, Job.status == "pending")
                    .values(status="cancelled").execution_options(synchronize_session=False))
    outcome = Recorded.REVIEWED
    if level == UNSATISFIED:
        outcome = Recorded.REOPENED if now - _closing(session, case).at <= policy.reopen_within else Recorded.TOO_LATE
    if outcome is Recorded.REOPENED:
        case.status = TRANSITIONS[REOPEN][case.status]
        session.add(CaseEvent(case_id=case.id, at=now, actor_id=actor, action=REOPEN, note=texts.REOPEN_NOTE))
        # The case is open again: a new close clock, which the lead hears of and the reporter too.
        started = start(session, case, ASSIGN, now, policy, again=True, kinds=frozenset({"close"}))
        due = texts.moment(started[0].due_at, policy.tz) if started else None
        for lead, duty in members(session, case):
            if duty == LEAD and lead.active and may_see(session, lead, case):
                notify(session, lead, texts.reopened_for_lead(case.code, note, due),
                       f"reopen:{case.code}:{lead.id}:{now.isoformat()}", now, case_id=case.id)
        notify(session, session.get(Person, case.reporter_id), texts.reopened_for_reporter(case.code, due),
               f"reopen:{case.code}:reporter:{now.isoformat()}", now, case_id=case.id)
    else:
        case.status = TRANSITIONS[FOLLOW_UP][case.status]
    return case, outcome


def _closing(session: Session, case: Case) -> CaseEvent:
    return session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == CLOSE)
                           .order_by(CaseEvent.id.desc()).limit(1)).one()
