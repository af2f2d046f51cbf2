"""The weekly trend: cases filed and closed per week (Monday to Sunday, local time), oldest first."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.ledger import Row


@dataclass(frozen=True)
class Week:
    monday: date
    filed: int
    closed: int


def weekly(found: list[Row], now: datetime, tz: ZoneInfo, weeks: int = 8) -> list[Week]:
    this_monday = now.astimezone(tz).date() - timedelta(days=now.astimezone(tz).weekday())
    mondays = [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    filed = dict.fromkeys(mondays, 0)
    closed = dict.fromkeys(mondays, 0)

    def monday_of(at: datetime) -> date:
        day = at.astimezone(tz).date()
        return day - timedelta(days=day.weekday())

    for row in found:
        if (week := monday_of(row.created_at)) in filed:
            filed[week] += 1
        if row.closed_at and (week := monday_of(row.closed_at)) in closed:
            closed[week] += 1
    return [Week(m, filed[m], closed[m]) for m in mondays]
