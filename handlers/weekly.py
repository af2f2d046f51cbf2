"""The ledger's week: Friday's request to update open cases, Monday's summary for the main leaders.

Each occurrence is one `jobs` row under a unique key (kind and local date and time). Every run-due
pass ensures the next occurrence exists, and today's once its time has come (so a fresh database
still does today's). After downtime the one row left pending runs late, once — never once per
missed tick — and two processes inserting the same occurrence make one row. A pending row the
schedule no longer yields (the setting changed) is cancelled.
"""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlmodel import Session

from handlers import ledger, org, texts
from handlers.lookups import Lookups
from handlers.access import can_see, case_scope, viewer
from handlers.cases import CLOSE, LEAD, MAY_BY_DUTY, VERIFY
from handlers.deadlines import quiet_shifted
from handlers.notify import notify
from handlers.people import holders
from handlers.policy import Policy
from models import Case, CaseEvent, CaseMember, Deadline, Job, Person, Unit
from models.cases import OPEN, SUBMITTED
from models.dml import per_dialect
from models.outbox import MARKDOWN

UPDATE, SUMMARY = "weekly_update", "weekly_summary"
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_FORMAT = re.compile(r"^\s*(\S+)\s+(\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True)
class Weekly:
    """A time of the week, in local time: "FRI 16:00" (or "周五 16:00")."""

    weekday: int  # Monday 0
    at: time

    @classmethod
    def parse(cls, value: str) -> "Weekly":
        match = _FORMAT.match(value)
        day = match[1].upper() if match else ""
        if day not in DAYS and day not in ZH_DAYS:
            raise ValueError(f"{value!r} is not a weekly time like 'FRI 16:00' (day MON … SUN, 24-hour local time)")
        try:
            at = time.fromisoformat(match[2].zfill(5))
        except ValueError:
            raise ValueError(f"{value!r}: {match[2]} is not a time of day like 16:00") from None
        return cls(DAYS.index(day) if day in DAYS else ZH_DAYS.index(day), at)

    def occurrences(self, now: datetime, tz: ZoneInfo) -> list[datetime]:
        """Today's occurrence once its time has come, and the next one after now."""
        today = now.astimezone(tz).date()
        first = datetime.combine(today + timedelta(days=(self.weekday - today.weekday()) % 7), self.at, tz)
        return [first, datetime.combine(first.date() + timedelta(days=7), self.at, tz)] if first <= now else [first]

    def yields(self, at: datetime, tz: ZoneInfo) -> bool:
        local = at.astimezone(tz)
        return local.weekday() == self.weekday and local.time() == self.at


_jobs = Job.__table__
_INSERT = per_dialect(lambda insert: insert(_jobs).on_conflict_do_nothing())


def ensure(session: Session, now: datetime, schedules: dict[str, Weekly], tz: ZoneInfo,
           payloads: dict[str, dict] | None = None) -> None:
    """Make sure each schedule's coming occurrences are rows, and no stale one is pending."""
    db = session.connection()
    for kind, schedule in schedules.items():
        stale = [job.id for job in session.scalars(select(Job).where(Job.kind == kind, Job.status == "pending"))
                 if not schedule.yields(job.due_at, tz)]
        if stale:
            session.execute(update(Job).where(Job.id.in_(stale), Job.status == "pending").values(status="cancelled")
                            .execution_options(synchronize_session=False))
        wanted = {f"{kind}:{at.astimezone(tz):%Y-%m-%dT%H:%M}": at for at in schedule.occurrences(now, tz)}
        have = set(session.scalars(select(Job.key).where(Job.key.in_(wanted))))
        for key, at in wanted.items():
            if key not in have:
                db.execute(_INSERT[db.dialect.name], {"kind": kind, "due_at": at, "status": "pending", "key": key,
                                                      "payload": (payloads or {}).get(kind, {})})


# -- Friday: each unit's open cases, and a request to update them --------------------------------

def ask_for_updates(session: Session, job: Job, now: datetime, policy: Policy,
                    lookups: Lookups | None = None) -> bool:
    """Everyone who leads or verifies an open case gets the list of theirs; the others nothing."""
    names = dict(session.execute(select(Unit.id, Unit.name)).all())
    late = set(session.scalars(select(Deadline.case_id).join(Case, Case.id == Deadline.case_id)
                               .where(Case.status.in_(OPEN), ledger.overdue(now))))
    mine: dict[int, list[str]] = {}
    leads: set[int] = set()  # who may close one of theirs: only they are asked to 办结
    viewers: dict[int, object] = {}
    # A case handed back (submitted) waits for the office, not for them.
    for person_id, duty, case in session.execute(
            select(CaseMember.person_id, CaseMember.duty, Case).join(Case, Case.id == CaseMember.case_id)
            .where(Case.status.in_(OPEN), Case.status != SUBMITTED, CaseMember.duty.in_((LEAD, VERIFY)))
            .order_by(Case.id)):
        if person_id not in viewers:
            viewers[person_id] = viewer(session, session.get(Person, person_id))
        if not can_see(viewers[person_id], case_scope(session, case)):
            continue  # the access policy decides, whatever the members table still says
        place = names[case.village_id] if case.village_id else names[case.township_id]
        line = texts.weekly_update_line(case.code, case.status, place, case.category, case.id in late)
        mine.setdefault(person_id, []).append(line)
        if duty in MAY_BY_DUTY[CLOSE]:
            leads.add(person_id)
    told = 0
    for person_id, lines in mine.items():
        person = session.get(Person, person_id)
        if person.active:
            told += notify(session, person, texts.weekly_update(lines, person_id in leads), f"{job.key}:{person.id}",
                           now, at=quiet_shifted(now, policy), lookups=lookups)
    return told > 0


# -- Monday: the week in figures for the main leaders --------------------------------------------

def send_summary(session: Session, job: Job, now: datetime, policy: Policy,
                 lookups: Lookups | None = None) -> bool:
    """The last seven local days before the occurrence's date: new and closed then, open and overdue now."""
    day = job.due_at.astimezone(policy.tz).date()
    since, until = (datetime.combine(d, time(), policy.tz) for d in (day - timedelta(days=7), day))
    summaries: dict[int | None, str] = {}  # township id, None for county-level leaders
    told = 0
    for leader in holders(session, org.MAIN_LEADER):
        seen = viewer(session, leader)
        scope = None if seen.county else seen.township_id
        if scope not in summaries:
            summaries[scope] = _summary(session, scope, since, until, now, policy.tz, leader)
        # WeCom shows the markdown; the Official Account sender turns it into plain text.
        told += notify(session, leader, summaries[scope], f"{job.key}:{leader.id}", now, msgtype=MARKDOWN,
                       at=quiet_shifted(now, policy), lookups=lookups)
    return told > 0


FIGURES = ("new", "open", "overdue", "closed")


def _summary(session: Session, township_id: int | None, since: datetime, until: datetime, now: datetime,
             tz: ZoneInfo, leader: Person) -> str:
    closed_lately = select(CaseEvent.case_id).where(CaseEvent.action == CLOSE, CaseEvent.at >= since)
    where = [or_(Case.status.in_(OPEN), Case.created_at >= since, Case.id.in_(closed_lately))]
    if township_id is not None:
        where.append(Case.township_id == township_id)
    total = Counter({k: 0 for k in FIGURES})
    by_unit: dict[str, Counter] = {}
    by_category: dict[str, Counter] = {}
    for row in ledger.rows(session, now, *where, visible_to=leader):
        flags = {"new": since <= row.created_at < until, "open": row.open, "overdue": row.open and row.overdue,
                 "closed": row.closed and since <= row.closed_at < until}
        counts = {k: int(v) for k, v in flags.items()}  # an empty Counter would keep bools as they are
        if any(counts.values()):
            for bucket in (total, by_unit.setdefault(row.lead_department, Counter()),
                           by_category.setdefault(row.category, Counter())):
                bucket.update(counts)
    scope = session.get(Unit, township_id).name if township_id is not None else texts.COUNTY_SCOPE
    local = [at.astimezone(tz) for at in (since, until - timedelta(days=1), now)]
    return texts.weekly_summary(scope, *local, total, _ranked(by_unit), _ranked(by_category))


def _ranked(table: dict[str, Counter]) -> list[tuple[str, Counter]]:
    """Most open first, then most new; ties by name."""
    return sorted(table.items(), key=lambda item: (-item[1]["open"], -item[1]["new"], item[0]))




