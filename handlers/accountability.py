"""问责追责: missed deadlines per unit and per person, the on-time rate, and the cases behind them.

A deadline counts for the range its due time falls in, once decided (met or missed). Misses
come from `deadline_misses` — who answered for it when it was missed; met deadlines count
for the people then on the case with a responsible duty.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from handlers import texts
from handlers.access import visible
from handlers.ledger import LedgerError
from models import Case, CaseMember, Deadline, DeadlineMiss, Department, Person, Unit

DEFAULT_DAYS = 30
MAX_RANGE = timedelta(days=366)


@dataclass
class Tally:
    deadlines: set[int] = field(default_factory=set)
    missed: set[int] = field(default_factory=set)
    cases: set[str] = field(default_factory=set)  # codes of the missed ones

    def json(self) -> dict:
        total = len(self.deadlines)
        return {"deadlines": total, "missed": len(self.missed),
                "on_time_rate": round(1 - len(self.missed) / total, 4) if total else None,
                "cases": sorted(self.cases)}


def window(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """The range asked for, by default the last 30 days to today; LedgerError (Chinese) when backwards
    or longer than a year."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise LedgerError(texts.LEDGER_BAD_RANGE.format(start=first, end=last))
    if last - first > MAX_RANGE:
        raise LedgerError(texts.ACCOUNTABILITY_TOO_LONG)
    return first, last


def overdue_stats(session: Session, first: date, last: date, tz: ZoneInfo, visible_to: Person | None = None) -> dict:
    """With `visible_to`, only the deadlines of the cases the access policy lets that person see."""
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    decided = session.execute(
        select(Deadline.id, Deadline.status, Deadline.terms, Case.id, Case.code)
        .join(Case, Case.id == Deadline.case_id)
        .where(Deadline.due_at >= start, Deadline.due_at < end, Deadline.status.in_(("met", "missed")))).all()
    decided = [row for row in decided if "ended_by" not in row[2]]  # handed back or merged: nobody's to meet
    if visible_to is not None:
        shown = {c.id for c in visible(session, visible_to, session.scalars(
            select(Case).where(Case.id.in_({row[3] for row in decided}))))}
        decided = [row for row in decided if row[3] in shown]
    ids = {row[0] for row in decided}
    code = {row[0]: row[4] for row in decided}
    # (deadline, person, unit, department) for everyone who answered for each deadline
    answered: set[tuple[int, int, int, int | None]] = set()
    for m in session.scalars(select(DeadlineMiss).where(DeadlineMiss.deadline_id.in_(ids))):
        answered.add((m.deadline_id, m.person_id, m.unit_id, m.department_id))
    met = [(d_id, case_id, terms) for d_id, status, terms, case_id, _ in decided if status == "met"]
    on_case = defaultdict(list)
    for case_id, duty, person_id, unit_id, dept_id in session.execute(
            select(CaseMember.case_id, CaseMember.duty, Person.id, Person.unit_id, Person.department_id)
            .join(Person, Person.id == CaseMember.person_id)
            .where(CaseMember.case_id.in_({c for _, c, _ in met}))):
        on_case[case_id].append((duty, person_id, unit_id, dept_id))
    for d_id, case_id, terms in met:
        duties = terms.get("responsible", ["lead"])
        answered.update((d_id, p, u, dp) for duty, p, u, dp in on_case[case_id] if duty in duties)
    missed = {row[0] for row in decided if row[1] == "missed"}
    units, people = defaultdict(Tally), defaultdict(Tally)
    for d_id, person_id, unit_id, dept_id in answered:
        for tally in (units[(unit_id, dept_id)], people[person_id]):
            tally.deadlines.add(d_id)
            if d_id in missed:
                tally.missed.add(d_id)
                tally.cases.add(code[d_id])
    labels = _labels(session, units, people)
    unit_rows = [{"unit": labels[0][key], **tally.json()} for key, tally in units.items()]
    person_rows = [{"name": labels[1][pid][0], "unit": labels[1][pid][1], **tally.json()}
                   for pid, tally in people.items()]
    return {
        "from": first.isoformat(), "to": last.isoformat(), "deadlines": len(ids), "met": len(ids) - len(missed),
        "missed": len(missed), "on_time_rate": round(1 - len(missed) / len(ids), 4) if ids else None,
        "units": sorted(unit_rows, key=_worst_first), "people": sorted(person_rows, key=_worst_first),
    }


def _worst_first(row: dict) -> tuple:
    return -row["missed"], row["unit"], row.get("name", "")


def _labels(session: Session, units: dict, people: dict) -> tuple[dict, dict]:
    unit_names = dict(session.execute(select(Unit.id, Unit.name)).all())
    dept_names = dict(session.execute(select(Department.id, Department.name)).all())

    def label(unit_id: int, dept_id: int | None) -> str:
        return unit_names[unit_id] + (dept_names[dept_id] if dept_id else "")

    persons = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(list(people))))}
    return ({key: label(*key) for key in units},
            {pid: (p.name, label(p.unit_id, p.department_id)) for pid, p in persons.items()})
