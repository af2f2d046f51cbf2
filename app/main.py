"""The FastAPI application and its wiring."""

import logging
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from app import console, docs, logs, metrics
from app.api.main import api_router
from app.api.routes import ops, wechat
from models.clock import Clock, SystemClock
from app.db import make_engine, session_factory
from app.errors import add_handlers
from app.limits import BodyLimit
from app.settings import Settings
from bot.channels import Channel, OfficialAccount, WeComApp
from bot.conversation import Chat
from bot.dispatcher import Dispatcher, Handler
from bot.wirecrypto import Envelope, aes_key_ok
from handlers.classify import Classifier
from handlers.classify.combine import Combined
from handlers.classify.model import ModelFile
from handlers.policy import Policy

log = logging.getLogger("gridline")


class ConfigError(ValueError):
    pass


def build_channels(settings: Settings, clock: Clock) -> dict[str, Channel]:
    """The channels whose credentials are set; a half-configured one is an error at start-up."""
    channels: dict[str, Channel] = {}
    mp_token, mp_key = settings.mp_token.get_secret_value(), settings.mp_aes_key.get_secret_value()
    if mp_token:
        envelope = None
        if mp_key:
            if not aes_key_ok(mp_key) or not settings.mp_app_id:
                raise ConfigError("GRIDLINE_MP_AES_KEY needs 43 characters and GRIDLINE_MP_APP_ID")
            envelope = Envelope(mp_key, settings.mp_app_id, enterprise=False)
        elif not settings.mp_allow_plaintext:
            raise ConfigError("GRIDLINE_MP_AES_KEY is not set: the Official Account would run in plaintext mode, "
                              "whose signature does not cover the message; set the key (safe mode), or "
                              "GRIDLINE_MP_ALLOW_PLAINTEXT=true to accept that")
        channels["mp"] = OfficialAccount(mp_token, envelope, clock, settings.max_message_age_s)
    work_token, work_key = settings.work_token.get_secret_value(), settings.work_aes_key.get_secret_value()
    if work_token:
        if not aes_key_ok(work_key) or not settings.work_corp_id:
            raise ConfigError("GRIDLINE_WORK_AES_KEY (43 characters) and GRIDLINE_WORK_CORP_ID are required")
        envelope = Envelope(work_key, settings.work_corp_id, enterprise=True)
        channels["work"] = WeComApp(work_token, envelope, clock, settings.max_message_age_s)
    return channels


def start_ticker(settings: Settings, sessions, clock: Clock, policy: Policy):
    """APScheduler only ticks: the work itself is rows any process may claim (see bot/outbound/delivery.py)."""
    if not settings.tick_s:
        return None
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.due import run_due

    def tick() -> None:
        try:
            run_due(settings, sessions, clock, policy)
        except Exception:  # a bad tick must not stop the next one
            log.exception("tick failed")

    scheduler = BackgroundScheduler(timezone=settings.timezone)
    # Once at start (whatever was missed while down), then every tick_s. The scheduler keeps its own
    # timing: handing it the injectable clock's time would make it replay every tick since then.
    scheduler.add_job(tick, id="start", max_instances=1)
    scheduler.add_job(tick, "interval", seconds=settings.tick_s, max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


def create_app(settings: Settings | None = None, clock: Clock | None = None, handler: Handler | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or SystemClock()
    channels = build_channels(settings, clock)
    tz = ZoneInfo(settings.timezone)
    policy = Policy.load(settings.policy_file, tz)
    rules = Classifier.load(settings.rules_file)
    if handler is None:
        handler = Chat(Combined(rules, ModelFile(settings.model_file)), policy)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = make_engine(settings.database_url)
        sessions = session_factory(engine)
        dispatcher = Dispatcher(
            sessions, clock, handler,
            budget_s=settings.reply_budget_s, workers=settings.writers,
            quick=getattr(handler, "quick", None),  # Chat says which messages may go ahead (bot/dispatcher.py)
        )
        app.state.engine, app.state.sessions, app.state.dispatcher = engine, sessions, dispatcher
        app.state.metrics = metrics.registry(sessions, clock)
        ticker = start_ticker(settings, sessions, clock, policy)
        log.info("started", extra={"channels": sorted(channels), "database": engine.url.render_as_string()})
        try:
            yield
        finally:
            if ticker is not None:
                ticker.shutdown(wait=True)
            dispatcher.close()
            engine.dispose()

    logs.redact_values(secret.get_secret_value() for secret in settings.secrets())
    # /docs is served from local assets (app/docs.py); ReDoc would load from a CDN, so there is none.
    app = FastAPI(title="Gridline", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings, app.state.clock, app.state.channels, app.state.tz = settings, clock, channels, tz
    app.state.policy, app.state.rules = policy, rules  # the office's re-classifications read as intake does
    app.include_router(ops.router)
    app.include_router(wechat.router)
    app.include_router(api_router)
    docs.mount(app)
    console.mount(app)
    add_handlers(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(logs.RequestLog)  # outermost: it sees the limit's refusals too
    return app


def factory() -> FastAPI:
    """Entry point for uvicorn (`app.main:factory`), reading settings from the environment."""
    settings = Settings()
    logs.setup(settings)
    return create_app(settings)
