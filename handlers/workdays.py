"""Working days: the office's holiday table, then China's statutory calendar, then Monday–Friday.

chinese-calendar knows the statutory holidays and adjusted working weekends up to the year
of its release; the office enters later years itself. A date neither knows falls back to
Monday–Friday and is reported (log, admin API, a December message to the office) — never an error.
"""

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import func, select
from sqlmodel import Session

from handlers import org, texts
from handlers.notify import notify
from handlers.people import holders
from models import Holiday

log = logging.getLogger("gridline.calendar")
PACKAGE_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
MAX_SEARCH = timedelta(days=400)  # a table that marks a whole year as holiday must not hang us


class Workdays:
    def __init__(self, overrides: dict[date, bool], office_years: set[int]):
        self.overrides = overrides
        self.office_years = office_years
        self.guessed: set[int] = set()  # years answered by the Monday–Friday fallback

    @classmethod
    def load(cls, session: Session) -> "Workdays":
        overrides = dict(session.execute(select(Holiday.day, Holiday.workday)).all())
        return cls(overrides, {d.year for d in overrides})

    def known(self, year: int) -> bool:
        return year in PACKAGE_YEARS or year in self.office_years

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in PACKAGE_YEARS:
            return chinese_calendar.is_workday(day)
        if day.year not in self.guessed and not self.known(day.year):
            self.guessed.add(day.year)
            log.warning("working-day calendar does not know %s: Monday–Friday assumed", day.year,
                        extra={"event": "calendar_unknown_year", "year": day.year})
        return day.weekday() < 5

    def add(self, start: datetime, days: int, ends: time, tz: ZoneInfo) -> datetime:
        """The end (`ends`, local) of the `days`-th working day after the start's local date."""
        day = start.astimezone(tz).date()
        last = day + MAX_SEARCH
        counted = 0
        while counted < days and day < last:
            day += timedelta(days=1)
            counted += self.is_workday(day)
        while counted < days:  # the table left no working day: count weekdays instead
            day += timedelta(days=1)
            counted += day.weekday() < 5
        return datetime.combine(day, ends, tzinfo=tz)


def _office_years(session: Session) -> set[int]:
    return {int(y) for y in session.scalars(select(func.distinct(func.extract("year", Holiday.day)))) if y}


def unknown_years(session: Session, today: date) -> list[int]:
    """This year, and from December next year, when neither the package nor the office knows them."""
    office = _office_years(session)
    ahead = (today.year, today.year + 1) if today.month == 12 else (today.year,)
    return [y for y in ahead if y not in PACKAGE_YEARS and y not in office]


def warn_unknown_year(session: Session, now: datetime, policy) -> None:
    """Tell every township office, once per year, to enter the holidays the calendar lacks."""
    for year in unknown_years(session, now.astimezone(policy.tz).date()):
        for person in holders(session, org.OFFICE):
            notify(session, person, texts.CALENDAR_UNKNOWN.format(year=year), f"calendar:{year}:{person.id}", now)


def coverage(session: Session, today: date) -> dict:
    """What the admin API shows: which years are known, and which needed ones are not."""
    office_years = _office_years(session)
    return {
        "package_years": [PACKAGE_YEARS.start, PACKAGE_YEARS.stop - 1],
        "office_years": sorted(office_years),
        "unknown_years": unknown_years(session, today),
    }


def set_day(session: Session, day: date, workday: bool, name: str = "") -> Holiday:
    """Enter or correct one day of the office's calendar (a holiday, or an adjusted working day)."""
    entry = session.get(Holiday, day) or Holiday(day=day)
    entry.workday, entry.name = workday, name
    session.add(entry)
    return entry


def remove_day(session: Session, day: date) -> bool:
    entry = session.get(Holiday, day)
    if entry is not None:
        session.delete(entry)
    return entry is not None


def office_days(session: Session, year: int | None = None) -> list[Holiday]:
    query = select(Holiday).order_by(Holiday.day)
    if year is not None:
        query = query.where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
    return list(session.scalars(query))


def package_days(year: int) -> list[tuple[date, bool, str]]:
    """What chinese-calendar says of the year: its holidays and adjusted working days (day, workday, name)."""
    days = [(d, False, name) for d, name in chinese_calendar.holidays.items() if d.year == year]
    days += [(d, True, name) for d, name in chinese_calendar.workdays.items()
             if d.year == year and d.weekday() >= 5]  # the package lists every weekday as a workday too
    return sorted(days)
