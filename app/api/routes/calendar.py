"""The office's working-day calendar: holidays and adjusted working days the package does not know."""

from datetime import date

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.params import Text
from app.deps import ClockDep, SessionDep, TzDep
from handlers import workdays
from models import Holiday

router = APIRouter(prefix="/calendar", tags=["calendar"])


@router.get("")
def calendar(s: SessionDep, clock: ClockDep, tz: TzDep, year: int | None = Query(None, ge=2000, le=2100)) -> dict:
    """Which years the calendar knows, which needed ones it does not, and the office's own days."""
    days = workdays.office_days(s, year)
    return {**workdays.coverage(s, clock.now().astimezone(tz).date()),
            "items": [_day_json(d) for d in days], "total": len(days)}


class DayEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date
    workday: bool = Field(False, description="true: an adjusted working day (调休上班); false: a holiday")
    name: Text(32) = ""


@router.put("/days/{day}")
def set_day(day: date, body: DayEntry, s: SessionDep) -> dict:
    if body.day != day:
        raise HTTPException(422, "day in the path and the body differ")
    return _day_json(workdays.set_day(s, day, body.workday, body.name))


@router.delete("/days/{day}", status_code=204)
def remove_day(day: date, s: SessionDep) -> None:
    if not workdays.remove_day(s, day):
        raise HTTPException(404, f"{day} is not in the office calendar")


def _day_json(d: Holiday) -> dict:
    return {"day": d.day.isoformat(), "workday": d.workday, "name": d.name}
