"""Fixtures: a migrated database on each engine, and a real HTTP server around the app."""

import asyncio
import functools
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from sqlalchemy import create_engine, text

from models.clock import FixedClock
from app.db import make_engine, session_factory
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings

# No test reads a model a developer trained into ./var, and none retrains by the week unless it asks to.
os.environ["GRIDLINE_MODEL_FILE"] = ""
os.environ["GRIDLINE_RETRAIN_AT"] = ""

ENGINES = ["sqlite", "postgresql"]
T0 = 1_795_000_000  # 2026-11-18 11:06:40 UTC, 19:06:40 in Asia/Shanghai


def pytest_report_header(config):
    if os.environ.get("GRIDLINE_TEST_PG_URL"):
        return f"PostgreSQL: {os.environ['GRIDLINE_TEST_PG_URL']}"
    return f"PostgreSQL: not available — {os.environ.get('GRIDLINE_TEST_PG_SKIP', 'GRIDLINE_TEST_PG_URL unset')}"


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    url = os.environ.get("GRIDLINE_TEST_PG_URL")
    if not url:
        reason = os.environ.get("GRIDLINE_TEST_PG_SKIP", "GRIDLINE_TEST_PG_URL is not set (use make test)")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must test on PostgreSQL: {reason}")
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    return url


def _pg_url(admin_url: str, dbname: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + dbname


@functools.cache
def _admin_engine(admin_url: str):
    """One engine for the whole run: it creates and drops a database for every PostgreSQL test."""
    return create_engine(admin_url, isolation_level="AUTOCOMMIT")


def _pg_admin(admin_url: str, *statements: str) -> None:
    with _admin_engine(admin_url).connect() as conn:
        for stmt in statements:
            conn.execute(text(stmt))


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> str:
    name = "gridline_template"
    _pg_admin(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    upgrade(_pg_url(pg_admin_url, name))
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "gridline.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(params=ENGINES)
def database_url(request, tmp_path) -> Iterator[str]:
    """A freshly migrated database on each engine."""
    if request.param == "sqlite":
        path = tmp_path / "gridline.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    template = request.getfixturevalue("pg_template")
    name = "t_" + uuid.uuid4().hex[:12]
    _pg_admin(admin, f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    yield _pg_url(admin, name)
    _pg_admin(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db(database_url):
    """Sessions on the test database, for looking at what the server stored."""
    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    from datetime import UTC, datetime

    return FixedClock(datetime.fromtimestamp(T0, UTC))


class _PromptServer(uvicorn.Server):
    """uvicorn, seeing a stop request within 10 ms: its own loop looks every 100 ms, which is 50 ms per test
    on average, with a thousand servers started in the suite. Everything else is uvicorn's own."""

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            await asyncio.sleep(0.01)


class LiveServer:
    """The app under uvicorn on a loopback port, in a thread: real HTTP, real lifespan."""

    def __init__(self, app):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self.server = _PromptServer(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


def make_settings(database_url: str, **overrides) -> Settings:
    # A reply budget of 30 s: a loaded CI machine must not turn a slow reply into WeChat's empty answer
    # where a test reads the reply; the tests of the budget itself set theirs (test_dispatch.py).
    values = dict(database_url=database_url, max_message_age_s=0, log_level="WARNING", tick_s=0, model_file="",
                  retrain_at="", reply_budget_s=30)
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def serve(database_url, clock) -> Iterator[Callable[..., LiveServer]]:
    """serve(handler=..., **settings) → a running server on the test database."""
    servers: list[LiveServer] = []

    def _serve(handler=None, **overrides) -> LiveServer:
        settings = make_settings(database_url, **overrides)
        server = LiveServer(create_app(settings, clock=clock, handler=handler)).start()
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.stop()


@pytest.fixture
def console(db, serve, clock):
    """The office console on a seeded township, signing in through the fake WeCom (tests/console.py)."""
    from types import SimpleNamespace

    from tests import console as harness
    from tests import township

    township.load(db)
    fake = harness.fake_wecom(clock)
    sandbox = fake.serve()
    server = serve(**harness.settings(sandbox))
    yield SimpleNamespace(url=server.url, fake=fake, sandbox=sandbox, sessions=db, clock=clock)
    sandbox.stop()
