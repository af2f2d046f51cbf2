"""Accountability figures (问责追责): misses per unit and person."""

from datetime import date

from fastapi import APIRouter, HTTPException, Query

from app.deps import ClockDep, SessionDep, TzDep
from handlers.accountability import overdue_stats, window
from handlers.ledger import LedgerError

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get("/overdue")
def overdue(
    s: SessionDep,
    clock: ClockDep,
    tz: TzDep,
    start: date | None = Query(None, alias="from", description="first local day (default: 30 days ago)"),
    end: date | None = Query(None, alias="to", description="last local day, inclusive (default: today)"),
) -> dict:
    """Misses per unit and per person, the on-time rate, and the cases behind each number."""
    try:
        start, end = window(start, end, clock.now().astimezone(tz).date())
    except LedgerError as exc:
        raise HTTPException(422, str(exc)) from None
    return overdue_stats(s, start, end, tz)
