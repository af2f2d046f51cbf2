"""The admin API's router: every resource under /api, all behind the admin token."""

from fastapi import APIRouter, Depends

from app.api.routes import calendar, cases, jobs, ledger, org, outbox, periods, stats, wordings
from app.deps import require_admin

api_router = APIRouter(prefix="/api", dependencies=[Depends(require_admin)])
for module in (org, cases, ledger, outbox, calendar, periods, stats, wordings, jobs):
    api_router.include_router(module.router)
