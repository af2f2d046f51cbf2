"""Deadlines: started and met by case events; their reminders and escalations are `jobs` rows.

A deadline starts with the policy's terms copied onto it, and every reminder and escalation
step it will ever need is scheduled at once. Meeting it (or closing the case) cancels what
is left; the job handlers check again when they run, so a late cancel cannot slip through.
"""

from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

from handlers import org, texts
from handlers.lookups import Lookups
from handlers.notify import notify
from handlers.policy import Policy, Rule, Window, offset
from handlers.workdays import Workdays
from models import (
    Case,
    CaseEvent,
    CaseMember,
    Deadline,
    DeadlineMiss,
    Job,
    Person,
    SensitivePeriod,
)
from models.cases import OPEN

CLOSING = "办结"  # closing a case meets every clock it still has
# Closing, handing back (退回) or merging into another case ends every clock the case still has:
# nobody answers for them any more; a re-dispatch starts them afresh for the new assignees.
ENDING = frozenset((CLOSING, "退回", "合并"))
REMIND, ESCALATE = "remind", "escalate"


def facts(case: Case) -> set[str]:
    found = {name for name, on in (("urgent", case.urgent), ("online", case.online),
                                   ("involves_cadre", case.involves_cadre)) if on}
    if case.category == org.PETITION_CATEGORY:
        found.add("petition")
    return found


def sensitive_period(session: Session, at: datetime, policy: Policy, township_id: int,
                     lookups: Lookups | None = None) -> SensitivePeriod | None:
    """The period a case of this township is in at `at` — the county's or its own; the shortest windows win."""
    day = at.astimezone(policy.tz).date()

    def find() -> SensitivePeriod | None:
        return session.scalars(select(SensitivePeriod).where(
            SensitivePeriod.starts_on <= day, SensitivePeriod.ends_on >= day,
            or_(SensitivePeriod.township_id.is_(None), SensitivePeriod.township_id == township_id))
            .order_by(SensitivePeriod.factor)).first()
    return lookups.once(("sensitive period", day, township_id), find) if lookups else find()


def on_event(session: Session, case: Case, action: str, now: datetime, policy: Policy) -> None:
    """What an event does to the case's clocks: meet those it meets, start those it starts."""
    for deadline in session.scalars(select(Deadline).where(Deadline.case_id == case.id, Deadline.met_at.is_(None))):
        if action in ENDING or action in deadline.terms.get("met_by", ()):
            deadline.met_at = now
            if deadline.status == "pending":
                deadline.status = "met"
                if action != CLOSING and action not in deadline.terms.get("met_by", ()):
                    # Ended, not met: handed back or merged away; the accountability figures leave it out.
                    deadline.terms = {**deadline.terms, "ended_by": action}
            _cancel_jobs(session, deadline.id)
    if case.status in OPEN:
        start(session, case, action, now, policy)


def start(session: Session, case: Case, action: str, now: datetime, policy: Policy, *, again: bool = False,
          kinds: frozenset[str] | None = None, new: bool = False, lookups: Lookups | None = None) -> list[Deadline]:
    """Start every deadline the policy starts on `action` that applies and the case never had — or, `again`
    (a re-dispatch, a reopened case), that is not running now; `kinds` limits which; `new`: a case just
    filed, which has none yet. The deadlines go in with one flush, their jobs in one statement."""
    if new:
        have = set()
    else:
        query = select(Deadline.kind).where(Deadline.case_id == case.id)
        have = set(session.scalars(query.where(Deadline.met_at.is_(None)) if again else query))
    rules = [r for r in policy.rules if r.starts == action and r.kind not in have and r.applies(facts(case))
             and (kinds is None or r.kind in kinds)]
    if not rules:
        return []
    period = sensitive_period(session, now, policy, case.township_id, lookups)
    workdays = Workdays.load(session) if any(r.window_for(case.urgent).working_days for r in rules) else None
    started = []
    for rule in rules:
        window = rule.window_for(case.urgent)
        factor = period.factor if period else 1.0
        due = due_at(now, _shortened(window, factor), policy, workdays)
        started.append(Deadline(case_id=case.id, kind=rule.kind, due_at=due, started_at=now, terms={
            "window": str(window), "factor": factor, "met_by": list(rule.met_by),
            "responsible": list(rule.responsible), "urgent": case.urgent,
        }))
    _insert(session, started)  # their ids, for the jobs
    jobs = [job for rule, deadline in zip(rules, started) for job in _schedule(case, deadline, rule, policy)]
    if jobs:
        session.connection().execute(_INSERT_JOBS, jobs)  # Core: the ORM's execute of it costs more than the insert
    return started


