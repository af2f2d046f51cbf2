"""Finding what a request names — a unit, a person, a case — or refusing with the status that says why."""

from fastapi import HTTPException
from sqlalchemy import select
from sqlmodel import Session

from handlers import cases, people
from handlers.numbers import as_id
from models import Case, Person, Unit
from models.org import VILLAGE


def unit_id(s: Session, unit: str) -> int:
    """A unit by id or name: 404 when none, 400 when the name is ambiguous."""
    number = as_id(unit)
    if number is not None and s.get(Unit, number):
        return number
    ids = s.scalars(select(Unit.id).where(Unit.name == unit.strip())).all()
    if not ids:
        raise HTTPException(404, f"no unit named {unit}")
    if len(ids) > 1:
        raise HTTPException(400, f"{unit} names {len(ids)} units: pass its id")
    return ids[0]


def one_person(s: Session, who: str) -> Person:
    found = people.find(s, who)
    if not found:
        raise HTTPException(404, f"no active person with name or phone {who}")
    if len(found) > 1:
        raise HTTPException(409, f"{len(found)} people are named {who}: use the phone number")
    return found[0]


def actor(s: Session, who: str | None) -> Person | None:
    """Who acts, when named: exactly one active person (422 otherwise)."""
    if who is None or not who.strip():
        return None
    found = people.find(s, who)
    if len(found) != 1:
        raise HTTPException(422, f"actor: {len(found) or 'no'} active people with name or phone {who}"
                            + (" (use the phone number)" if found else ""))
    return found[0]


def case(s: Session, code: str, *, lock: bool = False) -> Case:
    found = cases.find(s, code, lock=lock)
    if found is None:
        raise HTTPException(404, f"no case {code}")
    return found


def village_of(s: Session, case: Case, village: str) -> int:
    """A village of the case's own township, by name or id: 422 for anything else."""
    number = as_id(village)
    query = select(Unit.id).where(Unit.kind == VILLAGE, Unit.parent_id == case.township_id)
    query = query.where(Unit.id == number) if number is not None else query.where(Unit.name == village.strip())
    found = s.scalars(query).first()
    if found is None:
        raise HTTPException(422, f"village: {village} is not a village of the case's township")
    return found
