"""The migrations build exactly the schema the models describe, on both engines."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import models  # noqa: F401
from app.db import make_engine
from app.migrate import alembic_config


def test_migrations_match_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_up_again(database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert {"inbound_messages", "outbox"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_outbox_rows_from_before_0006_are_text(database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "0005")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO outbox (idempotency_key, channel, account, recipient, body, status, attempts,"
            " created_at, next_attempt_at) VALUES ('k', 'work', 'a', 'u', 'hi', 'pending', 0,"
            " '2026-11-18 00:00:00+00:00', '2026-11-18 00:00:00+00:00')"))
    command.upgrade(config, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT msgtype FROM outbox WHERE idempotency_key = 'k'")).scalar_one() == "text"
    engine.dispose()
