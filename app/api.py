"""The admin API under /api (bearer token). Lists are {"items": [...], "total": N}."""

import hmac
from datetime import date, datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import func, select
from sqlmodel import Session

from handlers import binding, cases, followup, people, texts
from handlers.access import Viewer, can_see, case_scope, sees_reporter, viewer
from handlers.ledger import LedgerError
from handlers.ledger_book import export
from handlers.org import DEPARTMENTS, SEVERITIES
from models import Case, ChatIdentity, Deadline, Department, OutboxMessage, Person, PersonRole, Unit


def admin(request: Request) -> None:
    token = request.app.state.settings.admin_token.get_secret_value()
    given = request.headers.get("authorization", "")
    if not token:
        raise HTTPException(403, "admin API disabled: set GRIDLINE_ADMIN_TOKEN")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "bad or missing bearer token", headers={"WWW-Authenticate": "Bearer"})


def session(request: Request):
    with request.app.state.sessions.begin() as s:
        yield s


# Commit before the response goes out, so a client never reads its own write as missing.
DB = Depends(session, scope="function")


def now(request: Request) -> datetime:
    return request.app.state.clock.now()


router = APIRouter(prefix="/api", dependencies=[Depends(admin)])


@router.get("/org")
def org_tree(s: Session = DB) -> dict:
    units = s.scalars(select(Unit).order_by(Unit.id)).all()
    departments = s.scalars(select(Department).order_by(Department.id)).all()
    nodes = {u.id: {"id": u.id, "kind": u.kind, "name": u.name, "children": []} for u in units}
    for d in departments:
        nodes[d.township_id].setdefault("departments", []).append(d.name)
    roots = []
    for u in units:
        (nodes[u.parent_id]["children"] if u.parent_id else roots).append(nodes[u.id])
    return {"items": roots, "total": len(roots)}


