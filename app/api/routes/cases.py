"""Cases: the list with filters, one case, re-classification by the office, the follow-up visit."""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlmodel import Session

from app.api import lookups
from app.api.params import AsPerson, CaseStatus, Category, CodeText, Department, NameQuery, Offset, Severity, Text
from app.deps import NowDep, PolicyDep, RulesDep, SessionDep, TzDep
from handlers import access, cases, followup, texts
from handlers.access import Viewer, can_see, case_scope, sees_reporter, viewer
from models import Case, Deadline, Person, Unit
from models.cases import OPEN

router = APIRouter(prefix="/cases", tags=["cases"])


def case_json(s: Session, case: Case, tz, seen: Viewer | None = None) -> dict:
    units = {u.id: u.name for u in s.scalars(select(Unit).where(
        Unit.id.in_([i for i in (case.township_id, case.village_id, case.grid_id) if i])))}
    names = dict(s.execute(select(Person.id, Person.name)).all())
    if seen is not None and not sees_reporter(seen, case_scope(s, case)):
        names[case.reporter_id] = texts.REPORTER_HIDDEN
        units.pop(case.grid_id, None)  # a grid often has one grid worker: its name would name them
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


@router.get("")
def list_cases(
    s: SessionDep,
    tz: TzDep,
    at: NowDep,
    status: CaseStatus | None = None,
    village: NameQuery = None,
    category: Category | None = None,
    overdue: bool | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
    as_person: AsPerson = None,
) -> dict:
    person = lookups.one_person(s, as_person) if as_person else None
    seen = viewer(s, person) if person else None
    query = select(Case)
    if status:
        query = query.where(Case.status == status)
    if category:
        query = query.where(Case.category == category)
    if village:
        query = query.where(Case.village_id == lookups.unit_id(s, village))
    if overdue is not None:
        late = select(Deadline.case_id).where(Deadline.late(at))
        query = query.where(Case.id.in_(late) if overdue else Case.id.not_in(late))
    if seen is not None:  # the access policy, case by case: it is not a query
        visible = access.visible(s, person, s.scalars(query.order_by(Case.id.desc())))
        return {"items": [case_json(s, c, tz, seen) for c in visible[offset:offset + limit]], "total": len(visible)}
    total = s.scalar(select(func.count()).select_from(query.subquery()))
    found = s.scalars(query.order_by(Case.id.desc()).offset(offset).limit(limit)).all()
    return {"items": [case_json(s, c, tz) for c in found], "total": total}


@router.get("/{code}")
def get_case(code: CodeText, s: SessionDep, tz: TzDep, as_person: AsPerson = None) -> dict:
    case = lookups.case(s, code)
    seen = viewer(s, lookups.one_person(s, as_person)) if as_person else None
    if seen is not None and not can_see(seen, case_scope(s, case)):
        raise HTTPException(404, f"no case {code}")
    return case_json(s, case, tz, seen)


class Reclassify(BaseModel):
    """Only these fields, only the guide's values: anything else is a 422, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")

    category: Category | None = None
    lead_department: Department | None = None
    severity: Severity | None = None
    online: bool | None = None
    involves_cadre: bool | None = None
    village: Text(64, 1) | None = Field(None, description="a village of the case's township, by name or id")


@router.patch("/{code}")
def reclassify_case(code: CodeText, body: Reclassify, s: SessionDep, at: NowDep, tz: TzDep,
                    policy: PolicyDep, rules: RulesDep) -> dict:
    case = lookups.case(s, code, lock=True)
    if case.status not in OPEN:
        raise HTTPException(409, f"case {case.code} is {case.status}: only open cases are re-classified")
    changes = body.model_dump(exclude_none=True, exclude={"village"})
    if body.village is not None:
        changes["village_id"] = lookups.village_of(s, case, body.village)
    cases.reclassify(s, case, changes, None, at, policy, rules)
    return case_json(s, case, tz)


class FollowUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    satisfaction: Literal["满意", "基本满意", "不满意"]
    note: Annotated[Text(500, 1), Field(description="回访情况")]


@router.post("/{code}/followup")
def record_followup(code: CodeText, body: FollowUp, s: SessionDep, at: NowDep, tz: TzDep,
                    policy: PolicyDep) -> dict:
    """The office's follow-up visit (回访); 不满意 soon after closing reopens the case."""
    code = lookups.case(s, code).code
    try:
        case, outcome = followup.record(s, None, code, body.satisfaction, body.note, at, policy)
    except cases.Refusal as refusal:
        raise HTTPException(409, str(refusal)) from None
    return {**case_json(s, case, tz), "followup": outcome.value}

