"""`gridline demo`: the demo county on its own database, WeChat faked in-process, the simulator at /sandbox.

Everything runs in one process: the sandbox (fake WeChat and WeCom APIs) on a loopback port, and
the Gridline server itself — the same `create_app` as production, with made-up credentials and
its API bases pointed at the sandbox — with the chat simulator mounted at /sandbox.
"""

import asyncio
import base64
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from app import logs
from models.clock import Clock, SystemClock
from app.db import make_engine, session_factory
from app.demo import simulator
from app.demo.seed import seed
from app.main import create_app
from app.sandbox import FakeWeChat, SandboxServer
from app.sandbox.callbacks import Account, Callbacks
from app.settings import Settings
from handlers import texts
from models import ChatIdentity, ChatTarget

DEFAULT_DATABASE = "sqlite:///./var/demo.db"  # never the production default: demo data stays apart
TICK_S = 2.0  # deliver the outbox every 2 s, so pushes arrive while the visitor watches
WORK_AGENT_ID = "1000002"


@dataclass
class Demo:
    app: FastAPI
    fake: FakeWeChat
    sandbox: SandboxServer
    settings: Settings


def database_url(database: str | None) -> str:
    """A SQLAlchemy URL, or a plain path taken as a SQLite file."""
    if not database:
        return DEFAULT_DATABASE
    return database if "://" in database else f"sqlite:///{database}"


def _aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")  # 43 characters, as WeChat issues


def build(url: str, clock: Clock, **overrides) -> Demo:
    """Start the sandbox and make the demo app (not yet serving) on an already seeded database.
    `overrides` go to Settings (tests pass a shorter tick and no .env file)."""
    fake = FakeWeChat(clock)
    sandbox = fake.serve()
    settings = Settings(**{
        "database_url": url, "tick_s": TICK_S,
        "mp_app_id": "wx" + secrets.token_hex(8), "mp_app_secret": secrets.token_hex(16),
        "mp_token": secrets.token_urlsafe(16), "mp_aes_key": _aes_key(), "mp_template_id": "demo-" + secrets.token_hex(8),
        "work_corp_id": "ww" + secrets.token_hex(8), "work_agent_id": WORK_AGENT_ID,
        "work_secret": secrets.token_urlsafe(32), "work_token": secrets.token_urlsafe(16), "work_aes_key": _aes_key(),
        "wechat_api_base": sandbox.mp_base, "wecom_api_base": sandbox.work_base, **overrides,
    })
    _register(fake, settings)
    app = create_app(settings, clock)
    sim = simulator.Simulator(fake, _callbacks(settings), clock, ZoneInfo(settings.timezone))
    app.include_router(simulator.router(sim))
    return Demo(app, fake, sandbox, settings)


def _register(fake: FakeWeChat, settings: Settings) -> None:
    """Tell the fake WeChat about the demo's accounts, followers, WeCom members and group chats."""
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            identities = session.execute(
                select(ChatIdentity.channel, ChatIdentity.external_id).where(ChatIdentity.active)).all()
            targets = session.execute(select(ChatTarget.kind, ChatTarget.key)).all()
    finally:
        engine.dispose()
    fake.register_from_settings(settings, openids=[i for c, i in identities if c == "mp"],
                                userids=[i for c, i in identities if c == "work"])
    fake.add_robot(*(key for kind, key in targets if kind == "robot"))
    for kind, key in targets:
        if kind == "appchat":
            fake.add_appchat(key, corpid=settings.work_corp_id)


def _callbacks(settings: Settings) -> dict[str, Callbacks]:
    mp = Account("mp", settings.mp_token.get_secret_value(), settings.mp_aes_key.get_secret_value(),
                 settings.mp_app_id, to_user="gh_" + secrets.token_hex(6))
    work = Account("work", settings.work_token.get_secret_value(), settings.work_aes_key.get_secret_value(),
                   settings.work_corp_id, to_user=settings.work_corp_id, agent_id=settings.work_agent_id)
    return {"mp": Callbacks(mp, "/wechat/mp"), "work": Callbacks(work, "/wechat/work")}


def run(host: str, port: int, database: str | None) -> None:
    url = database_url(database)
    clock = SystemClock()
    seed(url, clock)
    demo = build(url, clock, log_level="WARNING")  # quiet: the one line to read is where to go
    logs.configure(demo.settings.log_level)
    server = uvicorn.Server(uvicorn.Config(demo.app, host=host, port=port, log_config=None, access_log=False))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    try:
        asyncio.run(_serve(server, texts.T_DEMO_READY.format(url=f"http://{shown}:{port}/sandbox")))
    finally:
        demo.sandbox.stop()


async def _serve(server: uvicorn.Server, ready: str) -> None:
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if server.started:
        print(ready, flush=True)
    await task
