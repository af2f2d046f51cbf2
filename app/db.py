"""Engine and sessions. SQLite is tuned for one writer at a time; PostgreSQL is used as is."""

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # hide_parameters: an error message never carries the values (a tip-off's words) into a log.
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True, hide_parameters=True)


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock up
    # front; we issue BEGIN IMMEDIATE ourselves so concurrent writers queue instead of
    # failing with "database is locked" on lock upgrade.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it returns, so a reply saying a case is filed survives a power
        # loss (NORMAL in WAL mode survives a crash of the process only). The dispatcher commits a batch of
        # messages at once, so this is one fsync a batch, not one a message.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, class_=Session, expire_on_commit=False)
