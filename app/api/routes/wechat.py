"""The two WeChat callbacks: URL verification (GET) and messages (POST).

Refusals per the HTTP contract: a bad signature or timestamp 403, a body over 64 KiB 413, anything
malformed 400 — never a 5xx for bad input. The body limit is enforced by app/limits.py while it streams.
"""

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from app import metrics
from app.deps import callback_channels, callback_clock, callback_dispatcher, callback_sessions
from models.clock import Clock
from bot import replay
from bot.channels import Channel
from bot.dispatcher import Dispatcher
from bot.refusals import Refused

router = APIRouter(prefix="/wechat", tags=["callbacks"])
log = logging.getLogger("gridline.callback")
Channels = Annotated[dict[str, Channel], Depends(callback_channels)]
DispatcherDep = Annotated[Dispatcher, Depends(callback_dispatcher)]


class Callback:
    """What a callback needs besides its channel: the sessions and clock for the nonce cache."""

    def __init__(self, request: Request, clock: Clock, sessions):
        self.request, self.clock, self.sessions = request, clock, sessions

    async def check_replay(self, name: str, body: bytes) -> None:
        def check() -> None:
            with self.sessions.begin() as s:
                replay.check(s, name, self.request.query_params, body, self.clock.now())
        await run_in_threadpool(check)


async def _callback(request: Request, clock: Annotated[Clock, Depends(callback_clock)],
                    sessions: Annotated[object, Depends(callback_sessions)]) -> Callback:
    return Callback(request, clock, sessions)


CallbackDep = Annotated[Callback, Depends(_callback)]


@router.get("/mp")
async def mp_verify(call: CallbackDep, channels: Channels) -> Response:
    return await _verify(call, "mp", channels)


@router.post("/mp")
async def mp_message(call: CallbackDep, channels: Channels, dispatcher: DispatcherDep) -> Response:
    return await _receive(call, "mp", channels, dispatcher)


@router.get("/work")
async def work_verify(call: CallbackDep, channels: Channels) -> Response:
    return await _verify(call, "work", channels)


@router.post("/work")
async def work_message(call: CallbackDep, channels: Channels, dispatcher: DispatcherDep) -> Response:
    return await _receive(call, "work", channels, dispatcher)


async def _verify(call: Callback, name: str, channels: dict[str, Channel]) -> Response:
    request = call.request
    channel = channels.get(name)
    if channel is None:
        return _refuse(request, name, 404, "channel not configured")
    try:
        echo = channel.verify_url(request.query_params)
        if not channel.signs_echo:
            await call.check_replay(name, request.query_params.get("echostr", "").encode())
    except Refused as exc:
        return _refuse(request, name, exc.status, exc.reason)
    metrics.CALLBACKS.labels(name, "verified").inc()
    return PlainTextResponse(echo)


async def _receive(call: Callback, name: str, channels: dict[str, Channel], dispatcher: Dispatcher) -> Response:
    started = time.monotonic()
    request = call.request
    channel = channels.get(name)
    if channel is None:
        return _refuse(request, name, 404, "channel not configured")
    try:
        body = await request.body()
        msg, replier = channel.open(request.query_params, body)
    except Refused as exc:
        return _refuse(request, name, exc.status, exc.reason)
    except Exception:  # a parser bug must still not answer bad input with a 5xx
        log.exception("unexpected error reading callback")
        return _refuse(request, name, 400, "unreadable")
    try:
        if not channel.signs_body:
            await call.check_replay(name, body)
    except Refused as exc:
        return _refuse(request, name, exc.status, exc.reason)
    reply = await dispatcher.dispatch(msg, started)
    content, media_type = replier.render(reply)
    metrics.CALLBACKS.labels(name, "replied" if reply is not None else "accepted").inc()
    return Response(content, media_type=media_type)


def _refuse(request: Request, name: str, status: int, reason: str) -> Response:
    request.scope.setdefault("state", {})["refusal"] = reason
    metrics.CALLBACKS.labels(name, f"refused_{status}").inc()
    log.warning("refused", extra={"path": request.url.path, "status": status, "reason": reason})
    return PlainTextResponse(reason, status_code=status)
