"""HTTP routes: the two WeChat callbacks and the health check."""

import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from bot.channels import Channel
from bot.refusals import Malformed, Refused, TooLarge

MAX_BODY = 64 * 1024

router = APIRouter()
log = logging.getLogger("gridline.callback")


@router.get("/healthz")
async def healthz(request: Request) -> Response:
    def ping() -> None:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except Exception as exc:  # the database is down: say so, do not crash
        log.error("health check failed", extra={"error": type(exc).__name__})
        return JSONResponse({"status": "database unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/wechat/mp")
async def mp_verify(request: Request) -> Response:
    return await _verify(request, request.app.state.channels.get("mp"))


@router.post("/wechat/mp")
async def mp_message(request: Request) -> Response:
    return await _receive(request, request.app.state.channels.get("mp"))


@router.get("/wechat/work")
async def work_verify(request: Request) -> Response:
    return await _verify(request, request.app.state.channels.get("work"))


@router.post("/wechat/work")
async def work_message(request: Request) -> Response:
    return await _receive(request, request.app.state.channels.get("work"))


async def _verify(request: Request, channel: Channel | None) -> Response:
    if channel is None:
        return _refuse(request, 404, "channel not configured")
    try:
        echo = channel.verify_url(request.query_params)
    except Refused as exc:
        return _refuse(request, exc.status, exc.reason)
    return PlainTextResponse(echo)


async def _receive(request: Request, channel: Channel | None) -> Response:
    started = time.monotonic()
    if channel is None:
        return _refuse(request, 404, "channel not configured")
    try:
        body = await _read_body(request)
        msg, replier = channel.open(request.query_params, body)
    except Refused as exc:
        return _refuse(request, exc.status, exc.reason)
    except Exception:  # a parser bug must still not answer bad input with a 5xx
        log.exception("unexpected error reading callback")
        return _refuse(request, 400, "unreadable")
    reply = await request.app.state.dispatcher.dispatch(msg, started)
    content, media_type = replier.render(reply)
    return Response(content, media_type=media_type)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Malformed("bad content-length")
        if int(declared) > MAX_BODY:
            raise TooLarge("body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge("body too large")
    return bytes(body)


def _refuse(request: Request, status: int, reason: str) -> Response:
    request.scope.setdefault("state", {})["refusal"] = reason
    log.warning("refused", extra={"path": request.url.path, "status": status, "reason": reason})
    return PlainTextResponse(reason, status_code=status)
