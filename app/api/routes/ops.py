"""Operations: liveness, readiness (the database), the health check, Prometheus metrics."""

import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from app.deps import EngineDep, get_metrics

router = APIRouter(tags=["operations"])
log = logging.getLogger("gridline.health")


@router.get("/livez")
async def livez() -> dict:
    """The process is up (no database needed)."""
    return {"status": "ok"}


async def _database(engine) -> Response:
    def ping() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except Exception as exc:  # the database is down: say so, do not crash
        log.error("database check failed", extra={"error": type(exc).__name__})
        return JSONResponse({"status": "database unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(engine: EngineDep) -> Response:
    """Ready for traffic: the database answers (503 otherwise)."""
    return await _database(engine)


@router.get("/healthz")
async def healthz(engine: EngineDep) -> Response:
    """The server and its database are up."""
    return await _database(engine)


@router.get("/metrics", response_class=Response)
async def metrics(registry: Annotated[CollectorRegistry, Depends(get_metrics)]) -> Response:
    """Prometheus text: requests, callbacks by outcome, outbox by status, due and failed jobs, open and
    overdue cases, WeChat API errors by errcode."""
    return Response(await run_in_threadpool(generate_latest, registry), media_type=CONTENT_TYPE_LATEST)
