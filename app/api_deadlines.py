"""Admin API for the deadline engine: the office's calendar, sensitive periods, accountability."""

from datetime import date, timedelta

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.api import DB, admin
from handlers import periods, workdays
from handlers.accountability import overdue_stats
from models import Holiday, SensitivePeriod

router = APIRouter(prefix="/api", dependencies=[Depends(admin)])
MAX_RANGE = timedelta(days=366)


def _local_today(request: Request) -> date:
    return request.app.state.clock.now().astimezone(request.app.state.tz).date()


# -- working-day calendar --------------------------------------------------------------------

@router.get("/calendar")
def calendar(request: Request, year: int | None = Query(None, ge=2000, le=2100), s: Session = DB) -> dict:
    """Which years the calendar knows, which needed ones it does not, and the office's own days."""
    days = workdays.office_days(s, year)
    return {**workdays.coverage(s, _local_today(request)),
            "items": [_day_json(d) for d in days], "total": len(days)}


class DayEntry(BaseModel):
    day: date
    workday: bool = Field(False, description="true: an adjusted working day (调休上班); false: a holiday")
    name: str = Field("", max_length=32)


@router.put("/calendar/days/{day}")
def set_day(day: date, body: DayEntry, s: Session = DB) -> dict:
    if body.day != day:
        raise HTTPException(422, "day in the path and the body differ")
    return _day_json(workdays.set_day(s, day, body.workday, body.name))


@router.delete("/calendar/days/{day}", status_code=204)
def remove_day(day: date, s: Session = DB) -> None:
    if not workdays.remove_day(s, day):
        raise HTTPException(404, f"{day} is not in the office calendar")


def _day_json(d: Holiday) -> dict:
    return {"day": d.day.isoformat(), "workday": d.workday, "name": d.name}


# -- sensitive periods -------------------------------------------------------------------------

class PeriodEntry(BaseModel):
    name: str = Field(..., max_length=32)
    starts_on: date
    ends_on: date
    factor: float | None = Field(None, description="window multiplier; default: the policy's sensitive_factor")


@router.get("/sensitive-periods")
def list_periods(s: Session = DB) -> dict:
    found = periods.periods(s)
    return {"items": [_period_json(p) for p in found], "total": len(found)}


@router.post("/sensitive-periods", status_code=201)
def add_period(body: PeriodEntry, request: Request, s: Session = DB) -> dict:
    factor = request.app.state.policy.sensitive_factor if body.factor is None else body.factor
    try:
        return _period_json(periods.add_period(s, body.name, body.starts_on, body.ends_on, factor))
    except periods.PeriodError as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete("/sensitive-periods/{period_id}", status_code=204)
def remove_period(period_id: int, s: Session = DB) -> None:
    if not periods.remove_period(s, period_id):
        raise HTTPException(404, f"no sensitive period {period_id}")


def _period_json(p: SensitivePeriod) -> dict:
    return {"id": p.id, "name": p.name, "starts_on": p.starts_on.isoformat(), "ends_on": p.ends_on.isoformat(),
            "factor": p.factor}


# -- accountability ----------------------------------------------------------------------------

@router.get("/stats/overdue")
def overdue(
    request: Request,
    start: date | None = Query(None, alias="from", description="first local day (default: 30 days ago)"),
    end: date | None = Query(None, alias="to", description="last local day, inclusive (default: today)"),
    s: Session = DB,
) -> dict:
    """Misses per unit and per person, the on-time rate, and the cases behind each number."""
    end = end or _local_today(request)
    start = start or end - timedelta(days=29)
    if start > end:
        raise HTTPException(422, "from must not be after to")
    if end - start > MAX_RANGE:
        raise HTTPException(422, "at most 366 days at a time")
    return overdue_stats(s, start, end, request.app.state.tz)