_INSERT_JOBS = insert(Job.__table__)
_DEADLINE = Deadline.__table__
_COLUMNS = [c.name for c in _DEADLINE.columns if c.name != "id"]
# Many rows with RETURNING: SQLAlchemy sends them as one INSERT (insertmanyvalues), compiled once.
_INSERT = _DEADLINE.insert().returning(_DEADLINE.c.kind, _DEADLINE.c.id)


def _insert(session: Session, deadlines: list[Deadline]) -> None:
    """The deadlines in one statement, then the session's as if flushed (a flush sends one INSERT a row:
    SQLite gives the ORM no ordered RETURNING). Ids come back by kind: the policy has one rule a kind,
    so their order does not matter."""
    rows = [{c: getattr(d, c) for c in _COLUMNS} for d in deadlines]
    ids = dict(session.connection().execute(_INSERT, rows).all())
    for deadline in deadlines:
        deadline.id = ids[deadline.kind]
        make_transient_to_detached(deadline)
        session.add(deadline)


def _shortened(window: Window, factor: float) -> Window | timedelta:
    """A sensitive period shortens the window; whole working days stay whole (never below one)."""
    if factor >= 1:
        return window
    if window.working_days:
        return Window(max(1, round(window.amount * factor + 0.49)), "wd")
    return window.span() * factor


def due_at(start: datetime, window: Window | timedelta, policy: Policy, workdays: Workdays | None) -> datetime:
    if isinstance(window, timedelta):
        return start + window
    if window.working_days:
        return workdays.add(start, window.amount, policy.workday_ends, policy.tz)
    return start + window.span()


def quiet_shifted(at: datetime, policy: Policy) -> datetime:
    """The same instant, or the end of quiet hours when it falls inside them."""
    local = at.astimezone(policy.tz)
    clock = local.time()
    start, end = policy.quiet_start, policy.quiet_end
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return at
    day = local.date() + timedelta(days=1) if start > end and clock >= start else local.date()
    return datetime.combine(day, end, tzinfo=policy.tz)


def _schedule(case: Case, deadline: Deadline, rule: Rule, policy: Policy) -> list[dict]:
    """The deadline's reminder and escalation jobs, as rows to insert."""
    start, due = deadline.started_at, deadline.due_at
    planned = set()
    jobs = []
    for point in rule.reminders:
        at = start + (due - start) / 2 if point == "half" else due + offset(point)
        if not case.urgent:
            at = quiet_shifted(at, policy)
        if start < at < due and at not in planned:  # two points on one instant remind once
            planned.add(at)
            jobs.append(_job(REMIND, at, case, deadline, {"point": point}))
    levels = policy.escalate_to
    for step, after in enumerate(rule.escalation, start=1):
        level = levels[min(step, len(levels)) - 1]
        jobs.append(_job(ESCALATE, due + offset(after), case, deadline, {"step": step, "level": level}))
    return jobs


def _job(kind: str, at: datetime, case: Case, deadline: Deadline, payload: dict) -> dict:
    return {"kind": kind, "due_at": at, "case_id": case.id, "deadline_id": deadline.id, "payload": payload,
            "status": "pending", "attempts": 0}


def _cancel_jobs(session: Session, deadline_id: int) -> None:
    session.execute(update(Job).where(Job.deadline_id == deadline_id, Job.status == "pending")
                    .values(status="cancelled").execution_options(synchronize_session=False))


# -- job handlers (run by handlers/jobs.py) ---------------------------------------------------

def _live(session: Session, job: Job) -> tuple[Case, Deadline] | None:
    deadline = session.get(Deadline, job.deadline_id)
    case = session.get(Case, job.case_id)
    if deadline is None or case is None or deadline.met_at is not None or case.status not in OPEN:
        return None
    return case, deadline


