"""Scheduled jobs: what is due, and what failed for good (after its retries) and was reported to the office."""

from typing import Literal

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from app.api.params import Offset
from app.deps import SessionDep, TzDep
from models import Job

router = APIRouter(prefix="/jobs", tags=["jobs"])
JobStatus = Literal["pending", "done", "cancelled", "failed"]


@router.get("")
def list_jobs(
    s: SessionDep,
    tz: TzDep,
    status: JobStatus | None = Query(None, description="pending, done, cancelled or failed"),
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict:
    query = select(Job).where(Job.status == status) if status else select(Job)
    total = s.scalar(select(func.count()).select_from(query.subquery()))
    rows = s.scalars(query.order_by(Job.id.desc()).offset(offset).limit(limit)).all()
    return {"items": [{
        "id": j.id, "kind": j.kind, "status": j.status, "due_at": j.due_at.astimezone(tz).isoformat(),
        "attempts": j.attempts, "error": j.error,
        "done_at": j.done_at.astimezone(tz).isoformat() if j.done_at else None,
    } for j in rows], "total": total}
