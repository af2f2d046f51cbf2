"""The outbox: what was sent, what waits, the dead letters and their retry."""

from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import func, select

from app.api.params import Id, Offset
from app.deps import NowDep, SessionDep, TzDep
from handlers import dead_letters
from models import OutboxMessage

router = APIRouter(prefix="/outbox", tags=["outbox"])
OutboxStatus = Literal["pending", "sending", "sent", "dead", "cancelled"]


@router.get("")
def list_outbox(
    s: SessionDep,
    tz: TzDep,
    status: OutboxStatus | None = Query(None, description="pending, sending, sent or dead"),
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict:
    query = select(OutboxMessage).where(OutboxMessage.status == status) if status else select(OutboxMessage)
    total = s.scalar(select(func.count()).select_from(query.subquery()))
    rows = s.scalars(query.order_by(OutboxMessage.id.desc()).offset(offset).limit(limit)).all()
    return {"items": [{
        "id": r.id, "channel": r.channel, "recipient": r.recipient, "msgtype": r.msgtype, "body": r.body,
        "status": r.status,
        "attempts": r.attempts, "last_error": r.last_error, "created_at": r.created_at.astimezone(tz).isoformat(),
        "sent_at": r.sent_at.astimezone(tz).isoformat() if r.sent_at else None,
    } for r in rows], "total": total}


@router.post("/{message_id}/retry")
def retry_outbox(message_id: Id, s: SessionDep, at: NowDep) -> dict:
    row = s.get(OutboxMessage, message_id)
    if row is None:
        raise HTTPException(404, f"no outbox message {message_id}")
    if row.status != "dead":
        raise HTTPException(409, f"only dead messages are retried; this one is {row.status}")
    dead_letters.requeue(row, at)
    return {"id": row.id, "status": row.status}