def remind(session: Session, job: Job, now: datetime, policy: Policy, lookups: Lookups | None = None) -> bool:
    live = _live(session, job)
    if live is None:
        return False
    lookups = lookups or Lookups(session)
    case, deadline = live
    if deadline.due_at <= now:
        # Run late (after downtime): "n minutes left" would be false; the escalation job speaks instead.
        return False
    people = _responsible(lookups, case, deadline)
    due = texts.moment(deadline.due_at, policy.tz)
    left = int((deadline.due_at - now).total_seconds() // 60)
    for person in people:
        notify(session, person, texts.reminder(case.code, deadline.kind, due, texts.time_left(left)),
               f"remind:{job.id}:{person.id}", now, case_id=case.id, lookups=lookups)
    _event(session, case, "提醒", f"{texts.DEADLINE_KIND[deadline.kind]} → {_names(people)}", now)
    return True


def escalate(session: Session, job: Job, now: datetime, policy: Policy, lookups: Lookups | None = None) -> bool:
    live = _live(session, job)
    if live is None:
        return False
    lookups = lookups or Lookups(session)
    case, deadline = live
    responsible = _responsible(lookups, case, deadline)
    targets, level = _level(lookups, case, job.payload["step"], policy)
    due = texts.moment(deadline.due_at, policy.tz)
    # Outside urgent cases, a message that would land in quiet hours waits for the morning.
    send_at = now if case.urgent else quiet_shifted(now, policy)
    if deadline.status == "pending":
        deadline.status = "missed"
        case.supervised = True
        for person in responsible:
            session.add(DeadlineMiss(deadline_id=deadline.id, case_id=case.id, person_id=person.id,
                                     unit_id=person.unit_id, department_id=person.department_id, at=now))
            notify(session, person, texts.overdue_notice(case.code, deadline.kind, due, level),
                   f"overdue:{deadline.id}:{person.id}", now, at=send_at, case_id=case.id, lookups=lookups)
    place = lookups.place_name(case.township_id, case.village_id)
    for person in targets:
        notify(session, person, texts.escalation(case.code, deadline.kind, due, place, _names(responsible)),
               f"escalate:{job.id}:{person.id}", now, at=send_at, case_id=case.id, lookups=lookups)
    note = f"{texts.DEADLINE_KIND[deadline.kind]}逾期 → 督办，报{level}：{_names(targets)}"
    _event(session, case, "逾期" if job.payload["step"] == 1 else "升级", note, now)
    return True


def prepare(lookups: Lookups, jobs: list[Job]) -> None:
    """Who is on each of a batch's cases, in one query, for _responsible (kept in the batch's lookups)."""
    on_case = lookups.once(("case members",), dict)
    cases = {job.case_id for job in jobs} - on_case.keys()
    for case_id in cases:
        on_case[case_id] = []
    for case_id, duty, person in lookups.session.execute(
            select(CaseMember.case_id, CaseMember.duty, Person).join(Person, Person.id == CaseMember.person_id)
            .where(CaseMember.case_id.in_(cases), Person.active).order_by(Person.id)):
        on_case[case_id].append((duty, person))


def _responsible(lookups: Lookups, case: Case, deadline: Deadline) -> list[Person]:
    duties = deadline.terms.get("responsible", ["lead"])
    on_case = lookups.once(("case members",), dict)
    if case.id in on_case:
        return _allowed(lookups, case, [person for duty, person in on_case[case.id] if duty in duties])
    return _allowed(lookups, case, list(lookups.session.scalars(
        select(Person).join(CaseMember, CaseMember.person_id == Person.id)
        .where(CaseMember.case_id == case.id, CaseMember.duty.in_(duties), Person.active).order_by(Person.id))))


def _allowed(lookups: Lookups, case: Case, people: list[Person]) -> list[Person]:
    """Only people the access policy lets see the case are reminded or told of its escalation."""
    scope = lookups.once(("scope", case.id), lambda: lookups.scope(case))
    return [p for p in people if lookups.can_see(p, scope)]


def _level(lookups: Lookups, case: Case, step: int, policy: Policy) -> tuple[list[Person], str]:
    """The people `step` levels above the responsible; an empty level passes to the next one."""
    levels = policy.escalate_to
    for role in levels[min(step, len(levels)) - 1:]:
        people = _allowed(lookups, case, _holders_for(lookups, case, role))
        if people:
            return people, role
    return [], levels[-1]


def _holders_for(lookups: Lookups, case: Case, role: str) -> list[Person]:
    if role == org.VILLAGE_LEADER:
        return lookups.covering(case.village_id)
    return lookups.holders(role, case.township_id)


def _event(session: Session, case: Case, action: str, note: str, now: datetime) -> None:
    session.add(CaseEvent(case_id=case.id, at=now, actor_id=None, action=action, note=note))


def _names(people: list[Person]) -> str:
    return "、".join(p.name for p in people)



