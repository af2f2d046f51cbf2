"""The org tree, people, invite codes and the roster import."""

from fastapi import APIRouter, File, HTTPException, Query, UploadFile
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlmodel import Session

from app.api.lookups import one_person, unit_id
from app.api.params import Name, NameQuery, Offset, name_query
from app.deps import NowDep, SessionDep
from handlers import binding, people
from handlers.roster import import_roster
from models import ChatIdentity, Department, Person, PersonRole, Unit

UnitQuery = name_query("unit id or name (e.g. 西岔村)")
router = APIRouter(tags=["org"])


@router.get("/org")
def org_tree(s: SessionDep) -> dict:
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
    s: SessionDep,
    role: NameQuery = None,
    unit: UnitQuery = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict:
    found = people.holders(s, role, unit_id(s, unit) if unit else None)
    return {"items": [_person_json(s, p) for p in found[offset:offset + limit]], "total": len(found)}


class InviteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    who: Name


@router.post("/org/invites", status_code=201)
def create_invite(body: InviteRequest, s: SessionDep, at: NowDep) -> dict:
    person = one_person(s, body.who)
    code = binding.invite(s, person, at)
    return {"code": code, "person": person.name, "expires_at": (at + binding.INVITE_VALID).isoformat()}


@router.post("/org/import")
def import_org(s: SessionDep, file: UploadFile = File(...), skip_bad_rows: bool = False) -> dict:
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
