"""Accountability figures (问责追责): misses per unit and person."""

from datetime import date, timedelta

from fastapi import APIRouter, HTTPException, Query

from app.deps import ClockDep, SessionDep, TzDep
from handlers.accountability import overdue_stats

router = APIRouter(prefix="/stats", tags=["stats"])
MAX_RANGE = timedelta(days=366)


@router.get("/overdue")
def overdue(
    s: SessionDep,
    clock: ClockDep,
    tz: TzDep,
    start: date | None = Query(None, alias="from", description="first local day (default: 30 days ago)"),
    end: date | None = Query(None, alias="to", description="last local day, inclusive (default: today)"),
) -> dict:
    """Misses per unit and per person, the on-time rate, and the cases behind each number."""
    end = end or clock.now().astimezone(tz).date()
    start = start or end - timedelta(days=29)
    if start > end:
        raise HTTPException(422, "from must not be after to")
    if end - start > MAX_RANGE:
        raise HTTPException(422, "at most 366 days at a time")
    return overdue_stats(s, start, end, tz)
