"""What a request may depend on: the session, the clock, settings, policy, the rule table, the time zone,
the admin token.

The one place that reads `request.app.state` (set up by app/main.py): the admin API, the callbacks and
the browser console all take what they need from here, as FastAPI dependencies.
"""

import hmac
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlmodel import Session

from models.clock import Clock
from app.settings import Settings
from bot.channels import Channel
from bot.dispatcher import Dispatcher
from handlers.classify import Classifier
from handlers.policy import Policy


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


def get_policy(request: Request) -> Policy:
    return request.app.state.policy


def get_rules(request: Request) -> Classifier:
    """The county's rule table, for re-classifications that read a case's text as intake did."""
    return request.app.state.rules


def get_tz(request: Request) -> ZoneInfo:
    return request.app.state.tz


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_dispatcher(request: Request) -> Dispatcher:
    return request.app.state.dispatcher


def get_channels(request: Request) -> dict[str, Channel]:
    return request.app.state.channels


def get_metrics(request: Request) -> CollectorRegistry:
    return request.app.state.metrics


def get_demo_clock(request: Request):
    """The demo's movable clock (`gridline demo` only; None in production)."""
    return getattr(request.app.state, "demo_clock", None)


def get_sessions(request: Request):
    return request.app.state.sessions


def session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed when the handler returns, rolled back when it raises."""
    with request.app.state.sessions.begin() as s:
        yield s


def now(clock: Annotated[Clock, Depends(get_clock)]) -> datetime:
    return clock.now()


def require_admin(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """The admin token, for machines: 403 while none is configured, 401 when it is missing or wrong."""
    token = settings.admin_token.get_secret_value()
    given = request.headers.get("authorization", "")
    if not token:
        raise HTTPException(403, "admin API disabled: set GRIDLINE_ADMIN_TOKEN")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {token}".encode()):
        raise HTTPException(401, "bad or missing bearer token", headers={"WWW-Authenticate": "Bearer"})


# The WeChat callbacks' dependencies are async: FastAPI runs a plain `def` dependency in its thread pool, and
# for an attribute read that trip (four a message) costs more than the read — under load, a third of a
# callback's own time.
async def callback_clock(request: Request) -> Clock:
    return request.app.state.clock


async def callback_sessions(request: Request):
    return request.app.state.sessions


async def callback_channels(request: Request) -> dict[str, Channel]:
    return request.app.state.channels


async def callback_dispatcher(request: Request) -> Dispatcher:
    return request.app.state.dispatcher


# Commit before the response goes out (scope="function"), so a client never reads its own write as missing.
SessionDep = Annotated[Session, Depends(session, scope="function")]
DB = Depends(session, scope="function")  # the same, as a default value (after parameters that have one)
NowDep = Annotated[datetime, Depends(now)]
ClockDep = Annotated[Clock, Depends(get_clock)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
RulesDep = Annotated[Classifier, Depends(get_rules)]
TzDep = Annotated[ZoneInfo, Depends(get_tz)]
EngineDep = Annotated[Engine, Depends(get_engine)]
