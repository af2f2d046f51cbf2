"""The ledger (台账): one row per case as the office keeps it, and the figures per unit.

A row is read from the case and its history: signed for at the first 签收, closed at the last
办结 (with its note as the outcome), satisfaction from the last 回访. Overdue means a deadline
was missed, met after it was due, or is still pending past due.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlmodel import Session

from handlers import org, texts
from handlers.access import shown
from handlers.cases import ACK, CLOSE, FOLLOW_UP
from handlers.people import subtree
from models import Case, CaseEvent, Deadline, Person, Unit
from models.cases import OPEN, RESOLVED, REVIEWED

SATISFACTION = ("满意", "基本满意", "不满意")


class LedgerError(ValueError):
    """A filter the ledger cannot use; the message is Chinese."""


@dataclass(frozen=True)
class Row:
    code: str
    created_at: datetime
    township: str
    village: str | None
    grid: str | None  # the reporter's grid, named with its village when that is not the case's
    category: str
    severity: str
    lead_department: str
    summary: str
    status: str
    acknowledged_at: datetime | None
    closed_at: datetime | None
    overdue: bool
    supervised: bool
    outcome: str | None
    satisfaction: str | None

    @property
    def open(self) -> bool:
        return self.status in OPEN

    @property
    def closed(self) -> bool:
        return self.status in (RESOLVED, REVIEWED)


def rows(session: Session, now: datetime, *where, visible_to: Person | None = None) -> list[Row]:
    """The ledger rows of the cases matching `where`, oldest first; with `visible_to`, only the cases
    the access policy lets that person see, and their grid column empty where they may not know the
    reporter (a grid often has one grid worker: its name would name them)."""
    chosen = select(Case.id).where(*where)
    cases = session.scalars(select(Case).where(Case.id.in_(chosen)).order_by(Case.created_at, Case.id)).all()
    unnamed: set[int] = set()
    if visible_to is not None:
        found = shown(session, visible_to, cases)
        cases = [c for c, _ in found]
        unnamed = {c.id for c, knows in found if not knows}
        chosen = [c.id for c in cases]
    units = {uid: (name, parent) for uid, name, parent in session.execute(select(Unit.id, Unit.name, Unit.parent_id))}
    names = {uid: name for uid, (name, _) in units.items()}

    def grid(case: Case) -> str | None:
        if case.grid_id is None or case.id in unnamed:
            return None
        name, village = units[case.grid_id]
        return name if village == case.village_id else names.get(village, "") + name

    late = set(session.scalars(select(Deadline.case_id).where(Deadline.case_id.in_(chosen), overdue(now))))
    acked: dict[int, datetime] = {}
    closed: dict[int, CaseEvent] = {}
    satisfaction: dict[int, str] = {}
    for event in session.scalars(select(CaseEvent).where(
            CaseEvent.case_id.in_(chosen), CaseEvent.action.in_((ACK, CLOSE, FOLLOW_UP))).order_by(CaseEvent.id)):
        if event.action == ACK:
            acked.setdefault(event.case_id, event.at)
        elif event.action == CLOSE:
            closed[event.case_id] = event
        elif (level := satisfaction_of(event.note)) is not None:
            satisfaction[event.case_id] = level
    return [Row(
        code=c.code, created_at=c.created_at, township=names[c.township_id], village=names.get(c.village_id),
        grid=grid(c), category=c.category, severity=c.severity, lead_department=c.lead_department, summary=c.summary,
        status=c.status,
        acknowledged_at=acked.get(c.id), closed_at=closed[c.id].at if c.id in closed else None,
        overdue=c.id in late, supervised=c.supervised, outcome=closed[c.id].note if c.id in closed else None,
        satisfaction=satisfaction.get(c.id),
    ) for c in cases]


def overdue(now: datetime):
    """Deadlines that make their case overdue as of `now`."""
    return or_(Deadline.late(now), Deadline.met_at > Deadline.due_at)


def satisfaction_of(note: str) -> str | None:
    """A 回访 event's note starts with the satisfaction: "基本满意：已电话回访"."""
    level = note.split("：", 1)[0]
    return level if level in SATISFACTION else None


def followup_note(level: str, note: str) -> str:
    return f"{level}：{note}"


# -- filters --------------------------------------------------------------------------------

def period(start: date | None, end: date | None, tz: ZoneInfo) -> list:
    """Cases filed from the start of `start` to the end of `end` (local dates, both optional)."""
    if start and end and start > end:
        raise LedgerError(texts.LEDGER_BAD_RANGE.format(start=start, end=end))
    where = []
    if start:
        where.append(Case.created_at >= datetime.combine(start, time(), tz))
    if end:
        where.append(Case.created_at < datetime.combine(end + timedelta(days=1), time(), tz))
    return where


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise LedgerError(texts.LEDGER_BAD_DATE.format(value=value)) from None


def in_unit(session: Session, name: str) -> list:
    """Cases in a township or village (or under a county), named like 西岔村 or 白水乡/西岔村."""
    *parents, last = [part.strip() for part in name.replace("／", "/").split("/")]
    found = session.scalars(select(Unit).where(Unit.name == last)).all()
    if parents:
        found = [u for u in found if u.parent_id and session.get(Unit, u.parent_id).name == parents[-1]]
    if not found:
        raise LedgerError(texts.LEDGER_UNIT_UNKNOWN.format(unit=name))
    if len(found) > 1:
        raise LedgerError(texts.LEDGER_UNIT_AMBIGUOUS.format(unit=name, n=len(found)))
    units = subtree(session, found[0].id)
    return [or_(Case.township_id.in_(units), Case.village_id.in_(units), Case.grid_id.in_(units))]


# -- figures --------------------------------------------------------------------------------

FIGURES = ("total", "open", "closed", "overdue", "supervised", *SATISFACTION)


def figures(found: list[Row]) -> list[tuple[str, str, Counter]]:
    """(乡镇, 牵头部门, counts) per unit, then the total as ("合计", "", counts)."""
    by_unit: dict[tuple[str, str], Counter] = {}
    total = Counter({k: 0 for k in FIGURES})
    for row in found:
        counts = by_unit.setdefault((row.township, row.lead_department), Counter({k: 0 for k in FIGURES}))
        for bucket in (counts, total):
            bucket.update({"total": 1, "open": row.open, "closed": row.closed, "overdue": row.overdue,
                           "supervised": row.supervised})
            if row.satisfaction:
                bucket[row.satisfaction] += 1
    order = {dept: i for i, dept in enumerate(org.DEPARTMENTS)}
    units = sorted(by_unit.items(), key=lambda item: (item[0][0], order.get(item[0][1], len(order)), item[0][1]))
    return [*((township, dept, counts) for (township, dept), counts in units), (texts.LEDGER_TOTAL, "", total)]