@router.get("/people")
def list_people(
    role: str | None = None,
    unit: str | None = Query(None, description="unit id or name (e.g. 西岔村)"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    s: Session = DB,
) -> dict:
    found = people.holders(s, role, _unit_id(s, unit) if unit else None)
    return {"items": [_person_json(s, p) for p in found[offset:offset + limit]], "total": len(found)}


class InviteRequest(BaseModel):
    who: str


@router.post("/org/invites", status_code=201)
def create_invite(body: InviteRequest, s: Session = DB, at: datetime = Depends(now)) -> dict:
    person = _one_person(s, body.who)
    code = binding.invite(s, person, at)
    return {"code": code, "person": person.name, "expires_at": (at + binding.INVITE_VALID).isoformat()}


@router.post("/org/import")
def import_org(
    file: UploadFile = File(...),
    skip_bad_rows: bool = False,
    s: Session = DB,
) -> dict:
    from handlers.roster import import_roster

    report = import_roster(s, file.filename or "", file.file.read(), skip_bad_rows=skip_bad_rows)
    result = {
        "refused": report.refused,
        "created": report.created, "updated": report.updated,
        "unchanged": report.unchanged, "deactivated": report.deactivated,
        "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in report.errors],
    }
    if report.refused:
        raise HTTPException(422, result)  # the session rolls back
    return result


def _unit_id(s: Session, unit: str) -> int:
    if unit.isdigit() and s.get(Unit, int(unit)):
        return int(unit)
    ids = s.scalars(select(Unit.id).where(Unit.name == unit)).all()
    if not ids:
        raise HTTPException(404, f"no unit named {unit}")
    if len(ids) > 1:
        raise HTTPException(400, f"{unit} names {len(ids)} units: pass its id")
    return ids[0]


def _one_person(s: Session, who: str) -> Person:
    found = people.find(s, who)
    if not found:
        raise HTTPException(404, f"no active person with name or phone {who}")
    if len(found) > 1:
        raise HTTPException(409, f"{len(found)} people are named {who}: use the phone number")
    return found[0]


def _person_json(s: Session, p: Person) -> dict:
    roles = s.scalars(select(PersonRole.role).where(PersonRole.person_id == p.id).order_by(PersonRole.role)).all()
    identities = s.scalars(select(ChatIdentity).where(ChatIdentity.person_id == p.id, ChatIdentity.active)).all()
    unit = s.get(Unit, p.unit_id)
    department = s.get(Department, p.department_id) if p.department_id else None
    return {
        "id": p.id, "name": p.name, "phone": p.phone, "active": p.active, "roles": list(roles),
        "unit": unit.name, "unit_kind": unit.kind, "department": department.name if department else None,
        "wecom_userid": next((i.external_id for i in identities if i.channel == "work"), None),
        "mp_bound": any(i.channel == "mp" for i in identities),
    }


# -- cases ----------------------------------------------------------------------------------

AS_PERSON = Query(None, alias="as", description="name or phone of a person: only what the access policy lets "
                                                  "them see, the reporter shown as 网格员 where they may not know them")


def _case_json(s: Session, case: Case, tz, seen: Viewer | None = None) -> dict:
    units = {u.id: u.name for u in s.scalars(select(Unit).where(
        Unit.id.in_([i for i in (case.township_id, case.village_id, case.grid_id) if i])))}
    names = dict(s.execute(select(Person.id, Person.name)).all())
    if seen is not None and not sees_reporter(seen, case_scope(s, case)):
        names[case.reporter_id] = texts.REPORTER_HIDDEN
    return {
        "code": case.code, "status": case.status, "category": case.category, "severity": case.severity,
        "lead_department": case.lead_department, "township": units.get(case.township_id),
        "village": units.get(case.village_id), "grid": units.get(case.grid_id),
        "reporter": names.get(case.reporter_id), "involves_cadre": case.involves_cadre,
        "confidential": case.confidential, "online": case.online,
        "urgent": case.urgent, "supervised": case.supervised, "summary": case.summary,
        "platform": case.platform, "screen_name": case.screen_name, "links": case.links,
        "attachments": case.attachments, "created_at": case.created_at.astimezone(tz).isoformat(),
        "deadlines": [{"kind": d.kind, "due_at": d.due_at.astimezone(tz).isoformat(), "status": d.status}
                      for d in cases.deadlines(s, case)],
        "events": [{"at": e.at.astimezone(tz).isoformat(), "actor": names.get(e.actor_id), "action": e.action,
                    "note": e.note} for e in cases.history(s, case)],
        "members": [{"name": p.name, "duty": duty} for p, duty in cases.members(s, case)],
    }


@router.get("/cases")
def list_cases(
    request: Request,
    status: str | None = None,
    village: str | None = None,
    category: str | None = None,
    overdue: bool | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    as_person: str | None = AS_PERSON,
    s: Session = DB,
    at: datetime = Depends(now),
) -> dict:
    seen = viewer(s, _one_person(s, as_person)) if as_person else None
    query = select(Case)
    if status:
        query = query.where(Case.status == status)
    if category:
        query = query.where(Case.category == category)
    if village:
        query = query.where(Case.village_id == _unit_id(s, village))
    if overdue is not None:
        late = select(Deadline.case_id).where(
            (Deadline.status == "missed") | ((Deadline.status == "pending") & (Deadline.due_at < at)))
        query = query.where(Case.id.in_(late) if overdue else Case.id.not_in(late))
    if seen is not None:  # the access policy, case by case: it is not a query
        visible = [c for c in s.scalars(query.order_by(Case.id.desc())) if can_see(seen, case_scope(s, c))]
        items = [_case_json(s, c, request.app.state.tz, seen) for c in visible[offset:offset + limit]]
        return {"items": items, "total": len(visible)}
    total = s.scalar(select(func.count()).select_from(query.subquery()))
    found = s.scalars(query.order_by(Case.id.desc()).offset(offset).limit(limit)).all()
    return {"items": [_case_json(s, c, request.app.state.tz) for c in found], "total": total}


@router.get("/cases/{code}")
def get_case(code: str, request: Request, as_person: str | None = AS_PERSON, s: Session = DB) -> dict:
    case = cases.find(s, code.upper())
    seen = viewer(s, _one_person(s, as_person)) if as_person else None
    if case is None or (seen is not None and not can_see(seen, case_scope(s, case))):
        raise HTTPException(404, f"no case {code}")
    return _case_json(s, case, request.app.state.tz, seen)


class Reclassify(BaseModel):
    category: str | None = None
    lead_department: str | None = None
    severity: str | None = None
    urgent: bool | None = None
    online: bool | None = None
    involves_cadre: bool | None = None
    village: str | None = None


@router.patch("/cases/{code}")
def reclassify_case(code: str, body: Reclassify, request: Request, s: Session = DB,
                    at: datetime = Depends(now)) -> dict:
    case = cases.find(s, code.upper())
    if case is None:
        raise HTTPException(404, f"no case {code}")
    changes = body.model_dump(exclude_none=True, exclude={"village"})
    if body.village is not None:
        changes["village_id"] = _unit_id(s, body.village)
    if body.severity is not None and body.severity not in SEVERITIES:
        raise HTTPException(422, f"severity must be one of {'/'.join(SEVERITIES)}")
    if body.lead_department is not None and body.lead_department not in DEPARTMENTS:
        raise HTTPException(422, f"lead_department must be one of {'/'.join(DEPARTMENTS)}")
    cases.reclassify(s, case, changes, None, at, request.app.state.policy)
    return _case_json(s, case, request.app.state.tz)


class FollowUp(BaseModel):
    satisfaction: Literal["满意", "基本满意", "不满意"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="回访情况")


@router.post("/cases/{code}/followup")
def record_followup(code: str, body: FollowUp, request: Request, s: Session = DB, at: datetime = Depends(now)) -> dict:
    """The office's follow-up visit (回访); 不满意 soon after closing reopens the case."""
    code = code.upper()
    if cases.find(s, code) is None:
        raise HTTPException(404, f"no case {code}")
    try:
        case, outcome = followup.record(s, None, code, body.satisfaction, body.note, at, request.app.state.policy)
    except cases.Refusal as refusal:
        raise HTTPException(409, str(refusal)) from None
    return {**_case_json(s, case, request.app.state.tz), "followup": outcome.value}


# -- ledger ------------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/ledger.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def ledger_xlsx(
    request: Request,
    start: date | None = Query(None, alias="from", description="first filing day, local (YYYY-MM-DD)"),
    end: date | None = Query(None, alias="to", description="last filing day, inclusive"),
    unit: str | None = Query(None, description="township or village name (白水乡/西岔村 when ambiguous)"),
    as_person: str | None = AS_PERSON,
    s: Session = DB,
    at: datetime = Depends(now),
) -> Response:
    who = _one_person(s, as_person) if as_person else None
    try:
        data, _ = export(s, at, request.app.state.tz, start, end, unit, visible_to=who)
    except LedgerError as exc:
        raise HTTPException(422, str(exc)) from None
    name = f"台账-{at.astimezone(request.app.state.tz):%Y%m%d}.xlsx"
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{quote(name)}"})


