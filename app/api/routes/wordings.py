"""Admin API for unified wording (统一口径): drafts, approval, publishing, and who replied 收到.

`{id}` is the wording's number (the one people type in chat); actions take its latest version,
reads take it too unless `?version=` names another. Who acts is `actor`, a person's name or
phone: optional for a draft (given: must be 办公室); required to approve (a 分管领导 or 主要领导
whose township covers the audience — an approval must be someone's); optional to publish (the
admin token speaks for the office; given: 办公室 or 新闻发言人). Refusals: 403 role or area,
409 the version's status, 422 bad input, 404 no such wording.
"""

from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlmodel import Session

from app.api.lookups import actor as _actor
from app.api.params import CodeText, Id, Name, Offset, Text
from app.deps import NowDep, PolicyDep, SessionDep, TzDep
from handlers import cases, wording
from handlers.numbers import MAX_ID
from handlers.wording import Refusal
from models import Case, Person, Unit, Wording, WordingVersion
from models.wording import STATUSES

router = APIRouter(prefix="/wordings", tags=["wordings"])
VersionQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
HTTP_STATUS = {Refusal.FORBIDDEN: 403, Refusal.STATE: 409, Refusal.INPUT: 422, Refusal.MISSING: 404}


# Generous bounds: handlers/wording.py refuses what is too long, with a message that says the limit.
Title, Body = Text(1_000), Text(10_000)


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    units: list[Name] = Field(max_length=500)  # unit names (or ids)
    roles: list[Name] = Field([], max_length=20)  # empty: 网格员、村两委、村书记、包村领导


class WordingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body = Field(description="facts found, measures taken, next steps, contact — in that order; verified "
                                   "facts only, causes with care, no early verdict (速报事实、慎报原因、谨慎定性)")
    case_code: CodeText | None = None
    audience: AudienceIn
    actor: Name | None = None


