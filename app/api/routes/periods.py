"""Sensitive periods (敏感时期): windows started inside them are shortened."""

from datetime import date

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from app.api.params import Id, Text
from app.deps import PolicyDep, SessionDep
from handlers import periods
from models import SensitivePeriod, Unit
from models.org import TOWNSHIP

router = APIRouter(prefix="/sensitive-periods", tags=["calendar"])


class PeriodEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text(32)
    starts_on: date
    ends_on: date
    factor: float | None = Field(None, description="window multiplier; default: the policy's sensitive_factor")
    township_id: int | None = Field(None, description="the township whose cases it holds for; none: the whole county")


@router.get("")
def list_periods(s: SessionDep) -> dict:
    found = periods.periods(s)
    return {"items": [_period_json(p) for p in found], "total": len(found)}


@router.post("", status_code=201)
def add_period(body: PeriodEntry, s: SessionDep, policy: PolicyDep) -> dict:
    factor = policy.sensitive_factor if body.factor is None else body.factor
    if body.township_id is not None:
        unit = s.get(Unit, body.township_id)
        if unit is None or unit.kind != TOWNSHIP:
            raise HTTPException(422, f"no township {body.township_id}")
    try:
        return _period_json(periods.add_period(s, body.name, body.starts_on, body.ends_on, factor, body.township_id))
    except periods.PeriodError as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete("/{period_id}", status_code=204)
def remove_period(period_id: Id, s: SessionDep) -> None:
    if not periods.remove_period(s, period_id):
        raise HTTPException(404, f"no sensitive period {period_id}")


def _period_json(p: SensitivePeriod) -> dict:
    return {"id": p.id, "name": p.name, "starts_on": p.starts_on.isoformat(), "ends_on": p.ends_on.isoformat(),
            "factor": p.factor, "township_id": p.township_id}