# -- outbox ------------------------------------------------------------------------------------

OUTBOX_STATUSES = ("pending", "sending", "sent", "dead", "cancelled")


@router.get("/outbox")
def list_outbox(
    request: Request,
    status: str | None = Query(None, description="pending, sending, sent or dead"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    s: Session = DB,
) -> dict:
    if status is not None and status not in OUTBOX_STATUSES:
        raise HTTPException(422, f"status must be one of {', '.join(OUTBOX_STATUSES)}")
    query = select(OutboxMessage).where(OutboxMessage.status == status) if status else select(OutboxMessage)
    total = s.scalar(select(func.count()).select_from(query.subquery()))
    rows = s.scalars(query.order_by(OutboxMessage.id.desc()).offset(offset).limit(limit)).all()
    tz = request.app.state.tz
    return {"items": [{
        "id": r.id, "channel": r.channel, "recipient": r.recipient, "msgtype": r.msgtype, "body": r.body,
        "status": r.status,
        "attempts": r.attempts, "last_error": r.last_error, "created_at": r.created_at.astimezone(tz).isoformat(),
        "sent_at": r.sent_at.astimezone(tz).isoformat() if r.sent_at else None,
    } for r in rows], "total": total}


@router.post("/outbox/{message_id}/retry")
def retry_outbox(message_id: int, s: Session = DB, at: datetime = Depends(now)) -> dict:
    row = s.get(OutboxMessage, message_id)
    if row is None:
        raise HTTPException(404, f"no outbox message {message_id}")
    if row.status != "dead":
        raise HTTPException(409, f"only dead messages are retried; this one is {row.status}")
    row.status, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, at, None
    return {"id": row.id, "status": row.status}