class VersionIn(BaseModel):
    """A new version: what is left out is kept from the latest one."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body
    audience: AudienceIn | None = None
    actor: Name | None = None


class ActorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: Name | None = None


@contextmanager
def _refusals():
    try:
        yield
    except Refusal as refusal:
        raise HTTPException(HTTP_STATUS[refusal.kind], str(refusal)) from None


@router.post("", status_code=201)
def create_wording(body: WordingIn, s: SessionDep, at: NowDep, tz: TzDep) -> dict:
    actor = _actor(s, body.actor)
    case = None
    if body.case_code:
        case = cases.find(s, body.case_code)
        if case is None:
            raise HTTPException(422, f"no case {body.case_code}")
    with _refusals():
        chosen = wording.audience(wording.resolve_units(s, body.audience.units), body.audience.roles)
        version = wording.draft(s, actor, body.title, body.body, chosen, at, case=case)
    return _json(s, version, tz)


@router.post("/{number}/versions", status_code=201)
def revise_wording(number: Id, body: VersionIn, s: SessionDep, at: NowDep, tz: TzDep) -> dict:
    latest = _version(s, number, None)
    actor = _actor(s, body.actor)
    with _refusals():
        chosen = (wording.audience(wording.resolve_units(s, body.audience.units), body.audience.roles)
                  if body.audience else wording.Audience(tuple(latest.unit_ids), tuple(latest.roles)))
        version = wording.draft(s, actor, body.title or latest.title, body.body, chosen, at, revises=number)
    return _json(s, version, tz)


@router.post("/{number}/approve")
def approve_wording(number: Id, s: SessionDep, at: NowDep, tz: TzDep, body: ActorIn | None = None) -> dict:
    actor = _actor(s, body.actor if body else None)
    if actor is None:
        raise HTTPException(422, "actor is required: the 分管领导 or 主要领导 who approves (name or phone)")
    with _refusals():
        version = wording.approve(s, number, actor, at)
    return _json(s, version, tz)


@router.post("/{number}/publish")
def publish_wording(number: Id, s: SessionDep, at: NowDep, tz: TzDep, policy: PolicyDep,
                    body: ActorIn | None = None) -> dict:
    actor = _actor(s, body.actor if body else None)
    with _refusals():
        done = wording.publish(s, number, actor, at, policy)
    return _json(s, done.version, tz)


@router.get("")
def list_wordings(
    s: SessionDep,
    tz: TzDep,
    status: Literal[STATUSES] | None = Query(
        None, description="draft, approved, published or superseded (of the latest version)"),
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
) -> dict:
    latest = select(WordingVersion.wording_id, func.max(WordingVersion.version).label("v")) \
        .group_by(WordingVersion.wording_id).subquery()
    query = select(WordingVersion).join(latest, (latest.c.wording_id == WordingVersion.wording_id)
                                        & (latest.c.v == WordingVersion.version))
    if status:
        query = query.where(WordingVersion.status == status)
    total = s.scalar(select(func.count()).select_from(query.subquery()))
    found = s.scalars(query.order_by(WordingVersion.wording_id.desc()).offset(offset).limit(limit)).all()
    tally = wording.counts(s, [v.id for v in found])
    return {"items": [{**_summary(s, v, tz), "acknowledged": tally.get(v.id, (0, 0))[0],
                       "recipients": tally.get(v.id, (0, 0))[1]} for v in found], "total": total}


@router.get("/{number}")
def get_wording(number: Id, s: SessionDep, tz: TzDep, version: VersionQuery = None) -> dict:
    return _json(s, _version(s, number, version), tz)


@router.get("/{number}/recipients")
def list_recipients(
    number: Id,
    s: SessionDep,
    tz: TzDep,
    version: VersionQuery = None,
    acknowledged: bool | None = Query(None, description="false: who has not replied 收到 yet"),
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict:
    rows = wording.recipients(s, _version(s, number, version))
    if acknowledged is not None:
        rows = [(p, r) for p, r in rows if (r.acknowledged_at is not None) == acknowledged]
    units = dict(s.execute(select(Unit.id, Unit.name)).all())
    return {"items": [{**_recipient(r, p, tz), "phone": p.phone, "unit": units.get(p.unit_id)}
                      for p, r in rows[offset:offset + limit]], "total": len(rows)}


def _version(s: Session, number: int, version: int | None) -> WordingVersion:
    every = wording.versions(s, number)
    found = every[0] if every and version is None else next((v for v in every if v.version == version), None)
    if found is None:
        raise HTTPException(404, f"no wording {number}" + (f" version {version}" if version else ""))
    return found


def _at(value: datetime | None, tz) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


def _summary(s: Session, v: WordingVersion, tz) -> dict:
    case_id = s.get(Wording, v.wording_id).case_id
    return {"id": v.wording_id, "version": v.version, "status": v.status, "title": v.title,
            "case_code": s.get(Case, case_id).code if case_id else None,
            "created_at": _at(v.created_at, tz), "published_at": _at(v.published_at, tz)}


def _recipient(r, p: Person, tz) -> dict:
    return {"name": p.name, "acknowledged_at": _at(r.acknowledged_at, tz), "reminded_at": _at(r.reminded_at, tz),
            "reachable": r.reachable}


def _json(s: Session, v: WordingVersion, tz) -> dict:
    events = wording.history(s, v)
    names = dict(s.execute(select(Person.id, Person.name).where(Person.id.in_({e.actor_id for e in events}))).all())
    rows = wording.recipients(s, v)
    acked = sum(1 for _, r in rows if r.acknowledged_at is not None)
    return {
        **_summary(s, v, tz), "body": v.body,
        "audience": {"units": wording.unit_names(s, v.unit_ids), "roles": v.roles},
        "recipients": [_recipient(r, p, tz) for p, r in rows],
        "acknowledged": acked, "pending": len(rows) - acked,
        "events": [{"at": _at(e.at, tz), "actor": names.get(e.actor_id), "action": e.action, "note": e.note}
                   for e in events],
        "versions": [{"version": o.version, "status": o.status, "published_at": _at(o.published_at, tz)}
                     for o in wording.versions(s, v.wording_id)],
    }
