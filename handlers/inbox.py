"""The cases a person may see, as lists: the console's inbox tabs and filters.

Every case shown passes `cases.may_see` for the person — the one access policy — after the SQL
filters have narrowed the candidates. Tabs:
  dispatch   待分派: open cases the office must (re)dispatch: handed back (退回), flagged as a likely
             duplicate and not merged yet, or urgent and not yet acknowledged;
  mine       我的: open cases the person is on, or reported;
  overdue    逾期: open cases with a missed deadline (or one past due);
  supervised 督办: open cases under supervision;
  all        全部: everything the person may see.
"""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select
from sqlmodel import Session

from handlers import cases, ledger, todo
from handlers.access import viewer
from models import Case, CaseMember, Deadline, Person
from models.cases import OPEN

TABS = ("dispatch", "mine", "overdue", "supervised", "all")
LIMIT = 200


@dataclass(frozen=True)
class Filters:
    tab: str = "all"
    village_id: int | None = None
    category: str | None = None
    status: str | None = None
    start: date | None = None
    end: date | None = None
    words: str = ""  # a case code, or words of the summary


@dataclass(frozen=True)
class Row:
    case: Case
    next_deadline: Deadline | None
    overdue: bool


def listing(session: Session, person: Person, filters: Filters, now: datetime, tz: ZoneInfo,
            limit: int = LIMIT) -> tuple[list[Row], bool]:
    """The newest cases of the tab matching the filters that the person may see, and whether more were left out."""
    query = select(Case).where(*_where(session, person, filters, now, tz), *_nearby(session, person)).order_by(Case.id.desc())
    shown: list[Case] = []
    more = False
    for case in session.scalars(query).all():
        if not cases.may_see(session, person, case):
            continue
        if len(shown) == limit:
            more = True
            break
        shown.append(case)
    return _rows(session, shown, now), more


def _nearby(session: Session, person: Person) -> list:
    """Only narrows the candidates `may_see` then decides on: below the county, every rule of the access
    policy stays inside the person's township (departments and covered villages belong to one), so
    nothing else there can be visible but the person's own reports."""
    who = viewer(session, person)
    if who.county or who.township_id is None:
        return []
    return [or_(Case.township_id == who.township_id, Case.reporter_id == person.id)]


def _where(session: Session, person: Person, f: Filters, now: datetime, tz: ZoneInfo) -> list:
    where = list(ledger.period(f.start, f.end, tz))
    if f.village_id is not None:
        where.append(Case.village_id == f.village_id)
    if f.category:
        where.append(Case.category == f.category)
    if f.status:
        where.append(Case.status == f.status)
    if f.words.strip():
        code = cases.normal_code(f.words)
        where.append(Case.code == code if code else Case.summary.contains(f.words.strip(), autoescape=True))
    is_open = Case.status.in_(OPEN)
    if f.tab == "dispatch":
        where += [is_open, Case.id.in_({case.id for case, _, _ in todo.awaiting_office(session, person)})]
    elif f.tab == "mine":
        on_it = exists().where(CaseMember.case_id == Case.id, CaseMember.person_id == person.id)
        where += [is_open, or_(on_it, Case.reporter_id == person.id)]
    elif f.tab == "overdue":
        where += [is_open, exists().where(Deadline.case_id == Case.id, Deadline.late(now))]
    elif f.tab == "supervised":
        where += [is_open, Case.supervised]
    return where


def _rows(session: Session, found: list[Case], now: datetime) -> list[Row]:
    ids = [c.id for c in found]
    pending: dict[int, Deadline] = {}
    late: set[int] = set()
    for d in session.scalars(select(Deadline).where(Deadline.case_id.in_(ids)).order_by(Deadline.due_at)):
        if d.status == "pending":
            pending.setdefault(d.case_id, d)
        if d.is_late(now):
            late.add(d.case_id)
    return [Row(c, pending.get(c.id) if c.status in OPEN else None, c.status in OPEN and c.id in late)
            for c in found]
